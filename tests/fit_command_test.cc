// `steward fit`, the offline CLI path of issue #7: the built binary run on the public CDNOW log must
// print the published BG/NBD and Gamma-Gamma parameters, and a bad file must fail naming its line.

#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "steward/v1/predictive.pb.h"
#include "tests/support/child_process.h"

namespace steward {
namespace {

using ::testing::HasSubstr;
using testing::RunCommand;
using testing::SourceDir;
using testing::StewardBinary;

// Runs `steward fit ARGS`, stdout only (stderr is dropped), and returns its exit code and output.
std::pair<int, std::string> Fit(const std::string& args) {
  return RunCommand(absl::StrCat(StewardBinary(), " fit ", args, " 2>/dev/null"));
}

std::string Cdnow() { return absl::StrCat(SourceDir(), "/data/public/cdnowElog.csv"); }

// Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4 (the same figures
// as services/scoring/predictive/cdnow_published_results_test.cc checks on the library).
TEST(FitCommandTest, BgNbdOnCdnowPrintsThePublishedParameters) {
  auto [code, out] = Fit(absl::StrCat("--data ", Cdnow(), " --model bgnbd --calibration_end=1997-09-30"));
  ASSERT_EQ(code, 0) << out;
  v1::BgNbdModel model;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &model).ok()) << out;
  EXPECT_NEAR(model.r(), 0.243, 0.005);
  EXPECT_NEAR(model.alpha(), 4.414, 0.005);
  EXPECT_NEAR(model.a(), 0.793, 0.005);
  EXPECT_NEAR(model.b(), 2.426, 0.005);
  EXPECT_NEAR(model.statistics().log_likelihood(), -9582.43, 0.05);
  EXPECT_EQ(model.statistics().rows(), 2357);
  EXPECT_TRUE(model.statistics().converged());
  EXPECT_TRUE(model.statistics().accepted());
}

// Fader & Hardie (2013): p = 6.25, q = 3.74, γ = 15.44 on the 946 repeat buyers.
TEST(FitCommandTest, GammaGammaOnCdnowPrintsThePublishedParameters) {
  auto [code, out] = Fit(absl::StrCat("--data=", Cdnow(), " --model=gamma-gamma --calibration_end 1997-09-30"));
  ASSERT_EQ(code, 0) << out;
  v1::GammaGammaModel model;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &model).ok()) << out;
  EXPECT_NEAR(model.p(), 6.25, 0.02);
  EXPECT_NEAR(model.q(), 3.74, 0.02);
  EXPECT_NEAR(model.gamma(), 15.44, 0.02);
  EXPECT_EQ(model.statistics().rows(), 946);
}

class FitCommandFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = absl::StrCat(::testing::TempDir(), "/fit-command-", getpid(), "-", name);
    std::ofstream(path) << text;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& p : paths_) unlink(p.c_str());
  }
  std::vector<std::string> paths_;
};

// The 2007 paper's "regular" series: α = 0.704, β = 1.182.
TEST_F(FitCommandFileTest, SbgOnASurvivalSeries) {
  const std::string path = Write("regular.csv", "year,alive\n0,1000\n1,631\n2,468\n3,382\n4,326\n5,289\n6,262\n7,241\n");
  auto [code, out] = Fit(absl::StrCat("--data ", path, " --model sbg"));
  ASSERT_EQ(code, 0) << out;
  v1::SbgCohortModel model;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &model).ok()) << out;
  EXPECT_NEAR(model.alpha(), 0.704, 0.005);
  EXPECT_NEAR(model.beta(), 1.182, 0.005);
}

TEST_F(FitCommandFileTest, BadFilesAndArgumentsFailNamingTheProblem) {
  const std::string bad_date = Write("bad.csv", "masterid,date,sales\n1,19970101,10\n2,1997x101,5\n");
  auto [code, out] = RunCommand(absl::StrCat(StewardBinary(), " fit --data ", bad_date, " --model bgnbd 2>&1"));
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("line 3"));

  const std::string bad_series = Write("series.csv", "alive\n100\n80\nmany\n");
  std::tie(code, out) = RunCommand(absl::StrCat(StewardBinary(), " fit --data ", bad_series, " --model sbg 2>&1"));
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("line 4"));

  std::tie(code, out) = RunCommand(absl::StrCat(StewardBinary(), " fit --data ", bad_series, " --model arima 2>&1"));
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("--model must be"));

  std::tie(code, out) = RunCommand(absl::StrCat(StewardBinary(), " fit --model bgnbd 2>&1"));
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("--data is required"));

  std::tie(code, out) = RunCommand(absl::StrCat(StewardBinary(), " fit --data /nonexistent.csv --model bgnbd 2>&1"));
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("/nonexistent.csv"));
}

}  // namespace
}  // namespace steward
