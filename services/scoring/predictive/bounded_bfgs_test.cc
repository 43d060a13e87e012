#include "services/scoring/predictive/bounded_bfgs.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace steward::scoring::predictive {
namespace {

double Rosenbrock(absl::Span<const double> x, absl::Span<double> g) {
  const double a = 1.0 - x[0], b = x[1] - x[0] * x[0];
  g[0] = -2.0 * a - 400.0 * x[0] * b;
  g[1] = 200.0 * b;
  return a * a + 100.0 * b * b;
}

TEST(BoundedBfgsTest, FindsTheRosenbrockMinimum) {
  const std::vector<double> start{-1.2, 1.0}, lower{-5.0, -5.0}, upper{5.0, 5.0};
  const MinimizerResult result = MinimizeBoundedBfgs(Rosenbrock, start, lower, upper);
  EXPECT_TRUE(result.converged);
  EXPECT_FALSE(result.at_bound);
  EXPECT_NEAR(result.x[0], 1.0, 1e-7);
  EXPECT_NEAR(result.x[1], 1.0, 1e-7);
  EXPECT_LT(result.iterations, 100);
  EXPECT_GE(result.evaluations, result.iterations);
}

TEST(BoundedBfgsTest, StopsOnTheBoundWhenTheMinimumIsOutside) {
  // Minimum at (3, −2); the box is [−1, 1]²: the answer is the corner (1, −1).
  auto objective = [](absl::Span<const double> x, absl::Span<double> g) {
    g[0] = 2.0 * (x[0] - 3.0) + 0.5 * x[1];
    g[1] = 2.0 * (x[1] + 2.0) + 0.5 * x[0];
    return (x[0] - 3.0) * (x[0] - 3.0) + (x[1] + 2.0) * (x[1] + 2.0) + 0.5 * x[0] * x[1];
  };
  const std::vector<double> start{0.0, 0.0}, lower{-1.0, -1.0}, upper{1.0, 1.0};
  const MinimizerResult result = MinimizeBoundedBfgs(objective, start, lower, upper);
  EXPECT_TRUE(result.converged);
  EXPECT_TRUE(result.at_bound);
  EXPECT_EQ(result.x[0], 1.0);
  EXPECT_EQ(result.x[1], -1.0);
}

TEST(BoundedBfgsTest, InteriorMinimumWithOneActiveBound) {
  // f = (x − 2)² + (y − 0.5)², box x ≤ 1: minimum (1, 0.5), y free.
  auto objective = [](absl::Span<const double> x, absl::Span<double> g) {
    g[0] = 2.0 * (x[0] - 2.0);
    g[1] = 2.0 * (x[1] - 0.5);
    return (x[0] - 2.0) * (x[0] - 2.0) + (x[1] - 0.5) * (x[1] - 0.5);
  };
  const std::vector<double> start{-3.0, 4.0}, lower{-10.0, -10.0}, upper{1.0, 10.0};
  const MinimizerResult result = MinimizeBoundedBfgs(objective, start, lower, upper);
  EXPECT_TRUE(result.converged);
  EXPECT_EQ(result.x[0], 1.0);
  EXPECT_NEAR(result.x[1], 0.5, 1e-10);
}

TEST(BoundedBfgsTest, BacktracksFromPointsItCannotEvaluate) {
  // 10 (x − 1)² − ln x, undefined for x ≤ 0: the first steepest-descent step from 2 (gradient 19.5)
  // lands at −17.5, where the objective is NaN, and the line search must come back. The minimum solves
  // 20x² − 20x − 1 = 0.
  int nan_evaluations = 0;
  auto objective = [&](absl::Span<const double> x, absl::Span<double> g) {
    if (x[0] <= 0) {
      ++nan_evaluations;
      return std::numeric_limits<double>::quiet_NaN();
    }
    g[0] = 20.0 * (x[0] - 1.0) - 1.0 / x[0];
    return 10.0 * (x[0] - 1.0) * (x[0] - 1.0) - std::log(x[0]);
  };
  const std::vector<double> start{2.0}, lower{-100.0}, upper{100.0};
  const MinimizerResult result = MinimizeBoundedBfgs(objective, start, lower, upper);
  EXPECT_GT(nan_evaluations, 0);
  EXPECT_TRUE(result.converged);
  EXPECT_NEAR(result.x[0], (1.0 + std::sqrt(1.2)) / 2.0, 1e-9);
}

TEST(BoundedBfgsTest, ReportsNotConvergedWhenOutOfIterations) {
  const std::vector<double> start{-1.2, 1.0}, lower{-5.0, -5.0}, upper{5.0, 5.0};
  MinimizerOptions options;
  options.max_iterations = 3;
  const MinimizerResult result = MinimizeBoundedBfgs(Rosenbrock, start, lower, upper, options);
  EXPECT_FALSE(result.converged);
  EXPECT_EQ(result.iterations, 3);
}

TEST(BoundedBfgsTest, StaysWithinTheEvaluationBudget) {
  const std::vector<double> start{-1.2, 1.0}, lower{-5.0, -5.0}, upper{5.0, 5.0};
  MinimizerOptions options;
  options.max_evaluations = 7;
  const MinimizerResult result = MinimizeBoundedBfgs(Rosenbrock, start, lower, upper, options);
  EXPECT_FALSE(result.converged);
  EXPECT_LE(result.evaluations, 7);
}

TEST(BoundedBfgsTest, ReportsNotConvergedWhenTheStartCannotBeEvaluated) {
  auto objective = [](absl::Span<const double>, absl::Span<double>) {
    return std::numeric_limits<double>::infinity();
  };
  const std::vector<double> start{0.0}, lower{-1.0}, upper{1.0};
  const MinimizerResult result = MinimizeBoundedBfgs(objective, start, lower, upper);
  EXPECT_FALSE(result.converged);
  EXPECT_EQ(result.iterations, 0);
}

}  // namespace
}  // namespace steward::scoring::predictive
