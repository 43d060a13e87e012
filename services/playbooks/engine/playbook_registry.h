#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/store/store.h"
#include "services/playbooks/engine/compiled_playbook.h"

namespace steward::playbooks {

// The playbooks this process runs: the current version of each (from playbooks/ at start-up) and every
// earlier version that enrolments still run. Each version is published to the store once, so that any
// replica can run an enrolment that began on another replica's version, and so that a version number is
// never reused for different content. Thread-safe.
class PlaybookRegistry {
 public:
  // `current` must have passed ValidatePlaybook.
  static absl::StatusOr<std::unique_ptr<PlaybookRegistry>> Create(Store& store,
                                                                  std::vector<v1::Playbook> current);

  // Stores each current version that is not stored yet. FAILED_PRECONDITION when a stored version of
  // the same number differs (the file changed without raising `version`): in-flight enrolments of that
  // version would silently change course.
  absl::Status Publish();

  // The current version of a playbook; nullptr for an unknown id.
  std::shared_ptr<const CompiledPlaybook> Current(const std::string& id) const;
  // A given version, from memory or the store. NOT_FOUND when it was never published.
  absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> Version(const std::string& id, int version);
  // Every current playbook, by id.
  const std::vector<std::shared_ptr<const CompiledPlaybook>>& all() const { return current_list_; }

  static std::string DefinitionKey(const std::string& id, int version);

 private:
  explicit PlaybookRegistry(Store& store) : store_(store) {}

  Store& store_;
  std::vector<std::shared_ptr<const CompiledPlaybook>> current_list_;
  absl::flat_hash_map<std::string, std::shared_ptr<const CompiledPlaybook>> current_;
  mutable absl::Mutex mu_;
  // Earlier versions read back from the store, by DefinitionKey.
  absl::flat_hash_map<std::string, std::shared_ptr<const CompiledPlaybook>> earlier_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::playbooks
