#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/step_loop.h"
#include "common/store/store.h"
#include "services/scoring/scoring_client.h"
#include "services/upsell/upsell_service.h"

namespace steward::upsell {

// Evaluates the triggers of every account whose scores may have moved: it follows the scoring
// service's change feed (upserts and new events) and runs EvaluateAccount for each account that
// changed, so opportunities open at the moment a trigger's condition starts to hold, without anyone
// asking. Its place in the feed is kept in the store, so a restart resumes where it was; evaluation is
// idempotent (one open opportunity per account and trigger), so a repeat after a crash is harmless.
class UpsellFollower {
 public:
  UpsellFollower(Store& store, const scoring::ScoringClient& scoring, UpsellService& service,
                 absl::Duration poll_interval);
  ~UpsellFollower() { Stop(); }

  // One page of the feed. Returns whether more changes may be waiting.
  absl::StatusOr<bool> Step();
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }

 private:
  Store& store_;
  const scoring::ScoringClient& scoring_;
  UpsellService& service_;
  StepLoop loop_;
};

}  // namespace steward::upsell
