#include "services/segmentation/rules/rule.h"

#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/field_error.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/scoring/features.h"
#include "services/segmentation/rules/fields.h"

namespace steward::segmentation {
namespace {

using ::testing::HasSubstr;

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

absl::Time At(int year, int month, int day, int hour = 0) {
  return absl::FromCivil(absl::CivilHour(year, month, day, hour), absl::UTCTimeZone());
}

google::protobuf::Timestamp Timestamp(absl::Time time) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(time));
  return ts;
}

absl::Status CompileStatus(const std::string& rule_text) {
  return CompiledRule::Compile(Parse<v1::Rule>(rule_text), "segment.rule").status();
}

// Expects Compile to fail with INVALID_ARGUMENT naming `path`, and a message containing `message`.
void ExpectError(const std::string& rule_text, const std::string& path, const std::string& message = "") {
  SCOPED_TRACE(rule_text);
  absl::Status status = CompileStatus(rule_text);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(ErrorField(status), path) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(message));
}

std::string Describe(const std::string& rule_text) {
  absl::StatusOr<CompiledRule> rule = CompiledRule::Compile(Parse<v1::Rule>(rule_text), "rule");
  EXPECT_TRUE(rule.ok()) << rule.status();
  return rule.ok() ? rule->Describe() : "";
}

// `n` copies of a comparison, as repeated `rules` of a RuleList.
std::string Leaves(int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    absl::StrAppend(&out, "rules { compare { field: 'score.health' op: OPERATOR_GT number: ", i, " } } ");
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Validation.

TEST(CompileTest, AcceptsAValidRule) {
  EXPECT_TRUE(CompileStatus(R"pb(
                all {
                  rules { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
                  rules {
                    in {
                      field: "account.size"
                      texts: [ "enterprise", "mid_market" ]
                    }
                  }
                  rules { not { range { field: "feature.nps" min: 0 max: 7 } } }
                  rules { in { field: "segment" texts: "clv-tier/high" } }
                  rules { compare { field: "account.label.region" op: OPERATOR_EQ text: "emea" } }
                }
              )pb")
                  .ok());
}

TEST(CompileTest, RuleWithoutKind) {
  ExpectError("", "segment.rule", "must set one of all, any, not, compare, range, in");
  ExpectError("all { rules { } }", "segment.rule.all.rules[0]", "must set one of");
  ExpectError("not { }", "segment.rule.not", "must set one of");
}

TEST(CompileTest, PathWithoutPrefix) {
  absl::Status status = CompiledRule::Compile(v1::Rule(), "").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(status), "");
  status = CompiledRule::Compile(Parse<v1::Rule>("any { rules { compare { field: 'x' } } }"), "").status();
  EXPECT_EQ(ErrorField(status), "any.rules[0].compare.field");
}

TEST(CompileTest, ListSizes) {
  ExpectError("all { }", "segment.rule.all.rules", "1 to 32 rules");
  ExpectError("any { }", "segment.rule.any.rules", "1 to 32 rules");
  ExpectError(absl::StrCat("any { ", Leaves(33), " }"), "segment.rule.any.rules", "1 to 32 rules");
  EXPECT_TRUE(CompileStatus(absl::StrCat("any { ", Leaves(32), " }")).ok());
  ExpectError("all { rules { any { } } }", "segment.rule.all.rules[0].any.rules");
}

TEST(CompileTest, NestingDepth) {
  // Seven nots and a comparison: 8 levels.
  const std::string leaf = "compare { field: 'score.health' op: OPERATOR_LT number: 1 }";
  std::string eight = leaf;
  for (int i = 0; i < 7; ++i) eight = absl::StrCat("not { ", eight, " }");
  EXPECT_TRUE(CompileStatus(eight).ok()) << CompileStatus(eight);
  ExpectError(absl::StrCat("not { ", eight, " }"), "segment.rule.not.not.not.not.not.not.not.not",
              "at most 8 levels");
  ExpectError(absl::StrCat("all { rules { ", leaf, " } rules { ", eight, " } }"),
              "segment.rule.all.rules[1].not.not.not.not.not.not.not", "at most 8 levels");
}

TEST(CompileTest, ConditionCount) {
  const std::string sixty_four =
      absl::StrCat("all { rules { all { ", Leaves(32), " } } rules { any { ", Leaves(32), " } } }");
  EXPECT_TRUE(CompileStatus(sixty_four).ok());
  ExpectError(absl::StrCat("all { rules { all { ", Leaves(32), " } } rules { any { ", Leaves(32),
                           " } } rules { compare { field: 'score.health' op: OPERATOR_LT number: 1 } } }"),
              "segment.rule", "at most 64 conditions");
}

TEST(CompileTest, UnknownField) {
  ExpectError(R"pb(all {
                     rules { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
                     rules { compare { field: "score.helth" op: OPERATOR_LT number: 50 } }
                   })pb",
              "segment.rule.all.rules[1].compare.field", "unknown field \"score.helth\"; ListSegmentFields");
  ExpectError("compare { op: OPERATOR_EQ number: 1 }", "segment.rule.compare.field", "ListSegmentFields");
  ExpectError("compare { field: 'feature.no_such_feature' op: OPERATOR_EQ number: 1 }",
              "segment.rule.compare.field", "feature.no_such_feature");
  ExpectError("range { field: 'account' min: 1 }", "segment.rule.range.field", "unknown field");
  ExpectError("in { field: 'score' numbers: 1 }", "segment.rule.in.field", "unknown field");
}

TEST(CompileTest, Operator) {
  ExpectError("compare { field: 'score.health' number: 1 }", "segment.rule.compare.op",
              "must set an operator");
  v1::Rule rule = Parse<v1::Rule>("compare { field: 'score.health' number: 1 }");
  rule.mutable_compare()->set_op(static_cast<v1::Operator>(99));
  absl::Status status = CompiledRule::Compile(rule, "segment.rule").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(status), "segment.rule.compare.op");
}

TEST(CompileTest, ComparisonValue) {
  ExpectError("compare { field: 'score.health' op: OPERATOR_LT }", "segment.rule.compare.value",
              "must set number or text");
  ExpectError("compare { field: 'score.health' op: OPERATOR_EQ text: '50' }", "segment.rule.compare.text",
              "score.health is a number field");
  ExpectError("compare { field: 'account.size' op: OPERATOR_EQ number: 3 }", "segment.rule.compare.number",
              "account.size is a text field");
  ExpectError("compare { field: 'score.risk_level' op: OPERATOR_NE number: 3 }",
              "segment.rule.compare.number");
  ExpectError("compare { field: 'score.health' op: OPERATOR_LT number: inf }", "segment.rule.compare.number",
              "finite");
  ExpectError("compare { field: 'score.health' op: OPERATOR_EQ number: nan }", "segment.rule.compare.number",
              "finite");
}

TEST(CompileTest, OrderingOnText) {
  for (const char* op : {"OPERATOR_LT", "OPERATOR_LE", "OPERATOR_GT", "OPERATOR_GE"}) {
    ExpectError(absl::StrCat("compare { field: 'account.industry' op: ", op, " text: 'b' }"),
                "segment.rule.compare.op", "only EQ and NE");
  }
  EXPECT_TRUE(CompileStatus("compare { field: 'account.industry' op: OPERATOR_NE text: 'b' }").ok());
}

TEST(CompileTest, Range) {
  ExpectError("range { field: 'score.health' }", "segment.rule.range", "must set min, max or both");
  ExpectError("range { field: 'score.health' min: 60 max: 30 }", "segment.rule.range.max",
              "max must be greater than min");
  ExpectError("range { field: 'score.health' min: 30 max: 30 }", "segment.rule.range.max",
              "max must be greater than min");
  ExpectError("range { field: 'score.health' min: -inf }", "segment.rule.range.min", "finite");
  ExpectError("range { field: 'score.health' min: 1 max: nan }", "segment.rule.range.max", "finite");
  ExpectError("range { field: 'account.industry' min: 1 }", "segment.rule.range.field", "number field");
  EXPECT_TRUE(CompileStatus("range { field: 'score.health' max: 30 }").ok());
  EXPECT_TRUE(CompileStatus("range { field: 'score.health' min: 30 }").ok());
}

TEST(CompileTest, SetMembership) {
  ExpectError("in { field: 'feature.nps' }", "segment.rule.in", "must list texts or numbers");
  ExpectError("in { field: 'account.size' texts: 'smb' numbers: 1 }", "segment.rule.in", "not both");
  ExpectError("in { field: 'feature.nps' texts: '9' }", "segment.rule.in.texts",
              "feature.nps is a number field");
  ExpectError("in { field: 'account.size' numbers: 1 }", "segment.rule.in.numbers", "text field");
  ExpectError("in { field: 'segment' numbers: 1 }", "segment.rule.in.numbers", "text field");
  ExpectError("in { field: 'feature.nps' numbers: [ 1, inf ] }", "segment.rule.in.numbers[1]", "finite");

  v1::Rule rule;
  rule.mutable_in()->set_field("account.industry");
  for (int i = 0; i < 1000; ++i) rule.mutable_in()->add_texts(absl::StrCat("industry-", i));
  EXPECT_TRUE(CompiledRule::Compile(rule, "segment.rule").ok());
  rule.mutable_in()->add_texts("one-too-many");
  absl::Status status = CompiledRule::Compile(rule, "segment.rule").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(status), "segment.rule.in.texts");
  EXPECT_THAT(std::string(status.message()), HasSubstr("at most 1000 values"));

  rule.mutable_in()->clear_texts();
  rule.mutable_in()->set_field("feature.nps");
  for (int i = 0; i < 1001; ++i) rule.mutable_in()->add_numbers(i);
  EXPECT_EQ(ErrorField(CompiledRule::Compile(rule, "segment.rule").status()), "segment.rule.in.numbers");
}

TEST(CompileTest, SegmentOnlyInSetMembership) {
  ExpectError("compare { field: 'segment' op: OPERATOR_EQ text: 'clv-tier/high' }",
              "segment.rule.compare.field", "only be tested with in");
  ExpectError("range { field: 'segment' min: 1 }", "segment.rule.range.field", "only be tested with in");
  EXPECT_TRUE(CompileStatus("in { field: 'segment' texts: 'clv-tier/high' }").ok());
}

TEST(CompileTest, LabelKeys) {
  EXPECT_TRUE(
      CompileStatus("compare { field: 'account.label.region_2.x-y' op: OPERATOR_EQ text: 'emea' }").ok());
  EXPECT_TRUE(CompileStatus(absl::StrCat("compare { field: 'account.label.", std::string(63, 'k'),
                                         "' op: OPERATOR_EQ text: '' }"))
                  .ok());
  ExpectError(
      absl::StrCat("compare { field: 'account.label.", std::string(64, 'k'), "' op: OPERATOR_EQ text: '' }"),
      "segment.rule.compare.field", "1 to 63 characters");
  ExpectError("compare { field: 'account.label.' op: OPERATOR_EQ text: 'x' }", "segment.rule.compare.field",
              "1 to 63 characters");
  ExpectError("compare { field: 'account.label.Region' op: OPERATOR_EQ text: 'x' }",
              "segment.rule.compare.field", "[a-z0-9_.-]");
  ExpectError("in { field: 'account.label.a b' texts: 'x' }", "segment.rule.in.field", "[a-z0-9_.-]");
  ExpectError("compare { field: 'account.label.region' op: OPERATOR_LT text: 'x' }",
              "segment.rule.compare.op");
}

// ---------------------------------------------------------------------------------------------------
// Fields.

TEST(FieldsTest, CatalogueIsSortedCompleteAndResolvable) {
  const std::vector<v1::SegmentField> fields = SegmentFields();
  std::set<std::string> names;
  for (const v1::SegmentField& field : fields) {
    SCOPED_TRACE(field.name());
    EXPECT_TRUE(names.insert(field.name()).second) << "duplicate";
    EXPECT_FALSE(field.description().empty());
    EXPECT_TRUE(field.type() == "number" || field.type() == "text") << field.type();
    if (field.name() == "account.label.<key>") continue;
    absl::StatusOr<FieldRef> ref = ResolveField(field.name());
    ASSERT_TRUE(ref.ok()) << ref.status();
    EXPECT_EQ(ref->name, field.name());
    EXPECT_EQ(field.type(), ref->type == FieldType::kNumber ? "number" : "text");
  }
  EXPECT_TRUE(std::is_sorted(fields.begin(), fields.end(),
                             [](const auto& a, const auto& b) { return a.name() < b.name(); }));
  // 23 fixed fields, the label pattern and every feature.
  EXPECT_EQ(fields.size(), 23 + 1 + scoring::kFeatureCount);
  for (const char* name : {"account.label.<key>", "feature.logins_30d", "feature.tenure_days", "score.clv",
                           "account.days_to_renewal", "loyalty.earned", "segment"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
  for (const v1::SegmentField& field : fields) {
    if (field.name() == "score.risk_level" || field.name() == "account.size" || field.name() == "segment") {
      EXPECT_EQ(field.type(), "text") << field.name();
    }
    if (field.name() == "score.health" || field.name() == "feature.nps") {
      EXPECT_EQ(field.type(), "number") << field.name();
    }
  }
}

TEST(FieldsTest, Resolve) {
  absl::StatusOr<FieldRef> ref = ResolveField("feature.nps");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->id, FieldId::kFeature);
  EXPECT_EQ(ref->feature, scoring::Feature::kNps);
  ref = ResolveField("account.label.region");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->id, FieldId::kLabel);
  EXPECT_EQ(ref->label_key, "region");
  EXPECT_EQ(ResolveField("segment")->type, FieldType::kSegmentSet);
  EXPECT_EQ(ResolveField("feature.").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveField("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveField("account.seats ").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FieldsTest, FormatNumber) {
  EXPECT_EQ(FormatNumber(12400), "12400");
  EXPECT_EQ(FormatNumber(1e6), "1000000");
  EXPECT_EQ(FormatNumber(-3), "-3");
  EXPECT_EQ(FormatNumber(-0.0), "0");
  EXPECT_EQ(FormatNumber(0.35), "0.35");
  EXPECT_EQ(FormatNumber(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatNumber(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatValue(std::nullopt), "unknown");
  EXPECT_EQ(FormatValue(Value(2.5)), "2.5");
  EXPECT_EQ(FormatValue(Value(absl::string_view("emea"))), "emea");
}

// ---------------------------------------------------------------------------------------------------
// Evaluation.

class EvaluationTest : public ::testing::Test {
 protected:
  EvaluationTest() {
    account_ = Parse<v1::Account>(R"pb(
      account_id: "acme"
      display_name: "Acme Corp"
      industry: "banking"
      plan { name: "growth" feature_count: 10 }
      size: ACCOUNT_SIZE_ENTERPRISE
      status: ACCOUNT_STATUS_TRIAL
      seats: 25
      mrr: 1200
      arpu: 0
      gross_margin: 0.8
      cac: 0
      labels { key: "region" value: "emea" }
      labels { key: "advocacy" value: "ambassador" }
    )pb");
    *account_.mutable_start_time() = Timestamp(At(2026, 1, 1));
    *account_.mutable_renewal_time() = Timestamp(At(2026, 2, 10));
    scores_ = Parse<v1::Scores>(R"pb(
      account_id: "acme"
      health { model: "default" score: 40 }
      churn { risk_score: 55 level: RISK_LEVEL_HIGH probability: 0.35 }
      clv {
        estimates { formula: "simple" value: 50 }
        estimates { formula: "basic" value: 100 }
        estimates { formula: "with_expansion" value: 200 }
      }
      trend { change_30d: -12 }
      features { name: "logins_30d" value: 3 }
      features { name: "seat_utilization" value: 0.5 }
      features { name: "csat" value: 4 }
    )pb");
    loyalty_ = Parse<v1::LoyaltyStanding>("account_id: 'acme' balance: 150 earned: 300");
    view_ = AccountView{
        .account = &account_, .scores = &scores_, .loyalty = &loyalty_, .now = At(2026, 1, 31, 12)};
  }

  bool Matches(const std::string& rule_text, const AccountView& view) {
    absl::StatusOr<CompiledRule> rule = CompiledRule::Compile(Parse<v1::Rule>(rule_text), "rule");
    EXPECT_TRUE(rule.ok()) << rule.status();
    return rule.ok() && rule->Matches(view, segments_);
  }
  bool Matches(const std::string& rule_text) { return Matches(rule_text, view_); }

  // `field op number`, e.g. Cmp("score.health", "LT", 50).
  bool Cmp(const std::string& field, const std::string& op, double number) {
    return Matches(absl::StrCat("compare { field: '", field, "' op: OPERATOR_", op,
                                " number: ", FormatNumber(number), " }"));
  }
  bool CmpText(const std::string& field, const std::string& op, const std::string& text) {
    return Matches(absl::StrCat("compare { field: '", field, "' op: OPERATOR_", op, " text: '", text, "' }"));
  }

  std::optional<Value> Get(const std::string& name) {
    absl::StatusOr<FieldRef> ref = ResolveField(name);
    EXPECT_TRUE(ref.ok()) << ref.status();
    return ref.ok() ? Lookup(*ref, view_) : std::nullopt;
  }

  v1::Account account_;
  v1::Scores scores_;
  v1::LoyaltyStanding loyalty_;
  AccountView view_;
  std::vector<std::string> segments_ = {"clv-tier/high", "health/at-risk"};
};

TEST_F(EvaluationTest, NumericOperators) {
  // score.health is 40.
  EXPECT_TRUE(Cmp("score.health", "EQ", 40));
  EXPECT_FALSE(Cmp("score.health", "EQ", 40.0001));
  EXPECT_FALSE(Cmp("score.health", "NE", 40));
  EXPECT_TRUE(Cmp("score.health", "NE", 41));
  EXPECT_TRUE(Cmp("score.health", "LT", 50));
  EXPECT_FALSE(Cmp("score.health", "LT", 40));
  EXPECT_TRUE(Cmp("score.health", "LE", 40));
  EXPECT_FALSE(Cmp("score.health", "LE", 39));
  EXPECT_TRUE(Cmp("score.health", "GT", 39));
  EXPECT_FALSE(Cmp("score.health", "GT", 40));
  EXPECT_TRUE(Cmp("score.health", "GE", 40));
  EXPECT_FALSE(Cmp("score.health", "GE", 41));
}

TEST_F(EvaluationTest, UnknownValuesAreFalseAndNotNegatesTheResult) {
  // No NPS answer among the features.
  for (const char* op : {"EQ", "NE", "LT", "LE", "GT", "GE"}) {
    EXPECT_FALSE(Cmp("feature.nps", op, 7)) << op;
    EXPECT_TRUE(
        Matches(absl::StrCat("not { compare { field: 'feature.nps' op: OPERATOR_", op, " number: 7 } }")))
        << op;
  }
  EXPECT_FALSE(Matches("range { field: 'feature.nps' min: 0 max: 11 }"));
  EXPECT_TRUE(Matches("not { range { field: 'feature.nps' min: 0 max: 11 } }"));
  EXPECT_FALSE(Matches("in { field: 'feature.nps' numbers: [ 0, 1, 2 ] }"));
  EXPECT_TRUE(Matches("not { not { compare { field: 'feature.csat' op: OPERATOR_EQ number: 4 } } }"));
  EXPECT_FALSE(Matches("not { not { compare { field: 'feature.nps' op: OPERATOR_NE number: 4 } } }"));
}

TEST_F(EvaluationTest, Features) {
  EXPECT_TRUE(Cmp("feature.logins_30d", "EQ", 3));
  EXPECT_TRUE(Cmp("feature.seat_utilization", "LT", 0.6));
  EXPECT_TRUE(Cmp("feature.csat", "GE", 4));
  // Any order of the list works, and a NaN value counts as unknown.
  scores_.clear_features();
  for (const auto& [name, value] : std::vector<std::pair<std::string, double>>{
           {"tenure_days", 30}, {"csat", 4}, {"logins_7d", 1}, {"nps", std::nan("")}}) {
    v1::FeatureValue* feature = scores_.add_features();
    feature->set_name(name);
    feature->set_value(value);
  }
  EXPECT_TRUE(Cmp("feature.csat", "EQ", 4));
  EXPECT_TRUE(Cmp("feature.logins_7d", "EQ", 1));
  EXPECT_TRUE(Cmp("feature.tenure_days", "EQ", 30));
  EXPECT_FALSE(Get("feature.nps").has_value());
  EXPECT_FALSE(Get("feature.logins_30d").has_value());
}

TEST_F(EvaluationTest, Ranges) {
  EXPECT_TRUE(Matches("range { field: 'score.health' min: 40 max: 60 }"));   // min inclusive
  EXPECT_FALSE(Matches("range { field: 'score.health' min: 30 max: 40 }"));  // max exclusive
  EXPECT_FALSE(Matches("range { field: 'score.health' min: 41 max: 60 }"));
  EXPECT_TRUE(Matches("range { field: 'score.health' min: 40 }"));
  EXPECT_FALSE(Matches("range { field: 'score.health' max: 40 }"));
  EXPECT_TRUE(Matches("range { field: 'score.health' max: 40.5 }"));
  EXPECT_TRUE(Matches("range { field: 'score.health_change_30d' min: -20 max: 0 }"));
}

TEST_F(EvaluationTest, TextsAndSets) {
  EXPECT_TRUE(CmpText("account.size", "EQ", "enterprise"));
  EXPECT_FALSE(CmpText("account.size", "EQ", "Enterprise"));  // case-sensitive
  EXPECT_TRUE(CmpText("account.size", "NE", "smb"));
  EXPECT_TRUE(CmpText("account.status", "EQ", "trial"));
  EXPECT_TRUE(CmpText("account.plan", "EQ", "growth"));
  EXPECT_TRUE(CmpText("account.industry", "EQ", "banking"));
  EXPECT_TRUE(CmpText("account.account_id", "EQ", "acme"));
  EXPECT_TRUE(CmpText("account.display_name", "EQ", "Acme Corp"));
  EXPECT_TRUE(Matches("in { field: 'account.industry' texts: [ 'health', 'banking' ] }"));
  EXPECT_FALSE(Matches("in { field: 'account.industry' texts: [ 'health', 'bank' ] }"));
  EXPECT_TRUE(Matches("in { field: 'account.seats' numbers: [ 10, 25, 25, 50 ] }"));
  EXPECT_FALSE(Matches("in { field: 'account.seats' numbers: [ 10, 24.9, 50 ] }"));

  // Unspecified size is the empty text; unspecified status counts as active.
  account_.clear_size();
  account_.clear_status();
  EXPECT_TRUE(CmpText("account.size", "EQ", ""));
  EXPECT_TRUE(CmpText("account.status", "EQ", "active"));
}

TEST_F(EvaluationTest, Labels) {
  EXPECT_TRUE(CmpText("account.label.region", "EQ", "emea"));
  EXPECT_TRUE(Matches("in { field: 'account.label.advocacy' texts: [ 'ambassador', 'fan' ] }"));
  // A missing label is unknown: false under EQ and NE alike.
  EXPECT_FALSE(CmpText("account.label.tier", "EQ", "gold"));
  EXPECT_FALSE(CmpText("account.label.tier", "NE", "gold"));
  EXPECT_TRUE(Matches("not { compare { field: 'account.label.tier' op: OPERATOR_EQ text: 'gold' } }"));
  EXPECT_FALSE(Get("account.label.tier").has_value());
}

TEST_F(EvaluationTest, BuiltinSegments) {
  EXPECT_TRUE(Matches("in { field: 'segment' texts: [ 'loyalty/gold', 'clv-tier/high' ] }"));
  EXPECT_FALSE(Matches("in { field: 'segment' texts: [ 'loyalty/gold', 'clv-tier/low' ] }"));
  EXPECT_TRUE(Matches("not { in { field: 'segment' texts: 'clv-tier/low' } }"));
  segments_.clear();
  EXPECT_FALSE(Matches("in { field: 'segment' texts: [ 'clv-tier/high' ] }"));
  EXPECT_FALSE(Get("segment").has_value());
}

TEST_F(EvaluationTest, TenureAndRenewalInWholeDaysFromNow) {
  // Started 2026-01-01, now 2026-01-31 12:00: 30.5 days. Renews 2026-02-10: 9.5 days away.
  EXPECT_TRUE(Cmp("account.tenure_days", "EQ", 30));
  EXPECT_TRUE(Cmp("account.days_to_renewal", "EQ", 9));
  view_.now = At(2026, 2, 10, 12);
  EXPECT_TRUE(Cmp("account.tenure_days", "EQ", 40));
  EXPECT_TRUE(Cmp("account.days_to_renewal", "EQ", -1));  // half a day past: floor
  account_.clear_start_time();
  account_.clear_renewal_time();
  EXPECT_FALSE(Get("account.tenure_days").has_value());
  EXPECT_FALSE(Get("account.days_to_renewal").has_value());
  EXPECT_FALSE(Cmp("account.tenure_days", "GE", 0));
}

TEST_F(EvaluationTest, AccountNumbers) {
  EXPECT_TRUE(Cmp("account.seats", "EQ", 25));
  EXPECT_TRUE(Cmp("account.mrr", "EQ", 1200));
  EXPECT_TRUE(Cmp("account.arpu", "EQ", 1200));  // none given: the MRR
  account_.set_arpu(100);
  EXPECT_TRUE(Cmp("account.arpu", "EQ", 100));
  EXPECT_TRUE(Cmp("account.gross_margin", "EQ", 0.8));
  EXPECT_FALSE(Get("account.cac").has_value());  // zero means unknown
  account_.set_cac(5000);
  EXPECT_TRUE(Cmp("account.cac", "GT", 4999));
}

TEST_F(EvaluationTest, RiskLevelIsText) {
  EXPECT_TRUE(CmpText("score.risk_level", "EQ", "high"));
  EXPECT_TRUE(Matches("in { field: 'score.risk_level' texts: [ 'medium', 'high' ] }"));
  scores_.mutable_churn()->set_level(v1::RISK_LEVEL_LOW);
  EXPECT_TRUE(CmpText("score.risk_level", "EQ", "low"));
  scores_.mutable_churn()->set_level(v1::RISK_LEVEL_MEDIUM);
  EXPECT_TRUE(CmpText("score.risk_level", "EQ", "medium"));
  scores_.mutable_churn()->set_level(v1::RISK_LEVEL_UNSPECIFIED);
  EXPECT_FALSE(Get("score.risk_level").has_value());
  EXPECT_FALSE(CmpText("score.risk_level", "NE", "high"));
  EXPECT_TRUE(Cmp("score.risk_score", "EQ", 55));
  EXPECT_TRUE(Cmp("score.churn_probability", "EQ", 0.35));
}

TEST_F(EvaluationTest, ClvChoice) {
  EXPECT_TRUE(Cmp("score.clv", "EQ", 200));  // with_expansion, though listed last
  scores_.mutable_clv()->mutable_estimates()->RemoveLast();
  EXPECT_TRUE(Cmp("score.clv", "EQ", 100));  // basic
  scores_.mutable_clv()->mutable_estimates()->RemoveLast();
  EXPECT_TRUE(Cmp("score.clv", "EQ", 50));  // the first estimate
  scores_.mutable_clv()->clear_estimates();
  EXPECT_FALSE(Get("score.clv").has_value());
  EXPECT_FALSE(Cmp("score.clv", "GE", 0));
}

TEST_F(EvaluationTest, HealthTrend) {
  EXPECT_FALSE(Get("score.health_change_7d").has_value());
  EXPECT_FALSE(Cmp("score.health_change_7d", "LE", 0));
  EXPECT_TRUE(Cmp("score.health_change_30d", "EQ", -12));
  scores_.mutable_trend()->set_change_7d(0);
  EXPECT_TRUE(Cmp("score.health_change_7d", "EQ", 0));
}

TEST_F(EvaluationTest, Loyalty) {
  EXPECT_TRUE(Cmp("loyalty.points", "EQ", 150));
  EXPECT_TRUE(Cmp("loyalty.earned", "EQ", 300));
  view_.loyalty = nullptr;
  EXPECT_TRUE(Cmp("loyalty.points", "EQ", 0));
  EXPECT_TRUE(Cmp("loyalty.earned", "EQ", 0));
}

TEST_F(EvaluationTest, MissingMessagesAreUnknown) {
  view_.scores = nullptr;
  EXPECT_FALSE(Get("score.health").has_value());
  EXPECT_FALSE(Get("feature.logins_30d").has_value());
  EXPECT_FALSE(Get("score.risk_level").has_value());
  EXPECT_TRUE(Get("account.seats").has_value());
  scores_.Clear();
  view_.scores = &scores_;
  EXPECT_FALSE(Get("score.health").has_value());
  EXPECT_FALSE(Get("score.churn_probability").has_value());
  EXPECT_FALSE(Get("score.risk_score").has_value());
  view_.account = nullptr;
  EXPECT_FALSE(Get("account.seats").has_value());
  EXPECT_FALSE(Get("account.label.region").has_value());
}

TEST_F(EvaluationTest, NestedRules) {
  const std::string rule = R"pb(
    all {
      rules { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
      rules {
        any {
          rules { compare { field: "account.size" op: OPERATOR_EQ text: "enterprise" } }
          rules { compare { field: "account.size" op: OPERATOR_EQ text: "mid_market" } }
        }
      }
      rules { not { in { field: "segment" texts: "loyalty/platinum" } } }
    }
  )pb";
  EXPECT_TRUE(Matches(rule));
  account_.set_size(v1::ACCOUNT_SIZE_MID_MARKET);
  EXPECT_TRUE(Matches(rule));
  account_.set_size(v1::ACCOUNT_SIZE_SMB);
  EXPECT_FALSE(Matches(rule));  // the any fails
  account_.set_size(v1::ACCOUNT_SIZE_ENTERPRISE);
  scores_.mutable_health()->set_score(50);
  EXPECT_FALSE(Matches(rule));  // the first comparison fails
  scores_.mutable_health()->set_score(10);
  segments_.push_back("loyalty/platinum");
  EXPECT_FALSE(Matches(rule));  // the not fails

  // any: the first true operand is enough; none true is false.
  EXPECT_TRUE(Matches(R"pb(any {
                             rules { compare { field: "feature.nps" op: OPERATOR_GT number: 8 } }
                             rules { compare { field: "feature.csat" op: OPERATOR_EQ number: 4 } }
                           })pb"));
  EXPECT_FALSE(Matches(R"pb(any {
                              rules { compare { field: "feature.nps" op: OPERATOR_GT number: 8 } }
                              rules { compare { field: "feature.csat" op: OPERATOR_EQ number: 5 } }
                            })pb"));
  // Deep nesting evaluates through every level.
  EXPECT_FALSE(Matches(
      R"pb(not {
             all {
               rules { not { any { rules { compare { field: "feature.csat" op: OPERATOR_EQ number: 3 } } } } }
               rules { all { rules { range { field: "feature.logins_30d" min: 1 max: 5 } } } }
             }
           })pb"));
}

TEST_F(EvaluationTest, FieldsReadAreDistinctInOrder) {
  absl::StatusOr<CompiledRule> rule =
      CompiledRule::Compile(Parse<v1::Rule>(R"pb(
                              any {
                                rules { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
                                rules { in { field: "segment" texts: "a/b" } }
                                rules { range { field: "score.health" min: 80 } }
                                rules { compare { field: "feature.nps" op: OPERATOR_LT number: 7 } }
                              })pb"),
                            "rule");
  ASSERT_TRUE(rule.ok()) << rule.status();
  std::vector<std::string> names;
  for (const FieldRef& field : rule->fields()) names.push_back(field.name);
  EXPECT_EQ(names, (std::vector<std::string>{"score.health", "segment", "feature.nps"}));
}

// ---------------------------------------------------------------------------------------------------
// Describe.

TEST(DescribeTest, Leaves) {
  EXPECT_EQ(Describe("compare { field: 'score.health' op: OPERATOR_LT number: 50 }"), "score.health < 50");
  EXPECT_EQ(Describe("compare { field: 'score.health' op: OPERATOR_LE number: 50.5 }"),
            "score.health <= 50.5");
  EXPECT_EQ(Describe("compare { field: 'score.clv' op: OPERATOR_GT number: 1000000 }"),
            "score.clv > 1000000");
  EXPECT_EQ(Describe("compare { field: 'score.churn_probability' op: OPERATOR_GE number: 0.35 }"),
            "score.churn_probability >= 0.35");
  EXPECT_EQ(Describe("compare { field: 'score.health_change_7d' op: OPERATOR_EQ number: -10 }"),
            "score.health_change_7d = -10");
  EXPECT_EQ(Describe("compare { field: 'account.size' op: OPERATOR_NE text: 'smb' }"),
            "account.size != \"smb\"");
  EXPECT_EQ(
      Describe(R"pb(compare { field: "account.label.note" op: OPERATOR_EQ text: "say \"hi\" \\o/" })pb"),
      R"(account.label.note = "say \"hi\" \\o/")");
  EXPECT_EQ(Describe("range { field: 'score.health' min: 30 max: 60 }"), "30 <= score.health < 60");
  EXPECT_EQ(Describe("range { field: 'score.health' min: 30 }"), "30 <= score.health");
  EXPECT_EQ(Describe("range { field: 'score.health' max: 60 }"), "score.health < 60");
  EXPECT_EQ(Describe("in { field: 'feature.nps' numbers: [ 10, 9, 10 ] }"), "feature.nps in {9, 10}");
  EXPECT_EQ(Describe("in { field: 'segment' texts: [ 'health/at-risk', 'clv-tier/high' ] }"),
            "segment in {\"clv-tier/high\", \"health/at-risk\"}");
}

TEST(DescribeTest, Combinations) {
  EXPECT_EQ(Describe(R"pb(all {
                            rules { compare { field: "score.health" op: OPERATOR_LT number: 50 } }
                            rules {
                              any {
                                rules { compare { field: "account.size" op: OPERATOR_EQ text: "enterprise" } }
                                rules { compare { field: "account.size" op: OPERATOR_EQ text: "mid_market" } }
                              }
                            }
                          })pb"),
            "score.health < 50 and (account.size = \"enterprise\" or account.size = \"mid_market\")");
  EXPECT_EQ(Describe("not { compare { field: 'feature.nps' op: OPERATOR_LT number: 7 } }"),
            "not (feature.nps < 7)");
  EXPECT_EQ(Describe(R"pb(not {
                            any {
                              rules { compare { field: "feature.nps" op: OPERATOR_LT number: 7 } }
                              rules {
                                all {
                                  rules { compare { field: "feature.csat" op: OPERATOR_LE number: 2 } }
                                  rules { not { range { field: "score.health" min: 30 max: 60 } } }
                                }
                              }
                            }
                          })pb"),
            "not (feature.nps < 7 or (feature.csat <= 2 and not (30 <= score.health < 60)))");
  // A list of one rule reads as that rule.
  EXPECT_EQ(
      Describe(R"pb(all {
                      rules { any { rules { compare { field: "feature.nps" op: OPERATOR_LT number: 7 } } } }
                      rules { compare { field: "feature.csat" op: OPERATOR_LT number: 3 } }
                    })pb"),
      "feature.nps < 7 and feature.csat < 3");
}

}  // namespace
}  // namespace steward::segmentation
