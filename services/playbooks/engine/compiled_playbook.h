#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/segmentation/rules/rule.h"
#include "steward/v1/playbook.pb.h"

namespace steward::playbooks {

// One step list (the playbook's or a variant's) with its conditions compiled and its ids indexed.
struct StepList {
  std::vector<const v1::Step*> steps;
  // Per step: its condition, or nullopt when it has none.
  std::vector<std::optional<segmentation::CompiledRule>> conditions;
  absl::flat_hash_map<std::string, int> index_of;
};

// Which arm of a playbook an account gets.
struct ArmAssignment {
  std::string variant_id;  // "" when the playbook has no variants
  bool held_out = false;
};

// A validated playbook (one version) ready to run: rules compiled, steps indexed, variants resolved.
// Immutable; shared between threads and kept alive by enrolments that run it.
class CompiledPlaybook {
 public:
  // `playbook` must have passed ValidatePlaybook (its rules then compile).
  static absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> Compile(v1::Playbook playbook);

  const v1::Playbook& definition() const { return definition_; }
  const std::string& id() const { return definition_.id(); }
  int version() const { return definition_.version(); }

  // The steps of a variant ("" or an unknown id: the playbook's own).
  const StepList& Steps(absl::string_view variant_id) const;
  // Compiled trigger conditions, in Playbook.triggers order.
  const std::vector<segmentation::CompiledRule>& triggers() const { return triggers_; }
  // Per exit criterion: its compiled rule, or nullopt for an event or outcome exit.
  const std::vector<std::optional<segmentation::CompiledRule>>& exit_rules() const { return exit_rules_; }
  // Whether running the playbook needs the account's scores (a rule exit or a step condition).
  bool needs_account_view() const { return needs_account_view_; }

  // The deterministic arm of `account_id`: the same account always gets the same arm of a playbook
  // (a stable hash of the playbook and account ids, not std::hash), holdout first, then variants by
  // weight.
  ArmAssignment Assign(absl::string_view account_id) const;

 private:
  CompiledPlaybook() = default;

  v1::Playbook definition_;
  StepList own_steps_;
  absl::flat_hash_map<std::string, StepList> variant_steps_;
  std::vector<segmentation::CompiledRule> triggers_;
  std::vector<std::optional<segmentation::CompiledRule>> exit_rules_;
  bool needs_account_view_ = false;
};

// FNV-1a, 64 bits: stable across processes and builds, for assignments that must never move.
uint64_t StableHash(absl::string_view text);

}  // namespace steward::playbooks
