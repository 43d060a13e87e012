#include "services/segmentation/metrics/portfolio_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::segmentation {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string SourceDir() {
  const char* dir = std::getenv("STEWARD_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// A file of its own per test, so tests do not see each other's files.
std::string WriteConfig(const std::string& text) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(::testing::TempDir()) / "portfolio_config_test";
  fs::create_directories(dir);
  const fs::path path = dir / absl::StrCat(info->name(), ".textproto");
  std::ofstream(path) << text;
  return path.string();
}

TEST(PortfolioConfigTest, ShippedConfigHoldsTheSpecTargets) {
  absl::StatusOr<v1::PortfolioTargets> targets =
      LoadPortfolioTargets(SourceDir() + "/config/portfolio.textproto");
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_EQ(targets->max_monthly_churn_percent(), 3);
  EXPECT_EQ(targets->min_retention_percent(), 97);
  EXPECT_EQ(targets->min_grr_percent(), 95);
  EXPECT_EQ(targets->min_nrr_percent(), 110);
  EXPECT_EQ(targets->min_average_health(), 80);
  EXPECT_EQ(targets->max_time_to_value_days(), 7);
  EXPECT_EQ(targets->min_activation_percent(), 80);
  EXPECT_EQ(targets->min_ltv_to_cac(), 3);
  EXPECT_EQ(ActivationWindowDays(*targets), 14);
  EXPECT_EQ(CohortMonths(*targets), 12);
}

TEST(PortfolioConfigTest, EmptyConfigMeansNoTargetsAndDefaultSettings) {
  absl::StatusOr<v1::PortfolioTargets> targets = LoadPortfolioTargets(WriteConfig("# nothing\n"));
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_FALSE(targets->has_min_nrr_percent());
  EXPECT_EQ(ActivationWindowDays(*targets), kDefaultActivationWindowDays);
  EXPECT_EQ(CohortMonths(*targets), kDefaultCohortMonths);
}

TEST(PortfolioConfigTest, ErrorsSayWhereTheyAre) {
  const std::string path = WriteConfig(
      "min_grr_percent: 95\n"
      "min_nrr_percent: -1\n"
      "cohort_months: 500\n"
      "  activation_window_days: -2\n"
      "max_time_to_value_days: 0\n"
      "min_ltv_to_cac: inf\n");
  absl::StatusOr<v1::PortfolioTargets> targets = LoadPortfolioTargets(path);
  ASSERT_FALSE(targets.ok());
  EXPECT_EQ(targets.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(targets.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat(
                           path, ":2:1: min_nrr_percent: must be finite and in [0, 1000], got -1")));
  EXPECT_THAT(message, HasSubstr(absl::StrCat(
                           path, ":3:1: cohort_months: must be 0 (meaning 12) or 1..120, got 500")));
  EXPECT_THAT(message, HasSubstr(absl::StrCat(
                           path, ":4:3: activation_window_days: must be 0 (meaning 14) or 1..365, got -2")));
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat(path, ":5:1: max_time_to_value_days: must be finite and in (0, 3653]")));
  EXPECT_THAT(message, HasSubstr(absl::StrCat(path, ":6:1: min_ltv_to_cac: must be finite")));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("min_grr_percent")));
}

TEST(PortfolioConfigTest, SyntaxErrorsAndMissingFiles) {
  absl::StatusOr<v1::PortfolioTargets> targets =
      LoadPortfolioTargets(WriteConfig("min_grr_percent: ninety\n"));
  EXPECT_EQ(targets.status().code(), absl::StatusCode::kInvalidArgument);
  targets = LoadPortfolioTargets("/nonexistent/portfolio.textproto");
  EXPECT_EQ(targets.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(targets.status().message(), HasSubstr("/nonexistent/portfolio.textproto"));
}

TEST(PortfolioConfigTest, ValidateNamesTheSource) {
  v1::PortfolioTargets targets;
  targets.set_min_retention_percent(101);
  const absl::Status status = ValidatePortfolioTargets(targets, "admin");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "admin: min_retention_percent: must be finite and in [0, 100], got 101");
  targets.set_min_retention_percent(97);
  EXPECT_TRUE(ValidatePortfolioTargets(targets).ok());
}

}  // namespace
}  // namespace steward::segmentation
