#include "services/segmentation/metrics/portfolio_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/text_config.h"

namespace steward::segmentation {
namespace {

using text_config::Node;
using text_config::Reporter;

// A present target must be finite and within [low, high] (or (low, high] when `low_open`).
void CheckRange(Reporter& r, const Node& root, absl::string_view name, bool present, double value, double low,
                double high, bool low_open) {
  if (!present) return;
  const bool ok = std::isfinite(value) && (low_open ? value > low : value >= low) && value <= high;
  if (!ok) {
    r.Error(r.Field(root, name),
            absl::StrCat("must be finite and in ", low_open ? "(" : "[", low, ", ", high, "], got ", value));
  }
}

void CheckSetting(Reporter& r, const Node& root, absl::string_view name, int value, int max, int fallback) {
  if (value < 0 || value > max) {
    r.Error(r.Field(root, name),
            absl::StrCat("must be 0 (meaning ", fallback, ") or 1..", max, ", got ", value));
  }
}

void CheckTargets(const v1::PortfolioTargets& t, const Node& root, Reporter& r) {
  CheckRange(r, root, "max_monthly_churn_percent", t.has_max_monthly_churn_percent(),
             t.max_monthly_churn_percent(), 0, 100, false);
  CheckRange(r, root, "min_retention_percent", t.has_min_retention_percent(), t.min_retention_percent(), 0,
             100, false);
  CheckRange(r, root, "min_grr_percent", t.has_min_grr_percent(), t.min_grr_percent(), 0, 100, false);
  CheckRange(r, root, "min_nrr_percent", t.has_min_nrr_percent(), t.min_nrr_percent(), 0, 1000, false);
  CheckRange(r, root, "min_average_health", t.has_min_average_health(), t.min_average_health(), 0, 100,
             false);
  CheckRange(r, root, "max_time_to_value_days", t.has_max_time_to_value_days(), t.max_time_to_value_days(), 0,
             3653, true);
  CheckRange(r, root, "min_activation_percent", t.has_min_activation_percent(), t.min_activation_percent(), 0,
             100, false);
  CheckRange(r, root, "min_ltv_to_cac", t.has_min_ltv_to_cac(), t.min_ltv_to_cac(), 0, 1000, true);
  CheckSetting(r, root, "activation_window_days", t.activation_window_days(), kMaxActivationWindowDays,
               kDefaultActivationWindowDays);
  CheckSetting(r, root, "cohort_months", t.cohort_months(), kMaxCohortMonths, kDefaultCohortMonths);
}

}  // namespace

absl::StatusOr<v1::PortfolioTargets> LoadPortfolioTargets(const std::string& path) {
  return text_config::LoadFile<v1::PortfolioTargets>(path, CheckTargets);
}

absl::Status ValidatePortfolioTargets(const v1::PortfolioTargets& targets, absl::string_view source) {
  return text_config::Validate(targets, source, CheckTargets);
}

int ActivationWindowDays(const v1::PortfolioTargets& targets) {
  return targets.activation_window_days() > 0 ? targets.activation_window_days()
                                              : kDefaultActivationWindowDays;
}

int CohortMonths(const v1::PortfolioTargets& targets) {
  return targets.cohort_months() > 0 ? targets.cohort_months() : kDefaultCohortMonths;
}

}  // namespace steward::segmentation
