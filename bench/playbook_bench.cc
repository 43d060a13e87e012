// The playbook runner on a throwaway redis-server: steps executed per second with N enrolments in
// flight, lateness of steps (due time to hand-off, p50/p99) while keeping up with a steady arrival
// rate, and Redis memory per enrolment.
//
// Baseline, measured in the same run: the store's own rate of compare-and-set writes of a record the
// size of an enrolment, pipelined 256 at a time. Running a step needs at least that write (plus its
// action, schedule move and index move), so "steps/s ÷ baseline writes/s" says what the engine costs on
// top of the store.
//
// Phases:
//   1. seed N enrolments of a five-step playbook straight into the store (records, schedule, index),
//      first step due at a fixed time on a fake clock; measure memory per enrolment;
//   2. backlog: the fake clock moves past that time and `--threads` runner loops run all N first steps;
//   3. lateness: on the wall clock, `--rate` new enrolments a second fall due for `--seconds` seconds
//      while the N stay in flight; each action's hand-off time minus its due time is its lateness.
//
//   build/bench/steward_playbook_bench [--enrollments=100000] [--threads=2] [--rate=10000] [--seconds=5]

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/support/report.h"
#include "common/clock.h"
#include "common/proto_time.h"
#include "common/store/redis_store.h"
#include "google/protobuf/text_format.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/playbooks/engine/engine_config.h"
#include "services/playbooks/engine/enrollment_keys.h"
#include "services/playbooks/engine/enrollment_machine.h"
#include "services/playbooks/engine/playbook_engine.h"
#include "tests/support/redis_server.h"

ABSL_FLAG(int, enrollments, 100000, "Enrolments in flight.");
ABSL_FLAG(int, threads, 2, "Runner loops (as --playbook_runner_threads).");
ABSL_FLAG(int, batch, 256, "Due steps claimed per round trip (as the server's runner).");
ABSL_FLAG(int, rate, 10000, "Lateness phase: steps falling due per second.");
ABSL_FLAG(int, seconds, 5, "Lateness phase: how long steps keep falling due.");
ABSL_FLAG(std::string, config_dir, STEWARD_SOURCE_DIR "/config", "Steward's configuration directory.");

namespace steward::playbooks {
namespace {

constexpr int kSeedBatch = 1000;

// Five touches an hour apart, each on a customer-facing channel (so the frequency caps of the shipped
// configuration are checked and the account's touches written, as in production).
constexpr char kBenchPlaybook[] = R"pb(
  id: "bench"
  version: 1
  display_name: "Bench"
  reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
  steps {
    id: "s1"
    delay { hours: 1 }
    email { template_key: "bench.one" subject_key: "bench.one.subject" }
  }
  steps {
    id: "s2"
    delay { hours: 2 }
    in_app { message_key: "bench.two" }
  }
  steps {
    id: "s3"
    delay { hours: 3 }
    email { template_key: "bench.three" subject_key: "bench.three.subject" }
  }
  steps {
    id: "s4"
    delay { hours: 4 }
    in_app { message_key: "bench.four" }
  }
  steps {
    id: "s5"
    delay { hours: 5 }
    email { template_key: "bench.five" subject_key: "bench.five.subject" }
  }
)pb";

// The runner reads no account facts for a playbook without rules; this answers if it ever asked.
class NoFacts final : public AccountFactsSource {
 public:
  absl::StatusOr<AccountFacts> Load(const std::string&) const override { return AccountFacts(); }
};

std::string AccountId(const std::string& prefix, int i) { return absl::StrFormat("%s%07d", prefix, i); }

// Writes `count` enrolments (accounts prefix0000000…) whose first step falls due at due(i).
template <typename DueOf>
absl::Status Seed(Store& store, const CompiledPlaybook& playbook, const std::string& prefix, int count,
                  DueOf due_of) {
  for (int first = 0; first < count; first += kSeedBatch) {
    std::vector<Write> writes;
    std::vector<std::string> members;
    for (int i = first; i < std::min(count, first + kSeedBatch); ++i) {
      const std::string account = AccountId(prefix, i);
      const absl::Time due = due_of(i);
      v1::PlaybookEnrollments record;
      record.set_enrollment_count(1);
      *record.mutable_latest() = StartEnrollment(playbook, account, 1, ArmAssignment(),
                                                 v1::ENROLLMENT_SOURCE_MANUAL, "bench", due - absl::Hours(1));
      Write& write = writes.emplace_back();
      write.key = EnrollmentsKey(account, playbook.id());
      write.value = record.SerializeAsString();
      write.expected_version = 0;
      write.schedule_changes.push_back(
          ScheduleChange{std::string(kScheduleName), record.latest().enrollment_id(), ScheduleMillis(due)});
      members.push_back(IndexMember(record.latest()));
    }
    auto applied = store.Put(writes);
    if (!applied.ok()) return applied.status();
    if (absl::Status s = store.IndexAdd(PlaybookIndexName(playbook.id()), members); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Runs `threads` runner loops until nothing is due (backlog) or until `stop` (steady arrivals).
int64_t RunLoops(PlaybookEngine& engine, int threads, int batch, const std::function<bool()>& stop) {
  std::atomic<int64_t> steps{0};
  std::vector<std::thread> loops;
  for (int t = 0; t < threads; ++t) {
    loops.emplace_back([&] {
      while (!stop()) {
        auto claimed = engine.RunDue(batch);
        if (!claimed.ok()) {
          std::cerr << "RunDue: " << claimed.status() << "\n";
          return;
        }
        steps += *claimed;
        if (*claimed < batch) absl::SleepFor(absl::Milliseconds(2));  // the server's idle poll is 20 ms
      }
    });
  }
  for (std::thread& t : loops) t.join();
  return steps.load();
}

int Run() {
  const int n = absl::GetFlag(FLAGS_enrollments);
  const int threads = absl::GetFlag(FLAGS_threads);
  const int batch = absl::GetFlag(FLAGS_batch);
  testing::RedisServer redis;
  if (absl::Status s = redis.Start(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  RedisOptions options;
  options.port = redis.port();
  options.client_side_caching = false;
  auto store = RedisStore::Connect(options);
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return 1;
  }
  v1::Playbook definition;
  google::protobuf::TextFormat::ParseFromString(kBenchPlaybook, &definition);
  if (absl::Status s = ValidatePlaybook(definition, "bench"); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  auto engine_config = LoadPlaybookEngineConfig(absl::GetFlag(FLAGS_config_dir) + "/playbooks.textproto");
  auto registry = PlaybookRegistry::Create(**store, {definition});
  if (!engine_config.ok() || !registry.ok() || !(*registry)->Publish().ok()) {
    std::cerr << "setup failed\n";
    return 1;
  }
  const CompiledPlaybook& playbook = *(*registry)->Current("bench");
  NoFacts facts;

  // Baseline: pipelined compare-and-set writes of records of an enrolment's size.
  const std::string filler(200, 'x');
  const int baseline_writes = std::min(n, 100000);
  const absl::Time baseline_start = absl::Now();
  for (int first = 0; first < baseline_writes; first += 256) {
    std::vector<Write> writes;
    for (int i = first; i < std::min(baseline_writes, first + 256); ++i) {
      Write& w = writes.emplace_back();
      w.key = absl::StrCat(KeyTag(AccountId("base-", i)), ":baseline");
      w.value = filler;
      w.expected_version = 0;
    }
    if (!(*store)->Put(writes).ok()) return 1;
  }
  const double baseline_rate = baseline_writes / absl::ToDoubleSeconds(absl::Now() - baseline_start);
  std::vector<std::string> baseline_keys;
  for (int i = 0; i < baseline_writes; ++i)
    baseline_keys.push_back(absl::StrCat(KeyTag(AccountId("base-", i)), ":baseline"));
  (void)(*store)->Delete(baseline_keys);

  // 1. Seed, a month ahead of the wall clock so that the lateness phase leaves them alone.
  const absl::Time due = absl::Now() + absl::Hours(24 * 30);
  const absl::Time seed_start = absl::Now();
  if (absl::Status s = Seed(**store, playbook, "acct-", n, [&](int) { return due; }); !s.ok()) {
    std::cerr << "seed: " << s << "\n";
    return 1;
  }
  const double seed_seconds = absl::ToDoubleSeconds(absl::Now() - seed_start);
  int64_t record_bytes = 0;
  const int sample = std::min(n, 200);
  for (int i = 0; i < sample; ++i) {
    auto bytes = (*store)->MemoryUsage(
        EnrollmentsKey(AccountId("acct-", (static_cast<int64_t>(i) * n) / sample), "bench"));
    if (bytes.ok()) record_bytes += *bytes;
  }
  auto schedule_bytes = (*store)->MemoryUsage(std::string(kScheduleName));
  auto index_bytes = (*store)->MemoryUsage(PlaybookIndexName("bench"));
  const double per_enrollment = static_cast<double>(record_bytes) / sample +
                                static_cast<double>(schedule_bytes.value_or(0) + index_bytes.value_or(0)) / n;

  // 2. Backlog: every first step due at once.
  FakeClock fake(due + absl::Minutes(1));
  PlaybookEngine backlog_engine(**store, fake, **registry, facts, *engine_config);
  const absl::Time backlog_start = absl::Now();
  std::atomic<bool> drained{false};
  const int64_t backlog_steps = RunLoops(backlog_engine, threads, batch, [&] {
    if (drained) return true;
    auto next = backlog_engine.NextDue();
    if (next.ok() && next->has_value() && **next > fake.Now()) drained = true;
    return drained.load();
  });
  const double backlog_seconds = absl::ToDoubleSeconds(absl::Now() - backlog_start);
  const double backlog_rate = backlog_steps / backlog_seconds;

  // 3. Lateness: steps falling due at a steady rate on the wall clock, N still in flight.
  const int rate = absl::GetFlag(FLAGS_rate);
  const int arrivals = rate * absl::GetFlag(FLAGS_seconds);
  SystemClock wall;
  PlaybookEngine live_engine(**store, wall, **registry, facts, *engine_config);
  const absl::Time first_due =
      absl::Now() + absl::Seconds(3) + absl::Seconds(arrivals / 5000.0);  // after seeding
  if (absl::Status s = Seed(**store, playbook, "live-", arrivals,
                            [&](int i) { return first_due + absl::Seconds(static_cast<double>(i) / rate); });
      !s.ok()) {
    std::cerr << "seed live: " << s << "\n";
    return 1;
  }
  const absl::Time live_end =
      first_due + absl::Seconds(static_cast<double>(arrivals) / rate) + absl::Seconds(1);
  auto last_before = (*store)->LogLastId(std::string(kActionLogName));
  const int64_t live_steps = RunLoops(live_engine, threads, batch, [&] { return absl::Now() > live_end; });
  std::vector<double> lateness_ms;
  std::string cursor = last_before.value_or("");
  for (;;) {
    auto entries = (*store)->LogRead(std::string(kActionLogName), cursor, 5000);
    if (!entries.ok() || entries->empty()) break;
    for (const LogEntry& entry : *entries) {
      v1::PlaybookAction action;
      if (!action.ParseFromString(entry.bytes) || action.account_id().rfind("live-", 0) != 0) continue;
      lateness_ms.push_back(absl::ToDoubleMilliseconds(FromProtoTime(action.created_time()) -
                                                       FromProtoTime(action.due_time())));
    }
    cursor = entries->back().id;
  }

  std::sort(lateness_ms.begin(), lateness_ms.end());
  using bench::Percentile;
  std::cout << absl::StrFormat(
      "playbook runner, Redis on loopback, %d runner threads, batches of %d\n"
      "  baseline: %.0f compare-and-set writes/s (pipelined, 256 per round trip)\n"
      "  seeded %d enrolments in %.1f s; Redis memory per enrolment: %.0f B (record %.0f B + schedule and "
      "index "
      "%.0f B)\n"
      "  backlog: %lld steps in %.2f s = %.0f steps/s with %d in flight (%.2fx baseline)\n"
      "  steady: %d steps due over %d s (%d/s) with %d in flight: %zu handed off (%lld claimed), lateness "
      "p50 "
      "%.1f ms, p99 %.1f ms, max %.1f ms\n",
      threads, batch, baseline_rate, n, seed_seconds, per_enrollment,
      static_cast<double>(record_bytes) / sample,
      static_cast<double>(schedule_bytes.value_or(0) + index_bytes.value_or(0)) / n,
      static_cast<long long>(backlog_steps), backlog_seconds, backlog_rate, n, backlog_rate / baseline_rate,
      arrivals, absl::GetFlag(FLAGS_seconds), rate, n, lateness_ms.size(), static_cast<long long>(live_steps),
      Percentile(lateness_ms, 0.5), Percentile(lateness_ms, 0.99), Percentile(lateness_ms, 1.0));
  std::cout << absl::StrFormat(
      "{\"bench\":\"playbook\",\"enrollments\":%d,\"threads\":%d,\"baseline_writes_per_s\":%.0f,"
      "\"steps_per_s\":%.0f,\"ratio_to_baseline\":%.3f,\"bytes_per_enrollment\":%.0f,\"lateness_p50_ms\":%."
      "2f,"
      "\"lateness_p99_ms\":%.2f}\n",
      n, threads, baseline_rate, backlog_rate, backlog_rate / baseline_rate, per_enrollment,
      Percentile(lateness_ms, 0.5), Percentile(lateness_ms, 0.99));
  // A run that handed off nothing is broken, whatever its speed.
  return backlog_steps >= n && static_cast<int>(lateness_ms.size()) == arrivals ? 0 : 1;
}

}  // namespace
}  // namespace steward::playbooks

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return steward::playbooks::Run();
}
