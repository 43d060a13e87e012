#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/service_client.h"
#include "steward/v1/segmentation_service.grpc.pb.h"

namespace steward::segmentation {

// The segmentation service as other services see it (upsell): see ServiceClient for channels,
// deadlines and errors.
class SegmentationClient : public ServiceClient<v1::SegmentationService> {
 public:
  explicit SegmentationClient(absl::Duration deadline) : ServiceClient("segmentation service", deadline) {}

  // The account's segments from its maintained membership.
  absl::StatusOr<v1::GetAccountSegmentsResponse> GetAccountSegments(const std::string& account_id) const {
    v1::GetAccountSegmentsRequest request;
    request.set_account_id(account_id);
    return Call<v1::GetAccountSegmentsRequest, v1::GetAccountSegmentsResponse>(
        "GetAccountSegments", &v1::SegmentationService::Stub::GetAccountSegments, request);
  }

  // The maintained segments of many accounts (at most 1000 distinct ids), in the order asked.
  absl::StatusOr<v1::BatchGetAccountSegmentsResponse> BatchGetAccountSegments(
      const std::vector<std::string>& account_ids) const {
    v1::BatchGetAccountSegmentsRequest request;
    for (const std::string& id : account_ids) request.add_account_ids(id);
    return Call<v1::BatchGetAccountSegmentsRequest, v1::BatchGetAccountSegmentsResponse>(
        "BatchGetAccountSegments", &v1::SegmentationService::Stub::BatchGetAccountSegments, request);
  }

  // Membership events after `cursor`, oldest first.
  absl::StatusOr<v1::ListMembershipEventsResponse> ListMembershipEvents(const std::string& cursor,
                                                                        int page_size) const {
    v1::ListMembershipEventsRequest request;
    request.set_page_token(cursor);
    request.set_page_size(page_size);
    return Call<v1::ListMembershipEventsRequest, v1::ListMembershipEventsResponse>(
        "ListMembershipEvents", &v1::SegmentationService::Stub::ListMembershipEvents, request);
  }
};

}  // namespace steward::segmentation
