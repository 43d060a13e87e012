// Durability of the playbook runner, black box, on a real redis-server: 10,000 enrolments of a
// three-step playbook are made through one steward process; two runner processes work through their
// 30,000 due steps at once; one is killed with SIGKILL mid-run and started again. Every step is handed
// off (30,000 distinct action ids in the action stream, which downstream services read) and none twice:
// the stream holds each id exactly once, so even a consumer that ignored idempotency keys would act once.
// A downstream consumer reading the stream with a Redis consumer group (XREADGROUP, XACK) gets them all.

#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/store/redis_store.h"
#include "gtest/gtest.h"
#include "steward/v1/enrollment.pb.h"
#include "steward/v1/playbook_service.grpc.pb.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
#include "tests/support/child_process.h"
#include "tests/support/redis_server.h"

namespace steward {
namespace {

using testing::Context;
using testing::Eventually;

constexpr int kEnrollments = 10'000;
constexpr int kSteps = 3;
constexpr absl::string_view kActionLog = "playbook-actions";

constexpr char kPlaybook[] =
    R"pb(id: "durable"
         version: 1
         display_name: "Durable"
         reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
         steps {
           id: "one"
           delay { days: 1 }
           email { template_key: "durable.one" subject_key: "durable.one.subject" }
         }
         steps {
           id: "two"
           delay { days: 2 }
           in_app { message_key: "durable.two" }
         }
         steps {
           id: "three"
           delay { days: 3 }
           task { assignee_role: "csm" title: "Three" due_in_hours: 24 sla_hours: 48 }
         }
    )pb";

// Runners take a claim back from a dead replica after 2 s, not the shipped 30 s.
constexpr char kRunnerConfig[] = "claim_lease { seconds: 2 }\n";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

class PlaybookDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    dir_ = ::testing::TempDir() + "/playbook-durability-" + std::to_string(getpid());
    ASSERT_EQ(
        testing::RunCommand("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/playbooks " + dir_ + "/config")
            .first,
        0);
    WriteFile(dir_ + "/playbooks/durable.textproto", kPlaybook);
    WriteFile(dir_ + "/config/playbooks.textproto", kRunnerConfig);
  }
  void TearDown() override { testing::RunCommand("rm -rf " + dir_); }

  std::string StoreFlag() const { return absl::StrCat("--store=redis://127.0.0.1:", redis_.port(), "/0"); }

  // A runner replica: hosts only the playbook service, on the wall clock (so that a dead replica's
  // leases run out), claiming one step at a time so that a kill lands mid-run.
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> StartRunner(int api_port) {
    int port = 0;
    return testing::StartSteward(
        {StoreFlag(), "--services=playbooks", absl::StrCat("--scoring_address=127.0.0.1:", api_port),
         "--playbooks_dir=" + dir_ + "/playbooks", "--config_dir=" + dir_ + "/config",
         "--playbook_runner_threads=1", "--playbook_runner_batch=1", "--playbook_follower=false",
         "--webhooks=false", "--listen=127.0.0.1:0"},
        port);
  }

  // Entries in the action stream (XLEN: cheap enough to poll).
  int64_t StreamLength() {
    redisContext* redis = redisConnect("127.0.0.1", redis_.port());
    if (redis == nullptr) return -1;
    auto* reply = static_cast<redisReply*>(redisCommand(redis, "XLEN %s", std::string(kActionLog).c_str()));
    const int64_t length = reply != nullptr && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (reply != nullptr) freeReplyObject(reply);
    redisFree(redis);
    return length;
  }

  // Action ids in the stream, in order (with repeats, if there were any).
  std::vector<std::string> StreamedActionIds(RedisStore& store) {
    std::vector<std::string> ids;
    std::string cursor;
    for (;;) {
      auto entries = store.LogRead(std::string(kActionLog), cursor, 5000);
      EXPECT_TRUE(entries.ok()) << entries.status();
      if (!entries.ok() || entries->empty()) return ids;
      for (const LogEntry& entry : *entries) {
        v1::PlaybookAction action;
        EXPECT_TRUE(action.ParseFromString(entry.bytes));
        ids.push_back(action.action_id());
      }
      cursor = entries->back().id;
    }
  }

  testing::RedisServer redis_;
  std::string dir_;
};

TEST_F(PlaybookDurabilityTest, KilledRunnerReplicasLoseNoStepAndDeliverNoneTwice) {
  // The enrolments are made four days in the past (the API process's manual clock starts there), so on
  // the runners' wall clock all three steps of each are due.
  const absl::Time four_days_ago =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(24 * 4)));
  int api_port = 0;
  auto api = testing::StartSteward(
      {StoreFlag(), "--services=scoring,playbooks", "--playbook_runner=false", "--playbook_follower=false",
       "--webhooks=false", "--playbooks_dir=" + dir_ + "/playbooks", "--listen=127.0.0.1:0",
       "--refresh_interval=0s", "--manual_clock",
       "--manual_clock_start=" + absl::FormatTime(absl::RFC3339_full, four_days_ago, absl::UTCTimeZone())},
      api_port);
  ASSERT_TRUE(api.ok()) << api.status();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", api_port), grpc::InsecureChannelCredentials());
  auto scoring = v1::ScoringService::NewStub(channel);
  auto playbooks = v1::PlaybookService::NewStub(channel);

  // 10,000 accounts, each enrolled once, from four client threads.
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int i = c; i < kEnrollments; i += 4) {
        const std::string id = absl::StrCat("acct-", i);
        v1::UpsertAccountRequest upsert;
        upsert.mutable_account()->set_account_id(id);
        upsert.mutable_account()->set_mrr(100);
        v1::UpsertAccountResponse upserted;
        v1::EnrollAccountRequest enroll;
        enroll.set_account_id(id);
        enroll.set_playbook_id("durable");
        enroll.set_request_id("first");
        v1::EnrollAccountResponse enrolled;
        if (!scoring->UpsertAccount(Context().get(), upsert, &upserted).ok() ||
            !playbooks->EnrollAccount(Context().get(), enroll, &enrolled).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  ASSERT_EQ(failures.load(), 0);

  RedisOptions options;
  options.port = redis_.port();
  options.client_side_caching = false;
  auto store = RedisStore::Connect(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(StreamedActionIds(**store).empty()) << "nothing is due before day 1";

  auto first = StartRunner(api_port);
  auto second = StartRunner(api_port);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  // Mid-run: some steps handed off, most not.
  ASSERT_TRUE(Eventually([&] { return StreamLength() >= 3'000; }, absl::Seconds(60)))
      << StreamLength() << " actions; earliest due "
      << (*store)->ScheduleEarliest("playbook-schedule").value_or(std::nullopt).value_or(-1) << " now "
      << absl::ToUnixMillis(absl::Now()) << "; a runner said:\n"
      << (*first)->Output().substr(0, 3000);
  auto killed = (*first)->Stop(SIGKILL, absl::Seconds(5));
  ASSERT_TRUE(killed.ok()) << killed.status();
  const int64_t at_kill = StreamLength();
  EXPECT_LT(at_kill, kEnrollments * kSteps) << "the kill came too late to prove anything";
  auto restarted = StartRunner(api_port);
  ASSERT_TRUE(restarted.ok()) << restarted.status();

  ASSERT_TRUE(Eventually([&] { return StreamLength() >= kEnrollments * kSteps; }, absl::Seconds(120)))
      << StreamLength() << " actions";
  // Every enrolment completed leaves the schedule: once it is empty nothing more can be handed off.
  ASSERT_TRUE(Eventually(
      [&] {
        auto earliest = (*store)->ScheduleEarliest("playbook-schedule");
        return earliest.ok() && !earliest->has_value();
      },
      absl::Seconds(60)));
  const std::vector<std::string> ids = StreamedActionIds(**store);
  const std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kEnrollments * kSteps)) << "a step was lost";
  EXPECT_EQ(ids.size(), distinct.size()) << "an action was handed off twice";
  for (int i = 0; i < kEnrollments; i += 997) {
    for (const char* step : {"one", "two", "three"}) {
      EXPECT_TRUE(distinct.count(absl::StrCat("acct-", i, "/durable/1/", step, "/1"))) << i << " " << step;
    }
  }
  // A downstream service reads the stream as Redis consumers do, with a consumer group, remembering the
  // idempotency keys it has acted on: it acts on each of the 30,000 actions once.
  redisContext* redis = redisConnect("127.0.0.1", redis_.port());
  ASSERT_TRUE(redis != nullptr && redis->err == 0);
  auto command = [&](const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(redis, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  };
  redisReply* created = command({"XGROUP", "CREATE", std::string(kActionLog), "downstream", "0"});
  ASSERT_TRUE(created != nullptr && created->type == REDIS_REPLY_STATUS);
  freeReplyObject(created);
  std::set<std::string> acted_on;
  int repeats = 0;
  for (;;) {
    redisReply* reply = command({"XREADGROUP", "GROUP", "downstream", "worker-1", "COUNT", "1000", "STREAMS",
                                 std::string(kActionLog), ">"});
    ASSERT_NE(reply, nullptr);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
      freeReplyObject(reply);
      break;
    }
    const redisReply* entries = reply->element[0]->element[1];
    if (entries->elements == 0) {
      freeReplyObject(reply);
      break;
    }
    for (size_t i = 0; i < entries->elements; ++i) {
      const redisReply* fields = entries->element[i]->element[1];  // ["d", bytes]
      v1::PlaybookAction action;
      ASSERT_TRUE(action.ParseFromArray(fields->element[1]->str, static_cast<int>(fields->element[1]->len)));
      if (!acted_on.insert(action.action_id()).second) ++repeats;
      redisReply* acked =
          command({"XACK", std::string(kActionLog), "downstream", entries->element[i]->element[0]->str});
      freeReplyObject(acked);
    }
    freeReplyObject(reply);
  }
  redisFree(redis);
  EXPECT_EQ(acted_on.size(), static_cast<size_t>(kEnrollments * kSteps));
  EXPECT_EQ(repeats, 0);

  // And every enrolment knows it is done.
  v1::GetEnrollmentRequest get;
  get.set_enrollment_id("acct-4242/durable/1");
  v1::GetEnrollmentResponse got;
  ASSERT_TRUE(playbooks->GetEnrollment(Context().get(), get, &got).ok());
  EXPECT_EQ(got.enrollment().state(), v1::ENROLLMENT_STATE_COMPLETED);
  EXPECT_EQ(got.enrollment().steps_size(), kSteps);
}

}  // namespace
}  // namespace steward
