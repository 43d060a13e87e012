#include "services/scoring/model/model_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::scoring {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string SourceDir() {
  const char* dir = std::getenv("STEWARD_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// A fresh directory per test, so tests do not see each other's files.
fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "model_config_test" / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

// "line:col" (1-based) of the first occurrence of `needle` in `text`.
std::string Position(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  if (at == std::string::npos) return "?";
  size_t line_start = text.rfind('\n', at);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  int line = 1;
  for (size_t i = 0; i < at; ++i) line += text[i] == '\n' ? 1 : 0;
  return absl::StrCat(line, ":", at - line_start + 1);
}

// Replaces the single occurrence of `from` (which must exist) with `to`.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

constexpr char kModel[] = R"cfg(# a valid model
name: "m"
components {
  name: "usage"
  weight: 60
  inputs { feature: "active_days_30d" weight: 1 normalize { low: 0 high: 20 } }
}
components {
  name: "sat"
  weight: 40
  inputs { feature: "nps" weight: 1 normalize { low: 0 high: 10 } }
  inputs { feature: "open_tickets" weight: 1 normalize { low: 5 high: 0 } }
}
bands { name: "high" min_score: 50 action: "a" }
bands { name: "low" min_score: 0 action: "b" }
bonuses { feature: "referrals_90d" points_per_unit: 5 max_points: 10 }
)cfg";

constexpr char kChurn[] = R"cfg(
categories { name: "a" weight: 60 }
categories { name: "b" weight: 40 }
signals {
  name: "s1"
  category: "a"
  condition { feature: "nps" comparison: COMPARISON_LESS threshold: 7 }
  weight: 10
}
signals {
  name: "s2"
  category: "b"
  condition { feature: "competitor_trials_30d" comparison: COMPARISON_GREATER_OR_EQUAL threshold: 1 }
  weight: 5
}
levels { name: "low" min_active_signals: 0 probability_min: 0.05 probability_max: 0.35 }
levels { name: "high" min_active_signals: 2 probability_min: 0.4 probability_max: 0.9 }
red_flags {
  name: "r"
  conditions { feature: "nps" comparison: COMPARISON_LESS threshold: 5 }
  probability_floor: 0.8
}
)cfg";

// Loads `text` as a scoring model from a file and returns the error message (empty when it loads).
class ScoringModelErrorTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = (TestDir() / "config.textproto").string(); }
  std::string Load(const std::string& text) {
    WriteFile(path_, text);
    absl::StatusOr<v1::ScoringModel> model = LoadScoringModel(path_);
    if (model.ok()) return "";
    EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument) << model.status();
    return std::string(model.status().message());
  }
  // "path:line:col: " for `needle` in `text`.
  std::string At(const std::string& text, const std::string& needle) {
    return absl::StrCat(path_, ":", Position(text, needle), ": ");
  }
  std::string path_;
};

TEST(ShippedConfigTest, EveryShippedFileLoads) {
  const std::string config = SourceDir() + "/config";
  for (const char* name : {"health", "chs", "retention"}) {
    absl::StatusOr<v1::ScoringModel> model =
        LoadScoringModel(absl::StrCat(config, "/models/", name, ".textproto"));
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ(model->name(), name);
  }
  absl::StatusOr<v1::ChurnModel> churn = LoadChurnModel(config + "/churn.textproto");
  ASSERT_TRUE(churn.ok()) << churn.status();

  absl::StatusOr<ModelSet> set = LoadModelDirectory(config);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->default_model, "health");
  EXPECT_EQ(set->models.size(), 3u);
  EXPECT_TRUE(set->models.contains("chs"));
  EXPECT_TRUE(set->models.contains("retention"));
  EXPECT_EQ(set->churn.signals_size(), 15);
  EXPECT_EQ(set->churn.levels_size(), 3);
  EXPECT_EQ(set->churn.red_flags_size(), 3);
}

TEST(ShippedConfigTest, DefaultHealthModelHasSpecWeights) {
  absl::StatusOr<v1::ScoringModel> model = LoadScoringModel(SourceDir() + "/config/models/health.textproto");
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ(model->components_size(), 4);
  EXPECT_EQ(model->components(0).name(), "usage");
  EXPECT_EQ(model->components(0).weight(), 40);
  EXPECT_EQ(model->components(1).weight(), 30);
  EXPECT_EQ(model->components(2).weight(), 20);
  EXPECT_EQ(model->components(3).weight(), 10);
}

TEST_F(ScoringModelErrorTest, ValidModelLoads) { EXPECT_EQ(Load(std::string(kModel)), ""); }

TEST_F(ScoringModelErrorTest, MissingFileIsNotFound) {
  absl::StatusOr<v1::ScoringModel> model = LoadScoringModel(path_ + ".nope");
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr(".nope"));
}

TEST_F(ScoringModelErrorTest, UnknownFeatureNamesFileLineColumnAndField) {
  std::string text = Replace(std::string(kModel), "feature: \"nps\"", "feature: \"logins_31d\"");
  std::string error = Load(text);
  EXPECT_EQ(error, At(text, "feature: \"logins_31d\"") +
                       "components[1].inputs[0].feature: unknown feature \"logins_31d\"");
  EXPECT_THAT(error, HasSubstr(":11:12: "));  // guards the helper itself
}

TEST_F(ScoringModelErrorTest, SyntaxErrorNamesFileAndLine) {
  std::string text = Replace(std::string(kModel), "weight: 60", "wieght: 60");
  std::string error = Load(text);
  EXPECT_THAT(error, HasSubstr(absl::StrCat(path_, ":5:")));
  EXPECT_THAT(error, HasSubstr("wieght"));
}

TEST_F(ScoringModelErrorTest, ComponentWeightsMustAddUpTo100) {
  std::string text = Replace(std::string(kModel), "weight: 60", "weight: 50");
  EXPECT_EQ(Load(text), At(text, "components {") + "components: component weights add up to 90, not 100");
}

TEST_F(ScoringModelErrorTest, DuplicateComponentName) {
  std::string text = Replace(std::string(kModel), "name: \"sat\"", "name: \"usage\"  # duplicate");
  EXPECT_EQ(Load(text), At(text, "name: \"usage\"  # duplicate") +
                            "components[1].name: duplicate component name \"usage\"");
}

TEST_F(ScoringModelErrorTest, InputWeightMustBePositive) {
  std::string text = Replace(std::string(kModel), "weight: 1 normalize { low: 0 high: 20 }",
                             "weight: -2 normalize { low: 0 high: 20 }");
  EXPECT_EQ(Load(text),
            At(text, "weight: -2") + "components[0].inputs[0].weight: must be a finite number > 0, got -2");
}

TEST_F(ScoringModelErrorTest, NormalizationBoundsMustDiffer) {
  std::string text =
      Replace(std::string(kModel), "normalize { low: 5 high: 0 }", "normalize { low: 5 high: 5 }");
  EXPECT_EQ(Load(text), At(text, "normalize { low: 5") +
                            "components[1].inputs[1].normalize: low and high must differ (both are 5)");
}

TEST_F(ScoringModelErrorTest, ComponentWithoutInputs) {
  std::string text =
      Replace(std::string(kModel),
              "  inputs { feature: \"active_days_30d\" weight: 1 normalize { low: 0 high: 20 } }\n", "");
  // The field is absent, so the error points at the component that lacks it.
  EXPECT_EQ(Load(text), At(text, "components {") + "components[0].inputs: at least one input is required");
}

TEST_F(ScoringModelErrorTest, AbsentWeightPointsAtItsComponent) {
  std::string text = Replace(Replace(std::string(kModel), "  weight: 40\n", ""), "weight: 60", "weight: 100");
  std::string second_component = text.substr(text.find("components {", text.find("components {") + 1));
  std::string error = Load(text);
  EXPECT_EQ(error, At(text, second_component) + "components[1].weight: must be a finite number > 0, got 0");
}

TEST_F(ScoringModelErrorTest, MissingNameHasNoLine) {
  std::string text = Replace(std::string(kModel), "name: \"m\"\n", "");
  EXPECT_EQ(Load(text), path_ + ": name: a model name is required");
}

TEST_F(ScoringModelErrorTest, OneBandMustStartAtZero) {
  std::string text = Replace(std::string(kModel), "min_score: 0", "min_score: 10");
  EXPECT_EQ(Load(text),
            At(text, "bands {") + "bands: one band must have min_score 0 so that every score has a band");
}

TEST_F(ScoringModelErrorTest, BandMinScoresMustBeUnique) {
  std::string text = Replace(std::string(kModel), "min_score: 50", "min_score: 0");
  std::string second = "min_score: 0 action: \"b\"";
  EXPECT_EQ(Load(text), At(text, second) + "bands[1].min_score: another band already starts at 0");
}

TEST_F(ScoringModelErrorTest, DuplicateBandName) {
  std::string text = Replace(std::string(kModel), "name: \"low\"", "name: \"high\"");
  EXPECT_EQ(Load(text),
            At(text, "name: \"high\" min_score: 0") + "bands[1].name: duplicate band name \"high\"");
}

TEST_F(ScoringModelErrorTest, NoBands) {
  std::string text =
      Replace(Replace(std::string(kModel), "bands { name: \"high\" min_score: 50 action: \"a\" }\n", ""),
              "bands { name: \"low\" min_score: 0 action: \"b\" }\n", "");
  EXPECT_EQ(Load(text), path_ + ": bands: at least one band is required");
}

TEST_F(ScoringModelErrorTest, BonusRules) {
  std::string text =
      Replace(std::string(kModel), "feature: \"referrals_90d\" points_per_unit: 5 max_points: 10",
              "feature: \"referrals\" points_per_unit: 0 max_points: 10");
  std::string error = Load(text);
  EXPECT_THAT(error, HasSubstr(At(text, "feature: \"referrals\"") +
                               "bonuses[0].feature: unknown feature \"referrals\""));
  EXPECT_THAT(error, HasSubstr(At(text, "points_per_unit: 0") +
                               "bonuses[0].points_per_unit: must be a finite number > 0, got 0"));
}

TEST_F(ScoringModelErrorTest, ReportsEveryErrorOfAFile) {
  std::string text = Replace(Replace(std::string(kModel), "feature: \"nps\"", "feature: \"npss\""),
                             "weight: 60", "weight: 61");
  std::string error = Load(text);
  EXPECT_THAT(error, HasSubstr("components[1].inputs[0].feature: unknown feature \"npss\""));
  EXPECT_THAT(error, HasSubstr("\n"));
  EXPECT_THAT(error, HasSubstr("components: component weights add up to 101, not 100"));
}

TEST(ValidateScoringModelTest, WithoutAFileErrorsNameTheSourceAndPath) {
  v1::ScoringModel model;
  model.set_name("x");
  v1::ModelComponent* component = model.add_components();
  component->set_name("c");
  component->set_weight(100);
  v1::ModelInput* input = component->add_inputs();
  input->set_feature("nps");
  input->set_weight(1);
  input->mutable_normalize()->set_high(10);
  v1::ModelBand* band = model.add_bands();
  band->set_name("all");
  EXPECT_TRUE(ValidateScoringModel(model).ok());
  input->set_feature("bogus");
  EXPECT_EQ(ValidateScoringModel(model, "api").message(),
            "api: components[0].inputs[0].feature: unknown feature \"bogus\"");
}

class ChurnModelErrorTest : public ScoringModelErrorTest {
 protected:
  std::string Load(const std::string& text) {
    WriteFile(path_, text);
    absl::StatusOr<v1::ChurnModel> model = LoadChurnModel(path_);
    if (model.ok()) return "";
    EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument) << model.status();
    return std::string(model.status().message());
  }
};

TEST_F(ChurnModelErrorTest, ValidModelLoads) { EXPECT_EQ(Load(std::string(kChurn)), ""); }

TEST_F(ChurnModelErrorTest, CategoryWeightsMustAddUpTo100) {
  std::string text = Replace(std::string(kChurn), "weight: 60", "weight: 50");
  EXPECT_EQ(Load(text), At(text, "categories {") + "categories: category weights add up to 90, not 100");
}

TEST_F(ChurnModelErrorTest, SignalCategoryMustExistAndEveryCategoryNeedsASignal) {
  std::string text = Replace(std::string(kChurn), "category: \"b\"", "category: \"c\"");
  std::string error = Load(text);
  EXPECT_THAT(error, HasSubstr(At(text, "category: \"c\"") + "signals[1].category: unknown category \"c\""));
  EXPECT_THAT(error, HasSubstr(At(text, "name: \"b\"") + "categories[1].name: category \"b\" has no signal"));
}

TEST_F(ChurnModelErrorTest, DuplicateSignalName) {
  std::string text = Replace(std::string(kChurn), "name: \"s2\"", "name: \"s1\"  # duplicate");
  EXPECT_EQ(Load(text),
            At(text, "name: \"s1\"  # duplicate") + "signals[1].name: duplicate signal name \"s1\"");
}

TEST_F(ChurnModelErrorTest, UnspecifiedComparisonPointsAtTheCondition) {
  std::string text = Replace(std::string(kChurn), "feature: \"nps\" comparison: COMPARISON_LESS threshold: 7",
                             "feature: \"nps\" threshold: 7");
  std::string error = Load(text);
  EXPECT_THAT(error, HasSubstr(At(text, "condition { feature: \"nps\"") +
                               "signals[0].condition.comparison: a comparison is required"));
}

TEST_F(ChurnModelErrorTest, SignalWeightMustBePositive) {
  std::string text = Replace(std::string(kChurn), "weight: 5\n", "weight: 0\n");
  EXPECT_EQ(Load(text), At(text, "weight: 0\n") + "signals[1].weight: must be a finite number > 0, got 0");
}

TEST_F(ChurnModelErrorTest, RedFlagConditionFeatureMustBeKnown) {
  std::string text = Replace(std::string(kChurn), "feature: \"nps\" comparison: COMPARISON_LESS threshold: 5",
                             "feature: \"nsp\" comparison: COMPARISON_LESS threshold: 5");
  EXPECT_EQ(Load(text),
            At(text, "feature: \"nsp\"") + "red_flags[0].conditions[0].feature: unknown feature \"nsp\"");
}

TEST_F(ChurnModelErrorTest, RedFlagNeedsAConditionAndAFloorInRange) {
  std::string text =
      Replace(Replace(std::string(kChurn),
                      "  conditions { feature: \"nps\" comparison: COMPARISON_LESS threshold: 5 }\n", ""),
              "probability_floor: 0.8", "probability_floor: 1.5");
  std::string error = Load(text);
  EXPECT_THAT(error, HasSubstr(At(text, "red_flags {") +
                               "red_flags[0].conditions: at least one condition is required"));
  EXPECT_THAT(error, HasSubstr(At(text, "probability_floor") +
                               "red_flags[0].probability_floor: must be in [0, 1], got 1.5"));
}

TEST_F(ChurnModelErrorTest, LevelsMustNotOverlap) {
  std::string text = Replace(std::string(kChurn), "probability_min: 0.4", "probability_min: 0.3");
  EXPECT_THAT(Load(text),
              HasSubstr(At(text, "probability_min: 0.3") +
                        "levels[1].probability_min: must be >= probability_max (0.35) of level \"low\""));
}

TEST_F(ChurnModelErrorTest, LevelsAreCheckedInSignalOrderNotFileOrder) {
  // The same levels listed highest first are fine.
  std::string text = std::string(kChurn);
  std::string low =
      "levels { name: \"low\" min_active_signals: 0 probability_min: 0.05 probability_max: 0.35 }\n";
  text = Replace(text, low, "");
  text += low;
  EXPECT_EQ(Load(text), "");
}

TEST_F(ChurnModelErrorTest, LevelProbabilityRange) {
  std::string text = Replace(std::string(kChurn), "probability_max: 0.35", "probability_max: 0.01");
  EXPECT_EQ(Load(text), At(text, "probability_max: 0.01") +
                            "levels[0].probability_max: must be >= probability_min (0.05), got 0.01");
}

TEST_F(ChurnModelErrorTest, OneLevelMustStartAtZero) {
  std::string text = Replace(std::string(kChurn), "min_active_signals: 0", "min_active_signals: 1");
  EXPECT_EQ(Load(text),
            At(text, "levels {") +
                "levels: one level must have min_active_signals 0 so that every account has a level");
}

TEST_F(ChurnModelErrorTest, LevelCountsMustBeUnique) {
  std::string text = Replace(std::string(kChurn), "min_active_signals: 2", "min_active_signals: 0");
  std::string error = Load(text);
  EXPECT_THAT(error, HasSubstr("levels[1].min_active_signals: another level already starts at 0"));
  EXPECT_THAT(error, Not(HasSubstr("probability_min")));  // no follow-on noise
}

class ModelDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TestDir(); }
  std::string ModelNamed(const std::string& name) {
    return Replace(std::string(kModel), "name: \"m\"", absl::StrCat("name: \"", name, "\""));
  }
  fs::path dir_;
};

TEST_F(ModelDirectoryTest, LoadsEveryModelAndTheChurnRules) {
  WriteFile(dir_ / "models" / "health.textproto", ModelNamed("health"));
  WriteFile(dir_ / "models" / "other.textproto", ModelNamed("other"));
  WriteFile(dir_ / "models" / "README.md", "not a model");
  WriteFile(dir_ / "churn.textproto", kChurn);
  absl::StatusOr<ModelSet> set = LoadModelDirectory(dir_.string());
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->models.size(), 2u);
  EXPECT_EQ(set->models.at("other").name(), "other");
  EXPECT_EQ(set->churn.categories_size(), 2);
}

TEST_F(ModelDirectoryTest, ModelNameMustEqualFileStem) {
  std::string text = ModelNamed("healthy");
  std::string path = WriteFile(dir_ / "models" / "health.textproto", text);
  WriteFile(dir_ / "churn.textproto", kChurn);
  absl::StatusOr<ModelSet> set = LoadModelDirectory(dir_.string());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(),
            absl::StrCat(path, ":", Position(text, "name: \"healthy\""),
                         ": name: model name \"healthy\" must equal the file name's stem \"health\""));
}

TEST_F(ModelDirectoryTest, HealthModelIsRequired) {
  WriteFile(dir_ / "models" / "chs.textproto", ModelNamed("chs"));
  WriteFile(dir_ / "churn.textproto", kChurn);
  absl::StatusOr<ModelSet> set = LoadModelDirectory(dir_.string());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr("health.textproto"));
}

TEST_F(ModelDirectoryTest, ChurnFileIsRequired) {
  WriteFile(dir_ / "models" / "health.textproto", ModelNamed("health"));
  absl::StatusOr<ModelSet> set = LoadModelDirectory(dir_.string());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr("churn.textproto"));
}

TEST_F(ModelDirectoryTest, ErrorsInAModelFileAreReportedWithItsPath) {
  std::string text = Replace(ModelNamed("health"), "feature: \"nps\"", "feature: \"logins_31d\"");
  std::string path = WriteFile(dir_ / "models" / "health.textproto", text);
  WriteFile(dir_ / "churn.textproto", kChurn);
  absl::StatusOr<ModelSet> set = LoadModelDirectory(dir_.string());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(),
            absl::StrCat(path, ":", Position(text, "feature: \"logins_31d\""),
                         ": components[1].inputs[0].feature: unknown feature \"logins_31d\""));
}

TEST_F(ModelDirectoryTest, MissingDirectoryIsNotFound) {
  EXPECT_EQ(LoadModelDirectory((dir_ / "nothing").string()).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace steward::scoring
