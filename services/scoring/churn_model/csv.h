#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace steward::scoring::churn_model {

// A CSV file as text: the header row and the data rows, each with exactly one field per header name.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  // Position of the column named `name`; NOT_FOUND naming it otherwise.
  absl::StatusOr<size_t> ColumnIndex(absl::string_view name) const;
};

// Parses RFC 4180 CSV: comma-separated; a field in double quotes may hold commas, line breaks and
// doubled quotes ("" for "); lines end in LF or CRLF; a final line break is optional; a UTF-8 byte
// order mark before the header is skipped. Fields are not trimmed. INVALID_ARGUMENT naming the line
// for an unterminated quote, a quote inside an unquoted field, text after a closing quote, a row whose
// field count differs from the header's, or an empty input.
absl::StatusOr<CsvTable> ParseCsv(absl::string_view text);

// The whole file; NOT_FOUND when it cannot be opened.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace steward::scoring::churn_model
