#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/store/store.h"
#include "steward/v1/opportunity.pb.h"

namespace steward::upsell {

struct OpportunityLimits {
  // An open or offered opportunity nobody acts on expires this long after it opened.
  absl::Duration offer_lifetime = absl::Hours(24 * 30);
  // Opportunities kept per account (the oldest closed ones go first).
  int max_kept_per_account = 100;
  int max_write_attempts = 16;
};

// Opportunities with their lifecycle (SPEC §4): open → offered → accepted / declined / expired. One
// record per account holds its opportunities and its cooldowns, written with compare-and-set, so the
// rules below hold under concurrent evaluations and outcomes:
// - at most one open (open or offered) opportunity per account and trigger (each trigger has one offer);
// - after an opportunity of a trigger closes unaccepted (declined, expired), the trigger does not open
//   another for the account until its cooldown has passed;
// - an opportunity past its expire time counts as expired from then on (applied whenever the account's
//   record is read), so no sweep is needed for the rules to hold.
// Thread-safe.
class OpportunityBook {
 public:
  OpportunityBook(Store& store, const Clock& clock, OpportunityLimits limits = {});

  enum class OpenOutcome { kOpened, kAlreadyOpen, kCoolingDown };
  struct OpenResult {
    OpenOutcome outcome = OpenOutcome::kOpened;
    // The opportunity opened, or the one already open; empty when cooling down.
    v1::Opportunity opportunity;
    // When cooling down: when the trigger may fire again for the account.
    absl::Time cooldown_until = absl::InfinitePast();
  };

  // An account's opportunities as read, with the record's version.
  struct Loaded {
    v1::AccountOpportunities record;
    uint64_t version = 0;
  };
  // The records of many accounts in one round trip, in the order of `account_ids`.
  absl::StatusOr<std::vector<Loaded>> LoadMany(const std::vector<std::string>& account_ids);

  // Opens an opportunity for `trigger` (already evaluated as fired for the account) unless one is open
  // or the trigger cools down. `preloaded` (from LoadMany, for a page of accounts) answers the first
  // attempt, so the common case (already open, cooling down) takes no round trip; a write still goes
  // under compare-and-set, so a stale one only costs a retry.
  absl::StatusOr<OpenResult> Open(const std::string& account_id, const v1::FiredTrigger& trigger,
                                  absl::Duration cooldown, const Loaded* preloaded = nullptr);

  // Marks these opportunities of the account handed over (UpsellService::HandOff took them).
  absl::Status MarkHandedOver(const std::string& account_id, const std::vector<std::string>& opportunity_ids);

  // NOT_FOUND for an unknown id; INVALID_ARGUMENT (field "opportunity_id") for a malformed one.
  absl::StatusOr<v1::Opportunity> Get(const std::string& opportunity_id);

  // The account's opportunities, oldest first.
  absl::StatusOr<std::vector<v1::Opportunity>> ForAccount(const std::string& account_id);

  // Up to `limit` opportunities that `keep` accepts, strictly after the opportunity `after_id` (empty:
  // from the start) in account-id order and oldest first within an account; only `account_id`'s when
  // it is not empty. A scan: its cost grows with the accounts it passes over.
  absl::StatusOr<std::vector<v1::Opportunity>> List(const std::string& account_id,
                                                    const std::string& after_id, int limit,
                                                    const std::function<bool(const v1::Opportunity&)>& keep);

  // Moves an opportunity to `state` (offered, accepted, declined or expired). Idempotent by
  // `request_id`: a retry answers the opportunity as it is and changes nothing. A move the lifecycle
  // does not allow (out of a final state, back to offered) is FAILED_PRECONDITION.
  absl::StatusOr<v1::Opportunity> RecordOutcome(const std::string& opportunity_id, v1::OpportunityState state,
                                                const std::string& request_id, const std::string& note,
                                                double mrr_change = 0);

  // Calls `visit` with every opportunity of every account (as read, expiry applied), a thousand
  // accounts a round trip.
  absl::Status ForEach(const std::function<void(const v1::Opportunity&)>& visit);

  // The account id inside an opportunity id, or nullopt when malformed.
  static std::optional<std::string> AccountOf(const std::string& opportunity_id);
  static std::string RecordKey(const std::string& account_id);

 private:
  absl::StatusOr<Loaded> Load(const std::string& account_id);
  // Marks opportunities past their expire time expired (as of their expire time); true if any was.
  bool ExpireDue(v1::AccountOpportunities& record, absl::Time now) const;
  // Calls `visit` with the record of every account after `after_account` (expiry applied), `batch` a
  // round trip, until it returns false.
  absl::Status ScanAccounts(const std::string& after_account, int batch,
                            const std::function<bool(v1::AccountOpportunities&)>& visit);
  absl::StatusOr<bool> Save(const std::string& account_id, const v1::AccountOpportunities& record,
                            uint64_t version);

  Store& store_;
  const Clock& clock_;
  const OpportunityLimits limits_;
};

}  // namespace steward::upsell
