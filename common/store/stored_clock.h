#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/store/store.h"

namespace steward {

// A manual clock whose time lives in the store, so that every process on that store reads the same
// time: with the services split into processes on one Redis, one ClockService.AdvanceClock call moves
// them all, and a restarted process goes on from where the clock was rather than from its start flag.
// Now() reads the store on every call (exact, one round trip); it is meant for tests and demos, not
// for production load. When the store cannot be read, Now() answers the last time it read and logs.
class StoredManualClock final : public ManualClock {
 public:
  // The key holding the time (RFC 3339, readable with redis-cli). Like a log, it is shared by all
  // accounts and carries no hash tag.
  static constexpr absl::string_view kKey = "manual-clock";

  // Joins the clock in `store`, setting it to `start` only if no process has set it yet; the store
  // must outlive the clock.
  static absl::StatusOr<std::unique_ptr<StoredManualClock>> Open(Store& store, absl::Time start);

  absl::Time Now() const override;
  absl::Status MoveTo(absl::Time t) override;

 private:
  StoredManualClock(Store& store, absl::Time now) : store_(store), last_read_(now) {}

  Store& store_;
  mutable absl::Mutex mu_;
  mutable absl::Time last_read_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward
