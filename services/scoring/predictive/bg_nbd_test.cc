#include "services/scoring/predictive/bg_nbd.h"

#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/scoring/predictive/special_functions.h"
#include "services/scoring/predictive/synthetic_customers.h"

namespace steward::scoring::predictive {
namespace {

using ::testing::HasSubstr;

// Fader, Hardie & Lee's CDNOW estimates.
constexpr BgNbdParams kCdnow{0.243, 4.414, 0.793, 2.426};

// Equation 6 exactly as printed, with Γ and powers (no logs): fine for small x.
double PrintedLikelihood(const BgNbdParams& p, const RfmSummary& c) {
  const double a1 = std::tgamma(p.r + c.x) * std::pow(p.alpha, p.r) / std::tgamma(p.r);
  const double a2 =
      std::tgamma(p.a + p.b) * std::tgamma(p.b + c.x) / (std::tgamma(p.b) * std::tgamma(p.a + p.b + c.x));
  const double a3 = std::pow(1.0 / (p.alpha + c.T), p.r + c.x);
  const double a4 = c.x > 0 ? p.a / (p.b + c.x - 1.0) * std::pow(1.0 / (p.alpha + c.t_x), p.r + c.x) : 0.0;
  return a1 * a2 * (a3 + a4);
}

// Equation 10 exactly as printed, through Hyp2F1 with the untransformed parameters.
double PrintedConditionalExpectation(const BgNbdParams& p, const RfmSummary& c, double t) {
  const double z = t / (p.alpha + c.T + t);
  const double bracket = 1.0 - std::pow((p.alpha + c.T) / (p.alpha + c.T + t), p.r + c.x) *
                                   Hyp2F1(p.r + c.x, p.b + c.x, p.a + p.b + c.x - 1.0, z);
  const double denominator =
      1.0 +
      (c.x > 0 ? p.a / (p.b + c.x - 1.0) * std::pow((p.alpha + c.T) / (p.alpha + c.t_x), p.r + c.x) : 0.0);
  return (p.a + p.b + c.x - 1.0) / (p.a - 1.0) * bracket / denominator;
}

TEST(BgNbdLogLikelihoodTest, MatchesThePrintedFormula) {
  for (const RfmSummary& c : {RfmSummary{0, 0, 38.86}, RfmSummary{2, 30.43, 38.86}, RfmSummary{7, 35.0, 36.0},
                              RfmSummary{1, 0.14, 27.0}}) {
    EXPECT_NEAR(BgNbdLogLikelihood(kCdnow, c), std::log(PrintedLikelihood(kCdnow, c)), 1e-12) << c.x;
  }
}

TEST(BgNbdLogLikelihoodTest, StaysAccurateWhereThePrintedFormulaUnderflows) {
  // (α + T)^−(r+x) ≈ 1e−767 for x = 400 underflows a double; long double still holds the printed formula.
  const BgNbdParams& p = kCdnow;
  const RfmSummary heavy_buyer{400, 77.0, 78.0};
  const long double x = heavy_buyer.x, r = p.r, alpha = p.alpha, a = p.a, b = p.b;
  const long double printed = std::tgamma(r + x) * std::pow(alpha, r) / std::tgamma(r) * std::tgamma(a + b) *
                              std::tgamma(b + x) / (std::tgamma(b) * std::tgamma(a + b + x)) *
                              (std::pow(alpha + heavy_buyer.T, -(r + x)) +
                               a / (b + x - 1) * std::pow(alpha + heavy_buyer.t_x, -(r + x)));
  EXPECT_EQ(std::pow(p.alpha + heavy_buyer.T, -(p.r + heavy_buyer.x)),
            0.0);  // The double version underflows.
  EXPECT_NEAR(BgNbdLogLikelihood(p, heavy_buyer), static_cast<double>(std::log(printed)), 1e-9);
}

TEST(BgNbdProbabilityAliveTest, NoRepeatPurchaseMeansAlive) {
  EXPECT_EQ(BgNbdProbabilityAlive(kCdnow, {0, 0, 38.86}), 1.0);
  EXPECT_EQ(BgNbdProbabilityAlive(kCdnow, {0, 0, 1e6}), 1.0);
}

TEST(BgNbdProbabilityAliveTest, FallsWithTimeSinceTheLastPurchase) {
  double previous = 1.0;
  for (double T : {10.0, 20.0, 40.0, 80.0, 1000.0}) {
    const double p = BgNbdProbabilityAlive(kCdnow, {3, 10.0, T});
    EXPECT_GT(p, 0.0);
    EXPECT_LE(p, previous) << T;
    previous = p;
  }
  // Buying up to the end of the period: as alive as it gets, 1 / (1 + a/(b+x−1)).
  EXPECT_NEAR(BgNbdProbabilityAlive(kCdnow, {3, 40.0, 40.0}), 1.0 / (1.0 + 0.793 / 4.426), 1e-15);
  // A frequent buyer who stopped long ago: essentially gone, without overflow.
  EXPECT_LT(BgNbdProbabilityAlive(kCdnow, {300, 1.0, 78.0}), 1e-100);
}

TEST(BgNbdExpectationTest, MatchesThePrintedFormula) {
  for (const RfmSummary& c :
       {RfmSummary{0, 0, 38.86}, RfmSummary{2, 30.43, 38.86}, RfmSummary{7, 35.0, 36.0}}) {
    for (double t : {1.0, 39.0, 78.0, 520.0}) {
      EXPECT_NEAR(BgNbdConditionalExpectedTransactions(kCdnow, c, t),
                  PrintedConditionalExpectation(kCdnow, c, t), 1e-10)
          << "x = " << c.x << ", t = " << t;
    }
  }
}

TEST(BgNbdExpectationTest, NewCustomerStartsAtTheMeanRateAndGrows) {
  EXPECT_EQ(BgNbdExpectedTransactions(kCdnow, 0.0), 0.0);
  // E[X(t)] ≈ t r / α for small t: nobody has dropped out yet.
  EXPECT_NEAR(BgNbdExpectedTransactions(kCdnow, 1e-6) / 1e-6, kCdnow.r / kCdnow.alpha, 1e-6);
  double previous = 0.0;
  for (double t : {0.5, 1.0, 10.0, 39.0, 78.0, 520.0, 5200.0}) {
    const double expected = BgNbdExpectedTransactions(kCdnow, t);
    EXPECT_GT(expected, previous) << t;
    previous = expected;
  }
}

TEST(BgNbdExpectationTest, SmoothThroughAEqualToOne) {
  // a = 1 is a removable singularity of equation 10; within 1e−3 of it the code sums its own series
  // instead of going through Hyp2F1. On a grid across both paths the values must lie on a smooth curve.
  const double delta = 5e-4;
  for (const RfmSummary& c : {RfmSummary{0, 0, 0}, RfmSummary{2, 30.43, 38.86}}) {
    std::vector<double> values;
    for (int k = -4; k <= 4; ++k) {
      BgNbdParams p = kCdnow;
      p.a = 1.0 + k * delta;
      values.push_back(BgNbdConditionalExpectedTransactions(p, c, 52.0));
      ASSERT_TRUE(std::isfinite(values.back())) << p.a;
    }
    // Third differences: δ³ E''' is about 1e−10 for a smooth function; a jump of 1e−9 would show.
    for (std::size_t k = 0; k + 3 < values.size(); ++k) {
      const double third = values[k + 3] - 3 * values[k + 2] + 3 * values[k + 1] - values[k];
      EXPECT_NEAR(third, 0.0, 1e-9) << "x = " << c.x << ", k = " << k;
    }
  }
}

TEST(BgNbdExpectationTest, NewCustomerExpectationMatchesSimulation) {
  // 200,000 customers acquired at 0 and watched for 30 weeks; their mean purchase count against E[X(30)].
  const BgNbdParams p{0.8, 6.0, 0.7, 2.5};
  std::mt19937_64 random(7);
  std::gamma_distribution<double> rate(p.r, 1.0 / p.alpha), ga(p.a, 1.0), gb(p.b, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const int n = 200'000;
  double sum = 0.0, sum_squares = 0.0;
  for (int i = 0; i < n; ++i) {
    const double lambda = rate(random), da = ga(random), dropout = da / (da + gb(random));
    std::exponential_distribution<double> gap(lambda);
    int purchases = 0;
    for (double t = gap(random); t <= 30.0; t += gap(random)) {
      ++purchases;
      if (uniform(random) < dropout) break;
    }
    sum += purchases;
    sum_squares += purchases * purchases;
  }
  const double mean = sum / n, standard_error = std::sqrt((sum_squares / n - mean * mean) / n);
  EXPECT_NEAR(BgNbdExpectedTransactions(p, 30.0), mean, 4.0 * standard_error);
}

TEST(FitBgNbdTest, RecoversTheParametersOfSimulatedCustomers) {
  SyntheticPopulation population;
  population.purchases = {0.8, 6.0, 0.7, 2.5};
  population.spend = {6.0, 4.0, 15.0};
  std::vector<RfmSummary> rfm;
  for (const SyntheticCustomer& c : DrawSyntheticCustomers(population, 20'000, 42)) rfm.push_back(c.rfm);
  const absl::StatusOr<BgNbdFit> fit = FitBgNbd(rfm);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->statistics.converged);
  EXPECT_FALSE(fit->statistics.at_bound);
  EXPECT_NEAR(fit->params.r, 0.8, 0.08);
  EXPECT_NEAR(fit->params.alpha, 6.0, 0.8);
  EXPECT_NEAR(fit->params.a, 0.7, 0.2);
  EXPECT_NEAR(fit->params.b, 2.5, 0.8);
  // The optimum is a stationary point of the plain (ungrouped) log-likelihood: checks the analytic
  // gradient the fit used.
  const double step = 1e-5;
  double* fields[] = {nullptr, nullptr, nullptr, nullptr};
  BgNbdParams probe = fit->params;
  fields[0] = &probe.r;
  fields[1] = &probe.alpha;
  fields[2] = &probe.a;
  fields[3] = &probe.b;
  for (double* field : fields) {
    const double original = *field;
    *field = original * (1 + step);
    const double up = BgNbdLogLikelihood(probe, rfm);
    *field = original * (1 - step);
    const double down = BgNbdLogLikelihood(probe, rfm);
    *field = original;
    EXPECT_NEAR((up - down) / (2 * step) / rfm.size(), 0.0, 1e-6);
  }
  EXPECT_NEAR(fit->statistics.log_likelihood, BgNbdLogLikelihood(fit->params, rfm), 1e-6);
}

TEST(FitBgNbdTest, TimeUnitOnlyRescalesAlpha) {
  SyntheticPopulation population;
  population.purchases = kCdnow;
  population.spend = {6.0, 4.0, 15.0};
  std::vector<RfmSummary> weeks, days;
  for (const SyntheticCustomer& c : DrawSyntheticCustomers(population, 5'000, 3)) {
    weeks.push_back(c.rfm);
    days.push_back({c.rfm.x, c.rfm.t_x * 7, c.rfm.T * 7});
  }
  const absl::StatusOr<BgNbdFit> in_weeks = FitBgNbd(weeks), in_days = FitBgNbd(days);
  ASSERT_TRUE(in_weeks.ok() && in_days.ok());
  EXPECT_NEAR(in_days->params.r, in_weeks->params.r, 1e-5);
  EXPECT_NEAR(in_days->params.alpha, 7 * in_weeks->params.alpha, 1e-4 * in_days->params.alpha);
  EXPECT_NEAR(in_days->params.a, in_weeks->params.a, 1e-5);
  EXPECT_NEAR(in_days->params.b, in_weeks->params.b, 1e-4);
}

TEST(FitBgNbdTest, SaysSoWhenTheDataCannotPinTheParametersDown) {
  // One customer: the likelihood keeps rising towards the edge of the parameter space. The fit still
  // answers, within its evaluation budget, but does not claim an interior optimum.
  const std::vector<RfmSummary> one{{1, 5, 30}};
  const absl::StatusOr<BgNbdFit> fit = FitBgNbd(one);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_FALSE(fit->statistics.converged && !fit->statistics.at_bound);
  EXPECT_LE(fit->statistics.evaluations, FitOptions{}.minimizer.max_evaluations);
}

TEST(FitBgNbdTest, RejectsEmptyAndDegenerateInput) {
  const absl::StatusOr<BgNbdFit> empty = FitBgNbd({});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("no customers"));

  const std::vector<RfmSummary> nobody_returns{{0, 0, 30}, {0, 0, 20}};
  const absl::StatusOr<BgNbdFit> degenerate = FitBgNbd(nobody_returns);
  EXPECT_EQ(degenerate.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(degenerate.status().message(), HasSubstr("every x is 0"));

  struct Case {
    RfmSummary row;
    const char* message;
  };
  const Case cases[] = {
      {{-1, 0, 30}, "x (-1) must be a non-negative integer"},
      {{1.5, 2, 30}, "x (1.5) must be a non-negative integer"},
      {{2, 31, 30}, "t_x (31) must lie in [0, T]"},
      {{2, -1, 30}, "t_x (-1) must lie in [0, T]"},
      {{2, 10, 0}, "T (0) must be positive"},
      {{0, 5, 30}, "t_x (5) must be 0 when x = 0"},
      {{2, std::nan(""), 30}, "must be finite"},
  };
  for (const Case& k : cases) {
    const std::vector<RfmSummary> rows{{1, 5, 30}, k.row};
    const absl::StatusOr<BgNbdFit> fit = FitBgNbd(rows);
    EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument) << k.message;
    EXPECT_THAT(fit.status().message(), HasSubstr("customers[1]")) << k.message;
    EXPECT_THAT(fit.status().message(), HasSubstr(k.message));
  }
}

}  // namespace
}  // namespace steward::scoring::predictive
