#include "services/playbooks/playbook_grpc_service.h"

#include "common/grpc_handler.h"

namespace steward::playbooks {

// Every unary method is the same: run the domain call on the pool.
#define STEWARD_PLAYBOOK_UNARY(Method)                                                                    \
  grpc::ServerUnaryReactor* PlaybookServiceImpl::Method(grpc::CallbackServerContext* context,             \
                                                        const v1::Method##Request* request,               \
                                                        v1::Method##Response* response) {                 \
    return HandleOnPool(context, pool_, response, [this, request] { return service_.Method(*request); }); \
  }
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

}  // namespace steward::playbooks
