#include "services/scoring/predictive/bounded_bfgs.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace steward::scoring::predictive {
namespace {

constexpr double kArmijo = 1e-4;
constexpr double kRoundingNoise = 1e-14;
constexpr int kMaxBacktracks = 60;

double Dot(absl::Span<const double> u, absl::Span<const double> v) {
  double sum = 0.0;
  for (std::size_t i = 0; i < u.size(); ++i) sum += u[i] * v[i];
  return sum;
}

class Minimizer {
 public:
  Minimizer(ObjectiveWithGradient objective, absl::Span<const double> lower, absl::Span<const double> upper)
      : objective_(objective),
        lower_(lower.begin(), lower.end()),
        upper_(upper.begin(), upper.end()),
        n_(lower.size()) {}

  MinimizerResult Run(absl::Span<const double> start, const MinimizerOptions& options) {
    max_evaluations_ = options.max_evaluations;
    MinimizerResult result;
    std::vector<double> x(n_);
    for (std::size_t i = 0; i < n_; ++i) x[i] = std::clamp(start[i], lower_[i], upper_[i]);
    std::vector<double> gradient(n_);
    double value = Evaluate(x, absl::MakeSpan(gradient));
    ResetInverseHessian(1.0);
    bool fresh_inverse_hessian = true;
    std::vector<double> direction(n_), trial(n_), trial_gradient(n_), step(n_), change(n_);
    while (std::isfinite(value)) {
      if (ProjectedGradientNorm(x, gradient) <= options.gradient_tolerance) {
        result.converged = true;
        break;
      }
      if (result.iterations >= options.max_iterations || evaluations_ >= max_evaluations_) break;
      ++result.iterations;
      ComputeDirection(x, gradient, direction);
      if (Dot(direction, gradient) >= 0.0 && !fresh_inverse_hessian) {
        ResetInverseHessian(1.0);
        fresh_inverse_hessian = true;
        ComputeDirection(x, gradient, direction);
      }
      double trial_value = 0.0;
      if (!LineSearch(x, value, gradient, direction, trial, trial_value, trial_gradient)) {
        if (fresh_inverse_hessian) break;  // Even steepest descent cannot decrease f: give up.
        ResetInverseHessian(1.0);
        fresh_inverse_hessian = true;
        continue;
      }
      for (std::size_t i = 0; i < n_; ++i) {
        step[i] = trial[i] - x[i];
        change[i] = trial_gradient[i] - gradient[i];
      }
      const double curvature = Dot(step, change);
      if (fresh_inverse_hessian && curvature > 0.0) {
        // Nocedal & Wright 6.20: scale the first approximation to the observed curvature.
        ResetInverseHessian(curvature / Dot(change, change));
      }
      fresh_inverse_hessian = false;
      // Skip the update when the curvature condition fails, keeping H positive definite.
      if (curvature > 1e-12 * std::sqrt(Dot(step, step) * Dot(change, change)))
        UpdateInverseHessian(step, change, curvature);
      x.swap(trial);
      gradient.swap(trial_gradient);
      value = trial_value;
    }
    result.evaluations = evaluations_;
    result.value = value;
    for (std::size_t i = 0; i < n_; ++i) {
      if (x[i] <= lower_[i] || x[i] >= upper_[i]) result.at_bound = true;
    }
    result.x = std::move(x);
    return result;
  }

 private:
  double Evaluate(absl::Span<const double> x, absl::Span<double> gradient) {
    ++evaluations_;
    const double value = objective_(x, gradient);
    if (!std::isfinite(value)) return std::numeric_limits<double>::infinity();
    for (double g : gradient) {
      if (!std::isfinite(g)) return std::numeric_limits<double>::infinity();
    }
    return value;
  }

  // A component at a bound whose gradient pushes further out is stationary as far as the box allows.
  bool Blocked(absl::Span<const double> x, std::size_t i, double descent_component) const {
    return (x[i] <= lower_[i] && descent_component < 0.0) || (x[i] >= upper_[i] && descent_component > 0.0);
  }

  double ProjectedGradientNorm(absl::Span<const double> x, absl::Span<const double> gradient) const {
    double norm = 0.0;
    for (std::size_t i = 0; i < n_; ++i) {
      if (!Blocked(x, i, -gradient[i])) norm = std::max(norm, std::abs(gradient[i]));
    }
    return norm;
  }

  void ComputeDirection(absl::Span<const double> x, absl::Span<const double> gradient,
                        std::vector<double>& direction) const {
    for (std::size_t i = 0; i < n_; ++i) {
      double sum = 0.0;
      for (std::size_t j = 0; j < n_; ++j) sum -= inverse_hessian_[i * n_ + j] * gradient[j];
      direction[i] = Blocked(x, i, sum) ? 0.0 : sum;
    }
  }

  // Backtracking along the projected path; true with the accepted point in trial/trial_value/trial_gradient.
  bool LineSearch(absl::Span<const double> x, double value, absl::Span<const double> gradient,
                  absl::Span<const double> direction, std::vector<double>& trial, double& trial_value,
                  std::vector<double>& trial_gradient) {
    const double slope = Dot(gradient, direction);
    if (!(slope < 0.0)) return false;
    double s = 1.0;
    for (int attempt = 0; attempt < kMaxBacktracks && evaluations_ < max_evaluations_; ++attempt) {
      bool moved = false;
      for (std::size_t i = 0; i < n_; ++i) {
        trial[i] = std::clamp(x[i] + s * direction[i], lower_[i], upper_[i]);
        moved = moved || trial[i] != x[i];
      }
      if (!moved) return false;
      trial_value = Evaluate(trial, absl::MakeSpan(trial_gradient));
      if (!std::isfinite(trial_value)) {
        s *= 0.5;
        continue;
      }
      // Armijo on the projected path: the decrease predicted by the gradient along the actual move.
      double predicted = 0.0;
      for (std::size_t i = 0; i < n_; ++i) predicted += gradient[i] * (trial[i] - x[i]);
      if (trial_value <= value + kArmijo * predicted) return true;
      // Hager & Zhang's approximate Wolfe: f within rounding of the start and the slope along the step
      // no longer steeply positive, as it would be if the step overshot a minimum.
      const double trial_slope = Dot(trial_gradient, direction);
      if (trial_value <= value + kRoundingNoise * std::abs(value) &&
          trial_slope <= (1.0 - 2.0 * kArmijo) * -slope) {
        return true;
      }
      // Next try: the minimum of the quadratic through f(0), f'(0) and f(s) (Nocedal & Wright 3.57),
      // kept within [0.1 s, 0.5 s] so that a poor fit neither stalls nor barely moves.
      const double curvature = trial_value - value - slope * s;
      const double quadratic_minimum = curvature > 0.0 ? -slope * s * s / (2.0 * curvature) : 0.5 * s;
      s = std::clamp(quadratic_minimum, 0.1 * s, 0.5 * s);
    }
    return false;
  }

  void ResetInverseHessian(double scale) {
    inverse_hessian_.assign(n_ * n_, 0.0);
    for (std::size_t i = 0; i < n_; ++i) inverse_hessian_[i * n_ + i] = scale;
  }

  // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1 / (yᵀ s) (Nocedal & Wright 6.17).
  void UpdateInverseHessian(absl::Span<const double> s, absl::Span<const double> y, double curvature) {
    const double rho = 1.0 / curvature;
    std::vector<double> hy(n_, 0.0);
    for (std::size_t i = 0; i < n_; ++i) {
      for (std::size_t j = 0; j < n_; ++j) hy[i] += inverse_hessian_[i * n_ + j] * y[j];
    }
    const double yhy = Dot(y, hy);
    for (std::size_t i = 0; i < n_; ++i) {
      for (std::size_t j = 0; j < n_; ++j) {
        inverse_hessian_[i * n_ + j] += rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
      }
    }
  }

  ObjectiveWithGradient objective_;
  std::vector<double> lower_;
  std::vector<double> upper_;
  std::size_t n_;
  std::vector<double> inverse_hessian_;
  int evaluations_ = 0;
  int max_evaluations_ = 0;
};

}  // namespace

MinimizerResult MinimizeBoundedBfgs(ObjectiveWithGradient objective, absl::Span<const double> start,
                                    absl::Span<const double> lower, absl::Span<const double> upper,
                                    const MinimizerOptions& options) {
  return Minimizer(objective, lower, upper).Run(start, options);
}

}  // namespace steward::scoring::predictive
