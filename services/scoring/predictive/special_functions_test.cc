#include "services/scoring/predictive/special_functions.h"

#include <cmath>
#include <numbers>

#include "gtest/gtest.h"

namespace steward::scoring::predictive {
namespace {

constexpr double kEulerGamma = 0.57721566490153286;

// |actual − expected| ≤ tolerance × |expected|.
::testing::AssertionResult RelativelyNear(double actual, double expected, double tolerance) {
  const double error = std::abs(actual - expected);
  if (error <= tolerance * std::abs(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "actual " << actual << " expected " << expected << " relative error "
         << error / std::abs(expected) << " > " << tolerance;
}

// The defining series in long double with up to ten million terms: a slow, independent reference for
// 0 ≤ z < 1 (away from z → 1, where it would need too many terms).
double ReferenceHyp2F1(double a, double b, double c, double z) {
  const long double la = a, lb = b, lc = c, lz = z;
  long double term = 1, sum = 1;
  for (long k = 0; k < 10'000'000; ++k) {
    term *= (la + k) * (lb + k) / ((lc + k) * (k + 1.0L)) * lz;
    sum += term;
    if (k > 10 && std::abs(term) < 1e-22L * std::abs(sum)) break;
  }
  return static_cast<double>(sum);
}

TEST(LogGammaTest, KnownValues) {
  EXPECT_TRUE(RelativelyNear(LogGamma(0.5), 0.5 * std::log(std::numbers::pi), 1e-15));
  EXPECT_TRUE(RelativelyNear(LogGamma(10.0), std::log(362880.0), 1e-15));
  EXPECT_TRUE(RelativelyNear(LogGamma(-0.5), std::log(2.0 * std::sqrt(std::numbers::pi)), 1e-15));
  EXPECT_EQ(GammaSign(-0.5), -1);
  EXPECT_EQ(GammaSign(-1.5), 1);
  EXPECT_EQ(GammaSign(3.0), 1);
  EXPECT_TRUE(RelativelyNear(LogBeta(2.0, 3.0), std::log(1.0 / 12.0), 1e-15));
}

TEST(DigammaTest, KnownValuesAndRecurrence) {
  EXPECT_NEAR(Digamma(1.0), -kEulerGamma, 4e-15);
  EXPECT_NEAR(Digamma(0.5), -kEulerGamma - 2.0 * std::numbers::ln2, 4e-15);
  EXPECT_NEAR(Digamma(-0.5), 0.03648997397857652, 1e-14);
  for (double x : {0.013, 0.243, 0.793, 2.426, 9.99, 10.0, 37.5, 1234.5}) {
    EXPECT_NEAR(Digamma(x + 1.0), Digamma(x) + 1.0 / x, 1e-13 * (1.0 + 1.0 / x)) << x;
  }
  // ψ(x) ≈ ln x − 1/(2x) for large x.
  EXPECT_NEAR(Digamma(1e6), std::log(1e6) - 0.5e-6, 1e-13);
  EXPECT_TRUE(std::isnan(Digamma(0.0)));
  EXPECT_TRUE(std::isnan(Digamma(-2.0)));
}

TEST(Hyp2F1Test, LogarithmClosedFormOverTheWholeRange) {
  // 2F1(1, 1; 2; z) = −ln(1 − z) / z. c − a − b = 0, so z > 0.75 exercises the integer case of 15.3.6,
  // and z < 0 Pfaff's transformation.
  for (double z : {-50.0, -5.0, -0.9, -0.3, 0.1, 0.5, 0.75, 0.76, 0.9, 0.99, 0.999999}) {
    EXPECT_TRUE(RelativelyNear(Hyp2F1(1.0, 1.0, 2.0, z), -std::log1p(-z) / z, 1e-11)) << "z = " << z;
  }
}

TEST(Hyp2F1Test, PowerClosedForm) {
  // 2F1(a, b; b; z) = (1 − z)^−a; c − a − b = −a.
  for (double z : {-3.0, 0.2, 0.8, 0.95, 0.9999}) {
    EXPECT_TRUE(RelativelyNear(Hyp2F1(0.3, 2.5, 2.5, z), std::pow(1.0 - z, -0.3), 1e-12)) << "z = " << z;
    EXPECT_TRUE(RelativelyNear(Hyp2F1(2.0, 2.5, 2.5, z), std::pow(1.0 - z, -2.0), 1e-11)) << "z = " << z;
  }
}

TEST(Hyp2F1Test, InverseTrigonometricClosedForms) {
  // 2F1(1/2, 1/2; 3/2; z²) = arcsin(z) / z and 2F1(1/2, 1; 3/2; −z²) = arctan(z) / z.
  for (double z : {0.5, 0.9, 0.95, 0.999}) {
    EXPECT_TRUE(RelativelyNear(Hyp2F1(0.5, 0.5, 1.5, z * z), std::asin(z) / z, 1e-12)) << "z = " << z;
  }
  for (double z : {0.5, 3.0, 100.0}) {
    EXPECT_TRUE(RelativelyNear(Hyp2F1(0.5, 1.0, 1.5, -z * z), std::atan(z) / z, 1e-12)) << "z = " << z;
  }
}

TEST(Hyp2F1Test, GaussTheoremAtOne) {
  const double expected = std::tgamma(2.0) * std::tgamma(1.3) / (std::tgamma(1.7) * std::tgamma(1.6));
  EXPECT_TRUE(RelativelyNear(Hyp2F1(0.3, 0.4, 2.0, 1.0), expected, 1e-14));
  EXPECT_TRUE(std::isnan(Hyp2F1(1.0, 1.0, 2.0, 1.0)));  // c − a − b = 0: diverges.
}

TEST(Hyp2F1Test, PolynomialCaseIsExactForAnyZ) {
  for (double z : {-7.0, 0.3, 0.9, 1.0}) {
    const double b = 1.7, c = 2.2;
    const double expected = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
    EXPECT_TRUE(RelativelyNear(Hyp2F1(-2.0, b, c, z), expected, 1e-14)) << "z = " << z;
  }
}

TEST(Hyp2F1Test, MatchesTheDefiningSeriesForTheModelsParameters) {
  struct Case {
    double a, b, c;
  };
  const Case cases[] = {
      {0.243, 2.426, 2.219},      // BG/NBD, equation 9 as published.
      {1.976, -0.207, 2.219},     // The same after Euler's transformation.
      {1.976, -0.207, 31.219},    // ... for a customer with x = 29.
      {1.0, 4.806, 5.474},        // DERL for the "high end" sBG segment.
      {1.0, 1004.806, 1005.474},  // ... after a thousand renewals (15.3.6 cancels: the series is used).
      {0.5, 0.5, 1.0},            // c − a − b = 0.
      {1.5, 2.5, 3.0},            // c − a − b = −1.
      {2.0, 3.0, 1.7},            // c − a − b = −3.3.
      {0.3, 0.4, 0.7 + 2e-5},     // c − a − b within 1e−4 of 0, not equal.
  };
  for (const Case& k : cases) {
    for (double z : {0.1, 0.6, 0.8, 0.9, 0.95, 0.99}) {
      const bool near_integer = std::abs(k.c - k.a - k.b - std::round(k.c - k.a - k.b)) < 1e-4;
      EXPECT_TRUE(RelativelyNear(Hyp2F1(k.a, k.b, k.c, z), ReferenceHyp2F1(k.a, k.b, k.c, z),
                                 near_integer ? 1e-10 : 1e-11))
          << "2F1(" << k.a << ", " << k.b << "; " << k.c << "; " << z << ")";
    }
  }
}

TEST(Hyp2F1Test, UndefinedCasesAreNaN) {
  EXPECT_TRUE(std::isnan(Hyp2F1(1.0, 1.0, 2.0, 1.5)));
  EXPECT_TRUE(std::isnan(Hyp2F1(0.5, 0.5, -1.0, 0.3)));
  EXPECT_TRUE(std::isnan(Hyp2F1(std::nan(""), 0.5, 1.0, 0.3)));
  // A polynomial that ends before its pole is fine: 2F1(−1, b; −2; z) = 1 + b z / 2.
  EXPECT_TRUE(RelativelyNear(Hyp2F1(-1.0, 3.0, -2.0, 0.5), 1.75, 1e-15));
  EXPECT_EQ(Hyp2F1(0.7, 0.2, 1.1, 0.0), 1.0);
}

}  // namespace
}  // namespace steward::scoring::predictive
