#pragma once

#include "common/arena_allocator.h"
#include "common/thread_pool.h"
#include "services/scoring/scoring_service.h"
#include "steward/v1/scoring_service.grpc.pb.h"

namespace steward::scoring {

// The gRPC face of ScoringService: each method hands the request to the domain class on the worker
// pool and maps the result back. No logic lives here. GetScores is served raw (bytes in, bytes out)
// so that a cached answer can go out as the very bytes the domain keeps for it.
class ScoringServiceImpl final
    : public v1::ScoringService::WithRawCallbackMethod_GetScores<v1::ScoringService::CallbackService> {
 public:
  ScoringServiceImpl(ScoringService& service, ThreadPool& pool);

  grpc::ServerUnaryReactor* UpsertAccount(grpc::CallbackServerContext* context,
                                          const v1::UpsertAccountRequest* request,
                                          v1::UpsertAccountResponse* response) override;
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* context,
                                       const v1::GetAccountRequest* request,
                                       v1::GetAccountResponse* response) override;
  grpc::ServerUnaryReactor* ListAccounts(grpc::CallbackServerContext* context,
                                         const v1::ListAccountsRequest* request,
                                         v1::ListAccountsResponse* response) override;
  grpc::ServerUnaryReactor* RecordEvents(grpc::CallbackServerContext* context,
                                         const v1::RecordEventsRequest* request,
                                         v1::RecordEventsResponse* response) override;
  // Raw: see the class comment.
  grpc::ServerUnaryReactor* GetScores(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BatchGetScores(grpc::CallbackServerContext* context,
                                           const v1::BatchGetScoresRequest* request,
                                           v1::BatchGetScoresResponse* response) override;
  grpc::ServerUnaryReactor* SimulateScores(grpc::CallbackServerContext* context,
                                           const v1::SimulateScoresRequest* request,
                                           v1::SimulateScoresResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetAccounts(grpc::CallbackServerContext* context,
                                             const v1::BatchGetAccountsRequest* request,
                                             v1::BatchGetAccountsResponse* response) override;
  grpc::ServerUnaryReactor* ListAccountChanges(grpc::CallbackServerContext* context,
                                               const v1::ListAccountChangesRequest* request,
                                               v1::ListAccountChangesResponse* response) override;
  grpc::ServerUnaryReactor* ListScoringModels(grpc::CallbackServerContext* context,
                                              const v1::ListScoringModelsRequest* request,
                                              v1::ListScoringModelsResponse* response) override;
  grpc::ServerUnaryReactor* FitModels(grpc::CallbackServerContext* context, const v1::FitModelsRequest* request,
                                      v1::FitModelsResponse* response) override;
  grpc::ServerUnaryReactor* ListModelVersions(grpc::CallbackServerContext* context,
                                              const v1::ListModelVersionsRequest* request,
                                              v1::ListModelVersionsResponse* response) override;

 private:
  ScoringService& service_;
  ThreadPool& pool_;
  // The hot and the large methods build their messages on arenas.
  ArenaMessageAllocator<v1::BatchGetScoresRequest, v1::BatchGetScoresResponse> batch_get_scores_allocator_;
  ArenaMessageAllocator<v1::RecordEventsRequest, v1::RecordEventsResponse> record_events_allocator_;
};

}  // namespace steward::scoring
