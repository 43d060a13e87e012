// GroupConsumer over both stores: what a follower of a feed relies on — each entry handled, a failed
// page handed to the handler again, a restarted member taking back what it held, members sharing a feed,
// an upgrade from a stored cursor neither replaying nor skipping, and Drain.

#include "common/store/group_consumer.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/store/stored_cursor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_store.h"

namespace steward {
namespace {

using ::testing::ElementsAre;

using testing::StoreKind;

constexpr char kLog[] = "feed";

class GroupConsumerTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Appends entries "<prefix>0" … riding on writes, as services do; returns their ids.
  std::vector<std::string> Append(const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) {
      Write write;
      write.key = absl::StrCat("k-", prefix, i);
      write.value = "v";
      write.log_appends.push_back(LogAppend{kLog, absl::StrCat(prefix, i)});
      EXPECT_TRUE(store_->Put({&write, 1}).ok());
    }
    auto all = store_->LogRead(kLog, "", 100000);
    EXPECT_TRUE(all.ok());
    std::vector<std::string> ids;
    for (const LogEntry& e : *all) ids.push_back(e.id);
    return ids;
  }

  GroupConsumer Consumer(const std::string& name, const std::string& legacy_cursor_key = "") {
    FeedSettings settings;
    settings.consumer = name;
    settings.wait = absl::ZeroDuration();
    return GroupConsumer(*store_, settings, kLog, "service", legacy_cursor_key);
  }

  std::unique_ptr<testing::RedisServer> redis_;  // outlives store_
  std::unique_ptr<Store> store_;
};

// Collects what a handler saw; fails while `fail` is set.
struct Recorder {
  std::vector<std::string> seen;
  bool fail = false;
  GroupConsumer::Handler handler() {
    return [this](absl::Span<const LogEntry> page) {
      if (fail) return absl::UnavailableError("a peer is down");
      for (const LogEntry& e : page) seen.push_back(e.bytes);
      return absl::OkStatus();
    };
  }
};

TEST_P(GroupConsumerTest, HandlesEveryEntryOnceAndAcknowledgesIt) {
  Append("a", 3);
  GroupConsumer consumer = Consumer("c1");
  Recorder recorder;
  ASSERT_TRUE(consumer.Drain(recorder.handler()).ok());
  EXPECT_THAT(recorder.seen, ElementsAre("a0", "a1", "a2"));
  auto info = store_->GetLogGroupInfo(kLog, "service");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->pending, 0);
  // Nothing again; new entries only.
  Append("b", 1);
  ASSERT_TRUE(consumer.Drain(recorder.handler()).ok());
  EXPECT_THAT(recorder.seen, ElementsAre("a0", "a1", "a2", "b0"));
}

TEST_P(GroupConsumerTest, AFailedPageIsHandledAgainAndNothingIsLost) {
  Append("a", 2);
  GroupConsumer consumer = Consumer("c1");
  Recorder recorder;
  recorder.fail = true;
  auto failed = consumer.Step(recorder.handler(), /*wait=*/false);
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  auto info = store_->GetLogGroupInfo(kLog, "service");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->pending, 2);  // delivered, not acknowledged
  recorder.fail = false;
  ASSERT_TRUE(consumer.Drain(recorder.handler()).ok());
  EXPECT_THAT(recorder.seen, ElementsAre("a0", "a1"));
  info = store_->GetLogGroupInfo(kLog, "service");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->pending, 0);
}

TEST_P(GroupConsumerTest, ARestartedMemberTakesBackWhatItsPredecessorHeld) {
  Append("a", 3);
  {
    // The first process reads a page and dies before acknowledging it.
    GroupConsumer dying = Consumer("pod-1");
    Recorder recorder;
    recorder.fail = true;
    EXPECT_FALSE(dying.Step(recorder.handler(), /*wait=*/false).ok());
  }
  GroupConsumer restarted = Consumer("pod-1");
  Recorder recorder;
  ASSERT_TRUE(restarted.Drain(recorder.handler()).ok());
  EXPECT_THAT(recorder.seen, ElementsAre("a0", "a1", "a2"));
}

TEST_P(GroupConsumerTest, MembersShareTheFeedEachEntryGoingToOne) {
  Append("a", 40);
  GroupConsumer first = Consumer("pod-1");
  GroupConsumer second = Consumer("pod-2");
  Recorder r1, r2;
  // Both start (claiming nothing: nothing is pending yet), then take turns.
  for (int round = 0; round < 100; ++round) {
    auto a = first.Step(r1.handler(), /*wait=*/false);
    auto b = second.Step(r2.handler(), /*wait=*/false);
    ASSERT_TRUE(a.ok() && b.ok());
    if (*a == 0 && *b == 0) break;
  }
  std::multiset<std::string> all(r1.seen.begin(), r1.seen.end());
  all.insert(r2.seen.begin(), r2.seen.end());
  EXPECT_EQ(all.size(), 40u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 40u);  // none twice
}

TEST_P(GroupConsumerTest, AGroupStartsWhereTheFollowersStoredCursorWas) {
  const std::vector<std::string> ids = Append("a", 4);
  ASSERT_TRUE(SaveStoredCursor(*store_, "old-cursor", ids[1]).ok());
  GroupConsumer consumer = Consumer("c1", "old-cursor");
  Recorder recorder;
  ASSERT_TRUE(consumer.Drain(recorder.handler()).ok());
  EXPECT_THAT(recorder.seen, ElementsAre("a2", "a3"));
}

TEST_P(GroupConsumerTest, LastInfoReportsLagAfterAStep) {
  Append("a", 5);
  GroupConsumer consumer = Consumer("c1");
  Recorder recorder;
  // A step looks at the group after reading its page and before acknowledging it.
  ASSERT_TRUE(consumer.Step(recorder.handler(), /*wait=*/false).ok());
  const LogGroupInfo info = consumer.LastInfo();
  EXPECT_EQ(info.lag, 0);  // all 5 delivered …
  EXPECT_EQ(info.pending, 5);  // … and not acknowledged yet
}

INSTANTIATE_TEST_SUITE_P(Stores, GroupConsumerTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const ::testing::TestParamInfo<StoreKind>& param_info) {
                           return testing::StoreKindName(param_info.param);
                         });

}  // namespace
}  // namespace steward
