#include "services/segmentation/account_facts.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace steward::segmentation {
namespace {

// The scoring and segmentation services' limit of ids per batch read.
constexpr std::size_t kBatchLimit = 1000;

// One batch, every account known (else NOT_FOUND, as the batch reads answer).
absl::Status ReadBatch(const scoring::ScoringClient& scoring, const SegmentationClient* segmentation,
                       const std::vector<std::string>& ids, AccountFactsMap& out) {
  auto accounts = scoring.BatchGetAccounts(ids);
  if (!accounts.ok()) return accounts.status();
  auto scores = scoring.BatchGetScores(ids);
  if (!scores.ok()) return scores.status();
  if (accounts->size() != ids.size() || scores->size() != ids.size()) {
    return absl::InternalError(absl::StrCat("scoring service answered ", accounts->size(), " accounts and ",
                                            scores->size(), " scores for ", ids.size(), " ids"));
  }
  std::vector<std::vector<std::string>> segments(ids.size());
  if (segmentation != nullptr) {
    auto answered = segmentation->BatchGetAccountSegments(ids);
    if (!answered.ok()) return answered.status();
    if (answered->accounts_size() != static_cast<int>(ids.size())) {
      return absl::InternalError(absl::StrCat("segmentation service answered ", answered->accounts_size(),
                                              " accounts for ", ids.size(), " ids"));
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      for (const v1::SegmentAssignment& a : answered->accounts(static_cast<int>(i)).assignments())
        segments[i].push_back(a.segment_id());
    }
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    AccountFacts& facts = out[ids[i]];
    facts.account = std::move((*accounts)[i]);
    facts.scores = std::move((*scores)[i]);
    facts.segment_ids = std::move(segments[i]);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AccountFacts> ReadAccountFacts(const scoring::ScoringClient& scoring,
                                              const SegmentationClient* segmentation,
                                              const std::string& account_id) {
  AccountFacts facts;
  auto account = scoring.GetAccount(account_id);
  if (!account.ok()) return account.status();
  facts.account = *std::move(account);
  auto scores = scoring.BatchGetScores({account_id});
  if (!scores.ok()) return scores.status();
  if (scores->size() != 1) return absl::InternalError("scoring service answered with no scores");
  facts.scores = std::move((*scores)[0]);
  if (segmentation != nullptr) {
    auto segments = segmentation->GetAccountSegments(account_id);
    if (!segments.ok()) return segments.status();
    for (const v1::SegmentAssignment& a : segments->assignments()) facts.segment_ids.push_back(a.segment_id());
  }
  return facts;
}

absl::StatusOr<AccountFactsMap> ReadManyAccountFacts(const scoring::ScoringClient& scoring,
                                                     const SegmentationClient* segmentation,
                                                     absl::Span<const std::string> account_ids) {
  AccountFactsMap out;
  for (std::size_t begin = 0; begin < account_ids.size(); begin += kBatchLimit) {
    const std::size_t end = std::min(account_ids.size(), begin + kBatchLimit);
    std::vector<std::string> ids(account_ids.begin() + begin, account_ids.begin() + end);
    absl::Status s = ReadBatch(scoring, segmentation, ids, out);
    if (!absl::IsNotFound(s)) {
      if (!s.ok()) return s;
      continue;
    }
    // A batch read fails whole for one unknown account (rare: the feeds name accounts that exist).
    // Read that batch one account at a time, leaving the unknown ones out.
    for (const std::string& id : ids) {
      auto facts = ReadAccountFacts(scoring, segmentation, id);
      if (absl::IsNotFound(facts.status())) continue;
      if (!facts.ok()) return facts.status();
      out.insert_or_assign(id, *std::move(facts));
    }
  }
  return out;
}

}  // namespace steward::segmentation
