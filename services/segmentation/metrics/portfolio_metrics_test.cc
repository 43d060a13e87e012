#include "services/segmentation/metrics/portfolio_metrics.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "common/store/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/segmentation/metrics/account_history.h"

namespace steward::segmentation {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::Optional;

absl::Time Day(int year, int month, int day) {
  return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
}

v1::PortfolioTargets SpecTargets() {
  v1::PortfolioTargets targets;
  targets.set_max_monthly_churn_percent(3);
  targets.set_min_retention_percent(97);
  targets.set_min_grr_percent(95);
  targets.set_min_nrr_percent(110);
  targets.set_min_average_health(80);
  targets.set_max_time_to_value_days(7);
  targets.set_min_activation_percent(80);
  targets.set_min_ltv_to_cac(3);
  return targets;
}

v1::GetPortfolioMetricsRequest Period(absl::Time start, absl::Time end) {
  v1::GetPortfolioMetricsRequest request;
  *request.mutable_start_time() = ToProtoTime(start);
  *request.mutable_end_time() = ToProtoTime(end);
  return request;
}

v1::Event MakeEvent(v1::EventType type, absl::Time time, double value = 0, const std::string& subject = "") {
  v1::Event event;
  event.set_type(type);
  *event.mutable_time() = ToProtoTime(time);
  event.set_value(value);
  event.set_subject(subject);
  return event;
}

// A portfolio built through the change feed, as the maintainer would fold it.
class PortfolioMetricsTest : public ::testing::Test {
 protected:
  void Upsert(const std::string& id, v1::AccountStatus status, double mrr, absl::Time start, absl::Time at) {
    v1::Account account;
    account.set_account_id(id);
    account.set_status(status);
    account.set_mrr(mrr);
    *account.mutable_start_time() = ToProtoTime(start);
    ASSERT_TRUE(book_.Apply(Change(id, v1::ACCOUNT_CHANGE_KIND_UPSERTED, at), &account).ok());
  }

  void Events(const std::string& id, absl::Time at, std::vector<v1::Event> events) {
    v1::AccountChange change = Change(id, v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED, at);
    for (v1::Event& event : events) {
      event.set_account_id(id);
      event.set_event_id(absl::StrCat("e", seq_));
      *change.add_events() = event;
    }
    ASSERT_TRUE(book_.Apply(change, nullptr).ok());
  }

  v1::GetPortfolioMetricsResponse Compute(
      const v1::GetPortfolioMetricsRequest& request,
      const std::function<bool(const std::string&)>* in_segment = nullptr) {
    absl::StatusOr<v1::GetPortfolioMetricsResponse> response =
        ComputePortfolioMetrics(store_, targets_, request, in_segment);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::GetPortfolioMetricsResponse();
  }

  static const v1::PortfolioMetric& Metric(const v1::GetPortfolioMetricsResponse& response,
                                           const std::string& name) {
    for (const v1::PortfolioMetric& metric : response.metrics()) {
      if (metric.name() == name) return metric;
    }
    ADD_FAILURE() << "no metric " << name;
    static const v1::PortfolioMetric kNone;
    return kNone;
  }

  static double Value(const v1::GetPortfolioMetricsResponse& response, const std::string& name) {
    const v1::PortfolioMetric& metric = Metric(response, name);
    EXPECT_TRUE(metric.known()) << name << ": " << metric.formula();
    return metric.value();
  }

  MemoryStore store_;
  AccountHistoryBook book_{store_};
  v1::PortfolioTargets targets_ = SpecTargets();

 private:
  v1::AccountChange Change(const std::string& id, v1::AccountChangeKind kind, absl::Time at) {
    v1::AccountChange change;
    change.set_cursor(absl::StrCat(absl::ToUnixMillis(at), "-", seq_++));
    change.set_account_id(id);
    change.set_kind(kind);
    *change.mutable_change_time() = ToProtoTime(at);
    return change;
  }

  int seq_ = 0;
};

const absl::Time kStart = Day(2026, 3, 1);
const absl::Time kEnd = kStart + absl::Hours(24 * 30);

// SPEC §6: 100K + 30K − 5K − 10K → NRR 115%.
TEST_F(PortfolioMetricsTest, NetRevenueRetentionSpecCheck) {
  for (int i = 0; i < 10; ++i) {
    Upsert(absl::StrCat("a", i), v1::ACCOUNT_STATUS_ACTIVE, 10000, Day(2025, 1, 1), Day(2025, 6, 1));
  }
  Events("a0", kStart + absl::Hours(24),
         {MakeEvent(v1::EVENT_TYPE_UPGRADE, kStart + absl::Hours(24), 20000)});
  Events("a1", kStart + absl::Hours(48),
         {MakeEvent(v1::EVENT_TYPE_EXPANSION, kStart + absl::Hours(48), 10000)});
  Events("a2", kStart + absl::Hours(72),
         {MakeEvent(v1::EVENT_TYPE_DOWNGRADE, kStart + absl::Hours(72), 5000)});
  Events("a3", kStart + absl::Hours(96),
         {MakeEvent(v1::EVENT_TYPE_CHURNED, kStart + absl::Hours(96), 0, "competition")});
  Upsert("a3", v1::ACCOUNT_STATUS_CHURNED, 0, Day(2025, 1, 1), kStart + absl::Hours(97));
  // Outside the period: not counted.
  Events("a4", kEnd, {MakeEvent(v1::EVENT_TYPE_UPGRADE, kEnd, 99999)});
  Events("a5", kStart - absl::Hours(1), {MakeEvent(v1::EVENT_TYPE_DOWNGRADE, kStart - absl::Hours(1), 1000)});

  const v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  const v1::PortfolioMetric& nrr = Metric(response, "net_revenue_retention");
  EXPECT_TRUE(nrr.known());
  EXPECT_EQ(nrr.value(), 115);  // exactly: the target comparison must not be off by a rounding
  EXPECT_EQ(nrr.unit(), "percent");
  EXPECT_EQ(nrr.formula(), "(100000 + 30000 − 5000 − 10000) / 100000 × 100");
  EXPECT_THAT(nrr.target(), 110);
  EXPECT_EQ(nrr.target_comparison(), ">=");
  EXPECT_THAT(nrr.meets_target(), true);
  EXPECT_DOUBLE_EQ(Value(response, "gross_revenue_retention"), 85);
  EXPECT_THAT(Metric(response, "gross_revenue_retention").meets_target(), false);
  EXPECT_DOUBLE_EQ(Value(response, "start_mrr"), 100000);
  EXPECT_DOUBLE_EQ(Value(response, "expansion_mrr"), 30000);
  EXPECT_DOUBLE_EQ(Value(response, "contraction_mrr"), 5000);
  EXPECT_DOUBLE_EQ(Value(response, "churned_mrr"), 10000);
  EXPECT_DOUBLE_EQ(Value(response, "expansion_rate"), 30);
  EXPECT_DOUBLE_EQ(Value(response, "revenue_churn_rate"), 15);
  EXPECT_DOUBLE_EQ(Value(response, "logo_churn_rate"), 10);
  // MRR at end comes from upserts: nine paying accounts still at 10K.
  EXPECT_DOUBLE_EQ(Value(response, "mrr"), 90000);
  EXPECT_DOUBLE_EQ(Value(response, "arr"), 1080000);
  EXPECT_EQ(Metric(response, "arr").formula(), "12 × 90000");
  EXPECT_DOUBLE_EQ(Value(response, "arpu"), 10000);
  EXPECT_EQ(response.counts().at_start(), 10);
  EXPECT_EQ(response.counts().lost(), 1);
  EXPECT_EQ(response.counts().active_at_end(), 9);
  EXPECT_DOUBLE_EQ(response.period_days(), 30);
}

// SPEC §6 and §2.3: 50 lost of 1,000 in 30 days → 5% a month ≈ 46% a year. The trials also make the
// index longer than one page.
TEST_F(PortfolioMetricsTest, LogoChurnSpecCheck) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = absl::StrFormat("c%04d", i);
    Upsert(id, v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1), Day(2025, 1, 1));
    if (i % 20 == 0) {
      Events(id, kStart + absl::Hours(i / 20),
             {MakeEvent(v1::EVENT_TYPE_CHURNED, kStart + absl::Hours(i / 20), 0, "competition")});
    }
  }
  for (int i = 0; i < 5; ++i) {
    Upsert(absl::StrCat("trial", i), v1::ACCOUNT_STATUS_TRIAL, 0, Day(2026, 2, 1), Day(2026, 2, 1));
  }

  v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  EXPECT_EQ(response.counts().accounts(), 1005);
  EXPECT_EQ(response.counts().at_start(), 1000);
  EXPECT_EQ(response.counts().lost(), 50);
  EXPECT_DOUBLE_EQ(Value(response, "logo_churn_rate"), 5);
  EXPECT_EQ(Metric(response, "logo_churn_rate").formula(), "50 / 1000 × 100");
  EXPECT_EQ(Value(response, "logo_churn_rate_monthly"), 5);  // a 30-day period keeps its rate
  EXPECT_THAT(Value(response, "logo_churn_rate_annual"), DoubleNear(45.96, 0.01));
  EXPECT_THAT(Value(response, "logo_churn_rate_annual"), DoubleNear((1 - std::pow(0.95, 12)) * 100, 1e-9));
  EXPECT_THAT(Value(response, "logo_retention_rate"), DoubleNear(95, 1e-9));
  const v1::PortfolioMetric& monthly = Metric(response, "logo_churn_rate_monthly");
  EXPECT_EQ(monthly.target_comparison(), "<");
  EXPECT_THAT(monthly.meets_target(), false);
  EXPECT_THAT(Metric(response, "logo_retention_rate_monthly").meets_target(), false);

  // The same churn over 60 days is 1 − 0.95^(1/2) ≈ 2.53% a month.
  response = Compute(Period(kStart, kStart + absl::Hours(24 * 60)));
  EXPECT_THAT(Value(response, "logo_churn_rate_monthly"), DoubleNear((1 - std::sqrt(0.95)) * 100, 1e-9));
  EXPECT_THAT(Metric(response, "logo_churn_rate_monthly").meets_target(), true);
}

TEST_F(PortfolioMetricsTest, NpsAndCsat) {
  // 5 promoters, 3 passives, 2 detractors → 50% − 20% = 30.
  const std::vector<double> scores = {9, 10, 9, 10, 10, 7, 8, 7, 0, 6};
  for (int i = 0; i < static_cast<int>(scores.size()); ++i) {
    const std::string id = absl::StrCat("n", i);
    Upsert(id, v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1), Day(2025, 1, 1));
    std::vector<v1::Event> answers = {
        MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, kStart + absl::Hours(10), scores[i])};
    // An earlier answer of the same account in the period does not count (latest per account), nor one
    // before the period.
    if (i == 0) answers.push_back(MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, kStart + absl::Hours(1), 0));
    if (i == 1) answers.push_back(MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Hours(1), 0));
    Events(id, kStart + absl::Hours(11), answers);
  }
  Events("n0", kStart + absl::Hours(12),
         {MakeEvent(v1::EVENT_TYPE_CSAT_RESPONSE, kStart + absl::Hours(12), 5),
          MakeEvent(v1::EVENT_TYPE_CSAT_RESPONSE, kStart + absl::Hours(12), 4)});
  Events("n1", kStart + absl::Hours(13),
         {MakeEvent(v1::EVENT_TYPE_CSAT_RESPONSE, kStart + absl::Hours(12), 3),
          MakeEvent(v1::EVENT_TYPE_CSAT_RESPONSE, kStart + absl::Hours(12), 2)});

  const v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  EXPECT_DOUBLE_EQ(Value(response, "nps"), 30);
  EXPECT_EQ(Metric(response, "nps").formula(), "(5 − 2) / 10 × 100");
  EXPECT_DOUBLE_EQ(Value(response, "csat"), 3.5);
  EXPECT_DOUBLE_EQ(Value(response, "csat_satisfied_rate"), 50);
}

TEST_F(PortfolioMetricsTest, ChurnByReason) {
  for (int i = 0; i < 10; ++i) {
    Upsert(absl::StrCat("r", i), v1::ACCOUNT_STATUS_ACTIVE, 1000 * (i + 1), Day(2025, 1, 1), Day(2025, 1, 1));
  }
  const absl::Time t = kStart + absl::Hours(24);
  Events("r0", t, {MakeEvent(v1::EVENT_TYPE_CHURNED, t, 0, "competition")});
  Events("r1", t, {MakeEvent(v1::EVENT_TYPE_CHURNED, t, 0, "competition")});
  Events("r2", t, {MakeEvent(v1::EVENT_TYPE_CHURNED, t, 0, "downgrade_to_free")});
  // Churned only by its status (no event): reason unknown. Its MRR as of just before the churn counts.
  Upsert("r3", v1::ACCOUNT_STATUS_CHURNED, 0, Day(2025, 1, 1), t);
  // Churned before the period: neither at start nor lost.
  Events("r4", kStart - absl::Hours(1), {MakeEvent(v1::EVENT_TYPE_CHURNED, kStart - absl::Hours(1), 0, "x")});

  const v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  EXPECT_EQ(response.counts().at_start(), 9);
  EXPECT_EQ(response.counts().lost(), 4);
  ASSERT_EQ(response.churn_by_reason_size(), 3);
  const v1::ChurnReasonShare& first = response.churn_by_reason(0);
  EXPECT_EQ(first.reason(), "competition");
  EXPECT_EQ(first.accounts(), 2);
  EXPECT_DOUBLE_EQ(first.share_percent(), 50);
  EXPECT_DOUBLE_EQ(first.churn_rate_percent(), 200.0 / 9);
  EXPECT_DOUBLE_EQ(first.churned_mrr(), 3000);
  EXPECT_EQ(response.churn_by_reason(1).reason(), "downgrade_to_free");
  EXPECT_DOUBLE_EQ(response.churn_by_reason(1).share_percent(), 25);
  EXPECT_EQ(response.churn_by_reason(2).reason(), "unspecified");
  EXPECT_DOUBLE_EQ(response.churn_by_reason(2).churned_mrr(), 4000);
  EXPECT_DOUBLE_EQ(Value(response, "churned_mrr"), 1000 + 2000 + 3000 + 4000);
}

TEST_F(PortfolioMetricsTest, CohortTable) {
  targets_.set_cohort_months(3);
  // January: 4 accounts; one churns in February, one in March.
  for (int i = 0; i < 4; ++i) {
    Upsert(absl::StrCat("jan", i), v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2026, 1, 10), Day(2026, 1, 10));
  }
  Events("jan0", Day(2026, 2, 15), {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2026, 2, 15))});
  Events("jan1", Day(2026, 3, 5), {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2026, 3, 5))});
  // February: 2 accounts (one a trial); the trial lapses in February.
  Upsert("feb0", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2026, 2, 3), Day(2026, 2, 3));
  Upsert("feb1", v1::ACCOUNT_STATUS_TRIAL, 0, Day(2026, 2, 3), Day(2026, 2, 3));
  Upsert("feb1", v1::ACCOUNT_STATUS_CHURNED, 0, Day(2026, 2, 3), Day(2026, 2, 20));
  // March: one account, which starts after the end of the second period below.
  Upsert("mar0", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2026, 3, 20), Day(2026, 3, 20));
  // December: before the table.
  Upsert("dec0", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 12, 3), Day(2025, 12, 3));
  // A churn after end_time does not show.
  Events("jan2", Day(2026, 4, 2), {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2026, 4, 2))});

  const v1::GetPortfolioMetricsResponse response = Compute(Period(Day(2026, 3, 1), Day(2026, 4, 1)));
  ASSERT_EQ(response.cohorts_size(), 3);
  EXPECT_EQ(response.cohorts(0).cohort_month(), "2026-01");
  EXPECT_EQ(response.cohorts(0).accounts(), 4);
  EXPECT_THAT(response.cohorts(0).retained_percent(), ElementsAre(100, 75, 50));
  EXPECT_EQ(response.cohorts(1).cohort_month(), "2026-02");
  EXPECT_EQ(response.cohorts(1).accounts(), 2);
  EXPECT_THAT(response.cohorts(1).retained_percent(), ElementsAre(50, 50));
  EXPECT_EQ(response.cohorts(2).cohort_month(), "2026-03");
  EXPECT_EQ(response.cohorts(2).accounts(), 1);
  EXPECT_THAT(response.cohorts(2).retained_percent(), ElementsAre(100));

  // A period ending mid-month: the last checkpoint is end_time.
  const v1::GetPortfolioMetricsResponse mid = Compute(Period(Day(2026, 2, 1), Day(2026, 3, 3)));
  ASSERT_EQ(mid.cohorts_size(), 3);
  EXPECT_EQ(mid.cohorts(0).cohort_month(), "2026-01");
  EXPECT_THAT(mid.cohorts(0).retained_percent(), ElementsAre(100, 75, 75));  // jan1 churns on 03-05
  EXPECT_THAT(mid.cohorts(1).retained_percent(), ElementsAre(50, 50));
  // Not started by end_time: in no cohort, and a month without accounts has no shares.
  EXPECT_EQ(mid.cohorts(2).accounts(), 0);
  EXPECT_TRUE(mid.cohorts(2).retained_percent().empty());
}

TEST_F(PortfolioMetricsTest, SegmentFilter) {
  for (int i = 0; i < 4; ++i) {
    Upsert(absl::StrCat("in", i), v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1), Day(2025, 1, 1));
    Upsert(absl::StrCat("out", i), v1::ACCOUNT_STATUS_ACTIVE, 900, Day(2025, 1, 1), Day(2025, 1, 1));
  }
  Events("in0", kStart, {MakeEvent(v1::EVENT_TYPE_CHURNED, kStart, 0, "business_closed")});
  const std::function<bool(const std::string&)> in_segment = [](const std::string& id) {
    return absl::StartsWith(id, "in");
  };
  v1::GetPortfolioMetricsRequest request = Period(kStart, kEnd);
  request.set_segment_id("custom/in");
  const v1::GetPortfolioMetricsResponse response = Compute(request, &in_segment);
  EXPECT_EQ(response.segment_id(), "custom/in");
  EXPECT_EQ(response.counts().accounts(), 4);
  EXPECT_EQ(response.counts().at_start(), 4);
  EXPECT_DOUBLE_EQ(Value(response, "logo_churn_rate"), 25);
  EXPECT_DOUBLE_EQ(Value(response, "mrr"), 300);

  const v1::GetPortfolioMetricsResponse all = Compute(Period(kStart, kEnd));
  EXPECT_EQ(all.counts().accounts(), 8);
  EXPECT_DOUBLE_EQ(Value(all, "mrr"), 300 + 3600);
}

TEST_F(PortfolioMetricsTest, NoAccountsMeansUnknown) {
  // An account whose attributes never arrived is left out too.
  Events("ghost", kStart, {MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, kStart, 10)});
  const v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  ASSERT_GT(response.metrics_size(), 20);
  for (const v1::PortfolioMetric& metric : response.metrics()) {
    EXPECT_FALSE(metric.known()) << metric.name();
    EXPECT_EQ(metric.value(), 0) << metric.name();
    EXPECT_FALSE(metric.has_meets_target()) << metric.name();
    EXPECT_FALSE(metric.formula().empty()) << metric.name();
  }
  EXPECT_THAT(Metric(response, "logo_churn_rate_monthly").target(), 3);
  EXPECT_EQ(Metric(response, "logo_churn_rate").formula(), "no paying accounts at start_time");
  EXPECT_EQ(response.counts().accounts(), 0);
  EXPECT_TRUE(response.churn_by_reason().empty());
  EXPECT_EQ(response.cohorts_size(), 12);
}

TEST_F(PortfolioMetricsTest, TrialsActivationAndTimeToValue) {
  const absl::Duration day = absl::Hours(24);
  // Trials: one starts and converts in the period, one was on trial at start and converts, one stays.
  Upsert("t1", v1::ACCOUNT_STATUS_TRIAL, 0, kStart + 20 * day, kStart + 20 * day);
  Upsert("t1", v1::ACCOUNT_STATUS_ACTIVE, 50, kStart + 20 * day, kStart + 25 * day);
  Upsert("t2", v1::ACCOUNT_STATUS_TRIAL, 0, kStart - 5 * day, kStart - 5 * day);
  Upsert("t2", v1::ACCOUNT_STATUS_ACTIVE, 50, kStart - 5 * day, kStart + 2 * day);
  Upsert("t3", v1::ACCOUNT_STATUS_TRIAL, 0, kStart - 5 * day, kStart - 5 * day);
  // Converted after the period: not in it.
  Upsert("t3", v1::ACCOUNT_STATUS_ACTIVE, 50, kStart - 5 * day, kEnd + day);
  // New paying accounts: activated in 2 days; in 18 days (too late); window still open at end.
  Upsert("n1", v1::ACCOUNT_STATUS_ACTIVE, 100, kStart + day, kStart + day);
  Events("n1", kStart + 3 * day, {MakeEvent(v1::EVENT_TYPE_FEATURE_USED, kStart + 3 * day, 0, "reports")});
  Upsert("n2", v1::ACCOUNT_STATUS_ACTIVE, 100, kStart + 2 * day, kStart + 2 * day);
  Events("n2", kStart + 20 * day, {MakeEvent(v1::EVENT_TYPE_FEATURE_USED, kStart + 20 * day, 0, "reports")});
  Upsert("n3", v1::ACCOUNT_STATUS_ACTIVE, 100, kStart + 25 * day, kStart + 25 * day);

  const v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  EXPECT_THAT(Value(response, "trial_to_paid_conversion"), DoubleNear(200.0 / 3, 1e-9));
  EXPECT_EQ(Metric(response, "trial_to_paid_conversion").formula(), "2 / 3 × 100");
  EXPECT_DOUBLE_EQ(Value(response, "activation_rate"), 50);
  EXPECT_THAT(Metric(response, "activation_rate").meets_target(), false);
  EXPECT_DOUBLE_EQ(Value(response, "time_to_value"), 10);
  EXPECT_EQ(Metric(response, "time_to_value").unit(), "days");
  EXPECT_THAT(Metric(response, "time_to_value").meets_target(), false);
  EXPECT_EQ(response.counts().new_accounts(), 4);  // t1, n1, n2, n3
  EXPECT_EQ(response.counts().at_start(), 0);      // trials are not in the churn denominators
  EXPECT_EQ(response.counts().trial_at_end(), 1);  // t3
  EXPECT_EQ(response.counts().active_at_end(), 5);
  EXPECT_FALSE(Metric(response, "logo_churn_rate").known());

  // A wider window: n2 counts as activated, n3's window has not ended.
  targets_.set_activation_window_days(20);
  EXPECT_DOUBLE_EQ(Value(Compute(Period(kStart, kEnd)), "activation_rate"), 100);
}

TEST_F(PortfolioMetricsTest, HealthAndLtvToCacOfPayingAccountsAtEnd) {
  const std::vector<std::pair<double, double>> scores = {{90, 2}, {80, 4}, {70, 3}};
  for (int i = 0; i < 3; ++i) {
    const std::string id = absl::StrCat("h", i);
    Upsert(id, v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1), Day(2025, 1, 1));
    ASSERT_TRUE(
        book_.SetScores(id, scores[i].first, i < 2 ? std::optional<double>(scores[i].second) : std::nullopt)
            .ok());
  }
  Upsert("gone", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1), Day(2025, 1, 1));
  Events("gone", kStart, {MakeEvent(v1::EVENT_TYPE_CHURNED, kStart)});
  ASSERT_TRUE(book_.SetScores("gone", 5, 0.5).ok());

  const v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  EXPECT_DOUBLE_EQ(Value(response, "average_health"), 80);
  EXPECT_THAT(Metric(response, "average_health").meets_target(), true);
  EXPECT_DOUBLE_EQ(Value(response, "ltv_to_cac"), 3);
  EXPECT_EQ(Metric(response, "ltv_to_cac").formula(), "6 / 2");
  EXPECT_THAT(Metric(response, "ltv_to_cac").meets_target(), true);
}

TEST_F(PortfolioMetricsTest, ReactivatedAccountsCountAgainAtEnd) {
  Upsert("back", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1), Day(2025, 1, 1));
  Events("back", kStart + absl::Hours(1), {MakeEvent(v1::EVENT_TYPE_CHURNED, kStart + absl::Hours(1))});
  Events("back", kStart + absl::Hours(50), {MakeEvent(v1::EVENT_TYPE_REACTIVATED, kStart + absl::Hours(50))});
  const v1::GetPortfolioMetricsResponse response = Compute(Period(kStart, kEnd));
  EXPECT_EQ(response.counts().lost(), 1);
  EXPECT_EQ(response.counts().reactivated(), 1);
  EXPECT_EQ(response.counts().active_at_end(), 1);
}

TEST_F(PortfolioMetricsTest, BadPeriodsNameTheField) {
  const auto field_of = [&](const v1::GetPortfolioMetricsRequest& request) -> std::optional<std::string> {
    absl::StatusOr<v1::GetPortfolioMetricsResponse> response =
        ComputePortfolioMetrics(store_, targets_, request, nullptr);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
    return ErrorField(response.status());
  };
  v1::GetPortfolioMetricsRequest request = Period(kStart, kEnd);
  request.clear_start_time();
  EXPECT_THAT(field_of(request), Optional(std::string("start_time")));
  request = Period(kStart, kEnd);
  request.clear_end_time();
  EXPECT_THAT(field_of(request), Optional(std::string("end_time")));
  EXPECT_THAT(field_of(Period(kStart, kStart)), Optional(std::string("end_time")));
  EXPECT_THAT(field_of(Period(kEnd, kStart)), Optional(std::string("end_time")));
  EXPECT_THAT(field_of(Period(kStart, kStart + absl::Hours(24 * 3654))), Optional(std::string("end_time")));
  request = Period(kStart, kEnd);
  request.mutable_start_time()->set_nanos(-1);
  EXPECT_THAT(field_of(request), Optional(std::string("start_time")));
  // Ten years exactly is fine.
  EXPECT_TRUE(
      ComputePortfolioMetrics(store_, targets_, Period(kStart, kStart + absl::Hours(24 * 3653)), nullptr)
          .ok());
}

}  // namespace
}  // namespace steward::segmentation
