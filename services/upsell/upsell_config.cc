#include "services/upsell/upsell_config.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/text_config.h"
#include "steward/v1/scores.pb.h"

namespace steward::upsell {
namespace {

using text_config::FieldRef;
using text_config::Node;
using text_config::Reporter;

bool IsId(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Product names double as label suffixes ("product.<name>"), so they use the label-key alphabet.
bool IsProductName(const std::string& name) {
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

// A closed range [lo, hi]; with `open_low` the range is (lo, hi].
void CheckRange(Reporter& r, const FieldRef& ref, double value, double lo, double hi, bool open_low = false) {
  if (!std::isfinite(value)) {
    r.Error(ref, absl::StrCat("must be a finite number, got ", value));
  } else if (open_low ? value <= lo || value > hi : value < lo || value > hi) {
    r.Error(ref, absl::StrCat("must be in ", open_low ? "(" : "[", lo, ", ", hi, "], got ", value));
  }
}

// Element `index` of a repeated field. A list written as `name: [a, b]` records no position per element,
// so the error then points at the list.
FieldRef Element(const Reporter& r, const Node& node, absl::string_view name, int index) {
  FieldRef ref = r.Field(node, name, index);
  if (ref.location.line < 0 ||
      (ref.location.line == node.location.line && ref.location.column == node.location.column)) {
    const FieldRef whole = r.Field(node, name);
    if (whole.location.line >= 0) ref.location = whole.location;
  }
  return ref;
}

void CheckInt(Reporter& r, const FieldRef& ref, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) r.Error(ref, absl::StrCat("must be in ", lo, "..", hi, ", got ", value));
}

// The condition field each kind must carry.
v1::UpsellTrigger::ConditionCase ConditionFor(v1::UpsellTriggerKind kind) {
  switch (kind) {
    case v1::UPSELL_TRIGGER_KIND_USAGE:
      return v1::UpsellTrigger::kUsage;
    case v1::UPSELL_TRIGGER_KIND_RESULTS:
      return v1::UpsellTrigger::kResults;
    case v1::UPSELL_TRIGGER_KIND_LIMIT:
      return v1::UpsellTrigger::kLimit;
    case v1::UPSELL_TRIGGER_KIND_COMPLEMENTARY_PRODUCT:
      return v1::UpsellTrigger::kComplementaryProduct;
    case v1::UPSELL_TRIGGER_KIND_SEASONAL:
      return v1::UpsellTrigger::kSeasonal;
    case v1::UPSELL_TRIGGER_KIND_DEPARTMENTAL_EXPANSION:
      return v1::UpsellTrigger::kDepartmentalExpansion;
    default:
      return v1::UpsellTrigger::CONDITION_NOT_SET;
  }
}

// The name of the oneof member for a condition case, e.g. "results".
std::string ConditionName(v1::UpsellTrigger::ConditionCase c) {
  const auto* field = v1::UpsellTrigger::descriptor()->FindFieldByNumber(static_cast<int>(c));
  return field != nullptr ? field->name() : "none";
}

void CheckCondition(const v1::UpsellTrigger& t, const Node& node, Reporter& r) {
  const v1::UpsellTrigger::ConditionCase expected = ConditionFor(t.kind());
  if (expected == v1::UpsellTrigger::CONDITION_NOT_SET) return;  // the kind error says it all
  if (t.condition_case() != expected) {
    const FieldRef ref = t.condition_case() == v1::UpsellTrigger::CONDITION_NOT_SET
                             ? r.Field(node, "kind")
                             : r.Field(node, ConditionName(t.condition_case()));
    r.Error(ref, absl::StrCat(v1::UpsellTriggerKind_Name(t.kind()), " needs a `", ConditionName(expected),
                              "` condition block, got ", ConditionName(t.condition_case())));
    return;
  }
  const Node c = r.Nested(node, ConditionName(expected));
  switch (expected) {
    case v1::UpsellTrigger::kUsage:
      CheckRange(r, r.Field(c, "min_feature_share"), t.usage().min_feature_share(), 0, 1, true);
      CheckInt(r, r.Field(c, "sustain_days"), t.usage().sustain_days(), 1, 365);
      break;
    case v1::UpsellTrigger::kResults:
      CheckRange(r, r.Field(c, "roi_percent_above"), t.results().roi_percent_above(), -100, 1e9);
      CheckInt(r, r.Field(c, "min_tenure_days"), t.results().min_tenure_days(), 0, 3650);
      CheckRange(r, r.Field(c, "min_nps_answer"), t.results().min_nps_answer(), 0, 10);
      break;
    case v1::UpsellTrigger::kLimit:
      CheckRange(r, r.Field(c, "min_limit_usage"), t.limit().min_limit_usage(), 0, 10, true);
      CheckInt(r, r.Field(c, "min_feature_requests"), t.limit().min_feature_requests(), 0, 1000);
      break;
    case v1::UpsellTrigger::kComplementaryProduct: {
      const v1::ComplementaryProductCondition& cp = t.complementary_product();
      if (!IsProductName(cp.required_product())) {
        r.Error(r.Field(c, "required_product"),
                absl::StrCat("must be made of [a-z0-9_.-], got \"", cp.required_product(), "\""));
      }
      CheckInt(r, r.Field(c, "min_tenure_days"), cp.min_tenure_days(), 0, 3650);
      CheckRange(r, r.Field(c, "min_health"), cp.min_health(), 0, 100);
      CheckRange(r, r.Field(c, "min_nps_answer"), cp.min_nps_answer(), 0, 10);
      break;
    }
    case v1::UpsellTrigger::kSeasonal: {
      const v1::SeasonalCondition& s = t.seasonal();
      if (s.months_size() == 0) r.Error(r.Field(c, "months"), "at least one month (1..12) is required");
      absl::flat_hash_set<int> seen;
      for (int i = 0; i < s.months_size(); ++i) {
        const FieldRef ref = Element(r, c, "months", i);
        if (s.months(i) < 1 || s.months(i) > 12) {
          r.Error(ref, absl::StrCat("must be a month 1..12, got ", s.months(i)));
        } else if (!seen.insert(s.months(i)).second) {
          r.Error(ref, absl::StrCat("duplicate month ", s.months(i)));
        }
      }
      break;
    }
    case v1::UpsellTrigger::kDepartmentalExpansion:
      CheckRange(r, r.Field(c, "min_seat_utilization"), t.departmental_expansion().min_seat_utilization(), 0,
                 1, true);
      CheckInt(r, r.Field(c, "min_seats"), t.departmental_expansion().min_seats(), 0, 1000000);
      break;
    case v1::UpsellTrigger::CONDITION_NOT_SET:
      break;
  }
}

void CheckOffer(const v1::UpsellOffer& offer, const Node& node, bool have_ladder, Reporter& r) {
  if (offer.description().empty()) r.Error(r.Field(node, "description"), "a description is required");
  const int targets = (offer.next_plan() ? 1 : 0) + (offer.target_plan().empty() ? 0 : 1) +
                      (offer.target_product().empty() ? 0 : 1) + (offer.additional_licences() ? 1 : 0);
  if (targets != 1) {
    r.Error(
        r.Field(node, "description"),
        absl::StrCat("exactly one of next_plan, target_plan, target_product and additional_licences must be "
                     "set, got ",
                     targets));
  }
  if (offer.next_plan() && !have_ladder) {
    r.Error(r.Field(node, "next_plan"), "needs a plan_ladder to find the next plan in");
  }
  if (!IsProductName(offer.target_product())) {
    r.Error(r.Field(node, "target_product"),
            absl::StrCat("must be made of [a-z0-9_.-], got \"", offer.target_product(), "\""));
  }
  CheckRange(r, r.Field(node, "discount_percent"), offer.discount_percent(), 0, 100);
  if (offer.max_discount_percent() != 0) {
    CheckRange(r, r.Field(node, "max_discount_percent"), offer.max_discount_percent(),
               std::isfinite(offer.discount_percent()) ? offer.discount_percent() : 0, 100);
  }
  CheckInt(r, r.Field(node, "discount_months"), offer.discount_months(), 0, 36);
  CheckInt(r, r.Field(node, "free_months"), offer.free_months(), 0, 12);
}

void CheckConfig(const v1::UpsellConfig& config, const Node& root, Reporter& r) {
  CheckRange(r, r.Field(root, "at_risk_max_health"), config.at_risk_max_health(), 0, 100);
  if (config.at_risk_churn_level() == v1::RISK_LEVEL_UNSPECIFIED ||
      !v1::RiskLevel_IsValid(config.at_risk_churn_level())) {
    r.Error(r.Field(root, "at_risk_churn_level"),
            "a risk level is required (RISK_LEVEL_LOW, RISK_LEVEL_MEDIUM or RISK_LEVEL_HIGH)");
  }
  absl::flat_hash_set<std::string> plans;
  for (int i = 0; i < config.plan_ladder_size(); ++i) {
    const FieldRef ref = Element(r, root, "plan_ladder", i);
    if (config.plan_ladder(i).empty()) {
      r.Error(ref, "a plan name is required");
    } else if (!plans.insert(config.plan_ladder(i)).second) {
      r.Error(ref, absl::StrCat("duplicate plan \"", config.plan_ladder(i), "\""));
    }
  }

  if (config.triggers_size() == 0) r.Error(r.Field(root, "triggers"), "at least one trigger is required");
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < config.triggers_size(); ++i) {
    const v1::UpsellTrigger& t = config.triggers(i);
    const Node node = r.Nested(root, "triggers", i);
    const FieldRef id_ref = r.Field(node, "id");
    if (!IsId(t.id())) {
      r.Error(id_ref, absl::StrCat("must be made of [a-z0-9_]+, got \"", t.id(), "\""));
    } else if (!ids.insert(t.id()).second) {
      r.Error(id_ref, absl::StrCat("duplicate trigger id \"", t.id(), "\""));
    }
    if (t.display_name().empty()) r.Error(r.Field(node, "display_name"), "a display name is required");
    if (ConditionFor(t.kind()) == v1::UpsellTrigger::CONDITION_NOT_SET) {
      r.Error(r.Field(node, "kind"),
              "a kind is required (UPSELL_TRIGGER_KIND_USAGE, _RESULTS, _LIMIT, "
              "_COMPLEMENTARY_PRODUCT, _SEASONAL or _DEPARTMENTAL_EXPANSION)");
    }
    CheckCondition(t, node, r);
    if (!t.has_offer()) {
      r.Error(r.Field(node, "offer"), "an offer is required");
    } else {
      CheckOffer(t.offer(), r.Nested(node, "offer"), config.plan_ladder_size() > 0, r);
    }
    if (t.priority() == v1::UPSELL_PRIORITY_UNSPECIFIED || !v1::UpsellPriority_IsValid(t.priority())) {
      r.Error(r.Field(node, "priority"),
              "a priority is required (UPSELL_PRIORITY_HIGH, UPSELL_PRIORITY_MEDIUM or UPSELL_PRIORITY_LOW)");
    }
    const FieldRef min_ref = r.Field(node, "expected_conversion_min");
    const FieldRef max_ref = r.Field(node, "expected_conversion_max");
    CheckRange(r, min_ref, t.expected_conversion_min(), 0, 1);
    CheckRange(r, max_ref, t.expected_conversion_max(), 0, 1);
    if (t.expected_conversion_max() < t.expected_conversion_min()) {
      r.Error(max_ref, absl::StrCat("must be at least expected_conversion_min ", t.expected_conversion_min(),
                                    ", got ", t.expected_conversion_max()));
    }
    CheckInt(r, r.Field(node, "cooldown_days"), t.cooldown_days(), 1, 3650);
    if (t.kind_of_sale() == v1::SALE_KIND_UNSPECIFIED || !v1::SaleKind_IsValid(t.kind_of_sale())) {
      r.Error(r.Field(node, "kind_of_sale"),
              "a kind of sale is required (SALE_KIND_UPSELL or SALE_KIND_CROSS_SELL)");
    }
  }
}

}  // namespace

absl::StatusOr<v1::UpsellConfig> LoadUpsellConfig(const std::string& path) {
  return text_config::LoadFile<v1::UpsellConfig>(path, CheckConfig);
}

absl::Status ValidateUpsellConfig(const v1::UpsellConfig& config, absl::string_view source) {
  return text_config::Validate(config, source, CheckConfig);
}

}  // namespace steward::upsell
