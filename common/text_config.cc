#include "common/text_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"

namespace steward::text_config {
namespace {

// Collects the text-format parser's syntax errors in "file:line:col: message" form.
class CollectingErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  CollectingErrorCollector(absl::string_view source, std::vector<std::string>* errors)
      : source_(source), errors_(errors) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    // The parser reports 0-based positions; -1 means "no position" (end of input on some paths).
    if (line < 0) {
      errors_->push_back(absl::StrCat(source_, ": ", message));
    } else {
      errors_->push_back(absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message));
    }
  }

 private:
  std::string source_;
  std::vector<std::string>* errors_;
};

}  // namespace

absl::Status ErrorsToStatus(const std::vector<std::string>& errors) {
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat(path, ": read failed"));
  return contents.str();
}

absl::Status ParseTextFile(const std::string& path, google::protobuf::Message* message,
                           TextFormat::ParseInfoTree* tree) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::vector<std::string> errors;
  CollectingErrorCollector collector(path, &errors);
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(tree);
  if (!parser.ParseFromString(*text, message)) {
    if (errors.empty()) errors.push_back(absl::StrCat(path, ": not a valid text-format file"));
    return ErrorsToStatus(errors);
  }
  return absl::OkStatus();
}

}  // namespace steward::text_config
