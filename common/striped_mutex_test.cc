#include "common/striped_mutex.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

TEST(StripedMutexTest, CallersOnOverlappingKeySetsNeitherRaceNorDeadlock) {
  StripedMutex mutex;
  // Unsynchronised counters, one per key: only the striped lock keeps them exact.
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("account-" + std::to_string(i));
  std::vector<long> counters(keys.size(), 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 500; ++round) {
        // Each thread takes a different, overlapping slice of keys, in a different order.
        std::vector<std::string> mine;
        std::vector<std::size_t> indexes;
        for (std::size_t k = 0; k < 10; ++k) indexes.push_back((t * 7 + round + k * 3) % keys.size());
        if (t % 2 == 1) std::reverse(indexes.begin(), indexes.end());
        for (std::size_t i : indexes) mine.push_back(keys[i]);
        StripedMutex::Lock lock = mutex.LockKeys(mine);
        for (std::size_t i : indexes) ++counters[i];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  long total = 0;
  for (long c : counters) total += c;
  EXPECT_EQ(total, 8 * 500 * 10);
}

// True when another thread can take the stripes of `keys` within a few seconds.
bool OthersCanLock(StripedMutex& mutex, std::vector<std::string> keys) {
  auto taken = std::make_shared<absl::Notification>();
  std::thread other([&mutex, keys, taken] {
    StripedMutex::Lock lock = mutex.LockKeys(keys);
    taken->Notify();
  });
  const bool ok = taken->WaitForNotificationWithTimeout(absl::Seconds(5));
  if (ok) {
    other.join();
  } else {
    other.detach();  // still blocked: the assertion below fails the test without hanging it
  }
  return ok;
}

TEST(StripedMutexTest, AMovedLockHoldsItsStripesUntilReleasedOnce) {
  StripedMutex mutex;
  StripedMutex::Lock outer;
  {
    StripedMutex::Lock inner = mutex.LockKeys({"a", "b"});
    outer = std::move(inner);
  }
  // The inner lock's destructor released nothing: the stripes are still held, through `outer`.
  {
    std::atomic<bool> got = false;
    std::thread other([&] {
      StripedMutex::Lock lock = mutex.LockKeys({"a"});
      got = true;
    });
    absl::SleepFor(absl::Milliseconds(50));  // give it a chance to (wrongly) get the stripe
    EXPECT_FALSE(got.load());
    outer = StripedMutex::Lock();  // releases a and b
    other.join();
    EXPECT_TRUE(got.load());
  }
  EXPECT_TRUE(OthersCanLock(mutex, {"a", "b"}));
}

}  // namespace
}  // namespace steward
