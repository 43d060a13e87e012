#pragma once

#include "steward/v1/account.pb.h"
#include "steward/v1/scores.pb.h"

namespace steward::scoring {

// Customer lifetime value of one account (SPEC §2.3), every formula whose inputs are known, each with
// its numbers written out in `expression`.
//
// Monthly churn m: Account.monthly_churn_rate when > 0 (source "account"); otherwise the churn
// probability p, taken as annual, converted to monthly as 1 − (1 − p)^(1/12) (source
// "churn_probability"). When that gives 0 (p = 0) m is floored at 0.001 so that the values stay finite,
// and every expression says so. m is capped at 1. The annual rate reported is 1 − (1 − m)^12.
// ARPU is Account.arpu when > 0, else Account.mrr. A zero input is an unknown input.
//
// Estimates, each only when its inputs are known:
//   basic          = ARPU × gross_margin × (1 / m)                       (ARPU, gross_margin)
//   with_expansion = basic × (1 + expansion_rate)                        (basic, expansion_rate)
//   purchase_based = average_purchase_value × purchases_per_year × expected_lifespan_years
//   simple         = ARPU / m                                            (ARPU)
//   realistic      = ARPU × gross_margin / (m + d) − CAC                 (ARPU, gross_margin)
//     where d = (1 + annual_discount_rate)^(1/12) − 1 is the monthly discount rate; an unknown CAC (0)
//     is not subtracted, and the expression says so.
// ltv_to_cac = (with_expansion if known, else basic) / CAC when both are known; ltv_to_crc likewise
// with cost_of_retention.
//
// Checks from the SPEC: ARPU 100, margin 0.8, churn 0.05, expansion 0.2 → with_expansion 1920;
// 100 per purchase × 4 per year × 5 years → purchase_based 2000; 5%/month ≈ 46%/year.
// Pure function; thread-safe.
void ComputeLifetimeValue(const v1::Account& account, double churn_probability, v1::LifetimeValue& clv);
inline v1::LifetimeValue ComputeLifetimeValue(const v1::Account& account, double churn_probability) {
  v1::LifetimeValue clv;
  ComputeLifetimeValue(account, churn_probability, clv);
  return clv;
}

}  // namespace steward::scoring
