#include "services/playbooks/delivery/webhook_sender.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_test_server.h"

namespace steward::playbooks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Script = testing::HttpScript;
using testing::HttpTestServer;
using testing::ReceivedRequest;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

class WebhookSenderTest : public ::testing::Test {
 protected:
  // curl honours proxy variables; the loopback server must be reached directly.
  static void SetUpTestSuite() { setenv("no_proxy", "*", 1); }

  WebhookSender Sender(WebhookOptions options) {
    return WebhookSender(
        std::move(options), [this](absl::Duration d) { sleeps_.push_back(d); },
        [this] { return kNow + absl::Seconds(clock_calls_++); });
  }

  static WebhookRequest Request(const HttpTestServer& server) {
    return {.url = server.Url("/hooks/steward?tenant=acme"),
            .event_name = "playbook.retention.escalated",
            .idempotency_key = "run-42/step-3",
            .body = R"({"account_id":"acc-1","note":"caf\u00e9 \"quoted\"\n"})"};
  }

  static WebhookOptions WithSecret() {
    WebhookOptions options;
    options.signing_secret = "whsec_test";
    return options;
  }

  std::vector<absl::Duration> sleeps_;
  int clock_calls_ = 0;
};

TEST_F(WebhookSenderTest, DeliversSignedPostOnFirst2xx) {
  HttpTestServer server(Script{{.status = 200, .body = "thanks"}});
  const WebhookRequest request = Request(server);

  absl::StatusOr<WebhookResult> result = Sender(WithSecret()).Post(request);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->attempts, 1);
  EXPECT_EQ(result->http_status, 200);
  EXPECT_THAT(sleeps_, IsEmpty());
  const std::vector<ReceivedRequest> received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  const ReceivedRequest& got = received[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/hooks/steward?tenant=acme");
  EXPECT_EQ(got.body, request.body);
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(got.headers.at("user-agent"), "steward-webhooks/1");
  EXPECT_EQ(got.headers.at("x-steward-event"), "playbook.retention.escalated");
  EXPECT_EQ(got.headers.at("x-steward-idempotency-key"), "run-42/step-3");
  EXPECT_FALSE(got.headers.contains("expect"));
  EXPECT_EQ(got.headers.at("x-steward-signature"), WebhookSignature("whsec_test", kNow, got.body));
  EXPECT_THAT(got.headers.at("x-steward-signature"), ::testing::StartsWith("t=1700000000,v1="));
}

TEST_F(WebhookSenderTest, NoSignatureHeaderWithoutSecret) {
  HttpTestServer server(Script{{.status = 204}});

  ASSERT_TRUE(Sender(WebhookOptions()).Post(Request(server)).ok());

  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_FALSE(server.requests()[0].headers.contains("x-steward-signature"));
}

TEST_F(WebhookSenderTest, LargeBodyIsSentWholeWithoutExpectContinue) {
  HttpTestServer server(Script{{.status = 200}});
  WebhookRequest request = Request(server);
  request.body = absl::StrCat(R"({"padding":")", std::string(2 << 20, 'x'), R"("})");

  ASSERT_TRUE(Sender(WebhookOptions()).Post(request).ok());

  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body, request.body);
  EXPECT_FALSE(server.requests()[0].headers.contains("expect"));
}

TEST_F(WebhookSenderTest, HugeResponseBodyIsCutShortNotRetried) {
  HttpTestServer server(Script{{.status = 200, .body = std::string(1 << 20, 'y')}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->attempts, 1);
  EXPECT_EQ(result->http_status, 200);
}

TEST_F(WebhookSenderTest, RetriesServerErrorsWithDoublingBackoffAndSameKey) {
  HttpTestServer server(Script{{.status = 503}, {.status = 500}, {.status = 200}});

  absl::StatusOr<WebhookResult> result = Sender(WithSecret()).Post(Request(server));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->attempts, 3);
  EXPECT_EQ(result->http_status, 200);
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(200), absl::Milliseconds(400)));
  const std::vector<ReceivedRequest> received = server.requests();
  ASSERT_EQ(received.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(received[i].headers.at("x-steward-idempotency-key"), "run-42/step-3");
    EXPECT_EQ(received[i].body, received[0].body);
    // Signed afresh on each attempt, with that attempt's time.
    EXPECT_EQ(received[i].headers.at("x-steward-signature"),
              WebhookSignature("whsec_test", kNow + absl::Seconds(i), received[i].body));
  }
}

TEST_F(WebhookSenderTest, HonoursRetryAfterOn429) {
  HttpTestServer server(Script{{.status = 429, .headers = {{"Retry-After", "7"}}}, {.status = 200}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->attempts, 2);
  EXPECT_THAT(sleeps_, ElementsAre(absl::Seconds(7)));
}

TEST_F(WebhookSenderTest, CapsRetryAfterAtMaxBackoff) {
  HttpTestServer server(Script{{.status = 503, .headers = {{"Retry-After", "3600"}}}, {.status = 200}});
  WebhookOptions options;
  options.max_backoff = absl::Seconds(10);

  ASSERT_TRUE(Sender(options).Post(Request(server)).ok());

  EXPECT_THAT(sleeps_, ElementsAre(absl::Seconds(10)));
}

TEST_F(WebhookSenderTest, IgnoresRetryAfterOnOtherStatuses) {
  HttpTestServer server(Script{{.status = 500, .headers = {{"Retry-After", "7"}}}, {.status = 200}});

  ASSERT_TRUE(Sender(WebhookOptions()).Post(Request(server)).ok());

  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(200)));
}

TEST_F(WebhookSenderTest, ClientErrorIsFinal) {
  HttpTestServer server(Script{{.status = 400}, {.status = 200}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("400"));
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(sleeps_, IsEmpty());
}

TEST_F(WebhookSenderTest, RedirectIsFinalAndNotFollowed) {
  HttpTestServer server(Script{{.status = 302, .headers = {{"Location", "/elsewhere"}}}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("302"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(WebhookSenderTest, GivesUpAfterMaxAttempts) {
  HttpTestServer server(Script{{.status = 500}});
  WebhookOptions options;
  options.max_attempts = 3;

  absl::StatusOr<WebhookResult> result = Sender(options).Post(Request(server));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("HTTP 500"));
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(200), absl::Milliseconds(400)));
}

TEST_F(WebhookSenderTest, ConnectionRefusedIsRetriedThenUnavailable) {
  // A port that was just bound and closed: nothing listens there.
  int port = 0;
  {
    HttpTestServer closed(Script{{.status = 200}});
    port = closed.port();
  }
  WebhookOptions options;
  options.max_attempts = 3;
  options.attempt_timeout = absl::Seconds(1);
  WebhookRequest request = {.url = absl::StrCat("http://127.0.0.1:", port, "/hook"),
                            .event_name = "e",
                            .idempotency_key = "k",
                            .body = "{}"};

  absl::StatusOr<WebhookResult> result = Sender(options).Post(request);

  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("3 attempts"));
  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(200), absl::Milliseconds(400)));
}

TEST_F(WebhookSenderTest, TimeoutIsRetriedThenUnavailable) {
  HttpTestServer server(Script{{.stall = true}});
  WebhookOptions options;
  options.max_attempts = 2;
  options.attempt_timeout = absl::Milliseconds(300);

  absl::StatusOr<WebhookResult> result = Sender(options).Post(Request(server));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(absl::AsciiStrToLower(result.status().message()), HasSubstr("timed out"));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(WebhookSenderTest, RejectsBadRequestsWithoutAttempt) {
  HttpTestServer server(Script{{.status = 200}});
  WebhookRequest ok = Request(server);
  std::vector<WebhookRequest> bad(5, ok);
  bad[0].url = "ftp://x";
  bad[1].url = "";
  bad[2].url = "127.0.0.1/no-scheme";
  bad[3].event_name = "";
  bad[4].idempotency_key = "k\r\nX-Injected: 1";

  for (const WebhookRequest& request : bad) {
    EXPECT_EQ(Sender(WebhookOptions()).Post(request).status().code(), absl::StatusCode::kInvalidArgument)
        << request.url << " " << request.event_name << " " << request.idempotency_key;
  }
  EXPECT_THAT(server.requests(), IsEmpty());
  EXPECT_THAT(sleeps_, IsEmpty());
}

TEST(WebhookSignatureTest, MatchesKnownVector) {
  // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
  EXPECT_EQ(WebhookSignature("whsec_test", absl::FromUnixSeconds(1700000000), R"({"a":1})"),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
}

}  // namespace
}  // namespace steward::playbooks
