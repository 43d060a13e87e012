#pragma once

namespace steward::scoring::predictive {

// Special functions the probabilistic models need, for real arguments. Pure functions; thread-safe
// (none of them touches the global `signgam` that std::lgamma writes on glibc).

// ln |Γ(x)|; +inf at the poles (x = 0, −1, −2, …).
double LogGamma(double x);

// The sign of Γ(x) (+1 or −1); +1 at the poles, where ln|Γ| is +inf anyway.
int GammaSign(double x);

// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
double LogBeta(double a, double b);

// ψ(x) = d/dx ln Γ(x). Recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
// (Abramowitz & Stegun 6.3.18) to x^−12; reflection ψ(x) = ψ(1 − x) − π cot(πx) for x < 0. Absolute
// error a few 1e−15 away from the poles; NaN at the poles x = 0, −1, −2, ….
double Digamma(double x);

// The Gauss hypergeometric function 2F1(a, b; c; z) = Σ_k (a)_k (b)_k / ((c)_k k!) z^k for real z ≤ 1.
//
// How it is evaluated (Abramowitz & Stegun chapter 15 numbering):
//   - a or b a non-positive integer: the series is a polynomial and is summed exactly, for any z.
//   - z < 0: Pfaff's transformation (15.3.4) 2F1(a, b; c; z) = (1 − z)^−a 2F1(a, c − b; c; z/(z − 1)),
//     which maps z to (0, 1); the result is then evaluated as below.
//   - 0 ≤ z ≤ 0.75: the defining series, summed until the estimated tail is below 1e−16 of the sum.
//   - 0.75 < z < 1: the connection formula to 1 − z (15.3.6), whose two series then converge at least
//     like 0.25^k. When c − a − b is within h = 1e−4 of an integer m (where 15.3.6 has cancelling poles,
//     e.g. 2F1(1, 1; 2; z)), it is evaluated with c moved to where c − a − b = m ± h, m ± 2h and the four
//     values interpolated by a cubic: relative error about 1e−11 there. When the two terms of 15.3.6 cancel
//     by more than a factor 1e3 (large parameters, e.g. 2F1(1, β + n; α + β + n; z) for a customer with many
//     renewals), the defining series is summed instead (up to 2·10^7 terms) if it is better conditioned.
//   - z = 1: Gauss's theorem (15.1.20) Γ(c)Γ(c − a − b) / (Γ(c − a)Γ(c − b)) when c − a − b > 0.
// NaN when the function is not defined as a real number: z > 1, z = 1 with c − a − b ≤ 0, c a
// non-positive integer (unless the series stops before the pole), or a NaN argument. Intended for the
// moderate parameters of the customer models (|a|, |b|, |c| up to a few thousand); relative error about
// 1e−13 there except as noted above.
double Hyp2F1(double a, double b, double c, double z);

}  // namespace steward::scoring::predictive
