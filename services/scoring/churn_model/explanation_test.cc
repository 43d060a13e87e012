#include "services/scoring/churn_model/explanation.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::churn_model {
namespace {

using ::testing::HasSubstr;

LogisticModel ThreeFeatureModel() {
  LogisticModel model;
  model.feature_names = {"support_tickets_30d", "logins_30d", "nps"};
  model.means = {1, 10, 8};
  model.scales = {1, 4, 2};
  model.weights = {1.0, -3.0, 0.5};
  model.intercept = -1;
  return model;
}

TEST(ExplainTest, RanksFeaturesByAbsoluteContributionWithSigns) {
  // Standardised: (3 − 1)/1 = 2, (12 − 10)/4 = 0.5, (6 − 8)/2 = −1.
  // Contributions: 1 × 2 = +2, −3 × 0.5 = −1.5, 0.5 × −1 = −0.5.
  const std::vector<double> row = {3, 12, 6};
  absl::StatusOr<Explanation> explanation = Explain(ThreeFeatureModel(), row, 2);
  ASSERT_TRUE(explanation.ok()) << explanation.status();
  ASSERT_EQ(explanation->top.size(), 2u);
  EXPECT_EQ(explanation->top[0].feature, "support_tickets_30d");
  EXPECT_DOUBLE_EQ(explanation->top[0].raw_value, 3);
  EXPECT_DOUBLE_EQ(explanation->top[0].standardized_value, 2);
  EXPECT_DOUBLE_EQ(explanation->top[0].weight, 1);
  EXPECT_DOUBLE_EQ(explanation->top[0].contribution, 2);
  EXPECT_EQ(explanation->top[1].feature, "logins_30d");
  EXPECT_DOUBLE_EQ(explanation->top[1].raw_value, 12);
  EXPECT_DOUBLE_EQ(explanation->top[1].contribution, -1.5);
  // The logit adds every contribution, including those left out of the top.
  EXPECT_DOUBLE_EQ(explanation->intercept, -1);
  EXPECT_DOUBLE_EQ(explanation->logit, -1 + 2 - 1.5 - 0.5);
  EXPECT_DOUBLE_EQ(explanation->probability, 1 / (1 + std::exp(1.0)));
}

TEST(ExplainTest, TopKBeyondTheFeaturesGivesAllAndZeroGivesNone) {
  const std::vector<double> row = {3, 12, 6};
  EXPECT_EQ(Explain(ThreeFeatureModel(), row, 10)->top.size(), 3u);
  EXPECT_EQ(Explain(ThreeFeatureModel(), row, 3)->top.back().feature, "nps");
  absl::StatusOr<Explanation> none = Explain(ThreeFeatureModel(), row, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->top.empty());
  EXPECT_GT(none->probability, 0);
}

TEST(ExplainTest, EqualMagnitudesKeepTheModelsOrder) {
  LogisticModel model = ThreeFeatureModel();
  model.weights = {1, -1, 1};
  model.scales = {1, 1, 1};
  const std::vector<double> row = {2, 9, 9};  // contributions +1, +1, +1
  absl::StatusOr<Explanation> explanation = Explain(model, row, 3);
  ASSERT_TRUE(explanation.ok());
  EXPECT_EQ(explanation->top[0].feature, "support_tickets_30d");
  EXPECT_EQ(explanation->top[1].feature, "logins_30d");
  EXPECT_EQ(explanation->top[2].feature, "nps");
}

TEST(ExplainTest, BadRowsAreInvalidArguments) {
  absl::Status wrong_size = Explain(ThreeFeatureModel(), std::vector<double>{1, 2}, 3).status();
  EXPECT_EQ(wrong_size.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong_size.message()), HasSubstr("2 values, the model 3 features"));
  const std::vector<double> with_nan = {1, std::numeric_limits<double>::quiet_NaN(), 3};
  absl::Status nan = Explain(ThreeFeatureModel(), with_nan, 3).status();
  EXPECT_EQ(nan.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nan.message()), HasSubstr("'logins_30d'"));
}

}  // namespace
}  // namespace steward::scoring::churn_model
