#include "services/playbooks/playbook_metrics.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/proto_time.h"

namespace steward::playbooks {
namespace {

// Steps run when due, give or take the runner's poll interval; later after a backlog or an outage,
// and days later when a frequency cap put them off.
constexpr double kLatenessBuckets[] = {0.1, 0.5, 1,    5,        15,        60,
                                       300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600};

}  // namespace

std::string PlaybookMetrics::EnumLabel(absl::string_view name, absl::string_view prefix) {
  if (absl::StartsWith(name, prefix)) name.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(name);
}

PlaybookMetrics::PlaybookMetrics(metrics::MetricsRegistry& registry)
    : enrollments_(registry.AddCounter("steward_playbook_enrollments_started_total",
                                       "Playbook enrolments started, by playbook and source.",
                                       {"playbook", "source"})),
      steps_(registry.AddCounter("steward_playbook_steps_total",
                                 "Playbook steps run, by playbook and result (delivered, skipped, held_out).",
                                 {"playbook", "result"})),
      actions_(registry.AddCounter("steward_playbook_actions_total",
                                   "Playbook actions handed off to the action stream, by channel.",
                                   {"channel"})),
      lateness_(registry
                    .AddHistogram("steward_playbook_step_lateness_seconds",
                                  "How long after its due time a playbook step ran.", {},
                                  {std::begin(kLatenessBuckets), std::end(kLatenessBuckets)})
                    .WithLabels({})),
      webhooks_(registry.AddCounter("steward_playbook_webhooks_total",
                                    "Webhook actions POSTed, by outcome (sent: 2xx; failed).", {"outcome"})) {
}

void PlaybookMetrics::OnEnrolled(const v1::Enrollment& enrollment) {
  enrollments_
      .WithLabels({enrollment.playbook_id(),
                   EnumLabel(v1::EnrollmentSource_Name(enrollment.source()), "ENROLLMENT_SOURCE_")})
      .Increment();
}

void PlaybookMetrics::OnStepRun(const v1::Enrollment& enrollment, const v1::StepRun& run) {
  steps_.WithLabels({enrollment.playbook_id(), EnumLabel(v1::StepResult_Name(run.result()), "STEP_RESULT_")})
      .Increment();
  if (run.has_due_time() && run.has_run_time()) {
    const absl::Duration late = FromProtoTime(run.run_time()) - FromProtoTime(run.due_time());
    lateness_.Observe(std::max(0.0, absl::ToDoubleSeconds(late)));
  }
}

void PlaybookMetrics::OnActionHandedOff(const v1::PlaybookAction& action) {
  actions_.WithLabels({EnumLabel(v1::Channel_Name(action.channel()), "CHANNEL_")}).Increment();
}

void PlaybookMetrics::OnWebhookPosted(bool sent) {
  webhooks_.WithLabels({sent ? "sent" : "failed"}).Increment();
}

}  // namespace steward::playbooks
