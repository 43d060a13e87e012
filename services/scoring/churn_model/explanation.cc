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
  std::vector<Contribution> all;
  all.reserve(raw_row.size());
  for (size_t j = 0; j < raw_row.size(); ++j) {
    const double standardized = (raw_row[j] - model.means[j]) / model.scales[j];
    all.push_back({model.feature_names[j], raw_row[j], standardized, model.weights[j],
                   model.weights[j] * standardized});
  }
  const size_t k = std::min(top_k, all.size());
  // stable: equal magnitudes keep the model's feature order, so explanations are reproducible.
  std::stable_sort(all.begin(), all.end(), [](const Contribution& a, const Contribution& b) {
    return std::abs(a.contribution) > std::abs(b.contribution);
  });
  all.resize(k);
  explanation.top = std::move(all);
  return explanation;
}

}  // namespace steward::scoring::churn_model
