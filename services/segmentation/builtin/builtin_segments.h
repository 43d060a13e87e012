#pragma once

#include <array>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/segmentation/account_view.h"
#include "steward/v1/segment.pb.h"
#include "steward/v1/segmentation_config.pb.h"

namespace steward::segmentation {

// The built-in segmentations of SPEC §3 as pure functions of a (validated) SegmentationConfig and an
// account. The rules, with every threshold, are documented in
// proto/steward/v1/segmentation_config.proto. Thread-safe: nothing here has state.

// The segmentations, in the order AssignBuiltInSegments returns them.
inline constexpr std::array<absl::string_view, 9> kBuiltInSegmentations = {
    "quadrant", "clv-tier", "persona", "industry", "size", "lifecycle", "nps", "advocacy", "loyalty"};

// Every built-in segment ("<segmentation>/<value>", the configured industries included), with its
// display name, description and treatment from the configuration and built_in set, sorted by id.
std::vector<v1::Segment> BuiltInSegments(const v1::SegmentationConfig& config);

// The account's segment in each built-in segmentation: exactly one assignment per segmentation, in the
// order of kBuiltInSegmentations. Each has the segment's display name and treatment, a reason naming
// the inputs and thresholds (for example "clv 12,400 > 10,000") and the inputs read, named as in rules
// ("score.clv", "feature.nps", "account.industry"...) with their values ("unknown" when missing).
//
// Inputs: CLV is the scores' "with_expansion" estimate, else "basic", else the first estimate (unknown
// without any, or when not a number); the churn probability is scores.churn.probability (unknown
// without scores or a churn part); health is scores.health.score (unknown without a health part);
// features come from scores.features, absent ones unknown. A null account, scores or loyalty standing
// makes what it would hold unknown (a null loyalty standing is bronze). Tenure is in whole days from
// account.start_time to view.now.
//
// Cheap enough to run for every account of a large portfolio: one pass over the features, no regular
// expressions, and no allocation beyond the returned messages.
std::vector<v1::SegmentAssignment> AssignBuiltInSegments(const v1::SegmentationConfig& config,
                                                         const AccountView& view);

}  // namespace steward::segmentation
