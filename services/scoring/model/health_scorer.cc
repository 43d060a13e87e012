#include "services/scoring/model/health_scorer.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace steward::scoring {

double RoundScore(double value) {
  constexpr double kHalfTolerance = 1e-9;
  return std::round(value + std::copysign(kHalfTolerance, value));
}

HealthScorer::HealthScorer(v1::ScoringModel model) : model_(std::move(model)) {
  components_.reserve(model_.components_size());
  for (const v1::ModelComponent& component : model_.components()) {
    Component& c = components_.emplace_back();
    c.name = component.name();
    c.weight = component.weight();
    c.inputs.reserve(component.inputs_size());
    for (const v1::ModelInput& input : component.inputs()) {
      c.inputs.push_back(Input{FeatureByName(input.feature()), input.feature(), input.weight(),
                               input.normalize().low(), input.normalize().high()});
    }
  }
  bands_.reserve(model_.bands_size());
  for (const v1::ModelBand& band : model_.bands()) {
    bands_.push_back(Band{band.min_score(), band.name(), band.action()});
  }
  std::sort(bands_.begin(), bands_.end(),
            [](const Band& a, const Band& b) { return a.min_score > b.min_score; });
  bonuses_.reserve(model_.bonuses_size());
  for (const v1::ModelBonus& bonus : model_.bonuses()) {
    bonuses_.push_back(Bonus{FeatureByName(bonus.feature()), bonus.points_per_unit(), bonus.max_points()});
  }
}

const HealthScorer::Band* HealthScorer::BandFor(double score) const {
  if (bands_.empty()) return nullptr;
  for (const Band& band : bands_) {
    if (band.min_score <= score) return &band;
  }
  return &bands_.back();
}

void HealthScorer::Score(const FeatureVector& features, v1::HealthScore& result) const {
  result.Clear();
  result.set_model(model_.name());

  // First pass: each component's value from its known inputs.
  double known_weight = 0;
  double weighted_sum = 0;
  for (const Component& component : components_) {
    v1::ComponentScore* out = result.add_components();
    out->set_name(component.name);
    out->set_weight(component.weight);
    double input_weight = 0;
    double input_sum = 0;
    for (const Input& input : component.inputs) {
      std::optional<double> observed =
          input.feature.has_value() ? features.Get(*input.feature) : std::nullopt;
      if (!observed.has_value()) {
        out->add_missing_inputs(input.name);
        continue;
      }
      double normalized = std::clamp((*observed - input.low) / (input.high - input.low) * 100, 0.0, 100.0);
      v1::InputContribution* contribution = out->add_inputs();
      contribution->set_feature(input.name);
      contribution->set_observed(*observed);
      contribution->set_normalized(normalized);
      contribution->set_weight(input.weight);  // raw weight for now, made a percent below
      input_weight += input.weight;
      input_sum += input.weight * normalized;
    }
    if (input_weight > 0) {
      for (v1::InputContribution& contribution : *out->mutable_inputs()) {
        contribution.set_weight(contribution.weight() * 100 / input_weight);
      }
      double value = input_sum / input_weight;
      out->set_value(value);
      out->set_known(true);
      known_weight += component.weight;
      weighted_sum += component.weight * value;
    }
  }

  if (known_weight <= 0) {
    // Nothing known: no score to speak of, so the account is treated as needing the most attention.
    result.set_score(0);
    if (!bands_.empty()) {
      result.set_band(bands_.back().name);
      result.set_action(bands_.back().action);
    }
    return;
  }

  // Second pass: the known components share 100% of the weight.
  for (v1::ComponentScore& component : *result.mutable_components()) {
    if (component.known()) component.set_effective_weight(component.weight() * 100 / known_weight);
  }
  // Σ effective_weight × value / 100 = Σ weight × value / known_weight, computed the second way to keep
  // one rounding step fewer.
  double raw = weighted_sum / known_weight;

  double bonus = 0;
  for (const Bonus& b : bonuses_) {
    if (!b.feature.has_value()) continue;
    std::optional<double> observed = features.Get(*b.feature);
    if (!observed.has_value() || !(*observed > 0)) continue;
    bonus += std::min(b.points_per_unit * *observed, b.max_points);
  }
  result.set_bonus_points(bonus);

  double score = RoundScore(raw + bonus);
  result.set_score(score);
  if (const Band* band = BandFor(score); band != nullptr) {
    result.set_band(band->name);
    result.set_action(band->action);
  }
}

}  // namespace steward::scoring
