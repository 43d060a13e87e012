#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/store/store.h"

namespace steward::segmentation {

// Store keys of the segmentation service (the loyalty ledger's are in loyalty/loyalty_book.h).

// A custom segment's definition (v1::Segment), and the sorted index of custom segment ids.
inline std::string SegmentKey(absl::string_view segment_id) { return absl::StrCat("segment:", segment_id); }
inline constexpr absl::string_view kSegmentIndex = "segments";
// Written on every change of a custom segment: its version tells readers that their copy of the
// catalogue is stale (and it is tracked, so checking it costs no I/O while nothing changes).
inline constexpr absl::string_view kCatalogVersionKey = "segments-version";

// The segments an account was in when last evaluated (v1::AccountMemberships).
inline std::string MembershipsKey(absl::string_view account_id) {
  return absl::StrCat("memberships:", KeyTag(account_id));
}
// The sorted index of a segment's members, for ListSegmentMembers.
inline std::string MembersIndex(absl::string_view segment_id) {
  return absl::StrCat("segment-members:", segment_id);
}
// Counters of every segment (v1::SegmentStatsRecord), for GetSegmentStats.
inline constexpr absl::string_view kStatsKey = "segment-stats";
// The log of membership events (v1::MembershipEvent without its cursor).
inline constexpr absl::string_view kMembershipLog = "membership-events";
// Where the maintainer was in the scoring service's change feed before it followed it as a consumer
// group (the group starts there).
inline constexpr absl::string_view kFeedCursorKey = "segmentation-feed-cursor";

}  // namespace steward::segmentation
