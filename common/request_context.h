#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace steward {

// The request this thread is working for: its id, which every log line written meanwhile carries and
// every call to another Steward service passes on (metadata "x-request-id"), and its deadline, which
// those calls inherit. Set for the duration of one unit of work by a ScopedRequest: a served RPC (see
// RunOnPool), or a follower's handling of a change that a request caused (AccountChange.request_id).
struct RequestContext {
  std::string request_id;
  std::optional<absl::Time> deadline;  // none: background work with no caller waiting
};

// The metadata key that carries request ids between callers and services (lower case, as gRPC wants).
inline constexpr char kRequestIdHeader[] = "x-request-id";

// The request of this thread, or nullptr outside any.
const RequestContext* CurrentRequest();

// Makes `context` the current request of this thread until destroyed; restores the previous one (they
// nest). Not movable: it lives on the stack of the work it covers.
class ScopedRequest {
 public:
  explicit ScopedRequest(RequestContext context);
  ~ScopedRequest();
  ScopedRequest(const ScopedRequest&) = delete;
  ScopedRequest& operator=(const ScopedRequest&) = delete;

 private:
  RequestContext context_;
  const RequestContext* previous_;
};

// A caller's request id is kept if it is 1..128 printable ASCII characters without spaces, quotes or
// backslashes (so that it is safe in a log line); otherwise the server makes its own.
bool IsUsableRequestId(absl::string_view id);
// A fresh random id: 16 lower-case hex digits.
std::string NewRequestId();

}  // namespace steward
