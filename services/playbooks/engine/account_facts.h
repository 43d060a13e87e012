#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "absl/time/time.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/account_facts.h"
#include "services/segmentation/segmentation_client.h"

namespace steward::playbooks {

// What playbook rules (triggers, exits, step conditions) decide on for one account.
using segmentation::AccountFacts;
using segmentation::AccountFactsMap;

// Where the playbook engine reads accounts: the other services, over their clients (in-process or
// remote). Virtual so that engine unit tests can hand-build facts.
class AccountFactsSource {
 public:
  virtual ~AccountFactsSource() = default;
  // The account's facts; NOT_FOUND for an unknown account.
  virtual absl::StatusOr<AccountFacts> Load(const std::string& account_id) const = 0;
  // The facts of every known account among `account_ids` (distinct ids). By default one Load each;
  // sources that can read many at once override it.
  virtual absl::StatusOr<AccountFactsMap> LoadMany(absl::Span<const std::string> account_ids) const;
};

// The production source: account and scores from the scoring service, segments from the segmentation
// service (none when `segmentation` is null). LoadMany asks three batch calls per 1000 accounts, not
// three calls per account: the follower of account changes evaluates whole pages this way.
class ServiceAccountFacts final : public AccountFactsSource {
 public:
  ServiceAccountFacts(const scoring::ScoringClient& scoring,
                      const segmentation::SegmentationClient* segmentation)
      : scoring_(scoring), segmentation_(segmentation) {}

  absl::StatusOr<AccountFacts> Load(const std::string& account_id) const override {
    return segmentation::ReadAccountFacts(scoring_, segmentation_, account_id);
  }
  absl::StatusOr<AccountFactsMap> LoadMany(absl::Span<const std::string> account_ids) const override {
    return segmentation::ReadManyAccountFacts(scoring_, segmentation_, account_ids);
  }

 private:
  const scoring::ScoringClient& scoring_;
  const segmentation::SegmentationClient* segmentation_;
};

}  // namespace steward::playbooks
