#include "services/upsell/trigger_engine.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/scoring/features.h"

namespace steward::upsell {
namespace {

using scoring::Feature;
using scoring::FeatureName;

// Feature values are computed ratios (8 / 10 features): a threshold written as 0.8 must match them even
// when the division rounds a hair below.
constexpr double kEpsilon = 1e-9;

std::string Num(double value) { return absl::StrFormat("%g", value); }

// The conditions of one trigger, as clauses that each hold or not, with the inputs they read.
class Clauses {
 public:
  // value ≥ threshold.
  void AtLeast(const std::string& name, std::optional<double> value, double threshold) {
    Compare(name, value, threshold, "≥", "<", value.has_value() && *value >= threshold - kEpsilon);
  }

  // value > threshold.
  void Above(const std::string& name, std::optional<double> value, double threshold) {
    Compare(name, value, threshold, ">", "≤", value.has_value() && *value > threshold + kEpsilon);
  }

  // A clause that is not a comparison, described either way.
  // An empty `if_holds` leaves the clause out of the reason when it holds.
  void Fact(bool holds, const std::string& if_holds, const std::string& if_not) {
    if (!holds) {
      failed_.push_back(if_not);
    } else if (!if_holds.empty()) {
      passed_.push_back(if_holds);
    }
  }

  void Input(const std::string& name, double value) {
    v1::FeatureValue* input = &inputs_.emplace_back();
    input->set_name(name);
    input->set_value(value);
  }

  bool ok() const { return failed_.empty(); }
  // When every clause holds, all of them; otherwise only those that failed.
  std::string Reason() const { return absl::StrJoin(ok() ? passed_ : failed_, ok() ? " and " : "; "); }
  const std::vector<v1::FeatureValue>& inputs() const { return inputs_; }

 private:
  void Compare(const std::string& name, std::optional<double> value, double threshold, const char* op,
               const char* negated, bool holds) {
    if (!value.has_value()) {
      failed_.push_back(absl::StrCat(name, " unknown (needs ", op, " ", Num(threshold), ")"));
      return;
    }
    Input(name, *value);
    (holds ? passed_ : failed_)
        .push_back(absl::StrCat(name, " ", Num(*value), " ", holds ? op : negated, " ", Num(threshold)));
  }

  std::vector<std::string> passed_;
  std::vector<std::string> failed_;
  std::vector<v1::FeatureValue> inputs_;
};

class Features {
 public:
  explicit Features(const v1::Scores* scores) : scores_(scores) {}

  std::optional<double> Get(Feature feature) const {
    if (scores_ == nullptr) return std::nullopt;
    const absl::string_view name = FeatureName(feature);
    for (const v1::FeatureValue& value : scores_->features()) {
      if (value.name() == name) return value.value();
    }
    return std::nullopt;
  }

  std::optional<double> Health() const {
    if (scores_ == nullptr || !scores_->has_health()) return std::nullopt;
    return scores_->health().score();
  }

 private:
  const v1::Scores* scores_;
};

std::string Name(Feature feature) { return std::string(FeatureName(feature)); }

void CheckUsage(const v1::UsageCondition& c, const AccountSnapshot& s, const Features& f, Clauses& out) {
  const std::string share = Name(Feature::kFeatureShare30d);
  const auto history = s.history.find(share);
  if (history == s.history.end()) {
    out.AtLeast(share, f.Get(Feature::kFeatureShare30d), c.min_feature_share());
    // Without daily history the 30-day window is the evidence; it only covers 30 days once the account
    // is that old.
    out.AtLeast(Name(Feature::kTenureDays), f.Get(Feature::kTenureDays), c.sustain_days());
    return;
  }
  const std::vector<double>& days = history->second;
  if (days.size() < static_cast<std::size_t>(c.sustain_days())) {
    out.Fact(false, "",
             absl::StrCat("only ", days.size(), " days of ", share, " history, needs ", c.sustain_days()));
    return;
  }
  const double lowest = *std::min_element(days.end() - c.sustain_days(), days.end());
  out.Input(share, days.back());
  out.AtLeast(absl::StrCat("lowest daily ", share, " over the last ", c.sustain_days(), " days"), lowest,
              c.min_feature_share());
}

void CheckResults(const v1::ResultsCondition& c, const Features& f, Clauses& out) {
  out.Above(Name(Feature::kRoiPercent), f.Get(Feature::kRoiPercent), c.roi_percent_above());
  out.AtLeast(Name(Feature::kTenureDays), f.Get(Feature::kTenureDays), c.min_tenure_days());
  out.AtLeast(Name(Feature::kNps), f.Get(Feature::kNps), c.min_nps_answer());
}

void CheckComplementary(const v1::ComplementaryProductCondition& c, const v1::Account& account,
                        const Features& f, Clauses& out) {
  if (!c.required_product().empty()) {
    out.Fact(HasProduct(account, c.required_product()), absl::StrCat("has product ", c.required_product()),
             absl::StrCat("does not have product ", c.required_product()));
  }
  out.AtLeast(Name(Feature::kTenureDays), f.Get(Feature::kTenureDays), c.min_tenure_days());
  out.AtLeast("health", f.Health(), c.min_health());
  out.AtLeast(Name(Feature::kNps), f.Get(Feature::kNps), c.min_nps_answer());
}

void CheckSeasonal(const v1::SeasonalCondition& c, absl::Time now, Clauses& out) {
  const int month = absl::ToCivilDay(now, absl::UTCTimeZone()).month();
  out.Input("month", month);
  const bool in_season = std::find(c.months().begin(), c.months().end(), month) != c.months().end();
  const std::string season = absl::StrCat("[", absl::StrJoin(c.months(), ", "), "]");
  out.Fact(in_season, absl::StrCat("month ", month, " in season ", season),
           absl::StrCat("month ", month, " not in season ", season));
}

void CheckDepartmental(const v1::DepartmentalExpansionCondition& c, const v1::Account& account,
                       const Features& f, Clauses& out) {
  out.AtLeast(Name(Feature::kSeatUtilization), f.Get(Feature::kSeatUtilization), c.min_seat_utilization());
  out.AtLeast("seats", account.seats(), c.min_seats());
}

// Resolves the offer for this account, or says why it does not apply.
void ResolveOffer(const v1::UpsellConfig& config, const v1::Account& account, v1::UpsellOffer& offer,
                  Clauses& out) {
  const std::string& plan = account.plan().name();
  if (offer.next_plan()) {
    const auto& ladder = config.plan_ladder();
    const auto at = std::find(ladder.begin(), ladder.end(), plan);
    if (at == ladder.end()) {
      out.Fact(false, "",
               absl::StrCat("plan \"", plan, "\" is not in the plan ladder, so there is no next plan"));
    } else if (at + 1 == ladder.end()) {
      out.Fact(false, "", absl::StrCat("already on the top plan \"", plan, "\""));
    } else {
      offer.set_target_plan(*(at + 1));
    }
  } else if (!offer.target_plan().empty()) {
    out.Fact(plan != offer.target_plan(), "", absl::StrCat("already on plan \"", plan, "\""));
  } else if (!offer.target_product().empty()) {
    out.Fact(!HasProduct(account, offer.target_product()), "",
             absl::StrCat("already has product ", offer.target_product()));
  }
}

// Why the account is at risk, or empty.
std::string AtRiskReason(const v1::UpsellConfig& config, const Features& f, const v1::Scores* scores) {
  std::vector<std::string> reasons;
  const std::optional<double> health = f.Health();
  if (!health.has_value()) {
    reasons.push_back("no health score, so the account cannot be shown not to be at risk");
  } else if (*health < config.at_risk_max_health()) {
    reasons.push_back(absl::StrCat("health ", Num(*health), " < ", Num(config.at_risk_max_health())));
  }
  if (scores != nullptr && scores->has_churn() && scores->churn().level() != v1::RISK_LEVEL_UNSPECIFIED &&
      scores->churn().level() >= config.at_risk_churn_level()) {
    reasons.push_back(absl::StrCat("churn risk ", v1::RiskLevel_Name(scores->churn().level()), " (",
                                   scores->churn().active_signals_size(), " active signals) ≥ ",
                                   v1::RiskLevel_Name(config.at_risk_churn_level())));
  }
  if (reasons.empty()) return "";
  return absl::StrCat("at risk, routed to retention: ", absl::StrJoin(reasons, "; "));
}

}  // namespace

bool HasProduct(const v1::Account& account, const std::string& product) {
  return account.plan().name() == product || account.labels().contains(absl::StrCat("product.", product));
}

absl::Duration Cooldown(const v1::UpsellTrigger& trigger) {
  return absl::Hours(24) * trigger.cooldown_days();
}

Evaluation EvaluateTriggers(const v1::UpsellConfig& config, const AccountSnapshot& snapshot) {
  Evaluation result;
  const auto none_fire = [&](const std::string& reason) {
    for (const v1::UpsellTrigger& t : config.triggers())
      result.not_fired_reasons.emplace_back(t.id(), reason);
    return result;
  };
  if (snapshot.account == nullptr) return none_fire("no account");
  const v1::Account& account = *snapshot.account;
  if (account.status() == v1::ACCOUNT_STATUS_CHURNED) return none_fire("the account has churned");

  const Features features(snapshot.scores);
  result.at_risk_reason = AtRiskReason(config, features, snapshot.scores);
  if (!result.at_risk_reason.empty()) {
    result.at_risk = true;
    return none_fire(result.at_risk_reason);
  }

  for (const v1::UpsellTrigger& t : config.triggers()) {
    Clauses clauses;
    switch (t.condition_case()) {
      case v1::UpsellTrigger::kUsage:
        CheckUsage(t.usage(), snapshot, features, clauses);
        break;
      case v1::UpsellTrigger::kResults:
        CheckResults(t.results(), features, clauses);
        break;
      case v1::UpsellTrigger::kLimit: {
        // Either way in: at a limit, or asking for what the plan lacks.
        const std::optional<double> requests = features.Get(Feature::kFeatureRequests30d);
        const int min_requests = t.limit().min_feature_requests();
        if (min_requests > 0 && requests.has_value() && *requests >= min_requests) {
          clauses.AtLeast(Name(Feature::kFeatureRequests30d), requests, min_requests);
        } else {
          clauses.AtLeast(Name(Feature::kMaxLimitUsage), features.Get(Feature::kMaxLimitUsage),
                          t.limit().min_limit_usage());
        }
        break;
      }
      case v1::UpsellTrigger::kComplementaryProduct:
        CheckComplementary(t.complementary_product(), account, features, clauses);
        break;
      case v1::UpsellTrigger::kSeasonal:
        CheckSeasonal(t.seasonal(), snapshot.now, clauses);
        break;
      case v1::UpsellTrigger::kDepartmentalExpansion:
        CheckDepartmental(t.departmental_expansion(), account, features, clauses);
        break;
      case v1::UpsellTrigger::CONDITION_NOT_SET:
        clauses.Fact(false, "", "the trigger has no condition");
        break;
    }
    v1::UpsellOffer offer = t.offer();
    ResolveOffer(config, account, offer, clauses);
    if (!clauses.ok()) {
      result.not_fired_reasons.emplace_back(t.id(), clauses.Reason());
      continue;
    }
    v1::FiredTrigger& fired = result.fired.emplace_back();
    fired.set_trigger_id(t.id());
    fired.set_kind(t.kind());
    fired.set_display_name(t.display_name());
    fired.set_reason(clauses.Reason());
    for (const v1::FeatureValue& input : clauses.inputs()) *fired.add_inputs() = input;
    *fired.mutable_offer() = std::move(offer);
    fired.set_priority(t.priority());
    fired.set_expected_conversion_min(t.expected_conversion_min());
    fired.set_expected_conversion_max(t.expected_conversion_max());
    fired.set_kind_of_sale(t.kind_of_sale());
  }

  const auto key = [](const v1::FiredTrigger& f) {
    // Higher priority and higher midpoint first: negate them so that one ascending order does it all.
    return std::make_tuple(-static_cast<int>(f.priority()),
                           -(f.expected_conversion_min() + f.expected_conversion_max()) / 2, f.trigger_id());
  };
  std::sort(result.fired.begin(), result.fired.end(),
            [&](const v1::FiredTrigger& a, const v1::FiredTrigger& b) { return key(a) < key(b); });
  for (std::size_t i = 0; i < result.fired.size(); ++i) result.fired[i].set_rank(static_cast<int>(i) + 1);
  return result;
}

}  // namespace steward::upsell
