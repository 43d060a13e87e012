#include "services/scoring/predictive/discounted_clv.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::predictive {
namespace {

using ::testing::HasSubstr;

constexpr BgNbdParams kPurchases{0.243, 4.414, 0.793, 2.426};
constexpr GammaGammaParams kSpend{6.25, 3.74, 15.44};

struct Customer {
  RfmSummary rfm;
  double mean_repeat_value;
};
constexpr Customer kCustomers[] = {
    {{0, 0, 38.86}, 0},          // Bought once.
    {{2, 30.43, 38.86}, 22.35},  // Hardie's example customer.
    {{7, 35.0, 36.0}, 60.0},     // A regular.
    {{5, 3.0, 38.0}, 15.0},      // Busy once, silent since.
};

double Clv(const Customer& c, int horizon, double discount) {
  DiscountedClvOptions options;
  options.horizon_months = horizon;
  options.monthly_discount_rate = discount;
  const absl::StatusOr<double> clv = DiscountedClv(kPurchases, kSpend, c.rfm, c.mean_repeat_value, options);
  EXPECT_TRUE(clv.ok()) << clv.status();
  return clv.value_or(std::nan(""));
}

TEST(DiscountedClvTest, NeverFallsAsTheHorizonGrows) {
  for (const Customer& c : kCustomers) {
    EXPECT_EQ(Clv(c, 0, 0.01), 0.0);
    double previous = 0.0;
    for (int horizon = 1; horizon <= 120; ++horizon) {
      const double clv = Clv(c, horizon, 0.01);
      EXPECT_GT(clv, previous) << "x = " << c.rfm.x << ", horizon " << horizon;
      previous = clv;
    }
  }
}

TEST(DiscountedClvTest, FallsAsTheDiscountRateRises) {
  for (const Customer& c : kCustomers) {
    double previous = Clv(c, 24, 0.0);
    for (double d : {0.001, 0.01, 0.02, 0.05, 0.2, 1.0}) {
      const double clv = Clv(c, 24, d);
      EXPECT_LT(clv, previous) << "x = " << c.rfm.x << ", d = " << d;
      previous = clv;
    }
  }
}

TEST(DiscountedClvTest, UndiscountedIsValueTimesExpectedTransactions) {
  // With d = 0 the monthly increments telescope to E[Y(H u)].
  for (const Customer& c : kCustomers) {
    const double expected = GammaGammaConditionalExpectedValue(kSpend, c.rfm.x, c.mean_repeat_value) *
                            BgNbdConditionalExpectedTransactions(kPurchases, c.rfm, 12 * 4.345);
    EXPECT_NEAR(Clv(c, 12, 0.0), expected, 1e-9 * expected);
  }
}

TEST(DiscountedClvTest, OneMonthIsDiscountedOnce) {
  const Customer& c = kCustomers[1];
  const double expected = GammaGammaConditionalExpectedValue(kSpend, 2, 22.35) *
                          BgNbdConditionalExpectedTransactions(kPurchases, c.rfm, 4.345) / 1.05;
  EXPECT_NEAR(Clv(c, 1, 0.05), expected, 1e-12);
}

TEST(DiscountedClvTest, RejectsInvalidInput) {
  const RfmSummary valid{2, 30.43, 38.86};
  DiscountedClvOptions options;
  EXPECT_THAT(DiscountedClv(kPurchases, kSpend, {2, 40, 38.86}, 20, options).status().message(),
              HasSubstr("t_x (40) must lie in [0, T]"));
  EXPECT_THAT(DiscountedClv(kPurchases, kSpend, valid, 0, options).status().message(),
              HasSubstr("mean_repeat_value (0) must be positive"));
  EXPECT_THAT(DiscountedClv(kPurchases, {6.25, 0.5, 15.44}, {0, 0, 30}, 0, options).status().message(),
              HasSubstr("expected value does not exist"));
  options.horizon_months = -1;
  EXPECT_THAT(DiscountedClv(kPurchases, kSpend, valid, 20, options).status().message(),
              HasSubstr("horizon_months (-1)"));
  options = {};
  options.monthly_discount_rate = -0.1;
  EXPECT_THAT(DiscountedClv(kPurchases, kSpend, valid, 20, options).status().message(),
              HasSubstr("monthly_discount_rate (-0.1)"));
  options = {};
  options.time_units_per_month = 0;
  const absl::StatusOr<double> bad_unit = DiscountedClv(kPurchases, kSpend, valid, 20, options);
  EXPECT_EQ(bad_unit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_unit.status().message(), HasSubstr("time_units_per_month (0)"));
}

}  // namespace
}  // namespace steward::scoring::predictive
