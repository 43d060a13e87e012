#include "services/playbooks/definition/playbook_loader.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/playbook.pb.h"
#include "tests/support/config_test_support.h"

namespace steward::playbooks {
namespace {

using ::steward::testing::Position;
using ::steward::testing::Replace;

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string SourceDir() { return testing::TestSourceDir(); }

fs::path TestDir() { return testing::FreshTestDir("playbook_loader_test"); }

// A file of its own per test, so tests do not see each other's files.
std::string WriteFile(const std::string& text, const std::string& name = "test-playbook") {
  const fs::path path = TestDir() / absl::StrCat(name, ".textproto");
  std::ofstream(path) << text;
  return path.string();
}

constexpr char kPlaybook[] = R"txt(id: "test-playbook"
version: 1
display_name: "Test"
triggers {
  condition { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
  sustained_days: 3
}
exits {
  name: "returned"
  event_type: EVENT_TYPE_REACTIVATED
}
exits {
  name: "healthy"
  rule { range { field: "score.health" min: 70 } }
  goal: true
}
reenrollment { mode: REENROLLMENT_MODE_NEVER }
steps {
  id: "first"
  delay {
    days: 1
    window { start_hour: 9 end_hour: 17 time_zone: "Europe/Madrid" }
    weekdays: [WEEKDAY_MONDAY, WEEKDAY_TUESDAY]
  }
  offer { offer_id: "o-1" discount_percent: 30 duration_months: 3 content_key: "test.offer" }
}
steps {
  id: "second"
  delay { days: 2 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }
  call { assignee_role: "account_manager" purpose: "call" due_in_hours: 24 }
  wait_for_event {
    outcomes: ACTION_OUTCOME_REPLIED
    within_days: 2
    on_timeout_go_to: "third"
  }
}
steps {
  id: "third"
  delay { days: 5 }
  task { assignee_role: "cs_director" title: "escalate" due_in_hours: 24 sla_hours: 48 }
  condition { compare { field: "account.status" op: OPERATOR_EQ text: "active" } }
}
variants { id: "a" weight: 1 }
variants { id: "b" weight: 3 }
holdout_percent: 10
)txt";

const v1::Playbook* Find(const std::vector<v1::Playbook>& playbooks, const std::string& id) {
  for (const v1::Playbook& playbook : playbooks) {
    if (playbook.id() == id) return &playbook;
  }
  ADD_FAILURE() << "no playbook " << id;
  return nullptr;
}

std::vector<int64_t> Days(const v1::Playbook& playbook) {
  std::vector<int64_t> days;
  for (int64_t hours : NominalOffsetsHours(playbook.steps())) days.push_back(hours / 24);
  return days;
}

std::vector<v1::Channel> Channels(const v1::Playbook& playbook) {
  std::vector<v1::Channel> channels;
  for (const v1::Step& step : playbook.steps()) channels.push_back(StepChannel(step));
  return channels;
}

TEST(ShippedPlaybooksTest, DirectoryLoads) {
  absl::StatusOr<std::vector<v1::Playbook>> playbooks =
      LoadPlaybookDirectory((fs::path(SourceDir()) / "playbooks").string());
  ASSERT_TRUE(playbooks.ok()) << playbooks.status();
  std::vector<std::string> ids;
  for (const v1::Playbook& playbook : *playbooks) ids.push_back(playbook.id());
  EXPECT_THAT(ids,
              ElementsAre("health-at-risk", "health-critical", "health-excellent", "health-good",
                          "nps-detractor", "nps-passive", "nps-promoter", "onboarding", "re-engagement",
                          "referral-ask", "retention-offer", "success-coaching", "upsell-offer", "win-back"));
}

TEST(ShippedPlaybooksTest, SpecDayOffsetsAndChannels) {
  absl::StatusOr<std::vector<v1::Playbook>> playbooks =
      LoadPlaybookDirectory((fs::path(SourceDir()) / "playbooks").string());
  ASSERT_TRUE(playbooks.ok()) << playbooks.status();

  const v1::Playbook* onboarding = Find(*playbooks, "onboarding");
  ASSERT_NE(onboarding, nullptr);
  EXPECT_THAT(Days(*onboarding), ElementsAre(1, 1, 3, 7, 14, 30));

  const v1::Playbook* reengagement = Find(*playbooks, "re-engagement");
  ASSERT_NE(reengagement, nullptr);
  EXPECT_THAT(Days(*reengagement), ElementsAre(14, 16, 18));
  EXPECT_THAT(Channels(*reengagement), ElementsAre(v1::CHANNEL_EMAIL, v1::CHANNEL_IN_APP, v1::CHANNEL_CALL));
  EXPECT_EQ(reengagement->steps(1).in_app().offer().free_feature_days(), 7);
  ASSERT_EQ(reengagement->triggers_size(), 1);
  EXPECT_EQ(reengagement->triggers(0).sustained_days(), 14);
  EXPECT_EQ(reengagement->triggers(0).condition().compare().field(), "feature.login_frequency_ratio");
  EXPECT_TRUE(reengagement->exits(0).has_rule());  // exit when engagement recovers

  const v1::Playbook* coaching = Find(*playbooks, "success-coaching");
  ASSERT_NE(coaching, nullptr);
  EXPECT_THAT(Days(*coaching), ElementsAre(30, 32, 37));

  const v1::Playbook* retention = Find(*playbooks, "retention-offer");
  ASSERT_NE(retention, nullptr);
  EXPECT_THAT(Days(*retention), ElementsAre(0, 1, 3, 3));
  EXPECT_THAT(Channels(*retention),
              ElementsAre(v1::CHANNEL_OFFER, v1::CHANNEL_CALL, v1::CHANNEL_TASK, v1::CHANNEL_OFFER));
  EXPECT_EQ(retention->steps(0).offer().discount_percent(), 30);
  EXPECT_EQ(retention->steps(0).offer().duration_months(), 3);
  EXPECT_EQ(retention->steps(1).call().assignee_role(), "account_manager");
  // Day-3 escalation only without a response: the call waits 2 days (to day 3) and times out into it.
  ASSERT_TRUE(retention->steps(1).has_wait_for_event());
  EXPECT_EQ(retention->steps(1).wait_for_event().within_days(), 2);
  EXPECT_EQ(retention->steps(1).wait_for_event().on_timeout_go_to(), "day_3_escalation");
  EXPECT_THAT(retention->steps(1).wait_for_event().on_event_go_to(), IsEmpty());
  EXPECT_EQ(retention->steps(2).task().assignee_role(), "cs_director");
  EXPECT_GT(retention->steps(3).offer().discount_percent(), retention->steps(0).offer().discount_percent());

  const v1::Playbook* winback = Find(*playbooks, "win-back");
  ASSERT_NE(winback, nullptr);
  EXPECT_THAT(Days(*winback), ElementsAre(30, 37, 45, 60));
  EXPECT_EQ(winback->start_delay_days(), 30);
  EXPECT_THAT(Channels(*winback),
              ElementsAre(v1::CHANNEL_EMAIL, v1::CHANNEL_OFFER, v1::CHANNEL_CALL, v1::CHANNEL_OFFER));
  EXPECT_EQ(winback->steps(1).offer().discount_percent(), 50);
  EXPECT_EQ(winback->steps(1).offer().duration_months(), 3);
  ASSERT_EQ(winback->exits_size(), 1);
  EXPECT_EQ(winback->exits(0).event_type(), v1::EVENT_TYPE_REACTIVATED);

  const v1::Playbook* referral = Find(*playbooks, "referral-ask");
  ASSERT_NE(referral, nullptr);
  const v1::OfferAction& terms = referral->steps(0).offer();
  EXPECT_EQ(terms.discount_percent(), 30);
  EXPECT_EQ(terms.referral().referred_discount_percent(), 20);
  EXPECT_EQ(terms.referral().credit_per_referral(), 100);

  const v1::Playbook* detractor = Find(*playbooks, "nps-detractor");
  ASSERT_NE(detractor, nullptr);
  EXPECT_EQ(detractor->steps(0).call().due_in_hours(), 24);
}

TEST(LoadPlaybookTest, ValidFileLoads) {
  absl::StatusOr<v1::Playbook> playbook = LoadPlaybook(WriteFile(kPlaybook));
  ASSERT_TRUE(playbook.ok()) << playbook.status();
  EXPECT_THAT(NominalOffsetsHours(playbook->steps()), ElementsAre(24, 72, 120));
  EXPECT_TRUE(ValidatePlaybook(*playbook, "memory").ok());
}

TEST(LoadPlaybookTest, MissingFile) {
  EXPECT_EQ(LoadPlaybook("/no/such/file.textproto").status().code(), absl::StatusCode::kNotFound);
}

struct ErrorCase {
  std::string from;
  std::string to;
  std::string needle;  // where the error must point, in the replaced text
  std::string expected;
};

TEST(LoadPlaybookTest, ErrorsCarryFileLineAndColumn) {
  const std::vector<ErrorCase> cases = {
      {R"(id: "test-playbook")", R"(id: "Test_Playbook")", "id:", "id: must be made of [a-z0-9-]+"},
      {"version: 1", "version: 0", "version:", "version: must be >= 1, got 0"},
      {"sustained_days: 3", "sustained_days: -1", "sustained_days",
       "triggers[0].sustained_days: must be >= 0"},
      {"id: \"third\"", "id: \"first\"", "id: \"first\"\n  delay { days: 5 }",
       R"(steps[2].id: duplicate step id "first")"},
      {"days: 1\n", "days: -1\n", "days: -1", "steps[0].delay.days: must be >= 0, got -1"},
      {"start_hour: 9", "start_hour: 25", "start_hour", "steps[0].delay.window.start_hour: must be 0..23"},
      {"end_hour: 17", "end_hour: 8", "end_hour",
       "steps[0].delay.window.end_hour: must be greater than start_hour"},
      {"Europe/Madrid", "Mars/Olympus", "time_zone",
       R"(steps[0].delay.window.time_zone: unknown time zone "Mars/Olympus")"},
      {"WEEKDAY_TUESDAY", "WEEKDAY_MONDAY",
       "weekdays:", "steps[0].delay.weekdays[1]: duplicate weekday WEEKDAY_MONDAY"},
      {R"(on_timeout_go_to: "third")", R"(on_timeout_go_to: "thrid")", "on_timeout_go_to",
       R"(steps[1].wait_for_event.on_timeout_go_to: no step "thrid")"},
      {"outcomes: ACTION_OUTCOME_REPLIED", "", "wait_for_event",
       "steps[1].wait_for_event: needs at least one of event_types or outcomes"},
      {"within_days: 2", "within_days: 0", "within_days", "steps[1].wait_for_event.within_days: must be > 0"},
      {"due_in_hours: 24 sla_hours: 48", "due_in_hours: 0 sla_hours: 48", "due_in_hours: 0",
       "steps[2].task.due_in_hours: must be > 0, got 0"},
      {"due_in_hours: 24 sla_hours: 48", "due_in_hours: 24 sla_hours: 12", "sla_hours",
       "steps[2].task.sla_hours: must be >= due_in_hours 24"},
      {"discount_percent: 30", "discount_percent: 150", "discount_percent",
       "steps[0].offer.discount_percent: must be a percent 0..100, got 150"},
      {R"(assignee_role: "account_manager")", R"(assignee_role: "")", "assignee_role",
       "steps[1].call.assignee_role: must be made of [a-z0-9_]+"},
      {"  event_type: EVENT_TYPE_REACTIVATED\n", "", "exits {",
       "exits[0]: needs one of rule, event_type or outcome"},
      {"reenrollment { mode: REENROLLMENT_MODE_NEVER }",
       "reenrollment { mode: REENROLLMENT_MODE_AFTER_COOLDOWN }", "reenrollment",
       "reenrollment.cooldown_days: must be > 0"},
      {R"(variants { id: "b" weight: 3 })", R"(variants { id: "a" weight: 0 })", R"(id: "a" weight: 0)",
       R"(variants[1].id: duplicate variant id "a")"},
      {"weight: 3", "weight: 0", "weight: 0", "variants[1].weight: must be > 0, got 0"},
      {"holdout_percent: 10", "holdout_percent: 101", "holdout_percent", "holdout_percent: must be 0..100"},
      {"  delay { days: 5 }\n", "  delay { days: 2 }\n", "delay { days: 2 }",
       "steps[2].delay: due at day 2, before the previous step (day 3)"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.to);
    const std::string text = Replace(kPlaybook, c.from, c.to);
    const std::string path = WriteFile(text);
    absl::Status status = LoadPlaybook(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(absl::StrCat(path, ":", Position(text, c.needle), ": ", c.expected)));
  }
}

TEST(LoadPlaybookTest, StructuralErrors) {
  // No steps at all: the error points at the file, not at a step.
  std::string text = R"txt(id: "x"
                          version: 1
                          display_name: "X"
                          reenrollment { mode: REENROLLMENT_MODE_ALWAYS })txt";
  std::string path = WriteFile(text);
  absl::Status status = LoadPlaybook(path).status();
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat(path, ": steps: at least one step is required")));

  // A step without an action.
  text =
      Replace(kPlaybook, R"(call { assignee_role: "account_manager" purpose: "call" due_in_hours: 24 })", "");
  path = WriteFile(text);
  status = LoadPlaybook(path).status();
  EXPECT_THAT(
      std::string(status.message()),
      HasSubstr(absl::StrCat(path, ":", Position(text, R"(id: "second")"),
                             ": steps[1].id: an action is required: email, in_app, task, call, offer or "
                             "webhook")));

  // An unknown channel is a syntax error at its position.
  text = Replace(kPlaybook, R"(call { assignee_role)", R"(sms { assignee_role)");
  path = WriteFile(text);
  status = LoadPlaybook(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat(path, ":", Position(text, "sms").substr(0, 2))));
  EXPECT_THAT(std::string(status.message()), HasSubstr("sms"));

  // Two actions in one step.
  text = Replace(kPlaybook, R"(call { assignee_role)", R"(email { template_key: "a" subject_key: "b" } call {
      assignee_role)");
  status = LoadPlaybook(WriteFile(text)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("oneof"));
}

TEST(LoadPlaybookTest, BrokenRuleReportsItsPath) {
  const std::string text = Replace(kPlaybook, R"(field: "account.status")", R"(field: "account.statuss")");
  const std::string path = WriteFile(text);
  absl::Status status = LoadPlaybook(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat(path, ":", Position(text, R"(field: "account.statuss")"),
                                     ": steps[2].condition.compare.field: ")));
  EXPECT_THAT(std::string(status.message()), HasSubstr("account.statuss"));

  // Nested, in an exit: the position of the offending comparison's part.
  const std::string nested = Replace(
      kPlaybook, R"(rule { range { field: "score.health" min: 70 } })",
      R"(rule { all { rules { range { field: "score.health" min: 70 } } rules { compare { field: "score.health" number: 1 } } } })");
  const std::string nested_path = WriteFile(nested);
  status = LoadPlaybook(nested_path).status();
  EXPECT_THAT(
      std::string(status.message()),
      HasSubstr(absl::StrCat(nested_path, ":", Position(nested, R"(compare { field: "score.health" number)"),
                             ": exits[1].rule.all.rules[1].compare.op: ")));
}

TEST(LoadPlaybookTest, CycleWithoutDelayIsRefused) {
  // "second" and "third" branch to each other on events, and neither has a delay: a hot loop.
  std::string text = Replace(kPlaybook, R"(    on_timeout_go_to: "third"
  })",
                             R"(    on_timeout_go_to: "third"
    on_event_go_to: "third"
  })");
  text = Replace(text, R"(  condition { compare { field: "account.status")", R"(  wait_for_event {
    event_types: EVENT_TYPE_LOGIN
    within_days: 1
    on_timeout_go_to: "first"
    on_event_go_to: "second"
  }
  condition { compare { field: "account.status")");
  text = Replace(text, "delay { days: 2 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }",
                 "delay { days: 0 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }");
  text = Replace(text, "delay { days: 5 }", "delay { days: 3 }");
  std::string path = WriteFile(text);
  absl::Status status = LoadPlaybook(path).status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("form a cycle that can run without any delay"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("second -> third -> second"));

  // With a delay on the way back it is a legitimate loop.
  text = Replace(text, "delay { days: 0 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }",
                 "delay { days: 1 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }");
  text = Replace(text, "delay { days: 3 }", "delay { days: 2 relative_to: DELAY_REFERENCE_PREVIOUS_STEP }");
  absl::StatusOr<v1::Playbook> playbook = LoadPlaybook(WriteFile(text));
  EXPECT_TRUE(playbook.ok()) << playbook.status();
}

TEST(LoadPlaybookTest, StartDelayBoundsTheFirstStep) {
  const std::string text =
      Replace(kPlaybook, "holdout_percent: 10", "holdout_percent: 10\nstart_delay_days: 2");
  const std::string path = WriteFile(text);
  absl::Status status = LoadPlaybook(path).status();
  EXPECT_THAT(
      std::string(status.message()),
      HasSubstr(absl::StrCat(path, ":", Position(text, "delay {\n"),
                             ": steps[0].delay: due at day 1, before the playbook's start_delay_days 2")));
}

TEST(LoadPlaybookTest, EveryErrorIsReported) {
  std::string text = Replace(kPlaybook, "version: 1", "version: 0");
  text = Replace(text, "holdout_percent: 10", "holdout_percent: -1");
  absl::Status status = LoadPlaybook(WriteFile(text)).status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("version: must be >= 1"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("holdout_percent: must be 0..100"));
}

TEST(ValidatePlaybookTest, NamesSourceAndPath) {
  v1::Playbook playbook;
  playbook.set_id("p");
  playbook.set_version(1);
  playbook.set_display_name("P");
  playbook.mutable_reenrollment()->set_mode(v1::REENROLLMENT_MODE_ALWAYS);
  v1::Step* step = playbook.add_steps();
  step->set_id("s");
  step->mutable_email()->set_template_key("t");
  step->mutable_email()->set_subject_key("s");
  EXPECT_TRUE(ValidatePlaybook(playbook, "rpc").ok());
  step->mutable_delay()->set_hours(-3);
  absl::Status status = ValidatePlaybook(playbook, "rpc");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("rpc: steps[0].delay.hours: must be >= 0, got -3"));
}

TEST(LoadPlaybookDirectoryTest, FileNameMustEqualId) {
  const fs::path dir = TestDir();
  std::ofstream(dir / "other-name.textproto") << kPlaybook;
  std::ofstream(dir / "README.md") << "not a playbook";
  absl::StatusOr<std::vector<v1::Playbook>> playbooks = LoadPlaybookDirectory(dir.string());
  EXPECT_EQ(playbooks.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(playbooks.status().message()),
              HasSubstr(absl::StrCat((dir / "other-name.textproto").string(),
                                     ":1:1: id: must equal the file's name "
                                     "\"other-name\", got \"test-playbook\"")));

  fs::rename(dir / "other-name.textproto", dir / "test-playbook.textproto");
  playbooks = LoadPlaybookDirectory(dir.string());
  ASSERT_TRUE(playbooks.ok()) << playbooks.status();
  EXPECT_EQ(playbooks->size(), 1u);

  EXPECT_EQ(LoadPlaybookDirectory((dir / "missing").string()).status().code(), absl::StatusCode::kNotFound);
}

TEST(StepChannelTest, FromActionKind) {
  v1::Step step;
  EXPECT_EQ(StepChannel(step), v1::CHANNEL_UNSPECIFIED);
  step.mutable_webhook();
  EXPECT_EQ(StepChannel(step), v1::CHANNEL_WEBHOOK);
  step.mutable_in_app();
  EXPECT_EQ(StepChannel(step), v1::CHANNEL_IN_APP);
}

}  // namespace
}  // namespace steward::playbooks
