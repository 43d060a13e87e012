#include "services/playbooks/engine/enrollment_keys.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "steward/v1/enrollment.pb.h"

namespace steward::playbooks {
namespace {

TEST(KeysTest, StoreKeysShareTheAccountsHashTag) {
  EXPECT_EQ(EnrollmentsKey("acct-1", "retention-offer"), "{acct-1}:playbook:retention-offer");
  EXPECT_EQ(TouchesKey("acct-1"), "{acct-1}:touches");
  EXPECT_EQ(PlaybookIndexName("win-back"), "playbook-index:win-back");
}

TEST(ParseEnrollmentIdTest, RoundTrip) {
  const std::optional<EnrollmentRef> ref = ParseEnrollmentId("acct.9:x_y-z/retention-offer/12");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->account_id, "acct.9:x_y-z");
  EXPECT_EQ(ref->playbook_id, "retention-offer");
  EXPECT_EQ(ref->number, 12);
}

TEST(ParseEnrollmentIdTest, Rejections) {
  for (const char* bad : {
           "", "acct-1",
           "acct-1/win-back",                 // two parts
           "acct-1/win-back/1/extra",         // four parts
           "acct-1/win-back/",                // no number
           "acct-1/win-back/x",               // not a number
           "acct-1/win-back/1x",              // trailing garbage
           "acct-1/win-back/1.5",             // not an integer
           "acct-1/win-back/0",               // numbers count from 1
           "acct-1/win-back/-3",              // negative
           "acct-1/win-back/99999999999999",  // does not fit an int
           "/win-back/1",                     // no account
           "acct-1//1",                       // no playbook
           "acct-1/win-back/trigger",         // a trigger check, not an enrolment
       }) {
    EXPECT_EQ(ParseEnrollmentId(bad), std::nullopt) << bad;
  }
}

TEST(ParseActionIdTest, RoundTrip) {
  const std::optional<ActionRef> ref = ParseActionId("acct-1/retention-offer/2/day_3_escalation/3");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->enrollment.account_id, "acct-1");
  EXPECT_EQ(ref->enrollment.playbook_id, "retention-offer");
  EXPECT_EQ(ref->enrollment.number, 2);
  EXPECT_EQ(ref->step_id, "day_3_escalation");
  EXPECT_EQ(ref->attempt, 3);
}

TEST(ParseActionIdTest, Rejections) {
  for (const char* bad : {
           "",
           "acct-1/retention-offer/2",                         // an enrolment id
           "acct-1/retention-offer/2/day_0_offer",             // no attempt
           "acct-1/retention-offer/2/day_0_offer/1/2",         // six parts
           "acct-1/retention-offer/2//1",                      // no step
           "acct-1/retention-offer/2/day_0_offer/0",           // attempts count from 1
           "acct-1/retention-offer/2/day_0_offer/-1",          // negative attempt
           "acct-1/retention-offer/2/day_0_offer/one",         // not a number
           "acct-1/retention-offer/x/day_0_offer/1",           // bad enrolment number
           "acct-1/retention-offer/0/day_0_offer/1",           // enrolment number 0
           "/retention-offer/2/day_0_offer/1",                 // no account
           "acct-1//2/day_0_offer/1",                          // no playbook
           "acct-1/retention-offer/2/day_0_offer/1e3",         // not an integer
           "acct-1/retention-offer/2/day_0_offer/4294967297",  // does not fit an int
       }) {
    EXPECT_EQ(ParseActionId(bad), std::nullopt) << bad;
  }
}

TEST(ParseScheduleMemberTest, EnrolmentAndTriggerCheck) {
  const std::optional<ScheduleRef> enrolment = ParseScheduleMember("acct-1/win-back/4");
  ASSERT_TRUE(enrolment.has_value());
  EXPECT_FALSE(enrolment->trigger_check);
  EXPECT_EQ(enrolment->enrollment.account_id, "acct-1");
  EXPECT_EQ(enrolment->enrollment.playbook_id, "win-back");
  EXPECT_EQ(enrolment->enrollment.number, 4);

  EXPECT_EQ(TriggerCheckMember("acct-1", "re-engagement"), "acct-1/re-engagement/trigger");
  const std::optional<ScheduleRef> check = ParseScheduleMember(TriggerCheckMember("acct-1", "re-engagement"));
  ASSERT_TRUE(check.has_value());
  EXPECT_TRUE(check->trigger_check);
  EXPECT_EQ(check->enrollment.account_id, "acct-1");
  EXPECT_EQ(check->enrollment.playbook_id, "re-engagement");
  EXPECT_EQ(check->enrollment.number, 0);
}

TEST(ParseScheduleMemberTest, Rejections) {
  for (const char* bad : {
           "",
           "acct-1/trigger",             // no playbook
           "/win-back/trigger",          // no account
           "acct-1//trigger",            // empty playbook
           "acct-1/win-back/x/trigger",  // four parts
           "acct-1/win-back/0",          // bad number
           "acct-1/win-back",            // two parts
           "acct-1/win-back/2/extra",    // four parts
       }) {
    EXPECT_EQ(ParseScheduleMember(bad), std::nullopt) << bad;
  }
}

v1::Enrollment Enrollment(v1::EnrollmentState state) {
  v1::Enrollment e;
  e.set_enrollment_id("acct-1/retention-offer/1");
  e.set_account_id("acct-1");
  e.set_playbook_id("retention-offer");
  e.set_state(state);
  e.set_next_step_id("day_1_retention_call");
  return e;
}

TEST(StateNameTest, EveryState) {
  EXPECT_EQ(StateName(v1::ENROLLMENT_STATE_ACTIVE), "active");
  EXPECT_EQ(StateName(v1::ENROLLMENT_STATE_PAUSED), "paused");
  EXPECT_EQ(StateName(v1::ENROLLMENT_STATE_COMPLETED), "completed");
  EXPECT_EQ(StateName(v1::ENROLLMENT_STATE_EXITED), "exited");
  EXPECT_EQ(StateName(v1::ENROLLMENT_STATE_CANCELLED), "cancelled");
  EXPECT_EQ(StateName(v1::ENROLLMENT_STATE_UNSPECIFIED), "unknown");
}

TEST(IndexMemberTest, ActiveAtAStep) {
  v1::Enrollment e = Enrollment(v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(IndexMember(e), "active/day_1_retention_call/-/acct-1");
  e.set_variant_id("b");
  EXPECT_EQ(IndexMember(e), "active/day_1_retention_call/b/acct-1");
}

TEST(IndexMemberTest, WaitingIsListedAtTheStepItWaitsAfter) {
  v1::Enrollment e = Enrollment(v1::ENROLLMENT_STATE_ACTIVE);
  e.set_next_step_id("day_3_escalation");
  e.set_waiting_after_step_id("day_1_retention_call");
  EXPECT_EQ(IndexMember(e), "active/day_1_retention_call/-/acct-1");
}

TEST(IndexMemberTest, PausedAtAStep) {
  v1::Enrollment e = Enrollment(v1::ENROLLMENT_STATE_PAUSED);
  EXPECT_EQ(IndexMember(e), "paused/day_1_retention_call/-/acct-1");
}

TEST(IndexMemberTest, EndedByReason) {
  v1::Enrollment exited = Enrollment(v1::ENROLLMENT_STATE_EXITED);
  exited.set_exit_reason("offer_accepted");
  EXPECT_EQ(IndexMember(exited), "exited/offer_accepted/-/acct-1");
  // Completed enrolments have no reason.
  v1::Enrollment completed = Enrollment(v1::ENROLLMENT_STATE_COMPLETED);
  completed.clear_next_step_id();
  EXPECT_EQ(IndexMember(completed), "completed/-/-/acct-1");
  // A cancellation's free-text reason cannot break the member apart.
  v1::Enrollment cancelled = Enrollment(v1::ENROLLMENT_STATE_CANCELLED);
  cancelled.set_exit_reason("customer asked / by phone");
  EXPECT_EQ(IndexMember(cancelled), "cancelled/customer asked _ by phone/-/acct-1");
  const std::optional<IndexEntry> entry = ParseIndexMember(IndexMember(cancelled));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->where, "customer asked _ by phone");
  EXPECT_EQ(entry->account_id, "acct-1");
}

TEST(IndexMemberTest, HoldoutArm) {
  v1::Enrollment e = Enrollment(v1::ENROLLMENT_STATE_ACTIVE);
  e.set_held_out(true);
  EXPECT_EQ(IndexMember(e), "active/day_1_retention_call/~holdout/acct-1");
  // Held out wins over a variant id (held-out enrolments have none, but the arm must still say so).
  e.set_variant_id("b");
  EXPECT_EQ(IndexMember(e), "active/day_1_retention_call/~holdout/acct-1");
}

TEST(ParseIndexMemberTest, RoundTrip) {
  v1::Enrollment e = Enrollment(v1::ENROLLMENT_STATE_ACTIVE);
  e.set_held_out(true);
  const std::optional<IndexEntry> entry = ParseIndexMember(IndexMember(e));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->state, "active");
  EXPECT_EQ(entry->where, "day_1_retention_call");
  EXPECT_EQ(entry->arm, kHoldoutArm);
  EXPECT_EQ(entry->account_id, "acct-1");
}

TEST(ParseIndexMemberTest, Rejections) {
  EXPECT_EQ(ParseIndexMember(""), std::nullopt);
  EXPECT_EQ(ParseIndexMember("active"), std::nullopt);
  EXPECT_EQ(ParseIndexMember("active/step"), std::nullopt);
  EXPECT_EQ(ParseIndexMember("active/step/-"), std::nullopt);
}

}  // namespace
}  // namespace steward::playbooks
