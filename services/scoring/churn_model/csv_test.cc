#include "services/scoring/churn_model/csv.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::churn_model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void ExpectInvalid(absl::string_view text, const std::string& words) {
  absl::StatusOr<CsvTable> table = ParseCsv(text);
  ASSERT_FALSE(table.ok()) << "parsed: " << text;
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(table.status().message()), HasSubstr(words));
}

TEST(ParseCsvTest, PlainRows) {
  absl::StatusOr<CsvTable> table = ParseCsv("id,plan,mrr\na1,pro,99.5\na2,basic,\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->header, ElementsAre("id", "plan", "mrr"));
  ASSERT_EQ(table->rows.size(), 2u);
  EXPECT_THAT(table->rows[0], ElementsAre("a1", "pro", "99.5"));
  EXPECT_THAT(table->rows[1], ElementsAre("a2", "basic", ""));  // a blank last field
  EXPECT_EQ(*table->ColumnIndex("mrr"), 2u);
  EXPECT_EQ(table->ColumnIndex("arr").status().code(), absl::StatusCode::kNotFound);
}

TEST(ParseCsvTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  absl::StatusOr<CsvTable> table = ParseCsv(
      "name,method\n\"Acme, Inc.\",\"Bank transfer (automatic)\"\n\"say \"\"hi\"\"\",\"two\nlines\"\n\"\",x");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->rows.size(), 3u);
  EXPECT_THAT(table->rows[0], ElementsAre("Acme, Inc.", "Bank transfer (automatic)"));
  EXPECT_THAT(table->rows[1], ElementsAre("say \"hi\"", "two\nlines"));
  EXPECT_THAT(table->rows[2], ElementsAre("", "x"));  // no final line break
}

TEST(ParseCsvTest, CrlfLineEndsAndByteOrderMark) {
  absl::StatusOr<CsvTable> table = ParseCsv(
      "\xEF\xBB\xBF"
      "a,b\r\n1,2\r\n3,\"4\"\r\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->header, ElementsAre("a", "b"));
  ASSERT_EQ(table->rows.size(), 2u);
  EXPECT_THAT(table->rows[1], ElementsAre("3", "4"));
}

TEST(ParseCsvTest, TrailingCommaIsAnEmptyField) {
  absl::StatusOr<CsvTable> table = ParseCsv("a,b\n1,");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->rows[0], ElementsAre("1", ""));
}

TEST(ParseCsvTest, MalformedInputNamesTheLine) {
  ExpectInvalid("", "empty");
  ExpectInvalid("a,b\n1,2\n3\n", "line 3: 1 fields, the header has 2");
  ExpectInvalid("a,b\n1,\"open\n", "line 3: unterminated quoted field");
  ExpectInvalid("a,b\n1,ab\"c\n", "line 2: quote inside an unquoted field");
  ExpectInvalid("a,b\n1,\"ab\"c\n", "line 2: text after a closing quote");
  ExpectInvalid("a,b\n\"x\ny\",1\n2\n", "line 4: 1 fields");  // line numbers count the quoted break
}

TEST(ReadFileToStringTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> text = ReadFileToString("/nonexistent/steward/file.csv");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace steward::scoring::churn_model
