#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/scoring/predictive/model_fit.h"

namespace steward::scoring::predictive {

// The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, "How to project
// customer retention", Journal of Interactive Marketing 21(1) 76–90). At the end of each period a
// subscriber cancels with probability θ, constant for them, with θ ~ Beta(α, β) across subscribers. Period
// t = 1, 2, … is the t-th period after acquisition; period 0 is acquisition. Pure functions; thread-safe.

struct SbgParams {
  double alpha = 0.0;
  double beta = 0.0;
};

struct SbgFit {
  SbgParams params;
  FitStatistics statistics;
};

// P(T = t) = B(α+1, β+t−1) / B(α, β): the probability of cancelling at the end of period t ≥ 1
// (Fader & Hardie 2007), computed in log space.
double SbgChurnProbability(const SbgParams& params, int t);

// S(t) = B(α, β+t) / B(α, β): the probability of still being a subscriber after t periods (t ≥ 0).
double SbgSurvival(const SbgParams& params, int t);

// r(t) = S(t) / S(t−1) = (β+t−1) / (α+β+t−1): the retention rate of period t ≥ 1, which
// rises with t as the subscribers most likely to cancel leave first.
double SbgRetentionRate(const SbgParams& params, int t);

// S(0), S(1), …, S(periods): the projected survival curve.
std::vector<double> SbgProjectSurvival(const SbgParams& params, int periods);

// ln L = Σ_{t=1..n} (alive[t−1] − alive[t]) ln P(T = t) + alive[n] ln S(n) (Fader & Hardie 2007):
// `alive[t]` subscribers of a cohort of alive[0] remain after t periods.
double SbgLogLikelihood(const SbgParams& params, absl::Span<const double> alive);

// Maximum-likelihood α, β from a survival series alive[0..n] (counts, or fractions of the cohort),
// the parameters optimised as logarithms from α = β = 1 (and two further starts if that one does not
// converge). INVALID_ARGUMENT, saying what is wrong, when there are fewer than two points, a count is
// negative or not finite, alive[0] is not positive, the series rises, nobody remains after period 1
// or nobody cancels (β or α would then run off to 0).
// On the 2007 paper's series (years 0..7) it gives α = 0.668, β = 3.806 ("high end") and
// α = 0.704, β = 1.182 ("regular").
absl::StatusOr<SbgFit> FitSbg(absl::Span<const double> alive, const FitOptions& options = {});

// Expected further renewals of a subscriber who has renewed n times (is in period n + 1):
// E[(1 − θ)/θ | θ ~ Beta(α, β + n)] = (β + n) / (α − 1), and +infinity when α ≤ 1 (the heavy tail of
// loyal subscribers makes the mean infinite). DERL with d → 0.
double SbgExpectedResidualLifetime(const SbgParams& params, int renewals);

// DERL(d | α, β, n renewals): discounted expected residual lifetime, in payments, of a subscriber who
// has made n renewals and whose next renewal decision is now (Fader & Hardie 2010, "Customer-base
// valuation in a contractual setting: the perils of ignoring heterogeneity", Marketing Science 29(1)
// 85–93, equation 6):
//   DERL = B(α, β+n+1) / B(α, β+n) · 2F1(1, β+n+1; α+β+n+1; 1/(1+d))
//        = Σ_{k≥0} S(n+1+k)/S(n) (1+d)^−k,
// i.e. the payment at the coming renewal counts undiscounted and each later one is discounted by one
// more period. Requires d > 0 (d = 0 gives SbgExpectedResidualLifetime).
double SbgDiscountedExpectedResidualLifetime(const SbgParams& params, double discount_rate, int renewals);

// The discounted expected residual value of that subscriber when they pay `payment_per_period` at each
// renewal: payment_per_period × DERL (Fader & Hardie 2010).
double SbgDiscountedResidualValue(const SbgParams& params, double payment_per_period, double discount_rate,
                                  int renewals);

}  // namespace steward::scoring::predictive
