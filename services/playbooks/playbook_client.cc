#include "services/playbooks/playbook_client.h"

namespace steward::playbooks {

absl::StatusOr<v1::EnrollAccountResponse> PlaybookClient::EnrollAccount(
    const v1::EnrollAccountRequest& request) const {
  return Call<v1::EnrollAccountRequest, v1::EnrollAccountResponse>(
      "EnrollAccount", &v1::PlaybookService::Stub::EnrollAccount, request);
}

}  // namespace steward::playbooks
