#pragma once

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/request_context.h"

namespace steward {

// The shared part of one Steward service's client for the others: blocking unary calls over a gRPC
// channel, each with a deadline. The channel is in-process when both services run in one steward
// process and a network channel otherwise; the calling code is the same either way. It may be given
// after construction (Connect), because a server's in-process channel exists only once it has started;
// until then calls answer UNAVAILABLE. Calls wait for an unreachable peer up to their deadline, which is
// the client's own or the deadline of the request being served, whichever comes first; they pass the
// request's id on. A missed
// deadline, an unreachable or overloaded peer are
// UNAVAILABLE naming the service (the caller may retry); other errors keep the peer's code. Thread-safe.
template <typename Service>
class ServiceClient {
 public:
  ServiceClient(std::string peer, absl::Duration deadline) : peer_(std::move(peer)), deadline_(deadline) {}

  void Connect(std::shared_ptr<grpc::Channel> channel) {
    std::shared_ptr<typename Service::Stub> stub = Service::NewStub(std::move(channel));
    absl::MutexLock lock(&mu_);
    stub_ = std::move(stub);
  }

 protected:
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(absl::string_view name, Method method, const Request& request) const {
    std::shared_ptr<typename Service::Stub> stub;
    {
      absl::MutexLock lock(&mu_);
      stub = stub_;
    }
    if (stub == nullptr) return absl::UnavailableError(absl::StrCat(peer_, ": not connected yet"));
    grpc::ClientContext context;
    // The call inherits the request it serves: its id, and its deadline when that comes sooner.
    absl::Time deadline = absl::Now() + deadline_;
    if (const RequestContext* current = CurrentRequest(); current != nullptr) {
      context.AddMetadata(kRequestIdHeader, current->request_id);
      if (current->deadline.has_value()) deadline = std::min(deadline, *current->deadline);
    }
    context.set_deadline(absl::ToChronoTime(deadline));
    // A peer being restarted (a rolling update, a crashed pod) is waited for within the deadline rather
    // than failed at once while the channel backs off between reconnection attempts.
    context.set_wait_for_ready(true);
    Response response;
    const grpc::Status status = ((*stub).*method)(&context, request, &response);
    if (status.ok()) return response;
    switch (status.error_code()) {
      case grpc::StatusCode::DEADLINE_EXCEEDED:
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return absl::UnavailableError(absl::StrCat(peer_, ": ", name, " failed: ", status.error_message()));
      default:
        return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                            absl::StrCat(peer_, ": ", status.error_message()));
    }
  }

 private:
  const std::string peer_;
  const absl::Duration deadline_;
  mutable absl::Mutex mu_;
  std::shared_ptr<typename Service::Stub> stub_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward
