#include "services/playbooks/engine/enrollment_machine.h"

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/playbooks/engine/step_timing.h"

namespace steward::playbooks {
namespace {

// A step loop with no delay cannot pass validation; this bounds one RunDue anyway.
constexpr int kMaxStepsPerRun = 64;

absl::Time Due(const v1::Enrollment& e) { return FromProtoTime(e.next_due_time()); }

v1::PlaybookAction BuildAction(const v1::Enrollment& e, const v1::Step& step, int attempt, absl::Time now) {
  v1::PlaybookAction action;
  action.set_action_id(ActionId(e, step.id(), attempt));
  action.set_account_id(e.account_id());
  action.set_enrollment_id(e.enrollment_id());
  action.set_playbook_id(e.playbook_id());
  action.set_playbook_version(e.playbook_version());
  action.set_variant_id(e.variant_id());
  action.set_step_id(step.id());
  action.set_channel(StepChannel(step));
  *action.mutable_due_time() = e.next_due_time();
  *action.mutable_created_time() = ToProtoTime(now);
  *action.mutable_context() = e.context();
  switch (step.action_case()) {
    case v1::Step::kEmail:
      *action.mutable_email() = step.email();
      break;
    case v1::Step::kInApp:
      *action.mutable_in_app() = step.in_app();
      break;
    case v1::Step::kTask:
      *action.mutable_task() = step.task();
      action.set_assignee_role(step.task().assignee_role());
      *action.mutable_task_due_time() = ToProtoTime(now + absl::Hours(step.task().due_in_hours()));
      *action.mutable_sla_time() = ToProtoTime(now + absl::Hours(step.task().sla_hours()));
      break;
    case v1::Step::kCall:
      *action.mutable_call() = step.call();
      action.set_assignee_role(step.call().assignee_role());
      *action.mutable_task_due_time() = ToProtoTime(now + absl::Hours(step.call().due_in_hours()));
      *action.mutable_sla_time() = action.task_due_time();
      break;
    case v1::Step::kOffer:
      *action.mutable_offer() = step.offer();
      break;
    case v1::Step::kWebhook:
      *action.mutable_webhook() = step.webhook();
      break;
    case v1::Step::ACTION_NOT_SET:
      break;
  }
  return action;
}

}  // namespace

v1::Enrollment StartEnrollment(const CompiledPlaybook& playbook, const std::string& account_id, int number,
                               const ArmAssignment& arm, v1::EnrollmentSource source,
                               const std::string& request_id, absl::Time enrolled) {
  v1::Enrollment e;
  e.set_enrollment_id(absl::StrCat(account_id, "/", playbook.id(), "/", number));
  e.set_account_id(account_id);
  e.set_playbook_id(playbook.id());
  e.set_playbook_version(playbook.version());
  e.set_variant_id(arm.variant_id);
  e.set_held_out(arm.held_out);
  e.set_state(v1::ENROLLMENT_STATE_ACTIVE);
  e.set_source(source);
  e.set_request_id(request_id);
  *e.mutable_enrolled_time() = ToProtoTime(enrolled);
  *e.mutable_last_step_time() = ToProtoTime(enrolled);
  const StepList& steps = playbook.Steps(arm.variant_id);
  e.set_next_step_id(steps.steps[0]->id());
  *e.mutable_next_due_time() =
      ToProtoTime(StepDueTime(*steps.steps[0], enrolled, enrolled, playbook.definition().start_delay_days()));
  return e;
}

bool InFlight(const v1::Enrollment& e) {
  return e.state() == v1::ENROLLMENT_STATE_ACTIVE || e.state() == v1::ENROLLMENT_STATE_PAUSED;
}

std::string ActionId(const v1::Enrollment& e, const std::string& step_id, int attempt) {
  return absl::StrCat(e.enrollment_id(), "/", step_id, "/", attempt);
}

void EndEnrollment(v1::Enrollment& e, v1::EnrollmentState state, const std::string& reason, bool goal,
                   absl::Time now) {
  e.set_state(state);
  e.set_exit_reason(reason);
  e.set_goal_reached(goal);
  *e.mutable_ended_time() = ToProtoTime(now);
  e.clear_next_due_time();
  e.clear_waiting_after_step_id();
  e.clear_paused_time();
}

void EnrollmentMachine::GoTo(v1::Enrollment& e, int index, absl::Time now) const {
  const StepList& steps = Steps(e);
  e.set_next_step_index(index);
  e.clear_waiting_after_step_id();
  *e.mutable_last_step_time() = ToProtoTime(now);
  if (index >= static_cast<int>(steps.steps.size())) {
    e.clear_next_step_id();
    EndEnrollment(e, v1::ENROLLMENT_STATE_COMPLETED, "", false, now);
    return;
  }
  e.set_next_step_id(steps.steps[index]->id());
  *e.mutable_next_due_time() = ToProtoTime(StepDueTime(*steps.steps[index], FromProtoTime(e.enrolled_time()),
                                                       now, playbook_.definition().start_delay_days()));
}

void EnrollmentMachine::TakeEventBranch(v1::Enrollment& e, const v1::WaitForEvent& wait,
                                        absl::Time now) const {
  if (wait.on_event_go_to().empty()) {
    GoTo(e, static_cast<int>(Steps(e).steps.size()), now);
    return;
  }
  GoTo(e, Steps(e).index_of.at(wait.on_event_go_to()), now);
}

const v1::Step* EnrollmentMachine::WaitingStep(const v1::Enrollment& e) const {
  if (e.waiting_after_step_id().empty()) return nullptr;
  const StepList& steps = Steps(e);
  auto found = steps.index_of.find(e.waiting_after_step_id());
  return found == steps.index_of.end() ? nullptr : steps.steps[found->second];
}

bool EnrollmentMachine::OutcomeEndsWait(const v1::WaitForEvent& wait, const v1::RecordedOutcome& outcome) {
  return absl::c_linear_search(wait.outcomes(), static_cast<int>(outcome.outcome())) &&
         (wait.outcome_step_ids().empty() ||
          absl::c_linear_search(wait.outcome_step_ids(), outcome.step_id()));
}

void EnrollmentMachine::RunDue(v1::Enrollment& e, v1::TouchLog& touches, const AccountFacts* facts,
                               absl::Time now, std::vector<v1::PlaybookAction>& actions) const {
  const StepList& steps = Steps(e);
  for (int guard = 0; guard < kMaxStepsPerRun && e.state() == v1::ENROLLMENT_STATE_ACTIVE; ++guard) {
    if (Due(e) > now) return;
    if (const v1::Step* waiting = WaitingStep(e); waiting != nullptr) {
      // The wait timed out: "escalate if no response by day 3".
      GoTo(e, steps.index_of.at(waiting->wait_for_event().on_timeout_go_to()), now);
      continue;
    }
    if (facts != nullptr && ExitOnFacts(e, *facts, now)) return;
    const int index = e.next_step_index();
    const v1::Step& step = *steps.steps[index];
    v1::StepRun run;
    run.set_step_id(step.id());
    run.set_attempt(1 + static_cast<int>(absl::c_count_if(
                            e.steps(), [&](const v1::StepRun& r) { return r.step_id() == step.id(); })));
    *run.mutable_due_time() = e.next_due_time();
    *run.mutable_run_time() = ToProtoTime(now);
    const auto& condition = steps.conditions[index];
    if (condition.has_value() &&
        (facts == nullptr || !condition->Matches(facts->View(now), facts->segment_ids))) {
      run.set_result(v1::STEP_RESULT_SKIPPED);
    } else if (e.held_out()) {
      run.set_result(v1::STEP_RESULT_HELD_OUT);
    } else {
      const v1::Channel channel = StepChannel(step);
      if (std::optional<absl::Time> later = CapDeferral(caps_, touches, channel, now); later.has_value()) {
        // Deferred, not dropped: the step keeps its place and runs once the cap allows.
        *e.mutable_next_due_time() = ToProtoTime(AlignToWindow(step.delay(), *later));
        e.set_pending_deferrals(e.pending_deferrals() + 1);
        return;
      }
      run.set_result(v1::STEP_RESULT_DELIVERED);
      run.set_action_id(ActionId(e, step.id(), run.attempt()));
      actions.push_back(BuildAction(e, step, run.attempt(), now));
      RecordTouch(caps_, touches, channel, now);
    }
    run.set_deferrals(e.pending_deferrals());
    e.set_pending_deferrals(0);
    *e.add_steps() = std::move(run);
    *e.mutable_last_step_time() = ToProtoTime(now);
    if (step.has_wait_for_event()) {
      const v1::WaitForEvent& wait = step.wait_for_event();
      // A reaction that came before the wait began counts too (a reply to day 0's offer before day 1).
      if (absl::c_any_of(e.outcomes(),
                         [&](const v1::RecordedOutcome& o) { return OutcomeEndsWait(wait, o); })) {
        TakeEventBranch(e, wait, now);
        continue;
      }
      e.set_waiting_after_step_id(step.id());
      *e.mutable_next_due_time() = ToProtoTime(now + absl::Hours(24 * int64_t{wait.within_days()}));
      return;
    }
    GoTo(e, index + 1, now);
  }
}

bool EnrollmentMachine::OnEvent(v1::Enrollment& e, v1::EventType type, absl::Time event_time,
                                absl::Time now) const {
  if (!InFlight(e)) return false;
  const v1::Playbook& def = playbook_.definition();
  for (const v1::ExitCriterion& exit : def.exits()) {
    if (exit.when_case() == v1::ExitCriterion::kEventType && exit.event_type() == type &&
        event_time >= FromProtoTime(e.enrolled_time())) {
      EndEnrollment(e, v1::ENROLLMENT_STATE_EXITED, exit.name(), exit.goal(), now);
      return true;
    }
  }
  const v1::Step* waiting = WaitingStep(e);
  if (waiting == nullptr || e.state() != v1::ENROLLMENT_STATE_ACTIVE) return false;
  const v1::WaitForEvent& wait = waiting->wait_for_event();
  if (!absl::c_linear_search(wait.event_types(), static_cast<int>(type))) return false;
  // Only reactions after the step that began the wait.
  if (e.steps().empty() || event_time < FromProtoTime(e.steps(e.steps_size() - 1).run_time())) return false;
  TakeEventBranch(e, wait, now);
  return true;
}

bool EnrollmentMachine::OnOutcome(v1::Enrollment& e, const v1::RecordedOutcome& outcome,
                                  absl::Time now) const {
  if (!InFlight(e)) return false;
  for (const v1::ExitCriterion& exit : playbook_.definition().exits()) {
    if (exit.when_case() == v1::ExitCriterion::kOutcome && exit.outcome() == outcome.outcome()) {
      EndEnrollment(e, v1::ENROLLMENT_STATE_EXITED, exit.name(), exit.goal(), now);
      return true;
    }
  }
  const v1::Step* waiting = WaitingStep(e);
  if (waiting == nullptr || e.state() != v1::ENROLLMENT_STATE_ACTIVE) return false;
  if (!OutcomeEndsWait(waiting->wait_for_event(), outcome)) return false;
  TakeEventBranch(e, waiting->wait_for_event(), now);
  return true;
}

bool EnrollmentMachine::ExitOnFacts(v1::Enrollment& e, const AccountFacts& facts, absl::Time now) const {
  if (!InFlight(e)) return false;
  const v1::Playbook& def = playbook_.definition();
  for (int i = 0; i < def.exits_size(); ++i) {
    const auto& rule = playbook_.exit_rules()[i];
    if (rule.has_value() && rule->Matches(facts.View(now), facts.segment_ids)) {
      EndEnrollment(e, v1::ENROLLMENT_STATE_EXITED, def.exits(i).name(), def.exits(i).goal(), now);
      return true;
    }
  }
  return false;
}

std::vector<std::string> EnrollmentMachine::ExitsHolding(const AccountFacts& facts, absl::Time now) const {
  std::vector<std::string> names;
  const v1::Playbook& def = playbook_.definition();
  for (int i = 0; i < def.exits_size(); ++i) {
    const auto& rule = playbook_.exit_rules()[i];
    if (rule.has_value() && rule->Matches(facts.View(now), facts.segment_ids))
      names.push_back(def.exits(i).name());
  }
  return names;
}

}  // namespace steward::playbooks
