#include "services/upsell/upsell_grpc_service.h"

#include "common/grpc_handler.h"

namespace steward::upsell {

grpc::ServerUnaryReactor* UpsellServiceImpl::EvaluateAccount(grpc::CallbackServerContext* context,
                                                             const v1::EvaluateAccountRequest* request,
                                                             v1::EvaluateAccountResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.EvaluateAccount(*request); });
}

grpc::ServerUnaryReactor* UpsellServiceImpl::GetOpportunity(grpc::CallbackServerContext* context,
                                                            const v1::GetOpportunityRequest* request,
                                                            v1::GetOpportunityResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.GetOpportunity(*request); });
}

grpc::ServerUnaryReactor* UpsellServiceImpl::ListOpportunities(grpc::CallbackServerContext* context,
                                                               const v1::ListOpportunitiesRequest* request,
                                                               v1::ListOpportunitiesResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListOpportunities(*request); });
}

grpc::ServerUnaryReactor* UpsellServiceImpl::RecordOpportunityOutcome(
    grpc::CallbackServerContext* context, const v1::RecordOpportunityOutcomeRequest* request,
    v1::RecordOpportunityOutcomeResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.RecordOpportunityOutcome(*request); });
}

grpc::ServerUnaryReactor* UpsellServiceImpl::GetUpsellMetrics(grpc::CallbackServerContext* context,
                                                              const v1::GetUpsellMetricsRequest* request,
                                                              v1::GetUpsellMetricsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.GetUpsellMetrics(*request); });
}

}  // namespace steward::upsell
