#include "server/steward_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/metrics/grpc_metrics.h"
#include "server/upsell_hand_off.h"
#include "grpc/health/v1/health.pb.h"

namespace steward {

absl::StatusOr<std::unique_ptr<StewardServer>> StewardServer::Start(const ServerConfig& config, Store& store,
                                                                    const Clock& clock,
                                                                    scoring::ModelSet models) {
  for (const std::string& name : config.services) {
    if (name != kScoringServiceName && name != kSegmentationServiceName && name != kUpsellServiceName &&
        name != kPlaybookServiceName) {
      return absl::InvalidArgumentError(
          absl::StrCat("services: unknown service \"", name, "\"; known: ", kScoringServiceName, ", ",
                       kSegmentationServiceName, ", ", kUpsellServiceName, ", ", kPlaybookServiceName));
    }
  }
  auto hosts = [&](absl::string_view name) {
    return std::find(config.services.begin(), config.services.end(), name) != config.services.end();
  };
  const bool host_scoring = hosts(kScoringServiceName);
  const bool host_segmentation = hosts(kSegmentationServiceName);
  const bool host_upsell = hosts(kUpsellServiceName);
  const bool host_playbooks = hosts(kPlaybookServiceName);
  if ((host_segmentation || host_upsell || host_playbooks) && !host_scoring &&
      config.scoring_address.empty()) {
    return absl::InvalidArgumentError(
        "segmentation, upsell and playbooks need the scoring service: host it in this process too, or give "
        "its address");
  }
  if (host_upsell && !host_segmentation && config.segmentation_address.empty()) {
    return absl::InvalidArgumentError(
        "upsell needs the segmentation service: host it in this process too, or give its address");
  }
  // Referencing the health proto's descriptor keeps its generated code linked in, so that reflection
  // can describe grpc.health.v1.Health (gRPC's built-in health service does not register it).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();

  std::unique_ptr<StewardServer> server(new StewardServer());
  server->pool_ = std::make_unique<ThreadPool>(config.worker_threads, config.max_queued_calls);
  server->feed_ = config.feed;
  if (config.manual_clock != nullptr) {
    // AdvanceClock drains the followers, and would wait for a read blocked on a quiet feed: on a
    // manual clock they poll instead.
    server->feed_.wait = absl::ZeroDuration();
    server->feed_.poll_interval = std::min(server->feed_.poll_interval, config.playbook_poll_interval);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address, grpc::InsecureServerCredentials(), &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  scoring::ScoringService::RecordEventsObserver on_recorded;
  if (config.metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(metrics::NewGrpcMetricsInterceptorFactory(*config.metrics));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    metrics::CounterFamily& events = config.metrics->AddCounter(
        "steward_scoring_events_total",
        "Events received by RecordEvents, by result: recorded, duplicate (already recorded), expired "
        "(older than the retention window).",
        {"result"});
    on_recorded = [recorded = &events.WithLabels({"recorded"}), duplicate = &events.WithLabels({"duplicate"}),
                   expired = &events.WithLabels({"expired"})](const v1::RecordEventsResponse& response) {
      recorded->Increment(response.recorded());
      duplicate->Increment(response.duplicates());
      expired->Increment(response.expired());
    };
    server->playbook_metrics_ = std::make_unique<playbooks::PlaybookMetrics>(*config.metrics);
  }
  if (host_scoring) {
    server->scoring_ = std::make_unique<scoring::ScoringService>(
        store, clock, std::move(models), config.scoring_limits, std::move(on_recorded));
    server->scoring_grpc_ = std::make_unique<scoring::ScoringServiceImpl>(*server->scoring_, *server->pool_);
    builder.RegisterService(server->scoring_grpc_.get());
  }
  // The clients of one service for the others: the same code whether the service is in this process (an
  // in-process channel, connected once the server has started) or elsewhere (a network channel).
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(config.max_message_bytes);
  if (host_segmentation || host_upsell || host_playbooks) {
    server->scoring_client_ = std::make_unique<scoring::ScoringClient>(config.scoring_deadline);
    if (!host_scoring) {
      server->scoring_client_->Connect(grpc::CreateCustomChannel(
          config.scoring_address, grpc::InsecureChannelCredentials(), channel_args));
    }
  }
  // Playbooks read segments when segmentation is here or has an address; without it, rules see none.
  const bool playbooks_see_segments = host_segmentation || !config.segmentation_address.empty();
  if (host_upsell || (host_playbooks && playbooks_see_segments)) {
    server->segmentation_client_ =
        std::make_unique<segmentation::SegmentationClient>(config.scoring_deadline);
    if (!host_segmentation) {
      server->segmentation_client_->Connect(grpc::CreateCustomChannel(
          config.segmentation_address, grpc::InsecureChannelCredentials(), channel_args));
    }
  }
  if (host_segmentation) {
    // Segmentation's handlers block on calls to the scoring service, which may be served by this very
    // server: with one shared pool, enough of them would hold every worker while the scoring calls
    // they wait for sit in the queue. Each service gets its own workers.
    server->segmentation_pool_ = std::make_unique<ThreadPool>(config.worker_threads, config.max_queued_calls);

    server->catalog_ =
        std::make_unique<segmentation::SegmentCatalog>(store, clock, config.segmentation_config);
    server->loyalty_ = std::make_unique<segmentation::LoyaltyBook>(store, clock, config.loyalty_config);
    server->history_ = std::make_unique<segmentation::AccountHistoryBook>(
        store);  // Every replica can re-evaluate an account (after a loyalty change); only a maintainer
                 // replica
    // also follows the change feed in the background.
    segmentation::MaintainerOptions maintainer = config.maintainer;
    maintainer.feed = server->feed_;
    server->maintainer_ = std::make_unique<segmentation::MembershipMaintainer>(
        store, clock, *server->scoring_client_, *server->catalog_, *server->loyalty_, *server->history_,
        config.segmentation_config, maintainer);
    server->segmentation_ = std::make_unique<segmentation::SegmentationService>(
        store, clock, *server->scoring_client_, *server->catalog_, *server->loyalty_,
        config.segmentation_config, config.portfolio_targets, server->maintainer_.get());
    server->segmentation_grpc_ = std::make_unique<segmentation::SegmentationServiceImpl>(
        *server->segmentation_, *server->segmentation_pool_);
    builder.RegisterService(server->segmentation_grpc_.get());
  }
  if (host_upsell) {
    // Its own workers too: its handlers block on calls to scoring and segmentation.
    server->upsell_pool_ = std::make_unique<ThreadPool>(config.worker_threads, config.max_queued_calls);
    server->opportunities_ = std::make_unique<upsell::OpportunityBook>(store, clock);
    upsell::UpsellService::HandOff hand_off;
    if (host_playbooks || !config.playbooks_address.empty()) {
      server->playbook_client_ = std::make_unique<playbooks::PlaybookClient>(config.scoring_deadline);
      if (!host_playbooks) {
        server->playbook_client_->Connect(grpc::CreateCustomChannel(
            config.playbooks_address, grpc::InsecureChannelCredentials(), channel_args));
      }
      hand_off = MakeUpsellOfferHandOff(*server->playbook_client_, config.upsell_offer_playbook);
    }
    server->upsell_ = std::make_unique<upsell::UpsellService>(
        clock, *server->scoring_client_, *server->segmentation_client_, *server->opportunities_,
        config.upsell_config, std::move(hand_off));
    server->upsell_grpc_ =
        std::make_unique<upsell::UpsellServiceImpl>(*server->upsell_, *server->upsell_pool_);
    builder.RegisterService(server->upsell_grpc_.get());
    server->upsell_follower_ = std::make_unique<upsell::UpsellFollower>(store, *server->upsell_, server->feed_);
  }
  if (host_playbooks) {
    if (absl::Status s = server->StartPlaybooks(config, store, clock, builder); !s.ok()) return s;
  }
  server->clock_ = &clock;
  server->manual_clock_ = config.manual_clock;
  server->clock_grpc_ = std::make_unique<ClockServiceImpl>(
      clock, config.manual_clock != nullptr,
      [raw = server.get()](absl::Duration by) { return raw->AdvanceClock(by); }, *server->pool_);
  builder.RegisterService(server->clock_grpc_.get());
  // The /metrics endpoint first: a bad address fails the start before anything serves.
  if (config.metrics != nullptr && !config.metrics_listen_address.empty()) {
    auto http = metrics::MetricsHttpServer::Start(config.metrics_listen_address, *config.metrics);
    if (!http.ok()) return http.status();
    server->metrics_http_ = *std::move(http);
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address));
  }
  if (server->scoring_client_ != nullptr && host_scoring) {
    server->scoring_client_->Connect(server->server_->InProcessChannel(channel_args));
  }
  if (server->segmentation_client_ != nullptr && host_segmentation) {
    server->segmentation_client_->Connect(server->server_->InProcessChannel(channel_args));
  }
  if (server->playbook_client_ != nullptr && host_playbooks) {
    server->playbook_client_->Connect(server->server_->InProcessChannel(channel_args));
  }
  if (server->maintainer_ != nullptr && config.run_maintainer) server->maintainer_->Start();
  if (server->upsell_follower_ != nullptr && config.run_upsell_follower) server->upsell_follower_->Start();
  if (server->playbook_follower_ != nullptr && config.run_playbook_follower)
    server->playbook_follower_->Start();
  if (server->playbook_runner_ != nullptr) server->playbook_runner_->Start();
  if (server->webhook_dispatcher_ != nullptr) server->webhook_dispatcher_->Start();
  if (config.metrics != nullptr) server->AddFeedMetrics(*config.metrics);
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  for (const std::string& name : config.services) health->SetServingStatus(name, true);
  health->SetServingStatus(true);
  Log(LogLevel::kInfo, "server_started",
      {{"listen", config.listen_address},
       {"port", absl::StrCat(server->port_)},
       {"services", absl::StrJoin(config.services, ",")},
       {"workers", absl::StrCat(config.worker_threads)},
       {"metrics_port", absl::StrCat(server->metrics_port())}});
  return server;
}

void StewardServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  // A start that failed half-way has no gRPC server; its parts clean up after themselves.
  if (server_ == nullptr) return;
  Log(LogLevel::kInfo, "server_draining", {{"grace", absl::FormatDuration(grace)}});
  // NOT_SERVING everywhere first: Kubernetes' readiness probe and clients' health watches see it
  // while in-flight calls still finish.
  server_->GetHealthCheckService()->Shutdown();
  // The maintainer calls the scoring service, which may be in this server: it stops first.
  if (maintainer_ != nullptr) maintainer_->Stop();
  if (upsell_follower_ != nullptr) upsell_follower_->Stop();
  if (playbook_follower_ != nullptr) playbook_follower_->Stop();
  if (playbook_runner_ != nullptr) playbook_runner_->Stop();
  if (webhook_dispatcher_ != nullptr) webhook_dispatcher_->Stop();
  // Open WatchActions streams end first (UNAVAILABLE: reconnect with the last cursor), or the server's
  // shutdown would wait for them until the grace runs out.
  if (action_watch_ != nullptr) action_watch_->Shutdown();
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
  server_->Shutdown(deadline);
  server_->Wait();
  // Scrapes keep working while the server drains; the endpoint goes last.
  if (metrics_http_ != nullptr) metrics_http_->Stop();
  Log(LogLevel::kInfo, "server_stopped");
}

StewardServer::~StewardServer() {
  Shutdown(absl::ZeroDuration());
  // The pool is destroyed after the server: reactors still queued there finish first.
}

absl::Status StewardServer::StartPlaybooks(const ServerConfig& config, Store& store, const Clock& clock,
                                           grpc::ServerBuilder& builder) {
  // Its own workers: its handlers block on calls to scoring and segmentation.
  playbook_pool_ = std::make_unique<ThreadPool>(config.worker_threads, config.max_queued_calls);
  account_facts_ =
      std::make_unique<playbooks::ServiceAccountFacts>(*scoring_client_, segmentation_client_.get());
  auto registry = playbooks::PlaybookRegistry::Create(store, config.playbooks);
  if (!registry.ok()) return registry.status();
  playbook_registry_ = *std::move(registry);
  if (absl::Status s = playbook_registry_->Publish(); !s.ok()) return s;
  playbook_engine_ = std::make_unique<playbooks::PlaybookEngine>(
      store, clock, *playbook_registry_, *account_facts_, config.playbook_engine, playbook_metrics_.get());
  playbook_service_ =
      std::make_unique<playbooks::PlaybookService>(store, clock, *playbook_engine_, *account_facts_);
  action_watch_ = std::make_unique<playbooks::ActionWatchHub>(store, config.playbook_poll_interval);
  playbook_grpc_ =
      std::make_unique<playbooks::PlaybookServiceImpl>(*playbook_service_, *action_watch_, *playbook_pool_);
  builder.RegisterService(playbook_grpc_.get());
  playbook_follower_ = std::make_unique<playbooks::PlaybookFollower>(
      store, *playbook_engine_, feed_, /*follow_membership=*/segmentation_client_ != nullptr);
  // On a manual clock, AdvanceClock runs due steps at their own times; a background runner would run
  // them at whatever time the clock shows when it gets to them.
  if (config.run_playbook_runner && config.manual_clock == nullptr) {
    playbook_runner_ = std::make_unique<playbooks::PlaybookRunner>(
        *playbook_engine_, config.playbook_runner_threads, config.playbook_runner_batch,
        config.playbook_poll_interval);
  }
  if (config.run_webhook_dispatcher) {
    webhook_sender_ = std::make_unique<playbooks::WebhookSender>(
        config.webhook, [](absl::Duration d) { absl::SleepFor(d); }, [&clock] { return clock.Now(); });
    webhook_dispatcher_ = std::make_unique<playbooks::WebhookDispatcher>(
        store, *playbook_engine_, *webhook_sender_, config.playbook_poll_interval, playbook_metrics_.get());
  }
  return absl::OkStatus();
}

std::vector<const GroupConsumer*> StewardServer::FeedConsumers() const {
  std::vector<const GroupConsumer*> out;
  if (maintainer_ != nullptr) out.push_back(&maintainer_->consumer());
  if (upsell_follower_ != nullptr) {
    for (const GroupConsumer* c : upsell_follower_->consumers()) out.push_back(c);
  }
  if (playbook_follower_ != nullptr) {
    for (const GroupConsumer* c : playbook_follower_->consumers()) out.push_back(c);
  }
  return out;
}

void StewardServer::AddFeedMetrics(metrics::MetricsRegistry& registry) {
  metrics::GaugeFamily& lag = registry.AddGauge(
      "steward_stream_consumer_lag", "Entries of a stream not yet delivered to this consumer group.",
      {"stream", "group"});
  metrics::GaugeFamily& pending = registry.AddGauge(
      "steward_stream_consumer_pending",
      "Entries of a stream delivered to this consumer group and not acknowledged yet.", {"stream", "group"});
  for (const GroupConsumer* consumer : FeedConsumers()) {
    const GroupConsumer::Options& o = consumer->options();
    lag.WithLabels({o.log, o.group}).SetCallback([consumer] {
      return static_cast<double>(consumer->LastInfo().lag);
    });
    pending.WithLabels({o.log, o.group}).SetCallback([consumer] {
      return static_cast<double>(consumer->LastInfo().pending);
    });
  }
}

absl::Status StewardServer::DrainFeeds() {
  if (maintainer_ != nullptr) {
    if (absl::Status s = maintainer_->Drain(); !s.ok()) return s;
  }
  if (upsell_follower_ != nullptr) {
    if (absl::Status s = upsell_follower_->Drain(); !s.ok()) return s;
  }
  if (playbook_follower_ != nullptr) return playbook_follower_->Drain();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> StewardServer::AdvanceClock(absl::Duration by) {
  if (manual_clock_ == nullptr)
    return absl::FailedPreconditionError("the server does not run on a manual clock");
  absl::MutexLock lock(&advance_mu_);
  const absl::Time target = manual_clock_->Now() + by;
  int64_t steps = 0;
  if (playbook_engine_ == nullptr) {
    if (absl::Status s = manual_clock_->MoveTo(target); !s.ok()) return s;
    return steps;
  }
  // Changes recorded before the call count from before time moves (an event that ends a wait), and so
  // do their consequences in this process (segments entered, opportunities handed over).
  if (absl::Status s = DrainFeeds(); !s.ok()) return s;
  for (;;) {
    auto ran = playbook_engine_->RunDue(1000);
    if (!ran.ok()) return ran.status();
    steps += *ran;
    if (*ran > 0) continue;
    auto next = playbook_engine_->NextDue();
    if (!next.ok()) return next.status();
    if (!next->has_value() || **next > target) break;
    if (absl::Status s = manual_clock_->MoveTo(std::max(manual_clock_->Now(), **next)); !s.ok()) return s;
  }
  if (absl::Status s = manual_clock_->MoveTo(target); !s.ok()) return s;
  return steps;
}

}  // namespace steward
