#include "services/playbooks/delivery/webhook_sender.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace steward::playbooks {
namespace {

// Receivers answer with a status; a body beyond this is not worth reading (and could be endless).
constexpr size_t kMaxResponseBodyBytes = 64 * 1024;

using EasyPtr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using SlistPtr = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
using UrlPtr = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return code;
}

struct BodySink {
  size_t bytes = 0;
  bool capped = false;
};

size_t DiscardBody(char* /*data*/, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  sink->bytes += size * count;
  if (sink->bytes > kMaxResponseBodyBytes) {
    sink->capped = true;
    return 0;  // aborts the transfer; the status line has been read by then
  }
  return size * count;
}

// curl's own parser, so that what is validated is exactly what would be fetched.
absl::Status ValidateUrl(const std::string& url) {
  UrlPtr parsed(curl_url(), &curl_url_cleanup);
  char* scheme = nullptr;
  if (parsed == nullptr || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("webhook URL is not a valid absolute URL");
  }
  const std::string scheme_copy = scheme;
  curl_free(scheme);
  if (scheme_copy != "http" && scheme_copy != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook URL scheme must be http or https, not ", scheme_copy));
  }
  return absl::OkStatus();
}

// Header values go on the wire verbatim: a CR or LF would let a value forge other headers.
absl::Status ValidateHeaderValue(absl::string_view name, absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("webhook ", name, " is empty"));
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat("webhook ", name, " has a control character"));
    }
  }
  return absl::OkStatus();
}

bool IsRetryable(int http_status) {
  return http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599);
}

}  // namespace

struct WebhookSender::Attempt {
  int http_status = 0;                                // 0: no response
  std::string error = {};                             // why there was no response
  absl::Duration retry_after = absl::ZeroDuration();  // from a Retry-After header, if any
};

WebhookSender::WebhookSender(WebhookOptions options, std::function<void(absl::Duration)> sleep,
                             std::function<absl::Time()> now)
    : options_(std::move(options)), sleep_(std::move(sleep)), now_(std::move(now)) {}

absl::StatusOr<WebhookResult> WebhookSender::Post(const WebhookRequest& request) const {
  if (GlobalInit() != CURLE_OK) return absl::InternalError("curl_global_init failed");
  if (absl::Status s = ValidateUrl(request.url); !s.ok()) return s;
  if (absl::Status s = ValidateHeaderValue("event name", request.event_name); !s.ok()) return s;
  if (absl::Status s = ValidateHeaderValue("idempotency key", request.idempotency_key); !s.ok()) {
    return s;
  }

  const int max_attempts = std::max(options_.max_attempts, 1);
  absl::Duration backoff = options_.initial_backoff;
  WebhookResult result;
  while (true) {
    const Attempt attempt = PostOnce(request);
    ++result.attempts;
    result.http_status = attempt.http_status;
    const int status = attempt.http_status;
    if (status >= 200 && status <= 299) return result;
    if (status != 0 && !IsRetryable(status)) {
      return absl::FailedPreconditionError(
          absl::StrFormat("webhook %s: receiver answered HTTP %d (not retried)", request.event_name, status));
    }
    if (result.attempts >= max_attempts) {
      return absl::UnavailableError(
          absl::StrFormat("webhook %s: %d attempts failed, last: %s", request.event_name, result.attempts,
                          status != 0 ? absl::StrCat("HTTP ", status) : attempt.error));
    }
    // Retry-After is the receiver saying when it can take more; elsewhere it means nothing.
    const bool honour_retry_after =
        (status == 429 || status == 503) && attempt.retry_after > absl::ZeroDuration();
    sleep_(std::min(honour_retry_after ? attempt.retry_after : backoff, options_.max_backoff));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

WebhookSender::Attempt WebhookSender::PostOnce(const WebhookRequest& request) const {
  EasyPtr curl(curl_easy_init(), &curl_easy_cleanup);
  if (curl == nullptr) return {.error = "curl_easy_init failed"};

  std::vector<std::string> lines = {
      "Content-Type: application/json",
      "User-Agent: steward-webhooks/1",
      absl::StrCat("X-Steward-Event: ", request.event_name),
      absl::StrCat("X-Steward-Idempotency-Key: ", request.idempotency_key),
      // curl would otherwise send "Expect: 100-continue" for large bodies and wait for an answer
      // that many receivers never give.
      "Expect:",
  };
  if (!options_.signing_secret.empty()) {
    lines.push_back(absl::StrCat("X-Steward-Signature: ",
                                 WebhookSignature(options_.signing_secret, now_(), request.body)));
  }
  SlistPtr headers(nullptr, &curl_slist_free_all);
  for (const std::string& line : lines) {
    curl_slist* list = curl_slist_append(headers.get(), line.c_str());
    if (list == nullptr) return {.error = "out of memory building headers"};
    if (headers == nullptr) headers.reset(list);  // later appends return the same head
  }

  BodySink sink;
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // signals are process-wide; threads call Post
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.attempt_timeout)));
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &DiscardBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && sink.capped)) {
    return {.error =
                error_buffer[0] != '\0' ? std::string(error_buffer) : std::string(curl_easy_strerror(code))};
  }
  Attempt attempt;
  long http_status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_status);
  attempt.http_status = static_cast<int>(http_status);
  curl_off_t retry_after_seconds = 0;
  if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after_seconds) == CURLE_OK) {
    attempt.retry_after = absl::Seconds(retry_after_seconds);
  }
  if (attempt.http_status == 0) attempt.error = "no HTTP status received";
  return attempt;
}

std::string WebhookSignature(absl::string_view secret, absl::Time t, absl::string_view body) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  const std::string payload = absl::StrCat(seconds, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  // A null key pointer is refused by some OpenSSL versions even with length 0.
  const char* key = secret.empty() ? "" : secret.data();
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac,
           &mac_size) == nullptr) {
    mac_size = 0;  // only on allocation failure: an empty v1 that every receiver rejects
  }
  return absl::StrCat("t=", seconds, ",v1=",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac),
                                                               static_cast<size_t>(mac_size))));
}

}  // namespace steward::playbooks
