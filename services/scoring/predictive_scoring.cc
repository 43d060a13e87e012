#include "services/scoring/predictive_scoring.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"
#include "services/scoring/activity.h"
#include "services/scoring/churn_model/explanation.h"
#include "services/scoring/predictive/bg_nbd.h"
#include "services/scoring/predictive/discounted_clv.h"
#include "services/scoring/predictive/gamma_gamma.h"
#include "services/scoring/predictive/shifted_beta_geometric.h"
#include "services/scoring/transactions.h"

namespace steward::scoring {
namespace {

constexpr absl::string_view kNoVersion = "no fitted model yet: call FitModels";

std::string NotFitted(const v1::FitStatistics& statistics) {
  return statistics.reason().empty() ? std::string(kNoVersion)
                                     : absl::StrCat("no fitted model: ", statistics.reason());
}

double MonthlyDiscountRate(const v1::Account& account, const PredictiveOptions& options) {
  if (account.annual_discount_rate() > 0) return std::pow(1 + account.annual_discount_rate(), 1.0 / 12) - 1;
  return options.default_monthly_discount_rate;
}

void PredictTransactions(const ActiveModels* models, const v1::Account& account,
                         const v1::ActivityRecord& live, absl::Time now, const PredictiveOptions& options,
                         v1::PredictiveScores& out) {
  auto inputs = TransactionInputsAsOf(live.transactions(), DayOf(now));
  if (!inputs.ok()) {
    const std::string reason(inputs.status().message());
    out.set_transactions_unavailable(reason);
    out.set_expected_transaction_value_unavailable(reason);
    out.set_clv_unavailable(reason);
    return;
  }
  v1::TransactionHistory& history = *out.mutable_history();
  history.set_frequency(static_cast<int32_t>(inputs->rfm.x));
  history.set_recency_weeks(inputs->rfm.t_x);
  history.set_age_weeks(inputs->rfm.T);
  history.set_mean_repeat_value(inputs->mean_repeat_value);

  const bool have_bg = models != nullptr && models->fitted().bg_nbd().statistics().accepted();
  const bool have_gg = models != nullptr && models->fitted().gamma_gamma().statistics().accepted();
  predictive::BgNbdParams bg;
  predictive::GammaGammaParams gg;
  if (have_bg) {
    const v1::BgNbdModel& m = models->fitted().bg_nbd();
    bg = {m.r(), m.alpha(), m.a(), m.b()};
    v1::TransactionForecast& forecast = *out.mutable_transactions();
    forecast.set_horizon_weeks(options.forecast_horizon_weeks);
    forecast.set_expected_transactions(
        predictive::BgNbdConditionalExpectedTransactions(bg, inputs->rfm, options.forecast_horizon_weeks));
    forecast.set_probability_alive(predictive::BgNbdProbabilityAlive(bg, inputs->rfm));
  } else {
    out.set_transactions_unavailable(models == nullptr ? std::string(kNoVersion)
                                                       : NotFitted(models->fitted().bg_nbd().statistics()));
  }
  // A repeat buyer whose expansions added nothing has no spend for Gamma-Gamma to weigh.
  const bool valued = inputs->rfm.x == 0 || inputs->mean_repeat_value > 0;
  if (!valued) {
    out.set_expected_transaction_value_unavailable("insufficient data: the repeat transactions added no MRR");
  } else if (have_gg) {
    const v1::GammaGammaModel& m = models->fitted().gamma_gamma();
    gg = {m.p(), m.q(), m.gamma()};
    out.set_expected_transaction_value(
        predictive::GammaGammaConditionalExpectedValue(gg, inputs->rfm.x, inputs->mean_repeat_value));
  } else {
    out.set_expected_transaction_value_unavailable(
        models == nullptr ? std::string(kNoVersion) : NotFitted(models->fitted().gamma_gamma().statistics()));
  }
  if (!have_bg || !have_gg || !valued) {
    out.set_clv_unavailable(out.has_transactions() ? out.expected_transaction_value_unavailable()
                                                   : out.transactions_unavailable());
    return;
  }
  predictive::DiscountedClvOptions clv_options;
  clv_options.horizon_months = options.clv_horizon_months;
  clv_options.monthly_discount_rate = MonthlyDiscountRate(account, options);
  auto clv = predictive::DiscountedClv(bg, gg, inputs->rfm, inputs->mean_repeat_value, clv_options);
  if (!clv.ok()) {
    out.set_clv_unavailable(std::string(clv.status().message()));
    return;
  }
  v1::DiscountedLifetimeValue& value = *out.mutable_clv();
  value.set_value(*clv);
  value.set_horizon_months(clv_options.horizon_months);
  value.set_monthly_discount_rate(clv_options.monthly_discount_rate);
}

void PredictSubscription(const ActiveModels* models, const v1::Account& account, const v1::ActivityRecord& live,
                         absl::Time now, const PredictiveOptions& options, v1::PredictiveScores& out) {
  if (!account.has_start_time()) {
    out.set_subscription_unavailable("insufficient data: the account has no start_time");
    return;
  }
  if (ChurnedAsOf(live, now)) {
    out.set_subscription_unavailable("the account has churned: no residual value");
    return;
  }
  if (account.mrr() <= 0) {
    out.set_subscription_unavailable("insufficient data: the account has no MRR");
    return;
  }
  const absl::Time start = FromProtoTime(account.start_time());
  const std::string cohort = CohortOf(start);
  const v1::SbgCohortModel* fit = models == nullptr ? nullptr : models->Cohort(cohort);
  if (fit == nullptr) {
    std::string reason = models == nullptr ? std::string(kNoVersion)
                                           : absl::StrCat("no accepted sBG fit for the cohort ", cohort);
    if (models != nullptr) {
      for (const v1::SbgCohortModel& tried : models->fitted().sbg_cohorts()) {
        if (tried.cohort() == cohort) absl::StrAppend(&reason, ": ", tried.statistics().reason());
      }
    }
    out.set_subscription_unavailable(reason);
    return;
  }
  const predictive::SbgParams params{fit->alpha(), fit->beta()};
  const int renewals = std::max(0, MonthsBetween(start, now));
  const double rate = MonthlyDiscountRate(account, options);
  const double margin = account.gross_margin() > 0 ? account.gross_margin() : 1.0;
  v1::SubscriptionValue& value = *out.mutable_subscription();
  value.set_cohort(cohort);
  value.set_renewals(renewals);
  value.set_monthly_discount_rate(rate);
  // Residual value = payment × DERL (SbgDiscountedResidualValue), so the series is summed once.
  const double derl = predictive::SbgDiscountedExpectedResidualLifetime(params, rate, renewals);
  value.set_expected_residual_months(derl);
  value.set_residual_value(account.mrr() * margin * derl);
}

void PredictChurn(const ActiveModels* models, const FeatureVector& features, const PredictiveOptions& options,
                  v1::PredictiveScores& out) {
  if (models == nullptr || models->churn() == nullptr) {
    out.set_churn_unavailable(models == nullptr ? std::string(kNoVersion)
                                                : NotFitted(models->fitted().churn().statistics()));
    return;
  }
  const churn_model::LogisticModel& model = *models->churn();
  // An unknown feature sits at the training mean: a standardised 0, contributing nothing.
  std::vector<double> row(model.feature_names.size());
  for (std::size_t j = 0; j < row.size(); ++j) {
    const std::optional<Feature>& feature = models->churn_columns()[j];
    row[j] = feature.has_value() ? features.Get(*feature).value_or(model.means[j]) : model.means[j];
  }
  auto explanation = churn_model::Explain(model, row, static_cast<std::size_t>(options.churn_top_features));
  if (!explanation.ok()) {
    out.set_churn_unavailable(std::string(explanation.status().message()));
    return;
  }
  v1::ChurnPrediction& churn = *out.mutable_churn();
  churn.set_probability(explanation->probability);
  churn.set_horizon_days(models->fitted().churn().horizon_days());
  for (const churn_model::Contribution& c : explanation->top) {
    v1::ChurnContribution& top = *churn.add_top_features();
    top.set_feature(c.feature);
    top.set_value(c.raw_value);
    top.set_contribution(c.contribution);
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ActiveModels>> ActiveModels::Load(v1::FittedModels fitted) {
  auto models = std::make_shared<ActiveModels>();
  if (fitted.churn().statistics().accepted()) {
    auto churn = churn_model::ParseModel(fitted.churn().model_text());
    if (!churn.ok()) {
      return absl::InternalError(absl::StrCat("fitted models version ", fitted.version(),
                                              ": churn model does not parse: ", churn.status().message()));
    }
    for (const std::string& name : churn->feature_names) models->churn_columns_.push_back(FeatureByName(name));
    models->churn_ = *std::move(churn);
  }
  models->fitted_ = std::move(fitted);
  return std::shared_ptr<const ActiveModels>(std::move(models));
}

const v1::SbgCohortModel* ActiveModels::Cohort(absl::string_view cohort) const {
  for (const v1::SbgCohortModel& fit : fitted_.sbg_cohorts()) {
    if (fit.cohort() == cohort && fit.statistics().accepted()) return &fit;
  }
  return nullptr;
}

std::string CohortOf(absl::Time start) {
  const absl::CivilMonth month = absl::ToCivilMonth(start, absl::UTCTimeZone());
  return absl::StrFormat("%04d-%02d", month.year(), month.month());
}

int MonthsBetween(absl::Time start, absl::Time now) {
  return static_cast<int>(absl::ToCivilMonth(now, absl::UTCTimeZone()) -
                          absl::ToCivilMonth(start, absl::UTCTimeZone()));
}

bool ChurnedAsOf(const v1::ActivityRecord& activity, absl::Time at) {
  const int64_t seconds = absl::ToUnixSeconds(at);
  return activity.churned_seconds() > 0 && activity.churned_seconds() <= seconds &&
         !(activity.reactivated_seconds() >= activity.churned_seconds() &&
           activity.reactivated_seconds() <= seconds);
}

void PredictAccount(const ActiveModels* models, const v1::Account& account, const v1::ActivityRecord* live,
                    const FeatureVector& features, absl::Time now, const PredictiveOptions& options,
                    v1::PredictiveScores& out) {
  out.set_model_version(models == nullptr ? 0 : models->version());
  if (live == nullptr) {
    // Without a single event every model would be answering from attributes and defaults alone.
    const std::string reason = "insufficient data: no events recorded for the account";
    out.set_transactions_unavailable(reason);
    out.set_expected_transaction_value_unavailable(reason);
    out.set_clv_unavailable(reason);
    out.set_subscription_unavailable(reason);
    out.set_churn_unavailable(reason);
    return;
  }
  const v1::ActivityRecord& activity = *live;
  PredictTransactions(models, account, activity, now, options, out);
  PredictSubscription(models, account, activity, now, options, out);
  PredictChurn(models, features, options, out);
}

}  // namespace steward::scoring
