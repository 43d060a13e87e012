#include "services/scoring/model/condition.h"

#include <optional>

#include "absl/strings/str_cat.h"

namespace steward::scoring {

bool Compare(v1::Comparison comparison, double observed, double threshold) {
  switch (comparison) {
    case v1::COMPARISON_LESS:
      return observed < threshold;
    case v1::COMPARISON_LESS_OR_EQUAL:
      return observed <= threshold;
    case v1::COMPARISON_GREATER:
      return observed > threshold;
    case v1::COMPARISON_GREATER_OR_EQUAL:
      return observed >= threshold;
    default:
      return false;
  }
}

absl::string_view ComparisonSymbol(v1::Comparison comparison) {
  switch (comparison) {
    case v1::COMPARISON_LESS:
      return "<";
    case v1::COMPARISON_LESS_OR_EQUAL:
      return "<=";
    case v1::COMPARISON_GREATER:
      return ">";
    case v1::COMPARISON_GREATER_OR_EQUAL:
      return ">=";
    default:
      return "?";
  }
}

bool ConditionHolds(const v1::Condition& condition, const FeatureVector& features) {
  std::optional<Feature> feature = FeatureByName(condition.feature());
  if (!feature.has_value()) return false;
  std::optional<double> observed = features.Get(*feature);
  if (!observed.has_value()) return false;
  return Compare(condition.comparison(), *observed, condition.threshold());
}

std::string ConditionText(const v1::Condition& condition) {
  // StrCat prints doubles with up to six significant digits ("0.5", "3", "1e+06"): enough for thresholds.
  return absl::StrCat(condition.feature(), " ", ComparisonSymbol(condition.comparison()), " ",
                      condition.threshold());
}

}  // namespace steward::scoring
