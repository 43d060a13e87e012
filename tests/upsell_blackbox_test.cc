// Black-box test of upsell against the built `steward` binary on a real redis-server, in both shapes it
// is deployed in: every service in one process, and scoring, segmentation and upsell as three processes
// talking over loopback gRPC. An account reaching 85% of a plan limit gets an opportunity with nobody
// asking; accepting it (through `buf curl`, as a CS tool or an operator would) raises the account's MRR
// in the scoring service and shows as expansion in the portfolio metrics.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "steward/v1/segmentation_service.grpc.pb.h"
#include "steward/v1/upsell_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
#include "tests/support/child_process.h"
#include "tests/support/healthy_account.h"
#include "tests/support/redis_server.h"

namespace steward {
namespace {

using testing::Context;
using testing::Eventually;

using testing::At;
using ::testing::HasSubstr;
using testing::RunCommand;
using testing::SourceDir;

enum class Topology { kOneProcess, kThreeProcesses };

class UpsellBlackBoxTest : public ::testing::TestWithParam<Topology> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    const std::vector<std::string> common = {"--listen=127.0.0.1:0",
                                             absl::StrCat("--store=redis://127.0.0.1:", redis_.port(), "/0"),
                                             "--refresh_interval=0s", "--segment_poll_interval=20ms",
                                             absl::StrCat("--config_dir=", SourceDir(), "/config")};
    auto start = [&](std::vector<std::string> extra) {
      extra.insert(extra.begin(), common.begin(), common.end());
      int port = 0;
      auto child = testing::StartSteward(extra, port);
      EXPECT_TRUE(child.ok()) << child.status();
      if (child.ok()) processes_.push_back(*std::move(child));
      return port;
    };
    if (GetParam() == Topology::kOneProcess) {
      scoring_port_ = segmentation_port_ = upsell_port_ = start({"--services=all"});
    } else {
      scoring_port_ = start({"--services=scoring"});
      const std::string scoring = absl::StrCat("--scoring_address=127.0.0.1:", scoring_port_);
      segmentation_port_ = start({"--services=segmentation", scoring});
      upsell_port_ = start({"--services=upsell", scoring,
                            absl::StrCat("--segmentation_address=127.0.0.1:", segmentation_port_)});
    }
    ASSERT_NE(scoring_port_, 0);
    ASSERT_NE(segmentation_port_, 0);
    ASSERT_NE(upsell_port_, 0);
    auto channel = [](int port) {
      return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    };
    scoring_ = v1::ScoringService::NewStub(channel(scoring_port_));
    segments_ = v1::SegmentationService::NewStub(channel(segmentation_port_));
    upsell_ = v1::UpsellService::NewStub(channel(upsell_port_));
  }

  std::string Logs() const {
    std::string out;
    for (const auto& p : processes_) absl::StrAppend(&out, p->Output());
    return out;
  }

  testing::RedisServer redis_;
  std::vector<std::unique_ptr<testing::ChildProcess>> processes_;
  int scoring_port_ = 0;
  int segmentation_port_ = 0;
  int upsell_port_ = 0;
  std::unique_ptr<v1::ScoringService::Stub> scoring_;
  std::unique_ptr<v1::SegmentationService::Stub> segments_;
  std::unique_ptr<v1::UpsellService::Stub> upsell_;
};

TEST_P(UpsellBlackBoxTest, AnAccountAtItsLimitGetsAnOpportunityAndAcceptingItIsExpansion) {
  const absl::Time now = absl::Now();
  v1::UpsertAccountRequest upsert;
  *upsert.mutable_account() = testing::HealthyAccount("busy", now, 1000);
  v1::UpsertAccountResponse upserted;
  ASSERT_TRUE(scoring_->UpsertAccount(Context().get(), upsert, &upserted).ok());
  v1::RecordEventsRequest events;
  for (const v1::Event& e : testing::HealthyMonth("busy", now)) *events.add_events() = e;
  *events.add_events() =
      testing::MakeEvent("busy", "api", v1::EVENT_TYPE_LIMIT_USAGE, now - absl::Minutes(5), 850, "api_calls");
  v1::RecordEventsResponse recorded;
  grpc::Status status = scoring_->RecordEvents(Context().get(), events, &recorded);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Nobody asks: the upsell follower sees the change and opens the limit trigger's opportunity.
  v1::ListOpportunitiesRequest list;
  list.set_account_id("busy");
  list.set_trigger_id("limit");
  v1::ListOpportunitiesResponse listed;
  ASSERT_TRUE(Eventually([&] {
    return upsell_->ListOpportunities(Context().get(), list, &listed).ok() &&
           listed.opportunities_size() == 1;
  })) << Logs();
  const std::string id = listed.opportunities(0).opportunity_id();
  EXPECT_EQ(listed.opportunities(0).trigger().offer().target_plan(), "pro");

  // A CS tool accepts it, from a terminal.
  auto [code, output] = RunCommand(absl::StrCat(
      SourceDir(),
      "/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge -d '{\"opportunityId\": \"", id,
      "\", \"state\": \"OPPORTUNITY_STATE_ACCEPTED\", \"requestId\": \"deal-1\", \"mrrChange\": 400}' ",
      "http://127.0.0.1:", upsell_port_, "/steward.v1.UpsellService/RecordOpportunityOutcome"));
  ASSERT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("OPPORTUNITY_STATE_ACCEPTED"));

  v1::GetAccountRequest get;
  get.set_account_id("busy");
  v1::GetAccountResponse account;
  ASSERT_TRUE(scoring_->GetAccount(Context().get(), get, &account).ok());
  EXPECT_DOUBLE_EQ(account.account().mrr(), 1400);
  EXPECT_EQ(account.account().plan().name(), "pro");

  v1::GetPortfolioMetricsRequest metrics;
  *metrics.mutable_start_time() = At(now - absl::Hours(24));
  *metrics.mutable_end_time() = At(now + absl::Hours(1));
  EXPECT_TRUE(Eventually([&] {
    v1::GetPortfolioMetricsResponse response;
    if (!segments_->GetPortfolioMetrics(Context().get(), metrics, &response).ok()) return false;
    for (const v1::PortfolioMetric& m : response.metrics()) {
      if (m.name() == "expansion_mrr" && m.value() == 400) return true;
    }
    return false;
  })) << Logs();
}

INSTANTIATE_TEST_SUITE_P(Topologies, UpsellBlackBoxTest,
                         ::testing::Values(Topology::kOneProcess, Topology::kThreeProcesses),
                         [](const auto& param_info) {
                           return param_info.param == Topology::kOneProcess ? "OneProcess" : "ThreeProcesses";
                         });

}  // namespace
}  // namespace steward
