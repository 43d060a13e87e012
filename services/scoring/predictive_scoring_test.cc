#include "services/scoring/predictive_scoring.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scoring/activity.h"

namespace steward::scoring {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

// BG/NBD and Gamma-Gamma at CDNOW's published values, one accepted cohort, no churn classifier.
std::shared_ptr<const ActiveModels> Models() {
  v1::FittedModels fitted;
  fitted.set_version(7);
  fitted.set_accepted(true);
  v1::BgNbdModel& bg = *fitted.mutable_bg_nbd();
  bg.set_r(0.243);
  bg.set_alpha(4.414);
  bg.set_a(0.793);
  bg.set_b(2.426);
  bg.mutable_statistics()->set_accepted(true);
  v1::GammaGammaModel& gg = *fitted.mutable_gamma_gamma();
  gg.set_p(6.25);
  gg.set_q(3.74);
  gg.set_gamma(15.44);
  gg.mutable_statistics()->set_accepted(true);
  v1::SbgCohortModel& cohort = *fitted.add_sbg_cohorts();
  cohort.set_cohort("2026-06");
  cohort.set_alpha(0.704);
  cohort.set_beta(1.182);
  cohort.mutable_statistics()->set_accepted(true);
  fitted.mutable_churn()->mutable_statistics()->set_reason("insufficient data: 3 churned and 40 retained rows");
  auto models = ActiveModels::Load(fitted);
  EXPECT_TRUE(models.ok()) << models.status();
  return *models;
}

v1::Account Account(absl::CivilDay start) {
  v1::Account account;
  account.set_account_id("a");
  account.set_mrr(200);
  account.set_gross_margin(0.5);
  account.mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::FromCivil(start, absl::UTCTimeZone())));
  return account;
}

v1::ActivityRecord WithTransactions(int days, int32_t first, int32_t last, double first_value, double total) {
  v1::ActivityRecord live;
  v1::TransactionSummary& t = *live.mutable_transactions();
  t.set_transaction_days(days);
  t.set_first_day(first);
  t.set_last_day(last);
  t.set_first_day_value(first_value);
  t.set_total_value(total);
  return live;
}

TEST(PredictAccountTest, EveryModelAnswersForAnAccountWithHistory) {
  const int32_t today = DayOf(kNow);
  const v1::ActivityRecord live = WithTransactions(3, today - 70, today - 14, 100, 190);
  v1::PredictiveScores out;
  PredictAccount(Models().get(), Account(absl::CivilDay(2026, 6, 10)), &live, FeatureVector(), kNow, {}, out);
  EXPECT_EQ(out.model_version(), 7);
  EXPECT_EQ(out.history().frequency(), 2);
  EXPECT_DOUBLE_EQ(out.history().mean_repeat_value(), 45);
  ASSERT_TRUE(out.has_transactions());
  EXPECT_GT(out.transactions().expected_transactions(), 0);
  EXPECT_GT(out.transactions().probability_alive(), 0);
  EXPECT_LE(out.transactions().probability_alive(), 1);
  EXPECT_GT(out.expected_transaction_value(), 0);
  ASSERT_TRUE(out.has_clv());
  EXPECT_DOUBLE_EQ(out.clv().monthly_discount_rate(), 0.01);
  ASSERT_TRUE(out.has_subscription());
  EXPECT_EQ(out.subscription().cohort(), "2026-06");
  EXPECT_EQ(out.subscription().renewals(), 5);
  EXPECT_DOUBLE_EQ(out.subscription().residual_value(), 200 * 0.5 * out.subscription().expected_residual_months());
  EXPECT_THAT(out.churn_unavailable(), HasSubstr("insufficient data: 3 churned"));
}

TEST(PredictAccountTest, ReasonsInsteadOfNumbers) {
  const int32_t today = DayOf(kNow);
  const auto models = Models();
  v1::PredictiveScores out;

  PredictAccount(nullptr, Account(absl::CivilDay(2026, 6, 10)), nullptr, FeatureVector(), kNow, {}, out);
  EXPECT_EQ(out.transactions_unavailable(), "insufficient data: no events recorded for the account");
  EXPECT_EQ(out.churn_unavailable(), "insufficient data: no events recorded for the account");

  const v1::ActivityRecord none;
  out.Clear();
  PredictAccount(nullptr, Account(absl::CivilDay(2026, 6, 10)), &none, FeatureVector(), kNow, {}, out);
  EXPECT_EQ(out.model_version(), 0);
  EXPECT_THAT(out.transactions_unavailable(), HasSubstr("insufficient data: no transactions"));
  EXPECT_THAT(out.subscription_unavailable(), HasSubstr("no fitted model yet"));

  const v1::ActivityRecord today_only = WithTransactions(1, today, today, 10, 10);
  out.Clear();
  PredictAccount(models.get(), Account(absl::CivilDay(2026, 6, 10)), &today_only, FeatureVector(), kNow, {}, out);
  EXPECT_THAT(out.clv_unavailable(), HasSubstr("first transaction is from today"));

  const v1::ActivityRecord free_repeats = WithTransactions(3, today - 70, today - 14, 100, 100);
  out.Clear();
  PredictAccount(models.get(), Account(absl::CivilDay(2026, 7, 1)), &free_repeats, FeatureVector(), kNow, {}, out);
  EXPECT_TRUE(out.has_transactions());
  EXPECT_THAT(out.expected_transaction_value_unavailable(), HasSubstr("added no MRR"));
  EXPECT_THAT(out.clv_unavailable(), HasSubstr("added no MRR"));
  EXPECT_THAT(out.subscription_unavailable(), HasSubstr("no accepted sBG fit for the cohort 2026-07"));

  v1::ActivityRecord churned = free_repeats;
  churned.set_churned_seconds(absl::ToUnixSeconds(kNow - absl::Hours(48)));
  out.Clear();
  PredictAccount(models.get(), Account(absl::CivilDay(2026, 6, 10)), &churned, FeatureVector(), kNow, {}, out);
  EXPECT_THAT(out.subscription_unavailable(), HasSubstr("churned"));
  churned.set_reactivated_seconds(absl::ToUnixSeconds(kNow - absl::Hours(24)));
  out.Clear();
  PredictAccount(models.get(), Account(absl::CivilDay(2026, 6, 10)), &churned, FeatureVector(), kNow, {}, out);
  EXPECT_TRUE(out.has_subscription());  // came back
}

TEST(PredictAccountTest, AccountsDiscountRateWins) {
  const int32_t today = DayOf(kNow);
  const v1::ActivityRecord live = WithTransactions(3, today - 70, today - 14, 100, 190);
  v1::Account account = Account(absl::CivilDay(2026, 6, 10));
  account.set_annual_discount_rate(0.1);
  v1::PredictiveScores out;
  PredictAccount(Models().get(), account, &live, FeatureVector(), kNow, {}, out);
  EXPECT_NEAR(out.clv().monthly_discount_rate(), std::pow(1.1, 1.0 / 12) - 1, 1e-15);
  EXPECT_NEAR(out.subscription().monthly_discount_rate(), std::pow(1.1, 1.0 / 12) - 1, 1e-15);
}

}  // namespace
}  // namespace steward::scoring
