#include "services/scoring/predictive/synthetic_customers.h"

#include <random>

namespace steward::scoring::predictive {

std::vector<SyntheticCustomer> DrawSyntheticCustomers(const SyntheticPopulation& population, int count,
                                                      std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const BgNbdParams& bg = population.purchases;
  const GammaGammaParams& gg = population.spend;
  std::gamma_distribution<double> rate(bg.r, 1.0 / bg.alpha);
  std::gamma_distribution<double> beta_a(bg.a, 1.0), beta_b(bg.b, 1.0);
  std::gamma_distribution<double> spend_rate(gg.q, 1.0 / gg.gamma);
  std::vector<SyntheticCustomer> customers;
  customers.reserve(count > 0 ? count : 0);
  for (int i = 0; i < count; ++i) {
    SyntheticCustomer customer;
    customer.rfm.T = population.calibration_length - population.acquisition_window * uniform(random);
    const double lambda = rate(random);
    const double draw_a = beta_a(random), draw_b = beta_b(random);
    const double dropout = draw_a / (draw_a + draw_b);  // Beta(a, b) from two Gammas.
    std::exponential_distribution<double> gap(lambda > 0 ? lambda : 1e-300);
    double t = 0.0;
    while (true) {
      t += gap(random);
      if (t > customer.rfm.T) break;
      customer.rfm.x += 1.0;
      customer.rfm.t_x = t;
      if (uniform(random) < dropout) break;
    }
    if (customer.rfm.x > 0) {
      const double nu = spend_rate(random);
      std::gamma_distribution<double> mean_value(gg.p * customer.rfm.x, 1.0 / (customer.rfm.x * nu));
      customer.mean_repeat_value = mean_value(random);
    }
    customers.push_back(customer);
  }
  return customers;
}

}  // namespace steward::scoring::predictive
