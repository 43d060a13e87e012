#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/store/store.h"

namespace steward {

// A follower's place in a feed (a log entry id or a page token), kept in the store under `key` so that a
// restart resumes where the follower was. "" before the first save.
inline absl::StatusOr<std::string> ReadStoredCursor(Store& store, const std::string& key) {
  auto read = store.Get({&key, 1});
  if (!read.ok()) return read.status();
  return (*read)[0].has_value() ? (*read)[0]->value : std::string();
}

inline absl::Status SaveStoredCursor(Store& store, const std::string& key, const std::string& cursor) {
  Write write;
  write.key = key;
  write.value = cursor;
  return store.Put({&write, 1}).status();
}

}  // namespace steward
