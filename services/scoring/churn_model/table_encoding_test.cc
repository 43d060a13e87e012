#include "services/scoring/churn_model/table_encoding.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::churn_model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

CsvTable Accounts() {
  CsvTable table;
  table.header = {"id", "plan", "mrr", "churned"};
  table.rows = {{"a1", "pro", "99", "yes"}, {"a2", "basic", "", "no"}, {"a3", "pro", "9", "no"}};
  return table;
}

TableEncoding AccountEncoding() {
  TableEncoding encoding;
  encoding.label_column = "churned";
  encoding.positive_label = "yes";
  encoding.negative_label = "no";
  encoding.numeric_columns = {"mrr"};
  encoding.blank_numeric_value = -0.5;
  encoding.log1p_columns = {"mrr"};
  encoding.categorical_columns = {"plan"};
  return encoding;
}

void ExpectInvalid(const absl::Status& status, const std::string& words) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(words));
}

TEST(EncodeTableTest, NumericLog1pAndOneHotFeaturesWithLabels) {
  absl::StatusOr<LabeledData> data = EncodeTable(Accounts(), AccountEncoding());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(data->x.feature_names, ElementsAre("mrr", "log1p(mrr)", "plan=basic", "plan=pro"));
  EXPECT_THAT(data->labels, ElementsAre(1, 0, 0));
  EXPECT_THAT(data->x.row(0), ElementsAre(99, std::log(100.0), 0, 1));
  EXPECT_THAT(data->x.row(1), ElementsAre(-0.5, std::log1p(-0.5), 1, 0));  // the blank mrr
  EXPECT_THAT(data->x.row(2), ElementsAre(9, std::log(10.0), 0, 1));
  EXPECT_TRUE(ValidateLabeledData(*data).ok());
}

TEST(EncodeTableTest, BadTablesNameTheRowAndColumn) {
  CsvTable table = Accounts();
  table.rows[1][3] = "maybe";
  ExpectInvalid(EncodeTable(table, AccountEncoding()).status(), "row 2: label 'maybe'");

  table = Accounts();
  table.rows[2][2] = "n/a";
  ExpectInvalid(EncodeTable(table, AccountEncoding()).status(), "row 3, column 'mrr': 'n/a' is not a number");
  table.rows[2][2] = "nan";
  ExpectInvalid(EncodeTable(table, AccountEncoding()).status(), "'nan' is not a number");

  table = Accounts();
  table.rows[0][2] = "-1";
  ExpectInvalid(EncodeTable(table, AccountEncoding()).status(), "log1p of -1");

  TableEncoding encoding = AccountEncoding();
  encoding.categorical_columns = {"industry"};
  ExpectInvalid(EncodeTable(Accounts(), encoding).status(), "no column 'industry'");

  encoding = AccountEncoding();
  encoding.log1p_columns = {"plan"};
  ExpectInvalid(EncodeTable(Accounts(), encoding).status(), "'plan' is not a numeric column");

  table = Accounts();
  table.rows.clear();
  ExpectInvalid(EncodeTable(table, AccountEncoding()).status(), "no rows");
}

}  // namespace
}  // namespace steward::scoring::churn_model
