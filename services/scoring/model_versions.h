#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/store/store.h"
#include "services/scoring/predictive_scoring.h"
#include "steward/v1/predictive.pb.h"
#include "steward/v1/scoring_service.pb.h"

namespace steward::scoring {

// The versions of the fitted predictive models in the store, and this process's copy of the newest
// accepted one. Several replicas share the store: a version written anywhere is picked up here within
// `refresh_interval` (one small read of the accepted-version key per interval, whoever asks), and at once
// after Add on this object. Thread-safe.
class ModelVersions {
 public:
  ModelVersions(Store& store, const Clock& clock, absl::Duration refresh_interval);

  // Stores `models` as the next version (its version field is set here) in one atomic step with the
  // index, and makes it the active version when accepted. Keeps the newest 100 versions. Returns what
  // was stored. UNAVAILABLE from the store; ABORTED after many concurrent writers.
  absl::StatusOr<v1::FittedModels> Add(v1::FittedModels models);

  // A page of versions, newest first (FieldError for a bad page_size or page_token).
  absl::StatusOr<v1::ListModelVersionsResponse> List(const v1::ListModelVersionsRequest& request);

  // The newest accepted version (nullptr: none yet), looking for a newer one when the interval has
  // passed. A store error keeps the copy held so far (scores do not fail because of the models).
  std::shared_ptr<const ActiveModels> Active();

  // The copy held, without I/O, or nullopt when it is due for a look at the store (call Active then).
  std::optional<std::shared_ptr<const ActiveModels>> ActiveLocally() const;

 private:
  absl::StatusOr<std::shared_ptr<const ActiveModels>> Load(int64_t version);

  Store& store_;
  const Clock& clock_;
  const absl::Duration refresh_interval_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const ActiveModels> active_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> checked_at_ ABSL_GUARDED_BY(mu_);
  // Serialises refreshes so that a burst of readers costs one read.
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
};

}  // namespace steward::scoring
