#include "services/scoring/churn_model/evaluation.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::churn_model {
namespace {

using ::testing::HasSubstr;

void ExpectInvalid(const absl::Status& status, const std::string& words) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(words));
}

TEST(RocAucTest, HandComputedWithoutTies) {
  // Pairs (positive, negative): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, 0.1) yes, (0.8, 0.4) yes → 3/4.
  absl::StatusOr<double> auc = RocAuc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  ASSERT_TRUE(auc.ok()) << auc.status();
  EXPECT_DOUBLE_EQ(*auc, 0.75);
  EXPECT_DOUBLE_EQ(*RocAuc({0.1, 0.2, 0.3}, {0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(*RocAuc({0.3, 0.2, 0.1}, {0, 1, 1}), 0.0);
}

TEST(RocAucTest, TiesBetweenClassesCountOneHalf) {
  EXPECT_DOUBLE_EQ(*RocAuc({0.5, 0.5}, {0, 1}), 0.5);
  // Pairs: (0.5, 0.2) 1, (0.5, 0.5) ½, (0.9, 0.2) 1, (0.9, 0.5) 1 → 3.5/4.
  EXPECT_DOUBLE_EQ(*RocAuc({0.2, 0.5, 0.5, 0.9}, {0, 1, 0, 1}), 0.875);
  // Negatives 0.1, 0.1, 0.7 and positives 0.7, 0.7 (ties within and across classes): each positive
  // beats two negatives and ties one → 2 × (1 + 1 + ½) / 6 = 5/6.
  EXPECT_DOUBLE_EQ(*RocAuc({0.1, 0.1, 0.7, 0.7, 0.7}, {0, 0, 0, 1, 1}), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(*RocAuc({3, 3, 3, 3}, {0, 1, 0, 1}), 0.5);
}

TEST(RocAucTest, DependsOnlyOnTheOrderOfScores) {
  const std::vector<int> labels = {0, 1, 0, 1, 1, 0};
  const std::vector<double> probabilities = {0.2, 0.7, 0.4, 0.3, 0.9, 0.1};
  std::vector<double> logits;
  for (double p : probabilities) logits.push_back(std::log(p / (1 - p)));
  EXPECT_DOUBLE_EQ(*RocAuc(probabilities, labels), *RocAuc(logits, labels));
}

TEST(RocAucTest, NeedsBothClasses) {
  ExpectInvalid(RocAuc({0.1, 0.2}, {1, 1}).status(), "both classes");
  ExpectInvalid(RocAuc({0.1, 0.2}, {0, 0}).status(), "both classes");
}

TEST(BrierScoreTest, KnownInputs) {
  // (0.1 − 0)² + (0.9 − 1)² + (0.5 − 1)² = 0.01 + 0.01 + 0.25, over 3.
  EXPECT_NEAR(*BrierScore({0.1, 0.9, 0.5}, {0, 1, 1}), 0.09, 1e-15);
  EXPECT_DOUBLE_EQ(*BrierScore({1, 0}, {1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(*BrierScore({0.5, 0.5}, {1, 0}), 0.25);
}

TEST(LogLossTest, KnownInputs) {
  EXPECT_NEAR(*LogLoss({0.5}, {1}), std::log(2.0), 1e-15);
  EXPECT_NEAR(*LogLoss({0.8, 0.3}, {1, 0}), -(std::log(0.8) + std::log(0.7)) / 2, 1e-15);
}

TEST(LogLossTest, ConfidentMissIsLargeButFinite) {
  absl::StatusOr<double> loss = LogLoss({0.0, 1.0}, {1, 0});
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, -std::log(1e-15), 1e-3);  // about 34.5
}

TEST(ReliabilityBinsTest, TenEqualWidthBinsWithOneInTheLast) {
  absl::StatusOr<std::vector<ReliabilityBin>> bins =
      ReliabilityBins({0.05, 0.15, 0.17, 0.95, 1.0}, {0, 1, 0, 1, 1});
  ASSERT_TRUE(bins.ok()) << bins.status();
  ASSERT_EQ(bins->size(), 10u);
  EXPECT_EQ((*bins)[0].count, 1u);
  EXPECT_DOUBLE_EQ((*bins)[0].mean_predicted, 0.05);
  EXPECT_DOUBLE_EQ((*bins)[0].observed_rate, 0.0);
  EXPECT_EQ((*bins)[1].count, 2u);
  EXPECT_NEAR((*bins)[1].mean_predicted, 0.16, 1e-15);
  EXPECT_DOUBLE_EQ((*bins)[1].observed_rate, 0.5);
  EXPECT_EQ((*bins)[5].count, 0u);  // empty bins report zeros
  EXPECT_DOUBLE_EQ((*bins)[5].mean_predicted, 0.0);
  EXPECT_DOUBLE_EQ((*bins)[5].lower, 0.5);
  EXPECT_DOUBLE_EQ((*bins)[5].upper, 0.6);
  EXPECT_EQ((*bins)[9].count, 2u);  // 0.95 and 1.0
  EXPECT_DOUBLE_EQ((*bins)[9].mean_predicted, 0.975);
  EXPECT_DOUBLE_EQ((*bins)[9].observed_rate, 1.0);
}

TEST(ReliabilityBinsTest, RejectsFewerThanOneBin) {
  ExpectInvalid(ReliabilityBins({0.5}, {1}, 0).status(), "bins");
}

TEST(EvaluateTest, CollectsEveryMetricAndTheCalibrationError) {
  const std::vector<double> p = {0.05, 0.15, 0.17, 0.95, 1.0};
  const std::vector<int> y = {0, 1, 0, 1, 1};
  absl::StatusOr<Evaluation> evaluation = Evaluate(p, y);
  ASSERT_TRUE(evaluation.ok()) << evaluation.status();
  EXPECT_EQ(evaluation->rows, 5u);
  EXPECT_DOUBLE_EQ(evaluation->positive_rate, 0.6);
  EXPECT_DOUBLE_EQ(evaluation->auc, *RocAuc(p, y));
  EXPECT_DOUBLE_EQ(evaluation->brier, *BrierScore(p, y));
  EXPECT_DOUBLE_EQ(evaluation->log_loss, *LogLoss(p, y));
  // Bins: 1 × |0 − 0.05| + 2 × |0.5 − 0.16| + 2 × |1 − 0.975|, over 5.
  EXPECT_NEAR(evaluation->expected_calibration_error, (0.05 + 2 * 0.34 + 2 * 0.025) / 5, 1e-12);
  const std::string text = FormatEvaluation(*evaluation);
  EXPECT_THAT(text, HasSubstr("AUC"));
  EXPECT_THAT(text, HasSubstr("[0.9, 1.0)      2"));
}

TEST(EvaluationInputsTest, BadInputsAreInvalidArgumentsNamingTheProblem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ExpectInvalid(RocAuc({}, {}).status(), "no predictions");
  ExpectInvalid(BrierScore({}, {}).status(), "no predictions");
  ExpectInvalid(LogLoss({0.5, 0.5}, {1}).status(), "2 predictions but 1 labels");
  ExpectInvalid(RocAuc({0.5, nan}, {0, 1}).status(), "prediction 1 is NaN");
  ExpectInvalid(RocAuc({0.5, std::numeric_limits<double>::infinity()}, {0, 1}).status(), "infinite");
  ExpectInvalid(BrierScore({0.5, 1.5}, {0, 1}).status(), "not a probability");
  ExpectInvalid(LogLoss({0.5, -0.1}, {0, 1}).status(), "not a probability");
  ExpectInvalid(ReliabilityBins({0.5, 0.5}, {0, 2}).status(), "label of row 1 is 2");
  ExpectInvalid(Evaluate({nan}, {1}).status(), "NaN");
  // AUC takes any finite score, not only probabilities.
  EXPECT_TRUE(RocAuc({-3, 7}, {0, 1}).ok());
}

}  // namespace
}  // namespace steward::scoring::churn_model
