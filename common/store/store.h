#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace steward {

// A value and the version it was stored with. Versions start at 1 and grow by one on every write of
// the key, so a reader can write back only if nobody wrote in between (optimistic concurrency).
struct Record {
  std::string value;
  uint64_t version = 0;
};

// A precondition of a Write on another key: that key's current version must equal `version`
// (0 = the key must be absent). Lets a derived value (a cache) be written only if what it was derived
// from has not changed since it was read.
struct Guard {
  std::string key;
  uint64_t version = 0;
};

// Another key written in the same atomic step as a Write, and only if it happens; its version grows
// by one. It has no condition of its own: a caller that needs one guards the main write instead.
struct AlsoWrite {
  std::string key;
  std::string value;
};

// Bytes added to a log-like key in the same atomic step as a Write, and only if the write happens:
// appended to the key's value, or replacing it when `replace` is set (an absent key is created).
// Such a key reads back with version 1 whatever was appended: it is protected by the write it rides
// on, not by its own version.
struct Append {
  std::string key;
  std::string bytes;
  bool replace = false;
};

// An entry added to a log in the same atomic step as a Write, and only if the write happens. A log is
// an append-only sequence of entries read in order with Store::LogRead: a feed of changes that other
// services follow. It keeps about its `max_entries` newest entries (exactly on MemoryStore, a little
// more on Redis, which trims whole blocks); a reader that falls further behind misses the oldest.
// A log is one key shared by writers of many accounts, so it is the one exception to the hash-tag rule
// below: Steward runs on a single Redis node (or a primary with replicas), not on Redis Cluster.
struct LogAppend {
  std::string log;
  std::string bytes;
  int64_t max_entries = 1'000'000;
};

// A change to a schedule (Store::ScheduleAdd) in the same atomic step as a Write, and only if the write
// happens: `member` moves to `due_ms`, or leaves the schedule when `due_ms` is unset. Keeps a record and
// the time its owner must next look at it from ever disagreeing, even across a crash. A schedule is
// shared by many accounts: like a log, it is an exception to the hash-tag rule.
struct ScheduleChange {
  std::string schedule;
  std::string member;
  std::optional<int64_t> due_ms;
};

// One entry of a log: its id and what was appended.
struct LogEntry {
  std::string id;
  std::string bytes;
};

// A member of a schedule (Store::ScheduleAdd) and when it is due, in milliseconds since the Unix
// epoch.
struct ScheduledItem {
  std::string member;
  int64_t due_ms = 0;
};

// Whether `id` has the form of a log entry id, "<number>-<number>" (digits only, each at most 20 of
// them). Services check cursors that callers hand back with it before passing them to LogRead.
bool IsLogEntryId(absl::string_view id);

// A log entry id split into its two numbers, or nullopt when `id` fails IsLogEntryId or a number does
// not fit in 64 bits (no store can hold such an entry).
std::optional<std::pair<uint64_t, uint64_t>> ParseLogEntryId(absl::string_view id);

// What a consumer group (Store::LogGroupCreate) knows about its log (Redis XINFO GROUPS).
struct LogGroupInfo {
  // Entries delivered to some consumer of the group and not acknowledged yet.
  int64_t pending = 0;
  // Entries after the group's last delivered id, not delivered yet; -1 when the backend cannot tell
  // (Redis after deletions, or for a group started at an arbitrary id before its first read).
  int64_t lag = 0;
  std::string last_delivered_id;
};

// Argument checks shared by the Store implementations of the consumer-group calls: INVALID_ARGUMENT
// for an empty group (or consumer) name, a limit below 1, or an id that ParseLogEntryId rejects.
absl::Status CheckLogGroupName(absl::string_view group);
absl::Status CheckLogGroupConsumer(absl::string_view group, absl::string_view consumer, int limit);
absl::Status CheckLogEntryIds(absl::Span<const std::string> ids);

// One write of Store::Put. With `expected_version` set, the write happens only if the key's current
// version equals it (0 = the key must be absent); otherwise it happens unconditionally. It also
// happens only if every guard holds. `also_write` and `appends` are applied and `also_delete` keys
// deleted, and `schedule_changes` made, in the same atomic step, and only if the write happens. All those
// keys must share the written key's hash tag (see KeyTag) so that the step stays atomic on Redis Cluster too.
struct Write {
  std::string key;
  std::string value;
  std::optional<uint64_t> expected_version;
  std::vector<std::string> also_delete;
  std::vector<Guard> guards;
  std::vector<AlsoWrite> also_write;
  std::vector<Append> appends;
  std::vector<LogAppend> log_appends;
  std::vector<ScheduleChange> schedule_changes;
};

// The narrow storage interface every Steward service uses. Two implementations pass the same
// contract tests (common/store/store_contract_test.cc): MemoryStore (embedded mode, unit tests) and
// RedisStore (production).
//
// Every call touches many keys in one round trip where it can. Errors: UNAVAILABLE when the backend
// cannot be reached or does not answer within its timeout (the call may be retried); INTERNAL for a
// reply that makes no sense. Thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // Reads `keys`; the result has one entry per key, nullopt for a missing key.
  virtual absl::StatusOr<std::vector<std::optional<Record>>> Get(absl::Span<const std::string> keys) = 0;

  // Applies `writes` (each atomic on its own, not together). Returns, per write, whether it happened
  // (false only for a version mismatch or a failed guard). On an error some writes may have happened
  // and others not; versioned writes make a retry safe.
  virtual absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) = 0;

  // Deletes `keys`; missing keys are fine.
  virtual absl::Status Delete(absl::Span<const std::string> keys) = 0;

  // Reads `keys` like Get, and asks the backend to keep this process's copy of the records exact:
  // until a writer (this process or another) changes one of them, TryGetLocal may answer for it
  // without any I/O. Absent keys are not held. A backend may decline to hold a copy (e.g. while it
  // cannot guarantee exactness); the result is the same as Get's either way.
  virtual absl::StatusOr<std::vector<std::optional<Record>>> GetAndTrack(
      absl::Span<const std::string> keys) = 0;

  // Answers from this process's tracked copies, without I/O and without waiting on anything slow:
  // the records of all `keys` when every one is held and still valid, else nullopt (then call
  // GetAndTrack). A key that is absent in the backend is never held. A write through this same Store
  // object is visible at once (it drops the local copies of the keys it writes or deletes); a write by
  // another process once its invalidation arrives (normally well under a millisecond). Empty `keys`:
  // an empty vector.
  virtual std::optional<std::vector<Record>> TryGetLocal(absl::Span<const std::string> keys) = 0;

  // Adds `members` to the named sorted index (idempotent).
  virtual absl::Status IndexAdd(const std::string& index, absl::Span<const std::string> members) = 0;

  // Returns up to `limit` members of the index in byte order, strictly after `start_after` (empty:
  // from the start).
  virtual absl::StatusOr<std::vector<std::string>> IndexScan(
      const std::string& index, const std::string& start_after,
      int limit) = 0;  // IndexScan, asking the backend, as GetAndTrack does, to keep this process's copy of
                       // the page exact
  // until the index changes, so that TryIndexScanLocal may answer the same page without I/O. A
  // backend may hold nothing; the result is IndexScan's either way.
  virtual absl::StatusOr<std::vector<std::string>> IndexScanAndTrack(const std::string& index,
                                                                     const std::string& start_after,
                                                                     int limit) {
    return IndexScan(index, start_after, limit);
  }

  // The page of IndexScan(index, start_after, limit) from this process's tracked copy, without I/O and
  // without waiting on anything slow, or nullopt (then call IndexScanAndTrack). The same freshness as
  // TryGetLocal: a change through this Store object at once, another process's once its invalidation
  // arrives.
  virtual std::optional<std::vector<std::string>> TryIndexScanLocal(const std::string& index,
                                                                    const std::string& start_after,
                                                                    int limit) {
    return std::nullopt;
  }

  // Removes `members` from the named sorted index; members not in it are fine.
  virtual absl::Status IndexRemove(const std::string& index, absl::Span<const std::string> members) = 0;

  // Schedules: members with a due time, for work that must happen later (playbook steps). A member is
  // in a schedule at most once; adding it again moves it to the new due time.
  virtual absl::Status ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) = 0;

  // Claims up to `limit` members due at `now_ms` (due time ≤ now_ms), earliest first, atomically: each
  // claimed member's due time moves to now_ms + lease_ms, so no other claimer gets it meanwhile, and a
  // claimer that dies before finishing leaves it to be claimed again once the lease runs out. Returns the
  // claimed members with the due time they had. Finish a claimed member with ScheduleRemove, or move it
  // with ScheduleAdd.
  virtual absl::StatusOr<std::vector<ScheduledItem>> ScheduleClaim(const std::string& schedule,
                                                                   int64_t now_ms, int64_t lease_ms,
                                                                   int limit) = 0;

  // Removes members from a schedule; members not in it are fine.
  virtual absl::Status ScheduleRemove(const std::string& schedule, absl::Span<const std::string> members) = 0;

  // The earliest due time in a schedule (claimed members included, at their lease's end), or nullopt when
  // it is empty. For a manual clock that jumps from one due time to the next.
  virtual absl::StatusOr<std::optional<int64_t>> ScheduleEarliest(const std::string& schedule) = 0;

  // Returns up to `limit` entries of `log` (see LogAppend) strictly after the entry id `after`
  // (empty: from the oldest entry kept), oldest first. Ids grow strictly within a log; `after` need
  // not be an id still kept (nor ever written). INVALID_ARGUMENT if `after` is not empty and fails
  // IsLogEntryId.
  virtual absl::StatusOr<std::vector<LogEntry>> LogRead(const std::string& log, const std::string& after,
                                                        int limit) = 0;

  // The id of the newest entry of `log`, or "" when it has none: a cursor for reading only what comes
  // next.
  virtual absl::StatusOr<std::string> LogLastId(const std::string& log) = 0;

  // Consumer groups on logs (Redis XGROUP / XREADGROUP / XAUTOCLAIM / XACK): several consumers share
  // the work of following a log, each entry going to one of them, at least once. An entry read by a
  // consumer stays pending in its group until acknowledged; one whose consumer died is taken over by
  // another with LogGroupClaim. Each group follows the whole log independently of other groups and of
  // LogRead. All of these: INVALID_ARGUMENT for an empty group or consumer name, a limit below 1, or
  // an id that ParseLogEntryId rejects.

  // Creates `group` on `log` if it does not exist (creating the log empty if missing), delivering the
  // entries after the id `start_after` ("" = from the oldest entry kept). An existing group is left as
  // it is (OK).
  virtual absl::Status LogGroupCreate(const std::string& log, const std::string& group,
                                      const std::string& start_after) = 0;

  // Up to `limit` entries never delivered to the group, oldest first, now pending for `consumer`
  // (XREADGROUP ... >). When there are none, waits up to `block` for one to be appended (zero or
  // negative: does not wait). NOT_FOUND if the group (or the log) does not exist. A blocking read
  // holds a backend connection while it waits (see RedisStore).
  virtual absl::StatusOr<std::vector<LogEntry>> LogGroupRead(const std::string& log, const std::string& group,
                                                             const std::string& consumer, int limit,
                                                             absl::Duration block) = 0;

  // Takes over up to `limit` entries pending (for any consumer, `consumer` included) for at least
  // `min_idle` since their last delivery, oldest first, and hands them to `consumer` as if delivered
  // now (XAUTOCLAIM). Entries trimmed from the log meanwhile leave the pending list and are not
  // returned. NOT_FOUND if the group does not exist.
  virtual absl::StatusOr<std::vector<LogEntry>> LogGroupClaim(const std::string& log, const std::string& group,
                                                              const std::string& consumer,
                                                              absl::Duration min_idle, int limit) = 0;

  // Acknowledges entries of the group (XACK): they leave its pending list for good. Ids not pending
  // (and a group or log that does not exist) are ignored.
  virtual absl::Status LogGroupAck(const std::string& log, const std::string& group,
                                   absl::Span<const std::string> ids) = 0;

  // The group's pending count, lag and last delivered id (XINFO GROUPS). NOT_FOUND if the group (or
  // the log) does not exist.
  virtual absl::StatusOr<LogGroupInfo> GetLogGroupInfo(const std::string& log, const std::string& group) = 0;
};

// Wraps an account id in a Redis Cluster hash tag, "{id}", so that all keys of one account live in one
// slot. Account ids cannot contain braces (validated at the API edge).
inline std::string KeyTag(absl::string_view account_id) { return absl::StrCat("{", account_id, "}"); }

}  // namespace steward
