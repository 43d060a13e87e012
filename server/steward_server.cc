#include "server/steward_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "grpc/health/v1/health.pb.h"

namespace steward {

absl::StatusOr<std::unique_ptr<StewardServer>> StewardServer::Start(const ServerConfig& config, Store& store,
                                                                    const Clock& clock,
                                                                    scoring::ModelSet models) {
  for (const std::string& name : config.services) {
    if (name != kScoringServiceName) {
      return absl::InvalidArgumentError(
          absl::StrCat("services: unknown service \"", name, "\"; known: ", kScoringServiceName));
    }
  }
  // Referencing the health proto's descriptor keeps its generated code linked in, so that reflection
  // can describe grpc.health.v1.Health (gRPC's built-in health service does not register it).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();

  std::unique_ptr<StewardServer> server(new StewardServer());
  server->pool_ = std::make_unique<ThreadPool>(config.worker_threads, config.max_queued_calls);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address, grpc::InsecureServerCredentials(), &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  const bool host_scoring =
      std::find(config.services.begin(), config.services.end(), kScoringServiceName) != config.services.end();
  if (host_scoring) {
    server->scoring_ =
        std::make_unique<scoring::ScoringService>(store, clock, std::move(models), config.scoring_limits);
    server->scoring_grpc_ = std::make_unique<scoring::ScoringServiceImpl>(*server->scoring_, *server->pool_);
    builder.RegisterService(server->scoring_grpc_.get());
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address));
  }
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  for (const std::string& name : config.services) health->SetServingStatus(name, true);
  health->SetServingStatus(true);
  Log(LogLevel::kInfo, "server_started",
      {{"listen", config.listen_address},
       {"port", absl::StrCat(server->port_)},
       {"services", absl::StrJoin(config.services, ",")},
       {"workers", absl::StrCat(config.worker_threads)}});
  return server;
}

void StewardServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  Log(LogLevel::kInfo, "server_draining", {{"grace", absl::FormatDuration(grace)}});
  // NOT_SERVING everywhere first: Kubernetes' readiness probe and clients' health watches see it
  // while in-flight calls still finish.
  server_->GetHealthCheckService()->Shutdown();
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
  server_->Shutdown(deadline);
  server_->Wait();
  Log(LogLevel::kInfo, "server_stopped");
}

StewardServer::~StewardServer() {
  Shutdown(absl::ZeroDuration());
  // The pool is destroyed after the server: reactors still queued there finish first.
}

}  // namespace steward
