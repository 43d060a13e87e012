#include "common/store/stored_clock.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace steward {
namespace {

std::string Format(absl::Time t) { return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone()); }

absl::StatusOr<absl::Time> Parse(const std::string& value) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value, &t, &error)) {
    return absl::InternalError(absl::StrCat("the stored manual clock '", value, "' is not a time: ", error));
  }
  return t;
}

absl::StatusOr<std::optional<absl::Time>> Read(Store& store) {
  const std::string key(StoredManualClock::kKey);
  auto read = store.Get({&key, 1});
  if (!read.ok()) return read.status();
  if (!(*read)[0].has_value()) return std::nullopt;
  return Parse((*read)[0]->value);
}

}  // namespace

absl::StatusOr<std::unique_ptr<StoredManualClock>> StoredManualClock::Open(Store& store, absl::Time start) {
  Write first;
  first.key = std::string(kKey);
  first.value = Format(start);
  first.expected_version = 0;
  auto put = store.Put({&first, 1});
  if (!put.ok()) return put.status();
  absl::Time now = start;
  if (!(*put)[0]) {
    // Another process (or this one before a restart) set it first: its time stands.
    auto stored = Read(store);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return absl::UnavailableError("the manual clock vanished from the store");
    now = **stored;
  }
  return std::unique_ptr<StoredManualClock>(new StoredManualClock(store, now));
}

absl::Time StoredManualClock::Now() const {
  auto stored = Read(store_);
  absl::MutexLock lock(&mu_);
  if (stored.ok() && stored->has_value()) {
    last_read_ = **stored;
  } else {
    Log(LogLevel::kWarning, "manual_clock_unreadable",
        {{"error", stored.ok() ? "the key is missing" : stored.status().ToString()}});
  }
  return last_read_;
}

absl::Status StoredManualClock::MoveTo(absl::Time t) {
  Write move;
  move.key = std::string(kKey);
  move.value = Format(t);
  auto put = store_.Put({&move, 1});
  if (!put.ok()) return put.status();
  absl::MutexLock lock(&mu_);
  last_read_ = t;
  return absl::OkStatus();
}

}  // namespace steward
