// The composition root of steward: flags are read here once, turned into typed configuration, and
// every component is built and wired here (STYLE: "only components should know about components").

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/metrics/metered_store.h"
#include "common/metrics/metrics_registry.h"
#include "common/store/memory_store.h"
#include "common/store/redis_store.h"
#include "common/store/stored_clock.h"
#include "server/demo_data.h"
#include "server/fit_command.h"
#include "server/steward_server.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/playbooks/engine/engine_config.h"
#include "services/scoring/model/model_config.h"
#include "services/segmentation/builtin/segmentation_config.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "services/segmentation/metrics/portfolio_config.h"
#include "services/upsell/upsell_config.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "Address to serve gRPC on, HOST:PORT.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Address to serve Prometheus metrics on (GET /metrics, text format), HOST:PORT; empty disables "
          "metrics altogether.");
ABSL_FLAG(std::string, services, "all",
          "Services to host: 'all' or a comma-separated list of 'scoring', 'segmentation', 'upsell', "
          "'playbooks' or full service names.");
ABSL_FLAG(std::string, scoring_address, "",
          "HOST:PORT of the scoring service, for a segmentation-only process; empty when this process "
          "hosts scoring (then the two talk over an in-process channel).");
ABSL_FLAG(absl::Duration, scoring_deadline, absl::Seconds(10),
          "Deadline of each call to another Steward service (scoring, segmentation).");
ABSL_FLAG(bool, upsell_follower, true,
          "Evaluate upsell triggers in this process as accounts change (follow the change feed); turn off "
          "on replicas that only answer.");
ABSL_FLAG(std::string, segmentation_address, "",
          "HOST:PORT of the segmentation service, for an upsell process that does not host it; empty when "
          "this process hosts segmentation.");
ABSL_FLAG(std::string, playbooks_address, "",
          "HOST:PORT of the playbook service, for an upsell process that does not host it: the opportunities "
          "upsell opens are handed over to its upsell-offer playbook. Empty when this process hosts "
          "playbooks (or to hand nothing over).");
ABSL_FLAG(bool, segment_maintainer, true,
          "Keep segment membership current in this process (follow the change feed, rebuild on segment "
          "changes); turn off on read-only replicas.");
ABSL_FLAG(absl::Duration, segment_poll_interval, absl::Milliseconds(200),
          "How often the segment maintainer polls the change feed when idle and --feed_wait is 0.");
ABSL_FLAG(std::string, feed_consumer, "",
          "This process's consumer name in the consumer groups that follow the account-changes and "
          "membership-events streams (one name per process; a restart under the same name takes back what "
          "it had pending). Empty: the host name (on Kubernetes, the pod's name).");
ABSL_FLAG(absl::Duration, feed_wait, absl::Milliseconds(100),
          "How long a follower's read waits on an empty stream for a new entry (a blocking XREADGROUP "
          "holding one Redis connection per followed stream); 0: poll instead.");
ABSL_FLAG(absl::Duration, feed_reclaim_after, absl::Seconds(30),
          "A stream entry pending this long with another consumer of the group is presumed lost with it "
          "and taken over.");
ABSL_FLAG(absl::Duration, segment_rebuild_interval, absl::Hours(24),
          "How often every account's segments are re-evaluated (for changes that come with time alone).");
ABSL_FLAG(std::string, store, "memory", "'memory' (embedded, lost on exit) or redis://HOST:PORT/DB.");
ABSL_FLAG(std::string, config_dir, STEWARD_DEFAULT_CONFIG_DIR,
          "Directory with models/*.textproto, churn.textproto, segmentation.textproto, "
          "loyalty.textproto, portfolio.textproto and upsell.textproto.");
ABSL_FLAG(int, workers, 16, "Worker threads for blocking work (store round trips).");
ABSL_FLAG(int, max_queued_calls, 10000,
          "Calls waiting for a worker beyond this are refused (RESOURCE_EXHAUSTED).");
ABSL_FLAG(int, max_message_bytes, 4 * 1024 * 1024, "Largest gRPC message accepted or sent.");
ABSL_FLAG(int, max_batch_events, 1000, "Most events one RecordEvents call may carry.");
ABSL_FLAG(int, redis_pool_size, 16, "Connections to Redis.");
ABSL_FLAG(int, redis_local_cache_entries, 100000,
          "Records kept in this process's Redis-invalidated cache (hot accounts and their cached scores, "
          "~0.5 KB each); 0 turns client-side caching off.");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Milliseconds(500), "Timeout of one Redis round trip.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM, how long in-flight calls get to finish after health turns NOT_SERVING.");
ABSL_FLAG(absl::Duration, refresh_interval, absl::Hours(1),
          "How often the background sweep recomputes scores not yet computed today (0 disables it).");
ABSL_FLAG(bool, predictive_models, true,
          "Answer GetScores with the fitted predictive models' block (FitModels fits them).");
ABSL_FLAG(absl::Duration, model_refresh_interval, absl::Seconds(5),
          "How often this replica looks for a newer accepted version of the fitted models (one small read).");
ABSL_FLAG(std::string, playbooks_dir, STEWARD_DEFAULT_PLAYBOOKS_DIR,
          "Directory of playbook definitions (*.textproto); a broken file fails start-up.");
ABSL_FLAG(bool, playbook_runner, true,
          "Run due playbook steps in this process (several processes may; claims are leased).");
ABSL_FLAG(int, playbook_runner_threads, 2, "Threads running due playbook steps.");
ABSL_FLAG(int, playbook_runner_batch, 256, "Due playbook steps a runner thread claims at a time.");
ABSL_FLAG(bool, playbook_follower, true,
          "Follow account changes in this process to enrol by trigger and end enrolments by exit criteria.");
ABSL_FLAG(absl::Duration, playbook_poll_interval, absl::Milliseconds(100),
          "How often the playbook service's background loops poll when idle: the follower of account changes "
          "(triggers), the step runner, the webhook dispatcher and WatchActions streams.");
ABSL_FLAG(bool, webhooks, true, "POST webhook actions from this process.");
ABSL_FLAG(bool, manual_clock, false,
          "Run on a manual clock that only ClockService.AdvanceClock moves (tests and demos; never in "
          "production). Off: AdvanceClock is refused.");
ABSL_FLAG(std::string, manual_clock_start, "",
          "With --manual_clock: the starting time, RFC 3339 (e.g. 2026-01-05T09:00:00Z); empty: now. The "
          "clock lives in the store: processes sharing a Redis share it, and a clock already there (set by "
          "another process, or before a restart) keeps its time.");
ABSL_FLAG(bool, demo_data, false, "Load a few demo accounts with 60 days of events at start-up.");

namespace steward {
namespace {

// The default consumer name: on Kubernetes the pod's name, which a restarted container keeps.
std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "steward";
  return name;
}

absl::StatusOr<std::vector<std::string>> ParseServices(const std::string& flag) {
  // Short names and full names; "all" is every one.
  const std::pair<absl::string_view, absl::string_view> known[] = {{"scoring", kScoringServiceName},
                                                                   {"segmentation", kSegmentationServiceName},
                                                                   {"upsell", kUpsellServiceName},
                                                                   {"playbooks", kPlaybookServiceName}};
  std::vector<std::string> services;
  for (absl::string_view part : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    bool matched = false;
    for (const auto& [short_name, full_name] : known) {
      if (part == "all" || part == short_name || part == full_name) {
        if (std::find(services.begin(), services.end(), full_name) == services.end()) {
          services.emplace_back(full_name);
        }
        matched = true;
      }
    }
    if (!matched)
      return absl::InvalidArgumentError(absl::StrCat("--services: unknown service \"", part, "\""));
  }
  if (services.empty()) return absl::InvalidArgumentError("--services: name at least one service");
  return services;
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  if (url == "memory") return std::make_unique<MemoryStore>();
  auto options = ParseRedisUrl(url);
  if (!options.ok()) return options.status();
  options->pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  options->command_timeout = absl::GetFlag(FLAGS_redis_timeout);
  const int local_cache_entries = absl::GetFlag(FLAGS_redis_local_cache_entries);
  options->client_side_caching = local_cache_entries > 0;
  if (local_cache_entries > 0) options->local_cache_max_entries = local_cache_entries;
  auto redis = RedisStore::Connect(*options);
  if (!redis.ok()) return redis.status();
  return std::unique_ptr<Store>(std::move(*redis));
}

// Walks all accounts every `interval`, recomputing scores whose cache is from an earlier day, so that
// the daily history behind trends has a point each day even for accounts nobody reads.
void RunRefresher(scoring::ScoringService& scoring, absl::Duration interval, absl::Notification& stop) {
  while (!stop.WaitForNotificationWithTimeout(interval)) {
    std::string cursor;
    int pages = 0;
    do {
      auto next = scoring.RefreshStaleScores(cursor, 200);
      if (!next.ok()) {
        Log(LogLevel::kWarning, "score_refresh_failed", {{"error", std::string(next.status().message())}});
        break;
      }
      cursor = *next;
      ++pages;
    } while (!cursor.empty() && !stop.HasBeenNotified());
    Log(LogLevel::kInfo, "score_refresh_done", {{"pages", absl::StrCat(pages)}});
  }
}

// Reads the configuration files of the hosted services from `dir` (each service needs only its own, so
// a deployment mounts only those).
absl::Status LoadConfigFiles(const std::string& dir, ServerConfig& config, scoring::ModelSet& models) {
  auto hosts = [&](absl::string_view name) {
    return std::find(config.services.begin(), config.services.end(), name) != config.services.end();
  };
  if (hosts(kScoringServiceName)) {
    auto loaded = scoring::LoadModelDirectory(dir);
    if (!loaded.ok()) return loaded.status();
    models = *std::move(loaded);
  }
  if (hosts(kSegmentationServiceName)) {
    auto segmentation = segmentation::LoadSegmentationConfig(dir + "/segmentation.textproto");
    if (!segmentation.ok()) return segmentation.status();
    config.segmentation_config = *std::move(segmentation);
    auto loyalty = segmentation::LoadLoyaltyConfig(dir + "/loyalty.textproto");
    if (!loyalty.ok()) return loyalty.status();
    config.loyalty_config = *std::move(loyalty);
    auto targets = segmentation::LoadPortfolioTargets(dir + "/portfolio.textproto");
    if (!targets.ok()) return targets.status();
    config.portfolio_targets = *std::move(targets);
  }
  if (hosts(kUpsellServiceName)) {
    auto upsell = upsell::LoadUpsellConfig(dir + "/upsell.textproto");
    if (!upsell.ok()) return upsell.status();
    config.upsell_config = *std::move(upsell);
  }
  if (hosts(kPlaybookServiceName)) {
    auto engine = playbooks::LoadPlaybookEngineConfig(dir + "/playbooks.textproto");
    if (!engine.ok()) return engine.status();
    config.playbook_engine = *std::move(engine);
    auto loaded = playbooks::LoadPlaybookDirectory(absl::GetFlag(FLAGS_playbooks_dir));
    if (!loaded.ok()) return loaded.status();
    config.playbooks = *std::move(loaded);
  }
  return absl::OkStatus();
}

int Run() {
  auto fail = [](absl::string_view event, const absl::Status& status) {
    Log(LogLevel::kError, event, {{"error", std::string(status.message())}});
    std::cerr << "steward: " << status.message() << "\n";
    return 2;
  };
  auto services = ParseServices(absl::GetFlag(FLAGS_services));
  if (!services.ok()) return fail("bad_flags", services.status());
  ServerConfig config;
  config.services = *services;
  scoring::ModelSet models;
  if (absl::Status s = LoadConfigFiles(absl::GetFlag(FLAGS_config_dir), config, models); !s.ok()) {
    return fail("bad_config", s);
  }
  auto store = OpenStore(absl::GetFlag(FLAGS_store));
  if (!store.ok()) return fail("store_unavailable", store.status());
  // Metrics: the registry lives here, and every service sees the store through the measuring decorator.
  std::unique_ptr<metrics::MetricsRegistry> metrics_registry;
  std::unique_ptr<metrics::MeteredStore> metered_store;
  Store* service_store = store->get();
  config.metrics_listen_address = absl::GetFlag(FLAGS_metrics_listen);
  if (!config.metrics_listen_address.empty()) {
    metrics_registry = std::make_unique<metrics::MetricsRegistry>();
    metered_store = std::make_unique<metrics::MeteredStore>(**store, *metrics_registry);
    service_store = metered_store.get();
    config.metrics = metrics_registry.get();
  }

  // Signals are taken synchronously by this thread (sigwait); every thread started from here on
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  SystemClock system_clock;
  std::unique_ptr<StoredManualClock> manual_clock;
  if (absl::GetFlag(FLAGS_manual_clock)) {
    // Whole seconds, so that "advance 3 days" lands exactly on the steps due 3 days after an enrolment.
    absl::Time start = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    const std::string flag = absl::GetFlag(FLAGS_manual_clock_start);
    std::string error;
    if (!flag.empty() && !absl::ParseTime(absl::RFC3339_full, flag, &start, &error)) {
      return fail("bad_flags", absl::InvalidArgumentError(absl::StrCat("--manual_clock_start: ", error)));
    }
    // Held in the store, so that split processes on one Redis share it and a restart resumes it.
    auto opened = StoredManualClock::Open(**store, start);
    if (!opened.ok()) return fail("store_unavailable", opened.status());
    manual_clock = *std::move(opened);
    config.manual_clock = manual_clock.get();
    Log(LogLevel::kWarning, "manual_clock",
        {{"start", absl::FormatTime(start)}, {"now", absl::FormatTime(manual_clock->Now())}});
  }
  const Clock& clock = manual_clock != nullptr ? static_cast<const Clock&>(*manual_clock) : system_clock;
  config.run_playbook_runner = absl::GetFlag(FLAGS_playbook_runner);
  config.playbook_runner_threads = std::max(1, absl::GetFlag(FLAGS_playbook_runner_threads));
  config.playbook_runner_batch = std::max(1, absl::GetFlag(FLAGS_playbook_runner_batch));
  config.run_playbook_follower = absl::GetFlag(FLAGS_playbook_follower);
  config.playbook_poll_interval = absl::GetFlag(FLAGS_playbook_poll_interval);
  config.run_webhook_dispatcher = absl::GetFlag(FLAGS_webhooks);
  // The signing secret comes from the environment (a Kubernetes Secret), never from a flag that `ps` shows.
  if (const char* secret = std::getenv("STEWARD_WEBHOOK_SECRET"); secret != nullptr) {
    config.webhook.signing_secret = secret;
  }
  config.listen_address = absl::GetFlag(FLAGS_listen);
  config.worker_threads = absl::GetFlag(FLAGS_workers);
  config.max_queued_calls = absl::GetFlag(FLAGS_max_queued_calls);
  config.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  config.scoring_limits.max_events_per_batch = absl::GetFlag(FLAGS_max_batch_events);
  config.scoring_limits.predictive.enabled = absl::GetFlag(FLAGS_predictive_models);
  config.scoring_limits.predictive.refresh_interval = absl::GetFlag(FLAGS_model_refresh_interval);
  config.scoring_address = absl::GetFlag(FLAGS_scoring_address);
  config.scoring_deadline = absl::GetFlag(FLAGS_scoring_deadline);
  config.segmentation_address = absl::GetFlag(FLAGS_segmentation_address);
  config.playbooks_address = absl::GetFlag(FLAGS_playbooks_address);
  config.run_upsell_follower = absl::GetFlag(FLAGS_upsell_follower);
  config.feed.consumer = absl::GetFlag(FLAGS_feed_consumer);
  if (config.feed.consumer.empty()) config.feed.consumer = HostName();
  config.feed.wait = std::max(absl::ZeroDuration(), absl::GetFlag(FLAGS_feed_wait));
  config.feed.reclaim_after = absl::GetFlag(FLAGS_feed_reclaim_after);
  config.run_maintainer = absl::GetFlag(FLAGS_segment_maintainer);
  config.maintainer.poll_interval = absl::GetFlag(FLAGS_segment_poll_interval);
  config.maintainer.rebuild_interval = absl::GetFlag(FLAGS_segment_rebuild_interval);
  auto server = StewardServer::Start(config, *service_store, clock, std::move(models));
  if (!server.ok()) return fail("server_failed", server.status());

  if (absl::GetFlag(FLAGS_demo_data) && (*server)->scoring() != nullptr) {
    if (absl::Status s = LoadDemoData(*(*server)->scoring(), clock.Now()); !s.ok()) {
      return fail("demo_data_failed", s);
    }
    Log(LogLevel::kInfo, "demo_data_loaded");
  }

  absl::Notification stop_refresher;
  std::thread refresher;
  const absl::Duration refresh_interval = absl::GetFlag(FLAGS_refresh_interval);
  if (refresh_interval > absl::ZeroDuration() && (*server)->scoring() != nullptr) {
    refresher = std::thread(RunRefresher, std::ref(*(*server)->scoring()), refresh_interval,
                            std::ref(stop_refresher));
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(LogLevel::kInfo, "signal_received", {{"signal", absl::StrCat(signal_number)}});
  stop_refresher.Notify();
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  if (refresher.joinable()) refresher.join();
  return 0;
}

}  // namespace
}  // namespace steward

int main(int argc, char** argv) {
  // Mutex deadlock detection is a debugging aid (the tests keep it); in the server it costs a graph
  // update on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // `steward fit …` is an offline tool with its own options (server/fit_command.h), not a server flag.
  if (argc > 1 && absl::string_view(argv[1]) == "fit") {
    return steward::RunFitCommand(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
  }
  absl::SetProgramUsageMessage(
      "steward: Steward's gRPC server; hosts any subset of its services. "
      "`steward fit --data FILE --model bgnbd|gamma-gamma|sbg|churn` fits a predictive model offline.");
  absl::ParseCommandLine(argc, argv);
  return steward::Run();
}
