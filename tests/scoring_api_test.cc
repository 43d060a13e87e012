// The scoring API driven through real gRPC over loopback, on both stores: SPEC's worked checks, the
// error contract, idempotence, caching and concurrency. The server runs in-process (so a fake clock
// can drive time); tests/blackbox_test.cc covers the built binary.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/store/memory_store.h"
#include "common/store/redis_store.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/scoring/model/model_config.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
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

class ScoringApiTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_, absl::Milliseconds(300));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto models = scoring::LoadModelDirectory(ConfigDir());
    ASSERT_TRUE(models.ok()) << models.status();
    ServerConfig config;
    config.scoring_limits.max_events_per_batch = 100;
    auto server = StewardServer::Start(config, *store_, clock_, *std::move(models));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials());
    stub_ = v1::ScoringService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  grpc::Status Upsert(const v1::Account& account) {
    v1::UpsertAccountRequest request;
    *request.mutable_account() = account;
    v1::UpsertAccountResponse response;
    return stub_->UpsertAccount(Context().get(), request, &response);
  }

  v1::Account BasicAccount(const std::string& id) {
    v1::Account a;
    a.set_account_id(id);
    a.set_display_name("Company " + id);
    a.set_mrr(100);
    a.set_gross_margin(0.8);
    a.mutable_plan()->set_feature_count(10);
    *a.mutable_start_time() = At(kStart - absl::Hours(24 * 400));
    return a;
  }

  v1::Event MakeEvent(const std::string& account, const std::string& id, v1::EventType type, absl::Time t,
                      double value = 0, const std::string& subject = "") {
    v1::Event e;
    e.set_event_id(id);
    e.set_account_id(account);
    e.set_type(type);
    *e.mutable_time() = At(t);
    e.set_value(value);
    e.set_subject(subject);
    return e;
  }

  grpc::Status Record(const std::vector<v1::Event>& events, v1::RecordEventsResponse* response = nullptr) {
    v1::RecordEventsRequest request;
    for (const v1::Event& e : events) *request.add_events() = e;
    v1::RecordEventsResponse ignored;
    return stub_->RecordEvents(Context().get(), request, response ? response : &ignored);
  }

  v1::Scores Scores(const std::string& id, const std::string& model = "") {
    v1::GetScoresRequest request;
    request.set_account_id(id);
    request.set_model(model);
    v1::GetScoresResponse response;
    grpc::Status status = stub_->GetScores(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.scores();
  }

  static double Feature(const v1::Scores& scores, const std::string& name) {
    for (const v1::FeatureValue& f : scores.features()) {
      if (f.name() == name) return f.value();
    }
    return -1;
  }

  FakeClock clock_{kStart};
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StewardServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ScoringService::Stub> stub_;
};

TEST_P(ScoringApiTest, ClvWithExpansionIs1920AndPurchaseBasedIs2000) {
  v1::Account a = BasicAccount("clv");
  a.set_arpu(100);
  a.set_monthly_churn_rate(0.05);
  a.set_expansion_rate(0.2);
  a.set_average_purchase_value(100);
  a.set_purchases_per_year(4);
  a.set_expected_lifespan_years(5);
  ASSERT_TRUE(Upsert(a).ok());

  v1::Scores scores = Scores("clv");
  std::map<std::string, double> clv;
  for (const v1::ClvEstimate& e : scores.clv().estimates()) clv[e.formula()] = e.value();
  EXPECT_NEAR(clv["with_expansion"], 1920, 1e-6);
  EXPECT_NEAR(clv["purchase_based"], 2000, 1e-6);
  EXPECT_NEAR(clv["basic"], 1600, 1e-6);
  EXPECT_EQ(scores.clv().churn_rate_source(), "account");
  EXPECT_NEAR(scores.clv().annual_churn_rate(), 0.4596, 1e-4);  // 5%/month ≈ 46%/year
}

TEST_P(ScoringApiTest, CompetitorTrialAndSearchingAlternativesGiveAtLeast90PercentChurn) {
  ASSERT_TRUE(Upsert(BasicAccount("rival")).ok());
  v1::Scores before = Scores("rival");
  EXPECT_LT(before.churn().probability(), 0.9);

  ASSERT_TRUE(Record({MakeEvent("rival", "t1", v1::EVENT_TYPE_COMPETITOR_TRIAL, kStart - absl::Hours(30)),
                      MakeEvent("rival", "s1", v1::EVENT_TYPE_COMPETITOR_SEARCH, kStart - absl::Hours(20))})
                  .ok());
  v1::Scores after = Scores("rival");
  EXPECT_GE(after.churn().probability(), 0.90);
  std::vector<std::string> flags;
  for (const v1::RedFlag& f : after.churn().red_flags()) flags.push_back(f.name());
  EXPECT_FALSE(flags.empty());
  std::vector<std::string> signals;
  for (const v1::ChurnSignal& s : after.churn().active_signals()) signals.push_back(s.name());
  EXPECT_THAT(signals, ::testing::IsSupersetOf({"competitor_trial", "searching_alternatives"}));
}

TEST_P(ScoringApiTest, BandEdgesLandInTheRightBands) {
  v1::ListScoringModelsResponse models;
  ASSERT_TRUE(stub_->ListScoringModels(Context().get(), {}, &models).ok());
  // Simulate an account whose only known feature is the first input of the model's first component:
  // the score then equals that input's normalised value, so it can sit exactly on a band edge.
  auto score_at = [&](const std::string& model_name, double target) {
    const v1::ScoringModel* model = nullptr;
    for (const v1::ScoringModel& m : models.models()) {
      if (m.name() == model_name) model = &m;
    }
    EXPECT_NE(model, nullptr) << model_name;
    const v1::ModelInput& input = model->components(0).inputs(0);
    v1::SimulateScoresRequest request;
    request.set_model(model_name);
    v1::FeatureValue* f = request.add_features();
    f->set_name(input.feature());
    f->set_value(input.normalize().low() +
                 target / 100 * (input.normalize().high() - input.normalize().low()));
    v1::SimulateScoresResponse response;
    grpc::Status status = stub_->SimulateScores(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.scores().health().score(), target);
    return response.scores().health().band();
  };
  EXPECT_EQ(score_at("health", 49), "critical");
  EXPECT_EQ(score_at("health", 50), "at_risk");
  EXPECT_EQ(score_at("health", 69), "at_risk");
  EXPECT_EQ(score_at("health", 70), "good");
  EXPECT_EQ(score_at("health", 89), "good");
  EXPECT_EQ(score_at("health", 90), "excellent");
  EXPECT_EQ(score_at("chs", 40), "red");
  EXPECT_EQ(score_at("chs", 41), "yellow");
  EXPECT_EQ(score_at("chs", 70), "yellow");
  EXPECT_EQ(score_at("chs", 71), "green");
}

TEST_P(ScoringApiTest, ReplayingABatchChangesNothing) {
  ASSERT_TRUE(Upsert(BasicAccount("replay")).ok());
  std::vector<v1::Event> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(MakeEvent("replay", absl::StrCat("login-", i), v1::EVENT_TYPE_LOGIN,
                              kStart - absl::Hours(24 * i + 1)));
  }
  v1::RecordEventsResponse first, second;
  ASSERT_TRUE(Record(batch, &first).ok());
  EXPECT_EQ(first.recorded(), 10);
  v1::Scores after_first = Scores("replay");
  ASSERT_TRUE(Record(batch, &second).ok());
  EXPECT_EQ(second.recorded(), 0);
  EXPECT_EQ(second.duplicates(), 10);
  v1::Scores after_second = Scores("replay");
  EXPECT_EQ(Feature(after_second, "logins_30d"), 10);
  EXPECT_TRUE(after_second.cached()) << "a replay must not even invalidate the cache";
  EXPECT_EQ(after_first.health().score(), after_second.health().score());
}

TEST_P(ScoringApiTest, APartlyReplayedBatchRecordsOnlyItsNewEventsOnEveryAccount) {
  ASSERT_TRUE(Upsert(BasicAccount("p1")).ok());
  ASSERT_TRUE(Upsert(BasicAccount("p2")).ok());
  const absl::Time t = kStart - absl::Hours(2);
  ASSERT_TRUE(
      Record({MakeEvent("p1", "a", v1::EVENT_TYPE_LOGIN, t), MakeEvent("p2", "a", v1::EVENT_TYPE_LOGIN, t)})
          .ok());
  // p1 gets one old id and one new, p2 only new ones: each account is de-duplicated on its own.
  v1::RecordEventsResponse response;
  ASSERT_TRUE(
      Record({MakeEvent("p1", "a", v1::EVENT_TYPE_LOGIN, t), MakeEvent("p1", "b", v1::EVENT_TYPE_LOGIN, t),
              MakeEvent("p2", "b", v1::EVENT_TYPE_LOGIN, t), MakeEvent("p2", "c", v1::EVENT_TYPE_LOGIN, t)},
             &response)
          .ok());
  EXPECT_EQ(response.recorded(), 3);
  EXPECT_EQ(response.duplicates(), 1);
  EXPECT_EQ(Feature(Scores("p1"), "logins_30d"), 2);
  EXPECT_EQ(Feature(Scores("p2"), "logins_30d"), 3);
  // An id is remembered for the de-duplication window (7 days) only: after it, it counts again.
  clock_.Advance(absl::Hours(24 * 8));
  ASSERT_TRUE(
      Record({MakeEvent("p1", "a", v1::EVENT_TYPE_LOGIN, clock_.Now() - absl::Hours(1))}, &response).ok());
  EXPECT_EQ(response.recorded(), 1);
  EXPECT_EQ(response.duplicates(), 0);
}

TEST_P(ScoringApiTest, UnknownAccountIsNotFound) {
  v1::GetScoresRequest request;
  request.set_account_id("ghost");
  v1::GetScoresResponse response;
  grpc::Status status = stub_->GetScores(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("ghost"));

  status = Record({MakeEvent("ghost", "e1", v1::EVENT_TYPE_LOGIN, kStart)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  v1::GetAccountRequest get;
  get.set_account_id("ghost");
  v1::GetAccountResponse account;
  EXPECT_EQ(stub_->GetAccount(Context().get(), get, &account).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(ScoringApiTest, MalformedInputIsInvalidArgumentNamingTheFieldAndStoresNothing) {
  ASSERT_TRUE(Upsert(BasicAccount("strict")).ok());
  const v1::Event good = MakeEvent("strict", "good", v1::EVENT_TYPE_LOGIN, kStart - absl::Hours(1));
  struct Case {
    std::string name;
    v1::Event bad;
    std::string field;
  };
  std::vector<Case> cases = {
      {"empty id", MakeEvent("strict", "", v1::EVENT_TYPE_LOGIN, kStart), "events[1].event_id"},
      {"nps 11", MakeEvent("strict", "n", v1::EVENT_TYPE_NPS_RESPONSE, kStart, 11), "events[1].value"},
      {"unknown type", MakeEvent("strict", "u", static_cast<v1::EventType>(77), kStart), "events[1].type"},
      {"far future", MakeEvent("strict", "f", v1::EVENT_TYPE_LOGIN, kStart + absl::Hours(24 * 365)),
       "events[1].time"},
  };
  for (const Case& c : cases) {
    grpc::Status status = Record({good, c.bad});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field)) << c.name;
    EXPECT_EQ(BadRequestField(status), c.field) << c.name;
  }
  // A batch over the limit (100 in this server) is refused whole too.
  std::vector<v1::Event> too_many;
  for (int i = 0; i < 101; ++i) {
    too_many.push_back(MakeEvent("strict", absl::StrCat("x", i), v1::EVENT_TYPE_LOGIN, kStart));
  }
  grpc::Status status = Record(too_many);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "events");
  // The good event riding with each bad batch was not stored.
  EXPECT_EQ(Feature(Scores("strict"), "logins_30d"), 0);

  v1::Account negative = BasicAccount("neg");
  negative.set_mrr(-1);
  status = Upsert(negative);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "account.mrr");
  v1::Account empty_id = BasicAccount("");
  EXPECT_EQ(BadRequestField(Upsert(empty_id)), "account.account_id");
  v1::GetAccountRequest get;
  get.set_account_id("neg");
  v1::GetAccountResponse account;
  EXPECT_EQ(stub_->GetAccount(Context().get(), get, &account).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(ScoringApiTest, ScoresAreCachedAndInvalidatedByNewEvents) {
  ASSERT_TRUE(Upsert(BasicAccount("cache")).ok());
  EXPECT_FALSE(Scores("cache").cached());
  EXPECT_TRUE(Scores("cache").cached());
  ASSERT_TRUE(Record({MakeEvent("cache", "l1", v1::EVENT_TYPE_LOGIN, kStart - absl::Hours(1))}).ok());
  v1::Scores fresh = Scores("cache");
  EXPECT_FALSE(fresh.cached());
  EXPECT_EQ(Feature(fresh, "logins_30d"), 1);
  // The next read is answered from the cache (locally, on the server's fast path), with the new data:
  // the cache entry was re-created, so nothing keyed on its version may serve the old scores.
  v1::Scores again = Scores("cache");
  EXPECT_TRUE(again.cached());
  EXPECT_EQ(Feature(again, "logins_30d"), 1);
  // Changed attributes invalidate too (CLV depends on them).
  v1::Account richer = BasicAccount("cache");
  richer.set_mrr(500);
  ASSERT_TRUE(Upsert(richer).ok());
  EXPECT_FALSE(Scores("cache").cached());
  // A new day recomputes even without events ("at least daily").
  EXPECT_TRUE(Scores("cache").cached());
  clock_.Advance(absl::Hours(24));
  EXPECT_FALSE(Scores("cache").cached());
}

TEST_P(ScoringApiTest, TrendComparesWithTheScoreDaysAgo) {
  v1::Account a = BasicAccount("trend");
  ASSERT_TRUE(Upsert(a).ok());
  const double day0 = Scores("trend").health().score();
  EXPECT_FALSE(Scores("trend").trend().has_change_7d());
  // A week of heavy use later, the score has moved and the 7-day change says by how much.
  std::vector<v1::Event> events;
  for (int d = 0; d < 7; ++d) {
    for (int f = 0; f < 6; ++f) {
      events.push_back(MakeEvent("trend", absl::StrCat("f", d, "-", f), v1::EVENT_TYPE_FEATURE_USED,
                                 kStart + absl::Hours(24 * d + 1), 0, absl::StrCat("feature", f)));
    }
    events.push_back(
        MakeEvent("trend", absl::StrCat("l", d), v1::EVENT_TYPE_LOGIN, kStart + absl::Hours(24 * d + 1)));
  }
  clock_.Advance(absl::Hours(24 * 7 + 2));
  ASSERT_TRUE(Record(events).ok());
  v1::Scores later = Scores("trend");
  ASSERT_TRUE(later.trend().has_change_7d());
  EXPECT_GT(later.health().score(), day0);
  EXPECT_DOUBLE_EQ(later.trend().change_7d(), later.health().score() - day0);
  EXPECT_FALSE(later.trend().has_change_30d());
}

TEST_P(ScoringApiTest, DailySweepKeepsHistoryForAccountsNobodyReads) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Upsert(BasicAccount(absl::StrCat("sweep-", i))).ok());
  auto sweep = [&] {
    std::string cursor;
    int pages = 0;
    do {
      auto next = server_->scoring()->RefreshStaleScores(cursor, 2);
      EXPECT_TRUE(next.ok()) << next.status();
      if (!next.ok()) break;
      cursor = *next;
    } while (!cursor.empty() && ++pages < 10);
  };
  // Eight days of sweeps and no reads: the first read after them already has a 7-day trend, and it
  // comes from the cache the sweep filled that day.
  for (int day = 0; day < 8; ++day) {
    sweep();
    clock_.Advance(absl::Hours(24));
  }
  sweep();
  v1::Scores scores = Scores("sweep-2");
  EXPECT_TRUE(scores.cached());
  ASSERT_TRUE(scores.trend().has_change_7d());
  EXPECT_EQ(scores.trend().change_7d(), 0);
}

TEST_P(ScoringApiTest, ListAccountsPagesInIdOrder) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Upsert(BasicAccount(absl::StrCat("list-", i))).ok());
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListAccountsRequest request;
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListAccountsResponse response;
    ASSERT_TRUE(stub_->ListAccounts(Context().get(), request, &response).ok());
    for (const v1::Account& a : response.accounts()) seen.push_back(a.account_id());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"list-0", "list-1", "list-2", "list-3", "list-4"}));
  EXPECT_EQ(pages, 3);

  v1::ListAccountsRequest bad;
  bad.set_page_size(-1);
  v1::ListAccountsResponse response;
  grpc::Status status = stub_->ListAccounts(Context().get(), bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "page_size");
  bad.set_page_size(1);
  bad.set_page_token("not a token!");
  EXPECT_EQ(BadRequestField(stub_->ListAccounts(Context().get(), bad, &response)), "page_token");
}

TEST_P(ScoringApiTest, ConcurrentRecordEventsForOneAccountLoseNoEvent) {
  ASSERT_TRUE(Upsert(BasicAccount("hot")).ok());
  constexpr int kClients = 8;
  constexpr int kBatches = 25;
  constexpr int kPerBatch = 20;
  std::atomic<int> failures = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      // Each client has its own channel, as separate producer services would.
      auto stub = v1::ScoringService::NewStub(grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials(), [c] {
            grpc::ChannelArguments args;
            args.SetInt("steward.client", c);  // a distinct argument gives a distinct connection
            return args;
          }()));
      for (int b = 0; b < kBatches; ++b) {
        v1::RecordEventsRequest request;
        for (int e = 0; e < kPerBatch; ++e) {
          *request.add_events() = MakeEvent("hot", absl::StrCat(c, "-", b, "-", e), v1::EVENT_TYPE_LOGIN,
                                            kStart - absl::Minutes(c * 100 + b * 3 + e));
        }
        // ABORTED (too many concurrent writers) is retryable by contract, and a retry of a batch is
        // safe; a well-behaved producer retries it, so this one does too, a bounded number of times.
        v1::RecordEventsResponse response;
        grpc::Status status;
        int recorded = 0;
        for (int attempt = 0; attempt < 3; ++attempt) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          status = stub->RecordEvents(&context, request, &response);
          if (status.ok()) recorded += response.recorded();
          if (status.error_code() != grpc::StatusCode::ABORTED) break;
        }
        if (!status.ok() || recorded != kPerBatch) ++failures;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Feature(Scores("hot"), "logins_7d"), kClients * kBatches * kPerBatch);
}

TEST_P(ScoringApiTest, HealthServiceReportsEachHostedService) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  for (const std::string service : {"", "steward.v1.ScoringService"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(Context().get(), request, &response).ok()) << service;
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
}

TEST_P(ScoringApiTest, UnknownModelIsInvalidArgument) {
  ASSERT_TRUE(Upsert(BasicAccount("m")).ok());
  v1::GetScoresRequest request;
  request.set_account_id("m");
  request.set_model("nope");
  v1::GetScoresResponse response;
  grpc::Status status = stub_->GetScores(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "model");
  request.set_model("chs");
  EXPECT_TRUE(stub_->GetScores(Context().get(), request, &response).ok());
  EXPECT_EQ(response.scores().health().model(), "chs");
}

TEST_P(ScoringApiTest, ChangeFeedListsUpsertsAndNewEventsInOrderButNotReplays) {
  ASSERT_TRUE(Upsert(BasicAccount("a")).ok());
  ASSERT_TRUE(Upsert(BasicAccount("b")).ok());
  const std::vector<v1::Event> batch = {MakeEvent("a", "e1", v1::EVENT_TYPE_LOGIN, kStart - absl::Hours(1)),
                                        MakeEvent("b", "e1", v1::EVENT_TYPE_LOGIN, kStart - absl::Hours(1)),
                                        MakeEvent("a", "e2", v1::EVENT_TYPE_LOGIN, kStart - absl::Hours(2))};
  ASSERT_TRUE(Record(batch).ok());
  ASSERT_TRUE(Record(batch).ok());  // a replay: nothing new, no change
  ASSERT_TRUE(Record({MakeEvent("a", "e1", v1::EVENT_TYPE_LOGIN, kStart - absl::Hours(1)),
                      MakeEvent("a", "e3", v1::EVENT_TYPE_NPS_RESPONSE, kStart - absl::Hours(1), 9)})
                  .ok());

  std::vector<v1::AccountChange> changes;
  v1::ListAccountChangesRequest request;
  request.set_page_size(2);
  for (int page = 0; page < 10; ++page) {
    v1::ListAccountChangesResponse response;
    grpc::Status status = stub_->ListAccountChanges(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_FALSE(response.next_page_token().empty());
    if (response.changes().empty()) {
      EXPECT_EQ(response.next_page_token(), request.page_token());  // nothing new: the same cursor
      break;
    }
    changes.insert(changes.end(), response.changes().begin(), response.changes().end());
    EXPECT_EQ(response.next_page_token(), response.changes().rbegin()->cursor());
    request.set_page_token(response.next_page_token());
  }
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[0].account_id(), "a");
  EXPECT_EQ(changes[0].kind(), v1::ACCOUNT_CHANGE_KIND_UPSERTED);
  EXPECT_EQ(changes[0].account().display_name(), "Company a");  // the account as that upsert stored it
  EXPECT_FALSE(changes[2].has_account());
  EXPECT_EQ(changes[1].account_id(), "b");
  EXPECT_EQ(changes[2].kind(), v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED);
  EXPECT_EQ(changes[2].change_time().seconds(), absl::ToUnixSeconds(kStart));
  // One change per account of a batch, holding that account's new events in request order.
  std::map<std::string, std::vector<std::string>> recorded;
  for (std::size_t i = 2; i < 4; ++i) {
    for (const v1::Event& e : changes[i].events()) recorded[changes[i].account_id()].push_back(e.event_id());
  }
  EXPECT_EQ(recorded["a"], (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(recorded["b"], (std::vector<std::string>{"e1"}));
  // The third batch reports only its new event.
  ASSERT_EQ(changes[4].events_size(), 1);
  EXPECT_EQ(changes[4].events(0).event_id(), "e3");
  EXPECT_EQ(changes[4].events(0).value(), 9);

  v1::ListAccountChangesResponse bad;
  request.set_page_token("not-a-cursor");
  grpc::Status status = stub_->ListAccountChanges(Context().get(), request, &bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "page_token");
  request.clear_page_token();
  request.set_page_size(-1);
  EXPECT_EQ(BadRequestField(stub_->ListAccountChanges(Context().get(), request, &bad)), "page_size");
}

TEST_P(ScoringApiTest, BatchGetAccountsAnswersInRequestOrderAndFailsWholeOnAMissingId) {
  ASSERT_TRUE(Upsert(BasicAccount("x")).ok());
  ASSERT_TRUE(Upsert(BasicAccount("y")).ok());
  v1::BatchGetAccountsRequest request;
  for (const char* id : {"y", "x", "y"}) request.add_account_ids(id);
  v1::BatchGetAccountsResponse response;
  grpc::Status status = stub_->BatchGetAccounts(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.accounts_size(), 2);
  EXPECT_EQ(response.accounts(0).account_id(), "y");
  EXPECT_EQ(response.accounts(1).account_id(), "x");
  EXPECT_EQ(response.accounts(1).display_name(), "Company x");

  request.add_account_ids("ghost");
  status = stub_->BatchGetAccounts(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("ghost"));
  request.clear_account_ids();
  status = stub_->BatchGetAccounts(Context().get(), request, &response);
  EXPECT_EQ(BadRequestField(status), "account_ids");
}

INSTANTIATE_TEST_SUITE_P(Stores, ScoringApiTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

// Redis stopped mid-test: calls answer UNAVAILABLE within their deadline, and succeed again once it
// is back, with no restart of the server.
class ScoringRedisOutageTest : public ScoringApiTest {};

TEST_P(ScoringRedisOutageTest, UnavailableWhileRedisIsDownThenRecovers) {
  ASSERT_TRUE(Upsert(BasicAccount("outage")).ok());
  ASSERT_TRUE(redis_->Stop().ok());
  v1::GetScoresRequest request;
  request.set_account_id("outage");
  v1::GetScoresResponse response;
  const absl::Time before = absl::Now();
  grpc::Status status = stub_->GetScores(Context(absl::Seconds(5)).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
  EXPECT_EQ(Record({MakeEvent("outage", "e", v1::EVENT_TYPE_LOGIN, kStart)}).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(redis_->Start().ok());  // comes back empty: persistence is off in tests
  ASSERT_TRUE(Upsert(BasicAccount("outage")).ok());
  grpc::Status again;
  for (int attempt = 0; attempt < 20; ++attempt) {
    again = stub_->GetScores(Context().get(), request, &response);
    if (again.ok()) break;
  }
  EXPECT_TRUE(again.ok()) << again.error_message();
}

INSTANTIATE_TEST_SUITE_P(Redis, ScoringRedisOutageTest, ::testing::Values(StoreKind::kRedis),
                         [](const auto&) { return "Redis"; });

}  // namespace
}  // namespace steward
