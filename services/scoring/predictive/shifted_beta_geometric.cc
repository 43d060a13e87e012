#include "services/scoring/predictive/shifted_beta_geometric.h"

#include <cmath>
#include <cstddef>
#include <limits>

#include "absl/strings/str_cat.h"
#include "services/scoring/predictive/special_functions.h"

namespace steward::scoring::predictive {

double SbgChurnProbability(const SbgParams& p, int t) {
  return std::exp(LogBeta(p.alpha + 1.0, p.beta + t - 1.0) - LogBeta(p.alpha, p.beta));
}

double SbgSurvival(const SbgParams& p, int t) {
  return std::exp(LogBeta(p.alpha, p.beta + t) - LogBeta(p.alpha, p.beta));
}

double SbgRetentionRate(const SbgParams& p, int t) {
  return (p.beta + t - 1.0) / (p.alpha + p.beta + t - 1.0);
}

std::vector<double> SbgProjectSurvival(const SbgParams& params, int periods) {
  std::vector<double> survival;
  if (periods < 0) return survival;
  survival.reserve(static_cast<std::size_t>(periods) + 1);
  survival.push_back(1.0);
  // The product of retention rates; exactly S(t) and cheaper than a Beta function per period.
  for (int t = 1; t <= periods; ++t) survival.push_back(survival.back() * SbgRetentionRate(params, t));
  return survival;
}

double SbgLogLikelihood(const SbgParams& p, absl::Span<const double> alive) {
  const double log_beta = LogBeta(p.alpha, p.beta);
  double sum = 0.0;
  for (std::size_t t = 1; t < alive.size(); ++t) {
    const double lost = alive[t - 1] - alive[t];
    if (lost > 0) sum += lost * (LogBeta(p.alpha + 1.0, p.beta + t - 1.0) - log_beta);
  }
  const std::size_t n = alive.size() - 1;
  if (alive[n] > 0) sum += alive[n] * (LogBeta(p.alpha, p.beta + n) - log_beta);
  return sum;
}

absl::StatusOr<SbgFit> FitSbg(absl::Span<const double> alive, const FitOptions& options) {
  if (alive.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("sBG fit: need the cohort size and at least one later count (alive[0..n], n >= 1); got ",
                     alive.size(), " values"));
  }
  for (std::size_t t = 0; t < alive.size(); ++t) {
    if (!std::isfinite(alive[t]) || alive[t] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("sBG fit: alive[", t, "] (", alive[t], ") must be finite and >= 0"));
    }
    if (t > 0 && alive[t] > alive[t - 1]) {
      return absl::InvalidArgumentError(absl::StrCat("sBG fit: alive[", t, "] (", alive[t],
                                                     ") exceeds alive[", t - 1, "] (", alive[t - 1],
                                                     "): survivors cannot increase"));
    }
  }
  if (!(alive[0] > 0))
    return absl::InvalidArgumentError("sBG fit: alive[0], the cohort size, must be positive");
  if (alive[1] == 0) {
    return absl::InvalidArgumentError(
        "sBG fit: nobody remains after period 1, so retention cannot be estimated (beta would go to 0)");
  }
  if (alive.back() == alive[0]) {
    return absl::InvalidArgumentError(
        "sBG fit: nobody cancelled, so churn cannot be estimated (alpha would go to 0)");
  }
  const double n = alive[0];
  auto objective = [&](absl::Span<const double> log_params, absl::Span<double> gradient) {
    const double a = std::exp(log_params[0]), b = std::exp(log_params[1]);
    const double digamma_ab = Digamma(a + b);
    double value = 0.0, d_a = 0.0, d_b = 0.0;
    const double log_beta = LogBeta(a, b);
    // ∂/∂α ln B(x, y) = ψ(x) − ψ(x+y), ∂/∂β likewise.
    for (std::size_t t = 1; t < alive.size(); ++t) {
      const double lost = alive[t - 1] - alive[t];
      if (lost <= 0) continue;
      const double digamma_total = Digamma(a + b + t);
      value += lost * (LogBeta(a + 1.0, b + t - 1.0) - log_beta);
      d_a += lost * (Digamma(a + 1.0) - digamma_total - Digamma(a) + digamma_ab);
      d_b += lost * (Digamma(b + t - 1.0) - digamma_total - Digamma(b) + digamma_ab);
    }
    const std::size_t last = alive.size() - 1;
    if (alive[last] > 0) {
      const double digamma_total = Digamma(a + b + last);
      value += alive[last] * (LogBeta(a, b + last) - log_beta);
      d_a += alive[last] * (digamma_ab - digamma_total);
      d_b += alive[last] * (Digamma(b + last) - digamma_total - Digamma(b) + digamma_ab);
    }
    gradient[0] = -d_a * a / n;
    gradient[1] = -d_b * b / n;
    return -value / n;
  };
  const std::vector<double> starts[] = {{1.0, 1.0}, {0.3, 3.0}, {3.0, 0.3}};
  SbgFit fit;
  const LogSpaceFit best = FitLogParameters(objective, starts, options, fit.statistics);
  fit.params = {best.params[0], best.params[1]};
  fit.statistics.log_likelihood = SbgLogLikelihood(fit.params, alive);
  return fit;
}

double SbgExpectedResidualLifetime(const SbgParams& p, int renewals) {
  if (p.alpha <= 1.0) return std::numeric_limits<double>::infinity();
  return (p.beta + renewals) / (p.alpha - 1.0);
}

double SbgDiscountedExpectedResidualLifetime(const SbgParams& p, double discount_rate, int renewals) {
  const double n = renewals;
  return (p.beta + n) / (p.alpha + p.beta + n) *
         Hyp2F1(1.0, p.beta + n + 1.0, p.alpha + p.beta + n + 1.0, 1.0 / (1.0 + discount_rate));
}

double SbgDiscountedResidualValue(const SbgParams& params, double payment_per_period, double discount_rate,
                                  int renewals) {
  return payment_per_period * SbgDiscountedExpectedResidualLifetime(params, discount_rate, renewals);
}

}  // namespace steward::scoring::predictive
