#include "services/scoring/predictive/discounted_clv.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace steward::scoring::predictive {

absl::StatusOr<double> DiscountedClv(const BgNbdParams& bg_nbd, const GammaGammaParams& gamma_gamma,
                                     const RfmSummary& history, double mean_repeat_value,
                                     const DiscountedClvOptions& options) {
  if (absl::Status status = ValidateRfmSummary(history); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("discounted CLV: history: ", status.message()));
  }
  if (options.horizon_months < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("discounted CLV: horizon_months (", options.horizon_months, ") must be >= 0"));
  }
  if (!std::isfinite(options.monthly_discount_rate) || options.monthly_discount_rate < 0) {
    return absl::InvalidArgumentError(absl::StrCat("discounted CLV: monthly_discount_rate (",
                                                   options.monthly_discount_rate,
                                                   ") must be finite and >= 0"));
  }
  if (!std::isfinite(options.time_units_per_month) || !(options.time_units_per_month > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("discounted CLV: time_units_per_month (",
                                                   options.time_units_per_month, ") must be positive"));
  }
  if (history.x > 0 && (!std::isfinite(mean_repeat_value) || !(mean_repeat_value > 0))) {
    return absl::InvalidArgumentError(absl::StrCat("discounted CLV: mean_repeat_value (", mean_repeat_value,
                                                   ") must be positive when x >= 1"));
  }
  const double value_per_transaction =
      GammaGammaConditionalExpectedValue(gamma_gamma, history.x, history.x > 0 ? mean_repeat_value : 0.0);
  if (std::isnan(value_per_transaction)) {
    return absl::InvalidArgumentError(
        absl::StrCat("discounted CLV: the Gamma-Gamma expected value does not exist (p x + q = ",
                     gamma_gamma.p * history.x + gamma_gamma.q, " <= 1)"));
  }
  double discounted_transactions = 0.0;
  double previous_cumulative = 0.0;
  double discount = 1.0;
  for (int month = 1; month <= options.horizon_months; ++month) {
    const double cumulative =
        BgNbdConditionalExpectedTransactions(bg_nbd, history, month * options.time_units_per_month);
    discount /= 1.0 + options.monthly_discount_rate;
    discounted_transactions += (cumulative - previous_cumulative) * discount;
    previous_cumulative = cumulative;
  }
  return value_per_transaction * discounted_transactions;
}

}  // namespace steward::scoring::predictive
