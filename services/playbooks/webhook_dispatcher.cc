#include "services/playbooks/webhook_dispatcher.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/store/stored_cursor.h"
#include "google/protobuf/util/json_util.h"
#include "services/playbooks/engine/enrollment_keys.h"

namespace steward::playbooks {
namespace {

constexpr absl::string_view kCursorKey = "playbook-webhook-cursor";
constexpr int kBatch = 100;
// Webhooks of one batch posted at the same time.
constexpr size_t kParallelPosts = 8;

}  // namespace

WebhookDispatcher::WebhookDispatcher(Store& store, PlaybookEngine& engine, const WebhookSender& sender,
                                     absl::Duration poll_interval, PlaybookMetrics* metrics)
    : store_(store),
      engine_(engine),
      sender_(sender),
      metrics_(metrics),
      loop_("webhook_dispatch_failed", poll_interval, [this] { return Step(); }) {}

absl::Status WebhookDispatcher::Deliver(const v1::PlaybookAction& action) {
  WebhookRequest request;
  request.url = action.webhook().url();
  request.event_name = action.webhook().event_name();
  request.idempotency_key = action.action_id();
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(action, &request.body, json);
  absl::StatusOr<WebhookResult> posted = sender_.Post(request);
  if (metrics_ != nullptr) metrics_->OnWebhookPosted(posted.ok());
  std::optional<ActionRef> ref = ParseActionId(action.action_id());
  if (!ref.has_value()) return absl::OkStatus();
  const v1::ActionOutcome outcome = posted.ok() ? v1::ACTION_OUTCOME_SENT : v1::ACTION_OUTCOME_FAILED;
  auto recorded =
      engine_.RecordOutcome(*ref, outcome, posted.ok() ? "" : std::string(posted.status().message()));
  Log(posted.ok() ? LogLevel::kInfo : LogLevel::kWarning, "webhook_delivered",
      {{"action_id", action.action_id()}, {"ok", posted.ok() ? "true" : "false"}});
  if (!recorded.ok() && !absl::IsNotFound(recorded.status())) return recorded.status();
  return absl::OkStatus();
}

absl::StatusOr<bool> WebhookDispatcher::Step() {
  const std::string cursor_key(kCursorKey);
  auto after = ReadStoredCursor(store_, cursor_key);
  if (!after.ok()) return after.status();
  auto entries = store_.LogRead(std::string(kActionLogName), *after, kBatch);
  if (!entries.ok()) return entries.status();
  std::vector<v1::PlaybookAction> webhooks;
  for (const LogEntry& entry : *entries) {
    v1::PlaybookAction action;
    if (!action.ParseFromString(entry.bytes) || action.channel() != v1::CHANNEL_WEBHOOK) continue;
    action.set_cursor(entry.id);
    webhooks.push_back(std::move(action));
  }
  // Posted side by side, so that one endpoint that times out and is retried holds up only its own
  // deliveries, not every webhook behind it in the stream.
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  absl::Status first_error;
  std::vector<std::thread> senders;
  for (size_t t = 0; t < std::min(webhooks.size(), kParallelPosts); ++t) {
    senders.emplace_back([&] {
      for (size_t i = next++; i < webhooks.size(); i = next++) {
        if (absl::Status s = Deliver(webhooks[i]); !s.ok()) {
          absl::MutexLock lock(&mu);
          if (first_error.ok()) first_error = s;
        }
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  // The batch is read again after a failure to record an outcome; receivers drop the repeated POSTs by
  // their idempotency key.
  if (!first_error.ok()) return first_error;
  if (entries->empty()) return false;
  if (absl::Status s = SaveStoredCursor(store_, cursor_key, entries->back().id); !s.ok()) return s;
  return static_cast<int>(entries->size()) == kBatch;
}

}  // namespace steward::playbooks
