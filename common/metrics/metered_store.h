#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics/metrics_registry.h"
#include "common/store/store.h"

namespace steward::metrics {

// A Store that forwards every call to `inner` unchanged and measures it, per operation (get, put,
// delete, get_and_track, try_get_local, index_add, index_scan, index_scan_and_track,
// try_index_scan_local, index_remove, schedule_add, schedule_claim, schedule_remove, schedule_earliest,
// log_read, log_last_id, log_group_create, log_group_read, log_group_claim, log_group_ack,
// log_group_info; log_group_read's latency includes the time it blocks waiting for entries):
//   steward_store_operations_total{operation}               calls
//   steward_store_errors_total{operation,code}              calls that returned an error (absl code name)
//   steward_store_operation_duration_seconds{operation}     call latency
//   steward_store_local_reads_total{operation,result}       TryGetLocal / TryIndexScanLocal hit or miss
// A pure decorator: results, errors and thread-safety are the inner store's. `inner` and `registry`
// must outlive it.
class MeteredStore final : public Store {
 public:
  MeteredStore(Store& inner, MetricsRegistry& registry);

  absl::StatusOr<std::vector<std::optional<Record>>> Get(absl::Span<const std::string> keys) override;
  absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) override;
  absl::Status Delete(absl::Span<const std::string> keys) override;
  absl::StatusOr<std::vector<std::optional<Record>>> GetAndTrack(absl::Span<const std::string> keys) override;
  std::optional<std::vector<Record>> TryGetLocal(absl::Span<const std::string> keys) override;
  absl::Status IndexAdd(const std::string& index, absl::Span<const std::string> members) override;
  absl::StatusOr<std::vector<std::string>> IndexScan(const std::string& index, const std::string& start_after,
                                                     int limit) override;
  absl::StatusOr<std::vector<std::string>> IndexScanAndTrack(const std::string& index,
                                                             const std::string& start_after,
                                                             int limit) override;
  std::optional<std::vector<std::string>> TryIndexScanLocal(const std::string& index,
                                                            const std::string& start_after,
                                                            int limit) override;
  absl::Status IndexRemove(const std::string& index, absl::Span<const std::string> members) override;
  absl::Status ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) override;
  absl::StatusOr<std::vector<ScheduledItem>> ScheduleClaim(const std::string& schedule, int64_t now_ms,
                                                           int64_t lease_ms, int limit) override;
  absl::Status ScheduleRemove(const std::string& schedule, absl::Span<const std::string> members) override;
  absl::StatusOr<std::optional<int64_t>> ScheduleEarliest(const std::string& schedule) override;
  absl::StatusOr<std::vector<LogEntry>> LogRead(const std::string& log, const std::string& after,
                                                int limit) override;
  absl::StatusOr<std::string> LogLastId(const std::string& log) override;
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

  enum Op {
    kGet,
    kPut,
    kDelete,
    kGetAndTrack,
    kTryGetLocal,
    kIndexAdd,
    kIndexScan,
    kIndexScanAndTrack,
    kTryIndexScanLocal,
    kIndexRemove,
    kScheduleAdd,
    kScheduleClaim,
    kScheduleRemove,
    kScheduleEarliest,
    kLogRead,
    kLogLastId,
    kLogGroupCreate,
    kLogGroupRead,
    kLogGroupClaim,
    kLogGroupAck,
    kLogGroupInfo,
    kOpCount
  };

 private:
  // The children of one operation, looked up once so that a call takes no lock.
  struct OpMetrics {
    Counter* calls = nullptr;
    Histogram* latency = nullptr;
  };
  // Runs `call`, recording its latency and, for a non-OK status, an error.
  template <typename F>
  auto Measure(Op op, F&& call);
  void RecordError(Op op, const absl::Status& status);

  Store& inner_;
  CounterFamily& errors_;
  std::array<OpMetrics, kOpCount> ops_;
  std::array<Counter*, 4> local_reads_;  // try_get_local hit/miss, try_index_scan_local hit/miss
};

}  // namespace steward::metrics
