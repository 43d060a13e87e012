#include "common/store/feed_follower.h"

#include <utility>

namespace steward {

FeedFollower::FeedFollower(std::string failure_event, absl::Duration poll_interval)
    : loop_(std::move(failure_event), poll_interval, [this] { return Round(); }) {}

void FeedFollower::Add(std::unique_ptr<GroupConsumer> consumer, GroupConsumer::Handler handler) {
  feeds_.push_back(Feed{std::move(consumer), std::move(handler)});
}

absl::StatusOr<bool> FeedFollower::Round() {
  bool handled = false;
  for (Feed& feed : feeds_) {
    auto n = feed.consumer->Step(feed.handler, /*wait=*/false);
    if (!n.ok()) return n.status();
    handled = handled || *n > 0;
  }
  if (handled || feeds_.empty()) return handled;
  // Nothing anywhere: wait on the first feed (returns at once when reads do not wait).
  return feeds_.front().consumer->Follow(feeds_.front().handler);
}

absl::Status FeedFollower::Drain() {
  for (Feed& feed : feeds_) {
    if (absl::Status s = feed.consumer->Drain(feed.handler); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<const GroupConsumer*> FeedFollower::consumers() const {
  std::vector<const GroupConsumer*> out;
  for (const Feed& feed : feeds_) out.push_back(feed.consumer.get());
  return out;
}

}  // namespace steward
