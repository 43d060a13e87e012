#include "services/playbooks/engine/compiled_playbook.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "steward/v1/playbook.pb.h"
#include "tests/support/config_test_support.h"

namespace steward::playbooks {
namespace {

constexpr char kBase[] = R"txt(
id: "arms"
version: 1
display_name: "Test"
reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
steps {
  id: "hello"
  delay { days: 1 }
  email { template_key: "t.hello" subject_key: "t.hello.subject" }
}
)txt";

v1::Playbook Parse(const std::string& text) {
  v1::Playbook playbook;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &playbook)) << text;
  return playbook;
}

// A hand-built playbook, validated as the loader would before compiling it.
std::shared_ptr<const CompiledPlaybook> CompileText(const std::string& text) {
  const v1::Playbook playbook = Parse(text);
  const absl::Status valid = ValidatePlaybook(playbook, "test");
  EXPECT_TRUE(valid.ok()) << valid;
  if (!valid.ok()) return nullptr;
  auto compiled = CompiledPlaybook::Compile(playbook);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *compiled : nullptr;
}

std::shared_ptr<const CompiledPlaybook> CompileFile(const std::string& id) {
  auto playbook = LoadPlaybook(absl::StrCat(testing::TestSourceDir(), "/playbooks/", id, ".textproto"));
  EXPECT_TRUE(playbook.ok()) << playbook.status();
  if (!playbook.ok()) return nullptr;
  auto compiled = CompiledPlaybook::Compile(*playbook);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *compiled : nullptr;
}

std::string AccountId(int i) { return absl::StrCat("acct-", i); }

TEST(StableHashTest, IsFnv1a64) {
  EXPECT_EQ(StableHash(""), 0xcbf29ce484222325ull);  // the offset basis
  EXPECT_EQ(StableHash("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(StableHash("abc"), 0xe71fa2190541574bull);
  EXPECT_NE(StableHash("abc"), StableHash("acb"));
}

TEST(CompiledPlaybookTest, IndexesStepsAndKeepsTheDefinition) {
  auto playbook = CompileFile("retention-offer");
  ASSERT_NE(playbook, nullptr);
  EXPECT_EQ(playbook->id(), "retention-offer");
  EXPECT_EQ(playbook->version(), 1);
  const StepList& steps = playbook->Steps("");
  ASSERT_EQ(steps.steps.size(), 4u);
  EXPECT_EQ(steps.steps[0]->id(), "day_0_offer");
  EXPECT_EQ(steps.steps[3]->id(), "day_3_improved_offer");
  EXPECT_EQ(steps.index_of.at("day_3_escalation"), 2);
  ASSERT_EQ(steps.conditions.size(), 4u);
  for (const auto& condition : steps.conditions) EXPECT_FALSE(condition.has_value());
  EXPECT_EQ(playbook->triggers().size(), 1u);
  // Two exits, an outcome and an event: no rule.
  ASSERT_EQ(playbook->exit_rules().size(), 2u);
  EXPECT_FALSE(playbook->exit_rules()[0].has_value());
  EXPECT_FALSE(playbook->exit_rules()[1].has_value());
  EXPECT_FALSE(playbook->needs_account_view());
}

TEST(CompiledPlaybookTest, RuleExitNeedsTheAccountView) {
  auto playbook = CompileFile("re-engagement");
  ASSERT_NE(playbook, nullptr);
  ASSERT_EQ(playbook->exit_rules().size(), 2u);
  EXPECT_TRUE(playbook->exit_rules()[0].has_value());   // re_engaged: a rule
  EXPECT_FALSE(playbook->exit_rules()[1].has_value());  // churned: an event
  EXPECT_TRUE(playbook->needs_account_view());
}

TEST(CompiledPlaybookTest, StepConditionNeedsTheAccountView) {
  auto playbook = CompileText(absl::StrCat(kBase, R"txt(
steps {
  id: "if_unhealthy"
  delay { days: 2 }
  email { template_key: "t.x" subject_key: "t.x.subject" }
  condition { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
}
)txt"));
  ASSERT_NE(playbook, nullptr);
  const StepList& steps = playbook->Steps("");
  ASSERT_EQ(steps.conditions.size(), 2u);
  EXPECT_FALSE(steps.conditions[0].has_value());
  EXPECT_TRUE(steps.conditions[1].has_value());
  EXPECT_TRUE(playbook->needs_account_view());
}

TEST(CompiledPlaybookTest, VariantStepsAndFallbacks) {
  auto playbook = CompileText(absl::StrCat(kBase, R"txt(
variants {
  id: "own"
  weight: 1
  steps {
    id: "variant_hello"
    delay { days: 2 }
    in_app { message_key: "t.variant" }
  }
}
variants { id: "same" weight: 1 }
)txt"));
  ASSERT_NE(playbook, nullptr);
  ASSERT_EQ(playbook->Steps("own").steps.size(), 1u);
  EXPECT_EQ(playbook->Steps("own").steps[0]->id(), "variant_hello");
  // A variant without steps, no variant and an unknown one: the playbook's own steps.
  EXPECT_EQ(playbook->Steps("same").steps[0]->id(), "hello");
  EXPECT_EQ(playbook->Steps("").steps[0]->id(), "hello");
  EXPECT_EQ(playbook->Steps("nope").steps[0]->id(), "hello");
}

TEST(AssignTest, NoVariantsNoHoldout) {
  auto playbook = CompileText(kBase);
  ASSERT_NE(playbook, nullptr);
  for (int i = 0; i < 1000; ++i) {
    const ArmAssignment arm = playbook->Assign(AccountId(i));
    EXPECT_EQ(arm.variant_id, "");
    EXPECT_FALSE(arm.held_out);
  }
}

TEST(AssignTest, FullHoldoutHoldsEveryoneOut) {
  auto playbook =
      CompileText(absl::StrCat(kBase, "holdout_percent: 100\nvariants { id: \"a\" weight: 1 }\n"));
  ASSERT_NE(playbook, nullptr);
  for (int i = 0; i < 1000; ++i) {
    const ArmAssignment arm = playbook->Assign(AccountId(i));
    EXPECT_TRUE(arm.held_out);
    EXPECT_EQ(arm.variant_id, "");
  }
}

constexpr char kArms[] = R"txt(
holdout_percent: 10
variants { id: "control" weight: 1 }
variants { id: "treatment" weight: 3 }
)txt";

TEST(AssignTest, DeterministicAcrossCallsAndSeparatelyCompiledCopies) {
  auto first = CompileText(absl::StrCat(kBase, kArms));
  auto second = CompileText(absl::StrCat(kBase, kArms));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_NE(first.get(), second.get());
  int held_out = 0;
  for (int i = 0; i < 2000; ++i) {
    const ArmAssignment a = first->Assign(AccountId(i));
    const ArmAssignment again = first->Assign(AccountId(i));
    const ArmAssignment b = second->Assign(AccountId(i));
    EXPECT_EQ(a.variant_id, again.variant_id) << i;
    EXPECT_EQ(a.held_out, again.held_out) << i;
    EXPECT_EQ(a.variant_id, b.variant_id) << i;
    EXPECT_EQ(a.held_out, b.held_out) << i;
    held_out += a.held_out ? 1 : 0;
  }
  // Not trivially constant.
  EXPECT_GT(held_out, 0);
  EXPECT_LT(held_out, 2000);
}

TEST(AssignTest, DependsOnThePlaybook) {
  auto arms = CompileText(absl::StrCat(kBase, kArms));
  std::string other_text = absl::StrCat(kBase, kArms);
  other_text.replace(other_text.find("\"arms\""), 6, "\"other\"");
  auto other = CompileText(other_text);
  ASSERT_NE(arms, nullptr);
  ASSERT_NE(other, nullptr);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const ArmAssignment a = arms->Assign(AccountId(i));
    const ArmAssignment b = other->Assign(AccountId(i));
    differ += (a.held_out != b.held_out || a.variant_id != b.variant_id) ? 1 : 0;
  }
  // The playbook id is part of what is hashed: arms of different playbooks are not the same draw
  // (independent draws would differ for about half of the accounts; at least a tenth must).
  EXPECT_GT(differ, 100);
}

// Account ids are often sequential ("acct-0" .. "acct-19999"): the split must hold for them, not only
// for random-looking ids.
TEST(AssignTest, HoldoutShareAndVariantSplitFollowTheDefinition) {
  auto playbook = CompileText(absl::StrCat(kBase, kArms));
  ASSERT_NE(playbook, nullptr);
  constexpr int kAccounts = 20'000;
  int held_out = 0;
  int control = 0;
  int treatment = 0;
  for (int i = 0; i < kAccounts; ++i) {
    const ArmAssignment arm = playbook->Assign(AccountId(i));
    if (arm.held_out) {
      ++held_out;
      EXPECT_EQ(arm.variant_id, "") << "held-out accounts have no variant: " << AccountId(i);
      continue;
    }
    if (arm.variant_id == "control") {
      ++control;
    } else if (arm.variant_id == "treatment") {
      ++treatment;
    } else {
      ADD_FAILURE() << "unexpected variant \"" << arm.variant_id << "\" for " << AccountId(i);
    }
  }
  // Held out: binomial(20000, 0.10) has a standard deviation of sqrt(20000 * 0.1 * 0.9) ≈ 42 accounts,
  // 0.21 percentage points; ±1 pp is about 4.7 standard deviations, so a fair hash never fails it
  // while a biased draw (or a percent read as per-mille) does.
  const double held_out_share = 100.0 * held_out / kAccounts;
  EXPECT_NEAR(held_out_share, 10.0, 1.0);
  // Variants among the ~18000 not held out: binomial(18000, 0.25) has a standard deviation of
  // sqrt(18000 * 0.25 * 0.75) ≈ 58 accounts, 0.32 pp; ±2 pp is over 6 standard deviations.
  const int assigned = control + treatment;
  ASSERT_GT(assigned, 0);
  EXPECT_NEAR(100.0 * control / assigned, 25.0, 2.0);
  EXPECT_NEAR(100.0 * treatment / assigned, 75.0, 2.0);
}

}  // namespace
}  // namespace steward::playbooks
