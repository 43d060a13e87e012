#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/metrics/metrics_registry.h"

namespace httplib {
class Server;
}

namespace steward::metrics {

// Serves GET /metrics (the registry in the Prometheus text format, text/plain; version=0.0.4) on its
// own address and thread, with cpp-httplib; every other path is 404. Separate from the gRPC port so
// that scraping needs no gRPC and can be firewalled on its own.
class MetricsHttpServer {
 public:
  // Listens on `address`, "HOST:PORT" (port 0: any free port; an IPv6 host in brackets) and serves
  // `registry`, which must outlive the server. UNAVAILABLE when it cannot listen, INVALID_ARGUMENT for a
  // malformed address.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                                  const MetricsRegistry& registry);
  ~MetricsHttpServer();

  // The port it listens on (useful with port 0).
  int port() const { return port_; }

  // Stops serving and joins the thread. Idempotent.
  void Stop();

 private:
  MetricsHttpServer() = default;

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace steward::metrics
