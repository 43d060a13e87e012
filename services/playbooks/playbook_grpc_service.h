#pragma once

#include <grpcpp/grpcpp.h>

#include "common/thread_pool.h"
#include "services/playbooks/action_watch.h"
#include "services/playbooks/playbook_service.h"
#include "steward/v1/playbook_service.grpc.pb.h"

namespace steward::playbooks {

// The gRPC edge of PlaybookService: unary calls run on the service's worker pool and convert their
// status once (common/grpc_handler.h); WatchActions streams come from the ActionWatchHub.
class PlaybookServiceImpl final : public v1::PlaybookService::CallbackService {
 public:
  PlaybookServiceImpl(PlaybookService& service, ActionWatchHub& watch, ThreadPool& pool)
      : service_(service), watch_(watch), pool_(pool) {}

#define STEWARD_PLAYBOOK_UNARY(Method)                                                                       \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context, const v1::Method##Request* request, \
                                   v1::Method##Response* response) override;
  STEWARD_PLAYBOOK_UNARY(ListPlaybooks)
  STEWARD_PLAYBOOK_UNARY(GetPlaybook)
  STEWARD_PLAYBOOK_UNARY(EnrollAccount)
  STEWARD_PLAYBOOK_UNARY(PauseEnrollment)
  STEWARD_PLAYBOOK_UNARY(ResumeEnrollment)
  STEWARD_PLAYBOOK_UNARY(CancelEnrollment)
  STEWARD_PLAYBOOK_UNARY(GetEnrollment)
  STEWARD_PLAYBOOK_UNARY(ListEnrollments)
  STEWARD_PLAYBOOK_UNARY(GetAccountTimeline)
  STEWARD_PLAYBOOK_UNARY(GetPlaybookStats)
  STEWARD_PLAYBOOK_UNARY(PreviewPlaybook)
  STEWARD_PLAYBOOK_UNARY(RecordActionOutcome)
  STEWARD_PLAYBOOK_UNARY(CompleteAction)
#undef STEWARD_PLAYBOOK_UNARY

  grpc::ServerWriteReactor<v1::WatchActionsResponse>* WatchActions(
      grpc::CallbackServerContext* context, const v1::WatchActionsRequest* request) override {
    return watch_.Watch(context, request);
  }

 private:
  PlaybookService& service_;
  ActionWatchHub& watch_;
  ThreadPool& pool_;
};

}  // namespace steward::playbooks
