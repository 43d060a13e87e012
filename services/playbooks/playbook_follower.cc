#include "services/playbooks/playbook_follower.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/logging.h"
#include "services/scoring/keys.h"
#include "services/segmentation/keys.h"
#include "steward/v1/scoring_service.pb.h"
#include "steward/v1/segment.pb.h"

namespace steward::playbooks {
namespace {

constexpr char kGroup[] = "playbooks";
// Where the follower kept its place in each feed before consumer groups.
constexpr char kLegacyChangesCursor[] = "playbook-feed-cursor";
constexpr char kLegacyMembershipCursor[] = "playbook-membership-cursor";

// Each account of a page once, in first-seen order, with all its new events.
class PageOfAccounts {
 public:
  PlaybookEngine::ChangedAccount& Note(const std::string& account_id) {
    auto [it, added] = position_.emplace(account_id, changed_.size());
    if (added) changed_.push_back({account_id, {}, ""});
    return changed_[it->second];
  }
  const std::vector<PlaybookEngine::ChangedAccount>& changed() const { return changed_; }

 private:
  std::vector<PlaybookEngine::ChangedAccount> changed_;
  absl::flat_hash_map<std::string, std::size_t> position_;
};

}  // namespace

PlaybookFollower::PlaybookFollower(Store& store, PlaybookEngine& engine, const FeedSettings& feed,
                                   bool follow_membership)
    : engine_(engine), feeds_("playbook_follower_failed", feed.poll_interval) {
  feeds_.Add(std::make_unique<GroupConsumer>(store, feed, std::string(scoring::kChangeFeed), kGroup,
                                             kLegacyChangesCursor),
             [this](absl::Span<const LogEntry> page) { return OnChanges(page); });
  if (follow_membership) {
    feeds_.Add(std::make_unique<GroupConsumer>(store, feed, std::string(segmentation::kMembershipLog), kGroup,
                                               kLegacyMembershipCursor),
               [this](absl::Span<const LogEntry> page) { return OnMembership(page); });
  }
}

absl::Status PlaybookFollower::OnChanges(absl::Span<const LogEntry> entries) {
  PageOfAccounts page;
  for (const LogEntry& entry : entries) {
    v1::AccountChange change;
    if (!change.ParseFromString(entry.bytes)) {
      // Nothing would ever read it better: skipping it is the only way on.
      Log(LogLevel::kError, "playbook_feed_entry_corrupt", {{"entry_id", entry.id}});
      continue;
    }
    PlaybookEngine::ChangedAccount& account = page.Note(change.account_id());
    account.request_id = change.request_id();
    account.events.insert(account.events.end(), std::make_move_iterator(change.mutable_events()->begin()),
                          std::make_move_iterator(change.mutable_events()->end()));
  }
  return engine_.OnAccountsChanged(page.changed());
}

absl::Status PlaybookFollower::OnMembership(absl::Span<const LogEntry> entries) {
  PageOfAccounts page;
  for (const LogEntry& entry : entries) {
    v1::MembershipEvent event;
    if (!event.ParseFromString(entry.bytes)) {
      Log(LogLevel::kError, "playbook_feed_entry_corrupt", {{"entry_id", entry.id}});
      continue;
    }
    page.Note(event.account_id()).request_id = event.request_id();
  }
  return engine_.OnAccountsChanged(page.changed());
}

}  // namespace steward::playbooks
