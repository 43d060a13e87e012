#include "services/upsell/upsell_follower.h"

#include <memory>
#include <string>
#include <vector>

#include "common/logging.h"
#include "services/scoring/keys.h"
#include "services/segmentation/keys.h"
#include "steward/v1/scoring_service.pb.h"
#include "steward/v1/segment.pb.h"

namespace steward::upsell {
namespace {

constexpr char kGroup[] = "upsell";
// Where the follower kept its place in each feed before consumer groups.
constexpr char kLegacyChangesCursor[] = "upsell-feed-cursor";
constexpr char kLegacyMembershipCursor[] = "upsell-membership-cursor";

// The accounts of a page of `Entry` messages (AccountChange, MembershipEvent), with their request ids.
template <typename Entry>
std::vector<UpsellService::ChangedAccount> AccountsOf(absl::Span<const LogEntry> entries) {
  std::vector<UpsellService::ChangedAccount> changed;
  changed.reserve(entries.size());
  for (const LogEntry& entry : entries) {
    Entry parsed;
    if (!parsed.ParseFromString(entry.bytes)) {
      // Nothing would ever read it better: skipping it is the only way on.
      Log(LogLevel::kError, "upsell_feed_entry_corrupt", {{"entry_id", entry.id}});
      continue;
    }
    changed.push_back({parsed.account_id(), parsed.request_id()});
  }
  return changed;
}

}  // namespace

UpsellFollower::UpsellFollower(Store& store, UpsellService& service, const FeedSettings& feed)
    : service_(service), feeds_("upsell_follower_failed", feed.poll_interval) {
  feeds_.Add(std::make_unique<GroupConsumer>(store, feed, std::string(scoring::kChangeFeed), kGroup,
                                             kLegacyChangesCursor),
             [this](absl::Span<const LogEntry> page) { return OnChanges(page); });
  feeds_.Add(std::make_unique<GroupConsumer>(store, feed, std::string(segmentation::kMembershipLog), kGroup,
                                             kLegacyMembershipCursor),
             [this](absl::Span<const LogEntry> page) { return OnMembership(page); });
}

absl::Status UpsellFollower::OnChanges(absl::Span<const LogEntry> entries) {
  return service_.EvaluateChanged(AccountsOf<v1::AccountChange>(entries));
}

absl::Status UpsellFollower::OnMembership(absl::Span<const LogEntry> entries) {
  return service_.EvaluateChanged(AccountsOf<v1::MembershipEvent>(entries));
}

}  // namespace steward::upsell
