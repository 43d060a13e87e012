#include "services/scoring/churn_model/logistic_model.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::churn_model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void ExpectInvalid(const absl::Status& status, const std::string& words) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(words));
}

LogisticModel TwoFeatureModel() {
  LogisticModel model;
  model.feature_names = {"tenure", "PaymentMethod=Bank transfer (automatic)"};
  model.means = {2, 0.25};
  model.scales = {4, 0.4330127018922193};
  model.weights = {2, -0.1 / 3};
  model.intercept = -1;
  model.lambda = 0.003;
  model.stats.iterations = 5;
  model.stats.converged = true;
  model.stats.train_rows = 4225;
  model.stats.train_positive_rate = 0.2654;
  model.stats.train_log_loss = 0.41;
  model.stats.objective = 0.415;
  model.stats.gradient_max_abs = 3e-11;
  model.stats.validation_rows = 1409;
  model.stats.validation_auc = 0.8477;
  model.stats.validation_log_loss = 0.4153;
  return model;
}

TEST(SigmoidTest, StableAtTheExtremes) {
  EXPECT_DOUBLE_EQ(Sigmoid(0), 0.5);
  EXPECT_DOUBLE_EQ(Sigmoid(1000), 1.0);
  EXPECT_DOUBLE_EQ(Sigmoid(-1000), 0.0);
  EXPECT_NEAR(Sigmoid(-2) + Sigmoid(2), 1.0, 1e-15);
}

TEST(PredictTest, StandardisesRawValuesWithTheStoredMeansAndScales) {
  // tenure 6 → (6 − 2) / 4 = 1; the second feature at its mean contributes 0. Logit −1 + 2 × 1 = 1.
  const std::vector<double> row = {6, 0.25};
  EXPECT_DOUBLE_EQ(Logit(TwoFeatureModel(), row), 1.0);
  EXPECT_DOUBLE_EQ(*PredictProbability(TwoFeatureModel(), row), 1 / (1 + std::exp(-1.0)));
  DesignMatrix x{TwoFeatureModel().feature_names, {6, 0.25, 2, 0.25}};
  absl::StatusOr<std::vector<double>> all = PredictProbabilities(TwoFeatureModel(), x);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, ElementsAre(1 / (1 + std::exp(-1.0)), 1 / (1 + std::exp(1.0))));
}

TEST(PredictTest, BadRowsAndMismatchedFeaturesAreInvalid) {
  ExpectInvalid(PredictProbability(TwoFeatureModel(), std::vector<double>{1}).status(),
                "1 values, the model 2");
  ExpectInvalid(PredictProbability(TwoFeatureModel(), std::vector<double>{std::nan(""), 1}).status(),
                "'tenure' is not finite");
  DesignMatrix swapped{{"PaymentMethod=Bank transfer (automatic)", "tenure"}, {0, 6}};
  ExpectInvalid(PredictProbabilities(TwoFeatureModel(), swapped).status(), "differ from the model's");
  DesignMatrix with_nan{TwoFeatureModel().feature_names, {6, std::nan("")}};
  ExpectInvalid(PredictProbabilities(TwoFeatureModel(), with_nan).status(), "NaN");
}

TEST(SerializeModelTest, RoundTripsExactly) {
  const LogisticModel model = TwoFeatureModel();
  const std::string text = SerializeModel(model);
  EXPECT_THAT(text, StartsWith("steward.churn_model.logistic v1\nlambda\t0.0030000000000000001\n"));
  EXPECT_THAT(text, HasSubstr("\nfeature\tPaymentMethod=Bank transfer (automatic)\t0.25\t"));
  absl::StatusOr<LogisticModel> parsed = ParseModel(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->feature_names, model.feature_names);
  EXPECT_EQ(parsed->means, model.means);  // exact, not near: 17 significant digits round-trip
  EXPECT_EQ(parsed->scales, model.scales);
  EXPECT_EQ(parsed->weights, model.weights);
  EXPECT_EQ(parsed->intercept, model.intercept);
  EXPECT_EQ(parsed->lambda, model.lambda);
  EXPECT_EQ(parsed->stats.iterations, 5);
  EXPECT_TRUE(parsed->stats.converged);
  EXPECT_EQ(parsed->stats.train_rows, 4225u);
  EXPECT_EQ(parsed->stats.gradient_max_abs, 3e-11);
  EXPECT_EQ(parsed->stats.validation_rows, 1409u);
  EXPECT_EQ(parsed->stats.validation_auc, 0.8477);
  EXPECT_EQ(SerializeModel(*parsed), text);
}

TEST(ParseModelTest, RejectsAnythingElseNamingTheLine) {
  const std::string good = SerializeModel(TwoFeatureModel());
  ExpectInvalid(ParseModel("").status(), "does not start with");
  ExpectInvalid(ParseModel("steward.churn_model.logistic v2\n").status(), "does not start with");
  ExpectInvalid(ParseModel(good + "colour\tblue\n").status(), "'blue' is not a number");
  ExpectInvalid(ParseModel(good + "colour\t1\n").status(), "line 16: unknown key 'colour'");
  ExpectInvalid(ParseModel(good + "feature\tx\t1\t2\n").status(), "name, mean, scale and weight");
  ExpectInvalid(ParseModel(good + "feature\tx\t1\t0\t2\n").status(), "scale <= 0");
  ExpectInvalid(ParseModel(good + "feature\ttenure\t1\t1\t2\n").status(), "'tenure' appears twice");
  ExpectInvalid(ParseModel(good + "iterations\t2.5\n").status(), "bad value for 'iterations'");
  ExpectInvalid(ParseModel(good + "train_rows\t-1\n").status(), "bad value for 'train_rows'");
  ExpectInvalid(ParseModel(good + "objective\tnan\n").status(), "bad value for 'objective'");
  ExpectInvalid(ParseModel("steward.churn_model.logistic v1\nlambda\t0\n").status(),
                "lacks lambda or intercept");
}

TEST(ValidateModelTest, MismatchedVectorsAndBadNumbersAreInvalid) {
  EXPECT_TRUE(ValidateModel(TwoFeatureModel()).ok());
  LogisticModel model = TwoFeatureModel();
  model.weights.pop_back();
  ExpectInvalid(ValidateModel(model), "2 features but 2 means, 2 scales and 1 weights");
  model = TwoFeatureModel();
  model.lambda = -1;
  ExpectInvalid(ValidateModel(model), "lambda");
  model = TwoFeatureModel();
  model.intercept = std::numeric_limits<double>::infinity();
  ExpectInvalid(ValidateModel(model), "intercept");
}

}  // namespace
}  // namespace steward::scoring::churn_model
