// How long, and how much memory, it takes to build segment membership from scratch: N accounts with a
// few days of activity are seeded into a throwaway redis-server through an in-process steward (scoring
// and segmentation, wired as in the all-in-one binary), then the membership maintainer rebuilds every
// account's segments (built-in segmentations plus a few custom segments), writing membership records,
// member indexes, counters and one membership event per segment entered.
//
// The baseline, measured in the same run, is one pass of BatchGetScores over every account through the
// same gRPC channel the maintainer uses (cached scores): the rebuild cannot be faster than fetching
// what it decides on, so "rebuild / scoring pass" says what segmentation itself costs.
//
//   build/bench/steward_segment_build_bench [--accounts=100000]

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/proto_time.h"
#include "common/store/redis_store.h"
#include "google/protobuf/text_format.h"
#include "server/steward_server.h"
#include "services/scoring/model/model_config.h"
#include "services/segmentation/builtin/builtin_segments.h"
#include "services/segmentation/builtin/segmentation_config.h"
#include "services/segmentation/keys.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "steward/v1/segmentation_service.grpc.pb.h"
#include "tests/support/redis_server.h"

ABSL_FLAG(int, accounts, 100000, "Accounts to seed and segment.");
ABSL_FLAG(int, threads, 8, "Seeding threads.");
ABSL_FLAG(int, memory_sample, 200, "Accounts whose membership record's Redis memory is measured.");
ABSL_FLAG(std::string, config_dir, STEWARD_SOURCE_DIR "/config", "Steward's configuration directory.");

namespace steward {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());
constexpr int kBatch = 500;

int64_t ResidentKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      int64_t kib = 0;
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') digits += c;
      }
      if (absl::SimpleAtoi(digits, &kib)) return kib;
    }
  }
  return 0;
}

// Runs `work(i)` for i in [0, n) on `threads` threads; the first error wins.
absl::Status Parallel(int n, int threads, const std::function<absl::Status(int)>& work) {
  std::vector<std::thread> pool;
  std::vector<absl::Status> errors(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = t; i < n && errors[t].ok(); i += threads) errors[t] = work(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
  for (const absl::Status& s : errors) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

v1::Event MakeEvent(const std::string& account, std::string id, v1::EventType type, absl::Time t,
                    std::string subject = "", double value = 0) {
  v1::Event e;
  e.set_event_id(std::move(id));
  e.set_account_id(account);
  e.set_type(type);
  *e.mutable_time() = ToProtoTime(t);
  e.set_subject(std::move(subject));
  e.set_value(value);
  return e;
}

int Run() {
  const int n = absl::GetFlag(FLAGS_accounts);
  const int threads = absl::GetFlag(FLAGS_threads);
  auto fail = [](const absl::Status& s) {
    std::cerr << "segment build bench failed: " << s << "\n";
    return 1;
  };

  testing::RedisServer redis;
  if (absl::Status s = redis.Start(); !s.ok()) return fail(s);
  RedisOptions options;
  options.port = redis.port();
  options.pool_size = threads + 8;
  auto store = RedisStore::Connect(options);
  if (!store.ok()) return fail(store.status());
  const std::string dir = absl::GetFlag(FLAGS_config_dir);
  auto models = scoring::LoadModelDirectory(dir);
  if (!models.ok()) return fail(models.status());
  auto segmentation = segmentation::LoadSegmentationConfig(dir + "/segmentation.textproto");
  if (!segmentation.ok()) return fail(segmentation.status());
  auto loyalty = segmentation::LoadLoyaltyConfig(dir + "/loyalty.textproto");
  if (!loyalty.ok()) return fail(loyalty.status());

  FakeClock clock(kNow);
  ServerConfig config;
  config.services = {std::string(kScoringServiceName), std::string(kSegmentationServiceName)};
  config.segmentation_config = *segmentation;
  config.loyalty_config = *loyalty;
  // The maintainer's own loop stays idle (an hour between polls); the bench calls Rebuild itself.
  config.maintainer.poll_interval = absl::Hours(1);
  auto server = StewardServer::Start(config, **store, clock, *std::move(models));
  if (!server.ok()) return fail(server.status());
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials());
  auto segments = v1::SegmentationService::NewStub(channel);

  // Custom segments, as an operator would define them.
  for (const char* text : {
           R"(segment_id: "at-risk-enterprise" display_name: "At-risk enterprise" rule { all {
                rules { compare { field: "score.churn_probability" op: OPERATOR_GE number: 0.4 } }
                rules { compare { field: "account.size" op: OPERATOR_EQ text: "enterprise" } } } })",
           R"(segment_id: "engaged" display_name: "Engaged" rule {
                compare { field: "feature.logins_30d" op: OPERATOR_GE number: 4 } })",
           R"(segment_id: "fintech-or-health" display_name: "Regulated" rule {
                in { field: "segment" texts: "industry/banking" texts: "industry/health" } })"}) {
    v1::CreateSegmentRequest request;
    if (!google::protobuf::TextFormat::ParseFromString(text, request.mutable_segment())) {
      return fail(absl::InternalError("bad segment text"));
    }
    grpc::ClientContext context;
    v1::CreateSegmentResponse response;
    grpc::Status status = segments->CreateSegment(&context, request, &response);
    if (!status.ok()) return fail(absl::InternalError(status.error_message()));
  }

  // Seed: N accounts, each with a few days of logins, feature use and an NPS answer.
  const absl::Time seed_start = absl::Now();
  const char* industries[] = {"technology", "banking", "health", "marketing", "retail"};
  std::vector<std::string> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = absl::StrFormat("acct-%07d", i);
  scoring::ScoringService& scoring = *(*server)->scoring();
  absl::Status seeded = Parallel(n, threads, [&](int i) {
    v1::UpsertAccountRequest request;
    v1::Account& a = *request.mutable_account();
    a.set_account_id(ids[i]);
    a.set_mrr(50 + (i * 37) % 5000);
    a.set_gross_margin(0.8);
    a.set_industry(industries[i % 5]);
    a.set_size(static_cast<v1::AccountSize>(1 + i % 3));
    a.mutable_plan()->set_feature_count(12);
    *a.mutable_start_time() = ToProtoTime(kNow - absl::Hours(24 * (i % 900)));
    return scoring.UpsertAccount(request).status();
  });
  if (!seeded.ok()) return fail(seeded);
  const int per_batch_accounts = 100;
  seeded = Parallel((n + per_batch_accounts - 1) / per_batch_accounts, threads, [&](int b) {
    v1::RecordEventsRequest request;
    for (int i = b * per_batch_accounts; i < std::min(n, (b + 1) * per_batch_accounts); ++i) {
      for (int day = 0; day < (i % 7) + 1; ++day) {
        const absl::Time t = kNow - absl::Hours(24 * day + 2);
        *request.add_events() = MakeEvent(ids[i], absl::StrCat("l", day), v1::EVENT_TYPE_LOGIN, t);
        *request.add_events() =
            MakeEvent(ids[i], absl::StrCat("f", day), v1::EVENT_TYPE_FEATURE_USED, t, absl::StrCat("f", day));
      }
      *request.add_events() =
          MakeEvent(ids[i], "nps", v1::EVENT_TYPE_NPS_RESPONSE, kNow - absl::Hours(3), "", i % 11);
    }
    return scoring.RecordEvents(request).status();
  });
  if (!seeded.ok()) return fail(seeded);
  const double seed_seconds = absl::ToDoubleSeconds(absl::Now() - seed_start);
  std::cerr << absl::StrFormat("seeded %d accounts in %.1f s\n", n, seed_seconds);

  // Baseline: score every account once to fill the cache, then time a cached pass.
  auto scores = v1::ScoringService::NewStub(channel);
  auto scoring_pass = [&]() -> absl::StatusOr<double> {
    const absl::Time start = absl::Now();
    for (int at = 0; at < n; at += kBatch) {
      v1::BatchGetScoresRequest request;
      for (int i = at; i < std::min(n, at + kBatch); ++i) request.add_account_ids(ids[i]);
      grpc::ClientContext context;
      v1::BatchGetScoresResponse response;
      grpc::Status status = scores->BatchGetScores(&context, request, &response);
      if (!status.ok()) return absl::InternalError(status.error_message());
    }
    return absl::ToDoubleSeconds(absl::Now() - start);
  };
  if (auto warm = scoring_pass(); !warm.ok()) return fail(warm.status());
  auto baseline = scoring_pass();
  if (!baseline.ok()) return fail(baseline.status());

  // The measured step.
  const int64_t rss_before = ResidentKiB();
  const absl::Time rebuild_start = absl::Now();
  if (absl::Status s = (*server)->maintainer()->Rebuild(); !s.ok()) return fail(s);
  const double rebuild_seconds = absl::ToDoubleSeconds(absl::Now() - rebuild_start);
  const int64_t rss_after = ResidentKiB();

  // Redis memory of what the rebuild wrote: membership records (sampled), member indexes, counters.
  const int sample = std::min(n, absl::GetFlag(FLAGS_memory_sample));
  int64_t sampled_bytes = 0;
  for (int i = 0; i < sample; ++i) {
    auto bytes =
        (*store)->MemoryUsage(segmentation::MembershipsKey(ids[(static_cast<int64_t>(i) * n) / sample]));
    if (!bytes.ok()) return fail(bytes.status());
    sampled_bytes += *bytes;
  }
  const double record_bytes = sample > 0 ? static_cast<double>(sampled_bytes) / sample : 0;
  int64_t index_bytes = 0;
  std::vector<std::string> segment_ids;
  for (const v1::Segment& s : segmentation::BuiltInSegments(*segmentation))
    segment_ids.push_back(s.segment_id());
  for (const char* custom : {"at-risk-enterprise", "engaged", "fintech-or-health"})
    segment_ids.push_back(custom);
  for (const std::string& id : segment_ids) {
    auto bytes = (*store)->MemoryUsage(segmentation::MembersIndex(id));
    if (bytes.ok()) index_bytes += *bytes;
  }
  auto stats_bytes = (*store)->MemoryUsage(std::string(segmentation::kStatsKey));
  const double total_mb =
      (record_bytes * n + static_cast<double>(index_bytes) + (stats_bytes.ok() ? *stats_bytes : 0)) /
      (1 << 20);

  v1::GetSegmentStatsRequest stats_request;
  stats_request.set_segment_id("engaged");
  grpc::ClientContext context;
  v1::GetSegmentStatsResponse stats;
  grpc::Status status = segments->GetSegmentStats(&context, stats_request, &stats);
  if (!status.ok()) return fail(absl::InternalError(status.error_message()));
  if (stats.total_accounts() != n) {
    return fail(
        absl::InternalError(absl::StrCat("counters hold ", stats.total_accounts(), " accounts, not ", n)));
  }

  std::cout << absl::StrFormat(
      "\nSegment membership build: %d accounts, %d segments (%d custom), Redis store\n", n,
      segment_ids.size(), 3);
  std::cout << absl::StrFormat(
      "rebuild:                 %.2f s (%.0f accounts/s; target: under 10 s for 100,000)\n", rebuild_seconds,
      n / rebuild_seconds);
  std::cout << absl::StrFormat(
      "baseline scoring pass:   %.2f s (BatchGetScores over every account, cached)\n", *baseline);
  std::cout << absl::StrFormat("rebuild / scoring pass:  %.2fx\n", rebuild_seconds / *baseline);
  std::cout << absl::StrFormat(
      "Redis memory written:    %.1f MB (%.0f B per membership record, %.1f MB of member indexes)\n",
      total_mb, record_bytes, static_cast<double>(index_bytes) / (1 << 20));
  std::cout << absl::StrFormat("process RSS during it:   +%.1f MB\n", (rss_after - rss_before) / 1024.0);
  std::cout << absl::StrFormat("\"engaged\": %d accounts (%.1f%%)\n", stats.stats().account_count(),
                               100 * stats.stats().account_share());
  (*server)->Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace steward

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return steward::Run();
}
