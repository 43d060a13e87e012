#pragma once

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/scoring/features.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/activity_record.pb.h"
#include "steward/v1/event.pb.h"

namespace steward::scoring {

// How many days of activity an account keeps: the longest window any feature reads. Older daily
// buckets are dropped on the next write, which bounds memory per account.
inline constexpr int kRetentionDays = 90;

// How long event ids are remembered for de-duplication, counted in days of ARRIVAL: a batch replayed
// within this window of its first delivery changes nothing. This is the usual contract of event
// pipelines (a retry comes within minutes or hours) and it keeps memory per account small: remembering
// every id for the whole retention window would cost 8 bytes per event kept.
inline constexpr int kDefaultDedupWindowDays = 7;

// Distinct feature names an account's bitmap dictionary holds; uses of further features still count
// in feature_uses but not in distinct_features (a product with more than 512 features is unusual).
inline constexpr int kMaxTrackedFeatures = 512;

// Days since 1970-01-01 in UTC: the index of daily buckets.
int32_t DayOf(absl::Time t);

// What applying a batch of events did.
struct ApplyCounts {
  int recorded = 0;
  int duplicates = 0;  // id already recorded for the account
  int expired = 0;     // older than the retention window: accepted, no effect
};

// Folds `events` (already validated, all for one account) into `record`: each event lands in the
// bucket of its own day whatever order it arrives in, gauges (NPS, seats…) keep the value with the
// latest event time, and an event whose id arrived within the last `dedup_window_days` changes
// nothing. Drops buckets that fell out of the retention window, and remembered ids that fell out of
// the de-duplication window, as of `now`.
ApplyCounts ApplyEvents(const std::vector<const v1::Event*>& events, absl::Time now,
                        v1::ActivityRecord& record, int dedup_window_days = kDefaultDedupWindowDays);

// Derives every feature of the account at `now` from its attributes and its activity record.
FeatureVector ExtractFeatures(const v1::Account& account, const v1::ActivityRecord& record, absl::Time now);

// A stable 64-bit fingerprint of an event id (FNV-1a), stored instead of the id to keep records small.
uint64_t EventFingerprint(absl::string_view event_id);

}  // namespace steward::scoring
