#pragma once

#include <array>
#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"

namespace steward::scoring {

// Every feature a scoring model, a churn rule or a CLV formula can read. Names are the contract with the
// configuration files under config/models/ and with the API (Scores.features); the window is part of
// the name. Counts are plain numbers, shares and rates fractions in [0, 1]. New features go at the
// end, just before kCount: cached scores store feature values by position.
enum class Feature : int {
  kLogins7d,
  kLogins30d,
  kBaselineLogins30d,    // the account's normal logins per 30 days, from days 31–90 before now
  kLoginFrequencyRatio,  // logins_30d / baseline_logins_30d
  kActiveDays30d,        // days with at least one login
  kFeatureUses30d,
  kFeatureUsesPrior30d,  // days 31–60 before now
  kUsageChange30d,       // (uses_30d − uses_prior_30d) / uses_prior_30d
  kDistinctFeatures30d,
  kFeatureShare30d,  // distinct_features_30d / plan feature count
  kSeatUtilization,  // latest active seats / seats purchased
  kEmailsSent14d,
  kEmailsOpened14d,
  kEmailOpenRate14d,
  kInAppEngagements30d,
  kTicketsOpened30d,
  kOpenTickets,          // opened − resolved over the retention window, at least 0
  kTicketSentiment90d,   // mean sentiment of tickets, 0..1
  kNps,                  // latest NPS answer, 0..10
  kCsat,                 // latest CSAT answer, 1..5
  kSurveySatisfaction,   // latest survey satisfaction, 0..10
  kFeedbackSentiment,    // sentiment of the latest NPS or survey comment, 0..1
  kNegativeMentions30d,  // social mentions with sentiment < 0.3
  kDaysLateLastInvoice,
  kCompetitorVisits7d,
  kCompetitorSearches30d,
  kCompetitorEvaluations30d,
  kCompetitorTrials30d,
  kContractReviews30d,
  kRoiPercent,  // latest reported ROI, percent
  kReferrals90d,
  kExpansions90d,  // upgrades and expansions
  kDowngrades90d,
  kIntegrations90d,
  kDaysSinceExpansion,  // days since the latest upgrade or expansion (absent if none)
  kMaxLimitUsage,       // highest used / allowed over the plan's limits
  kTenureDays,          // days since the account's start
  kFeatureRequests30d,  // requests for features the plan lacks
  kCount,               // not a feature: the number of features
};

inline constexpr std::size_t kFeatureCount = static_cast<std::size_t>(Feature::kCount);

// The feature's name in configuration and in the API, e.g. "logins_30d".
absl::string_view FeatureName(Feature feature);

// The feature with that name, or nullopt.
std::optional<Feature> FeatureByName(absl::string_view name);

// The features of one account at one moment; a feature without a value is unknown (no data yet, or a
// ratio whose denominator is zero) and is left out of every score.
class FeatureVector {
 public:
  void Set(Feature f, double value) { values_[Index(f)] = value; }
  void Clear(Feature f) { values_[Index(f)].reset(); }
  std::optional<double> Get(Feature f) const { return values_[Index(f)]; }
  bool Has(Feature f) const { return values_[Index(f)].has_value(); }

 private:
  static std::size_t Index(Feature f) { return static_cast<std::size_t>(f); }
  std::array<std::optional<double>, kFeatureCount> values_;
};

}  // namespace steward::scoring
