#include "services/scoring/model/churn_scorer.h"

#include <algorithm>
#include <utility>

#include "services/scoring/model/condition.h"

namespace steward::scoring {

v1::RiskLevel RiskLevelFromName(absl::string_view name) {
  if (name == "low") return v1::RISK_LEVEL_LOW;
  if (name == "medium") return v1::RISK_LEVEL_MEDIUM;
  if (name == "high") return v1::RISK_LEVEL_HIGH;
  return v1::RISK_LEVEL_UNSPECIFIED;
}

ChurnScorer::CompiledCondition ChurnScorer::Compile(const v1::Condition& condition) {
  return CompiledCondition{FeatureByName(condition.feature()), condition.comparison(), condition.threshold()};
}

std::optional<double> ChurnScorer::Holds(const CompiledCondition& condition, const FeatureVector& features) {
  if (!condition.feature.has_value()) return std::nullopt;
  std::optional<double> observed = features.Get(*condition.feature);
  if (!observed.has_value() || !Compare(condition.comparison, *observed, condition.threshold)) {
    return std::nullopt;
  }
  return observed;
}

ChurnScorer::ChurnScorer(v1::ChurnModel model) : model_(std::move(model)) {
  categories_.reserve(model_.categories_size());
  for (const v1::ChurnCategory& category : model_.categories()) {
    categories_.push_back(Category{category.name(), category.weight(), 0});
  }
  signals_.reserve(model_.signals_size());
  for (const v1::ChurnSignalRule& rule : model_.signals()) {
    Signal& signal = signals_.emplace_back();
    signal.name = rule.name();
    signal.category = rule.category();
    signal.condition_text = ConditionText(rule.condition());
    signal.feature = rule.condition().feature();
    signal.condition = Compile(rule.condition());
    signal.weight = rule.weight();
    for (std::size_t i = 0; i < categories_.size(); ++i) {
      if (categories_[i].name == rule.category()) {
        signal.category_index = i;
        categories_[i].total_weight += rule.weight();
        break;
      }
    }
  }
  levels_.reserve(model_.levels_size());
  for (const v1::ChurnLevelRule& level : model_.levels()) {
    levels_.push_back(Level{level.min_active_signals(), RiskLevelFromName(level.name()),
                            level.probability_min(), level.probability_max()});
  }
  std::sort(levels_.begin(), levels_.end(),
            [](const Level& a, const Level& b) { return a.min_active_signals > b.min_active_signals; });
  red_flags_.reserve(model_.red_flags_size());
  for (const v1::RedFlagRule& flag : model_.red_flags()) {
    RedFlagRule& rule = red_flags_.emplace_back();
    rule.name = flag.name();
    rule.probability_floor = flag.probability_floor();
    for (const v1::Condition& condition : flag.conditions()) rule.conditions.push_back(Compile(condition));
  }
}

void ChurnScorer::Score(const FeatureVector& features, v1::ChurnRisk& result) const {
  result.Clear();

  std::vector<double> active_weight(categories_.size(), 0.0);
  int active_count = 0;
  for (const Signal& signal : signals_) {
    std::optional<double> observed = Holds(signal.condition, features);
    if (!observed.has_value()) continue;
    ++active_count;
    if (signal.category_index.has_value()) active_weight[*signal.category_index] += signal.weight;
    v1::ChurnSignal* out = result.add_active_signals();
    out->set_name(signal.name);
    out->set_category(signal.category);
    out->set_condition(signal.condition_text);
    out->set_feature(signal.feature);
    out->set_threshold(signal.condition.threshold);
    out->set_weight(signal.weight);
    out->set_observed(*observed);
  }

  double risk = 0;
  for (std::size_t i = 0; i < categories_.size(); ++i) {
    const Category& category = categories_[i];
    double contribution =
        category.total_weight > 0 ? category.weight * active_weight[i] / category.total_weight : 0;
    v1::CategoryRisk* out = result.add_categories();
    out->set_name(category.name);
    out->set_weight(category.weight);
    out->set_active_weight(active_weight[i]);
    out->set_total_weight(category.total_weight);
    out->set_contribution(contribution);
    risk += contribution;
  }
  result.set_risk_score(risk);

  double rule_probability = 0;
  for (const Level& level : levels_) {
    if (level.min_active_signals <= active_count) {
      result.set_level(level.level);
      rule_probability = std::clamp(
          level.probability_min + (level.probability_max - level.probability_min) * risk / 100, 0.0, 1.0);
      break;
    }
  }
  result.set_rule_probability(rule_probability);

  double probability = rule_probability;
  for (const RedFlagRule& flag : red_flags_) {
    bool holds = !flag.conditions.empty() &&
                 std::all_of(flag.conditions.begin(), flag.conditions.end(),
                             [&](const CompiledCondition& c) { return Holds(c, features).has_value(); });
    if (!holds) continue;
    v1::RedFlag* out = result.add_red_flags();
    out->set_name(flag.name);
    out->set_probability_floor(flag.probability_floor);
    probability = std::max(probability, flag.probability_floor);
  }
  result.set_probability(probability);
}

}  // namespace steward::scoring
