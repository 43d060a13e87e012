#include "services/playbooks/playbook_service.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/playbooks/engine/step_timing.h"
#include "services/scoring/validation.h"

namespace steward::playbooks {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int kMaxRequestIdLength = 128;
constexpr int kMaxContextEntries = 16;
constexpr size_t kMaxContextKeyLength = 64;
constexpr size_t kMaxContextValueLength = 1000;

absl::Status ValidateContext(const google::protobuf::Map<std::string, std::string>& context) {
  if (context.size() > kMaxContextEntries) {
    return FieldError("context", absl::StrCat("has more than ", kMaxContextEntries, " entries"));
  }
  for (const auto& [key, value] : context) {
    const bool key_ok = !key.empty() && key.size() <= kMaxContextKeyLength &&
                        std::all_of(key.begin(), key.end(), [](char c) {
                          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                        });
    if (!key_ok) {
      return FieldError("context", absl::StrCat("key \"", key.substr(0, kMaxContextKeyLength),
                                                "\" must be 1 to 64 characters of [a-z0-9_.-]"));
    }
    if (value.size() > kMaxContextValueLength) {
      return FieldError(absl::StrCat("context[", key, "]"), "is longer than 1,000 characters");
    }
  }
  return absl::OkStatus();
}
constexpr int kMaxReasonLength = 200;
constexpr int kMaxNoteLength = 1000;
// Index members read per round trip while listing or counting.
constexpr int kIndexPage = 1000;

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0) return FieldError("page_size", "must not be negative");
  return requested == 0 ? kDefaultPageSize : std::min(requested, kMaxPageSize);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> PlaybookService::FindPlaybook(
    const std::string& field, const std::string& id) const {
  if (id.empty()) return FieldError(field, "is required");
  std::shared_ptr<const CompiledPlaybook> playbook = engine_.registry().Current(id);
  if (playbook == nullptr) return absl::NotFoundError(absl::StrCat("playbook \"", id, "\" not found"));
  return playbook;
}

absl::StatusOr<EnrollmentRef> PlaybookService::ParseEnrollment(const std::string& id) const {
  if (id.empty()) return FieldError("enrollment_id", "is required");
  std::optional<EnrollmentRef> ref = ParseEnrollmentId(id);
  if (!ref.has_value() || !scoring::ValidateAccountId("enrollment_id", ref->account_id).ok()) {
    return FieldError("enrollment_id", "is not an enrolment id (\"ACCOUNT/PLAYBOOK/N\")");
  }
  return *ref;
}

absl::StatusOr<ActionRef> PlaybookService::ParseAction(const std::string& id) const {
  if (id.empty()) return FieldError("action_id", "is required");
  std::optional<ActionRef> ref = ParseActionId(id);
  if (!ref.has_value() || !scoring::ValidateAccountId("action_id", ref->enrollment.account_id).ok()) {
    return FieldError("action_id", "is not an action id (\"ACCOUNT/PLAYBOOK/N/STEP/ATTEMPT\")");
  }
  return *ref;
}

absl::StatusOr<v1::ListPlaybooksResponse> PlaybookService::ListPlaybooks(const v1::ListPlaybooksRequest&) {
  v1::ListPlaybooksResponse response;
  for (const auto& playbook : engine_.registry().all()) *response.add_playbooks() = playbook->definition();
  return response;
}

absl::StatusOr<v1::GetPlaybookResponse> PlaybookService::GetPlaybook(const v1::GetPlaybookRequest& request) {
  auto current = FindPlaybook("playbook_id", request.playbook_id());
  if (!current.ok()) return current.status();
  if (request.version() < 0) return FieldError("version", "must not be negative");
  v1::GetPlaybookResponse response;
  if (request.version() == 0) {
    *response.mutable_playbook() = (*current)->definition();
    return response;
  }
  auto version = engine_.registry().Version(request.playbook_id(), request.version());
  if (!version.ok()) return version.status();
  *response.mutable_playbook() = (*version)->definition();
  return response;
}

absl::StatusOr<v1::EnrollAccountResponse> PlaybookService::EnrollAccount(
    const v1::EnrollAccountRequest& request) {
  if (absl::Status s = scoring::ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  auto playbook = FindPlaybook("playbook_id", request.playbook_id());
  if (!playbook.ok()) return playbook.status();
  if (request.request_id().empty()) return FieldError("request_id", "is required (it makes retries safe)");
  if (request.request_id().size() > kMaxRequestIdLength) {
    return FieldError("request_id", absl::StrCat("is longer than ", kMaxRequestIdLength, " characters"));
  }
  if (absl::Status s = ValidateContext(request.context()); !s.ok()) return s;
  auto enrolled =
      engine_.Enroll(request.account_id(), request.playbook_id(), request.request_id(), request.context());
  if (!enrolled.ok()) return enrolled.status();
  v1::EnrollAccountResponse response;
  *response.mutable_enrollment() = std::move(enrolled->enrollment);
  response.set_created(enrolled->created);
  return response;
}

absl::StatusOr<v1::PauseEnrollmentResponse> PlaybookService::PauseEnrollment(
    const v1::PauseEnrollmentRequest& request) {
  auto ref = ParseEnrollment(request.enrollment_id());
  if (!ref.ok()) return ref.status();
  auto e = engine_.Pause(*ref);
  if (!e.ok()) return e.status();
  v1::PauseEnrollmentResponse response;
  *response.mutable_enrollment() = *std::move(e);
  return response;
}

absl::StatusOr<v1::ResumeEnrollmentResponse> PlaybookService::ResumeEnrollment(
    const v1::ResumeEnrollmentRequest& request) {
  auto ref = ParseEnrollment(request.enrollment_id());
  if (!ref.ok()) return ref.status();
  auto e = engine_.Resume(*ref);
  if (!e.ok()) return e.status();
  v1::ResumeEnrollmentResponse response;
  *response.mutable_enrollment() = *std::move(e);
  return response;
}

absl::StatusOr<v1::CancelEnrollmentResponse> PlaybookService::CancelEnrollment(
    const v1::CancelEnrollmentRequest& request) {
  auto ref = ParseEnrollment(request.enrollment_id());
  if (!ref.ok()) return ref.status();
  if (request.reason().size() > kMaxReasonLength) {
    return FieldError("reason", absl::StrCat("is longer than ", kMaxReasonLength, " characters"));
  }
  auto e = engine_.Cancel(*ref, request.reason());
  if (!e.ok()) return e.status();
  v1::CancelEnrollmentResponse response;
  *response.mutable_enrollment() = *std::move(e);
  return response;
}

absl::StatusOr<v1::GetEnrollmentResponse> PlaybookService::GetEnrollment(
    const v1::GetEnrollmentRequest& request) {
  auto ref = ParseEnrollment(request.enrollment_id());
  if (!ref.ok()) return ref.status();
  auto e = engine_.Get(*ref);
  if (!e.ok()) return e.status();
  v1::GetEnrollmentResponse response;
  *response.mutable_enrollment() = *std::move(e);
  return response;
}

absl::StatusOr<std::vector<v1::PlaybookEnrollments>> PlaybookService::AccountRecords(
    const std::string& account_id) {
  std::vector<std::string> keys;
  for (const auto& playbook : engine_.registry().all())
    keys.push_back(EnrollmentsKey(account_id, playbook->id()));
  auto read = store_.Get(keys);
  if (!read.ok()) return read.status();
  std::vector<v1::PlaybookEnrollments> records;
  for (const auto& record : *read) {
    if (!record.has_value()) continue;
    v1::PlaybookEnrollments parsed;
    if (!parsed.ParseFromString(record->value)) return absl::InternalError("corrupt playbook record");
    records.push_back(std::move(parsed));
  }
  return records;
}

absl::StatusOr<v1::ListEnrollmentsResponse> PlaybookService::ListEnrollments(
    const v1::ListEnrollmentsRequest& request) {
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  if (!request.account_id().empty() && !request.playbook_id().empty()) {
    return FieldError("account_id", "give a playbook_id or an account_id, not both");
  }
  if (!request.step_id().empty() && request.playbook_id().empty()) {
    return FieldError("step_id", "needs playbook_id");
  }
  if (!request.account_id().empty()) return ListByAccount(request, *page_size);
  if (!request.playbook_id().empty()) return ListByPlaybook(request, *page_size);
  return FieldError("playbook_id", "give a playbook_id or an account_id");
}

absl::StatusOr<v1::ListEnrollmentsResponse> PlaybookService::ListByAccount(
    const v1::ListEnrollmentsRequest& request, int page_size) {
  if (absl::Status s = scoring::ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  int offset = 0;
  if (!request.page_token().empty() && (!absl::SimpleAtoi(request.page_token(), &offset) || offset < 0)) {
    return FieldError("page_token", "is not a token returned by ListEnrollments");
  }
  auto records = AccountRecords(request.account_id());
  if (!records.ok()) return records.status();
  std::vector<const v1::Enrollment*> all;
  for (const v1::PlaybookEnrollments& record : *records) {
    if (record.has_latest()) all.push_back(&record.latest());
    for (int i = record.earlier_size() - 1; i >= 0; --i) all.push_back(&record.earlier(i));
  }
  v1::ListEnrollmentsResponse response;
  int seen = 0;
  for (const v1::Enrollment* e : all) {
    if (request.state() != v1::ENROLLMENT_STATE_UNSPECIFIED && e->state() != request.state()) continue;
    if (seen++ < offset) continue;
    if (response.enrollments_size() == page_size) {
      response.set_next_page_token(absl::StrCat(offset + page_size));
      break;
    }
    *response.add_enrollments() = *e;
  }
  return response;
}

absl::StatusOr<v1::ListEnrollmentsResponse> PlaybookService::ListByPlaybook(
    const v1::ListEnrollmentsRequest& request, int page_size) {
  auto playbook = FindPlaybook("playbook_id", request.playbook_id());
  if (!playbook.ok()) return playbook.status();
  // Index members sort by state, then step (or ending), then arm, then account: a state and a step are
  // prefixes. A step without a state means in flight there, active or paused.
  std::vector<std::string> prefixes;
  const std::string where = request.step_id().empty() ? "" : absl::StrCat(request.step_id(), "/");
  if (request.state() != v1::ENROLLMENT_STATE_UNSPECIFIED) {
    prefixes.push_back(absl::StrCat(StateName(request.state()), "/", where));
  } else if (!where.empty()) {
    prefixes = {absl::StrCat("active/", where), absl::StrCat("paused/", where)};
  } else {
    prefixes = {""};
  }
  std::string after;
  if (!request.page_token().empty() &&
      (!absl::WebSafeBase64Unescape(request.page_token(), &after) || after.empty())) {
    return FieldError("page_token", "is not a token returned by ListEnrollments");
  }
  const std::string index = PlaybookIndexName(request.playbook_id());
  v1::ListEnrollmentsResponse response;
  std::string last;
  for (const std::string& prefix : prefixes) {
    std::string cursor = std::max(after, prefix);
    bool prefix_done = false;
    while (!prefix_done && response.enrollments_size() < page_size) {
      const int limit = std::max(page_size - response.enrollments_size(), 16);
      auto members = store_.IndexScan(index, cursor, limit);
      if (!members.ok()) return members.status();
      prefix_done = static_cast<int>(members->size()) < limit;
      std::vector<std::string> matching;
      std::vector<std::string> keys;
      for (const std::string& member : *members) {
        if (!absl::StartsWith(member, prefix)) {
          prefix_done = true;
          break;
        }
        std::optional<IndexEntry> entry = ParseIndexMember(member);
        if (!entry.has_value()) continue;
        matching.push_back(member);
        keys.push_back(EnrollmentsKey(entry->account_id, request.playbook_id()));
      }
      if (matching.empty()) break;
      auto records = store_.Get(keys);
      if (!records.ok()) return records.status();
      for (size_t i = 0; i < matching.size() && response.enrollments_size() < page_size; ++i) {
        cursor = last = matching[i];
        v1::PlaybookEnrollments record;
        // An entry the engine has not yet moved (or that a crash left behind) is not shown.
        if (!(*records)[i].has_value() || !record.ParseFromString((*records)[i]->value) ||
            !record.has_latest() || IndexMember(record.latest()) != matching[i]) {
          continue;
        }
        *response.add_enrollments() = record.latest();
      }
    }
    if (response.enrollments_size() == page_size) break;
  }
  if (response.enrollments_size() == page_size && !last.empty()) {
    response.set_next_page_token(absl::WebSafeBase64Escape(last));
  }
  return response;
}

absl::StatusOr<v1::GetAccountTimelineResponse> PlaybookService::GetAccountTimeline(
    const v1::GetAccountTimelineRequest& request) {
  if (absl::Status s = scoring::ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  auto records = AccountRecords(request.account_id());
  if (!records.ok()) return records.status();
  std::vector<v1::TimelineEntry> entries;
  auto add = [&](const v1::Enrollment& e, const google::protobuf::Timestamp& time,
                 v1::TimelineEntryKind kind) {
    v1::TimelineEntry& entry = entries.emplace_back();
    *entry.mutable_time() = time;
    entry.set_kind(kind);
    entry.set_enrollment_id(e.enrollment_id());
    entry.set_playbook_id(e.playbook_id());
    entry.set_variant_id(e.variant_id());
    return &entry;
  };
  auto add_enrollment = [&](const v1::Enrollment& e) {
    add(e, e.enrolled_time(), v1::TIMELINE_ENTRY_KIND_ENROLLED)
        ->set_detail(e.source() == v1::ENROLLMENT_SOURCE_TRIGGER ? "trigger" : "manual");
    // Before the steps: a step run the moment an enrolment resumed reads after the resumption.
    for (const v1::PausePeriod& pause : e.pauses()) {
      add(e, pause.paused_time(), v1::TIMELINE_ENTRY_KIND_PAUSED);
      if (pause.has_resumed_time()) add(e, pause.resumed_time(), v1::TIMELINE_ENTRY_KIND_RESUMED);
    }
    for (const v1::StepRun& run : e.steps())
      *add(e, run.run_time(), v1::TIMELINE_ENTRY_KIND_STEP)->mutable_step() = run;
    for (const v1::RecordedOutcome& o : e.outcomes()) {
      *add(e, o.time(), v1::TIMELINE_ENTRY_KIND_OUTCOME)->mutable_outcome() = o;
    }
    if (!InFlight(e)) {
      v1::TimelineEntry* ended = add(e, e.ended_time(), v1::TIMELINE_ENTRY_KIND_ENDED);
      ended->set_state(e.state());
      ended->set_detail(e.exit_reason());
    }
  };
  for (const v1::PlaybookEnrollments& record : *records) {
    for (const v1::Enrollment& e : record.earlier()) add_enrollment(e);
    if (record.has_latest()) add_enrollment(record.latest());
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const v1::TimelineEntry& a, const v1::TimelineEntry& b) {
                     return FromProtoTime(a.time()) < FromProtoTime(b.time());
                   });
  v1::GetAccountTimelineResponse response;
  for (v1::TimelineEntry& entry : entries) *response.add_entries() = std::move(entry);
  return response;
}

absl::StatusOr<v1::GetPlaybookStatsResponse> PlaybookService::GetPlaybookStats(
    const v1::GetPlaybookStatsRequest& request) {
  auto playbook = FindPlaybook("playbook_id", request.playbook_id());
  if (!playbook.ok()) return playbook.status();
  absl::flat_hash_map<std::string, bool> goal_of;
  for (const v1::ExitCriterion& exit : (*playbook)->definition().exits()) goal_of[exit.name()] = exit.goal();
  v1::GetPlaybookStatsResponse response;
  response.set_playbook_id(request.playbook_id());
  std::map<std::string, v1::EnrollmentCounts> by_arm;
  auto count = [&](v1::EnrollmentCounts& c, const IndexEntry& entry) {
    c.set_enrolled(c.enrolled() + 1);
    if (entry.state == "active" || entry.state == "paused") {
      c.set_in_flight(c.in_flight() + 1);
    } else if (entry.state == "completed") {
      c.set_completed(c.completed() + 1);
    } else if (entry.state == "cancelled") {
      c.set_cancelled(c.cancelled() + 1);
    } else if (entry.state == "exited") {
      (*c.mutable_exited_by_reason())[entry.where] += 1;
      if (goal_of[entry.where]) c.set_goal_reached(c.goal_reached() + 1);
    }
  };
  const std::string index = PlaybookIndexName(request.playbook_id());
  std::string cursor;
  for (;;) {
    auto members = store_.IndexScan(index, cursor, kIndexPage);
    if (!members.ok()) return members.status();
    for (const std::string& member : *members) {
      std::optional<IndexEntry> entry = ParseIndexMember(member);
      if (!entry.has_value()) continue;
      count(*response.mutable_total(), *entry);
      count(by_arm[entry->arm], *entry);
      if (entry->state == "active" || entry->state == "paused") {
        (*response.mutable_in_flight_by_step())[entry->where] += 1;
      }
    }
    if (static_cast<int>(members->size()) < kIndexPage) break;
    cursor = members->back();
  }
  auto conversion = [](v1::EnrollmentCounts& c) {
    c.set_conversion(c.enrolled() == 0 ? 0 : static_cast<double>(c.goal_reached()) / c.enrolled());
  };
  conversion(*response.mutable_total());
  const std::string holdout(kHoldoutArm);
  double holdout_conversion = 0;
  bool has_holdout = false;
  if (auto found = by_arm.find(holdout); found != by_arm.end()) {
    conversion(found->second);
    holdout_conversion = found->second.conversion();
    has_holdout = true;
  }
  for (auto& [arm, counts] : by_arm) {  // "-" and variant ids sort before "~holdout"
    conversion(counts);
    v1::VariantStats* stats = response.add_variants();
    stats->set_variant_id(arm == holdout ? "holdout" : (arm == "-" ? "" : arm));
    *stats->mutable_counts() = counts;
    if (has_holdout && arm != holdout) stats->set_lift_over_holdout(counts.conversion() - holdout_conversion);
  }
  return response;
}

absl::StatusOr<v1::PreviewPlaybookResponse> PlaybookService::PreviewPlaybook(
    const v1::PreviewPlaybookRequest& request) {
  if (absl::Status s = scoring::ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  auto playbook = FindPlaybook("playbook_id", request.playbook_id());
  if (!playbook.ok()) return playbook.status();
  auto facts = facts_.Load(request.account_id());
  if (!facts.ok()) return facts.status();
  const std::string key = EnrollmentsKey(request.account_id(), request.playbook_id());
  auto read = store_.Get({&key, 1});
  if (!read.ok()) return read.status();
  v1::PlaybookEnrollments record;
  if ((*read)[0].has_value()) record.ParseFromString((*read)[0]->value);

  const absl::Time now = clock_.Now();
  const CompiledPlaybook& pb = **playbook;
  v1::PreviewPlaybookResponse response;
  response.set_playbook_version(pb.version());
  const ArmAssignment arm = pb.Assign(request.account_id());
  response.set_variant_id(arm.variant_id);
  response.set_held_out(arm.held_out);
  EnrollmentMachine machine(pb, engine_.config().frequency_caps());
  for (std::string& name : machine.ExitsHolding(*facts, now)) response.add_exits_holding(std::move(name));
  absl::Status allowed = engine_.CanEnroll(record, pb, now);
  response.set_can_enroll(allowed.ok() && response.exits_holding().empty());
  if (!allowed.ok()) {
    response.set_reason(std::string(allowed.message()));
  } else if (!response.exits_holding().empty()) {
    response.set_reason(absl::StrCat("exit criterion \"", response.exits_holding(0), "\" already holds"));
  }
  const StepList& steps = pb.Steps(arm.variant_id);
  absl::Time previous = now;
  for (size_t i = 0; i < steps.steps.size(); ++i) {
    const v1::Step& step = *steps.steps[i];
    const absl::Time due = StepDueTime(step, now, previous, pb.definition().start_delay_days());
    previous = due;
    v1::PreviewStep* out = response.add_steps();
    out->set_step_id(step.id());
    out->set_channel(StepChannel(step));
    *out->mutable_due_time() = ToProtoTime(due);
    const auto& condition = steps.conditions[i];
    out->set_condition_holds(!condition.has_value() ||
                             condition->Matches(facts->View(now), facts->segment_ids));
    if (condition.has_value()) out->set_condition(condition->Describe());
  }
  return response;
}

absl::StatusOr<v1::RecordActionOutcomeResponse> PlaybookService::RecordActionOutcome(
    const v1::RecordActionOutcomeRequest& request) {
  auto ref = ParseAction(request.action_id());
  if (!ref.ok()) return ref.status();
  if (request.outcome() == v1::ACTION_OUTCOME_UNSPECIFIED || !v1::ActionOutcome_IsValid(request.outcome())) {
    return FieldError("outcome", "is required");
  }
  if (request.note().size() > kMaxNoteLength) {
    return FieldError("note", absl::StrCat("is longer than ", kMaxNoteLength, " characters"));
  }
  auto outcome = engine_.RecordOutcome(*ref, request.outcome(), request.note());
  if (!outcome.ok()) return outcome.status();
  v1::RecordActionOutcomeResponse response;
  *response.mutable_enrollment() = std::move(outcome->enrollment);
  response.set_recorded(outcome->recorded);
  return response;
}

absl::StatusOr<v1::CompleteActionResponse> PlaybookService::CompleteAction(
    const v1::CompleteActionRequest& request) {
  auto ref = ParseAction(request.action_id());
  if (!ref.ok()) return ref.status();
  if (request.note().size() > kMaxNoteLength) {
    return FieldError("note", absl::StrCat("is longer than ", kMaxNoteLength, " characters"));
  }
  auto enrollment = engine_.Get(ref->enrollment);
  if (!enrollment.ok()) return enrollment.status();
  auto playbook = engine_.registry().Version(enrollment->playbook_id(), enrollment->playbook_version());
  if (!playbook.ok()) return playbook.status();
  const StepList& steps = (*playbook)->Steps(enrollment->variant_id());
  auto index = steps.index_of.find(ref->step_id);
  if (index == steps.index_of.end()) {
    return absl::NotFoundError(absl::StrCat("action \"", request.action_id(), "\" was never handed off"));
  }
  const v1::Step& step = *steps.steps[index->second];
  if (step.action_case() != v1::Step::kTask && step.action_case() != v1::Step::kCall) {
    return absl::FailedPreconditionError(absl::StrCat("action \"", request.action_id(),
                                                      "\" is not a task or a call; use RecordActionOutcome"));
  }
  auto outcome = engine_.RecordOutcome(*ref, v1::ACTION_OUTCOME_COMPLETED, request.note());
  if (!outcome.ok()) return outcome.status();
  // When it was done: the first COMPLETED recorded for it.
  absl::Time done = clock_.Now();
  for (const v1::RecordedOutcome& o : outcome->enrollment.outcomes()) {
    if (o.action_id() == request.action_id() && o.outcome() == v1::ACTION_OUTCOME_COMPLETED) {
      done = FromProtoTime(o.time());
      break;
    }
  }
  const int due_hours = step.has_task() ? step.task().due_in_hours() : step.call().due_in_hours();
  const int sla_hours = step.has_task() ? step.task().sla_hours() : due_hours;
  v1::CompleteActionResponse response;
  response.set_on_time(done <= outcome->action_time + absl::Hours(due_hours));
  response.set_within_sla(done <= outcome->action_time + absl::Hours(sla_hours));
  *response.mutable_enrollment() = std::move(outcome->enrollment);
  return response;
}

}  // namespace steward::playbooks
