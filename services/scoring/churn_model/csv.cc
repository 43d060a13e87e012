#include "services/scoring/churn_model/csv.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace steward::scoring::churn_model {

absl::StatusOr<size_t> CsvTable::ColumnIndex(absl::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  return absl::NotFoundError(absl::StrCat("CSV has no column '", name, "'"));
}

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (text.empty()) return absl::InvalidArgumentError("CSV is empty");

  CsvTable table;
  std::vector<std::string> record;
  std::string field;
  size_t line = 1;         // current physical line, for messages
  size_t record_line = 1;  // where the current record started
  size_t i = 0;
  bool in_record = false;  // a field of the current record has started

  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("CSV line ", line, ": ", what));
  };
  auto end_record = [&]() -> absl::Status {
    record.push_back(std::move(field));
    field.clear();
    if (table.header.empty()) {
      table.header = std::move(record);
    } else if (record.size() != table.header.size()) {
      return absl::InvalidArgumentError(absl::StrCat("CSV line ", record_line, ": ", record.size(),
                                                     " fields, the header has ", table.header.size()));
    } else {
      table.rows.push_back(std::move(record));
    }
    record.clear();
    return absl::OkStatus();
  };

  while (i < text.size()) {
    // At the start of a field.
    in_record = true;
    if (text[i] == '"') {
      ++i;
      while (true) {
        if (i == text.size()) return error("unterminated quoted field");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return error("text after a closing quote");
      }
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        if (text[i] == '"') return error("quote inside an unquoted field");
        field += text[i++];
      }
    }
    // At the end of a field: a comma, a line break or the end of the text.
    if (i == text.size()) break;
    if (text[i] == ',') {
      record.push_back(std::move(field));
      field.clear();
      ++i;
      continue;
    }
    if (text[i] == '\r') {
      if (i + 1 == text.size() || text[i + 1] != '\n') return error("carriage return without a line feed");
      ++i;
    }
    ++i;  // the '\n'
    if (absl::Status status = end_record(); !status.ok()) return status;
    in_record = false;
    ++line;
    record_line = line;
  }
  // The last record, unless the text ended with its line break.
  if (in_record) {
    if (absl::Status status = end_record(); !status.ok()) return status;
  }
  if (table.header.empty()) return absl::InvalidArgumentError("CSV has no header");
  return table;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace steward::scoring::churn_model
