#include "services/upsell/opportunity_book.h"

#include <atomic>
#include <thread>
#include <vector>

#include "common/field_error.h"
#include "common/proto_time.h"
#include "common/store/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::upsell {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());
const absl::Duration kCooldown = absl::Hours(24 * 14);

v1::FiredTrigger Trigger(const std::string& id) {
  v1::FiredTrigger trigger;
  trigger.set_trigger_id(id);
  trigger.set_reason("test");
  return trigger;
}

class OpportunityBookTest : public ::testing::Test {
 protected:
  OpportunityBook::OpenResult Open(const std::string& account, const std::string& trigger) {
    auto result = book_.Open(account, Trigger(trigger), kCooldown);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : OpportunityBook::OpenResult();
  }

  MemoryStore store_;
  FakeClock clock_{kNow};
  OpportunityBook book_{store_, clock_};
};

TEST_F(OpportunityBookTest, OneOpenOpportunityPerAccountAndTrigger) {
  OpportunityBook::OpenResult first = Open("acme", "usage");
  EXPECT_EQ(first.outcome, OpportunityBook::OpenOutcome::kOpened);
  EXPECT_EQ(first.opportunity.opportunity_id(), "acme/1");
  EXPECT_EQ(first.opportunity.state(), v1::OPPORTUNITY_STATE_OPEN);
  EXPECT_EQ(FromProtoTime(first.opportunity.expire_time()), kNow + absl::Hours(24 * 30));

  OpportunityBook::OpenResult again = Open("acme", "usage");
  EXPECT_EQ(again.outcome, OpportunityBook::OpenOutcome::kAlreadyOpen);
  EXPECT_EQ(again.opportunity.opportunity_id(), "acme/1");
  EXPECT_EQ(Open("acme", "limit").opportunity.opportunity_id(), "acme/2");
  EXPECT_EQ(Open("globex", "usage").opportunity.opportunity_id(), "globex/1");
  auto all = book_.ForAccount("acme");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(OpportunityBookTest, TheLifecycleAllowsOnlyItsMovesAndRetriesChangeNothing) {
  const std::string id = Open("acme", "usage").opportunity.opportunity_id();
  auto offered = book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_OFFERED, "r1", "emailed");
  ASSERT_TRUE(offered.ok()) << offered.status();
  EXPECT_EQ(offered->state(), v1::OPPORTUNITY_STATE_OFFERED);
  EXPECT_EQ(book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_OFFERED, "r2", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Still open while offered: the trigger cannot open a second one.
  EXPECT_EQ(Open("acme", "usage").outcome, OpportunityBook::OpenOutcome::kAlreadyOpen);

  clock_.Advance(absl::Hours(1));
  auto accepted = book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_ACCEPTED, "r3", "signed");
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->state(), v1::OPPORTUNITY_STATE_ACCEPTED);
  ASSERT_EQ(accepted->transitions_size(), 3);
  EXPECT_EQ(accepted->transitions(2).request_id(), "r3");
  EXPECT_EQ(FromProtoTime(accepted->update_time()), kNow + absl::Hours(1));

  // A retry of an earlier request answers as things are and changes nothing.
  auto retried = book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_OFFERED, "r1", "emailed");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state(), v1::OPPORTUNITY_STATE_ACCEPTED);
  EXPECT_EQ(retried->transitions_size(), 3);
  // Final states are final.
  absl::Status declined = book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_DECLINED, "r4", "").status();
  EXPECT_EQ(declined.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(declined.message(), HasSubstr("ACCEPTED"));
  // An accepted offer starts no cooldown: the trigger may open a new one.
  EXPECT_EQ(Open("acme", "usage").outcome, OpportunityBook::OpenOutcome::kOpened);
}

TEST_F(OpportunityBookTest, BadRequestsNameTheirField) {
  const std::string id = Open("acme", "usage").opportunity.opportunity_id();
  EXPECT_EQ(ErrorField(book_.RecordOutcome("acme", v1::OPPORTUNITY_STATE_OFFERED, "r", "").status()),
            "opportunity_id");
  EXPECT_EQ(ErrorField(book_.RecordOutcome("acme/0", v1::OPPORTUNITY_STATE_OFFERED, "r", "").status()),
            "opportunity_id");
  EXPECT_EQ(ErrorField(book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_OPEN, "r", "").status()), "state");
  EXPECT_EQ(ErrorField(book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_OFFERED, "", "").status()),
            "request_id");
  EXPECT_EQ(
      ErrorField(book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_OFFERED, "r", std::string(501, 'x')).status()),
      "note");
  EXPECT_EQ(book_.RecordOutcome("acme/9", v1::OPPORTUNITY_STATE_OFFERED, "r", "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(book_.Get("ghost/1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(OpportunityBookTest, ADeclinedOfferCoolsItsTriggerDown) {
  const std::string id = Open("acme", "usage").opportunity.opportunity_id();
  ASSERT_TRUE(book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_DECLINED, "r1", "not now").ok());
  clock_.Advance(kCooldown - absl::Seconds(1));
  OpportunityBook::OpenResult cooling = Open("acme", "usage");
  EXPECT_EQ(cooling.outcome, OpportunityBook::OpenOutcome::kCoolingDown);
  EXPECT_EQ(cooling.cooldown_until, kNow + kCooldown);
  EXPECT_EQ(Open("acme", "limit").outcome, OpportunityBook::OpenOutcome::kOpened);  // other triggers are free
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Open("acme", "usage").outcome, OpportunityBook::OpenOutcome::kOpened);
}

TEST_F(OpportunityBookTest, UntouchedOffersExpireAndCoolDownFromTheirExpiry) {
  const std::string id = Open("acme", "usage").opportunity.opportunity_id();
  clock_.Advance(absl::Hours(24 * 30));
  auto got = book_.Get(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->state(), v1::OPPORTUNITY_STATE_EXPIRED);
  EXPECT_EQ(FromProtoTime(got->update_time()), kNow + absl::Hours(24 * 30));
  EXPECT_EQ(book_.RecordOutcome(id, v1::OPPORTUNITY_STATE_ACCEPTED, "late", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  OpportunityBook::OpenResult cooling = Open("acme", "usage");
  EXPECT_EQ(cooling.outcome, OpportunityBook::OpenOutcome::kCoolingDown);
  EXPECT_EQ(cooling.cooldown_until, kNow + absl::Hours(24 * 30) + kCooldown);
  clock_.Advance(kCooldown);
  EXPECT_EQ(Open("acme", "usage").outcome, OpportunityBook::OpenOutcome::kOpened);
}

TEST_F(OpportunityBookTest, ConcurrentEvaluationsOpenOneOpportunity) {
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto result = book_.Open("busy", Trigger("usage"), kCooldown);
        ASSERT_TRUE(result.ok()) << result.status();
        if (result->outcome == OpportunityBook::OpenOutcome::kOpened) ++opened;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(opened.load(), 1);
  auto all = book_.ForAccount("busy");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(OpportunityBookTest, KeepsTheNewestOpportunitiesDroppingClosedOnesFirst) {
  OpportunityBook small(store_, clock_,
                        OpportunityLimits{.offer_lifetime = absl::Hours(24), .max_kept_per_account = 3});
  for (int i = 0; i < 5; ++i) {
    auto opened = small.Open("acme", Trigger(absl::StrCat("t", i)), kCooldown);
    ASSERT_TRUE(opened.ok());
    if (i < 2) {
      ASSERT_TRUE(small
                      .RecordOutcome(opened->opportunity.opportunity_id(), v1::OPPORTUNITY_STATE_DECLINED,
                                     absl::StrCat("d", i), "")
                      .ok());
    }
  }
  auto all = small.ForAccount("acme");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].opportunity_id(), "acme/3");
  EXPECT_EQ((*all)[2].opportunity_id(), "acme/5");
}

}  // namespace
}  // namespace steward::upsell
