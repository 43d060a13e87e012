// steward_load_bench: closed-loop load against a running steward over loopback (see bench/README.md).
//
// By default it sets the stage itself: a throwaway redis-server (tests/support), the built steward as a
// child process on a free port, N accounts seeded with 90 days of realistic activity. Then three
// phases of fixed duration and fixed concurrency: Health/Check (the baseline), cached GetScores and
// RecordEvents. Speed is reported as ratios to the baseline measured in the same run, never asserted:
// the exit status is non-zero only when something broke (no server, more than 1% failed calls).

#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/support/report.h"
#include "common/metrics/grpc_metrics.h"
#include "common/proto_time.h"
#include "common/store/redis_store.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/scoring/keys.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "steward/v1/segmentation_service.grpc.pb.h"
#include "steward/v1/upsell_service.grpc.pb.h"
#include "tests/support/redis_server.h"

ABSL_FLAG(
    std::string, target, "",
    "HOST:PORT of an already-running steward to benchmark. Empty: start redis-server and steward here.");
ABSL_FLAG(std::string, redis, "",
          "With --target: HOST:PORT of its Redis, to report memory per account (skipped when empty).");
ABSL_FLAG(std::string, steward_binary, STEWARD_BINARY_DIR "/server/steward", "The steward binary to start.");
ABSL_FLAG(std::vector<std::string>, steward_args, {},
          "Extra flags for the started steward, comma-separated, e.g. --steward_args=--workers=8.");
ABSL_FLAG(int, accounts, 1000, "Accounts to seed, each with 90 days of activity.");
ABSL_FLAG(int, seconds, 5, "Duration of each measured phase, in seconds.");
ABSL_FLAG(int, concurrency, 32, "Calls in flight at any time (closed loop), in every phase and in seeding.");
ABSL_FLAG(int, channels, 4, "gRPC channels (separate TCP connections) the calls are spread over.");
ABSL_FLAG(int, batch_events, 100, "Events per RecordEvents call, in seeding and in the RecordEvents phase.");
ABSL_FLAG(int, grouped_accounts, 10,
          "Accounts a batch spans in the grouped RecordEvents phase (the spread phase uses one per event).");
ABSL_FLAG(int, memory_sample, 100, "Seeded accounts whose Redis memory is measured.");
ABSL_FLAG(std::string, account_prefix, "bench-", "Prefix of the seeded account ids.");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(10), "Deadline of every call.");
ABSL_FLAG(absl::Duration, startup_timeout, absl::Seconds(30), "How long steward may take to serve.");
ABSL_FLAG(absl::Duration, seed_timeout, absl::Minutes(15), "Bound on the whole seeding (and warm-up) step.");
ABSL_FLAG(double, max_error_rate, 0.01, "Failed calls above this share of a phase's calls fail the run.");

namespace steward::bench {
namespace {

namespace v1 = ::steward::v1;
namespace health = ::grpc::health::v1;
using SteadyClock = std::chrono::steady_clock;

// The aims of SPEC's non-functional section, reported against (never asserted).
constexpr double kTargetEventsPerSecond = 50000;
constexpr double kTargetGetScoresRatio = 0.5;
// Issue #3: GetAccountSegments and ListSegmentMembers at least half the health check's throughput.
constexpr double kTargetSegmentsRatio = 0.5;
constexpr double kMemoryAimBytes = 4096;
constexpr int kHistoryDays = 90;
constexpr uint64_t kSeed = 20240611;  // every generated account and history derives from this

void Progress(absl::string_view line) { std::cerr << "steward_load_bench: " << line << std::endl; }

// ---------------------------------------------------------------------------------------------------
// The steward child process.

// steward started as a child with its stderr on a pipe: the port comes from its server_started log
// line; afterwards a thread keeps draining the pipe (so the child never blocks on a full pipe), keeps
// the last lines for error messages and echoes warnings and errors.
class StewardProcess {
 public:
  // Starts `binary` with `args` and waits, at most `timeout`, for its server_started line.
  static absl::StatusOr<std::unique_ptr<StewardProcess>> Start(const std::string& binary,
                                                               const std::vector<std::string>& args,
                                                               absl::Duration timeout) {
    if (access(binary.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat("no executable steward at ", binary,
                                              " (build it: cmake --build BUILD --target steward, or pass "
                                              "--steward_binary)"));
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
    // Everything the child needs is prepared before fork: only async-signal-safe calls happen there.
    std::vector<std::string> argv_storage = {binary};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
    }
    if (pid == 0) {
      dup2(fds[1], STDERR_FILENO);  // the duplicate has no FD_CLOEXEC, so it survives exec
      // Should the benchmark die, steward gets SIGTERM instead of outliving it.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(126);
      execv(argv[0], argv.data());
      constexpr char kMessage[] = "steward_load_bench: execv of steward failed\n";
      [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
      _exit(127);
    }
    close(fds[1]);
    std::unique_ptr<StewardProcess> process(new StewardProcess(pid, fds[0]));
    if (absl::Status s = process->WaitStarted(timeout); !s.ok()) return s;  // the destructor stops it
    process->reader_ = std::thread([p = process.get()] { p->DrainLog(); });
    return process;
  }

  ~StewardProcess() { Stop().IgnoreError(); }
  StewardProcess(const StewardProcess&) = delete;
  StewardProcess& operator=(const StewardProcess&) = delete;

  int port() const { return port_; }

  // SIGTERM, then SIGKILL when it has not exited 10 s later. OK when it exited with status 0.
  absl::Status Stop() {
    absl::Status result = absl::OkStatus();
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      bool exited = false;
      const absl::Time give_up = absl::Now() + absl::Seconds(10);
      while (absl::Now() < give_up) {
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || (r < 0 && errno != EINTR)) {
          exited = true;
          break;
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
      if (!exited) {
        kill(pid_, SIGKILL);
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        result = absl::DeadlineExceededError("steward did not stop within 10 s of SIGTERM; killed it");
      } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        result = absl::InternalError(
            absl::StrCat("steward ended badly (wait status ", status, "); log tail:\n", LogTail()));
      }
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();  // the pipe reaches EOF once the child is gone
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    return result;
  }

  std::string LogTail() {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(tail_, "\n");
  }

 private:
  StewardProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}

  void Keep(std::string line) {
    absl::MutexLock lock(&mu_);
    tail_.push_back(std::move(line));
    if (tail_.size() > 30) tail_.pop_front();
  }

  // Reads log lines until server_started (taking the port from it), EOF (the child died) or timeout.
  absl::Status WaitStarted(absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    std::string buffer;
    while (true) {
      const absl::Duration left = give_up - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat("steward did not log server_started within ",
                                                        absl::FormatDuration(timeout), "; log tail:\n",
                                                        LogTail()));
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (!buffer.empty()) Keep(buffer);
        return absl::UnavailableError(absl::StrCat("steward exited before serving; log tail:\n", LogTail()));
      }
      buffer.append(chunk, static_cast<size_t>(n));
      size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        std::string line = buffer.substr(0, newline);
        buffer.erase(0, newline + 1);
        Keep(line);
        if (line.find("\"event\":\"server_started\"") == std::string::npos) continue;
        const std::string kPortField = "\"port\":\"";
        const size_t at = line.find(kPortField);
        int port = 0;
        if (at != std::string::npos) {
          const size_t begin = at + kPortField.size();
          const size_t end = line.find('"', begin);
          if (end == std::string::npos || !absl::SimpleAtoi(line.substr(begin, end - begin), &port)) port = 0;
        }
        if (port <= 0) return absl::InternalError(absl::StrCat("no port in the server_started line: ", line));
        port_ = port;
        return absl::OkStatus();
      }
    }
  }

  void DrainLog() {
    std::string buffer;
    char chunk[4096];
    while (true) {
      const ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        std::string line = buffer.substr(0, newline);
        buffer.erase(0, newline + 1);
        if (line.find("\"level\":\"info\"") == std::string::npos)
          std::cerr << "steward| " << line << std::endl;
        Keep(std::move(line));
      }
    }
  }

  pid_t pid_;
  int fd_;
  int port_ = 0;
  std::thread reader_;
  absl::Mutex mu_;
  std::deque<std::string> tail_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------------------------------
// Closed-loop phases.

// What a phase sends. Each of `concurrency` slots runs one call at a time; StartNext is called for a
// slot only after its previous call completed, so per-slot state needs no lock.
class Workload {
 public:
  using Done = std::function<void(grpc::Status)>;
  virtual ~Workload() = default;
  // Starts the slot's next call and returns true (`done` is then called exactly once, on a gRPC thread),
  // or returns false when there is no more work.
  virtual bool StartNext(int slot, Done done) = 0;
};

struct PhaseStats {
  std::string name;
  int64_t calls = 0;
  int64_t failed = 0;
  std::map<std::string, int64_t> errors;  // by status code name
  std::string first_error;
  double seconds = 0;                 // first call started .. last call completed
  std::vector<int64_t> latencies_ns;  // sorted

  double CallsPerSecond() const { return seconds > 0 ? static_cast<double>(calls) / seconds : 0; }
  double ErrorRate() const {
    return calls > 0 ? static_cast<double>(failed) / static_cast<double>(calls) : 0;
  }
  double PercentileMs(double p) const { return Percentile(latencies_ns, p) / 1e6; }
  double MaxMs() const { return latencies_ns.empty() ? 0 : static_cast<double>(latencies_ns.back()) / 1e6; }
  std::string ErrorSummary() const {
    std::vector<std::string> parts;
    for (const auto& [code, count] : errors) parts.push_back(absl::StrCat(code, "=", count));
    return parts.empty() ? "none" : absl::StrJoin(parts, " ");
  }
};

// Runs `workload` on `concurrency` slots until it runs out of work or `duration` has passed (a call in
// flight at the end still completes and counts; every call has a deadline, so this is bounded).
class PhaseRunner {
 public:
  PhaseRunner(Workload& workload, int concurrency) : workload_(workload), slots_(concurrency) {}

  PhaseStats Run(const std::string& name, absl::Duration duration, const std::function<void()>& progress) {
    start_ = SteadyClock::now();
    deadline_ = start_ + absl::ToChronoNanoseconds(duration);
    {
      absl::MutexLock lock(&mu_);
      active_ = static_cast<int>(slots_.size());
    }
    for (Slot& slot : slots_) slot.latencies_ns.reserve(16384);
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) Issue(i);
    while (true) {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(
                                   +[](int* active) { return *active == 0; }, &active_),
                               absl::Seconds(2))) {
        break;
      }
      if (progress) {
        mu_.Unlock();
        progress();
        mu_.Lock();
      }
    }
    PhaseStats stats;
    stats.name = name;
    SteadyClock::time_point last = start_;
    for (Slot& slot : slots_) {
      stats.calls += static_cast<int64_t>(slot.latencies_ns.size());
      for (const auto& [code, count] : slot.errors) {
        stats.errors[metrics::GrpcCodeName(code)] += count;
        stats.failed += count;
      }
      if (stats.first_error.empty()) stats.first_error = slot.first_error;
      stats.latencies_ns.insert(stats.latencies_ns.end(), slot.latencies_ns.begin(), slot.latencies_ns.end());
      last = std::max(last, slot.last_done);
    }
    std::sort(stats.latencies_ns.begin(), stats.latencies_ns.end());
    stats.seconds = std::chrono::duration<double>(last - start_).count();
    return stats;
  }

 private:
  struct Slot {
    SteadyClock::time_point started;
    SteadyClock::time_point last_done;
    std::vector<int64_t> latencies_ns;
    std::map<grpc::StatusCode, int64_t> errors;
    std::string first_error;
  };

  void Issue(int index) {
    Slot& slot = slots_[index];
    slot.started = SteadyClock::now();
    if (slot.started >= deadline_ ||
        !workload_.StartNext(index, [this, index](grpc::Status status) { OnDone(index, status); })) {
      absl::MutexLock lock(&mu_);
      --active_;
    }
  }

  void OnDone(int index, const grpc::Status& status) {
    Slot& slot = slots_[index];
    slot.last_done = SteadyClock::now();
    slot.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(slot.last_done - slot.started).count());
    if (!status.ok()) {
      ++slot.errors[status.error_code()];
      if (slot.first_error.empty()) {
        slot.first_error = absl::StrCat(metrics::GrpcCodeName(status.error_code()), ": ", status.error_message());
      }
    }
    Issue(index);
  }

  Workload& workload_;
  std::vector<Slot> slots_;
  SteadyClock::time_point start_;
  SteadyClock::time_point deadline_;
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
};

// The channels and stubs every workload shares: created once, one TCP connection per channel.
struct Clients {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::ScoringService::Stub>> scoring;
  std::vector<std::unique_ptr<health::Health::Stub>> health;
  std::vector<std::unique_ptr<v1::SegmentationService::Stub>> segmentation;
  std::vector<std::unique_ptr<v1::UpsellService::Stub>> upsell;
  // For GetScores: answers arrive as bytes and only a sample is parsed, so that the client's cost of
  // parsing ~2 KB answers does not become what the benchmark measures (the baseline's answers are a
  // few bytes). Every answer is still checked to be non-empty.
  std::vector<std::unique_ptr<grpc::GenericStub>> generic;
  absl::Duration call_timeout;

  Clients(const std::string& target, int count, absl::Duration timeout) : call_timeout(timeout) {
    for (int i = 0; i < count; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("steward.bench.channel", i);  // a distinct argument keeps channels on separate connections
      args.SetMaxReceiveMessageSize(64 << 20);
      channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
      scoring.push_back(v1::ScoringService::NewStub(channels.back()));
      health.push_back(health::Health::NewStub(channels.back()));
      segmentation.push_back(v1::SegmentationService::NewStub(channels.back()));
      upsell.push_back(v1::UpsellService::NewStub(channels.back()));
      generic.push_back(std::make_unique<grpc::GenericStub>(channels.back()));
    }
  }
  grpc::GenericStub& Generic(int slot) { return *generic[static_cast<size_t>(slot) % generic.size()]; }
  v1::ScoringService::Stub& Scoring(int slot) { return *scoring[static_cast<size_t>(slot) % scoring.size()]; }
  health::Health::Stub& Health(int slot) { return *health[static_cast<size_t>(slot) % health.size()]; }
  v1::UpsellService::Stub& Upsell(int slot) { return *upsell[static_cast<size_t>(slot) % upsell.size()]; }
  v1::SegmentationService::Stub& Segmentation(int slot) {
    return *segmentation[static_cast<size_t>(slot) % segmentation.size()];
  }
  std::unique_ptr<grpc::ClientContext> NewContext() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(call_timeout));
    return context;
  }
};

// The per-slot state of one unary call. The context is replaced for every call (gRPC's own callback
// benchmark client does the same from inside the previous call's callback).
template <typename Request, typename Response>
struct CallSlot {
  std::unique_ptr<grpc::ClientContext> context;
  Request request;
  Response response;
};

// (a) The baseline: grpc.health.v1.Health/Check, answered by gRPC itself without touching the store.
class HealthCheckLoad final : public Workload {
 public:
  HealthCheckLoad(Clients& clients, int concurrency) : clients_(clients), slots_(concurrency) {}
  bool StartNext(int slot, Done done) override {
    auto& s = slots_[slot];
    s.context = clients_.NewContext();
    clients_.Health(slot).async()->Check(
        s.context.get(), &s.request, &s.response, [&s, done = std::move(done)](grpc::Status status) {
          if (status.ok() && s.response.status() != health::HealthCheckResponse::SERVING) {
            status = grpc::Status(grpc::StatusCode::UNKNOWN, "health: not SERVING");
          }
          done(status);
        });
    return true;
  }

 private:
  Clients& clients_;
  std::vector<CallSlot<health::HealthCheckRequest, health::HealthCheckResponse>> slots_;
};

// Realistic attributes for seeded account `index`.
v1::Account MakeAccount(int index, const std::string& id, absl::Time now) {
  std::mt19937_64 rng(kSeed + 1'000'000 + static_cast<uint64_t>(index));
  auto pick = [&rng](int lo, int hi) {
    return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  static constexpr const char* kIndustries[] = {"technology", "marketing", "e-commerce", "banking", "health"};
  static constexpr const char* kPlans[] = {"starter", "growth", "enterprise"};
  v1::Account account;
  account.set_account_id(id);
  account.set_display_name(absl::StrCat("Bench Company ", index));
  const int tier = pick(0, 2);
  account.mutable_plan()->set_name(kPlans[tier]);
  account.mutable_plan()->set_feature_count(20);
  (*account.mutable_plan()->mutable_limits())["api_calls"] = 100000.0 * (tier + 1);
  account.set_industry(kIndustries[pick(0, 4)]);
  account.set_size(static_cast<v1::AccountSize>(tier + 1));
  account.set_status(v1::ACCOUNT_STATUS_ACTIVE);
  account.set_seats(pick(10, 200));
  const double mrr = pick(500, 20000);
  account.set_mrr(mrr);
  account.set_gross_margin(0.8);
  account.set_cac(mrr * 6);
  account.set_cost_of_retention(mrr * 0.5);
  account.set_expansion_rate(0.1);
  account.set_annual_discount_rate(0.1);
  *account.mutable_start_time() = ToProtoTime(now - absl::Hours(24 * pick(120, 1200)));
  *account.mutable_renewal_time() = ToProtoTime(now + absl::Hours(24 * pick(10, 360)));
  return account;
}

// 90 days of activity of seeded account `index`, day by day and oldest first, all of it inside the UTC
// days the server retains (today and the 89 before) and none of it in the future. Per day: ~3 logins,
// ~4 feature uses over the account's 12 features (of 20), an email every 3 days (80% opened), a ticket
// one day in ten (mostly resolved), limit usage every 3 days, seats weekly, an invoice a month, an
// in-app engagement now and then; one NPS answer.
std::vector<v1::Event> MakeHistory(int index, const std::string& id, int seats, double api_limit,
                                   absl::Time now) {
  static constexpr const char* kFeatures[] = {
      "dashboards", "reports",  "exports",   "alerts",    "api",     "sso",        "integrations",
      "workflows",  "segments", "forecasts", "notes",     "search",  "billing",    "audit_log",
      "webhooks",   "mobile",   "comments",  "templates", "imports", "permissions"};
  std::mt19937_64 rng(kSeed + static_cast<uint64_t>(index));
  auto chance = [&rng](int percent) { return static_cast<int>(rng() % 100) < percent; };
  std::vector<std::string> features(std::begin(kFeatures), std::end(kFeatures));
  std::shuffle(features.begin(), features.end(), rng);
  features.resize(12);

  const absl::Time today = absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 86400 * 86400);
  const int nps_day = 5 + static_cast<int>(rng() % 75);
  std::vector<v1::Event> events;
  int sequence = 0;
  for (int ago = kHistoryDays - 1; ago >= 0; --ago) {
    const absl::Time day_start = today - absl::Hours(24 * ago);
    // Today only up to now (minus a second), so that nothing lies in the future.
    const int64_t span =
        ago == 0 ? std::max<int64_t>(1, absl::ToInt64Seconds(now - day_start)) : int64_t{86400};
    auto add = [&](v1::EventType type) -> v1::Event& {
      v1::Event& e = events.emplace_back();
      e.set_event_id(absl::StrCat("seed-", id, "-", sequence++));
      e.set_account_id(id);
      e.set_type(type);
      const absl::Time at =
          std::min(day_start + absl::Seconds(static_cast<int64_t>(rng() % static_cast<uint64_t>(span))),
                   now - absl::Seconds(1));
      *e.mutable_time() = ToProtoTime(std::max(at, day_start));
      return e;
    };
    const int logins = 2 + static_cast<int>(rng() % 3);
    for (int i = 0; i < logins; ++i) add(v1::EVENT_TYPE_LOGIN);
    const int uses = 3 + static_cast<int>(rng() % 3);
    for (int i = 0; i < uses; ++i)
      add(v1::EVENT_TYPE_FEATURE_USED).set_subject(features[rng() % features.size()]);
    if (ago % 3 == 0) {
      add(v1::EVENT_TYPE_EMAIL_SENT);
      if (chance(80)) add(v1::EVENT_TYPE_EMAIL_OPENED);
    }
    if (chance(10)) {
      const double tone = 0.2 + static_cast<double>(rng() % 70) / 100.0;
      add(v1::EVENT_TYPE_TICKET_OPENED).set_sentiment(tone);
      if (chance(80)) add(v1::EVENT_TYPE_TICKET_RESOLVED).set_sentiment(std::min(1.0, tone + 0.1));
    }
    if (ago % 3 == 1) {
      const double month_share = static_cast<double>((kHistoryDays - ago) % 30 + 1) / 30.0;
      v1::Event& usage = add(v1::EVENT_TYPE_LIMIT_USAGE);
      usage.set_subject("api_calls");
      usage.set_value(std::floor(api_limit * month_share * (0.4 + static_cast<double>(rng() % 60) / 100.0)));
    }
    if (ago % 7 == 0) {
      add(v1::EVENT_TYPE_SEATS_ACTIVE)
          .set_value(std::floor(seats * (0.5 + static_cast<double>(rng() % 50) / 100.0)));
    }
    if (ago % 30 == 15)
      add(v1::EVENT_TYPE_INVOICE_PAID).set_value(chance(80) ? 0 : 1 + static_cast<int>(rng() % 15));
    if (chance(25)) add(v1::EVENT_TYPE_IN_APP_ENGAGED);
    if (ago == nps_day) {
      v1::Event& nps = add(v1::EVENT_TYPE_NPS_RESPONSE);
      nps.set_value(static_cast<double>(4 + rng() % 7));
      nps.set_sentiment(static_cast<double>(rng() % 100) / 100.0);
    }
  }
  return events;
}

// Seeding, step 1: UpsertAccount for every account.
// (d) Segmentation reads: an account's segments (which also fetches its account and scores from the
// scoring service in the same process), and a page of a built-in segment's members.
class AccountSegmentsLoad final : public Workload {
 public:
  AccountSegmentsLoad(Clients& clients, int concurrency, const std::vector<std::string>& ids)
      : clients_(clients), slots_(concurrency), ids_(ids) {}
  bool StartNext(int slot, Done done) override {
    auto& s = slots_[slot];
    s.context = clients_.NewContext();
    s.request.set_account_id(ids_[next_.fetch_add(1) % ids_.size()]);
    clients_.Segmentation(slot).async()->GetAccountSegments(
        s.context.get(), &s.request, &s.response, [&s, done = std::move(done)](grpc::Status status) {
          if (status.ok() && s.response.assignments().empty()) {
            status = grpc::Status(grpc::StatusCode::INTERNAL, "GetAccountSegments: no assignment");
          }
          done(status);
        });
    return true;
  }

 private:
  Clients& clients_;
  std::vector<CallSlot<v1::GetAccountSegmentsRequest, v1::GetAccountSegmentsResponse>> slots_;
  const std::vector<std::string>& ids_;
  std::atomic<uint64_t> next_{0};
};

class SegmentMembersLoad final : public Workload {
 public:
  SegmentMembersLoad(Clients& clients, int concurrency) : clients_(clients), slots_(concurrency) {}
  bool StartNext(int slot, Done done) override {
    static const char* const kSegments[] = {"clv-tier/low",    "clv-tier/medium",    "size/smb",
                                            "size/enterprise", "lifecycle/adoption", "nps/promoter",
                                            "persona/casual",  "loyalty/bronze"};
    auto& s = slots_[slot];
    s.context = clients_.NewContext();
    s.request.set_segment_id(kSegments[next_.fetch_add(1) % std::size(kSegments)]);
    s.request.set_page_size(100);
    clients_.Segmentation(slot).async()->ListSegmentMembers(
        s.context.get(), &s.request, &s.response,
        [done = std::move(done)](grpc::Status status) { done(status); });
    return true;
  }

 private:
  Clients& clients_;
  std::vector<CallSlot<v1::ListSegmentMembersRequest, v1::ListSegmentMembersResponse>> slots_;
  std::atomic<uint64_t> next_{0};
};

// (e) Upsell: every trigger of an account evaluated from its account, scores and segments (calls to
// the scoring and segmentation services), opening or finding its opportunities.
class EvaluateAccountLoad final : public Workload {
 public:
  EvaluateAccountLoad(Clients& clients, int concurrency, const std::vector<std::string>& ids)
      : clients_(clients), slots_(concurrency), ids_(ids) {}
  bool StartNext(int slot, Done done) override {
    auto& s = slots_[slot];
    s.context = clients_.NewContext();
    s.request.set_account_id(ids_[next_.fetch_add(1) % ids_.size()]);
    clients_.Upsell(slot).async()->EvaluateAccount(
        s.context.get(), &s.request, &s.response,
        [done = std::move(done)](grpc::Status status) { done(status); });
    return true;
  }

 private:
  Clients& clients_;
  std::vector<CallSlot<v1::EvaluateAccountRequest, v1::EvaluateAccountResponse>> slots_;
  const std::vector<std::string>& ids_;
  std::atomic<uint64_t> next_{0};
};

// Waits until the segment counters include `accounts` accounts: the maintainer has caught up with the
// seeding.
absl::Status WaitForSegments(Clients& clients, int64_t accounts, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  int64_t seen = 0;
  while (absl::Now() < give_up) {
    v1::GetSegmentStatsRequest request;
    request.set_segment_id("size/smb");
    v1::GetSegmentStatsResponse response;
    grpc::Status status =
        clients.Segmentation(0).GetSegmentStats(clients.NewContext().get(), request, &response);
    if (!status.ok())
      return absl::UnavailableError(absl::StrCat("GetSegmentStats: ", status.error_message()));
    seen = response.total_accounts();
    if (seen >= accounts) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("segment membership covers ", seen, " of ", accounts,
                                                  " accounts after ", absl::FormatDuration(timeout)));
}

class UpsertLoad final : public Workload {
 public:
  UpsertLoad(Clients& clients, int concurrency, const std::vector<v1::Account>& accounts)
      : clients_(clients), slots_(concurrency), accounts_(accounts) {}
  bool StartNext(int slot, Done done) override {
    const size_t index = next_.fetch_add(1);
    if (index >= accounts_.size()) return false;
    auto& s = slots_[slot];
    s.context = clients_.NewContext();
    *s.request.mutable_account() = accounts_[index];
    clients_.Scoring(slot).async()->UpsertAccount(s.context.get(), &s.request, &s.response, std::move(done));
    return true;
  }

 private:
  Clients& clients_;
  std::vector<CallSlot<v1::UpsertAccountRequest, v1::UpsertAccountResponse>> slots_;
  const std::vector<v1::Account>& accounts_;
  std::atomic<size_t> next_{0};
};

// Counters of RecordEvents answers.
struct EventCounts {
  std::atomic<int64_t> sent{0};
  std::atomic<int64_t> recorded{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> expired{0};

  void Add(const v1::RecordEventsResponse& response) {
    recorded += response.recorded();
    duplicates += response.duplicates();
    expired += response.expired();
  }
};

// Seeding, step 2: each slot takes the next account, generates its 90 days and sends them in batches
// of --batch_events, in time order (the way a backfill from a producer looks).
class SeedEventsLoad final : public Workload {
 public:
  SeedEventsLoad(Clients& clients, int concurrency, const std::vector<v1::Account>& accounts, int batch,
                 absl::Time now)
      : clients_(clients), slots_(concurrency), accounts_(accounts), batch_(batch), now_(now) {}

  bool StartNext(int slot, Done done) override {
    Slot& s = slots_[slot];
    if (s.position >= s.pending.size()) {
      const size_t index = next_account_.fetch_add(1);
      if (index >= accounts_.size()) return false;
      const v1::Account& account = accounts_[index];
      s.pending = MakeHistory(static_cast<int>(index), account.account_id(), account.seats(),
                              account.plan().limits().at("api_calls"), now_);
      s.position = 0;
    }
    s.call.context = clients_.NewContext();
    s.call.request.Clear();
    const size_t end = std::min(s.pending.size(), s.position + static_cast<size_t>(batch_));
    for (size_t i = s.position; i < end; ++i) *s.call.request.add_events() = std::move(s.pending[i]);
    counts.sent += static_cast<int64_t>(end - s.position);
    s.position = end;
    clients_.Scoring(slot).async()->RecordEvents(s.call.context.get(), &s.call.request, &s.call.response,
                                                 [this, &s, done = std::move(done)](grpc::Status status) {
                                                   if (status.ok()) counts.Add(s.call.response);
                                                   done(status);
                                                 });
    return true;
  }

  size_t accounts_started() const { return std::min(next_account_.load(), accounts_.size()); }
  EventCounts counts;

 private:
  struct Slot {
    CallSlot<v1::RecordEventsRequest, v1::RecordEventsResponse> call;
    std::vector<v1::Event> pending;
    size_t position = 0;
  };
  Clients& clients_;
  std::vector<Slot> slots_;
  const std::vector<v1::Account>& accounts_;
  const int batch_;
  const absl::Time now_;
  std::atomic<size_t> next_account_{0};
};

// (b) GetScores on the seeded accounts, round robin. `bounded`: each account once (the warm-up pass).
class GetScoresLoad final : public Workload {
 public:
  GetScoresLoad(Clients& clients, int concurrency, const std::vector<std::string>& ids, bool bounded)
      : clients_(clients), slots_(concurrency), ids_(ids), bounded_(bounded) {}

  bool StartNext(int slot, Done done) override {
    const uint64_t n = next_.fetch_add(1);
    if (bounded_ && n >= ids_.size()) return false;
    auto& s = slots_[slot];
    s.context = clients_.NewContext();
    v1::GetScoresRequest request;
    request.set_account_id(ids_[n % ids_.size()]);
    bool own = false;
    s.request.Clear();
    (void)grpc::SerializationTraits<v1::GetScoresRequest>::Serialize(request, &s.request, &own);
    s.response.Clear();
    // Parse every answer during the warm-up (bounded) pass, one in 16 while measuring.
    const bool parse = bounded_ || n % 16 == 0;
    clients_.Generic(slot).UnaryCall(
        s.context.get(), "/steward.v1.ScoringService/GetScores", grpc::StubOptions(), &s.request, &s.response,
        [this, &s, parse, done = std::move(done)](grpc::Status status) {
          if (status.ok() && s.response.Length() == 0) {
            status = grpc::Status(grpc::StatusCode::INTERNAL, "empty GetScores answer");
          }
          if (status.ok() && parse) {
            v1::GetScoresResponse response;
            if (!grpc::SerializationTraits<v1::GetScoresResponse>::Deserialize(&s.response, &response).ok()) {
              status = grpc::Status(grpc::StatusCode::INTERNAL, "unparsable GetScores answer");
            } else {
              ++(response.scores().cached() ? cached : computed);
              ++size_samples;
              size_bytes += static_cast<int64_t>(response.ByteSizeLong());
            }
          }
          done(status);
        });
    return true;
  }

  std::atomic<int64_t> cached{0};
  std::atomic<int64_t> computed{0};
  std::atomic<int64_t> size_samples{0};
  std::atomic<int64_t> size_bytes{0};

 private:
  Clients& clients_;
  std::vector<CallSlot<grpc::ByteBuffer, grpc::ByteBuffer>> slots_;
  const std::vector<std::string>& ids_;
  const bool bounded_;
  std::atomic<uint64_t> next_{0};
};

// (c) RecordEvents: batches of new LOGIN / FEATURE_USED events with ids unique to this run. Each batch
// spreads its events over `accounts_per_batch` consecutive accounts: as many as events is the worst
// case (every event touches another account's record); fewer is how a producer that groups by
// account, or a busy tenant, looks.
class RecordEventsLoad final : public Workload {
 public:
  RecordEventsLoad(Clients& clients, int concurrency, const std::vector<std::string>& ids, int batch,
                   int accounts_per_batch, std::string run_tag)
      : clients_(clients),
        slots_(concurrency),
        ids_(ids),
        batch_(batch),
        accounts_per_batch_(std::max(1, std::min(accounts_per_batch, batch))),
        run_(absl::StrCat(run_tag, "-", absl::ToUnixMillis(absl::Now()))) {}

  bool StartNext(int slot, Done done) override {
    static constexpr const char* kFeatures[] = {"dashboards", "reports", "exports",
                                                "alerts",     "api",     "workflows"};
    const uint64_t number = next_batch_.fetch_add(1);
    auto& s = slots_[slot];
    s.context = clients_.NewContext();
    s.request.Clear();
    const absl::Time now = absl::Now();
    for (int j = 0; j < batch_; ++j) {
      const uint64_t k = number * static_cast<uint64_t>(batch_) + static_cast<uint64_t>(j);
      v1::Event* e = s.request.add_events();
      e->set_event_id(absl::StrCat("load-", run_, "-", k));
      const uint64_t account = number * static_cast<uint64_t>(accounts_per_batch_) +
                               static_cast<uint64_t>(j % accounts_per_batch_);
      e->set_account_id(ids_[account % ids_.size()]);
      if (k % 2 == 0) {
        e->set_type(v1::EVENT_TYPE_LOGIN);
      } else {
        e->set_type(v1::EVENT_TYPE_FEATURE_USED);
        e->set_subject(kFeatures[(k / 2) % std::size(kFeatures)]);
      }
      *e->mutable_time() = ToProtoTime(now - absl::Seconds(static_cast<int64_t>(k % 600)));
    }
    counts.sent += batch_;
    clients_.Scoring(slot).async()->RecordEvents(s.context.get(), &s.request, &s.response,
                                                 [this, &s, done = std::move(done)](grpc::Status status) {
                                                   if (status.ok()) counts.Add(s.response);
                                                   done(status);
                                                 });
    return true;
  }

  EventCounts counts;

 private:
  Clients& clients_;
  std::vector<CallSlot<v1::RecordEventsRequest, v1::RecordEventsResponse>> slots_;
  const std::vector<std::string>& ids_;
  const int batch_;
  const int accounts_per_batch_;
  const std::string run_;
  std::atomic<uint64_t> next_batch_{0};
};

// ---------------------------------------------------------------------------------------------------
// Memory per account.

struct KeyKindMemory {
  std::string kind;
  double mean = 0;
  int64_t max = 0;
  int missing = 0;
};

struct MemoryReport {
  bool measured = false;
  std::string skipped_reason;
  int sampled = 0;
  std::vector<KeyKindMemory> kinds;
  double mean_total = 0;
  int64_t max_total = 0;
};

absl::StatusOr<MemoryReport> MeasureMemory(const std::string& host, int port,
                                           const std::vector<std::string>& ids, int sample,
                                           const std::string& model) {
  RedisOptions options;
  options.host = host;
  options.port = port;
  options.pool_size = 1;
  auto redis = RedisStore::Connect(options);
  if (!redis.ok()) return redis.status();
  using KeyFn = std::function<std::string(const std::string&)>;
  const std::vector<std::pair<std::string, KeyFn>> kinds = {
      {"account", [](const std::string& id) { return scoring::AccountKey(id); }},
      {"activity", [](const std::string& id) { return scoring::ActivityKey(id); }},
      {"live", [](const std::string& id) { return scoring::LiveActivityKey(id); }},
      {"ids", [](const std::string& id) { return scoring::IdLogKey(id); }},
      {absl::StrCat("scores:", model),
       [&model](const std::string& id) { return scoring::ScoresKey(id, model); }},
      {absl::StrCat("history:", model),
       [&model](const std::string& id) { return scoring::HistoryKey(id, model); }},
  };
  MemoryReport report;
  report.measured = true;
  const int n = std::min<int>(sample, static_cast<int>(ids.size()));
  report.sampled = n;
  std::vector<int64_t> sums(kinds.size(), 0);
  for (const auto& kind : kinds) report.kinds.push_back(KeyKindMemory{kind.first});
  int64_t total_sum = 0;
  for (int s = 0; s < n; ++s) {
    const std::string& id = ids[static_cast<size_t>(s) * ids.size() / static_cast<size_t>(n)];
    int64_t total = 0;
    for (size_t k = 0; k < kinds.size(); ++k) {
      auto bytes = (*redis)->MemoryUsage(kinds[k].second(id));
      if (absl::IsNotFound(bytes.status())) {
        ++report.kinds[k].missing;
        continue;
      }
      if (!bytes.ok()) return bytes.status();
      sums[k] += *bytes;
      report.kinds[k].max = std::max(report.kinds[k].max, *bytes);
      total += *bytes;
    }
    total_sum += total;
    report.max_total = std::max(report.max_total, total);
  }
  for (size_t k = 0; k < kinds.size() && n > 0; ++k) report.kinds[k].mean = static_cast<double>(sums[k]) / n;
  if (n > 0) report.mean_total = static_cast<double>(total_sum) / n;
  return report;
}

// ---------------------------------------------------------------------------------------------------
// The run.

absl::Status WaitServing(Clients& clients, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  std::string last = "no answer";
  while (absl::Now() < give_up) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    health::HealthCheckRequest request;
    health::HealthCheckResponse response;
    const grpc::Status status = clients.health[0]->Check(&context, request, &response);
    if (status.ok() && response.status() == health::HealthCheckResponse::SERVING) return absl::OkStatus();
    last = status.ok() ? absl::StrCat("status ", response.status()) : status.error_message();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::UnavailableError(
      absl::StrCat("Health/Check never said SERVING within ", absl::FormatDuration(timeout), ": ", last));
}

bool SplitHostPort(const std::string& address, std::string& host, int& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return absl::SimpleAtoi(address.substr(colon + 1), &port) && port > 0 && port < 65536;
}

// Fails the run when a step's calls failed too often; otherwise OK.
absl::Status CheckErrors(const PhaseStats& stats, double max_rate) {
  if (stats.calls == 0) return absl::InternalError(absl::StrCat(stats.name, ": no call completed"));
  if (stats.ErrorRate() > max_rate) {
    return absl::InternalError(absl::StrFormat("%s: %.2f%% of %d calls failed (%s); first: %s", stats.name,
                                               100 * stats.ErrorRate(), stats.calls, stats.ErrorSummary(),
                                               stats.first_error));
  }
  return absl::OkStatus();
}

std::string PhaseJson(const PhaseStats& s) {
  std::vector<std::string> errors;
  for (const auto& [code, count] : s.errors) errors.push_back(absl::StrCat(JsonString(code), ":", count));
  return absl::StrCat("{\"calls\":", s.calls, ",\"seconds\":", JsonNumber(s.seconds),
                      ",\"calls_per_s\":", JsonNumber(s.CallsPerSecond()),
                      ",\"p50_ms\":", JsonNumber(s.PercentileMs(0.5)),
                      ",\"p90_ms\":", JsonNumber(s.PercentileMs(0.9)),
                      ",\"p99_ms\":", JsonNumber(s.PercentileMs(0.99)), ",\"max_ms\":", JsonNumber(s.MaxMs()),
                      ",\"failed\":", s.failed, ",\"errors\":{", absl::StrJoin(errors, ","), "}}");
}

std::string Verdict(bool met) { return met ? "met" : "MISSED"; }

int Run() {
  const int account_count = absl::GetFlag(FLAGS_accounts);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int channel_count = absl::GetFlag(FLAGS_channels);
  const int batch = absl::GetFlag(FLAGS_batch_events);
  const double max_error_rate = absl::GetFlag(FLAGS_max_error_rate);
  const absl::Duration seed_timeout = absl::GetFlag(FLAGS_seed_timeout);
  if (account_count < 1 || seconds < 1 || concurrency < 1 || channel_count < 1 || batch < 1 || batch > 1000) {
    std::cerr << "steward_load_bench: --accounts, --seconds, --concurrency, --channels must be >= 1 and "
                 "--batch_events in 1..1000\n";
    return 2;
  }
  auto fail = [](const absl::Status& status) {
    std::cerr << "steward_load_bench: FAILED: " << status << std::endl;
    return 1;
  };
  const absl::Time run_started = absl::Now();

  // The stage: either a given server, or Redis plus steward started here.
  std::string target = absl::GetFlag(FLAGS_target);
  std::string redis_host;
  int redis_port = 0;
  std::unique_ptr<testing::RedisServer> redis_server;
  std::unique_ptr<StewardProcess> steward;
  if (target.empty()) {
    redis_server = std::make_unique<testing::RedisServer>();
    if (absl::Status s = redis_server->Start(); !s.ok()) return fail(s);
    redis_host = "127.0.0.1";
    redis_port = redis_server->port();
    std::vector<std::string> args = {absl::StrCat("--store=redis://127.0.0.1:", redis_port, "/0"),
                                     "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                                     "--refresh_interval=0s", "--services=all"};
    for (const std::string& extra : absl::GetFlag(FLAGS_steward_args)) args.push_back(extra);
    Progress(absl::StrCat("redis-server on port ", redis_port, "; starting ",
                          absl::GetFlag(FLAGS_steward_binary), " ", absl::StrJoin(args, " ")));
    auto started = StewardProcess::Start(absl::GetFlag(FLAGS_steward_binary), args,
                                         absl::GetFlag(FLAGS_startup_timeout));
    if (!started.ok()) return fail(started.status());
    steward = *std::move(started);
    target = absl::StrCat("127.0.0.1:", steward->port());
  } else if (const std::string redis = absl::GetFlag(FLAGS_redis); !redis.empty()) {
    if (!SplitHostPort(redis, redis_host, redis_port)) {
      return fail(absl::InvalidArgumentError(absl::StrCat("--redis: expected HOST:PORT, got ", redis)));
    }
  }
  // Stops steward (SIGTERM, then SIGKILL) and Redis; on every way out of this function.
  auto teardown = [&]() -> absl::Status {
    absl::Status result = absl::OkStatus();
    if (steward != nullptr) result = steward->Stop();
    if (redis_server != nullptr) redis_server->Stop().IgnoreError();
    steward.reset();
    redis_server.reset();
    return result;
  };
  struct Guard {
    std::function<absl::Status()> f;
    ~Guard() {
      if (f) f().IgnoreError();
    }
  } guard{teardown};

  Clients clients(target, channel_count, absl::GetFlag(FLAGS_call_timeout));
  if (absl::Status s = WaitServing(clients, absl::Seconds(10)); !s.ok()) return fail(s);
  Progress(absl::StrCat("steward serving at ", target));

  std::string model = "health";
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ListScoringModelsResponse models;
    if (grpc::Status s = clients.scoring[0]->ListScoringModels(&context, {}, &models); !s.ok()) {
      return fail(absl::UnavailableError(absl::StrCat("ListScoringModels: ", s.error_message())));
    }
    if (!models.default_model().empty()) model = models.default_model();
  }

  // Seeding.
  const absl::Time seed_now = absl::Now();
  std::vector<v1::Account> accounts;
  std::vector<std::string> ids;
  for (int i = 0; i < account_count; ++i) {
    ids.push_back(absl::StrFormat("%s%06d", absl::GetFlag(FLAGS_account_prefix), i));
    accounts.push_back(MakeAccount(i, ids.back(), seed_now));
  }
  Progress(
      absl::StrCat("seeding ", account_count, " accounts with ", kHistoryDays, " days of activity each"));
  UpsertLoad upserts(clients, concurrency, accounts);
  const PhaseStats upsert_stats =
      PhaseRunner(upserts, concurrency).Run("seed UpsertAccount", seed_timeout, nullptr);
  if (absl::Status s = CheckErrors(upsert_stats, max_error_rate); !s.ok()) return fail(s);

  SeedEventsLoad seeding(clients, concurrency, accounts, batch, seed_now);
  const SteadyClock::time_point seed_start = SteadyClock::now();
  auto seed_progress = [&seeding, &seed_start, account_count] {
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - seed_start).count();
    const int64_t recorded = seeding.counts.recorded.load();
    Progress(absl::StrFormat("seeding: accounts started %d/%d, events recorded %d (%.0f events/s)",
                             seeding.accounts_started(), account_count, recorded,
                             elapsed > 0 ? static_cast<double>(recorded) / elapsed : 0.0));
  };
  const PhaseStats seed_stats =
      PhaseRunner(seeding, concurrency).Run("seed RecordEvents", seed_timeout, seed_progress);
  if (absl::Status s = CheckErrors(seed_stats, max_error_rate); !s.ok()) return fail(s);
  if (seeding.accounts_started() < accounts.size()) {
    return fail(absl::DeadlineExceededError("seeding did not finish within --seed_timeout"));
  }
  const double seed_events_per_s =
      seed_stats.seconds > 0 ? static_cast<double>(seeding.counts.recorded) / seed_stats.seconds : 0;
  Progress(absl::StrFormat("seeded: %d events in %d calls, %.1f s (%.0f events/s); duplicates %d, expired %d",
                           seeding.counts.recorded.load(), seed_stats.calls, seed_stats.seconds,
                           seed_events_per_s, seeding.counts.duplicates.load(),
                           seeding.counts.expired.load()));

  const absl::Duration phase_duration = absl::Seconds(seconds);
  std::vector<PhaseStats> phases;

  // (a) Baseline.
  Progress(absl::StrCat("phase health_check: ", seconds, " s"));
  HealthCheckLoad health_load(clients, concurrency);
  phases.push_back(PhaseRunner(health_load, concurrency).Run("health_check", phase_duration, nullptr));

  // (b) Warm-up pass (computes and caches every account's scores), then cached GetScores.
  Progress("GetScores warm-up pass over every account");
  GetScoresLoad warm_up(clients, concurrency, ids, /*bounded=*/true);
  const PhaseStats warm_stats =
      PhaseRunner(warm_up, concurrency).Run("GetScores warm-up", seed_timeout, nullptr);
  if (absl::Status s = CheckErrors(warm_stats, max_error_rate); !s.ok()) return fail(s);
  Progress(absl::StrCat("phase get_scores_cached: ", seconds, " s"));
  GetScoresLoad cached_load(clients, concurrency, ids, /*bounded=*/false);
  phases.push_back(PhaseRunner(cached_load, concurrency).Run("get_scores_cached", phase_duration, nullptr));

  // (d) Segmentation reads, once the maintainer has segmented every seeded account.
  Progress("waiting for segment membership of every account");
  if (absl::Status s = WaitForSegments(clients, account_count, seed_timeout); !s.ok()) return fail(s);
  Progress(absl::StrCat("phase get_account_segments: ", seconds, " s"));
  AccountSegmentsLoad segments_load(clients, concurrency, ids);
  const PhaseStats segments_stats =
      PhaseRunner(segments_load, concurrency).Run("get_account_segments", phase_duration, nullptr);
  Progress(absl::StrCat("phase list_segment_members: ", seconds, " s"));
  SegmentMembersLoad members_load(clients, concurrency);
  const PhaseStats members_stats =
      PhaseRunner(members_load, concurrency).Run("list_segment_members", phase_duration, nullptr);

  // (e) Upsell evaluation.
  Progress(absl::StrCat("phase evaluate_account: ", seconds, " s"));
  EvaluateAccountLoad evaluate_load(clients, concurrency, ids);
  const PhaseStats evaluate_stats =
      PhaseRunner(evaluate_load, concurrency).Run("evaluate_account", phase_duration, nullptr);

  // Memory per account, before the RecordEvents phase adds its synthetic events: 90 days of realistic
  // activity plus the cached scores and one day of history.
  MemoryReport memory;
  if (redis_port > 0) {
    auto measured = MeasureMemory(redis_host, redis_port, ids, absl::GetFlag(FLAGS_memory_sample), model);
    if (!measured.ok()) {
      memory.skipped_reason = std::string(measured.status().message());
      Progress(absl::StrCat("memory not measured: ", memory.skipped_reason));
    } else {
      memory = *std::move(measured);
    }
  } else {
    memory.skipped_reason = "no --redis given with --target";
  }

  // (c) RecordEvents, spread (one account per event) and grouped (--grouped_accounts per batch).
  Progress(absl::StrCat("phase record_events: ", seconds, " s"));
  RecordEventsLoad record_load(clients, concurrency, ids, batch, batch, "spread");
  phases.push_back(PhaseRunner(record_load, concurrency).Run("record_events", phase_duration, nullptr));
  const int grouped_accounts = absl::GetFlag(FLAGS_grouped_accounts);
  Progress(absl::StrCat("phase record_events_grouped: ", seconds, " s"));
  RecordEventsLoad grouped_load(clients, concurrency, ids, batch, grouped_accounts, "grouped");
  phases.push_back(PhaseRunner(grouped_load, concurrency).Run("record_grouped", phase_duration, nullptr));

  phases.push_back(segments_stats);
  phases.push_back(members_stats);
  phases.push_back(evaluate_stats);

  const absl::Status stopped = teardown();
  guard.f = nullptr;
  const double run_seconds = absl::ToDoubleSeconds(absl::Now() - run_started);

  // Report.
  const PhaseStats& base = phases[0];
  const PhaseStats& get = phases[1];
  const PhaseStats& rec = phases[2];
  const double get_ratio = base.CallsPerSecond() > 0 ? get.CallsPerSecond() / base.CallsPerSecond() : 0;
  const double rec_ratio = base.CallsPerSecond() > 0 ? rec.CallsPerSecond() / base.CallsPerSecond() : 0;
  const double events_per_s =
      rec.seconds > 0 ? static_cast<double>(record_load.counts.recorded) / rec.seconds : 0;
  const PhaseStats& grouped = phases[3];
  const double grouped_events_per_s =
      grouped.seconds > 0 ? static_cast<double>(grouped_load.counts.recorded) / grouped.seconds : 0;
  const double segments_ratio =
      base.CallsPerSecond() > 0 ? segments_stats.CallsPerSecond() / base.CallsPerSecond() : 0;
  const double members_ratio =
      base.CallsPerSecond() > 0 ? members_stats.CallsPerSecond() / base.CallsPerSecond() : 0;
  const double evaluate_ratio =
      base.CallsPerSecond() > 0 ? evaluate_stats.CallsPerSecond() / base.CallsPerSecond() : 0;
  const int64_t get_answers = cached_load.cached + cached_load.computed;
  const double cached_share = get_answers > 0 ? static_cast<double>(cached_load.cached) / get_answers : 0;
  const double response_bytes = cached_load.size_samples > 0
                                    ? static_cast<double>(cached_load.size_bytes) / cached_load.size_samples
                                    : 0;

  std::cout << absl::StrFormat(
      "\nSteward load benchmark: target %s (%s), %d accounts, %d s per phase, %d in flight over %d channels, "
      "batches of %d events\n",
      target, absl::GetFlag(FLAGS_target).empty() ? "started here, Redis store" : "given", account_count,
      seconds, concurrency, channel_count, batch);
  std::cout << absl::StrFormat(
      "seeding: %d accounts, %d events in %d RecordEvents calls, %.1f s (%.0f events/s)\n\n", account_count,
      seeding.counts.recorded.load(), seed_stats.calls, seed_stats.seconds, seed_events_per_s);
  std::cout << absl::StrFormat("%-20s %10s %11s %9s %9s %9s %9s  %s\n", "phase", "calls", "calls/s", "p50 ms",
                               "p90 ms", "p99 ms", "max ms", "errors");
  for (const PhaseStats& p : phases) {
    std::cout << absl::StrFormat("%-20s %10d %11.1f %9.3f %9.3f %9.3f %9.3f  %s\n", p.name, p.calls,
                                 p.CallsPerSecond(), p.PercentileMs(0.5), p.PercentileMs(0.9),
                                 p.PercentileMs(0.99), p.MaxMs(), p.ErrorSummary());
  }
  std::cout << absl::StrFormat(
      "\nGetScores cached share: %.1f%% (%d of %d sampled answers); mean response %.0f bytes\n",
      100 * cached_share, cached_load.cached.load(), get_answers, response_bytes);
  std::cout << absl::StrFormat("RecordEvents: %d events recorded (%d duplicates, %d expired) of %d sent\n\n",
                               record_load.counts.recorded.load(), record_load.counts.duplicates.load(),
                               record_load.counts.expired.load(), record_load.counts.sent.load());
  std::cout << "ratios to the Health/Check baseline of this run (calls/s ÷ calls/s):\n";
  std::cout << absl::StrFormat("  %-44s %10.3f   target >= %.2f   %s\n", "GetScores(cached) / Health.Check",
                               get_ratio, kTargetGetScoresRatio, Verdict(get_ratio >= kTargetGetScoresRatio));
  std::cout << absl::StrFormat("  %-44s %10.3f\n", "RecordEvents(100 events) / Health.Check", rec_ratio);
  std::cout << absl::StrFormat("  %-44s %10.0f   target >= %.0f   %s\n",
                               absl::StrCat("RecordEvents events/s, ", batch, " accounts a batch"),
                               events_per_s, kTargetEventsPerSecond,
                               Verdict(events_per_s >= kTargetEventsPerSecond));
  std::cout << absl::StrFormat("  %-44s %10.0f   target >= %.0f   %s\n",
                               absl::StrCat("RecordEvents events/s, ", grouped_accounts, " accounts a batch"),
                               grouped_events_per_s, kTargetEventsPerSecond,
                               Verdict(grouped_events_per_s >= kTargetEventsPerSecond));
  std::cout << absl::StrFormat("  %-44s %10.3f   target >= %.2f   %s\n", "GetAccountSegments / Health.Check",
                               segments_ratio, kTargetSegmentsRatio,
                               Verdict(segments_ratio >= kTargetSegmentsRatio));
  std::cout << absl::StrFormat("  %-44s %10.3f   target >= %.2f   %s\n",
                               "ListSegmentMembers(100) / Health.Check", members_ratio, kTargetSegmentsRatio,
                               Verdict(members_ratio >= kTargetSegmentsRatio));
  std::cout << absl::StrFormat("  %-44s %10.3f   (%.0f accounts evaluated/s)\n",
                               "EvaluateAccount / Health.Check", evaluate_ratio,
                               evaluate_stats.CallsPerSecond());
  if (memory.measured) {
    std::cout << absl::StrFormat(
        "\nRedis memory per account (MEMORY USAGE, sample of %d seeded accounts, before "
        "the RecordEvents phase):\n",
        memory.sampled);
    std::cout << absl::StrFormat("  %-20s %10s %10s %8s\n", "key kind", "mean B", "max B", "missing");
    for (const KeyKindMemory& k : memory.kinds) {
      std::cout << absl::StrFormat("  %-20s %10.0f %10d %8d\n", k.kind, k.mean, k.max, k.missing);
    }
    std::cout << absl::StrFormat("  %-20s %10.0f %10d %8s   aim <= %.0f B   %s\n", "total", memory.mean_total,
                                 memory.max_total, "", kMemoryAimBytes,
                                 Verdict(memory.mean_total <= kMemoryAimBytes));
  } else {
    std::cout << "\nRedis memory per account: not measured (" << memory.skipped_reason << ")\n";
  }
  std::cout << absl::StrFormat("\nrun time %.1f s\n", run_seconds);

  std::string json =
      absl::StrCat("{\"bench\":\"steward_load\",\"target\":", JsonString(target),
                   ",\"spawned\":", absl::GetFlag(FLAGS_target).empty() ? "true" : "false",
                   ",\"accounts\":", account_count, ",\"seconds\":", seconds,
                   ",\"concurrency\":", concurrency, ",\"channels\":", channel_count,
                   ",\"batch_events\":", batch, ",\"seed\":{\"events\":", seeding.counts.recorded.load(),
                   ",\"calls\":", seed_stats.calls, ",\"seconds\":", JsonNumber(seed_stats.seconds),
                   ",\"events_per_s\":", JsonNumber(seed_events_per_s), "}");
  absl::StrAppend(&json, ",\"phases\":{");
  for (size_t i = 0; i < phases.size(); ++i) {
    absl::StrAppend(&json, i > 0 ? "," : "", JsonString(phases[i].name), ":", PhaseJson(phases[i]));
  }
  absl::StrAppend(&json, "},\"get_scores_cached_share\":", JsonNumber(cached_share),
                  ",\"get_scores_response_bytes\":", JsonNumber(response_bytes),
                  ",\"record_events\":{\"events_per_s\":", JsonNumber(events_per_s),
                  ",\"grouped_accounts\":", grouped_accounts,
                  ",\"grouped_events_per_s\":", JsonNumber(grouped_events_per_s),
                  ",\"recorded\":", record_load.counts.recorded.load(),
                  ",\"duplicates\":", record_load.counts.duplicates.load(),
                  ",\"expired\":", record_load.counts.expired.load(), "}",
                  ",\"ratios\":{\"get_scores_cached_vs_health\":", JsonNumber(get_ratio),
                  ",\"record_events_vs_health\":", JsonNumber(rec_ratio),
                  ",\"get_account_segments_vs_health\":", JsonNumber(segments_ratio),
                  ",\"list_segment_members_vs_health\":", JsonNumber(members_ratio),
                  ",\"evaluate_account_vs_health\":", JsonNumber(evaluate_ratio), "}",
                  ",\"targets\":{\"get_scores_ratio\":", JsonNumber(kTargetGetScoresRatio),
                  ",\"get_scores_ratio_met\":", get_ratio >= kTargetGetScoresRatio ? "true" : "false",
                  ",\"events_per_s\":", JsonNumber(kTargetEventsPerSecond),
                  ",\"events_per_s_met\":", events_per_s >= kTargetEventsPerSecond ? "true" : "false",
                  ",\"memory_bytes_per_account\":", JsonNumber(kMemoryAimBytes));
  if (memory.measured) {
    absl::StrAppend(&json, ",\"memory_met\":", memory.mean_total <= kMemoryAimBytes ? "true" : "false",
                    "},\"memory\":{\"sampled\":", memory.sampled,
                    ",\"mean_bytes\":", JsonNumber(memory.mean_total), ",\"max_bytes\":", memory.max_total,
                    ",\"by_kind\":{");
    for (size_t k = 0; k < memory.kinds.size(); ++k) {
      absl::StrAppend(&json, k > 0 ? "," : "", JsonString(memory.kinds[k].kind),
                      ":{\"mean_bytes\":", JsonNumber(memory.kinds[k].mean),
                      ",\"max_bytes\":", memory.kinds[k].max, ",\"missing\":", memory.kinds[k].missing, "}");
    }
    absl::StrAppend(&json, "}}");
  } else {
    absl::StrAppend(&json, "},\"memory\":null");
  }
  absl::StrAppend(&json, ",\"run_seconds\":", JsonNumber(run_seconds), "}");
  std::cout << json << std::endl;

  // Something broke (as opposed to a target missed): too many failed calls, or a server that did not
  // stop cleanly.
  int exit_code = 0;
  for (const PhaseStats& p : phases) {
    if (absl::Status s = CheckErrors(p, max_error_rate); !s.ok()) {
      std::cerr << "steward_load_bench: FAILED: " << s << std::endl;
      exit_code = 1;
    }
  }
  if (!stopped.ok()) {
    std::cerr << "steward_load_bench: FAILED: " << stopped << std::endl;
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace
}  // namespace steward::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "steward_load_bench: load generator for steward over loopback; by default starts redis-server and "
      "steward itself. See bench/README.md.");
  absl::ParseCommandLine(argc, argv);
  return steward::bench::Run();
}
