#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/scoring_model.pb.h"

namespace steward::scoring {

// Loading and validating the scoring configuration: ScoringModel and ChurnModel messages written in
// protobuf text format (config/models/*.textproto and config/churn.textproto). Bad configuration is
// meant to stop the server at start-up, so every error says where it is:
//
//   config/models/health.textproto:12:7: components[1].inputs[0].feature: unknown feature "logins_31d"
//
// Lines and columns are 1-based and point at the offending field's name; when the field is absent from
// the file, at the enclosing message; when nothing encloses it, the file name alone is given. A file
// with several problems reports all of them, one per line of the status message.
//
// Errors: NOT_FOUND when a file or directory does not exist or cannot be read, INVALID_ARGUMENT for
// syntax errors and for the semantic rules below.
//
// ScoringModel rules: name non-empty; at least one component; component names non-empty and unique;
// component weights > 0 and adding up to 100 (±1e-6); every component has at least one input; input
// features are known (FeatureByName); input weights > 0; normalize.low and normalize.high finite and
// different; at least one band; band names non-empty and unique; band min_scores finite, ≥ 0 and
// unique; one band has min_score 0; bonuses: feature known, points_per_unit > 0, max_points > 0.
//
// ChurnModel rules: at least one category; category names non-empty and unique, weights > 0 and adding
// up to 100; signal names non-empty and unique; a signal's category exists; its condition is valid
// (feature known, comparison specified, threshold finite); signal weights > 0; every category has at
// least one signal; at least one level; level names unique; min_active_signals ≥ 0 and unique, one of
// them 0; 0 ≤ probability_min ≤ probability_max ≤ 1; ordered by min_active_signals, each level's
// probability_min is at least the previous level's probability_max. That last rule (levels do not
// overlap) is what makes the rule-based probability monotone: a signal becoming active raises both the
// risk score and the count, so it can never lower the probability. Red flags: at least one condition
// each, every condition valid, probability_floor in [0, 1].

// Parses and validates one ScoringModel file.
absl::StatusOr<v1::ScoringModel> LoadScoringModel(const std::string& path);

// Parses and validates one ChurnModel file.
absl::StatusOr<v1::ChurnModel> LoadChurnModel(const std::string& path);

// Validates a model that did not come from a file (tests, an admin API). `source` names it in error
// messages; field paths are given but no line numbers.
absl::Status ValidateScoringModel(const v1::ScoringModel& model, absl::string_view source = "model");
absl::Status ValidateChurnModel(const v1::ChurnModel& model, absl::string_view source = "churn model");

// Everything the scoring service is configured with.
struct ModelSet {
  // Health-style models by name.
  absl::flat_hash_map<std::string, v1::ScoringModel> models;
  // The model used when a request names none; always present in `models`.
  std::string default_model = "health";
  // The churn rules.
  v1::ChurnModel churn;
};

// Loads `dir/models/*.textproto` (each a ScoringModel whose name equals the file's stem) and
// `dir/churn.textproto`. Requires a model named "health", which becomes the default. Files are read in
// name order and the first file with errors is reported.
absl::StatusOr<ModelSet> LoadModelDirectory(const std::string& dir);

}  // namespace steward::scoring
