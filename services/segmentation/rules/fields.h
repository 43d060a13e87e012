#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/scoring/features.h"
#include "services/segmentation/account_view.h"
#include "steward/v1/segmentation_service.pb.h"

namespace steward::segmentation {

// The fields a custom segment's rule can read (see segment.proto and ListSegmentFields).

// What kind of value a field holds.
enum class FieldType : std::uint8_t {
  kNumber,
  kText,
  // The account's built-in segment ids ("segment"); only SetMembership may test it.
  kSegmentSet,
};

// Which field a resolved reference reads.
enum class FieldId : std::uint8_t {
  kAccountId,
  kDisplayName,
  kIndustry,
  kPlan,
  kSize,
  kStatus,
  kSeats,
  kMrr,
  kArpu,
  kGrossMargin,
  kCac,
  kTenureDays,
  kDaysToRenewal,
  kLabel,    // account.label.<key>
  kFeature,  // feature.<name>
  kHealth,
  kChurnProbability,
  kRiskScore,
  kRiskLevel,
  kClv,
  kHealthChange7d,
  kHealthChange30d,
  kLoyaltyPoints,
  kLoyaltyEarned,
  kSegment,
};

// A field resolved once by ResolveField, so that evaluation switches on `id` and never compares names
// to find the field.
struct FieldRef {
  FieldId id = FieldId::kAccountId;
  FieldType type = FieldType::kText;
  // For FieldId::kFeature only.
  scoring::Feature feature = scoring::Feature::kCount;
  // For FieldId::kLabel only: the label's key, e.g. "region".
  std::string label_key;
  // The name as written in rules, e.g. "score.health" or "account.label.region".
  std::string name;
};

// A field's value for one account. Text values are views into the AccountView's messages (or static
// strings) and stay valid as long as those messages do.
using Value = std::variant<double, absl::string_view>;

// Every field with its name, type ("number" or "text") and a one-line description, sorted by name.
// "account.label.<key>" stands for every label; "segment" is listed as text (only usable with `in`).
std::vector<v1::SegmentField> SegmentFields();

// The field with that name. INVALID_ARGUMENT naming the problem when the name is not a field
// (suggesting ListSegmentFields) or a label key is not 1 to 63 characters of [a-z0-9_.-].
absl::StatusOr<FieldRef> ResolveField(absl::string_view name);

// The field's value for the account, or nullopt when it is unknown: an absent message (account,
// scores), a feature the scores do not hold, a missing label, an unset start or renewal time, an absent
// health trend, an unspecified risk level, no CLV estimate, a CAC of zero. A null loyalty standing
// counts as 0 points. Always nullopt for "segment" (the built-in segment ids are not part of the view).
// Allocates nothing.
std::optional<Value> Lookup(const FieldRef& field, const AccountView& view);

// A number as rules and reasons print it: integers without a decimal point ("12400"), others in the
// shortest form that reads back to the same double ("0.35").
std::string FormatNumber(double value);

// A value as SegmentInput.value shows it: the number formatted, the text as is, "unknown" for nullopt.
std::string FormatValue(const std::optional<Value>& value);

}  // namespace steward::segmentation
