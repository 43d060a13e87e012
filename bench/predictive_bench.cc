// The predictive models in the product (issue #7): how long FitModels takes over N stored accounts, and
// what the predictive block costs BatchGetScores.
//
// N synthetic accounts are written straight into an in-memory store (or, with --redis, a throwaway
// redis-server) in the scoring service's own
// storage format: a transaction summary drawn from the BG/NBD and Gamma-Gamma models
// (synthetic_customers.h, times rounded to days), a start 1–10 months ago, a churn month drawn from the
// shifted-beta-geometric model, and logins in the 30 days before the churn cutoff (fewer for accounts
// likelier to cancel). Then:
// - FitModels over all of them (BG/NBD, Gamma-Gamma, sBG per cohort, the churn classifier with its λ
//   search), read a page at a time as in production, timed end to end, a few times;
// - BatchGetScores over every account in batches of 1000, by two ScoringService objects on the same
//   store in the same run, one with the predictive models enabled and one without: the first pass
//   computes and caches the scores, the later ones answer from the cache (the steady state), so
//   "enabled / disabled" is the price of the block on each.
//
// The baseline for the fit is one pass reading and parsing what it reads (account, live part and history
// of every account, a page at a time): the fit cannot be faster than its input.
//
//   build/bench/steward_predictive_bench [--accounts=100000] [--passes=3] [--fits=3] [--redis]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/proto_time.h"
#include "common/store/memory_store.h"
#include "common/store/redis_store.h"
#include "services/scoring/activity.h"
#include "services/scoring/keys.h"
#include "services/scoring/model/model_config.h"
#include "services/scoring/predictive/synthetic_customers.h"
#include "services/scoring/scoring_service.h"
#include "tests/support/redis_server.h"

ABSL_FLAG(int, accounts, 100000, "Accounts to store, fit and score.");
ABSL_FLAG(int, passes, 3, "BatchGetScores passes over every account, per configuration.");
ABSL_FLAG(int, fits, 3, "FitModels runs.");
ABSL_FLAG(bool, redis, false, "Use a throwaway redis-server started here instead of the in-memory store.");
ABSL_FLAG(std::string, config_dir, STEWARD_SOURCE_DIR "/config", "Steward's configuration directory.");

namespace steward {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());
constexpr int kBatch = 1000;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Writes `count` synthetic accounts (see the file comment) in the scoring service's storage format.
void Seed(Store& store, int count) {
  scoring::predictive::SyntheticPopulation population;
  population.purchases = {0.5, 4.0, 0.8, 2.5};  // weeks
  population.spend = {6.0, 4.0, 15.0};
  population.calibration_length = 52;
  population.acquisition_window = 26;
  const auto customers = scoring::predictive::DrawSyntheticCustomers(population, count, 11);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1);
  std::gamma_distribution<double> cancel_a(1.0, 1.0), cancel_b(3.0, 1.0);
  const int32_t today = scoring::DayOf(kNow);
  std::vector<Write> writes;
  std::vector<std::string> ids;
  auto flush = [&] {
    if (auto put = store.Put(writes); !put.ok()) std::cerr << put.status() << "\n";
    if (auto s = store.IndexAdd(std::string(scoring::kAccountIndex), ids); !s.ok()) std::cerr << s << "\n";
    writes.clear();
    ids.clear();
  };
  for (int i = 0; i < count; ++i) {
    const std::string id = absl::StrFormat("bench-%06d", i);
    const auto& c = customers[i];
    v1::Account account;
    account.set_account_id(id);
    account.set_mrr(100 + 10 * (i % 50));
    account.set_gross_margin(0.8);
    const absl::Time start = kNow - absl::Hours(24) * (30 + i % 280);
    *account.mutable_start_time() = ToProtoTime(start);
    *account.mutable_create_time() = ToProtoTime(start);

    v1::ActivityRecord live;
    v1::TransactionSummary& t = *live.mutable_transactions();
    const int32_t first = today - static_cast<int32_t>(std::lround(c.rfm.T * 7));
    t.set_transaction_days(static_cast<int32_t>(c.rfm.x) + 1);
    t.set_first_day(first);
    t.set_last_day(first + static_cast<int32_t>(std::lround(c.rfm.t_x * 7)));
    t.set_first_day_value(c.mean_repeat_value > 0 ? c.mean_repeat_value : 50);
    t.set_total_value(t.first_day_value() + c.rfm.x * c.mean_repeat_value);
    // Subscription: a monthly cancellation probability θ ~ Beta(1, 3) (drawn as a ratio of gammas), tried
    // at each month end since the start; the churn event, if any, at that month end.
    const double ga = cancel_a(rng), gb = cancel_b(rng);
    const double theta = ga / (ga + gb);
    const int months = static_cast<int>(absl::ToInt64Hours(kNow - start) / (24 * 30));
    for (int m = 1; m <= months; ++m) {
      if (unit(rng) < theta) {
        live.set_churned_seconds(absl::ToUnixSeconds(start + absl::Hours(24 * 30) * m));
        break;
      }
    }
    // Logins over the 30 days before the 30-day churn cutoff: the likelier to cancel, the less active.
    v1::ActivityRecord history;
    const int per_day = static_cast<int>(std::lround(6 * (1 - theta) * unit(rng)));
    for (int d = 31; d <= 60; d += 3) {
      v1::DailyActivity& day = *history.add_days();
      day.set_day(today - (90 - d));  // oldest first
      day.set_logins(per_day);
    }
    Write account_write;
    account_write.key = scoring::AccountKey(id);
    account_write.value = account.SerializeAsString();
    Write activity_write;
    activity_write.key = scoring::LiveActivityKey(id);
    activity_write.value = live.SerializeAsString();
    activity_write.also_write.push_back(AlsoWrite{scoring::ActivityKey(id), history.SerializeAsString()});
    writes.push_back(std::move(account_write));
    writes.push_back(std::move(activity_write));
    ids.push_back(id);
    if (static_cast<int>(ids.size()) == kBatch) flush();
  }
  if (!ids.empty()) flush();
}

// Reads every account's records as FitModels does, parsing them; returns the seconds it took.
double ReadPass(Store& store) {
  const auto start = std::chrono::steady_clock::now();
  std::string after;
  std::size_t bytes = 0;
  for (;;) {
    auto ids = store.IndexScan(std::string(scoring::kAccountIndex), after, kBatch);
    if (!ids.ok() || ids->empty()) break;
    std::vector<std::string> keys;
    for (const std::string& id : *ids) {
      keys.push_back(scoring::AccountKey(id));
      keys.push_back(scoring::LiveActivityKey(id));
      keys.push_back(scoring::ActivityKey(id));
    }
    auto records = store.Get(keys);
    if (!records.ok()) break;
    for (std::size_t r = 0; r < records->size(); r += 3) {
      v1::Account account;
      v1::ActivityRecord live, history;
      if ((*records)[r]) account.ParseFromString((*records)[r]->value);
      if ((*records)[r + 1]) live.ParseFromString((*records)[r + 1]->value);
      if ((*records)[r + 2]) history.ParseFromString((*records)[r + 2]->value);
      scoring::MergeHistory(history, live);
      bytes += static_cast<std::size_t>(live.days_size() + account.mrr());
    }
    if (static_cast<int>(ids->size()) < kBatch) break;
    after = ids->back();
  }
  if (bytes == 0) std::cerr << "read nothing\n";
  return SecondsSince(start);
}

// One BatchGetScores pass over every account; returns accounts per second, or -1 on an error.
double ScorePass(scoring::ScoringService& service, int count) {
  const auto start = std::chrono::steady_clock::now();
  for (int first = 0; first < count; first += kBatch) {
    v1::BatchGetScoresRequest request;
    for (int i = first; i < std::min(count, first + kBatch); ++i) request.add_account_ids(absl::StrFormat("bench-%06d", i));
    auto response = service.BatchGetScores(request);
    if (!response.ok()) {
      std::cerr << "BatchGetScores: " << response.status() << "\n";
      return -1;
    }
  }
  return count / SecondsSince(start);
}

int Run() {
  const int count = absl::GetFlag(FLAGS_accounts);
  auto models = scoring::LoadModelDirectory(absl::GetFlag(FLAGS_config_dir));
  if (!models.ok()) {
    std::cerr << models.status() << "\n";
    return 1;
  }
  std::unique_ptr<Store> owned;
  testing::RedisServer redis;
  if (absl::GetFlag(FLAGS_redis)) {
    if (absl::Status s = redis.Start(); !s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
    RedisOptions options;
    options.port = redis.port();
    options.command_timeout = absl::Seconds(10);
    auto connected = RedisStore::Connect(options);
    if (!connected.ok()) {
      std::cerr << connected.status() << "\n";
      return 1;
    }
    owned = *std::move(connected);
  } else {
    owned = std::make_unique<MemoryStore>();
  }
  Store& store = *owned;
  FakeClock clock(kNow);
  auto seed_start = std::chrono::steady_clock::now();
  Seed(store, count);
  std::cout << absl::StrFormat("seeded %d accounts in %.2f s\n", count, SecondsSince(seed_start));

  scoring::ScoringLimits with_models;
  scoring::ScoringLimits without_models;
  without_models.predictive.enabled = false;
  scoring::ScoringService enabled(store, clock, *models, with_models);
  scoring::ScoringService disabled(store, clock, *models, without_models);

  std::cout << absl::StrFormat("baseline: one read pass over every account's records: %.2f s\n", ReadPass(store));
  for (int f = 0; f < absl::GetFlag(FLAGS_fits); ++f) {
    auto fitted = enabled.FitModels({});
    if (!fitted.ok()) {
      std::cerr << "FitModels: " << fitted.status() << "\n";
      return 1;
    }
    const v1::FittedModels& m = fitted->models();
    int cohorts = 0;
    for (const auto& c : m.sbg_cohorts()) cohorts += c.statistics().accepted() ? 1 : 0;
    std::cout << absl::StrFormat(
        "FitModels v%d over %d accounts: %.2f s (BG/NBD %.2f s on %d, Gamma-Gamma %.2f s on %d, %d sBG cohorts "
        "accepted, churn %.2f s on %d rows, test AUC %.3f, Brier %.3f), accepted=%d %s\n",
        m.version(), m.accounts(), m.fit_seconds(), m.bg_nbd().statistics().fit_seconds(),
        m.bg_nbd().statistics().rows(), m.gamma_gamma().statistics().fit_seconds(),
        m.gamma_gamma().statistics().rows(), cohorts, m.churn().statistics().fit_seconds(),
        m.churn().statistics().rows(), m.churn().test_auc(), m.churn().test_brier(), m.accepted(), m.reason());
  }

  // The cache is shared (its entries do not depend on the predictive block), so one first pass fills it;
  // then the two configurations alternate so that a change in the machine's load hits both alike.
  const double first = ScorePass(enabled, count);
  if (first < 0) return 1;
  std::cout << absl::StrFormat("BatchGetScores first pass (computing and caching, models enabled): %.0f accounts/s\n",
                               first);
  for (int pass = 0; pass < absl::GetFlag(FLAGS_passes); ++pass) {
    const double on = ScorePass(enabled, count);
    const double off = ScorePass(disabled, count);
    if (on < 0 || off < 0) return 1;
    std::cout << absl::StrFormat("BatchGetScores cached pass %d: models enabled %.0f accounts/s, disabled %.0f "
                                 "accounts/s, ratio %.2f\n",
                                 pass + 1, on, off, on / off);
  }
  return 0;
}

}  // namespace
}  // namespace steward

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return steward::Run();
}
