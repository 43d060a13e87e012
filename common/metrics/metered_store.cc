#include "common/metrics/metered_store.h"

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace steward::metrics {
namespace {

constexpr const char* kOpNames[MeteredStore::kOpCount] = {"get",
                                                          "put",
                                                          "delete",
                                                          "get_and_track",
                                                          "try_get_local",
                                                          "index_add",
                                                          "index_scan",
                                                          "index_scan_and_track",
                                                          "try_index_scan_local",
                                                          "index_remove",
                                                          "schedule_add",
                                                          "schedule_claim",
                                                          "schedule_remove",
                                                          "schedule_earliest",
                                                          "log_read",
                                                          "log_last_id",
                                                          "log_group_create",
                                                          "log_group_read",
                                                          "log_group_claim",
                                                          "log_group_ack",
                                                          "log_group_info"};

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

}  // namespace

MeteredStore::MeteredStore(Store& inner, MetricsRegistry& registry)
    : inner_(inner),
      errors_(registry.AddCounter("steward_store_errors_total",
                                  "Store calls that returned an error, by operation and status code.",
                                  {"operation", "code"})) {
  CounterFamily& calls =
      registry.AddCounter("steward_store_operations_total", "Store calls, by operation.", {"operation"});
  HistogramFamily& latency = registry.AddHistogram("steward_store_operation_duration_seconds",
                                                   "Latency of store calls, by operation.", {"operation"},
                                                   {std::begin(kLatencyBuckets), std::end(kLatencyBuckets)});
  for (int op = 0; op < kOpCount; ++op) {
    ops_[op].calls = &calls.WithLabels({kOpNames[op]});
    ops_[op].latency = &latency.WithLabels({kOpNames[op]});
  }
  CounterFamily& local = registry.AddCounter(
      "steward_store_local_reads_total",
      "Reads answered from this process's tracked copies (hit) or not (miss), by operation.",
      {"operation", "result"});
  local_reads_ = {&local.WithLabels({"try_get_local", "hit"}), &local.WithLabels({"try_get_local", "miss"}),
                  &local.WithLabels({"try_index_scan_local", "hit"}),
                  &local.WithLabels({"try_index_scan_local", "miss"})};
}

void MeteredStore::RecordError(Op op, const absl::Status& status) {
  errors_.WithLabels({kOpNames[op], absl::StatusCodeToString(status.code())}).Increment();
}

template <typename F>
auto MeteredStore::Measure(Op op, F&& call) {
  const absl::Time start = absl::Now();
  auto result = call();
  ops_[op].latency->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  ops_[op].calls->Increment();
  if (const absl::Status& status = StatusOf(result); !status.ok()) RecordError(op, status);
  return result;
}

absl::StatusOr<std::vector<std::optional<Record>>> MeteredStore::Get(absl::Span<const std::string> keys) {
  return Measure(kGet, [&] { return inner_.Get(keys); });
}

absl::StatusOr<std::vector<bool>> MeteredStore::Put(absl::Span<const Write> writes) {
  return Measure(kPut, [&] { return inner_.Put(writes); });
}

absl::Status MeteredStore::Delete(absl::Span<const std::string> keys) {
  return Measure(kDelete, [&] { return inner_.Delete(keys); });
}

absl::StatusOr<std::vector<std::optional<Record>>> MeteredStore::GetAndTrack(
    absl::Span<const std::string> keys) {
  return Measure(kGetAndTrack, [&] { return inner_.GetAndTrack(keys); });
}

std::optional<std::vector<Record>> MeteredStore::TryGetLocal(absl::Span<const std::string> keys) {
  const absl::Time start = absl::Now();
  std::optional<std::vector<Record>> result = inner_.TryGetLocal(keys);
  ops_[kTryGetLocal].latency->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  ops_[kTryGetLocal].calls->Increment();
  local_reads_[result.has_value() ? 0 : 1]->Increment();
  return result;
}

absl::Status MeteredStore::IndexAdd(const std::string& index, absl::Span<const std::string> members) {
  return Measure(kIndexAdd, [&] { return inner_.IndexAdd(index, members); });
}

absl::StatusOr<std::vector<std::string>> MeteredStore::IndexScan(const std::string& index,
                                                                 const std::string& start_after, int limit) {
  return Measure(kIndexScan, [&] { return inner_.IndexScan(index, start_after, limit); });
}

absl::StatusOr<std::vector<std::string>> MeteredStore::IndexScanAndTrack(const std::string& index,
                                                                         const std::string& start_after,
                                                                         int limit) {
  return Measure(kIndexScanAndTrack, [&] { return inner_.IndexScanAndTrack(index, start_after, limit); });
}

std::optional<std::vector<std::string>> MeteredStore::TryIndexScanLocal(const std::string& index,
                                                                        const std::string& start_after,
                                                                        int limit) {
  const absl::Time start = absl::Now();
  std::optional<std::vector<std::string>> result = inner_.TryIndexScanLocal(index, start_after, limit);
  ops_[kTryIndexScanLocal].latency->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  ops_[kTryIndexScanLocal].calls->Increment();
  local_reads_[result.has_value() ? 2 : 3]->Increment();
  return result;
}

absl::Status MeteredStore::IndexRemove(const std::string& index, absl::Span<const std::string> members) {
  return Measure(kIndexRemove, [&] { return inner_.IndexRemove(index, members); });
}

absl::Status MeteredStore::ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) {
  return Measure(kScheduleAdd, [&] { return inner_.ScheduleAdd(schedule, items); });
}

absl::StatusOr<std::vector<ScheduledItem>> MeteredStore::ScheduleClaim(const std::string& schedule,
                                                                       int64_t now_ms, int64_t lease_ms,
                                                                       int limit) {
  return Measure(kScheduleClaim, [&] { return inner_.ScheduleClaim(schedule, now_ms, lease_ms, limit); });
}

absl::Status MeteredStore::ScheduleRemove(const std::string& schedule,
                                          absl::Span<const std::string> members) {
  return Measure(kScheduleRemove, [&] { return inner_.ScheduleRemove(schedule, members); });
}

absl::StatusOr<std::optional<int64_t>> MeteredStore::ScheduleEarliest(const std::string& schedule) {
  return Measure(kScheduleEarliest, [&] { return inner_.ScheduleEarliest(schedule); });
}

absl::StatusOr<std::vector<LogEntry>> MeteredStore::LogRead(const std::string& log, const std::string& after,
                                                            int limit) {
  return Measure(kLogRead, [&] { return inner_.LogRead(log, after, limit); });
}

absl::StatusOr<std::string> MeteredStore::LogLastId(const std::string& log) {
  return Measure(kLogLastId, [&] { return inner_.LogLastId(log); });
}

absl::Status MeteredStore::LogGroupCreate(const std::string& log, const std::string& group,
                                          const std::string& start_after) {
  return Measure(kLogGroupCreate, [&] { return inner_.LogGroupCreate(log, group, start_after); });
}

absl::StatusOr<std::vector<LogEntry>> MeteredStore::LogGroupRead(const std::string& log, const std::string& group,
                                                                 const std::string& consumer, int limit,
                                                                 absl::Duration block) {
  return Measure(kLogGroupRead, [&] { return inner_.LogGroupRead(log, group, consumer, limit, block); });
}

absl::StatusOr<std::vector<LogEntry>> MeteredStore::LogGroupClaim(const std::string& log, const std::string& group,
                                                                  const std::string& consumer,
                                                                  absl::Duration min_idle, int limit) {
  return Measure(kLogGroupClaim, [&] { return inner_.LogGroupClaim(log, group, consumer, min_idle, limit); });
}

absl::Status MeteredStore::LogGroupAck(const std::string& log, const std::string& group,
                                       absl::Span<const std::string> ids) {
  return Measure(kLogGroupAck, [&] { return inner_.LogGroupAck(log, group, ids); });
}

absl::StatusOr<LogGroupInfo> MeteredStore::GetLogGroupInfo(const std::string& log, const std::string& group) {
  return Measure(kLogGroupInfo, [&] { return inner_.GetLogGroupInfo(log, group); });
}

}  // namespace steward::metrics
