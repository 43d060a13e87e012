#include "services/upsell/upsell_follower.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/logging.h"

namespace steward::upsell {
namespace {

constexpr absl::string_view kCursorKey = "upsell-feed-cursor";
constexpr int kPageSize = 500;

}  // namespace

UpsellFollower::UpsellFollower(Store& store, const scoring::ScoringClient& scoring, UpsellService& service,
                               absl::Duration poll_interval)
    : store_(store),
      scoring_(scoring),
      service_(service),
      loop_("upsell_follower_failed", poll_interval, [this] { return Step(); }) {}

absl::StatusOr<bool> UpsellFollower::Step() {
  const std::string cursor_key(kCursorKey);
  auto cursor = store_.Get({&cursor_key, 1});
  if (!cursor.ok()) return cursor.status();
  const std::string after = (*cursor)[0].has_value() ? (*cursor)[0]->value : std::string();
  auto changes = scoring_.ListAccountChanges(after, kPageSize);
  if (!changes.ok()) return changes.status();
  if (changes->changes().empty()) return false;

  absl::flat_hash_set<std::string> seen;
  for (const v1::AccountChange& change : changes->changes()) {
    if (!seen.insert(change.account_id()).second) continue;
    v1::EvaluateAccountRequest request;
    request.set_account_id(change.account_id());
    absl::StatusOr<v1::EvaluateAccountResponse> evaluated = service_.EvaluateAccount(request);
    if (absl::IsUnavailable(evaluated.status()) || absl::IsAborted(evaluated.status())) {
      return evaluated.status();  // transient: the page is retried
    }
    if (!evaluated.ok()) {
      // Anything else would fail again on a retry; one account must not stop the others.
      Log(LogLevel::kWarning, "upsell_evaluation_failed",
          {{"account_id", change.account_id()}, {"error", evaluated.status().ToString()}});
    }
  }
  Write write;
  write.key = cursor_key;
  write.value = changes->next_page_token();
  if (auto put = store_.Put({&write, 1}); !put.ok()) return put.status();
  return changes->changes_size() == kPageSize;
}

}  // namespace steward::upsell
