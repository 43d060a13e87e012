#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/scoring/predictive/model_fit.h"

namespace steward::scoring::predictive {

// The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "'Counting your customers' the easy way:
// an alternative to the Pareto/NBD model", Marketing Science 24(2) 275–284; equation numbers below are
// theirs). While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
// purchase they drop out with probability p ~ Beta(a, b). Pure functions; thread-safe.

// What one customer did in the calibration period, in the paper's notation. Times are in one unit of the
// caller's choice (the paper and the CDNOW tests use weeks) and are measured from the first purchase.
struct RfmSummary {
  double x = 0.0;    // Repeat transactions (purchases after the first): a non-negative integer.
  double t_x = 0.0;  // Time of the last repeat transaction; 0 when x = 0.
  double T = 0.0;    // Time from the first purchase to the end of the calibration period; > 0.
};

struct BgNbdParams {
  double r = 0.0;      // Shape of the Gamma distribution of purchase rates.
  double alpha = 0.0;  // Its scale, in the data's time unit (mean rate r / α).
  double a = 0.0;      // Beta distribution of the dropout probability (mean a / (a + b)).
  double b = 0.0;
};

struct BgNbdFit {
  BgNbdParams params;
  FitStatistics statistics;
};

// OK when x is a non-negative integer, 0 ≤ t_x ≤ T, T > 0, t_x = 0 when x = 0, all finite; otherwise
// INVALID_ARGUMENT saying which rule failed and with which values.
absl::Status ValidateRfmSummary(const RfmSummary& customer);

// ln L(r, α, a, b | x, t_x, T) (equation 6), in log space throughout:
//   ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
//   + ln[(α+T)^−(r+x) + 𝟙{x>0} a/(b+x−1) (α+t_x)^−(r+x)]       (the last term as a log-sum-exp).
double BgNbdLogLikelihood(const BgNbdParams& params, const RfmSummary& customer);
// The sum over customers: one straightforward pass (the fit uses a faster grouped evaluation).
double BgNbdLogLikelihood(const BgNbdParams& params, absl::Span<const RfmSummary> customers);

// Maximum-likelihood estimates of r, α, a, b. Times are rescaled to a mean T of 1 for the optimiser (α
// scales with the time unit) and the parameters optimised as logarithms within FitOptions' bounds, from
// r = 1, α = Σ T / Σ x (the purchase rate ignoring dropout), a = 1, b = 1, with two further starts if that
// one does not converge. Identical (x, t_x, T) rows are evaluated once.
// INVALID_ARGUMENT when `customers` is empty, a row fails ValidateRfmSummary (naming its index), or no
// customer has a repeat transaction (the model is then not identifiable).
// On CDNOW's 2,357-customer sample it gives the paper's r = 0.243, α = 4.414, a = 0.793, b = 2.426,
// LL = −9582.4.
absl::StatusOr<BgNbdFit> FitBgNbd(absl::Span<const RfmSummary> customers, const FitOptions& options = {});

// E[X(t)]: expected repeat transactions in (0, t] of a customer who has just made their first purchase
// (equation 9). Equal to BgNbdConditionalExpectedTransactions(params, {0, 0, 0}, t).
double BgNbdExpectedTransactions(const BgNbdParams& params, double t);

// E[Y(t) | x, t_x, T]: expected transactions in (T, T + t] of a customer with this history (equation 10):
//   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z)] / (1 + 𝟙{x>0} a/(b+x−1)
//   ((α+T)/(α+t_x))^(r+x)),  z = t/(α+T+t).
// Evaluated through Euler's transformation 2F1(r+x, b+x; c; z) = (1−z)^(a−1−r−x) 2F1(a+b−1−r, a−1; c; z),
// whose parameters no longer grow with x, so the series stays small for customers with many purchases;
// the bracket over (a−1) is summed as its own series when |a − 1| < 1e−3, so a = 1 needs no special case.
// Requires valid params (all > 0), a valid history and t ≥ 0.
double BgNbdConditionalExpectedTransactions(const BgNbdParams& params, const RfmSummary& customer, double t);

// P(alive | x, t_x, T) = 1 / (1 + 𝟙{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) (equation 11). A customer with
// no repeat purchase is alive (probability 1): in BG/NBD dropout can only follow a purchase.
double BgNbdProbabilityAlive(const BgNbdParams& params, const RfmSummary& customer);

}  // namespace steward::scoring::predictive
