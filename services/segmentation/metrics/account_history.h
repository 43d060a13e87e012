#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/store/store.h"
#include "common/striped_mutex.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/account_change.pb.h"
#include "steward/v1/portfolio_metrics.pb.h"

namespace steward::segmentation {

// The per-account history that portfolio metrics (SPEC §6) are computed from, folded from the scoring
// service's change feed. Plain domain code over the Store interface; no gRPC.
//
// Storage: one v1::PortfolioHistoryRecord per account under "metrics:{id}" (RecordKey), written with
// compare-and-set (expected_version) and retried on a conflict, kMaxWriteAttempts times before ABORTED;
// writers of one account in this process take turns. The first write of an account also adds its id to
// the sorted index kIndex ("metrics-accounts"), before the record, so every record is reachable.
//
// Idempotency: the record remembers the cursor of the last change that changed it; a change whose
// cursor is at or before it is skipped (cursors "<ms>-<seq>" compare numerically, ms then seq). A change
// that changes nothing (logins, …) writes nothing. So the feed can be replayed from any point.
//
// What is kept, from each change:
//   UPSERTED (needs the account):
//     - start_time: Account.start_time (the first upsert's change_time when unset);
//     - the status the account started with: TRIAL if the first upsert shows TRIAL, else ACTIVE (an
//       account first seen churned was paying until then; the churn is recorded at change_time);
//     - a status point at change_time when the upserted status (UNSPECIFIED meaning ACTIVE) differs from
//       the previous upsert's and from the current status: TRIAL → ACTIVE is the trial→paid conversion;
//       → CHURNED a churn without a reason (an EVENT_TYPE_CHURNED for it later supplies time and
//       reason); CHURNED → ACTIVE a reactivation. An upsert that repeats its previous status does not
//       override what events said (a CHURNED event stays even if the account still reads ACTIVE);
//     - an MRR point (change_time, mrr) when the MRR differs from the latest point.
//   EVENTS_RECORDED (events of another account are skipped):
//     - EVENT_TYPE_CHURNED: a churn at the event's time with its subject as reason; if the account is
//       already churned by an upsert, that churn takes the event's time and reason; if already churned
//       by an event, nothing;
//     - EVENT_TYPE_REACTIVATED: ACTIVE at the event's time if churned (or takes over an upsert's
//       reactivation);
//     - EVENT_TYPE_UPGRADE / _EXPANSION / _DOWNGRADE with a value > 0: an MRR movement (time, type,
//       value);
//     - EVENT_TYPE_FEATURE_USED: the earliest time seen;
//     - EVENT_TYPE_NPS_RESPONSE / _CSAT_RESPONSE: the answer (time, value).
//   Status points are kept in order: one is never placed before the previous point (an event timed
//   earlier than the last recorded change is taken as happening right at it).
//
// Bounds (the record stays under ~60 KB): the newest kMaxStatusPoints status points (older ones fold
// into the starting status), kMaxMrrPoints MRR points, kMaxMovements movements, and per survey the
// answers of the last kAnswerRetention before the change's time, at most kMaxAnswers of them; reasons
// are cut to kMaxReasonLength bytes.
//
// Thread-safe.
class AccountHistoryBook {
 public:
  static constexpr int kMaxWriteAttempts = 16;
  static constexpr int kMaxStatusPoints = 128;
  static constexpr int kMaxMrrPoints = 512;
  static constexpr int kMaxMovements = 1024;
  static constexpr int kMaxAnswers = 256;
  static constexpr absl::Duration kAnswerRetention = absl::Hours(24 * 731);
  static constexpr std::size_t kMaxReasonLength = 128;
  // The sorted index of every account with a record (members are account ids).
  static constexpr absl::string_view kIndex = "metrics-accounts";

  // `store` must outlive the book.
  explicit AccountHistoryBook(Store& store);

  AccountHistoryBook(const AccountHistoryBook&) = delete;
  AccountHistoryBook& operator=(const AccountHistoryBook&) = delete;

  // Folds one change of the feed into the account's record. `account` is the account as it is now,
  // required for ACCOUNT_CHANGE_KIND_UPSERTED (and ignored otherwise; may be null). Changes of unknown
  // kinds change nothing. INVALID_ARGUMENT (FieldError) for an empty account_id, a cursor that is not
  // "<number>-<number>", an upsert without `account` or with another account's; INTERNAL for a stored
  // record that cannot be parsed; ABORTED after kMaxWriteAttempts lost races; store errors as they are.
  absl::Status Apply(const v1::AccountChange& change, const v1::Account* account);

  // Apply for a page of the feed, in feed order (an upsert carries its account in the change): one read
  // of every account's record and one write of those that changed, not a read and a write per change.
  // Errors as for Apply (a bad change fails the page before anything is written).
  absl::Status ApplyPage(absl::Span<const v1::AccountChange> changes);

  // Sets the account's latest health score and LTV:CAC (nullopt: unknown now). Writes only when they
  // changed. Errors as for Apply.
  absl::Status SetScores(const std::string& account_id, std::optional<double> health,
                         std::optional<double> ltv_to_cac);
  // SetScores for many accounts in one read and one write (the last entry of an account wins).
  struct LatestScores {
    std::string account_id;
    std::optional<double> health;
    std::optional<double> ltv_to_cac;
  };
  absl::Status SetScoresMany(std::vector<LatestScores> scores);

  // The account's record; nullopt when it has none.
  absl::StatusOr<std::optional<v1::PortfolioHistoryRecord>> Read(const std::string& account_id);

  // Folds `change` into `record` without storing anything (see the class comment), ignoring cursors.
  // Returns whether the record changed (the caller then sets last_cursor).
  static bool Fold(const v1::AccountChange& change, const v1::Account* account,
                   v1::PortfolioHistoryRecord& record);

  static std::string RecordKey(absl::string_view account_id);

 private:
  // Reads the record, lets `mutate` change it (returning false when there is nothing to write), and
  // writes it with compare-and-set, retrying lost races.
  template <typename Mutate>
  absl::Status Update(const std::string& account_id, Mutate mutate);
  // Update for many accounts (distinct ids): one read, one pipelined write; the records that lost a
  // race are retried one by one. `mutate(account_id, exists, record)`.
  template <typename Mutate>
  absl::Status UpdateMany(const std::vector<std::string>& account_ids, Mutate mutate);
  // Apply's checks of a change.
  static absl::Status CheckChange(const v1::AccountChange& change, const v1::Account* account);
  // Folds one change unless the record has it already (by cursor); sets the cursor.
  static absl::StatusOr<bool> FoldOnce(const v1::AccountChange& change, const v1::Account* account, bool exists,
                                       v1::PortfolioHistoryRecord& record);
  // The account an upsert carries; null for other changes.
  static const v1::Account* UpsertedAccount(const v1::AccountChange& change);

  Store& store_;
  StripedMutex write_stripes_;  // one account's writers in this process take turns
};

// Compares two feed cursors "<ms>-<seq>" numerically (ms, then seq): negative, 0 or positive.
// nullopt when either is not of that form.
std::optional<int> CompareCursors(absl::string_view a, absl::string_view b);

}  // namespace steward::segmentation
