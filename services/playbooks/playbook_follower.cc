#include "services/playbooks/playbook_follower.h"

#include <vector>

#include "absl/container/flat_hash_map.h"

#include "common/store/stored_cursor.h"

namespace steward::playbooks {
namespace {

constexpr absl::string_view kChangesCursorKey = "playbook-feed-cursor";
constexpr absl::string_view kMembershipCursorKey = "playbook-membership-cursor";
constexpr int kPageSize = 500;

}  // namespace

PlaybookFollower::PlaybookFollower(Store& store, const scoring::ScoringClient& scoring,
                                   const segmentation::SegmentationClient* segmentation,
                                   PlaybookEngine& engine, absl::Duration poll_interval)
    : store_(store),
      scoring_(scoring),
      segmentation_(segmentation),
      engine_(engine),
      loop_("playbook_follower_failed", poll_interval, [this] { return Step(); }) {}

absl::StatusOr<bool> PlaybookFollower::Step() {
  absl::MutexLock lock(&step_mu_);
  bool more = false;
  // Each account of a page once, in first-seen order, with all its new events.
  std::vector<PlaybookEngine::ChangedAccount> changed;
  absl::flat_hash_map<std::string, std::size_t> position;
  auto note = [&](const std::string& id) -> PlaybookEngine::ChangedAccount& {
    auto [it, added] = position.emplace(id, changed.size());
    if (added) changed.push_back({id, {}, ""});
    return changed[it->second];
  };
  auto apply = [&]() -> absl::Status {
    absl::Status s = engine_.OnAccountsChanged(changed);
    changed.clear();
    position.clear();
    return s;  // when not ok, the page is retried
  };

  const std::string changes_key(kChangesCursorKey);
  auto after = ReadStoredCursor(store_, changes_key);
  if (!after.ok()) return after.status();
  auto changes = scoring_.ListAccountChanges(*after, kPageSize);
  if (!changes.ok()) return changes.status();
  if (!changes->changes().empty()) {
    for (const v1::AccountChange& change : changes->changes()) {
      PlaybookEngine::ChangedAccount& account = note(change.account_id());
      account.request_id = change.request_id();
      account.events.insert(account.events.end(), change.events().begin(), change.events().end());
    }
    if (absl::Status s = apply(); !s.ok()) return s;
    if (absl::Status s = SaveStoredCursor(store_, changes_key, changes->next_page_token()); !s.ok()) return s;
    more = changes->changes_size() == kPageSize;
  }
  if (segmentation_ == nullptr) return more;
  const std::string membership_key(kMembershipCursorKey);
  auto since = ReadStoredCursor(store_, membership_key);
  if (!since.ok()) return since.status();
  auto moved = segmentation_->ListMembershipEvents(*since, kPageSize);
  if (!moved.ok()) return moved.status();
  if (!moved->events().empty()) {
    for (const v1::MembershipEvent& event : moved->events()) note(event.account_id());
    if (absl::Status s = apply(); !s.ok()) return s;
    if (absl::Status s = SaveStoredCursor(store_, membership_key, moved->next_page_token()); !s.ok())
      return s;
    more = more || moved->events_size() == kPageSize;
  }
  return more;
}

absl::Status PlaybookFollower::Drain() {
  for (;;) {
    auto more = Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

}  // namespace steward::playbooks
