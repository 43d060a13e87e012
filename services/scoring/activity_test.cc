#include "services/scoring/activity.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace steward::scoring {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

v1::Event MakeEvent(std::string id, v1::EventType type, absl::Time t, std::string subject = "",
                    double value = 0) {
  v1::Event e;
  e.set_event_id(std::move(id));
  e.set_account_id("a1");
  e.set_type(type);
  e.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
  e.set_subject(std::move(subject));
  e.set_value(value);
  return e;
}

// An account's activity with its id log, updated the way the store does.
struct Activity {
  v1::ActivityRecord record;
  std::string id_log;
};

ApplyCounts ApplyAll(const std::vector<v1::Event>& events, Activity& activity, absl::Time now = kNow) {
  std::vector<const v1::Event*> pointers;
  for (const v1::Event& e : events) pointers.push_back(&e);
  IdLogUpdate update;
  ApplyCounts counts = ApplyEvents(pointers, now, activity.record, activity.id_log, update);
  if (update.replace) activity.id_log.clear();
  activity.id_log += update.bytes;
  return counts;
}

absl::Time DaysAgo(int days) { return kNow - absl::Hours(24) * days; }

TEST(DayOfTest, CountsUtcDaysFromTheEpoch) {
  EXPECT_EQ(DayOf(absl::UnixEpoch()), 0);
  EXPECT_EQ(DayOf(absl::UnixEpoch() + absl::Hours(23)), 0);
  EXPECT_EQ(DayOf(absl::UnixEpoch() + absl::Hours(24)), 1);
  EXPECT_EQ(DayOf(absl::UnixEpoch() - absl::Seconds(1)), -1);
}

TEST(ApplyEventsTest, ReplayingABatchChangesNothing) {
  Activity activity;
  v1::ActivityRecord& record = activity.record;
  std::vector<v1::Event> batch = {MakeEvent("e1", v1::EVENT_TYPE_LOGIN, DaysAgo(1)),
                                  MakeEvent("e2", v1::EVENT_TYPE_LOGIN, DaysAgo(2))};
  ApplyCounts first = ApplyAll(batch, activity);
  EXPECT_EQ(first.recorded, 2);
  const std::string after_first = record.SerializeAsString();
  ApplyCounts second = ApplyAll(batch, activity);
  EXPECT_EQ(second.recorded, 0);
  EXPECT_EQ(second.duplicates, 2);
  EXPECT_EQ(record.SerializeAsString(), after_first);
}

TEST(ApplyEventsTest, RemembersIdsForTheDedupWindowCountedInArrivalDays) {
  Activity activity;
  const std::vector<v1::Event> batch = {MakeEvent("e1", v1::EVENT_TYPE_LOGIN, DaysAgo(1))};
  ASSERT_EQ(ApplyAll(batch, activity).recorded, 1);
  EXPECT_EQ(activity.id_log.size(), kIdLogEntryBytes);
  // Six days after it first arrived, a replay is still recognised.
  Activity replayed = activity;
  EXPECT_EQ(ApplyAll(batch, replayed, kNow + absl::Hours(24 * 6)).duplicates, 1);
  // Once the window has passed, the id is forgotten (the log is compacted on the next write) and only
  // the day's counters remain.
  ApplyAll({MakeEvent("e2", v1::EVENT_TYPE_LOGIN, kNow + absl::Hours(24 * 7))}, activity,
           kNow + absl::Hours(24 * 7));
  EXPECT_EQ(activity.id_log.size(), kIdLogEntryBytes);
  Activity later = activity;
  EXPECT_EQ(ApplyAll(batch, later, kNow + absl::Hours(24 * 7)).recorded, 1);
}

TEST(ApplyEventsTest, DuplicatesWithinOneBatchCountOnce) {
  Activity activity;
  const v1::Event login = MakeEvent("same", v1::EVENT_TYPE_LOGIN, DaysAgo(1));
  ApplyCounts counts = ApplyAll({login, login}, activity);
  EXPECT_EQ(counts.recorded, 1);
  EXPECT_EQ(counts.duplicates, 1);
  // A large batch takes the hash-set path; the same rule holds.
  std::vector<v1::Event> large;
  for (int i = 0; i < 20; ++i) {
    large.push_back(MakeEvent("id-" + std::to_string(i % 10), v1::EVENT_TYPE_LOGIN, DaysAgo(2)));
  }
  counts = ApplyAll(large, activity);
  EXPECT_EQ(counts.recorded, 10);
  EXPECT_EQ(counts.duplicates, 10);
  EXPECT_EQ(activity.id_log.size(), 11 * kIdLogEntryBytes);
}

TEST(ActivitySplitTest, TodayIsLiveAndEarlierDaysAreHistory) {
  Activity activity;
  ApplyAll({MakeEvent("old", v1::EVENT_TYPE_LOGIN, DaysAgo(3)), MakeEvent("new", v1::EVENT_TYPE_LOGIN, kNow)},
           activity);
  const v1::ActivityRecord whole = activity.record;
  v1::ActivityRecord history;
  SplitHistory(activity.record, DayOf(kNow), history);
  ASSERT_EQ(activity.record.days_size(), 1);
  EXPECT_EQ(activity.record.days(0).day(), DayOf(kNow));
  ASSERT_EQ(history.days_size(), 1);
  EXPECT_EQ(history.days(0).day(), DayOf(DaysAgo(3)));
  MergeHistory(history, activity.record);
  EXPECT_EQ(activity.record.SerializeAsString(), whole.SerializeAsString());
}

TEST(ActivitySplitTest, HistoryIsNeededForLateEventsAndAtTheRollOver) {
  const v1::Event today = MakeEvent("t", v1::EVENT_TYPE_LOGIN, kNow);
  const v1::Event late = MakeEvent("l", v1::EVENT_TYPE_LOGIN, DaysAgo(2));
  v1::ActivityRecord live;
  live.add_days()->set_day(DayOf(kNow));
  EXPECT_FALSE(NeedsHistory(live, {&today}, kNow));
  EXPECT_TRUE(NeedsHistory(live, {&today, &late}, kNow));
  // A day later the live bucket has become the past: it must move into the history.
  EXPECT_TRUE(NeedsHistory(live, {&today}, kNow + absl::Hours(24)));
}

TEST(ApplyEventsTest, OutOfOrderEventsLandInTheirOwnDay) {
  Activity activity;
  v1::ActivityRecord& record = activity.record;
  ApplyAll({MakeEvent("recent", v1::EVENT_TYPE_LOGIN, DaysAgo(1))}, activity);
  ApplyAll({MakeEvent("old", v1::EVENT_TYPE_LOGIN, DaysAgo(40))}, activity);
  ASSERT_EQ(record.days_size(), 2);
  EXPECT_EQ(record.days(0).day(), DayOf(DaysAgo(40)));
  EXPECT_EQ(record.days(1).day(), DayOf(DaysAgo(1)));

  v1::Account account;
  FeatureVector f = ExtractFeatures(account, record, kNow);
  EXPECT_EQ(f.Get(Feature::kLogins30d), 1);  // the 40-day-old login is outside the 30-day window
  EXPECT_EQ(f.Get(Feature::kLogins7d), 1);
}

TEST(ApplyEventsTest, ALateGaugeNeverHidesANewerOne) {
  Activity activity;
  v1::ActivityRecord& record = activity.record;
  ApplyAll({MakeEvent("new", v1::EVENT_TYPE_NPS_RESPONSE, DaysAgo(1), "", 9)}, activity);
  ApplyAll({MakeEvent("late", v1::EVENT_TYPE_NPS_RESPONSE, DaysAgo(5), "", 3)}, activity);
  EXPECT_EQ(record.nps().value(), 9);
}

TEST(ApplyEventsTest, EventsOlderThanRetentionAreExpiredAndOldBucketsDropped) {
  Activity activity;
  v1::ActivityRecord& record = activity.record;
  ApplyAll({MakeEvent("a", v1::EVENT_TYPE_LOGIN, DaysAgo(10))}, activity);
  ApplyCounts counts =
      ApplyAll({MakeEvent("b", v1::EVENT_TYPE_LOGIN, DaysAgo(kRetentionDays + 1))}, activity);
  EXPECT_EQ(counts.expired, 1);
  EXPECT_EQ(record.days_size(), 1);
  // 100 days later the 10-day-old bucket falls out of the window on the next write.
  ApplyAll({MakeEvent("c", v1::EVENT_TYPE_LOGIN, kNow + absl::Hours(24) * 100)}, activity,
           kNow + absl::Hours(24) * 100);
  ASSERT_EQ(record.days_size(), 1);
  EXPECT_EQ(record.days(0).day(), DayOf(kNow + absl::Hours(24) * 100));
}

TEST(ExtractFeaturesTest, WindowsSharesAndRates) {
  v1::Account account;
  account.mutable_plan()->set_feature_count(10);
  account.set_seats(20);
  (*account.mutable_plan()->mutable_limits())["api_calls"] = 1000;
  Activity activity;
  v1::ActivityRecord& record = activity.record;
  std::vector<v1::Event> events;
  for (int d = 0; d < 3; ++d) {
    events.push_back(MakeEvent("f" + std::to_string(d), v1::EVENT_TYPE_FEATURE_USED, DaysAgo(d), "reports"));
  }
  events.push_back(MakeEvent("g", v1::EVENT_TYPE_FEATURE_USED, DaysAgo(20), "dashboards"));
  events.push_back(MakeEvent("h", v1::EVENT_TYPE_FEATURE_USED, DaysAgo(45), "exports"));  // outside 30d
  events.push_back(MakeEvent("s1", v1::EVENT_TYPE_EMAIL_SENT, DaysAgo(2)));
  events.push_back(MakeEvent("s2", v1::EVENT_TYPE_EMAIL_SENT, DaysAgo(3)));
  events.push_back(MakeEvent("s3", v1::EVENT_TYPE_EMAIL_SENT, DaysAgo(20)));  // outside 14d
  events.push_back(MakeEvent("o1", v1::EVENT_TYPE_EMAIL_OPENED, DaysAgo(2)));
  events.push_back(MakeEvent("seats", v1::EVENT_TYPE_SEATS_ACTIVE, DaysAgo(1), "", 15));
  events.push_back(MakeEvent("api", v1::EVENT_TYPE_LIMIT_USAGE, DaysAgo(1), "api_calls", 850));
  events.push_back(MakeEvent("t1", v1::EVENT_TYPE_TICKET_OPENED, DaysAgo(4)));
  events.push_back(MakeEvent("t2", v1::EVENT_TYPE_TICKET_OPENED, DaysAgo(5)));
  events.push_back(MakeEvent("t3", v1::EVENT_TYPE_TICKET_RESOLVED, DaysAgo(1)));
  ApplyAll(events, activity);

  FeatureVector f = ExtractFeatures(account, record, kNow);
  EXPECT_EQ(f.Get(Feature::kFeatureUses30d), 4);
  EXPECT_EQ(f.Get(Feature::kDistinctFeatures30d), 2);
  EXPECT_DOUBLE_EQ(*f.Get(Feature::kFeatureShare30d), 0.2);
  EXPECT_EQ(f.Get(Feature::kFeatureUsesPrior30d), 1);
  EXPECT_DOUBLE_EQ(*f.Get(Feature::kUsageChange30d), 3.0);
  EXPECT_EQ(f.Get(Feature::kEmailsSent14d), 2);
  EXPECT_DOUBLE_EQ(*f.Get(Feature::kEmailOpenRate14d), 0.5);
  EXPECT_DOUBLE_EQ(*f.Get(Feature::kSeatUtilization), 0.75);
  EXPECT_DOUBLE_EQ(*f.Get(Feature::kMaxLimitUsage), 0.85);
  EXPECT_EQ(f.Get(Feature::kTicketsOpened30d), 2);
  EXPECT_EQ(f.Get(Feature::kOpenTickets), 1);
  EXPECT_FALSE(f.Has(Feature::kNps));  // no answer yet: unknown, not zero
}

TEST(ExtractFeaturesTest, LoginBaselineIsTheAccountsOwnNormal) {
  v1::Account account;
  account.mutable_start_time()->set_seconds(absl::ToUnixSeconds(DaysAgo(200)));
  Activity activity;
  v1::ActivityRecord& record = activity.record;
  std::vector<v1::Event> events;
  // Two logins a day from 89 to 30 days ago (60 days), then one every other day.
  for (int d = 30; d < 90; ++d) {
    events.push_back(MakeEvent("early-a" + std::to_string(d), v1::EVENT_TYPE_LOGIN, DaysAgo(d)));
    events.push_back(MakeEvent("early-b" + std::to_string(d), v1::EVENT_TYPE_LOGIN, DaysAgo(d)));
  }
  for (int d = 0; d < 30; d += 2)
    events.push_back(MakeEvent("late" + std::to_string(d), v1::EVENT_TYPE_LOGIN, DaysAgo(d)));
  ApplyAll(events, activity);

  FeatureVector f = ExtractFeatures(account, record, kNow);
  // Days 89..30 ago: 60 days at 2 a day, but the window is days [today-89, today-30] = 60 days.
  EXPECT_DOUBLE_EQ(*f.Get(Feature::kBaselineLogins30d), 60.0);
  EXPECT_EQ(f.Get(Feature::kLogins30d), 15);
  EXPECT_DOUBLE_EQ(*f.Get(Feature::kLoginFrequencyRatio), 0.25);
}

TEST(ExtractFeaturesTest, NoBaselineForANewAccount) {
  v1::Account account;
  account.mutable_start_time()->set_seconds(absl::ToUnixSeconds(DaysAgo(35)));
  Activity activity;
  v1::ActivityRecord& record = activity.record;
  ApplyAll({MakeEvent("l", v1::EVENT_TYPE_LOGIN, DaysAgo(1))}, activity);
  FeatureVector f = ExtractFeatures(account, record, kNow);
  EXPECT_FALSE(f.Has(Feature::kBaselineLogins30d));
  EXPECT_FALSE(f.Has(Feature::kLoginFrequencyRatio));
  EXPECT_NEAR(*f.Get(Feature::kTenureDays), 35, 1e-9);
}

}  // namespace
}  // namespace steward::scoring
