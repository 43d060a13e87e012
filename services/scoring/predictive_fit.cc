#include "services/scoring/predictive_fit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_time.h"
#include "services/scoring/activity.h"
#include "services/scoring/churn_model/evaluation.h"
#include "services/scoring/churn_model/logistic_trainer.h"
#include "services/scoring/predictive/shifted_beta_geometric.h"
#include "services/scoring/transactions.h"

namespace steward::scoring {
namespace {

// Fit durations are statistics, not logic, so they come from the machine's steady clock, not Clock.
class Stopwatch {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string InsufficientData(std::size_t have, absl::string_view what, int need) {
  return absl::StrCat("insufficient data: ", have, " ", what, ", at least ", need, " needed");
}

bool AllFinite(std::initializer_list<double> values) {
  for (double v : values) {
    if (!std::isfinite(v) || v <= 0) return false;
  }
  return true;
}

// Fills the shared statistics of a maximum-likelihood fit and judges it: it must have converged,
// stayed off the parameter bounds and produced finite, positive parameters.
void Judge(const predictive::FitStatistics& fit, std::size_t rows, double seconds, bool finite,
           v1::FitStatistics& out) {
  out.set_rows(static_cast<int64_t>(rows));
  out.set_log_likelihood(fit.log_likelihood);
  out.set_iterations(fit.iterations);
  out.set_converged(fit.converged);
  out.set_at_bound(fit.at_bound);
  out.set_fit_seconds(seconds);
  std::vector<std::string> problems;
  if (!fit.converged) problems.push_back("did not converge");
  if (fit.at_bound) problems.push_back("a parameter is at its bound (the data do not determine it)");
  if (!finite || !std::isfinite(fit.log_likelihood)) problems.push_back("non-finite parameters");
  out.set_accepted(problems.empty());
  if (!problems.empty()) out.set_reason(absl::StrJoin(problems, "; "));
}

// Gauges and event times after `cutoff` would leak what happened next into the churn features.
void TruncateGauges(v1::ActivityRecord& record, int64_t cutoff) {
  if (record.nps().time_seconds() > cutoff) record.clear_nps();
  if (record.csat().time_seconds() > cutoff) record.clear_csat();
  if (record.survey_satisfaction().time_seconds() > cutoff) record.clear_survey_satisfaction();
  if (record.feedback_sentiment().time_seconds() > cutoff) record.clear_feedback_sentiment();
  if (record.days_late().time_seconds() > cutoff) record.clear_days_late();
  if (record.seats_active().time_seconds() > cutoff) record.clear_seats_active();
  if (record.roi_percent().time_seconds() > cutoff) record.clear_roi_percent();
  for (auto it = record.mutable_limit_usage()->begin(); it != record.mutable_limit_usage()->end();) {
    if (it->second.time_seconds() > cutoff) {
      it = record.mutable_limit_usage()->erase(it);
    } else {
      ++it;
    }
  }
  if (record.last_expansion_seconds() > cutoff) record.set_last_expansion_seconds(0);
}

}  // namespace

ModelFitter::ModelFitter(const ModelFitRequest& request, const PredictiveOptions& options, absl::Time now)
    : request_(request),
      options_(options),
      now_(now),
      churn_cutoff_(now - absl::Hours(24) * request.churn_horizon_days) {}

void ModelFitter::Add(const v1::Account& account, v1::ActivityRecord* activity) {
  if (activity == nullptr) return;  // no events: nothing for any model to learn from
  if (request_.bg_nbd || request_.gamma_gamma) {
    if (auto in = TransactionInputsAsOf(activity->transactions(), DayOf(now_)); in.ok()) {
      rfm_.push_back(in->rfm);
      if (in->rfm.x > 0 && in->mean_repeat_value > 0) monetary_.push_back({in->rfm.x, in->mean_repeat_value});
    }
  }
  if (request_.sbg && account.has_start_time()) {
    const absl::Time start = FromProtoTime(account.start_time());
    if (start <= now_) {
      const bool churned = ChurnedAsOf(*activity, now_);
      cohorts_[CohortOf(start)].push_back(
          churned ? MonthsBetween(start, absl::FromUnixSeconds(activity->churned_seconds())) : -1);
    }
  }
  if (request_.churn) {
    // A row for every account that existed and had not churned at the cutoff: its features then, and
    // whether it churned in the horizon since.
    const absl::Time born = account.has_start_time() ? FromProtoTime(account.start_time())
                                                     : FromProtoTime(account.create_time());
    if (born > churn_cutoff_ || ChurnedAsOf(*activity, churn_cutoff_)) return;
    const int label = ChurnedAsOf(*activity, now_) ? 1 : 0;
    TruncateGauges(*activity, absl::ToUnixSeconds(churn_cutoff_));
    const FeatureVector features = ExtractFeatures(account, *activity, churn_cutoff_);
    for (std::size_t f = 0; f < kFeatureCount; ++f) {
      churn_values_.push_back(features.Get(static_cast<Feature>(f)).value_or(std::nan("")));
    }
    churn_labels_.push_back(label);
  }
}

v1::FittedModels ModelFitter::Fit() const {
  v1::FittedModels out;
  const std::string not_requested = "not requested";
  out.mutable_bg_nbd()->mutable_statistics()->set_reason(not_requested);
  out.mutable_gamma_gamma()->mutable_statistics()->set_reason(not_requested);
  out.mutable_churn()->mutable_statistics()->set_reason(not_requested);
  if (request_.bg_nbd) {
    out.mutable_bg_nbd()->Clear();
    FitBgNbdModel(rfm_, options_.min_fit_rows, *out.mutable_bg_nbd());
  }
  if (request_.gamma_gamma) {
    out.mutable_gamma_gamma()->Clear();
    FitGammaGammaModel(monetary_, options_.min_fit_rows, *out.mutable_gamma_gamma());
  }
  if (request_.sbg) FitCohorts(out);
  if (request_.churn) FitChurn(out);

  // Accepted when something was fitted and nothing that had the data to be fitted failed its checks.
  // A cohort whose fit fails its checks is left out (its accounts get a reason) without blocking the
  // version: cohorts are many and small, and a young one often cannot pin heterogeneity down yet.
  const std::vector<const v1::FitStatistics*> all = {
      &out.bg_nbd().statistics(), &out.gamma_gamma().statistics(), &out.churn().statistics()};
  int accepted = 0;
  for (const v1::SbgCohortModel& cohort : out.sbg_cohorts()) accepted += cohort.statistics().accepted() ? 1 : 0;
  std::vector<std::string> failures;
  for (const v1::FitStatistics* s : all) {
    if (s->accepted()) {
      ++accepted;
    } else if (s->rows() > 0 && !absl::StartsWith(s->reason(), "insufficient data")) {
      failures.push_back(s->reason());
    }
  }
  out.set_accepted(accepted > 0 && failures.empty());
  if (accepted == 0) out.set_reason("no model had enough data to fit");
  if (!failures.empty()) out.set_reason(absl::StrCat("a fit failed its checks: ", absl::StrJoin(failures, "; ")));
  return out;
}

void FitBgNbdModel(absl::Span<const predictive::RfmSummary> customers, int min_rows, v1::BgNbdModel& out) {
  v1::FitStatistics& stats = *out.mutable_statistics();
  stats.set_rows(static_cast<int64_t>(customers.size()));
  const bool repeaters = std::any_of(customers.begin(), customers.end(),
                                     [](const predictive::RfmSummary& s) { return s.x > 0; });
  if (customers.size() < static_cast<std::size_t>(min_rows)) {
    stats.set_reason(InsufficientData(customers.size(), "accounts with a transaction", min_rows));
    return;
  }
  if (!repeaters) {
    stats.set_reason("insufficient data: no account has a repeat transaction");
    return;
  }
  Stopwatch watch;
  auto fit = predictive::FitBgNbd(customers);
  if (!fit.ok()) {
    stats.set_reason(std::string(fit.status().message()));
    return;
  }
  const predictive::BgNbdParams& p = fit->params;
  out.set_r(p.r);
  out.set_alpha(p.alpha);
  out.set_a(p.a);
  out.set_b(p.b);
  Judge(fit->statistics, customers.size(), watch.Seconds(), AllFinite({p.r, p.alpha, p.a, p.b}), stats);
}

void FitGammaGammaModel(absl::Span<const predictive::MonetarySummary> customers, int min_rows,
                        v1::GammaGammaModel& out) {
  v1::FitStatistics& stats = *out.mutable_statistics();
  stats.set_rows(static_cast<int64_t>(customers.size()));
  if (customers.size() < static_cast<std::size_t>(min_rows)) {
    stats.set_reason(InsufficientData(customers.size(), "accounts with a valued repeat transaction", min_rows));
    return;
  }
  Stopwatch watch;
  auto fit = predictive::FitGammaGamma(customers);
  if (!fit.ok()) {
    stats.set_reason(std::string(fit.status().message()));
    return;
  }
  const predictive::GammaGammaParams& p = fit->params;
  out.set_p(p.p);
  out.set_q(p.q);
  out.set_gamma(p.gamma);
  Judge(fit->statistics, customers.size(), watch.Seconds(), AllFinite({p.p, p.q, p.gamma}), stats);
  // E[M] = p(γ + x m_x)/(px + q − 1) must exist for an account without repeats too.
  if (stats.accepted() && p.q <= 1) {
    stats.set_accepted(false);
    stats.set_reason("q <= 1: the population mean spend does not exist");
  }
}

void FitSbgModel(std::size_t subscribers, int min_rows, v1::SbgCohortModel& out) {
  v1::FitStatistics& stats = *out.mutable_statistics();
  stats.set_rows(static_cast<int64_t>(subscribers));
  if (subscribers < static_cast<std::size_t>(min_rows)) {
    stats.set_reason(InsufficientData(subscribers, "subscribers in the cohort", min_rows));
    return;
  }
  if (out.alive_size() < 2) {
    stats.set_reason("insufficient data: the cohort is not a month old yet");
    return;
  }
  Stopwatch watch;
  auto fit = predictive::FitSbg(out.alive());
  if (!fit.ok()) {
    // The series says nobody left, or everybody did: not a failed fit, just nothing to learn yet.
    stats.set_reason(absl::StrCat("insufficient data: ", fit.status().message()));
    return;
  }
  out.set_alpha(fit->params.alpha);
  out.set_beta(fit->params.beta);
  Judge(fit->statistics, subscribers, watch.Seconds(), AllFinite({fit->params.alpha, fit->params.beta}), stats);
}

void FitChurnModel(const churn_model::LabeledData& data, uint64_t seed, int min_rows,
                   v1::ChurnClassifierModel& model) {
  v1::FitStatistics& stats = *model.mutable_statistics();
  const std::size_t rows = data.labels.size();
  stats.set_rows(static_cast<int64_t>(rows));
  const auto churned = static_cast<std::size_t>(std::accumulate(data.labels.begin(), data.labels.end(), 0));
  const auto need = static_cast<std::size_t>(min_rows);
  if (churned < need || rows - churned < need) {
    stats.set_reason(absl::StrCat("insufficient data: ", churned, " churned and ", rows - churned,
                                  " retained rows; at least ", need, " of each needed"));
    return;
  }
  Stopwatch watch;
  auto fail = [&](const absl::Status& status) { stats.set_reason(std::string(status.message())); };
  auto split = churn_model::StratifiedSplit(data.labels, 0.6, 0.2, seed);
  if (!split.ok()) return fail(split.status());
  const churn_model::LabeledData train = churn_model::SelectRows(data, split->train);
  const churn_model::LabeledData validation = churn_model::SelectRows(data, split->validation);
  const churn_model::LabeledData test = churn_model::SelectRows(data, split->test);
  auto trained = churn_model::TrainWithLambdaSearch(train, validation, {});
  if (!trained.ok()) return fail(trained.status());
  auto probabilities = churn_model::PredictProbabilities(trained->model, test.x);
  if (!probabilities.ok()) return fail(probabilities.status());
  auto evaluation = churn_model::Evaluate(*probabilities, test.labels);
  if (!evaluation.ok()) return fail(evaluation.status());

  const churn_model::LogisticModel& m = trained->model;
  model.set_model_text(churn_model::SerializeModel(m));
  model.set_lambda(m.lambda);
  model.set_test_auc(evaluation->auc);
  model.set_test_brier(evaluation->brier);
  model.set_test_calibration_error(evaluation->expected_calibration_error);
  model.set_test_rows(static_cast<int64_t>(evaluation->rows));
  model.set_test_positive_rate(evaluation->positive_rate);
  model.set_validation_auc(m.stats.validation_auc);
  predictive::FitStatistics fit;
  fit.log_likelihood = -m.stats.train_log_loss * static_cast<double>(m.stats.train_rows);
  fit.iterations = m.stats.iterations;
  fit.converged = m.stats.converged;
  Judge(fit, rows, watch.Seconds(), true, stats);
  // Better than a coin on accounts it never saw, or it is not a classifier.
  if (stats.accepted() && !(evaluation->auc > 0.5)) {
    stats.set_accepted(false);
    stats.set_reason(absl::StrCat("held-out AUC ", evaluation->auc, " is no better than chance"));
  }
}

void ModelFitter::FitCohorts(v1::FittedModels& out) const {
  for (const auto& [cohort, churn_months] : cohorts_) {
    v1::SbgCohortModel& model = *out.add_sbg_cohorts();
    model.set_cohort(cohort);
    // The cohort's age in whole months; every subscriber started within the cohort's month.
    absl::CivilMonth month;
    absl::ParseCivilTime(cohort, &month);
    const int age = MonthsBetween(absl::FromCivil(month, absl::UTCTimeZone()), now_);
    for (int t = 0; t <= age; ++t) {
      model.add_alive(static_cast<double>(std::count_if(churn_months.begin(), churn_months.end(),
                                                        [t](int m) { return m < 0 || m >= t; })));
    }
    FitSbgModel(churn_months.size(), options_.min_fit_rows, model);
  }
}

void ModelFitter::FitChurn(v1::FittedModels& out) const {
  v1::ChurnClassifierModel& model = *out.mutable_churn();
  model.set_horizon_days(request_.churn_horizon_days);
  model.mutable_statistics()->Clear();
  // Unknown features take the column's mean of known values (a standardised 0 once fitted, which is
  // also what scoring substitutes); a column nobody knows is a constant 0 and gets weight 0.
  churn_model::LabeledData data;
  for (std::size_t f = 0; f < kFeatureCount; ++f) {
    data.x.feature_names.emplace_back(FeatureName(static_cast<Feature>(f)));
  }
  data.x.values = churn_values_;
  data.labels = churn_labels_;
  const std::size_t rows = churn_labels_.size();
  for (std::size_t f = 0; f < kFeatureCount; ++f) {
    double sum = 0;
    std::size_t known = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      const double v = data.x.values[r * kFeatureCount + f];
      if (!std::isnan(v)) {
        sum += v;
        ++known;
      }
    }
    const double mean = known > 0 ? sum / static_cast<double>(known) : 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
      double& v = data.x.values[r * kFeatureCount + f];
      if (std::isnan(v)) v = mean;
    }
  }
  FitChurnModel(data, request_.split_seed, options_.min_fit_rows, model);
}

}  // namespace steward::scoring
