#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/store/store.h"
#include "common/striped_mutex.h"
#include "services/scoring/activity.h"
#include "services/scoring/model/churn_scorer.h"
#include "services/scoring/model/health_scorer.h"
#include "services/scoring/model/model_config.h"
#include "services/scoring/model_versions.h"
#include "services/scoring/predictive_scoring.h"
#include "steward/v1/activity_record.pb.h"
#include "steward/v1/scoring_service.pb.h"

namespace steward::scoring {

// Explicit limits of the scoring API; requests beyond them get INVALID_ARGUMENT.
struct ScoringLimits {
  int max_events_per_batch = 1000;
  int max_accounts_per_batch_get = 1000;
  int default_page_size = 100;
  int max_page_size = 1000;
  // How far ahead of the server's clock an event time may be (producers' clocks drift).
  absl::Duration max_future_skew = absl::Minutes(5);
  // Optimistic-concurrency retries of one account's activity record before giving up with ABORTED.
  int max_write_attempts = 16;
  // Daily scores kept per account and model for trends.
  int history_days = 90;
  // A replayed event is recognised if it first arrived within this many days (see activity.h).
  int dedup_window_days = kDefaultDedupWindowDays;
  // Changes the feed keeps (ListAccountChanges); a change with ~5 events takes ~300 bytes in Redis.
  int64_t change_feed_max_entries = 200'000;
  // A ListAccountChanges answer stops growing past this size (a change carries its events, so a page
  // of 1000 could otherwise exceed the gRPC message limit); it always holds at least one change.
  std::size_t change_page_max_bytes = 1 << 20;
  // The fitted predictive models (FitModels) and how GetScores applies them.
  PredictiveOptions predictive;
};

// The scoring domain of SPEC §2: accounts, their events, and scores with explanations. It knows nothing
// of gRPC: requests and responses are the API's protobuf messages, errors are absl::Status (FieldError
// for bad input, NOT_FOUND, UNAVAILABLE from the store, ABORTED after too many write conflicts).
// Thread-safe; every call is blocking (it talks to the store), so gRPC handlers run it on a worker
// pool.
class ScoringService {
 public:
  // Told the counts of every RecordEvents call that succeeded (for metrics); must be thread-safe and
  // quick.
  using RecordEventsObserver = std::function<void(const v1::RecordEventsResponse&)>;

  ScoringService(Store& store, const Clock& clock, ModelSet models, ScoringLimits limits = {},
                 RecordEventsObserver on_recorded = nullptr);

  absl::StatusOr<v1::UpsertAccountResponse> UpsertAccount(const v1::UpsertAccountRequest& request);
  absl::StatusOr<v1::GetAccountResponse> GetAccount(const v1::GetAccountRequest& request);
  absl::StatusOr<v1::BatchGetAccountsResponse> BatchGetAccounts(const v1::BatchGetAccountsRequest& request);
  absl::StatusOr<v1::ListAccountsResponse> ListAccounts(const v1::ListAccountsRequest& request);
  absl::StatusOr<v1::RecordEventsResponse> RecordEvents(const v1::RecordEventsRequest& request);
  absl::StatusOr<v1::GetScoresResponse> GetScores(const v1::GetScoresRequest& request);
  // GetScores' fast path: answers from this process's tracked copies of the account and its cached
  // scores (Store::TryGetLocal), with no I/O, so a gRPC handler may call it on its own thread. The
  // answer is a serialized GetScoresResponse, shared and immutable, so that an unchanged account is
  // answered without building or serializing anything. Returns nullptr whenever it cannot answer that
  // way; GetScores then answers.
  std::shared_ptr<const std::string> TryGetScoresLocally(const v1::GetScoresRequest& request) const;
  absl::StatusOr<v1::BatchGetScoresResponse> BatchGetScores(const v1::BatchGetScoresRequest& request);
  absl::StatusOr<v1::SimulateScoresResponse> SimulateScores(const v1::SimulateScoresRequest& request);
  absl::StatusOr<v1::ListAccountChangesResponse> ListAccountChanges(
      const v1::ListAccountChangesRequest& request);
  absl::StatusOr<v1::ListScoringModelsResponse> ListScoringModels(
      const v1::ListScoringModelsRequest& request);
  // Refits the predictive models from every stored account (paging through the account index) and
  // stores them as a new version; see scoring_service.proto. Takes seconds for 100,000 accounts.
  absl::StatusOr<v1::FitModelsResponse> FitModels(const v1::FitModelsRequest& request);
  absl::StatusOr<v1::ListModelVersionsResponse> ListModelVersions(const v1::ListModelVersionsRequest& request);

  // Recomputes, for up to `max_accounts` accounts after `start_after` in id order, every score whose
  // cache is from an earlier day, so that the daily history behind trends fills in even for accounts
  // nobody reads. Returns the last account id visited ("" when the sweep reached the end).
  absl::StatusOr<std::string> RefreshStaleScores(const std::string& start_after, int max_accounts);

 private:
  // The feed entry of one change, stored in the same atomic step as the change itself.
  LogAppend ChangeEntry(const std::string& account_id, v1::AccountChangeKind kind, absl::Time now,
                        const std::vector<const v1::Event*>& events,
                        const v1::Account* account = nullptr) const;
  // Validated, de-duplicated ids of a batch request, at most `max` of them.
  absl::StatusOr<std::vector<std::string>> BatchIds(
      const google::protobuf::RepeatedPtrField<std::string>& ids, int max) const;
  absl::StatusOr<const HealthScorer*> FindModel(const std::string& name) const;
  // What the predictive block of one account's scores is computed from (enabled: whether to add one).
  struct PredictiveInput {
    bool enabled = false;
    const ActiveModels* models = nullptr;
    const v1::ActivityRecord* live = nullptr;  // nullptr: the account has no activity
  };
  // Fills `out` with the scores of `account` from its cached entry and returns true, if that entry
  // was computed today from the current versions of the account and of its live activity; false
  // otherwise.
  absl::StatusOr<bool> FromCache(const v1::Account& account, uint64_t account_version, uint64_t live_version,
                                 const std::optional<Record>& cached, absl::string_view key,
                                 const HealthScorer& scorer, int32_t today, const PredictiveInput& predictive,
                                 v1::Scores& out) const;
  // Fills `out` with the explained scores of an account from its features (not the trend).
  void Explain(const v1::Account& account, const FeatureVector& features, const HealthScorer& scorer,
               absl::Time compute_time, const PredictiveInput& predictive, v1::Scores& out) const;
  // Scores `ids` (unique, validated) under one model, reading and writing the store in a few round
  // trips whatever the number of accounts.
  absl::StatusOr<std::vector<v1::Scores>> ScoreAccounts(const std::vector<std::string>& ids,
                                                        const HealthScorer& scorer);

  // Serialized GetScoresResponses built by the fast path, by cached-scores key, with the account
  // version and the cache entry's bytes they were built from: an unchanged pair is answered with the
  // same bytes. (The entry's bytes, not its version: a cache entry is deleted and re-created, so its
  // version starts over, whereas account versions only grow.) Bounded; cleared when full.
  struct Explained {
    uint64_t account_version = 0;
    uint64_t live_version = 0;
    std::string cache_entry;
    int32_t day = 0;
    int64_t model_version = 0;
    std::shared_ptr<const std::string> response;
  };
  // ~3 KB an entry (key, cache entry, serialized answer): about 30 MB at most.
  static constexpr std::size_t kMaxExplained = 10000;
  mutable absl::Mutex explained_mu_;
  mutable absl::flat_hash_map<std::string, Explained> explained_ ABSL_GUARDED_BY(explained_mu_);

  // Writers that lost a race on an account retry under its stripe (see RecordEvents).
  StripedMutex write_stripes_;
  // Names of the loaded models, sorted.
  std::vector<std::string> model_names_;

  Store& store_;
  const Clock& clock_;
  const ModelSet models_;
  const ScoringLimits limits_;
  const RecordEventsObserver on_recorded_;
  absl::flat_hash_map<std::string, std::unique_ptr<HealthScorer>> scorers_;
  ChurnScorer churn_;
  ModelVersions model_versions_;
};

}  // namespace steward::scoring
