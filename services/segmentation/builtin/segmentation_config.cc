#include "services/segmentation/builtin/segmentation_config.h"

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/text_config.h"
#include "google/protobuf/text_format.h"

namespace steward::segmentation {
namespace {

using ::google::protobuf::TextFormat;
using text_config::ErrorsToStatus;
using text_config::FieldRef;
using text_config::Node;
using text_config::ParseTextFile;
using text_config::Reporter;
using text_config::RootNode;

using Config = v1::SegmentationConfig;

// Segment limits of segment.proto.
constexpr std::size_t kMaxTextChars = 1000;
constexpr std::size_t kMaxIdChars = 63;

// Characters, not bytes: UTF-8 continuation bytes are not counted.
std::size_t Utf8Length(absl::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether a byte survives industry-name normalisation, and what it becomes.
bool Kept(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x80 || IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z');
}
char Folded(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool HasKeptChar(absl::string_view name) {
  for (char c : name) {
    if (Kept(c)) return true;
  }
  return false;
}

// A check of one number; `what` completes "must be ...", for example "a finite number > 0".
void CheckNumber(Reporter& r, const FieldRef& ref, double value, bool ok, absl::string_view what) {
  if (!ok || !std::isfinite(value)) r.Error(ref, absl::StrCat("must be ", what, ", got ", value));
}

void CheckText(Reporter& r, const Node& parent, absl::string_view field, const Config::SegmentText& text) {
  Node node = r.Nested(parent, field);
  if (text.display_name().empty()) r.Error(r.Field(node, "display_name"), "a display name is required");
  if (Utf8Length(text.description()) > kMaxTextChars) {
    r.Error(r.Field(node, "description"), absl::StrCat("must be at most ", kMaxTextChars, " characters"));
  }
  if (Utf8Length(text.treatment()) > kMaxTextChars) {
    r.Error(r.Field(node, "treatment"), absl::StrCat("must be at most ", kMaxTextChars, " characters"));
  }
}

void CheckQuadrant(const Config::QuadrantSegmentation& c, const Node& node, Reporter& r) {
  CheckNumber(r, r.Field(node, "high_value_clv_above"), c.high_value_clv_above(),
              c.high_value_clv_above() >= 0, "a finite number >= 0");
  CheckNumber(r, r.Field(node, "high_value_mrr_at_least"), c.high_value_mrr_at_least(),
              c.high_value_mrr_at_least() > 0, "a finite number > 0");
  const double p = c.high_risk_probability_at_least();
  CheckNumber(r, r.Field(node, "high_risk_probability_at_least"), p, p > 0 && p <= 1, "in (0, 1]");
  CheckText(r, node, "high_value_low_risk", c.high_value_low_risk());
  CheckText(r, node, "high_value_high_risk", c.high_value_high_risk());
  CheckText(r, node, "low_value_low_risk", c.low_value_low_risk());
  CheckText(r, node, "low_value_high_risk", c.low_value_high_risk());
}

void CheckClvTier(const Config::ClvTierSegmentation& c, const Node& node, Reporter& r) {
  CheckNumber(r, r.Field(node, "low_below"), c.low_below(), c.low_below() >= 0, "a finite number >= 0");
  if (std::isfinite(c.low_below()) && c.low_below() >= 0) {
    CheckNumber(r, r.Field(node, "high_above"), c.high_above(), c.high_above() >= c.low_below(),
                absl::StrCat("a finite number >= low_below (", c.low_below(), ")"));
  }
  CheckText(r, node, "high", c.high());
  CheckText(r, node, "medium", c.medium());
  CheckText(r, node, "low", c.low());
  CheckText(r, node, "unknown", c.unknown());
}

void CheckPersona(const Config::PersonaSegmentation& c, const Node& node, Reporter& r) {
  const double logins = c.power_min_logins_30d();
  CheckNumber(r, r.Field(node, "power_min_logins_30d"), logins, logins > 0, "a finite number > 0");
  const double share = c.power_min_feature_share();
  CheckNumber(r, r.Field(node, "power_min_feature_share"), share, share >= 0 && share <= 1, "in [0, 1]");
  const double low_logins = c.struggling_logins_below();
  CheckNumber(r, r.Field(node, "struggling_logins_below"), low_logins,
              low_logins >= 0 && low_logins <= logins,
              absl::StrCat("a finite number in [0, power_min_logins_30d (", logins, ")]"));
  const double low_share = c.struggling_feature_share_below();
  CheckNumber(r, r.Field(node, "struggling_feature_share_below"), low_share,
              low_share >= 0 && low_share <= share,
              absl::StrCat("in [0, power_min_feature_share (", share, ")]"));
  const double health = c.struggling_health_below();
  CheckNumber(r, r.Field(node, "struggling_health_below"), health, health >= 0 && health <= 100,
              "in [0, 100]");
  CheckText(r, node, "power", c.power());
  CheckText(r, node, "casual", c.casual());
  CheckText(r, node, "struggling", c.struggling());
}

bool IsIndustryId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdChars || !IsLower(id[0])) return false;
  for (char c : id) {
    if (!IsLower(c) && !IsDigit(c) && c != '-') return false;
  }
  return true;
}

void CheckIndustry(const Config::IndustrySegmentation& c, const Node& node, Reporter& r) {
  if (c.industries_size() == 0) r.Error(r.Field(node, "industries"), "at least one industry is required");
  // Every name seen so far (ids and aliases) with where it was, to report the same industry named twice.
  struct Seen {
    absl::string_view name;
    std::string path;
  };
  std::vector<Seen> seen;
  auto check_distinct = [&](const FieldRef& ref, absl::string_view name) {
    for (const Seen& s : seen) {
      if (SameIndustryName(s.name, name)) {
        r.Error(ref,
                absl::StrCat("\"", name, "\" names the same industry as \"", s.name, "\" (", s.path, ")"));
        return;
      }
    }
    seen.push_back(Seen{name, ref.path});
  };
  for (int i = 0; i < c.industries_size(); ++i) {
    const Config::Industry& industry = c.industries(i);
    Node industry_node = r.Nested(node, "industries", i);
    FieldRef id_ref = r.Field(industry_node, "id");
    if (!IsIndustryId(industry.id())) {
      r.Error(id_ref, absl::StrCat("must be 1 to 63 characters of [a-z0-9-] starting with a letter, got \"",
                                   industry.id(), "\""));
    } else if (industry.id() == "other" || industry.id() == "unknown") {
      r.Error(id_ref, absl::StrCat("\"", industry.id(), "\" is reserved for industry.", industry.id()));
    } else {
      check_distinct(id_ref, industry.id());
    }
    for (int j = 0; j < industry.aliases_size(); ++j) {
      FieldRef alias_ref = r.Field(industry_node, "aliases", j);
      if (!HasKeptChar(industry.aliases(j))) {
        r.Error(alias_ref, absl::StrCat("must have a letter or a digit, got \"", industry.aliases(j), "\""));
      } else {
        check_distinct(alias_ref, industry.aliases(j));
      }
    }
    CheckText(r, industry_node, "segment", industry.segment());
  }
  CheckText(r, node, "other", c.other());
  CheckText(r, node, "unknown", c.unknown());
}

void CheckSize(const Config::SizeSegmentation& c, const Node& node, Reporter& r) {
  CheckText(r, node, "smb", c.smb());
  CheckText(r, node, "mid_market", c.mid_market());
  CheckText(r, node, "enterprise", c.enterprise());
  CheckText(r, node, "unknown", c.unknown());
}

void CheckLifecycle(const Config::LifecycleSegmentation& c, const Node& node, Reporter& r) {
  if (c.onboarding_max_days() < 0) {
    r.Error(r.Field(node, "onboarding_max_days"),
            absl::StrCat("must be >= 0, got ", c.onboarding_max_days()));
  } else if (c.adoption_max_days() <= c.onboarding_max_days()) {
    r.Error(r.Field(node, "adoption_max_days"),
            absl::StrCat("must be > onboarding_max_days (", c.onboarding_max_days(), "), got ",
                         c.adoption_max_days()));
  }
  CheckText(r, node, "trial", c.trial());
  CheckText(r, node, "onboarding", c.onboarding());
  CheckText(r, node, "adoption", c.adoption());
  CheckText(r, node, "expansion", c.expansion());
  CheckText(r, node, "active", c.active());
  CheckText(r, node, "churned", c.churned());
}

void CheckNps(const Config::NpsSegmentation& c, const Node& node, Reporter& r) {
  if (c.detractor_max() < 0 || c.detractor_max() > 8) {
    r.Error(r.Field(node, "detractor_max"), absl::StrCat("must be in 0..8, got ", c.detractor_max()));
  } else if (c.passive_max() <= c.detractor_max() || c.passive_max() > 9) {
    r.Error(r.Field(node, "passive_max"),
            absl::StrCat("must be in ", c.detractor_max() + 1, "..9 (above detractor_max, below 10), got ",
                         c.passive_max()));
  }
  CheckText(r, node, "detractor", c.detractor());
  CheckText(r, node, "passive", c.passive());
  CheckText(r, node, "promoter", c.promoter());
  CheckText(r, node, "none", c.none());
}

bool IsLabelKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxIdChars) return false;
  for (char c : key) {
    if (!IsLower(c) && !IsDigit(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

void CheckAdvocacy(const Config::AdvocacySegmentation& c, const Node& node, Reporter& r) {
  if (!IsLabelKey(c.ambassador_label_key())) {
    r.Error(r.Field(node, "ambassador_label_key"),
            absl::StrCat("must be a label key, 1 to 63 characters of [a-z0-9_.-], got \"",
                         c.ambassador_label_key(), "\""));
  }
  if (c.ambassador_label_value().empty()) {
    r.Error(r.Field(node, "ambassador_label_value"), "a label value is required");
  }
  CheckNumber(r, r.Field(node, "advocate_min_referrals_90d"), c.advocate_min_referrals_90d(),
              c.advocate_min_referrals_90d() > 0, "a finite number > 0");
  const double days = c.champion_min_active_days_30d();
  CheckNumber(r, r.Field(node, "champion_min_active_days_30d"), days, days >= 0 && days <= 30, "in [0, 30]");
  const double nps = c.champion_min_nps();
  CheckNumber(r, r.Field(node, "champion_min_nps"), nps, nps >= 0 && nps <= 10, "in [0, 10]");
  const double csat = c.champion_min_csat();
  CheckNumber(r, r.Field(node, "champion_min_csat"), csat, csat >= 0 && csat <= 5, "in [0, 5]");
  CheckText(r, node, "ambassador", c.ambassador());
  CheckText(r, node, "advocate", c.advocate());
  CheckText(r, node, "champion", c.champion());
  CheckText(r, node, "none", c.none());
}

void CheckLoyalty(const Config::LoyaltySegmentation& c, const Node& node, Reporter& r) {
  CheckText(r, node, "bronze", c.bronze());
  CheckText(r, node, "silver", c.silver());
  CheckText(r, node, "gold", c.gold());
  CheckText(r, node, "platinum", c.platinum());
}

void CheckConfig(const Config& config, const Node& root, Reporter& r) {
  CheckQuadrant(config.quadrant(), r.Nested(root, "quadrant"), r);
  CheckClvTier(config.clv_tier(), r.Nested(root, "clv_tier"), r);
  CheckPersona(config.persona(), r.Nested(root, "persona"), r);
  CheckIndustry(config.industry(), r.Nested(root, "industry"), r);
  CheckSize(config.size(), r.Nested(root, "size"), r);
  CheckLifecycle(config.lifecycle(), r.Nested(root, "lifecycle"), r);
  CheckNps(config.nps(), r.Nested(root, "nps"), r);
  CheckAdvocacy(config.advocacy(), r.Nested(root, "advocacy"), r);
  CheckLoyalty(config.loyalty(), r.Nested(root, "loyalty"), r);
}

}  // namespace

absl::StatusOr<v1::SegmentationConfig> LoadSegmentationConfig(const std::string& path) {
  return text_config::LoadFile<v1::SegmentationConfig>(path, CheckConfig);
}

absl::Status ValidateSegmentationConfig(const v1::SegmentationConfig& config, absl::string_view source) {
  return text_config::Validate(config, source, CheckConfig);
}

bool SameIndustryName(absl::string_view a, absl::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (true) {
    while (i < a.size() && !Kept(a[i])) ++i;
    while (j < b.size() && !Kept(b[j])) ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (Folded(a[i]) != Folded(b[j])) return false;
    ++i;
    ++j;
  }
}

}  // namespace steward::segmentation
