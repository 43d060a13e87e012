// Black-box test of segmentation against the built `steward` binary on a real redis-server, in the
// two shapes it is deployed in: one process hosting every service (segmentation reaches scoring over
// an in-process channel), and scoring and segmentation in separate processes talking over loopback
// gRPC. Both must pass the same scenario. Operators' calls go through `buf curl` (reflection, JSON).

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "steward/v1/segmentation_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
#include "tests/support/child_process.h"
#include "tests/support/redis_server.h"

namespace steward {
namespace {

using testing::Context;
using testing::Eventually;

using testing::RunCommand;
using testing::SourceDir;
using testing::StewardBinary;

using testing::At;
using ::testing::HasSubstr;

enum class Topology { kOneProcess, kSeparateProcesses };

class SegmentationBlackBoxTest : public ::testing::TestWithParam<Topology> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    const std::string store = absl::StrCat("--store=redis://127.0.0.1:", redis_.port(), "/0");
    const std::vector<std::string> common = {"--listen=127.0.0.1:0", store, "--refresh_interval=0s",
                                             "--segment_poll_interval=20ms",
                                             absl::StrCat("--config_dir=", SourceDir(), "/config")};
    auto start =
        [&](std::vector<std::string> extra) -> std::pair<std::unique_ptr<testing::ChildProcess>, int> {
      extra.insert(extra.begin(), common.begin(), common.end());
      int port = 0;
      auto child = testing::StartSteward(extra, port);
      EXPECT_TRUE(child.ok()) << child.status();
      if (!child.ok()) return {nullptr, 0};
      return {*std::move(child), port};
    };
    if (GetParam() == Topology::kOneProcess) {
      auto [child, port] = start({"--services=all"});
      ASSERT_NE(port, 0);
      scoring_process_ = std::move(child);
      scoring_port_ = segmentation_port_ = port;
    } else {
      auto [scoring, scoring_port] = start({"--services=scoring"});
      ASSERT_NE(scoring_port, 0);
      scoring_process_ = std::move(scoring);
      scoring_port_ = scoring_port;
      auto [segmentation, segmentation_port] =
          start({"--services=segmentation", absl::StrCat("--scoring_address=127.0.0.1:", scoring_port),
                 "--scoring_deadline=5s"});
      ASSERT_NE(segmentation_port, 0);
      segmentation_process_ = std::move(segmentation);
      segmentation_port_ = segmentation_port;
    }
    scoring_ = v1::ScoringService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", scoring_port_), grpc::InsecureChannelCredentials()));
    segments_ = v1::SegmentationService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", segmentation_port_), grpc::InsecureChannelCredentials()));
  }

  // `buf curl` against the segmentation service, with a JSON body; returns exit code and output.
  std::pair<int, std::string> BufCurl(const std::string& method, const std::string& json) const {
    return RunCommand(absl::StrCat(
        SourceDir(), "/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge -d '", json,
        "' http://127.0.0.1:", segmentation_port_, "/steward.v1.SegmentationService/", method));
  }

  std::vector<std::string> Members(const std::string& segment_id, grpc::StatusCode* code = nullptr) {
    v1::ListSegmentMembersRequest request;
    request.set_segment_id(segment_id);
    v1::ListSegmentMembersResponse response;
    grpc::Status status = segments_->ListSegmentMembers(Context().get(), request, &response);
    if (code != nullptr) *code = status.error_code();
    return {response.account_ids().begin(), response.account_ids().end()};
  }

  bool HasMembershipEvent(const std::string& account, const std::string& segment,
                          v1::MembershipChange change) {
    v1::ListMembershipEventsRequest request;
    request.set_page_size(1000);
    for (;;) {
      v1::ListMembershipEventsResponse response;
      if (!segments_->ListMembershipEvents(Context().get(), request, &response).ok()) return false;
      if (response.events().empty()) return false;
      for (const v1::MembershipEvent& e : response.events()) {
        if (e.account_id() == account && e.segment_id() == segment && e.change() == change) return true;
      }
      request.set_page_token(response.next_page_token());
    }
  }

  testing::RedisServer redis_;
  std::unique_ptr<testing::ChildProcess> scoring_process_;
  std::unique_ptr<testing::ChildProcess> segmentation_process_;
  int scoring_port_ = 0;
  int segmentation_port_ = 0;
  std::unique_ptr<v1::ScoringService::Stub> scoring_;
  std::unique_ptr<v1::SegmentationService::Stub> segments_;
};

TEST_P(SegmentationBlackBoxTest, ACustomSegmentFollowsScoresAcrossServices) {
  const absl::Time now = absl::Now();
  for (const char* id : {"acme", "globex"}) {
    v1::UpsertAccountRequest request;
    request.mutable_account()->set_account_id(id);
    request.mutable_account()->set_mrr(500);
    request.mutable_account()->set_industry("banking");
    request.mutable_account()->mutable_plan()->set_feature_count(10);
    *request.mutable_account()->mutable_start_time() = At(now - absl::Hours(24 * 200));
    v1::UpsertAccountResponse response;
    grpc::Status status = scoring_->UpsertAccount(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_TRUE(Eventually([&] { return Members("industry/banking").size() == 2; }));

  // An operator defines the segment from a terminal, with JSON and no .proto files.
  auto [code, created] = BufCurl(
      "CreateSegment",
      R"({"segment":{"segmentId":"engaged","displayName":"Engaged","treatment":"Ask for a case study",)"
      R"("rule":{"all":{"rules":[{"compare":{"field":"feature.logins_30d","op":"OPERATOR_GE","number":10}},)"
      R"({"in":{"field":"segment","texts":["industry/banking"]}}]}}}})");
  ASSERT_EQ(code, 0) << created;
  EXPECT_THAT(created, HasSubstr("\"segmentId\": \"engaged\""));
  auto [bad_code, bad] = BufCurl(
      "CreateSegment",
      R"({"segment":{"segmentId":"broken","displayName":"B","rule":{"compare":{"field":"feature.nope","op":"OPERATOR_GE","number":1}}}})");
  EXPECT_NE(bad_code, 0);
  EXPECT_THAT(bad, HasSubstr("invalid_argument"));
  EXPECT_THAT(bad, HasSubstr("segment.rule.compare.field"));

  // Twelve days of logins for acme, recorded on the scoring service; nobody asks for re-evaluation.
  v1::RecordEventsRequest events;
  for (int day = 0; day < 12; ++day) {
    v1::Event& e = *events.add_events();
    e.set_event_id(absl::StrCat("login-", day));
    e.set_account_id("acme");
    e.set_type(v1::EVENT_TYPE_LOGIN);
    *e.mutable_time() = At(now - absl::Hours(24 * day + 1));
  }
  v1::RecordEventsResponse recorded;
  grpc::Status status = scoring_->RecordEvents(Context().get(), events, &recorded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(recorded.recorded(), 12);

  ASSERT_TRUE(Eventually([&] { return Members("engaged") == std::vector<std::string>{"acme"}; }))
      << (segmentation_process_ ? segmentation_process_ : scoring_process_)->Output();
  EXPECT_TRUE(HasMembershipEvent("acme", "engaged", v1::MEMBERSHIP_CHANGE_ENTERED));
  auto [segments_code, segments] = BufCurl("GetAccountSegments", R"({"accountId":"acme"})");
  ASSERT_EQ(segments_code, 0) << segments;
  EXPECT_THAT(segments, HasSubstr("\"segmentId\": \"engaged\""));
  EXPECT_THAT(segments, HasSubstr("feature.logins_30d >= 10"));
  // The logins earned loyalty points: 12 days of use.
  auto [loyalty_code, loyalty] = BufCurl("GetLoyalty", R"({"accountId":"acme"})");
  ASSERT_EQ(loyalty_code, 0) << loyalty;
  EXPECT_THAT(loyalty, HasSubstr("\"balance\": \"120\""));

  auto [deleted_code, deleted] = BufCurl("DeleteSegment", R"({"segmentId":"engaged"})");
  ASSERT_EQ(deleted_code, 0) << deleted;
  grpc::StatusCode members_code = grpc::StatusCode::OK;
  Members("engaged", &members_code);
  EXPECT_EQ(members_code, grpc::StatusCode::NOT_FOUND);
  auto [after_code, after] = BufCurl("GetAccountSegments", R"({"accountId":"acme"})");
  ASSERT_EQ(after_code, 0) << after;
  EXPECT_THAT(after, ::testing::Not(HasSubstr("\"engaged\"")));
  EXPECT_TRUE(Eventually([&] { return HasMembershipEvent("acme", "engaged", v1::MEMBERSHIP_CHANGE_LEFT); }));
}

INSTANTIATE_TEST_SUITE_P(Topologies, SegmentationBlackBoxTest,
                         ::testing::Values(Topology::kOneProcess, Topology::kSeparateProcesses),
                         [](const auto& param_info) {
                           return param_info.param == Topology::kOneProcess ? "OneProcess"
                                                                            : "SeparateProcesses";
                         });

}  // namespace
}  // namespace steward
