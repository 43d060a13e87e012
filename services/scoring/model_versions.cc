#include "services/scoring/model_versions.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "services/scoring/keys.h"
#include "steward/v1/activity_record.pb.h"

namespace steward::scoring {
namespace {

constexpr int kKeptVersions = 100;
constexpr int kMaxWriteAttempts = 16;
constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

}  // namespace

ModelVersions::ModelVersions(Store& store, const Clock& clock, absl::Duration refresh_interval)
    : store_(store), clock_(clock), refresh_interval_(refresh_interval) {}

absl::StatusOr<v1::FittedModels> ModelVersions::Add(v1::FittedModels models) {
  const std::string index_key(kModelIndexKey);
  for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
    auto records = store_.Get({index_key});
    if (!records.ok()) return records.status();
    v1::ModelVersionIndex index;
    const std::optional<Record>& current = (*records)[0];
    if (current.has_value() && !index.ParseFromString(current->value)) {
      return absl::InternalError(absl::StrCat("stored record ", index_key, " cannot be parsed"));
    }
    models.set_version(index.last_version() + 1);
    index.set_last_version(models.version());
    v1::FittedModels& entry = *index.add_versions();
    entry = models;
    // The index stays small (it is read and rewritten by every fit): the churn model's text and the
    // cohorts' survival series live in the version's own key.
    entry.mutable_churn()->clear_model_text();
    for (v1::SbgCohortModel& cohort : *entry.mutable_sbg_cohorts()) cohort.clear_alive();

    Write write;
    write.key = index_key;
    write.expected_version = current.has_value() ? current->version : 0;
    if (index.versions_size() > kKeptVersions) {
      const int drop = index.versions_size() - kKeptVersions;
      for (int i = 0; i < drop; ++i) write.also_delete.push_back(ModelVersionKey(index.versions(i).version()));
      index.mutable_versions()->DeleteSubrange(0, drop);
    }
    write.value = index.SerializeAsString();
    write.also_write.push_back(AlsoWrite{ModelVersionKey(models.version()), models.SerializeAsString()});
    if (models.accepted()) {
      write.also_write.push_back(AlsoWrite{std::string(kAcceptedModelKey), absl::StrCat(models.version())});
    }
    auto applied = store_.Put({&write, 1});
    if (!applied.ok()) return applied.status();
    if (!(*applied)[0]) continue;  // another FitModels stored a version meanwhile: take the next number
    if (models.accepted()) {
      auto loaded = ActiveModels::Load(models);
      if (!loaded.ok()) return loaded.status();
      absl::MutexLock lock(&mu_);
      active_ = *std::move(loaded);
      checked_at_ = clock_.Now();
    }
    return models;
  }
  return absl::AbortedError("too many concurrent FitModels calls; retry");
}

absl::StatusOr<v1::ListModelVersionsResponse> ModelVersions::List(const v1::ListModelVersionsRequest& request) {
  if (request.page_size() < 0) return FieldError("page_size", "must not be negative");
  const int page_size = request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  int64_t before = INT64_MAX;
  if (!request.page_token().empty()) {
    std::string decoded;
    if (!absl::WebSafeBase64Unescape(request.page_token(), &decoded) || !absl::SimpleAtoi(decoded, &before)) {
      return FieldError("page_token", "is not a token returned by ListModelVersions");
    }
  }
  const std::string keys[] = {std::string(kModelIndexKey), std::string(kAcceptedModelKey)};
  auto records = store_.Get(keys);
  if (!records.ok()) return records.status();
  v1::ModelVersionIndex index;
  if ((*records)[0].has_value() && !index.ParseFromString((*records)[0]->value)) {
    return absl::InternalError(absl::StrCat("stored record ", keys[0], " cannot be parsed"));
  }
  v1::ListModelVersionsResponse response;
  if ((*records)[1].has_value()) {
    int64_t active = 0;
    if (absl::SimpleAtoi((*records)[1]->value, &active)) response.set_active_version(active);
  }
  for (int i = index.versions_size() - 1; i >= 0; --i) {
    const v1::FittedModels& version = index.versions(i);
    if (version.version() >= before) continue;
    if (response.versions_size() == page_size) {
      response.set_next_page_token(absl::WebSafeBase64Escape(absl::StrCat(response.versions().rbegin()->version())));
      break;
    }
    *response.add_versions() = version;
  }
  return response;
}

std::optional<std::shared_ptr<const ActiveModels>> ModelVersions::ActiveLocally() const {
  absl::MutexLock lock(&mu_);
  if (!checked_at_.has_value() || clock_.Now() - *checked_at_ >= refresh_interval_) return std::nullopt;
  return active_;
}

std::shared_ptr<const ActiveModels> ModelVersions::Active() {
  if (auto local = ActiveLocally()) return *std::move(local);
  absl::MutexLock refreshing(&refresh_mu_);
  if (auto local = ActiveLocally()) return *std::move(local);  // another reader refreshed meanwhile

  std::shared_ptr<const ActiveModels> held;
  {
    absl::MutexLock lock(&mu_);
    held = active_;
  }
  std::shared_ptr<const ActiveModels> fresh = held;
  auto records = store_.Get({std::string(kAcceptedModelKey)});
  int64_t version = 0;
  if (records.ok() && (*records)[0].has_value() && absl::SimpleAtoi((*records)[0]->value, &version) &&
      (held == nullptr || held->version() != version)) {
    auto loaded = Load(version);
    if (loaded.ok()) fresh = *std::move(loaded);
  }
  absl::MutexLock lock(&mu_);
  // Never step back to an older version than one Add installed meanwhile.
  if (active_ == held) active_ = fresh;
  checked_at_ = clock_.Now();
  return active_;
}

absl::StatusOr<std::shared_ptr<const ActiveModels>> ModelVersions::Load(int64_t version) {
  const std::string key = ModelVersionKey(version);
  auto records = store_.Get({key});
  if (!records.ok()) return records.status();
  v1::FittedModels models;
  if (!(*records)[0].has_value() || !models.ParseFromString((*records)[0]->value)) {
    return absl::InternalError(absl::StrCat("fitted models version ", version, " is missing or corrupt"));
  }
  return ActiveModels::Load(std::move(models));
}

}  // namespace steward::scoring
