#pragma once

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"

namespace steward::scoring::predictive {

// A small quasi-Newton minimiser for the model fits: BFGS (Nocedal & Wright, "Numerical Optimization",
// 2nd ed., algorithm 6.1) on a box lower ≤ x ≤ upper. The fits use it on log-parameters, so the box
// keeps every parameter within, say, [1e−8, 1e8] and a degenerate data set stops at the edge instead of
// running off to 0 or infinity.
//
// - The search direction is −H·g with H the BFGS inverse-Hessian approximation (scaled identity at the
//   start, eq. 6.20), with the components that would leave the box at an active bound set to zero.
// - The step follows the projected path P(x + s·d), backtracking from s = 1 (by quadratic interpolation)
//   until the Armijo condition holds — or, within 1e−14 of rounding noise of f, the "approximate Wolfe"
//   condition of Hager & Zhang (2005), which lets the minimiser keep converging when f no longer
//   resolves the decrease.
// - It stops, converged, when the projected gradient's largest component is ≤ gradient_tolerance. It
//   stops unconverged after max_iterations or max_evaluations (which bound the time a flat, degenerate
//   objective can take), or when no step decreases f even from a steepest-descent restart.
// The objective returns f(x) and writes ∇f(x) into `gradient`; it may return +inf or NaN for points it
// cannot evaluate, which the line search treats as "too far".
using ObjectiveWithGradient =
    absl::FunctionRef<double(absl::Span<const double> x, absl::Span<double> gradient)>;

struct MinimizerOptions {
  int max_iterations = 500;
  int max_evaluations = 2000;
  double gradient_tolerance = 1e-9;
};

struct MinimizerResult {
  std::vector<double> x;
  double value = 0.0;
  int iterations = 0;
  int evaluations = 0;
  bool converged = false;
  // Whether some component of x ended on its bound.
  bool at_bound = false;
};

// `start`, `lower` and `upper` have the same size, lower < upper; `start` is moved into the box first.
MinimizerResult MinimizeBoundedBfgs(ObjectiveWithGradient objective, absl::Span<const double> start,
                                    absl::Span<const double> lower, absl::Span<const double> upper,
                                    const MinimizerOptions& options = {});

}  // namespace steward::scoring::predictive
