#pragma once

#include <cstdint>
#include <vector>

#include "services/scoring/predictive/bg_nbd.h"
#include "services/scoring/predictive/gamma_gamma.h"

namespace steward::scoring::predictive {

// Customers drawn from the BG/NBD and Gamma-Gamma models, for parameter-recovery tests and the fit
// benchmark. Each customer is acquired (first purchase) at a uniform time in [0, acquisition_window)
// and observed until calibration_length, so T = calibration_length − acquisition time. Per customer:
// λ ~ Gamma(r, α), p ~ Beta(a, b); repeat purchases follow a Poisson process of rate λ and after each one
// the customer drops out with probability p (never after the first purchase, as in Fader, Hardie & Lee
// 2005). Spend: ν ~ Gamma(q, γ), each transaction ~ Gamma(p, ν), so the mean of x of them is drawn
// directly as Gamma(p x, x ν). Deterministic for a given seed (std::mt19937_64 and libstdc++'s
// distributions).
struct SyntheticCustomer {
  RfmSummary rfm;
  double mean_repeat_value = 0.0;  // 0 when rfm.x = 0.
};

struct SyntheticPopulation {
  BgNbdParams purchases;
  GammaGammaParams spend;
  double calibration_length = 39.0;
  double acquisition_window = 12.0;
};

std::vector<SyntheticCustomer> DrawSyntheticCustomers(const SyntheticPopulation& population, int count,
                                                      std::uint64_t seed);

}  // namespace steward::scoring::predictive
