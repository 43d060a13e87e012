#pragma once

#include "absl/status/statusor.h"
#include "services/scoring/predictive/bg_nbd.h"
#include "services/scoring/predictive/gamma_gamma.h"

namespace steward::scoring::predictive {

struct DiscountedClvOptions {
  // Months ahead to count; 0 gives 0.
  int horizon_months = 12;
  // Monthly discount rate d ≥ 0: a value in month m is worth value / (1 + d)^m today.
  double monthly_discount_rate = 0.01;
  // BG/NBD time units per month: 4.345 when the model was fitted in weeks, as the `lifetimes` library's
  // customer_lifetime_value assumes (365.25 / 12 / 7 would be 4.348); 30 for days.
  double time_units_per_month = 4.345;
};

// Discounted customer lifetime value over a horizon, combining BG/NBD (how many transactions) and
// Gamma-Gamma (how much each is worth), as in the `lifetimes` library's customer_lifetime_value:
//   CLV = E[M] · Σ_{m=1..H} [E[Y(m·u)] − E[Y((m−1)·u)]] / (1 + d)^m,
// with E[Y(t)] = BgNbdConditionalExpectedTransactions(bg_nbd, history, t), u = time_units_per_month and
// E[M] = GammaGammaConditionalExpectedValue(gamma_gamma, x, mean_repeat_value). Discretisation: each
// month's expected transactions are valued at the end of that month. Every term is non-negative, so the
// value never falls as the horizon grows, and it falls as the discount rate rises.
// `mean_repeat_value` is the mean value of the customer's repeat transactions (ignored when x = 0, who
// are valued at the population mean).
// INVALID_ARGUMENT for an invalid history (ValidateRfmSummary), a negative horizon, a negative or
// non-finite discount rate, a non-positive time unit, a non-positive mean value with x ≥ 1, or a
// Gamma-Gamma model whose expected value does not exist (p·x + q ≤ 1).
absl::StatusOr<double> DiscountedClv(const BgNbdParams& bg_nbd, const GammaGammaParams& gamma_gamma,
                                     const RfmSummary& history, double mean_repeat_value,
                                     const DiscountedClvOptions& options = {});

}  // namespace steward::scoring::predictive
