#include "services/scoring/churn_model/logistic_trainer.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scoring/churn_model/evaluation.h"

namespace steward::scoring::churn_model {
namespace {

using ::testing::HasSubstr;

void ExpectInvalid(const absl::Status& status, const std::string& words) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(words));
}

// Rows drawn from a known logistic model on raw features with different centres and spreads, so the
// test also exercises the standardisation: P(y = 1) = σ(intercept + Σ weights[j] × x[j]).
LabeledData FromKnownModel(size_t rows, double intercept, const std::vector<double>& weights, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  LabeledData data;
  for (size_t j = 0; j < weights.size(); ++j) data.x.feature_names.push_back("x" + std::to_string(j));
  for (size_t r = 0; r < rows; ++r) {
    double z = intercept;
    for (size_t j = 0; j < weights.size(); ++j) {
      const double value = 3.0 * static_cast<double>(j) + (1.0 + static_cast<double>(j)) * normal(rng);
      data.x.values.push_back(value);
      z += weights[j] * value;
    }
    data.labels.push_back(uniform(rng) < Sigmoid(z) ? 1 : 0);
  }
  return data;
}

// The fitted weights back on the raw scale: w_raw = w / scale, intercept_raw = b − Σ w × mean / scale.
std::vector<double> RawWeights(const LogisticModel& model, double& raw_intercept) {
  std::vector<double> raw;
  raw_intercept = model.intercept;
  for (size_t j = 0; j < model.weights.size(); ++j) {
    raw.push_back(model.weights[j] / model.scales[j]);
    raw_intercept -= model.weights[j] * model.means[j] / model.scales[j];
  }
  return raw;
}

TEST(TrainLogisticTest, RecoversKnownWeightsInAHandfulOfIterations) {
  const std::vector<double> truth = {1.0, -0.8, 0.25};
  const LabeledData data = FromKnownModel(50000, -0.5, truth, /*seed=*/2024);
  absl::StatusOr<LogisticModel> model = TrainLogistic(data, TrainOptions{.lambda = 1e-6});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(model->stats.converged);
  EXPECT_LE(model->stats.iterations, 10);
  EXPECT_LT(model->stats.gradient_max_abs, 1e-8);
  double intercept = 0;
  const std::vector<double> raw = RawWeights(*model, intercept);
  // With 50,000 rows the standard errors are about 0.02; 0.06 is three of them.
  for (size_t j = 0; j < truth.size(); ++j) EXPECT_NEAR(raw[j], truth[j], 0.06) << "weight " << j;
  EXPECT_NEAR(intercept, -0.5, 0.1);
  EXPECT_EQ(model->stats.train_rows, 50000u);
  EXPECT_NEAR(model->stats.objective, model->stats.train_log_loss, 1e-4);  // λ tiny: penalty negligible
}

TEST(TrainLogisticTest, UnpenalisedFitOfABinaryFeatureMatchesTheGroupRates) {
  // With one 0/1 feature and λ = 0 the maximum-likelihood fit is exact: each group's probability is
  // its observed churn rate (here 1/4 and 3/5).
  LabeledData data;
  data.x.feature_names = {"on_annual_plan"};
  data.x.values = {0, 0, 0, 0, 1, 1, 1, 1, 1};
  data.labels = {1, 0, 0, 0, 1, 1, 1, 0, 0};
  absl::StatusOr<LogisticModel> model = TrainLogistic(data, TrainOptions{.lambda = 0});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(model->stats.converged);
  EXPECT_NEAR(*PredictProbability(*model, std::vector<double>{0}), 0.25, 1e-9);
  EXPECT_NEAR(*PredictProbability(*model, std::vector<double>{1}), 0.6, 1e-9);
}

TEST(TrainLogisticTest, SeparableDataStaysFiniteThanksToL2) {
  // Churn exactly when usage < 0: without a penalty the weight would grow without bound.
  LabeledData data;
  data.x.feature_names = {"usage", "noise"};
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0, 1);
  for (int r = 0; r < 2000; ++r) {
    const double usage = normal(rng);
    data.x.values.push_back(usage);
    data.x.values.push_back(normal(rng));
    data.labels.push_back(usage < 0 ? 1 : 0);
  }
  double previous_weight = 0;
  for (double lambda : {1e-1, 1e-2, 1e-3, 1e-4}) {
    absl::StatusOr<LogisticModel> model = TrainLogistic(data, TrainOptions{.lambda = lambda});
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_TRUE(model->stats.converged) << "lambda " << lambda;
    EXPECT_LE(model->stats.iterations, 30) << "lambda " << lambda;
    const double weight = model->weights[0];
    EXPECT_TRUE(std::isfinite(weight));
    EXPECT_LT(weight, 0);
    // Less shrinkage, larger weight, but bounded: |w| ≤ sqrt(2 × log 2 / λ), since the objective at
    // w = 0 (log 2 with the intercept alone at 0) bounds λ/2 w².
    EXPECT_GT(std::abs(weight), std::abs(previous_weight));
    EXPECT_LE(std::abs(weight), std::sqrt(2 * std::log(2.0) / lambda));
    previous_weight = weight;
    absl::StatusOr<std::vector<double>> p = PredictProbabilities(*model, data.x);
    ASSERT_TRUE(p.ok());
    EXPECT_GT(*RocAuc(*p, data.labels), 0.999);  // not exactly 1: the noise feature keeps a tiny weight
  }
}

TEST(TrainLogisticTest, InterceptIsNotPenalised) {
  // A huge λ flattens the weights, but the intercept still fits the base rate of 30%.
  const LabeledData data = FromKnownModel(1000, -1, {0.5, 0.5}, 11);
  double positives = 0;
  for (int label : data.labels) positives += label;
  absl::StatusOr<LogisticModel> model = TrainLogistic(data, TrainOptions{.lambda = 1e6});
  ASSERT_TRUE(model.ok()) << model.status();
  for (double weight : model->weights) EXPECT_NEAR(weight, 0, 1e-5);
  EXPECT_NEAR(Sigmoid(model->intercept), positives / 1000, 1e-6);
}

TEST(TrainLogisticTest, ConstantFeatureGetsScaleOneAndWeightZero) {
  LabeledData data = FromKnownModel(500, 0, {1.0}, 3);
  data.x.feature_names.push_back("always_seven");
  std::vector<double> values;
  for (size_t r = 0; r < 500; ++r) {
    values.push_back(data.x.values[r]);
    values.push_back(7);
  }
  data.x.values = values;
  absl::StatusOr<LogisticModel> model = TrainLogistic(data, TrainOptions{});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_DOUBLE_EQ(model->means[1], 7);
  EXPECT_DOUBLE_EQ(model->scales[1], 1);
  EXPECT_DOUBLE_EQ(model->weights[1], 0);
}

TEST(TrainLogisticTest, SameDataSameModel) {
  const LabeledData data = FromKnownModel(2000, -1, {0.3, -0.2, 0.1}, 9);
  absl::StatusOr<LogisticModel> a = TrainLogistic(data, TrainOptions{});
  absl::StatusOr<LogisticModel> b = TrainLogistic(data, TrainOptions{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(SerializeModel(*a), SerializeModel(*b));
}

TEST(TrainLogisticTest, BadInputsAreInvalidArgumentsNamingTheProblem) {
  const LabeledData good = FromKnownModel(100, 0, {1.0, 1.0}, 1);
  ExpectInvalid(TrainLogistic(LabeledData{}, TrainOptions{}).status(), "no features");
  LabeledData empty = good;
  empty.x.values.clear();
  empty.labels.clear();
  ExpectInvalid(TrainLogistic(empty, TrainOptions{}).status(), "no rows");
  LabeledData mismatched = good;
  mismatched.labels.push_back(0);
  ExpectInvalid(TrainLogistic(mismatched, TrainOptions{}).status(), "101 labels for 100 rows");
  LabeledData with_nan = good;
  with_nan.x.values[7] = std::nan("");
  ExpectInvalid(TrainLogistic(with_nan, TrainOptions{}).status(), "row 3, feature 'x1' is NaN");
  LabeledData one_class = good;
  for (int& label : one_class.labels) label = 0;
  ExpectInvalid(TrainLogistic(one_class, TrainOptions{}).status(), "all 0: need both classes");
  ExpectInvalid(TrainLogistic(good, TrainOptions{.lambda = -1}).status(), "lambda -1");
  ExpectInvalid(TrainLogistic(good, TrainOptions{.lambda = std::nan("")}).status(), "lambda nan");
  ExpectInvalid(TrainLogistic(good, TrainOptions{.max_iterations = 0}).status(), "max_iterations");
}

TEST(TrainWithLambdaSearchTest, KeepsTheLambdaWithTheLowestValidationLogLoss) {
  // Few rows and many useless features: some shrinkage must help on validation.
  std::vector<double> truth(20, 0.0);
  truth[0] = 1.0;
  const LabeledData train = FromKnownModel(200, -0.5, truth, 21);
  const LabeledData validation = FromKnownModel(2000, -0.5, truth, 22);
  absl::StatusOr<LambdaSearchResult> result = TrainWithLambdaSearch(train, validation, LambdaSearchOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->trials.size(), 9u);
  const LambdaTrial* best = &result->trials[0];
  for (size_t i = 0; i < result->trials.size(); ++i) {
    const LambdaTrial& trial = result->trials[i];
    EXPECT_TRUE(trial.converged) << trial.lambda;
    if (i > 0) {
      EXPECT_LT(trial.lambda, result->trials[i - 1].lambda);  // largest first
    }
    if (trial.validation_log_loss < best->validation_log_loss) best = &trial;
  }
  EXPECT_EQ(result->model.lambda, best->lambda);
  EXPECT_GT(result->model.lambda, 1e-4);  // not the least regularised
  EXPECT_EQ(result->model.stats.validation_rows, 2000u);
  EXPECT_EQ(result->model.stats.validation_log_loss, best->validation_log_loss);
  EXPECT_EQ(result->model.stats.validation_auc, best->validation_auc);
  // The chosen model is the one a direct fit at that λ gives (warm starts change nothing but speed).
  absl::StatusOr<LogisticModel> direct = TrainLogistic(train, TrainOptions{.lambda = best->lambda});
  ASSERT_TRUE(direct.ok());
  for (size_t j = 0; j < truth.size(); ++j) EXPECT_NEAR(direct->weights[j], result->model.weights[j], 1e-6);
}

TEST(TrainWithLambdaSearchTest, BadGridOrValidationDataIsInvalid) {
  const LabeledData train = FromKnownModel(100, 0, {1.0}, 1);
  LabeledData validation = FromKnownModel(100, 0, {1.0}, 2);
  ExpectInvalid(TrainWithLambdaSearch(train, validation, LambdaSearchOptions{.lambdas = {}}).status(),
                "grid is empty");
  ExpectInvalid(TrainWithLambdaSearch(train, validation, LambdaSearchOptions{.lambdas = {1, -1}}).status(),
                "lambda -1");
  LabeledData renamed = validation;
  renamed.x.feature_names = {"other"};
  ExpectInvalid(TrainWithLambdaSearch(train, renamed, LambdaSearchOptions{}).status(), "differ");
  LabeledData one_class = validation;
  for (int& label : one_class.labels) label = 1;
  ExpectInvalid(TrainWithLambdaSearch(train, one_class, LambdaSearchOptions{}).status(),
                "validation data: AUC needs both classes");
  validation.labels.pop_back();
  ExpectInvalid(TrainWithLambdaSearch(train, validation, LambdaSearchOptions{}).status(),
                "validation data: 99 labels for 100 rows");
}

}  // namespace
}  // namespace steward::scoring::churn_model
