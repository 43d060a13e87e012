#pragma once

#include <functional>
#include <string>

#include "absl/types/span.h"

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/account_facts.h"
#include "services/segmentation/segmentation_client.h"
#include "services/upsell/opportunity_book.h"
#include "steward/v1/upsell_config.pb.h"
#include "steward/v1/upsell_service.pb.h"

namespace steward::upsell {

// The upsell domain of SPEC §4 behind UpsellService (see upsell_service.proto): evaluates the triggers
// of an account from its account, scores (scoring service) and segments (segmentation service), opens
// opportunities through the OpportunityBook, and moves them along their lifecycle, reporting accepted
// deals to the scoring service. Thread-safe; calls block on the store and on the other services.
class UpsellService {
 public:
  // Hands an open opportunity over to whoever presents it to the customer (the playbook service's
  // upsell offer): true when it was taken (then it is marked handed over and never handed again), false
  // when it must wait (the offer is busy with another opportunity of the account; a later evaluation
  // tries again). Must be idempotent (a mark can be lost to a crash); an error fails the evaluation (a
  // follower retries it).
  using HandOff = std::function<absl::StatusOr<bool>(const v1::Opportunity&)>;

  UpsellService(const Clock& clock, const scoring::ScoringClient& scoring,
                const segmentation::SegmentationClient& segmentation, OpportunityBook& opportunities,
                v1::UpsellConfig config, HandOff hand_off = nullptr);

  absl::StatusOr<v1::EvaluateAccountResponse> EvaluateAccount(const v1::EvaluateAccountRequest& request);

  // Accounts whose scores or segments may have moved (a page of a feed), each with the id of the
  // request behind its latest change ("" when unknown): EvaluateAccount for each, with one batch read of
  // their facts for the whole page. A failure the page may be retried for (UNAVAILABLE, ABORTED,
  // DEADLINE_EXCEEDED) is returned at once; any other failure of one account is logged and the others
  // go on.
  struct ChangedAccount {
    std::string account_id;
    std::string request_id;
  };
  absl::Status EvaluateChanged(absl::Span<const ChangedAccount> changed);
  absl::StatusOr<v1::GetOpportunityResponse> GetOpportunity(const v1::GetOpportunityRequest& request);
  absl::StatusOr<v1::ListOpportunitiesResponse> ListOpportunities(
      const v1::ListOpportunitiesRequest& request);
  absl::StatusOr<v1::RecordOpportunityOutcomeResponse> RecordOpportunityOutcome(
      const v1::RecordOpportunityOutcomeRequest& request);
  // Reads every account's opportunities: its cost grows with the number of accounts that have any.
  absl::StatusOr<v1::GetUpsellMetricsResponse> GetUpsellMetrics(const v1::GetUpsellMetricsRequest& request);

 private:
  // The triggers of one account on its facts: opens what fires, and hands open opportunities over.
  // `opportunities`, when given, is the account's record as read for a whole page.
  absl::StatusOr<v1::EvaluateAccountResponse> Evaluate(const std::string& account_id,
                                                       const segmentation::AccountFacts& facts,
                                                       const OpportunityBook::Loaded* opportunities = nullptr);
  const v1::UpsellTrigger* FindTrigger(const std::string& id) const;
  // Tells the scoring service about an accepted deal: an UPGRADE (upsell) or EXPANSION (cross-sell)
  // event worth `mrr_change` whose id is the opportunity's (so a retry records nothing twice), and the
  // account's new MRR (and plan, for a plan offer) when that event was new.
  absl::Status ReportAccepted(const v1::Opportunity& opportunity, double mrr_change);

  const Clock& clock_;
  const scoring::ScoringClient& scoring_;
  const segmentation::SegmentationClient& segmentation_;
  OpportunityBook& opportunities_;
  const v1::UpsellConfig config_;
  const HandOff hand_off_;
};

}  // namespace steward::upsell
