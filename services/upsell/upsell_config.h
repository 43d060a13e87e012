#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/upsell_config.pb.h"

namespace steward::upsell {

// Loading and validating the upsell triggers (an UpsellConfig in protobuf text format,
// config/upsell.textproto). Bad configuration is meant to stop the server at start-up, so every error
// says where it is:
//
//   config/upsell.textproto:31:5: triggers[1].results.min_tenure_days: must be in 0..3650, got -1
//
// Lines and columns are 1-based and point at the offending field's name; when the field is absent from
// the file, at the enclosing message; when nothing encloses it, the file name alone is given. All
// problems are reported, one per line of the status message.
//
// Errors: NOT_FOUND when the file does not exist or cannot be read, INVALID_ARGUMENT for syntax errors
// and for these rules:
//   - at_risk_max_health in [0, 100]; at_risk_churn_level a known level other than UNSPECIFIED;
//   - plan_ladder: names non-empty and unique;
//   - at least one trigger; ids unique and made of [a-z0-9_]+; display_name non-empty; kind, priority
//     and kind_of_sale specified; the condition set and matching the kind;
//   - every threshold finite and in its range (see each condition message in upsell_config.proto):
//     shares in (0, 1], limit usage in (0, 10], NPS answers in [0, 10], health in [0, 100], days in
//     their ranges, roi_percent_above ≥ −100, seasonal months in 1..12, unique, at least one;
//   - offer: a non-empty description; exactly one of next_plan, target_plan, target_product,
//     additional_licences; next_plan needs a plan_ladder; discount_percent in [0, 100];
//     max_discount_percent 0 or in [discount_percent, 100]; discount_months 0..36; free_months 0..12;
//   - 0 ≤ expected_conversion_min ≤ expected_conversion_max ≤ 1; cooldown_days 1..3650.

// Parses and validates an UpsellConfig file.
absl::StatusOr<v1::UpsellConfig> LoadUpsellConfig(const std::string& path);

// Validates a configuration that did not come from a file (tests, an admin API). `source` names it in
// error messages; field paths are given but no line numbers.
absl::Status ValidateUpsellConfig(const v1::UpsellConfig& config, absl::string_view source = "upsell config");

}  // namespace steward::upsell
