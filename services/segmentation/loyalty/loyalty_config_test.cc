#include "services/segmentation/loyalty/loyalty_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/loyalty.pb.h"
#include "tests/support/config_test_support.h"

namespace steward::segmentation {
namespace {

using ::steward::testing::Position;
using ::steward::testing::Replace;

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string SourceDir() {
  const char* dir = std::getenv("STEWARD_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

std::string WriteConfig(const std::string& text) {
  return testing::WriteTestFile(text, "loyalty_config_test");
}

constexpr char kConfig[] = R"cfg(# a valid programme
earn {
  daily_use: 10
  feature_use: 5
  referral: 100
  feedback: 25
  social_share: 15
}
tiers { tier: LOYALTY_TIER_BRONZE min_earned: 0 }
tiers { tier: LOYALTY_TIER_SILVER min_earned: 1000 }
tiers { tier: LOYALTY_TIER_GOLD min_earned: 5000 }
tiers { tier: LOYALTY_TIER_PLATINUM min_earned: 10000 }
rewards { reward_id: "training" display_name: "Training" points: 300 }
rewards { reward_id: "beta_access" display_name: "Beta access" points: 1000 }
)cfg";

// Loads `text` and expects exactly one error, "<file>:<position of needle>: <message>".
void ExpectError(const std::string& text, const std::string& needle, const std::string& message) {
  const std::string path = WriteConfig(text);
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), absl::StrCat(path, ":", Position(text, needle), ": ", message));
}

TEST(LoyaltyConfigTest, ShippedConfigLoadsWithSpecDefaults) {
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig(SourceDir() + "/config/loyalty.textproto");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->earn().daily_use(), 10);
  EXPECT_EQ(config->earn().feature_use(), 5);
  EXPECT_EQ(config->earn().referral(), 100);
  EXPECT_EQ(config->earn().feedback(), 25);
  EXPECT_EQ(config->earn().social_share(), 15);
  ASSERT_EQ(config->tiers_size(), 4);
  EXPECT_EQ(config->tiers(0).tier(), v1::LOYALTY_TIER_BRONZE);
  EXPECT_EQ(config->tiers(0).min_earned(), 0);
  EXPECT_EQ(config->tiers(1).tier(), v1::LOYALTY_TIER_SILVER);
  EXPECT_EQ(config->tiers(1).min_earned(), 1000);
  EXPECT_EQ(config->tiers(2).tier(), v1::LOYALTY_TIER_GOLD);
  EXPECT_EQ(config->tiers(2).min_earned(), 5000);
  EXPECT_EQ(config->tiers(3).tier(), v1::LOYALTY_TIER_PLATINUM);
  EXPECT_EQ(config->tiers(3).min_earned(), 10000);
  std::map<std::string, int64_t> prices;
  for (const v1::LoyaltyReward& reward : config->rewards()) prices[reward.reward_id()] = reward.points();
  EXPECT_EQ(prices, (std::map<std::string, int64_t>{{"premium_feature", 500},
                                                    {"training", 300},
                                                    {"priority_support", 200},
                                                    {"beta_access", 1000},
                                                    {"custom_feature", 2000}}));
}

TEST(LoyaltyConfigTest, ValidConfigLoads) {
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig(WriteConfig(kConfig));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rewards_size(), 2);
  EXPECT_TRUE(ValidateLoyaltyConfig(*config).ok());
}

TEST(LoyaltyConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig("/nonexistent/loyalty.textproto");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
}

TEST(LoyaltyConfigTest, SyntaxErrorGivesPosition) {
  const std::string path = WriteConfig(Replace(kConfig, "referral: 100", "referal: 100"));
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(absl::StrCat(path, ":5:")));
  EXPECT_THAT(config.status().message(), HasSubstr("referal"));
}

TEST(LoyaltyConfigTest, EarnPointsMustBePositive) {
  const std::string text = Replace(kConfig, "feedback: 25", "feedback: 0");
  ExpectError(text, "feedback", "earn.feedback: must be > 0, got 0");
  const std::string negative = Replace(kConfig, "daily_use: 10", "daily_use: -1");
  ExpectError(negative, "daily_use", "earn.daily_use: must be > 0, got -1");
}

TEST(LoyaltyConfigTest, MissingEarnBlockPointsAtTheFile) {
  const std::string path = WriteConfig(
      "tiers { tier: LOYALTY_TIER_BRONZE min_earned: 0 }\n"
      "rewards { reward_id: \"x\" display_name: \"X\" points: 1 }\n");
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(absl::StrCat(path, ": earn.daily_use: must be > 0")));
  EXPECT_THAT(config.status().message(), HasSubstr(absl::StrCat(path, ": earn.social_share: must be > 0")));
}

TEST(LoyaltyConfigTest, FirstTierStartsAtZero) {
  const std::string text = Replace(kConfig, "min_earned: 0 }", "min_earned: 10 }");
  ExpectError(text, "min_earned: 10 }",
              "tiers[0].min_earned: the first tier must start at 0 so that every account has a tier, got 10");
}

TEST(LoyaltyConfigTest, ThresholdsStrictlyIncrease) {
  const std::string text = Replace(kConfig, "min_earned: 5000", "min_earned: 1000");
  ExpectError(text, "min_earned: 1000 }\ntiers { tier: LOYALTY_TIER_PLATINUM",
              "tiers[2].min_earned: must be greater than the previous tier's 1000, got 1000");
}

TEST(LoyaltyConfigTest, TiersMustBeSpecifiedAndRise) {
  ExpectError(Replace(kConfig, "tier: LOYALTY_TIER_GOLD", "tier: LOYALTY_TIER_UNSPECIFIED"),
              "tier: LOYALTY_TIER_UNSPECIFIED",
              "tiers[2].tier: a tier is required (LOYALTY_TIER_BRONZE, _SILVER, _GOLD or _PLATINUM)");
  ExpectError(Replace(kConfig, "tier: LOYALTY_TIER_GOLD", "tier: LOYALTY_TIER_SILVER"),
              "tier: LOYALTY_TIER_SILVER min_earned: 5000",
              "tiers[2].tier: must be higher than the previous tier LOYALTY_TIER_SILVER");
}

TEST(LoyaltyConfigTest, AtLeastOneTier) {
  std::string text = kConfig;
  for (const char* tier : {"tiers { tier: LOYALTY_TIER_BRONZE min_earned: 0 }\n",
                           "tiers { tier: LOYALTY_TIER_SILVER min_earned: 1000 }\n",
                           "tiers { tier: LOYALTY_TIER_GOLD min_earned: 5000 }\n",
                           "tiers { tier: LOYALTY_TIER_PLATINUM min_earned: 10000 }\n"}) {
    text = Replace(text, tier, "");
  }
  const std::string path = WriteConfig(text);
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), absl::StrCat(path, ": tiers: at least one tier is required"));
}

TEST(LoyaltyConfigTest, RewardIdsAreUniqueAndWellFormed) {
  ExpectError(Replace(kConfig, "\"beta_access\"", "\"training\""),
              "reward_id: \"training\" display_name: \"Beta",
              "rewards[1].reward_id: duplicate reward id \"training\"");
  ExpectError(Replace(kConfig, "\"beta_access\"", "\"Beta-Access\""), "reward_id: \"Beta-Access\"",
              "rewards[1].reward_id: must be made of [a-z0-9_]+, got \"Beta-Access\"");
  ExpectError(Replace(kConfig, "\"beta_access\"", "\"\""), "reward_id: \"\"",
              "rewards[1].reward_id: must be made of [a-z0-9_]+, got \"\"");
}

TEST(LoyaltyConfigTest, RewardsNeedANameAndAPositivePrice) {
  ExpectError(Replace(kConfig, "points: 300", "points: 0"), "points: 0",
              "rewards[0].points: must be > 0, got 0");
  ExpectError(Replace(kConfig, "display_name: \"Training\" ", ""), "rewards { reward_id: \"training\"",
              "rewards[0].display_name: a display name is required");
}

TEST(LoyaltyConfigTest, ReportsEveryProblem) {
  std::string text = Replace(kConfig, "referral: 100", "referral: 0");
  text = Replace(text, "points: 1000", "points: -5");
  const std::string path = WriteConfig(text);
  absl::StatusOr<v1::LoyaltyConfig> config = LoadLoyaltyConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            absl::StrCat(path, ":", Position(text, "referral"), ": earn.referral: must be > 0, got 0\n", path,
                         ":", Position(text, "points: -5"), ": rewards[1].points: must be > 0, got -5"));
}

TEST(LoyaltyConfigTest, ValidateNamesTheSourceWithoutPositions) {
  v1::LoyaltyConfig config;
  config.mutable_earn()->set_daily_use(10);
  config.mutable_earn()->set_feature_use(5);
  config.mutable_earn()->set_referral(100);
  config.mutable_earn()->set_feedback(25);
  config.mutable_earn()->set_social_share(15);
  v1::LoyaltyTierThreshold* tier = config.add_tiers();
  tier->set_tier(v1::LOYALTY_TIER_BRONZE);
  EXPECT_TRUE(ValidateLoyaltyConfig(config, "test").ok());
  config.add_tiers()->set_tier(v1::LOYALTY_TIER_SILVER);  // min_earned 0 again
  absl::Status status = ValidateLoyaltyConfig(config, "test");
  EXPECT_EQ(status.message(), "test: tiers[1].min_earned: must be greater than the previous tier's 0, got 0");
  EXPECT_THAT(status.message(), Not(HasSubstr("test:1")));
}

}  // namespace
}  // namespace steward::segmentation
