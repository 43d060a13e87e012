#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/store/store.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/loyalty/loyalty_book.h"
#include "services/segmentation/membership.h"
#include "services/segmentation/segment_catalog.h"
#include "steward/v1/segmentation_config.pb.h"
#include "steward/v1/segmentation_service.pb.h"

namespace steward::segmentation {

// The segmentation domain of SPEC §3 behind SegmentationService: requests and responses are the
// API's messages, errors are absl::Status (see segmentation_service.proto). Scores and accounts come
// from the scoring service through `scoring`. Thread-safe; calls block on the store and on the
// scoring service, so gRPC handlers run them on a worker pool.
class SegmentationService {
 public:  // `maintainer` re-evaluates an account at once after a loyalty change (its tier may move); it need
  // not be running its background loop. Null only in tests that do without.
  SegmentationService(Store& store, const Clock& clock, const scoring::ScoringClient& scoring,
                      SegmentCatalog& catalog, LoyaltyBook& loyalty, const v1::SegmentationConfig& config,
                      const v1::PortfolioTargets& targets, MembershipMaintainer* maintainer);

  absl::StatusOr<v1::GetAccountSegmentsResponse> GetAccountSegments(
      const v1::GetAccountSegmentsRequest& request);
  // The maintained view of many accounts in one store read (an account not evaluated yet is evaluated
  // now, as GetAccountSegments does).
  absl::StatusOr<v1::BatchGetAccountSegmentsResponse> BatchGetAccountSegments(
      const v1::BatchGetAccountSegmentsRequest& request);
  absl::StatusOr<v1::CreateSegmentResponse> CreateSegment(const v1::CreateSegmentRequest& request);
  absl::StatusOr<v1::GetSegmentResponse> GetSegment(const v1::GetSegmentRequest& request);
  absl::StatusOr<v1::ListSegmentsResponse> ListSegments(const v1::ListSegmentsRequest& request);
  absl::StatusOr<v1::UpdateSegmentResponse> UpdateSegment(const v1::UpdateSegmentRequest& request);
  absl::StatusOr<v1::DeleteSegmentResponse> DeleteSegment(const v1::DeleteSegmentRequest& request);
  absl::StatusOr<v1::ListSegmentMembersResponse> ListSegmentMembers(
      const v1::ListSegmentMembersRequest& request);
  // Fast paths of GetAccountSegments (maintained view) and ListSegmentMembers: the answer from this
  // process's tracked copies (Store::TryGetLocal, TryIndexScanLocal), with no I/O, so that a gRPC
  // handler may call them on its own thread; nullopt whenever they cannot answer that way (then call
  // the full method, which also reports any error).
  std::optional<v1::GetAccountSegmentsResponse> TryGetAccountSegmentsLocally(
      const v1::GetAccountSegmentsRequest& request);
  std::optional<v1::ListSegmentMembersResponse> TryListSegmentMembersLocally(
      const v1::ListSegmentMembersRequest& request);
  absl::StatusOr<v1::GetSegmentStatsResponse> GetSegmentStats(const v1::GetSegmentStatsRequest& request);
  absl::StatusOr<v1::ListMembershipEventsResponse> ListMembershipEvents(
      const v1::ListMembershipEventsRequest& request);
  absl::StatusOr<v1::ListSegmentFieldsResponse> ListSegmentFields(
      const v1::ListSegmentFieldsRequest& request);
  absl::StatusOr<v1::GetLoyaltyResponse> GetLoyalty(const v1::GetLoyaltyRequest& request);
  absl::StatusOr<v1::AwardPointsResponse> AwardPoints(const v1::AwardPointsRequest& request);
  absl::StatusOr<v1::RedeemPointsResponse> RedeemPoints(const v1::RedeemPointsRequest& request);
  absl::StatusOr<v1::ListRewardsResponse> ListRewards(const v1::ListRewardsRequest& request);
  absl::StatusOr<v1::GetPortfolioMetricsResponse> GetPortfolioMetrics(
      const v1::GetPortfolioMetricsRequest& request);

 private:
  // The account must exist (NOT_FOUND otherwise); validates the id first.
  absl::Status CheckAccount(const std::string& account_id);
  // The segment must exist in the current catalogue; returns that catalogue.
  absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> CatalogWith(const std::string& segment_id);
  void Reevaluate(const std::string& account_id);
  // GetAccountSegments' answer from an account's maintained membership record.
  absl::StatusOr<v1::GetAccountSegmentsResponse> FromMaintained(const std::string& account_id,
                                                                const Record& record,
                                                                const CatalogSnapshot& catalog);
  // A page of members from `members` (one more than asked, when another page follows).
  static v1::ListSegmentMembersResponse MembersPage(std::vector<std::string> members, int page_size);

  Store& store_;
  const Clock& clock_;
  const scoring::ScoringClient& scoring_;
  SegmentCatalog& catalog_;
  LoyaltyBook& loyalty_;
  const v1::SegmentationConfig config_;
  const v1::PortfolioTargets targets_;
  MembershipMaintainer* maintainer_;
};

}  // namespace steward::segmentation
