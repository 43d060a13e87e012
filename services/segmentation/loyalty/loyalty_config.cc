#include "services/segmentation/loyalty/loyalty_config.h"

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/text_config.h"
#include "google/protobuf/text_format.h"
#include "steward/v1/loyalty.pb.h"

namespace steward::segmentation {
namespace {

using ::google::protobuf::TextFormat;
using text_config::ErrorsToStatus;
using text_config::FieldRef;
using text_config::Node;
using text_config::ParseTextFile;
using text_config::Reporter;
using text_config::RootNode;

void CheckPoints(Reporter& r, const FieldRef& ref, int64_t points) {
  if (points <= 0) r.Error(ref, absl::StrCat("must be > 0, got ", points));
}

bool IsRewardId(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

void CheckConfig(const v1::LoyaltyConfig& config, const Node& root, Reporter& r) {
  const v1::LoyaltyEarnRules& earn = config.earn();
  const Node earn_node = r.Nested(root, "earn");
  CheckPoints(r, r.Field(earn_node, "daily_use"), earn.daily_use());
  CheckPoints(r, r.Field(earn_node, "feature_use"), earn.feature_use());
  CheckPoints(r, r.Field(earn_node, "referral"), earn.referral());
  CheckPoints(r, r.Field(earn_node, "feedback"), earn.feedback());
  CheckPoints(r, r.Field(earn_node, "social_share"), earn.social_share());

  if (config.tiers_size() == 0) r.Error(r.Field(root, "tiers"), "at least one tier is required");
  for (int i = 0; i < config.tiers_size(); ++i) {
    const v1::LoyaltyTierThreshold& tier = config.tiers(i);
    const Node node = r.Nested(root, "tiers", i);
    if (tier.tier() == v1::LOYALTY_TIER_UNSPECIFIED || !v1::LoyaltyTier_IsValid(tier.tier())) {
      r.Error(r.Field(node, "tier"), "a tier is required (LOYALTY_TIER_BRONZE, _SILVER, _GOLD or _PLATINUM)");
    } else if (i > 0 && tier.tier() <= config.tiers(i - 1).tier()) {
      r.Error(r.Field(node, "tier"), absl::StrCat("must be higher than the previous tier ",
                                                  v1::LoyaltyTier_Name(config.tiers(i - 1).tier())));
    }
    if (i == 0 && tier.min_earned() != 0) {
      r.Error(r.Field(node, "min_earned"),
              absl::StrCat("the first tier must start at 0 so that every account has a tier, got ",
                           tier.min_earned()));
    } else if (i > 0 && tier.min_earned() <= config.tiers(i - 1).min_earned()) {
      r.Error(r.Field(node, "min_earned"),
              absl::StrCat("must be greater than the previous tier's ", config.tiers(i - 1).min_earned(),
                           ", got ", tier.min_earned()));
    }
  }

  absl::flat_hash_set<std::string> reward_ids;
  for (int i = 0; i < config.rewards_size(); ++i) {
    const v1::LoyaltyReward& reward = config.rewards(i);
    const Node node = r.Nested(root, "rewards", i);
    const FieldRef id_ref = r.Field(node, "reward_id");
    if (!IsRewardId(reward.reward_id())) {
      r.Error(id_ref, absl::StrCat("must be made of [a-z0-9_]+, got \"", reward.reward_id(), "\""));
    } else if (!reward_ids.insert(reward.reward_id()).second) {
      r.Error(id_ref, absl::StrCat("duplicate reward id \"", reward.reward_id(), "\""));
    }
    if (reward.display_name().empty()) r.Error(r.Field(node, "display_name"), "a display name is required");
    CheckPoints(r, r.Field(node, "points"), reward.points());
  }
}

}  // namespace

absl::StatusOr<v1::LoyaltyConfig> LoadLoyaltyConfig(const std::string& path) {
  return text_config::LoadFile<v1::LoyaltyConfig>(path, CheckConfig);
}

absl::Status ValidateLoyaltyConfig(const v1::LoyaltyConfig& config, absl::string_view source) {
  return text_config::Validate(config, source, CheckConfig);
}

}  // namespace steward::segmentation
