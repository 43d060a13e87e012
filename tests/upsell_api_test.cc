// The upsell API over real gRPC on loopback, on both stores, with scoring, segmentation and upsell in
// one server (upsell reaches the other two over in-process channels) and a fake clock: a limit trigger
// fires at its threshold and not just short of it, re-evaluation never duplicates an opportunity, a
// declined offer cools its trigger down, an at-risk account is routed to retention, and an accepted
// offer raises the account's MRR and shows as expansion in the portfolio's NRR.

#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/store/memory_store.h"
#include "common/store/redis_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "common/metrics/metrics_registry.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/scoring/model/model_config.h"
#include "services/segmentation/builtin/segmentation_config.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "services/segmentation/metrics/portfolio_config.h"
#include "services/upsell/upsell_config.h"
#include "steward/v1/clock_service.grpc.pb.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "steward/v1/segmentation_service.grpc.pb.h"
#include "steward/v1/upsell_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
#include "tests/support/healthy_account.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_store.h"

namespace steward {
namespace {

using testing::Context;

using testing::StoreKind;

using testing::At;
using testing::BadRequestField;
using testing::ConfigDir;
using ::testing::HasSubstr;

const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

class UpsellApiTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto models = scoring::LoadModelDirectory(ConfigDir());
    ASSERT_TRUE(models.ok()) << models.status();
    ServerConfig config;
    config.services = {std::string(kScoringServiceName), std::string(kSegmentationServiceName),
                       std::string(kUpsellServiceName)};
    auto segmentation = segmentation::LoadSegmentationConfig(ConfigDir() + "/segmentation.textproto");
    auto loyalty = segmentation::LoadLoyaltyConfig(ConfigDir() + "/loyalty.textproto");
    auto targets = segmentation::LoadPortfolioTargets(ConfigDir() + "/portfolio.textproto");
    auto upsell = upsell::LoadUpsellConfig(ConfigDir() + "/upsell.textproto");
    ASSERT_TRUE(segmentation.ok() && loyalty.ok() && targets.ok() && upsell.ok());
    config.segmentation_config = *segmentation;
    config.loyalty_config = *loyalty;
    config.portfolio_targets = *targets;
    config.upsell_config = *upsell;
    config.maintainer.poll_interval = absl::Milliseconds(5);
    // Most tests call EvaluateAccount themselves and look at what it opened, so the follower (which
    // would evaluate on its own) runs only where a test asks for it.
    config.run_upsell_follower = Follow();
    if (HostPlaybooks()) {
      // The upsell offer only, in this process: upsell hands opportunities over to it in-process, and
      // every EnrollAccount is counted.
      auto playbooks = playbooks::LoadPlaybookDirectory(absl::StrCat(std::getenv("STEWARD_SOURCE_DIR"), "/playbooks"));
      ASSERT_TRUE(playbooks.ok()) << playbooks.status();
      for (v1::Playbook& playbook : *playbooks) {
        if (playbook.id() == config.upsell_offer_playbook) config.playbooks.push_back(playbook);
      }
      ASSERT_EQ(config.playbooks.size(), 1u);
      config.services.push_back(std::string(kPlaybookServiceName));
      config.metrics = &metrics_;
      config.manual_clock = &clock_;  // ClockService.AdvanceClock moves it
    }
    auto server = StewardServer::Start(config, *store_, clock_, *std::move(models));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
    scoring_ = v1::ScoringService::NewStub(channel);
    segments_ = v1::SegmentationService::NewStub(channel);
    upsell_ = v1::UpsellService::NewStub(channel);
    clock_service_ = v1::ClockService::NewStub(channel);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  virtual bool Follow() const { return false; }
  virtual bool HostPlaybooks() const { return false; }

  // How many EnrollAccount calls the playbook service served.
  int EnrollCalls() const {
    const std::string series =
        "steward_grpc_server_requests_total{method=\"/steward.v1.PlaybookService/EnrollAccount\"} ";
    const std::string text = metrics_.Render();
    const std::size_t at = text.find(series);
    return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + series.size());
  }

  void HealthyAccount(const std::string& id, double mrr = 1000, int features = 9, double nps = 10,
                      double seats_active = 8, int tenure_days = 400, int seats = 10) {
    v1::UpsertAccountRequest upsert;
    *upsert.mutable_account() = testing::HealthyAccount(id, clock_.Now(), mrr);
    upsert.mutable_account()->set_seats(seats);
    *upsert.mutable_account()->mutable_start_time() = At(clock_.Now() - absl::Hours(24 * tenure_days));
    v1::UpsertAccountResponse upserted;
    ASSERT_TRUE(scoring_->UpsertAccount(Context().get(), upsert, &upserted).ok());
    Record(testing::HealthyMonth(id, clock_.Now(), features, nps, seats_active));
  }

  void Record(const std::vector<v1::Event>& events) {
    v1::RecordEventsRequest request;
    for (const v1::Event& e : events) *request.add_events() = e;
    v1::RecordEventsResponse response;
    grpc::Status status = scoring_->RecordEvents(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static v1::Event Event(const std::string& account, const std::string& id, v1::EventType type, absl::Time t,
                         double value = 0, const std::string& subject = "") {
    return testing::MakeEvent(account, id, type, t, value, subject);
  }

  v1::EvaluateAccountResponse Evaluate(const std::string& id) {
    v1::EvaluateAccountRequest request;
    request.set_account_id(id);
    v1::EvaluateAccountResponse response;
    grpc::Status status = upsell_->EvaluateAccount(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static const v1::Opportunity* OpenedFor(const v1::EvaluateAccountResponse& r, const std::string& trigger) {
    for (const v1::Opportunity& o : r.opened()) {
      if (o.trigger().trigger_id() == trigger) return &o;
    }
    return nullptr;
  }

  static bool Fired(const v1::EvaluateAccountResponse& r, const std::string& trigger) {
    for (const v1::FiredTrigger& f : r.fired()) {
      if (f.trigger_id() == trigger) return true;
    }
    return false;
  }

  grpc::Status Outcome(const std::string& opportunity_id, v1::OpportunityState state,
                       const std::string& request_id, double mrr_change = 0, v1::Opportunity* out = nullptr) {
    v1::RecordOpportunityOutcomeRequest request;
    request.set_opportunity_id(opportunity_id);
    request.set_state(state);
    request.set_request_id(request_id);
    request.set_mrr_change(mrr_change);
    v1::RecordOpportunityOutcomeResponse response;
    grpc::Status status = upsell_->RecordOpportunityOutcome(Context().get(), request, &response);
    if (out != nullptr) *out = response.opportunity();
    return status;
  }

  FakeClock clock_{kStart};
  metrics::MetricsRegistry metrics_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StewardServer> server_;
  std::unique_ptr<v1::ScoringService::Stub> scoring_;
  std::unique_ptr<v1::SegmentationService::Stub> segments_;
  std::unique_ptr<v1::UpsellService::Stub> upsell_;
  std::unique_ptr<v1::ClockService::Stub> clock_service_;
};

TEST_P(UpsellApiTest, TheLimitTriggerFiresAt80PercentOfALimitAndNotJustShort) {
  HealthyAccount("shop");
  Record({Event("shop", "api-1", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Hours(1), 790, "api_calls")});
  v1::EvaluateAccountResponse short_of_it = Evaluate("shop");
  ASSERT_FALSE(short_of_it.at_risk()) << short_of_it.at_risk_reason();
  EXPECT_FALSE(Fired(short_of_it, "limit"));

  Record({Event("shop", "api-2", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 800, "api_calls")});
  v1::EvaluateAccountResponse at_it = Evaluate("shop");
  const v1::Opportunity* limit = OpenedFor(at_it, "limit");
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->state(), v1::OPPORTUNITY_STATE_OPEN);
  EXPECT_EQ(limit->trigger().priority(), v1::UPSELL_PRIORITY_HIGH);
  EXPECT_EQ(limit->trigger().offer().target_plan(), "pro");  // the next plan up the ladder
  EXPECT_NEAR(limit->trigger().expected_conversion_min(), 0.5, 1e-9);
  EXPECT_NEAR(limit->trigger().expected_conversion_max(), 0.6, 1e-9);
  EXPECT_THAT(limit->trigger().reason(), HasSubstr("0.8"));
  const std::string id = limit->opportunity_id();

  // Evaluating again opens nothing new: the opportunity is already open.
  v1::EvaluateAccountResponse again = Evaluate("shop");
  EXPECT_EQ(OpenedFor(again, "limit"), nullptr);
  ASSERT_GE(again.already_open_size(), 1);
  v1::ListOpportunitiesRequest list;
  list.set_account_id("shop");
  list.set_trigger_id("limit");
  v1::ListOpportunitiesResponse listed;
  ASSERT_TRUE(upsell_->ListOpportunities(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.opportunities_size(), 1);
  EXPECT_EQ(listed.opportunities(0).opportunity_id(), id);

  // Declined: the trigger cools down (14 days) instead of firing again at once.
  ASSERT_TRUE(Outcome(id, v1::OPPORTUNITY_STATE_OFFERED, "offer-1").ok());
  ASSERT_TRUE(Outcome(id, v1::OPPORTUNITY_STATE_DECLINED, "no-1").ok());
  v1::EvaluateAccountResponse cooling = Evaluate("shop");
  EXPECT_EQ(OpenedFor(cooling, "limit"), nullptr);
  EXPECT_THAT(std::vector<std::string>(cooling.cooling_down().begin(), cooling.cooling_down().end()),
              ::testing::Contains("limit"));
}

// SPEC §4's triggers through the public RPCs: for each, an account that reaches the threshold and one
// just short of it. (The limit trigger has its own test above.)
TEST_P(UpsellApiTest, EachTriggerFiresAtItsThresholdAndNotJustShort) {
  struct Case {
    const char* trigger;
    const char* account;
    bool fires;
    std::function<void(const std::string&)> setup;
  };
  auto healthy = [this](int features, double nps, double seats_active, int tenure_days = 400,
                        int seats = 10) {
    return [=, this](const std::string& id) {
      HealthyAccount(id, 1000, features, nps, seats_active, tenure_days, seats);
    };
  };
  auto with_roi = [this](double roi, int tenure_days = 400, double nps = 10) {
    return [=, this](const std::string& id) {
      HealthyAccount(id, 1000, 9, nps, 8, tenure_days);
      Record({Event(id, "roi", v1::EVENT_TYPE_ROI_REPORTED, kStart - absl::Hours(1), roi)});
    };
  };
  const Case cases[] = {
      {"usage", "usage-at", true, healthy(8, 10, 8)},      // 8 of 10 features: 0.8
      {"usage", "usage-short", false, healthy(7, 10, 8)},  // 0.7
      {"results", "results-at", true, with_roi(201)},      // ROI > 200%
      {"results", "results-short", false, with_roi(200)},
      {"complementary_product", "complement-at", true, healthy(9, 9, 8)},  // a promoter
      {"complementary_product", "complement-short", false, healthy(9, 8, 8)},
      {"departmental_expansion", "teams-at", true, healthy(9, 10, 9)},  // 9 of 10 seats: 0.9
      {"departmental_expansion", "teams-short", false, healthy(9, 10, 8)},
  };
  for (const Case& c : cases) {
    c.setup(c.account);
    v1::EvaluateAccountResponse response = Evaluate(c.account);
    ASSERT_FALSE(response.at_risk()) << c.account << ": " << response.at_risk_reason();
    EXPECT_EQ(Fired(response, c.trigger), c.fires) << c.account;
    if (c.fires) {
      const v1::Opportunity* opened = OpenedFor(response, c.trigger);
      ASSERT_NE(opened, nullptr) << c.account;
      EXPECT_FALSE(opened->trigger().offer().description().empty()) << c.account;
      EXPECT_GT(opened->trigger().expected_conversion_max(), 0) << c.account;
    }
  }
}

TEST_P(UpsellApiTest, TheSeasonalTriggerFiresInItsSeasonOnly) {
  // Q4 is the season: Sep 30 is just short of it, Oct 1 in it.
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 9, 30, 12, 0, 0), absl::UTCTimeZone()));
  HealthyAccount("seasonal");
  EXPECT_FALSE(Fired(Evaluate("seasonal"), "seasonal"));
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 10, 1, 12, 0, 0), absl::UTCTimeZone()));
  const v1::EvaluateAccountResponse in_season = Evaluate("seasonal");
  const v1::Opportunity* opened = OpenedFor(in_season, "seasonal");
  ASSERT_NE(opened, nullptr);
  EXPECT_EQ(opened->trigger().kind_of_sale(), v1::SALE_KIND_CROSS_SELL);
  EXPECT_NEAR(opened->trigger().offer().discount_percent(), 50, 1e-9);
  EXPECT_EQ(opened->trigger().offer().discount_months(), 3);
}

TEST_P(UpsellApiTest, ARequestForAFeatureThePlanLacksFiresTheLimitTriggerToo) {
  HealthyAccount("asker");
  Record({Event("asker", "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Hours(1), 100, "api_calls")});
  EXPECT_FALSE(Fired(Evaluate("asker"), "limit"));  // 10% of its limit, and nothing asked
  Record({Event("asker", "ask", v1::EVENT_TYPE_FEATURE_REQUEST, kStart - absl::Minutes(30), 0, "sso")});
  const v1::EvaluateAccountResponse asked = Evaluate("asker");
  const v1::Opportunity* limit = OpenedFor(asked, "limit");
  ASSERT_NE(limit, nullptr);
  EXPECT_THAT(limit->trigger().reason(), HasSubstr("feature_requests_30d"));
}

TEST_P(UpsellApiTest, AnAtRiskAccountIsRoutedToRetentionAndGetsNoOpportunity) {
  HealthyAccount("wobbly");
  Record({Event("wobbly", "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 950, "api_calls"),
          Event("wobbly", "trial", v1::EVENT_TYPE_COMPETITOR_TRIAL, kStart - absl::Hours(1)),
          Event("wobbly", "search", v1::EVENT_TYPE_COMPETITOR_SEARCH, kStart - absl::Hours(1)),
          Event("wobbly", "eval", v1::EVENT_TYPE_COMPETITOR_EVALUATION, kStart - absl::Hours(1)),
          Event("wobbly", "review", v1::EVENT_TYPE_CONTRACT_REVIEW, kStart - absl::Hours(1)),
          Event("wobbly", "nps2", v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Minutes(20), 2)});
  v1::EvaluateAccountResponse response = Evaluate("wobbly");
  EXPECT_TRUE(response.at_risk());
  EXPECT_THAT(response.at_risk_reason(), HasSubstr("retention"));
  EXPECT_EQ(response.fired_size(), 0);
  EXPECT_EQ(response.opened_size(), 0);
  v1::ListOpportunitiesRequest list;
  list.set_account_id("wobbly");
  v1::ListOpportunitiesResponse listed;
  ASSERT_TRUE(upsell_->ListOpportunities(Context().get(), list, &listed).ok());
  EXPECT_EQ(listed.opportunities_size(), 0);
}

TEST_P(UpsellApiTest, AnAcceptedOfferRaisesMrrAndShowsAsExpansionInNrr) {
  HealthyAccount("grower", 1000);
  Record({Event("grower", "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 900, "api_calls")});
  const v1::EvaluateAccountResponse evaluated = Evaluate("grower");
  const v1::Opportunity* limit = OpenedFor(evaluated, "limit");
  ASSERT_NE(limit, nullptr);
  const std::string id = limit->opportunity_id();

  EXPECT_EQ(BadRequestField(Outcome(id, v1::OPPORTUNITY_STATE_ACCEPTED, "yes-1", 0)), "mrr_change");
  v1::Opportunity accepted;
  ASSERT_TRUE(Outcome(id, v1::OPPORTUNITY_STATE_ACCEPTED, "yes-1", 500, &accepted).ok());
  EXPECT_EQ(accepted.state(), v1::OPPORTUNITY_STATE_ACCEPTED);
  // A retry changes nothing, the MRR included.
  ASSERT_TRUE(Outcome(id, v1::OPPORTUNITY_STATE_ACCEPTED, "yes-1", 500).ok());
  v1::GetAccountRequest get;
  get.set_account_id("grower");
  v1::GetAccountResponse account;
  ASSERT_TRUE(scoring_->GetAccount(Context().get(), get, &account).ok());
  EXPECT_DOUBLE_EQ(account.account().mrr(), 1500);
  EXPECT_EQ(account.account().plan().name(), "pro");
  EXPECT_EQ(Outcome(id, v1::OPPORTUNITY_STATE_DECLINED, "no-1").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // The portfolio sees it: +500 expansion on a 1,000 start, NRR 150%.
  v1::GetPortfolioMetricsRequest metrics;
  *metrics.mutable_start_time() = At(kStart - absl::Hours(24 * 30));
  *metrics.mutable_end_time() = At(kStart + absl::Hours(1));
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  double nrr = 0;
  while (absl::Now() < give_up) {
    v1::GetPortfolioMetricsResponse response;
    ASSERT_TRUE(segments_->GetPortfolioMetrics(Context().get(), metrics, &response).ok());
    for (const v1::PortfolioMetric& m : response.metrics()) {
      if (m.name() == "net_revenue_retention") nrr = m.value();
    }
    if (nrr == 150) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_DOUBLE_EQ(nrr, 150);
}

TEST_P(UpsellApiTest, ConversionMetricsCountOutcomesPerTriggerBesideTheirExpectedRange) {
  // Three accounts at their limit: one deal won (300 MRR), one declined, one still open.
  std::vector<std::string> ids;
  for (const char* account : {"won", "lost", "pending"}) {
    HealthyAccount(account);
    Record({Event(account, "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 900, "api_calls")});
    const v1::EvaluateAccountResponse evaluated = Evaluate(account);
    const v1::Opportunity* limit = OpenedFor(evaluated, "limit");
    ASSERT_NE(limit, nullptr) << account;
    ids.push_back(limit->opportunity_id());
  }
  ASSERT_TRUE(Outcome(ids[0], v1::OPPORTUNITY_STATE_ACCEPTED, "a", 300).ok());
  ASSERT_TRUE(Outcome(ids[1], v1::OPPORTUNITY_STATE_DECLINED, "d").ok());

  v1::GetUpsellMetricsRequest request;
  v1::GetUpsellMetricsResponse metrics;
  ASSERT_TRUE(upsell_->GetUpsellMetrics(Context().get(), request, &metrics).ok());
  const v1::ConversionStats* limit = nullptr;
  for (const v1::ConversionStats& s : metrics.triggers()) {
    if (s.trigger_id() == "limit") limit = &s;
  }
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->opened(), 3);
  EXPECT_EQ(limit->accepted(), 1);
  EXPECT_EQ(limit->declined(), 1);
  EXPECT_EQ(limit->open(), 1);
  ASSERT_TRUE(limit->has_conversion_rate());
  EXPECT_DOUBLE_EQ(limit->conversion_rate(), 0.5);  // one of the two decided
  EXPECT_NEAR(limit->expected_conversion_min(), 0.5, 1e-9);
  EXPECT_TRUE(limit->meets_expectation());
  EXPECT_DOUBLE_EQ(limit->expansion_mrr_won(), 300);
  EXPECT_DOUBLE_EQ(metrics.overall().expansion_mrr_won(), 300);
  ASSERT_TRUE(metrics.has_upsell_rate());
  EXPECT_DOUBLE_EQ(metrics.upsell_rate(), 0.5);
  EXPECT_DOUBLE_EQ(metrics.upsell_rate_target(), 0.25);

  // A period before any opportunity opened counts nothing; a backwards one is refused.
  *request.mutable_start_time() = At(kStart - absl::Hours(48));
  *request.mutable_end_time() = At(kStart - absl::Hours(24));
  ASSERT_TRUE(upsell_->GetUpsellMetrics(Context().get(), request, &metrics).ok());
  EXPECT_EQ(metrics.overall().opened(), 0);
  EXPECT_FALSE(metrics.has_upsell_rate());
  *request.mutable_end_time() = At(kStart - absl::Hours(72));
  EXPECT_EQ(BadRequestField(upsell_->GetUpsellMetrics(Context().get(), request, &metrics)), "end_time");
}

TEST_P(UpsellApiTest, OpportunitiesAreListedByTriggerOrStateAcrossAccountsAPageAtATime) {
  std::string a2_limit;
  for (const char* account : {"a1", "a2", "a3"}) {
    HealthyAccount(account);
    Record({Event(account, "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 900, "api_calls")});
    const v1::EvaluateAccountResponse evaluated = Evaluate(account);
    const v1::Opportunity* limit = OpenedFor(evaluated, "limit");
    ASSERT_NE(limit, nullptr) << account;
    if (std::string(account) == "a2") a2_limit = limit->opportunity_id();
  }
  ASSERT_TRUE(Outcome(a2_limit, v1::OPPORTUNITY_STATE_OFFERED, "o").ok());

  v1::ListOpportunitiesRequest request;
  request.set_trigger_id("limit");
  request.set_page_size(2);
  std::vector<std::string> accounts;
  for (int page = 0; page < 5; ++page) {
    v1::ListOpportunitiesResponse response;
    ASSERT_TRUE(upsell_->ListOpportunities(Context().get(), request, &response).ok());
    EXPECT_LE(response.opportunities_size(), 2);
    for (const v1::Opportunity& o : response.opportunities()) {
      EXPECT_EQ(o.trigger().trigger_id(), "limit");
      accounts.push_back(o.account_id());
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(accounts, (std::vector<std::string>{"a1", "a2", "a3"}));

  v1::ListOpportunitiesRequest offered;
  offered.set_state(v1::OPPORTUNITY_STATE_OFFERED);
  v1::ListOpportunitiesResponse response;
  ASSERT_TRUE(upsell_->ListOpportunities(Context().get(), offered, &response).ok());
  ASSERT_EQ(response.opportunities_size(), 1);
  EXPECT_EQ(response.opportunities(0).account_id(), "a2");

  offered.set_page_size(-1);
  EXPECT_EQ(BadRequestField(upsell_->ListOpportunities(Context().get(), offered, &response)), "page_size");
  offered.set_page_size(10);
  offered.set_page_token("!!");
  EXPECT_EQ(BadRequestField(upsell_->ListOpportunities(Context().get(), offered, &response)), "page_token");
}

TEST_P(UpsellApiTest, BadRequestsGetPreciseStatuses) {
  v1::EvaluateAccountRequest evaluate;
  evaluate.set_account_id("ghost");
  v1::EvaluateAccountResponse evaluated;
  EXPECT_EQ(upsell_->EvaluateAccount(Context().get(), evaluate, &evaluated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  evaluate.set_account_id("");
  EXPECT_EQ(BadRequestField(upsell_->EvaluateAccount(Context().get(), evaluate, &evaluated)), "account_id");
  v1::GetOpportunityRequest get;
  get.set_opportunity_id("nonsense");
  v1::GetOpportunityResponse got;
  EXPECT_EQ(BadRequestField(upsell_->GetOpportunity(Context().get(), get, &got)), "opportunity_id");
  get.set_opportunity_id("ghost/1");
  EXPECT_EQ(upsell_->GetOpportunity(Context().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(BadRequestField(Outcome("ghost/1", v1::OPPORTUNITY_STATE_OPEN, "r")), "state");
}

// With the playbook service in the same process: opportunities are handed over to its upsell offer.
class UpsellHandOffApiTest : public UpsellApiTest {
 protected:
  bool HostPlaybooks() const override { return true; }
};

TEST_P(UpsellHandOffApiTest, AnOpportunityIsHandedOverOnceNotAtEveryEvaluation) {
  HealthyAccount("shop");
  Record({Event("shop", "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 850, "api_calls")});
  const v1::EvaluateAccountResponse first = Evaluate("shop");
  const v1::Opportunity* limit = OpenedFor(first, "limit");
  ASSERT_NE(limit, nullptr);
  int calls = EnrollCalls();
  EXPECT_GE(calls, 1);  // the limit opportunity (and any other that opened) went to the offer

  // Evaluated again and again: the one the offer took is handed over and never asked about again; the
  // others wait for the offer to be free (one enrolment at a time) and are asked about each time.
  for (int i = 0; i < 3; ++i) {
    v1::EvaluateAccountResponse again = Evaluate("shop");
    int waiting = 0;
    bool limit_handed_over = false;
    for (const v1::Opportunity& o : again.already_open()) {
      if (!o.handed_over()) ++waiting;
      if (o.opportunity_id() == limit->opportunity_id()) limit_handed_over = o.handed_over();
    }
    EXPECT_TRUE(limit_handed_over);
    EXPECT_LT(waiting, again.already_open_size());
    EXPECT_EQ(EnrollCalls(), calls + waiting);
    calls = EnrollCalls();
  }
}

// The same with the follower running: what AdvanceClock promises about changes recorded before it.
class UpsellHandOffFollowerApiTest : public UpsellHandOffApiTest {
 protected:
  bool Follow() const override { return true; }
};

TEST_P(UpsellHandOffFollowerApiTest, AdvanceClockHandlesEveryChangeRecordedBeforeItFirst) {
  HealthyAccount("shop");
  Record({Event("shop", "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 850, "api_calls")});
  // No waiting: when AdvanceClock returns, upsell's follower has evaluated the account and the offer
  // playbook's follower has enrolled it for the opportunity it was handed.
  v1::AdvanceClockRequest advance;
  advance.mutable_by()->set_seconds(1);
  v1::AdvanceClockResponse advanced;
  grpc::Status status = clock_service_->AdvanceClock(Context().get(), advance, &advanced);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::ListOpportunitiesRequest list;
  list.set_account_id("shop");
  list.set_trigger_id("limit");
  v1::ListOpportunitiesResponse listed;
  ASSERT_TRUE(upsell_->ListOpportunities(Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.opportunities_size(), 1);
  EXPECT_TRUE(listed.opportunities(0).handed_over());
  EXPECT_GE(EnrollCalls(), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, UpsellHandOffFollowerApiTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

INSTANTIATE_TEST_SUITE_P(Stores, UpsellHandOffApiTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const ::testing::TestParamInfo<StoreKind>& param_info) {
                           return testing::StoreKindName(param_info.param);
                         });

// With the follower running, as in production.
class UpsellFollowerApiTest : public UpsellApiTest {
 protected:
  bool Follow() const override { return true; }
};

TEST_P(UpsellFollowerApiTest, AnOpportunityOpensWhenItsTriggerStartsToHoldWithoutAnyoneAsking) {
  HealthyAccount("busy");
  Record({Event("busy", "api", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(30), 850, "api_calls")});
  v1::ListOpportunitiesRequest list;
  list.set_account_id("busy");
  list.set_trigger_id("limit");
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  v1::ListOpportunitiesResponse listed;
  while (absl::Now() < give_up) {
    ASSERT_TRUE(upsell_->ListOpportunities(Context().get(), list, &listed).ok());
    if (listed.opportunities_size() > 0) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(listed.opportunities_size(), 1);
  EXPECT_EQ(listed.opportunities(0).state(), v1::OPPORTUNITY_STATE_OPEN);
  // More changes of the same account re-evaluate it, and never open a second one.
  Record({Event("busy", "api-2", v1::EVENT_TYPE_LIMIT_USAGE, kStart - absl::Minutes(10), 900, "api_calls")});
  v1::EvaluateAccountResponse now = Evaluate("busy");
  EXPECT_EQ(OpenedFor(now, "limit"), nullptr);
  ASSERT_TRUE(upsell_->ListOpportunities(Context().get(), list, &listed).ok());
  EXPECT_EQ(listed.opportunities_size(), 1);
}

TEST_P(UpsellFollowerApiTest, ASegmentChangeAloneReevaluatesTheAccount) {
  // Out of season, then in season with nothing new from scoring: only a segment change (a loyalty tier
  // reached) tells the follower to look at the account again.
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 9, 30, 12, 0, 0), absl::UTCTimeZone()));
  HealthyAccount("loyal");
  v1::ListOpportunitiesRequest list;
  list.set_account_id("loyal");
  list.set_trigger_id("seasonal");
  auto seasonal = [&] {
    v1::ListOpportunitiesResponse listed;
    return upsell_->ListOpportunities(Context().get(), list, &listed).ok() ? listed.opportunities_size() : -1;
  };
  // Wait until the follower has seen the account's changes (some opportunity of it exists).
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  v1::ListOpportunitiesRequest any;
  any.set_account_id("loyal");
  v1::ListOpportunitiesResponse listed;
  while (absl::Now() < give_up && (!upsell_->ListOpportunities(Context().get(), any, &listed).ok() ||
                                   listed.opportunities_size() == 0)) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GT(listed.opportunities_size(), 0);
  EXPECT_EQ(seasonal(), 0);

  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 10, 1, 12, 0, 0), absl::UTCTimeZone()));
  v1::AwardPointsRequest award;
  award.set_account_id("loyal");
  award.set_request_id("welcome");
  award.set_points(1000);  // silver: the loyalty segment changes
  v1::AwardPointsResponse awarded;
  ASSERT_TRUE(segments_->AwardPoints(Context().get(), award, &awarded).ok());
  const absl::Time later = absl::Now() + absl::Seconds(20);
  while (absl::Now() < later && seasonal() == 0) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(seasonal(), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, UpsellFollowerApiTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

INSTANTIATE_TEST_SUITE_P(Stores, UpsellApiTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

}  // namespace
}  // namespace steward
