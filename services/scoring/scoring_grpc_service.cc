#include "services/scoring/scoring_grpc_service.h"

#include "common/grpc_handler.h"

namespace steward::scoring {

ScoringServiceImpl::ScoringServiceImpl(ScoringService& service, ThreadPool& pool)
    : service_(service), pool_(pool) {
  SetMessageAllocatorFor_GetScores(&get_scores_allocator_);
  SetMessageAllocatorFor_BatchGetScores(&batch_get_scores_allocator_);
  SetMessageAllocatorFor_RecordEvents(&record_events_allocator_);
}

grpc::ServerUnaryReactor* ScoringServiceImpl::UpsertAccount(grpc::CallbackServerContext* context,
                                                            const v1::UpsertAccountRequest* request,
                                                            v1::UpsertAccountResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.UpsertAccount(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::GetAccount(grpc::CallbackServerContext* context,
                                                         const v1::GetAccountRequest* request,
                                                         v1::GetAccountResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.GetAccount(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::ListAccounts(grpc::CallbackServerContext* context,
                                                           const v1::ListAccountsRequest* request,
                                                           v1::ListAccountsResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.ListAccounts(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::RecordEvents(grpc::CallbackServerContext* context,
                                                           const v1::RecordEventsRequest* request,
                                                           v1::RecordEventsResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.RecordEvents(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::GetScores(grpc::CallbackServerContext* context,
                                                        const v1::GetScoresRequest* request,
                                                        v1::GetScoresResponse* response) {
  // Cached scores held locally are answered right here; everything else goes to the pool.
  return HandleFastOrOnPool(
      context, pool_, response,
      [this, request, response] { return service_.TryGetScoresLocally(*request, *response); },
      [this, request] { return service_.GetScores(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::BatchGetScores(grpc::CallbackServerContext* context,
                                                             const v1::BatchGetScoresRequest* request,
                                                             v1::BatchGetScoresResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.BatchGetScores(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::SimulateScores(grpc::CallbackServerContext* context,
                                                             const v1::SimulateScoresRequest* request,
                                                             v1::SimulateScoresResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.SimulateScores(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::ListScoringModels(grpc::CallbackServerContext* context,
                                                                const v1::ListScoringModelsRequest* request,
                                                                v1::ListScoringModelsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListScoringModels(*request); });
}

}  // namespace steward::scoring
