#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace steward::scoring::churn_model {

// Rows of named numeric features, dense and row-major: value (r, c) is values[r * cols() + c].
// Plain data; the trainer, the evaluation and the explanations all take it by const reference.
struct DesignMatrix {
  std::vector<std::string> feature_names;
  std::vector<double> values;

  size_t cols() const { return feature_names.size(); }
  size_t rows() const { return feature_names.empty() ? 0 : values.size() / feature_names.size(); }
  absl::Span<const double> row(size_t r) const { return {values.data() + r * cols(), cols()}; }
};

// A design matrix with one binary label per row (1 = churned within the horizon, 0 = stayed).
struct LabeledData {
  DesignMatrix x;
  std::vector<int> labels;
};

// OK when `x` has at least one feature, unique non-empty names without tabs or newlines (the model's
// text format is line- and tab-separated), a whole number of rows, and only finite values. Errors are
// INVALID_ARGUMENT naming the problem, e.g. "row 12, feature 'tenure' is NaN".
absl::Status ValidateDesignMatrix(const DesignMatrix& x);

// ValidateDesignMatrix, plus at least one row, one label per row and every label 0 or 1.
absl::Status ValidateLabeledData(const LabeledData& data);

// OK when every label is 0 or 1; INVALID_ARGUMENT naming the first that is not.
absl::Status ValidateLabels(absl::Span<const int> labels);

// The rows at `indices`, in that order (indices must be < data.x.rows()).
LabeledData SelectRows(const LabeledData& data, absl::Span<const size_t> indices);

// Row indices of a deterministic train/validation/test split.
struct SplitIndices {
  std::vector<size_t> train;
  std::vector<size_t> validation;
  std::vector<size_t> test;
};

// Splits the rows at random with `seed` into train/validation/test with the given fractions (the test
// split gets the rest), stratified by label: each class is shuffled and cut separately, so every split
// keeps the overall churn rate (it matters for small data such as Telco's 7,043 rows, where an
// unlucky validation split moves AUC by a point). Each split is returned in ascending row order.
// The same seed gives the same split on every platform (own Fisher–Yates over std::mt19937_64, whose
// output the standard fixes, rather than std::shuffle, whose algorithm it does not).
// INVALID_ARGUMENT on bad labels or fractions outside [0, 1] that sum to more than 1.
absl::StatusOr<SplitIndices> StratifiedSplit(absl::Span<const int> labels, double train_fraction,
                                             double validation_fraction, uint64_t seed);

}  // namespace steward::scoring::churn_model
