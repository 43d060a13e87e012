#pragma once

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace steward {

// Where every piece of Steward reads the time, so that tests can drive a 90-day history in
// milliseconds. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told to (tests, and servers started with --manual_clock).
class ManualClock : public Clock {
 public:
  // Moves the clock to `t`; an error when the clock's state could not be written.
  virtual absl::Status MoveTo(absl::Time t) = 0;
};

// A manual clock held in this process.
class FakeClock final : public ManualClock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  absl::Status MoveTo(absl::Time t) override {
    Set(t);
    return absl::OkStatus();
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward
