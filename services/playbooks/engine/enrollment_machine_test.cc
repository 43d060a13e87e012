#include "services/playbooks/engine/enrollment_machine.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/playbooks/engine/compiled_playbook.h"
#include "services/playbooks/engine/enrollment_keys.h"
#include "services/playbooks/engine/frequency_caps.h"
#include "steward/v1/enrollment.pb.h"
#include "steward/v1/playbook.pb.h"
#include "tests/support/config_test_support.h"

namespace steward::playbooks {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// Enrolments start on Monday 2024-06-03 at 10:00 UTC.
absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), absl::UTCTimeZone());
}
const absl::Time kT0 = Utc(2024, 6, 3, 10);
absl::Time Day(double days) { return kT0 + absl::Hours(24 * days); }

constexpr char kAccount[] = "acct-1";

std::shared_ptr<const CompiledPlaybook> CompileFile(const std::string& id) {
  auto playbook = LoadPlaybook(absl::StrCat(testing::TestSourceDir(), "/playbooks/", id, ".textproto"));
  EXPECT_TRUE(playbook.ok()) << playbook.status();
  if (!playbook.ok()) return nullptr;
  auto compiled = CompiledPlaybook::Compile(*std::move(playbook));
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *compiled : nullptr;
}

// A hand-built playbook, validated as the loader would before compiling it.
std::shared_ptr<const CompiledPlaybook> CompileText(const std::string& text) {
  v1::Playbook playbook;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &playbook)) << text;
  const absl::Status valid = ValidatePlaybook(playbook, "test");
  EXPECT_TRUE(valid.ok()) << valid;
  if (!valid.ok()) return nullptr;
  auto compiled = CompiledPlaybook::Compile(std::move(playbook));
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *compiled : nullptr;
}

FrequencyCaps NoCaps() { return FrequencyCaps(); }

// At most `max` customer-facing touches per `days` days (all customer-facing channels).
FrequencyCaps CapAll(int max, int days) {
  FrequencyCaps caps;
  v1::FrequencyCap* cap = caps.Add();
  cap->set_max_touches(max);
  cap->set_window_days(days);
  return caps;
}

v1::Enrollment Start(const CompiledPlaybook& playbook, ArmAssignment arm = {}, absl::Time enrolled = kT0) {
  return StartEnrollment(playbook, kAccount, 1, arm, v1::ENROLLMENT_SOURCE_TRIGGER, "0", enrolled);
}

absl::Time T(const google::protobuf::Timestamp& ts) { return FromProtoTime(ts); }

// Drives an enrolment through time as the runner would, calling RunDue at every `tick` from `from` to
// `to` (both included); collects every action delivered with the time it came.
struct Driver {
  Driver(const EnrollmentMachine& m, v1::Enrollment& e, v1::TouchLog& t, const AccountFacts* f = nullptr)
      : machine(m), enrollment(e), touches(t), facts(f) {}

  const EnrollmentMachine& machine;
  v1::Enrollment& enrollment;
  v1::TouchLog& touches;
  const AccountFacts* facts;
  std::vector<v1::PlaybookAction> actions;

  void Run(absl::Time from, absl::Time to, absl::Duration tick = absl::Hours(1)) {
    for (absl::Time now = from; now <= to; now += tick)
      machine.RunDue(enrollment, touches, facts, now, actions);
  }

  // (step id, creation time) of every action so far.
  std::vector<std::pair<std::string, absl::Time>> Delivered() const {
    std::vector<std::pair<std::string, absl::Time>> out;
    for (const auto& a : actions) out.emplace_back(a.step_id(), T(a.created_time()));
    return out;
  }
};

// (step id, result, run time) of every step run.
std::vector<std::pair<std::string, std::pair<v1::StepResult, absl::Time>>> Runs(const v1::Enrollment& e) {
  std::vector<std::pair<std::string, std::pair<v1::StepResult, absl::Time>>> out;
  for (const auto& r : e.steps()) out.push_back({r.step_id(), {r.result(), T(r.run_time())}});
  return out;
}

v1::RecordedOutcome RecordOutcome(v1::Enrollment& e, const std::string& step_id, v1::ActionOutcome outcome,
                                  absl::Time at) {
  v1::RecordedOutcome o;
  o.set_action_id(ActionId(e, step_id, 1));
  o.set_step_id(step_id);
  o.set_outcome(outcome);
  *o.mutable_time() = ToProtoTime(at);
  *e.add_outcomes() = o;
  return o;
}

AccountFacts FactsWithFeature(const std::string& name, double value) {
  AccountFacts facts;
  facts.account.set_account_id(kAccount);
  facts.account.set_status(v1::ACCOUNT_STATUS_ACTIVE);
  facts.scores.set_account_id(kAccount);
  v1::FeatureValue* feature = facts.scores.add_features();
  feature->set_name(name);
  feature->set_value(value);
  return facts;
}

AccountFacts FactsWithHealth(double health) {
  AccountFacts facts;
  facts.account.set_account_id(kAccount);
  facts.scores.set_account_id(kAccount);
  facts.scores.mutable_health()->set_score(health);
  return facts;
}

// --- Starting ---------------------------------------------------------------------------------------

TEST(StartEnrollmentTest, WinBackFirstStepIsThirtyDaysAfterEnrolment) {
  auto playbook = CompileFile("win-back");
  ASSERT_NE(playbook, nullptr);
  const v1::Enrollment e =
      StartEnrollment(*playbook, "acct-9", 3, ArmAssignment{}, v1::ENROLLMENT_SOURCE_MANUAL, "req-7", kT0);
  EXPECT_EQ(e.enrollment_id(), "acct-9/win-back/3");
  EXPECT_EQ(e.account_id(), "acct-9");
  EXPECT_EQ(e.playbook_id(), "win-back");
  EXPECT_EQ(e.playbook_version(), 1);
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(e.source(), v1::ENROLLMENT_SOURCE_MANUAL);
  EXPECT_EQ(e.request_id(), "req-7");
  EXPECT_EQ(e.variant_id(), "");
  EXPECT_FALSE(e.held_out());
  EXPECT_EQ(T(e.enrolled_time()), kT0);
  EXPECT_EQ(T(e.last_step_time()), kT0);
  EXPECT_EQ(e.next_step_index(), 0);
  EXPECT_EQ(e.next_step_id(), "day_30_we_miss_you");
  EXPECT_EQ(T(e.next_due_time()), Day(30));
  EXPECT_TRUE(e.waiting_after_step_id().empty());
  EXPECT_THAT(e.steps(), IsEmpty());
  EXPECT_TRUE(InFlight(e));
}

TEST(StartEnrollmentTest, DayZeroStepIsDueAtOnceAndTheArmIsKept) {
  auto playbook = CompileFile("retention-offer");
  ASSERT_NE(playbook, nullptr);
  const v1::Enrollment e = Start(*playbook, ArmAssignment{"", true});
  EXPECT_EQ(e.next_step_id(), "day_0_offer");
  EXPECT_EQ(T(e.next_due_time()), kT0);
  EXPECT_TRUE(e.held_out());
  const v1::Enrollment v = Start(*playbook, ArmAssignment{"b", false});
  EXPECT_EQ(v.variant_id(), "b");
  EXPECT_FALSE(v.held_out());
}

TEST(EnrollmentBasicsTest, ActionIdAndEnd) {
  auto playbook = CompileFile("onboarding");
  ASSERT_NE(playbook, nullptr);
  v1::Enrollment e = Start(*playbook);
  EXPECT_EQ(ActionId(e, "day_1_welcome", 2), "acct-1/onboarding/1/day_1_welcome/2");
  EndEnrollment(e, v1::ENROLLMENT_STATE_CANCELLED, "asked by csm", false, Day(2));
  EXPECT_FALSE(InFlight(e));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_CANCELLED);
  EXPECT_EQ(e.exit_reason(), "asked by csm");
  EXPECT_EQ(T(e.ended_time()), Day(2));
  EXPECT_FALSE(e.has_next_due_time());
  e.set_state(v1::ENROLLMENT_STATE_PAUSED);
  EXPECT_TRUE(InFlight(e));
}

// --- Running steps at their day offsets ---------------------------------------------------------------

TEST(RunDueTest, OnboardingRunsEveryStepExactlyAtItsDayOffset) {
  auto playbook = CompileFile("onboarding");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(kT0, Day(31));
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("day_1_welcome", Day(1)), Pair("day_1_tutorial", Day(1)),
                          Pair("day_3_first_success", Day(3)), Pair("day_7_check_in", Day(7)),
                          Pair("day_14_results", Day(14)), Pair("day_30_evaluation", Day(30))));
  ASSERT_EQ(driver.actions.size(), 6u);
  const std::vector<v1::Channel> channels = {v1::CHANNEL_EMAIL, v1::CHANNEL_IN_APP, v1::CHANNEL_EMAIL,
                                             v1::CHANNEL_CALL,  v1::CHANNEL_EMAIL,  v1::CHANNEL_TASK};
  for (size_t i = 0; i < driver.actions.size(); ++i) {
    const v1::PlaybookAction& a = driver.actions[i];
    EXPECT_EQ(a.action_id(), absl::StrCat("acct-1/onboarding/1/", a.step_id(), "/1"));
    EXPECT_EQ(a.channel(), channels[i]) << a.step_id();
    EXPECT_EQ(a.account_id(), kAccount);
    EXPECT_EQ(a.enrollment_id(), "acct-1/onboarding/1");
    EXPECT_EQ(a.playbook_id(), "onboarding");
    EXPECT_EQ(a.playbook_version(), 1);
    EXPECT_EQ(T(a.due_time()), T(a.created_time())) << a.step_id();
    // The step run records the same action.
    ASSERT_GT(e.steps_size(), static_cast<int>(i));
    EXPECT_EQ(e.steps(static_cast<int>(i)).action_id(), a.action_id());
    EXPECT_EQ(e.steps(static_cast<int>(i)).result(), v1::STEP_RESULT_DELIVERED);
    EXPECT_EQ(e.steps(static_cast<int>(i)).attempt(), 1);
    EXPECT_EQ(e.steps(static_cast<int>(i)).deferrals(), 0);
  }
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_COMPLETED);
  EXPECT_EQ(T(e.ended_time()), Day(30));
  EXPECT_EQ(e.next_step_index(), 6);
  EXPECT_EQ(e.next_step_id(), "");
  EXPECT_EQ(e.exit_reason(), "");
  EXPECT_FALSE(e.goal_reached());
  // Without caps no touch needs to be kept.
  EXPECT_EQ(touches.touches_size(), 0);
}

TEST(RunDueTest, ActionsCarryTheStepsPayloadAndTaskTimes) {
  auto playbook = CompileFile("onboarding");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  std::vector<v1::PlaybookAction> actions;
  machine.RunDue(e, touches, nullptr, Day(1), actions);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].email().template_key(), "onboarding.welcome");
  EXPECT_EQ(actions[0].email().subject_key(), "onboarding.welcome.subject");
  EXPECT_EQ(actions[1].in_app().message_key(), "onboarding.interactive_tutorial");
  EXPECT_FALSE(actions[0].has_task_due_time());
  actions.clear();
  // The call of day 7, run on time: due 24 hours after it is created.
  machine.RunDue(e, touches, nullptr, Day(7), actions);
  ASSERT_EQ(actions.size(), 2u);  // day 3 was past due too
  const v1::PlaybookAction& call = actions[1];
  EXPECT_EQ(call.step_id(), "day_7_check_in");
  EXPECT_EQ(call.channel(), v1::CHANNEL_CALL);
  EXPECT_EQ(call.assignee_role(), "csm");
  EXPECT_EQ(call.call().script_key(), "onboarding.check_in");
  EXPECT_EQ(T(call.task_due_time()), Day(7) + absl::Hours(24));
  EXPECT_EQ(T(call.sla_time()), Day(7) + absl::Hours(24));
  // The day-3 email ran late (at day 7): due on day 3, created on day 7.
  EXPECT_EQ(actions[0].step_id(), "day_3_first_success");
  EXPECT_EQ(T(actions[0].due_time()), Day(3));
  EXPECT_EQ(T(actions[0].created_time()), Day(7));
  actions.clear();
  machine.RunDue(e, touches, nullptr, Day(14), actions);
  actions.clear();
  // The task of day 30, run five hours late: its due and SLA times count from its creation.
  const absl::Time late = Day(30) + absl::Hours(5);
  machine.RunDue(e, touches, nullptr, late, actions);
  ASSERT_EQ(actions.size(), 1u);
  const v1::PlaybookAction& task = actions[0];
  EXPECT_EQ(task.step_id(), "day_30_evaluation");
  EXPECT_EQ(task.channel(), v1::CHANNEL_TASK);
  EXPECT_EQ(task.assignee_role(), "csm");
  EXPECT_EQ(task.task().title(), "Onboarding evaluation and growth plan");
  EXPECT_EQ(T(task.due_time()), Day(30));
  EXPECT_EQ(T(task.created_time()), late);
  EXPECT_EQ(T(task.task_due_time()), late + absl::Hours(48));
  EXPECT_EQ(T(task.sla_time()), late + absl::Hours(72));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

TEST(RunDueTest, NothingBeforeTheDueTime) {
  auto playbook = CompileFile("win-back");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  std::vector<v1::PlaybookAction> actions;
  machine.RunDue(e, touches, nullptr, Day(30) - absl::Seconds(1), actions);
  EXPECT_THAT(actions, IsEmpty());
  EXPECT_THAT(e.steps(), IsEmpty());
  machine.RunDue(e, touches, nullptr, Day(30), actions);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].action_id(), "acct-1/win-back/1/day_30_we_miss_you/1");
  EXPECT_EQ(actions[0].channel(), v1::CHANNEL_EMAIL);
  EXPECT_EQ(e.next_step_id(), "day_37_offer");
  EXPECT_EQ(T(e.next_due_time()), Day(37));
}

TEST(RunDueTest, PausedEnrolmentDoesNotRun) {
  auto playbook = CompileFile("retention-offer");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  e.set_state(v1::ENROLLMENT_STATE_PAUSED);
  v1::TouchLog touches;
  std::vector<v1::PlaybookAction> actions;
  machine.RunDue(e, touches, nullptr, Day(5), actions);
  EXPECT_THAT(actions, IsEmpty());
  EXPECT_THAT(e.steps(), IsEmpty());
}

// --- Retention offer: waits and outcomes -------------------------------------------------------------

class RetentionOfferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    playbook_ = CompileFile("retention-offer");
    ASSERT_NE(playbook_, nullptr);
    machine_ = std::make_unique<EnrollmentMachine>(*playbook_, caps_);
    e_ = Start(*playbook_);
  }
  Driver MakeDriver() { return Driver{*machine_, e_, touches_}; }

  std::shared_ptr<const CompiledPlaybook> playbook_;
  const FrequencyCaps caps_ = NoCaps();
  std::unique_ptr<EnrollmentMachine> machine_;
  v1::Enrollment e_;
  v1::TouchLog touches_;
};

TEST_F(RetentionOfferTest, NoResponseEscalatesOnDayThree) {
  Driver driver = MakeDriver();
  driver.Run(kT0, Day(2));
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("day_0_offer", Day(0)), Pair("day_1_retention_call", Day(1))));
  // Waiting after the call until day 3.
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(e_.waiting_after_step_id(), "day_1_retention_call");
  EXPECT_EQ(T(e_.next_due_time()), Day(3));
  driver.Run(Day(2) + absl::Hours(1), Day(5));
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("day_0_offer", Day(0)), Pair("day_1_retention_call", Day(1)),
                          Pair("day_3_escalation", Day(3)), Pair("day_3_improved_offer", Day(3))));
  ASSERT_EQ(driver.actions.size(), 4u);
  EXPECT_EQ(driver.actions[0].channel(), v1::CHANNEL_OFFER);
  EXPECT_EQ(driver.actions[0].offer().offer_id(), "retention-30off-3m");
  EXPECT_EQ(driver.actions[1].channel(), v1::CHANNEL_CALL);
  EXPECT_EQ(driver.actions[1].assignee_role(), "account_manager");
  EXPECT_EQ(T(driver.actions[1].task_due_time()), Day(1) + absl::Hours(24));
  const v1::PlaybookAction& escalation = driver.actions[2];
  EXPECT_EQ(escalation.action_id(), "acct-1/retention-offer/1/day_3_escalation/1");
  EXPECT_EQ(escalation.channel(), v1::CHANNEL_TASK);
  EXPECT_EQ(escalation.assignee_role(), "cs_director");
  EXPECT_EQ(T(escalation.task_due_time()), Day(3) + absl::Hours(24));
  EXPECT_EQ(T(escalation.sla_time()), Day(3) + absl::Hours(48));
  EXPECT_EQ(driver.actions[3].channel(), v1::CHANNEL_OFFER);
  EXPECT_EQ(driver.actions[3].offer().offer_id(), "retention-40off-3m");
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_COMPLETED);
  EXPECT_EQ(T(e_.ended_time()), Day(3));
}

TEST_F(RetentionOfferTest, ReplyToTheCallBeforeDayThreeCompletesWithoutEscalation) {
  Driver driver = MakeDriver();
  driver.Run(kT0, Day(2));
  ASSERT_EQ(e_.waiting_after_step_id(), "day_1_retention_call");
  const v1::RecordedOutcome reply =
      RecordOutcome(e_, "day_1_retention_call", v1::ACTION_OUTCOME_REPLIED, Day(2) + absl::Hours(3));
  EXPECT_EQ(reply.action_id(), driver.actions[1].action_id());
  EXPECT_TRUE(machine_->OnOutcome(e_, reply, Day(2) + absl::Hours(3)));
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_COMPLETED);
  EXPECT_EQ(T(e_.ended_time()), Day(2) + absl::Hours(3));
  EXPECT_EQ(e_.exit_reason(), "");
  EXPECT_FALSE(e_.goal_reached());
  EXPECT_TRUE(e_.waiting_after_step_id().empty());
  driver.Run(Day(2) + absl::Hours(4), Day(6));
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("day_0_offer", Day(0)), Pair("day_1_retention_call", Day(1))));
  EXPECT_EQ(e_.steps_size(), 2);
}

TEST_F(RetentionOfferTest, ReplyToDayZerosOfferBeforeDayOneSatisfiesTheWaitAtOnce) {
  Driver driver = MakeDriver();
  driver.Run(kT0, kT0);
  ASSERT_EQ(driver.actions.size(), 1u);
  const v1::RecordedOutcome reply = RecordOutcome(e_, "day_0_offer", v1::ACTION_OUTCOME_REPLIED, Day(0.5));
  // Nothing waits yet: the outcome is only recorded.
  EXPECT_FALSE(machine_->OnOutcome(e_, reply, Day(0.5)));
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(e_.next_step_id(), "day_1_retention_call");
  driver.Run(kT0 + absl::Hours(1), Day(6));
  // The call still runs on day 1 (the wait comes after it), then the enrolment is completed at once.
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("day_0_offer", Day(0)), Pair("day_1_retention_call", Day(1))));
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_COMPLETED);
  EXPECT_EQ(T(e_.ended_time()), Day(1));
}

TEST_F(RetentionOfferTest, OutcomesTheWaitDoesNotListChangeNothing) {
  Driver driver = MakeDriver();
  driver.Run(kT0, Day(2));
  ASSERT_EQ(e_.waiting_after_step_id(), "day_1_retention_call");
  const v1::RecordedOutcome opened = RecordOutcome(e_, "day_0_offer", v1::ACTION_OUTCOME_OPENED, Day(2));
  EXPECT_FALSE(machine_->OnOutcome(e_, opened, Day(2)));
  const v1::RecordedOutcome done =
      RecordOutcome(e_, "day_1_retention_call", v1::ACTION_OUTCOME_COMPLETED, Day(2) + absl::Hours(1));
  EXPECT_FALSE(machine_->OnOutcome(e_, done, Day(2) + absl::Hours(1)));
  EXPECT_EQ(e_.waiting_after_step_id(), "day_1_retention_call");
  driver.Run(Day(2) + absl::Hours(1), Day(4));
  EXPECT_EQ(driver.actions.size(), 4u);  // escalated as if nothing had happened
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

TEST_F(RetentionOfferTest, AcceptedOfferExitsWithTheGoalReached) {
  Driver driver = MakeDriver();
  driver.Run(kT0, Day(0.5));
  const v1::RecordedOutcome accepted =
      RecordOutcome(e_, "day_0_offer", v1::ACTION_OUTCOME_ACCEPTED, Day(0.5));
  EXPECT_TRUE(machine_->OnOutcome(e_, accepted, Day(0.5)));
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(e_.exit_reason(), "offer_accepted");
  EXPECT_TRUE(e_.goal_reached());
  EXPECT_EQ(T(e_.ended_time()), Day(0.5));
  EXPECT_FALSE(e_.has_next_due_time());
  EXPECT_FALSE(InFlight(e_));
  driver.Run(Day(0.5) + absl::Hours(1), Day(5));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("day_0_offer", Day(0))));
  // An ended enrolment does not move again.
  EXPECT_FALSE(machine_->OnOutcome(e_, accepted, Day(1)));
  EXPECT_EQ(e_.exit_reason(), "offer_accepted");
}

TEST_F(RetentionOfferTest, AcceptedDuringTheWaitIsAnExitNotACompletion) {
  // ACCEPTED also ends the wait, but the exit criterion comes first: EXITED with the goal reached.
  Driver driver = MakeDriver();
  driver.Run(kT0, Day(2));
  ASSERT_EQ(e_.waiting_after_step_id(), "day_1_retention_call");
  const v1::RecordedOutcome accepted =
      RecordOutcome(e_, "day_1_retention_call", v1::ACTION_OUTCOME_ACCEPTED, Day(2));
  EXPECT_TRUE(machine_->OnOutcome(e_, accepted, Day(2)));
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(e_.exit_reason(), "offer_accepted");
  EXPECT_TRUE(e_.goal_reached());
}

TEST_F(RetentionOfferTest, HeldOutRunsSilentlyThroughTheTimeout) {
  e_ = Start(*playbook_, ArmAssignment{"", true});
  Driver driver = MakeDriver();
  driver.Run(kT0, Day(5));
  EXPECT_THAT(driver.actions, IsEmpty());
  EXPECT_THAT(Runs(e_), ElementsAre(Pair("day_0_offer", Pair(v1::STEP_RESULT_HELD_OUT, Day(0))),
                                    Pair("day_1_retention_call", Pair(v1::STEP_RESULT_HELD_OUT, Day(1))),
                                    Pair("day_3_escalation", Pair(v1::STEP_RESULT_HELD_OUT, Day(3))),
                                    Pair("day_3_improved_offer", Pair(v1::STEP_RESULT_HELD_OUT, Day(3)))));
  for (const v1::StepRun& run : e_.steps()) EXPECT_EQ(run.action_id(), "") << run.step_id();
  EXPECT_EQ(e_.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

// --- Events -----------------------------------------------------------------------------------------------

TEST(OnEventTest, WinBackReactivationExitsAsReturned) {
  auto playbook = CompileFile("win-back");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  // An unrelated event changes nothing; a reactivation before the enrolment neither.
  EXPECT_FALSE(machine.OnEvent(e, v1::EVENT_TYPE_LOGIN, Day(10), Day(10)));
  EXPECT_FALSE(machine.OnEvent(e, v1::EVENT_TYPE_REACTIVATED, kT0 - absl::Hours(1), Day(10)));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_ACTIVE);
  // The customer returns on day 10, before any contact.
  EXPECT_TRUE(machine.OnEvent(e, v1::EVENT_TYPE_REACTIVATED, Day(10), Day(10) + absl::Minutes(1)));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(e.exit_reason(), "returned");
  EXPECT_TRUE(e.goal_reached());
  EXPECT_EQ(T(e.ended_time()), Day(10) + absl::Minutes(1));
  driver.Run(Day(10), Day(61), absl::Hours(6));
  EXPECT_THAT(driver.actions, IsEmpty());
  EXPECT_FALSE(machine.OnEvent(e, v1::EVENT_TYPE_REACTIVATED, Day(62), Day(62)));
}

TEST(OnEventTest, ExitEventsEndPausedEnrolmentsToo) {
  auto playbook = CompileFile("retention-offer");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  e.set_state(v1::ENROLLMENT_STATE_PAUSED);
  EXPECT_TRUE(machine.OnEvent(e, v1::EVENT_TYPE_CHURNED, Day(1), Day(1)));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(e.exit_reason(), "churned");
  EXPECT_FALSE(e.goal_reached());
}

// A nudge repeated every three days until the customer logs in, then a thank-you.
constexpr char kNudger[] = R"txt(
id: "nudger"
version: 1
display_name: "Test"
reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
steps {
  id: "nudge"
  delay { days: 1 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }
  email { template_key: "t.nudge" subject_key: "t.nudge.subject" }
  wait_for_event {
    event_types: EVENT_TYPE_LOGIN
    within_days: 2
    on_timeout_go_to: "nudge"
    on_event_go_to: "thanks"
  }
}
steps {
  id: "thanks"
  delay { hours: 1 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }
  in_app { message_key: "t.thanks" }
}
)txt";

TEST(OnEventTest, WaitBranchesOnTheEventAndRepeatsOnTimeout) {
  auto playbook = CompileText(kNudger);
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(kT0, Day(4.5));
  // Day 1 the first nudge; the wait times out on day 3, the nudge is due a day later, again.
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("nudge", Day(1)), Pair("nudge", Day(4))));
  ASSERT_EQ(driver.actions.size(), 2u);
  EXPECT_EQ(driver.actions[0].action_id(), "acct-1/nudger/1/nudge/1");
  EXPECT_EQ(driver.actions[1].action_id(), "acct-1/nudger/1/nudge/2");
  ASSERT_EQ(e.steps_size(), 2);
  EXPECT_EQ(e.steps(1).attempt(), 2);
  EXPECT_EQ(e.waiting_after_step_id(), "nudge");
  EXPECT_EQ(T(e.next_due_time()), Day(6));
  // A login before the second nudge does not end its wait.
  EXPECT_FALSE(machine.OnEvent(e, v1::EVENT_TYPE_LOGIN, Day(3.5), Day(4.5)));
  EXPECT_EQ(e.waiting_after_step_id(), "nudge");
  // An event of another type neither.
  EXPECT_FALSE(machine.OnEvent(e, v1::EVENT_TYPE_REACTIVATED, Day(5), Day(5)));
  // A login after it does: the event branch, "thanks" an hour later.
  EXPECT_TRUE(machine.OnEvent(e, v1::EVENT_TYPE_LOGIN, Day(5), Day(5)));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(e.waiting_after_step_id(), "");
  EXPECT_EQ(e.next_step_id(), "thanks");
  EXPECT_EQ(T(e.next_due_time()), Day(5) + absl::Hours(1));
  driver.Run(Day(5), Day(8));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("nudge", Day(1)), Pair("nudge", Day(4)),
                                              Pair("thanks", Day(5) + absl::Hours(1))));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

// --- Rule exits -------------------------------------------------------------------------------------------

TEST(ExitOnFactsTest, ReEngagementExitsWhenLoginsRecover) {
  auto playbook = CompileFile("re-engagement");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  const AccountFacts low = FactsWithFeature("login_frequency_ratio", 0.49);
  EXPECT_THAT(machine.ExitsHolding(low, Day(1)), IsEmpty());
  EXPECT_FALSE(machine.ExitOnFacts(e, low, Day(1)));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_ACTIVE);
  // Without the feature the rule cannot hold either.
  EXPECT_FALSE(machine.ExitOnFacts(e, AccountFacts{}, Day(1)));
  const AccountFacts recovered = FactsWithFeature("login_frequency_ratio", 0.5);
  EXPECT_THAT(machine.ExitsHolding(recovered, Day(2)), ElementsAre("re_engaged"));
  EXPECT_TRUE(machine.ExitOnFacts(e, recovered, Day(2)));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(e.exit_reason(), "re_engaged");
  EXPECT_TRUE(e.goal_reached());
  EXPECT_EQ(T(e.ended_time()), Day(2));
  EXPECT_FALSE(machine.ExitOnFacts(e, recovered, Day(3)));  // already ended
}

TEST(ExitOnFactsTest, RunDueChecksRuleExitsBeforeEachStep) {
  auto playbook = CompileFile("re-engagement");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  AccountFacts facts = FactsWithFeature("login_frequency_ratio", 0.2);
  Driver driver{machine, e, touches, &facts};
  driver.Run(kT0, Day(15));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("day_14_we_miss_you", Day(14))));
  facts = FactsWithFeature("login_frequency_ratio", 0.8);
  driver.Run(Day(15), Day(20));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("day_14_we_miss_you", Day(14))));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(e.exit_reason(), "re_engaged");
  EXPECT_EQ(T(e.ended_time()), Day(16));  // checked when the next step came due
}

TEST(ExitOnFactsTest, WithoutFactsRunDueDoesNotCheckRuleExits) {
  auto playbook = CompileFile("re-engagement");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(kT0, Day(19));
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("day_14_we_miss_you", Day(14)), Pair("day_16_premium_trial", Day(16)),
                          Pair("day_18_outreach", Day(18))));
  ASSERT_EQ(driver.actions.size(), 3u);
  EXPECT_EQ(driver.actions[1].channel(), v1::CHANNEL_IN_APP);
  EXPECT_EQ(driver.actions[1].in_app().offer().free_feature_days(), 7);
  EXPECT_EQ(driver.actions[2].channel(), v1::CHANNEL_CALL);
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

// --- Conditions, holdout, caps ----------------------------------------------------------------------------

constexpr char kConditional[] = R"txt(
id: "conditional"
version: 1
display_name: "Test"
reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
steps {
  id: "if_unhealthy"
  delay { days: 1 }
  email { template_key: "t.help" subject_key: "t.help.subject" }
  condition { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
}
steps {
  id: "follow_up"
  delay { days: 2 }
  task { assignee_role: "csm" title: "Follow up" due_in_hours: 24 sla_hours: 48 }
}
)txt";

TEST(ConditionTest, StepWhoseConditionDoesNotHoldIsSkipped) {
  auto playbook = CompileText(kConditional);
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = CapAll(5, 7);
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  const AccountFacts healthy = FactsWithHealth(80);
  Driver driver{machine, e, touches, &healthy};
  driver.Run(kT0, Day(1));
  EXPECT_THAT(driver.actions, IsEmpty());
  ASSERT_EQ(e.steps_size(), 1);
  EXPECT_EQ(e.steps(0).step_id(), "if_unhealthy");
  EXPECT_EQ(e.steps(0).result(), v1::STEP_RESULT_SKIPPED);
  EXPECT_EQ(e.steps(0).action_id(), "");
  EXPECT_EQ(T(e.steps(0).run_time()), Day(1));
  EXPECT_EQ(touches.touches_size(), 0);
  // Moved on as if it had run.
  EXPECT_EQ(e.next_step_id(), "follow_up");
  EXPECT_EQ(T(e.next_due_time()), Day(2));
  driver.Run(Day(1) + absl::Hours(1), Day(3));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("follow_up", Day(2))));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

TEST(ConditionTest, StepWhoseConditionHoldsIsDelivered) {
  auto playbook = CompileText(kConditional);
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  const AccountFacts unhealthy = FactsWithHealth(30);
  Driver driver{machine, e, touches, &unhealthy};
  driver.Run(kT0, Day(3));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("if_unhealthy", Day(1)), Pair("follow_up", Day(2))));
  EXPECT_EQ(e.steps(0).result(), v1::STEP_RESULT_DELIVERED);
}

TEST(ConditionTest, WithoutFactsAConditionDoesNotHold) {
  auto playbook = CompileText(kConditional);
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = NoCaps();
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(kT0, Day(3));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("follow_up", Day(2))));
  EXPECT_EQ(e.steps(0).result(), v1::STEP_RESULT_SKIPPED);
}

TEST(HoldoutTest, HeldOutStepsRunSilentlyOnTimeAndAreNeverCapped) {
  auto playbook = CompileFile("onboarding");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = CapAll(1, 7);
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook, ArmAssignment{"", true});
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(kT0, Day(31));
  EXPECT_THAT(driver.actions, IsEmpty());
  EXPECT_THAT(Runs(e), ElementsAre(Pair("day_1_welcome", Pair(v1::STEP_RESULT_HELD_OUT, Day(1))),
                                   Pair("day_1_tutorial", Pair(v1::STEP_RESULT_HELD_OUT, Day(1))),
                                   Pair("day_3_first_success", Pair(v1::STEP_RESULT_HELD_OUT, Day(3))),
                                   Pair("day_7_check_in", Pair(v1::STEP_RESULT_HELD_OUT, Day(7))),
                                   Pair("day_14_results", Pair(v1::STEP_RESULT_HELD_OUT, Day(14))),
                                   Pair("day_30_evaluation", Pair(v1::STEP_RESULT_HELD_OUT, Day(30)))));
  for (const v1::StepRun& run : e.steps()) {
    EXPECT_EQ(run.action_id(), "") << run.step_id();
    EXPECT_EQ(run.deferrals(), 0) << run.step_id();
  }
  EXPECT_EQ(touches.touches_size(), 0);
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

constexpr char kCapped[] = R"txt(
id: "capped"
version: 1
display_name: "Test"
reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
steps {
  id: "first_email"
  delay { days: 1 }
  email { template_key: "t.first" subject_key: "t.first.subject" }
}
steps {
  id: "internal_task"
  delay { days: 2 }
  task { assignee_role: "csm" title: "Look at the account" due_in_hours: 8 sla_hours: 16 }
}
steps {
  id: "second_message"
  delay { days: 2 }
  in_app { message_key: "t.second" }
}
steps {
  id: "later_email"
  delay { days: 20 }
  email { template_key: "t.later" subject_key: "t.later.subject" }
}
)txt";

TEST(FrequencyCapTest, SecondCustomerFacingStepIsDeferredAndRunsLater) {
  auto playbook = CompileText(kCapped);
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = CapAll(1, 7);
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(kT0, Day(5));
  // The task runs on day 2 though the cap is full; the in-app message is put off until the day-1
  // email leaves the 7-day window.
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("first_email", Day(1)), Pair("internal_task", Day(2))));
  EXPECT_EQ(e.next_step_id(), "second_message");
  EXPECT_EQ(T(e.next_due_time()), Day(8));
  EXPECT_EQ(e.pending_deferrals(), 1);
  // Another playbook touches the account by email on day 5: the message is put off again, to day 12.
  RecordTouch(caps, touches, v1::CHANNEL_EMAIL, Day(5));
  driver.Run(Day(5) + absl::Hours(1), Day(21));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("first_email", Day(1)), Pair("internal_task", Day(2)),
                                              Pair("second_message", Day(12)), Pair("later_email", Day(20))));
  ASSERT_EQ(e.steps_size(), 4);
  EXPECT_EQ(e.steps(0).deferrals(), 0);
  EXPECT_EQ(e.steps(1).deferrals(), 0);
  EXPECT_EQ(e.steps(1).result(), v1::STEP_RESULT_DELIVERED);
  EXPECT_EQ(e.steps(2).step_id(), "second_message");
  EXPECT_EQ(e.steps(2).deferrals(), 2);
  EXPECT_EQ(e.steps(2).result(), v1::STEP_RESULT_DELIVERED);
  EXPECT_EQ(e.steps(2).action_id(), "acct-1/capped/1/second_message/1");
  EXPECT_EQ(T(e.steps(2).run_time()), Day(12));
  EXPECT_EQ(e.steps(3).deferrals(), 0);
  EXPECT_EQ(e.pending_deferrals(), 0);
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_COMPLETED);
}

TEST(FrequencyCapTest, OnboardingUnderAWeeklyCapSpreadsItsTouches) {
  auto playbook = CompileFile("onboarding");
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = CapAll(1, 7);
  const EnrollmentMachine machine(*playbook, caps);
  v1::Enrollment e = Start(*playbook);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(kT0, Day(31));
  // Each customer-facing step waits for the previous touch to leave the window; the task does not wait.
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("day_1_welcome", Day(1)), Pair("day_1_tutorial", Day(8)),
                          Pair("day_3_first_success", Day(15)), Pair("day_7_check_in", Day(22)),
                          Pair("day_14_results", Day(29)), Pair("day_30_evaluation", Day(30))));
  ASSERT_EQ(e.steps_size(), 6);
  EXPECT_EQ(e.steps(0).deferrals(), 0);
  for (int i = 1; i < 5; ++i) EXPECT_EQ(e.steps(i).deferrals(), 1) << e.steps(i).step_id();
  EXPECT_EQ(e.steps(5).deferrals(), 0);
  // The log keeps only the touches a cap can still count.
  ASSERT_EQ(touches.touches_size(), 1);
  EXPECT_EQ(touches.touches(0).time_ms(), absl::ToUnixMillis(Day(29)));
}

// A step restricted to business hours, after an email that fills a weekly cap.
constexpr char kWindowed[] = R"txt(
id: "windowed"
version: 1
display_name: "Test"
reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
steps {
  id: "hello"
  delay { days: 0 }
  email { template_key: "t.hello" subject_key: "t.hello.subject" }
}
steps {
  id: "business_hours_offer"
  delay {
    days: 1
    window { start_hour: 9 end_hour: 17 }
    weekdays: [WEEKDAY_MONDAY, WEEKDAY_TUESDAY, WEEKDAY_WEDNESDAY, WEEKDAY_THURSDAY, WEEKDAY_FRIDAY]
  }
  offer { offer_id: "o-1" discount_percent: 10 duration_months: 1 content_key: "t.offer" }
}
)txt";

TEST(FrequencyCapTest, DeferredStepStillRunsInsideItsWindow) {
  // Enrolled Monday 2024-06-03 at 20:00 UTC: "hello" goes out at once; the offer is due Tuesday 20:00,
  // aligned to Wednesday 09:00, then deferred by the cap until the email leaves the window (Monday
  // 2024-06-10 20:00). A step's window is where it "must run" (playbook.proto, Delay.window), so it
  // must go out at the window's next start, Tuesday 2024-06-11 09:00, not at 20:00 on Monday.
  auto playbook = CompileText(kWindowed);
  ASSERT_NE(playbook, nullptr);
  const FrequencyCaps caps = CapAll(1, 7);
  const EnrollmentMachine machine(*playbook, caps);
  const absl::Time enrolled = Utc(2024, 6, 3, 20);
  v1::Enrollment e = Start(*playbook, ArmAssignment{}, enrolled);
  v1::TouchLog touches;
  Driver driver{machine, e, touches};
  driver.Run(enrolled, Utc(2024, 6, 5, 9));
  EXPECT_THAT(driver.Delivered(), ElementsAre(Pair("hello", enrolled)));
  EXPECT_EQ(e.pending_deferrals(), 1);
  driver.Run(Utc(2024, 6, 5, 10), Utc(2024, 6, 12, 0));
  EXPECT_THAT(driver.Delivered(),
              ElementsAre(Pair("hello", enrolled), Pair("business_hours_offer", Utc(2024, 6, 11, 9))));
}

}  // namespace
}  // namespace steward::playbooks
