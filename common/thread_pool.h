#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace steward {

// A fixed set of worker threads that run scheduled tasks in FIFO order. gRPC reactors hand their
// blocking work (store round trips) here so that gRPC's own threads never block. The queue is bounded
// so that overload is refused at once (RESOURCE_EXHAUSTED at the edge) instead of queueing work whose
// callers will have given up by the time it runs.
// Thread-safe. The destructor runs every task already scheduled, then joins the workers.
class ThreadPool {
 public:
  explicit ThreadPool(int threads, std::size_t max_queued = 100000);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; false (and `task` dropped) when `max_queued` tasks are already waiting.
  bool TrySchedule(std::function<void()> task);

 private:
  void WorkerLoop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  const std::size_t max_queued_;
  std::vector<std::thread> workers_;
};

}  // namespace steward
