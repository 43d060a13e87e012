#include "common/store/store.h"

#include "absl/strings/ascii.h"

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

}  // namespace steward
