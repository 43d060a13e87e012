#include "common/thread_pool.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace steward {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskBeforeTheDestructorReturns) {
  std::atomic<int> ran = 0;
  {
    ThreadPool pool(4);
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pool.TrySchedule([&ran] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(ThreadPoolTest, RefusesTasksBeyondTheQueueBound) {
  absl::Notification release;
  absl::Notification started;
  ThreadPool pool(1, 2);
  ASSERT_TRUE(pool.TrySchedule([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the only worker is busy; the queue is empty
  EXPECT_TRUE(pool.TrySchedule([] {}));
  EXPECT_TRUE(pool.TrySchedule([] {}));
  EXPECT_FALSE(pool.TrySchedule([] {}));
  release.Notify();
}

}  // namespace
}  // namespace steward
