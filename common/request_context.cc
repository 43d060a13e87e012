#include "common/request_context.h"

#include <random>

#include "absl/strings/str_format.h"

namespace steward {
namespace {

thread_local const RequestContext* current_request = nullptr;

}  // namespace

const RequestContext* CurrentRequest() { return current_request; }

ScopedRequest::ScopedRequest(RequestContext context)
    : context_(std::move(context)), previous_(current_request) {
  current_request = &context_;
}

ScopedRequest::~ScopedRequest() { current_request = previous_; }

bool IsUsableRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~' || c == '"' || c == '\\') return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("%016x", random());
}

}  // namespace steward
