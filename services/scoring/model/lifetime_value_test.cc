#include "services/scoring/model/lifetime_value.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring {
namespace {

using ::testing::HasSubstr;

const v1::ClvEstimate* Find(const v1::LifetimeValue& clv, const std::string& formula) {
  for (const v1::ClvEstimate& estimate : clv.estimates()) {
    if (estimate.formula() == formula) return &estimate;
  }
  return nullptr;
}

// SPEC §2.3's example: ARPU 100/month, margin 80%, churn 5%/month, expansion 20%.
v1::Account SpecAccount() {
  v1::Account account;
  account.set_arpu(100);
  account.set_gross_margin(0.8);
  account.set_monthly_churn_rate(0.05);
  account.set_expansion_rate(0.2);
  return account;
}

TEST(LifetimeValueTest, SpecCheckWithExpansionIs1920) {
  v1::LifetimeValue clv = ComputeLifetimeValue(SpecAccount(), /*churn_probability=*/0.9);
  EXPECT_EQ(clv.churn_rate_source(), "account");  // the account's own rate wins over the probability
  EXPECT_DOUBLE_EQ(clv.monthly_churn_rate(), 0.05);

  const v1::ClvEstimate* basic = Find(clv, "basic");
  ASSERT_NE(basic, nullptr);
  EXPECT_NEAR(basic->value(), 1600, 1e-9);
  EXPECT_EQ(basic->expression(), "100 × 0.8 × (1 / 0.05)");

  const v1::ClvEstimate* with_expansion = Find(clv, "with_expansion");
  ASSERT_NE(with_expansion, nullptr);
  EXPECT_NEAR(with_expansion->value(), 1920, 1e-9);
  EXPECT_EQ(with_expansion->expression(), "100 × 0.8 × (1 / 0.05) × (1 + 0.2)");

  const v1::ClvEstimate* simple = Find(clv, "simple");
  ASSERT_NE(simple, nullptr);
  EXPECT_NEAR(simple->value(), 2000, 1e-9);
  EXPECT_EQ(simple->expression(), "100 / 0.05");

  EXPECT_EQ(Find(clv, "purchase_based"), nullptr);  // no purchase data
  EXPECT_FALSE(clv.has_ltv_to_cac());
  EXPECT_FALSE(clv.has_ltv_to_crc());
}

TEST(LifetimeValueTest, SpecCheckPurchaseBasedIs2000) {
  v1::Account account;
  account.set_average_purchase_value(100);
  account.set_purchases_per_year(4);
  account.set_expected_lifespan_years(5);
  v1::LifetimeValue clv = ComputeLifetimeValue(account, 0.3);
  const v1::ClvEstimate* purchase = Find(clv, "purchase_based");
  ASSERT_NE(purchase, nullptr);
  EXPECT_NEAR(purchase->value(), 2000, 1e-9);
  EXPECT_EQ(purchase->expression(), "100 × 4 × 5");
  // Without ARPU nothing else is known.
  EXPECT_EQ(clv.estimates_size(), 1);
}

TEST(LifetimeValueTest, FivePercentMonthlyIsAbout46PercentAnnual) {
  v1::LifetimeValue clv = ComputeLifetimeValue(SpecAccount(), 0);
  EXPECT_NEAR(clv.annual_churn_rate(), 1 - std::pow(0.95, 12), 1e-12);
  EXPECT_NEAR(clv.annual_churn_rate(), 0.46, 0.005);
}

TEST(LifetimeValueTest, LtvToCacUsesWithExpansionElseBasic) {
  v1::Account account = SpecAccount();
  account.set_cac(480);
  account.set_cost_of_retention(960);
  v1::LifetimeValue clv = ComputeLifetimeValue(account, 0);
  ASSERT_TRUE(clv.has_ltv_to_cac());
  EXPECT_NEAR(clv.ltv_to_cac(), 4, 1e-9);  // 1920 / 480
  ASSERT_TRUE(clv.has_ltv_to_crc());
  EXPECT_NEAR(clv.ltv_to_crc(), 2, 1e-9);  // 1920 / 960

  account.set_expansion_rate(0);
  clv = ComputeLifetimeValue(account, 0);
  EXPECT_EQ(Find(clv, "with_expansion"), nullptr);
  EXPECT_NEAR(clv.ltv_to_cac(), 1600.0 / 480, 1e-9);
}

TEST(LifetimeValueTest, ChurnRateDerivedFromAnnualProbability) {
  v1::Account account = SpecAccount();
  account.set_monthly_churn_rate(0);
  const double annual = 1 - std::pow(0.95, 12);  // what 5% a month compounds to
  v1::LifetimeValue clv = ComputeLifetimeValue(account, annual);
  EXPECT_EQ(clv.churn_rate_source(), "churn_probability");
  EXPECT_NEAR(clv.monthly_churn_rate(), 0.05, 1e-12);
  EXPECT_NEAR(clv.annual_churn_rate(), annual, 1e-12);
  EXPECT_NEAR(Find(clv, "with_expansion")->value(), 1920, 1e-9);

  clv = ComputeLifetimeValue(account, 0.3);
  EXPECT_NEAR(clv.monthly_churn_rate(), 1 - std::pow(0.7, 1.0 / 12), 1e-12);
  EXPECT_NEAR(clv.annual_churn_rate(), 0.3, 1e-12);
}

TEST(LifetimeValueTest, ZeroProbabilityIsFlooredAndSaysSo) {
  v1::Account account = SpecAccount();
  account.set_monthly_churn_rate(0);
  v1::LifetimeValue clv = ComputeLifetimeValue(account, 0);
  EXPECT_DOUBLE_EQ(clv.monthly_churn_rate(), 0.001);
  const v1::ClvEstimate* basic = Find(clv, "basic");
  ASSERT_NE(basic, nullptr);
  EXPECT_TRUE(std::isfinite(basic->value()));
  EXPECT_NEAR(basic->value(), 100 * 0.8 / 0.001, 1e-6);
  EXPECT_THAT(basic->expression(), HasSubstr("floored at 0.001"));
  EXPECT_THAT(Find(clv, "simple")->expression(), HasSubstr("floored"));
}

TEST(LifetimeValueTest, ArpuFallsBackToMrr) {
  v1::Account account;
  account.set_mrr(250);
  account.set_monthly_churn_rate(0.1);
  v1::LifetimeValue clv = ComputeLifetimeValue(account, 0);
  const v1::ClvEstimate* simple = Find(clv, "simple");
  ASSERT_NE(simple, nullptr);
  EXPECT_NEAR(simple->value(), 2500, 1e-9);
  EXPECT_EQ(simple->expression(), "250 / 0.1");
  // No margin: no margin-based formulas.
  EXPECT_EQ(Find(clv, "basic"), nullptr);
  EXPECT_EQ(Find(clv, "realistic"), nullptr);
}

TEST(LifetimeValueTest, RealisticDiscountsAndSubtractsCac) {
  v1::Account account = SpecAccount();
  account.set_annual_discount_rate(0.1);
  account.set_cac(500);
  v1::LifetimeValue clv = ComputeLifetimeValue(account, 0);
  const v1::ClvEstimate* realistic = Find(clv, "realistic");
  ASSERT_NE(realistic, nullptr);
  const double d = std::pow(1.1, 1.0 / 12) - 1;
  EXPECT_NEAR(realistic->value(), 100 * 0.8 / (0.05 + d) - 500, 1e-9);
  EXPECT_LT(realistic->value(), Find(clv, "basic")->value());
  EXPECT_THAT(realistic->expression(), HasSubstr("100 × 0.8 / (0.05 + 0.00797414) − 500"));
}

TEST(LifetimeValueTest, RealisticWithoutCacSaysItIsNotSubtracted) {
  v1::LifetimeValue clv = ComputeLifetimeValue(SpecAccount(), 0);
  const v1::ClvEstimate* realistic = Find(clv, "realistic");
  ASSERT_NE(realistic, nullptr);
  EXPECT_NEAR(realistic->value(), 1600, 1e-9);  // no discount, no CAC: equals basic
  EXPECT_THAT(realistic->expression(), HasSubstr("CAC unknown, not subtracted"));
}

TEST(LifetimeValueTest, NothingKnownGivesNoEstimates) {
  v1::LifetimeValue clv = ComputeLifetimeValue(v1::Account(), 0.5);
  EXPECT_EQ(clv.estimates_size(), 0);
  EXPECT_FALSE(clv.has_ltv_to_cac());
  EXPECT_GT(clv.monthly_churn_rate(), 0);
}

}  // namespace
}  // namespace steward::scoring
