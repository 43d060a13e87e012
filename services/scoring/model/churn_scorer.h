#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/scoring/features.h"
#include "steward/v1/scores.pb.h"
#include "steward/v1/scoring_model.pb.h"

namespace steward::scoring {

// The rule-based churn model of SPEC §2.2.
//
// - A signal is active when its condition holds; a feature without a value never activates a signal.
//   Every active signal is listed with its category, its rule as text ("email_open_rate_14d < 0.5"),
//   feature, threshold, weight and the observed value.
// - Each category contributes weight × (Σ weights of its active signals ÷ Σ weights of all its
//   signals); risk_score is the sum of the contributions, 0..100.
// - The level is the level rule with the largest min_active_signals ≤ the number of active signals.
//   Level names "low", "medium" and "high" map to RISK_LEVEL_LOW/MEDIUM/HIGH; any other name to
//   RISK_LEVEL_UNSPECIFIED (the probability is still computed from that rule).
// - rule_probability = probability_min + (probability_max − probability_min) × risk_score / 100 of that
//   level. With validated levels (which do not overlap) it is monotone: more active signals never give
//   a lower probability.
// - Red flags whose conditions all hold are listed, and probability = max(rule_probability, the
//   highest of their floors).
//
// The model is expected to have passed ValidateChurnModel (model_config.h); an unvalidated one does not
// crash the scorer (unknown features never hold, signals of unknown categories count towards the level
// but add no risk, no level rule gives RISK_LEVEL_UNSPECIFIED and probability 0 before floors).
// Immutable after construction; safe to share between threads.
class ChurnScorer {
 public:
  explicit ChurnScorer(v1::ChurnModel model);

  // Scores one account; hot path, everything model-only is resolved in the constructor.
  v1::ChurnRisk Score(const FeatureVector& features) const {
    v1::ChurnRisk result;
    Score(features, result);
    return result;
  }
  // The same, filling `result` in place (e.g. a message on an arena).
  void Score(const FeatureVector& features, v1::ChurnRisk& result) const;

  const v1::ChurnModel& model() const { return model_; }

 private:
  // A condition with its feature name resolved once.
  struct CompiledCondition {
    std::optional<Feature> feature;
    v1::Comparison comparison;
    double threshold;
  };
  struct Signal {
    std::string name;
    std::string category;
    std::string condition_text;
    std::string feature;
    CompiledCondition condition;
    double weight;
    std::optional<std::size_t> category_index;  // into categories_
  };
  struct Category {
    std::string name;
    double weight;
    double total_weight;  // Σ weights of its signals
  };
  struct Level {
    int min_active_signals;
    v1::RiskLevel level;
    double probability_min;
    double probability_max;
  };
  struct RedFlagRule {
    std::string name;
    std::vector<CompiledCondition> conditions;
    double probability_floor;
  };

  static CompiledCondition Compile(const v1::Condition& condition);
  // The observed value when the condition holds, nullopt otherwise.
  static std::optional<double> Holds(const CompiledCondition& condition, const FeatureVector& features);

  v1::ChurnModel model_;
  std::vector<Category> categories_;
  std::vector<Signal> signals_;
  std::vector<Level> levels_;  // highest min_active_signals first
  std::vector<RedFlagRule> red_flags_;
};

// Maps a level rule's name to the API enum: "low", "medium", "high"; anything else is UNSPECIFIED.
v1::RiskLevel RiskLevelFromName(absl::string_view name);

}  // namespace steward::scoring
