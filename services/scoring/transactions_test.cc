#include "services/scoring/transactions.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/scoring/activity.h"

namespace steward::scoring {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

absl::Time DaysAgo(int days) { return kNow - absl::Hours(24) * days; }

v1::Event Expansion(std::string id, absl::Time t, double mrr_added,
                    v1::EventType type = v1::EVENT_TYPE_EXPANSION) {
  v1::Event e;
  e.set_event_id(std::move(id));
  e.set_account_id("a1");
  e.set_type(type);
  e.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
  e.set_value(mrr_added);
  return e;
}

// Folds `events` into `record` the way RecordEvents does, one batch, remembering ids in `id_log`.
void Apply(const std::vector<v1::Event>& events, v1::ActivityRecord& record, std::string& id_log) {
  std::vector<const v1::Event*> pointers;
  for (const v1::Event& e : events) pointers.push_back(&e);
  IdLogUpdate update;
  ApplyEvents(pointers, kNow, record, id_log, update);
  if (update.replace) id_log.clear();
  id_log += update.bytes;
}

std::vector<v1::Event> History() {
  return {Expansion("e1", DaysAgo(70), 100), Expansion("e2", DaysAgo(42), 50),
          Expansion("e3", DaysAgo(42) + absl::Hours(3), 30, v1::EVENT_TYPE_UPGRADE),
          Expansion("e4", DaysAgo(14), 40)};
}

TEST(TransactionSummaryTest, SameDayEventsAreOneTransactionAndTheFirstIsNotARepeat) {
  v1::ActivityRecord record;
  std::string ids;
  Apply(History(), record, ids);
  auto in = TransactionInputsAsOf(record.transactions(), DayOf(kNow));
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->rfm.x, 2);  // days 70, 42 (two events), 14 ago
  EXPECT_DOUBLE_EQ(in->rfm.t_x, 56.0 / 7);
  EXPECT_DOUBLE_EQ(in->rfm.T, 70.0 / 7);
  EXPECT_DOUBLE_EQ(in->mean_repeat_value, (50 + 30 + 40) / 2.0);
}

TEST(TransactionSummaryTest, AnyArrivalOrderAndReplaysGiveTheSameSummary) {
  v1::ActivityRecord in_order;
  std::string ids;
  Apply(History(), in_order, ids);

  std::vector<v1::Event> events = History();
  std::reverse(events.begin(), events.end());
  v1::ActivityRecord reversed;
  std::string reversed_ids;
  for (const v1::Event& e : events) Apply({e}, reversed, reversed_ids);
  Apply(events, reversed, reversed_ids);  // the whole history replayed: duplicates, no effect
  EXPECT_EQ(reversed.transactions().SerializeAsString(), in_order.transactions().SerializeAsString());
}

TEST(TransactionSummaryTest, NoTransactionsOrOnlyTodaysIsInsufficientData) {
  v1::ActivityRecord record;
  std::string ids;
  auto none = TransactionInputsAsOf(record.transactions(), DayOf(kNow));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(none.status().message(), "insufficient data: no transactions (upgrades or expansions) recorded");

  Apply({Expansion("t", kNow - absl::Hours(1), 10)}, record, ids);
  auto today = TransactionInputsAsOf(record.transactions(), DayOf(kNow));
  EXPECT_EQ(today.status().code(), absl::StatusCode::kFailedPrecondition);
  auto tomorrow = TransactionInputsAsOf(record.transactions(), DayOf(kNow) + 1);
  ASSERT_TRUE(tomorrow.ok());
  EXPECT_EQ(tomorrow->rfm.x, 0);
  EXPECT_DOUBLE_EQ(tomorrow->rfm.T, 1.0 / 7);
}

TEST(TransactionSummaryTest, LoginsAndOtherEventsAreNotTransactions) {
  v1::ActivityRecord record;
  std::string ids;
  v1::Event login = Expansion("l", DaysAgo(3), 0, v1::EVENT_TYPE_LOGIN);
  v1::Event paid = Expansion("p", DaysAgo(3), 0, v1::EVENT_TYPE_INVOICE_PAID);
  Apply({login, paid}, record, ids);
  EXPECT_EQ(record.transactions().transaction_days(), 0);
}

}  // namespace
}  // namespace steward::scoring
