#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/step_loop.h"
#include "common/store/store.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/segmentation_client.h"
#include "services/upsell/upsell_service.h"

namespace steward::upsell {

// Evaluates the triggers of every account whose scores or segments may have moved: it follows the
// scoring service's change feed (upserts and new events) and the segmentation service's membership
// events (which also move with time and loyalty), and evaluates each account that changed (a page at a
// time, UpsellService::EvaluateChanged), so opportunities open at the moment a trigger's condition starts to hold, without anyone
// asking. Its place in the feed is kept in the store, so a restart resumes where it was; evaluation is
// idempotent (one open opportunity per account and trigger), so a repeat after a crash is harmless.
class UpsellFollower {
 public:
  UpsellFollower(Store& store, const scoring::ScoringClient& scoring,
                 const segmentation::SegmentationClient& segmentation, UpsellService& service,
                 absl::Duration poll_interval);
  ~UpsellFollower() { Stop(); }

  // One page of each feed. Returns whether more changes may be waiting.
  absl::StatusOr<bool> Step();
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }

 private:
  Store& store_;
  const scoring::ScoringClient& scoring_;
  const segmentation::SegmentationClient& segmentation_;
  UpsellService& service_;
  StepLoop loop_;
};

}  // namespace steward::upsell
