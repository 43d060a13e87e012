#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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
  // The recorded events themselves, in the order given (for the change feed).
  std::vector<const v1::Event*> recorded_events;
};

// The id log of an account: the fingerprints of the event ids that arrived within the
// de-duplication window, as 12-byte entries (arrival day as int32, fingerprint as uint64, both
// little-endian) in arrival order. It lives in its own key and grows by appends, so recording an
// event rewrites none of the ids remembered for the week.
inline constexpr std::size_t kIdLogEntryBytes = 12;

// What a batch does to the id log: bytes to append, or (when old entries left the window) the whole
// new log.
struct IdLogUpdate {
  std::string bytes;
  bool replace = false;
};

// Folds `events` (already validated, all for one account) into `record`: each event lands in the
// bucket of its own day whatever order it arrives in, gauges (NPS, seats…) keep the value with the
// latest event time, and an event whose id is in `id_log` (arrived within the last
// `dedup_window_days`) or earlier in the batch changes nothing. Drops buckets that fell out of the
// retention window as of `now`, and fills `id_log_update` with the ids of the recorded events (and,
// when entries left the window, the compacted log). `record` must hold every day an event lands on
// (see NeedsHistory).
ApplyCounts ApplyEvents(const std::vector<const v1::Event*>& events, absl::Time now,
                        v1::ActivityRecord& record, absl::string_view id_log, IdLogUpdate& id_log_update,
                        int dedup_window_days = kDefaultDedupWindowDays);

// Whether folding `events` into the live part `live` at `now` needs the history as well: an event
// lands before today, or the live part holds a day that has become the past (the daily roll-over).
bool NeedsHistory(const v1::ActivityRecord& live, const std::vector<const v1::Event*>& events,
                  absl::Time now);

// Adds the history's days to `live`, making the whole record (days stay in order).
void MergeHistory(const v1::ActivityRecord& history, v1::ActivityRecord& live);

// Moves the days before `today` out of `record` (which then is the live part) into `history`
// (replaced).
void SplitHistory(v1::ActivityRecord& record, int32_t today, v1::ActivityRecord& history);

// Derives every feature of the account at `now` from its attributes and its activity record.
FeatureVector ExtractFeatures(const v1::Account& account, const v1::ActivityRecord& record, absl::Time now);

// A stable 64-bit fingerprint of an event id (FNV-1a), stored instead of the id to keep records small.
uint64_t EventFingerprint(absl::string_view event_id);

}  // namespace steward::scoring
