#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/logging.h"

namespace steward {

// Runs `step` over and over on a background thread until Stop (or destruction): at once again while it
// says more work may be waiting, after `idle` when it says not, and with a doubling backoff (up to 10 s)
// after an error, which is logged as `failure_event`. For the services' feed followers.
class StepLoop {
 public:
  StepLoop(std::string failure_event, absl::Duration idle, std::function<absl::StatusOr<bool>()> step)
      : failure_event_(std::move(failure_event)), idle_(idle), step_(std::move(step)) {}
  ~StepLoop() { Stop(); }

  void Start() {
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    if (!thread_.joinable()) return;
    if (!stop_.HasBeenNotified()) stop_.Notify();
    thread_.join();
  }

 private:
  void Run() {
    absl::Duration backoff = idle_;
    while (!stop_.HasBeenNotified()) {
      absl::StatusOr<bool> more = step_();
      if (!more.ok()) {
        Log(LogLevel::kWarning, failure_event_, {{"error", more.status().ToString()}});
        backoff = std::min(backoff * 2, absl::Seconds(10));
        stop_.WaitForNotificationWithTimeout(backoff);
        continue;
      }
      backoff = idle_;
      if (!*more) stop_.WaitForNotificationWithTimeout(idle_);
    }
  }

  const std::string failure_event_;
  const absl::Duration idle_;
  const std::function<absl::StatusOr<bool>()> step_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace steward
