// The predictive models through the public API (issue #7), over real gRPC on loopback, on both stores:
// histories come in only through RecordEvents, FitModels fits and versions the models, and GetScores
// answers with numbers that match the libraries applied directly to the same histories, or with an
// "insufficient data" reason for an account without any.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/scoring/churn_model/logistic_model.h"
#include "services/scoring/model/model_config.h"
#include "services/scoring/predictive/bg_nbd.h"
#include "services/scoring/predictive/discounted_clv.h"
#include "services/scoring/predictive/gamma_gamma.h"
#include "services/scoring/predictive/shifted_beta_geometric.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/api_test_support.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_store.h"

namespace steward {
namespace {

using ::testing::HasSubstr;
using testing::At;
using testing::BadRequestField;
using testing::ConfigDir;
using testing::Context;
using testing::StoreKind;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());
constexpr int kAccounts = 300;
constexpr int kChurnHorizonDays = 30;
constexpr int kEarlyChurners = 60;

absl::Time DaysAgo(double days) { return kNow - absl::Hours(24 * days); }
int32_t Day(absl::Time t) { return static_cast<int32_t>(std::floor(absl::ToUnixSeconds(t) / 86400.0)); }

// One account's generated history: what the test sends and what it expects the server to make of it.
struct History {
  std::string id;
  absl::Time start;
  std::map<int32_t, double> transaction_days;  // UTC day → MRR added that day
  bool churned = false;
  absl::Time churn_time;
  std::vector<v1::Event> events;
};

// Histories drawn from the models' own assumptions, so that the fits are well posed: purchases (expansions)
// as a Poisson process that stops with probability p after each one, a third of the accounts churning in
// the last 30 days after using the product less, and every account starting in September 2026.
std::vector<History> MakeHistories() {
  std::mt19937_64 rng(7);
  std::gamma_distribution<double> rate(2.0, 1.0 / 4.0);  // λ per week, Gamma(r = 2, α = 4)
  std::vector<History> histories;
  for (int i = 0; i < kAccounts; ++i) {
    History h;
    h.id = absl::StrFormat("acct-%03d", i);
    h.start = absl::FromCivil(absl::CivilDay(2026, 9, 1 + i % 20), absl::UTCTimeZone()) + absl::Hours(9);
    auto add = [&](v1::EventType type, absl::Time t, double value) {
      v1::Event& e = h.events.emplace_back();
      e.set_event_id(absl::StrCat(h.id, "-", h.events.size()));
      e.set_account_id(h.id);
      e.set_type(type);
      *e.mutable_time() = At(t);
      e.set_value(value);
    };
    // Expansions: first purchase within four weeks of the window's start (77 days ago), then repeats.
    const double lambda = rate(rng);
    std::gamma_distribution<double> beta_a(1.0, 1.0), beta_b(3.0, 1.0);
    const double ga = beta_a(rng), gb = beta_b(rng);
    const double dropout = ga / (ga + gb);  // p ~ Beta(1, 3)
    std::exponential_distribution<double> gap(lambda);
    std::uniform_real_distribution<double> unit(0, 1);
    // Spend per transaction Gamma(4, m/4) around the account's own mean m, which varies between accounts.
    std::gamma_distribution<double> account_mean(3.0, 30.0);
    std::gamma_distribution<double> spend(4.0, account_mean(rng) / 4);
    double week = unit(rng) * 4;
    const double window_weeks = 77.0 / 7;
    while (week < window_weeks) {
      const absl::Time t = DaysAgo(77 - week * 7);
      const double value = std::round(spend(rng));
      h.transaction_days[Day(t)] += value;
      add(i % 2 ? v1::EVENT_TYPE_EXPANSION : v1::EVENT_TYPE_UPGRADE, t, value);
      if (h.transaction_days.size() > 1 && unit(rng) < dropout) break;
      week += gap(rng);
    }
    // Churn: a third churn within the horizon; kEarlyChurners in their first month (September, outside
    // the classifier's rows), so that retention rises from month to month as sBG expects.
    h.churned = i % 3 == 0 || i >= kAccounts - kEarlyChurners;
    h.churn_time = i >= kAccounts - kEarlyChurners
                       ? absl::FromCivil(absl::CivilDay(2026, 9, 28), absl::UTCTimeZone())
                       : DaysAgo(1 + unit(rng) * (kChurnHorizonDays - 2));
    // Logins in the 30 days before the cutoff: those about to churn log in less (with overlap).
    std::poisson_distribution<int> logins(h.churned ? 5 : 12);
    const int n = logins(rng);
    for (int l = 0; l < n; ++l) add(v1::EVENT_TYPE_LOGIN, DaysAgo(kChurnHorizonDays + 1 + unit(rng) * 29), 0);
    if (h.churned) add(v1::EVENT_TYPE_CHURNED, h.churn_time, 0);
    histories.push_back(std::move(h));
  }
  return histories;
}

class PredictiveApiTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_, absl::Seconds(2));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto models = scoring::LoadModelDirectory(ConfigDir());
    ASSERT_TRUE(models.ok()) << models.status();
    ServerConfig config;
    auto server = StewardServer::Start(config, *store_, clock_, *std::move(models));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::ScoringService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  void CreateAccount(const std::string& id, absl::Time start) {
    v1::UpsertAccountRequest request;
    v1::Account& a = *request.mutable_account();
    a.set_account_id(id);
    a.set_mrr(500);
    a.set_gross_margin(0.8);
    *a.mutable_start_time() = At(start);
    v1::UpsertAccountResponse response;
    ASSERT_TRUE(stub_->UpsertAccount(Context().get(), request, &response).ok());
  }

  // Creates the accounts and sends every event through RecordEvents, in batches of several accounts.
  void Feed(const std::vector<History>& histories) {
    v1::RecordEventsRequest batch;
    auto flush = [&] {
      v1::RecordEventsResponse response;
      grpc::Status status = stub_->RecordEvents(Context(absl::Seconds(30)).get(), batch, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      batch.clear_events();
    };
    for (const History& h : histories) {
      CreateAccount(h.id, h.start);
      for (const v1::Event& e : h.events) *batch.add_events() = e;
      if (batch.events_size() > 400) flush();
    }
    if (!batch.events().empty()) flush();
  }

  absl::StatusOr<v1::FittedModels> Fit(const v1::FitModelsRequest& request = {}) {
    v1::FitModelsResponse response;
    grpc::Status status = stub_->FitModels(Context(absl::Seconds(60)).get(), request, &response);
    if (!status.ok()) return absl::UnknownError(status.error_message());
    return response.models();
  }

  v1::Scores Scores(const std::string& id) {
    v1::GetScoresRequest request;
    request.set_account_id(id);
    v1::GetScoresResponse response;
    grpc::Status status = stub_->GetScores(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.scores();
  }

  FakeClock clock_{kNow};
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<StewardServer> server_;
  std::unique_ptr<v1::ScoringService::Stub> stub_;
};

// The library's view of a history, computed here from the generated days (not by the server).
struct Expected {
  scoring::predictive::RfmSummary rfm;
  double mean_repeat_value = 0;
};

Expected Summarise(const History& h) {
  Expected e;
  const int32_t first = h.transaction_days.begin()->first;
  const int32_t last = h.transaction_days.rbegin()->first;
  e.rfm.x = static_cast<double>(h.transaction_days.size()) - 1;
  e.rfm.t_x = (last - first) / 7.0;
  e.rfm.T = (Day(kNow) - first) / 7.0;
  double repeat_value = 0;
  for (const auto& [day, value] : h.transaction_days) {
    if (day != first) repeat_value += value;
  }
  if (e.rfm.x > 0) e.mean_repeat_value = repeat_value / e.rfm.x;
  return e;
}

TEST_P(PredictiveApiTest, ModelsFittedOnRecordedHistoriesAnswerInGetScores) {
  const std::vector<History> histories = MakeHistories();
  Feed(histories);
  CreateAccount("no-history", kNow - absl::Hours(24 * 60));

  // Before any fit: numbers for nobody, and a reason that says what to do.
  v1::Scores before = Scores(histories[1].id);
  EXPECT_EQ(before.predictive().model_version(), 0);
  EXPECT_THAT(before.predictive().transactions_unavailable(), HasSubstr("no fitted model yet"));

  auto fitted = Fit();
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  ASSERT_TRUE(fitted->accepted()) << fitted->DebugString();
  EXPECT_EQ(fitted->version(), 1);
  EXPECT_EQ(fitted->accounts(), kAccounts + 1);

  // BG/NBD and Gamma-Gamma: the library fitted directly on the same histories gives the same parameters.
  std::vector<scoring::predictive::RfmSummary> rfm;
  std::vector<scoring::predictive::MonetarySummary> spend;
  for (const History& h : histories) {
    if (h.transaction_days.empty()) continue;
    const Expected e = Summarise(h);
    rfm.push_back(e.rfm);
    if (e.rfm.x > 0 && e.mean_repeat_value > 0) spend.push_back({e.rfm.x, e.mean_repeat_value});
  }
  auto bg_fit = scoring::predictive::FitBgNbd(rfm);
  auto gg_fit = scoring::predictive::FitGammaGamma(spend);
  ASSERT_TRUE(bg_fit.ok() && gg_fit.ok());
  const scoring::predictive::BgNbdParams& bg = bg_fit->params;
  const scoring::predictive::GammaGammaParams& gg = gg_fit->params;
  EXPECT_EQ(fitted->bg_nbd().statistics().rows(), static_cast<int64_t>(rfm.size()));
  EXPECT_NEAR(fitted->bg_nbd().r(), bg.r, 1e-6 * bg.r);
  EXPECT_NEAR(fitted->bg_nbd().alpha(), bg.alpha, 1e-6 * bg.alpha);
  EXPECT_NEAR(fitted->bg_nbd().a(), bg.a, 1e-6 * bg.a);
  EXPECT_NEAR(fitted->bg_nbd().b(), bg.b, 1e-6 * bg.b);
  EXPECT_NEAR(fitted->bg_nbd().statistics().log_likelihood(), bg_fit->statistics.log_likelihood, 1e-6);
  EXPECT_TRUE(fitted->bg_nbd().statistics().converged());
  EXPECT_NEAR(fitted->gamma_gamma().p(), gg.p, 1e-6 * gg.p);
  EXPECT_NEAR(fitted->gamma_gamma().q(), gg.q, 1e-6 * gg.q);
  EXPECT_NEAR(fitted->gamma_gamma().gamma(), gg.gamma, 1e-6 * gg.gamma);

  // The cohort's survival series and its sBG fit.
  ASSERT_EQ(fitted->sbg_cohorts_size(), 1);
  const v1::SbgCohortModel& cohort = fitted->sbg_cohorts(0);
  EXPECT_EQ(cohort.cohort(), "2026-09");
  ASSERT_EQ(cohort.alive_size(), 3);  // after 0, 1 and 2 month ends
  int october = 0, november = 0;
  for (const History& h : histories) {
    if (!h.churned) continue;
    const absl::CivilMonth m = absl::ToCivilMonth(h.churn_time, absl::UTCTimeZone());
    october += m == absl::CivilMonth(2026, 10) ? 1 : 0;
    november += m == absl::CivilMonth(2026, 11) ? 1 : 0;
  }
  EXPECT_EQ(cohort.alive(0), kAccounts);
  EXPECT_EQ(cohort.alive(1), kAccounts - kEarlyChurners);
  EXPECT_EQ(cohort.alive(2), kAccounts - kEarlyChurners - october);
  EXPECT_GT(october, 0);
  EXPECT_GT(november, 0);
  auto sbg_fit = scoring::predictive::FitSbg(cohort.alive());
  ASSERT_TRUE(sbg_fit.ok());
  EXPECT_NEAR(cohort.alpha(), sbg_fit->params.alpha, 1e-6 * sbg_fit->params.alpha);
  EXPECT_NEAR(cohort.beta(), sbg_fit->params.beta, 1e-6 * sbg_fit->params.beta);
  EXPECT_TRUE(cohort.statistics().accepted()) << cohort.statistics().reason();

  // The churn classifier, judged on its held-out split.
  const v1::ChurnClassifierModel& churn = fitted->churn();
  EXPECT_TRUE(churn.statistics().accepted()) << churn.statistics().reason();
  EXPECT_GT(churn.test_auc(), 0.5);
  EXPECT_GT(churn.test_rows(), 0);
  EXPECT_EQ(churn.horizon_days(), kChurnHorizonDays);
  auto classifier = scoring::churn_model::ParseModel(churn.model_text());
  ASSERT_TRUE(classifier.ok()) << classifier.status();

  // Accounts with history: every number is the library's for the same history.
  int checked_clv = 0;
  for (const History& h : histories) {
    if (h.transaction_days.empty()) continue;
    const Expected e = Summarise(h);
    const v1::Scores scores = Scores(h.id);
    const v1::PredictiveScores& p = scores.predictive();
    ASSERT_EQ(p.model_version(), 1);
    if (e.rfm.T <= 0) continue;
    EXPECT_EQ(p.history().frequency(), e.rfm.x) << h.id;
    EXPECT_DOUBLE_EQ(p.history().recency_weeks(), e.rfm.t_x) << h.id;
    EXPECT_DOUBLE_EQ(p.history().age_weeks(), e.rfm.T) << h.id;
    ASSERT_TRUE(p.has_transactions()) << h.id << ": " << p.transactions_unavailable();
    const scoring::predictive::BgNbdParams served{fitted->bg_nbd().r(), fitted->bg_nbd().alpha(),
                                                  fitted->bg_nbd().a(), fitted->bg_nbd().b()};
    EXPECT_NEAR(p.transactions().expected_transactions(),
                scoring::predictive::BgNbdConditionalExpectedTransactions(served, e.rfm, 52), 1e-9);
    EXPECT_NEAR(p.transactions().probability_alive(), scoring::predictive::BgNbdProbabilityAlive(served, e.rfm),
                1e-12);
    if (e.rfm.x > 0 && e.mean_repeat_value > 0) {
      const scoring::predictive::GammaGammaParams spend_params{fitted->gamma_gamma().p(), fitted->gamma_gamma().q(),
                                                               fitted->gamma_gamma().gamma()};
      EXPECT_NEAR(p.expected_transaction_value(),
                  scoring::predictive::GammaGammaConditionalExpectedValue(spend_params, e.rfm.x, e.mean_repeat_value),
                  1e-9);
      scoring::predictive::DiscountedClvOptions options;  // 12 months at 1% a month: the server's defaults
      auto clv = scoring::predictive::DiscountedClv(served, spend_params, e.rfm, e.mean_repeat_value, options);
      ASSERT_TRUE(clv.ok());
      ASSERT_TRUE(p.has_clv()) << p.clv_unavailable();
      EXPECT_NEAR(p.clv().value(), *clv, 1e-6 * std::max(1.0, *clv)) << h.id;
      EXPECT_EQ(p.clv().horizon_months(), 12);
      ++checked_clv;
    }
    // Subscription value for those still subscribed; the reason for the others.
    if (h.churned) {
      EXPECT_THAT(p.subscription_unavailable(), HasSubstr("churned"));
    } else {
      ASSERT_TRUE(p.has_subscription()) << p.subscription_unavailable();
      const scoring::predictive::SbgParams sbg{cohort.alpha(), cohort.beta()};
      EXPECT_EQ(p.subscription().renewals(), 2);
      EXPECT_NEAR(p.subscription().residual_value(),
                  scoring::predictive::SbgDiscountedResidualValue(sbg, 500 * 0.8, 0.01, 2), 1e-6);
    }
    // Churn probability: the stored classifier applied to the features GetScores reports.
    ASSERT_TRUE(p.has_churn()) << p.churn_unavailable();
    std::map<std::string, double> features;
    for (const v1::FeatureValue& f : scores.features()) features[f.name()] = f.value();
    std::vector<double> row;
    for (std::size_t j = 0; j < classifier->feature_names.size(); ++j) {
      auto it = features.find(classifier->feature_names[j]);
      row.push_back(it == features.end() ? classifier->means[j] : it->second);
    }
    auto probability = scoring::churn_model::PredictProbability(*classifier, row);
    ASSERT_TRUE(probability.ok());
    EXPECT_NEAR(p.churn().probability(), *probability, 1e-12) << h.id;
    EXPECT_EQ(p.churn().top_features_size(), 3);
  }
  EXPECT_GT(checked_clv, 50);

  // No history: a reason instead of every number.
  const v1::PredictiveScores none = Scores("no-history").predictive();
  EXPECT_EQ(none.model_version(), 1);
  EXPECT_THAT(none.transactions_unavailable(), HasSubstr("insufficient data"));
  EXPECT_THAT(none.expected_transaction_value_unavailable(), HasSubstr("insufficient data"));
  EXPECT_THAT(none.clv_unavailable(), HasSubstr("insufficient data"));
  EXPECT_THAT(none.subscription_unavailable(), HasSubstr("insufficient data"));
  EXPECT_THAT(none.churn_unavailable(), HasSubstr("insufficient data"));
  EXPECT_FALSE(none.has_transactions() || none.has_clv() || none.has_churn() || none.has_subscription());
}

TEST_P(PredictiveApiTest, EveryFitIsANewVersionAndScoringUsesTheNewestAccepted) {
  // Nothing to learn from yet: the version is stored with its reasons but not accepted.
  CreateAccount("acct-001", kNow - absl::Hours(24 * 80));
  auto empty = Fit();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->version(), 1);
  EXPECT_FALSE(empty->accepted());
  EXPECT_THAT(empty->bg_nbd().statistics().reason(), HasSubstr("insufficient data"));
  EXPECT_THAT(empty->churn().statistics().reason(), HasSubstr("insufficient data"));
  EXPECT_EQ(Scores("acct-001").predictive().model_version(), 0);

  Feed(MakeHistories());
  for (int expected = 2; expected <= 3; ++expected) {
    auto fitted = Fit();
    ASSERT_TRUE(fitted.ok()) << fitted.status();
    EXPECT_EQ(fitted->version(), expected);
    EXPECT_TRUE(fitted->accepted()) << fitted->reason();
    EXPECT_EQ(Scores("acct-001").predictive().model_version(), expected);
  }

  v1::ListModelVersionsRequest list;
  list.set_page_size(2);
  v1::ListModelVersionsResponse page;
  ASSERT_TRUE(stub_->ListModelVersions(Context().get(), list, &page).ok());
  ASSERT_EQ(page.versions_size(), 2);
  EXPECT_EQ(page.versions(0).version(), 3);
  EXPECT_EQ(page.versions(1).version(), 2);
  EXPECT_EQ(page.active_version(), 3);
  EXPECT_TRUE(page.versions(0).churn().model_text().empty());  // the index leaves the model text out
  EXPECT_GT(page.versions(0).churn().test_auc(), 0.5);
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub_->ListModelVersions(Context().get(), list, &page).ok());
  ASSERT_EQ(page.versions_size(), 1);
  EXPECT_EQ(page.versions(0).version(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_P(PredictiveApiTest, BadRequestsNameTheField) {
  v1::FitModelsRequest bad_horizon;
  bad_horizon.set_churn_horizon_days(5);
  v1::FitModelsResponse response;
  grpc::Status status = stub_->FitModels(Context().get(), bad_horizon, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "churn_horizon_days");

  v1::FitModelsRequest bad_model;
  bad_model.add_models(v1::PREDICTIVE_MODEL_KIND_BG_NBD);
  bad_model.add_models(v1::PREDICTIVE_MODEL_KIND_UNSPECIFIED);
  status = stub_->FitModels(Context().get(), bad_model, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "models[1]");

  v1::ListModelVersionsRequest bad_page;
  bad_page.set_page_size(-1);
  v1::ListModelVersionsResponse page;
  status = stub_->ListModelVersions(Context().get(), bad_page, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(status), "page_size");

  // Nothing was stored by the rejected calls.
  v1::ListModelVersionsResponse versions;
  ASSERT_TRUE(stub_->ListModelVersions(Context().get(), {}, &versions).ok());
  EXPECT_TRUE(versions.versions().empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, PredictiveApiTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const ::testing::TestParamInfo<StoreKind>& param_info) {
                           return testing::StoreKindName(param_info.param);
                         });

}  // namespace
}  // namespace steward
