#include "services/scoring/transactions.h"

#include "absl/status/status.h"

namespace steward::scoring {

void RecordTransaction(int32_t day, double value, bool day_had_one, v1::TransactionSummary& summary) {
  summary.set_total_value(summary.total_value() + value);
  if (day_had_one) {
    if (day == summary.first_day()) summary.set_first_day_value(summary.first_day_value() + value);
    return;
  }
  if (summary.transaction_days() == 0) {
    summary.set_first_day(day);
    summary.set_last_day(day);
    summary.set_first_day_value(value);
  } else if (day < summary.first_day()) {
    // The former first day becomes a repeat transaction; its value stays in total_value.
    summary.set_first_day(day);
    summary.set_first_day_value(value);
  } else if (day > summary.last_day()) {
    summary.set_last_day(day);
  }
  summary.set_transaction_days(summary.transaction_days() + 1);
}

absl::StatusOr<TransactionInputs> TransactionInputsAsOf(const v1::TransactionSummary& summary,
                                                        int32_t today) {
  if (summary.transaction_days() == 0) {
    return absl::FailedPreconditionError("insufficient data: no transactions (upgrades or expansions) recorded");
  }
  if (today <= summary.first_day()) {
    return absl::FailedPreconditionError("insufficient data: the first transaction is from today");
  }
  TransactionInputs in;
  in.rfm.x = summary.transaction_days() - 1;
  in.rfm.t_x = in.rfm.x > 0 ? (summary.last_day() - summary.first_day()) / 7.0 : 0.0;
  in.rfm.T = (today - summary.first_day()) / 7.0;
  if (in.rfm.x > 0) in.mean_repeat_value = (summary.total_value() - summary.first_day_value()) / in.rfm.x;
  return in;
}

}  // namespace steward::scoring
