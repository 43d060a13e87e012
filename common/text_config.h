#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

// Configuration files in protobuf text format, validated with errors that say where they are:
//
//   config/models/health.textproto:12:7: components[1].inputs[0].feature: unknown feature "logins_31d"
//
// A loader parses the file with ParseTextFile (which records where each field is), walks the message
// with Node/Reporter, reports every problem it finds, and turns them into one status with
// ErrorsToStatus. Lines and columns are 1-based and point at the offending field's name; when the field
// is absent from the file, at the enclosing message; when nothing encloses it (or the message did not
// come from a file), the source name alone is given.
namespace steward::text_config {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::TextFormat;

// A field (or element of a repeated field) as errors name it: its path from the root message and where
// it is in the file (line -1 when unknown).
struct FieldRef {
  std::string path;
  TextFormat::ParseLocation location;
};

// A message inside the file being validated. `tree` is null when the message is absent from the file
// or did not come from a file; `location` then falls back to the nearest enclosing message that has one,
// so an error about a missing field still points somewhere useful.
struct Node {
  const Descriptor* descriptor;
  const TextFormat::ParseInfoTree* tree;
  std::string path;
  TextFormat::ParseLocation location;
};

// Builds paths and locations and collects semantic errors for one source.
class Reporter {
 public:
  explicit Reporter(absl::string_view source) : source_(source) {}

  FieldRef Field(const Node& node, absl::string_view name, int index = -1) const {
    const FieldDescriptor* field = node.descriptor->FindFieldByName(std::string(name));
    FieldRef ref{Path(node.path, name, index), node.location};
    if (field != nullptr && node.tree != nullptr) {
      // A repeated field named as a whole is located at its first element; protobuf rejects index -1
      // for repeated fields.
      const int query = field->is_repeated() && index < 0 ? 0 : index;
      TextFormat::ParseLocation location = node.tree->GetLocation(field, query);
      if (location.line >= 0) ref.location = location;
    }
    return ref;
  }

  // The node of a message-typed field (element `index` of a repeated one, -1 for singular).
  Node Nested(const Node& node, absl::string_view name, int index = -1) const {
    const FieldDescriptor* field = node.descriptor->FindFieldByName(std::string(name));
    FieldRef ref = Field(node, name, index);
    const TextFormat::ParseInfoTree* tree =
        node.tree != nullptr && field != nullptr ? node.tree->GetTreeForNested(field, index) : nullptr;
    return Node{field != nullptr ? field->message_type() : nullptr, tree, ref.path, ref.location};
  }

  void Error(const FieldRef& ref, absl::string_view message) {
    if (ref.location.line >= 0) {
      errors_.push_back(absl::StrCat(source_, ":", ref.location.line + 1, ":", ref.location.column + 1, ": ",
                                     ref.path, ": ", message));
    } else {
      errors_.push_back(absl::StrCat(source_, ": ", ref.path, ": ", message));
    }
  }

  std::vector<std::string>& errors() { return errors_; }

 private:
  static std::string Path(absl::string_view parent, absl::string_view name, int index) {
    std::string path = parent.empty() ? std::string(name) : absl::StrCat(parent, ".", name);
    if (index >= 0) absl::StrAppend(&path, "[", index, "]");
    return path;
  }

  std::string source_;
  std::vector<std::string> errors_;
};

inline Node RootNode(const Descriptor* descriptor, const TextFormat::ParseInfoTree* tree) {
  return Node{descriptor, tree, "", TextFormat::ParseLocation()};
}

// INVALID_ARGUMENT with one error per line, or OK when there are none.
absl::Status ErrorsToStatus(const std::vector<std::string>& errors);

// The whole file; NOT_FOUND when it does not exist or cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Reads `path` into `message`, recording where each field is in `tree`. Syntax errors come back as
// INVALID_ARGUMENT with every position the parser reported.
absl::Status ParseTextFile(const std::string& path, google::protobuf::Message* message,
                           TextFormat::ParseInfoTree* tree);

// Parses `path` into a Message and runs `check(message, root_node, reporter)` over it: the whole
// load-and-validate of one configuration file.
template <typename Message, typename Check>
absl::StatusOr<Message> LoadFile(const std::string& path, Check check) {
  Message message;
  TextFormat::ParseInfoTree tree;
  if (absl::Status status = ParseTextFile(path, &message, &tree); !status.ok()) return status;
  Reporter reporter(path);
  check(message, RootNode(Message::descriptor(), &tree), reporter);
  if (absl::Status status = ErrorsToStatus(reporter.errors()); !status.ok()) return status;
  return message;
}

// Runs `check` over a message that did not come from a file; errors name `source` and field paths.
template <typename Message, typename Check>
absl::Status Validate(const Message& message, absl::string_view source, Check check) {
  Reporter reporter(source);
  check(message, RootNode(Message::descriptor(), nullptr), reporter);
  return ErrorsToStatus(reporter.errors());
}

}  // namespace steward::text_config
