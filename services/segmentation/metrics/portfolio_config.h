#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/portfolio_metrics.pb.h"

namespace steward::segmentation {

// Loading and validating the portfolio-metrics targets (a PortfolioTargets in protobuf text format,
// config/portfolio.textproto). Bad configuration is meant to stop the server at start-up, so every
// error says where it is:
//
//   config/portfolio.textproto:9:1: min_grr_percent: must be finite and in [0, 100], got 120
//
// Lines and columns are 1-based and point at the offending field's name; when nothing locates it, the
// file name alone is given. All problems are reported, one per line of the status message.
//
// Errors: NOT_FOUND when the file does not exist or cannot be read, INVALID_ARGUMENT for syntax errors
// and for these rules (every target is optional; a present one must be finite):
//   - max_monthly_churn_percent, min_retention_percent, min_grr_percent, min_activation_percent and
//     min_average_health in [0, 100]; min_nrr_percent in [0, 1000];
//   - max_time_to_value_days in (0, 3653]; min_ltv_to_cac in (0, 1000];
//   - activation_window_days 0 (default 14) or 1..365; cohort_months 0 (default 12) or 1..120.

// Defaults applied for zero settings.
inline constexpr int kDefaultActivationWindowDays = 14;
inline constexpr int kDefaultCohortMonths = 12;
inline constexpr int kMaxActivationWindowDays = 365;
inline constexpr int kMaxCohortMonths = 120;

// Parses and validates a PortfolioTargets file.
absl::StatusOr<v1::PortfolioTargets> LoadPortfolioTargets(const std::string& path);

// Validates targets that did not come from a file (tests, an admin API). `source` names them in error
// messages; field paths are given but no line numbers.
absl::Status ValidatePortfolioTargets(const v1::PortfolioTargets& targets,
                                      absl::string_view source = "portfolio targets");

// The settings with their defaults applied (the targets are unchanged).
int ActivationWindowDays(const v1::PortfolioTargets& targets);
int CohortMonths(const v1::PortfolioTargets& targets);

}  // namespace steward::segmentation
