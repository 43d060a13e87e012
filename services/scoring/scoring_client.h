#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "steward/v1/scoring_service.grpc.pb.h"

namespace steward::scoring {

// The scoring service as other services see it (segmentation, upsell): blocking calls over a gRPC
// channel, each with a deadline. The channel is in-process when both services run in one steward process and
// a network channel otherwise; this code is the same either way. Errors come back as the scoring service's
// status, except that a missed deadline or an unreachable peer is UNAVAILABLE naming the scoring service.
// Thread-safe.
class ScoringClient {
 public:
  ScoringClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline);
  // Without a channel yet: calls answer UNAVAILABLE until Connect. For a server that hosts the scoring
  // service itself, whose in-process channel exists only once the server has started.
  explicit ScoringClient(absl::Duration deadline);
  void Connect(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<v1::Account> GetAccount(const std::string& account_id) const;
  // At most 1000 ids per call (the scoring service's limit); NOT_FOUND if any is missing.
  absl::StatusOr<std::vector<v1::Account>> BatchGetAccounts(const std::vector<std::string>& ids) const;
  // Scores under the default model, in the order of `ids`; same limits as BatchGetAccounts.
  absl::StatusOr<std::vector<v1::Scores>> BatchGetScores(const std::vector<std::string>& ids) const;
  absl::StatusOr<v1::ListAccountsResponse> ListAccounts(const std::string& page_token, int page_size) const;
  absl::StatusOr<v1::ListAccountChangesResponse> ListAccountChanges(const std::string& cursor,
                                                                    int page_size) const;
  absl::StatusOr<v1::RecordEventsResponse> RecordEvents(const v1::RecordEventsRequest& request) const;
  absl::StatusOr<v1::UpsertAccountResponse> UpsertAccount(const v1::UpsertAccountRequest& request) const;

 private:
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(const char* name, Method method, const Request& request) const;

  std::shared_ptr<v1::ScoringService::Stub> stub() const;

  mutable absl::Mutex mu_;
  std::shared_ptr<v1::ScoringService::Stub> stub_ ABSL_GUARDED_BY(mu_);
  const absl::Duration deadline_;
};

}  // namespace steward::scoring
