#include "services/playbooks/engine/enrollment_keys.h"

#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/store/store.h"

namespace steward::playbooks {

std::string EnrollmentsKey(absl::string_view account_id, absl::string_view playbook_id) {
  return absl::StrCat(KeyTag(account_id), ":playbook:", playbook_id);
}

std::string TouchesKey(absl::string_view account_id) { return absl::StrCat(KeyTag(account_id), ":touches"); }

std::string PlaybookIndexName(absl::string_view playbook_id) {
  return absl::StrCat("playbook-index:", playbook_id);
}

namespace {

// Digits only ("+1" and " 1" are not numbers here: ids are compared as text elsewhere).
bool ParsePositive(absl::string_view text, int* out) {
  if (text.empty() || text.size() > 9 || !absl::c_all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return absl::SimpleAtoi(text, out) && *out > 0;
}

}  // namespace

std::optional<EnrollmentRef> ParseEnrollmentId(absl::string_view id) {
  std::vector<absl::string_view> parts = absl::StrSplit(id, '/');
  EnrollmentRef ref;
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || !ParsePositive(parts[2], &ref.number)) {
    return std::nullopt;
  }
  ref.account_id = std::string(parts[0]);
  ref.playbook_id = std::string(parts[1]);
  return ref;
}

std::optional<ActionRef> ParseActionId(absl::string_view id) {
  std::vector<absl::string_view> parts = absl::StrSplit(id, '/');
  if (parts.size() != 5 || parts[3].empty()) return std::nullopt;
  std::optional<EnrollmentRef> enrollment =
      ParseEnrollmentId(absl::StrCat(parts[0], "/", parts[1], "/", parts[2]));
  ActionRef ref;
  if (!enrollment.has_value() || !ParsePositive(parts[4], &ref.attempt)) return std::nullopt;
  ref.enrollment = *std::move(enrollment);
  ref.step_id = std::string(parts[3]);
  return ref;
}

std::string TriggerCheckMember(absl::string_view account_id, absl::string_view playbook_id) {
  return absl::StrCat(account_id, "/", playbook_id, "/trigger");
}

std::optional<ScheduleRef> ParseScheduleMember(absl::string_view member) {
  if (absl::EndsWith(member, "/trigger")) {
    std::vector<absl::string_view> parts = absl::StrSplit(member, '/');
    if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) return std::nullopt;
    ScheduleRef ref;
    ref.trigger_check = true;
    ref.enrollment.account_id = std::string(parts[0]);
    ref.enrollment.playbook_id = std::string(parts[1]);
    return ref;
  }
  std::optional<EnrollmentRef> enrollment = ParseEnrollmentId(member);
  if (!enrollment.has_value()) return std::nullopt;
  return ScheduleRef{*std::move(enrollment), false};
}

absl::string_view StateName(v1::EnrollmentState state) {
  switch (state) {
    case v1::ENROLLMENT_STATE_ACTIVE:
      return "active";
    case v1::ENROLLMENT_STATE_PAUSED:
      return "paused";
    case v1::ENROLLMENT_STATE_COMPLETED:
      return "completed";
    case v1::ENROLLMENT_STATE_EXITED:
      return "exited";
    case v1::ENROLLMENT_STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

std::string IndexMember(const v1::Enrollment& e) {
  std::string where;
  if (e.state() == v1::ENROLLMENT_STATE_ACTIVE || e.state() == v1::ENROLLMENT_STATE_PAUSED) {
    where = e.waiting_after_step_id().empty() ? e.next_step_id() : e.waiting_after_step_id();
  } else {
    where = e.exit_reason().empty() ? "-" : e.exit_reason();
  }
  // Reasons are free text for cancellations: keep the separator out.
  absl::StrReplaceAll({{"/", "_"}}, &where);
  std::string arm = e.held_out() ? std::string(kHoldoutArm) : (e.variant_id().empty() ? "-" : e.variant_id());
  return absl::StrCat(StateName(e.state()), "/", where, "/", arm, "/", e.account_id());
}

std::optional<IndexEntry> ParseIndexMember(absl::string_view member) {
  std::vector<absl::string_view> parts = absl::StrSplit(member, absl::MaxSplits('/', 3));
  if (parts.size() != 4) return std::nullopt;
  return IndexEntry{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                    std::string(parts[3])};
}

}  // namespace steward::playbooks
