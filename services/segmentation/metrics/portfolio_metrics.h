#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/store/store.h"
#include "steward/v1/portfolio_metrics.pb.h"

namespace steward::segmentation {

// The portfolio metrics of SPEC §6 over a period, computed from the per-account history records that
// AccountHistoryBook keeps. The definitions of every metric, population and count are in the comments
// of proto/steward/v1/portfolio_metrics.proto; targets and settings come from `targets` (valid per
// ValidatePortfolioTargets).
//
// Pages through the index AccountHistoryBook::kIndex, kPageSize accounts at a time, asks `in_segment`
// (null: every account is in scope) about each, and reads the records of those in scope with one Get
// per page. Accounts whose attributes are not known yet (no upsert seen) are left out. Memory does not
// grow with the number of accounts. The response echoes the period and segment_id; resolving
// segment_id into `in_segment` is the caller's job.
//
// Errors: INVALID_ARGUMENT (FieldError) on "start_time" or "end_time" when either is missing or not a
// valid timestamp, on "end_time" when it is not after start_time or more than kMaxPeriodDays later;
// INTERNAL for a stored record that cannot be parsed; store errors as they are.
inline constexpr int kPortfolioPageSize = 1000;
inline constexpr int kMaxPeriodDays = 3653;  // 10 years

absl::Status ValidatePortfolioMetricsRequest(const v1::GetPortfolioMetricsRequest& request);

absl::StatusOr<v1::GetPortfolioMetricsResponse> ComputePortfolioMetrics(
    Store& store, const v1::PortfolioTargets& targets, const v1::GetPortfolioMetricsRequest& request,
    const std::function<bool(const std::string& account_id)>* in_segment);

}  // namespace steward::segmentation
