#include "services/playbooks/webhook_dispatcher.h"

#include <vector>

#include "common/logging.h"
#include "common/store/stored_cursor.h"
#include "google/protobuf/util/json_util.h"
#include "services/playbooks/engine/enrollment_keys.h"

namespace steward::playbooks {
namespace {

constexpr absl::string_view kCursorKey = "playbook-webhook-cursor";
constexpr int kBatch = 100;

}  // namespace

WebhookDispatcher::WebhookDispatcher(Store& store, PlaybookEngine& engine, const WebhookSender& sender,
                                     absl::Duration poll_interval)
    : store_(store),
      engine_(engine),
      sender_(sender),
      loop_("webhook_dispatch_failed", poll_interval, [this] { return Step(); }) {}

absl::StatusOr<bool> WebhookDispatcher::Step() {
  const std::string cursor_key(kCursorKey);
  auto after = ReadStoredCursor(store_, cursor_key);
  if (!after.ok()) return after.status();
  auto entries = store_.LogRead(std::string(kActionLogName), *after, kBatch);
  if (!entries.ok()) return entries.status();
  for (const LogEntry& entry : *entries) {
    v1::PlaybookAction action;
    if (!action.ParseFromString(entry.bytes) || action.channel() != v1::CHANNEL_WEBHOOK) continue;
    action.set_cursor(entry.id);
    WebhookRequest request;
    request.url = action.webhook().url();
    request.event_name = action.webhook().event_name();
    request.idempotency_key = action.action_id();
    google::protobuf::util::JsonPrintOptions json;
    json.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(action, &request.body, json);
    absl::StatusOr<WebhookResult> posted = sender_.Post(request);
    std::optional<ActionRef> ref = ParseActionId(action.action_id());
    if (!ref.has_value()) continue;
    const v1::ActionOutcome outcome = posted.ok() ? v1::ACTION_OUTCOME_SENT : v1::ACTION_OUTCOME_FAILED;
    auto recorded =
        engine_.RecordOutcome(*ref, outcome, posted.ok() ? "" : std::string(posted.status().message()));
    if (!recorded.ok() && !absl::IsNotFound(recorded.status())) return recorded.status();  // retried later
    Log(posted.ok() ? LogLevel::kInfo : LogLevel::kWarning, "webhook_delivered",
        {{"action_id", action.action_id()}, {"ok", posted.ok() ? "true" : "false"}});
  }
  if (entries->empty()) return false;
  if (absl::Status s = SaveStoredCursor(store_, cursor_key, entries->back().id); !s.ok()) return s;
  return static_cast<int>(entries->size()) == kBatch;
}

}  // namespace steward::playbooks
