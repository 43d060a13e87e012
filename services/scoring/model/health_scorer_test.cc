#include "services/scoring/model/health_scorer.h"

#include <cstdlib>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scoring/model/model_config.h"

namespace steward::scoring {
namespace {

const v1::ScoringModel& ShippedModel(const std::string& name) {
  static auto* const models = [] {
    const char* dir = std::getenv("STEWARD_SOURCE_DIR");
    absl::StatusOr<ModelSet> set = LoadModelDirectory(std::string(dir != nullptr ? dir : ".") + "/config");
    EXPECT_TRUE(set.ok()) << set.status();
    return new ModelSet(set.ok() ? *std::move(set) : ModelSet());
  }();
  return models->models.at(name);
}

const v1::ComponentScore& Component(const v1::HealthScore& score, const std::string& name) {
  for (const v1::ComponentScore& component : score.components()) {
    if (component.name() == name) return component;
  }
  ADD_FAILURE() << "no component " << name;
  static const v1::ComponentScore* const empty = new v1::ComponentScore();
  return *empty;
}

struct BandCase {
  std::string model;
  double nps;        // the only known feature; its normalisation is nps × 10
  double referrals;  // chs bonus input; 0 leaves it unknown
  double expected_score;
  std::string expected_band;
};

class BandEdgeTest : public ::testing::TestWithParam<BandCase> {};

// With one known input, the score is that input's normalised value (plus bonus), rounded half away
// from zero; x.4 rounds down and x.5 up, so each pair straddles a band edge.
TEST_P(BandEdgeTest, ScoreLandsInTheRightBand) {
  const BandCase& c = GetParam();
  HealthScorer scorer(ShippedModel(c.model));
  FeatureVector features;
  features.Set(Feature::kNps, c.nps);
  if (c.referrals > 0) features.Set(Feature::kReferrals90d, c.referrals);
  v1::HealthScore score = scorer.Score(features);
  EXPECT_EQ(score.score(), c.expected_score);
  EXPECT_EQ(score.band(), c.expected_band);
  EXPECT_EQ(score.model(), c.model);
}

INSTANTIATE_TEST_SUITE_P(
    Health, BandEdgeTest,
    ::testing::Values(BandCase{"health", 4.94, 0, 49, "critical"}, BandCase{"health", 4.95, 0, 50, "at_risk"},
                      BandCase{"health", 6.94, 0, 69, "at_risk"}, BandCase{"health", 6.95, 0, 70, "good"},
                      BandCase{"health", 8.94, 0, 89, "good"}, BandCase{"health", 8.95, 0, 90, "excellent"},
                      BandCase{"health", 0, 0, 0, "critical"}, BandCase{"health", 10, 0, 100, "excellent"}));

INSTANTIATE_TEST_SUITE_P(
    Chs, BandEdgeTest,
    ::testing::Values(BandCase{"chs", 4.04, 0, 40, "red"}, BandCase{"chs", 4.05, 0, 41, "yellow"},
                      BandCase{"chs", 7.04, 0, 70, "yellow"}, BandCase{"chs", 7.05, 0, 71, "green"},
                      // 95 + 5 bonus points for one referral = 100, still green; 96 + 5 = 101 thrives.
                      BandCase{"chs", 9.5, 1, 100, "green"}, BandCase{"chs", 9.6, 1, 101, "thriving"}));

INSTANTIATE_TEST_SUITE_P(Retention, BandEdgeTest,
                         ::testing::Values(BandCase{"retention", 3.94, 0, 39, "at_risk_retention"},
                                           BandCase{"retention", 3.95, 0, 40, "re_engagement"},
                                           BandCase{"retention", 5.95, 0, 60, "engagement_campaigns"},
                                           BandCase{"retention", 7.95, 0, 80, "upsell_advocacy"}));

TEST(HealthScorerTest, BandCarriesItsAction) {
  HealthScorer scorer(ShippedModel("health"));
  FeatureVector features;
  features.Set(Feature::kNps, 4);
  v1::HealthScore score = scorer.Score(features);
  EXPECT_EQ(score.band(), "critical");
  EXPECT_THAT(score.action(), ::testing::HasSubstr("daily check-in"));
}

TEST(HealthScorerTest, SingleKnownComponentTakesAllTheWeight) {
  HealthScorer scorer(ShippedModel("health"));
  FeatureVector features;
  features.Set(Feature::kNps, 7);
  v1::HealthScore score = scorer.Score(features);
  const v1::ComponentScore& satisfaction = Component(score, "satisfaction");
  EXPECT_TRUE(satisfaction.known());
  EXPECT_DOUBLE_EQ(satisfaction.weight(), 20);
  EXPECT_DOUBLE_EQ(satisfaction.effective_weight(), 100);
  EXPECT_DOUBLE_EQ(satisfaction.value(), 70);
  ASSERT_EQ(satisfaction.inputs_size(), 1);
  EXPECT_EQ(satisfaction.inputs(0).feature(), "nps");
  EXPECT_DOUBLE_EQ(satisfaction.inputs(0).observed(), 7);
  EXPECT_DOUBLE_EQ(satisfaction.inputs(0).normalized(), 70);
  EXPECT_DOUBLE_EQ(satisfaction.inputs(0).weight(), 100);
  EXPECT_THAT(satisfaction.missing_inputs(),
              ::testing::ElementsAre("csat", "ticket_sentiment_90d", "open_tickets"));
  for (const char* name : {"usage", "adoption", "expansion"}) {
    EXPECT_FALSE(Component(score, name).known()) << name;
    EXPECT_EQ(Component(score, name).effective_weight(), 0) << name;
  }
}

TEST(HealthScorerTest, UnknownComponentsAreLeftOutAndTheRestRenormalised) {
  HealthScorer scorer(ShippedModel("health"));
  FeatureVector features;
  features.Set(Feature::kActiveDays30d, 10);     // 50
  features.Set(Feature::kFeatureShare30d, 0.6);  // 100; feature_uses_30d unknown
  features.Set(Feature::kNps, 10);               // 100
  v1::HealthScore score = scorer.Score(features);

  const v1::ComponentScore& usage = Component(score, "usage");
  EXPECT_TRUE(usage.known());
  // Inputs weighted 40 and 40 of the known 80: 50% each, value (50 + 100) / 2.
  EXPECT_DOUBLE_EQ(usage.value(), 75);
  ASSERT_EQ(usage.inputs_size(), 2);
  EXPECT_DOUBLE_EQ(usage.inputs(0).weight(), 50);
  EXPECT_DOUBLE_EQ(usage.inputs(1).weight(), 50);
  EXPECT_THAT(usage.missing_inputs(), ::testing::ElementsAre("feature_uses_30d"));

  // Usage 40 and satisfaction 20 known: they become 66.7% and 33.3%.
  EXPECT_NEAR(usage.effective_weight(), 200.0 / 3, 1e-9);
  EXPECT_NEAR(Component(score, "satisfaction").effective_weight(), 100.0 / 3, 1e-9);
  EXPECT_FALSE(Component(score, "adoption").known());
  EXPECT_FALSE(Component(score, "expansion").known());
  // (40 × 75 + 20 × 100) / 60 = 83.33 → 83.
  EXPECT_EQ(score.score(), 83);
  EXPECT_EQ(score.band(), "good");
}

TEST(HealthScorerTest, EveryComponentKnownUsesModelWeights) {
  HealthScorer scorer(ShippedModel("health"));
  FeatureVector features;
  features.Set(Feature::kActiveDays30d, 20);      // usage 100
  features.Set(Feature::kSeatUtilization, 0.45);  // adoption 50
  features.Set(Feature::kNps, 0);                 // satisfaction 0
  features.Set(Feature::kExpansions90d, 1);       // expansion 100
  v1::HealthScore score = scorer.Score(features);
  // 0.4 × 100 + 0.3 × 50 + 0.2 × 0 + 0.1 × 100 = 65.
  EXPECT_EQ(score.score(), 65);
  EXPECT_EQ(score.band(), "at_risk");
  for (const v1::ComponentScore& component : score.components()) {
    EXPECT_DOUBLE_EQ(component.effective_weight(), component.weight()) << component.name();
  }
}

TEST(HealthScorerTest, LowerIsBetterNormalisation) {
  HealthScorer scorer(ShippedModel("health"));
  // open_tickets normalises 5 → 0 and 0 → 100.
  for (auto [open, expected] : {std::pair{0.0, 100.0}, {2.0, 60.0}, {5.0, 0.0}, {12.0, 0.0}}) {
    FeatureVector features;
    features.Set(Feature::kOpenTickets, open);
    v1::HealthScore score = scorer.Score(features);
    EXPECT_EQ(score.score(), expected) << open;
    EXPECT_DOUBLE_EQ(Component(score, "satisfaction").inputs(0).normalized(), expected) << open;
  }
}

TEST(HealthScorerTest, NormalisationClampsAbove) {
  HealthScorer scorer(ShippedModel("health"));
  FeatureVector features;
  features.Set(Feature::kActiveDays30d, 30);  // beyond high: 20
  v1::HealthScore score = scorer.Score(features);
  EXPECT_DOUBLE_EQ(Component(score, "usage").inputs(0).normalized(), 100);
  EXPECT_EQ(score.score(), 100);
}

TEST(HealthScorerTest, NothingKnownScoresZeroInTheLowestBand) {
  HealthScorer scorer(ShippedModel("chs"));
  FeatureVector features;
  features.Set(Feature::kReferrals90d, 2);  // a bonus alone is not a score
  v1::HealthScore score = scorer.Score(features);
  EXPECT_EQ(score.score(), 0);
  EXPECT_EQ(score.bonus_points(), 0);
  EXPECT_EQ(score.band(), "red");
  EXPECT_EQ(score.action(), "CSM alert and account review");
  ASSERT_EQ(score.components_size(), 4);
  for (const v1::ComponentScore& component : score.components()) EXPECT_FALSE(component.known());
}

TEST(HealthScorerTest, BonusIsCappedAndNeedsAPositiveValue) {
  HealthScorer scorer(ShippedModel("chs"));
  FeatureVector features;
  features.Set(Feature::kNps, 5);            // 50
  features.Set(Feature::kReferrals90d, 3);   // 15, capped at 10
  features.Set(Feature::kExpansions90d, 0);  // known but 0: no points
  v1::HealthScore score = scorer.Score(features);
  EXPECT_EQ(score.bonus_points(), 10);
  EXPECT_EQ(score.score(), 60);
  features.Set(Feature::kExpansions90d, 1);
  EXPECT_EQ(scorer.Score(features).bonus_points(), 15);
}

TEST(HealthScorerTest, ModelBuiltInCodeWithUnsortedBands) {
  v1::ScoringModel model;
  model.set_name("custom");
  v1::ModelComponent* component = model.add_components();
  component->set_name("only");
  component->set_weight(100);
  v1::ModelInput* a = component->add_inputs();
  a->set_feature("csat");
  a->set_weight(3);
  a->mutable_normalize()->set_low(1);
  a->mutable_normalize()->set_high(5);
  v1::ModelInput* b = component->add_inputs();
  b->set_feature("nps");
  b->set_weight(1);
  b->mutable_normalize()->set_high(10);
  for (auto [name, min] : {std::pair{"mid", 40.0}, {"bottom", 0.0}, {"top", 80.0}}) {
    v1::ModelBand* band = model.add_bands();
    band->set_name(name);
    band->set_min_score(min);
  }
  ASSERT_TRUE(ValidateScoringModel(model).ok());
  HealthScorer scorer(model);
  EXPECT_EQ(scorer.model().name(), "custom");

  FeatureVector features;
  features.Set(Feature::kCsat, 4);  // 75, weight 3
  features.Set(Feature::kNps, 2);   // 20, weight 1
  v1::HealthScore score = scorer.Score(features);
  // (3 × 75 + 1 × 20) / 4 = 61.25 → 61.
  EXPECT_DOUBLE_EQ(score.components(0).value(), 61.25);
  EXPECT_DOUBLE_EQ(score.components(0).inputs(0).weight(), 75);
  EXPECT_DOUBLE_EQ(score.components(0).inputs(1).weight(), 25);
  EXPECT_EQ(score.score(), 61);
  EXPECT_EQ(score.band(), "mid");
}

TEST(RoundScoreTest, HalfAwayFromZero) {
  EXPECT_EQ(RoundScore(49.4), 49);
  EXPECT_EQ(RoundScore(49.5), 50);
  EXPECT_EQ(RoundScore(49.499999999999993), 50);  // floating-point noise around an exact half
  EXPECT_EQ(RoundScore(49.49), 49);
  EXPECT_EQ(RoundScore(-0.5), -1);
  EXPECT_EQ(RoundScore(0), 0);
}

}  // namespace
}  // namespace steward::scoring
