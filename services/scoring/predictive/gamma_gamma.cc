#include "services/scoring/predictive/gamma_gamma.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/scoring/predictive/special_functions.h"

namespace steward::scoring::predictive {
namespace {

// Rows sorted by x so that the Gamma terms, which depend on x only, are computed once per distinct x.
class GroupedLikelihood {
 public:
  GroupedLikelihood(absl::Span<const MonetarySummary> customers, double value_scale) {
    std::vector<std::pair<double, double>> rows;
    rows.reserve(customers.size());
    for (const MonetarySummary& c : customers) rows.emplace_back(c.x, c.mean_value / value_scale);
    std::sort(rows.begin(), rows.end());
    for (const auto& [x, m] : rows) {
      if (groups_.empty() || groups_.back().x != x) groups_.push_back({x, m_.size(), m_.size(), 0.0});
      ++groups_.back().end;
      groups_.back().sum_log_m += std::log(m);
      m_.push_back(m);
    }
  }

  // Σ ℓ and ∂Σℓ/∂(p, q, γ).
  double Evaluate(const GammaGammaParams& params, double gradient[3]) const {
    const double p = params.p, q = params.q, gamma = params.gamma;
    const double log_gamma_q = LogGamma(q), digamma_q = Digamma(q), log_gamma = std::log(gamma);
    double sum = 0.0, d_p = 0.0, d_q = 0.0, d_gamma = 0.0;
    for (const Group& group : groups_) {
      const double x = group.x, px = p * x, count = static_cast<double>(group.end - group.begin);
      double sum_log_total = 0.0, sum_inverse_total = 0.0;
      for (std::size_t i = group.begin; i < group.end; ++i) {
        const double total = gamma + x * m_[i];
        sum_log_total += std::log(total);
        sum_inverse_total += 1.0 / total;
      }
      const double digamma_pxq = Digamma(px + q);
      sum += count * (LogGamma(px + q) - LogGamma(px) - log_gamma_q + q * log_gamma + px * std::log(x)) +
             (px - 1.0) * group.sum_log_m - (px + q) * sum_log_total;
      d_p += x * (count * (digamma_pxq - Digamma(px) + std::log(x)) + group.sum_log_m - sum_log_total);
      d_q += count * (digamma_pxq - digamma_q + log_gamma) - sum_log_total;
      d_gamma += count * q / gamma - (px + q) * sum_inverse_total;
    }
    gradient[0] = d_p;
    gradient[1] = d_q;
    gradient[2] = d_gamma;
    return sum;
  }

 private:
  struct Group {
    double x;
    std::size_t begin;
    std::size_t end;
    double sum_log_m;
  };
  std::vector<Group> groups_;
  std::vector<double> m_;
};

}  // namespace

double GammaGammaLogLikelihood(const GammaGammaParams& params, const MonetarySummary& c) {
  const double px = params.p * c.x;
  return LogGamma(px + params.q) - LogGamma(px) - LogGamma(params.q) + params.q * std::log(params.gamma) +
         (px - 1.0) * std::log(c.mean_value) + px * std::log(c.x) -
         (px + params.q) * std::log(params.gamma + c.x * c.mean_value);
}

absl::StatusOr<GammaGammaFit> FitGammaGamma(absl::Span<const MonetarySummary> customers,
                                            const FitOptions& options) {
  if (customers.empty()) return absl::InvalidArgumentError("Gamma-Gamma fit: no customers");
  double sum_values = 0.0;
  for (std::size_t i = 0; i < customers.size(); ++i) {
    const MonetarySummary& c = customers[i];
    if (!std::isfinite(c.x) || c.x < 1 || c.x != std::floor(c.x)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Gamma-Gamma fit: customers[", i, "]: x (", c.x,
          ") must be a positive integer; the model is fitted on customers with repeat transactions only"));
    }
    if (!std::isfinite(c.mean_value) || !(c.mean_value > 0)) {
      return absl::InvalidArgumentError(absl::StrCat("Gamma-Gamma fit: customers[", i, "]: mean_value (",
                                                     c.mean_value, ") must be positive and finite"));
    }
    sum_values += c.mean_value;
  }
  // A money unit in which the mean value is 1, so that γ starts near 1 whatever the currency.
  const double value_scale = sum_values / static_cast<double>(customers.size());
  const GroupedLikelihood likelihood(customers, value_scale);
  const double n = static_cast<double>(customers.size());
  auto objective = [&](absl::Span<const double> log_params, absl::Span<double> gradient) {
    const GammaGammaParams p{std::exp(log_params[0]), std::exp(log_params[1]), std::exp(log_params[2])};
    double d[3];
    const double value = likelihood.Evaluate(p, d);
    gradient[0] = -d[0] * p.p / n;
    gradient[1] = -d[1] * p.q / n;
    gradient[2] = -d[2] * p.gamma / n;
    return -value / n;
  };
  const std::vector<double> starts[] = {{1.0, 2.0, 1.0}, {5.0, 5.0, 0.8}, {0.5, 1.5, 1.0}};
  GammaGammaFit fit;
  const LogSpaceFit best = FitLogParameters(objective, starts, options, fit.statistics);
  fit.params = {best.params[0], best.params[1], best.params[2] * value_scale};
  double log_likelihood = 0.0;
  for (const MonetarySummary& c : customers) log_likelihood += GammaGammaLogLikelihood(fit.params, c);
  fit.statistics.log_likelihood = log_likelihood;
  return fit;
}

double GammaGammaConditionalExpectedValue(const GammaGammaParams& params, double x, double mean_value) {
  const double denominator = params.p * x + params.q - 1.0;
  if (!(denominator > 0)) return std::numeric_limits<double>::quiet_NaN();
  return params.p * (params.gamma + x * mean_value) / denominator;
}

}  // namespace steward::scoring::predictive
