#include "services/scoring/predictive/special_functions.h"

#include <math.h>  // lgamma_r: glibc's re-entrant lgamma (std::lgamma writes the global signgam).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

namespace steward::scoring::predictive {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// The series stops when its estimated tail is below this fraction of the sum.
constexpr double kTailTolerance = 1e-17;
// Above this z the defining series converges too slowly (like z^k) and 15.3.6 takes over.
constexpr double kDirectSeriesMaxZ = 0.75;
// Enough terms for the defining series at z = 1 − 2e−6 (it needs about 37 / (1 − z) of them).
constexpr std::int64_t kMaxSeriesTerms = 20'000'000;
// 15.3.6 has poles when c − a − b is an integer; closer than this, interpolate (see the header). At
// this distance the cancelling poles cost about 1e−12.
constexpr double kNearInteger = 1e-4;
// 15.3.6 is trusted while its two terms cancel by less than this factor.
constexpr double kMaxCancellation = 1e3;

bool IsNonPositiveInteger(double x) { return x <= 0 && x == std::floor(x); }

struct SeriesSum {
  double value;
  // Σ |term|: how much the terms cancelled (value / magnitude near 1 means no cancellation).
  double magnitude;
  bool converged;
};

// Σ_k (a)_k (b)_k / ((c)_k k!) z^k, stopping when a term is exactly zero (a or b a non-positive integer)
// or when the tail, bounded by a geometric series with the current ratio (or |z|, its limit, whichever
// is larger), is negligible.
SeriesSum SumGaussSeries(double a, double b, double c, double z, std::int64_t max_terms) {
  double term = 1.0;
  double sum = 1.0;
  double magnitude = 1.0;
  for (std::int64_t k = 0; k < max_terms; ++k) {
    const double kd = static_cast<double>(k);
    const double numerator = (a + kd) * (b + kd);
    if (numerator == 0.0) return {sum, magnitude, true};
    const double denominator = (c + kd) * (kd + 1.0);
    if (denominator == 0.0) return {kNaN, kInfinity, false};
    const double ratio = numerator / denominator * z;
    term *= ratio;
    sum += term;
    magnitude += std::abs(term);
    if (!std::isfinite(sum)) return {sum, kInfinity, false};
    const double rho = std::max(std::abs(ratio), std::abs(z));
    const double scale = std::max(std::abs(sum), kTailTolerance * magnitude);
    if (rho < 1.0 && std::abs(term) * rho <= kTailTolerance * (1.0 - rho) * scale) {
      return {sum, magnitude, true};
    }
  }
  return {sum, magnitude, false};
}

// Γ(n1) Γ(n2) / (Γ(d1) Γ(d2)) × exp(log_factor), without overflowing in between; 0 when a denominator
// argument is a pole (1/Γ = 0 there).
double GammaRatio(double n1, double n2, double d1, double d2, double log_factor = 0.0) {
  if (IsNonPositiveInteger(d1) || IsNonPositiveInteger(d2)) return 0.0;
  const int sign = GammaSign(n1) * GammaSign(n2) * GammaSign(d1) * GammaSign(d2);
  return sign * std::exp(LogGamma(n1) + LogGamma(n2) - LogGamma(d1) - LogGamma(d2) + log_factor);
}

// A&S 15.3.6 for 0 < z < 1 and c − a − b not an integer:
//   2F1(a, b; c; z) = Γ(c)Γ(s) / (Γ(c−a)Γ(c−b)) · 2F1(a, b; 1−s; 1−z)
//                   + (1−z)^s Γ(c)Γ(−s) / (Γ(a)Γ(b)) · 2F1(c−a, c−b; 1+s; 1−z),   s = c − a − b.
SeriesSum ConnectToOneMinusZ(double a, double b, double c, double z) {
  const double w = 1.0 - z;
  const double s = c - a - b;
  double value = 0.0;
  double magnitude = 0.0;
  bool converged = true;
  const double first_coefficient = GammaRatio(c, s, c - a, c - b);
  if (first_coefficient != 0.0) {
    const SeriesSum first = SumGaussSeries(a, b, 1.0 - s, w, kMaxSeriesTerms);
    value += first_coefficient * first.value;
    magnitude += std::abs(first_coefficient) * first.magnitude;
    converged = converged && first.converged;
  }
  const double second_coefficient = GammaRatio(c, -s, a, b, s * std::log(w));
  if (second_coefficient != 0.0) {
    const SeriesSum second = SumGaussSeries(c - a, c - b, 1.0 + s, w, kMaxSeriesTerms);
    value += second_coefficient * second.value;
    magnitude += std::abs(second_coefficient) * second.magnitude;
    converged = converged && second.converged;
  }
  return {value, magnitude, converged};
}

// 15.3.6 with the integer case handled: the function is analytic in c, so near a pole of the formula
// evaluate it at c − a − b = m ± h and m ± 2h (h = kNearInteger), where the cancellation costs about
// 1e−12, and interpolate with the cubic through those four points (error of order h⁴ ∂⁴F/∂c⁴).
SeriesSum ConnectToOneMinusZSafely(double a, double b, double c, double z) {
  const double s = c - a - b;
  const double m = std::round(s);
  if (std::abs(s - m) >= kNearInteger) return ConnectToOneMinusZ(a, b, c, z);
  constexpr double kNodes[] = {-2.0, -1.0, 1.0, 2.0};  // In units of h from the integer.
  const double target = (s - m) / kNearInteger;
  SeriesSum result{0.0, 0.0, true};
  for (int i = 0; i < 4; ++i) {
    double weight = 1.0;  // Lagrange basis polynomial of node i at the target.
    for (int j = 0; j < 4; ++j) {
      if (j != i) weight *= (target - kNodes[j]) / (kNodes[i] - kNodes[j]);
    }
    const SeriesSum at_node = ConnectToOneMinusZ(a, b, c + (m - s) + kNodes[i] * kNearInteger, z);
    result.value += weight * at_node.value;
    result.magnitude = std::max(result.magnitude, at_node.magnitude);
    result.converged = result.converged && at_node.converged;
  }
  return result;
}

double Cancellation(const SeriesSum& sum) {
  if (!sum.converged || !std::isfinite(sum.value)) return kInfinity;
  if (sum.value == 0.0) return sum.magnitude == 0.0 ? 1.0 : kInfinity;
  return sum.magnitude / std::abs(sum.value);
}

// 0 < z < 1, a and b not non-positive integers, c not a non-positive integer.
double Hyp2F1OnUnitInterval(double a, double b, double c, double z) {
  if (z <= kDirectSeriesMaxZ) return SumGaussSeries(a, b, c, z, kMaxSeriesTerms).value;
  const SeriesSum connected = ConnectToOneMinusZSafely(a, b, c, z);
  const double connected_cancellation = Cancellation(connected);
  if (connected_cancellation <= kMaxCancellation) return connected.value;
  const SeriesSum direct = SumGaussSeries(a, b, c, z, kMaxSeriesTerms);
  return Cancellation(direct) < connected_cancellation ? direct.value : connected.value;
}

}  // namespace

double LogGamma(double x) {
  int sign = 1;
  return lgamma_r(x, &sign);
}

int GammaSign(double x) {
  int sign = 1;
  lgamma_r(x, &sign);
  return sign < 0 ? -1 : 1;
}

double LogBeta(double a, double b) { return LogGamma(a) + LogGamma(b) - LogGamma(a + b); }

double Digamma(double x) {
  if (std::isnan(x) || IsNonPositiveInteger(x)) return kNaN;
  if (x < 0.0) return Digamma(1.0 - x) - std::numbers::pi / std::tan(std::numbers::pi * x);
  double result = 0.0;
  while (x < 10.0) {
    result -= 1.0 / x;
    x += 1.0;
  }
  const double inv2 = 1.0 / (x * x);
  // −Σ B_2k / (2k x^2k) for k = 1..6.
  const double series =
      inv2 * (1.0 / 12 -
              inv2 * (1.0 / 120 -
                      inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760))))));
  return result + std::log(x) - 0.5 / x - series;
}

double Hyp2F1(double a, double b, double c, double z) {
  if (std::isnan(a) || std::isnan(b) || std::isnan(c) || std::isnan(z) || z > 1.0) return kNaN;
  if (z == 0.0 || a == 0.0 || b == 0.0) return 1.0;
  if (IsNonPositiveInteger(a) || IsNonPositiveInteger(b)) {
    // A polynomial of degree n; valid only if (c)_k does not vanish first.
    const double degree =
        std::min(IsNonPositiveInteger(a) ? -a : kInfinity, IsNonPositiveInteger(b) ? -b : kInfinity);
    if (IsNonPositiveInteger(c) && -c < degree) return kNaN;
    return SumGaussSeries(a, b, c, z, static_cast<std::int64_t>(degree) + 1).value;
  }
  if (IsNonPositiveInteger(c)) return kNaN;
  if (z == 1.0) return c - a - b > 0.0 ? GammaRatio(c, c - a - b, c - a, c - b) : kNaN;
  if (z < 0.0) return std::pow(1.0 - z, -a) * Hyp2F1(a, c - b, c, z / (z - 1.0));
  return Hyp2F1OnUnitInterval(a, b, c, z);
}

}  // namespace steward::scoring::predictive
