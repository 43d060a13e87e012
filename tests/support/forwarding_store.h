#pragma once

#include <string>
#include <vector>

#include "common/store/memory_store.h"

namespace steward::testing {

// A Store that hands every call to an in-memory store: tests derive from it and override the one or
// two calls they want to slow down, interleave or fail.
class ForwardingStore : public Store {
 public:
  absl::StatusOr<std::vector<std::optional<Record>>> Get(absl::Span<const std::string> keys) override {
    return inner_.Get(keys);
  }
  absl::StatusOr<std::vector<std::optional<Record>>> GetAndTrack(
      absl::Span<const std::string> keys) override {
    return inner_.GetAndTrack(keys);
  }
  std::optional<std::vector<Record>> TryGetLocal(absl::Span<const std::string> keys) override {
    return inner_.TryGetLocal(keys);
  }
  absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) override {
    return inner_.Put(writes);
  }
  absl::Status Delete(absl::Span<const std::string> keys) override { return inner_.Delete(keys); }
  absl::Status IndexAdd(const std::string& index, absl::Span<const std::string> members) override {
    return inner_.IndexAdd(index, members);
  }
  absl::StatusOr<std::vector<std::string>> IndexScan(const std::string& index, const std::string& start_after,
                                                     int limit) override {
    return inner_.IndexScan(index, start_after, limit);
  }

  absl::Status IndexRemove(const std::string& index, absl::Span<const std::string> members) override {
    return inner_.IndexRemove(index, members);
  }
  absl::Status ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) override {
    return inner_.ScheduleAdd(schedule, items);
  }
  absl::StatusOr<std::vector<ScheduledItem>> ScheduleClaim(const std::string& schedule, int64_t now_ms,
                                                           int64_t lease_ms, int limit) override {
    return inner_.ScheduleClaim(schedule, now_ms, lease_ms, limit);
  }
  absl::Status ScheduleRemove(const std::string& schedule, absl::Span<const std::string> members) override {
    return inner_.ScheduleRemove(schedule, members);
  }
  absl::StatusOr<std::optional<int64_t>> ScheduleEarliest(const std::string& schedule) override {
    return inner_.ScheduleEarliest(schedule);
  }
  absl::StatusOr<std::vector<LogEntry>> LogRead(const std::string& log, const std::string& after,
                                                int limit) override {
    return inner_.LogRead(log, after, limit);
  }
  absl::StatusOr<std::string> LogLastId(const std::string& log) override { return inner_.LogLastId(log); }
  absl::Status LogGroupCreate(const std::string& log, const std::string& group,
                              const std::string& start_after) override {
    return inner_.LogGroupCreate(log, group, start_after);
  }
  absl::StatusOr<std::vector<LogEntry>> LogGroupRead(const std::string& log, const std::string& group,
                                                     const std::string& consumer, int limit,
                                                     absl::Duration block) override {
    return inner_.LogGroupRead(log, group, consumer, limit, block);
  }
  absl::StatusOr<std::vector<LogEntry>> LogGroupClaim(const std::string& log, const std::string& group,
                                                      const std::string& consumer, absl::Duration min_idle,
                                                      int limit) override {
    return inner_.LogGroupClaim(log, group, consumer, min_idle, limit);
  }
  absl::Status LogGroupAck(const std::string& log, const std::string& group,
                           absl::Span<const std::string> ids) override {
    return inner_.LogGroupAck(log, group, ids);
  }
  absl::StatusOr<LogGroupInfo> GetLogGroupInfo(const std::string& log, const std::string& group) override {
    return inner_.GetLogGroupInfo(log, group);
  }

 private:
  MemoryStore inner_;
};

}  // namespace steward::testing
