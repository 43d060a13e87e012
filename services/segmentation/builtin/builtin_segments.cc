#include "services/segmentation/builtin/builtin_segments.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/segmentation/builtin/segmentation_config.h"

namespace steward::segmentation {
namespace {

using Config = v1::SegmentationConfig;
using Text = Config::SegmentText;
using Assignments = std::vector<v1::SegmentAssignment>;

constexpr absl::string_view kUnknown = "unknown";

// ---------------------------------------------------------------------------------------------------
// Numbers as text, formatted into a buffer on the stack.

class NumberText {
 public:
  // As rules and SegmentInput show numbers: integers without a decimal point ("12400"), others in the
  // shortest form that reads back to the same double ("0.35").
  static NumberText Plain(double value) {
    NumberText t;
    char* const end = t.buf_ + sizeof(t.buf_);
    std::to_chars_result r;
    if (std::isfinite(value) && value == std::trunc(value) && std::abs(value) < 1e15) {
      r = std::to_chars(t.buf_, end, static_cast<std::int64_t>(value));
    } else {
      r = std::to_chars(t.buf_, end, value);
    }
    t.size_ = r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - t.buf_) : 0;
    return t;
  }

  // As reasons show numbers: thousands separated, at most three decimals ("12,400", "0.35").
  static NumberText Grouped(double value) {
    if (!std::isfinite(value) || std::abs(value) >= 1e15) return Plain(value);
    char digits[32];
    std::to_chars_result r =
        std::to_chars(digits, digits + sizeof(digits), value, std::chars_format::fixed, 3);
    if (r.ec != std::errc()) return Plain(value);
    absl::string_view s(digits, static_cast<std::size_t>(r.ptr - digits));
    // Drop trailing zeros of the fraction, then the point if nothing is left after it.
    while (s.back() == '0') s.remove_suffix(1);
    if (s.back() == '.') s.remove_suffix(1);
    if (s == "-0") s = "0";
    NumberText t;
    std::size_t n = 0;
    if (s.front() == '-') {
      t.buf_[n++] = '-';
      s.remove_prefix(1);
    }
    const std::size_t point = std::min(s.find('.'), s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i > 0 && i < point && (point - i) % 3 == 0) t.buf_[n++] = ',';
      t.buf_[n++] = s[i];
    }
    t.size_ = n;
    return t;
  }

  absl::string_view view() const { return absl::string_view(buf_, size_); }

 private:
  char buf_[48];
  std::size_t size_ = 0;
};

// `value` for a reason where it is compared with `threshold`: grouped, unless rounding would make a
// value that differs from the threshold print the same ("0.4 < 0.4"), then in full.
NumberText Shown(double value, double threshold) {
  NumberText text = NumberText::Grouped(value);
  if (value != threshold && text.view() == NumberText::Grouped(threshold).view())
    return NumberText::Plain(value);
  return text;
}

NumberText Shown(double value) { return NumberText::Grouped(value); }

// ---------------------------------------------------------------------------------------------------
// The inputs, gathered once.

struct Facts {
  std::optional<double> clv;
  std::optional<double> churn_probability;
  std::optional<double> health;
  std::optional<double> logins_30d;
  std::optional<double> feature_share_30d;
  std::optional<double> active_days_30d;
  std::optional<double> nps;
  std::optional<double> csat;
  std::optional<double> referrals_90d;
};

std::optional<double> Known(double value) {
  if (std::isnan(value)) return std::nullopt;
  return value;
}

Facts Gather(const AccountView& view) {
  Facts f;
  if (view.scores == nullptr) return f;
  const v1::Scores& scores = *view.scores;

  const v1::ClvEstimate* chosen = nullptr;
  const v1::ClvEstimate* basic = nullptr;
  for (const v1::ClvEstimate& estimate : scores.clv().estimates()) {
    if (estimate.formula() == "with_expansion") {
      chosen = &estimate;
      break;
    }
    if (basic == nullptr && estimate.formula() == "basic") basic = &estimate;
  }
  if (chosen == nullptr) chosen = basic;
  if (chosen == nullptr && scores.clv().estimates_size() > 0) chosen = &scores.clv().estimates(0);
  if (chosen != nullptr) f.clv = Known(chosen->value());

  if (scores.has_churn()) f.churn_probability = Known(scores.churn().probability());
  if (scores.has_health()) f.health = Known(scores.health().score());

  for (const v1::FeatureValue& feature : scores.features()) {
    const absl::string_view name = feature.name();
    std::optional<double>* slot = nullptr;
    if (name == "logins_30d") {
      slot = &f.logins_30d;
    } else if (name == "feature_share_30d") {
      slot = &f.feature_share_30d;
    } else if (name == "active_days_30d") {
      slot = &f.active_days_30d;
    } else if (name == "nps") {
      slot = &f.nps;
    } else if (name == "csat") {
      slot = &f.csat;
    } else if (name == "referrals_90d") {
      slot = &f.referrals_90d;
    }
    if (slot != nullptr) *slot = Known(feature.value());
  }
  return f;
}

// ---------------------------------------------------------------------------------------------------
// Building assignments.

void Assign(std::string* field, absl::string_view value) { field->assign(value.data(), value.size()); }

v1::SegmentAssignment& Begin(Assignments& out, absl::string_view segmentation) {
  v1::SegmentAssignment& a = out.emplace_back();
  Assign(a.mutable_segmentation(), segmentation);
  return a;
}

void Finish(v1::SegmentAssignment& a, absl::string_view segment_id, const Text& text, std::string reason) {
  Assign(a.mutable_segment_id(), segment_id);
  Assign(a.mutable_display_name(), text.display_name());
  Assign(a.mutable_treatment(), text.treatment());
  *a.mutable_reason() = std::move(reason);
}

void AddInput(v1::SegmentAssignment& a, absl::string_view field, std::optional<double> value) {
  v1::SegmentInput* input = a.add_inputs();
  Assign(input->mutable_field(), field);
  Assign(input->mutable_value(), value.has_value() ? NumberText::Plain(*value).view() : kUnknown);
}

// An empty text is unknown.
void AddTextInput(v1::SegmentAssignment& a, absl::string_view field, absl::string_view value) {
  v1::SegmentInput* input = a.add_inputs();
  Assign(input->mutable_field(), field);
  Assign(input->mutable_value(), value.empty() ? kUnknown : value);
}

// Appends "name value op threshold", for example "clv 12,400 > 10,000".
void AppendComparison(std::string* reason, absl::string_view name, double value, absl::string_view op,
                      double threshold) {
  absl::StrAppend(reason, name, " ", Shown(value, threshold).view(), " ", op, " ", Shown(threshold).view());
}

// ---------------------------------------------------------------------------------------------------
// The segmentations.

void AssignQuadrant(const Config::QuadrantSegmentation& c, const AccountView& view, const Facts& f,
                    Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "quadrant");
  std::string reason;
  bool high_value = false;
  AddInput(a, "score.clv", f.clv);
  if (f.clv.has_value()) {
    high_value = *f.clv > c.high_value_clv_above();
    AppendComparison(&reason, "clv", *f.clv, high_value ? ">" : "<=", c.high_value_clv_above());
  } else if (view.account != nullptr) {
    const double mrr = view.account->mrr();
    AddInput(a, "account.mrr", mrr);
    high_value = mrr >= c.high_value_mrr_at_least();
    reason = "clv unknown, ";
    AppendComparison(&reason, "mrr", mrr, high_value ? ">=" : "<", c.high_value_mrr_at_least());
  } else {
    AddInput(a, "account.mrr", std::nullopt);
    reason = "clv and mrr unknown";
  }
  absl::StrAppend(&reason, high_value ? " (high value), " : " (low value), ");

  bool high_risk = false;
  AddInput(a, "score.churn_probability", f.churn_probability);
  if (f.churn_probability.has_value()) {
    high_risk = *f.churn_probability >= c.high_risk_probability_at_least();
    AppendComparison(&reason, "churn probability", *f.churn_probability, high_risk ? ">=" : "<",
                     c.high_risk_probability_at_least());
  } else {
    absl::StrAppend(&reason, "churn probability unknown");
  }
  absl::StrAppend(&reason, high_risk ? " (high risk)" : " (low risk)");

  if (high_value) {
    if (high_risk) {
      Finish(a, "quadrant/high-value-high-risk", c.high_value_high_risk(), std::move(reason));
    } else {
      Finish(a, "quadrant/high-value-low-risk", c.high_value_low_risk(), std::move(reason));
    }
  } else if (high_risk) {
    Finish(a, "quadrant/low-value-high-risk", c.low_value_high_risk(), std::move(reason));
  } else {
    Finish(a, "quadrant/low-value-low-risk", c.low_value_low_risk(), std::move(reason));
  }
}

void AssignClvTier(const Config::ClvTierSegmentation& c, const Facts& f, Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "clv-tier");
  AddInput(a, "score.clv", f.clv);
  std::string reason;
  if (!f.clv.has_value()) {
    Finish(a, "clv-tier/unknown", c.unknown(), "no clv estimate");
  } else if (*f.clv > c.high_above()) {
    AppendComparison(&reason, "clv", *f.clv, ">", c.high_above());
    Finish(a, "clv-tier/high", c.high(), std::move(reason));
  } else if (*f.clv < c.low_below()) {
    AppendComparison(&reason, "clv", *f.clv, "<", c.low_below());
    Finish(a, "clv-tier/low", c.low(), std::move(reason));
  } else {
    absl::StrAppend(&reason, "clv ", Shown(*f.clv).view(), " between ", Shown(c.low_below()).view(), " and ",
                    Shown(c.high_above()).view());
    Finish(a, "clv-tier/medium", c.medium(), std::move(reason));
  }
}

void AppendSeparator(std::string* reason) {
  if (!reason->empty()) absl::StrAppend(reason, ", ");
}

void AssignPersona(const Config::PersonaSegmentation& c, const Facts& f, Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "persona");
  AddInput(a, "feature.logins_30d", f.logins_30d);
  AddInput(a, "feature.feature_share_30d", f.feature_share_30d);
  AddInput(a, "score.health", f.health);
  std::string reason;

  const bool power_logins = f.logins_30d.has_value() && *f.logins_30d >= c.power_min_logins_30d();
  const bool power_share =
      !f.feature_share_30d.has_value() || *f.feature_share_30d >= c.power_min_feature_share();
  if (power_logins && power_share) {
    AppendComparison(&reason, "logins_30d", *f.logins_30d, ">=", c.power_min_logins_30d());
    if (f.feature_share_30d.has_value()) {
      reason += ", ";
      AppendComparison(&reason, "feature_share_30d", *f.feature_share_30d, ">=", c.power_min_feature_share());
    } else {
      reason += ", feature_share_30d unknown";
    }
    Finish(a, "persona/power", c.power(), std::move(reason));
    return;
  }

  if (f.logins_30d.has_value() && *f.logins_30d < c.struggling_logins_below()) {
    AppendComparison(&reason, "logins_30d", *f.logins_30d, "<", c.struggling_logins_below());
  }
  if (f.feature_share_30d.has_value() && *f.feature_share_30d < c.struggling_feature_share_below()) {
    AppendSeparator(&reason);
    AppendComparison(&reason, "feature_share_30d", *f.feature_share_30d, "<",
                     c.struggling_feature_share_below());
  }
  if (f.health.has_value() && *f.health < c.struggling_health_below()) {
    AppendSeparator(&reason);
    AppendComparison(&reason, "health", *f.health, "<", c.struggling_health_below());
  }
  if (!reason.empty()) {
    Finish(a, "persona/struggling", c.struggling(), std::move(reason));
    return;
  }

  // Casual: say what kept the account from being a power user.
  if (!f.logins_30d.has_value()) {
    reason = "logins_30d unknown";
  } else if (!power_logins) {
    AppendComparison(&reason, "logins_30d", *f.logins_30d, "<", c.power_min_logins_30d());
  } else {
    AppendComparison(&reason, "feature_share_30d", *f.feature_share_30d, "<", c.power_min_feature_share());
  }
  reason += ", no sign of struggling";
  Finish(a, "persona/casual", c.casual(), std::move(reason));
}

void AssignIndustry(const Config::IndustrySegmentation& c, const AccountView& view, Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "industry");
  const absl::string_view industry =
      view.account != nullptr ? absl::string_view(view.account->industry()) : absl::string_view();
  AddTextInput(a, "account.industry", industry);
  if (SameIndustryName(industry, "")) {
    Finish(a, "industry/unknown", c.unknown(), "no industry");
    return;
  }
  for (const Config::Industry& candidate : c.industries()) {
    bool match = SameIndustryName(industry, candidate.id());
    for (int i = 0; !match && i < candidate.aliases_size(); ++i) {
      match = SameIndustryName(industry, candidate.aliases(i));
    }
    if (match) {
      Finish(a, "", candidate.segment(), absl::StrCat("industry \"", industry, "\" is ", candidate.id()));
      std::string* id = a.mutable_segment_id();
      id->reserve(9 + candidate.id().size());
      id->append("industry/").append(candidate.id());
      return;
    }
  }
  Finish(a, "industry/other", c.other(),
         absl::StrCat("industry \"", industry, "\" is not one of the configured industries"));
}

void AssignSize(const Config::SizeSegmentation& c, const AccountView& view, Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "size");
  const v1::AccountSize size = view.account != nullptr ? view.account->size() : v1::ACCOUNT_SIZE_UNSPECIFIED;
  switch (size) {
    case v1::ACCOUNT_SIZE_SMB:
      AddTextInput(a, "account.size", "smb");
      Finish(a, "size/smb", c.smb(), "size smb");
      return;
    case v1::ACCOUNT_SIZE_MID_MARKET:
      AddTextInput(a, "account.size", "mid_market");
      Finish(a, "size/mid-market", c.mid_market(), "size mid_market");
      return;
    case v1::ACCOUNT_SIZE_ENTERPRISE:
      AddTextInput(a, "account.size", "enterprise");
      Finish(a, "size/enterprise", c.enterprise(), "size enterprise");
      return;
    default:
      AddTextInput(a, "account.size", "");
      Finish(a, "size/unknown", c.unknown(), "size not given");
      return;
  }
}

void AssignLifecycle(const Config::LifecycleSegmentation& c, const AccountView& view, Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "lifecycle");
  if (view.account == nullptr) {
    AddTextInput(a, "account.status", "");
    AddInput(a, "account.tenure_days", std::nullopt);
    Finish(a, "lifecycle/active", c.active(), "no account data");
    return;
  }
  const v1::Account& account = *view.account;
  switch (account.status()) {
    case v1::ACCOUNT_STATUS_CHURNED:
      AddTextInput(a, "account.status", "churned");
      Finish(a, "lifecycle/churned", c.churned(), "status churned");
      return;
    case v1::ACCOUNT_STATUS_TRIAL:
      AddTextInput(a, "account.status", "trial");
      Finish(a, "lifecycle/trial", c.trial(), "status trial");
      return;
    default:
      // UpsertAccount treats an unspecified status as active.
      AddTextInput(a, "account.status", "active");
      break;
  }
  const google::protobuf::Timestamp& start_time = account.start_time();
  if (!account.has_start_time() || (start_time.seconds() == 0 && start_time.nanos() == 0)) {
    AddInput(a, "account.tenure_days", std::nullopt);
    Finish(a, "lifecycle/active", c.active(), "status active, no start time");
    return;
  }
  const absl::Time start =
      absl::FromUnixSeconds(start_time.seconds()) + absl::Nanoseconds(start_time.nanos());
  absl::Duration remainder;
  const std::int64_t days =
      view.now > start ? absl::IDivDuration(view.now - start, absl::Hours(24), &remainder) : std::int64_t{0};
  AddInput(a, "account.tenure_days", static_cast<double>(days));
  std::string reason = absl::StrCat("tenure ", Shown(static_cast<double>(days)).view(), " days ");
  if (days <= c.onboarding_max_days()) {
    absl::StrAppend(&reason, "<= ", Shown(c.onboarding_max_days()).view());
    Finish(a, "lifecycle/onboarding", c.onboarding(), std::move(reason));
  } else if (days <= c.adoption_max_days()) {
    absl::StrAppend(&reason, "between ", Shown(c.onboarding_max_days() + 1.0).view(), " and ",
                    Shown(c.adoption_max_days()).view());
    Finish(a, "lifecycle/adoption", c.adoption(), std::move(reason));
  } else {
    absl::StrAppend(&reason, "> ", Shown(c.adoption_max_days()).view());
    Finish(a, "lifecycle/expansion", c.expansion(), std::move(reason));
  }
}

void AssignNps(const Config::NpsSegmentation& c, const Facts& f, Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "nps");
  AddInput(a, "feature.nps", f.nps);
  std::string reason;
  if (!f.nps.has_value()) {
    Finish(a, "nps/none", c.none(), "no nps answer");
  } else if (*f.nps <= c.detractor_max()) {
    AppendComparison(&reason, "nps", *f.nps, "<=", c.detractor_max());
    Finish(a, "nps/detractor", c.detractor(), std::move(reason));
  } else if (*f.nps <= c.passive_max()) {
    absl::StrAppend(&reason, Shown(c.detractor_max()).view(), " < nps ", Shown(*f.nps).view(),
                    " <= ", Shown(c.passive_max()).view());
    Finish(a, "nps/passive", c.passive(), std::move(reason));
  } else {
    AppendComparison(&reason, "nps", *f.nps, ">", c.passive_max());
    Finish(a, "nps/promoter", c.promoter(), std::move(reason));
  }
}

// Appends "name value op threshold" when the value is known, else "name unknown".
void AppendKnownComparison(std::string* reason, absl::string_view name, const std::optional<double>& value,
                           absl::string_view op, double threshold) {
  if (value.has_value()) {
    AppendComparison(reason, name, *value, op, threshold);
  } else {
    absl::StrAppend(reason, name, " unknown");
  }
}

void AssignAdvocacy(const Config::AdvocacySegmentation& c, const AccountView& view, const Facts& f,
                    Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "advocacy");

  absl::string_view label;
  if (view.account != nullptr) {
    const auto it = view.account->labels().find(c.ambassador_label_key());
    if (it != view.account->labels().end()) label = it->second;
  }
  {
    v1::SegmentInput* input = a.add_inputs();
    std::string* field = input->mutable_field();
    field->reserve(14 + c.ambassador_label_key().size());
    field->append("account.label.").append(c.ambassador_label_key());
    Assign(input->mutable_value(), label.empty() ? kUnknown : label);
  }
  if (!label.empty() && absl::EqualsIgnoreCase(label, c.ambassador_label_value())) {
    Finish(a, "advocacy/ambassador", c.ambassador(),
           absl::StrCat("label ", c.ambassador_label_key(), "=", label));
    return;
  }

  AddInput(a, "feature.referrals_90d", f.referrals_90d);
  std::string reason;
  if (f.referrals_90d.has_value() && *f.referrals_90d >= c.advocate_min_referrals_90d()) {
    AppendComparison(&reason, "referrals_90d", *f.referrals_90d, ">=", c.advocate_min_referrals_90d());
    Finish(a, "advocacy/advocate", c.advocate(), std::move(reason));
    return;
  }

  AddInput(a, "feature.active_days_30d", f.active_days_30d);
  AddInput(a, "feature.nps", f.nps);
  AddInput(a, "feature.csat", f.csat);
  const bool active = f.active_days_30d.has_value() && *f.active_days_30d >= c.champion_min_active_days_30d();
  const bool nps_ok = f.nps.has_value() && *f.nps >= c.champion_min_nps();
  const bool csat_ok = f.csat.has_value() && *f.csat >= c.champion_min_csat();
  if (active && (nps_ok || csat_ok)) {
    AppendComparison(&reason, "active_days_30d", *f.active_days_30d, ">=", c.champion_min_active_days_30d());
    reason += ", ";
    if (nps_ok) {
      AppendComparison(&reason, "nps", *f.nps, ">=", c.champion_min_nps());
    } else {
      AppendComparison(&reason, "csat", *f.csat, ">=", c.champion_min_csat());
    }
    Finish(a, "advocacy/champion", c.champion(), std::move(reason));
    return;
  }

  // None: what is missing for advocate and for champion.
  AppendKnownComparison(&reason, "referrals_90d", f.referrals_90d, "<", c.advocate_min_referrals_90d());
  reason += ", ";
  if (!active) {
    AppendKnownComparison(&reason, "active_days_30d", f.active_days_30d, "<",
                          c.champion_min_active_days_30d());
  } else {
    AppendKnownComparison(&reason, "nps", f.nps, "<", c.champion_min_nps());
    reason += " and ";
    AppendKnownComparison(&reason, "csat", f.csat, "<", c.champion_min_csat());
  }
  Finish(a, "advocacy/none", c.none(), std::move(reason));
}

void AssignLoyalty(const Config::LoyaltySegmentation& c, const AccountView& view, Assignments& out) {
  v1::SegmentAssignment& a = Begin(out, "loyalty");
  if (view.loyalty == nullptr) {
    AddInput(a, "loyalty.earned", 0.0);
    Finish(a, "loyalty/bronze", c.bronze(), "no loyalty record");
    return;
  }
  const double earned = static_cast<double>(view.loyalty->earned());
  AddInput(a, "loyalty.earned", earned);
  const auto reason = [&](absl::string_view tier) {
    return absl::StrCat("tier ", tier, " (", Shown(earned).view(), " points earned)");
  };
  switch (view.loyalty->tier()) {
    case v1::LOYALTY_TIER_SILVER:
      Finish(a, "loyalty/silver", c.silver(), reason("silver"));
      return;
    case v1::LOYALTY_TIER_GOLD:
      Finish(a, "loyalty/gold", c.gold(), reason("gold"));
      return;
    case v1::LOYALTY_TIER_PLATINUM:
      Finish(a, "loyalty/platinum", c.platinum(), reason("platinum"));
      return;
    default:
      Finish(a, "loyalty/bronze", c.bronze(), reason("bronze"));
      return;
  }
}

void AddSegment(std::vector<v1::Segment>& out, absl::string_view id, const Text& text) {
  v1::Segment& segment = out.emplace_back();
  Assign(segment.mutable_segment_id(), id);
  segment.set_display_name(text.display_name());
  segment.set_description(text.description());
  segment.set_treatment(text.treatment());
  segment.set_built_in(true);
}

}  // namespace

std::vector<v1::Segment> BuiltInSegments(const v1::SegmentationConfig& config) {
  std::vector<v1::Segment> out;
  const Config::QuadrantSegmentation& quadrant = config.quadrant();
  AddSegment(out, "quadrant/high-value-low-risk", quadrant.high_value_low_risk());
  AddSegment(out, "quadrant/high-value-high-risk", quadrant.high_value_high_risk());
  AddSegment(out, "quadrant/low-value-low-risk", quadrant.low_value_low_risk());
  AddSegment(out, "quadrant/low-value-high-risk", quadrant.low_value_high_risk());
  const Config::ClvTierSegmentation& clv = config.clv_tier();
  AddSegment(out, "clv-tier/high", clv.high());
  AddSegment(out, "clv-tier/medium", clv.medium());
  AddSegment(out, "clv-tier/low", clv.low());
  AddSegment(out, "clv-tier/unknown", clv.unknown());
  const Config::PersonaSegmentation& persona = config.persona();
  AddSegment(out, "persona/power", persona.power());
  AddSegment(out, "persona/casual", persona.casual());
  AddSegment(out, "persona/struggling", persona.struggling());
  const Config::IndustrySegmentation& industry = config.industry();
  for (const Config::Industry& entry : industry.industries()) {
    AddSegment(out, absl::StrCat("industry/", entry.id()), entry.segment());
  }
  AddSegment(out, "industry/other", industry.other());
  AddSegment(out, "industry/unknown", industry.unknown());
  const Config::SizeSegmentation& size = config.size();
  AddSegment(out, "size/smb", size.smb());
  AddSegment(out, "size/mid-market", size.mid_market());
  AddSegment(out, "size/enterprise", size.enterprise());
  AddSegment(out, "size/unknown", size.unknown());
  const Config::LifecycleSegmentation& lifecycle = config.lifecycle();
  AddSegment(out, "lifecycle/trial", lifecycle.trial());
  AddSegment(out, "lifecycle/onboarding", lifecycle.onboarding());
  AddSegment(out, "lifecycle/adoption", lifecycle.adoption());
  AddSegment(out, "lifecycle/expansion", lifecycle.expansion());
  AddSegment(out, "lifecycle/active", lifecycle.active());
  AddSegment(out, "lifecycle/churned", lifecycle.churned());
  const Config::NpsSegmentation& nps = config.nps();
  AddSegment(out, "nps/detractor", nps.detractor());
  AddSegment(out, "nps/passive", nps.passive());
  AddSegment(out, "nps/promoter", nps.promoter());
  AddSegment(out, "nps/none", nps.none());
  const Config::AdvocacySegmentation& advocacy = config.advocacy();
  AddSegment(out, "advocacy/ambassador", advocacy.ambassador());
  AddSegment(out, "advocacy/advocate", advocacy.advocate());
  AddSegment(out, "advocacy/champion", advocacy.champion());
  AddSegment(out, "advocacy/none", advocacy.none());
  const Config::LoyaltySegmentation& loyalty = config.loyalty();
  AddSegment(out, "loyalty/bronze", loyalty.bronze());
  AddSegment(out, "loyalty/silver", loyalty.silver());
  AddSegment(out, "loyalty/gold", loyalty.gold());
  AddSegment(out, "loyalty/platinum", loyalty.platinum());
  std::sort(out.begin(), out.end(),
            [](const v1::Segment& a, const v1::Segment& b) { return a.segment_id() < b.segment_id(); });
  return out;
}

std::vector<v1::SegmentAssignment> AssignBuiltInSegments(const v1::SegmentationConfig& config,
                                                         const AccountView& view) {
  const Facts facts = Gather(view);
  std::vector<v1::SegmentAssignment> out;
  out.reserve(kBuiltInSegmentations.size());
  AssignQuadrant(config.quadrant(), view, facts, out);
  AssignClvTier(config.clv_tier(), facts, out);
  AssignPersona(config.persona(), facts, out);
  AssignIndustry(config.industry(), view, out);
  AssignSize(config.size(), view, out);
  AssignLifecycle(config.lifecycle(), view, out);
  AssignNps(config.nps(), facts, out);
  AssignAdvocacy(config.advocacy(), view, facts, out);
  AssignLoyalty(config.loyalty(), view, out);
  return out;
}

}  // namespace steward::segmentation
