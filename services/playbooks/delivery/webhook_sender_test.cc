#include "services/playbooks/delivery/webhook_sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::playbooks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string body = {};
  bool stall = false;  // read the request, never answer, wait for the client to hang up
};

using Script = std::vector<ScriptedResponse>;

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// A real HTTP/1.1 server on 127.0.0.1:<ephemeral port>, one connection at a time: reads a whole
// request (headers, then Content-Length bytes), records it, answers with the next scripted response
// (the last one repeats) and closes.
class LoopbackHttpServer {
 public:
  explicit LoopbackHttpServer(Script script) : script_(std::move(script)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(addr);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1: " << errno;
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~LoopbackHttpServer() {
    shutdown(listen_fd_, SHUT_RDWR);  // on Linux, wakes the blocked accept()
    if (thread_.joinable()) thread_.join();
    close(listen_fd_);
  }

  int port() const { return port_; }

  std::string Url(absl::string_view path) const { return absl::StrCat("http://127.0.0.1:", port_, path); }

  std::vector<ReceivedRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  void Serve() {
    for (size_t served = 0;; ++served) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      // A client that stops talking must fail the test, not hang it.
      timeval timeout{.tv_sec = 10, .tv_usec = 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      const ScriptedResponse& response = script_[std::min(served, script_.size() - 1)];
      if (ReadRequest(fd)) Answer(fd, response);
      close(fd);
    }
  }

  bool ReadRequest(int fd) {
    std::string data;
    size_t header_end;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadSome(fd, data)) return false;
    }
    ReceivedRequest request;
    std::vector<std::string> lines = absl::StrSplit(absl::string_view(data).substr(0, header_end), "\r\n");
    std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
    if (request_line.size() != 3) return false;
    request.method = request_line[0];
    request.path = request_line[1];
    for (size_t i = 1; i < lines.size(); ++i) {
      std::pair<std::string, std::string> header = absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
      request.headers[absl::AsciiStrToLower(header.first)] =
          std::string(absl::StripAsciiWhitespace(header.second));
    }
    size_t content_length = 0;
    if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
      if (!absl::SimpleAtoi(it->second, &content_length)) return false;
    }
    while (data.size() < header_end + 4 + content_length) {
      if (!ReadSome(fd, data)) return false;
    }
    request.body = data.substr(header_end + 4, content_length);
    absl::MutexLock lock(&mu_);
    requests_.push_back(std::move(request));
    return true;
  }

  static bool ReadSome(int fd, std::string& data) {
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    data.append(buffer, static_cast<size_t>(n));
    return true;
  }

  static void Answer(int fd, const ScriptedResponse& response) {
    if (response.stall) {
      std::string ignored;
      while (ReadSome(fd, ignored)) {
      }
      return;
    }
    std::string reply =
        absl::StrCat("HTTP/1.1 ", response.status, " Scripted\r\nContent-Length: ", response.body.size(),
                     "\r\nConnection: close\r\n");
    for (const auto& [name, value] : response.headers) absl::StrAppend(&reply, name, ": ", value, "\r\n");
    absl::StrAppend(&reply, "\r\n", response.body);
    for (size_t sent = 0; sent < reply.size();) {
      const ssize_t n = send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  const Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
};

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

  static WebhookRequest Request(const LoopbackHttpServer& server) {
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
  LoopbackHttpServer server(Script{{.status = 200, .body = "thanks"}});
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
  LoopbackHttpServer server(Script{{.status = 204}});

  ASSERT_TRUE(Sender(WebhookOptions()).Post(Request(server)).ok());

  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_FALSE(server.requests()[0].headers.contains("x-steward-signature"));
}

TEST_F(WebhookSenderTest, LargeBodyIsSentWholeWithoutExpectContinue) {
  LoopbackHttpServer server(Script{{.status = 200}});
  WebhookRequest request = Request(server);
  request.body = absl::StrCat(R"({"padding":")", std::string(2 << 20, 'x'), R"("})");

  ASSERT_TRUE(Sender(WebhookOptions()).Post(request).ok());

  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body, request.body);
  EXPECT_FALSE(server.requests()[0].headers.contains("expect"));
}

TEST_F(WebhookSenderTest, HugeResponseBodyIsCutShortNotRetried) {
  LoopbackHttpServer server(Script{{.status = 200, .body = std::string(1 << 20, 'y')}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->attempts, 1);
  EXPECT_EQ(result->http_status, 200);
}

TEST_F(WebhookSenderTest, RetriesServerErrorsWithDoublingBackoffAndSameKey) {
  LoopbackHttpServer server(Script{{.status = 503}, {.status = 500}, {.status = 200}});

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
  LoopbackHttpServer server(Script{{.status = 429, .headers = {{"Retry-After", "7"}}}, {.status = 200}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->attempts, 2);
  EXPECT_THAT(sleeps_, ElementsAre(absl::Seconds(7)));
}

TEST_F(WebhookSenderTest, CapsRetryAfterAtMaxBackoff) {
  LoopbackHttpServer server(Script{{.status = 503, .headers = {{"Retry-After", "3600"}}}, {.status = 200}});
  WebhookOptions options;
  options.max_backoff = absl::Seconds(10);

  ASSERT_TRUE(Sender(options).Post(Request(server)).ok());

  EXPECT_THAT(sleeps_, ElementsAre(absl::Seconds(10)));
}

TEST_F(WebhookSenderTest, IgnoresRetryAfterOnOtherStatuses) {
  LoopbackHttpServer server(Script{{.status = 500, .headers = {{"Retry-After", "7"}}}, {.status = 200}});

  ASSERT_TRUE(Sender(WebhookOptions()).Post(Request(server)).ok());

  EXPECT_THAT(sleeps_, ElementsAre(absl::Milliseconds(200)));
}

TEST_F(WebhookSenderTest, ClientErrorIsFinal) {
  LoopbackHttpServer server(Script{{.status = 400}, {.status = 200}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("400"));
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(sleeps_, IsEmpty());
}

TEST_F(WebhookSenderTest, RedirectIsFinalAndNotFollowed) {
  LoopbackHttpServer server(Script{{.status = 302, .headers = {{"Location", "/elsewhere"}}}});

  absl::StatusOr<WebhookResult> result = Sender(WebhookOptions()).Post(Request(server));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("302"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(WebhookSenderTest, GivesUpAfterMaxAttempts) {
  LoopbackHttpServer server(Script{{.status = 500}});
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
    LoopbackHttpServer closed(Script{{.status = 200}});
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
  LoopbackHttpServer server(Script{{.stall = true}});
  WebhookOptions options;
  options.max_attempts = 2;
  options.attempt_timeout = absl::Milliseconds(300);

  absl::StatusOr<WebhookResult> result = Sender(options).Post(Request(server));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(absl::AsciiStrToLower(result.status().message()), HasSubstr("timed out"));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(WebhookSenderTest, RejectsBadRequestsWithoutAttempt) {
  LoopbackHttpServer server(Script{{.status = 200}});
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
