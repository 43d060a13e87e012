#include "common/grpc_handler.h"

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/field_error.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace steward {

RequestContext RequestOf(const grpc::ServerContextBase& context) {
  RequestContext request;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(kRequestIdHeader); it != metadata.end()) {
    const absl::string_view id(it->second.data(), it->second.size());
    if (IsUsableRequestId(id)) request.request_id = std::string(id);
  }
  if (request.request_id.empty()) request.request_id = NewRequestId();
  // No deadline reads as the far future; a year out is "none" for every purpose here.
  const absl::Time deadline = absl::FromChrono(context.deadline());
  if (deadline < absl::Now() + absl::Hours(24 * 365)) request.deadline = deadline;
  return request;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  std::optional<std::string> field = ErrorField(status);
  if (!field) return grpc::Status(code, message);

  google::rpc::BadRequest bad_request;
  google::rpc::BadRequest::FieldViolation* violation = bad_request.add_field_violations();
  violation->set_field(*field);
  violation->set_description(message);
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(bad_request);
  return grpc::Status(code, message, details.SerializeAsString());
}

grpc::ByteBuffer SharedBytesToByteBuffer(std::shared_ptr<const std::string> bytes) {
  auto* owner = new std::shared_ptr<const std::string>(std::move(bytes));
  grpc::Slice slice(
      const_cast<char*>((*owner)->data()), (*owner)->size(),
      [](void* user_data) { delete static_cast<std::shared_ptr<const std::string>*>(user_data); }, owner);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace steward
