#pragma once

#include <grpcpp/grpcpp.h>

#include "common/thread_pool.h"
#include "services/upsell/upsell_service.h"
#include "steward/v1/upsell_service.grpc.pb.h"

namespace steward::upsell {

// The gRPC edge of UpsellService: every call runs the domain operation on the service's worker pool and
// converts its status once (common/grpc_handler.h).
class UpsellServiceImpl final : public v1::UpsellService::CallbackService {
 public:
  UpsellServiceImpl(UpsellService& service, ThreadPool& pool) : service_(service), pool_(pool) {}

  grpc::ServerUnaryReactor* EvaluateAccount(grpc::CallbackServerContext* context,
                                            const v1::EvaluateAccountRequest* request,
                                            v1::EvaluateAccountResponse* response) override;
  grpc::ServerUnaryReactor* GetOpportunity(grpc::CallbackServerContext* context,
                                           const v1::GetOpportunityRequest* request,
                                           v1::GetOpportunityResponse* response) override;
  grpc::ServerUnaryReactor* ListOpportunities(grpc::CallbackServerContext* context,
                                              const v1::ListOpportunitiesRequest* request,
                                              v1::ListOpportunitiesResponse* response) override;
  grpc::ServerUnaryReactor* RecordOpportunityOutcome(grpc::CallbackServerContext* context,
                                                     const v1::RecordOpportunityOutcomeRequest* request,
                                                     v1::RecordOpportunityOutcomeResponse* response) override;

  grpc::ServerUnaryReactor* GetUpsellMetrics(grpc::CallbackServerContext* context,
                                             const v1::GetUpsellMetricsRequest* request,
                                             v1::GetUpsellMetricsResponse* response) override;

 private:
  UpsellService& service_;
  ThreadPool& pool_;
};

}  // namespace steward::upsell
