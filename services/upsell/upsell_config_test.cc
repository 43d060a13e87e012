#include "services/upsell/upsell_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/scores.pb.h"
#include "tests/support/config_test_support.h"

namespace steward::upsell {
namespace {

using ::steward::testing::Position;
using ::steward::testing::Replace;

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ShippedPath() { return testing::TestSourceDir() + "/config/upsell.textproto"; }

std::string ShippedText() { return testing::ReadText(ShippedPath()); }

std::string WriteConfig(const std::string& text) {
  return testing::WriteTestFile(text, "upsell_config_test");
}

// Loads `text` and expects exactly one error, "<file>:<position of needle after anchor>: <message>".
void ExpectError(const std::string& text, const std::string& needle, const std::string& message,
                 const std::string& anchor = "") {
  const std::string path = WriteConfig(text);
  absl::StatusOr<v1::UpsellConfig> config = LoadUpsellConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(config.status().message()),
            absl::StrCat(path, ":", Position(text, needle, anchor), ": ", message));
}

TEST(UpsellConfigTest, ShippedConfigHasSpecsSixTriggers) {
  absl::StatusOr<v1::UpsellConfig> config = LoadUpsellConfig(ShippedPath());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->at_risk_max_health(), 70);
  EXPECT_EQ(config->at_risk_churn_level(), v1::RISK_LEVEL_HIGH);
  std::vector<std::string> ids;
  for (const v1::UpsellTrigger& t : config->triggers()) ids.push_back(t.id());
  EXPECT_THAT(ids, ElementsAre("usage", "results", "limit", "complementary_product", "seasonal",
                               "departmental_expansion"));

  const v1::UpsellTrigger& usage = config->triggers(0);
  EXPECT_EQ(usage.usage().min_feature_share(), 0.8);
  EXPECT_EQ(usage.usage().sustain_days(), 30);
  EXPECT_TRUE(usage.offer().next_plan());
  EXPECT_EQ(usage.offer().discount_percent(), 20);
  EXPECT_EQ(usage.offer().discount_months(), 1);
  EXPECT_EQ(usage.expected_conversion_min(), 0.25);
  EXPECT_EQ(usage.expected_conversion_max(), 0.35);

  const v1::UpsellTrigger& results = config->triggers(1);
  EXPECT_EQ(results.results().roi_percent_above(), 200);
  EXPECT_EQ(results.results().min_tenure_days(), 90);
  EXPECT_EQ(results.offer().free_months(), 1);
  EXPECT_EQ(results.priority(), v1::UPSELL_PRIORITY_HIGH);

  const v1::UpsellTrigger& limit = config->triggers(2);
  EXPECT_EQ(limit.limit().min_limit_usage(), 0.8);
  EXPECT_EQ(limit.priority(), v1::UPSELL_PRIORITY_HIGH);
  EXPECT_EQ(limit.expected_conversion_min(), 0.5);
  EXPECT_EQ(limit.expected_conversion_max(), 0.6);

  const v1::UpsellTrigger& complementary = config->triggers(3);
  EXPECT_EQ(complementary.offer().discount_percent(), 30);
  EXPECT_EQ(complementary.kind_of_sale(), v1::SALE_KIND_CROSS_SELL);

  const v1::UpsellTrigger& seasonal = config->triggers(4);
  EXPECT_THAT(seasonal.seasonal().months(), ElementsAre(10, 11, 12));
  EXPECT_EQ(seasonal.offer().target_product(), "analytics");
  EXPECT_EQ(seasonal.offer().discount_percent(), 50);
  EXPECT_EQ(seasonal.offer().discount_months(), 3);

  const v1::UpsellTrigger& departmental = config->triggers(5);
  EXPECT_TRUE(departmental.offer().additional_licences());
  EXPECT_EQ(departmental.offer().discount_percent(), 20);
  EXPECT_EQ(departmental.offer().max_discount_percent(), 30);
  EXPECT_EQ(departmental.kind_of_sale(), v1::SALE_KIND_UPSELL);

  EXPECT_TRUE(ValidateUpsellConfig(*config).ok());
}

TEST(UpsellConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadUpsellConfig("/nonexistent/upsell.textproto").status().code(), absl::StatusCode::kNotFound);
}

TEST(UpsellConfigTest, SyntaxErrorIsInvalidArgumentWithPosition) {
  const std::string path = WriteConfig("at_risk_max_health: 70\ntriggers { id: \"x\" bogus: 1 }\n");
  absl::StatusOr<v1::UpsellConfig> config = LoadUpsellConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(absl::StrCat(path, ":2:")));
}

TEST(UpsellConfigTest, DuplicateTriggerId) {
  const std::string text = Replace(ShippedText(), "id: \"limit\"", "id: \"usage\"");
  ExpectError(text, "id:", "triggers[2].id: duplicate trigger id \"usage\"", "# ≥80% of a plan limit");
}

TEST(UpsellConfigTest, BadTriggerId) {
  const std::string text = Replace(ShippedText(), "id: \"limit\"", "id: \"Limit!\"");
  ExpectError(text, "id: \"Limit!\"", "triggers[2].id: must be made of [a-z0-9_]+, got \"Limit!\"");
}

TEST(UpsellConfigTest, ConditionMustMatchKind) {
  const std::string text = Replace(
      Replace(ShippedText(), "  limit {\n    min_limit_usage: 0.8", "  usage {\n    min_feature_share: 0.8"),
      "    min_feature_requests: 1", "");
  ExpectError(text, "usage {",
              "triggers[2].usage: UPSELL_TRIGGER_KIND_LIMIT needs a `limit` condition block, got usage",
              "kind: UPSELL_TRIGGER_KIND_LIMIT");
}

TEST(UpsellConfigTest, MissingConditionPointsAtKind) {
  const std::string text = Replace(
      ShippedText(), "  seasonal {\n    months: [10, 11, 12]     # Q4, October–December (UTC)\n  }\n", "");
  ExpectError(text, "kind: UPSELL_TRIGGER_KIND_SEASONAL",
              "triggers[4].kind: UPSELL_TRIGGER_KIND_SEASONAL needs a `seasonal` condition block, got none");
}

TEST(UpsellConfigTest, UnspecifiedKind) {
  const std::string text =
      Replace(ShippedText(), "kind: UPSELL_TRIGGER_KIND_LIMIT", "kind: UPSELL_TRIGGER_KIND_UNSPECIFIED");
  ExpectError(text, "kind: UPSELL_TRIGGER_KIND_UNSPECIFIED",
              "triggers[2].kind: a kind is required (UPSELL_TRIGGER_KIND_USAGE, _RESULTS, _LIMIT, "
              "_COMPLEMENTARY_PRODUCT, _SEASONAL or _DEPARTMENTAL_EXPANSION)");
}

TEST(UpsellConfigTest, ThresholdsInRange) {
  ExpectError(Replace(ShippedText(), "min_feature_share: 0.8", "min_feature_share: 1.5"), "min_feature_share",
              "triggers[0].usage.min_feature_share: must be in (0, 1], got 1.5");
  ExpectError(Replace(ShippedText(), "min_feature_share: 0.8", "min_feature_share: nan"), "min_feature_share",
              "triggers[0].usage.min_feature_share: must be a finite number, got nan");
  ExpectError(Replace(ShippedText(), "sustain_days: 30", "sustain_days: 0"), "sustain_days",
              "triggers[0].usage.sustain_days: must be in 1..365, got 0");
  ExpectError(Replace(ShippedText(), "roi_percent_above: 200", "roi_percent_above: -101"),
              "roi_percent_above",
              "triggers[1].results.roi_percent_above: must be in [-100, 1e+09], got -101");
  ExpectError(Replace(ShippedText(), "min_nps_answer: 9        # NPS > 70: a promoter", "min_nps_answer: 11"),
              "min_nps_answer: 11", "triggers[1].results.min_nps_answer: must be in [0, 10], got 11");
  ExpectError(Replace(ShippedText(), "min_limit_usage: 0.8", "min_limit_usage: 0"), "min_limit_usage",
              "triggers[2].limit.min_limit_usage: must be in (0, 10], got 0");
  ExpectError(Replace(ShippedText(), "min_health: 70", "min_health: 101"), "min_health",
              "triggers[3].complementary_product.min_health: must be in [0, 100], got 101");
  ExpectError(Replace(ShippedText(), "min_seat_utilization: 0.9", "min_seat_utilization: -0.1"),
              "min_seat_utilization",
              "triggers[5].departmental_expansion.min_seat_utilization: must be in (0, 1], got -0.1");
  ExpectError(Replace(ShippedText(), "at_risk_max_health: 70", "at_risk_max_health: 170"),
              "at_risk_max_health", "at_risk_max_health: must be in [0, 100], got 170");
}

TEST(UpsellConfigTest, SeasonMonths) {
  const std::string text =
      Replace(ShippedText(), "months: [10, 11, 12]", "months: 10\n    months: 13\n    months: 10");
  const std::string path = WriteConfig(text);
  absl::StatusOr<v1::UpsellConfig> config = LoadUpsellConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(std::string(config.status().message()),
            absl::StrCat(path, ":", Position(text, "months: 13"),
                         ": triggers[4].seasonal.months[1]: must be a month 1..12, got 13\n", path, ":",
                         Position(text, "months: 10", "months: 13"),
                         ": triggers[4].seasonal.months[2]: duplicate month 10"));
}

TEST(UpsellConfigTest, SeasonMonthInAListPointsAtTheList) {
  ExpectError(Replace(ShippedText(), "months: [10, 11, 12]", "months: [10, 11, 0]"), "months: [",
              "triggers[4].seasonal.months[2]: must be a month 1..12, got 0");
}

TEST(UpsellConfigTest, OfferRules) {
  ExpectError(Replace(ShippedText(), "discount_percent: 50", "discount_percent: 101"),
              "discount_percent: 101", "triggers[4].offer.discount_percent: must be in [0, 100], got 101");
  ExpectError(Replace(ShippedText(), "max_discount_percent: 30", "max_discount_percent: 10"),
              "max_discount_percent", "triggers[5].offer.max_discount_percent: must be in [20, 100], got 10");
  ExpectError(Replace(ShippedText(), "target_product: \"analytics\"",
                      "target_product: \"analytics\"\n    next_plan: true"),
              "description: \"3 months",
              "triggers[4].offer.description: exactly one of next_plan, target_plan, target_product and "
              "additional_licences must be set, got 2");
  ExpectError(Replace(ShippedText(), "free_months: 1", "free_months: 13"), "free_months",
              "triggers[1].offer.free_months: must be in 0..12, got 13");
  ExpectError(Replace(ShippedText(), "plan_ladder: [\"starter\", \"growth\", \"pro\", \"enterprise\"]",
                      "plan_ladder: [\"starter\", \"growth\", \"starter\"]"),
              "plan_ladder:", "plan_ladder[2]: duplicate plan \"starter\"");
}

TEST(UpsellConfigTest, NextPlanNeedsALadder) {
  const std::string text =
      Replace(ShippedText(), "plan_ladder: [\"starter\", \"growth\", \"pro\", \"enterprise\"]", "");
  const std::string path = WriteConfig(text);
  absl::StatusOr<v1::UpsellConfig> config = LoadUpsellConfig(path);
  ASSERT_FALSE(config.ok());
  // usage, results and limit offer the next plan.
  EXPECT_EQ(std::string(config.status().message()),
            absl::StrCat(path, ":", Position(text, "next_plan"),
                         ": triggers[0].offer.next_plan: needs a plan_ladder to find the next plan in\n",
                         path, ":", Position(text, "next_plan", "id: \"results\""),
                         ": triggers[1].offer.next_plan: needs a plan_ladder to find the next plan in\n",
                         path, ":", Position(text, "next_plan", "id: \"limit\""),
                         ": triggers[2].offer.next_plan: needs a plan_ladder to find the next plan in"));
}

TEST(UpsellConfigTest, ConversionAndCooldown) {
  ExpectError(Replace(ShippedText(), "expected_conversion_max: 0.35", "expected_conversion_max: 0.2"),
              "expected_conversion_max: 0.2",
              "triggers[0].expected_conversion_max: must be at least expected_conversion_min 0.25, got 0.2");
  ExpectError(Replace(ShippedText(), "expected_conversion_min: 0.50", "expected_conversion_min: -0.5"),
              "expected_conversion_min: -0.5",
              "triggers[2].expected_conversion_min: must be in [0, 1], got -0.5");
  ExpectError(Replace(ShippedText(), "cooldown_days: 14", "cooldown_days: 0"), "cooldown_days: 0",
              "triggers[2].cooldown_days: must be in 1..3650, got 0");
  ExpectError(Replace(ShippedText(), "priority: UPSELL_PRIORITY_HIGH     # at a limit", ""), "triggers {",
              "triggers[2].priority: a priority is required (UPSELL_PRIORITY_HIGH, UPSELL_PRIORITY_MEDIUM or "
              "UPSELL_PRIORITY_LOW)",
              "# ≥80% of a plan limit");
}

TEST(UpsellConfigTest, ValidateWithoutFileNamesSourceAndPath) {
  absl::StatusOr<v1::UpsellConfig> config = LoadUpsellConfig(ShippedPath());
  ASSERT_TRUE(config.ok()) << config.status();
  config->mutable_triggers(3)->set_expected_conversion_min(2);
  config->mutable_triggers(3)->set_expected_conversion_max(3);
  absl::Status status = ValidateUpsellConfig(*config, "admin");
  EXPECT_EQ(std::string(status.message()),
            "admin: triggers[3].expected_conversion_min: must be in [0, 1], got 2\n"
            "admin: triggers[3].expected_conversion_max: must be in [0, 1], got 3");
  EXPECT_FALSE(ValidateUpsellConfig(v1::UpsellConfig()).ok());
}

}  // namespace
}  // namespace steward::upsell
