#include "services/segmentation/segmentation_grpc_service.h"

#include <optional>
#include <utility>

#include "common/grpc_handler.h"

namespace steward::segmentation {

grpc::ServerUnaryReactor* SegmentationServiceImpl::GetAccountSegments(
    grpc::CallbackServerContext* context, const v1::GetAccountSegmentsRequest* request,
    v1::GetAccountSegmentsResponse* response) {
  // Answered on gRPC's thread when this process holds what the answer needs; else on the pool.
  if (std::optional<v1::GetAccountSegmentsResponse> local = service_.TryGetAccountSegmentsLocally(*request);
      local.has_value()) {
    *response = *std::move(local);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.GetAccountSegments(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::BatchGetAccountSegments(
    grpc::CallbackServerContext* context, const v1::BatchGetAccountSegmentsRequest* request,
    v1::BatchGetAccountSegmentsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.BatchGetAccountSegments(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::CreateSegment(grpc::CallbackServerContext* context,
                                                                 const v1::CreateSegmentRequest* request,
                                                                 v1::CreateSegmentResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.CreateSegment(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::GetSegment(grpc::CallbackServerContext* context,
                                                              const v1::GetSegmentRequest* request,
                                                              v1::GetSegmentResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.GetSegment(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::ListSegments(grpc::CallbackServerContext* context,
                                                                const v1::ListSegmentsRequest* request,
                                                                v1::ListSegmentsResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.ListSegments(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::UpdateSegment(grpc::CallbackServerContext* context,
                                                                 const v1::UpdateSegmentRequest* request,
                                                                 v1::UpdateSegmentResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.UpdateSegment(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::DeleteSegment(grpc::CallbackServerContext* context,
                                                                 const v1::DeleteSegmentRequest* request,
                                                                 v1::DeleteSegmentResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.DeleteSegment(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::ListSegmentMembers(
    grpc::CallbackServerContext* context, const v1::ListSegmentMembersRequest* request,
    v1::ListSegmentMembersResponse* response) {
  // Answered on gRPC's thread when this process holds what the answer needs; else on the pool.
  if (std::optional<v1::ListSegmentMembersResponse> local = service_.TryListSegmentMembersLocally(*request);
      local.has_value()) {
    *response = *std::move(local);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListSegmentMembers(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::GetSegmentStats(grpc::CallbackServerContext* context,
                                                                   const v1::GetSegmentStatsRequest* request,
                                                                   v1::GetSegmentStatsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.GetSegmentStats(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::ListMembershipEvents(
    grpc::CallbackServerContext* context, const v1::ListMembershipEventsRequest* request,
    v1::ListMembershipEventsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListMembershipEvents(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::ListSegmentFields(
    grpc::CallbackServerContext* context, const v1::ListSegmentFieldsRequest* request,
    v1::ListSegmentFieldsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListSegmentFields(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::GetLoyalty(grpc::CallbackServerContext* context,
                                                              const v1::GetLoyaltyRequest* request,
                                                              v1::GetLoyaltyResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.GetLoyalty(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::AwardPoints(grpc::CallbackServerContext* context,
                                                               const v1::AwardPointsRequest* request,
                                                               v1::AwardPointsResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.AwardPoints(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::RedeemPoints(grpc::CallbackServerContext* context,
                                                                const v1::RedeemPointsRequest* request,
                                                                v1::RedeemPointsResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.RedeemPoints(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::ListRewards(grpc::CallbackServerContext* context,
                                                               const v1::ListRewardsRequest* request,
                                                               v1::ListRewardsResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.ListRewards(*request); });
}

grpc::ServerUnaryReactor* SegmentationServiceImpl::GetPortfolioMetrics(
    grpc::CallbackServerContext* context, const v1::GetPortfolioMetricsRequest* request,
    v1::GetPortfolioMetricsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.GetPortfolioMetrics(*request); });
}

}  // namespace steward::segmentation
