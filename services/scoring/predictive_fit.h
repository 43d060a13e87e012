#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/scoring/churn_model/design_matrix.h"
#include "services/scoring/predictive/bg_nbd.h"
#include "services/scoring/predictive/gamma_gamma.h"
#include "services/scoring/predictive_scoring.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/activity_record.pb.h"
#include "steward/v1/predictive.pb.h"

namespace steward::scoring {

// Each model's fit, judged (statistics.accepted, reason), from data already summarised: shared by
// FitModels and the offline `steward fit`. Too few rows (min_rows) gives a reason starting with
// "insufficient data" and no parameters.
void FitBgNbdModel(absl::Span<const predictive::RfmSummary> customers, int min_rows, v1::BgNbdModel& out);
void FitGammaGammaModel(absl::Span<const predictive::MonetarySummary> customers, int min_rows,
                        v1::GammaGammaModel& out);
// `out.alive` holds the survival series; `subscribers` is the cohort's size.
void FitSbgModel(std::size_t subscribers, int min_rows, v1::SbgCohortModel& out);
// Rows must be finite (impute first). 60/20/20 stratified split with `seed`: λ chosen on validation, the
// held-out test split reported.
void FitChurnModel(const churn_model::LabeledData& data, uint64_t seed, int min_rows,
                   v1::ChurnClassifierModel& out);

// What one FitModels run fits.
struct ModelFitRequest {
  bool bg_nbd = true;
  bool gamma_gamma = true;
  bool sbg = true;
  bool churn = true;
  int churn_horizon_days = 30;
  uint64_t split_seed = 20240607;
};

// Collects, one account at a time, what each model is fitted on, then fits them all: FitModels streams
// the stored accounts through it page by page, so memory holds a few numbers per account rather than
// their activity records. Not thread-safe.
class ModelFitter {
 public:
  ModelFitter(const ModelFitRequest& request, const PredictiveOptions& options, absl::Time now);

  // Whether Add needs the whole activity record (history merged) rather than the live part only: the
  // churn classifier's features read the daily buckets.
  bool NeedsHistory() const { return request_.churn; }
  // Adds one account; `activity` is its (merged, when NeedsHistory) record, nullptr when it has none.
  // The churn rows' features are taken as of now − churn_horizon_days, which truncates `activity`.
  void Add(const v1::Account& account, v1::ActivityRecord* activity);
  // Fits every requested model and judges each (FitStatistics.accepted, reason). `version`, times and
  // account counts are left to the caller.
  v1::FittedModels Fit() const;

 private:
  void FitCohorts(v1::FittedModels& out) const;
  void FitChurn(v1::FittedModels& out) const;

  const ModelFitRequest request_;
  const PredictiveOptions options_;
  const absl::Time now_;
  const absl::Time churn_cutoff_;
  std::vector<predictive::RfmSummary> rfm_;
  std::vector<predictive::MonetarySummary> monetary_;
  // Per cohort ("YYYY-MM"): each subscriber's whole months survived (churn month index), or -1 if alive.
  std::map<std::string, std::vector<int>> cohorts_;
  // Churn rows: features as of the cutoff (NaN when unknown) and labels.
  std::vector<double> churn_values_;
  std::vector<int> churn_labels_;
};

}  // namespace steward::scoring
