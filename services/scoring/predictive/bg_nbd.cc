#include "services/scoring/predictive/bg_nbd.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/scoring/predictive/special_functions.h"

namespace steward::scoring::predictive {
namespace {

// ln(e^u + e^v) and the weights e^u / (e^u + e^v), e^v / (e^u + e^v), without overflow.
struct LogSumExp {
  double value;
  double weight_u;
  double weight_v;
};
LogSumExp LogSumExpOf(double u, double v) {
  if (u >= v) {
    const double e = std::exp(v - u);
    return {u + std::log1p(e), 1.0 / (1.0 + e), e / (1.0 + e)};
  }
  const double e = std::exp(u - v);
  return {v + std::log1p(e), e / (1.0 + e), 1.0 / (1.0 + e)};
}

// G = [1 − (1−z)^ε 2F1(A, ε; C; z)] / ε, the bracket of equation 10 after Euler's transformation, with
// ε = a − 1. For small |ε| the subtraction would cancel, so write 2F1(A, ε; C; z) = 1 + ε S with
//   S = Σ_{n≥1} (A)_n (ε+1)_{n−1} / ((C)_n n!) z^n,
// which gives G = (1 − (1−z)^ε) / ε − (1−z)^ε S with no cancellation (and G = −ln(1−z) − S at ε = 0).
double EulerBracket(double epsilon, double A, double C, double z) {
  const double log_one_minus_z = std::log1p(-z);
  const double power = std::exp(epsilon * log_one_minus_z);
  if (std::abs(epsilon) >= 1e-3) return (1.0 - power * Hyp2F1(A, epsilon, C, z)) / epsilon;
  double term = A / C * z;
  double sum = term;
  for (std::int64_t n = 1; n < 20'000'000 && term != 0.0; ++n) {
    const double nd = static_cast<double>(n);
    const double ratio = (A + nd) * (epsilon + nd) / ((C + nd) * (nd + 1.0)) * z;
    term *= ratio;
    sum += term;
    const double rho = std::max(std::abs(ratio), z);
    if (rho < 1.0 && std::abs(term) * rho <= 1e-17 * (1.0 - rho) * std::abs(sum)) break;
  }
  const double leading = epsilon == 0.0 ? -log_one_minus_z : -std::expm1(epsilon * log_one_minus_z) / epsilon;
  return leading - power * sum;
}

// The log-likelihood summed over customers, with its gradient, evaluated group by group: the Gamma and
// digamma terms depend on x only, so they are computed once per distinct x, and identical (x, t_x, T)
// rows once with their multiplicity. That leaves two logarithms and one exponential per distinct row.
class GroupedLikelihood {
 public:
  GroupedLikelihood(absl::Span<const RfmSummary> customers, double time_scale) {
    absl::flat_hash_map<std::tuple<double, double, double>, double> counts;
    counts.reserve(customers.size());
    for (const RfmSummary& c : customers) counts[{c.x, c.t_x / time_scale, c.T / time_scale}] += 1.0;
    std::vector<std::tuple<double, double, double, double>> rows;
    rows.reserve(counts.size());
    for (const auto& [key, count] : counts)
      rows.emplace_back(std::get<0>(key), std::get<1>(key), std::get<2>(key), count);
    std::sort(rows.begin(), rows.end());
    for (const auto& [x, t_x, T, count] : rows) {
      if (groups_.empty() || groups_.back().x != x) groups_.push_back({x, t_x_.size(), t_x_.size()});
      ++groups_.back().end;
      t_x_.push_back(t_x);
      T_.push_back(T);
      weight_.push_back(count);
      total_weight_ += count;
    }
  }

  double total_weight() const { return total_weight_; }

  // Σ ℓ and ∂Σℓ/∂(r, α, a, b).
  double Evaluate(const BgNbdParams& p, double gradient[4]) const {
    const double log_alpha = std::log(p.alpha);
    double sum = 0.0, d_r = 0.0, d_alpha = 0.0, d_a = 0.0, d_b = 0.0;
    for (const Group& group : groups_) {
      const double x = group.x;
      const double rx = p.r + x;
      double group_constant = 0.0, group_d_r = 0.0, group_d_a = 0.0, group_d_b = 0.0, log_a_ratio = 0.0;
      if (x > 0) {
        group_constant = LogGamma(rx) - LogGamma(p.r) + LogGamma(p.a + p.b) + LogGamma(p.b + x) -
                         LogGamma(p.b) - LogGamma(p.a + p.b + x);
        group_d_r = Digamma(rx) - Digamma(p.r);
        group_d_a = Digamma(p.a + p.b) - Digamma(p.a + p.b + x);
        group_d_b = group_d_a + Digamma(p.b + x) - Digamma(p.b);
        log_a_ratio = std::log(p.a) - std::log(p.b + x - 1.0);
      }
      double weight_sum = 0.0, row_sum = 0.0, row_d_r = 0.0, row_d_alpha = 0.0, weight_v_sum = 0.0;
      for (std::size_t i = group.begin; i < group.end; ++i) {
        const double w = weight_[i];
        const double log_alpha_T = std::log(p.alpha + T_[i]);
        const double u = -rx * log_alpha_T;
        if (x > 0) {
          const double log_alpha_t_x = std::log(p.alpha + t_x_[i]);
          const LogSumExp lse = LogSumExpOf(u, log_a_ratio - rx * log_alpha_t_x);
          row_sum += w * lse.value;
          row_d_r -= w * (lse.weight_u * log_alpha_T + lse.weight_v * log_alpha_t_x);
          row_d_alpha -= w * rx * (lse.weight_u / (p.alpha + T_[i]) + lse.weight_v / (p.alpha + t_x_[i]));
          weight_v_sum += w * lse.weight_v;
        } else {
          row_sum += w * u;
          row_d_r -= w * log_alpha_T;
          row_d_alpha -= w * rx / (p.alpha + T_[i]);
        }
        weight_sum += w;
      }
      sum += weight_sum * (group_constant + p.r * log_alpha) + row_sum;
      d_r += weight_sum * (group_d_r + log_alpha) + row_d_r;
      d_alpha += weight_sum * p.r / p.alpha + row_d_alpha;
      d_a += weight_sum * group_d_a + (x > 0 ? weight_v_sum / p.a : 0.0);
      d_b += weight_sum * group_d_b - (x > 0 ? weight_v_sum / (p.b + x - 1.0) : 0.0);
    }
    gradient[0] = d_r;
    gradient[1] = d_alpha;
    gradient[2] = d_a;
    gradient[3] = d_b;
    return sum;
  }

 private:
  struct Group {
    double x;
    std::size_t begin;
    std::size_t end;
  };
  std::vector<Group> groups_;
  std::vector<double> t_x_, T_, weight_;
  double total_weight_ = 0.0;
};

}  // namespace

absl::Status ValidateRfmSummary(const RfmSummary& c) {
  if (!std::isfinite(c.x) || !std::isfinite(c.t_x) || !std::isfinite(c.T)) {
    return absl::InvalidArgumentError(
        absl::StrCat("x, t_x and T must be finite (got ", c.x, ", ", c.t_x, ", ", c.T, ")"));
  }
  if (c.x < 0 || c.x != std::floor(c.x)) {
    return absl::InvalidArgumentError(
        absl::StrCat("x (", c.x, ") must be a non-negative integer count of repeat transactions"));
  }
  if (!(c.T > 0)) return absl::InvalidArgumentError(absl::StrCat("T (", c.T, ") must be positive"));
  if (c.t_x < 0 || c.t_x > c.T) {
    return absl::InvalidArgumentError(absl::StrCat("t_x (", c.t_x, ") must lie in [0, T] (T = ", c.T, ")"));
  }
  if (c.x == 0 && c.t_x != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("t_x (", c.t_x, ") must be 0 when x = 0 (no repeat transaction)"));
  }
  return absl::OkStatus();
}

double BgNbdLogLikelihood(const BgNbdParams& p, const RfmSummary& c) {
  const double rx = p.r + c.x;
  double value =
      LogGamma(rx) - LogGamma(p.r) + p.r * std::log(p.alpha) + LogBeta(p.a, p.b + c.x) - LogBeta(p.a, p.b);
  const double u = -rx * std::log(p.alpha + c.T);
  if (c.x <= 0) return value + u;
  const double v = std::log(p.a) - std::log(p.b + c.x - 1.0) - rx * std::log(p.alpha + c.t_x);
  return value + LogSumExpOf(u, v).value;
}

double BgNbdLogLikelihood(const BgNbdParams& params, absl::Span<const RfmSummary> customers) {
  double sum = 0.0;
  for (const RfmSummary& c : customers) sum += BgNbdLogLikelihood(params, c);
  return sum;
}

absl::StatusOr<BgNbdFit> FitBgNbd(absl::Span<const RfmSummary> customers, const FitOptions& options) {
  if (customers.empty()) return absl::InvalidArgumentError("BG/NBD fit: no customers");
  double sum_x = 0.0, sum_T = 0.0;
  for (std::size_t i = 0; i < customers.size(); ++i) {
    if (absl::Status status = ValidateRfmSummary(customers[i]); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("BG/NBD fit: customers[", i, "]: ", status.message()));
    }
    sum_x += customers[i].x;
    sum_T += customers[i].T;
  }
  if (sum_x == 0) {
    return absl::InvalidArgumentError(
        "BG/NBD fit: no customer has a repeat transaction (every x is 0), so purchase rates and dropout "
        "cannot be told apart");
  }
  // A time unit in which the mean T is 1, so that α, the only parameter carrying time, starts near 1
  // and the bounds mean the same whatever unit the caller used.
  const double time_scale = sum_T / static_cast<double>(customers.size());
  const GroupedLikelihood likelihood(customers, time_scale);
  const double n = likelihood.total_weight();
  auto objective = [&](absl::Span<const double> log_params, absl::Span<double> gradient) {
    const BgNbdParams p{std::exp(log_params[0]), std::exp(log_params[1]), std::exp(log_params[2]),
                        std::exp(log_params[3])};
    double d[4];
    const double value = likelihood.Evaluate(p, d);
    // Mean negative log-likelihood; chain rule ∂/∂ln θ = θ ∂/∂θ.
    gradient[0] = -d[0] * p.r / n;
    gradient[1] = -d[1] * p.alpha / n;
    gradient[2] = -d[2] * p.a / n;
    gradient[3] = -d[3] * p.b / n;
    return -value / n;
  };
  const double alpha_start = sum_T / time_scale / sum_x;
  const std::vector<double> starts[] = {
      {1.0, alpha_start, 1.0, 1.0},
      {0.5, 0.5 * alpha_start, 0.5, 5.0},
      {2.0, 2.0 * alpha_start, 2.0, 2.0},
  };
  BgNbdFit fit;
  const LogSpaceFit best = FitLogParameters(objective, starts, options, fit.statistics);
  fit.params = {best.params[0], best.params[1] * time_scale, best.params[2], best.params[3]};
  fit.statistics.log_likelihood = BgNbdLogLikelihood(fit.params, customers);
  return fit;
}

double BgNbdConditionalExpectedTransactions(const BgNbdParams& p, const RfmSummary& c, double t) {
  if (t <= 0) return 0.0;
  const double z = t / (p.alpha + c.T + t);
  const double expected_if_alive =
      (p.a + p.b + c.x - 1.0) * EulerBracket(p.a - 1.0, p.a + p.b - 1.0 - p.r, p.a + p.b + c.x - 1.0, z);
  return expected_if_alive * BgNbdProbabilityAlive(p, c);
}

double BgNbdExpectedTransactions(const BgNbdParams& params, double t) {
  return BgNbdConditionalExpectedTransactions(params, RfmSummary{}, t);
}

double BgNbdProbabilityAlive(const BgNbdParams& p, const RfmSummary& c) {
  if (c.x <= 0) return 1.0;
  const double log_odds_dead = std::log(p.a) - std::log(p.b + c.x - 1.0) +
                               (p.r + c.x) * (std::log(p.alpha + c.T) - std::log(p.alpha + c.t_x));
  return 1.0 / (1.0 + std::exp(log_odds_dead));
}

}  // namespace steward::scoring::predictive
