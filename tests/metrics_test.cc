// The /metrics endpoint end to end: an in-process server with every metric wired as the composition
// root wires it (the store behind a MeteredStore, the registry in ServerConfig, the endpoint on a free
// port), known work through gRPC, then a scrape over HTTP whose figures must agree with that work.

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics/metered_store.h"
#include "common/metrics/metrics_registry.h"
#include "common/store/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/scoring/model/model_config.h"
#include "tests/support/api_test_support.h"
#include "tests/support/healthy_account.h"
#include "tests/support/playbook_server.h"

namespace steward {
namespace {

using testing::ConfigDir;
using testing::Context;
using ::testing::HasSubstr;

const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 1, 5, 9, 0, 0), absl::UTCTimeZone());
constexpr absl::Duration kDay = absl::Hours(24);
constexpr char kUpsert[] = "/steward.v1.ScoringService/UpsertAccount";
constexpr char kRecord[] = "/steward.v1.ScoringService/RecordEvents";
constexpr char kEnroll[] = "/steward.v1.PlaybookService/EnrollAccount";
constexpr char kAdvance[] = "/steward.v1.ClockService/AdvanceClock";

// The value of one series ("name{labels}") in a scrape, or nullopt when it is not there.
std::optional<double> Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return std::nullopt;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // nps-promoter: an email (with the referral offer) on day 0, a CSM task on day 14, no rules. Its
    // trigger is cleared so that only the manual enrolment below runs.
    auto loaded =
        playbooks::LoadPlaybookDirectory(absl::StrCat(std::getenv("STEWARD_SOURCE_DIR"), "/playbooks"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    std::vector<v1::Playbook> playbooks;
    for (v1::Playbook& playbook : *loaded) {
      if (playbook.id() != "nps-promoter") continue;
      playbook.clear_triggers();
      playbooks.push_back(playbook);
    }
    ASSERT_EQ(playbooks.size(), 1u);
    auto models = scoring::LoadModelDirectory(ConfigDir());
    ASSERT_TRUE(models.ok()) << models.status();
    auto config = testing::PlaybookServerConfig(std::move(playbooks), clock_);
    ASSERT_TRUE(config.ok()) << config.status();
    config->metrics = &registry_;
    config->metrics_listen_address = "127.0.0.1:0";
    auto server = StewardServer::Start(*config, store_, clock_, *std::move(models));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->metrics_port(), 0);
    clients_ = std::make_unique<testing::PlaybookClients>(server_->port());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  httplib::Result Fetch(const std::string& path) {
    httplib::Client client("127.0.0.1", server_->metrics_port());
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    return client.Get(path.c_str());
  }

  std::string Scrape() {
    httplib::Result result = Fetch("/metrics");
    EXPECT_TRUE(result) << httplib::to_string(result.error());
    if (!result) return "";
    EXPECT_EQ(result->status, 200);
    return result->body;
  }

  grpc::Status Upsert(const std::string& id) {
    v1::UpsertAccountRequest request;
    *request.mutable_account() = testing::HealthyAccount(id, clock_.Now());
    v1::UpsertAccountResponse response;
    return clients_->scoring->UpsertAccount(Context().get(), request, &response);
  }

  grpc::Status Record(const std::vector<v1::Event>& events, v1::RecordEventsResponse* response) {
    v1::RecordEventsRequest request;
    for (const v1::Event& e : events) *request.add_events() = e;
    return clients_->scoring->RecordEvents(Context().get(), request, response);
  }

  FakeClock clock_{kStart};
  MemoryStore memory_;
  metrics::MetricsRegistry registry_;
  metrics::MeteredStore store_{memory_, registry_};
  std::unique_ptr<StewardServer> server_;
  std::unique_ptr<testing::PlaybookClients> clients_;
};

TEST_F(MetricsTest, ScrapeAgreesWithTheWorkDone) {
  // Three accounts.
  for (const char* id : {"m-1", "m-2", "m-3"}) {
    grpc::Status s = Upsert(id);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // Two events, then the same two again (duplicates), then two calls the API refuses.
  const std::vector<v1::Event> events = {
      testing::MakeEvent("m-1", "e1", v1::EVENT_TYPE_LOGIN, clock_.Now() - absl::Hours(1)),
      testing::MakeEvent("m-1", "e2", v1::EVENT_TYPE_LOGIN, clock_.Now() - absl::Hours(2))};
  v1::RecordEventsResponse recorded;
  ASSERT_TRUE(Record(events, &recorded).ok());
  EXPECT_EQ(recorded.recorded(), 2);
  ASSERT_TRUE(Record(events, &recorded).ok());
  EXPECT_EQ(recorded.duplicates(), 2);
  for (int i = 0; i < 2; ++i) {
    v1::RecordEventsResponse refused;
    grpc::Status s = Record({}, &refused);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  }
  // An enrolment: the day-0 email runs at once; 14 days later the task.
  v1::EnrollAccountRequest enroll;
  enroll.set_account_id("m-2");
  enroll.set_playbook_id("nps-promoter");
  enroll.set_request_id("metrics-enrol");
  v1::EnrollAccountResponse enrolled;
  grpc::Status s = clients_->playbooks->EnrollAccount(Context().get(), enroll, &enrolled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  clients_->Advance(14 * kDay);
  const v1::Enrollment enrollment = clients_->GetEnrollment(enrolled.enrollment().enrollment_id());
  ASSERT_EQ(enrollment.steps_size(), 2);

  const std::string text = Scrape();
  auto value = [&](const std::string& series) { return Sample(text, series).value_or(-1); };
  auto with_method = [](const char* name, const char* method) {
    return absl::StrCat(name, "{method=\"", method, "\"}");
  };
  // gRPC: requests per method, errors with their code, one latency observation per request.
  EXPECT_EQ(value(with_method("steward_grpc_server_requests_total", kUpsert)), 3);
  EXPECT_EQ(value(with_method("steward_grpc_server_requests_total", kRecord)), 4);
  EXPECT_EQ(value(with_method("steward_grpc_server_requests_total", kEnroll)), 1);
  EXPECT_EQ(value(with_method("steward_grpc_server_requests_total", kAdvance)), 1);
  EXPECT_EQ(value(absl::StrCat("steward_grpc_server_errors_total{method=\"", kRecord,
                               "\",code=\"INVALID_ARGUMENT\"}")),
            2);
  EXPECT_FALSE(
      Sample(text, absl::StrCat("steward_grpc_server_errors_total{method=\"", kUpsert, "\",code=\"OK\"}")))
      << "an OK call is not an error";
  EXPECT_EQ(value(with_method("steward_grpc_server_handling_seconds_count", kUpsert)), 3);
  EXPECT_EQ(value(with_method("steward_grpc_server_handling_seconds_count", kRecord)), 4);
  EXPECT_EQ(value(absl::StrCat("steward_grpc_server_handling_seconds_bucket{method=\"", kUpsert,
                               "\",le=\"+Inf\"}")),
            3);
  EXPECT_THAT(text, HasSubstr("# TYPE steward_grpc_server_handling_seconds histogram\n"));

  // Events by result.
  EXPECT_EQ(value("steward_scoring_events_total{result=\"recorded\"}"), 2);
  EXPECT_EQ(value("steward_scoring_events_total{result=\"duplicate\"}"), 2);

  // Playbooks: one manual enrolment, two steps delivered, an email and a task, on time (manual clock).
  EXPECT_EQ(value("steward_playbook_enrollments_started_total{playbook=\"nps-promoter\",source=\"manual\"}"),
            1);
  EXPECT_EQ(value("steward_playbook_steps_total{playbook=\"nps-promoter\",result=\"delivered\"}"), 2);
  EXPECT_EQ(value("steward_playbook_actions_total{channel=\"email\"}"), 1);
  EXPECT_EQ(value("steward_playbook_actions_total{channel=\"task\"}"), 1);
  EXPECT_EQ(value("steward_playbook_step_lateness_seconds_count"), 2);
  EXPECT_EQ(value("steward_playbook_step_lateness_seconds_bucket{le=\"0.1\"}"), 2);

  // The playbook follower's consumer groups: each page is looked at as it is read, so nothing is left
  // undelivered; pending is what was read and not yet acknowledged at that look (at most every change).
  EXPECT_EQ(value("steward_stream_consumer_lag{stream=\"account-changes\",group=\"playbooks\"}"), 0);
  const double pending =
      value("steward_stream_consumer_pending{stream=\"account-changes\",group=\"playbooks\"}");
  EXPECT_GE(pending, 0);
  EXPECT_LE(pending, 4);  // three upserts and one batch of new events

    // The store, measured underneath every service.
  EXPECT_GT(value("steward_store_operations_total{operation=\"get\"}"), 0);
  EXPECT_GT(value("steward_store_operations_total{operation=\"put\"}"), 0);
  EXPECT_GT(value("steward_store_operations_total{operation=\"schedule_claim\"}"), 0);
  EXPECT_EQ(value("steward_store_operation_duration_seconds_count{operation=\"put\"}"),
            value("steward_store_operations_total{operation=\"put\"}"));
}

TEST_F(MetricsTest, ServesOnlyMetricsAsPrometheusText) {
  httplib::Result metrics = Fetch("/metrics");
  ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  httplib::Result other = Fetch("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  httplib::Result near = Fetch("/metrics/x");
  ASSERT_TRUE(near);
  EXPECT_EQ(near->status, 404);
}

TEST(MetricsServerTest, NoEndpointWithoutAnAddress) {
  FakeClock clock{kStart};
  MemoryStore store;
  metrics::MetricsRegistry registry;
  ServerConfig config;
  config.metrics = &registry;
  auto models = scoring::LoadModelDirectory(ConfigDir());
  ASSERT_TRUE(models.ok()) << models.status();
  auto server = StewardServer::Start(config, store, clock, *std::move(models));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), 0);
  (*server)->Shutdown(absl::Seconds(1));
}

TEST(MetricsServerTest, BadMetricsAddressFailsTheStart) {
  FakeClock clock{kStart};
  MemoryStore store;
  metrics::MetricsRegistry registry;
  ServerConfig config;
  config.metrics = &registry;
  config.metrics_listen_address = "no-port-here";
  auto models = scoring::LoadModelDirectory(ConfigDir());
  ASSERT_TRUE(models.ok()) << models.status();
  auto server = StewardServer::Start(config, store, clock, *std::move(models));
  EXPECT_TRUE(absl::IsInvalidArgument(server.status())) << server.status();
}

}  // namespace
}  // namespace steward
