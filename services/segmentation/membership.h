#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/step_loop.h"
#include "common/store/group_consumer.h"
#include "common/store/store.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/account_view.h"
#include "services/segmentation/loyalty/loyalty_book.h"
#include "services/segmentation/metrics/account_history.h"
#include "services/segmentation/segment_catalog.h"
#include "steward/v1/segmentation_config.pb.h"

namespace steward::segmentation {

// Every segment the account is in: one assignment per built-in segmentation (in their fixed order),
// then the custom segments whose rule it matches, by id.
std::vector<v1::SegmentAssignment> AssignSegments(const v1::SegmentationConfig& config,
                                                  const CatalogSnapshot& catalog, const AccountView& view);

struct MaintainerOptions {
  // Accounts evaluated per round trip to the scoring service (at most 1000, its batch limit).
  int batch_size = 500;
  // How the change feed is followed (consumer group "segmentation"), and how often it is polled when it
  // had nothing new and reads do not wait (feed.wait of zero).
  FeedSettings feed;
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Every account is re-evaluated this often, for what changes with time alone (lifecycle stage,
  // scores that decay without events) and to repair anything a crash left half done.
  absl::Duration rebuild_interval = absl::Hours(24);
  // Batches a rebuild evaluates at once (threads); each is one account page in flight.
  int rebuild_parallelism = 4;
  // Membership events the log keeps (ListMembershipEvents).
  int64_t membership_log_max_entries = 1'000'000;
};

// Keeps segment membership current. It follows the scoring service's change feed (upserts and new
// events) as consumer group "segmentation" (replicas share the pages; a page is acknowledged once
// handled, so one a crash interrupts is handled again, harmlessly), folds every change into the account's history for portfolio metrics, earns loyalty points
// from the new events, re-evaluates the accounts that changed, and for
// each one writes, in one atomic step, its new membership record and a membership event per segment
// entered or left; then it updates the segments' member indexes and counters. A change of the custom
// segments (created, updated, deleted, by this process or another) or the passing of
// `rebuild_interval` re-evaluates every account.
//
// Safe to run in several processes at once: membership records are written with compare-and-set, so
// an account's change produces its events exactly once. The counters are exact with one maintainer;
// with several, a rebuild can overwrite another's concurrent increments until the next rebuild.
class MembershipMaintainer {
 public:
  MembershipMaintainer(Store& store, const Clock& clock, const scoring::ScoringClient& scoring,
                       SegmentCatalog& catalog, LoyaltyBook& loyalty, AccountHistoryBook& history,
                       const v1::SegmentationConfig& config, MaintainerOptions options);
  ~MembershipMaintainer();

  // Re-evaluates these accounts now (any number; duplicates are fine). The membership events of an
  // account carry its entry in `request_ids` (the request behind its latest change) when there is one,
  // else the current request's id.
  using RequestIds = absl::flat_hash_map<std::string, std::string>;
  absl::Status Evaluate(const std::vector<std::string>& account_ids, const RequestIds* request_ids = nullptr);
  // Re-evaluates every account and recomputes every counter. Logs progress.
  absl::Status Rebuild();
  // One step of following: a rebuild if one is due, then one page of the change feed (waiting up to
  // feed.wait for one). Returns whether to step again at once.
  absl::StatusOr<bool> Step();
  // Handles everything the change feed holds now, without waiting (and without a rebuild).
  absl::Status Drain();
  // The change feed's consumer, for metrics (lag, pending).
  const GroupConsumer& consumer() const { return changes_; }

  // Runs Step in a background thread until Stop (or destruction).
  void Start();
  void Stop();

  // Rebuilds finished since construction (for tests and progress output).
  int rebuilds() const { return rebuilds_.load(); }

 private:
  struct Tally;
  absl::Status EvaluateBatch(const std::vector<std::string>& ids, const CatalogSnapshot& catalog,
                             Tally* tally, const RequestIds* request_ids = nullptr);
  // A page of the change feed: history, loyalty points, then the accounts' segments.
  absl::Status OnChanges(absl::Span<const LogEntry> entries);
  absl::Status AddToStats(const Tally& delta);
  absl::Status ReplaceStats(const Tally& total);

  Store& store_;
  const Clock& clock_;
  const scoring::ScoringClient& scoring_;
  SegmentCatalog& catalog_;
  LoyaltyBook& loyalty_;
  AccountHistoryBook& history_;
  const v1::SegmentationConfig config_;
  const MaintainerOptions options_;

  // Only the thread running Step touches these.
  uint64_t rebuilt_catalog_version_ = 0;
  bool rebuilt_ = false;
  absl::Time last_rebuild_ = absl::InfinitePast();

  std::atomic<int> rebuilds_{0};
  GroupConsumer changes_;
  StepLoop loop_;  // last: it runs Step, which uses everything above
};

}  // namespace steward::segmentation
