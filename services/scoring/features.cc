#include "services/scoring/features.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace steward::scoring {
namespace {

// Indexed by Feature; the static_assert below keeps it in step with the enum.
constexpr std::array<absl::string_view, kFeatureCount> kNames = {
    "logins_7d",
    "logins_30d",
    "baseline_logins_30d",
    "login_frequency_ratio",
    "active_days_30d",
    "feature_uses_30d",
    "feature_uses_prior_30d",
    "usage_change_30d",
    "distinct_features_30d",
    "feature_share_30d",
    "seat_utilization",
    "emails_sent_14d",
    "emails_opened_14d",
    "email_open_rate_14d",
    "in_app_engagements_30d",
    "tickets_opened_30d",
    "open_tickets",
    "ticket_sentiment_90d",
    "nps",
    "csat",
    "survey_satisfaction",
    "feedback_sentiment",
    "negative_mentions_30d",
    "days_late_last_invoice",
    "competitor_visits_7d",
    "competitor_searches_30d",
    "competitor_evaluations_30d",
    "competitor_trials_30d",
    "contract_reviews_30d",
    "roi_percent",
    "referrals_90d",
    "expansions_90d",
    "downgrades_90d",
    "integrations_90d",
    "days_since_expansion",
    "max_limit_usage",
    "tenure_days",
    "feature_requests_30d",
};
static_assert(kNames.back() == "feature_requests_30d", "kNames must follow the Feature enum");

}  // namespace

absl::string_view FeatureName(Feature feature) { return kNames[static_cast<std::size_t>(feature)]; }

std::optional<Feature> FeatureByName(absl::string_view name) {
  static const auto* const by_name = [] {
    auto* map = new absl::flat_hash_map<absl::string_view, Feature>();
    for (std::size_t i = 0; i < kFeatureCount; ++i) map->emplace(kNames[i], static_cast<Feature>(i));
    return map;
  }();
  auto it = by_name->find(name);
  if (it == by_name->end()) return std::nullopt;
  return it->second;
}

}  // namespace steward::scoring
