#include "services/scoring/validation.h"

#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "gtest/gtest.h"

namespace steward::scoring {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::Event ValidEvent() {
  v1::Event e;
  e.set_event_id("e1");
  e.set_account_id("acct-1");
  e.set_type(v1::EVENT_TYPE_LOGIN);
  e.mutable_time()->set_seconds(absl::ToUnixSeconds(kNow) - 60);
  return e;
}

std::string FieldOf(const absl::Status& s) { return ErrorField(s).value_or("<none>"); }

TEST(ValidateEventTest, AcceptsAValidEvent) {
  EXPECT_TRUE(ValidateEvent("events[0]", ValidEvent(), kNow, absl::Minutes(5)).ok());
}

TEST(ValidateEventTest, NamesTheFieldOfEachProblem) {
  struct Case {
    const char* name;
    void (*mutate)(v1::Event&);
    const char* field;
  };
  const Case cases[] = {
      {"empty id", [](v1::Event& e) { e.clear_event_id(); }, "events[0].event_id"},
      {"empty account", [](v1::Event& e) { e.clear_account_id(); }, "events[0].account_id"},
      {"brace in account", [](v1::Event& e) { e.set_account_id("a{b}"); }, "events[0].account_id"},
      {"unknown type", [](v1::Event& e) { e.set_type(static_cast<v1::EventType>(999)); }, "events[0].type"},
      {"unspecified type", [](v1::Event& e) { e.set_type(v1::EVENT_TYPE_UNSPECIFIED); }, "events[0].type"},
      {"no time", [](v1::Event& e) { e.clear_time(); }, "events[0].time"},
      {"far future", [](v1::Event& e) { e.mutable_time()->set_seconds(absl::ToUnixSeconds(kNow) + 3600); },
       "events[0].time"},
      {"nps 11",
       [](v1::Event& e) {
         e.set_type(v1::EVENT_TYPE_NPS_RESPONSE);
         e.set_value(11);
       },
       "events[0].value"},
      {"nps 7.5",
       [](v1::Event& e) {
         e.set_type(v1::EVENT_TYPE_NPS_RESPONSE);
         e.set_value(7.5);
       },
       "events[0].value"},
      {"negative days late",
       [](v1::Event& e) {
         e.set_type(v1::EVENT_TYPE_INVOICE_PAID);
         e.set_value(-1);
       },
       "events[0].value"},
      {"sentiment 2", [](v1::Event& e) { e.set_sentiment(2); }, "events[0].sentiment"},
      {"feature without name", [](v1::Event& e) { e.set_type(v1::EVENT_TYPE_FEATURE_USED); },
       "events[0].subject"},
  };
  for (const Case& c : cases) {
    v1::Event e = ValidEvent();
    c.mutate(e);
    absl::Status s = ValidateEvent("events[0]", e, kNow, absl::Minutes(5));
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.name;
    EXPECT_EQ(FieldOf(s), c.field) << c.name << ": " << s;
  }
}

TEST(ValidateAccountTest, ChecksLabelKeysValuesAndCount) {
  v1::Account a;
  a.set_account_id("a1");
  (*a.mutable_labels())["advocacy"] = "ambassador";
  (*a.mutable_labels())["region.eu-west_1"] = "";
  EXPECT_TRUE(ValidateAccount("account", a).ok());

  v1::Account upper = a;
  (*upper.mutable_labels())["Region"] = "x";
  EXPECT_EQ(FieldOf(ValidateAccount("account", upper)), "account.labels[\"Region\"]");
  v1::Account empty_key = a;
  (*empty_key.mutable_labels())[""] = "x";
  EXPECT_EQ(FieldOf(ValidateAccount("account", empty_key)), "account.labels[\"\"]");
  v1::Account long_key = a;
  (*long_key.mutable_labels())[std::string(64, 'k')] = "x";
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateAccount("account", long_key)));
  v1::Account long_value = a;
  (*long_value.mutable_labels())["note"] = std::string(257, 'v');
  EXPECT_EQ(FieldOf(ValidateAccount("account", long_value)), "account.labels[\"note\"]");
  v1::Account many = a;
  for (int i = 0; i < 31; ++i) (*many.mutable_labels())[absl::StrCat("k", i)] = "v";
  EXPECT_EQ(FieldOf(ValidateAccount("account", many)), "account.labels");
}

TEST(ValidateAccountTest, RejectsNegativeMoneyAndOutOfRangeRates) {
  v1::Account a;
  a.set_account_id("a1");
  EXPECT_TRUE(ValidateAccount("account", a).ok());
  a.set_mrr(-5);
  EXPECT_EQ(FieldOf(ValidateAccount("account", a)), "account.mrr");
  a.set_mrr(5);
  a.set_gross_margin(1.5);
  EXPECT_EQ(FieldOf(ValidateAccount("account", a)), "account.gross_margin");
  a.set_gross_margin(0.5);
  a.set_monthly_churn_rate(1);
  EXPECT_EQ(FieldOf(ValidateAccount("account", a)), "account.monthly_churn_rate");
  a.set_monthly_churn_rate(0.05);
  (*a.mutable_plan()->mutable_limits())["api"] = 0;
  EXPECT_EQ(FieldOf(ValidateAccount("account", a)), "account.plan.limits[api]");
}

}  // namespace
}  // namespace steward::scoring
