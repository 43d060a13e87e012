#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/step_loop.h"
#include "common/store/group_consumer.h"

namespace steward {

// Follows several feeds at once, each on its own background thread (so that a read waiting on a quiet
// feed never delays another): for each, a GroupConsumer and the handler of its pages. Failures are
// logged as `failure_event` and retried with backoff (see StepLoop).
class FeedFollower {
 public:
  // `poll_interval`: the pause after a look at a feed found nothing and did not wait (FeedSettings).
  FeedFollower(std::string failure_event, absl::Duration poll_interval)
      : failure_event_(std::move(failure_event)), poll_interval_(poll_interval) {}
  ~FeedFollower() { Stop(); }

  // Before Start.
  void Add(std::unique_ptr<GroupConsumer> consumer, GroupConsumer::Handler handler);
  void Start();
  void Stop();
  // Handles everything every feed holds now, without waiting (a manual clock does this before moving
  // time). Waits for a page a background thread is handling to finish first.
  absl::Status Drain();
  std::vector<const GroupConsumer*> consumers() const;

 private:
  struct Feed {
    std::unique_ptr<GroupConsumer> consumer;
    GroupConsumer::Handler handler;
    std::unique_ptr<StepLoop> loop;
  };
  const std::string failure_event_;
  const absl::Duration poll_interval_;
  std::vector<Feed> feeds_;
};

}  // namespace steward
