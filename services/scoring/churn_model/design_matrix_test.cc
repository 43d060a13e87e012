#include "services/scoring/churn_model/design_matrix.h"

#include <algorithm>
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

void ExpectInvalid(const absl::Status& status, const std::string& words) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(words));
}

LabeledData TwoByThree() {
  LabeledData data;
  data.x.feature_names = {"a", "b"};
  data.x.values = {1, 2, 3, 4, 5, 6};
  data.labels = {0, 1, 1};
  return data;
}

TEST(DesignMatrixTest, RowsAreRowMajor) {
  const LabeledData data = TwoByThree();
  EXPECT_EQ(data.x.rows(), 3u);
  EXPECT_EQ(data.x.cols(), 2u);
  EXPECT_THAT(data.x.row(1), ElementsAre(3, 4));
  EXPECT_TRUE(ValidateLabeledData(data).ok());
}

TEST(DesignMatrixTest, BadMatricesNameTheProblem) {
  ExpectInvalid(ValidateDesignMatrix(DesignMatrix{}), "no features");
  ExpectInvalid(ValidateDesignMatrix(DesignMatrix{{"a", "a"}, {}}), "'a' appears twice");
  ExpectInvalid(ValidateDesignMatrix(DesignMatrix{{"a", ""}, {}}), "empty feature name");
  ExpectInvalid(ValidateDesignMatrix(DesignMatrix{{"a\tb"}, {}}), "tab or newline");
  ExpectInvalid(ValidateDesignMatrix(DesignMatrix{{"a", "b"}, {1, 2, 3}}),
                "3 values, not a multiple of its 2");
  ExpectInvalid(ValidateDesignMatrix(DesignMatrix{{"a", "b"}, {1, 2, 3, std::nan("")}}),
                "row 1, feature 'b' is NaN");
  ExpectInvalid(ValidateDesignMatrix(DesignMatrix{{"a"}, {-std::numeric_limits<double>::infinity()}}),
                "row 0, feature 'a' is infinite");
}

TEST(DesignMatrixTest, BadLabeledDataNamesTheProblem) {
  LabeledData data = TwoByThree();
  data.labels.pop_back();
  ExpectInvalid(ValidateLabeledData(data), "2 labels for 3 rows");
  data = TwoByThree();
  data.labels[2] = -1;
  ExpectInvalid(ValidateLabeledData(data), "label of row 2 is -1");
  data = TwoByThree();
  data.x.values.clear();
  data.labels.clear();
  ExpectInvalid(ValidateLabeledData(data), "no rows");
}

TEST(DesignMatrixTest, SelectRowsKeepsTheGivenOrder) {
  const LabeledData picked = SelectRows(TwoByThree(), std::vector<size_t>{2, 0});
  EXPECT_THAT(picked.x.feature_names, ElementsAre("a", "b"));
  EXPECT_THAT(picked.x.values, ElementsAre(5, 6, 1, 2));
  EXPECT_THAT(picked.labels, ElementsAre(1, 0));
}

std::vector<int> Labels(size_t n, size_t positives) {
  std::vector<int> labels(n, 0);
  for (size_t i = 0; i < positives; ++i) labels[i * n / positives] = 1;
  return labels;
}

TEST(StratifiedSplitTest, SixtyTwentyTwentyKeepsTheChurnRateInEverySplit) {
  const std::vector<int> labels = Labels(1000, 250);
  absl::StatusOr<SplitIndices> split = StratifiedSplit(labels, 0.6, 0.2, 42);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->train.size(), 600u);
  EXPECT_EQ(split->validation.size(), 200u);
  EXPECT_EQ(split->test.size(), 200u);
  auto positives = [&](const std::vector<size_t>& part) {
    return std::count_if(part.begin(), part.end(), [&](size_t i) { return labels[i] == 1; });
  };
  EXPECT_EQ(positives(split->train), 150);
  EXPECT_EQ(positives(split->validation), 50);
  EXPECT_EQ(positives(split->test), 50);
  // A partition of the rows, each part in ascending order.
  std::vector<size_t> all;
  for (const std::vector<size_t>* part : {&split->train, &split->validation, &split->test}) {
    EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
    all.insert(all.end(), part->begin(), part->end());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i);
}

TEST(StratifiedSplitTest, SameSeedSameSplitOtherSeedOtherSplit) {
  const std::vector<int> labels = Labels(100, 30);
  absl::StatusOr<SplitIndices> a = StratifiedSplit(labels, 0.6, 0.2, 7);
  absl::StatusOr<SplitIndices> b = StratifiedSplit(labels, 0.6, 0.2, 7);
  absl::StatusOr<SplitIndices> c = StratifiedSplit(labels, 0.6, 0.2, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->train, b->train);
  EXPECT_EQ(a->validation, b->validation);
  EXPECT_NE(a->train, c->train);
  // Pinned: std::mt19937_64 and the Fisher–Yates in design_matrix.cc are fully specified, so this is
  // the split on every platform; a change here changes every reported Telco figure.
  absl::StatusOr<SplitIndices> small =
      StratifiedSplit(std::vector<int>{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 0.6, 0.2, 1);
  ASSERT_TRUE(small.ok());
  EXPECT_THAT(small->validation, ElementsAre(3, 4));
  EXPECT_THAT(small->test, ElementsAre(6, 9));
}

TEST(StratifiedSplitTest, BadFractionsAndLabelsAreInvalid) {
  ExpectInvalid(StratifiedSplit(std::vector<int>{0, 1}, 0.8, 0.3, 1).status(), "sum to <= 1");
  ExpectInvalid(StratifiedSplit(std::vector<int>{0, 1}, -0.1, 0.3, 1).status(), "must be >= 0");
  ExpectInvalid(StratifiedSplit(std::vector<int>{0, 3}, 0.6, 0.2, 1).status(), "label of row 1 is 3");
}

}  // namespace
}  // namespace steward::scoring::churn_model
