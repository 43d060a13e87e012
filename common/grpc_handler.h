#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/request_context.h"
#include "common/thread_pool.h"

namespace steward {

// Converts a domain status to a gRPC status once, at the edge. A FieldError gains a
// google.rpc.BadRequest detail naming the field (grpc-status-details-bin), so generated clients
// can tell which field was wrong without parsing the message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The request an incoming call is: the caller's request id when usable (else a new one) and its
// deadline (none when the caller set none).
RequestContext RequestOf(const grpc::ServerContextBase& context);

// Runs `work` (a callable returning grpc::Status, which fills the response itself) on `pool` for one
// unary callback RPC, never on gRPC's threads, and finishes the reactor from there. A call whose
// deadline has already passed, or that the client cancelled, while it waited for a worker is not
// run; when the pool's queue is full the call is refused at once with RESOURCE_EXHAUSTED (clients
// back off). The work runs as the call's request (common/request_context.h): with the caller's
// "x-request-id" or a new one, echoed in the response's initial metadata, and the call's deadline.
template <typename Work>
grpc::ServerUnaryReactor* RunOnPool(grpc::CallbackServerContext* context, ThreadPool& pool, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = pool.TrySchedule([context, reactor, work = std::move(work)]() mutable {
    ScopedRequest request(RequestOf(*context));
    context->AddInitialMetadata(kRequestIdHeader, CurrentRequest()->request_id);
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
      return;
    }
    if (context->deadline() <= std::chrono::system_clock::now()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before work started"));
      return;
    }
    reactor->Finish(work());
  });
  if (!queued) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server overloaded; retry with backoff"));
  }
  return reactor;
}

// Serves one unary callback RPC whose domain operation `work` returns absl::StatusOr<Response>.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* HandleOnPool(grpc::CallbackServerContext* context, ThreadPool& pool,
                                       Response* response, Work work) {
  return RunOnPool(context, pool, [response, work = std::move(work)]() mutable {
    absl::StatusOr<Response> result = work();
    if (result.ok()) *response = *std::move(result);
    return ToGrpcStatus(result.status());
  });
}

// A byte buffer holding `bytes` without copying them; it keeps `bytes` alive while gRPC sends them.
grpc::ByteBuffer SharedBytesToByteBuffer(std::shared_ptr<const std::string> bytes);

}  // namespace steward
