#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/segmentation_config.pb.h"

namespace steward::segmentation {

// Loading and validating the configuration of the built-in segmentations (SPEC §3): a
// SegmentationConfig in protobuf text format, shipped as config/segmentation.textproto. Bad
// configuration is meant to stop the server at start-up, so every error says where it is:
//
//   config/segmentation.textproto:241:3: nps.detractor_max: must be in 0..8, got 9
//
// Lines and columns are 1-based and point at the offending field's name; for a field absent from the
// file, at the enclosing message; when nothing encloses it, the file name alone is given. All problems
// are reported, one per line of the status message.
//
// Errors: NOT_FOUND when the file does not exist or cannot be read, INVALID_ARGUMENT for syntax errors
// and for the rules below.
//
// Rules. Every segment text (for example quadrant.high_value_low_risk) must be present with a
// non-empty display_name; description and treatment are at most 1,000 characters. Numbers are finite.
// - quadrant: high_value_clv_above >= 0; high_value_mrr_at_least > 0; high_risk_probability_at_least in
//   (0, 1].
// - clv_tier: 0 <= low_below <= high_above.
// - persona: power_min_logins_30d > 0; 0 <= struggling_logins_below <= power_min_logins_30d;
//   0 <= struggling_feature_share_below <= power_min_feature_share <= 1;
//   struggling_health_below in [0, 100].
// - industry: at least one industry; ids are 1 to 63 characters of [a-z0-9-] starting with a letter,
//   neither "other" nor "unknown"; an alias keeps something once normalised (a letter, a digit or a
//   non-ASCII byte); no two ids or aliases name the same industry (SameIndustryName), within an
//   industry or across industries.
// - lifecycle: 0 <= onboarding_max_days < adoption_max_days.
// - nps: 0 <= detractor_max < passive_max < 10.
// - advocacy: ambassador_label_key is a label key (1 to 63 characters of [a-z0-9_.-]);
//   ambassador_label_value non-empty; advocate_min_referrals_90d > 0; champion_min_active_days_30d in
//   [0, 30]; champion_min_nps in [0, 10]; champion_min_csat in [0, 5].

// Parses and validates the file.
absl::StatusOr<v1::SegmentationConfig> LoadSegmentationConfig(const std::string& path);

// Validates a configuration that did not come from a file (tests, an admin API). `source` names it in
// error messages; field paths are given but no line numbers.
absl::Status ValidateSegmentationConfig(const v1::SegmentationConfig& config,
                                        absl::string_view source = "segmentation config");

// Whether two industry names are the same industry: equal after dropping every ASCII character that is
// not a letter or a digit and lowercasing ASCII letters ("E-Commerce" = "ecommerce" = "e commerce").
// Bytes outside ASCII are kept and compared exactly. Two names with nothing left ("", "--") are the
// same. Allocates nothing.
bool SameIndustryName(absl::string_view a, absl::string_view b);

}  // namespace steward::segmentation
