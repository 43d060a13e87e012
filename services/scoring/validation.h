#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/event.pb.h"

namespace steward::scoring {

// Request validation of the scoring API. Every error is a FieldError naming the offending field with
// the given prefix, e.g. "events[3].value: an NPS score is an integer from 0 to 10".

// Account ids: 1 to 128 characters of [A-Za-z0-9._:-]. Braces are excluded because ids become Redis
// hash tags.
absl::Status ValidateAccountId(absl::string_view field, absl::string_view account_id);

// The ids of a batch request (field `field`): 1..`max` valid ids, returned de-duplicated in first-seen
// order.
absl::StatusOr<std::vector<std::string>> ValidateAccountIds(
    absl::string_view field, const google::protobuf::RepeatedPtrField<std::string>& requested, int max);

absl::Status ValidateAccount(absl::string_view field, const v1::Account& account);

// `now` bounds the event time: at most `max_future_skew` ahead of it.
absl::Status ValidateEvent(absl::string_view field, const v1::Event& event, absl::Time now,
                           absl::Duration max_future_skew);

}  // namespace steward::scoring
