#include "services/upsell/upsell_follower.h"

#include <string>
#include <vector>

#include "common/store/stored_cursor.h"

namespace steward::upsell {
namespace {

constexpr absl::string_view kChangesCursorKey = "upsell-feed-cursor";
constexpr absl::string_view kMembershipCursorKey = "upsell-membership-cursor";
constexpr int kPageSize = 500;

}  // namespace

UpsellFollower::UpsellFollower(Store& store, const scoring::ScoringClient& scoring,
                               const segmentation::SegmentationClient& segmentation, UpsellService& service,
                               absl::Duration poll_interval)
    : store_(store),
      scoring_(scoring),
      segmentation_(segmentation),
      service_(service),
      loop_("upsell_follower_failed", poll_interval, [this] { return Step(); }) {}

absl::StatusOr<bool> UpsellFollower::Step() {
  bool more = false;
  // Scores: the scoring service's change feed.
  const std::string changes_key(kChangesCursorKey);
  auto after = ReadStoredCursor(store_, changes_key);
  if (!after.ok()) return after.status();
  auto changes = scoring_.ListAccountChanges(*after, kPageSize);
  if (!changes.ok()) return changes.status();
  if (!changes->changes().empty()) {
    std::vector<UpsellService::ChangedAccount> ids;
    for (const v1::AccountChange& change : changes->changes())
      ids.push_back({change.account_id(), change.request_id()});
    if (absl::Status s = service_.EvaluateChanged(ids); !s.ok()) return s;
    if (absl::Status s = SaveStoredCursor(store_, changes_key, changes->next_page_token()); !s.ok()) return s;
    more = changes->changes_size() == kPageSize;
  }
  // Segments: the segmentation service's membership events.
  const std::string membership_key(kMembershipCursorKey);
  auto since = ReadStoredCursor(store_, membership_key);
  if (!since.ok()) return since.status();
  auto events = segmentation_.ListMembershipEvents(*since, kPageSize);
  if (!events.ok()) return events.status();
  if (!events->events().empty()) {
    std::vector<UpsellService::ChangedAccount> ids;
    for (const v1::MembershipEvent& event : events->events()) ids.push_back({event.account_id(), ""});
    if (absl::Status s = service_.EvaluateChanged(ids); !s.ok()) return s;
    if (absl::Status s = SaveStoredCursor(store_, membership_key, events->next_page_token()); !s.ok())
      return s;
    more = more || events->events_size() == kPageSize;
  }
  return more;
}

}  // namespace steward::upsell
