#include "services/playbooks/engine/playbook_engine.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/logging.h"
#include "common/proto_time.h"
#include "common/request_context.h"

namespace steward::playbooks {
namespace {

// Earlier enrolments kept per account and playbook, and served request ids remembered.
constexpr int kMaxEarlier = 20;
constexpr int kMaxServedRequests = 20;
// Compare-and-set attempts before a mutation gives up (ABORTED: the caller may retry).
constexpr int kMaxAttempts = 8;
// The action stream keeps about this many actions; a consumer further behind misses the oldest.
constexpr int64_t kActionLogMaxEntries = 200'000;
constexpr absl::Duration kDefaultLease = absl::Seconds(30);

}  // namespace

PlaybookEngine::PlaybookEngine(Store& store, const Clock& clock, PlaybookRegistry& registry,
                               const AccountFactsSource& facts, v1::PlaybookEngineConfig config,
                               EngineObserver* observer)
    : store_(store),
      clock_(clock),
      registry_(registry),
      facts_(facts),
      config_(std::move(config)),
      observer_(observer) {}

absl::StatusOr<PlaybookEngine::Pair> PlaybookEngine::ReadPair(const std::string& account_id,
                                                              const std::string& playbook_id) {
  Pair pair;
  pair.account_id = account_id;
  pair.key = EnrollmentsKey(account_id, playbook_id);
  auto read = store_.Get({&pair.key, 1});
  if (!read.ok()) return read.status();
  if ((*read)[0].has_value()) {
    if (!pair.record.ParseFromString((*read)[0]->value)) {
      return absl::InternalError(absl::StrCat("corrupt playbook record ", pair.key));
    }
    pair.version = (*read)[0]->version;
  }
  return pair;
}

absl::StatusOr<PlaybookEngine::Touches> PlaybookEngine::ReadTouches(const std::string& account_id) {
  Touches touches;
  const std::string key = TouchesKey(account_id);
  auto read = store_.Get({&key, 1});
  if (!read.ok()) return read.status();
  if ((*read)[0].has_value()) {
    touches.log.ParseFromString((*read)[0]->value);
    touches.version = (*read)[0]->version;
  }
  return touches;
}

Write PlaybookEngine::BuildWrite(const Change& change, const Touches* touches) const {
  const v1::PlaybookEnrollments& record = change.pair.record;
  Write write;
  write.key = change.pair.key;
  write.value = record.SerializeAsString();
  write.expected_version = change.pair.version;
  // Without caps there is nothing to count touches against, and no key to keep.
  if (touches != nullptr && touches->changed && !config_.frequency_caps().empty()) {
    const std::string key = TouchesKey(change.pair.account_id);
    write.guards.push_back(Guard{key, touches->version});
    write.also_write.push_back(AlsoWrite{key, touches->log.SerializeAsString()});
  }
  for (const v1::PlaybookAction& action : change.actions) {
    write.log_appends.push_back(
        LogAppend{std::string(kActionLogName), action.SerializeAsString(), kActionLogMaxEntries});
  }
  const std::string schedule(kScheduleName);
  if (record.has_latest()) {
    const v1::Enrollment& e = record.latest();
    std::optional<int64_t> due;
    if (e.state() == v1::ENROLLMENT_STATE_ACTIVE) due = ScheduleMillis(FromProtoTime(e.next_due_time()));
    write.schedule_changes.push_back(ScheduleChange{schedule, e.enrollment_id(), due});
  }
  for (const std::string& stale : change.stale_members) {
    write.schedule_changes.push_back(ScheduleChange{schedule, stale, std::nullopt});
  }
  const std::string playbook_id = change.pair.key.substr(change.pair.key.rfind(':') + 1);
  std::optional<int64_t> check;
  if (record.has_trigger_check_time()) check = ScheduleMillis(FromProtoTime(record.trigger_check_time()));
  write.schedule_changes.push_back(
      ScheduleChange{schedule, TriggerCheckMember(change.pair.account_id, playbook_id), check});
  return write;
}

void PlaybookEngine::UpdateIndex(const Change& change) {
  if (!change.pair.record.has_latest()) return;
  const std::string after = IndexMember(change.pair.record.latest());
  if (after == change.index_before) return;
  const std::string index = PlaybookIndexName(change.pair.record.latest().playbook_id());
  absl::Status status = store_.IndexAdd(index, {&after, 1});
  if (status.ok() && !change.index_before.empty())
    status = store_.IndexRemove(index, {&change.index_before, 1});
  if (!status.ok()) {
    // Readers check every listed entry against its record, so a stale entry is never shown; it is
    // repaired at the enrolment's next change.
    Log(LogLevel::kWarning, "playbook_index_update_failed", {{"error", status.ToString()}});
  }
}

void PlaybookEngine::NoteBefore(Change& change) {
  if (!change.pair.record.has_latest()) return;
  const v1::Enrollment& latest = change.pair.record.latest();
  change.index_before = IndexMember(latest);
  change.latest_before = latest.enrollment_id();
  change.steps_before = latest.steps_size();
}

void PlaybookEngine::Report(const Change& change) const {
  if (observer_ == nullptr || !change.pair.record.has_latest()) return;
  const v1::Enrollment& latest = change.pair.record.latest();
  int first_new = 0;
  if (latest.enrollment_id() == change.latest_before) {
    first_new = change.steps_before;
  } else {
    observer_->OnEnrolled(latest);
  }
  for (int i = first_new; i < latest.steps_size(); ++i) observer_->OnStepRun(latest, latest.steps(i));
  for (const v1::PlaybookAction& action : change.actions) observer_->OnActionHandedOff(action);
}

absl::StatusOr<v1::PlaybookEnrollments> PlaybookEngine::Mutate(const std::string& account_id,
                                                               const std::string& playbook_id,
                                                               const Mutator& mutate) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto pair = ReadPair(account_id, playbook_id);
    if (!pair.ok()) return pair.status();
    auto touches = ReadTouches(account_id);
    if (!touches.ok()) return touches.status();
    Change change;
    change.pair = *std::move(pair);
    NoteBefore(change);
    auto changed = mutate(change.pair.record, *touches, change);
    if (!changed.ok()) return changed.status();
    if (!*changed) return change.pair.record;
    const Write write = BuildWrite(change, &*touches);
    auto applied = store_.Put({&write, 1});
    if (!applied.ok()) return applied.status();
    if ((*applied)[0]) {
      UpdateIndex(change);
      Report(change);
      return change.pair.record;
    }
  }
  return absl::AbortedError(absl::StrCat("enrolment of ", account_id, " in ", playbook_id,
                                         " kept changing under this call; retry"));
}

v1::Enrollment* PlaybookEngine::Find(v1::PlaybookEnrollments& record, int number) {
  auto number_of = [](const v1::Enrollment& e) {
    std::optional<EnrollmentRef> ref = ParseEnrollmentId(e.enrollment_id());
    return ref.has_value() ? ref->number : 0;
  };
  if (record.has_latest() && number_of(record.latest()) == number) return record.mutable_latest();
  for (v1::Enrollment& e : *record.mutable_earlier()) {
    if (number_of(e) == number) return &e;
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> PlaybookEngine::PlaybookOf(const v1::Enrollment& e) {
  return registry_.Version(e.playbook_id(), e.playbook_version());
}

absl::Status PlaybookEngine::CanEnroll(const v1::PlaybookEnrollments& record,
                                       const CompiledPlaybook& playbook, absl::Time now) const {
  if (!record.has_latest()) return absl::OkStatus();
  const v1::Enrollment& latest = record.latest();
  if (InFlight(latest)) {
    return absl::AlreadyExistsError(absl::StrCat("account \"", latest.account_id(),
                                                 "\" already has enrolment ", latest.enrollment_id(),
                                                 " in flight in playbook \"", playbook.id(), "\""));
  }
  const v1::ReenrollmentPolicy& policy = playbook.definition().reenrollment();
  switch (policy.mode()) {
    case v1::REENROLLMENT_MODE_NEVER:
      return absl::FailedPreconditionError(absl::StrCat(
          "playbook \"", playbook.id(), "\" enrols an account only once; it was ", latest.enrollment_id()));
    case v1::REENROLLMENT_MODE_AFTER_COOLDOWN: {
      const absl::Time allowed =
          FromProtoTime(latest.ended_time()) + absl::Hours(24 * int64_t{policy.cooldown_days()});
      if (now < allowed) {
        return absl::FailedPreconditionError(
            absl::StrCat("playbook \"", playbook.id(), "\" re-enrols an account ", policy.cooldown_days(),
                         " days after its last enrolment ended: not before ", absl::FormatTime(allowed)));
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

v1::Enrollment& PlaybookEngine::Begin(v1::PlaybookEnrollments& record, const CompiledPlaybook& playbook,
                                      const std::string& account_id, v1::EnrollmentSource source,
                                      const std::string& request_id, absl::Time enrolled, absl::Time now,
                                      Touches& touches, const AccountFacts* facts, Change& change,
                                      const Context* context) {
  if (record.has_latest()) {
    *record.add_earlier() = std::move(*record.mutable_latest());
    if (record.earlier_size() > kMaxEarlier) record.mutable_earlier()->DeleteSubrange(0, 1);
  }
  record.set_enrollment_count(record.enrollment_count() + 1);
  *record.mutable_latest() = StartEnrollment(playbook, account_id, record.enrollment_count(),
                                             playbook.Assign(account_id), source, request_id, enrolled);
  if (context != nullptr) *record.mutable_latest()->mutable_context() = *context;
  record.clear_trigger_holding_since();
  record.clear_trigger_check_time();
  record.clear_trigger_index();
  // Day 0 steps run now, in the same atomic write as the enrolment.
  const size_t before = change.actions.size();
  EnrollmentMachine(playbook, config_.frequency_caps())
      .RunDue(*record.mutable_latest(), touches.log, facts, now, change.actions);
  touches.changed = touches.changed || change.actions.size() != before;
  return *record.mutable_latest();
}

absl::StatusOr<PlaybookEngine::Enrolled> PlaybookEngine::Enroll(const std::string& account_id,
                                                                const std::string& playbook_id,
                                                                const std::string& request_id,
                                                                const Context& context) {
  std::shared_ptr<const CompiledPlaybook> playbook = registry_.Current(playbook_id);
  if (playbook == nullptr)
    return absl::NotFoundError(absl::StrCat("playbook \"", playbook_id, "\" not found"));
  auto facts = facts_.Load(account_id);  // also: the account must exist
  if (!facts.ok()) return facts.status();
  Enrolled result;
  auto record =
      Mutate(account_id, playbook_id,
             [&](v1::PlaybookEnrollments& r, Touches& touches, Change& change) -> absl::StatusOr<bool> {
               result.created = false;
               if (auto served = r.served_requests().find(request_id); served != r.served_requests().end()) {
                 std::optional<EnrollmentRef> ref = ParseEnrollmentId(served->second);
                 v1::Enrollment* e = ref.has_value() ? Find(r, ref->number) : nullptr;
                 if (e == nullptr) return absl::InternalError("served request lost its enrolment");
                 result.enrollment = *e;
                 return false;
               }
               const absl::Time now = clock_.Now();
               if (absl::Status s = CanEnroll(r, *playbook, now); !s.ok()) return s;
               v1::Enrollment& e = Begin(r, *playbook, account_id, v1::ENROLLMENT_SOURCE_MANUAL, request_id,
                                         now, now, touches, &*facts, change, &context);
               result.enrollment = e;
               result.created = true;
               auto& served = *r.mutable_served_requests();
               if (static_cast<int>(served.size()) >= kMaxServedRequests) served.clear();
               served[request_id] = e.enrollment_id();
               return true;
             });
  if (!record.ok()) return record.status();
  if (result.created) {
    Log(LogLevel::kInfo, "playbook_enrolled",
        {{"enrollment_id", result.enrollment.enrollment_id()}, {"source", "manual"}});
  }
  return result;
}

absl::StatusOr<v1::Enrollment> PlaybookEngine::Get(const EnrollmentRef& ref) {
  auto pair = ReadPair(ref.account_id, ref.playbook_id);
  if (!pair.ok()) return pair.status();
  v1::Enrollment* e = Find(pair->record, ref.number);
  if (e == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("enrolment \"", ref.account_id, "/", ref.playbook_id, "/", ref.number, "\" not found"));
  }
  return *e;
}

namespace {

// FAILED_PRECONDITION for a move that needs the enrolment in flight.
absl::Status HasEnded(const v1::Enrollment& e) {
  return absl::FailedPreconditionError(
      absl::StrCat("enrolment ", e.enrollment_id(), " has ended (", StateName(e.state()), ")"));
}

absl::Status EnrollmentNotFound(const EnrollmentRef& ref) {
  return absl::NotFoundError(
      absl::StrCat("enrolment \"", ref.account_id, "/", ref.playbook_id, "/", ref.number, "\" not found"));
}

}  // namespace

absl::StatusOr<v1::Enrollment> PlaybookEngine::Pause(const EnrollmentRef& ref) {
  v1::Enrollment out;
  auto record = Mutate(ref.account_id, ref.playbook_id,
                       [&](v1::PlaybookEnrollments& r, Touches&, Change&) -> absl::StatusOr<bool> {
                         v1::Enrollment* e = Find(r, ref.number);
                         if (e == nullptr) return EnrollmentNotFound(ref);
                         out = *e;
                         if (e->state() == v1::ENROLLMENT_STATE_PAUSED) return false;
                         if (e->state() != v1::ENROLLMENT_STATE_ACTIVE) {
                           return HasEnded(*e);
                         }
                         e->set_state(v1::ENROLLMENT_STATE_PAUSED);
                         *e->mutable_paused_time() = ToProtoTime(clock_.Now());
                         *e->add_pauses()->mutable_paused_time() = e->paused_time();
                         out = *e;
                         return true;
                       });
  if (!record.ok()) return record.status();
  return out;
}

absl::StatusOr<v1::Enrollment> PlaybookEngine::Resume(const EnrollmentRef& ref) {
  v1::Enrollment out;
  auto record =
      Mutate(ref.account_id, ref.playbook_id,
             [&](v1::PlaybookEnrollments& r, Touches& touches, Change& change) -> absl::StatusOr<bool> {
               v1::Enrollment* e = Find(r, ref.number);
               if (e == nullptr) return EnrollmentNotFound(ref);
               out = *e;
               if (e->state() == v1::ENROLLMENT_STATE_ACTIVE) return false;
               if (e->state() != v1::ENROLLMENT_STATE_PAUSED) {
                 return HasEnded(*e);
               }
               const absl::Time now = clock_.Now();
               if (!e->waiting_after_step_id().empty()) {
                 // A wait does not run out while paused: its timeout moves by the time spent paused.
                 const absl::Duration paused = now - FromProtoTime(e->paused_time());
                 *e->mutable_next_due_time() = ToProtoTime(FromProtoTime(e->next_due_time()) + paused);
               }
               e->set_state(v1::ENROLLMENT_STATE_ACTIVE);
               e->clear_paused_time();
               if (!e->pauses().empty()) {
                 *e->mutable_pauses()->rbegin()->mutable_resumed_time() = ToProtoTime(now);
               }
               auto playbook = PlaybookOf(*e);
               if (!playbook.ok()) return playbook.status();
               const size_t before = change.actions.size();
               EnrollmentMachine(**playbook, config_.frequency_caps())
                   .RunDue(*e, touches.log, nullptr, now, change.actions);
               touches.changed = change.actions.size() != before;
               out = *e;
               return true;
             });
  if (!record.ok()) return record.status();
  return out;
}

absl::StatusOr<v1::Enrollment> PlaybookEngine::Cancel(const EnrollmentRef& ref, const std::string& reason) {
  v1::Enrollment out;
  auto record = Mutate(ref.account_id, ref.playbook_id,
                       [&](v1::PlaybookEnrollments& r, Touches&, Change&) -> absl::StatusOr<bool> {
                         v1::Enrollment* e = Find(r, ref.number);
                         if (e == nullptr) return EnrollmentNotFound(ref);
                         out = *e;
                         if (e->state() == v1::ENROLLMENT_STATE_CANCELLED) return false;
                         if (!InFlight(*e)) {
                           return HasEnded(*e);
                         }
                         EndEnrollment(*e, v1::ENROLLMENT_STATE_CANCELLED,
                                       reason.empty() ? "cancelled" : reason, false, clock_.Now());
                         out = *e;
                         return true;
                       });
  if (!record.ok()) return record.status();
  return out;
}

absl::StatusOr<PlaybookEngine::Outcome> PlaybookEngine::RecordOutcome(const ActionRef& ref,
                                                                      v1::ActionOutcome outcome,
                                                                      const std::string& note) {
  Outcome result;
  const std::string action_id = absl::StrCat(ref.enrollment.account_id, "/", ref.enrollment.playbook_id, "/",
                                             ref.enrollment.number, "/", ref.step_id, "/", ref.attempt);
  auto record =
      Mutate(ref.enrollment.account_id, ref.enrollment.playbook_id,
             [&](v1::PlaybookEnrollments& r, Touches& touches, Change& change) -> absl::StatusOr<bool> {
               v1::Enrollment* e = Find(r, ref.enrollment.number);
               const v1::StepRun* run = nullptr;
               if (e != nullptr) {
                 for (const v1::StepRun& s : e->steps()) {
                   if (s.action_id() == action_id) run = &s;
                 }
               }
               if (run == nullptr) {
                 return absl::NotFoundError(absl::StrCat("action \"", action_id, "\" was never handed off"));
               }
               result.action_time = FromProtoTime(run->run_time());
               result.enrollment = *e;
               for (const v1::RecordedOutcome& o : e->outcomes()) {
                 if (o.action_id() == action_id && o.outcome() == outcome) {
                   result.recorded = false;
                   return false;
                 }
               }
               const absl::Time now = clock_.Now();
               v1::RecordedOutcome recorded;
               recorded.set_action_id(action_id);
               recorded.set_step_id(ref.step_id);
               recorded.set_outcome(outcome);
               *recorded.mutable_time() = ToProtoTime(now);
               recorded.set_note(note);
               *e->add_outcomes() = recorded;
               auto playbook = PlaybookOf(*e);
               if (!playbook.ok()) return playbook.status();
               EnrollmentMachine machine(**playbook, config_.frequency_caps());
               if (machine.OnOutcome(*e, recorded, now) && e->state() == v1::ENROLLMENT_STATE_ACTIVE) {
                 // A branch whose step is due now runs now.
                 const size_t before = change.actions.size();
                 machine.RunDue(*e, touches.log, nullptr, now, change.actions);
                 touches.changed = change.actions.size() != before;
               }
               result.recorded = true;
               result.enrollment = *e;
               return true;
             });
  if (!record.ok()) return record.status();
  return result;
}

absl::Status PlaybookEngine::OnAccountChanged(const std::string& account_id,
                                              absl::Span<const v1::Event> events) {
  return EvaluateAccount(account_id, events, nullptr);
}

absl::Status PlaybookEngine::EvaluateAccount(const std::string& account_id,
                                             absl::Span<const v1::Event> events,
                                             const std::shared_ptr<const CompiledPlaybook>& only) {
  auto facts = facts_.Load(account_id);
  if (absl::IsNotFound(facts.status())) return absl::OkStatus();  // nothing to enrol or exit
  if (!facts.ok()) return facts.status();
  std::vector<std::shared_ptr<const CompiledPlaybook>> playbooks;
  if (only != nullptr) {
    playbooks.push_back(only);
  } else {
    playbooks = registry_.all();
  }
  std::vector<std::string> keys;
  AppendEvaluationKeys(account_id, playbooks, keys);
  auto read = store_.Get(keys);
  if (!read.ok()) return read.status();
  return EvaluateRead(account_id, events, *facts, playbooks, *read);
}

void PlaybookEngine::AppendEvaluationKeys(const std::string& account_id,
                                          const std::vector<std::shared_ptr<const CompiledPlaybook>>& playbooks,
                                          std::vector<std::string>& keys) {
  for (const auto& playbook : playbooks) keys.push_back(EnrollmentsKey(account_id, playbook->id()));
  keys.push_back(TouchesKey(account_id));
}

absl::Status PlaybookEngine::OnAccountsChanged(absl::Span<const ChangedAccount> changed) {
  if (changed.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  ids.reserve(changed.size());
  for (const ChangedAccount& c : changed) ids.push_back(c.account_id);
  auto facts = facts_.LoadMany(ids);
  if (!facts.ok()) return facts.status();
  const std::vector<std::shared_ptr<const CompiledPlaybook>> playbooks = registry_.all();
  // One read of every record of every known account of the page.
  std::vector<std::string> keys;
  keys.reserve(changed.size() * (playbooks.size() + 1));
  for (const ChangedAccount& c : changed) {
    if (facts->contains(c.account_id)) AppendEvaluationKeys(c.account_id, playbooks, keys);
  }
  auto read = store_.Get(keys);
  if (!read.ok()) return read.status();
  const std::size_t per_account = playbooks.size() + 1;
  std::size_t at = 0;
  for (const ChangedAccount& c : changed) {
    auto found = facts->find(c.account_id);
    if (found == facts->end()) continue;  // unknown account: nothing to enrol or exit
    ScopedRequest as_request({c.request_id.empty() ? NewRequestId() : c.request_id, std::nullopt});
    absl::Status s = EvaluateRead(c.account_id, c.events, found->second, playbooks,
                                  absl::MakeConstSpan(*read).subspan(at, per_account));
    at += per_account;
    if (absl::IsUnavailable(s) || absl::IsAborted(s) || absl::IsDeadlineExceeded(s)) return s;
    if (!s.ok()) {
      Log(LogLevel::kWarning, "playbook_account_change_failed",
          {{"account_id", c.account_id}, {"error", s.ToString()}});
    }
  }
  return absl::OkStatus();
}

absl::Status PlaybookEngine::EvaluateRead(const std::string& account_id, absl::Span<const v1::Event> events,
                                          const AccountFacts& facts_now,
                                          const std::vector<std::shared_ptr<const CompiledPlaybook>>& playbooks,
                                          absl::Span<const std::optional<Record>> read) {
  // Most changes move nothing: one read of every record of the account decides, and only the playbooks
  // that would change are written (each re-read and re-decided under compare-and-set).
  const AccountFacts* const facts = &facts_now;
  Touches touches_now;
  if (read.back().has_value()) touches_now.log.ParseFromString(read.back()->value);
  for (size_t i = 0; i < playbooks.size(); ++i) {
    const std::shared_ptr<const CompiledPlaybook>& current = playbooks[i];
    bool enrolled = false;
    const Mutator decide = [&](v1::PlaybookEnrollments& r, Touches& touches,
                               Change& change) -> absl::StatusOr<bool> {
      enrolled = false;
      const absl::Time now = clock_.Now();
      if (r.has_latest() && InFlight(r.latest())) {
        v1::Enrollment& e = *r.mutable_latest();
        auto playbook = PlaybookOf(e);
        if (!playbook.ok()) return playbook.status();
        EnrollmentMachine machine(**playbook, config_.frequency_caps());
        bool changed = false;
        for (const v1::Event& event : events) {
          changed = machine.OnEvent(e, event.type(), FromProtoTime(event.time()), now) || changed;
        }
        changed = machine.ExitOnFacts(e, *facts, now) || changed;
        if (changed && e.state() == v1::ENROLLMENT_STATE_ACTIVE) {
          const size_t before = change.actions.size();
          machine.RunDue(e, touches.log, &*facts, now, change.actions);
          touches.changed = change.actions.size() != before;
        }
        return changed;
      }
      // Not in flight: does a trigger hold?
      int holding = -1;
      for (int t = 0; t < static_cast<int>(current->triggers().size()); ++t) {
        if (current->triggers()[t].Matches(facts->View(now), facts->segment_ids)) {
          holding = t;
          break;
        }
      }
      const bool was_holding = r.has_trigger_holding_since();
      if (holding < 0 || !CanEnroll(r, *current, now).ok()) {
        r.clear_trigger_holding_since();
        r.clear_trigger_check_time();
        r.clear_trigger_index();
        return was_holding;
      }
      const absl::Time since = was_holding ? FromProtoTime(r.trigger_holding_since()) : now;
      const absl::Duration sustained =
          absl::Hours(24 * int64_t{current->definition().triggers(holding).sustained_days()});
      if (since + sustained <= now) {
        // Day offsets count from when the condition began to hold ("day 14" of re-engagement).
        Begin(r, *current, account_id, v1::ENROLLMENT_SOURCE_TRIGGER, absl::StrCat("trigger:", holding),
              since, now, touches, &*facts, change);
        enrolled = true;
        return true;
      }
      if (was_holding) return false;
      *r.mutable_trigger_holding_since() = ToProtoTime(now);
      *r.mutable_trigger_check_time() = ToProtoTime(now + sustained);
      r.set_trigger_index(holding);
      return true;
    };
    v1::PlaybookEnrollments record_now;
    if (read[i].has_value() && !record_now.ParseFromString(read[i]->value)) {
      return absl::InternalError(
          absl::StrCat("corrupt playbook record ", EnrollmentsKey(account_id, current->id())));
    }
    Touches touches_copy = touches_now;
    Change dry_run;
    auto would_change = decide(record_now, touches_copy, dry_run);
    if (!would_change.ok()) return would_change.status();
    if (!*would_change) continue;
    auto record = Mutate(account_id, current->id(), decide);
    if (!record.ok()) return record.status();
    if (enrolled) {
      Log(LogLevel::kInfo, "playbook_enrolled",
          {{"enrollment_id", record->latest().enrollment_id()}, {"source", "trigger"}});
    }
  }
  return absl::OkStatus();
}

std::string PlaybookEngine::MemberOf(const ScheduleRef& ref) {
  return absl::StrCat(ref.enrollment.account_id, "/", ref.enrollment.playbook_id, "/", ref.enrollment.number);
}

absl::StatusOr<std::optional<AccountFacts>> PlaybookEngine::FactsFor(const v1::PlaybookEnrollments& record) {
  if (!record.has_latest() || record.latest().state() != v1::ENROLLMENT_STATE_ACTIVE) return std::nullopt;
  auto playbook = PlaybookOf(record.latest());
  if (!playbook.ok()) return playbook.status();
  if (!(*playbook)->needs_account_view()) return std::nullopt;
  auto loaded = facts_.Load(record.latest().account_id());
  if (absl::IsUnavailable(loaded.status()) || absl::IsDeadlineExceeded(loaded.status()))
    return loaded.status();
  // Another failure (the account is gone) leaves conditions unmet and rule exits unchecked.
  if (!loaded.ok()) return std::nullopt;
  return std::optional<AccountFacts>(*std::move(loaded));
}

absl::Status PlaybookEngine::AdvanceClaimed(const std::string& member, v1::PlaybookEnrollments& record,
                                            Touches& touches, const AccountFacts* facts, absl::Time now,
                                            Change& change) {
  // The claim moved the entry to its lease's end: the write that follows puts it back where the record
  // says, or drops it when it is stale (an enrolment that is no longer the latest).
  if (!record.has_latest() || record.latest().enrollment_id() != member) {
    change.stale_members.push_back(member);
    return absl::OkStatus();
  }
  v1::Enrollment& e = *record.mutable_latest();
  if (e.state() != v1::ENROLLMENT_STATE_ACTIVE) return absl::OkStatus();
  auto playbook = PlaybookOf(e);
  if (!playbook.ok()) return playbook.status();
  const size_t before = change.actions.size();
  EnrollmentMachine(**playbook, config_.frequency_caps()).RunDue(e, touches.log, facts, now, change.actions);
  touches.changed = touches.changed || change.actions.size() != before;
  return absl::OkStatus();
}

absl::Status PlaybookEngine::RunClaim(const ScheduleRef& ref) {
  const std::string& account_id = ref.enrollment.account_id;
  const std::string& playbook_id = ref.enrollment.playbook_id;
  if (ref.trigger_check) {
    std::shared_ptr<const CompiledPlaybook> playbook = registry_.Current(playbook_id);
    if (playbook == nullptr) {
      const std::string member = TriggerCheckMember(account_id, playbook_id);
      return store_.ScheduleRemove(std::string(kScheduleName), {&member, 1});
    }
    return EvaluateAccount(account_id, {}, playbook);
  }
  // The facts are read before the record, once: a step's condition sees the account as of its due time
  // within the time of one read.
  auto pair = ReadPair(account_id, playbook_id);
  if (!pair.ok()) return pair.status();
  auto facts = FactsFor(pair->record);
  if (!facts.ok()) return facts.status();
  const std::string member = MemberOf(ref);
  auto record =
      Mutate(account_id, playbook_id,
             [&](v1::PlaybookEnrollments& r, Touches& touches, Change& change) -> absl::StatusOr<bool> {
               absl::Status s = AdvanceClaimed(member, r, touches, facts->has_value() ? &**facts : nullptr,
                                               clock_.Now(), change);
               if (!s.ok()) return s;
               return true;
             });
  return record.status();
}

absl::Status PlaybookEngine::RunBatch(const std::vector<ScheduleRef>& refs) {
  // One read for every record and every account's touches, one pipelined write for all of them: three
  // round trips for the whole batch (with the claim) instead of three per step.
  std::vector<std::string> keys;
  absl::flat_hash_map<std::string, int> touches_index;  // account -> position in `keys`
  for (const ScheduleRef& ref : refs)
    keys.push_back(EnrollmentsKey(ref.enrollment.account_id, ref.enrollment.playbook_id));
  for (const ScheduleRef& ref : refs) {
    if (touches_index.emplace(ref.enrollment.account_id, static_cast<int>(keys.size())).second) {
      keys.push_back(TouchesKey(ref.enrollment.account_id));
    }
  }
  auto read = store_.Get(keys);
  if (!read.ok()) return read.status();
  absl::flat_hash_map<std::string, Touches> touches;
  for (const auto& [account, index] : touches_index) {
    Touches& t = touches[account];
    if ((*read)[index].has_value()) {
      t.log.ParseFromString((*read)[index]->value);
      t.version = (*read)[index]->version;
    }
  }
  const absl::Time now = clock_.Now();
  std::vector<Change> changes(refs.size());
  std::vector<Write> writes;
  std::vector<size_t> written;  // refs behind `writes`
  std::vector<size_t> alone;    // refs left to RunClaim: a second enrolment of an account in this batch
  absl::flat_hash_set<std::string> accounts_seen;
  for (size_t i = 0; i < refs.size(); ++i) {
    const std::string& account = refs[i].enrollment.account_id;
    // Two enrolments of one account share its touches: one write per account per batch.
    if (!accounts_seen.insert(account).second) {
      alone.push_back(i);
      continue;
    }
    Change& change = changes[i];
    change.pair.account_id = account;
    change.pair.key = keys[i];
    if ((*read)[i].has_value()) {
      if (!change.pair.record.ParseFromString((*read)[i]->value)) {
        return absl::InternalError(absl::StrCat("corrupt playbook record ", keys[i]));
      }
      change.pair.version = (*read)[i]->version;
    }
    NoteBefore(change);
    auto facts = FactsFor(change.pair.record);
    if (!facts.ok()) return facts.status();
    Touches& t = touches[account];
    if (absl::Status s = AdvanceClaimed(MemberOf(refs[i]), change.pair.record, t,
                                        facts->has_value() ? &**facts : nullptr, now, change);
        !s.ok()) {
      return s;
    }
    writes.push_back(BuildWrite(change, &t));
    written.push_back(i);
  }
  auto applied = store_.Put(writes);
  if (!applied.ok()) return applied.status();
  absl::flat_hash_map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> index_moves;
  for (size_t w = 0; w < written.size(); ++w) {
    const size_t i = written[w];
    if (!(*applied)[w]) {
      alone.push_back(i);  // raced with another writer: run it again on fresh state
      continue;
    }
    const Change& change = changes[i];
    Report(change);
    if (!change.pair.record.has_latest()) continue;
    const std::string after = IndexMember(change.pair.record.latest());
    if (after == change.index_before) continue;
    auto& [adds, removes] = index_moves[PlaybookIndexName(change.pair.record.latest().playbook_id())];
    adds.push_back(after);
    if (!change.index_before.empty()) removes.push_back(change.index_before);
  }
  for (const auto& [index, moves] : index_moves) {
    absl::Status s = store_.IndexAdd(index, moves.first);
    if (s.ok()) s = store_.IndexRemove(index, moves.second);
    if (!s.ok()) Log(LogLevel::kWarning, "playbook_index_update_failed", {{"error", s.ToString()}});
  }
  for (size_t i : alone) {
    if (absl::Status s = RunClaim(refs[i]); !s.ok()) {
      Log(LogLevel::kWarning, "playbook_step_failed",
          {{"member", MemberOf(refs[i])}, {"error", s.ToString()}});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PlaybookEngine::RunDue(int limit) {
  const absl::Duration lease =
      config_.has_claim_lease() ? absl::Seconds(config_.claim_lease().seconds()) : kDefaultLease;
  auto claimed = store_.ScheduleClaim(std::string(kScheduleName), absl::ToUnixMillis(clock_.Now()),
                                      absl::ToInt64Milliseconds(lease), limit);
  if (!claimed.ok()) return claimed.status();
  std::vector<ScheduleRef> steps;
  for (const ScheduledItem& item : *claimed) {
    std::optional<ScheduleRef> ref = ParseScheduleMember(item.member);
    if (!ref.has_value()) {
      Log(LogLevel::kWarning, "playbook_schedule_bad_member", {{"member", item.member}});
      if (absl::Status s = store_.ScheduleRemove(std::string(kScheduleName), {&item.member, 1}); !s.ok())
        return s;
      continue;
    }
    if (!ref->trigger_check) {
      steps.push_back(*std::move(ref));
      continue;
    }
    if (absl::Status s = RunClaim(*ref); !s.ok()) {
      // The claim's lease runs out and the entry is tried again then.
      Log(LogLevel::kWarning, "playbook_trigger_check_failed",
          {{"member", item.member}, {"error", s.ToString()}});
    }
  }
  if (!steps.empty()) {
    if (absl::Status s = RunBatch(steps); !s.ok()) {
      Log(LogLevel::kWarning, "playbook_steps_failed",
          {{"steps", absl::StrCat(steps.size())}, {"error", s.ToString()}});
    }
  }
  return static_cast<int>(claimed->size());
}

absl::StatusOr<std::optional<absl::Time>> PlaybookEngine::NextDue() {
  auto earliest = store_.ScheduleEarliest(std::string(kScheduleName));
  if (!earliest.ok()) return earliest.status();
  if (!earliest->has_value()) return std::optional<absl::Time>();
  return std::optional<absl::Time>(absl::FromUnixMillis(**earliest));
}

}  // namespace steward::playbooks
