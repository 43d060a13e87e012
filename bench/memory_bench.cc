// Memory per account in Redis at steady state: accounts live through 90 days of activity one day at a
// time on a fake clock (so event ids leave the de-duplication window as they would in production),
// their scores are read every day, and then MEMORY USAGE is summed over each account's keys. The load
// benchmark (load_bench.cc) measures right after a 90-day backfill, when a whole week's arrivals are
// still remembered; this is the figure an account settles at.
//
//   build/bench/steward_memory_bench [--accounts=200]

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/store/redis_store.h"
#include "services/scoring/keys.h"
#include "services/scoring/model/model_config.h"
#include "services/scoring/scoring_service.h"
#include "tests/support/redis_server.h"

ABSL_FLAG(int, accounts, 200, "Accounts to simulate.");
ABSL_FLAG(std::string, config_dir, STEWARD_SOURCE_DIR "/config", "Scoring models.");

namespace steward {
namespace {

constexpr double kAimBytes = 4096;

v1::Event MakeEvent(const std::string& account, std::string id, v1::EventType type, absl::Time t,
                    std::string subject = "", double value = 0) {
  v1::Event e;
  e.set_event_id(std::move(id));
  e.set_account_id(account);
  e.set_type(type);
  e.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
  e.set_subject(std::move(subject));
  e.set_value(value);
  return e;
}

// One day of an ordinary account: 3 logins, 4 uses of its 12 features, an email every 3 days (mostly
// opened), a ticket every 10 days, seats and limit usage daily, an invoice and an NPS answer monthly.
void AddDay(v1::RecordEventsRequest& request, const std::string& account, int day, absl::Time t) {
  auto add = [&](std::string id, v1::EventType type, std::string subject = "", double value = 0) {
    *request.add_events() =
        MakeEvent(account, absl::StrCat(account, "-", day, "-", id), type, t, subject, value);
  };
  for (int i = 0; i < 3; ++i) add(absl::StrCat("login", i), v1::EVENT_TYPE_LOGIN);
  for (int i = 0; i < 4; ++i)
    add(absl::StrCat("use", i), v1::EVENT_TYPE_FEATURE_USED, absl::StrCat("feature-", (day + i * 3) % 12));
  if (day % 3 == 0) add("email", v1::EVENT_TYPE_EMAIL_SENT);
  if (day % 3 == 0 && day % 2 == 0) add("open", v1::EVENT_TYPE_EMAIL_OPENED);
  if (day % 10 == 0) add("ticket", v1::EVENT_TYPE_TICKET_OPENED, "", 0);
  if (day % 10 == 1) add("solved", v1::EVENT_TYPE_TICKET_RESOLVED);
  add("seats", v1::EVENT_TYPE_SEATS_ACTIVE, "", 8 + day % 3);
  add("api", v1::EVENT_TYPE_LIMIT_USAGE, "api_calls", 1000.0 * (day % 30));
  if (day % 30 == 5) add("invoice", v1::EVENT_TYPE_INVOICE_PAID, "", day % 60 == 5 ? 0 : 3);
  if (day % 30 == 15) add("nps", v1::EVENT_TYPE_NPS_RESPONSE, "", 8);
}

int Run() {
  testing::RedisServer redis;
  if (absl::Status s = redis.Start(); !s.ok()) {
    std::cerr << "memory_bench: " << s << "\n";
    return 1;
  }
  RedisOptions options;
  options.port = redis.port();
  auto store = RedisStore::Connect(options);
  if (!store.ok()) {
    std::cerr << "memory_bench: " << store.status() << "\n";
    return 1;
  }
  auto models = scoring::LoadModelDirectory(absl::GetFlag(FLAGS_config_dir));
  if (!models.ok()) {
    std::cerr << "memory_bench: " << models.status() << "\n";
    return 1;
  }
  FakeClock clock(absl::FromCivil(absl::CivilDay(2026, 6, 1), absl::UTCTimeZone()));
  scoring::ScoringService service(**store, clock, *std::move(models));

  const int accounts = absl::GetFlag(FLAGS_accounts);
  std::vector<std::string> ids;
  for (int a = 0; a < accounts; ++a) {
    ids.push_back(absl::StrCat("mem-", a));
    v1::UpsertAccountRequest upsert;
    v1::Account& account = *upsert.mutable_account();
    account.set_account_id(ids.back());
    account.set_display_name(absl::StrCat("Memory Co ", a));
    account.set_industry("technology");
    account.set_size(v1::ACCOUNT_SIZE_SMB);
    account.set_seats(10);
    account.set_mrr(400);
    account.set_gross_margin(0.8);
    account.set_cac(2000);
    account.mutable_plan()->set_name("growth");
    account.mutable_plan()->set_feature_count(20);
    (*account.mutable_plan()->mutable_limits())["api_calls"] = 100000;
    account.mutable_start_time()->set_seconds(absl::ToUnixSeconds(clock.Now()) - 86400 * 365);
    if (auto r = service.UpsertAccount(upsert); !r.ok()) {
      std::cerr << "memory_bench: " << r.status() << "\n";
      return 1;
    }
  }
  for (int day = 0; day < 90; ++day) {
    clock.Advance(absl::Hours(24));
    for (const std::string& id : ids) {
      v1::RecordEventsRequest request;
      AddDay(request, id, day, clock.Now() - absl::Hours(2));
      if (auto r = service.RecordEvents(request); !r.ok()) {
        std::cerr << "memory_bench: " << r.status() << "\n";
        return 1;
      }
      v1::GetScoresRequest get;
      get.set_account_id(id);
      if (auto r = service.GetScores(get); !r.ok()) {
        std::cerr << "memory_bench: " << r.status() << "\n";
        return 1;
      }
    }
    if (day % 15 == 14) std::cerr << "memory_bench: day " << day + 1 << " of 90\n";
  }

  struct Kind {
    const char* name;
    std::string (*key)(absl::string_view);
    double sum = 0;
    int64_t max = 0;
  };
  Kind kinds[] = {
      {"account", [](absl::string_view id) { return scoring::AccountKey(id); }},
      {"activity", [](absl::string_view id) { return scoring::ActivityKey(id); }},
      {"live", [](absl::string_view id) { return scoring::LiveActivityKey(id); }},
      {"ids", [](absl::string_view id) { return scoring::IdLogKey(id); }},
      {"scores:health", [](absl::string_view id) { return scoring::ScoresKey(id, "health"); }},
      {"history:health", [](absl::string_view id) { return scoring::HistoryKey(id, "health"); }},
  };
  double total_sum = 0;
  int64_t total_max = 0;
  for (const std::string& id : ids) {
    int64_t total = 0;
    for (Kind& kind : kinds) {
      auto bytes = (*store)->MemoryUsage(kind.key(id));
      const int64_t b = bytes.ok() ? *bytes : 0;
      kind.sum += b;
      kind.max = std::max(kind.max, b);
      total += b;
    }
    total_sum += total;
    total_max = std::max(total_max, total);
  }
  std::cout << absl::StrFormat(
      "Redis memory per account at steady state (%d accounts, 90 days of ~9 events a day, "
      "scores read daily):\n",
      accounts);
  std::cout << absl::StrFormat("  %-16s %10s %10s\n", "key kind", "mean B", "max B");
  for (const Kind& kind : kinds) {
    std::cout << absl::StrFormat("  %-16s %10.0f %10d\n", kind.name, kind.sum / accounts, kind.max);
  }
  const double mean = total_sum / accounts;
  std::cout << absl::StrFormat("  %-16s %10.0f %10d   aim <= %.0f B   %s\n", "total", mean, total_max,
                               kAimBytes, mean <= kAimBytes ? "met" : "MISSED");
  std::cout << absl::StrFormat(
      "{\"bench\":\"steward_memory\",\"accounts\":%d,\"mean_bytes\":%.0f,\"max_bytes\":%d}\n", accounts, mean,
      total_max);
  return 0;
}

}  // namespace
}  // namespace steward

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return steward::Run();
}
