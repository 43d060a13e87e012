#pragma once

#include "absl/time/time.h"
#include "steward/v1/playbook.pb.h"

// When a playbook step falls due (playbook.proto, "How an enrolment runs"). Pure functions of the
// definition and the enrolment's times, so the runner, PreviewPlaybook and the tests agree.
namespace steward::playbooks {

// The first instant at or after `due` inside the delay's local-time window and on one of its weekdays
// (in the window's time zone, UTC without one); `due` itself when the delay has neither. An unknown time
// zone counts as UTC (the loader refuses one, so it only happens with a hand-built definition).
absl::Time AlignToWindow(const v1::Delay& delay, absl::Time due);

// When `step` falls due for an enrolment that started at `enrolled`, whose previous step ran (or whose
// branch was taken) at `previous`: its delay from the reference, never before the playbook's quiet
// period `start_delay_days`, then aligned to its window.
absl::Time StepDueTime(const v1::Step& step, absl::Time enrolled, absl::Time previous, int start_delay_days);

}  // namespace steward::playbooks
