#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/store/store.h"

namespace steward::scoring {

// Store keys of the scoring service. Every per-account key carries the account's hash tag so that all
// of an account's keys share one Redis Cluster slot.
inline std::string AccountKey(absl::string_view id) { return absl::StrCat("account:", KeyTag(id)); }
// The activity record is split (activity_record.proto): the history of past days, the live part
// (today, gauges) and the id log (event-id fingerprints for de-duplication, append-only).
inline std::string ActivityKey(absl::string_view id) { return absl::StrCat("activity:", KeyTag(id)); }
inline std::string LiveActivityKey(absl::string_view id) { return absl::StrCat("live:", KeyTag(id)); }
inline std::string IdLogKey(absl::string_view id) { return absl::StrCat("ids:", KeyTag(id)); }
inline std::string ScoresKey(absl::string_view id, absl::string_view model) {
  return absl::StrCat("scores:", KeyTag(id), ":", model);
}
inline std::string HistoryKey(absl::string_view id, absl::string_view model) {
  return absl::StrCat("history:", KeyTag(id), ":", model);
}
// The change feed (a log, see Store::LogAppend): one AccountChange per upsert and per account whose
// events a RecordEvents call recorded.
inline constexpr absl::string_view kChangeFeed = "account-changes";
// The sorted index of all account ids, for ListAccounts.
inline constexpr absl::string_view kAccountIndex = "accounts";
// Fitted predictive models (model_versions.h): the version index, each version's parameters, and the
// newest accepted version's number, the small key replicas poll. Global keys, one hash tag so that a
// new version and its index entry are written in one atomic step.
inline constexpr absl::string_view kModelIndexKey = "{predictive-models}:index";
inline constexpr absl::string_view kAcceptedModelKey = "{predictive-models}:accepted";
inline std::string ModelVersionKey(int64_t version) { return absl::StrCat("{predictive-models}:v", version); }

}  // namespace steward::scoring
