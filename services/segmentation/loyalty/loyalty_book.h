#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/store/store.h"
#include "common/striped_mutex.h"
#include "steward/v1/event.pb.h"
#include "steward/v1/loyalty.pb.h"
#include "steward/v1/loyalty_config.pb.h"
#include "steward/v1/segmentation_service.pb.h"

namespace steward::segmentation {

// The loyalty programme's ledger (SPEC §3 "loyalty"): points earned from events and awards, spent on
// rewards, and the tier they give. Plain domain code over the Store interface; no gRPC. The caller
// (the service) has already checked that the account exists and that its id is valid.
//
// Ledger. Every change of an account's points is an entry; the balance is always the sum of the
// entries, and earned/redeemed the sums of the positive/negative ones. Entries are never changed or
// removed. The tier follows lifetime points EARNED, so redeeming never lowers it.
//
// Storage (messages in proto/steward/v1/loyalty_config.proto; every key carries KeyTag(account_id),
// so each write is one atomic step on Redis Cluster too):
//   loyalty:{id}                   LoyaltyRecord: balance, earned, redeemed, entry_count. Its version
//                                  orders the ledger: every write is a Put of it with expected_version.
//   loyalty:{id}:seq:<n>           LoyaltyEntry number n, 1 = oldest (a page is one batch Get).
//   loyalty:{id}:req:<request_id>  LoyaltyEntryMarker (the entry's n) of an Award/Redeem request.
//   loyalty:{id}:earn:<entry_id>   LoyaltyEntryMarker of points earned from events.
// A write adds entries and their markers (AlsoWrite) and guards that each marker is absent (Guard
// version 0), so even a writer that skipped the version check could not add an entry twice. Writers
// of one account in this process take turns (a striped mutex held for the read-check-write), since
// they would collide anyway; a write that loses a race to another process is re-read and retried (the
// re-read also tells a concurrent duplicate from a lost race), and after kMaxWriteAttempts the call
// fails with ABORTED. Request ids and earned entry ids have separate
// marker namespaces, so an AwardPoints request_id such as "referral:e1" cannot block automatic
// earning (the entries differ by kind).
//
// Idempotency (AIP-155). A request whose request_id was already used for the same operation changes
// nothing and returns the first answer's entry with the current standing — even if a redemption's
// reward has since become too expensive for the balance. "The same operation" means the same kind
// (award or redemption) and the same points (award) or reward_id (redemption); the note is not
// compared. A request_id reused for a different operation is ALREADY_EXISTS naming request_id; nothing
// is stored. Request ids are kept forever (not only for a window).
//
// Automatic earning from events (EarnFromEvents), with the configured points (SPEC defaults shown):
//   daily use +10     a UTC day with at least one EVENT_TYPE_LOGIN; once per day.
//                     entry id "daily_use:YYYY-MM-DD" (the event's UTC day).
//   feature use +5    each distinct EVENT_TYPE_FEATURE_USED subject on a UTC day; once per feature per
//                     day. "feature_use:YYYY-MM-DD:<feature>"; the entry's subject is the feature.
//                     Events without a subject earn nothing.
//   referral +100     each EVENT_TYPE_REFERRAL. "referral:<event_id>".
//   feedback +25      each NPS, CSAT or survey answer (EVENT_TYPE_NPS_RESPONSE, _CSAT_RESPONSE,
//                     _SURVEY_RESPONSE), whatever the score. "feedback:<event_id>".
//   social share +15  each EVENT_TYPE_SOCIAL_MENTION with sentiment above 0.5: Steward has no "share"
//                     event, so a positive mention of the product counts as a share (a neutral or
//                     negative one, or one without sentiment, does not). "social_share:<event_id>".
// Other event types earn nothing. Entry ids are deterministic, so the same events delivered twice (or
// a login on a day that already earned) earn once; unlike RecordEvents' 7-day duplicate window this
// holds forever. Events of another account (event.account_id set and different) are skipped. New
// entries of one call are written oldest event first (ties by entry id), in atomic steps of at most
// kMaxEntriesPerWrite entries; an error part-way leaves the earlier steps written, and repeating the
// call completes the rest. An entry's time is when it was written (the clock), not the event's time.
//
// Thread-safe.
class LoyaltyBook {
 public:
  // Writes attempted for one atomic step before giving up with ABORTED.
  static constexpr int kMaxWriteAttempts = 16;
  // Most entries EarnFromEvents adds in one atomic step.
  static constexpr int kMaxEntriesPerWrite = 256;
  // GetLoyalty page sizes: 0 means kDefaultPageSize; larger than kMaxPageSize is clamped.
  static constexpr int kDefaultPageSize = 100;
  static constexpr int kMaxPageSize = 1000;
  // Limits of AwardPoints/RedeemPoints fields, in bytes.
  static constexpr int64_t kMaxAwardPoints = 1'000'000;
  static constexpr std::size_t kMaxRequestIdLength = 128;
  static constexpr std::size_t kMaxNoteLength = 500;

  // `config` must be valid (ValidateLoyaltyConfig). `store` and `clock` must outlive the book.
  LoyaltyBook(Store& store, const Clock& clock, v1::LoyaltyConfig config);

  LoyaltyBook(const LoyaltyBook&) = delete;
  LoyaltyBook& operator=(const LoyaltyBook&) = delete;

  // The standing and one page of the ledger, newest first. An account with no ledger has a zero
  // standing in the lowest tier and no entries. page_size: negative is INVALID_ARGUMENT, 0 means
  // kDefaultPageSize, more than kMaxPageSize is clamped. page_token: empty, or a next_page_token this
  // method returned for the same account (tokens stay valid: the ledger only grows); anything else is
  // INVALID_ARGUMENT on "page_token". INTERNAL for stored data that cannot be read.
  absl::StatusOr<v1::GetLoyaltyResponse> Get(const v1::GetLoyaltyRequest& request);

  // Adds request.points to the account. INVALID_ARGUMENT (FieldError) for request_id empty or longer
  // than 128, points outside 1..1,000,000, note longer than 500. See the class comment for retries.
  absl::StatusOr<v1::AwardPointsResponse> Award(const v1::AwardPointsRequest& request);

  // Spends the reward's price. INVALID_ARGUMENT (FieldError) as for Award, and for a reward_id not in
  // the catalogue (field "reward_id"); FAILED_PRECONDITION, naming the balance and the price, when the
  // balance is short (nothing is stored). See the class comment for retries.
  absl::StatusOr<v1::RedeemPointsResponse> Redeem(const v1::RedeemPointsRequest& request);

  // Earns the points the events are worth (see the class comment); events that earn nothing new write
  // nothing. For events already recorded (RecordEvents has validated them).
  absl::Status EarnFromEvents(const std::string& account_id, absl::Span<const v1::Event> events);

  // The catalogue, cheapest first (ties by reward_id).
  std::vector<v1::LoyaltyReward> Rewards() const { return rewards_; }

  const v1::LoyaltyConfig& config() const { return config_; }

  // The highest configured tier whose min_earned is at most `earned` (the lowest tier for less);
  // LOYALTY_TIER_UNSPECIFIED only for a configuration without tiers.
  static v1::LoyaltyTier TierFor(const v1::LoyaltyConfig& config, int64_t earned);

  // The standing the totals give: the tier from record.earned, and points_to_next_tier the points
  // still to earn for the next configured tier (0 in the highest).
  static v1::LoyaltyStanding Standing(const v1::LoyaltyConfig& config, const std::string& account_id,
                                      const v1::LoyaltyRecord& record);

  // Storage keys (see the class comment).
  static std::string RecordKey(const std::string& account_id);
  static std::string EntryKey(const std::string& account_id, int64_t seq);
  static std::string RequestMarkerKey(const std::string& account_id, const std::string& request_id);
  static std::string EarnedMarkerKey(const std::string& account_id, const std::string& entry_id);

 private:
  // An entry to add unless its marker exists. `entry` has id, kind, points, subject and note; the
  // write fills in time and balance_after.
  struct Candidate {
    std::string marker_key;
    v1::LoyaltyEntry entry;
  };
  // What Commit found or did: the totals after it, and per candidate the number of its entry and
  // whether that entry was there before (a duplicate) rather than added now.
  struct Committed {
    v1::LoyaltyRecord record;
    std::vector<int64_t> seqs;
    std::vector<bool> existed;
    // The entries added now, in full (time and balance_after set); empty for the duplicates.
    std::vector<v1::LoyaltyEntry> entries;
  };
  // Checked against the current totals before new entries are added; an error is returned as is.
  using Precondition = std::function<absl::Status(const v1::LoyaltyRecord&)>;

  // Adds, in one atomic step, the candidates whose markers are absent (see the class comment).
  absl::StatusOr<Committed> Commit(const std::string& account_id, absl::Span<const Candidate> candidates,
                                   const Precondition& precondition);

  // Award and Redeem after validation: commits `candidate` and returns the standing and the entry
  // (the first one for a retry; ALREADY_EXISTS when that one is for another operation).
  absl::Status CommitRequest(const std::string& account_id, const Candidate& candidate,
                             const Precondition& precondition, v1::LoyaltyStanding& standing,
                             v1::LoyaltyEntry& entry);

  Store& store_;
  const Clock& clock_;
  const v1::LoyaltyConfig config_;
  const std::vector<v1::LoyaltyReward> rewards_;  // cheapest first
  StripedMutex write_stripes_;                    // one account's writers take turns
};

}  // namespace steward::segmentation
