#include "services/scoring/churn_model/explanation.h"

#include <algorithm>
#include <cmath>

namespace steward::scoring::churn_model {

absl::StatusOr<Explanation> Explain(const LogisticModel& model, absl::Span<const double> raw_row,
                                    size_t top_k) {
  absl::StatusOr<double> probability = PredictProbability(model, raw_row);  // checks the row
  if (!probability.ok()) return probability.status();
  Explanation explanation;
  explanation.probability = *probability;
  explanation.logit = Logit(model, raw_row);
  explanation.intercept = model.intercept;
  // Only the top k become Contribution objects (each copies a feature name): GetScores explains every
  // account it scores, and building all of them was most of the cost.
  const size_t n = raw_row.size();
  std::vector<double> contribution(n);
  for (size_t j = 0; j < n; ++j) contribution[j] = model.weights[j] * (raw_row[j] - model.means[j]) / model.scales[j];
  std::vector<size_t> order(n);
  for (size_t j = 0; j < n; ++j) order[j] = j;
  const size_t k = std::min(top_k, n);
  // Equal magnitudes keep the model's feature order, so explanations are reproducible.
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&contribution](size_t a, size_t b) {
                      const double ca = std::abs(contribution[a]), cb = std::abs(contribution[b]);
                      return ca > cb || (ca == cb && a < b);
                    });
  explanation.top.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    const size_t j = order[i];
    explanation.top.push_back({model.feature_names[j], raw_row[j], (raw_row[j] - model.means[j]) / model.scales[j],
                               model.weights[j], contribution[j]});
  }
  return explanation;
}

}  // namespace steward::scoring::churn_model
