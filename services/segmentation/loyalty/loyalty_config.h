#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/loyalty_config.pb.h"

namespace steward::segmentation {

// Loading and validating the loyalty programme (a LoyaltyConfig in protobuf text format,
// config/loyalty.textproto). Bad configuration is meant to stop the server at start-up, so every error
// says where it is:
//
//   config/loyalty.textproto:22:33: tiers[2].min_earned: must be greater than the previous tier's 1000, got 9
//
// Lines and columns are 1-based and point at the offending field's name; when the field is absent from
// the file, at the enclosing message; when nothing encloses it, the file name alone is given. All
// problems are reported, one per line of the status message.
//
// Errors: NOT_FOUND when the file does not exist or cannot be read, INVALID_ARGUMENT for syntax errors
// and for these rules:
//   - earn: every point value (daily_use, feature_use, referral, feedback, social_share) > 0;
//   - tiers: at least one; the first has min_earned 0 and each next one a strictly greater min_earned;
//     every tier is specified and strictly higher than the one before it;
//   - rewards (may be empty): reward_id unique and made of [a-z0-9_]+; display_name non-empty;
//     points > 0.

// Parses and validates a LoyaltyConfig file.
absl::StatusOr<v1::LoyaltyConfig> LoadLoyaltyConfig(const std::string& path);

// Validates a configuration that did not come from a file (tests, an admin API). `source` names it in
// error messages; field paths are given but no line numbers.
absl::Status ValidateLoyaltyConfig(const v1::LoyaltyConfig& config,
                                   absl::string_view source = "loyalty config");

}  // namespace steward::segmentation
