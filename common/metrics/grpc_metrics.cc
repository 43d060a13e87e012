#include "common/metrics/grpc_metrics.h"

#include <grpcpp/support/interceptor.h>

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace steward::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

struct GrpcFamilies {
  explicit GrpcFamilies(MetricsRegistry& registry)
      : requests(registry.AddCounter("steward_grpc_server_requests_total",
                                     "gRPC calls handled by the server, by full method name.", {"method"})),
        errors(registry.AddCounter(
            "steward_grpc_server_errors_total",
            "gRPC calls that finished with a status other than OK, by method and code.", {"method", "code"})),
        latency(registry.AddHistogram("steward_grpc_server_handling_seconds",
                                      "Time from a gRPC call's start to its status, by method.", {"method"},
                                      {std::begin(kLatencyBuckets), std::end(kLatencyBuckets)})) {}
  CounterFamily& requests;
  CounterFamily& errors;
  HistogramFamily& latency;
};

class GrpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  GrpcMetricsInterceptor(GrpcFamilies& families, const char* method)
      : families_(families), method_(method != nullptr ? method : ""), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      start_ = absl::Now();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
      families_.requests.WithLabels({method_}).Increment();
      families_.latency.WithLabels({method_}).Observe(seconds);
      if (!status.ok()) families_.errors.WithLabels({method_, GrpcCodeName(status.error_code())}).Increment();
    }
    methods->Proceed();
  }

 private:
  GrpcFamilies& families_;
  const std::string method_;
  absl::Time start_;
};

class GrpcMetricsInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(MetricsRegistry& registry) : families_(registry) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new GrpcMetricsInterceptor(families_, info->method());
  }

 private:
  GrpcFamilies families_;
};

}  // namespace

const char* GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewGrpcMetricsInterceptorFactory(
    MetricsRegistry& registry) {
  return std::make_unique<GrpcMetricsInterceptorFactory>(registry);
}

}  // namespace steward::metrics
