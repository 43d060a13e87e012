// steward_churn_model_bench: how long the churn model takes to train on synthetic data of the size
// a large tenant might have (100,000 accounts × 40 features by default), beside a baseline of one
// prediction pass over the same rows. Prints figures; asserts nothing about speed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/scoring/churn_model/design_matrix.h"
#include "services/scoring/churn_model/logistic_model.h"
#include "services/scoring/churn_model/logistic_trainer.h"

ABSL_FLAG(int, rows, 100000, "training rows");
ABSL_FLAG(int, features, 40, "features per row");
ABSL_FLAG(uint64_t, seed, 7, "seed of the synthetic data");

namespace steward::scoring::churn_model {
namespace {

// Rows with a mix of feature shapes met in account data: Gaussian, skewed (log-normal amounts) and
// 0/1 flags, and labels drawn from a known logistic model, about 25% positive.
LabeledData Synthetic(size_t rows, size_t features, uint64_t seed, LogisticModel& truth) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  LabeledData data;
  truth = LogisticModel{};
  for (size_t j = 0; j < features; ++j) {
    data.x.feature_names.push_back(absl::StrCat("f", j));
    truth.feature_names.push_back(data.x.feature_names.back());
    truth.means.push_back(0);
    truth.scales.push_back(1);
    truth.weights.push_back(normal(rng) * 0.5);
  }
  truth.intercept = -1.5;
  data.x.values.resize(rows * features);
  for (size_t r = 0; r < rows; ++r) {
    double* row = data.x.values.data() + r * features;
    for (size_t j = 0; j < features; ++j) {
      switch (j % 3) {
        case 0:
          row[j] = normal(rng);
          break;
        case 1:
          row[j] = std::exp(normal(rng)) - std::exp(0.5);
          break;
        default:
          row[j] = uniform(rng) < 0.3 ? 1 : 0;
      }
    }
    data.labels.push_back(uniform(rng) < Sigmoid(Logit(truth, {row, features})) ? 1 : 0);
  }
  return data;
}

// Wall-clock and CPU seconds of one step: on a shared machine the wall clock includes waiting for a
// core, the process CPU time does not (this bench runs on one thread, so CPU ≤ wall).
struct Stopwatch {
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  std::clock_t cpu = std::clock();
  double WallSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  }
  double CpuSeconds() const { return static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC; }
  std::string Format() const {
    return absl::StrFormat("%.3f s wall, %.3f s CPU", WallSeconds(), CpuSeconds());
  }
};

int Run() {
  const size_t rows = static_cast<size_t>(absl::GetFlag(FLAGS_rows));
  const size_t features = static_cast<size_t>(absl::GetFlag(FLAGS_features));
  LogisticModel truth;
  const LabeledData data = Synthetic(rows, features, absl::GetFlag(FLAGS_seed), truth);
  std::cout << absl::StrFormat("synthetic data: %d rows x %d features\n", rows, features);

  Stopwatch predict_time;
  absl::StatusOr<std::vector<double>> predicted = PredictProbabilities(truth, data.x);
  const double predict_seconds = predict_time.CpuSeconds();
  const std::string predict_figures = predict_time.Format();
  if (!predicted.ok()) {
    std::cerr << predicted.status() << "\n";
    return 1;
  }
  std::cout << "baseline, one prediction pass (with input checks): " << predict_figures << "\n";

  Stopwatch train_time;
  absl::StatusOr<LogisticModel> model = TrainLogistic(data, TrainOptions{.lambda = 1e-3});
  const double train_seconds = train_time.CpuSeconds();
  const std::string train_figures = train_time.Format();
  if (!model.ok()) {
    std::cerr << model.status() << "\n";
    return 1;
  }
  std::cout << absl::StrFormat(
      "TrainLogistic, lambda 0.001: %s (CPU: %.0f prediction passes), %d Newton iterations, converged %s, "
      "max |gradient| %.1e\n",
      train_figures, train_seconds / std::max(predict_seconds, 1e-6), model->stats.iterations,
      model->stats.converged ? "yes" : "no", model->stats.gradient_max_abs);

  // The λ search as the product would run it: 80% train, 20% validation, the default 9-value grid.
  absl::StatusOr<SplitIndices> split = StratifiedSplit(data.labels, 0.8, 0.2, 1);
  if (!split.ok()) return 1;
  const LabeledData train = SelectRows(data, split->train);
  const LabeledData validation = SelectRows(data, split->validation);
  Stopwatch search_time;
  absl::StatusOr<LambdaSearchResult> searched =
      TrainWithLambdaSearch(train, validation, LambdaSearchOptions{});
  const std::string search_figures = search_time.Format();
  if (!searched.ok()) {
    std::cerr << searched.status() << "\n";
    return 1;
  }
  int iterations = 0;
  for (const LambdaTrial& trial : searched->trials) iterations += trial.iterations;
  std::cout << absl::StrFormat(
      "TrainWithLambdaSearch, %d lambdas on %d + %d rows: %s, %d Newton iterations in all, chose lambda %g "
      "(validation AUC %.4f)\n",
      searched->trials.size(), train.x.rows(), validation.x.rows(), search_figures, iterations,
      searched->model.lambda, searched->model.stats.validation_auc);

  double max_weight_error = 0;
  for (size_t j = 0; j < features; ++j) {
    // The model's weights are per standardised feature; back on the raw scale they estimate the truth.
    max_weight_error =
        std::max(max_weight_error, std::abs(model->weights[j] / model->scales[j] - truth.weights[j]));
  }
  std::cout << absl::StrFormat("max |fitted - true| raw-scale weight: %.3f\n", max_weight_error);
  return 0;
}

}  // namespace
}  // namespace steward::scoring::churn_model

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return steward::scoring::churn_model::Run();
}
