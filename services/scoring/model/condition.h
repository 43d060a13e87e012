#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "services/scoring/features.h"
#include "steward/v1/scoring_model.pb.h"

namespace steward::scoring {

// Whether `observed <comparison> threshold` holds. COMPARISON_UNSPECIFIED (and any value this build does
// not know) never holds, so a malformed rule stays silent instead of firing for every account.
bool Compare(v1::Comparison comparison, double observed, double threshold);

// The operator of a comparison as written in rule text: "<", "<=", ">", ">=", or "?" when unspecified.
absl::string_view ComparisonSymbol(v1::Comparison comparison);

// Whether the condition holds for these features. False when the feature is unknown to the account
// (no value), when the name is not a feature at all, or when the comparison is unspecified.
// Looks the feature up by name on every call; hot paths should resolve the name once with
// FeatureByName and call Compare.
bool ConditionHolds(const v1::Condition& condition, const FeatureVector& features);

// The condition as human-readable text, e.g. "email_open_rate_14d < 0.5"; what ChurnSignal.condition and
// logs show.
std::string ConditionText(const v1::Condition& condition);

}  // namespace steward::scoring
