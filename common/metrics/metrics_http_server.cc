#include "common/metrics/metrics_http_server.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace steward::metrics {
namespace {

constexpr absl::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";
// A scrape is one small request every few seconds: two threads are plenty (cpp-httplib's default
// would start one per core).
constexpr size_t kThreads = 2;

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(const std::string& address,
                                                                            const MetricsRegistry& registry) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address \"", address, "\": expected HOST:PORT"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";

  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  server->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->http_;
  http.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  http.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.Render(), std::string(kContentType));
  });
  // Unmatched paths get cpp-httplib's 404; an empty body is enough.
  if (port == 0) {
    server->port_ = http.bind_to_any_port(host);
    if (server->port_ <= 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  } else {
    if (!http.bind_to_port(host, port))
      return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
    server->port_ = port;
  }
  server->thread_ = std::thread([&http] { http.listen_after_bind(); });
  // stop() is a no-op until the listening loop has begun, so Start returns only once it has (the loop
  // sets the flag first thing; this waits microseconds).
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!http.is_running() && absl::Now() < give_up) absl::SleepFor(absl::Microseconds(100));
  if (!http.is_running()) {
    server->Stop();
    return absl::UnavailableError(absl::StrCat("metrics server on ", address, " did not start"));
  }
  return server;
}

void MetricsHttpServer::Stop() {
  if (http_ == nullptr) return;
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

}  // namespace steward::metrics
