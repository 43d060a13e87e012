// The published CDNOW results, reproduced from the raw event log in data/public/cdnowElog.csv: the 1/10
// sample of CDNOW's first-quarter-1997 cohort (2,357 customers), calibration weeks 1–39.

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/scoring/predictive/bg_nbd.h"
#include "services/scoring/predictive/gamma_gamma.h"
#include "services/scoring/predictive/transaction_summary.h"

namespace steward::scoring::predictive {
namespace {

// The calibration summaries, read once for all tests; empty (with a failure recorded) if the file is
// missing or malformed.
const std::vector<CustomerSummary>& Customers() {
  static const std::vector<CustomerSummary>* const customers = [] {
    auto* summaries = new std::vector<CustomerSummary>();
    const char* dir = std::getenv("STEWARD_SOURCE_DIR");
    if (dir == nullptr) {
      ADD_FAILURE() << "STEWARD_SOURCE_DIR is not set (ctest sets it)";
      return summaries;
    }
    absl::StatusOr<std::vector<Purchase>> purchases =
        ReadCdnowElog(std::string(dir) + "/data/public/cdnowElog.csv");
    if (!purchases.ok()) {
      ADD_FAILURE() << purchases.status();
      return summaries;
    }
    // 39 weeks from 1997-01-01: the literature's calibration period.
    *summaries = SummarizeCalibration(
        *purchases, {.calibration_end = absl::CivilDay(1997, 9, 30), .days_per_time_unit = 7});
    return summaries;
  }();
  return *customers;
}

TEST(CdnowTest, SampleHasThePublishedSize) {
  EXPECT_EQ(Customers().size(), 2357u);
  EXPECT_EQ(RepeatBuyerValues(Customers()).size(), 946u);
}

// Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 4: r = 0.243, α = 4.414,
// a = 0.793, b = 2.426, LL = −9582.4.
TEST(CdnowTest, BgNbdFitReproducesFaderHardieLee2005) {
  const absl::StatusOr<BgNbdFit> fit = FitBgNbd(RfmSummaries(Customers()));
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->statistics.converged);
  EXPECT_FALSE(fit->statistics.at_bound);
  EXPECT_NEAR(fit->params.r, 0.243, 0.005);
  EXPECT_NEAR(fit->params.alpha, 4.414, 0.005);
  EXPECT_NEAR(fit->params.a, 0.793, 0.005);
  EXPECT_NEAR(fit->params.b, 2.426, 0.005);
  EXPECT_NEAR(fit->statistics.log_likelihood, -9582.43, 0.05);
  RecordProperty("r", std::to_string(fit->params.r));
  RecordProperty("alpha", std::to_string(fit->params.alpha));
  RecordProperty("a", std::to_string(fit->params.a));
  RecordProperty("b", std::to_string(fit->params.b));
  RecordProperty("log_likelihood", std::to_string(fit->statistics.log_likelihood));
  RecordProperty("iterations", fit->statistics.iterations);

  // Hardie's BG/NBD spreadsheet (as checked by the `lifetimes` library's tests): E[X(t)] for a new
  // customer, and E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226.
  const double times[] = {0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00};
  const double expected[] = {0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(BgNbdExpectedTransactions(fit->params, times[i]), expected[i], 1e-3) << "t = " << times[i];
  }
  EXPECT_NEAR(BgNbdConditionalExpectedTransactions(fit->params, {2, 30.43, 38.86}, 39), 1.226, 1e-3);
}

// Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": p = 6.25, q = 3.74, γ = 15.44 on the
// 946 customers with repeat purchases, each with the mean of their repeat transactions.
TEST(CdnowTest, GammaGammaFitReproducesFaderHardie2013) {
  const absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(RepeatBuyerValues(Customers()));
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->statistics.converged);
  EXPECT_NEAR(fit->params.p, 6.25, 0.02);
  EXPECT_NEAR(fit->params.q, 3.74, 0.02);
  EXPECT_NEAR(fit->params.gamma, 15.44, 0.02);
  RecordProperty("p", std::to_string(fit->params.p));
  RecordProperty("q", std::to_string(fit->params.q));
  RecordProperty("gamma", std::to_string(fit->params.gamma));
  RecordProperty("log_likelihood", std::to_string(fit->statistics.log_likelihood));
}

// Hardie's Gamma-Gamma spreadsheet: E[M] for the first ten customers of the sample (with the published
// parameters, as the `lifetimes` library checks it).
TEST(CdnowTest, GammaGammaExpectedValuesMatchHardiesSpreadsheet) {
  const GammaGammaParams published{6.25, 3.74, 15.44};
  const double expected[] = {24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17};
  ASSERT_GE(Customers().size(), 10u);
  for (int i = 0; i < 10; ++i) {
    const CustomerSummary& c = Customers()[i];
    EXPECT_NEAR(GammaGammaConditionalExpectedValue(published, c.rfm.x, c.mean_repeat_value), expected[i], 0.1)
        << "customer " << c.customer_id;
  }
}

}  // namespace
}  // namespace steward::scoring::predictive
