#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/playbooks/engine/account_facts.h"
#include "services/playbooks/engine/compiled_playbook.h"
#include "services/playbooks/engine/frequency_caps.h"
#include "steward/v1/enrollment.pb.h"
#include "steward/v1/event.pb.h"

// How an enrolment moves (playbook.proto, "How an enrolment runs"): pure transitions of a v1::Enrollment
// under one playbook version, with no I/O, so that every rule of the engine is tested in microseconds.
// The engine (playbook_engine.h) reads the records, applies these, and writes the results atomically.
namespace steward::playbooks {

// A new enrolment, ACTIVE, its first step scheduled. `enrolled` is the reference of its day offsets.
v1::Enrollment StartEnrollment(const CompiledPlaybook& playbook, const std::string& account_id, int number,
                               const ArmAssignment& arm, v1::EnrollmentSource source,
                               const std::string& request_id, absl::Time enrolled);

// Whether the enrolment is in flight (ACTIVE or PAUSED).
bool InFlight(const v1::Enrollment& enrollment);

// "<enrollment_id>/<step_id>/<attempt>".
std::string ActionId(const v1::Enrollment& enrollment, const std::string& step_id, int attempt);

// Ends an enrolment in flight.
void EndEnrollment(v1::Enrollment& enrollment, v1::EnrollmentState state, const std::string& reason,
                   bool goal, absl::Time now);

class EnrollmentMachine {
 public:
  EnrollmentMachine(const CompiledPlaybook& playbook, const FrequencyCaps& caps)
      : playbook_(playbook), caps_(caps) {}

  // Runs everything due at `now` in an ACTIVE enrolment, in order: a wait that timed out takes its
  // timeout branch; before each step the rule exit criteria are checked (with `facts`; null skips them);
  // each due step then runs: skipped when its condition does not hold (null facts: it does not),
  // silent when held out, deferred when a frequency cap is full, otherwise delivered (its action is
  // appended to `actions` and counted in `touches`). Stops at the first step not yet due, at a wait, or
  // at the end.
  void RunDue(v1::Enrollment& enrollment, v1::TouchLog& touches, const AccountFacts* facts, absl::Time now,
              std::vector<v1::PlaybookAction>& actions) const;

  // An account event: ends an enrolment in flight whose exit criteria name its type, or ends a wait that
  // expects it (for events at or after the step that began the wait). Returns whether anything changed.
  bool OnEvent(v1::Enrollment& enrollment, v1::EventType type, absl::Time event_time, absl::Time now) const;

  // An outcome recorded for one of the enrolment's actions (already appended to enrollment.outcomes):
  // may meet an outcome exit criterion or end a wait. Returns whether the enrolment moved.
  bool OnOutcome(v1::Enrollment& enrollment, const v1::RecordedOutcome& outcome, absl::Time now) const;

  // Checks the rule exit criteria against `facts`; ends the enrolment on the first that holds. Returns
  // whether it ended.
  bool ExitOnFacts(v1::Enrollment& enrollment, const AccountFacts& facts, absl::Time now) const;

  // The exit criteria whose rules hold for `facts` now, by name.
  std::vector<std::string> ExitsHolding(const AccountFacts& facts, absl::Time now) const;

 private:
  const StepList& Steps(const v1::Enrollment& enrollment) const {
    return playbook_.Steps(enrollment.variant_id());
  }
  // Moves to step `index` (the list's size: completes), scheduling it from `now`.
  void GoTo(v1::Enrollment& enrollment, int index, absl::Time now) const;
  // Ends a wait by its event branch.
  void TakeEventBranch(v1::Enrollment& enrollment, const v1::WaitForEvent& wait, absl::Time now) const;
  // Whether an outcome of the enrolment satisfies `wait`.
  static bool OutcomeEndsWait(const v1::WaitForEvent& wait, const v1::RecordedOutcome& outcome);
  // The step the enrolment waits after, or null.
  const v1::Step* WaitingStep(const v1::Enrollment& enrollment) const;

  const CompiledPlaybook& playbook_;
  const FrequencyCaps& caps_;
};

}  // namespace steward::playbooks
