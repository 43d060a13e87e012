#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/scoring/scoring_service.h"

namespace steward {

// Loads five demo accounts with 60 days of activity ending at `now`, through the public domain API,
// so that `scripts/run.sh` has something worth scoring: a thriving account, a steady one, one whose
// usage is fading, a new one in onboarding, and one evaluating a competitor. Idempotent.
absl::Status LoadDemoData(scoring::ScoringService& scoring, absl::Time now);

}  // namespace steward
