#include "services/scoring/scoring_client.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace steward::scoring {

absl::StatusOr<v1::Account> ScoringClient::GetAccount(const std::string& account_id) const {
  v1::GetAccountRequest request;
  request.set_account_id(account_id);
  auto response = Call<v1::GetAccountRequest, v1::GetAccountResponse>(
      "GetAccount", &v1::ScoringService::Stub::GetAccount, request);
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_account());
}

absl::StatusOr<std::vector<v1::Account>> ScoringClient::BatchGetAccounts(
    const std::vector<std::string>& ids) const {
  v1::BatchGetAccountsRequest request;
  for (const std::string& id : ids) request.add_account_ids(id);
  auto response = Call<v1::BatchGetAccountsRequest, v1::BatchGetAccountsResponse>(
      "BatchGetAccounts", &v1::ScoringService::Stub::BatchGetAccounts, request);
  if (!response.ok()) return response.status();
  return std::vector<v1::Account>(std::make_move_iterator(response->mutable_accounts()->begin()),
                                  std::make_move_iterator(response->mutable_accounts()->end()));
}

absl::StatusOr<std::vector<v1::Scores>> ScoringClient::BatchGetScores(
    const std::vector<std::string>& ids) const {
  v1::BatchGetScoresRequest request;
  for (const std::string& id : ids) request.add_account_ids(id);
  auto response = Call<v1::BatchGetScoresRequest, v1::BatchGetScoresResponse>(
      "BatchGetScores", &v1::ScoringService::Stub::BatchGetScores, request);
  if (!response.ok()) return response.status();
  return std::vector<v1::Scores>(std::make_move_iterator(response->mutable_scores()->begin()),
                                 std::make_move_iterator(response->mutable_scores()->end()));
}

absl::StatusOr<v1::ListAccountsResponse> ScoringClient::ListAccounts(const std::string& page_token,
                                                                     int page_size) const {
  v1::ListAccountsRequest request;
  request.set_page_token(page_token);
  request.set_page_size(page_size);
  return Call<v1::ListAccountsRequest, v1::ListAccountsResponse>(
      "ListAccounts", &v1::ScoringService::Stub::ListAccounts, request);
}

absl::StatusOr<v1::ListAccountChangesResponse> ScoringClient::ListAccountChanges(const std::string& cursor,
                                                                                 int page_size) const {
  v1::ListAccountChangesRequest request;
  request.set_page_token(cursor);
  request.set_page_size(page_size);
  return Call<v1::ListAccountChangesRequest, v1::ListAccountChangesResponse>(
      "ListAccountChanges", &v1::ScoringService::Stub::ListAccountChanges, request);
}

absl::StatusOr<v1::RecordEventsResponse> ScoringClient::RecordEvents(
    const v1::RecordEventsRequest& request) const {
  return Call<v1::RecordEventsRequest, v1::RecordEventsResponse>(
      "RecordEvents", &v1::ScoringService::Stub::RecordEvents, request);
}

absl::StatusOr<v1::UpsertAccountResponse> ScoringClient::UpsertAccount(
    const v1::UpsertAccountRequest& request) const {
  return Call<v1::UpsertAccountRequest, v1::UpsertAccountResponse>(
      "UpsertAccount", &v1::ScoringService::Stub::UpsertAccount, request);
}

}  // namespace steward::scoring
