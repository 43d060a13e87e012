#include "services/scoring/predictive/transaction_summary.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::predictive {
namespace {

using ::testing::HasSubstr;

constexpr char kLog[] =
    "masterid,sampleid,date,cds,sales\r\n"
    "4,1,19970101,2,29.33\r\n"
    "4,1,19970118,2,29.73\r\n"
    "4,1,19970118,1,10.27\r\n"  // Same day as the line before: one transaction worth 40.00.
    "4,1,19970802,1,14.96\r\n"
    "4,1,19971212,2,26.48\r\n"  // After the calibration period.
    "\r\n"
    "18,2,19970101,1,14.96\r\n"
    "21,3,19970102,1,11.77\r\n"
    "21,3,19970102,1,10.00\r\n"  // Bought twice on the first day only: no repeat transaction.
    "99,4,19971001,1,5.00\r\n";  // First purchase after the calibration period.

TEST(ParseCdnowElogTest, ReadsEveryPurchase) {
  const absl::StatusOr<std::vector<Purchase>> purchases = ParseCdnowElog(kLog);
  ASSERT_TRUE(purchases.ok()) << purchases.status();
  ASSERT_EQ(purchases->size(), 9u);
  EXPECT_EQ((*purchases)[0].customer_id, "4");
  EXPECT_EQ((*purchases)[0].day, absl::CivilDay(1997, 1, 1));
  EXPECT_DOUBLE_EQ((*purchases)[0].value, 29.33);
  EXPECT_EQ((*purchases)[8].customer_id, "99");
}

TEST(ParseCdnowElogTest, NamesTheBadLine) {
  EXPECT_THAT(ParseCdnowElog("id,when,amount\n1,19970101,3\n").status().message(),
              HasSubstr("header must name masterid, date and sales"));
  EXPECT_THAT(ParseCdnowElog("masterid,date,sales\n1,19970101,3\n1,19970230,4\n").status().message(),
              HasSubstr("line 3: date '19970230' does not exist"));
  EXPECT_THAT(ParseCdnowElog("masterid,date,sales\n1,1997-01-01,3\n").status().message(),
              HasSubstr("line 2: date '1997-01-01' is not yyyymmdd"));
  EXPECT_THAT(ParseCdnowElog("masterid,date,sales\n1,19970101,abc\n").status().message(),
              HasSubstr("line 2: sales 'abc' is not a number"));
  EXPECT_THAT(ParseCdnowElog("masterid,date,sales\n1,19970101\n").status().message(),
              HasSubstr("line 2: expected at least 3 fields, got 2"));
  EXPECT_EQ(ParseCdnowElog("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadCdnowElog("/nonexistent/cdnowElog.csv").status().code(), absl::StatusCode::kNotFound);
}

TEST(SummarizeCalibrationTest, MergesSameDayPurchasesAndCutsAtTheCalibrationEnd) {
  const absl::StatusOr<std::vector<Purchase>> purchases = ParseCdnowElog(kLog);
  ASSERT_TRUE(purchases.ok());
  const std::vector<CustomerSummary> summaries = SummarizeCalibration(
      *purchases, {.calibration_end = absl::CivilDay(1997, 9, 30), .days_per_time_unit = 7});
  ASSERT_EQ(summaries.size(), 3u);  // Customer 99 started after the calibration period.

  EXPECT_EQ(summaries[0].customer_id, "4");
  EXPECT_EQ(summaries[0].rfm.x, 2);                   // 18 Jan and 2 Aug.
  EXPECT_DOUBLE_EQ(summaries[0].rfm.t_x, 213.0 / 7);  // 1 Jan → 2 Aug.
  EXPECT_DOUBLE_EQ(summaries[0].rfm.T, 272.0 / 7);    // 1 Jan → 30 Sep.
  EXPECT_DOUBLE_EQ(summaries[0].mean_repeat_value, (40.0 + 14.96) / 2);

  EXPECT_EQ(summaries[1].customer_id, "18");
  EXPECT_EQ(summaries[1].rfm.x, 0);
  EXPECT_EQ(summaries[1].rfm.t_x, 0);
  EXPECT_EQ(summaries[1].mean_repeat_value, 0);

  EXPECT_EQ(summaries[2].customer_id, "21");
  EXPECT_EQ(summaries[2].rfm.x, 0);
  EXPECT_DOUBLE_EQ(summaries[2].rfm.T, 271.0 / 7);

  const std::vector<MonetarySummary> repeat_buyers = RepeatBuyerValues(summaries);
  ASSERT_EQ(repeat_buyers.size(), 1u);
  EXPECT_EQ(repeat_buyers[0].x, 2);
  EXPECT_EQ(RfmSummaries(summaries).size(), 3u);
}

}  // namespace
}  // namespace steward::scoring::predictive
