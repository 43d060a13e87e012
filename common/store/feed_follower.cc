#include "common/store/feed_follower.h"

#include <utility>

namespace steward {
void FeedFollower::Add(std::unique_ptr<GroupConsumer> consumer, GroupConsumer::Handler handler) {
  GroupConsumer* raw = consumer.get();
  auto loop = std::make_unique<StepLoop>(failure_event_, poll_interval_,
                                         [raw, handler] { return raw->Follow(handler); });
  feeds_.push_back(Feed{std::move(consumer), std::move(handler), std::move(loop)});
}

void FeedFollower::Start() {
  for (Feed& feed : feeds_) feed.loop->Start();
}

void FeedFollower::Stop() {
  for (Feed& feed : feeds_) feed.loop->Stop();
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
