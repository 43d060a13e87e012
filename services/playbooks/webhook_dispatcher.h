#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/step_loop.h"
#include "common/store/store.h"
#include "services/playbooks/delivery/webhook_sender.h"
#include "services/playbooks/engine/playbook_engine.h"
#include "services/playbooks/playbook_metrics.h"

namespace steward::playbooks {

// Carries out webhook actions: a consumer of the action stream like any downstream service. It POSTs
// each webhook action (signed, retried with backoff; the action id is the idempotency key, so a receiver
// that honours it acts once even when a crash repeats a POST) and records the outcome: SENT on a 2xx,
// FAILED with the reason otherwise. Its place in the stream is kept in the store. The webhooks of one
// read are posted side by side (up to 8 at once).
class WebhookDispatcher {
 public:
  // `metrics` (optional) counts the POSTs by outcome.
  WebhookDispatcher(Store& store, PlaybookEngine& engine, const WebhookSender& sender,
                    absl::Duration poll_interval, PlaybookMetrics* metrics = nullptr);
  ~WebhookDispatcher() { Stop(); }

  // One batch of the action stream. Returns whether more may be waiting.
  absl::StatusOr<bool> Step();
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }

 private:
  // POSTs one webhook action and records its outcome; an error only when the outcome could not be
  // recorded (then the batch is retried).
  absl::Status Deliver(const v1::PlaybookAction& action);

  Store& store_;
  PlaybookEngine& engine_;
  const WebhookSender& sender_;
  PlaybookMetrics* const metrics_;
  StepLoop loop_;
};

}  // namespace steward::playbooks
