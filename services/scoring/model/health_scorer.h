#pragma once

#include <optional>
#include <string>
#include <vector>

#include "services/scoring/features.h"
#include "steward/v1/scores.pb.h"
#include "steward/v1/scoring_model.pb.h"

namespace steward::scoring {

// Scores an account's features under one health-style ScoringModel (SPEC §2.1): "health", "chs",
// "retention" or any other model of the same shape.
//
// Semantics, with every number explained in the returned HealthScore:
// - Each input's normalized value is clamp((observed − low) / (high − low) × 100, 0, 100); with
//   low > high, lower observations score higher (e.g. open tickets 5 → 0).
// - A component's value is the weighted mean of its KNOWN inputs (features with a value). Each known
//   input is reported with its weight as a percent of the known inputs' weight; inputs without a value
//   are listed in `missing_inputs`.
// - A component with no known input has known = false and is left out: the remaining components'
//   weights are scaled to add up to 100 (`effective_weight`), so a missing data source neither drags
//   the score to 0 nor lifts it.
// - raw = Σ effective_weight × value / 100 over known components.
// - bonus = Σ min(points_per_unit × feature, max_points) over the bonuses whose feature is known and
//   > 0; this lets a score exceed 100 (chs "thriving").
// - score = raw + bonus rounded half away from zero to an integer (stored as a double). Values within
//   1e-9 of a half count as the half, so floating-point noise in the weighted mean (49.49999999999999
//   for an exact 49.5) does not move a score across a band edge.
// - band = the band with the highest min_score ≤ score; `action` is that band's action.
// - When no component is known there is nothing to score: score 0, no bonus, the lowest band, and every
//   component known = false.
//
// The model is expected to have passed ValidateScoringModel (model_config.h); an unvalidated model does
// not crash the scorer (unknown feature names count as never known, a score below every band gets the
// lowest band) but may give meaningless scores.
// Immutable after construction, so one instance may be shared by any number of threads.
class HealthScorer {
 public:
  explicit HealthScorer(v1::ScoringModel model);

  // Scores one account. Called on the request path: everything that depends only on the model is
  // resolved in the constructor.
  v1::HealthScore Score(const FeatureVector& features) const {
    v1::HealthScore result;
    Score(features, result);
    return result;
  }
  // The same, filling `result` in place (e.g. a message on an arena).
  void Score(const FeatureVector& features, v1::HealthScore& result) const;

  const v1::ScoringModel& model() const { return model_; }

 private:
  struct Input {
    std::optional<Feature> feature;  // nullopt when the model names an unknown feature
    std::string name;
    double weight;
    double low;
    double high;
  };
  struct Component {
    std::string name;
    double weight;
    std::vector<Input> inputs;
  };
  struct Band {
    double min_score;
    std::string name;
    std::string action;
  };
  struct Bonus {
    std::optional<Feature> feature;
    double points_per_unit;
    double max_points;
  };

  const Band* BandFor(double score) const;

  v1::ScoringModel model_;
  std::vector<Component> components_;
  std::vector<Band> bands_;  // highest min_score first
  std::vector<Bonus> bonuses_;
};

// Rounds half away from zero, treating values within 1e-9 of a half as the half (see HealthScorer).
double RoundScore(double value);

}  // namespace steward::scoring
