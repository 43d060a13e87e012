// Webhook actions end to end, on both stores: an in-process server (scoring, segmentation, playbooks; a
// manual clock) runs a playbook whose day-0 step is a webhook pointing at a loopback HTTP receiver. The
// webhook dispatcher POSTs the action (signed with the configured secret, the action id as idempotency
// key, the action as JSON), retries the receiver's 5xx with the same key, and records the outcome
// through the engine: SENT on a 2xx, FAILED naming the status otherwise, after which the playbook goes
// on to its next step all the same.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics/metrics_registry.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/playbooks/delivery/webhook_sender.h"
#include "services/scoring/model/model_config.h"
#include "services/segmentation/builtin/segmentation_config.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "services/segmentation/metrics/portfolio_config.h"
#include "steward/v1/clock_service.grpc.pb.h"
#include "steward/v1/playbook_service.grpc.pb.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
#include "tests/support/healthy_account.h"
#include "tests/support/http_test_server.h"
#include "tests/support/playbook_server.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_store.h"

namespace steward {
namespace {

using testing::ConfigDir;
using testing::Context;
using testing::Eventually;
using ::testing::HasSubstr;
using testing::HttpScript;
using testing::HttpTestServer;
using testing::ReceivedRequest;
using testing::StoreKind;

// A Monday, 09:00 UTC.
const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 1, 5, 9, 0, 0), absl::UTCTimeZone());
constexpr absl::Duration kDay = absl::Hours(24);
constexpr char kSecret[] = "whsec_e2e";
constexpr char kHookPath[] = "/hooks/steward";
constexpr char kEvent[] = "playbook.test.escalated";
constexpr char kPlaybook[] = "webhook-e2e";
constexpr char kAccount[] = "acme";
// "<enrollment_id>/<step_id>/<attempt>", the enrolment being "<account>/<playbook>/1".
constexpr char kActionId[] = "acme/webhook-e2e/1/escalate/1";

// Day 0: the webhook, to $URL. Day 1: an email.
constexpr char kPlaybookText[] = R"pb(
  id: "webhook-e2e"
  version: 1
  display_name: "Webhook e2e"
  reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
  steps {
    id: "escalate"
    delay { days: 0 }
    webhook { url: "$URL" event_name: "playbook.test.escalated" }
  }
  steps {
    id: "day_1_followup"
    delay { days: 1 }
    email { template_key: "e2e.followup" subject_key: "e2e.followup.subject" }
  }
)pb";

v1::Playbook WebhookPlaybook(const std::string& url) {
  v1::Playbook playbook;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      absl::StrReplaceAll(kPlaybookText, {{"$URL", url}}), &playbook));
  return playbook;
}

class PlaybookWebhookTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  // curl honours proxy variables; the loopback receiver must be reached directly. Set before any thread
  // of the server starts.
  static void SetUpTestSuite() { setenv("no_proxy", "*", 1); }

  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  void TearDown() override {
    // The dispatcher stops before the receiver goes away.
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  // Starts the receiver, answering with `script`, then the server with the webhook playbook pointing at
  // it, and creates the account.
  void Start(HttpScript script) {
    receiver_ = std::make_unique<HttpTestServer>(std::move(script));
    ASSERT_TRUE(receiver_->listening());
    v1::Playbook playbook = WebhookPlaybook(receiver_->Url(kHookPath));
    absl::Status valid = playbooks::ValidatePlaybook(playbook, kPlaybook);
    ASSERT_TRUE(valid.ok()) << valid;

    auto models = scoring::LoadModelDirectory(ConfigDir());
    ASSERT_TRUE(models.ok()) << models.status();
    auto config = testing::PlaybookServerConfig({playbook}, clock_);
    ASSERT_TRUE(config.ok()) << config.status();
    config->webhook.signing_secret = kSecret;
    // The dispatcher really sleeps between attempts.
    config->webhook.initial_backoff = absl::Milliseconds(1);
    config->webhook.max_backoff = absl::Milliseconds(10);
    config->metrics = &metrics_;
    auto server = StewardServer::Start(*config, *store_, clock_, *std::move(models));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    clients_ = std::make_unique<testing::PlaybookClients>(server_->port());

    v1::UpsertAccountRequest upsert;
    *upsert.mutable_account() = testing::HealthyAccount(kAccount, clock_.Now());
    v1::UpsertAccountResponse upserted;
    grpc::Status s = clients_->scoring->UpsertAccount(Context().get(), upsert, &upserted);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // Enrols the account: the day-0 webhook action is handed off with the enrolment.
  v1::Enrollment Enroll() {
    v1::EnrollAccountRequest request;
    request.set_account_id(kAccount);
    request.set_playbook_id(kPlaybook);
    request.set_request_id("enrol-1");
    v1::EnrollAccountResponse response;
    grpc::Status s = clients_->playbooks->EnrollAccount(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.enrollment();
  }

  // The enrolment once an outcome has been recorded for one of its actions (the dispatcher runs in the
  // background), or as it is after 10 s.
  v1::Enrollment OnceAnOutcomeIsRecorded(const std::string& enrollment_id) {
    v1::Enrollment e;
    EXPECT_TRUE(Eventually(
        [&] {
          e = clients_->GetEnrollment(enrollment_id);
          return e.outcomes_size() > 0;
        },
        absl::Seconds(10)))
        << "no outcome recorded; the receiver got " << receiver_->request_count() << " requests";
    return e;
  }

  // Checks one POST of the webhook action: headers, a signature that verifies with the secret, and the
  // action as the JSON body.
  static void ExpectSignedWebhookPost(const ReceivedRequest& got) {
    EXPECT_EQ(got.method, "POST");
    EXPECT_EQ(got.path, kHookPath);
    EXPECT_EQ(got.headers.contains("content-type") ? got.headers.at("content-type") : "", "application/json");
    ASSERT_TRUE(got.headers.contains("x-steward-event"));
    EXPECT_EQ(got.headers.at("x-steward-event"), kEvent);
    ASSERT_TRUE(got.headers.contains("x-steward-idempotency-key"));
    EXPECT_EQ(got.headers.at("x-steward-idempotency-key"), kActionId);

    // "t=<unix seconds>,v1=<hex>": verified as a receiver would, with the t it was sent.
    ASSERT_TRUE(got.headers.contains("x-steward-signature"));
    const std::string& signature = got.headers.at("x-steward-signature");
    ASSERT_TRUE(absl::StartsWith(signature, "t=")) << signature;
    int64_t t = 0;
    ASSERT_TRUE(absl::SimpleAtoi(signature.substr(2, signature.find(',') - 2), &t)) << signature;
    EXPECT_EQ(signature, playbooks::WebhookSignature(kSecret, absl::FromUnixSeconds(t), got.body));
    EXPECT_NE(signature, playbooks::WebhookSignature("whsec_other", absl::FromUnixSeconds(t), got.body));
    // Signed at the server's time (its manual clock, which these tests do not move before the POST).
    EXPECT_EQ(t, absl::ToUnixSeconds(kStart));

    v1::PlaybookAction action;
    auto parsed = google::protobuf::util::JsonStringToMessage(got.body, &action);
    ASSERT_TRUE(parsed.ok()) << parsed << "\n" << got.body;
    EXPECT_EQ(action.action_id(), kActionId);
    EXPECT_EQ(action.account_id(), kAccount);
    EXPECT_EQ(action.enrollment_id(), "acme/webhook-e2e/1");
    EXPECT_EQ(action.step_id(), "escalate");
    EXPECT_EQ(action.channel(), v1::CHANNEL_WEBHOOK);
    EXPECT_EQ(action.webhook().event_name(), kEvent);
    EXPECT_THAT(got.body, HasSubstr(absl::StrCat("\"action_id\":\"", kActionId, "\"")));
    EXPECT_THAT(got.body, HasSubstr(absl::StrCat("\"account_id\":\"", kAccount, "\"")));
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
  FakeClock clock_{kStart};
  // Declared before the server, so destroyed after it.
  metrics::MetricsRegistry metrics_;
  std::unique_ptr<HttpTestServer> receiver_;
  std::unique_ptr<StewardServer> server_;
  std::unique_ptr<testing::PlaybookClients> clients_;
};

TEST_P(PlaybookWebhookTest, WebhookActionIsPostedSignedAndRecordedAsSent) {
  ASSERT_NO_FATAL_FAILURE(Start(HttpScript{{.status = 200, .body = "ok"}}));
  const v1::Enrollment enrolled = Enroll();
  ASSERT_EQ(enrolled.steps_size(), 1);
  EXPECT_EQ(enrolled.steps(0).result(), v1::STEP_RESULT_DELIVERED);
  EXPECT_EQ(enrolled.steps(0).action_id(), kActionId);

  ASSERT_TRUE(receiver_->WaitForRequests(1)) << "the webhook was never POSTed";
  const v1::Enrollment e = OnceAnOutcomeIsRecorded(enrolled.enrollment_id());
  ASSERT_EQ(e.outcomes_size(), 1);
  EXPECT_EQ(e.outcomes(0).action_id(), kActionId);
  EXPECT_EQ(e.outcomes(0).step_id(), "escalate");
  EXPECT_EQ(e.outcomes(0).outcome(), v1::ACTION_OUTCOME_SENT) << e.outcomes(0).note();
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(e.next_step_id(), "day_1_followup");

  // The outcome is recorded after the POST: by now the receiver has everything the action will ever
  // produce (a second POST within a short while would be a repeat).
  EXPECT_FALSE(receiver_->WaitForRequests(2, absl::Milliseconds(100)));
  const std::vector<ReceivedRequest> received = receiver_->requests();
  ASSERT_EQ(received.size(), 1u);
  ExpectSignedWebhookPost(received[0]);
  // Counted before the outcome was recorded.
  EXPECT_THAT(metrics_.Render(), HasSubstr("steward_playbook_webhooks_total{outcome=\"sent\"} 1\n"));
  EXPECT_THAT(metrics_.Render(), ::testing::Not(HasSubstr("outcome=\"failed\"")));
}

TEST_P(PlaybookWebhookTest, ServerErrorsAreRetriedWithTheSameIdempotencyKey) {
  ASSERT_NO_FATAL_FAILURE(Start(HttpScript{{.status = 500}, {.status = 500}, {.status = 200}}));
  const v1::Enrollment enrolled = Enroll();

  ASSERT_TRUE(receiver_->WaitForRequests(3)) << "got " << receiver_->request_count() << " POSTs";
  const v1::Enrollment e = OnceAnOutcomeIsRecorded(enrolled.enrollment_id());
  ASSERT_EQ(e.outcomes_size(), 1);
  EXPECT_EQ(e.outcomes(0).action_id(), kActionId);
  EXPECT_EQ(e.outcomes(0).outcome(), v1::ACTION_OUTCOME_SENT) << e.outcomes(0).note();
  // One action: one step ran.
  ASSERT_EQ(e.steps_size(), 1);
  EXPECT_EQ(e.steps(0).action_id(), kActionId);

  EXPECT_FALSE(receiver_->WaitForRequests(4, absl::Milliseconds(100)));
  const std::vector<ReceivedRequest> received = receiver_->requests();
  ASSERT_EQ(received.size(), 3u);
  for (size_t i = 0; i < received.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("attempt ", i + 1));
    ExpectSignedWebhookPost(received[i]);
    EXPECT_EQ(received[i].body, received[0].body);
  }
}

TEST_P(PlaybookWebhookTest, ClientErrorIsRecordedAsFailedAndThePlaybookGoesOn) {
  ASSERT_NO_FATAL_FAILURE(Start(HttpScript{{.status = 400, .body = "bad payload"}}));
  const v1::Enrollment enrolled = Enroll();

  ASSERT_TRUE(receiver_->WaitForRequests(1)) << "the webhook was never POSTed";
  const v1::Enrollment e = OnceAnOutcomeIsRecorded(enrolled.enrollment_id());
  ASSERT_EQ(e.outcomes_size(), 1);
  EXPECT_EQ(e.outcomes(0).action_id(), kActionId);
  EXPECT_EQ(e.outcomes(0).outcome(), v1::ACTION_OUTCOME_FAILED);
  EXPECT_THAT(e.outcomes(0).note(), HasSubstr("400"));
  // Not the URL: webhook URLs often carry credentials.
  EXPECT_THAT(e.outcomes(0).note(), ::testing::Not(HasSubstr("127.0.0.1")));
  EXPECT_EQ(e.state(), v1::ENROLLMENT_STATE_ACTIVE);
  // A 4xx is final: no retry.
  EXPECT_FALSE(receiver_->WaitForRequests(2, absl::Milliseconds(100)));
  ASSERT_EQ(receiver_->request_count(), 1u);
  ExpectSignedWebhookPost(receiver_->requests()[0]);
  EXPECT_THAT(metrics_.Render(), HasSubstr("steward_playbook_webhooks_total{outcome=\"failed\"} 1\n"));

  // The failed webhook does not stop the playbook: day 1's email goes out.
  clients_->Advance(kDay);
  const v1::Enrollment after = clients_->GetEnrollment(enrolled.enrollment_id());
  ASSERT_EQ(after.steps_size(), 2);
  EXPECT_EQ(after.steps(1).step_id(), "day_1_followup");
  EXPECT_EQ(after.steps(1).result(), v1::STEP_RESULT_DELIVERED);
  EXPECT_EQ(after.steps(1).action_id(), "acme/webhook-e2e/1/day_1_followup/1");
  EXPECT_EQ(after.state(), v1::ENROLLMENT_STATE_COMPLETED);
  // Emails are not the dispatcher's: still the one POST.
  EXPECT_EQ(receiver_->request_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, PlaybookWebhookTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

}  // namespace
}  // namespace steward
