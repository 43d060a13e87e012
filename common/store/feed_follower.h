#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/step_loop.h"
#include "common/store/group_consumer.h"

namespace steward {

// Follows several feeds on one background thread: for each, a GroupConsumer and the handler of its
// pages. Each round takes one page of every feed in the order they were added (so what a first feed
// caused is handled before what a later feed says about it, and one account is never handled by two
// threads at once); when every feed was empty, it waits on the first one (FeedSettings::wait) — a later
// feed's entry waits at most that long. Failures are logged as `failure_event` and retried with backoff
// (see StepLoop).
class FeedFollower {
 public:
  // `poll_interval`: the pause after a round found nothing and did not wait (FeedSettings).
  FeedFollower(std::string failure_event, absl::Duration poll_interval);
  ~FeedFollower() { Stop(); }

  // Before Start.
  void Add(std::unique_ptr<GroupConsumer> consumer, GroupConsumer::Handler handler);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  // Handles everything every feed holds now, without waiting (a manual clock does this before moving
  // time). Waits for a page the background thread is handling to finish first.
  absl::Status Drain();
  std::vector<const GroupConsumer*> consumers() const;

 private:
  // One round; whether to start the next at once.
  absl::StatusOr<bool> Round();

  struct Feed {
    std::unique_ptr<GroupConsumer> consumer;
    GroupConsumer::Handler handler;
  };
  std::vector<Feed> feeds_;
  StepLoop loop_;  // last: it runs Round
};

}  // namespace steward
