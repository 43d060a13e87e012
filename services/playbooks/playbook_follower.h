#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/step_loop.h"
#include "common/store/store.h"
#include "services/playbooks/engine/playbook_engine.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/segmentation_client.h"

namespace steward::playbooks {

// Feeds the playbook engine every change of every account: it follows the scoring service's change feed
// (new events, upserts) and the segmentation service's membership events, and calls
// PlaybookEngine::OnAccountsChanged once per page (each account once, with its new events in order).
// Triggers enrol, exit criteria end enrolments and awaited events end waits from here. Its place in each
// feed is kept in the store; the engine's handling is idempotent, so a page repeated after a crash is
// harmless.
class PlaybookFollower {
 public:
  PlaybookFollower(Store& store, const scoring::ScoringClient& scoring,
                   const segmentation::SegmentationClient* segmentation, PlaybookEngine& engine,
                   absl::Duration poll_interval);
  ~PlaybookFollower() { Stop(); }

  // One page of each feed. Returns whether more may be waiting.
  absl::StatusOr<bool> Step();
  // Steps until both feeds are read to their end (the manual clock does this before moving time).
  absl::Status Drain();
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }

 private:
  Store& store_;
  const scoring::ScoringClient& scoring_;
  const segmentation::SegmentationClient* segmentation_;
  PlaybookEngine& engine_;
  absl::Mutex step_mu_;  // one Step at a time (the loop and Drain)
  StepLoop loop_;
};

}  // namespace steward::playbooks
