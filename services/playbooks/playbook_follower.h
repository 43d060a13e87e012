#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/store/feed_follower.h"
#include "common/store/store.h"
#include "services/playbooks/engine/playbook_engine.h"

namespace steward::playbooks {

// Feeds the playbook engine every change of every account. It follows two streams as consumer group
// "playbooks": the scoring service's account changes (new events, upserts) and, when segmentation
// runs, its membership events; and calls PlaybookEngine::OnAccountsChanged once per page (each account
// once, with its new events in order). Triggers enrol, exit criteria end enrolments and awaited
// events end waits from here. A page is acknowledged once handled: after a crash it is handled again,
// which the engine's idempotent handling makes harmless. Replicas share the work (each page goes to
// one of them).
class PlaybookFollower {
 public:
  PlaybookFollower(Store& store, PlaybookEngine& engine, const FeedSettings& feed, bool follow_membership);
  ~PlaybookFollower() { Stop(); }

  // Handles everything both streams hold now, without waiting (the manual clock does this before
  // moving time).
  absl::Status Drain() { return feeds_.Drain(); }
  void Start() { feeds_.Start(); }
  void Stop() { feeds_.Stop(); }
  // The group consumers, for metrics (lag, pending).
  std::vector<const GroupConsumer*> consumers() const { return feeds_.consumers(); }

 private:
  absl::Status OnChanges(absl::Span<const LogEntry> entries);
  absl::Status OnMembership(absl::Span<const LogEntry> entries);

  PlaybookEngine& engine_;
  FeedFollower feeds_;  // last: its threads call the handlers above
};

}  // namespace steward::playbooks
