#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "services/scoring/predictive/bg_nbd.h"
#include "steward/v1/activity_record.pb.h"

namespace steward::scoring {

// What a "transaction" is for a SaaS account, in the sense of BG/NBD and Gamma-Gamma: a UTC day with
// at least one EVENT_TYPE_UPGRADE or EVENT_TYPE_EXPANSION, worth the MRR those events added
// (Event.value). Why these events and not the others scoring ingests:
// - they are the account's discretionary purchases: irregular in time, each with an amount, which is
//   what the models describe (a customer buys at some rate until they "die");
// - invoice payments follow the billing calendar (regular, not Poisson), carry days late rather than an
//   amount, and renewals are the shifted-beta-geometric model's job;
// - active days are plentiful but have no money value, so Gamma-Gamma and CLV could not use them.
// Same-day events are one transaction (as CDNOW's same-day purchases are merged in the literature).
// The days come in whole, so recency and age are multiples of 1/7 week.

// Folds one recorded upgrade or expansion on `day` worth `value` into `summary`. `day_had_one` says
// whether that day already holds a transaction (its bucket counted an expansion before this event).
// The result depends only on the set of events folded in, not on their order, so out-of-order events
// land right; de-duplication happens before (activity.h), so a replay never reaches this.
void RecordTransaction(int32_t day, double value, bool day_had_one, v1::TransactionSummary& summary);

// An account's history in the models' units: times in weeks from its first transaction to `today`.
struct TransactionInputs {
  predictive::RfmSummary rfm;
  // Mean MRR added by the repeat transactions; 0 when rfm.x = 0.
  double mean_repeat_value = 0;
};

// The summary's inputs as of `today`; FAILED_PRECONDITION whose message is the "insufficient data: …"
// reason shown to API callers when the models can say nothing (no transactions, or the first one is
// today so the account has no age yet).
absl::StatusOr<TransactionInputs> TransactionInputsAsOf(const v1::TransactionSummary& summary, int32_t today);

}  // namespace steward::scoring
