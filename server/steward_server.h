#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics/metrics_http_server.h"
#include "common/metrics/metrics_registry.h"
#include "common/store/store.h"
#include "common/thread_pool.h"
#include "server/clock_service.h"
#include "services/playbooks/action_watch.h"
#include "services/playbooks/delivery/webhook_sender.h"
#include "services/playbooks/engine/account_facts.h"
#include "services/playbooks/engine/playbook_engine.h"
#include "services/playbooks/engine/playbook_registry.h"
#include "services/playbooks/playbook_client.h"
#include "services/playbooks/playbook_follower.h"
#include "services/playbooks/playbook_grpc_service.h"
#include "services/playbooks/playbook_metrics.h"
#include "services/playbooks/playbook_runner.h"
#include "services/playbooks/playbook_service.h"
#include "services/playbooks/webhook_dispatcher.h"
#include "services/scoring/model/model_config.h"
#include "services/scoring/scoring_client.h"
#include "services/scoring/scoring_grpc_service.h"
#include "services/scoring/scoring_service.h"
#include "services/segmentation/loyalty/loyalty_book.h"
#include "services/segmentation/membership.h"
#include "services/segmentation/segment_catalog.h"
#include "services/segmentation/segmentation_client.h"
#include "services/segmentation/segmentation_grpc_service.h"
#include "services/segmentation/segmentation_service.h"
#include "services/upsell/opportunity_book.h"
#include "services/upsell/upsell_follower.h"
#include "services/upsell/upsell_grpc_service.h"
#include "services/upsell/upsell_service.h"

namespace steward {

// The services one steward process can host.
inline constexpr absl::string_view kScoringServiceName = "steward.v1.ScoringService";
inline constexpr absl::string_view kSegmentationServiceName = "steward.v1.SegmentationService";
inline constexpr absl::string_view kUpsellServiceName = "steward.v1.UpsellService";
inline constexpr absl::string_view kPlaybookServiceName = "steward.v1.PlaybookService";

// Everything a steward server needs, read once from flags in main() (or built by a test).
struct ServerConfig {
  std::string listen_address = "127.0.0.1:0";
  // Fully-qualified names of the services to host; see kScoringServiceName.
  std::vector<std::string> services = {std::string(kScoringServiceName)};
  // Worker threads running blocking work (store round trips), per hosted service.
  int worker_threads = 16;
  // Calls waiting for a worker beyond this many are refused with RESOURCE_EXHAUSTED.
  int max_queued_calls = 10000;
  // Largest request or response message, both ways.
  int max_message_bytes = 4 * 1024 * 1024;
  scoring::ScoringLimits scoring_limits;

  // Segmentation: its configuration, where it finds the scoring service when this process does not
  // host it ("host:port"; empty: in-process), the deadline of those calls, and its maintainer.
  v1::SegmentationConfig segmentation_config;
  v1::LoyaltyConfig loyalty_config;
  v1::PortfolioTargets portfolio_targets;
  std::string scoring_address;
  absl::Duration scoring_deadline = absl::Seconds(10);
  // Upsell: its triggers, and where it finds the segmentation service when this process does not host
  // it ("host:port"; empty: in-process). Calls to it use scoring_deadline.
  v1::UpsellConfig upsell_config;
  std::string segmentation_address;
  // Whether this process evaluates upsell triggers as accounts change (UpsellFollower).
  bool run_upsell_follower = true;
  // Where upsell hands the opportunities it opens over to be presented: the playbook service at
  // `playbooks_address` ("host:port"), or in-process when this process hosts playbooks; empty address
  // and no playbooks here: not handed over. `upsell_offer_playbook` is the playbook they enrol in.
  std::string playbooks_address;
  std::string upsell_offer_playbook = "upsell-offer";
  // Whether this process keeps membership current (MembershipMaintainer); read-only replicas do not.
  bool run_maintainer = true;
  segmentation::MaintainerOptions maintainer;

  // Playbooks: the definitions (playbooks/, validated), the engine's settings (frequency caps), and
  // which background work this process does: following account changes (triggers, exits), running due
  // steps (threads, claims per round trip), posting webhooks.
  std::vector<v1::Playbook> playbooks;
  v1::PlaybookEngineConfig playbook_engine;
  bool run_playbook_follower = true;
  bool run_playbook_runner = true;
  int playbook_runner_threads = 2;
  int playbook_runner_batch = 256;
  absl::Duration playbook_poll_interval = absl::Milliseconds(100);
  bool run_webhook_dispatcher = true;
  playbooks::WebhookOptions webhook;
  // Metrics (optional; owned by the caller, outliving the server): when set, every gRPC call, playbook
  // step, action, enrolment, webhook and recorded event is counted in it (the store is measured by
  // wrapping it in a metrics::MeteredStore before Start), and with `metrics_listen_address` ("HOST:PORT",
  // port 0: any free port; empty: none) it is served as GET /metrics in the Prometheus text format.
  metrics::MetricsRegistry* metrics = nullptr;
  std::string metrics_listen_address;

  // Set when the server runs on a manual clock (the clock passed to Start): ClockService.AdvanceClock
  // moves it, and due steps run from AdvanceClock rather than the background runner.
  ManualClock* manual_clock = nullptr;

  // How this process follows the other services' feeds (the account-changes and membership-events
  // streams) as a member of each consumer group: its consumer name and how long a read waits.
  // Copied into maintainer.feed at start.
  FeedSettings feed;
};

// A running steward gRPC server: the hosted services, server reflection and the standard health
// service (one status per hosted service, plus the overall "" entry). Built by the composition root
// (server/main.cc) or by a test, which both own the store, clock and models it borrows.
class StewardServer {
 public:
  static absl::StatusOr<std::unique_ptr<StewardServer>> Start(const ServerConfig& config, Store& store,
                                                              const Clock& clock, scoring::ModelSet models);
  ~StewardServer();

  // The port the server listens on (useful with port 0).
  int port() const { return port_; }
  // The port of the /metrics endpoint; 0 when there is none.
  int metrics_port() const { return metrics_http_ != nullptr ? metrics_http_->port() : 0; }

  // Graceful stop: every health status turns NOT_SERVING first (so load balancers stop sending),
  // then in-flight calls get up to `grace` to finish before the rest are cancelled.
  void Shutdown(absl::Duration grace);

  // The hosted domain services, for in-process wiring and background jobs.
  scoring::ScoringService* scoring() const { return scoring_.get(); }
  playbooks::PlaybookEngine* playbook_engine() const { return playbook_engine_.get(); }

  // Moves the manual clock forward by `by`, running on the way, each at its own time, every playbook
  // step that falls due (after applying the account changes already recorded). Returns the steps run.
  // FAILED_PRECONDITION without a manual clock.
  absl::StatusOr<int64_t> AdvanceClock(absl::Duration by);
  segmentation::MembershipMaintainer* maintainer() const { return maintainer_.get(); }

 private:
  // Handles everything the feeds hold now in every follower this process runs (segmentation, upsell,
  // playbooks, in that order), without waiting: AdvanceClock does, before moving time.
  absl::Status DrainFeeds();
  // How the followers follow their feeds (ServerConfig::feed, adjusted for a manual clock).
  FeedSettings feed_;
  // Every consumer group member of this process's followers, and gauges of their lag and pending
  // entries (steward_stream_consumer_lag / _pending by stream and group).
  std::vector<const GroupConsumer*> FeedConsumers() const;
  void AddFeedMetrics(metrics::MetricsRegistry& registry);
  StewardServer() = default;
  // Builds and registers the playbook service and its background workers.
  absl::Status StartPlaybooks(const ServerConfig& config, Store& store, const Clock& clock,
                              grpc::ServerBuilder& builder);

  // Metrics: what the playbook engine and webhook dispatcher report to, and the /metrics endpoint.
  std::unique_ptr<playbooks::PlaybookMetrics> playbook_metrics_;
  std::unique_ptr<metrics::MetricsHttpServer> metrics_http_;
  // Workers of the scoring service, and of the segmentation service (see Start for why they differ).
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ThreadPool> segmentation_pool_;
  std::unique_ptr<ThreadPool> upsell_pool_;
  std::unique_ptr<scoring::ScoringService> scoring_;
  std::unique_ptr<scoring::ScoringServiceImpl> scoring_grpc_;
  // Segmentation, in the order it is built (and the reverse of its teardown).
  std::unique_ptr<scoring::ScoringClient> scoring_client_;
  std::unique_ptr<segmentation::SegmentCatalog> catalog_;
  std::unique_ptr<segmentation::LoyaltyBook> loyalty_;
  std::unique_ptr<segmentation::AccountHistoryBook> history_;
  std::unique_ptr<segmentation::MembershipMaintainer> maintainer_;
  std::unique_ptr<segmentation::SegmentationService> segmentation_;
  std::unique_ptr<segmentation::SegmentationServiceImpl> segmentation_grpc_;
  // Upsell.
  std::unique_ptr<segmentation::SegmentationClient> segmentation_client_;
  std::unique_ptr<playbooks::PlaybookClient> playbook_client_;  // upsell's hand-off
  std::unique_ptr<upsell::OpportunityBook> opportunities_;
  std::unique_ptr<upsell::UpsellService> upsell_;
  std::unique_ptr<upsell::UpsellServiceImpl> upsell_grpc_;
  std::unique_ptr<upsell::UpsellFollower> upsell_follower_;
  // Playbooks.
  std::unique_ptr<ThreadPool> playbook_pool_;
  std::unique_ptr<playbooks::ServiceAccountFacts> account_facts_;
  std::unique_ptr<playbooks::PlaybookRegistry> playbook_registry_;
  std::unique_ptr<playbooks::PlaybookEngine> playbook_engine_;
  std::unique_ptr<playbooks::PlaybookService> playbook_service_;
  std::unique_ptr<playbooks::ActionWatchHub> action_watch_;
  std::unique_ptr<playbooks::PlaybookServiceImpl> playbook_grpc_;
  std::unique_ptr<playbooks::PlaybookFollower> playbook_follower_;
  std::unique_ptr<playbooks::PlaybookRunner> playbook_runner_;
  std::unique_ptr<playbooks::WebhookSender> webhook_sender_;
  std::unique_ptr<playbooks::WebhookDispatcher> webhook_dispatcher_;
  // The clock, read by ClockService and moved by AdvanceClock.
  const Clock* clock_ = nullptr;
  ManualClock* manual_clock_ = nullptr;
  absl::Mutex advance_mu_;
  std::unique_ptr<ClockServiceImpl> clock_grpc_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace steward
