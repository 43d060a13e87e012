#include "services/playbooks/engine/playbook_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"

namespace steward::playbooks {

std::string PlaybookRegistry::DefinitionKey(const std::string& id, int version) {
  return absl::StrCat("playbook-definition:", id, ":", version);
}

absl::StatusOr<std::unique_ptr<PlaybookRegistry>> PlaybookRegistry::Create(
    Store& store, std::vector<v1::Playbook> current) {
  std::unique_ptr<PlaybookRegistry> registry(new PlaybookRegistry(store));
  std::sort(current.begin(), current.end(),
            [](const v1::Playbook& a, const v1::Playbook& b) { return a.id() < b.id(); });
  for (v1::Playbook& playbook : current) {
    auto compiled = CompiledPlaybook::Compile(std::move(playbook));
    if (!compiled.ok()) return compiled.status();
    registry->current_[(*compiled)->id()] = *compiled;
    registry->current_list_.push_back(*std::move(compiled));
  }
  return registry;
}

absl::Status PlaybookRegistry::Publish() {
  std::vector<std::string> keys;
  for (const auto& playbook : current_list_)
    keys.push_back(DefinitionKey(playbook->id(), playbook->version()));
  auto stored = store_.Get(keys);
  if (!stored.ok()) return stored.status();
  std::vector<Write> writes;
  for (size_t i = 0; i < keys.size(); ++i) {
    const v1::Playbook& def = current_list_[i]->definition();
    if ((*stored)[i].has_value()) {
      v1::Playbook before;
      if (!before.ParseFromString((*stored)[i]->value) ||
          !google::protobuf::util::MessageDifferencer::Equals(before, def)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "playbook \"", def.id(), "\" version ", def.version(),
            " is already in use with different content; raise `version` when changing a playbook"));
      }
      continue;
    }
    Write write;
    write.key = keys[i];
    write.value = def.SerializeAsString();
    write.expected_version = 0;  // two replicas starting at once store it once
    writes.push_back(std::move(write));
  }
  if (writes.empty()) return absl::OkStatus();
  auto applied = store_.Put(writes);
  if (!applied.ok()) return applied.status();
  if (std::find(applied->begin(), applied->end(), false) != applied->end())
    return Publish();  // raced: re-check
  return absl::OkStatus();
}

std::shared_ptr<const CompiledPlaybook> PlaybookRegistry::Current(const std::string& id) const {
  auto found = current_.find(id);
  return found == current_.end() ? nullptr : found->second;
}

absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> PlaybookRegistry::Version(const std::string& id,
                                                                                  int version) {
  if (auto current = Current(id); current != nullptr && current->version() == version) return current;
  const std::string key = DefinitionKey(id, version);
  {
    absl::MutexLock lock(&mu_);
    if (auto found = earlier_.find(key); found != earlier_.end()) return found->second;
  }
  auto stored = store_.Get({&key, 1});
  if (!stored.ok()) return stored.status();
  v1::Playbook def;
  if (!(*stored)[0].has_value() || !def.ParseFromString((*stored)[0]->value)) {
    return absl::NotFoundError(absl::StrCat("playbook \"", id, "\" version ", version, " is not known"));
  }
  auto compiled = CompiledPlaybook::Compile(std::move(def));
  if (!compiled.ok()) return compiled.status();
  absl::MutexLock lock(&mu_);
  earlier_[key] = *compiled;
  return *compiled;
}

}  // namespace steward::playbooks
