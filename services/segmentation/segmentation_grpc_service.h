#pragma once

#include <grpcpp/grpcpp.h>

#include "common/thread_pool.h"
#include "services/segmentation/segmentation_service.h"
#include "steward/v1/segmentation_service.grpc.pb.h"

namespace steward::segmentation {

// The gRPC edge of SegmentationService: every call runs the domain operation on the shared worker pool
// and converts its status once (common/grpc_handler.h).
class SegmentationServiceImpl final : public v1::SegmentationService::CallbackService {
 public:
  SegmentationServiceImpl(SegmentationService& service, ThreadPool& pool) : service_(service), pool_(pool) {}

  grpc::ServerUnaryReactor* GetAccountSegments(grpc::CallbackServerContext* context,
                                               const v1::GetAccountSegmentsRequest* request,
                                               v1::GetAccountSegmentsResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetAccountSegments(grpc::CallbackServerContext* context,
                                                    const v1::BatchGetAccountSegmentsRequest* request,
                                                    v1::BatchGetAccountSegmentsResponse* response) override;
  grpc::ServerUnaryReactor* CreateSegment(grpc::CallbackServerContext* context,
                                          const v1::CreateSegmentRequest* request,
                                          v1::CreateSegmentResponse* response) override;
  grpc::ServerUnaryReactor* GetSegment(grpc::CallbackServerContext* context,
                                       const v1::GetSegmentRequest* request,
                                       v1::GetSegmentResponse* response) override;
  grpc::ServerUnaryReactor* ListSegments(grpc::CallbackServerContext* context,
                                         const v1::ListSegmentsRequest* request,
                                         v1::ListSegmentsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSegment(grpc::CallbackServerContext* context,
                                          const v1::UpdateSegmentRequest* request,
                                          v1::UpdateSegmentResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSegment(grpc::CallbackServerContext* context,
                                          const v1::DeleteSegmentRequest* request,
                                          v1::DeleteSegmentResponse* response) override;
  grpc::ServerUnaryReactor* ListSegmentMembers(grpc::CallbackServerContext* context,
                                               const v1::ListSegmentMembersRequest* request,
                                               v1::ListSegmentMembersResponse* response) override;
  grpc::ServerUnaryReactor* GetSegmentStats(grpc::CallbackServerContext* context,
                                            const v1::GetSegmentStatsRequest* request,
                                            v1::GetSegmentStatsResponse* response) override;
  grpc::ServerUnaryReactor* ListMembershipEvents(grpc::CallbackServerContext* context,
                                                 const v1::ListMembershipEventsRequest* request,
                                                 v1::ListMembershipEventsResponse* response) override;
  grpc::ServerUnaryReactor* ListSegmentFields(grpc::CallbackServerContext* context,
                                              const v1::ListSegmentFieldsRequest* request,
                                              v1::ListSegmentFieldsResponse* response) override;
  grpc::ServerUnaryReactor* GetLoyalty(grpc::CallbackServerContext* context,
                                       const v1::GetLoyaltyRequest* request,
                                       v1::GetLoyaltyResponse* response) override;
  grpc::ServerUnaryReactor* AwardPoints(grpc::CallbackServerContext* context,
                                        const v1::AwardPointsRequest* request,
                                        v1::AwardPointsResponse* response) override;
  grpc::ServerUnaryReactor* RedeemPoints(grpc::CallbackServerContext* context,
                                         const v1::RedeemPointsRequest* request,
                                         v1::RedeemPointsResponse* response) override;
  grpc::ServerUnaryReactor* ListRewards(grpc::CallbackServerContext* context,
                                        const v1::ListRewardsRequest* request,
                                        v1::ListRewardsResponse* response) override;
  grpc::ServerUnaryReactor* GetPortfolioMetrics(grpc::CallbackServerContext* context,
                                                const v1::GetPortfolioMetricsRequest* request,
                                                v1::GetPortfolioMetricsResponse* response) override;

 private:
  SegmentationService& service_;
  ThreadPool& pool_;
};

}  // namespace steward::segmentation
