#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/thread_pool.h"

namespace steward {

// Converts a domain status to a gRPC status once, at the edge. A FieldError gains a
// google.rpc.BadRequest detail naming the field (grpc-status-details-bin), so generated clients
// can tell which field was wrong without parsing the message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Serves one unary callback RPC: `work` (a callable returning absl::StatusOr<Response>) runs on
// `pool`, never on gRPC's threads, and the reactor finishes from there. A call whose deadline has
// already passed, or that the client cancelled, while it waited for a worker is not run; when the
// pool's queue is full the call is refused at once with RESOURCE_EXHAUSTED (clients back off).
template <typename Response, typename Work>
grpc::ServerUnaryReactor* HandleOnPool(grpc::CallbackServerContext* context, ThreadPool& pool,
                                       Response* response, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = pool.TrySchedule([context, reactor, response, work = std::move(work)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
      return;
    }
    if (context->deadline() <= std::chrono::system_clock::now()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before work started"));
      return;
    }
    absl::StatusOr<Response> result = work();
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  });
  if (!queued) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server overloaded; retry with backoff"));
  }
  return reactor;
}

// Like HandleOnPool, but first tries `fast` (a callable returning std::optional<absl::Status>, which
// fills the response itself when it answers OK) on gRPC's thread: it must not block (no I/O, no
// waiting), and when it has an answer the call finishes at once without a hop to the pool.
template <typename Response, typename Fast, typename Work>
grpc::ServerUnaryReactor* HandleFastOrOnPool(grpc::CallbackServerContext* context, ThreadPool& pool,
                                             Response* response, Fast fast, Work work) {
  if (std::optional<absl::Status> answer = fast(); answer.has_value()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(*answer));
    return reactor;
  }
  return HandleOnPool(context, pool, response, std::move(work));
}

}  // namespace steward
