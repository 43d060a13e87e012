#include "server/demo_data.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"

namespace steward {
namespace {

struct DemoAccount {
  const char* id;
  const char* name;
  const char* industry;
  v1::AccountSize size;
  double mrr;
  int seats;
  int tenure_days;
  int logins_per_day_early;  // 60..31 days ago
  int logins_per_day_late;   // last 30 days
  int features_late;         // distinct features used lately
  int nps;
  bool competitor_trouble;
};

constexpr DemoAccount kAccounts[] = {
    {"acme", "Acme Corp", "technology", v1::ACCOUNT_SIZE_ENTERPRISE, 4800, 120, 900, 6, 7, 14, 10, false},
    {"globex", "Globex", "e-commerce", v1::ACCOUNT_SIZE_MID_MARKET, 1200, 40, 500, 4, 4, 9, 8, false},
    {"initech", "Initech", "banking", v1::ACCOUNT_SIZE_MID_MARKET, 900, 30, 400, 5, 1, 3, 6, false},
    {"umbrella", "Umbrella Health", "health", v1::ACCOUNT_SIZE_SMB, 300, 8, 20, 2, 3, 6, 9, false},
    {"hooli", "Hooli", "marketing", v1::ACCOUNT_SIZE_SMB, 450, 12, 700, 3, 1, 2, 4, true},
};

void AddEvent(v1::RecordEventsRequest& request, const DemoAccount& a, const std::string& id,
              v1::EventType type, absl::Time t, const std::string& subject = "", double value = 0) {
  v1::Event* e = request.add_events();
  e->set_event_id(absl::StrCat(a.id, "-", id));
  e->set_account_id(a.id);
  e->set_type(type);
  *e->mutable_time() = ToProtoTime(t);
  e->set_subject(subject);
  e->set_value(value);
}

absl::Status Flush(scoring::ScoringService& scoring, v1::RecordEventsRequest& request) {
  if (request.events().empty()) return absl::OkStatus();
  auto result = scoring.RecordEvents(request);
  request.clear_events();
  return result.status();
}

}  // namespace

absl::Status LoadDemoData(scoring::ScoringService& scoring, absl::Time now) {
  for (const DemoAccount& a : kAccounts) {
    v1::UpsertAccountRequest upsert;
    v1::Account& account = *upsert.mutable_account();
    account.set_account_id(a.id);
    account.set_display_name(a.name);
    account.set_industry(a.industry);
    account.set_size(a.size);
    account.set_status(a.tenure_days < 30 ? v1::ACCOUNT_STATUS_TRIAL : v1::ACCOUNT_STATUS_ACTIVE);
    account.set_seats(a.seats);
    account.set_mrr(a.mrr);
    account.set_gross_margin(0.8);
    account.set_cac(a.mrr * 6);
    account.set_cost_of_retention(a.mrr);
    account.set_expansion_rate(0.1);
    account.mutable_plan()->set_name(a.mrr > 1000 ? "enterprise" : "growth");
    account.mutable_plan()->set_feature_count(20);
    (*account.mutable_plan()->mutable_limits())["api_calls"] = 100000;
    *account.mutable_start_time() = ToProtoTime(now - absl::Hours(24) * a.tenure_days);
    if (auto s = scoring.UpsertAccount(upsert); !s.ok()) return s.status();

    v1::RecordEventsRequest events;
    const int days = std::min(60, a.tenure_days);
    for (int d = days; d >= 1; --d) {
      const absl::Time day = now - absl::Hours(24) * d;
      const bool late = d <= 30;
      const int logins = late ? a.logins_per_day_late : a.logins_per_day_early;
      for (int i = 0; i < logins; ++i) {
        AddEvent(events, a, absl::StrCat("login-", d, "-", i), v1::EVENT_TYPE_LOGIN,
                 day + absl::Minutes(10 * i));
      }
      const int features = late ? a.features_late : 10;
      AddEvent(events, a, absl::StrCat("feature-", d), v1::EVENT_TYPE_FEATURE_USED, day + absl::Hours(2),
               absl::StrCat("feature-", d % features));
      if (d % 3 == 0) {
        AddEvent(events, a, absl::StrCat("email-", d), v1::EVENT_TYPE_EMAIL_SENT, day + absl::Hours(3));
        if (a.logins_per_day_late >= 3 || d % 2 == 0) {
          AddEvent(events, a, absl::StrCat("open-", d), v1::EVENT_TYPE_EMAIL_OPENED, day + absl::Hours(4));
        }
      }
      if (auto s = Flush(scoring, events); !s.ok()) return s;
    }
    AddEvent(events, a, "seats", v1::EVENT_TYPE_SEATS_ACTIVE, now - absl::Hours(5), "", a.seats * 0.8);
    AddEvent(events, a, "nps", v1::EVENT_TYPE_NPS_RESPONSE, now - absl::Hours(30), "", a.nps);
    AddEvent(events, a, "invoice", v1::EVENT_TYPE_INVOICE_PAID, now - absl::Hours(48), "",
             a.nps < 5 ? 12 : 0);
    AddEvent(events, a, "api", v1::EVENT_TYPE_LIMIT_USAGE, now - absl::Hours(1), "api_calls",
             a.logins_per_day_late * 12000.0);
    if (a.competitor_trouble) {
      AddEvent(events, a, "search", v1::EVENT_TYPE_COMPETITOR_SEARCH, now - absl::Hours(72), "alternatives");
      AddEvent(events, a, "trial", v1::EVENT_TYPE_COMPETITOR_TRIAL, now - absl::Hours(50), "rival");
    }
    if (a.nps >= 9) {
      AddEvent(events, a, "referral", v1::EVENT_TYPE_REFERRAL, now - absl::Hours(200), "friend-co");
      AddEvent(events, a, "expansion", v1::EVENT_TYPE_EXPANSION, now - absl::Hours(400), "", 500);
    }
    if (auto s = Flush(scoring, events); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace steward
