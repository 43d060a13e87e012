#pragma once

#include <optional>

#include "absl/time/time.h"
#include "google/protobuf/repeated_field.h"
#include "steward/v1/enrollment.pb.h"
#include "steward/v1/playbook_service.pb.h"

// Frequency caps across playbooks (PlaybookEngineConfig.frequency_caps): at most N touches of an account
// on some channels within any window of D days. A step over a cap is deferred, never dropped.
namespace steward::playbooks {

using FrequencyCaps = google::protobuf::RepeatedPtrField<v1::FrequencyCap>;

// Email, in-app, call and offer reach the customer; tasks and webhooks do not, and are never capped.
bool IsCustomerFacing(v1::Channel channel);

// Whether `cap` counts touches on `channel`.
bool CapCounts(const v1::FrequencyCap& cap, v1::Channel channel);

// nullopt when a touch on `channel` at `now` breaks no cap; otherwise the earliest time at which it
// would break none (when enough of the touches counted leave their windows).
std::optional<absl::Time> CapDeferral(const FrequencyCaps& caps, const v1::TouchLog& log, v1::Channel channel,
                                      absl::Time now);

// Records a touch at `now` and forgets touches older than every cap's window.
void RecordTouch(const FrequencyCaps& caps, v1::TouchLog& log, v1::Channel channel, absl::Time now);

}  // namespace steward::playbooks
