#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/account_view.h"
#include "services/segmentation/segmentation_client.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/scores.pb.h"

namespace steward::segmentation {

// What the services that react to accounts (upsell, playbooks) decide on for one account: its
// attributes and scores as the scoring service knows them now, and its maintained segments.
struct AccountFacts {
  v1::Account account;
  v1::Scores scores;
  std::vector<std::string> segment_ids;

  AccountView View(absl::Time now) const { return AccountView{&account, &scores, nullptr, now}; }
};

// Facts of many accounts by id; an unknown account has no entry.
using AccountFactsMap = absl::flat_hash_map<std::string, AccountFacts>;

// One account's facts over three calls (account, scores, segments; none when `segmentation` is null).
// NOT_FOUND for an unknown account.
absl::StatusOr<AccountFacts> ReadAccountFacts(const scoring::ScoringClient& scoring,
                                              const SegmentationClient* segmentation,
                                              const std::string& account_id);

// The facts of every known account among `account_ids` (distinct ids) with three batch calls per 1000
// accounts instead of three calls per account: what a follower of a change feed needs for a page.
absl::StatusOr<AccountFactsMap> ReadManyAccountFacts(const scoring::ScoringClient& scoring,
                                                     const SegmentationClient* segmentation,
                                                     absl::Span<const std::string> account_ids);

}  // namespace steward::segmentation
