#include "services/playbooks/engine/step_timing.h"

#include <algorithm>

#include "absl/algorithm/container.h"

namespace steward::playbooks {
namespace {

v1::Weekday ToWeekday(absl::Weekday day) {
  switch (day) {
    case absl::Weekday::monday:
      return v1::WEEKDAY_MONDAY;
    case absl::Weekday::tuesday:
      return v1::WEEKDAY_TUESDAY;
    case absl::Weekday::wednesday:
      return v1::WEEKDAY_WEDNESDAY;
    case absl::Weekday::thursday:
      return v1::WEEKDAY_THURSDAY;
    case absl::Weekday::friday:
      return v1::WEEKDAY_FRIDAY;
    case absl::Weekday::saturday:
      return v1::WEEKDAY_SATURDAY;
    case absl::Weekday::sunday:
      return v1::WEEKDAY_SUNDAY;
  }
  return v1::WEEKDAY_UNSPECIFIED;
}

}  // namespace

absl::Time AlignToWindow(const v1::Delay& delay, absl::Time due) {
  const bool has_window = delay.has_window();
  if (!has_window && delay.weekdays().empty()) return due;
  absl::TimeZone zone = absl::UTCTimeZone();
  if (has_window && !delay.window().time_zone().empty()) {
    absl::TimeZone loaded;
    if (absl::LoadTimeZone(delay.window().time_zone(), &loaded)) zone = loaded;
  }
  const int start_hour = has_window ? delay.window().start_hour() : 0;
  const int end_hour = has_window ? delay.window().end_hour() : 24;
  auto day_allowed = [&](absl::CivilDay day) {
    return delay.weekdays().empty() ||
           absl::c_linear_search(delay.weekdays(), static_cast<int>(ToWeekday(absl::GetWeekday(day))));
  };
  absl::Time candidate = due;
  // A week and a day covers every combination of allowed weekdays and a window (a DST gap may cost one
  // more day).
  for (int attempt = 0; attempt < 9; ++attempt) {
    const absl::CivilSecond local = absl::ToCivilSecond(candidate, zone);
    const absl::CivilDay day(local);
    if (day_allowed(day)) {
      if (local.hour() < start_hour) return zone.At(absl::CivilHour(day) + start_hour).pre;
      if (local.hour() < end_hour) return candidate;
    }
    candidate = zone.At(absl::CivilHour(day + 1) + start_hour).pre;
    // The next day's window start is in the window unless that day is not allowed; the loop checks.
    const absl::CivilSecond next(absl::ToCivilSecond(candidate, zone));
    if (day_allowed(absl::CivilDay(next)) && next.hour() >= start_hour && next.hour() < end_hour) {
      return candidate;
    }
  }
  return candidate;
}

absl::Time StepDueTime(const v1::Step& step, absl::Time enrolled, absl::Time previous, int start_delay_days) {
  const absl::Duration offset = absl::Hours(24 * int64_t{step.delay().days()} + step.delay().hours());
  const absl::Time reference =
      step.delay().relative_to() == v1::DELAY_REFERENCE_PREVIOUS_STEP ? previous : enrolled;
  const absl::Time due = std::max(reference + offset, enrolled + absl::Hours(24 * int64_t{start_delay_days}));
  return AlignToWindow(step.delay(), due);
}

}  // namespace steward::playbooks
