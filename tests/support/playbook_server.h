#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/segmentation/builtin/segmentation_config.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "services/segmentation/metrics/portfolio_config.h"
#include "steward/v1/clock_service.grpc.pb.h"
#include "steward/v1/playbook_service.grpc.pb.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/api_test_support.h"

// What the playbook tests share: an in-process server with scoring, segmentation and playbooks on a
// manual clock, and its clients.
namespace steward::testing {

// The configuration of that server: the shipped segmentation, loyalty and portfolio files, `playbooks`,
// background work polling every 5 ms, and `clock` as the manual clock (time moves by AdvanceClock).
inline absl::StatusOr<ServerConfig> PlaybookServerConfig(std::vector<v1::Playbook> playbooks,
                                                         FakeClock& clock) {
  ServerConfig config;
  config.services = {std::string(kScoringServiceName), std::string(kSegmentationServiceName),
                     std::string(kPlaybookServiceName)};
  auto segmentation = segmentation::LoadSegmentationConfig(ConfigDir() + "/segmentation.textproto");
  if (!segmentation.ok()) return segmentation.status();
  auto loyalty = segmentation::LoadLoyaltyConfig(ConfigDir() + "/loyalty.textproto");
  if (!loyalty.ok()) return loyalty.status();
  auto targets = segmentation::LoadPortfolioTargets(ConfigDir() + "/portfolio.textproto");
  if (!targets.ok()) return targets.status();
  config.segmentation_config = *std::move(segmentation);
  config.loyalty_config = *std::move(loyalty);
  config.portfolio_targets = *std::move(targets);
  config.maintainer.poll_interval = absl::Milliseconds(5);
  config.playbooks = std::move(playbooks);
  config.playbook_poll_interval = absl::Milliseconds(5);
  config.manual_clock = &clock;
  return config;
}

// Clients of one server.
struct PlaybookClients {
  explicit PlaybookClients(int port) {
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    scoring = v1::ScoringService::NewStub(channel);
    playbooks = v1::PlaybookService::NewStub(channel);
    time = v1::ClockService::NewStub(channel);
  }

  // One enrolment (a failure fails the test and gives an empty one).
  v1::Enrollment GetEnrollment(const std::string& enrollment_id) const {
    v1::GetEnrollmentRequest request;
    request.set_enrollment_id(enrollment_id);
    v1::GetEnrollmentResponse response;
    grpc::Status s = playbooks->GetEnrollment(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.enrollment();
  }

  // Moves the manual clock, running what falls due on the way.
  void Advance(absl::Duration by) const {
    v1::AdvanceClockRequest request;
    request.mutable_by()->set_seconds(absl::ToInt64Seconds(by));
    v1::AdvanceClockResponse response;
    grpc::Status status = time->AdvanceClock(Context(absl::Seconds(60)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  std::unique_ptr<v1::ScoringService::Stub> scoring;
  std::unique_ptr<v1::PlaybookService::Stub> playbooks;
  std::unique_ptr<v1::ClockService::Stub> time;
};

}  // namespace steward::testing
