#include "services/segmentation/rules/rule.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/field_error.h"

namespace steward::segmentation {
namespace {

std::string Join(absl::string_view path, absl::string_view part) {
  if (path.empty()) return std::string(part);
  return absl::StrCat(path, ".", part);
}

std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

// Orders std::string and absl::string_view alike, for binary searches of texts with a view.
struct TextLess {
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return absl::string_view(a) < absl::string_view(b);
  }
};

}  // namespace

// Builds a CompiledRule from a v1::Rule, checking it on the way.
class CompiledRule::Compiler {
 public:
  explicit Compiler(absl::string_view root_path) : root_path_(root_path) {}

  absl::Status Rule(const v1::Rule& rule, const std::string& path, int depth) {
    if (depth > kMaxDepth) {
      return FieldError(path, absl::StrCat("rules nest at most ", kMaxDepth, " levels deep"));
    }
    switch (rule.kind_case()) {
      case v1::Rule::kAll:
        return List(rule.all(), Kind::kAll, Join(path, "all"), depth);
      case v1::Rule::kAny:
        return List(rule.any(), Kind::kAny, Join(path, "any"), depth);
      case v1::Rule::kNot: {
        const std::uint32_t index = Push(Kind::kNot);
        if (absl::Status status = Rule(rule.not_(), Join(path, "not"), depth + 1); !status.ok())
          return status;
        rule_.nodes_[index].end = Size();
        return absl::OkStatus();
      }
      case v1::Rule::kCompare:
        return Compare(rule.compare(), Join(path, "compare"));
      case v1::Rule::kRange:
        return Range(rule.range(), Join(path, "range"));
      case v1::Rule::kIn:
        return In(rule.in(), Join(path, "in"));
      case v1::Rule::KIND_NOT_SET:
        break;
    }
    return FieldError(path, "must set one of all, any, not, compare, range, in");
  }

  CompiledRule Finish() && { return std::move(rule_); }

 private:
  std::uint32_t Size() const { return static_cast<std::uint32_t>(rule_.nodes_.size()); }

  std::uint32_t Push(Kind kind) {
    rule_.nodes_.push_back(Node{.kind = kind});
    return Size() - 1;
  }

  absl::Status List(const v1::RuleList& list, Kind kind, const std::string& path, int depth) {
    const std::string rules_path = Join(path, "rules");
    if (list.rules().empty() || list.rules_size() > kMaxListRules) {
      return FieldError(
          rules_path, absl::StrCat("must hold 1 to ", kMaxListRules, " rules (has ", list.rules_size(), ")"));
    }
    const std::uint32_t index = Push(kind);
    for (int i = 0; i < list.rules_size(); ++i) {
      absl::Status status = Rule(list.rules(i), absl::StrCat(rules_path, "[", i, "]"), depth + 1);
      if (!status.ok()) return status;
    }
    rule_.nodes_[index].end = Size();
    return absl::OkStatus();
  }

  // Counts one more condition, and resolves its field into an index of fields_.
  absl::StatusOr<std::uint16_t> Condition(absl::string_view field, const std::string& field_path) {
    if (++conditions_ > kMaxConditions) {
      return FieldError(root_path_, absl::StrCat("a rule holds at most ", kMaxConditions,
                                                 " conditions (compare, range, in)"));
    }
    for (std::size_t i = 0; i < rule_.fields_.size(); ++i) {
      if (rule_.fields_[i].name == field) return static_cast<std::uint16_t>(i);
    }
    absl::StatusOr<FieldRef> ref = ResolveField(field);
    if (!ref.ok()) return FieldError(field_path, ref.status().message());
    rule_.fields_.push_back(*std::move(ref));
    return static_cast<std::uint16_t>(rule_.fields_.size() - 1);
  }

  const FieldRef& Field(std::uint16_t index) const { return rule_.fields_[index]; }

  static absl::Status NotSegment(const FieldRef& field, const std::string& field_path) {
    if (field.type != FieldType::kSegmentSet) return absl::OkStatus();
    return FieldError(field_path, "segment can only be tested with in (a set membership)");
  }

  absl::Status Compare(const v1::FieldComparison& compare, const std::string& path) {
    const std::string field_path = Join(path, "field");
    absl::StatusOr<std::uint16_t> field_index = Condition(compare.field(), field_path);
    if (!field_index.ok()) return field_index.status();
    const FieldRef& field = Field(*field_index);
    if (absl::Status status = NotSegment(field, field_path); !status.ok()) return status;

    Node node{.kind = Kind::kCompare, .field = *field_index};
    bool ordering = true;
    switch (compare.op()) {
      case v1::OPERATOR_EQ:
        node.op = Op::kEq;
        ordering = false;
        break;
      case v1::OPERATOR_NE:
        node.op = Op::kNe;
        ordering = false;
        break;
      case v1::OPERATOR_LT:
        node.op = Op::kLt;
        break;
      case v1::OPERATOR_LE:
        node.op = Op::kLe;
        break;
      case v1::OPERATOR_GT:
        node.op = Op::kGt;
        break;
      case v1::OPERATOR_GE:
        node.op = Op::kGe;
        break;
      case v1::OPERATOR_UNSPECIFIED:
        return FieldError(Join(path, "op"), "must set an operator (EQ, NE, LT, LE, GT or GE)");
      default:
        return FieldError(Join(path, "op"), absl::StrCat("unknown operator ", compare.op()));
    }
    if (ordering && field.type == FieldType::kText) {
      return FieldError(Join(path, "op"),
                        absl::StrCat(field.name, " is a text field: only EQ and NE compare texts"));
    }
    switch (compare.value_case()) {
      case v1::FieldComparison::kNumber:
        if (field.type != FieldType::kNumber) {
          return FieldError(Join(path, "number"), absl::StrCat(field.name, " is a text field; give text"));
        }
        if (!std::isfinite(compare.number()))
          return FieldError(Join(path, "number"), "must be a finite number");
        node.a = compare.number();
        break;
      case v1::FieldComparison::kText:
        if (field.type != FieldType::kText) {
          return FieldError(Join(path, "text"), absl::StrCat(field.name, " is a number field; give number"));
        }
        node.text = true;
        node.begin = static_cast<std::uint32_t>(rule_.texts_.size());
        rule_.texts_.push_back(compare.text());
        break;
      case v1::FieldComparison::VALUE_NOT_SET:
        return FieldError(Join(path, "value"), "must set number or text");
    }
    node.end = Size() + 1;
    rule_.nodes_.push_back(node);
    return absl::OkStatus();
  }

  absl::Status Range(const v1::Range& range, const std::string& path) {
    const std::string field_path = Join(path, "field");
    absl::StatusOr<std::uint16_t> field_index = Condition(range.field(), field_path);
    if (!field_index.ok()) return field_index.status();
    const FieldRef& field = Field(*field_index);
    if (absl::Status status = NotSegment(field, field_path); !status.ok()) return status;
    if (field.type != FieldType::kNumber) {
      return FieldError(field_path,
                        absl::StrCat(field.name, " is a text field; a range needs a number field"));
    }
    if (!range.has_min() && !range.has_max()) return FieldError(path, "must set min, max or both");
    if (range.has_min() && !std::isfinite(range.min())) {
      return FieldError(Join(path, "min"), "must be a finite number");
    }
    if (range.has_max() && !std::isfinite(range.max())) {
      return FieldError(Join(path, "max"), "must be a finite number");
    }
    if (range.has_min() && range.has_max() && !(range.max() > range.min())) {
      return FieldError(Join(path, "max"), "max must be greater than min (the range is min <= x < max)");
    }
    Node node{.kind = Kind::kRange,
              .has_min = range.has_min(),
              .has_max = range.has_max(),
              .field = *field_index,
              .end = Size() + 1,
              .a = range.min(),
              .b = range.max()};
    rule_.nodes_.push_back(node);
    return absl::OkStatus();
  }

  absl::Status In(const v1::SetMembership& in, const std::string& path) {
    absl::StatusOr<std::uint16_t> field_index = Condition(in.field(), Join(path, "field"));
    if (!field_index.ok()) return field_index.status();
    const FieldRef& field = Field(*field_index);
    const bool texts = !in.texts().empty();
    const bool numbers = !in.numbers().empty();
    if (!texts && !numbers) return FieldError(path, "must list texts or numbers");
    if (texts && numbers) return FieldError(path, "give texts or numbers, not both");
    if (texts && field.type == FieldType::kNumber) {
      return FieldError(Join(path, "texts"), absl::StrCat(field.name, " is a number field; give numbers"));
    }
    if (numbers && field.type != FieldType::kNumber) {
      return FieldError(Join(path, "numbers"), absl::StrCat(field.name, " is a text field; give texts"));
    }
    const int count = texts ? in.texts_size() : in.numbers_size();
    if (count > kMaxSetValues) {
      return FieldError(Join(path, texts ? "texts" : "numbers"),
                        absl::StrCat("at most ", kMaxSetValues, " values (has ", count, ")"));
    }
    Node node{.kind = Kind::kIn, .text = texts, .field = *field_index, .end = Size() + 1};
    if (texts) {
      const auto first = static_cast<std::ptrdiff_t>(rule_.texts_.size());
      rule_.texts_.insert(rule_.texts_.end(), in.texts().begin(), in.texts().end());
      std::sort(rule_.texts_.begin() + first, rule_.texts_.end());
      rule_.texts_.erase(std::unique(rule_.texts_.begin() + first, rule_.texts_.end()), rule_.texts_.end());
      node.begin = static_cast<std::uint32_t>(first);
      node.count = static_cast<std::uint32_t>(rule_.texts_.size() - first);
    } else {
      for (int i = 0; i < in.numbers_size(); ++i) {
        if (!std::isfinite(in.numbers(i))) {
          return FieldError(absl::StrCat(path, ".numbers[", i, "]"), "must be a finite number");
        }
      }
      const auto first = static_cast<std::ptrdiff_t>(rule_.numbers_.size());
      rule_.numbers_.insert(rule_.numbers_.end(), in.numbers().begin(), in.numbers().end());
      std::sort(rule_.numbers_.begin() + first, rule_.numbers_.end());
      rule_.numbers_.erase(std::unique(rule_.numbers_.begin() + first, rule_.numbers_.end()),
                           rule_.numbers_.end());
      node.begin = static_cast<std::uint32_t>(first);
      node.count = static_cast<std::uint32_t>(rule_.numbers_.size() - first);
    }
    rule_.nodes_.push_back(node);
    return absl::OkStatus();
  }

  std::string root_path_;
  int conditions_ = 0;
  CompiledRule rule_;
};

absl::StatusOr<CompiledRule> CompiledRule::Compile(const v1::Rule& rule, absl::string_view path) {
  Compiler compiler(path);
  if (absl::Status status = compiler.Rule(rule, std::string(path), 1); !status.ok()) return status;
  CompiledRule compiled = std::move(compiler).Finish();
  compiled.nodes_.shrink_to_fit();
  compiled.fields_.shrink_to_fit();
  compiled.numbers_.shrink_to_fit();
  compiled.texts_.shrink_to_fit();
  return compiled;
}

bool CompiledRule::Matches(const AccountView& view, absl::Span<const std::string> builtin_segment_ids) const {
  if (nodes_.empty()) return false;
  return Eval(0, view, builtin_segment_ids);
}

bool CompiledRule::Eval(std::uint32_t index, const AccountView& view,
                        absl::Span<const std::string> builtin_segment_ids) const {
  const Node& node = nodes_[index];
  switch (node.kind) {
    case Kind::kAll:
      for (std::uint32_t child = index + 1; child < node.end; child = nodes_[child].end) {
        if (!Eval(child, view, builtin_segment_ids)) return false;
      }
      return true;
    case Kind::kAny:
      for (std::uint32_t child = index + 1; child < node.end; child = nodes_[child].end) {
        if (Eval(child, view, builtin_segment_ids)) return true;
      }
      return false;
    case Kind::kNot:
      return !Eval(index + 1, view, builtin_segment_ids);
    case Kind::kCompare: {
      const std::optional<Value> value = Lookup(fields_[node.field], view);
      if (!value.has_value()) return false;
      if (node.text) {
        const absl::string_view* text = std::get_if<absl::string_view>(&*value);
        if (text == nullptr) return false;
        const bool equal = *text == texts_[node.begin];
        return node.op == Op::kEq ? equal : !equal;
      }
      const double* number = std::get_if<double>(&*value);
      if (number == nullptr) return false;
      const double x = *number;
      switch (node.op) {
        case Op::kEq:
          return x == node.a;
        case Op::kNe:
          return !std::isnan(x) && x != node.a;
        case Op::kLt:
          return x < node.a;
        case Op::kLe:
          return x <= node.a;
        case Op::kGt:
          return x > node.a;
        case Op::kGe:
          return x >= node.a;
      }
      return false;
    }
    case Kind::kRange: {
      const std::optional<Value> value = Lookup(fields_[node.field], view);
      const double* number = value.has_value() ? std::get_if<double>(&*value) : nullptr;
      if (number == nullptr || std::isnan(*number)) return false;
      return (!node.has_min || *number >= node.a) && (!node.has_max || *number < node.b);
    }
    case Kind::kIn: {
      const FieldRef& field = fields_[node.field];
      if (field.type == FieldType::kSegmentSet) {
        const auto first = texts_.begin() + node.begin;
        const auto last = first + node.count;
        return std::any_of(builtin_segment_ids.begin(), builtin_segment_ids.end(),
                           [&](const std::string& id) { return std::binary_search(first, last, id); });
      }
      const std::optional<Value> value = Lookup(field, view);
      if (!value.has_value()) return false;
      if (node.text) {
        const absl::string_view* text = std::get_if<absl::string_view>(&*value);
        if (text == nullptr) return false;
        const auto first = texts_.begin() + node.begin;
        return std::binary_search(first, first + node.count, *text, TextLess());
      }
      const double* number = std::get_if<double>(&*value);
      if (number == nullptr) return false;
      const auto first = numbers_.begin() + node.begin;
      return std::binary_search(first, first + node.count, *number);
    }
  }
  return false;
}

std::string CompiledRule::Describe() const {
  std::string out;
  if (!nodes_.empty()) Describe(0, /*nested=*/false, out);
  return out;
}

void CompiledRule::Describe(std::uint32_t index, bool nested, std::string& out) const {
  static constexpr absl::string_view kSymbols[] = {"=", "!=", "<", "<=", ">", ">="};
  const Node& node = nodes_[index];
  switch (node.kind) {
    case Kind::kAll:
    case Kind::kAny: {
      // A list of one rule reads as that rule.
      if (nodes_[index + 1].end == node.end) return Describe(index + 1, nested, out);
      if (nested) out += "(";
      const absl::string_view separator = node.kind == Kind::kAll ? " and " : " or ";
      for (std::uint32_t child = index + 1; child < node.end; child = nodes_[child].end) {
        if (child != index + 1) absl::StrAppend(&out, separator);
        Describe(child, /*nested=*/true, out);
      }
      if (nested) out += ")";
      return;
    }
    case Kind::kNot:
      out += "not (";
      Describe(index + 1, /*nested=*/false, out);
      out += ")";
      return;
    case Kind::kCompare:
      absl::StrAppend(&out, fields_[node.field].name, " ", kSymbols[static_cast<int>(node.op)], " ",
                      node.text ? Quote(texts_[node.begin]) : FormatNumber(node.a));
      return;
    case Kind::kRange:
      if (node.has_min) absl::StrAppend(&out, FormatNumber(node.a), " <= ");
      out += fields_[node.field].name;
      if (node.has_max) absl::StrAppend(&out, " < ", FormatNumber(node.b));
      return;
    case Kind::kIn: {
      absl::StrAppend(&out, fields_[node.field].name, " in {");
      for (std::uint32_t i = 0; i < node.count; ++i) {
        if (i > 0) out += ", ";
        out += node.text ? Quote(texts_[node.begin + i]) : FormatNumber(numbers_[node.begin + i]);
      }
      out += "}";
      return;
    }
  }
}

}  // namespace steward::segmentation
