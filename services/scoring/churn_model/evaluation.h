#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace steward::scoring::churn_model {

// Out-of-sample metrics, usable on any split. Every function takes one prediction per label (labels 0
// or 1) and returns INVALID_ARGUMENT naming the problem for empty input, mismatched sizes, a label
// that is not 0/1, or a prediction that is NaN/infinite (or, for probabilities, outside [0, 1]).
// Pure functions; thread-safe.

// ROC AUC by ranks (Mann–Whitney): (Σ ranks of positives − P(P+1)/2) / (P·N), tied scores sharing
// their average rank, so a tie between a positive and a negative counts one half. Any finite scores
// (probabilities, logits). Needs both classes (INVALID_ARGUMENT otherwise). O(n log n).
absl::StatusOr<double> RocAuc(absl::Span<const double> scores, absl::Span<const int> labels);

// Mean of (p − y)²; 0 is perfect, 0.25 is a constant 0.5.
absl::StatusOr<double> BrierScore(absl::Span<const double> probabilities, absl::Span<const int> labels);

// Mean of −[y log p + (1 − y) log(1 − p)], p clipped to [1e-15, 1 − 1e-15] so that a confident miss
// costs about 34.5 instead of infinity.
absl::StatusOr<double> LogLoss(absl::Span<const double> probabilities, absl::Span<const int> labels);

// One equal-width bin of predicted probability: [lower, upper), the last bin closed at 1.
struct ReliabilityBin {
  double lower = 0;
  double upper = 0;
  size_t count = 0;
  double mean_predicted = 0;  // 0 when empty
  double observed_rate = 0;   // share of label 1; 0 when empty
};

// `bins` equal-width bins over [0, 1] (10 by default). A calibrated model has observed_rate ≈
// mean_predicted in every well-populated bin. INVALID_ARGUMENT also for bins < 1.
absl::StatusOr<std::vector<ReliabilityBin>> ReliabilityBins(absl::Span<const double> probabilities,
                                                            absl::Span<const int> labels, int bins = 10);

// All of the above for one split, plus the count-weighted mean |observed − predicted| over the bins
// (expected calibration error), a one-number summary of the reliability table.
struct Evaluation {
  size_t rows = 0;
  double positive_rate = 0;
  double auc = 0;
  double brier = 0;
  double log_loss = 0;
  double expected_calibration_error = 0;
  std::vector<ReliabilityBin> reliability;
};
absl::StatusOr<Evaluation> Evaluate(absl::Span<const double> probabilities, absl::Span<const int> labels);

// A few lines for logs: the headline figures, then the reliability table
// ("bin  count  mean_predicted  observed_rate").
std::string FormatEvaluation(const Evaluation& evaluation);

}  // namespace steward::scoring::churn_model
