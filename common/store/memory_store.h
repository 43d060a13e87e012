#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/store/store.h"

namespace steward {

// The embedded store: everything in this process's memory, gone when it exits. For the all-in-one
// laptop mode and fast tests; behaves like RedisStore in every way the contract tests check.
class MemoryStore final : public Store {
 public:
  absl::StatusOr<std::vector<std::optional<Record>>> Get(absl::Span<const std::string> keys) override;
  absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) override;
  absl::Status Delete(absl::Span<const std::string> keys) override;
  // Same as Get: every record lives in this process, so every one is always "tracked".
  absl::StatusOr<std::vector<std::optional<Record>>> GetAndTrack(absl::Span<const std::string> keys) override;
  // A lookup under the mutex; nullopt if any key is missing.
  std::optional<std::vector<Record>> TryGetLocal(absl::Span<const std::string> keys) override;
  absl::Status IndexAdd(const std::string& index, absl::Span<const std::string> members) override;
  absl::StatusOr<std::vector<std::string>> IndexScan(const std::string& index, const std::string& start_after,
                                                     int limit) override;
  absl::Status IndexRemove(const std::string& index, absl::Span<const std::string> members) override;
  absl::Status ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) override;
  absl::StatusOr<std::vector<ScheduledItem>> ScheduleClaim(const std::string& schedule, int64_t now_ms,
                                                           int64_t lease_ms, int limit) override;
  absl::Status ScheduleRemove(const std::string& schedule, absl::Span<const std::string> members) override;
  absl::StatusOr<std::optional<int64_t>> ScheduleEarliest(const std::string& schedule) override;
  // Same as IndexScan: every index lives in this process.
  std::optional<std::vector<std::string>> TryIndexScanLocal(const std::string& index,
                                                            const std::string& start_after,
                                                            int limit) override;
  // Entry ids are "<n>-0" with n counting from 1 in each log.
  absl::StatusOr<std::vector<LogEntry>> LogRead(const std::string& log, const std::string& after,
                                                int limit) override;
  absl::StatusOr<std::string> LogLastId(const std::string& log) override;
  // Consumer groups live with their log; a blocking read waits on the store's mutex for an append
  // to that log. Idle times are real time (absl::Now()), as on Redis.
  absl::Status LogGroupCreate(const std::string& log, const std::string& group,
                              const std::string& start_after) override;
  absl::StatusOr<std::vector<LogEntry>> LogGroupRead(const std::string& log, const std::string& group,
                                                     const std::string& consumer, int limit,
                                                     absl::Duration block) override;
  absl::StatusOr<std::vector<LogEntry>> LogGroupClaim(const std::string& log, const std::string& group,
                                                      const std::string& consumer, absl::Duration min_idle,
                                                      int limit) override;
  absl::Status LogGroupAck(const std::string& log, const std::string& group,
                           absl::Span<const std::string> ids) override;
  absl::StatusOr<LogGroupInfo> GetLogGroupInfo(const std::string& log, const std::string& group) override;

 private:
  // An entry delivered to a consumer of a group and not acknowledged yet.
  struct PendingEntry {
    std::string consumer;
    absl::Time delivered;
    int64_t deliveries = 0;
  };
  struct Group {
    // Entries with a number above this one have not been delivered yet.
    uint64_t last_delivered = 0;
    std::string last_delivered_id;  // as Redis reports it: "<n>-<m>"
    std::map<uint64_t, PendingEntry> pending;  // by entry number
  };
  struct Log {
    uint64_t last_id = 0;
    std::deque<std::pair<uint64_t, std::string>> entries;
    std::map<std::string, Group> groups;
  };
  // The group, or NOT_FOUND.
  absl::StatusOr<Group*> FindGroup(const std::string& log, const std::string& group)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The log's entries with a number above `after`, in order.
  static std::deque<std::pair<uint64_t, std::string>>::const_iterator EntriesAfter(const Log& log,
                                                                                    uint64_t after);

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Record> records_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::set<std::string>> indexes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Log> logs_ ABSL_GUARDED_BY(mu_);
  // Per schedule: (due, member) in order, and each member's due time.
  struct Schedule {
    std::set<std::pair<int64_t, std::string>> by_due;
    absl::flat_hash_map<std::string, int64_t> due;
  };
  absl::flat_hash_map<std::string, Schedule> schedules_ ABSL_GUARDED_BY(mu_);

  static void AddToSchedule(Schedule& s, const std::string& member, int64_t due_ms);
  static void RemoveFromSchedule(Schedule& s, const std::string& member);
};

}  // namespace steward
