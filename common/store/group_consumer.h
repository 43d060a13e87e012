#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/store/store.h"

namespace steward {

// Follows one log (a Redis Stream on RedisStore) as one member of a consumer group: each entry goes to
// one member of the group, and is acknowledged only after the handler returns ok, so an entry in the
// hands of a member that crashes is handed out again: a member claims everything pending when it
// starts (so a restarted process takes back what it held), and entries pending for `reclaim_after`
// while it runs. Delivery is therefore at least once: handlers must be idempotent. Thread-safe; one
// Step runs at a time.
class GroupConsumer;

// How a process follows other services' feeds: its name in each consumer group (one name per process:
// on Kubernetes the pod's name, which a restarted container keeps, so it takes back what it had
// pending), how long a read waits on an empty feed, and when a pending entry counts as lost.
struct FeedSettings {
  std::string consumer = "steward";
  absl::Duration wait = absl::Milliseconds(100);
  // With wait of zero: the pause between looks at a feed that had nothing new.
  absl::Duration poll_interval = absl::Milliseconds(100);
  absl::Duration reclaim_after = absl::Seconds(30);
};

class GroupConsumer {
 public:
  struct Options {
    std::string log;
    std::string group;     // one per consuming service, e.g. "playbooks"
    std::string consumer;  // one per process of that service (the pod's name)
    int page_size = 500;
    // How long a Step waits for a new entry when there is none (0: it does not wait).
    absl::Duration block = absl::Milliseconds(100);
    // An entry pending this long is presumed lost with its consumer; checked every `reclaim_every`.
    absl::Duration reclaim_after = absl::Seconds(30);
    absl::Duration reclaim_every = absl::Seconds(5);
    // Where the feed's follower kept its place before consumer groups (a stored cursor key): a new
    // group starts after it, so an upgrade neither replays nor skips. Empty: the group starts at the
    // oldest entry kept.
    std::string legacy_cursor_key;
  };
  // Handles a page of entries, oldest first. An error leaves them unacknowledged and the same page is
  // handed to the handler again at the next Step, until it succeeds: return errors only for what a
  // retry may fix (a peer unavailable), and log and skip what it never will.
  using Handler = std::function<absl::Status(absl::Span<const LogEntry>)>;

  GroupConsumer(Store& store, Options options);
  // Follows `log` as group `group` with `settings`; see Options for `legacy_cursor_key`.
  GroupConsumer(Store& store, const FeedSettings& settings, std::string log, std::string group,
                std::string legacy_cursor_key = "");

  // For a StepLoop: one Step, and whether to step again at once (entries were handled, or the read
  // already waited on an empty feed).
  absl::StatusOr<bool> Follow(const Handler& handler);

  // One page: the page whose handler failed last time, if any; else, at start, whatever the group has
  // pending (what this consumer held when its previous process died), and then every reclaim_every
  // entries idle past reclaim_after; else new entries (waiting up to `block`, or not at all when `wait`
  // is false). Returns how many entries were handled (and acknowledged).
  absl::StatusOr<int> Step(const Handler& handler, bool wait = true);

  // Steps without waiting until the feed has nothing more for this consumer.
  absl::Status Drain(const Handler& handler);

  // The group's pending entries and lag (entries not delivered yet) as of the last Step that looked,
  // at most about a second old while steps run: for a metrics gauge, which must not do I/O.
  LogGroupInfo LastInfo() const;

  const Options& options() const { return options_; }

 private:
  absl::Status EnsureGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<LogEntry>> NextPage(bool wait) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store& store_;
  const Options options_;
  absl::Mutex mu_;
  bool group_ready_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the start-up claim of everything pending is done
  std::vector<LogEntry> retry_ ABSL_GUARDED_BY(mu_);
  absl::Time next_reclaim_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_info_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  mutable absl::Mutex info_mu_;
  LogGroupInfo last_info_ ABSL_GUARDED_BY(info_mu_);
};

}  // namespace steward
