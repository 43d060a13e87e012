#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace steward {

// INVALID_ARGUMENT for one request field, e.g. FieldError("events[3].value", "NPS must be 0..10").
// The message reads "events[3].value: NPS must be 0..10", and the field path also rides along as a
// status payload so that the gRPC edge can attach a google.rpc.BadRequest detail naming it.
absl::Status FieldError(absl::string_view field, absl::string_view description);

// The field path a FieldError carries, if any.
std::optional<std::string> ErrorField(const absl::Status& status);

}  // namespace steward
