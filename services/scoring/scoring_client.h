#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/service_client.h"
#include "steward/v1/scoring_service.grpc.pb.h"

namespace steward::scoring {

// The scoring service as other services see it (segmentation, upsell): see ServiceClient for channels,
// deadlines and errors.
class ScoringClient : public ServiceClient<v1::ScoringService> {
 public:
  explicit ScoringClient(absl::Duration deadline) : ServiceClient("scoring service", deadline) {}

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
};

}  // namespace steward::scoring
