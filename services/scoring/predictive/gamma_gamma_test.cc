#include "services/scoring/predictive/gamma_gamma.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scoring/predictive/synthetic_customers.h"

namespace steward::scoring::predictive {
namespace {

using ::testing::HasSubstr;

// Fader & Hardie's CDNOW estimates.
constexpr GammaGammaParams kCdnow{6.25, 3.74, 15.44};

TEST(GammaGammaLogLikelihoodTest, IsADensityOverTheMeanValue) {
  // ∫ f(m | x) dm = 1, integrated in u = ln m by the trapezoid rule (the integrand is smooth and
  // vanishes at both ends).
  for (double x : {1.0, 3.0, 20.0}) {
    double integral = 0.0;
    const double du = 1e-3;
    for (double u = -15.0; u <= 15.0; u += du) {
      integral += std::exp(GammaGammaLogLikelihood(kCdnow, {x, std::exp(u)}) + u) * du;
    }
    EXPECT_NEAR(integral, 1.0, 1e-6) << "x = " << x;
  }
}

TEST(GammaGammaExpectedValueTest, WeighsPopulationAndOwnMean) {
  const double population_mean = kCdnow.p * kCdnow.gamma / (kCdnow.q - 1.0);
  EXPECT_NEAR(GammaGammaConditionalExpectedValue(kCdnow, 0, 0), population_mean, 1e-12);
  // The more transactions, the closer to the customer's own mean.
  double previous_gap = std::abs(population_mean - 100.0);
  for (double x : {1.0, 2.0, 5.0, 50.0}) {
    const double expected = GammaGammaConditionalExpectedValue(kCdnow, x, 100.0);
    EXPECT_GT(expected, population_mean);
    EXPECT_LT(std::abs(expected - 100.0), previous_gap);
    previous_gap = std::abs(expected - 100.0);
  }
  // Hardie's spreadsheet: x = 2, mean 22.345 → 24.65 (CDNOW's first customer).
  EXPECT_NEAR(GammaGammaConditionalExpectedValue(kCdnow, 2, 22.345), 24.65, 0.01);
  // No population mean when q ≤ 1.
  EXPECT_TRUE(std::isnan(GammaGammaConditionalExpectedValue({6.25, 0.9, 15.44}, 0, 0)));
}

TEST(FitGammaGammaTest, RecoversTheParametersOfSimulatedCustomers) {
  SyntheticPopulation population;
  population.purchases = {2.0, 4.0, 0.5, 5.0};  // Busy buyers, so most customers have repeat purchases.
  population.spend = {6.0, 4.0, 15.0};
  std::vector<MonetarySummary> values;
  for (const SyntheticCustomer& c : DrawSyntheticCustomers(population, 20'000, 11)) {
    if (c.rfm.x >= 1) values.push_back({c.rfm.x, c.mean_repeat_value});
  }
  ASSERT_GT(values.size(), 10'000u);
  const absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(values);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->statistics.converged);
  // The maximum is at least as likely as the truth, and the truth inside the likelihood-ratio region:
  // 2 (LL_max − LL_true) < 16.27, the 99.9% point of χ² with 3 degrees of freedom.
  double truth_log_likelihood = 0.0;
  for (const MonetarySummary& c : values)
    truth_log_likelihood += GammaGammaLogLikelihood(population.spend, c);
  EXPECT_GE(fit->statistics.log_likelihood, truth_log_likelihood);
  EXPECT_LT(2 * (fit->statistics.log_likelihood - truth_log_likelihood), 16.27);
  EXPECT_NEAR(fit->params.p, 6.0, 1.0);
  EXPECT_NEAR(fit->params.q, 4.0, 0.6);
  EXPECT_NEAR(fit->params.gamma, 15.0, 2.5);
  // A money unit a hundred times smaller (cents) scales γ and nothing else.
  std::vector<MonetarySummary> cents = values;
  for (MonetarySummary& c : cents) c.mean_value *= 100;
  const absl::StatusOr<GammaGammaFit> in_cents = FitGammaGamma(cents);
  ASSERT_TRUE(in_cents.ok());
  EXPECT_NEAR(in_cents->params.p, fit->params.p, 1e-4);
  EXPECT_NEAR(in_cents->params.q, fit->params.q, 1e-4);
  EXPECT_NEAR(in_cents->params.gamma, 100 * fit->params.gamma, 1e-4 * in_cents->params.gamma);
}

TEST(FitGammaGammaTest, RejectsEmptyAndInvalidInput) {
  const absl::StatusOr<GammaGammaFit> empty = FitGammaGamma({});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("no customers"));
  struct Case {
    MonetarySummary row;
    const char* message;
  };
  const Case cases[] = {
      {{0, 10}, "x (0) must be a positive integer"},
      {{2.5, 10}, "x (2.5) must be a positive integer"},
      {{2, 0}, "mean_value (0) must be positive"},
      {{2, -3}, "mean_value (-3) must be positive"},
      {{2, std::nan("")}, "mean_value (nan) must be positive"},
  };
  for (const Case& k : cases) {
    const std::vector<MonetarySummary> rows{{1, 20}, {3, 25}, k.row};
    const absl::StatusOr<GammaGammaFit> fit = FitGammaGamma(rows);
    EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument) << k.message;
    EXPECT_THAT(fit.status().message(), HasSubstr("customers[2]"));
    EXPECT_THAT(fit.status().message(), HasSubstr(k.message));
  }
}

}  // namespace
}  // namespace steward::scoring::predictive
