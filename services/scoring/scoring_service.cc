#include "services/scoring/scoring_service.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "common/request_context.h"
#include "google/protobuf/arena.h"
#include "services/scoring/activity.h"
#include "services/scoring/keys.h"
#include "services/scoring/model/lifetime_value.h"
#include "services/scoring/validation.h"
#include "steward/v1/activity_record.pb.h"

namespace steward::scoring {
namespace {

absl::Status CorruptRecord(absl::string_view key) {
  return absl::InternalError(absl::StrCat("stored record ", key, " cannot be parsed"));
}

template <typename Message>
absl::Status ParseRecord(const std::optional<Record>& record, absl::string_view key, Message& out) {
  if (record.has_value() && !out.ParseFromString(record->value)) return CorruptRecord(key);
  return absl::OkStatus();
}

google::protobuf::ArenaOptions ArenaOptionsForRecords() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 16 * 1024;  // a 90-day activity record parses into about this much
  return options;
}

absl::Status AccountNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("account \"", id, "\" does not exist"));
}

// The score `days_ago` days before today: the newest history entry on or before that day.
std::optional<double> ScoreDaysAgo(const v1::ScoreHistory& history, int32_t today, int days_ago) {
  const int32_t first_day = history.last_day() - history.scores_plus_one_size() + 1;
  for (int32_t day = std::min(today - days_ago, history.last_day()); day >= first_day; --day) {
    const uint32_t entry = history.scores_plus_one(day - first_day);
    if (entry > 0) return static_cast<double>(entry) - 1;
  }
  return std::nullopt;
}

// Records today's score in the history and trims it to the last `max_days` days. Returns whether the
// history changed: recomputing an account several times a day mostly finds today's score there.
bool RecordDailyScore(v1::ScoreHistory& history, int32_t today, double score, int max_days) {
  const uint32_t entry = static_cast<uint32_t>(std::max(0.0, std::round(score))) + 1;
  if (!history.scores_plus_one().empty()) {
    if (today < history.last_day()) return false;  // the clock went back: keep the newer history
    if (today == history.last_day() && *history.scores_plus_one().rbegin() == entry) return false;
  }
  auto* scores = history.mutable_scores_plus_one();
  if (scores->empty() || today - history.last_day() >= max_days) {
    scores->Clear();
    history.set_last_day(today);
    scores->Add(0);
  } else if (today > history.last_day()) {
    for (int32_t day = history.last_day(); day < today; ++day) scores->Add(0);  // days without a score
    history.set_last_day(today);
  }
  scores->Set(scores->size() - 1, entry);
  if (scores->size() > max_days) {
    const int drop = scores->size() - max_days;
    scores->erase(scores->begin(), scores->begin() + drop);
  }
  return true;
}

void AddFeatures(const FeatureVector& features, v1::Scores& scores) {
  for (std::size_t i = 0; i < kFeatureCount; ++i) {
    const auto feature = static_cast<Feature>(i);
    if (std::optional<double> value = features.Get(feature)) {
      v1::FeatureValue* out = scores.add_features();
      out->set_name(std::string(FeatureName(feature)));
      out->set_value(*value);
    }
  }
}

}  // namespace

ScoringService::ScoringService(Store& store, const Clock& clock, ModelSet models, ScoringLimits limits,
                               RecordEventsObserver on_recorded)
    : store_(store),
      clock_(clock),
      models_(std::move(models)),
      limits_(limits),
      on_recorded_(std::move(on_recorded)),
      churn_(models_.churn),
      model_versions_(store, clock, limits_.predictive.refresh_interval) {
  for (const auto& [name, model] : models_.models) {
    scorers_[name] = std::make_unique<HealthScorer>(model);
    model_names_.push_back(name);
  }
  std::sort(model_names_.begin(), model_names_.end());
}

absl::StatusOr<const HealthScorer*> ScoringService::FindModel(const std::string& name) const {
  const std::string& wanted = name.empty() ? models_.default_model : name;
  auto it = scorers_.find(wanted);
  if (it == scorers_.end()) {
    return FieldError(
        "model", absl::StrCat("unknown model \"", wanted, "\"; known: ", absl::StrJoin(model_names_, ", ")));
  }
  return it->second.get();
}

absl::StatusOr<v1::UpsertAccountResponse> ScoringService::UpsertAccount(
    const v1::UpsertAccountRequest& request) {
  if (!request.has_account()) return FieldError("account", "is required");
  if (absl::Status s = ValidateAccount("account", request.account()); !s.ok()) return s;

  const std::string key = AccountKey(request.account().account_id());
  auto existing = store_.Get({key});
  if (!existing.ok()) return existing.status();
  v1::Account previous;
  if (absl::Status s = ParseRecord((*existing)[0], key, previous); !s.ok()) return s;

  const absl::Time now = clock_.Now();
  v1::UpsertAccountResponse response;
  v1::Account& account = *response.mutable_account();
  account = request.account();
  if (account.status() == v1::ACCOUNT_STATUS_UNSPECIFIED) account.set_status(v1::ACCOUNT_STATUS_ACTIVE);
  account.mutable_update_time()->CopyFrom(ToProtoTime(now));
  if ((*existing)[0].has_value()) {
    account.mutable_create_time()->CopyFrom(previous.create_time());
  } else {
    account.mutable_create_time()->CopyFrom(ToProtoTime(now));
    response.set_created(true);
  }
  // Last writer wins on attributes; the index add is idempotent, so a retry after a failure between
  // the two steps converges.
  Write write;
  write.key = key;
  write.value = account.SerializeAsString();
  write.log_appends.push_back(
      ChangeEntry(account.account_id(), v1::ACCOUNT_CHANGE_KIND_UPSERTED, now, {}, &account));
  if (auto put = store_.Put({&write, 1}); !put.ok()) return put.status();
  const std::string id = account.account_id();
  if (absl::Status s = store_.IndexAdd(std::string(kAccountIndex), {&id, 1}); !s.ok()) return s;
  return response;
}

absl::StatusOr<v1::GetAccountResponse> ScoringService::GetAccount(const v1::GetAccountRequest& request) {
  if (absl::Status s = ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  const std::string key = AccountKey(request.account_id());
  auto records = store_.Get({key});
  if (!records.ok()) return records.status();
  if (!(*records)[0].has_value()) return AccountNotFound(request.account_id());
  v1::GetAccountResponse response;
  if (absl::Status s = ParseRecord((*records)[0], key, *response.mutable_account()); !s.ok()) return s;
  return response;
}

absl::StatusOr<v1::ListAccountsResponse> ScoringService::ListAccounts(
    const v1::ListAccountsRequest& request) {
  if (request.page_size() < 0) return FieldError("page_size", "must not be negative");
  const int page_size = request.page_size() == 0 ? limits_.default_page_size
                                                 : std::min(request.page_size(), limits_.max_page_size);
  std::string start_after;
  if (!request.page_token().empty() &&
      (!absl::WebSafeBase64Unescape(request.page_token(), &start_after) || start_after.empty())) {
    return FieldError("page_token", "is not a token returned by ListAccounts");
  }
  // One extra id tells whether another page follows.
  auto ids = store_.IndexScan(std::string(kAccountIndex), start_after, page_size + 1);
  if (!ids.ok()) return ids.status();
  const bool more = static_cast<int>(ids->size()) > page_size;
  if (more) ids->pop_back();

  std::vector<std::string> keys;
  keys.reserve(ids->size());
  for (const std::string& id : *ids) keys.push_back(AccountKey(id));
  auto records = store_.Get(keys);
  if (!records.ok()) return records.status();

  v1::ListAccountsResponse response;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!(*records)[i].has_value()) continue;  // indexed but not (yet) stored: skip
    if (absl::Status s = ParseRecord((*records)[i], keys[i], *response.add_accounts()); !s.ok()) return s;
  }
  if (more && !ids->empty()) response.set_next_page_token(absl::WebSafeBase64Escape(ids->back()));
  return response;
}

absl::StatusOr<v1::RecordEventsResponse> ScoringService::RecordEvents(
    const v1::RecordEventsRequest& request) {
  if (request.events().empty()) return FieldError("events", "must hold at least one event");
  if (request.events_size() > limits_.max_events_per_batch) {
    return FieldError("events", absl::StrCat("holds ", request.events_size(), " events; at most ",
                                             limits_.max_events_per_batch, " per call"));
  }
  // Parse: the whole batch is validated before anything is stored, so a bad event stores nothing.
  const absl::Time now = clock_.Now();
  std::vector<std::string> account_ids;  // in order of first appearance
  absl::flat_hash_map<std::string, std::vector<const v1::Event*>> by_account;
  absl::flat_hash_map<std::string, int> first_event;  // account id -> index of its first event
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::Event& event = request.events(i);
    if (absl::Status s = ValidateEvent(absl::StrCat("events[", i, "]"), event, now, limits_.max_future_skew);
        !s.ok()) {
      return s;
    }
    auto [it, inserted] = by_account.try_emplace(event.account_id());
    if (inserted) {
      account_ids.push_back(event.account_id());
      first_event[event.account_id()] = i;
    }
    it->second.push_back(&event);
  }

  // Read: the accounts, their live activity and id logs in one round trip, with the history (older
  // days) of the accounts that have late events in the batch; the history of the others only if the
  // daily roll-over turns out to need it, in a second.
  const int32_t today = DayOf(now);
  const std::size_t n = account_ids.size();
  std::vector<std::string> keys;
  keys.reserve(n * 4);
  for (const std::string& id : account_ids) {
    keys.push_back(AccountKey(id));
    keys.push_back(LiveActivityKey(id));
    keys.push_back(IdLogKey(id));
  }
  std::vector<bool> history_read(n, false);  // history[a] holds what the store has now
  std::vector<std::size_t> prefetched;
  for (std::size_t a = 0; a < n; ++a) {
    const auto& events = by_account[account_ids[a]];
    if (std::any_of(events.begin(), events.end(),
                    [today](const v1::Event* e) { return DayOf(FromProtoTime(e->time())) < today; })) {
      keys.push_back(ActivityKey(account_ids[a]));
      prefetched.push_back(a);
    }
  }
  auto records = store_.Get(keys);
  if (!records.ok()) return records.status();
  for (std::size_t a = 0; a < n; ++a) {
    if (!(*records)[3 * a].has_value()) {
      return absl::NotFoundError(absl::StrCat("events[", first_event[account_ids[a]],
                                              "].account_id: account \"", account_ids[a],
                                              "\" does not exist"));
    }
  }
  std::vector<std::optional<Record>> live(n), id_logs(n), history(n);
  for (std::size_t a = 0; a < n; ++a) {
    live[a] = std::move((*records)[3 * a + 1]);
    id_logs[a] = std::move((*records)[3 * a + 2]);
  }
  for (std::size_t p = 0; p < prefetched.size(); ++p) {
    history[prefetched[p]] = std::move((*records)[3 * n + p]);
    history_read[prefetched[p]] = true;
  }

  // Run: fold each account's events into its activity and write the live part back only if nobody
  // wrote it in between (its version is the account's write token: every write of any part bumps
  // it, which also makes the cached scores stale). The same atomic step writes the history when it
  // changed and appends the new ids to the id log. The first attempt takes no lock, so batches over
  // many accounts run side by side; accounts that lost a race are re-read and retried under their
  // write stripe, so within this process a hot account costs at most one wasted round trip per call.
  v1::RecordEventsResponse response;
  std::vector<std::size_t> pending(n);
  for (std::size_t a = 0; a < n; ++a) pending[a] = a;
  StripedMutex::Lock locks;  // taken only for a retry
  for (int attempt = 0; !pending.empty(); ++attempt) {
    if (attempt == limits_.max_write_attempts) {
      return absl::AbortedError(absl::StrCat("too many concurrent writers on account \"",
                                             account_ids[pending[0]], "\"; retry the batch"));
    }
    // A record holds ~90 daily messages: on an arena they cost a block, not a malloc each.
    google::protobuf::Arena arena(ArenaOptionsForRecords());
    std::vector<v1::ActivityRecord*> parsed(n, nullptr);
    std::vector<bool> with_history(n, false);
    std::vector<std::string> history_keys;
    std::vector<std::size_t> history_of;
    for (std::size_t a : pending) {
      const std::string& id = account_ids[a];
      parsed[a] = google::protobuf::Arena::CreateMessage<v1::ActivityRecord>(&arena);
      if (absl::Status st = ParseRecord(live[a], LiveActivityKey(id), *parsed[a]); !st.ok()) return st;
      if (NeedsHistory(*parsed[a], by_account[id], now)) {
        with_history[a] = true;
        if (!history_read[a]) {
          history_keys.push_back(ActivityKey(id));
          history_of.push_back(a);
        }
      }
    }
    if (!history_keys.empty()) {
      auto past = store_.Get(history_keys);
      if (!past.ok()) return past.status();
      for (std::size_t h = 0; h < history_of.size(); ++h) history[history_of[h]] = std::move((*past)[h]);
    }

    std::vector<Write> writes;
    std::vector<ApplyCounts> counts;
    std::vector<std::size_t> written;  // the accounts behind `writes`
    writes.reserve(pending.size());
    for (std::size_t a : pending) {
      const std::string& id = account_ids[a];
      v1::ActivityRecord& record = *parsed[a];
      v1::ActivityRecord* past = nullptr;
      if (with_history[a]) {
        past = google::protobuf::Arena::CreateMessage<v1::ActivityRecord>(&arena);
        if (absl::Status st = ParseRecord(history[a], ActivityKey(id), *past); !st.ok()) return st;
        MergeHistory(*past, record);
      }
      IdLogUpdate ids;
      const ApplyCounts folded = ApplyEvents(by_account[id], now, record,
                                             id_logs[a].has_value() ? id_logs[a]->value : absl::string_view(),
                                             ids, limits_.dedup_window_days);
      if (folded.recorded == 0) {
        // Nothing new (a replay, or only expired events): no write, so cached scores stay valid.
        response.set_duplicates(response.duplicates() + folded.duplicates);
        response.set_expired(response.expired() + folded.expired);
        continue;
      }
      Write write;
      if (with_history[a]) {
        SplitHistory(record, today, *past);
        write.also_write.push_back(AlsoWrite{ActivityKey(id), past->SerializeAsString()});
      }
      write.key = LiveActivityKey(id);
      write.value = record.SerializeAsString();
      write.expected_version = live[a].has_value() ? live[a]->version : 0;
      write.appends.push_back(Append{IdLogKey(id), std::move(ids.bytes), ids.replace});
      write.log_appends.push_back(
          ChangeEntry(id, v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED, now, folded.recorded_events));
      counts.push_back(folded);
      written.push_back(a);
      writes.push_back(std::move(write));
    }
    if (writes.empty()) break;
    auto applied = store_.Put(writes);
    if (!applied.ok()) return applied.status();

    std::vector<std::size_t> conflicts;
    std::vector<std::string> reread;
    for (std::size_t w = 0; w < writes.size(); ++w) {
      if ((*applied)[w]) {
        response.set_recorded(response.recorded() + counts[w].recorded);
        response.set_duplicates(response.duplicates() + counts[w].duplicates);
        response.set_expired(response.expired() + counts[w].expired);
      } else {
        conflicts.push_back(written[w]);
        reread.push_back(LiveActivityKey(account_ids[written[w]]));
        reread.push_back(IdLogKey(account_ids[written[w]]));
      }
    }
    if (conflicts.empty()) break;
    if (attempt == 0) {
      std::vector<std::string> contended;
      for (std::size_t a : conflicts) contended.push_back(account_ids[a]);
      locks = write_stripes_.LockKeys(contended);
    }
    auto fresh = store_.Get(reread);
    if (!fresh.ok()) return fresh.status();
    for (std::size_t c = 0; c < conflicts.size(); ++c) {
      live[conflicts[c]] = std::move((*fresh)[2 * c]);
      id_logs[conflicts[c]] = std::move((*fresh)[2 * c + 1]);
      history_read[conflicts[c]] = false;  // another writer may have changed it too
    }
    pending = std::move(conflicts);
  }
  if (on_recorded_) on_recorded_(response);
  return response;
}

absl::StatusOr<v1::GetScoresResponse> ScoringService::GetScores(const v1::GetScoresRequest& request) {
  if (absl::Status s = ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  auto scorer = FindModel(request.model());
  if (!scorer.ok()) return scorer.status();
  auto scores = ScoreAccounts({request.account_id()}, **scorer);
  if (!scores.ok()) return scores.status();
  v1::GetScoresResponse response;
  *response.mutable_scores() = std::move(scores->front());
  return response;
}

absl::StatusOr<std::vector<std::string>> ScoringService::BatchIds(
    const google::protobuf::RepeatedPtrField<std::string>& requested, int max) const {
  return ValidateAccountIds("account_ids", requested, max);
}

absl::StatusOr<v1::BatchGetAccountsResponse> ScoringService::BatchGetAccounts(
    const v1::BatchGetAccountsRequest& request) {
  auto ids = BatchIds(request.account_ids(), limits_.max_accounts_per_batch_get);
  if (!ids.ok()) return ids.status();
  std::vector<std::string> keys;
  keys.reserve(ids->size());
  for (const std::string& id : *ids) keys.push_back(AccountKey(id));
  auto records = store_.Get(keys);
  if (!records.ok()) return records.status();
  v1::BatchGetAccountsResponse response;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!(*records)[i].has_value()) return AccountNotFound((*ids)[i]);
    if (absl::Status s = ParseRecord((*records)[i], keys[i], *response.add_accounts()); !s.ok()) return s;
  }
  return response;
}

LogAppend ScoringService::ChangeEntry(const std::string& account_id, v1::AccountChangeKind kind,
                                      absl::Time now, const std::vector<const v1::Event*>& events,
                                      const v1::Account* account) const {
  v1::AccountChange change;
  change.set_account_id(account_id);
  change.set_kind(kind);
  *change.mutable_change_time() = ToProtoTime(now);
  for (const v1::Event* event : events) *change.add_events() = *event;
  if (account != nullptr) *change.mutable_account() = *account;
  if (const RequestContext* request = CurrentRequest(); request != nullptr) {
    change.set_request_id(request->request_id);
  }
  LogAppend entry;
  entry.log = std::string(kChangeFeed);
  entry.bytes = change.SerializeAsString();
  entry.max_entries = limits_.change_feed_max_entries;
  return entry;
}

absl::StatusOr<v1::ListAccountChangesResponse> ScoringService::ListAccountChanges(
    const v1::ListAccountChangesRequest& request) {
  if (request.page_size() < 0) return FieldError("page_size", "must not be negative");
  const int page_size = request.page_size() == 0 ? limits_.default_page_size
                                                 : std::min(request.page_size(), limits_.max_page_size);
  if (!request.page_token().empty() && !IsLogEntryId(request.page_token())) {
    return FieldError("page_token", "is not a cursor returned by ListAccountChanges");
  }
  auto entries = store_.LogRead(std::string(kChangeFeed), request.page_token(), page_size);
  if (!entries.ok()) return entries.status();
  v1::ListAccountChangesResponse response;
  response.set_next_page_token(request.page_token());
  std::size_t bytes = 0;
  for (LogEntry& entry : *entries) {
    if (response.changes_size() > 0 && bytes + entry.bytes.size() > limits_.change_page_max_bytes) break;
    bytes += entry.bytes.size();
    v1::AccountChange& change = *response.add_changes();
    if (!change.ParseFromString(entry.bytes)) {
      return absl::InternalError(absl::StrCat("change feed entry ", entry.id, " is not an AccountChange"));
    }
    change.set_cursor(entry.id);
    response.set_next_page_token(std::move(entry.id));
  }
  return response;
}

absl::StatusOr<v1::BatchGetScoresResponse> ScoringService::BatchGetScores(
    const v1::BatchGetScoresRequest& request) {
  auto ids = BatchIds(request.account_ids(), limits_.max_accounts_per_batch_get);
  if (!ids.ok()) return ids.status();
  auto scorer = FindModel(request.model());
  if (!scorer.ok()) return scorer.status();
  auto scores = ScoreAccounts(*ids, **scorer);
  if (!scores.ok()) return scores.status();
  v1::BatchGetScoresResponse response;
  for (v1::Scores& s : *scores) *response.add_scores() = std::move(s);
  return response;
}

absl::StatusOr<bool> ScoringService::FromCache(const v1::Account& account, uint64_t account_version,
                                               uint64_t live_version, const std::optional<Record>& cached,
                                               absl::string_view key, const HealthScorer& scorer,
                                               int32_t today, const PredictiveInput& predictive,
                                               v1::Scores& out) const {
  if (!cached.has_value()) return false;
  v1::CachedScores entry;
  if (absl::Status s = ParseRecord(cached, key, entry); !s.ok()) return s;
  const absl::Time computed = absl::FromUnixSeconds(entry.compute_unix_seconds());
  // An entry computed from older attributes or activity is stale; so is one from an earlier day
  // ("recomputed at least daily"); one written by a build with another feature count cannot be read.
  if (entry.account_version() != account_version || entry.live_version() != live_version ||
      DayOf(computed) != today || entry.features_size() != static_cast<int>(kFeatureCount)) {
    return false;
  }
  FeatureVector features;
  for (int f = 0; f < entry.features_size(); ++f) {
    if (!std::isnan(entry.features(f))) features.Set(static_cast<Feature>(f), entry.features(f));
  }
  Explain(account, features, scorer, computed, predictive, out);
  *out.mutable_trend() = entry.trend();
  out.set_cached(true);
  return true;
}

std::shared_ptr<const std::string> ScoringService::TryGetScoresLocally(
    const v1::GetScoresRequest& request) const {
  // Anything unusual (bad input, unknown model, a miss) takes the ordinary path, which answers it.
  if (!ValidateAccountId("account_id", request.account_id()).ok()) return nullptr;
  auto scorer = FindModel(request.model());
  if (!scorer.ok()) return nullptr;
  // An account without any activity yet has no live record; the ordinary path answers it.
  const std::string keys[] = {AccountKey(request.account_id()), LiveActivityKey(request.account_id()),
                              ScoresKey(request.account_id(), (*scorer)->model().name())};
  std::optional<std::vector<Record>> local = store_.TryGetLocal(keys);
  if (!local.has_value()) return nullptr;
  const Record& account_record = (*local)[0];
  const uint64_t live_version = (*local)[1].version;
  const int32_t today = DayOf(clock_.Now());
  // The predictive models in use, unless it is time to look for a newer version (which takes I/O).
  std::shared_ptr<const ActiveModels> models;
  if (limits_.predictive.enabled) {
    auto held = model_versions_.ActiveLocally();
    if (!held.has_value()) return nullptr;
    models = *std::move(held);
  }
  const int64_t model_version = models == nullptr ? 0 : models->version();
  {
    absl::ReaderMutexLock lock(&explained_mu_);
    auto it = explained_.find(keys[2]);
    if (it != explained_.end() && it->second.account_version == account_record.version &&
        it->second.live_version == live_version && it->second.cache_entry == (*local)[2].value &&
        it->second.day == today && it->second.model_version == model_version) {
      return it->second.response;
    }
  }
  v1::Account account;
  if (!account.ParseFromString(account_record.value)) return nullptr;
  v1::ActivityRecord live;
  PredictiveInput predictive{limits_.predictive.enabled, models.get(), &live};
  if (predictive.enabled && !live.ParseFromString((*local)[1].value)) return nullptr;
  v1::GetScoresResponse response;
  auto answered = FromCache(account, account_record.version, live_version, (*local)[2], keys[2], **scorer,
                            today, predictive, *response.mutable_scores());
  if (!answered.ok() || !*answered) return nullptr;
  auto bytes = std::make_shared<const std::string>(response.SerializeAsString());
  absl::MutexLock lock(&explained_mu_);
  if (explained_.size() >= kMaxExplained) explained_.clear();
  explained_[keys[2]] =
      Explained{account_record.version, live_version, std::move((*local)[2].value), today, model_version, bytes};
  return bytes;
}

absl::StatusOr<std::vector<v1::Scores>> ScoringService::ScoreAccounts(const std::vector<std::string>& ids,
                                                                      const HealthScorer& scorer) {
  const std::string& model = scorer.model().name();
  // First round trip: the accounts, their live activity and their cached scores (all small).
  std::vector<std::string> keys;
  keys.reserve(ids.size() * 3);
  for (const std::string& id : ids) {
    keys.push_back(AccountKey(id));
    keys.push_back(LiveActivityKey(id));
    keys.push_back(ScoresKey(id, model));
  }
  // Tracked, so that the next read of these keys can be answered locally (TryGetScoresLocally).
  auto records = store_.GetAndTrack(keys);
  if (!records.ok()) return records.status();

  const absl::Time now = clock_.Now();
  const int32_t today = DayOf(now);
  const bool predictive = limits_.predictive.enabled;
  const std::shared_ptr<const ActiveModels> models = predictive ? model_versions_.Active() : nullptr;
  std::vector<v1::Scores> out(ids.size());
  std::vector<v1::Account> accounts(ids.size());
  std::vector<std::size_t> stale;  // accounts whose cache cannot answer
  for (std::size_t a = 0; a < ids.size(); ++a) {
    const std::optional<Record>& account_record = (*records)[3 * a];
    const std::optional<Record>& live_record = (*records)[3 * a + 1];
    if (!account_record.has_value()) return AccountNotFound(ids[a]);
    if (absl::Status s = ParseRecord(account_record, keys[3 * a], accounts[a]); !s.ok()) return s;
    // The predictive block reads the live part only (transaction summary, churn state): small.
    v1::ActivityRecord live;
    if (predictive) {
      if (absl::Status s = ParseRecord(live_record, keys[3 * a + 1], live); !s.ok()) return s;
    }
    const PredictiveInput input{predictive, models.get(), live_record.has_value() ? &live : nullptr};
    auto from_cache = FromCache(accounts[a], account_record->version, live_record ? live_record->version : 0,
                                (*records)[3 * a + 2], keys[3 * a + 2], scorer, today, input, out[a]);
    if (!from_cache.ok()) return from_cache.status();
    if (!*from_cache) stale.push_back(a);
  }
  if (stale.empty()) return out;

  // Second round trip, for what the cache could not answer: the history of the activity and of the
  // scores.
  std::vector<std::string> more_keys;
  for (std::size_t a : stale) {
    more_keys.push_back(ActivityKey(ids[a]));
    more_keys.push_back(HistoryKey(ids[a], model));
  }
  auto more = store_.Get(more_keys);
  if (!more.ok()) return more.status();

  std::vector<Write> writes;
  writes.reserve(stale.size() * 2);
  for (std::size_t s = 0; s < stale.size(); ++s) {
    const std::size_t a = stale[s];
    const std::optional<Record>& account_record = (*records)[3 * a];
    const std::optional<Record>& live_record = (*records)[3 * a + 1];
    google::protobuf::Arena arena(ArenaOptionsForRecords());
    v1::ActivityRecord& activity = *google::protobuf::Arena::CreateMessage<v1::ActivityRecord>(&arena);
    v1::ActivityRecord& past = *google::protobuf::Arena::CreateMessage<v1::ActivityRecord>(&arena);
    v1::ScoreHistory history;
    if (absl::Status st = ParseRecord(live_record, keys[3 * a + 1], activity); !st.ok()) return st;
    if (absl::Status st = ParseRecord((*more)[2 * s], more_keys[2 * s], past); !st.ok()) return st;
    if (absl::Status st = ParseRecord((*more)[2 * s + 1], more_keys[2 * s + 1], history); !st.ok()) return st;
    MergeHistory(past, activity);

    const FeatureVector features = ExtractFeatures(accounts[a], activity, now);
    v1::Scores& scores = out[a];
    const PredictiveInput input{predictive, models.get(), live_record.has_value() ? &activity : nullptr};
    Explain(accounts[a], features, scorer, now, input, scores);
    const double score = scores.health().score();
    if (std::optional<double> earlier = ScoreDaysAgo(history, today, 7)) {
      scores.mutable_trend()->set_change_7d(score - *earlier);
    }
    if (std::optional<double> earlier = ScoreDaysAgo(history, today, 30)) {
      scores.mutable_trend()->set_change_30d(score - *earlier);
    }
    const bool history_changed = RecordDailyScore(history, today, score, limits_.history_days);

    v1::CachedScores entry;
    entry.set_compute_unix_seconds(absl::ToUnixSeconds(now));
    for (std::size_t f = 0; f < kFeatureCount; ++f) {
      entry.add_features(features.Get(static_cast<Feature>(f)).value_or(std::nan("")));
    }
    *entry.mutable_trend() = scores.trend();
    const uint64_t live_version = live_record.has_value() ? live_record->version : 0;
    entry.set_account_version(account_record->version);
    entry.set_live_version(live_version);
    // The entry names the versions it was computed from, so a stale one is never used; the guards
    // also keep one computed from superseded records from replacing a current one. Every activity
    // write bumps the live part's version, so it covers the history too.
    Write cache;
    cache.key = ScoresKey(ids[a], model);
    cache.value = entry.SerializeAsString();
    cache.guards = {Guard{keys[3 * a], account_record->version}, Guard{keys[3 * a + 1], live_version}};
    writes.push_back(std::move(cache));
    if (history_changed) {
      // Two readers on the same day record the same day's score, so the history needs no condition.
      Write daily;
      daily.key = more_keys[2 * s + 1];
      daily.value = history.SerializeAsString();
      writes.push_back(std::move(daily));
    }
  }
  if (auto put = store_.Put(writes); !put.ok()) return put.status();
  return out;
}

void ScoringService::Explain(const v1::Account& account, const FeatureVector& features,
                             const HealthScorer& scorer, absl::Time compute_time,
                             const PredictiveInput& predictive, v1::Scores& scores) const {
  scores.set_account_id(account.account_id());
  *scores.mutable_compute_time() = ToProtoTime(compute_time);
  scorer.Score(features, *scores.mutable_health());
  churn_.Score(features, *scores.mutable_churn());
  ComputeLifetimeValue(account, scores.churn().probability(), *scores.mutable_clv());
  AddFeatures(features, scores);
  if (predictive.enabled) {
    PredictAccount(predictive.models, account, predictive.live, features, compute_time, limits_.predictive,
                   *scores.mutable_predictive());
  }
}

absl::StatusOr<v1::SimulateScoresResponse> ScoringService::SimulateScores(
    const v1::SimulateScoresRequest& request) {
  v1::Account account = request.account();
  if (account.account_id().empty()) account.set_account_id("simulated");
  if (absl::Status s = ValidateAccount("account", account); !s.ok()) return s;
  auto scorer = FindModel(request.model());
  if (!scorer.ok()) return scorer.status();

  FeatureVector features;
  for (int i = 0; i < request.features_size(); ++i) {
    const v1::FeatureValue& fv = request.features(i);
    std::optional<Feature> feature = FeatureByName(fv.name());
    if (!feature) {
      return FieldError(absl::StrCat("features[", i, "].name"),
                        absl::StrCat("unknown feature \"", fv.name(), "\""));
    }
    if (!std::isfinite(fv.value())) {
      return FieldError(absl::StrCat("features[", i, "].value"), "must be a finite number");
    }
    features.Set(*feature, fv.value());
  }
  v1::SimulateScoresResponse response;
  // A hypothetical account has no history for the predictive models.
  Explain(account, features, **scorer, clock_.Now(), PredictiveInput{}, *response.mutable_scores());
  return response;
}

absl::StatusOr<v1::ListScoringModelsResponse> ScoringService::ListScoringModels(
    const v1::ListScoringModelsRequest&) {
  v1::ListScoringModelsResponse response;
  for (const std::string& name : model_names_) *response.add_models() = models_.models.at(name);
  response.set_default_model(models_.default_model);
  *response.mutable_churn_model() = models_.churn;
  return response;
}

absl::StatusOr<std::string> ScoringService::RefreshStaleScores(const std::string& start_after,
                                                               int max_accounts) {
  auto ids = store_.IndexScan(std::string(kAccountIndex), start_after, max_accounts);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return std::string();
  for (const auto& [name, scorer] : scorers_) {
    // ScoreAccounts recomputes exactly the entries not computed today (or invalidated since).
    if (auto scores = ScoreAccounts(*ids, *scorer); !scores.ok()) {
      // An account deleted between the scan and the read is not a reason to stop the sweep.
      if (!absl::IsNotFound(scores.status())) return scores.status();
    }
  }
  return static_cast<int>(ids->size()) < max_accounts ? std::string() : ids->back();
}

}  // namespace steward::scoring
