#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/store/store.h"
#include "services/playbooks/engine/account_facts.h"
#include "services/playbooks/engine/engine_observer.h"
#include "services/playbooks/engine/enrollment_keys.h"
#include "services/playbooks/engine/enrollment_machine.h"
#include "services/playbooks/engine/playbook_registry.h"
#include "steward/v1/event.pb.h"
#include "steward/v1/playbook_service.pb.h"

namespace steward::playbooks {

// The playbook engine over the store: enrols accounts, moves enrolments (EnrollmentMachine) and runs
// due steps, durably. Every change of an enrolment is one atomic store write that also appends its
// actions to the action stream and moves its entry in the schedule, under compare-and-set on the
// account-and-playbook record: an action is handed off exactly when its step is recorded as run, never
// twice, and a crash at any point leaves a record and a schedule that agree. Several processes may run
// it at once: schedule claims are leased, writes are compare-and-set and retried. Thread-safe.
class PlaybookEngine {
 public:
  // `observer` (optional, must outlive the engine) hears of every enrolment, step run and action once
  // it is written.
  PlaybookEngine(Store& store, const Clock& clock, PlaybookRegistry& registry,
                 const AccountFactsSource& facts, v1::PlaybookEngineConfig config,
                 EngineObserver* observer = nullptr);

  struct Enrolled {
    v1::Enrollment enrollment;
    bool created = false;
  };
  // Manual enrolment (EnrollAccount); validated ids. NOT_FOUND for an unknown account or playbook,
  // ALREADY_EXISTS while one is in flight, FAILED_PRECONDITION when the re-enrolment policy forbids it.
  // `context` (validated) is kept on the enrolment and copied to its actions.
  using Context = google::protobuf::Map<std::string, std::string>;
  absl::StatusOr<Enrolled> Enroll(const std::string& account_id, const std::string& playbook_id,
                                  const std::string& request_id, const Context& context);
  absl::StatusOr<v1::Enrollment> Pause(const EnrollmentRef& ref);
  absl::StatusOr<v1::Enrollment> Resume(const EnrollmentRef& ref);
  absl::StatusOr<v1::Enrollment> Cancel(const EnrollmentRef& ref, const std::string& reason);
  struct Outcome {
    v1::Enrollment enrollment;
    bool recorded = false;
    v1::Channel channel = v1::CHANNEL_UNSPECIFIED;
    absl::Time action_time;  // when the action was handed off
  };
  // Records an outcome of a delivered action. NOT_FOUND for an action that was never handed off.
  absl::StatusOr<Outcome> RecordOutcome(const ActionRef& ref, v1::ActionOutcome outcome,
                                        const std::string& note);
  // One enrolment (latest or earlier). NOT_FOUND when there is none with that id.
  absl::StatusOr<v1::Enrollment> Get(const EnrollmentRef& ref);

  // An account changed (new events, or attributes, scores or segments moved): exit criteria and waits
  // of its enrolments in flight, and every playbook's automatic triggers.
  absl::Status OnAccountChanged(const std::string& account_id, absl::Span<const v1::Event> events);

  // Many accounts changed (a page of a change feed): OnAccountChanged for each, with one batch read of
  // their facts and one store read of their records for the whole page. Each account is decided
  // under the request id of its latest change, so its log lines (an enrolment) carry it. A failure the
  // page may be retried for (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED) is returned at once; any other
  // failure of one account is logged and the others go on.
  struct ChangedAccount {
    std::string account_id;
    std::vector<v1::Event> events;  // new events, in feed order
    std::string request_id;         // of the latest change; empty: a new id is made up
  };
  absl::Status OnAccountsChanged(absl::Span<const ChangedAccount> changed);

  // Claims up to `limit` due schedule entries and runs them at the clock's now. Returns how many it
  // claimed (0: nothing was due).
  absl::StatusOr<int> RunDue(int limit);
  // The earliest time anything is scheduled, if anything is.
  absl::StatusOr<std::optional<absl::Time>> NextDue();

  // Whether a new enrolment may start now; the reason when not (ALREADY_EXISTS / FAILED_PRECONDITION).
  absl::Status CanEnroll(const v1::PlaybookEnrollments& record, const CompiledPlaybook& playbook,
                         absl::Time now) const;

  PlaybookRegistry& registry() { return registry_; }
  const v1::PlaybookEngineConfig& config() const { return config_; }

 private:
  // One account-and-playbook record as read, and the account's touches.
  struct Pair {
    std::string account_id;
    std::string key;
    v1::PlaybookEnrollments record;
    uint64_t version = 0;  // 0: absent
  };
  struct Touches {
    v1::TouchLog log;
    uint64_t version = 0;
    bool changed = false;
  };
  // What a change of one pair writes.
  struct Change {
    Pair pair;
    std::string index_before;  // "" when the pair had no enrolment
    // The latest enrolment's id and step runs as read, to tell the observer what the write adds.
    std::string latest_before;
    int steps_before = 0;
    std::vector<v1::PlaybookAction> actions;
    // Schedule entries of enrolments that are no longer the latest (a claim found them stale).
    std::vector<std::string> stale_members;
  };

  absl::StatusOr<Pair> ReadPair(const std::string& account_id, const std::string& playbook_id);
  absl::StatusOr<Touches> ReadTouches(const std::string& account_id);
  // The write of a changed pair (with touches, actions and schedule), for Put.
  Write BuildWrite(const Change& change, const Touches* touches) const;
  // After a successful write: the index follows (not atomic with it; readers check the record).
  void UpdateIndex(const Change& change);
  // Records what a change's record holds before it is changed (for Report).
  static void NoteBefore(Change& change);
  // After a successful write: tells the observer what it added.
  void Report(const Change& change) const;
  // Read, apply `mutate` (returns an error to stop, false for "nothing to write"), write; retried on a
  // race. The pair after the call.
  using Mutator = std::function<absl::StatusOr<bool>(v1::PlaybookEnrollments&, Touches&, Change&)>;
  absl::StatusOr<v1::PlaybookEnrollments> Mutate(const std::string& account_id,
                                                 const std::string& playbook_id, const Mutator& mutate);
  // The in-flight or given enrolment of a record.
  static v1::Enrollment* Find(v1::PlaybookEnrollments& record, int number);

  // Starts an enrolment in `record` (which CanEnroll allowed), with `context` if given.
  v1::Enrollment& Begin(v1::PlaybookEnrollments& record, const CompiledPlaybook& playbook,
                        const std::string& account_id, v1::EnrollmentSource source,
                        const std::string& request_id, absl::Time enrolled, absl::Time now, Touches& touches,
                        const AccountFacts* facts, Change& change, const Context* context = nullptr);
  // Runs one claimed schedule entry on its own (trigger checks, retries after a race).
  absl::Status RunClaim(const ScheduleRef& ref);
  // Runs claimed step entries together: one read and one pipelined write for the batch.
  absl::Status RunBatch(const std::vector<ScheduleRef>& refs);
  // What a claimed entry does to its record: runs what is due, or marks the entry stale.
  absl::Status AdvanceClaimed(const std::string& member, v1::PlaybookEnrollments& record, Touches& touches,
                              const AccountFacts* facts, absl::Time now, Change& change);
  // The account's facts when the enrolment's playbook reads them; nullopt when it does not (or the
  // account is gone). UNAVAILABLE when the other services did not answer.
  absl::StatusOr<std::optional<AccountFacts>> FactsFor(const v1::PlaybookEnrollments& record);
  static std::string MemberOf(const ScheduleRef& ref);
  // Evaluates triggers, exits and waits of one account for `playbooks` (all when empty).
  absl::Status EvaluateAccount(const std::string& account_id, absl::Span<const v1::Event> events,
                               const std::shared_ptr<const CompiledPlaybook>& only);
  // The keys EvaluateRead needs read: each playbook's record of the account, then its touches.
  static void AppendEvaluationKeys(const std::string& account_id,
                                   const std::vector<std::shared_ptr<const CompiledPlaybook>>& playbooks,
                                   std::vector<std::string>& keys);
  // EvaluateAccount's decisions once the facts and the records (`read`, as AppendEvaluationKeys lists
  // them) are in hand; writes, under compare-and-set, only the records that change.
  absl::Status EvaluateRead(const std::string& account_id, absl::Span<const v1::Event> events,
                            const AccountFacts& facts,
                            const std::vector<std::shared_ptr<const CompiledPlaybook>>& playbooks,
                            absl::Span<const std::optional<Record>> read);
  absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> PlaybookOf(const v1::Enrollment& enrollment);

  Store& store_;
  const Clock& clock_;
  PlaybookRegistry& registry_;
  const AccountFactsSource& facts_;
  const v1::PlaybookEngineConfig config_;
  EngineObserver* const observer_;
};

}  // namespace steward::playbooks
