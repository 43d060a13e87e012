// Durability of the playbook runner, black box, on a real redis-server: 10,000 enrolments of a
// three-step playbook are made through one steward process; two runner processes work through their
// 30,000 due steps at once; one is killed with SIGKILL mid-run and started again. Every step is handed
// off (30,000 distinct action ids in the action stream, which downstream services read) and none twice:
// the stream holds each id exactly once, so even a consumer that ignored idempotency keys would act once.

#include <grpcpp/grpcpp.h>
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

  // A runner replica: hosts only the playbook service, on a clock frozen four days ahead (every step is
  // due), claiming one step at a time so that a kill lands mid-run.
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> StartRunner(int api_port, absl::Time frozen) {
    int port = 0;
    return testing::StartSteward(
        {StoreFlag(), "--services=playbooks", absl::StrCat("--scoring_address=127.0.0.1:", api_port),
         "--playbooks_dir=" + dir_ + "/playbooks", "--config_dir=" + dir_ + "/config", "--manual_clock",
         "--manual_clock_start=" + absl::FormatTime(absl::RFC3339_full, frozen, absl::UTCTimeZone()),
         "--manual_clock_runner", "--playbook_runner_threads=1", "--playbook_runner_batch=1",
         "--playbook_follower=false", "--webhooks=false", "--listen=127.0.0.1:0"},
        port);
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
  int api_port = 0;
  auto api = testing::StartSteward(
      {StoreFlag(), "--services=scoring,playbooks", "--playbook_runner=false", "--playbook_follower=false",
       "--webhooks=false", "--playbooks_dir=" + dir_ + "/playbooks", "--listen=127.0.0.1:0",
       "--refresh_interval=0s"},
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

  const absl::Time frozen = absl::Now() + absl::Hours(24 * 4);
  auto first = StartRunner(api_port, frozen);
  auto second = StartRunner(api_port, frozen);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  // Mid-run: some steps handed off, most not.
  ASSERT_TRUE(Eventually([&] { return StreamedActionIds(**store).size() >= 3'000; }, absl::Seconds(60)));
  auto killed = (*first)->Stop(SIGKILL, absl::Seconds(5));
  ASSERT_TRUE(killed.ok()) << killed.status();
  const size_t at_kill = StreamedActionIds(**store).size();
  EXPECT_LT(at_kill, static_cast<size_t>(kEnrollments * kSteps))
      << "the kill came too late to prove anything";
  auto restarted = StartRunner(api_port, frozen);
  ASSERT_TRUE(restarted.ok()) << restarted.status();

  ASSERT_TRUE(Eventually([&] { return StreamedActionIds(**store).size() >= kEnrollments * kSteps; },
                         absl::Seconds(120)))
      << StreamedActionIds(**store).size() << " actions";
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
