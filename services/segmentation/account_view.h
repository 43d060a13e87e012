#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/loyalty.pb.h"
#include "steward/v1/scores.pb.h"

namespace steward::segmentation {

// Everything segmentation decides on for one account: its attributes and scores (from the scoring
// service), its loyalty standing, and the time of evaluation. Read-only views; the owner keeps the
// messages alive.
struct AccountView {
  const v1::Account* account = nullptr;
  // Scores under the default model, features included.
  const v1::Scores* scores = nullptr;
  // Absent when the account has no loyalty record yet (then points and earned are 0).
  const v1::LoyaltyStanding* loyalty = nullptr;
  absl::Time now;
};

}  // namespace steward::segmentation
