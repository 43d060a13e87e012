#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

// A client context with a deadline, so that no call of a test can hang.
inline std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline = absl::Seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  return context;
}

// Background work (a maintainer, a follower, another process) runs on its own schedule: waits, in real
// time and at most `timeout`, until `condition` holds; returns whether it did.
inline bool Eventually(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return condition();
}

}  // namespace steward::testing
