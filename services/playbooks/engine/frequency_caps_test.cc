#include "services/playbooks/engine/frequency_caps.h"

#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::playbooks {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Optional;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2024, 6, 10, 12, 0, 0), absl::UTCTimeZone());

absl::Duration Days(double d) { return absl::Hours(24 * d); }

FrequencyCaps Caps(std::initializer_list<std::pair<int, int>> max_and_days,
                   std::initializer_list<v1::Channel> channels = {}) {
  FrequencyCaps caps;
  for (const auto& [max, days] : max_and_days) {
    v1::FrequencyCap* cap = caps.Add();
    cap->set_max_touches(max);
    cap->set_window_days(days);
    for (v1::Channel c : channels) cap->add_channels(c);
  }
  return caps;
}

void Touch(v1::TouchLog& log, v1::Channel channel, absl::Time at) {
  v1::TouchLog::Touch* touch = log.add_touches();
  touch->set_channel(channel);
  touch->set_time_ms(absl::ToUnixMillis(at));
}

std::vector<absl::Time> Times(const v1::TouchLog& log) {
  std::vector<absl::Time> times;
  for (const auto& t : log.touches()) times.push_back(absl::FromUnixMillis(t.time_ms()));
  return times;
}

TEST(IsCustomerFacingTest, EmailInAppCallAndOfferOnly) {
  EXPECT_TRUE(IsCustomerFacing(v1::CHANNEL_EMAIL));
  EXPECT_TRUE(IsCustomerFacing(v1::CHANNEL_IN_APP));
  EXPECT_TRUE(IsCustomerFacing(v1::CHANNEL_CALL));
  EXPECT_TRUE(IsCustomerFacing(v1::CHANNEL_OFFER));
  EXPECT_FALSE(IsCustomerFacing(v1::CHANNEL_TASK));
  EXPECT_FALSE(IsCustomerFacing(v1::CHANNEL_WEBHOOK));
  EXPECT_FALSE(IsCustomerFacing(v1::CHANNEL_UNSPECIFIED));
}

TEST(CapCountsTest, EmptyChannelsMeansEveryCustomerFacingChannel) {
  const FrequencyCaps caps = Caps({{1, 7}});
  EXPECT_TRUE(CapCounts(caps[0], v1::CHANNEL_EMAIL));
  EXPECT_TRUE(CapCounts(caps[0], v1::CHANNEL_IN_APP));
  EXPECT_TRUE(CapCounts(caps[0], v1::CHANNEL_CALL));
  EXPECT_TRUE(CapCounts(caps[0], v1::CHANNEL_OFFER));
  EXPECT_FALSE(CapCounts(caps[0], v1::CHANNEL_TASK));
  EXPECT_FALSE(CapCounts(caps[0], v1::CHANNEL_WEBHOOK));
}

TEST(CapCountsTest, ListedChannelsOnly) {
  const FrequencyCaps caps = Caps({{1, 7}}, {v1::CHANNEL_EMAIL, v1::CHANNEL_OFFER});
  EXPECT_TRUE(CapCounts(caps[0], v1::CHANNEL_EMAIL));
  EXPECT_TRUE(CapCounts(caps[0], v1::CHANNEL_OFFER));
  EXPECT_FALSE(CapCounts(caps[0], v1::CHANNEL_IN_APP));
  EXPECT_FALSE(CapCounts(caps[0], v1::CHANNEL_CALL));
}

TEST(CapCountsTest, InternalChannelsAreNeverCountedEvenWhenListed) {
  const FrequencyCaps caps = Caps({{1, 7}}, {v1::CHANNEL_TASK, v1::CHANNEL_WEBHOOK});
  EXPECT_FALSE(CapCounts(caps[0], v1::CHANNEL_TASK));
  EXPECT_FALSE(CapCounts(caps[0], v1::CHANNEL_WEBHOOK));
}

TEST(CapDeferralTest, UnderTheCapIsNotDeferred) {
  const FrequencyCaps caps = Caps({{2, 7}});
  v1::TouchLog log;
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), std::nullopt);
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(1));
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), std::nullopt);
}

TEST(CapDeferralTest, AtTheCapDefersUntilTheOldestCountedTouchLeavesTheWindow) {
  const FrequencyCaps caps = Caps({{2, 7}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(5));
  Touch(log, v1::CHANNEL_OFFER, kNow - Days(2));
  EXPECT_THAT(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), Optional(Eq(kNow - Days(5) + Days(7))));
  // At that time the touch has left the window: no more deferral.
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow + Days(2)), std::nullopt);
  // A second earlier it still counts.
  EXPECT_THAT(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow + Days(2) - absl::Seconds(1)),
              Optional(Eq(kNow + Days(2))));
}

TEST(CapDeferralTest, TouchesOutsideTheWindowAreNotCounted) {
  const FrequencyCaps caps = Caps({{2, 7}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(9));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(7));  // exactly a window ago: out
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(1));
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), std::nullopt);
}

TEST(CapDeferralTest, OverTheCapWaitsForEnoughTouchesToLeave) {
  // Three allowed, four in the window (a cap lowered since): two must leave before one more fits.
  const FrequencyCaps caps = Caps({{3, 10}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(8));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(6));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(3));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(1));
  EXPECT_THAT(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), Optional(Eq(kNow - Days(6) + Days(10))));
}

TEST(CapDeferralTest, ChannelCapIgnoresOtherChannels) {
  const FrequencyCaps caps = Caps({{1, 7}}, {v1::CHANNEL_EMAIL});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_IN_APP, kNow - Days(1));
  Touch(log, v1::CHANNEL_CALL, kNow - Days(1));
  // In-app and call touches do not count against the email cap, and in-app is not capped by it.
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), std::nullopt);
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_IN_APP, kNow), std::nullopt);
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(2));
  EXPECT_THAT(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), Optional(Eq(kNow + Days(5))));
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_IN_APP, kNow), std::nullopt);
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_OFFER, kNow), std::nullopt);
}

TEST(CapDeferralTest, CapWithoutChannelsCountsEveryCustomerFacingChannelTogether) {
  const FrequencyCaps caps = Caps({{1, 7}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_IN_APP, kNow - Days(3));
  for (v1::Channel channel : {v1::CHANNEL_EMAIL, v1::CHANNEL_IN_APP, v1::CHANNEL_CALL, v1::CHANNEL_OFFER}) {
    EXPECT_THAT(CapDeferral(caps, log, channel, kNow), Optional(Eq(kNow + Days(4)))) << channel;
  }
}

TEST(CapDeferralTest, TasksAndWebhooksAreNeverCapped) {
  const FrequencyCaps caps = Caps({{1, 7}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(1));
  Touch(log, v1::CHANNEL_OFFER, kNow - Days(1));
  ASSERT_TRUE(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow).has_value());
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_TASK, kNow), std::nullopt);
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_WEBHOOK, kNow), std::nullopt);
}

TEST(CapDeferralTest, TaskTouchesInTheLogDoNotCount) {
  const FrequencyCaps caps = Caps({{1, 7}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_TASK, kNow - Days(1));
  Touch(log, v1::CHANNEL_WEBHOOK, kNow - Days(1));
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), std::nullopt);
}

TEST(CapDeferralTest, TwoCapsDeferToTheLaterOfTheirTimes) {
  // Daily cap: 1 per day. Weekly cap: 3 per 7 days.
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(6));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(3));
  Touch(log, v1::CHANNEL_EMAIL, kNow - absl::Hours(2));
  // Daily: free at kNow + 22 h. Weekly: free at kNow + 1 day (the touch of 6 days ago leaves).
  const absl::Time daily = kNow - absl::Hours(2) + Days(1);
  const absl::Time weekly = kNow - Days(6) + Days(7);
  ASSERT_LT(daily, weekly);
  EXPECT_THAT(CapDeferral(Caps({{1, 1}, {3, 7}}), log, v1::CHANNEL_EMAIL, kNow), Optional(Eq(weekly)));
  EXPECT_THAT(CapDeferral(Caps({{3, 7}, {1, 1}}), log, v1::CHANNEL_EMAIL, kNow), Optional(Eq(weekly)));
  // Each alone.
  EXPECT_THAT(CapDeferral(Caps({{1, 1}}), log, v1::CHANNEL_EMAIL, kNow), Optional(Eq(daily)));
  EXPECT_THAT(CapDeferral(Caps({{3, 7}}), log, v1::CHANNEL_EMAIL, kNow), Optional(Eq(weekly)));
}

TEST(CapDeferralTest, TwoCapsWhereTheShorterWindowIsLater) {
  // 1 per 2 days and 5 per 30 days: only the first is full.
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(20));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(1));
  EXPECT_THAT(CapDeferral(Caps({{5, 30}, {1, 2}}), log, v1::CHANNEL_EMAIL, kNow),
              Optional(Eq(kNow + Days(1))));
}

TEST(RecordTouchTest, AppendsCustomerFacingTouches) {
  const FrequencyCaps caps = Caps({{2, 7}});
  v1::TouchLog log;
  RecordTouch(caps, log, v1::CHANNEL_EMAIL, kNow - Days(1));
  RecordTouch(caps, log, v1::CHANNEL_CALL, kNow);
  ASSERT_EQ(log.touches_size(), 2);
  EXPECT_EQ(log.touches(0).channel(), v1::CHANNEL_EMAIL);
  EXPECT_EQ(log.touches(0).time_ms(), absl::ToUnixMillis(kNow - Days(1)));
  EXPECT_EQ(log.touches(1).channel(), v1::CHANNEL_CALL);
  EXPECT_EQ(log.touches(1).time_ms(), absl::ToUnixMillis(kNow));
  // And what it records is what CapDeferral counts.
  EXPECT_THAT(CapDeferral(caps, log, v1::CHANNEL_OFFER, kNow), Optional(Eq(kNow + Days(6))));
}

TEST(RecordTouchTest, TasksAndWebhooksAreNeverRecorded) {
  const FrequencyCaps caps = Caps({{1, 7}});
  v1::TouchLog log;
  RecordTouch(caps, log, v1::CHANNEL_TASK, kNow);
  RecordTouch(caps, log, v1::CHANNEL_WEBHOOK, kNow);
  EXPECT_EQ(log.touches_size(), 0);
  EXPECT_EQ(CapDeferral(caps, log, v1::CHANNEL_EMAIL, kNow), std::nullopt);
}

TEST(RecordTouchTest, DropsTouchesOlderThanTheLongestWindow) {
  const FrequencyCaps caps = Caps({{1, 7}, {4, 30}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(31));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(30));  // exactly the longest window ago: no cap counts it
  Touch(log, v1::CHANNEL_OFFER, kNow - Days(29));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(8));  // older than the 7-day window, inside the 30-day one
  RecordTouch(caps, log, v1::CHANNEL_IN_APP, kNow);
  EXPECT_THAT(Times(log), ElementsAre(kNow - Days(29), kNow - Days(8), kNow));
}

TEST(RecordTouchTest, DropsOldTouchesEvenWhenRecordingATask) {
  const FrequencyCaps caps = Caps({{1, 7}});
  v1::TouchLog log;
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(10));
  Touch(log, v1::CHANNEL_EMAIL, kNow - Days(2));
  RecordTouch(caps, log, v1::CHANNEL_TASK, kNow);
  EXPECT_THAT(Times(log), ElementsAre(kNow - Days(2)));
}

}  // namespace
}  // namespace steward::playbooks
