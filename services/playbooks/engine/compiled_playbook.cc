#include "services/playbooks/engine/compiled_playbook.h"

#include "absl/strings/str_cat.h"

namespace steward::playbooks {
namespace {

absl::StatusOr<StepList> CompileSteps(const google::protobuf::RepeatedPtrField<v1::Step>& steps,
                                      absl::string_view path) {
  StepList list;
  for (int i = 0; i < steps.size(); ++i) {
    const v1::Step& step = steps[i];
    list.steps.push_back(&step);
    list.index_of[step.id()] = i;
    if (step.has_condition()) {
      auto rule =
          segmentation::CompiledRule::Compile(step.condition(), absl::StrCat(path, "[", i, "].condition"));
      if (!rule.ok()) return rule.status();
      list.conditions.emplace_back(*std::move(rule));
    } else {
      list.conditions.emplace_back(std::nullopt);
    }
  }
  return list;
}

}  // namespace

uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> CompiledPlaybook::Compile(v1::Playbook playbook) {
  std::shared_ptr<CompiledPlaybook> compiled(new CompiledPlaybook());
  compiled->definition_ = std::move(playbook);
  const v1::Playbook& def = compiled->definition_;
  auto own = CompileSteps(def.steps(), "steps");
  if (!own.ok()) return own.status();
  compiled->own_steps_ = *std::move(own);
  for (int v = 0; v < def.variants_size(); ++v) {
    const v1::Variant& variant = def.variants(v);
    if (variant.steps().empty()) continue;
    auto steps = CompileSteps(variant.steps(), absl::StrCat("variants[", v, "].steps"));
    if (!steps.ok()) return steps.status();
    compiled->variant_steps_[variant.id()] = *std::move(steps);
  }
  for (int t = 0; t < def.triggers_size(); ++t) {
    auto rule = segmentation::CompiledRule::Compile(def.triggers(t).condition(),
                                                    absl::StrCat("triggers[", t, "].condition"));
    if (!rule.ok()) return rule.status();
    compiled->triggers_.push_back(*std::move(rule));
  }
  for (int e = 0; e < def.exits_size(); ++e) {
    if (!def.exits(e).has_rule()) {
      compiled->exit_rules_.emplace_back(std::nullopt);
      continue;
    }
    auto rule = segmentation::CompiledRule::Compile(def.exits(e).rule(), absl::StrCat("exits[", e, "].rule"));
    if (!rule.ok()) return rule.status();
    compiled->exit_rules_.emplace_back(*std::move(rule));
    compiled->needs_account_view_ = true;
  }
  auto any_condition = [](const StepList& list) {
    for (const auto& c : list.conditions) {
      if (c.has_value()) return true;
    }
    return false;
  };
  compiled->needs_account_view_ = compiled->needs_account_view_ || any_condition(compiled->own_steps_);
  for (const auto& [id, list] : compiled->variant_steps_) {
    compiled->needs_account_view_ = compiled->needs_account_view_ || any_condition(list);
  }
  return std::shared_ptr<const CompiledPlaybook>(std::move(compiled));
}

const StepList& CompiledPlaybook::Steps(absl::string_view variant_id) const {
  if (!variant_id.empty()) {
    auto found = variant_steps_.find(variant_id);
    if (found != variant_steps_.end()) return found->second;
  }
  return own_steps_;
}

ArmAssignment CompiledPlaybook::Assign(absl::string_view account_id) const {
  ArmAssignment arm;
  // FNV-1a alone barely mixes the last characters into the high bits (ids "acct-1230".."acct-1239" would
  // share a variant): splitmix64's finaliser spreads every input bit over the whole word.
  uint64_t hash = StableHash(absl::StrCat(definition_.id(), "/", account_id));
  hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9ull;
  hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebull;
  hash ^= hash >> 31;
  // Two independent draws from one hash: the low bits decide the holdout, the high bits the variant.
  if (static_cast<int>(hash % 10'000) < definition_.holdout_percent() * 100) {
    arm.held_out = true;  // the control group runs the playbook's own steps, silently
    return arm;
  }
  int64_t total = 0;
  for (const v1::Variant& v : definition_.variants()) total += v.weight();
  if (total > 0) {
    int64_t draw = static_cast<int64_t>((hash >> 32) % static_cast<uint64_t>(total));
    for (const v1::Variant& v : definition_.variants()) {
      if (draw < v.weight()) {
        arm.variant_id = v.id();
        break;
      }
      draw -= v.weight();
    }
  }
  return arm;
}

}  // namespace steward::playbooks
