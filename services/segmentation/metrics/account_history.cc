#include "services/segmentation/metrics/account_history.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/proto_time.h"

namespace steward::segmentation {
namespace {

using Points = google::protobuf::RepeatedPtrField<v1::PortfolioStatusPoint>;

int64_t Millis(const google::protobuf::Timestamp& ts) { return absl::ToUnixMillis(FromProtoTime(ts)); }

// The status now: that of the last status point, else the starting one (UNSPECIFIED before any upsert).
v1::AccountStatus Latest(const v1::PortfolioHistoryRecord& record) {
  return record.status_points().empty() ? record.initial_status() : record.status_points().rbegin()->status();
}

// Appends a status point, never before the previous one (see the class comment).
void AppendStatus(v1::PortfolioHistoryRecord& record, int64_t time_ms, v1::AccountStatus status,
                  const std::string& reason, bool from_event) {
  if (!record.status_points().empty())
    time_ms = std::max(time_ms, record.status_points().rbegin()->time_ms());
  v1::PortfolioStatusPoint* point = record.add_status_points();
  point->set_time_ms(time_ms);
  point->set_status(status);
  point->set_reason(reason.substr(0, AccountHistoryBook::kMaxReasonLength));
  point->set_from_event(from_event);
}

void RemoveLastStatus(v1::PortfolioHistoryRecord& record) { record.mutable_status_points()->RemoveLast(); }

// Inserts `item` after every element whose time is at or before its own (lists are kept by time).
template <typename T>
void InsertByTime(google::protobuf::RepeatedPtrField<T>* list, T item) {
  list->Add(std::move(item));
  for (int i = list->size() - 1; i > 0 && list->Get(i - 1).time_ms() > list->Get(i).time_ms(); --i) {
    list->SwapElements(i - 1, i);
  }
}

// Drops the oldest elements beyond `max`.
template <typename T>
void KeepNewest(google::protobuf::RepeatedPtrField<T>* list, int max) {
  if (list->size() > max) list->DeleteSubrange(0, list->size() - max);
}

bool FoldUpsert(const v1::Account& account, int64_t change_ms, v1::PortfolioHistoryRecord& record) {
  bool changed = false;
  v1::AccountStatus status = account.status();
  if (status != v1::ACCOUNT_STATUS_TRIAL && status != v1::ACCOUNT_STATUS_CHURNED) {
    status = v1::ACCOUNT_STATUS_ACTIVE;  // UpsertAccount's reading of UNSPECIFIED
  }
  if (record.upserted_status() == v1::ACCOUNT_STATUS_UNSPECIFIED) {
    record.set_upserted_status(status);
    record.set_initial_status(status == v1::ACCOUNT_STATUS_TRIAL ? v1::ACCOUNT_STATUS_TRIAL
                                                                 : v1::ACCOUNT_STATUS_ACTIVE);
    record.set_start_time_ms(account.has_start_time() ? Millis(account.start_time()) : change_ms);
    if (status == v1::ACCOUNT_STATUS_CHURNED && Latest(record) != v1::ACCOUNT_STATUS_CHURNED) {
      AppendStatus(record, change_ms, status, "", false);
    }
    changed = true;
  } else {
    if (account.has_start_time() && Millis(account.start_time()) != record.start_time_ms()) {
      record.set_start_time_ms(Millis(account.start_time()));
      changed = true;
    }
    if (status != record.upserted_status()) {
      record.set_upserted_status(status);
      if (Latest(record) != status) AppendStatus(record, change_ms, status, "", false);
      changed = true;
    }
  }
  const double mrr = account.mrr();
  if (std::isfinite(mrr) && (record.mrr_points().empty() || record.mrr_points().rbegin()->mrr() != mrr)) {
    v1::PortfolioMrrPoint point;
    point.set_time_ms(change_ms);
    point.set_mrr(mrr);
    InsertByTime(record.mutable_mrr_points(), std::move(point));
    changed = true;
  }
  return changed;
}

bool FoldEvent(const v1::Event& event, int64_t change_ms, v1::PortfolioHistoryRecord& record) {
  const int64_t t = event.has_time() ? Millis(event.time()) : change_ms;
  Points& points = *record.mutable_status_points();
  switch (event.type()) {
    case v1::EVENT_TYPE_CHURNED:
      if (Latest(record) == v1::ACCOUNT_STATUS_CHURNED) {
        if (points.rbegin()->from_event()) return false;  // already churned by an event
        RemoveLastStatus(record);                         // the upsert's churn takes the event's time
      }
      AppendStatus(record, t, v1::ACCOUNT_STATUS_CHURNED, event.subject(), true);
      return true;
    case v1::EVENT_TYPE_REACTIVATED:
      if (Latest(record) == v1::ACCOUNT_STATUS_CHURNED) {
        AppendStatus(record, t, v1::ACCOUNT_STATUS_ACTIVE, "", true);
        return true;
      }
      if (points.size() >= 2 && points.rbegin()->status() == v1::ACCOUNT_STATUS_ACTIVE &&
          !points.rbegin()->from_event() &&
          points.Get(points.size() - 2).status() == v1::ACCOUNT_STATUS_CHURNED) {
        RemoveLastStatus(record);  // the upsert's reactivation takes the event's time
        AppendStatus(record, t, v1::ACCOUNT_STATUS_ACTIVE, "", true);
        return true;
      }
      return false;
    case v1::EVENT_TYPE_UPGRADE:
    case v1::EVENT_TYPE_EXPANSION:
    case v1::EVENT_TYPE_DOWNGRADE: {
      if (!std::isfinite(event.value()) || event.value() <= 0) return false;
      v1::PortfolioMrrMovement movement;
      movement.set_time_ms(t);
      movement.set_type(event.type());
      movement.set_amount(event.value());
      InsertByTime(record.mutable_movements(), std::move(movement));
      return true;
    }
    case v1::EVENT_TYPE_FEATURE_USED:
      if (record.first_feature_time_ms() != 0 && record.first_feature_time_ms() <= t) return false;
      record.set_first_feature_time_ms(t);
      return true;
    case v1::EVENT_TYPE_NPS_RESPONSE:
    case v1::EVENT_TYPE_CSAT_RESPONSE: {
      if (!std::isfinite(event.value())) return false;
      v1::PortfolioSurveyAnswer answer;
      answer.set_time_ms(t);
      answer.set_value(event.value());
      InsertByTime(event.type() == v1::EVENT_TYPE_NPS_RESPONSE ? record.mutable_nps_answers()
                                                               : record.mutable_csat_answers(),
                   std::move(answer));
      return true;
    }
    default:
      return false;
  }
}

// Drops answers older than the retention before `now_ms`, then all but the newest kMaxAnswers.
bool TrimAnswers(google::protobuf::RepeatedPtrField<v1::PortfolioSurveyAnswer>* answers, int64_t now_ms) {
  const int64_t oldest_kept = now_ms - absl::ToInt64Milliseconds(AccountHistoryBook::kAnswerRetention);
  int expired = 0;
  while (expired < answers->size() && answers->Get(expired).time_ms() < oldest_kept) ++expired;
  if (answers->size() - expired > AccountHistoryBook::kMaxAnswers) {
    expired = answers->size() - AccountHistoryBook::kMaxAnswers;
  }
  if (expired == 0) return false;
  answers->DeleteSubrange(0, expired);
  return true;
}

void Trim(v1::PortfolioHistoryRecord& record) {
  Points& points = *record.mutable_status_points();
  if (points.size() > AccountHistoryBook::kMaxStatusPoints) {
    const int drop = points.size() - AccountHistoryBook::kMaxStatusPoints;
    record.set_initial_status(points.Get(drop - 1).status());  // the status before the first kept point
    points.DeleteSubrange(0, drop);
  }
  KeepNewest(record.mutable_mrr_points(), AccountHistoryBook::kMaxMrrPoints);
  KeepNewest(record.mutable_movements(), AccountHistoryBook::kMaxMovements);
}

// Digits without leading zeros, for comparing numbers of any length.
absl::string_view StripZeros(absl::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  return digits;
}

int CompareNumbers(absl::string_view a, absl::string_view b) {
  a = StripZeros(a);
  b = StripZeros(b);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b);
}

absl::StatusOr<std::optional<v1::PortfolioHistoryRecord>> ParseRecord(const std::optional<Record>& stored,
                                                                      const std::string& key) {
  if (!stored.has_value()) return std::nullopt;
  v1::PortfolioHistoryRecord record;
  if (!record.ParseFromString(stored->value)) {
    return absl::InternalError(
        absl::StrCat("stored \"", key, "\" cannot be parsed as ", record.GetTypeName()));
  }
  return record;
}

}  // namespace

std::optional<int> CompareCursors(absl::string_view a, absl::string_view b) {
  if (!IsLogEntryId(a) || !IsLogEntryId(b)) return std::nullopt;
  const std::size_t da = a.find('-');
  const std::size_t db = b.find('-');
  if (int c = CompareNumbers(a.substr(0, da), b.substr(0, db)); c != 0) return c;
  return CompareNumbers(a.substr(da + 1), b.substr(db + 1));
}

AccountHistoryBook::AccountHistoryBook(Store& store) : store_(store) {}

std::string AccountHistoryBook::RecordKey(absl::string_view account_id) {
  return absl::StrCat("metrics:", KeyTag(account_id));
}

bool AccountHistoryBook::Fold(const v1::AccountChange& change, const v1::Account* account,
                              v1::PortfolioHistoryRecord& record) {
  const int64_t change_ms = Millis(change.change_time());
  bool changed = false;
  if (change.kind() == v1::ACCOUNT_CHANGE_KIND_UPSERTED && account != nullptr) {
    changed = FoldUpsert(*account, change_ms, record);
  } else if (change.kind() == v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED) {
    for (const v1::Event& event : change.events()) {
      if (!event.account_id().empty() && event.account_id() != change.account_id()) continue;
      changed = FoldEvent(event, change_ms, record) || changed;
    }
  }
  changed = TrimAnswers(record.mutable_nps_answers(), change_ms) || changed;
  changed = TrimAnswers(record.mutable_csat_answers(), change_ms) || changed;
  if (changed) Trim(record);
  return changed;
}

template <typename Mutate>
absl::Status AccountHistoryBook::Update(const std::string& account_id, Mutate mutate) {
  const std::string key = RecordKey(account_id);
  const StripedMutex::Lock lock = write_stripes_.LockKeys({key});
  bool indexed = false;
  for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
    absl::StatusOr<std::vector<std::optional<Record>>> read = store_.Get({&key, 1});
    if (!read.ok()) return read.status();
    absl::StatusOr<std::optional<v1::PortfolioHistoryRecord>> parsed = ParseRecord((*read)[0], key);
    if (!parsed.ok()) return parsed.status();
    v1::PortfolioHistoryRecord record = parsed->value_or(v1::PortfolioHistoryRecord());
    absl::StatusOr<bool> write_it = mutate(parsed->has_value(), record);
    if (!write_it.ok()) return write_it.status();
    if (!*write_it) return absl::OkStatus();
    if (!parsed->has_value() && !indexed) {
      // Indexed before the record exists, so that no record is ever unreachable; a member without a
      // record (a write that then failed) is skipped by readers.
      if (absl::Status s = store_.IndexAdd(std::string(kIndex), {&account_id, 1}); !s.ok()) return s;
      indexed = true;
    }
    Write write;
    write.key = key;
    write.value = record.SerializeAsString();
    write.expected_version = (*read)[0].has_value() ? (*read)[0]->version : 0;
    absl::StatusOr<std::vector<bool>> put = store_.Put({&write, 1});
    if (!put.ok()) return put.status();
    if ((*put)[0]) return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("the metrics history of \"", account_id, "\" kept changing during ",
                                         kMaxWriteAttempts, " write attempts"));
}

template <typename Mutate>
absl::Status AccountHistoryBook::UpdateMany(const std::vector<std::string>& account_ids, Mutate mutate) {
  if (account_ids.empty()) return absl::OkStatus();
  std::vector<std::string> keys;
  keys.reserve(account_ids.size());
  for (const std::string& id : account_ids) keys.push_back(RecordKey(id));
  std::vector<std::size_t> lost;  // lost a race: retried one by one, outside the batch's locks
  {
    const StripedMutex::Lock lock = write_stripes_.LockKeys(keys);
    absl::StatusOr<std::vector<std::optional<Record>>> read = store_.Get(keys);
    if (!read.ok()) return read.status();
    std::vector<Write> writes;
    std::vector<std::size_t> written;
    std::vector<std::string> new_accounts;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      absl::StatusOr<std::optional<v1::PortfolioHistoryRecord>> parsed = ParseRecord((*read)[i], keys[i]);
      if (!parsed.ok()) return parsed.status();
      v1::PortfolioHistoryRecord record = parsed->value_or(v1::PortfolioHistoryRecord());
      absl::StatusOr<bool> write_it = mutate(account_ids[i], parsed->has_value(), record);
      if (!write_it.ok()) return write_it.status();
      if (!*write_it) continue;
      if (!parsed->has_value()) new_accounts.push_back(account_ids[i]);
      Write& write = writes.emplace_back();
      write.key = keys[i];
      write.value = record.SerializeAsString();
      write.expected_version = (*read)[i].has_value() ? (*read)[i]->version : 0;
      written.push_back(i);
    }
    if (writes.empty()) return absl::OkStatus();
    // Indexed before the records exist, as Update does.
    if (!new_accounts.empty()) {
      if (absl::Status s = store_.IndexAdd(std::string(kIndex), new_accounts); !s.ok()) return s;
    }
    absl::StatusOr<std::vector<bool>> put = store_.Put(writes);
    if (!put.ok()) return put.status();
    for (std::size_t w = 0; w < writes.size(); ++w) {
      if (!(*put)[w]) lost.push_back(written[w]);
    }
  }
  for (std::size_t i : lost) {
    absl::Status s = Update(account_ids[i], [&](bool exists, v1::PortfolioHistoryRecord& record) {
      return mutate(account_ids[i], exists, record);
    });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status AccountHistoryBook::CheckChange(const v1::AccountChange& change, const v1::Account* account) {
  if (change.account_id().empty()) return FieldError("account_id", "is required");
  if (!IsLogEntryId(change.cursor())) {
    return FieldError("cursor",
                      absl::StrCat("is not a feed cursor \"<ms>-<seq>\": \"", change.cursor(), "\""));
  }
  if (change.kind() == v1::ACCOUNT_CHANGE_KIND_UPSERTED) {
    if (account == nullptr) return FieldError("account", "an upsert needs the account");
    if (!account->account_id().empty() && account->account_id() != change.account_id()) {
      return FieldError(
          "account.account_id",
          absl::StrCat("is \"", account->account_id(), "\", the change is of \"", change.account_id(), "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> AccountHistoryBook::FoldOnce(const v1::AccountChange& change, const v1::Account* account,
                                                  bool exists, v1::PortfolioHistoryRecord& record) {
  if (exists && !record.last_cursor().empty()) {
    const std::optional<int> order = CompareCursors(change.cursor(), record.last_cursor());
    if (!order.has_value()) {
      return absl::InternalError(absl::StrCat("stored cursor of \"", change.account_id(),
                                              "\" is not a feed cursor: \"", record.last_cursor(), "\""));
    }
    if (*order <= 0) return false;  // applied already
  }
  if (!Fold(change, account, record)) return false;
  record.set_last_cursor(change.cursor());
  return true;
}

absl::Status AccountHistoryBook::Apply(const v1::AccountChange& change, const v1::Account* account) {
  if (absl::Status s = CheckChange(change, account); !s.ok()) return s;
  return Update(change.account_id(), [&](bool exists, v1::PortfolioHistoryRecord& record) {
    return FoldOnce(change, account, exists, record);
  });
}

absl::Status AccountHistoryBook::ApplyPage(absl::Span<const v1::AccountChange> changes) {
  // Each account's changes, in feed order.
  std::vector<std::string> ids;
  absl::flat_hash_map<std::string, std::vector<const v1::AccountChange*>> by_account;
  for (const v1::AccountChange& change : changes) {
    if (absl::Status s = CheckChange(change, UpsertedAccount(change)); !s.ok()) return s;
    auto [it, added] = by_account.try_emplace(change.account_id());
    if (added) ids.push_back(change.account_id());
    it->second.push_back(&change);
  }
  return UpdateMany(ids, [&](const std::string& id, bool exists,
                             v1::PortfolioHistoryRecord& record) -> absl::StatusOr<bool> {
    bool changed = false;
    for (const v1::AccountChange* change : by_account.at(id)) {
      absl::StatusOr<bool> folded = FoldOnce(*change, UpsertedAccount(*change), exists || changed, record);
      if (!folded.ok()) return folded.status();
      changed = *folded || changed;
    }
    return changed;
  });
}

const v1::Account* AccountHistoryBook::UpsertedAccount(const v1::AccountChange& change) {
  return change.kind() == v1::ACCOUNT_CHANGE_KIND_UPSERTED && change.has_account() ? &change.account() : nullptr;
}

absl::Status AccountHistoryBook::SetScores(const std::string& account_id, std::optional<double> health,
                                           std::optional<double> ltv_to_cac) {
  return SetScoresMany({LatestScores{account_id, health, ltv_to_cac}});
}

absl::Status AccountHistoryBook::SetScoresMany(std::vector<LatestScores> scores) {
  std::vector<std::string> ids;
  absl::flat_hash_map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    LatestScores& latest = scores[i];
    if (latest.account_id.empty()) return FieldError(absl::StrCat("scores[", i, "].account_id"), "is required");
    // A score that is not a number is as good as none (and would never compare equal to itself).
    if (latest.health.has_value() && !std::isfinite(*latest.health)) latest.health.reset();
    if (latest.ltv_to_cac.has_value() && !std::isfinite(*latest.ltv_to_cac)) latest.ltv_to_cac.reset();
    if (position.insert_or_assign(latest.account_id, i).second) ids.push_back(latest.account_id);
  }
  return UpdateMany(ids, [&](const std::string& id, bool, v1::PortfolioHistoryRecord& record) -> absl::StatusOr<bool> {
    const LatestScores& latest = scores[position.at(id)];
    const std::optional<double> old_health =
        record.has_health() ? std::optional<double>(record.health()) : std::nullopt;
    const std::optional<double> old_ltv =
        record.has_ltv_to_cac() ? std::optional<double>(record.ltv_to_cac()) : std::nullopt;
    if (old_health == latest.health && old_ltv == latest.ltv_to_cac) return false;
    if (latest.health.has_value()) {
      record.set_health(*latest.health);
    } else {
      record.clear_health();
    }
    if (latest.ltv_to_cac.has_value()) {
      record.set_ltv_to_cac(*latest.ltv_to_cac);
    } else {
      record.clear_ltv_to_cac();
    }
    return true;
  });
}

absl::StatusOr<std::optional<v1::PortfolioHistoryRecord>> AccountHistoryBook::Read(
    const std::string& account_id) {
  const std::string key = RecordKey(account_id);
  absl::StatusOr<std::vector<std::optional<Record>>> read = store_.Get({&key, 1});
  if (!read.ok()) return read.status();
  return ParseRecord((*read)[0], key);
}

}  // namespace steward::segmentation
