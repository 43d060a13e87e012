#include "services/scoring/churn_model/evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/scoring/churn_model/design_matrix.h"

namespace steward::scoring::churn_model {
namespace {

absl::Status CheckInputs(absl::Span<const double> predictions, absl::Span<const int> labels,
                         bool probabilities) {
  if (predictions.empty()) return absl::InvalidArgumentError("no predictions to evaluate");
  if (predictions.size() != labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(predictions.size(), " predictions but ", labels.size(), " labels"));
  }
  if (absl::Status status = ValidateLabels(labels); !status.ok()) return status;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const double p = predictions[i];
    if (!std::isfinite(p)) {
      return absl::InvalidArgumentError(
          absl::StrCat("prediction ", i, " is ", std::isnan(p) ? "NaN" : "infinite"));
    }
    if (probabilities && (p < 0 || p > 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("prediction ", i, " is ", p, ", not a probability in [0, 1]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> RocAuc(absl::Span<const double> scores, absl::Span<const int> labels) {
  if (absl::Status status = CheckInputs(scores, labels, /*probabilities=*/false); !status.ok()) return status;
  const size_t n = scores.size();
  const size_t positives = static_cast<size_t>(std::count(labels.begin(), labels.end(), 1));
  if (positives == 0 || positives == n) {
    return absl::InvalidArgumentError(
        absl::StrCat("AUC needs both classes; all ", n, " labels are ", positives == 0 ? 0 : 1));
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Ranks are 1-based; a run of equal scores at positions [i, j) shares the rank (i + 1 + j) / 2.
  double positive_rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = 0.5 * static_cast<double>(i + 1 + j);
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1) positive_rank_sum += average_rank;
    }
    i = j;
  }
  const double p = static_cast<double>(positives);
  const double negatives = static_cast<double>(n - positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * negatives);
}

absl::StatusOr<double> BrierScore(absl::Span<const double> probabilities, absl::Span<const int> labels) {
  if (absl::Status status = CheckInputs(probabilities, labels, true); !status.ok()) return status;
  double sum = 0;
  for (size_t i = 0; i < probabilities.size(); ++i) {
    const double d = probabilities[i] - labels[i];
    sum += d * d;
  }
  return sum / static_cast<double>(probabilities.size());
}

absl::StatusOr<double> LogLoss(absl::Span<const double> probabilities, absl::Span<const int> labels) {
  if (absl::Status status = CheckInputs(probabilities, labels, true); !status.ok()) return status;
  constexpr double kEpsilon = 1e-15;
  double sum = 0;
  for (size_t i = 0; i < probabilities.size(); ++i) {
    const double p = std::clamp(probabilities[i], kEpsilon, 1 - kEpsilon);
    sum -= labels[i] == 1 ? std::log(p) : std::log1p(-p);
  }
  return sum / static_cast<double>(probabilities.size());
}

absl::StatusOr<std::vector<ReliabilityBin>> ReliabilityBins(absl::Span<const double> probabilities,
                                                            absl::Span<const int> labels, int bins) {
  if (bins < 1) return absl::InvalidArgumentError(absl::StrCat("bins is ", bins, ", must be >= 1"));
  if (absl::Status status = CheckInputs(probabilities, labels, true); !status.ok()) return status;
  std::vector<ReliabilityBin> result(static_cast<size_t>(bins));
  std::vector<double> predicted_sum(result.size(), 0.0), positive_sum(result.size(), 0.0);
  for (size_t i = 0; i < probabilities.size(); ++i) {
    const size_t bin = std::min(result.size() - 1, static_cast<size_t>(probabilities[i] * bins));
    ++result[bin].count;
    predicted_sum[bin] += probabilities[i];
    positive_sum[bin] += labels[i];
  }
  for (size_t b = 0; b < result.size(); ++b) {
    result[b].lower = static_cast<double>(b) / bins;
    result[b].upper = static_cast<double>(b + 1) / bins;
    if (result[b].count > 0) {
      result[b].mean_predicted = predicted_sum[b] / static_cast<double>(result[b].count);
      result[b].observed_rate = positive_sum[b] / static_cast<double>(result[b].count);
    }
  }
  return result;
}

absl::StatusOr<Evaluation> Evaluate(absl::Span<const double> probabilities, absl::Span<const int> labels) {
  Evaluation evaluation;
  absl::StatusOr<double> auc = RocAuc(probabilities, labels);
  if (!auc.ok()) return auc.status();
  absl::StatusOr<double> brier = BrierScore(probabilities, labels);
  if (!brier.ok()) return brier.status();
  absl::StatusOr<double> log_loss = LogLoss(probabilities, labels);
  if (!log_loss.ok()) return log_loss.status();
  absl::StatusOr<std::vector<ReliabilityBin>> bins = ReliabilityBins(probabilities, labels);
  if (!bins.ok()) return bins.status();
  evaluation.rows = labels.size();
  evaluation.positive_rate =
      static_cast<double>(std::count(labels.begin(), labels.end(), 1)) / static_cast<double>(labels.size());
  evaluation.auc = *auc;
  evaluation.brier = *brier;
  evaluation.log_loss = *log_loss;
  evaluation.reliability = *std::move(bins);
  for (const ReliabilityBin& bin : evaluation.reliability) {
    evaluation.expected_calibration_error +=
        static_cast<double>(bin.count) * std::abs(bin.observed_rate - bin.mean_predicted);
  }
  evaluation.expected_calibration_error /= static_cast<double>(evaluation.rows);
  return evaluation;
}

std::string FormatEvaluation(const Evaluation& evaluation) {
  std::string out =
      absl::StrFormat("rows %d  positive rate %.4f  AUC %.4f  Brier %.4f  log loss %.4f  ECE %.4f\n",
                      evaluation.rows, evaluation.positive_rate, evaluation.auc, evaluation.brier,
                      evaluation.log_loss, evaluation.expected_calibration_error);
  absl::StrAppend(&out, "bin         count  mean_predicted  observed_rate\n");
  for (const ReliabilityBin& bin : evaluation.reliability) {
    absl::StrAppend(&out, absl::StrFormat("[%.1f, %.1f)  %5d  %14.4f  %13.4f\n", bin.lower, bin.upper,
                                          bin.count, bin.mean_predicted, bin.observed_rate));
  }
  return out;
}

}  // namespace steward::scoring::churn_model
