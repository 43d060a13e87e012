#include "services/scoring/predictive/shifted_beta_geometric.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring::predictive {
namespace {

using ::testing::HasSubstr;

// Fader & Hardie (2007): subscribers left of 1,000 at the start of years 0..7.
const std::vector<double> kHighEnd{1000, 869, 743, 653, 593, 551, 517, 491};
const std::vector<double> kRegular{1000, 631, 468, 382, 326, 289, 262, 241};

TEST(FitSbgTest, ReproducesTheHighEndSegment) {
  const absl::StatusOr<SbgFit> fit = FitSbg(kHighEnd);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->statistics.converged);
  EXPECT_NEAR(fit->params.alpha, 0.668, 0.005);
  EXPECT_NEAR(fit->params.beta, 3.806, 0.005);
  RecordProperty("alpha", std::to_string(fit->params.alpha));
  RecordProperty("beta", std::to_string(fit->params.beta));
  RecordProperty("log_likelihood", std::to_string(fit->statistics.log_likelihood));
  EXPECT_NEAR(fit->statistics.log_likelihood, SbgLogLikelihood(fit->params, kHighEnd), 1e-9);
}

TEST(FitSbgTest, ReproducesTheRegularSegment) {
  const absl::StatusOr<SbgFit> fit = FitSbg(kRegular);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->statistics.converged);
  EXPECT_NEAR(fit->params.alpha, 0.704, 0.005);
  EXPECT_NEAR(fit->params.beta, 1.182, 0.005);
  RecordProperty("alpha", std::to_string(fit->params.alpha));
  RecordProperty("beta", std::to_string(fit->params.beta));
  RecordProperty("log_likelihood", std::to_string(fit->statistics.log_likelihood));
}

TEST(FitSbgTest, FractionsOfTheCohortGiveTheSameFit) {
  std::vector<double> fractions;
  for (double count : kHighEnd) fractions.push_back(count / 1000.0);
  const absl::StatusOr<SbgFit> from_counts = FitSbg(kHighEnd), from_fractions = FitSbg(fractions);
  ASSERT_TRUE(from_counts.ok() && from_fractions.ok());
  EXPECT_NEAR(from_fractions->params.alpha, from_counts->params.alpha, 1e-6);
  EXPECT_NEAR(from_fractions->params.beta, from_counts->params.beta, 1e-6);
}

TEST(FitSbgTest, RejectsDegenerateSeries) {
  struct Case {
    std::vector<double> alive;
    const char* message;
  };
  const Case cases[] = {
      {{}, "got 0 values"},
      {{1000}, "got 1 values"},
      {{0, 0, 0}, "alive[0], the cohort size, must be positive"},
      {{1000, 900, 950}, "alive[2] (950) exceeds alive[1] (900)"},
      {{1000, -5}, "alive[1] (-5) must be finite and >= 0"},
      {{1000, 0, 0}, "nobody remains after period 1"},
      {{1000, 1000, 1000}, "nobody cancelled"},
  };
  for (const Case& k : cases) {
    const absl::StatusOr<SbgFit> fit = FitSbg(k.alive);
    EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument) << k.message;
    EXPECT_THAT(fit.status().message(), HasSubstr(k.message));
  }
}

TEST(SbgCurveTest, SurvivalRetentionAndChurnAgree) {
  const SbgParams p{0.668, 3.806};
  EXPECT_EQ(SbgSurvival(p, 0), 1.0);
  EXPECT_NEAR(SbgSurvival(p, 1), p.beta / (p.alpha + p.beta), 1e-15);
  const std::vector<double> projected = SbgProjectSurvival(p, 12);
  ASSERT_EQ(projected.size(), 13u);
  double churned = 0.0;
  for (int t = 1; t <= 12; ++t) {
    EXPECT_NEAR(projected[t], SbgSurvival(p, t), 1e-14) << t;
    EXPECT_NEAR(SbgRetentionRate(p, t), SbgSurvival(p, t) / SbgSurvival(p, t - 1), 1e-14) << t;
    // Retention rises: the likeliest to leave go first.
    if (t > 1) {
      EXPECT_GT(SbgRetentionRate(p, t), SbgRetentionRate(p, t - 1));
    }
    churned += SbgChurnProbability(p, t);
    EXPECT_NEAR(churned + SbgSurvival(p, t), 1.0, 1e-14) << t;
  }
}

// Σ_{k≥0} S(n+1+k)/S(n) (1+d)^−k, term by term from the retention rates.
double DerlBySummation(const SbgParams& p, double d, int n) {
  double survival_ratio = 1.0, discount = 1.0, sum = 0.0;
  for (int m = n; m < n + 200'000; ++m) {
    survival_ratio *= (p.beta + m) / (p.alpha + p.beta + m);
    sum += survival_ratio * discount;
    discount /= 1.0 + d;
    if (survival_ratio * discount < 1e-18 * sum) break;
  }
  return sum;
}

TEST(SbgDerlTest, MatchesTheDiscountedSumOfSurvival) {
  for (const SbgParams& p : {SbgParams{0.668, 3.806}, SbgParams{0.704, 1.182}, SbgParams{3.8, 15.2}}) {
    for (double d : {0.2, 0.1, 0.01}) {
      for (int n : {0, 1, 4, 1000}) {
        const double expected = DerlBySummation(p, d, n);
        EXPECT_NEAR(SbgDiscountedExpectedResidualLifetime(p, d, n), expected, 1e-9 * expected)
            << "alpha " << p.alpha << " d " << d << " n " << n;
      }
    }
  }
}

TEST(SbgDerlTest, RisesWithRenewalsAndFallsWithTheDiscountRate) {
  const SbgParams p{0.704, 1.182};
  double previous = 0.0;
  for (int n = 0; n <= 10; ++n) {
    const double derl = SbgDiscountedExpectedResidualLifetime(p, 0.1, n);
    EXPECT_GT(derl, previous) << n;
    previous = derl;
  }
  EXPECT_GT(SbgDiscountedExpectedResidualLifetime(p, 0.05, 3),
            SbgDiscountedExpectedResidualLifetime(p, 0.1, 3));
  EXPECT_NEAR(SbgDiscountedResidualValue(p, 50.0, 0.1, 3),
              50.0 * SbgDiscountedExpectedResidualLifetime(p, 0.1, 3), 1e-9);
}

TEST(SbgResidualLifetimeTest, ClosedFormAndItsLimit) {
  EXPECT_TRUE(std::isinf(SbgExpectedResidualLifetime({0.668, 3.806}, 0)));
  const SbgParams p{3.8, 15.2};
  EXPECT_NEAR(SbgExpectedResidualLifetime(p, 4), 19.2 / 2.8, 1e-14);
  // DERL tends to it as the discount rate goes to 0.
  EXPECT_NEAR(SbgDiscountedExpectedResidualLifetime(p, 1e-7, 4), 19.2 / 2.8, 1e-4);
}

}  // namespace
}  // namespace steward::scoring::predictive
