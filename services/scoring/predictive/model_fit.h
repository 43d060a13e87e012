#pragma once

#include <functional>
#include <vector>

#include "absl/types/span.h"
#include "services/scoring/predictive/bounded_bfgs.h"

namespace steward::scoring::predictive {

// How a maximum-likelihood fit went.
struct FitStatistics {
  // The maximised log-likelihood, in the data's own units (times, money) as given to the fit.
  double log_likelihood = 0.0;
  // BFGS iterations and objective evaluations, summed over every starting point tried (evaluations are
  // capped by FitOptions::minimizer.max_evaluations: about 3 ms each for 100,000 customers).
  int iterations = 0;
  int evaluations = 0;
  // Whether the gradient test passed (see bounded_bfgs.h). A fit that did not converge is still
  // returned, with the best parameters found, so the caller can decide.
  bool converged = false;
  // Whether a parameter ended on FitOptions' bounds: the data do not pin it down (e.g. nobody churned).
  bool at_bound = false;
};

// Options shared by the fits. The parameters are optimised as logarithms, which keeps them positive and
// makes the problem closer to quadratic; the bounds apply to the parameters after the fit has rescaled
// the data (times to a mean of 1, money to a mean of 1), so they do not depend on the units.
struct FitOptions {
  MinimizerOptions minimizer;
  double min_parameter = 1e-6;
  double max_parameter = 1e6;
};

// For the fits' implementations: minimises `mean_negative_log_likelihood` over log-parameters from
// each start in turn, stopping at the first that converges off the bounds and otherwise keeping the best;
// options.minimizer.max_evaluations is shared by all the starts.
// `objective(log_params, gradient)` returns the mean negative log-likelihood and its gradient with
// respect to the log-parameters. Returns the minimiser's result and fills the counts in `statistics`
// (not the log-likelihood, which the caller computes in the original units).
struct LogSpaceFit {
  std::vector<double> params;  // exp of the minimiser's x.
  MinimizerResult minimizer;
};
LogSpaceFit FitLogParameters(
    const std::function<double(absl::Span<const double>, absl::Span<double>)>& objective,
    absl::Span<const std::vector<double>> starts, const FitOptions& options, FitStatistics& statistics);

}  // namespace steward::scoring::predictive
