#include "services/playbooks/playbook_follower.h"

#include <map>
#include <vector>

#include "common/logging.h"
#include "common/request_context.h"
#include "common/store/stored_cursor.h"

namespace steward::playbooks {
namespace {

constexpr absl::string_view kChangesCursorKey = "playbook-feed-cursor";
constexpr absl::string_view kMembershipCursorKey = "playbook-membership-cursor";
constexpr int kPageSize = 500;

bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsAborted(status) || absl::IsDeadlineExceeded(status);
}

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
  // Account ids in first-seen order, each with its new events.
  std::vector<std::string> order;
  std::map<std::string, std::vector<v1::Event>> events;
  std::map<std::string, std::string> request_ids;  // the request behind each account's latest change
  auto apply = [&]() -> absl::Status {
    for (const std::string& id : order) {
      // Logged (an enrolment, a failure) and passed on under the id of the request that caused it.
      ScopedRequest as_request({request_ids[id].empty() ? NewRequestId() : request_ids[id], std::nullopt});
      absl::Status s = engine_.OnAccountChanged(id, events[id]);
      if (Transient(s)) return s;  // the page is retried
      if (!s.ok()) {
        Log(LogLevel::kWarning, "playbook_account_change_failed",
            {{"account_id", id}, {"error", s.ToString()}});
      }
    }
    order.clear();
    events.clear();
    request_ids.clear();
    return absl::OkStatus();
  };
  auto note = [&](const std::string& id) {
    if (events.find(id) == events.end()) order.push_back(id);
    return &events[id];
  };

  const std::string changes_key(kChangesCursorKey);
  auto after = ReadStoredCursor(store_, changes_key);
  if (!after.ok()) return after.status();
  auto changes = scoring_.ListAccountChanges(*after, kPageSize);
  if (!changes.ok()) return changes.status();
  if (!changes->changes().empty()) {
    for (const v1::AccountChange& change : changes->changes()) {
      std::vector<v1::Event>* list = note(change.account_id());
      request_ids[change.account_id()] = change.request_id();
      list->insert(list->end(), change.events().begin(), change.events().end());
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
