#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

// Small helpers shared by the tests that drive the API over gRPC.
namespace steward::testing {

// The shipped configuration directory (ctest sets STEWARD_SOURCE_DIR).
inline std::string ConfigDir() { return absl::StrCat(std::getenv("STEWARD_SOURCE_DIR"), "/config"); }

inline google::protobuf::Timestamp At(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

// The field a gRPC error's google.rpc.BadRequest detail names, or "" when it has none.
inline std::string BadRequestField(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details()) || details.details_size() == 0) return "";
  google::rpc::BadRequest bad_request;
  if (!details.details(0).UnpackTo(&bad_request) || bad_request.field_violations_size() == 0) return "";
  return bad_request.field_violations(0).field();
}

}  // namespace steward::testing
