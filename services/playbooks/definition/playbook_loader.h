#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "steward/v1/playbook.pb.h"

// Playbook definitions (SPEC §5): the files of playbooks/, one playbook per file in protobuf text format
// (steward.v1.Playbook, see proto/steward/v1/playbook.proto), validated at load so that a broken file
// fails start-up with errors such as
//
//   playbooks/retention-offer.textproto:41:7: steps[1].wait_for_event.on_timeout_go_to: no step "escalte"
//
// What is checked:
// - id [a-z0-9-]+, version >= 1, a re-enrolment policy (cooldown > 0 exactly when AFTER_COOLDOWN),
//   start_delay_days >= 0, holdout_percent 0..100;
// - triggers: a condition that compiles as a segment rule (services/segmentation/rules/rule.h),
//   sustained_days >= 0;
// - exits: a unique [a-z0-9_-]+ name and exactly one of a compiling rule, an event type or an outcome;
// - steps (of the playbook and of each variant): at least one, unique [a-z0-9_-]+ ids, non-negative
//   delays, windows with 0 <= start_hour < end_hour <= 24 in a known time zone, valid and distinct
//   weekdays, exactly one action with its required fields (content keys [a-z0-9_.-]+, assignee roles
//   [a-z0-9_]+, task due/SLA hours > 0 and SLA >= due, offer percents 0..100, webhook http(s) URLs),
//   conditions that compile, waits with an event type or outcome, within_days > 0 and targets that name
//   steps of the same step list, day offsets (relative to enrolment) not decreasing along the list and
//   not before start_delay_days, and no cycle of branches that could run without any delay;
// - variants: unique [a-z0-9_-]+ ids, weights > 0.
//
// Rule errors are reported at the position of the offending part of the rule when it can be found in
// the file, else at the rule itself, with the rule compiler's message.
namespace steward::playbooks {

// Loads and validates one playbook file. INVALID_ARGUMENT listing every problem ("file:line:col: path:
// message", one per line); NOT_FOUND when the file cannot be read.
absl::StatusOr<v1::Playbook> LoadPlaybook(const std::string& path);

// Validates a playbook that did not come from a file (errors name `source` and field paths).
absl::Status ValidatePlaybook(const v1::Playbook& playbook, absl::string_view source);

// Loads every *.textproto of `dir` (other files, such as README.md, are ignored), in file-name order.
// Each file's name without ".textproto" must equal its playbook's id (so ids are unique). NOT_FOUND when
// the directory does not exist; the first broken file's INVALID_ARGUMENT otherwise.
absl::StatusOr<std::vector<v1::Playbook>> LoadPlaybookDirectory(const std::string& dir);

// The channel of a step, from its action's kind; CHANNEL_UNSPECIFIED when it has no action.
v1::Channel StepChannel(const v1::Step& step);

// The nominal offset of each step from enrolment, in hours, following the steps in order without
// branches, window alignment or waits (a PREVIOUS_STEP delay adds to the previous step's offset). What
// PreviewPlaybook-style tools and the tests read SPEC's day offsets from.
std::vector<int64_t> NominalOffsetsHours(const google::protobuf::RepeatedPtrField<v1::Step>& steps);

}  // namespace steward::playbooks
