#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/event.pb.h"
#include "tests/support/api_test_support.h"

// A healthy customer for the tests that need one (upsell fires only for accounts not at risk).
namespace steward::testing {

inline v1::Event MakeEvent(const std::string& account, const std::string& id, v1::EventType type,
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

// On the "growth" plan (10 features, 1,000 API calls a month), 10 seats, a customer for 400 days.
inline v1::Account HealthyAccount(const std::string& id, absl::Time now, double mrr = 1000) {
  v1::Account a;
  a.set_account_id(id);
  a.set_mrr(mrr);
  a.set_gross_margin(0.8);
  a.set_seats(10);
  a.mutable_plan()->set_name("growth");
  a.mutable_plan()->set_feature_count(10);
  (*a.mutable_plan()->mutable_limits())["api_calls"] = 1000;
  *a.mutable_start_time() = At(now - absl::Hours(24 * 400));
  return a;
}

// The 30 days before `now` of a healthy account: daily use of `features` of its features (9 of 10 by
// default), engaged emails, `seats_active` of 10 seats active, an NPS answer (a promoter's by default)
// and a satisfied CSAT.
inline std::vector<v1::Event> HealthyMonth(const std::string& id, absl::Time now, int features = 9,
                                           double nps = 10, double seats_active = 8) {
  std::vector<v1::Event> events;
  for (int day = 0; day < 30; ++day) {
    const absl::Time t = now - absl::Hours(24 * day + 3);
    events.push_back(MakeEvent(id, absl::StrCat("login-", day), v1::EVENT_TYPE_LOGIN, t));
    events.push_back(MakeEvent(id, absl::StrCat("login2-", day), v1::EVENT_TYPE_LOGIN, t + absl::Minutes(5)));
    events.push_back(MakeEvent(id, absl::StrCat("use-", day), v1::EVENT_TYPE_FEATURE_USED, t, 0,
                               absl::StrCat("feature-", day % features)));
    if (day % 3 == 0) {
      events.push_back(MakeEvent(id, absl::StrCat("mail-", day), v1::EVENT_TYPE_EMAIL_SENT, t));
      events.push_back(MakeEvent(id, absl::StrCat("open-", day), v1::EVENT_TYPE_EMAIL_OPENED, t));
    }
  }
  events.push_back(MakeEvent(id, "seats", v1::EVENT_TYPE_SEATS_ACTIVE, now - absl::Hours(2), seats_active));
  events.push_back(MakeEvent(id, "nps", v1::EVENT_TYPE_NPS_RESPONSE, now - absl::Hours(2), nps));
  events.push_back(MakeEvent(id, "csat", v1::EVENT_TYPE_CSAT_RESPONSE, now - absl::Hours(2), 5));
  return events;
}

}  // namespace steward::testing
