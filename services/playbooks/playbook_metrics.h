#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "common/metrics/metrics_registry.h"
#include "services/playbooks/engine/engine_observer.h"

namespace steward::playbooks {

// The playbook service's metrics, fed by the engine (as its EngineObserver) and the webhook dispatcher:
//   steward_playbook_enrollments_started_total{playbook,source}   source: manual, trigger
//   steward_playbook_steps_total{playbook,result}                  step runs: delivered, skipped, held_out
//   steward_playbook_actions_total{channel}                        actions handed off: email, task, webhook…
//   steward_playbook_step_lateness_seconds                         step run time − its due time
//   steward_playbook_webhooks_total{outcome}                       webhook POSTs: sent, failed
// Counted by the process that wrote or posted them. Thread-safe; `registry` must outlive it.
class PlaybookMetrics final : public EngineObserver {
 public:
  explicit PlaybookMetrics(metrics::MetricsRegistry& registry);

  void OnEnrolled(const v1::Enrollment& enrollment) override;
  void OnStepRun(const v1::Enrollment& enrollment, const v1::StepRun& run) override;
  void OnActionHandedOff(const v1::PlaybookAction& action) override;
  // A webhook action was POSTed: `sent` on a 2xx, otherwise failed (after the sender's retries).
  void OnWebhookPosted(bool sent);

  // "CHANNEL_IN_APP" -> "in_app": an enum value's name without its prefix, lower case.
  static std::string EnumLabel(absl::string_view name, absl::string_view prefix);

 private:
  metrics::CounterFamily& enrollments_;
  metrics::CounterFamily& steps_;
  metrics::CounterFamily& actions_;
  metrics::Histogram& lateness_;
  metrics::CounterFamily& webhooks_;
};

}  // namespace steward::playbooks
