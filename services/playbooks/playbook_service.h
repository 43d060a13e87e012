#pragma once

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/playbooks/engine/account_facts.h"
#include "services/playbooks/engine/playbook_engine.h"
#include "steward/v1/playbook_service.pb.h"

namespace steward::playbooks {

// The playbook domain behind PlaybookService (see playbook_service.proto): validates requests, runs
// mutations through the PlaybookEngine, and answers the read-side calls (lists, timeline, stats,
// preview) from the engine's records and indexes. Thread-safe; calls block on the store and on the
// scoring and segmentation services. WatchActions is served by ActionWatchHub.
class PlaybookService {
 public:
  PlaybookService(Store& store, const Clock& clock, PlaybookEngine& engine, const AccountFactsSource& facts)
      : store_(store), clock_(clock), engine_(engine), facts_(facts) {}

  absl::StatusOr<v1::ListPlaybooksResponse> ListPlaybooks(const v1::ListPlaybooksRequest& request);
  absl::StatusOr<v1::GetPlaybookResponse> GetPlaybook(const v1::GetPlaybookRequest& request);
  absl::StatusOr<v1::EnrollAccountResponse> EnrollAccount(const v1::EnrollAccountRequest& request);
  absl::StatusOr<v1::PauseEnrollmentResponse> PauseEnrollment(const v1::PauseEnrollmentRequest& request);
  absl::StatusOr<v1::ResumeEnrollmentResponse> ResumeEnrollment(const v1::ResumeEnrollmentRequest& request);
  absl::StatusOr<v1::CancelEnrollmentResponse> CancelEnrollment(const v1::CancelEnrollmentRequest& request);
  absl::StatusOr<v1::GetEnrollmentResponse> GetEnrollment(const v1::GetEnrollmentRequest& request);
  absl::StatusOr<v1::ListEnrollmentsResponse> ListEnrollments(const v1::ListEnrollmentsRequest& request);
  absl::StatusOr<v1::GetAccountTimelineResponse> GetAccountTimeline(
      const v1::GetAccountTimelineRequest& request);
  // Scans the playbook's whole index: its cost grows with the playbook's enrolments (about a second per
  // million on Redis).
  absl::StatusOr<v1::GetPlaybookStatsResponse> GetPlaybookStats(const v1::GetPlaybookStatsRequest& request);
  absl::StatusOr<v1::PreviewPlaybookResponse> PreviewPlaybook(const v1::PreviewPlaybookRequest& request);
  absl::StatusOr<v1::RecordActionOutcomeResponse> RecordActionOutcome(
      const v1::RecordActionOutcomeRequest& request);
  absl::StatusOr<v1::CompleteActionResponse> CompleteAction(const v1::CompleteActionRequest& request);

 private:
  absl::StatusOr<std::shared_ptr<const CompiledPlaybook>> FindPlaybook(const std::string& field,
                                                                       const std::string& id) const;
  absl::StatusOr<EnrollmentRef> ParseEnrollment(const std::string& id) const;
  absl::StatusOr<ActionRef> ParseAction(const std::string& id) const;
  // Every account-and-playbook record of an account, for the current playbooks (absent ones skipped).
  absl::StatusOr<std::vector<v1::PlaybookEnrollments>> AccountRecords(const std::string& account_id);
  absl::StatusOr<v1::ListEnrollmentsResponse> ListByAccount(const v1::ListEnrollmentsRequest& request,
                                                            int page_size);
  absl::StatusOr<v1::ListEnrollmentsResponse> ListByPlaybook(const v1::ListEnrollmentsRequest& request,
                                                             int page_size);

  Store& store_;
  const Clock& clock_;
  PlaybookEngine& engine_;
  const AccountFactsSource& facts_;
};

}  // namespace steward::playbooks
