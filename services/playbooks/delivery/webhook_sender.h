#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// Delivery of playbook webhook actions: a signed HTTP POST with retries, over libcurl. Plain domain
// code (no gRPC, flags or storage); the caller owns scheduling and the idempotency key.
namespace steward::playbooks {

struct WebhookRequest {
  std::string url;              // http:// or https://
  std::string event_name;       // e.g. "playbook.retention.escalated"
  std::string idempotency_key;  // the action's key; receivers drop repeats by it
  std::string body;             // JSON, sent as-is
};

struct WebhookOptions {
  int max_attempts = 5;                                      // first try included; < 1 means 1
  absl::Duration initial_backoff = absl::Milliseconds(200);  // doubled after each failed attempt
  absl::Duration max_backoff = absl::Seconds(30);
  absl::Duration attempt_timeout = absl::Seconds(5);  // whole request, connect included
  std::string signing_secret;                         // HMAC key; empty: no signature header
};

// Result of Post: how many attempts were made and the last HTTP status (0 when none was received).
struct WebhookResult {
  int attempts = 0;
  int http_status = 0;
};

// Sends webhooks with these headers:
//   Content-Type: application/json
//   User-Agent: steward-webhooks/1
//   X-Steward-Event: <event_name>
//   X-Steward-Idempotency-Key: <idempotency_key>     (the same on every retry)
//   X-Steward-Signature: <WebhookSignature(...)>     (per attempt, with now(); only with a secret)
// Redirects are not followed and the response body is discarded.
//
// Thread-safe: Post is const and shares no mutable state, provided `sleep` and `now` may be called
// from several threads at once.
class WebhookSender {
 public:
  // `sleep` waits between attempts; tests pass a recorder so no test ever really sleeps. `now` gives
  // the signature timestamp.
  WebhookSender(WebhookOptions options, std::function<void(absl::Duration)> sleep,
                std::function<absl::Time()> now);

  // POSTs `request`. OK with the result on a 2xx. Retries (with backoff) on connection errors,
  // timeouts, 408, 429 and 5xx; a Retry-After header in seconds on 429/503 is honoured (capped at
  // max_backoff). Other statuses are final: FAILED_PRECONDITION naming the status. After max_attempts
  // retryable failures: UNAVAILABLE naming the last error. INVALID_ARGUMENT, with no attempt, for a URL
  // that is not http(s), or an empty event name or idempotency key or one with control characters.
  // Error messages never contain the URL: webhook URLs often carry credentials.
  absl::StatusOr<WebhookResult> Post(const WebhookRequest& request) const;

 private:
  struct Attempt;
  Attempt PostOnce(const WebhookRequest& request) const;

  WebhookOptions options_;
  std::function<void(absl::Duration)> sleep_;
  std::function<absl::Time()> now_;
};

// The signature header value: "t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>"
// (Stripe's scheme, so receivers can reject replays by t). Exposed for receivers' tests.
std::string WebhookSignature(absl::string_view secret, absl::Time t, absl::string_view body);

}  // namespace steward::playbooks
