#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/scoring/scoring_client.h"
#include "services/segmentation/account_view.h"
#include "services/segmentation/segmentation_client.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/scores.pb.h"

namespace steward::playbooks {

// What playbook rules (triggers, exits, step conditions) decide on for one account, as the scoring and
// segmentation services know it now.
struct AccountFacts {
  v1::Account account;
  v1::Scores scores;
  std::vector<std::string> segment_ids;

  segmentation::AccountView View(absl::Time now) const {
    return segmentation::AccountView{&account, &scores, nullptr, now};
  }
};

// Where the playbook engine reads accounts: the other services, over their clients (in-process or
// remote). Virtual so that engine unit tests can hand-build facts.
class AccountFactsSource {
 public:
  virtual ~AccountFactsSource() = default;
  // The account's facts; NOT_FOUND for an unknown account.
  virtual absl::StatusOr<AccountFacts> Load(const std::string& account_id) const = 0;
};

// The production source: account and scores from the scoring service, segments from the segmentation
// service (none when `segmentation` is null).
class ServiceAccountFacts final : public AccountFactsSource {
 public:
  ServiceAccountFacts(const scoring::ScoringClient& scoring,
                      const segmentation::SegmentationClient* segmentation)
      : scoring_(scoring), segmentation_(segmentation) {}

  absl::StatusOr<AccountFacts> Load(const std::string& account_id) const override {
    AccountFacts facts;
    auto account = scoring_.GetAccount(account_id);
    if (!account.ok()) return account.status();
    facts.account = *std::move(account);
    auto scores = scoring_.BatchGetScores({account_id});
    if (!scores.ok()) return scores.status();
    if (scores->size() != 1) return absl::InternalError("scoring service answered with no scores");
    facts.scores = std::move((*scores)[0]);
    if (segmentation_ != nullptr) {
      auto segments = segmentation_->GetAccountSegments(account_id);
      if (!segments.ok()) return segments.status();
      for (const v1::SegmentAssignment& a : segments->assignments())
        facts.segment_ids.push_back(a.segment_id());
    }
    return facts;
  }

 private:
  const scoring::ScoringClient& scoring_;
  const segmentation::SegmentationClient* segmentation_;
};

}  // namespace steward::playbooks
