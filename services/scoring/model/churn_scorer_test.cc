#include "services/scoring/model/churn_scorer.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scoring/model/condition.h"
#include "services/scoring/model/model_config.h"

namespace steward::scoring {
namespace {

using ::testing::ElementsAre;

const v1::ChurnModel& ShippedChurnModel() {
  static auto* const model = [] {
    const char* dir = std::getenv("STEWARD_SOURCE_DIR");
    absl::StatusOr<v1::ChurnModel> loaded =
        LoadChurnModel(std::string(dir != nullptr ? dir : ".") + "/config/churn.textproto");
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new v1::ChurnModel(loaded.ok() ? *std::move(loaded) : v1::ChurnModel());
  }();
  return *model;
}

std::vector<std::string> SignalNames(const v1::ChurnRisk& risk) {
  std::vector<std::string> names;
  for (const v1::ChurnSignal& signal : risk.active_signals()) names.push_back(signal.name());
  return names;
}

std::vector<std::string> RedFlagNames(const v1::ChurnRisk& risk) {
  std::vector<std::string> names;
  for (const v1::RedFlag& flag : risk.red_flags()) names.push_back(flag.name());
  return names;
}

// Shipped weights (SPEC §2.2): behavioural signals add up to 70, sentiment 50, competitive 50.
constexpr double kBehaviouralTotal = 70;
constexpr double kSentimentTotal = 50;
constexpr double kCompetitiveTotal = 50;

TEST(ConditionTest, HoldsAndText) {
  v1::Condition condition;
  condition.set_feature("email_open_rate_14d");
  condition.set_comparison(v1::COMPARISON_LESS);
  condition.set_threshold(0.5);
  EXPECT_EQ(ConditionText(condition), "email_open_rate_14d < 0.5");

  FeatureVector features;
  EXPECT_FALSE(ConditionHolds(condition, features));  // unknown feature
  features.Set(Feature::kEmailOpenRate14d, 0.49);
  EXPECT_TRUE(ConditionHolds(condition, features));
  features.Set(Feature::kEmailOpenRate14d, 0.5);
  EXPECT_FALSE(ConditionHolds(condition, features));  // strict

  condition.set_comparison(v1::COMPARISON_LESS_OR_EQUAL);
  EXPECT_TRUE(ConditionHolds(condition, features));
  EXPECT_EQ(ConditionText(condition), "email_open_rate_14d <= 0.5");
  condition.set_comparison(v1::COMPARISON_GREATER_OR_EQUAL);
  EXPECT_TRUE(ConditionHolds(condition, features));
  condition.set_comparison(v1::COMPARISON_GREATER);
  EXPECT_FALSE(ConditionHolds(condition, features));
  EXPECT_EQ(ConditionText(condition), "email_open_rate_14d > 0.5");
  condition.set_comparison(v1::COMPARISON_UNSPECIFIED);
  EXPECT_FALSE(ConditionHolds(condition, features));

  condition.set_feature("not_a_feature");
  condition.set_comparison(v1::COMPARISON_GREATER_OR_EQUAL);
  EXPECT_FALSE(ConditionHolds(condition, features));
}

TEST(ChurnScorerTest, NoDataMeansNoSignalsAndTheLowestProbability) {
  ChurnScorer scorer(ShippedChurnModel());
  v1::ChurnRisk risk = scorer.Score(FeatureVector());
  EXPECT_EQ(risk.active_signals_size(), 0);
  EXPECT_EQ(risk.risk_score(), 0);
  EXPECT_EQ(risk.level(), v1::RISK_LEVEL_LOW);
  EXPECT_DOUBLE_EQ(risk.rule_probability(), 0.05);
  EXPECT_DOUBLE_EQ(risk.probability(), 0.05);
  ASSERT_EQ(risk.categories_size(), 3);
  EXPECT_EQ(risk.categories(0).name(), "behavioural");
  EXPECT_EQ(risk.categories(0).total_weight(), kBehaviouralTotal);
  EXPECT_EQ(risk.categories(1).total_weight(), kSentimentTotal);
  EXPECT_EQ(risk.categories(2).total_weight(), kCompetitiveTotal);
}

TEST(ChurnScorerTest, ActiveSignalIsExplained) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kNps, 6);
  features.Set(Feature::kEmailOpenRate14d, 0.8);  // known but healthy: not active
  v1::ChurnRisk risk = scorer.Score(features);
  ASSERT_EQ(risk.active_signals_size(), 1);
  const v1::ChurnSignal& signal = risk.active_signals(0);
  EXPECT_EQ(signal.name(), "negative_feedback");
  EXPECT_EQ(signal.category(), "sentiment");
  EXPECT_EQ(signal.condition(), "nps < 7");
  EXPECT_EQ(signal.feature(), "nps");
  EXPECT_EQ(signal.threshold(), 7);
  EXPECT_EQ(signal.weight(), 15);
  EXPECT_EQ(signal.observed(), 6);
  // 30 × 15 / 50 = 9.
  EXPECT_DOUBLE_EQ(risk.categories(1).active_weight(), 15);
  EXPECT_DOUBLE_EQ(risk.categories(1).contribution(), 9);
  EXPECT_DOUBLE_EQ(risk.risk_score(), 9);
  EXPECT_EQ(risk.level(), v1::RISK_LEVEL_LOW);
  // 0.05 + (0.35 − 0.05) × 9 / 100.
  EXPECT_DOUBLE_EQ(risk.probability(), 0.05 + 0.30 * 0.09);
}

TEST(ChurnScorerTest, ThresholdsFollowTheirComparison) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kTicketsOpened30d, 3);     // > 3: not active
  features.Set(Feature::kNegativeMentions30d, 1);  // >= 1: active
  features.Set(Feature::kCompetitorVisits7d, 2);   // >= 3: not active
  EXPECT_THAT(SignalNames(scorer.Score(features)), ElementsAre("social"));
  features.Set(Feature::kTicketsOpened30d, 4);
  features.Set(Feature::kCompetitorVisits7d, 3);
  EXPECT_THAT(SignalNames(scorer.Score(features)), ElementsAre("support_up", "social", "competitor_visits"));
}

TEST(ChurnScorerTest, RiskScoreArithmeticByHand) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kDaysLateLastInvoice, 10);      // late_payment, behavioural 15
  features.Set(Feature::kFeatureShare30d, 0.1);         // reduced_usage, behavioural 20
  features.Set(Feature::kCompetitorVisits7d, 5);        // competitor_visits, competitive 10
  features.Set(Feature::kCompetitorEvaluations30d, 1);  // evaluating_competitors, competitive 5
  v1::ChurnRisk risk = scorer.Score(features);
  ASSERT_EQ(risk.active_signals_size(), 4);
  // behavioural 40 × 35/70 = 20; sentiment 0; competitive 30 × 15/50 = 9; total 29.
  EXPECT_DOUBLE_EQ(risk.categories(0).active_weight(), 35);
  EXPECT_DOUBLE_EQ(risk.categories(0).contribution(), 20);
  EXPECT_DOUBLE_EQ(risk.categories(1).contribution(), 0);
  EXPECT_DOUBLE_EQ(risk.categories(2).contribution(), 9);
  EXPECT_DOUBLE_EQ(risk.risk_score(), 29);
  EXPECT_EQ(risk.level(), v1::RISK_LEVEL_HIGH);
  // 0.70 + 0.25 × 0.29.
  EXPECT_DOUBLE_EQ(risk.rule_probability(), 0.70 + 0.25 * 0.29);
  EXPECT_DOUBLE_EQ(risk.probability(), risk.rule_probability());
  EXPECT_EQ(risk.red_flags_size(), 0);
}

TEST(ChurnScorerTest, EverySignalActiveScores100) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kEmailOpenRate14d, 0);
  features.Set(Feature::kFeatureShare30d, 0);
  features.Set(Feature::kTicketsOpened30d, 10);
  features.Set(Feature::kDaysLateLastInvoice, 30);
  features.Set(Feature::kLoginFrequencyRatio, 0);
  features.Set(Feature::kNps, 0);
  features.Set(Feature::kFeedbackSentiment, 0);
  features.Set(Feature::kNegativeMentions30d, 3);
  features.Set(Feature::kSurveySatisfaction, 0);
  features.Set(Feature::kTicketSentiment90d, 0);
  features.Set(Feature::kCompetitorVisits7d, 9);
  features.Set(Feature::kCompetitorSearches30d, 9);
  features.Set(Feature::kCompetitorEvaluations30d, 9);
  features.Set(Feature::kCompetitorTrials30d, 9);
  features.Set(Feature::kContractReviews30d, 9);
  v1::ChurnRisk risk = scorer.Score(features);
  EXPECT_EQ(risk.active_signals_size(), 15);
  EXPECT_DOUBLE_EQ(risk.risk_score(), 100);
  EXPECT_DOUBLE_EQ(risk.rule_probability(), 0.95);
  EXPECT_THAT(RedFlagNames(risk),
              ElementsAre("competitor_trial_and_searching_alternatives",
                          "contract_review_and_searching_alternatives", "nps_below_5_and_reduced_usage"));
  EXPECT_DOUBLE_EQ(risk.probability(), 0.95);  // above every floor already
}

struct LevelCase {
  int signals;
  v1::RiskLevel level;
  double min;
  double max;
};

// Activates the first `count` behavioural/sentiment signals (no red flag among them).
FeatureVector WithSignals(int count) {
  const std::vector<std::pair<Feature, double>> triggers = {
      {Feature::kEmailOpenRate14d, 0.1},  {Feature::kTicketsOpened30d, 9},
      {Feature::kDaysLateLastInvoice, 9}, {Feature::kLoginFrequencyRatio, 0.1},
      {Feature::kFeedbackSentiment, 0.1}, {Feature::kSurveySatisfaction, 2}};
  FeatureVector features;
  for (int i = 0; i < count; ++i) features.Set(triggers[i].first, triggers[i].second);
  return features;
}

TEST(ChurnScorerTest, LevelByCountAndProbabilityInsideItsRange) {
  ChurnScorer scorer(ShippedChurnModel());
  for (const LevelCase& c :
       {LevelCase{0, v1::RISK_LEVEL_LOW, 0.05, 0.35}, LevelCase{1, v1::RISK_LEVEL_LOW, 0.05, 0.35},
        LevelCase{2, v1::RISK_LEVEL_MEDIUM, 0.40, 0.70}, LevelCase{3, v1::RISK_LEVEL_HIGH, 0.70, 0.95},
        LevelCase{6, v1::RISK_LEVEL_HIGH, 0.70, 0.95}}) {
    v1::ChurnRisk risk = scorer.Score(WithSignals(c.signals));
    ASSERT_EQ(risk.active_signals_size(), c.signals);
    EXPECT_EQ(risk.level(), c.level) << c.signals;
    EXPECT_GE(risk.probability(), c.min) << c.signals;
    EXPECT_LE(risk.probability(), c.max) << c.signals;
    EXPECT_DOUBLE_EQ(risk.probability(), c.min + (c.max - c.min) * risk.risk_score() / 100) << c.signals;
  }
}

TEST(ChurnScorerTest, ProbabilityIsMonotoneAsSignalsAccumulate) {
  ChurnScorer scorer(ShippedChurnModel());
  double previous_probability = -1;
  double previous_risk = -1;
  for (int count = 0; count <= 6; ++count) {
    v1::ChurnRisk risk = scorer.Score(WithSignals(count));
    EXPECT_GT(risk.risk_score(), previous_risk) << count;
    EXPECT_GE(risk.probability(), previous_probability) << count;
    previous_probability = risk.probability();
    previous_risk = risk.risk_score();
  }
}

TEST(ChurnScorerTest, ProbabilityRisesWithRiskAtTheSameLevel) {
  ChurnScorer scorer(ShippedChurnModel());
  // Two signals each: 10 + 10 points of behavioural weight versus 20 + 15.
  FeatureVector light;
  light.Set(Feature::kTicketsOpened30d, 9);
  light.Set(Feature::kLoginFrequencyRatio, 0.1);
  FeatureVector heavy;
  heavy.Set(Feature::kFeatureShare30d, 0.05);
  heavy.Set(Feature::kDaysLateLastInvoice, 9);
  v1::ChurnRisk a = scorer.Score(light);
  v1::ChurnRisk b = scorer.Score(heavy);
  ASSERT_EQ(a.level(), v1::RISK_LEVEL_MEDIUM);
  ASSERT_EQ(b.level(), v1::RISK_LEVEL_MEDIUM);
  EXPECT_LT(a.risk_score(), b.risk_score());
  EXPECT_LT(a.probability(), b.probability());
}

TEST(ChurnScorerTest, CompetitorTrialAndSearchingAlternativesFloorAt90) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kCompetitorTrials30d, 1);
  features.Set(Feature::kCompetitorSearches30d, 1);
  v1::ChurnRisk risk = scorer.Score(features);
  EXPECT_EQ(risk.level(), v1::RISK_LEVEL_MEDIUM);
  EXPECT_LT(risk.rule_probability(), 0.90);
  EXPECT_GE(risk.probability(), 0.90);
  EXPECT_DOUBLE_EQ(risk.probability(), 0.90);
  ASSERT_EQ(risk.red_flags_size(), 1);
  EXPECT_EQ(risk.red_flags(0).name(), "competitor_trial_and_searching_alternatives");
  EXPECT_DOUBLE_EQ(risk.red_flags(0).probability_floor(), 0.90);
}

TEST(ChurnScorerTest, ContractReviewAndSearchingFloorAt80) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kContractReviews30d, 1);
  features.Set(Feature::kCompetitorSearches30d, 2);
  v1::ChurnRisk risk = scorer.Score(features);
  EXPECT_GE(risk.probability(), 0.80);
  EXPECT_THAT(RedFlagNames(risk), ElementsAre("contract_review_and_searching_alternatives"));
}

TEST(ChurnScorerTest, LowNpsAndReducedUsageFloorAt75) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kNps, 4);
  features.Set(Feature::kFeatureShare30d, 0.2);
  v1::ChurnRisk risk = scorer.Score(features);
  EXPECT_DOUBLE_EQ(risk.probability(), 0.75);
  EXPECT_THAT(RedFlagNames(risk), ElementsAre("nps_below_5_and_reduced_usage"));
  // NPS 5 is a detractor signal but not the red flag.
  features.Set(Feature::kNps, 5);
  EXPECT_TRUE(scorer.Score(features).red_flags().empty());
}

TEST(ChurnScorerTest, HalfARedFlagIsNoRedFlag) {
  ChurnScorer scorer(ShippedChurnModel());
  FeatureVector features;
  features.Set(Feature::kCompetitorTrials30d, 1);
  features.Set(Feature::kCompetitorSearches30d, 0);
  v1::ChurnRisk risk = scorer.Score(features);
  EXPECT_TRUE(risk.red_flags().empty());
  EXPECT_LT(risk.probability(), 0.35);
}

TEST(ChurnScorerTest, LevelNamesMapToTheEnum) {
  EXPECT_EQ(RiskLevelFromName("low"), v1::RISK_LEVEL_LOW);
  EXPECT_EQ(RiskLevelFromName("medium"), v1::RISK_LEVEL_MEDIUM);
  EXPECT_EQ(RiskLevelFromName("high"), v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(RiskLevelFromName("elevated"), v1::RISK_LEVEL_UNSPECIFIED);

  v1::ChurnModel model = ShippedChurnModel();
  model.mutable_levels(1)->set_name("elevated");
  ChurnScorer scorer(model);
  v1::ChurnRisk risk = scorer.Score(WithSignals(2));
  EXPECT_EQ(risk.level(), v1::RISK_LEVEL_UNSPECIFIED);
  EXPECT_GE(risk.probability(), 0.40);  // the rule still applies
}

}  // namespace
}  // namespace steward::scoring
