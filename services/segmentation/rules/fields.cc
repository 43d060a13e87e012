#include "services/segmentation/rules/fields.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace steward::segmentation {
namespace {

constexpr absl::string_view kLabelPrefix = "account.label.";
constexpr absl::string_view kFeaturePrefix = "feature.";
constexpr std::size_t kMaxLabelKeyLength = 63;

struct FixedField {
  absl::string_view name;
  FieldId id;
  FieldType type;
  absl::string_view description;
};

// Every field except labels and features, which are families of names.
constexpr FixedField kFixedFields[] = {
    {"account.account_id", FieldId::kAccountId, FieldType::kText, "The account's id."},
    {"account.display_name", FieldId::kDisplayName, FieldType::kText, "The company's name."},
    {"account.industry", FieldId::kIndustry, FieldType::kText, "Industry, for example \"banking\"."},
    {"account.plan", FieldId::kPlan, FieldType::kText, "The plan's name, for example \"growth\"."},
    {"account.size", FieldId::kSize, FieldType::kText,
     "Company size: \"smb\", \"mid_market\", \"enterprise\", or \"\" when not known."},
    {"account.status", FieldId::kStatus, FieldType::kText,
     "Status: \"trial\", \"active\" or \"churned\" (not given counts as \"active\")."},
    {"account.seats", FieldId::kSeats, FieldType::kNumber, "Seats (licences) purchased."},
    {"account.mrr", FieldId::kMrr, FieldType::kNumber, "Monthly recurring revenue, in currency units."},
    {"account.arpu", FieldId::kArpu, FieldType::kNumber,
     "Average revenue per month, in currency units (the MRR when the account gives none)."},
    {"account.gross_margin", FieldId::kGrossMargin, FieldType::kNumber,
     "Gross margin, a fraction in [0, 1]."},
    {"account.cac", FieldId::kCac, FieldType::kNumber,
     "Customer acquisition cost, in currency units; unknown when zero."},
    {"account.tenure_days", FieldId::kTenureDays, FieldType::kNumber,
     "Whole days since the account's start; unknown without a start time."},
    {"account.days_to_renewal", FieldId::kDaysToRenewal, FieldType::kNumber,
     "Whole days until the contract renews (negative once past); unknown without a renewal time."},
    {"score.health", FieldId::kHealth, FieldType::kNumber, "Health score under the default model, 0..100."},
    {"score.churn_probability", FieldId::kChurnProbability, FieldType::kNumber,
     "Churn probability, a fraction in [0, 1]."},
    {"score.risk_score", FieldId::kRiskScore, FieldType::kNumber, "Churn risk score, 0..100."},
    {"score.risk_level", FieldId::kRiskLevel, FieldType::kText,
     "Churn risk level: \"low\", \"medium\" or \"high\"."},
    {"score.clv", FieldId::kClv, FieldType::kNumber,
     "Customer lifetime value, in currency units: the with-expansion estimate, else the basic one."},
    {"score.health_change_7d", FieldId::kHealthChange7d, FieldType::kNumber,
     "Health score now minus 7 days ago; unknown without that much history."},
    {"score.health_change_30d", FieldId::kHealthChange30d, FieldType::kNumber,
     "Health score now minus 30 days ago; unknown without that much history."},
    {"loyalty.points", FieldId::kLoyaltyPoints, FieldType::kNumber, "Loyalty points available to redeem."},
    {"loyalty.earned", FieldId::kLoyaltyEarned, FieldType::kNumber,
     "Loyalty points earned over the account's life."},
    {"segment", FieldId::kSegment, FieldType::kSegmentSet,
     "The account's built-in segments, for example \"clv-tier/high\"; only with `in`."},
};

constexpr absl::string_view kLabelDescription =
    "The account's label with that key (keys: 1 to 63 characters of [a-z0-9_.-]); unknown when absent.";

std::string FeatureDescription(scoring::Feature feature) {
  using scoring::Feature;
  switch (feature) {
    case Feature::kBaselineLogins30d:
      return "Scoring feature: the account's normal logins per 30 days, from days 31-90 before now.";
    case Feature::kLoginFrequencyRatio:
      return "Scoring feature: logins_30d / baseline_logins_30d.";
    case Feature::kActiveDays30d:
      return "Scoring feature: days with at least one login in the last 30 days.";
    case Feature::kFeatureUsesPrior30d:
      return "Scoring feature: feature uses 31-60 days before now.";
    case Feature::kUsageChange30d:
      return "Scoring feature: (feature_uses_30d - feature_uses_prior_30d) / feature_uses_prior_30d.";
    case Feature::kFeatureShare30d:
      return "Scoring feature: distinct_features_30d / the plan's feature count.";
    case Feature::kSeatUtilization:
      return "Scoring feature: latest active seats / seats purchased.";
    case Feature::kOpenTickets:
      return "Scoring feature: support tickets opened and not resolved.";
    case Feature::kTicketSentiment90d:
      return "Scoring feature: mean sentiment of tickets over 90 days, 0..1.";
    case Feature::kNps:
      return "Scoring feature: the latest NPS answer, 0..10.";
    case Feature::kCsat:
      return "Scoring feature: the latest CSAT answer, 1..5.";
    case Feature::kSurveySatisfaction:
      return "Scoring feature: the latest survey satisfaction, 0..10.";
    case Feature::kFeedbackSentiment:
      return "Scoring feature: sentiment of the latest NPS or survey comment, 0..1.";
    case Feature::kNegativeMentions30d:
      return "Scoring feature: social mentions with sentiment below 0.3 in the last 30 days.";
    case Feature::kRoiPercent:
      return "Scoring feature: the latest reported ROI, in percent.";
    case Feature::kExpansions90d:
      return "Scoring feature: upgrades and expansions in the last 90 days.";
    case Feature::kDaysSinceExpansion:
      return "Scoring feature: days since the latest upgrade or expansion (unknown if none).";
    case Feature::kMaxLimitUsage:
      return "Scoring feature: the highest used / allowed over the plan's limits.";
    case Feature::kTenureDays:
      return "Scoring feature: days since the account's start.";
    default:
      break;
  }
  return absl::StrCat("Scoring feature ", scoring::FeatureName(feature),
                      " (the name gives the window; unknown when the account has no value).");
}

bool IsLabelKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxLabelKeyLength) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

double WholeDays(absl::Duration d) { return std::floor(absl::FDivDuration(d, absl::Hours(24))); }

absl::string_view SizeText(v1::AccountSize size) {
  switch (size) {
    case v1::ACCOUNT_SIZE_SMB:
      return "smb";
    case v1::ACCOUNT_SIZE_MID_MARKET:
      return "mid_market";
    case v1::ACCOUNT_SIZE_ENTERPRISE:
      return "enterprise";
    default:
      return "";
  }
}

absl::string_view StatusText(v1::AccountStatus status) {
  switch (status) {
    case v1::ACCOUNT_STATUS_TRIAL:
      return "trial";
    case v1::ACCOUNT_STATUS_CHURNED:
      return "churned";
    default:
      return "active";
  }
}

std::optional<Value> RiskLevelText(v1::RiskLevel level) {
  switch (level) {
    case v1::RISK_LEVEL_LOW:
      return Value(absl::string_view("low"));
    case v1::RISK_LEVEL_MEDIUM:
      return Value(absl::string_view("medium"));
    case v1::RISK_LEVEL_HIGH:
      return Value(absl::string_view("high"));
    default:
      return std::nullopt;
  }
}

std::optional<Value> Clv(const v1::LifetimeValue& clv) {
  const v1::ClvEstimate* basic = nullptr;
  for (const v1::ClvEstimate& estimate : clv.estimates()) {
    if (estimate.formula() == "with_expansion") return Value(estimate.value());
    if (basic == nullptr && estimate.formula() == "basic") basic = &estimate;
  }
  if (basic != nullptr) return Value(basic->value());
  if (clv.estimates().empty()) return std::nullopt;
  return Value(clv.estimates(0).value());
}

// Scores list known features in Feature order with the unknown ones left out, so feature i sits at a
// position <= i: scanning down from there usually finds it in a step or two. The rest is scanned too, so
// any order works.
std::optional<Value> FeatureValue(const v1::Scores& scores, scoring::Feature feature) {
  const auto& features = scores.features();
  const int size = features.size();
  if (size == 0) return std::nullopt;
  const absl::string_view name = scoring::FeatureName(feature);
  const int start = std::min(static_cast<int>(feature), size - 1);
  auto value_of = [](const v1::FeatureValue& f) -> std::optional<Value> {
    if (std::isnan(f.value())) return std::nullopt;
    return Value(f.value());
  };
  for (int i = start; i >= 0; --i) {
    if (features[i].name() == name) return value_of(features[i]);
  }
  for (int i = start + 1; i < size; ++i) {
    if (features[i].name() == name) return value_of(features[i]);
  }
  return std::nullopt;
}

std::optional<Value> Text(const std::string& text) { return Value(absl::string_view(text)); }

std::optional<Value> AccountValue(const FieldRef& field, const v1::Account& account, absl::Time now) {
  switch (field.id) {
    case FieldId::kAccountId:
      return Text(account.account_id());
    case FieldId::kDisplayName:
      return Text(account.display_name());
    case FieldId::kIndustry:
      return Text(account.industry());
    case FieldId::kPlan:
      return Text(account.plan().name());
    case FieldId::kSize:
      return Value(SizeText(account.size()));
    case FieldId::kStatus:
      return Value(StatusText(account.status()));
    case FieldId::kSeats:
      return Value(static_cast<double>(account.seats()));
    case FieldId::kMrr:
      return Value(account.mrr());
    case FieldId::kArpu:
      return Value(account.arpu() > 0 ? account.arpu() : account.mrr());
    case FieldId::kGrossMargin:
      return Value(account.gross_margin());
    case FieldId::kCac:
      if (account.cac() == 0) return std::nullopt;
      return Value(account.cac());
    case FieldId::kTenureDays:
      if (!account.has_start_time()) return std::nullopt;
      return Value(WholeDays(now - ToTime(account.start_time())));
    case FieldId::kDaysToRenewal:
      if (!account.has_renewal_time()) return std::nullopt;
      return Value(WholeDays(ToTime(account.renewal_time()) - now));
    case FieldId::kLabel: {
      auto it = account.labels().find(field.label_key);
      if (it == account.labels().end()) return std::nullopt;
      return Text(it->second);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> ScoresValue(const FieldRef& field, const v1::Scores& scores) {
  switch (field.id) {
    case FieldId::kFeature:
      return FeatureValue(scores, field.feature);
    case FieldId::kHealth:
      if (!scores.has_health()) return std::nullopt;
      return Value(scores.health().score());
    case FieldId::kChurnProbability:
      if (!scores.has_churn()) return std::nullopt;
      return Value(scores.churn().probability());
    case FieldId::kRiskScore:
      if (!scores.has_churn()) return std::nullopt;
      return Value(scores.churn().risk_score());
    case FieldId::kRiskLevel:
      return RiskLevelText(scores.churn().level());
    case FieldId::kClv:
      return Clv(scores.clv());
    case FieldId::kHealthChange7d:
      if (!scores.trend().has_change_7d()) return std::nullopt;
      return Value(scores.trend().change_7d());
    case FieldId::kHealthChange30d:
      if (!scores.trend().has_change_30d()) return std::nullopt;
      return Value(scores.trend().change_30d());
    default:
      return std::nullopt;
  }
}

}  // namespace

std::vector<v1::SegmentField> SegmentFields() {
  std::vector<v1::SegmentField> fields;
  auto add = [&fields](absl::string_view name, FieldType type, absl::string_view description) {
    v1::SegmentField& field = fields.emplace_back();
    field.set_name(std::string(name));
    field.set_type(type == FieldType::kNumber ? "number" : "text");
    field.set_description(std::string(description));
  };
  for (const FixedField& fixed : kFixedFields) add(fixed.name, fixed.type, fixed.description);
  add(absl::StrCat(kLabelPrefix, "<key>"), FieldType::kText, kLabelDescription);
  for (std::size_t i = 0; i < scoring::kFeatureCount; ++i) {
    const auto feature = static_cast<scoring::Feature>(i);
    add(absl::StrCat(kFeaturePrefix, scoring::FeatureName(feature)), FieldType::kNumber,
        FeatureDescription(feature));
  }
  std::sort(fields.begin(), fields.end(),
            [](const v1::SegmentField& a, const v1::SegmentField& b) { return a.name() < b.name(); });
  return fields;
}

absl::StatusOr<FieldRef> ResolveField(absl::string_view name) {
  FieldRef ref;
  ref.name = std::string(name);
  for (const FixedField& fixed : kFixedFields) {
    if (fixed.name == name) {
      ref.id = fixed.id;
      ref.type = fixed.type;
      return ref;
    }
  }
  if (absl::StartsWith(name, kLabelPrefix)) {
    if (!IsLabelKey(name.substr(kLabelPrefix.size()))) {
      return absl::InvalidArgumentError(
          absl::StrCat("label key in \"", name, "\" must be 1 to 63 characters of [a-z0-9_.-]"));
    }
    ref.id = FieldId::kLabel;
    ref.type = FieldType::kText;
    ref.label_key = std::string(name.substr(kLabelPrefix.size()));
    return ref;
  }
  if (absl::StartsWith(name, kFeaturePrefix)) {
    if (std::optional<scoring::Feature> feature =
            scoring::FeatureByName(name.substr(kFeaturePrefix.size()))) {
      ref.id = FieldId::kFeature;
      ref.type = FieldType::kNumber;
      ref.feature = *feature;
      return ref;
    }
  }
  if (name.empty()) return absl::InvalidArgumentError("a field is required; ListSegmentFields lists them");
  return absl::InvalidArgumentError(
      absl::StrCat("unknown field \"", name, "\"; ListSegmentFields lists the fields"));
}

std::optional<Value> Lookup(const FieldRef& field, const AccountView& view) {
  switch (field.id) {
    case FieldId::kLoyaltyPoints:
      return Value(view.loyalty == nullptr ? 0.0 : static_cast<double>(view.loyalty->balance()));
    case FieldId::kLoyaltyEarned:
      return Value(view.loyalty == nullptr ? 0.0 : static_cast<double>(view.loyalty->earned()));
    case FieldId::kSegment:
      return std::nullopt;
    case FieldId::kFeature:
    case FieldId::kHealth:
    case FieldId::kChurnProbability:
    case FieldId::kRiskScore:
    case FieldId::kRiskLevel:
    case FieldId::kClv:
    case FieldId::kHealthChange7d:
    case FieldId::kHealthChange30d:
      if (view.scores == nullptr) return std::nullopt;
      return ScoresValue(field, *view.scores);
    default:
      if (view.account == nullptr) return std::nullopt;
      return AccountValue(field, *view.account, view.now);
  }
}

std::string FormatNumber(double value) {
  if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<std::int64_t>(value));
  }
  if (!std::isfinite(value)) return absl::StrCat(value);
  // The shortest %g form that reads back as the same double.
  for (int precision = 6; precision < std::numeric_limits<double>::max_digits10; ++precision) {
    std::string text = absl::StrFormat("%.*g", precision, value);
    double parsed = 0;
    if (absl::SimpleAtod(text, &parsed) && parsed == value) return text;
  }
  return absl::StrFormat("%.*g", std::numeric_limits<double>::max_digits10, value);
}

std::string FormatValue(const std::optional<Value>& value) {
  if (!value.has_value()) return "unknown";
  if (const double* number = std::get_if<double>(&*value)) return FormatNumber(*number);
  return std::string(std::get<absl::string_view>(*value));
}

}  // namespace steward::segmentation
