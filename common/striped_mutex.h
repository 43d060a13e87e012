#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace steward {

// A fixed set of mutexes that keys hash onto: callers that touch the same key take turns, callers on
// different keys rarely wait for each other, and memory does not grow with the number of keys.
// Thread-safe.
class StripedMutex {
 public:
  static constexpr std::size_t kStripes = 256;

  // Holds some stripes until destroyed (or moved from). Owned by one thread at a time.
  class Lock {
   public:
    Lock() = default;
    Lock(Lock&& other) noexcept : held_(std::move(other.held_)) { other.held_.clear(); }
    Lock& operator=(Lock&& other) noexcept;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock() { Release(); }

   private:
    friend class StripedMutex;
    void Release();
    std::vector<absl::Mutex*> held_;
  };

  // Blocks until the caller holds the stripes of all `keys`. Stripes are taken in index order, so two
  // callers never deadlock, as long as nobody asks for more while holding a Lock.
  Lock LockKeys(absl::Span<const std::string> keys);

 private:
  std::array<absl::Mutex, kStripes> stripes_;
};

}  // namespace steward
