#include "services/scoring/predictive_fit.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scoring/activity.h"

namespace steward::scoring {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

v1::Account StartedOn(absl::CivilDay day) {
  v1::Account account;
  account.set_account_id("a");
  account.mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::FromCivil(day, absl::UTCTimeZone())));
  return account;
}

TEST(ModelFitterTest, CohortSurvivalCountsWholeMonthEndsAndReactivationsCountAsAlive) {
  ModelFitRequest request;
  request.bg_nbd = request.gamma_gamma = request.churn = false;
  ModelFitter fitter(request, {}, kNow);
  const v1::Account account = StartedOn(absl::CivilDay(2026, 9, 10));
  auto churned_on = [](absl::CivilDay day) {
    v1::ActivityRecord record;
    record.set_churned_seconds(absl::ToUnixSeconds(absl::FromCivil(day, absl::UTCTimeZone())));
    return record;
  };
  v1::ActivityRecord september = churned_on(absl::CivilDay(2026, 9, 25));
  v1::ActivityRecord october = churned_on(absl::CivilDay(2026, 10, 3));
  v1::ActivityRecord back = churned_on(absl::CivilDay(2026, 10, 3));
  back.set_reactivated_seconds(back.churned_seconds() + 86400);
  v1::ActivityRecord alive;
  fitter.Add(account, &september);
  fitter.Add(account, &october);
  fitter.Add(account, &back);
  fitter.Add(account, &alive);
  fitter.Add(account, nullptr);  // no events: not a subscriber the model can learn from
  const v1::FittedModels fitted = fitter.Fit();
  ASSERT_EQ(fitted.sbg_cohorts_size(), 1);
  EXPECT_EQ(fitted.sbg_cohorts(0).cohort(), "2026-09");
  EXPECT_THAT(fitted.sbg_cohorts(0).alive(), ElementsAre(4, 3, 2));
  EXPECT_THAT(fitted.sbg_cohorts(0).statistics().reason(), HasSubstr("insufficient data: 4 subscribers"));
  EXPECT_FALSE(fitted.accepted());
  EXPECT_EQ(fitted.reason(), "no model had enough data to fit");
  EXPECT_EQ(fitted.bg_nbd().statistics().reason(), "not requested");
}

TEST(ModelFitterTest, ChurnRowsAreTheAccountsAliveAtTheCutoffLabelledByWhatCameNext) {
  ModelFitRequest request;
  request.bg_nbd = request.gamma_gamma = request.sbg = false;
  request.churn_horizon_days = 30;
  ModelFitter fitter(request, {}, kNow);
  const v1::Account old = StartedOn(absl::CivilDay(2026, 1, 1));
  const v1::Account young = StartedOn(absl::CivilDay(2026, 11, 1));  // after the cutoff: no row
  v1::ActivityRecord gone_before;  // churned before the cutoff: no row
  gone_before.set_churned_seconds(absl::ToUnixSeconds(kNow - absl::Hours(24 * 40)));
  v1::ActivityRecord leaves;
  leaves.set_churned_seconds(absl::ToUnixSeconds(kNow - absl::Hours(24 * 5)));
  v1::ActivityRecord stays;
  for (int i = 0; i < 12; ++i) {
    v1::ActivityRecord a = leaves, b = stays;
    fitter.Add(old, &a);
    fitter.Add(old, &b);
  }
  v1::ActivityRecord c = gone_before, d = stays;
  fitter.Add(old, &c);
  fitter.Add(young, &d);
  const v1::FittedModels fitted = fitter.Fit();
  EXPECT_EQ(fitted.churn().statistics().rows(), 24);
  EXPECT_EQ(fitted.churn().horizon_days(), 30);
}

TEST(ModelFitterTest, TooFewChurnedAccountsIsInsufficientData) {
  ModelFitRequest request;
  request.bg_nbd = request.gamma_gamma = request.sbg = false;
  ModelFitter fitter(request, {}, kNow);
  const v1::Account old = StartedOn(absl::CivilDay(2026, 1, 1));
  for (int i = 0; i < 30; ++i) {
    v1::ActivityRecord record;
    if (i < 3) record.set_churned_seconds(absl::ToUnixSeconds(kNow - absl::Hours(24 * 5)));
    fitter.Add(old, &record);
  }
  const v1::FittedModels fitted = fitter.Fit();
  EXPECT_EQ(fitted.churn().statistics().reason(),
            "insufficient data: 3 churned and 27 retained rows; at least 10 of each needed");
  EXPECT_FALSE(fitted.churn().statistics().accepted());
}

}  // namespace
}  // namespace steward::scoring
