#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "common/metrics/metrics_registry.h"

namespace steward::metrics {

// A server interceptor factory that measures every gRPC call the server handles, per full method name
// ("/steward.v1.ScoringService/UpsertAccount"):
//   steward_grpc_server_requests_total{method}          calls finished (any status)
//   steward_grpc_server_errors_total{method,code}       calls finished with a status other than OK,
//                                                       code as its name (INVALID_ARGUMENT)
//   steward_grpc_server_handling_seconds{method}        time from the call's start to its status
// Works for callback, sync and async services alike (the hooks are POST_RECV_INITIAL_METADATA and
// PRE_SEND_STATUS). Register with ServerBuilder::experimental().SetInterceptorCreators. `registry` must
// outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewGrpcMetricsInterceptorFactory(
    MetricsRegistry& registry);

// The name of a gRPC status code, as in the gRPC spec ("OK", "INVALID_ARGUMENT").
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace steward::metrics
