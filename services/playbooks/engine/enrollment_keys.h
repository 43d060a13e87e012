#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "steward/v1/enrollment.pb.h"

// Where the playbook engine keeps its state (store keys, schedule members, index members), and the ids
// it hands out, with their parsers. One place, so that every reader and writer agrees.
namespace steward::playbooks {

// The schedule of due steps and trigger checks (a Redis sorted set by due time).
inline constexpr absl::string_view kScheduleName = "playbook-schedule";
// The action stream (a Redis stream; downstream services read it with consumer groups).
inline constexpr absl::string_view kActionLogName = "playbook-actions";

// A due time as the schedule holds it: whole milliseconds, rounded up, so that a claim made at the
// schedule's time never finds its step a fraction of a millisecond early.
inline int64_t ScheduleMillis(absl::Time t) {
  return absl::ToInt64Milliseconds(absl::Ceil(t - absl::UnixEpoch(), absl::Milliseconds(1)));
}

// The record of one account and playbook: v1::PlaybookEnrollments.
std::string EnrollmentsKey(absl::string_view account_id, absl::string_view playbook_id);
// The account's recent touches, for frequency caps: v1::TouchLog.
std::string TouchesKey(absl::string_view account_id);
// The index of a playbook's enrolments (the latest per account), by state, step and arm.
std::string PlaybookIndexName(absl::string_view playbook_id);

// An enrolment id, "<account_id>/<playbook_id>/<n>", taken apart.
struct EnrollmentRef {
  std::string account_id;
  std::string playbook_id;
  int number = 0;
};
std::optional<EnrollmentRef> ParseEnrollmentId(absl::string_view id);

// An action id, "<enrollment_id>/<step_id>/<attempt>", taken apart.
struct ActionRef {
  EnrollmentRef enrollment;
  std::string step_id;
  int attempt = 0;
};
std::optional<ActionRef> ParseActionId(absl::string_view id);

// A schedule member: an enrolment id (its next step or wait is due), or "<account_id>/<playbook_id>/trigger"
// (a trigger's sustained days are up: check it again).
std::string TriggerCheckMember(absl::string_view account_id, absl::string_view playbook_id);
struct ScheduleRef {
  EnrollmentRef enrollment;  // number 0 for a trigger check
  bool trigger_check = false;
};
std::optional<ScheduleRef> ParseScheduleMember(absl::string_view member);

// The enrolment's member of its playbook's index: "<state>/<where>/<arm>/<account_id>", where <where> is
// the step it is at (in flight) or how it ended, and <arm> its variant, "-" without one, or "~holdout".
// Listing by state and step is then a prefix scan.
std::string IndexMember(const v1::Enrollment& enrollment);
// The state part of index members.
absl::string_view StateName(v1::EnrollmentState state);
// An index member taken apart (nullopt for a malformed one).
struct IndexEntry {
  std::string state;
  std::string where;
  std::string arm;
  std::string account_id;
};
std::optional<IndexEntry> ParseIndexMember(absl::string_view member);
inline constexpr absl::string_view kHoldoutArm = "~holdout";

}  // namespace steward::playbooks
