#include "services/playbooks/engine/frequency_caps.h"

#include <algorithm>
#include <vector>

#include "absl/algorithm/container.h"

namespace steward::playbooks {

bool IsCustomerFacing(v1::Channel channel) {
  return channel == v1::CHANNEL_EMAIL || channel == v1::CHANNEL_IN_APP || channel == v1::CHANNEL_CALL ||
         channel == v1::CHANNEL_OFFER;
}

bool CapCounts(const v1::FrequencyCap& cap, v1::Channel channel) {
  if (!IsCustomerFacing(channel)) return false;
  return cap.channels().empty() || absl::c_linear_search(cap.channels(), static_cast<int>(channel));
}

std::optional<absl::Time> CapDeferral(const FrequencyCaps& caps, const v1::TouchLog& log, v1::Channel channel,
                                      absl::Time now) {
  std::optional<absl::Time> allowed_at;
  for (const v1::FrequencyCap& cap : caps) {
    if (!CapCounts(cap, channel) || cap.max_touches() <= 0) continue;
    const absl::Duration window = absl::Hours(24 * int64_t{cap.window_days()});
    std::vector<absl::Time> counted;  // oldest first, as the log is
    for (const v1::TouchLog::Touch& touch : log.touches()) {
      const absl::Time at = absl::FromUnixMillis(touch.time_ms());
      if (at > now - window && CapCounts(cap, touch.channel())) counted.push_back(at);
    }
    const int over = static_cast<int>(counted.size()) - cap.max_touches() + 1;
    if (over <= 0) continue;
    // Once the `over` oldest touches have left the window, one more fits.
    const absl::Time free_at = counted[over - 1] + window;
    allowed_at = allowed_at.has_value() ? std::max(*allowed_at, free_at) : free_at;
  }
  return allowed_at;
}

void RecordTouch(const FrequencyCaps& caps, v1::TouchLog& log, v1::Channel channel, absl::Time now) {
  int longest_days = 0;
  for (const v1::FrequencyCap& cap : caps) longest_days = std::max(longest_days, cap.window_days());
  const int64_t oldest_kept_ms = absl::ToUnixMillis(now - absl::Hours(24 * int64_t{longest_days}));
  auto* touches = log.mutable_touches();
  touches->erase(std::remove_if(touches->begin(), touches->end(),
                                [&](const v1::TouchLog::Touch& t) { return t.time_ms() <= oldest_kept_ms; }),
                 touches->end());
  if (longest_days == 0 || !IsCustomerFacing(channel)) return;
  v1::TouchLog::Touch* touch = log.add_touches();
  touch->set_channel(channel);
  touch->set_time_ms(absl::ToUnixMillis(now));
}

}  // namespace steward::playbooks
