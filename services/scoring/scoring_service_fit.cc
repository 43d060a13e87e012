// ScoringService's predictive-model operations (FitModels, ListModelVersions), kept apart from the
// scoring paths in scoring_service.cc.

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "google/protobuf/arena.h"
#include "services/scoring/activity.h"
#include "services/scoring/keys.h"
#include "services/scoring/predictive_fit.h"
#include "services/scoring/scoring_service.h"

namespace steward::scoring {
namespace {

constexpr int kDefaultChurnHorizonDays = 30;
// The label's horizon plus the 30-day feature windows before the cutoff must fit in the retention.
constexpr int kMinChurnHorizonDays = 7;
constexpr int kMaxChurnHorizonDays = kRetentionDays - 30;
// Accounts read per store round trip while fitting.
constexpr int kFitPageSize = 1000;

absl::StatusOr<ModelFitRequest> ParseFitRequest(const v1::FitModelsRequest& request) {
  ModelFitRequest fit;
  if (!request.models().empty()) {
    fit.bg_nbd = fit.gamma_gamma = fit.sbg = fit.churn = false;
    for (int i = 0; i < request.models_size(); ++i) {
      switch (request.models(i)) {
        case v1::PREDICTIVE_MODEL_KIND_BG_NBD: fit.bg_nbd = true; break;
        case v1::PREDICTIVE_MODEL_KIND_GAMMA_GAMMA: fit.gamma_gamma = true; break;
        case v1::PREDICTIVE_MODEL_KIND_SBG: fit.sbg = true; break;
        case v1::PREDICTIVE_MODEL_KIND_CHURN: fit.churn = true; break;
        default:
          return FieldError(absl::StrCat("models[", i, "]"),
                            "must be PREDICTIVE_MODEL_KIND_BG_NBD, _GAMMA_GAMMA, _SBG or _CHURN");
      }
    }
  }
  if (request.churn_horizon_days() != 0 && (request.churn_horizon_days() < kMinChurnHorizonDays ||
                                            request.churn_horizon_days() > kMaxChurnHorizonDays)) {
    return FieldError("churn_horizon_days", absl::StrCat("must be ", kMinChurnHorizonDays, "..",
                                                         kMaxChurnHorizonDays, " (or 0 for ",
                                                         kDefaultChurnHorizonDays, ")"));
  }
  fit.churn_horizon_days =
      request.churn_horizon_days() == 0 ? kDefaultChurnHorizonDays : request.churn_horizon_days();
  if (request.split_seed() != 0) fit.split_seed = request.split_seed();
  return fit;
}

}  // namespace

absl::StatusOr<v1::FitModelsResponse> ScoringService::FitModels(const v1::FitModelsRequest& request) {
  auto fit_request = ParseFitRequest(request);
  if (!fit_request.ok()) return fit_request.status();
  const auto started = std::chrono::steady_clock::now();
  const absl::Time now = clock_.Now();
  ModelFitter fitter(*fit_request, limits_.predictive, now);

  // A page at a time, so memory holds the fitter's few numbers per account, not the records.
  int64_t accounts = 0;
  std::string after;
  for (;;) {
    auto ids = store_.IndexScan(std::string(kAccountIndex), after, kFitPageSize);
    if (!ids.ok()) return ids.status();
    if (ids->empty()) break;
    const std::size_t per_account = fitter.NeedsHistory() ? 3 : 2;
    std::vector<std::string> keys;
    keys.reserve(ids->size() * per_account);
    for (const std::string& id : *ids) {
      keys.push_back(AccountKey(id));
      keys.push_back(LiveActivityKey(id));
      if (fitter.NeedsHistory()) keys.push_back(ActivityKey(id));
    }
    auto records = store_.Get(keys);
    if (!records.ok()) return records.status();
    for (std::size_t a = 0; a < ids->size(); ++a) {
      const std::optional<Record>& account_record = (*records)[per_account * a];
      const std::optional<Record>& live_record = (*records)[per_account * a + 1];
      if (!account_record.has_value()) continue;  // indexed but not (yet) stored
      v1::Account account;
      if (!account.ParseFromString(account_record->value)) {
        return absl::InternalError(absl::StrCat("stored record ", keys[per_account * a], " cannot be parsed"));
      }
      ++accounts;
      if (!live_record.has_value()) {
        fitter.Add(account, nullptr);
        continue;
      }
      google::protobuf::Arena arena;
      auto* activity = google::protobuf::Arena::CreateMessage<v1::ActivityRecord>(&arena);
      if (!activity->ParseFromString(live_record->value)) {
        return absl::InternalError(absl::StrCat("stored record ", keys[per_account * a + 1], " cannot be parsed"));
      }
      if (fitter.NeedsHistory() && (*records)[per_account * a + 2].has_value()) {
        auto* past = google::protobuf::Arena::CreateMessage<v1::ActivityRecord>(&arena);
        if (!past->ParseFromString((*records)[per_account * a + 2]->value)) {
          return absl::InternalError(absl::StrCat("stored record ", keys[per_account * a + 2], " cannot be parsed"));
        }
        MergeHistory(*past, *activity);
      }
      fitter.Add(account, activity);
    }
    if (static_cast<int>(ids->size()) < kFitPageSize) break;
    after = ids->back();
  }

  v1::FittedModels fitted = fitter.Fit();
  *fitted.mutable_fit_time() = ToProtoTime(now);
  fitted.set_accounts(accounts);
  fitted.set_fit_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  auto stored = model_versions_.Add(std::move(fitted));
  if (!stored.ok()) return stored.status();
  v1::FitModelsResponse response;
  *response.mutable_models() = *std::move(stored);
  return response;
}

absl::StatusOr<v1::ListModelVersionsResponse> ScoringService::ListModelVersions(
    const v1::ListModelVersionsRequest& request) {
  return model_versions_.List(request);
}

}  // namespace steward::scoring
