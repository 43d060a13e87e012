#include "server/clock_service.h"

#include "common/field_error.h"
#include "common/grpc_handler.h"
#include "common/proto_time.h"

namespace steward {
namespace {

constexpr absl::Duration kMaxAdvance = absl::Hours(24 * 400);

}  // namespace

grpc::ServerUnaryReactor* ClockServiceImpl::GetTime(grpc::CallbackServerContext* context,
                                                    const v1::GetTimeRequest*,
                                                    v1::GetTimeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  *response->mutable_now() = ToProtoTime(clock_.Now());
  response->set_manual(manual_);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ClockServiceImpl::AdvanceClock(grpc::CallbackServerContext* context,
                                                         const v1::AdvanceClockRequest* request,
                                                         v1::AdvanceClockResponse* response) {
  return HandleOnPool(
      context, pool_, response, [this, request]() -> absl::StatusOr<v1::AdvanceClockResponse> {
        if (!manual_) {
          return absl::FailedPreconditionError(
              "the server runs on the wall clock; start it with --manual_clock to move time by RPC");
        }
        const absl::Duration by =
            absl::Seconds(request->by().seconds()) + absl::Nanoseconds(request->by().nanos());
        if (by <= absl::ZeroDuration()) return FieldError("by", "must be positive");
        if (by > kMaxAdvance) return FieldError("by", "must be at most 400 days");
        auto steps = advance_(by);
        if (!steps.ok()) return steps.status();
        v1::AdvanceClockResponse out;
        *out.mutable_now() = ToProtoTime(clock_.Now());
        out.set_steps_run(*steps);
        return out;
      });
}

}  // namespace steward
