#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/service_client.h"
#include "steward/v1/playbook_service.grpc.pb.h"

namespace steward::playbooks {

// The playbook service as other services see it (upsell hands its opportunities over): see
// ServiceClient for channels, deadlines and errors.
class PlaybookClient : public ServiceClient<v1::PlaybookService> {
 public:
  explicit PlaybookClient(absl::Duration deadline) : ServiceClient("playbook service", deadline) {}

  absl::StatusOr<v1::EnrollAccountResponse> EnrollAccount(const v1::EnrollAccountRequest& request) const;
};

}  // namespace steward::playbooks
