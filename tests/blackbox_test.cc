// Black-box tests of the built `steward` binary: started as a child process against a real
// redis-server, and driven only through its public gRPC interface over loopback (generated stubs,
// and `buf curl` through server reflection with no .proto files).

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/redis_server.h"

namespace steward {
namespace {

using testing::RunCommand;
using testing::SourceDir;
using testing::StewardBinary;

using ::testing::HasSubstr;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

class BlackBoxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    auto child = testing::ChildProcess::Start(
        {StewardBinary(), "--listen=127.0.0.1:0", "--services=all",
         absl::StrCat("--store=redis://127.0.0.1:", redis_.port(), "/0"), "--refresh_interval=0s",
         "--shutdown_grace=5s", absl::StrCat("--config_dir=", SourceDir(), "/config")});
    ASSERT_TRUE(child.ok()) << child.status();
    steward_ = std::move(*child);
    auto port = steward_->WaitForServerPort(absl::Seconds(20));
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    scoring_ = v1::ScoringService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  std::string Url(const std::string& method) const {
    return absl::StrCat("http://127.0.0.1:", port_, "/", method);
  }

  std::string Buf() const { return SourceDir() + "/node_modules/.bin/buf"; }

  testing::RedisServer redis_;
  std::unique_ptr<testing::ChildProcess> steward_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ScoringService::Stub> scoring_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(BlackBoxTest, ScoresAnAccountEndToEndOnRedis) {
  v1::UpsertAccountRequest upsert;
  v1::Account& account = *upsert.mutable_account();
  account.set_account_id("bb-1");
  account.set_display_name("Black Box Ltd");
  account.set_arpu(100);
  account.set_gross_margin(0.8);
  account.set_monthly_churn_rate(0.05);
  account.set_expansion_rate(0.2);
  account.mutable_plan()->set_feature_count(10);
  v1::UpsertAccountResponse upserted;
  ASSERT_TRUE(scoring_->UpsertAccount(Context().get(), upsert, &upserted).ok());
  EXPECT_TRUE(upserted.created());

  v1::RecordEventsRequest record;
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  for (int i = 0; i < 5; ++i) {
    v1::Event* e = record.add_events();
    e->set_event_id(absl::StrCat("bb-login-", i));
    e->set_account_id("bb-1");
    e->set_type(v1::EVENT_TYPE_LOGIN);
    e->mutable_time()->set_seconds(now - 3600 * (i + 1));
  }
  v1::RecordEventsResponse recorded;
  ASSERT_TRUE(scoring_->RecordEvents(Context().get(), record, &recorded).ok());
  EXPECT_EQ(recorded.recorded(), 5);
  ASSERT_TRUE(scoring_->RecordEvents(Context().get(), record, &recorded).ok());
  EXPECT_EQ(recorded.duplicates(), 5);

  v1::GetScoresRequest get;
  get.set_account_id("bb-1");
  v1::GetScoresResponse scores;
  ASSERT_TRUE(scoring_->GetScores(Context().get(), get, &scores).ok());
  EXPECT_FALSE(scores.scores().health().band().empty());
  bool found_clv = false;
  for (const v1::ClvEstimate& e : scores.scores().clv().estimates()) {
    if (e.formula() == "with_expansion") {
      EXPECT_NEAR(e.value(), 1920, 1e-6);
      found_clv = true;
    }
  }
  EXPECT_TRUE(found_clv);

  // The same account read through server reflection by a client with no .proto files.
  auto [code, output] = RunCommand(
      absl::StrCat(Buf(), " curl --protocol grpc --http2-prior-knowledge -d '{\"account_id\":\"bb-1\"}' ",
                   Url("steward.v1.ScoringService/GetAccount")));
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("\"displayName\": \"Black Box Ltd\""));

  // Reflection describes the health service too.
  auto [list_code, methods] = RunCommand(absl::StrCat(
      Buf(), " curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:", port_));
  EXPECT_EQ(list_code, 0) << methods;
  EXPECT_THAT(methods, HasSubstr("grpc.health.v1.Health/Check"));
  EXPECT_THAT(methods, HasSubstr("steward.v1.ScoringService/RecordEvents"));
  EXPECT_THAT(methods, HasSubstr("steward.v1.ScoringService/FitModels"));
  EXPECT_THAT(methods, HasSubstr("steward.v1.ScoringService/ListModelVersions"));

  // The predictive models' RPCs through reflection: a fit is stored as version 1 (not accepted: one
  // account is too little to fit anything), and a bad horizon names its field.
  auto [fit_code, fit] = RunCommand(absl::StrCat(Buf(), " curl --protocol grpc --http2-prior-knowledge -d '{}' ",
                                                 Url("steward.v1.ScoringService/FitModels")));
  EXPECT_EQ(fit_code, 0) << fit;
  EXPECT_THAT(fit, HasSubstr("\"version\": \"1\""));
  EXPECT_THAT(fit, HasSubstr("insufficient data"));
  auto [bad_fit_code, bad_fit] = RunCommand(
      absl::StrCat(Buf(), " curl --protocol grpc --http2-prior-knowledge -d '{\"churnHorizonDays\": 5}' ",
                   Url("steward.v1.ScoringService/FitModels")));
  EXPECT_NE(bad_fit_code, 0);
  EXPECT_THAT(bad_fit, HasSubstr("churn_horizon_days"));

  // And an error through reflection names the field.
  auto [bad_code, bad] = RunCommand(absl::StrCat(
      Buf(),
      " curl --protocol grpc --http2-prior-knowledge -d '{\"account\":{\"account_id\":\"x\",\"mrr\":-1}}' ",
      Url("steward.v1.ScoringService/UpsertAccount")));
  EXPECT_NE(bad_code, 0);
  EXPECT_THAT(bad, HasSubstr("invalid_argument"));
  EXPECT_THAT(bad, HasSubstr("account.mrr"));
}

TEST_F(BlackBoxTest, SigtermTurnsHealthNotServingThenExitsCleanly) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("steward.v1.ScoringService");
  HealthStatus status;
  ASSERT_TRUE(health_->Check(Context().get(), request, &status).ok());
  EXPECT_EQ(status.status(), HealthStatus::SERVING);

  // A watcher sees NOT_SERVING before the server goes away.
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto watch = health_->Watch(&watch_context, request);
  HealthStatus update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthStatus::SERVING);

  auto exit_code = steward_->Stop(SIGTERM, absl::Seconds(15));
  std::vector<HealthStatus::ServingStatus> seen;
  while (watch->Read(&update)) seen.push_back(update.status());
  watch->Finish().IgnoreError();
  EXPECT_THAT(seen, ::testing::Contains(HealthStatus::NOT_SERVING));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
}

TEST(BlackBoxStartupTest, BadConfigurationFailsFastNamingFileLineAndField) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("steward-badconfig-", getpid());
  std::filesystem::create_directories(dir / "models");
  std::filesystem::copy(SourceDir() + "/config/churn.textproto", dir / "churn.textproto",
                        std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream health(dir / "models" / "health.textproto");
    health << "name: \"health\"\n"
              "components {\n"
              "  name: \"usage\"\n"
              "  weight: 100\n"
              "  inputs { feature: \"logins_31d\" weight: 1 normalize { low: 0 high: 10 } }\n"
              "}\n"
              "bands { name: \"all\" min_score: 0 }\n";
  }
  auto child = testing::ChildProcess::Start(
      {StewardBinary(), "--listen=127.0.0.1:0", absl::StrCat("--config_dir=", dir.string())});
  ASSERT_TRUE(child.ok());
  auto code = (*child)->Stop(0, absl::Seconds(20));  // signal 0: just wait for the exit
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2);
  const std::string output = (*child)->Output();
  EXPECT_THAT(output, HasSubstr("health.textproto:5"));
  EXPECT_THAT(output, HasSubstr("logins_31d"));
  std::filesystem::remove_all(dir);
}

TEST(BlackBoxStartupTest, BrokenPlaybookFailsStartNamingFileAndLine) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("steward-badplaybook-", getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream playbook(dir / "broken.textproto");
    playbook << "id: \"broken\"\n"
                "version: 1\n"
                "reenrollment { mode: REENROLLMENT_MODE_ALWAYS }\n"
                "steps { id: \"a\" delay { days: 1 } email { template_key: \"x\" subject_key: \"y\" }\n"
                "  wait_for_event { event_types: EVENT_TYPE_LOGIN within_days: 2 on_timeout_go_to: "
                "\"nowhere\" } }\n";
  }
  auto child = testing::ChildProcess::Start({StewardBinary(), "--listen=127.0.0.1:0",
                                             absl::StrCat("--config_dir=", SourceDir(), "/config"),
                                             absl::StrCat("--playbooks_dir=", dir.string())});
  ASSERT_TRUE(child.ok());
  auto code = (*child)->Stop(0, absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2);
  const std::string output = (*child)->Output();
  EXPECT_THAT(output, HasSubstr("broken.textproto:5:"));
  EXPECT_THAT(output, HasSubstr("on_timeout_go_to: no step \"nowhere\""));
  std::filesystem::remove_all(dir);
}

TEST(BlackBoxStartupTest, UnreachableRedisFailsFast) {
  testing::RedisServer nothing_there;  // reserves a port where nothing listens
  auto child =
      testing::ChildProcess::Start({StewardBinary(), "--listen=127.0.0.1:0",
                                    absl::StrCat("--store=redis://127.0.0.1:", nothing_there.port(), "/0"),
                                    absl::StrCat("--config_dir=", SourceDir(), "/config")});
  ASSERT_TRUE(child.ok());
  auto code = (*child)->Stop(0, absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_NE(*code, 0);
  EXPECT_THAT((*child)->Output(), HasSubstr("store_unavailable"));
}

}  // namespace
}  // namespace steward
