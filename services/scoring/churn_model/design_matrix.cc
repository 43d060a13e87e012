#include "services/scoring/churn_model/design_matrix.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace steward::scoring::churn_model {

absl::Status ValidateDesignMatrix(const DesignMatrix& x) {
  if (x.feature_names.empty()) return absl::InvalidArgumentError("design matrix has no features");
  absl::flat_hash_set<std::string> seen;
  for (const std::string& name : x.feature_names) {
    if (name.empty()) return absl::InvalidArgumentError("design matrix has an empty feature name");
    if (name.find_first_of("\t\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("feature name '", name, "' contains a tab or newline"));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("feature '", name, "' appears twice"));
    }
  }
  if (x.values.size() % x.cols() != 0) {
    return absl::InvalidArgumentError(absl::StrCat("design matrix has ", x.values.size(),
                                                   " values, not a multiple of its ", x.cols(), " features"));
  }
  for (size_t i = 0; i < x.values.size(); ++i) {
    if (!std::isfinite(x.values[i])) {
      return absl::InvalidArgumentError(absl::StrCat("row ", i / x.cols(), ", feature '",
                                                     x.feature_names[i % x.cols()], "' is ",
                                                     std::isnan(x.values[i]) ? "NaN" : "infinite"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(absl::Span<const int> labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      return absl::InvalidArgumentError(absl::StrCat("label of row ", i, " is ", labels[i], ", not 0 or 1"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLabeledData(const LabeledData& data) {
  if (absl::Status status = ValidateDesignMatrix(data.x); !status.ok()) return status;
  if (data.x.rows() == 0) return absl::InvalidArgumentError("design matrix has no rows");
  if (data.labels.size() != data.x.rows()) {
    return absl::InvalidArgumentError(
        absl::StrCat(data.labels.size(), " labels for ", data.x.rows(), " rows"));
  }
  return ValidateLabels(data.labels);
}

LabeledData SelectRows(const LabeledData& data, absl::Span<const size_t> indices) {
  LabeledData out;
  out.x.feature_names = data.x.feature_names;
  out.x.values.reserve(indices.size() * data.x.cols());
  out.labels.reserve(indices.size());
  for (size_t index : indices) {
    absl::Span<const double> row = data.x.row(index);
    out.x.values.insert(out.x.values.end(), row.begin(), row.end());
    out.labels.push_back(data.labels[index]);
  }
  return out;
}

namespace {

// Fisher–Yates with the modulo draw: its bias (< 2^-40 for Telco-sized inputs) does not matter here,
// and unlike std::uniform_int_distribution it gives the same numbers with every standard library.
void Shuffle(std::vector<size_t>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    std::swap(items[i - 1], items[rng() % i]);
  }
}

}  // namespace

absl::StatusOr<SplitIndices> StratifiedSplit(absl::Span<const int> labels, double train_fraction,
                                             double validation_fraction, uint64_t seed) {
  if (absl::Status status = ValidateLabels(labels); !status.ok()) return status;
  if (!(train_fraction >= 0 && validation_fraction >= 0 && train_fraction + validation_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("split fractions ", train_fraction, " and ",
                                                   validation_fraction, " must be >= 0 and sum to <= 1"));
  }
  std::mt19937_64 rng(seed);
  SplitIndices split;
  for (int label : {0, 1}) {
    std::vector<size_t> members;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == label) members.push_back(i);
    }
    Shuffle(members, rng);
    const auto n_train = static_cast<size_t>(std::llround(train_fraction * members.size()));
    const auto n_validation = std::min(
        members.size() - n_train, static_cast<size_t>(std::llround(validation_fraction * members.size())));
    split.train.insert(split.train.end(), members.begin(), members.begin() + n_train);
    split.validation.insert(split.validation.end(), members.begin() + n_train,
                            members.begin() + n_train + n_validation);
    split.test.insert(split.test.end(), members.begin() + n_train + n_validation, members.end());
  }
  for (std::vector<size_t>* part : {&split.train, &split.validation, &split.test}) {
    std::sort(part->begin(), part->end());
  }
  return split;
}

}  // namespace steward::scoring::churn_model
