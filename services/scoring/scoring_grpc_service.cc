#include "services/scoring/scoring_grpc_service.h"

#include "common/grpc_handler.h"

namespace steward::scoring {

ScoringServiceImpl::ScoringServiceImpl(ScoringService& service, ThreadPool& pool)
    : service_(service), pool_(pool) {
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
                                                        const grpc::ByteBuffer* request_bytes,
                                                        grpc::ByteBuffer* response_bytes) {
  auto request = std::make_shared<v1::GetScoresRequest>();
  grpc::ByteBuffer copy = *request_bytes;  // Deserialize consumes its buffer; this copies references only
  if (grpc::Status parsed =
          grpc::SerializationTraits<v1::GetScoresRequest>::Deserialize(&copy, request.get());
      !parsed.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cannot parse GetScoresRequest"));
    return reactor;
  }
  // Cached scores held locally are answered right here, on gRPC's thread: no I/O, no hop.
  if (std::shared_ptr<const std::string> cached = service_.TryGetScoresLocally(*request)) {
    *response_bytes = SharedBytesToByteBuffer(std::move(cached));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  return RunOnPool(context, pool_, [this, request, response_bytes] {
    absl::StatusOr<v1::GetScoresResponse> result = service_.GetScores(*request);
    if (!result.ok()) return ToGrpcStatus(result.status());
    bool own_buffer = false;
    return grpc::SerializationTraits<v1::GetScoresResponse>::Serialize(*result, response_bytes, &own_buffer);
  });
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

grpc::ServerUnaryReactor* ScoringServiceImpl::BatchGetAccounts(grpc::CallbackServerContext* context,
                                                               const v1::BatchGetAccountsRequest* request,
                                                               v1::BatchGetAccountsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.BatchGetAccounts(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::ListAccountChanges(grpc::CallbackServerContext* context,
                                                                 const v1::ListAccountChangesRequest* request,
                                                                 v1::ListAccountChangesResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListAccountChanges(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::ListScoringModels(grpc::CallbackServerContext* context,
                                                                const v1::ListScoringModelsRequest* request,
                                                                v1::ListScoringModelsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListScoringModels(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::FitModels(grpc::CallbackServerContext* context,
                                                        const v1::FitModelsRequest* request,
                                                        v1::FitModelsResponse* response) {
  return HandleOnPool(context, pool_, response, [this, request] { return service_.FitModels(*request); });
}

grpc::ServerUnaryReactor* ScoringServiceImpl::ListModelVersions(grpc::CallbackServerContext* context,
                                                                const v1::ListModelVersionsRequest* request,
                                                                v1::ListModelVersionsResponse* response) {
  return HandleOnPool(context, pool_, response,
                      [this, request] { return service_.ListModelVersions(*request); });
}

}  // namespace steward::scoring
