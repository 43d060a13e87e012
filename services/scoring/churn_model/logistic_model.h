#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/scoring/churn_model/design_matrix.h"

namespace steward::scoring::churn_model {

// How a model was fitted: enough to judge it later without the training data.
struct FitStatistics {
  int iterations = 0;      // Newton iterations of the final fit
  bool converged = false;  // the gradient fell below the tolerance
  size_t train_rows = 0;
  double train_positive_rate = 0;  // share of label 1 in the training split
  double train_log_loss = 0;       // mean, without the penalty
  double objective = 0;            // train_log_loss + λ/2 ‖w‖²
  double gradient_max_abs = 0;     // of the objective, at the end
  // On the validation split when λ was chosen there (TrainWithLambdaSearch); 0 rows otherwise.
  size_t validation_rows = 0;
  double validation_auc = 0;
  double validation_log_loss = 0;
};

// L2-regularised logistic regression on standardised features:
//   P(label = 1 | x) = σ(intercept + Σ_j weights[j] × (x[j] − means[j]) / scales[j]).
// The means and scales are fitted on the training split and travel with the model, so it is applied to
// raw feature values. Plain data; copyable, serialisable (SerializeModel), safe to share between
// threads once built.
struct LogisticModel {
  std::vector<std::string> feature_names;
  std::vector<double> means;
  std::vector<double> scales;   // > 0; 1 for a feature that was constant in training
  std::vector<double> weights;  // per standardised feature
  double intercept = 0;         // not penalised
  double lambda = 0;            // the objective is mean log loss + λ/2 ‖weights‖²
  FitStatistics stats;
};

// OK when the four per-feature vectors have one entry per feature name, the names are valid (see
// ValidateDesignMatrix), every number is finite, scales are > 0 and λ ≥ 0; else INVALID_ARGUMENT.
absl::Status ValidateModel(const LogisticModel& model);

// Numerically stable logistic function.
double Sigmoid(double z);

// intercept + Σ weight × standardised value. No checks: `raw_row` must have one finite value per
// feature of a validated model (the hot path of PredictProbabilities).
double Logit(const LogisticModel& model, absl::Span<const double> raw_row);

// σ(Logit), after checking the row's size and values (INVALID_ARGUMENT naming the problem).
absl::StatusOr<double> PredictProbability(const LogisticModel& model, absl::Span<const double> raw_row);

// One probability per row. The matrix's feature names must equal the model's, in order, so that a
// reordered or renamed column fails loudly instead of scoring silently wrong.
absl::StatusOr<std::vector<double>> PredictProbabilities(const LogisticModel& model, const DesignMatrix& x);

// A line-based text form, tab-separated so that names may contain spaces ("PaymentMethod=Bank transfer
// (automatic)"); numbers are written with 17 significant digits, so ParseModel(SerializeModel(m))
// gives m back exactly. The first line names the format and its version:
//   steward.churn_model.logistic v1
//   lambda<TAB>0.01
//   intercept<TAB>-1.2
//   <statistic><TAB><value>            (one line per FitStatistics field)
//   feature<TAB><name><TAB><mean><TAB><scale><TAB><weight>   (one line per feature, in order)
std::string SerializeModel(const LogisticModel& model);

// Parses SerializeModel's output; INVALID_ARGUMENT naming the line on anything else (unknown keys
// included: a newer format must bump the version), or when the result fails ValidateModel.
absl::StatusOr<LogisticModel> ParseModel(absl::string_view text);

}  // namespace steward::scoring::churn_model
