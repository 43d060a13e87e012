#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/segmentation/account_view.h"
#include "services/segmentation/rules/fields.h"
#include "steward/v1/segment.pb.h"

namespace steward::segmentation {

// A custom segment's rule (steward.v1.Rule), validated and with every field resolved, ready to be
// evaluated against many accounts. Immutable once compiled: safe to share between threads.
class CompiledRule {
 public:
  // Limits of segment.proto.
  static constexpr int kMaxDepth = 8;         // levels of nesting, the top rule being level 1
  static constexpr int kMaxListRules = 32;    // rules of one all/any list
  static constexpr int kMaxConditions = 64;   // compare, range and in conditions in the whole rule
  static constexpr int kMaxSetValues = 1000;  // values of one `in`

  // Validates the whole rule and resolves its fields. `path` names the rule in errors, e.g.
  // "segment.rule"; errors are FieldError (INVALID_ARGUMENT) naming the offending part, for example
  // "segment.rule.all.rules[1].compare.field: unknown field "score.helth"; ...".
  static absl::StatusOr<CompiledRule> Compile(const v1::Rule& rule, absl::string_view path);

  // Whether the account matches. `builtin_segment_ids` are the account's built-in segments (for the
  // field "segment"). A condition whose field is unknown for the account is false, whatever the
  // operator (so NE too); `not` negates its operand's result, so `not (feature.nps < 7)` holds for an
  // account without an NPS answer. Range is min <= x < max. Allocates nothing.
  bool Matches(const AccountView& view, absl::Span<const std::string> builtin_segment_ids) const;

  // The rule as readable text, for membership reasons and logs, e.g.
  // `score.health < 50 and (account.size = "enterprise" or account.size = "mid_market")`,
  // `feature.nps in {9, 10}`, `not (feature.nps < 7)`, `30 <= score.health < 60`. The values of an
  // `in` are shown sorted, without duplicates.
  std::string Describe() const;

  // The distinct fields the rule reads, in order of first appearance (for SegmentAssignment.inputs).
  const std::vector<FieldRef>& fields() const { return fields_; }

 private:
  class Compiler;

  enum class Kind : std::uint8_t { kAll, kAny, kNot, kCompare, kRange, kIn };
  enum class Op : std::uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

  // One node of the rule, stored in pre-order: a node's children follow it, and `end` is the index one
  // past its subtree, so the next sibling of child c is nodes_[c].end.
  struct Node {
    Kind kind = Kind::kAll;
    Op op = Op::kEq;
    bool text = false;     // kCompare: the value is texts_[begin]; kIn: the values are texts
    bool has_min = false;  // kRange
    bool has_max = false;  // kRange
    std::uint16_t field = 0;
    std::uint32_t end = 0;
    std::uint32_t begin = 0;  // kCompare with text: index into texts_; kIn: first value
    std::uint32_t count = 0;  // kIn: number of values (sorted, distinct) in numbers_ or texts_
    double a = 0;             // kCompare with number: the value; kRange: min
    double b = 0;             // kRange: max
  };

  CompiledRule() = default;

  bool Eval(std::uint32_t index, const AccountView& view,
            absl::Span<const std::string> builtin_segment_ids) const;
  void Describe(std::uint32_t index, bool nested, std::string& out) const;

  std::vector<Node> nodes_;
  std::vector<FieldRef> fields_;
  std::vector<double> numbers_;
  std::vector<std::string> texts_;
};

}  // namespace steward::segmentation
