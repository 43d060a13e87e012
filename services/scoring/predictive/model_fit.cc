#include "services/scoring/predictive/model_fit.h"

#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

namespace steward::scoring::predictive {

LogSpaceFit FitLogParameters(
    const std::function<double(absl::Span<const double>, absl::Span<double>)>& objective,
    absl::Span<const std::vector<double>> starts, const FitOptions& options, FitStatistics& statistics) {
  LogSpaceFit best;
  best.minimizer.value = std::numeric_limits<double>::infinity();
  bool have_best = false;
  for (const std::vector<double>& start : starts) {
    const std::size_t n = start.size();
    std::vector<double> log_start(n), lower(n, std::log(options.min_parameter)),
        upper(n, std::log(options.max_parameter));
    for (std::size_t i = 0; i < n; ++i) log_start[i] = std::log(start[i]);
    // One evaluation budget for all the starts together, so a degenerate data set costs at most that.
    MinimizerOptions minimizer = options.minimizer;
    minimizer.max_evaluations = options.minimizer.max_evaluations - statistics.evaluations;
    if (have_best && minimizer.max_evaluations <= 0) break;
    MinimizerResult result = MinimizeBoundedBfgs(objective, log_start, lower, upper, minimizer);
    statistics.iterations += result.iterations;
    statistics.evaluations += result.evaluations;
    const bool good = result.converged && !result.at_bound;
    // Prefer a converged interior optimum; among equals, the lower objective.
    const bool best_good = have_best && best.minimizer.converged && !best.minimizer.at_bound;
    if (!have_best || (good && !best_good) || (good == best_good && result.value < best.minimizer.value)) {
      best.minimizer = std::move(result);
      have_best = true;
    }
    if (good) break;
  }
  best.params.resize(best.minimizer.x.size());
  for (std::size_t i = 0; i < best.params.size(); ++i) best.params[i] = std::exp(best.minimizer.x[i]);
  statistics.converged = best.minimizer.converged;
  statistics.at_bound = best.minimizer.at_bound;
  return best;
}

}  // namespace steward::scoring::predictive
