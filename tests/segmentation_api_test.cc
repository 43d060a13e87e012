// The segmentation API driven through real gRPC over loopback, on both stores, with scoring and
// segmentation hosted in one server (segmentation reaches scoring over the in-process channel):
// custom segments kept current by the background maintainer, membership events, stats, loyalty and
// the error contract. tests/blackbox_test.cc runs the two services in separate processes.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/store/memory_store.h"
#include "common/store/redis_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/scoring/model/model_config.h"
#include "services/segmentation/builtin/segmentation_config.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "services/segmentation/metrics/portfolio_config.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "steward/v1/segmentation_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_store.h"

namespace steward {
namespace {

using testing::Context;
using testing::Eventually;

using testing::StoreKind;

using testing::At;
using testing::BadRequestField;
using testing::ConfigDir;

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

v1::Rule ParseRule(const std::string& text) {
  v1::Rule rule;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &rule)) << text;
  return rule;
}

class SegmentationApiTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto models = scoring::LoadModelDirectory(ConfigDir());
    ASSERT_TRUE(models.ok()) << models.status();
    auto segmentation = segmentation::LoadSegmentationConfig(ConfigDir() + "/segmentation.textproto");
    ASSERT_TRUE(segmentation.ok()) << segmentation.status();
    auto loyalty = segmentation::LoadLoyaltyConfig(ConfigDir() + "/loyalty.textproto");
    ASSERT_TRUE(loyalty.ok()) << loyalty.status();
    auto targets = segmentation::LoadPortfolioTargets(ConfigDir() + "/portfolio.textproto");
    ASSERT_TRUE(targets.ok()) << targets.status();
    ServerConfig config;
    config.services = {std::string(kScoringServiceName), std::string(kSegmentationServiceName)};
    config.segmentation_config = *segmentation;
    config.loyalty_config = *loyalty;
    config.portfolio_targets = *targets;
    config.maintainer.poll_interval = absl::Milliseconds(5);
    auto server = StewardServer::Start(config, *store_, clock_, *std::move(models));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
    scoring_ = v1::ScoringService::NewStub(channel);
    segments_ = v1::SegmentationService::NewStub(channel);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  void Upsert(const std::string& id, double mrr, const std::string& industry = "technology") {
    v1::UpsertAccountRequest request;
    v1::Account& a = *request.mutable_account();
    a.set_account_id(id);
    a.set_display_name("Company " + id);
    a.set_mrr(mrr);
    a.set_gross_margin(0.8);
    a.set_industry(industry);
    a.mutable_plan()->set_feature_count(10);
    *a.mutable_start_time() = At(kStart - absl::Hours(24 * 400));
    v1::UpsertAccountResponse response;
    grpc::Status status = scoring_->UpsertAccount(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Record(const std::vector<v1::Event>& events) {
    v1::RecordEventsRequest request;
    for (const v1::Event& e : events) *request.add_events() = e;
    v1::RecordEventsResponse response;
    grpc::Status status = scoring_->RecordEvents(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static v1::Event MakeEvent(const std::string& account, const std::string& id, v1::EventType type,
                             absl::Time t, double value = 0, const std::string& subject = "") {
    v1::Event e;
    e.set_event_id(id);
    e.set_account_id(account);
    e.set_type(type);
    *e.mutable_time() = At(t);
    e.set_value(value);
    e.set_subject(subject);
    return e;
  }

  double Health(const std::string& id) {
    v1::GetScoresRequest request;
    request.set_account_id(id);
    v1::GetScoresResponse response;
    grpc::Status status = scoring_->GetScores(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.scores().health().score();
  }

  grpc::Status CreateSegment(const std::string& id, const v1::Rule& rule, v1::Segment* out = nullptr) {
    v1::CreateSegmentRequest request;
    request.mutable_segment()->set_segment_id(id);
    request.mutable_segment()->set_display_name("Segment " + id);
    request.mutable_segment()->set_treatment("call them");
    *request.mutable_segment()->mutable_rule() = rule;
    v1::CreateSegmentResponse response;
    grpc::Status status = segments_->CreateSegment(Context().get(), request, &response);
    if (out != nullptr) *out = response.segment();
    return status;
  }

  std::vector<std::string> Members(const std::string& segment_id, grpc::Status* status_out = nullptr) {
    v1::ListSegmentMembersRequest request;
    request.set_segment_id(segment_id);
    v1::ListSegmentMembersResponse response;
    grpc::Status status = segments_->ListSegmentMembers(Context().get(), request, &response);
    if (status_out != nullptr) *status_out = status;
    return {response.account_ids().begin(), response.account_ids().end()};
  }

  std::vector<std::string> SegmentsOf(const std::string& account_id, bool evaluate_now = false) {
    v1::GetAccountSegmentsRequest request;
    request.set_account_id(account_id);
    request.set_evaluate_now(evaluate_now);
    v1::GetAccountSegmentsResponse response;
    grpc::Status status = segments_->GetAccountSegments(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const v1::SegmentAssignment& a : response.assignments()) ids.push_back(a.segment_id());
    return ids;
  }

  std::vector<v1::MembershipEvent> MembershipEvents() {
    std::vector<v1::MembershipEvent> all;
    v1::ListMembershipEventsRequest request;
    request.set_page_size(1000);
    for (;;) {
      v1::ListMembershipEventsResponse response;
      grpc::Status status = segments_->ListMembershipEvents(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok() || response.events().empty()) return all;
      all.insert(all.end(), response.events().begin(), response.events().end());
      request.set_page_token(response.next_page_token());
    }
  }

  static bool HasEvent(const std::vector<v1::MembershipEvent>& events, const std::string& account,
                       const std::string& segment, v1::MembershipChange change) {
    for (const v1::MembershipEvent& e : events) {
      if (e.account_id() == account && e.segment_id() == segment && e.change() == change) return true;
    }
    return false;
  }

  grpc::Status Award(const std::string& account, const std::string& request_id, int64_t points,
                     v1::AwardPointsResponse* out = nullptr) {
    v1::AwardPointsRequest request;
    request.set_account_id(account);
    request.set_request_id(request_id);
    request.set_points(points);
    v1::AwardPointsResponse response;
    grpc::Status status = segments_->AwardPoints(Context().get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  v1::GetLoyaltyResponse Loyalty(const std::string& account) {
    v1::GetLoyaltyRequest request;
    request.set_account_id(account);
    request.set_page_size(1000);
    v1::GetLoyaltyResponse response;
    grpc::Status status = segments_->GetLoyalty(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  FakeClock clock_{kStart};
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StewardServer> server_;
  std::unique_ptr<v1::ScoringService::Stub> scoring_;
  std::unique_ptr<v1::SegmentationService::Stub> segments_;
};

TEST_P(SegmentationApiTest, CustomSegmentPicksUpAnAccountWhoseScoreCrossesItsThresholdWithoutBeingAsked) {
  Upsert("acme", 500);
  Upsert("other", 500);
  const double before = Health("acme");
  v1::Rule rule =
      ParseRule(absl::StrCat("compare { field: \"score.health\" op: OPERATOR_GT number: ", before, " }"));
  v1::Segment created;
  grpc::Status status = CreateSegment("thriving", rule, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(created.built_in());
  EXPECT_EQ(created.create_time().seconds(), absl::ToUnixSeconds(kStart));
  // The rebuild that the new segment triggers runs; nobody is in it yet.
  ASSERT_TRUE(Eventually(
      [&] { return server_->maintainer()->rebuilds() >= 1 && Members("industry/technology").size() == 2; }));
  EXPECT_THAT(Members("thriving"), ElementsAre());

  // A month of daily use lifts acme's health above where it was; no call asks for re-evaluation.
  std::vector<v1::Event> events;
  for (int day = 0; day < 30; ++day) {
    const absl::Time t = kStart - absl::Hours(24 * day + 1);
    events.push_back(MakeEvent("acme", absl::StrCat("login-", day), v1::EVENT_TYPE_LOGIN, t));
    events.push_back(MakeEvent("acme", absl::StrCat("use-", day), v1::EVENT_TYPE_FEATURE_USED, t, 0,
                               absl::StrCat("f", day % 8)));
  }
  Record(events);
  ASSERT_GT(Health("acme"), before);
  ASSERT_TRUE(Eventually([&] { return Members("thriving") == std::vector<std::string>{"acme"}; }));
  EXPECT_THAT(SegmentsOf("acme"), Contains("thriving"));
  EXPECT_THAT(SegmentsOf("other"), Not(Contains("thriving")));
  std::vector<v1::MembershipEvent> log = MembershipEvents();
  ASSERT_TRUE(HasEvent(log, "acme", "thriving", v1::MEMBERSHIP_CHANGE_ENTERED));
  for (const v1::MembershipEvent& e : log) {
    if (e.segment_id() == "thriving") {
      EXPECT_THAT(e.reason(), HasSubstr("score.health >"));
      EXPECT_EQ(e.time().seconds(), absl::ToUnixSeconds(kStart));
    }
  }
  // The same events earned loyalty points on the way: 30 days of use, 30 day-feature pairs.
  EXPECT_EQ(Loyalty("acme").standing().balance(), 30 * 10 + 30 * 5);

  // Deleting the segment removes it from every answer, and its members leave it.
  v1::DeleteSegmentRequest del;
  del.set_segment_id("thriving");
  v1::DeleteSegmentResponse deleted;
  status = segments_->DeleteSegment(Context().get(), del, &deleted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(SegmentsOf("acme"), Not(Contains("thriving")));
  grpc::Status members_status;
  Members("thriving", &members_status);
  EXPECT_EQ(members_status.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetSegmentRequest get;
  get.set_segment_id("thriving");
  v1::GetSegmentResponse got;
  EXPECT_EQ(segments_->GetSegment(Context().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::GetSegmentStatsRequest stats_request;
  stats_request.set_segment_id("thriving");
  v1::GetSegmentStatsResponse stats;
  EXPECT_EQ(segments_->GetSegmentStats(Context().get(), stats_request, &stats).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListSegmentsRequest list;
  list.set_page_size(1000);
  v1::ListSegmentsResponse listed;
  ASSERT_TRUE(segments_->ListSegments(Context().get(), list, &listed).ok());
  for (const v1::Segment& s : listed.segments()) EXPECT_NE(s.segment_id(), "thriving");
  EXPECT_EQ(segments_->DeleteSegment(Context().get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Eventually(
      [&] { return HasEvent(MembershipEvents(), "acme", "thriving", v1::MEMBERSHIP_CHANGE_LEFT); }));
}

TEST_P(SegmentationApiTest, TheDailyRebuildMovesAccountsWhoseSegmentsChangeWithTimeAlone) {
  // Day 89 of its life: onboarding. Nothing happens to it; only the days pass.
  v1::UpsertAccountRequest request;
  request.mutable_account()->set_account_id("young");
  request.mutable_account()->set_mrr(100);
  *request.mutable_account()->mutable_start_time() = At(kStart - absl::Hours(24 * 89));
  v1::UpsertAccountResponse response;
  ASSERT_TRUE(scoring_->UpsertAccount(Context().get(), request, &response).ok());
  ASSERT_TRUE(
      Eventually([&] { return Members("lifecycle/onboarding") == std::vector<std::string>{"young"}; }));
  const int rebuilds = server_->maintainer()->rebuilds();

  clock_.Advance(absl::Hours(24 * 2));  // day 91, and more than the 24 h rebuild interval later
  ASSERT_TRUE(Eventually([&] { return Members("lifecycle/adoption") == std::vector<std::string>{"young"}; }));
  // (The feed may still carry the upsert when the clock moves, and re-evaluate it first; the daily
  // rebuild comes anyway.)
  EXPECT_TRUE(Eventually([&] { return server_->maintainer()->rebuilds() > rebuilds; }));
  EXPECT_THAT(Members("lifecycle/onboarding"), ElementsAre());
  const std::vector<v1::MembershipEvent> log = MembershipEvents();
  EXPECT_TRUE(HasEvent(log, "young", "lifecycle/onboarding", v1::MEMBERSHIP_CHANGE_LEFT));
  EXPECT_TRUE(HasEvent(log, "young", "lifecycle/adoption", v1::MEMBERSHIP_CHANGE_ENTERED));
  for (const v1::MembershipEvent& e : log) {
    if (e.segment_id() == "lifecycle/onboarding" && e.change() == v1::MEMBERSHIP_CHANGE_LEFT) {
      EXPECT_THAT(e.reason(), HasSubstr("lifecycle/adoption"));
    }
  }
}

TEST_P(SegmentationApiTest, StatsCountMembersRevenueAndHealthFromMaintainedCounters) {
  Upsert("big", 30000);  // CLV above 10,000: high tier
  Upsert("small-1", 1);  // CLV well under 1,000: low tier
  Upsert("small-2", 3);
  ASSERT_TRUE(Eventually([&] { return Members("clv-tier/low").size() == 2; }));
  EXPECT_THAT(Members("clv-tier/low"), ElementsAre("small-1", "small-2"));
  EXPECT_THAT(Members("clv-tier/high"), ElementsAre("big"));
  v1::GetSegmentStatsRequest request;
  request.set_segment_id("clv-tier/low");
  v1::GetSegmentStatsResponse response;
  ASSERT_TRUE(segments_->GetSegmentStats(Context().get(), request, &response).ok());
  EXPECT_EQ(response.total_accounts(), 3);
  EXPECT_DOUBLE_EQ(response.total_mrr(), 30004);
  EXPECT_EQ(response.stats().account_count(), 2);
  EXPECT_NEAR(response.stats().account_share(), 2.0 / 3, 1e-9);
  EXPECT_DOUBLE_EQ(response.stats().mrr(), 4);
  EXPECT_NEAR(response.stats().revenue_share(), 4.0 / 30004, 1e-12);
  ASSERT_TRUE(response.stats().has_average_health());
  EXPECT_NEAR(response.stats().average_health(), (Health("small-1") + Health("small-2")) / 2, 1e-9);

  // An account that moves tier moves in the counters too.
  Upsert("small-2", 40000);
  ASSERT_TRUE(Eventually([&] { return Members("clv-tier/low") == std::vector<std::string>{"small-1"}; }));
  ASSERT_TRUE(segments_->GetSegmentStats(Context().get(), request, &response).ok());
  EXPECT_EQ(response.stats().account_count(), 1);
  EXPECT_DOUBLE_EQ(response.stats().mrr(), 1);
  EXPECT_DOUBLE_EQ(response.total_mrr(), 70001);
  EXPECT_TRUE(HasEvent(MembershipEvents(), "small-2", "clv-tier/low", v1::MEMBERSHIP_CHANGE_LEFT));
  EXPECT_TRUE(HasEvent(MembershipEvents(), "small-2", "clv-tier/high", v1::MEMBERSHIP_CHANGE_ENTERED));
}

TEST_P(SegmentationApiTest, MembersArePagedWithOpaqueTokens) {
  for (int i = 0; i < 7; ++i) Upsert(absl::StrCat("acct-", i), 1);
  ASSERT_TRUE(Eventually([&] { return Members("clv-tier/low").size() == 7; }));
  std::vector<std::string> seen;
  v1::ListSegmentMembersRequest request;
  request.set_segment_id("clv-tier/low");
  request.set_page_size(3);
  for (int page = 0; page < 5; ++page) {
    v1::ListSegmentMembersResponse response;
    ASSERT_TRUE(segments_->ListSegmentMembers(Context().get(), request, &response).ok());
    EXPECT_LE(response.account_ids_size(), 3);
    seen.insert(seen.end(), response.account_ids().begin(), response.account_ids().end());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(seen, ElementsAre("acct-0", "acct-1", "acct-2", "acct-3", "acct-4", "acct-5", "acct-6"));
}

TEST_P(SegmentationApiTest, LoyaltyTierEdgesAndIdempotentAwards) {
  Upsert("fan", 100);
  struct Step {
    int64_t award;
    int64_t earned;
    v1::LoyaltyTier tier;
    const char* segment;
  };
  const Step steps[] = {{999, 999, v1::LOYALTY_TIER_BRONZE, "loyalty/bronze"},
                        {1, 1000, v1::LOYALTY_TIER_SILVER, "loyalty/silver"},
                        {3999, 4999, v1::LOYALTY_TIER_SILVER, "loyalty/silver"},
                        {1, 5000, v1::LOYALTY_TIER_GOLD, "loyalty/gold"},
                        {4999, 9999, v1::LOYALTY_TIER_GOLD, "loyalty/gold"},
                        {1, 10000, v1::LOYALTY_TIER_PLATINUM, "loyalty/platinum"}};
  int n = 0;
  for (const Step& step : steps) {
    v1::AwardPointsResponse response;
    grpc::Status status = Award("fan", absl::StrCat("award-", n++), step.award, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.standing().earned(), step.earned);
    EXPECT_EQ(response.standing().tier(), step.tier) << step.earned;
    EXPECT_THAT(SegmentsOf("fan"), Contains(step.segment)) << step.earned;
  }
  // A retried award changes nothing and answers with the first entry.
  v1::AwardPointsResponse retried;
  ASSERT_TRUE(Award("fan", "award-0", 999, &retried).ok());
  EXPECT_EQ(retried.standing().balance(), 10000);
  EXPECT_EQ(retried.entry().balance_after(), 999);
  // The balance is the ledger's sum.
  v1::GetLoyaltyResponse loyalty = Loyalty("fan");
  int64_t sum = 0;
  for (const v1::LoyaltyEntry& e : loyalty.entries()) sum += e.points();
  EXPECT_EQ(sum, loyalty.standing().balance());
  EXPECT_EQ(loyalty.entries_size(), 6);
}

TEST_P(SegmentationApiTest, OverRedemptionIsRefusedAndStoresNothing) {
  Upsert("saver", 100);
  ASSERT_TRUE(Award("saver", "a1", 250).ok());
  v1::RedeemPointsRequest request;
  request.set_account_id("saver");
  request.set_request_id("r1");
  request.set_reward_id("training");  // 300 points
  v1::RedeemPointsResponse response;
  grpc::Status status = segments_->RedeemPoints(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("250"));
  EXPECT_EQ(Loyalty("saver").standing().balance(), 250);
  EXPECT_EQ(Loyalty("saver").entries_size(), 1);

  request.set_reward_id("priority_support");  // 200 points
  ASSERT_TRUE(segments_->RedeemPoints(Context().get(), request, &response).ok());
  EXPECT_EQ(response.standing().balance(), 50);
  EXPECT_EQ(response.standing().earned(), 250);  // redeeming does not lower what was earned
}

TEST_P(SegmentationApiTest, BadInputGetsPreciseStatusesAndStoresNothing) {
  Upsert("acme", 100);
  struct Case {
    const char* rule;
    const char* field;
  };
  const Case cases[] = {
      {"compare { field: \"score.helth\" op: OPERATOR_LT number: 50 }", "segment.rule.compare.field"},
      {"all { rules { compare { field: \"score.health\" op: OPERATOR_LT number: 50 } } rules { } }",
       "segment.rule.all.rules[1]"},
      {"compare { field: \"account.industry\" op: OPERATOR_LT text: \"x\" }", "segment.rule.compare.op"},
      {"range { field: \"score.health\" min: 60 max: 50 }", "segment.rule.range"},
  };
  for (const Case& c : cases) {
    grpc::Status status = CreateSegment("bad", ParseRule(c.rule));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.rule;
    EXPECT_THAT(BadRequestField(status), ::testing::StartsWith(c.field))
        << c.rule << ": " << status.error_message();
  }
  grpc::Status bad_id =
      CreateSegment("Bad Id", ParseRule("compare { field: \"score.health\" op: OPERATOR_LT number: 5 }"));
  EXPECT_EQ(BadRequestField(bad_id), "segment.segment_id");
  grpc::Status built_in = CreateSegment(
      "clv-tier/high", ParseRule("compare { field: \"score.health\" op: OPERATOR_LT number: 5 }"));
  EXPECT_EQ(built_in.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Nothing was stored.
  v1::GetSegmentRequest get;
  get.set_segment_id("bad");
  v1::GetSegmentResponse got;
  EXPECT_EQ(segments_->GetSegment(Context().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  const v1::Rule ok = ParseRule("compare { field: \"score.health\" op: OPERATOR_LT number: 5 }");
  ASSERT_TRUE(CreateSegment("low", ok).ok());
  EXPECT_EQ(CreateSegment("low", ok).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::UpdateSegmentRequest update;
  update.mutable_segment()->set_segment_id("clv-tier/high");
  update.mutable_segment()->set_display_name("x");
  *update.mutable_segment()->mutable_rule() = ok;
  v1::UpdateSegmentResponse updated;
  EXPECT_EQ(segments_->UpdateSegment(Context().get(), update, &updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::ListSegmentMembersRequest members;
  members.set_segment_id("nope");
  v1::ListSegmentMembersResponse listed;
  EXPECT_EQ(segments_->ListSegmentMembers(Context().get(), members, &listed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  members.set_segment_id("clv-tier/high");
  members.set_page_size(-1);
  grpc::Status negative = segments_->ListSegmentMembers(Context().get(), members, &listed);
  EXPECT_EQ(negative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(negative), "page_size");
  members.set_page_size(10);
  members.set_page_token("!!not-a-token");
  EXPECT_EQ(BadRequestField(segments_->ListSegmentMembers(Context().get(), members, &listed)), "page_token");

  v1::ListMembershipEventsRequest events;
  events.set_page_token("garbage");
  v1::ListMembershipEventsResponse events_response;
  EXPECT_EQ(BadRequestField(segments_->ListMembershipEvents(Context().get(), events, &events_response)),
            "page_token");

  v1::GetAccountSegmentsRequest segments_of;
  segments_of.set_account_id("ghost");
  v1::GetAccountSegmentsResponse segments_response;
  EXPECT_EQ(segments_->GetAccountSegments(Context().get(), segments_of, &segments_response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Award("ghost", "a", 10).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(BadRequestField(Award("acme", "a", 0)), "points");
  EXPECT_EQ(BadRequestField(Award("acme", "", 10)), "request_id");
  EXPECT_EQ(Loyalty("acme").standing().balance(), 0);
}

TEST_P(SegmentationApiTest, BatchGetAccountSegmentsAnswersLikeOneAtATime) {
  Upsert("d", 100);
  Upsert("p", 100);
  Record({MakeEvent("d", "n1", v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Hours(2), 3),
          MakeEvent("p", "n1", v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Hours(2), 8)});
  ASSERT_TRUE(Eventually([&] { return Members("nps/passive") == std::vector<std::string>{"p"}; }));
  ASSERT_TRUE(Eventually([&] { return Members("nps/detractor") == std::vector<std::string>{"d"}; }));

  v1::BatchGetAccountSegmentsRequest request;
  for (const char* id : {"p", "d", "p"}) request.add_account_ids(id);
  v1::BatchGetAccountSegmentsResponse response;
  grpc::Status status = segments_->BatchGetAccountSegments(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.accounts_size(), 2);  // the repeated id is answered once, in the order asked
  EXPECT_EQ(response.accounts(0).account_id(), "p");
  EXPECT_EQ(response.accounts(1).account_id(), "d");
  for (const v1::GetAccountSegmentsResponse& batched : response.accounts()) {
    std::vector<std::string> ids;
    for (const v1::SegmentAssignment& a : batched.assignments()) ids.push_back(a.segment_id());
    EXPECT_EQ(ids, SegmentsOf(batched.account_id())) << batched.account_id();
  }
  EXPECT_THAT(SegmentsOf("d"), Contains("nps/detractor"));

  // Errors name the account or the field.
  request.add_account_ids("ghost");
  status = segments_->BatchGetAccountSegments(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("ghost"));
  v1::BatchGetAccountSegmentsRequest empty;
  EXPECT_EQ(BadRequestField(segments_->BatchGetAccountSegments(Context().get(), empty, &response)),
            "account_ids");
  v1::BatchGetAccountSegmentsRequest bad_id;
  bad_id.add_account_ids("p");
  bad_id.add_account_ids("{braces}");
  EXPECT_EQ(BadRequestField(segments_->BatchGetAccountSegments(Context().get(), bad_id, &response)),
            "account_ids[1]");
  v1::BatchGetAccountSegmentsRequest too_many;
  for (int i = 0; i < 1001; ++i) too_many.add_account_ids(absl::StrCat("a", i));
  EXPECT_EQ(BadRequestField(segments_->BatchGetAccountSegments(Context().get(), too_many, &response)),
            "account_ids");
}

TEST_P(SegmentationApiTest, NpsAnswersPlaceAccountsInTheirCategoryWithTreatment) {
  Upsert("d", 100);
  Upsert("p", 100);
  Upsert("q", 100);
  Record({MakeEvent("d", "n1", v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Hours(2), 6),
          MakeEvent("p", "n1", v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Hours(2), 8),
          MakeEvent("q", "n1", v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Hours(2), 9)});
  // Evaluated now: the answers are there at once, with the inputs behind each assignment.
  v1::GetAccountSegmentsRequest request;
  request.set_account_id("d");
  request.set_evaluate_now(true);
  v1::GetAccountSegmentsResponse response;
  ASSERT_TRUE(segments_->GetAccountSegments(Context().get(), request, &response).ok());
  bool found = false;
  for (const v1::SegmentAssignment& a : response.assignments()) {
    if (a.segmentation() != "nps") continue;
    found = true;
    EXPECT_EQ(a.segment_id(), "nps/detractor");
    EXPECT_THAT(a.treatment(), HasSubstr("24"));
    ASSERT_EQ(a.inputs_size(), 1);
    EXPECT_EQ(a.inputs(0).field(), "feature.nps");
    EXPECT_EQ(a.inputs(0).value(), "6");
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(response.update_time().seconds(), absl::ToUnixSeconds(kStart));
  EXPECT_THAT(SegmentsOf("p", /*evaluate_now=*/true), Contains("nps/passive"));
  // The maintained answer follows within moments, and keeps the reason (not the inputs).
  ASSERT_TRUE(Eventually([&] { return Members("nps/promoter") == std::vector<std::string>{"q"}; }));
  request.set_account_id("q");
  request.set_evaluate_now(false);
  ASSERT_TRUE(segments_->GetAccountSegments(Context().get(), request, &response).ok());
  ASSERT_EQ(response.assignments_size(), 9);  // one per built-in segmentation, in their order
  EXPECT_EQ(response.assignments(0).segmentation(), "quadrant");
  EXPECT_EQ(response.assignments(6).segment_id(), "nps/promoter");
  EXPECT_THAT(response.assignments(6).reason(), HasSubstr("9"));
  EXPECT_THAT(response.assignments(6).treatment(), HasSubstr("referral"));
  EXPECT_EQ(response.assignments(6).inputs_size(), 0);
  // Feedback earns points too (25 for an NPS answer).
  EXPECT_TRUE(Eventually([&] { return Loyalty("q").standing().balance() == 25; }));
}

// Portfolio metrics over the 30 days before kStart, for the whole portfolio or one segment.
class PortfolioMetricsApiTest : public SegmentationApiTest {
 protected:
  grpc::Status Metrics(v1::GetPortfolioMetricsResponse* response, const std::string& segment_id = "",
                       absl::Time start = kStart - absl::Hours(24 * 30), absl::Time end = kStart) {
    v1::GetPortfolioMetricsRequest request;
    *request.mutable_start_time() = At(start);
    *request.mutable_end_time() = At(end);
    request.set_segment_id(segment_id);
    return segments_->GetPortfolioMetrics(Context().get(), request, response);
  }

  static const v1::PortfolioMetric* Find(const v1::GetPortfolioMetricsResponse& response,
                                         const std::string& name) {
    for (const v1::PortfolioMetric& m : response.metrics()) {
      if (m.name() == name) return &m;
    }
    return nullptr;
  }

  // The metric once the maintainer has folded every change in: waits until `name` equals `expected`.
  bool MetricReaches(const std::string& name, double expected, const std::string& segment_id = "") {
    return Eventually([&] {
      v1::GetPortfolioMetricsResponse response;
      if (!Metrics(&response, segment_id).ok()) return false;
      const v1::PortfolioMetric* m = Find(response, name);
      return m != nullptr && m->known() && std::abs(m->value() - expected) < 1e-9;
    });
  }
};

TEST_P(PortfolioMetricsApiTest, NetRevenueRetentionIs115PercentForSpecsExample) {
  // Start MRR 100K over ten accounts; in the period +30K expansion, −5K contraction, one 10K churn.
  for (int i = 0; i < 10; ++i) Upsert(absl::StrCat("nrr-", i), 10000);
  const absl::Time t = kStart - absl::Hours(24 * 10);
  Record({MakeEvent("nrr-0", "x1", v1::EVENT_TYPE_EXPANSION, t, 10000),
          MakeEvent("nrr-1", "x1", v1::EVENT_TYPE_UPGRADE, t, 20000),
          MakeEvent("nrr-2", "d1", v1::EVENT_TYPE_DOWNGRADE, t, 5000),
          MakeEvent("nrr-3", "c1", v1::EVENT_TYPE_CHURNED, t, 0, "competition")});
  ASSERT_TRUE(MetricReaches("net_revenue_retention", 115));
  v1::GetPortfolioMetricsResponse response;
  ASSERT_TRUE(Metrics(&response).ok());
  const v1::PortfolioMetric* nrr = Find(response, "net_revenue_retention");
  EXPECT_THAT(nrr->formula(), HasSubstr("100000"));
  ASSERT_TRUE(nrr->has_target());
  EXPECT_EQ(nrr->target(), 110);
  EXPECT_TRUE(nrr->meets_target());
  EXPECT_NEAR(Find(response, "gross_revenue_retention")->value(), 85, 1e-9);
  EXPECT_FALSE(Find(response, "gross_revenue_retention")->meets_target());
  EXPECT_NEAR(Find(response, "expansion_mrr")->value(), 30000, 1e-9);
  EXPECT_NEAR(Find(response, "contraction_mrr")->value(), 5000, 1e-9);
  EXPECT_NEAR(Find(response, "churned_mrr")->value(), 10000, 1e-9);
  ASSERT_EQ(response.churn_by_reason_size(), 1);
  EXPECT_EQ(response.churn_by_reason(0).reason(), "competition");
}

TEST_P(PortfolioMetricsApiTest, LosingFiftyOfAThousandIsFivePercentAndAbout46PercentAYear) {
  for (int i = 0; i < 1000; ++i) Upsert(absl::StrFormat("logo-%04d", i), 100);
  std::vector<v1::Event> churns;
  for (int i = 0; i < 50; ++i) {
    churns.push_back(MakeEvent(absl::StrFormat("logo-%04d", i * 20), "gone", v1::EVENT_TYPE_CHURNED,
                               kStart - absl::Hours(24 * 5), 0,
                               i % 2 == 0 ? "competition" : "business_closed"));
  }
  Record(churns);
  ASSERT_TRUE(MetricReaches("logo_churn_rate", 5));
  v1::GetPortfolioMetricsResponse response;
  ASSERT_TRUE(Metrics(&response).ok());
  EXPECT_NEAR(Find(response, "logo_churn_rate_monthly")->value(), 5, 1e-9);     // a 30-day period
  EXPECT_NEAR(Find(response, "logo_churn_rate_annual")->value(), 45.96, 0.01);  // 1 − 0.95^12
  EXPECT_FALSE(Find(response, "logo_churn_rate_monthly")->meets_target());      // target < 3%
  EXPECT_NEAR(Find(response, "logo_retention_rate")->value(), 95, 1e-9);
  ASSERT_EQ(response.churn_by_reason_size(), 2);
  EXPECT_NEAR(response.churn_by_reason(0).share_percent(), 50, 1e-9);
}

TEST_P(PortfolioMetricsApiTest, NpsIsPromotersMinusDetractorsAndSegmentsFilter) {
  // 5 promoters, 3 passives, 2 detractors: 50% − 20% = 30.
  const int answers[] = {10, 9, 9, 10, 9, 7, 8, 8, 3, 6};
  std::vector<v1::Event> events;
  for (int i = 0; i < 10; ++i) {
    Upsert(absl::StrCat("nps-", i), 100);
    events.push_back(MakeEvent(absl::StrCat("nps-", i), "a", v1::EVENT_TYPE_NPS_RESPONSE,
                               kStart - absl::Hours(24), answers[i]));
  }
  Record(events);
  ASSERT_TRUE(MetricReaches("nps", 30));
  // Per segment: only the promoters' segment, so 100.
  ASSERT_TRUE(Eventually([&] { return Members("nps/promoter").size() == 5; }));
  EXPECT_TRUE(MetricReaches("nps", 100, "nps/promoter"));

  v1::GetPortfolioMetricsResponse response;
  EXPECT_EQ(Metrics(&response, "no-such-segment").error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status backwards = Metrics(&response, "", kStart, kStart - absl::Hours(1));
  EXPECT_EQ(backwards.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestField(backwards), HasSubstr("time"));
}

INSTANTIATE_TEST_SUITE_P(Stores, PortfolioMetricsApiTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

INSTANTIATE_TEST_SUITE_P(Stores, SegmentationApiTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

}  // namespace
}  // namespace steward
