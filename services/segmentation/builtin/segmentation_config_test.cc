#include "services/segmentation/builtin/segmentation_config.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::segmentation {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ShippedPath() {
  const char* dir = std::getenv("STEWARD_SOURCE_DIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/config/segmentation.textproto");
}

std::string ShippedText() {
  std::ifstream in(ShippedPath());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path) << text;
  return path;
}

// 1-based line of the first line that contains `needle`.
int LineOf(const std::string& text, absl::string_view needle) {
  int line = 1;
  for (absl::string_view l : absl::StrSplit(text, '\n')) {
    if (l.find(needle) != absl::string_view::npos) return line;
    ++line;
  }
  return -1;
}

TEST(SegmentationConfigTest, ShippedConfigLoadsWithSpecDefaults) {
  absl::StatusOr<v1::SegmentationConfig> config = LoadSegmentationConfig(ShippedPath());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->quadrant().high_value_clv_above(), 10000);
  EXPECT_EQ(config->quadrant().high_value_mrr_at_least(), 1000);
  EXPECT_EQ(config->quadrant().high_risk_probability_at_least(), 0.4);
  EXPECT_EQ(config->clv_tier().high_above(), 10000);
  EXPECT_EQ(config->clv_tier().low_below(), 1000);
  EXPECT_EQ(config->lifecycle().onboarding_max_days(), 90);
  EXPECT_EQ(config->lifecycle().adoption_max_days(), 365);
  EXPECT_EQ(config->nps().detractor_max(), 6);
  EXPECT_EQ(config->nps().passive_max(), 8);
  EXPECT_EQ(config->advocacy().advocate_min_referrals_90d(), 3);
  EXPECT_EQ(config->nps().detractor().treatment(), "High-priority call within 24 hours.");
  ASSERT_EQ(config->industry().industries_size(), 7);
  EXPECT_EQ(config->industry().industries(3).id(), "e-commerce");
  EXPECT_TRUE(ValidateSegmentationConfig(*config).ok());
}

TEST(SegmentationConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<v1::SegmentationConfig> config =
      LoadSegmentationConfig("/nonexistent/segmentation.textproto");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/segmentation.textproto"));
}

TEST(SegmentationConfigTest, SyntaxErrorHasFileAndLine) {
  const std::string path = WriteTemp("syntax.textproto", "quadrant {\n  high_value_clv_above: ten\n}\n");
  absl::StatusOr<v1::SegmentationConfig> config = LoadSegmentationConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(absl::StrCat(path, ":2:")));
}

// Replaces `from` (which must occur exactly once in the shipped file) with `to`, loads the result and
// returns the error.
std::string ErrorOfEdit(const std::string& name, const std::string& from, const std::string& to,
                        std::string* path_out = nullptr, std::string* text_out = nullptr) {
  std::string text = ShippedText();
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
  if (at == std::string::npos) return "";
  text.replace(at, from.size(), to);
  const std::string path = WriteTemp(name, text);
  if (path_out != nullptr) *path_out = path;
  if (text_out != nullptr) *text_out = text;
  absl::StatusOr<v1::SegmentationConfig> config = LoadSegmentationConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(SegmentationConfigTest, UnorderedClvTiersPointAtTheField) {
  std::string path;
  std::string text;
  const std::string error =
      ErrorOfEdit("tiers.textproto", "low_below: 1000", "low_below: 20000", &path, &text);
  EXPECT_THAT(error, HasSubstr(absl::StrCat(path, ":", LineOf(text, "high_above: 10000"),
                                            ":3: clv_tier.high_above: must be a finite number >= low_below "
                                            "(20000), got 10000")));
}

TEST(SegmentationConfigTest, EveryProblemIsReported) {
  std::string text = ShippedText();
  text = absl::StrReplaceAll(text,
                             {{"detractor_max: 6", "detractor_max: 9"},
                              {"high_risk_probability_at_least: 0.4", "high_risk_probability_at_least: 1.5"},
                              {"adoption_max_days: 365", "adoption_max_days: 90"},
                              {"high_value_clv_above: 10000", "high_value_clv_above: inf"},
                              {"struggling_logins_below: 3", "struggling_logins_below: 30"},
                              {"champion_min_csat: 4", "champion_min_csat: 6"},
                              {"ambassador_label_key: \"advocacy\"", "ambassador_label_key: \"Advocacy\""}});
  const std::string path = WriteTemp("many.textproto", text);
  absl::StatusOr<v1::SegmentationConfig> config = LoadSegmentationConfig(path);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string error(config.status().message());
  EXPECT_THAT(error, HasSubstr(absl::StrCat(path, ":", LineOf(text, "detractor_max: 9"),
                                            ":3: nps.detractor_max: must be in 0..8, got 9")));
  EXPECT_THAT(error, HasSubstr(absl::StrCat(path, ":", LineOf(text, "high_risk_probability_at_least"),
                                            ":3: quadrant.high_risk_probability_at_least: must be in (0, 1], "
                                            "got 1.5")));
  EXPECT_THAT(error, HasSubstr(absl::StrCat(path, ":", LineOf(text, "adoption_max_days: 90"),
                                            ":3: lifecycle.adoption_max_days: must be > onboarding_max_days "
                                            "(90), got 90")));
  EXPECT_THAT(error, HasSubstr("quadrant.high_value_clv_above: must be a finite number >= 0, got inf"));
  EXPECT_THAT(error, HasSubstr("persona.struggling_logins_below: must be a finite number in [0, "
                               "power_min_logins_30d (20)], got 30"));
  EXPECT_THAT(error, HasSubstr("advocacy.champion_min_csat: must be in [0, 5], got 6"));
  EXPECT_THAT(error, HasSubstr("advocacy.ambassador_label_key: must be a label key"));
}

TEST(SegmentationConfigTest, IndustriesMustBeDistinct) {
  std::string path;
  std::string text;
  const std::string error =
      ErrorOfEdit("industries.textproto", "aliases: [\"tech\", \"software\", \"saas\", \"it\"]",
                  "aliases: [\"tech\", \"E-Commerce\", \"saas\", \"it\", \"--\"]", &path, &text);
  EXPECT_THAT(error,
              HasSubstr("industry.industries[0].aliases[4]: must have a letter or a digit, got \"--\""));
  // The technology alias comes first, so the e-commerce id is the duplicate.
  EXPECT_THAT(error,
              HasSubstr(absl::StrCat(path, ":", LineOf(text, "id: \"e-commerce\""),
                                     ":5: industry.industries[3].id: \"e-commerce\" names the same "
                                     "industry as \"E-Commerce\" (industry.industries[0].aliases[1])")));
}

TEST(SegmentationConfigTest, IndustryIdsAreChecked) {
  EXPECT_THAT(ErrorOfEdit("id.textproto", "id: \"sales\"", "id: \"Sales\""),
              HasSubstr("industry.industries[2].id: must be 1 to 63 characters of [a-z0-9-] starting with a "
                        "letter, got \"Sales\""));
  EXPECT_THAT(ErrorOfEdit("reserved.textproto", "id: \"sales\"", "id: \"other\""),
              HasSubstr("industry.industries[2].id: \"other\" is reserved for industry.other"));
}

TEST(SegmentationConfigTest, MissingDisplayNamePointsAtTheSegment) {
  std::string path;
  std::string text;
  const std::string error = ErrorOfEdit("name.textproto", "display_name: \"Passive\"", "", &path, &text);
  // The field is absent, so the error points at the enclosing message.
  EXPECT_THAT(error, HasSubstr(absl::StrCat(path, ":", LineOf(text, "passive {"),
                                            ":3: nps.passive.display_name: a display name is required")));
}

TEST(SegmentationConfigTest, LongTreatmentIsRejected) {
  const std::string long_text(1001, 'x');
  EXPECT_THAT(ErrorOfEdit("long.textproto", "treatment: \"Send an NPS survey.\"",
                          absl::StrCat("treatment: \"", long_text, "\"")),
              HasSubstr("nps.none.treatment: must be at most 1000 characters"));
}

TEST(SegmentationConfigTest, ValidateWithoutFileNamesTheSource) {
  absl::Status status = ValidateSegmentationConfig(v1::SegmentationConfig(), "test config");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      status.message(),
      AllOf(HasSubstr("test config: quadrant.high_value_mrr_at_least: must be a finite number > 0, got 0"),
            HasSubstr("test config: industry.industries: at least one industry is required"),
            HasSubstr("test config: loyalty.platinum.display_name: a display name is required"),
            Not(HasSubstr("test config:1:"))));
}

TEST(SameIndustryNameTest, IgnoresCaseAndPunctuation) {
  EXPECT_TRUE(SameIndustryName("E-Commerce", "ecommerce"));
  EXPECT_TRUE(SameIndustryName(" e commerce ", "e-commerce"));
  EXPECT_TRUE(SameIndustryName("Health_Care", "healthcare"));
  EXPECT_TRUE(SameIndustryName("", "--"));
  EXPECT_FALSE(SameIndustryName("e-commerce", "commerce"));
  EXPECT_FALSE(SameIndustryName("tech", "technology"));
  EXPECT_FALSE(SameIndustryName("", "a"));
  EXPECT_TRUE(SameIndustryName("Salud Pública", "salud-pública"));
  EXPECT_FALSE(SameIndustryName("pública", "publica"));
}

}  // namespace
}  // namespace steward::segmentation
