#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace steward {

enum class LogLevel { kInfo, kWarning, kError };

// One log field; numbers are passed already formatted (absl::StrCat) to keep the interface small.
using LogField = std::pair<absl::string_view, std::string>;

// Writes one structured log line to stderr as a JSON object:
//   {"time":"2026-11-23T14:40:00.123Z","level":"info","event":"server_started","listen":"[::]:50051"}
// One line per notable event (start, stop, store outage, config error), never per request, so that the
// log stays readable under load. A line written while a request is current (common/request_context.h)
// also carries its "request_id". Thread-safe: each line is written with a single write().
void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields = {});

// Appends `text` to `out` as the inside of a JSON string (quotes not included).
void AppendJsonEscaped(std::string& out, absl::string_view text);

}  // namespace steward
