#include "common/store/store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace steward {
namespace {

bool IsNumber(absl::string_view digits) {
  if (digits.empty() || digits.size() > 20) return false;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

bool IsLogEntryId(absl::string_view id) {
  const size_t dash = id.find('-');
  return dash != absl::string_view::npos && IsNumber(id.substr(0, dash)) && IsNumber(id.substr(dash + 1));
}

std::optional<std::pair<uint64_t, uint64_t>> ParseLogEntryId(absl::string_view id) {
  if (!IsLogEntryId(id)) return std::nullopt;
  const size_t dash = id.find('-');
  std::pair<uint64_t, uint64_t> parsed;
  if (!absl::SimpleAtoi(id.substr(0, dash), &parsed.first) ||
      !absl::SimpleAtoi(id.substr(dash + 1), &parsed.second)) {
    return std::nullopt;
  }
  return parsed;
}

absl::Status CheckLogGroupName(absl::string_view group) {
  if (group.empty()) return absl::InvalidArgumentError("empty consumer group name");
  return absl::OkStatus();
}

absl::Status CheckLogGroupConsumer(absl::string_view group, absl::string_view consumer, int limit) {
  if (absl::Status status = CheckLogGroupName(group); !status.ok()) return status;
  if (consumer.empty()) return absl::InvalidArgumentError("empty consumer name");
  if (limit < 1) return absl::InvalidArgumentError(absl::StrCat("limit ", limit, " is below 1"));
  return absl::OkStatus();
}

absl::Status CheckLogEntryIds(absl::Span<const std::string> ids) {
  for (const std::string& id : ids) {
    if (!ParseLogEntryId(id).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("not a log entry id: \"", absl::CHexEscape(id), "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace steward
