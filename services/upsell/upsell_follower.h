#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/store/feed_follower.h"
#include "common/store/store.h"
#include "services/upsell/upsell_service.h"

namespace steward::upsell {

// Evaluates the triggers of every account whose scores or segments may have moved: it follows, as
// consumer group "upsell", the scoring service's account changes (upserts and new events) and the
// segmentation service's membership events (which also move with time and loyalty), and evaluates
// each account that changed, a page at a time (UpsellService::EvaluateChanged), so opportunities open
// at the moment a trigger's condition starts to hold, without anyone asking. A page is acknowledged
// once handled; evaluation is idempotent (one open opportunity per account and trigger), so a page
// handled again after a crash is harmless. Replicas share the pages.
class UpsellFollower {
 public:
  UpsellFollower(Store& store, UpsellService& service, const FeedSettings& feed);
  ~UpsellFollower() { Stop(); }

  void Start() { feeds_.Start(); }
  void Stop() { feeds_.Stop(); }
  // Handles everything both feeds hold now, without waiting.
  absl::Status Drain() { return feeds_.Drain(); }
  // The group consumers, for metrics (lag, pending).
  std::vector<const GroupConsumer*> consumers() const { return feeds_.consumers(); }

 private:
  absl::Status OnChanges(absl::Span<const LogEntry> entries);
  absl::Status OnMembership(absl::Span<const LogEntry> entries);

  UpsellService& service_;
  FeedFollower feeds_;  // last: its threads call the handlers above
};

}  // namespace steward::upsell
