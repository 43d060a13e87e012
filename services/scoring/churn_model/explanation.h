#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/scoring/churn_model/logistic_model.h"

namespace steward::scoring::churn_model {

// One feature's share of an account's logit: weight × standardised value. Positive pushes towards
// churn, negative away from it, relative to an account with every feature at its training mean (whose
// logit is the intercept).
struct Contribution {
  std::string feature;
  double raw_value = 0;
  double standardized_value = 0;  // (raw − mean) / scale
  double weight = 0;
  double contribution = 0;  // weight × standardized_value
};

// The probability of one account with the features that moved it most.
struct Explanation {
  double probability = 0;
  double logit = 0;  // intercept + the sum of every feature's contribution, not only the top ones
  double intercept = 0;
  std::vector<Contribution> top;  // by |contribution|, largest first; ties keep the model's order
};

// Explains `raw_row` (one raw value per model feature, in order) with its `top_k` largest
// contributions (all features when top_k ≥ their number). INVALID_ARGUMENT for a row of the wrong size
// or with a non-finite value. Pure function; thread-safe.
absl::StatusOr<Explanation> Explain(const LogisticModel& model, absl::Span<const double> raw_row,
                                    size_t top_k);

}  // namespace steward::scoring::churn_model
