#include "common/logging.h"

#include <unistd.h>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/request_context.h"

namespace steward {
namespace {

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendField(std::string& line, absl::string_view key, absl::string_view value) {
  line.append(",\"");
  AppendJsonEscaped(line, key);
  line.append("\":\"");
  AppendJsonEscaped(line, value);
  line.push_back('"');
}

}  // namespace

void AppendJsonEscaped(std::string& out, absl::string_view text) {
  for (char c : text) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out.append(absl::StrFormat("\\u%04x", static_cast<int>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
}

void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  // The log records when it was written, so it reads the wall clock rather than the injected one.
  std::string line = "{\"time\":\"";
  line.append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  line.push_back('"');
  AppendField(line, "level", LevelName(level));
  AppendField(line, "event", event);
  for (const auto& [key, value] : fields) AppendField(line, key, value);
  if (const RequestContext* request = CurrentRequest(); request != nullptr) {
    AppendField(line, "request_id", request->request_id);
  }
  line.append("}\n");
  // A single write keeps concurrent lines whole.
  [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace steward
