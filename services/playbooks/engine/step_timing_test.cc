#include "services/playbooks/engine/step_timing.h"

#include <initializer_list>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "steward/v1/playbook.pb.h"

namespace steward::playbooks {
namespace {

// 2024-06-01 is a Saturday, 2024-06-03 a Monday. Madrid is UTC+2 in June (CEST), UTC+1 in January.
absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

absl::Time Madrid(int y, int m, int d, int hh = 0, int mm = 0) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/Madrid", &zone));
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), zone);
}

v1::Delay Window(int start_hour, int end_hour, const std::string& time_zone = "") {
  v1::Delay delay;
  delay.mutable_window()->set_start_hour(start_hour);
  delay.mutable_window()->set_end_hour(end_hour);
  delay.mutable_window()->set_time_zone(time_zone);
  return delay;
}

void AddWeekdays(v1::Delay& delay, std::initializer_list<v1::Weekday> days) {
  for (v1::Weekday day : days) delay.add_weekdays(day);
}

void BusinessDays(v1::Delay& delay) {
  AddWeekdays(delay, {v1::WEEKDAY_MONDAY, v1::WEEKDAY_TUESDAY, v1::WEEKDAY_WEDNESDAY, v1::WEEKDAY_THURSDAY,
                      v1::WEEKDAY_FRIDAY});
}

// --- AlignToWindow ---------------------------------------------------------------------------------

TEST(AlignToWindowTest, NoWindowNorWeekdaysLeavesTheTimeAlone) {
  v1::Delay delay;
  delay.set_days(3);
  const absl::Time due = Utc(2024, 6, 1, 23, 59, 59);  // a Saturday night: nothing to align to
  EXPECT_EQ(AlignToWindow(delay, due), due);
}

TEST(AlignToWindowTest, BeforeTheWindowSameDayMovesToItsStart) {
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 6, 30)), Utc(2024, 6, 5, 9));
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 0, 0)), Utc(2024, 6, 5, 9));
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 8, 59, 59)), Utc(2024, 6, 5, 9));
}

TEST(AlignToWindowTest, InsideTheWindowIsUnchanged) {
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 9)), Utc(2024, 6, 5, 9));  // start is inclusive
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 12, 34, 56)), Utc(2024, 6, 5, 12, 34, 56));
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 16, 59, 59)), Utc(2024, 6, 5, 16, 59, 59));
}

TEST(AlignToWindowTest, AfterTheWindowMovesToTheNextDaysStart) {
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 17)), Utc(2024, 6, 6, 9));  // end is exclusive
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 5, 23, 30)), Utc(2024, 6, 6, 9));
  // Across a month's end.
  EXPECT_EQ(AlignToWindow(Window(9, 17), Utc(2024, 6, 30, 18)), Utc(2024, 7, 1, 9));
}

TEST(AlignToWindowTest, WindowToMidnightCoversTheLastHour) {
  EXPECT_EQ(AlignToWindow(Window(20, 24), Utc(2024, 6, 5, 23, 59, 59)), Utc(2024, 6, 5, 23, 59, 59));
  EXPECT_EQ(AlignToWindow(Window(20, 24), Utc(2024, 6, 5, 19, 59)), Utc(2024, 6, 5, 20));
}

TEST(AlignToWindowTest, WeekdaysOnlyWithoutWindowMovesFromSaturdayToMondayMidnight) {
  v1::Delay delay;
  BusinessDays(delay);
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 1, 10)), Utc(2024, 6, 3, 0));   // Saturday
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 2, 23)), Utc(2024, 6, 3, 0));   // Sunday
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 4, 10)), Utc(2024, 6, 4, 10));  // Tuesday: as is
}

TEST(AlignToWindowTest, WeekdaysOnlyWithWindowMovesFromSaturdayToMondaysStart) {
  v1::Delay delay = Window(9, 17);
  BusinessDays(delay);
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 1, 10)), Utc(2024, 6, 3, 9));     // Saturday, in hours
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 1, 7)), Utc(2024, 6, 3, 9));      // Saturday, before hours
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 5, 31, 18)), Utc(2024, 6, 3, 9));    // Friday after hours
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 5, 31, 16)), Utc(2024, 5, 31, 16));  // Friday in hours
}

TEST(AlignToWindowTest, SingleAllowedWeekdayWaitsUpToAWeek) {
  v1::Delay delay = Window(9, 17);
  AddWeekdays(delay, {v1::WEEKDAY_MONDAY});
  // Monday after hours: the next Monday.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 3, 18)), Utc(2024, 6, 10, 9));
  // Tuesday: the next Monday.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 4, 10)), Utc(2024, 6, 10, 9));
}

TEST(AlignToWindowTest, WindowInATimeZoneUsesLocalHours) {
  const v1::Delay delay = Window(9, 17, "Europe/Madrid");
  // 06:00 UTC is 08:00 in Madrid: moved to 09:00 local, 07:00 UTC.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 5, 6)), Madrid(2024, 6, 5, 9));
  EXPECT_EQ(Madrid(2024, 6, 5, 9), Utc(2024, 6, 5, 7));
  // 14:30 UTC is 16:30 local: inside.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 5, 14, 30)), Utc(2024, 6, 5, 14, 30));
  // 16:00 UTC would be inside a UTC window, but it is 18:00 local: the next day's 09:00 local.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 5, 16)), Utc(2024, 6, 6, 7));
  // 08:00 UTC would be before a UTC window, but it is 10:00 local: unchanged.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 5, 8)), Utc(2024, 6, 5, 8));
  // In winter Madrid is UTC+1: 09:00 local is 08:00 UTC.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 1, 10, 5)), Utc(2024, 1, 10, 8));
}

TEST(AlignToWindowTest, WeekdaysAreThoseOfTheWindowsTimeZone) {
  v1::Delay delay = Window(9, 17, "Europe/Madrid");
  BusinessDays(delay);
  // Sunday 23:30 UTC is already Monday 01:30 in Madrid: Monday 09:00 local (07:00 UTC), not 09:00 UTC.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 2, 23, 30)), Utc(2024, 6, 3, 7));
  // Friday 23:30 UTC is Saturday 01:30 in Madrid: Monday 09:00 local.
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 5, 31, 23, 30)), Utc(2024, 6, 3, 7));
}

TEST(AlignToWindowTest, WindowStartInASkippedHourIsTheFirstInstantAfterTheGap) {
  // Madrid skips 02:00..03:00 on 2024-03-31: a 2..5 window that day begins at 03:00 CEST (01:00 UTC).
  const v1::Delay delay = Window(2, 5, "Europe/Madrid");
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 3, 30, 20)), Utc(2024, 3, 31, 1));
}

TEST(AlignToWindowTest, UnknownTimeZoneCountsAsUtc) {
  const v1::Delay delay = Window(9, 17, "Mars/Olympus_Mons");
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 5, 6)), Utc(2024, 6, 5, 9));
  EXPECT_EQ(AlignToWindow(delay, Utc(2024, 6, 5, 16)), Utc(2024, 6, 5, 16));
}

// --- StepDueTime -----------------------------------------------------------------------------------

v1::Step StepAfter(int days, int hours, v1::DelayReference reference) {
  v1::Step step;
  step.set_id("s");
  step.mutable_delay()->set_days(days);
  step.mutable_delay()->set_hours(hours);
  step.mutable_delay()->set_relative_to(reference);
  return step;
}

TEST(StepDueTimeTest, EnrollmentReferenceCountsFromEnrolment) {
  const absl::Time enrolled = Utc(2024, 6, 3, 10);
  const absl::Time previous = Utc(2024, 6, 5, 15);
  EXPECT_EQ(StepDueTime(StepAfter(7, 0, v1::DELAY_REFERENCE_ENROLLMENT), enrolled, previous, 0),
            Utc(2024, 6, 10, 10));
  EXPECT_EQ(StepDueTime(StepAfter(2, 5, v1::DELAY_REFERENCE_ENROLLMENT), enrolled, previous, 0),
            Utc(2024, 6, 5, 15));
}

TEST(StepDueTimeTest, UnspecifiedReferenceMeansEnrolment) {
  const absl::Time enrolled = Utc(2024, 6, 3, 10);
  const absl::Time previous = Utc(2024, 6, 5, 15);
  EXPECT_EQ(StepDueTime(StepAfter(3, 0, v1::DELAY_REFERENCE_UNSPECIFIED), enrolled, previous, 0),
            Utc(2024, 6, 6, 10));
}

TEST(StepDueTimeTest, PreviousStepReferenceCountsFromThePreviousStep) {
  const absl::Time enrolled = Utc(2024, 6, 3, 10);
  const absl::Time previous = Utc(2024, 6, 5, 15, 20);
  EXPECT_EQ(StepDueTime(StepAfter(2, 0, v1::DELAY_REFERENCE_PREVIOUS_STEP), enrolled, previous, 0),
            Utc(2024, 6, 7, 15, 20));
  EXPECT_EQ(StepDueTime(StepAfter(0, 3, v1::DELAY_REFERENCE_PREVIOUS_STEP), enrolled, previous, 0),
            Utc(2024, 6, 5, 18, 20));
}

TEST(StepDueTimeTest, NeverBeforeTheQuietPeriod) {
  const absl::Time enrolled = Utc(2024, 6, 3, 10);
  // Day 0 with a 30-day quiet period: day 30.
  EXPECT_EQ(StepDueTime(StepAfter(0, 0, v1::DELAY_REFERENCE_ENROLLMENT), enrolled, enrolled, 30),
            Utc(2024, 7, 3, 10));
  // A previous-step delay that would fall inside the quiet period is floored to its end too.
  EXPECT_EQ(
      StepDueTime(StepAfter(1, 0, v1::DELAY_REFERENCE_PREVIOUS_STEP), enrolled, Utc(2024, 6, 4, 10), 30),
      Utc(2024, 7, 3, 10));
  // After the quiet period: untouched.
  EXPECT_EQ(StepDueTime(StepAfter(37, 0, v1::DELAY_REFERENCE_ENROLLMENT), enrolled, enrolled, 30),
            Utc(2024, 7, 10, 10));
  EXPECT_EQ(StepDueTime(StepAfter(30, 1, v1::DELAY_REFERENCE_ENROLLMENT), enrolled, enrolled, 30),
            Utc(2024, 7, 3, 11));
}

TEST(StepDueTimeTest, AlignsTheResultToTheWindowAndWeekdays) {
  v1::Step step = StepAfter(5, 0, v1::DELAY_REFERENCE_ENROLLMENT);
  *step.mutable_delay() = Window(9, 17);
  step.mutable_delay()->set_days(5);
  BusinessDays(*step.mutable_delay());
  // Monday 2024-05-27 18:00 + 5 days = Saturday 18:00: Monday 2024-06-03 09:00.
  EXPECT_EQ(StepDueTime(step, Utc(2024, 5, 27, 18), Utc(2024, 5, 27, 18), 0), Utc(2024, 6, 3, 9));
  // The quiet period's floor is aligned as well: floor Saturday 2024-06-01 10:00 -> Monday 09:00.
  step.mutable_delay()->set_days(0);
  EXPECT_EQ(StepDueTime(step, Utc(2024, 5, 27, 10), Utc(2024, 5, 27, 10), 5), Utc(2024, 6, 3, 9));
}

}  // namespace
}  // namespace steward::playbooks
