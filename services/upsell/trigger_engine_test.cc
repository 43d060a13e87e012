#include "services/upsell/trigger_engine.h"

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/upsell/upsell_config.h"

namespace steward::upsell {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

v1::UpsellConfig Shipped() {
  const char* dir = std::getenv("STEWARD_SOURCE_DIR");
  absl::StatusOr<v1::UpsellConfig> config =
      LoadUpsellConfig(std::string(dir != nullptr ? dir : ".") + "/config/upsell.textproto");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : v1::UpsellConfig();
}

absl::Time Utc(int year, int month, int day, int hour = 12, int minute = 0, int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second), absl::UTCTimeZone());
}

// An active account on "growth" with 10 seats, healthy (80) with low churn risk, and no features: no
// trigger can fire until a test gives it the features it needs. June is out of the Q4 season.
class TriggerEngineTest : public ::testing::Test {
 protected:
  TriggerEngineTest() : config_(Shipped()) {
    account_.set_account_id("acme");
    account_.mutable_plan()->set_name("growth");
    account_.set_seats(10);
    account_.set_status(v1::ACCOUNT_STATUS_ACTIVE);
    scores_.mutable_health()->set_score(80);
    scores_.mutable_churn()->set_level(v1::RISK_LEVEL_LOW);
    now_ = Utc(2026, 6, 15);
  }

  void Set(const std::string& name, double value) {
    for (v1::FeatureValue& f : *scores_.mutable_features()) {
      if (f.name() == name) {
        f.set_value(value);
        return;
      }
    }
    v1::FeatureValue* f = scores_.add_features();
    f->set_name(name);
    f->set_value(value);
  }

  Evaluation Evaluate() {
    AccountSnapshot snapshot{
        .account = &account_, .scores = &scores_, .segment_ids = {}, .now = now_, .history = history_};
    return EvaluateTriggers(config_, snapshot);
  }

  std::vector<std::string> Fired() {
    std::vector<std::string> ids;
    for (const v1::FiredTrigger& f : Evaluate().fired) ids.push_back(f.trigger_id());
    return ids;
  }

  std::string WhyNot(const std::string& id) {
    for (const auto& [trigger, reason] : Evaluate().not_fired_reasons) {
      if (trigger == id) return reason;
    }
    return "(fired)";
  }

  // Every feature any shipped trigger needs, above its threshold; plus Q4.
  void FireEverything() {
    Set("feature_share_30d", 0.9);
    Set("tenure_days", 400);
    Set("roi_percent", 300);
    Set("nps", 10);
    Set("max_limit_usage", 0.95);
    Set("seat_utilization", 1.0);
    now_ = Utc(2026, 11, 1);
  }

  v1::UpsellConfig config_;
  v1::Account account_;
  v1::Scores scores_;
  absl::Time now_;
  std::map<std::string, std::vector<double>> history_;
};

TEST_F(TriggerEngineTest, NothingFiresWithoutFeatures) {
  Evaluation e = Evaluate();
  EXPECT_FALSE(e.at_risk);
  EXPECT_THAT(e.fired, IsEmpty());
  EXPECT_EQ(e.not_fired_reasons.size(), 6u);
  EXPECT_EQ(WhyNot("limit"), "max_limit_usage unknown (needs ≥ 0.8)");
  EXPECT_EQ(WhyNot("seasonal"), "month 6 not in season [10, 11, 12]");
}

TEST_F(TriggerEngineTest, UsageFiresAtEightyPercentOverAFullWindow) {
  Set("feature_share_30d", 0.8);
  Set("tenure_days", 30);
  Evaluation e = Evaluate();
  ASSERT_EQ(e.fired.size(), 1u);
  const v1::FiredTrigger& f = e.fired[0];
  EXPECT_EQ(f.trigger_id(), "usage");
  EXPECT_EQ(f.kind(), v1::UPSELL_TRIGGER_KIND_USAGE);
  EXPECT_EQ(f.reason(), "feature_share_30d 0.8 ≥ 0.8 and tenure_days 30 ≥ 30");
  EXPECT_EQ(f.offer().target_plan(), "pro");  // growth → pro
  EXPECT_EQ(f.offer().discount_percent(), 20);
  EXPECT_EQ(f.offer().discount_months(), 1);
  EXPECT_EQ(f.priority(), v1::UPSELL_PRIORITY_MEDIUM);
  EXPECT_EQ(f.expected_conversion_min(), 0.25);
  EXPECT_EQ(f.expected_conversion_max(), 0.35);
  EXPECT_EQ(f.kind_of_sale(), v1::SALE_KIND_UPSELL);
  EXPECT_EQ(f.rank(), 1);
  ASSERT_EQ(f.inputs_size(), 2);
  EXPECT_EQ(f.inputs(0).name(), "feature_share_30d");
  EXPECT_EQ(f.inputs(0).value(), 0.8);

  // A computed 8 of 10 features is exactly the threshold too.
  Set("feature_share_30d", 8.0 / 10.0);
  EXPECT_THAT(Fired(), ElementsAre("usage"));
}

TEST_F(TriggerEngineTest, UsageJustShort) {
  Set("feature_share_30d", 0.79);
  Set("tenure_days", 30);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("usage"), "feature_share_30d 0.79 < 0.8");

  Set("feature_share_30d", 0.8);
  Set("tenure_days", 29);  // the 30-day window is not full yet
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("usage"), "tenure_days 29 < 30");
}

TEST_F(TriggerEngineTest, UsageWithDailyHistoryNeedsEveryDay) {
  Set("feature_share_30d", 0.9);
  Set("tenure_days", 400);
  history_["feature_share_30d"] = std::vector<double>(30, 0.8);
  history_["feature_share_30d"].insert(history_["feature_share_30d"].begin(), 0.1);  // day 31: irrelevant
  EXPECT_THAT(Fired(), ElementsAre("usage"));

  history_["feature_share_30d"][10] = 0.79;  // one day of the 30 below
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("usage"), "lowest daily feature_share_30d over the last 30 days 0.79 < 0.8");

  history_["feature_share_30d"] = std::vector<double>(29, 0.9);  // one day short
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("usage"), "only 29 days of feature_share_30d history, needs 30");
}

TEST_F(TriggerEngineTest, ResultsFiresAboveTwoHundredPercentRoi) {
  Set("roi_percent", 200.1);
  Set("tenure_days", 90);
  Set("nps", 9);
  Evaluation e = Evaluate();
  // Complementary product needs the same tenure and NPS: it fires too, ranked below (LOW).
  ASSERT_EQ(e.fired.size(), 2u);
  EXPECT_EQ(e.fired[1].trigger_id(), "complementary_product");
  EXPECT_EQ(e.fired[1].rank(), 2);
  const v1::FiredTrigger& f = e.fired[0];
  EXPECT_EQ(f.rank(), 1);
  EXPECT_EQ(f.trigger_id(), "results");
  EXPECT_EQ(f.reason(), "roi_percent 200.1 > 200 and tenure_days 90 ≥ 90 and nps 9 ≥ 9");
  EXPECT_EQ(f.offer().target_plan(), "pro");
  EXPECT_EQ(f.offer().free_months(), 1);
  EXPECT_EQ(f.priority(), v1::UPSELL_PRIORITY_HIGH);
}

TEST_F(TriggerEngineTest, ResultsJustShort) {
  // Keep complementary_product from firing: the account already has the automation product.
  (*account_.mutable_labels())["product.automation"] = "yes";
  Set("roi_percent", 200);
  Set("tenure_days", 90);
  Set("nps", 9);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("results"), "roi_percent 200 ≤ 200");

  Set("roi_percent", 200.1);
  Set("tenure_days", 89);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("results"), "tenure_days 89 < 90");

  Set("tenure_days", 90);
  Set("nps", 8);  // a passive: NPS 0, not > 70
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("results"), "nps 8 < 9");

  Set("nps", 9);
  EXPECT_THAT(Fired(), ElementsAre("results"));
}

TEST_F(TriggerEngineTest, LimitFiresAtEightyPercent) {
  Set("max_limit_usage", 0.8);
  Evaluation e = Evaluate();
  ASSERT_EQ(e.fired.size(), 1u);
  EXPECT_EQ(e.fired[0].trigger_id(), "limit");
  EXPECT_EQ(e.fired[0].reason(), "max_limit_usage 0.8 ≥ 0.8");
  EXPECT_EQ(e.fired[0].offer().target_plan(), "pro");
  EXPECT_EQ(e.fired[0].offer().description(), "Plan that removes the limit, upgrade now");
  EXPECT_EQ(e.fired[0].expected_conversion_min(), 0.5);
  EXPECT_EQ(e.fired[0].expected_conversion_max(), 0.6);

  Set("max_limit_usage", 1.2);  // blocked by the limit
  EXPECT_THAT(Fired(), ElementsAre("limit"));
}

TEST_F(TriggerEngineTest, LimitJustShortOrNoHigherPlan) {
  Set("max_limit_usage", 0.79);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("limit"), "max_limit_usage 0.79 < 0.8");

  Set("max_limit_usage", 0.9);
  account_.mutable_plan()->set_name("enterprise");
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("limit"), "already on the top plan \"enterprise\"");

  account_.mutable_plan()->set_name("custom");
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("limit"), "plan \"custom\" is not in the plan ladder, so there is no next plan");
}

TEST_F(TriggerEngineTest, ComplementaryProductFiresAfterThreeGoodMonths) {
  Set("tenure_days", 90);
  Set("nps", 9);
  scores_.mutable_health()->set_score(70);
  Evaluation e = Evaluate();
  ASSERT_EQ(e.fired.size(), 1u);
  const v1::FiredTrigger& f = e.fired[0];
  EXPECT_EQ(f.trigger_id(), "complementary_product");
  EXPECT_EQ(f.reason(), "tenure_days 90 ≥ 90 and health 70 ≥ 70 and nps 9 ≥ 9");
  EXPECT_EQ(f.offer().target_product(), "automation");
  EXPECT_EQ(f.offer().discount_percent(), 30);
  EXPECT_EQ(f.kind_of_sale(), v1::SALE_KIND_CROSS_SELL);
  EXPECT_EQ(f.priority(), v1::UPSELL_PRIORITY_LOW);
}

TEST_F(TriggerEngineTest, ComplementaryProductJustShort) {
  Set("tenure_days", 89);
  Set("nps", 9);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("complementary_product"), "tenure_days 89 < 90");

  Set("tenure_days", 90);
  Set("nps", 8);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("complementary_product"), "nps 8 < 9");

  Set("nps", 9);
  (*account_.mutable_labels())["product.automation"] = "yes";
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("complementary_product"), "already has product automation");
}

TEST_F(TriggerEngineTest, ComplementaryProductNeedsProductAWhenNamed) {
  config_.mutable_triggers(3)->mutable_complementary_product()->set_required_product("crm");
  Set("tenure_days", 90);
  Set("nps", 9);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("complementary_product"), "does not have product crm");
  (*account_.mutable_labels())["product.crm"] = "active";
  EXPECT_THAT(Fired(), ElementsAre("complementary_product"));
}

TEST_F(TriggerEngineTest, SeasonalFiresInsideQ4Only) {
  now_ = Utc(2026, 10, 1, 0, 0, 0);
  Evaluation e = Evaluate();
  ASSERT_EQ(e.fired.size(), 1u);
  EXPECT_EQ(e.fired[0].trigger_id(), "seasonal");
  EXPECT_EQ(e.fired[0].reason(), "month 10 in season [10, 11, 12]");
  EXPECT_EQ(e.fired[0].offer().target_product(), "analytics");
  EXPECT_EQ(e.fired[0].offer().discount_percent(), 50);
  EXPECT_EQ(e.fired[0].offer().discount_months(), 3);
  ASSERT_EQ(e.fired[0].inputs_size(), 1);
  EXPECT_EQ(e.fired[0].inputs(0).name(), "month");
  EXPECT_EQ(e.fired[0].inputs(0).value(), 10);

  now_ = Utc(2026, 9, 30, 23, 59, 59);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("seasonal"), "month 9 not in season [10, 11, 12]");
  now_ = Utc(2026, 12, 31, 23, 59, 59);
  EXPECT_THAT(Fired(), ElementsAre("seasonal"));
  now_ = Utc(2027, 1, 1, 0, 0, 0);
  EXPECT_THAT(Fired(), IsEmpty());
}

TEST_F(TriggerEngineTest, SeasonalSkipsAccountsThatHaveTheProduct) {
  now_ = Utc(2026, 11, 15);
  (*account_.mutable_labels())["product.analytics"] = "yes";
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("seasonal"), "already has product analytics");
}

TEST_F(TriggerEngineTest, DepartmentalExpansionFiresWhenLicencesRunOut) {
  Set("seat_utilization", 0.9);
  account_.set_seats(5);
  Evaluation e = Evaluate();
  ASSERT_EQ(e.fired.size(), 1u);
  const v1::FiredTrigger& f = e.fired[0];
  EXPECT_EQ(f.trigger_id(), "departmental_expansion");
  EXPECT_EQ(f.reason(), "seat_utilization 0.9 ≥ 0.9 and seats 5 ≥ 5");
  EXPECT_TRUE(f.offer().additional_licences());
  EXPECT_EQ(f.offer().discount_percent(), 20);
  EXPECT_EQ(f.offer().max_discount_percent(), 30);
  EXPECT_EQ(f.expected_conversion_min(), 0.3);
  EXPECT_EQ(f.expected_conversion_max(), 0.4);
}

TEST_F(TriggerEngineTest, DepartmentalExpansionJustShort) {
  Set("seat_utilization", 0.89);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("departmental_expansion"), "seat_utilization 0.89 < 0.9");
  Set("seat_utilization", 0.9);
  account_.set_seats(4);
  EXPECT_THAT(Fired(), IsEmpty());
  EXPECT_EQ(WhyNot("departmental_expansion"), "seats 4 < 5");
}

TEST_F(TriggerEngineTest, RankingByPriorityThenConversionThenId) {
  FireEverything();
  Evaluation e = Evaluate();
  EXPECT_FALSE(e.at_risk);
  EXPECT_THAT(e.not_fired_reasons, IsEmpty());
  std::vector<std::string> ids;
  std::vector<int> ranks;
  for (const v1::FiredTrigger& f : e.fired) {
    ids.push_back(f.trigger_id());
    ranks.push_back(f.rank());
  }
  // HIGH: limit (55%) then results (45%); MEDIUM: departmental (35%) then usage (30%); LOW:
  // complementary (25%) then seasonal (20%).
  EXPECT_THAT(ids, ElementsAre("limit", "results", "departmental_expansion", "usage", "complementary_product",
                               "seasonal"));
  EXPECT_THAT(ranks, ElementsAre(1, 2, 3, 4, 5, 6));

  // Same priority and midpoint: by id.
  config_.mutable_triggers(1)->set_expected_conversion_min(0.5);
  config_.mutable_triggers(1)->set_expected_conversion_max(0.6);
  e = Evaluate();
  EXPECT_EQ(e.fired[0].trigger_id(), "limit");
  EXPECT_EQ(e.fired[1].trigger_id(), "results");
  config_.mutable_triggers(2)->set_id("a_limit");
  e = Evaluate();
  EXPECT_EQ(e.fired[0].trigger_id(), "a_limit");
}

TEST_F(TriggerEngineTest, AtRiskByHealthNeverFires) {
  FireEverything();
  scores_.mutable_health()->set_score(69);
  Evaluation e = Evaluate();
  EXPECT_TRUE(e.at_risk);
  EXPECT_EQ(e.at_risk_reason, "at risk, routed to retention: health 69 < 70");
  EXPECT_THAT(e.fired, IsEmpty());
  ASSERT_EQ(e.not_fired_reasons.size(), 6u);
  EXPECT_THAT(e.not_fired_reasons[0], Pair("usage", e.at_risk_reason));

  scores_.mutable_health()->set_score(70);
  e = Evaluate();
  EXPECT_FALSE(e.at_risk);
  EXPECT_EQ(e.fired.size(), 6u);
}

TEST_F(TriggerEngineTest, AtRiskByHighChurnRiskNeverFires) {
  FireEverything();
  scores_.mutable_health()->set_score(95);
  scores_.mutable_churn()->set_level(v1::RISK_LEVEL_HIGH);
  for (int i = 0; i < 3; ++i) scores_.mutable_churn()->add_active_signals()->set_name("s");
  Evaluation e = Evaluate();
  EXPECT_TRUE(e.at_risk);
  EXPECT_EQ(e.at_risk_reason,
            "at risk, routed to retention: churn risk RISK_LEVEL_HIGH (3 active signals) ≥ RISK_LEVEL_HIGH");
  EXPECT_THAT(e.fired, IsEmpty());

  scores_.mutable_health()->set_score(50);
  e = Evaluate();
  EXPECT_THAT(e.at_risk_reason, HasSubstr("health 50 < 70; churn risk RISK_LEVEL_HIGH"));

  scores_.mutable_health()->set_score(95);
  scores_.mutable_churn()->set_level(v1::RISK_LEVEL_MEDIUM);
  e = Evaluate();
  EXPECT_FALSE(e.at_risk);
  EXPECT_EQ(e.fired.size(), 6u);
}

TEST_F(TriggerEngineTest, NoHealthScoreIsTreatedAsAtRisk) {
  FireEverything();
  scores_.clear_health();
  Evaluation e = Evaluate();
  EXPECT_TRUE(e.at_risk);
  EXPECT_THAT(e.at_risk_reason, HasSubstr("no health score"));
  EXPECT_THAT(e.fired, IsEmpty());

  AccountSnapshot unscored{
      .account = &account_, .scores = nullptr, .segment_ids = {}, .now = now_, .history = {}};
  e = EvaluateTriggers(config_, unscored);
  EXPECT_TRUE(e.at_risk);
  EXPECT_THAT(e.fired, IsEmpty());
}

TEST_F(TriggerEngineTest, ChurnedAccountGetsNothing) {
  FireEverything();
  account_.set_status(v1::ACCOUNT_STATUS_CHURNED);
  Evaluation e = Evaluate();
  EXPECT_FALSE(e.at_risk);
  EXPECT_THAT(e.fired, IsEmpty());
  EXPECT_THAT(e.not_fired_reasons[0], Pair("usage", "the account has churned"));
}

TEST(CooldownTest, DaysFromTheTrigger) {
  v1::UpsellTrigger trigger;
  trigger.set_cooldown_days(30);
  EXPECT_EQ(Cooldown(trigger), absl::Hours(24 * 30));
  const v1::UpsellConfig config = Shipped();
  EXPECT_EQ(Cooldown(config.triggers(2)), absl::Hours(24 * 14));
}

}  // namespace
}  // namespace steward::upsell
