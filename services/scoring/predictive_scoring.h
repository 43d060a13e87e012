#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/scoring/churn_model/logistic_model.h"
#include "services/scoring/features.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/activity_record.pb.h"
#include "steward/v1/predictive.pb.h"

namespace steward::scoring {

// How GetScores applies the fitted predictive models and how FitModels fits them.
struct PredictiveOptions {
  // Whether GetScores answers with a predictive block at all (the bench compares both).
  bool enabled = true;
  // BG/NBD's forecast horizon, and the discounted CLV's horizon.
  double forecast_horizon_weeks = 52;
  int clv_horizon_months = 12;
  // Monthly discount rate when the account has no annual_discount_rate: 1% a month (≈12.7% a year), the
  // `lifetimes` library's default and DiscountedClvOptions' (SPEC §2.3 asks for a discount rate but
  // names none).
  double default_monthly_discount_rate = 0.01;
  // Features listed with a churn prediction.
  int churn_top_features = 3;
  // How often a replica looks for a newer accepted version (one small read); FitModels on this replica
  // refreshes at once.
  absl::Duration refresh_interval = absl::Seconds(5);
  // Fewest rows a fit needs: accounts with a transaction (BG/NBD), with a valued repeat transaction
  // (Gamma-Gamma), subscribers of a cohort (sBG), churned and retained accounts each (churn classifier).
  int min_fit_rows = 10;
};

// An accepted version of the fitted models, ready to score with. Immutable; shared between threads.
class ActiveModels {
 public:
  // INTERNAL when the stored churn model text does not parse (a corrupt version).
  static absl::StatusOr<std::shared_ptr<const ActiveModels>> Load(v1::FittedModels fitted);

  const v1::FittedModels& fitted() const { return fitted_; }
  int64_t version() const { return fitted_.version(); }
  const churn_model::LogisticModel* churn() const { return churn_ ? &*churn_ : nullptr; }
  // The scoring feature behind each churn model column (nullopt: a name this build does not know).
  const std::vector<std::optional<Feature>>& churn_columns() const { return churn_columns_; }
  // The sBG fit of `cohort`, or nullptr.
  const v1::SbgCohortModel* Cohort(absl::string_view cohort) const;

 private:
  v1::FittedModels fitted_;
  std::optional<churn_model::LogisticModel> churn_;
  std::vector<std::optional<Feature>> churn_columns_;
};

// The subscription cohort of an account: its start month, "YYYY-MM" (UTC).
std::string CohortOf(absl::Time start);
// Whole calendar months from `start`'s month to `now`'s: the renewals a monthly subscriber has made.
int MonthsBetween(absl::Time start, absl::Time now);
// Whether the account is churned as of `at`: a churn event at or before it not followed by a
// reactivation.
bool ChurnedAsOf(const v1::ActivityRecord& activity, absl::Time at);

// Fills `out` with every model's answer for one account at `now` from `models` (nullptr: no accepted
// version yet, so every model says so), its live activity record (transaction summary, churn state;
// nullptr when no event was ever recorded), its features and attributes. A model that cannot say
// anything gives a reason instead of a number. Pure; thread-safe.
void PredictAccount(const ActiveModels* models, const v1::Account& account, const v1::ActivityRecord* live,
                    const FeatureVector& features, absl::Time now, const PredictiveOptions& options,
                    v1::PredictiveScores& out);

}  // namespace steward::scoring
