#pragma once

#include "steward/v1/enrollment.pb.h"

namespace steward::playbooks {

// What the engine reports once a change is durably written (never for a write that lost a race and
// was retried, so each enrolment, step run and action is reported once per process that wrote it).
// For metrics; implementations must be thread-safe and quick, and must not call back into the engine.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  // An enrolment began (manual or by trigger); its day-0 steps follow as OnStepRun.
  virtual void OnEnrolled(const v1::Enrollment& enrollment) = 0;
  // A step of `enrollment` ran (delivered, skipped or held out).
  virtual void OnStepRun(const v1::Enrollment& enrollment, const v1::StepRun& run) = 0;
  // An action was handed off to the action stream.
  virtual void OnActionHandedOff(const v1::PlaybookAction& action) = 0;
};

}  // namespace steward::playbooks
