#include "services/segmentation/builtin/builtin_segments.h"

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/segmentation/builtin/segmentation_config.h"

namespace steward::segmentation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1795000000);  // 2026-11-18

const v1::SegmentationConfig& Shipped() {
  static const v1::SegmentationConfig* config = [] {
    const char* dir = std::getenv("STEWARD_SOURCE_DIR");
    absl::StatusOr<v1::SegmentationConfig> loaded =
        LoadSegmentationConfig(absl::StrCat(dir != nullptr ? dir : ".", "/config/segmentation.textproto"));
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new v1::SegmentationConfig(loaded.ok() ? *loaded : v1::SegmentationConfig());
  }();
  return *config;
}

// One account under construction; Assign() runs the segmentations on it.
class BuiltInSegmentsTest : public ::testing::Test {
 protected:
  void SetFeature(const std::string& name, double value) {
    v1::FeatureValue* f = scores_.add_features();
    f->set_name(name);
    f->set_value(value);
  }
  void SetClv(const std::string& formula, double value) {
    v1::ClvEstimate* e = scores_.mutable_clv()->add_estimates();
    e->set_formula(formula);
    e->set_value(value);
  }
  void SetChurn(double probability) {
    scores_.mutable_churn()->set_probability(probability);
    scores_.mutable_churn()->set_level(v1::RISK_LEVEL_LOW);
  }
  void SetStartDaysAgo(absl::Duration ago) {
    const absl::Time start = kNow - ago;
    account_.mutable_start_time()->set_seconds(absl::ToUnixSeconds(start));
  }

  std::vector<v1::SegmentAssignment> AssignAll() {
    AccountView view;
    view.account = with_account_ ? &account_ : nullptr;
    view.scores = with_scores_ ? &scores_ : nullptr;
    view.loyalty = with_loyalty_ ? &loyalty_ : nullptr;
    view.now = kNow;
    return AssignBuiltInSegments(config_, view);
  }

  // The assignment of one segmentation.
  v1::SegmentAssignment Assign(const std::string& segmentation) {
    for (v1::SegmentAssignment& a : AssignAll()) {
      if (a.segmentation() == segmentation) return a;
    }
    ADD_FAILURE() << "no assignment for " << segmentation;
    return v1::SegmentAssignment();
  }
  std::string SegmentOf(const std::string& segmentation) { return Assign(segmentation).segment_id(); }

  // "field=value" for each input.
  static std::vector<std::string> Inputs(const v1::SegmentAssignment& a) {
    std::vector<std::string> out;
    for (const v1::SegmentInput& input : a.inputs())
      out.push_back(absl::StrCat(input.field(), "=", input.value()));
    return out;
  }

  v1::SegmentationConfig config_ = Shipped();
  v1::Account account_;
  v1::Scores scores_;
  v1::LoyaltyStanding loyalty_;
  bool with_account_ = true;
  bool with_scores_ = true;
  bool with_loyalty_ = false;
};

TEST_F(BuiltInSegmentsTest, OneAssignmentPerSegmentationInFixedOrder) {
  std::vector<v1::SegmentAssignment> all = AssignAll();
  std::vector<std::string> segmentations;
  for (const v1::SegmentAssignment& a : all) segmentations.push_back(a.segmentation());
  EXPECT_THAT(segmentations, ElementsAre("quadrant", "clv-tier", "persona", "industry", "size", "lifecycle",
                                         "nps", "advocacy", "loyalty"));
  ASSERT_EQ(all.size(), kBuiltInSegmentations.size());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].segmentation(), kBuiltInSegmentations[i]);

  // Every assigned segment is a built-in segment, with its configured name and treatment.
  std::vector<v1::Segment> segments = BuiltInSegments(config_);
  for (const v1::SegmentAssignment& a : all) {
    bool found = false;
    for (const v1::Segment& s : segments) {
      if (s.segment_id() != a.segment_id()) continue;
      found = true;
      EXPECT_EQ(s.display_name(), a.display_name());
      EXPECT_EQ(s.treatment(), a.treatment());
    }
    EXPECT_TRUE(found) << a.segment_id();
    EXPECT_FALSE(a.reason().empty()) << a.segment_id();
    EXPECT_FALSE(a.display_name().empty()) << a.segment_id();
  }
}

TEST_F(BuiltInSegmentsTest, EmptyViewStillGetsOneSegmentEach) {
  with_account_ = false;
  with_scores_ = false;
  std::vector<std::string> ids;
  for (const v1::SegmentAssignment& a : AssignAll()) ids.push_back(a.segment_id());
  EXPECT_THAT(ids, ElementsAre("quadrant/low-value-low-risk", "clv-tier/unknown", "persona/casual",
                               "industry/unknown", "size/unknown", "lifecycle/active", "nps/none",
                               "advocacy/none", "loyalty/bronze"));
  EXPECT_EQ(Assign("quadrant").reason(),
            "clv and mrr unknown (low value), churn probability unknown (low risk)");
}

TEST_F(BuiltInSegmentsTest, BuiltInSegmentsAreSortedAndComplete) {
  std::vector<v1::Segment> segments = BuiltInSegments(config_);
  EXPECT_EQ(segments.size(), 4u + 4 + 3 + (7 + 2) + 4 + 6 + 4 + 4 + 4);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    EXPECT_TRUE(segments[i].built_in());
    EXPECT_FALSE(segments[i].display_name().empty());
    EXPECT_FALSE(segments[i].description().empty());
    EXPECT_FALSE(segments[i].has_rule());
    if (i > 0) {
      EXPECT_LT(segments[i - 1].segment_id(), segments[i].segment_id());
    }
    ids.insert(segments[i].segment_id());
  }
  for (const char* id :
       {"quadrant/high-value-low-risk", "quadrant/low-value-high-risk", "clv-tier/unknown",
        "persona/struggling", "industry/e-commerce", "industry/other", "industry/unknown", "size/mid-market",
        "lifecycle/expansion", "nps/none", "advocacy/ambassador", "loyalty/platinum"}) {
    EXPECT_TRUE(ids.contains(id)) << id;
  }
  for (const v1::Segment& s : segments) {
    if (s.segment_id() == "clv-tier/high") {
      EXPECT_EQ(s.display_name(), "High CLV");
      EXPECT_THAT(s.treatment(), HasSubstr("dedicated manager"));
    }
  }
}

// --- CLV tier --------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, ClvTierEdges) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "clv-tier/low"},        {999.99, "clv-tier/low"},    {1000, "clv-tier/medium"},
      {10000, "clv-tier/medium"}, {10000.01, "clv-tier/high"}, {1e9, "clv-tier/high"},
  };
  for (const auto& [clv, expected] : cases) {
    scores_.clear_clv();
    SetClv("basic", clv);
    EXPECT_EQ(SegmentOf("clv-tier"), expected) << clv;
  }
}

TEST_F(BuiltInSegmentsTest, ClvTierReasonsAndInputs) {
  SetClv("basic", 12400);
  v1::SegmentAssignment a = Assign("clv-tier");
  EXPECT_EQ(a.reason(), "clv 12,400 > 10,000");
  EXPECT_EQ(a.display_name(), "High CLV");
  EXPECT_THAT(a.treatment(), HasSubstr("White-glove"));
  EXPECT_THAT(Inputs(a), ElementsAre("score.clv=12400"));

  scores_.clear_clv();
  SetClv("basic", 5000.5);
  a = Assign("clv-tier");
  EXPECT_EQ(a.reason(), "clv 5,000.5 between 1,000 and 10,000");
  EXPECT_THAT(Inputs(a), ElementsAre("score.clv=5000.5"));

  scores_.clear_clv();
  a = Assign("clv-tier");
  EXPECT_EQ(a.segment_id(), "clv-tier/unknown");
  EXPECT_EQ(a.reason(), "no clv estimate");
  EXPECT_THAT(Inputs(a), ElementsAre("score.clv=unknown"));
}

TEST_F(BuiltInSegmentsTest, ClvPrefersWithExpansionThenBasicThenFirst) {
  SetClv("simple", 50000);
  SetClv("basic", 500);
  SetClv("with_expansion", 5000);
  EXPECT_EQ(SegmentOf("clv-tier"), "clv-tier/medium");

  scores_.clear_clv();
  SetClv("simple", 50000);
  SetClv("basic", 500);
  EXPECT_EQ(SegmentOf("clv-tier"), "clv-tier/low");

  scores_.clear_clv();
  SetClv("simple", 50000);
  SetClv("purchase_based", 500);
  EXPECT_EQ(SegmentOf("clv-tier"), "clv-tier/high");
}

TEST_F(BuiltInSegmentsTest, ThresholdsComeFromTheConfiguration) {
  SetClv("basic", 6000);
  config_.mutable_clv_tier()->set_high_above(5000);
  v1::SegmentAssignment a = Assign("clv-tier");
  EXPECT_EQ(a.segment_id(), "clv-tier/high");
  EXPECT_EQ(a.reason(), "clv 6,000 > 5,000");
  config_.mutable_clv_tier()->mutable_high()->set_treatment("Custom treatment.");
  EXPECT_EQ(Assign("clv-tier").treatment(), "Custom treatment.");
}

// --- Quadrant --------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, QuadrantFromClvAndChurn) {
  SetClv("with_expansion", 12400);
  SetChurn(0.12);
  v1::SegmentAssignment a = Assign("quadrant");
  EXPECT_EQ(a.segment_id(), "quadrant/high-value-low-risk");
  EXPECT_EQ(a.reason(), "clv 12,400 > 10,000 (high value), churn probability 0.12 < 0.4 (low risk)");
  EXPECT_THAT(a.treatment(), HasSubstr("Expansion and advocacy"));
  EXPECT_THAT(Inputs(a), ElementsAre("score.clv=12400", "score.churn_probability=0.12"));

  SetChurn(0.4);  // the edge is high risk
  a = Assign("quadrant");
  EXPECT_EQ(a.segment_id(), "quadrant/high-value-high-risk");
  EXPECT_EQ(a.reason(), "clv 12,400 > 10,000 (high value), churn probability 0.4 >= 0.4 (high risk)");

  SetChurn(0.39999);  // rounding would print "0.4 < 0.4"; the full value is shown instead
  EXPECT_EQ(Assign("quadrant").reason(),
            "clv 12,400 > 10,000 (high value), churn probability 0.39999 < 0.4 (low risk)");

  scores_.clear_clv();
  SetClv("with_expansion", 10000);  // the high CLV tier's edge is not high value
  SetChurn(0.7);
  a = Assign("quadrant");
  EXPECT_EQ(a.segment_id(), "quadrant/low-value-high-risk");
  EXPECT_EQ(a.reason(), "clv 10,000 <= 10,000 (low value), churn probability 0.7 >= 0.4 (high risk)");

  SetChurn(0.1);
  EXPECT_EQ(SegmentOf("quadrant"), "quadrant/low-value-low-risk");
}

TEST_F(BuiltInSegmentsTest, QuadrantFallsBackToMrrWithoutClv) {
  SetChurn(0.5);
  account_.set_mrr(1000);  // the edge is high value
  v1::SegmentAssignment a = Assign("quadrant");
  EXPECT_EQ(a.segment_id(), "quadrant/high-value-high-risk");
  EXPECT_EQ(a.reason(),
            "clv unknown, mrr 1,000 >= 1,000 (high value), churn probability 0.5 >= 0.4 (high risk)");
  EXPECT_THAT(Inputs(a), ElementsAre("score.clv=unknown", "account.mrr=1000", "score.churn_probability=0.5"));

  account_.set_mrr(999.5);
  a = Assign("quadrant");
  EXPECT_EQ(a.segment_id(), "quadrant/low-value-high-risk");
  EXPECT_EQ(a.reason(),
            "clv unknown, mrr 999.5 < 1,000 (low value), churn probability 0.5 >= 0.4 (high risk)");

  // A known CLV wins over MRR, however large.
  account_.set_mrr(50000);
  SetClv("basic", 800);
  EXPECT_EQ(SegmentOf("quadrant"), "quadrant/low-value-high-risk");
}

TEST_F(BuiltInSegmentsTest, QuadrantWithoutChurnScoreIsLowRisk) {
  SetClv("basic", 20000);
  v1::SegmentAssignment a = Assign("quadrant");
  EXPECT_EQ(a.segment_id(), "quadrant/high-value-low-risk");
  EXPECT_EQ(a.reason(), "clv 20,000 > 10,000 (high value), churn probability unknown (low risk)");
  EXPECT_THAT(Inputs(a), ElementsAre("score.clv=20000", "score.churn_probability=unknown"));
}

// --- Persona ---------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, PersonaPowerAtItsEdges) {
  SetFeature("logins_30d", 20);
  SetFeature("feature_share_30d", 0.5);
  scores_.mutable_health()->set_score(30);  // use decides the persona; low health does not demote power
  v1::SegmentAssignment a = Assign("persona");
  EXPECT_EQ(a.segment_id(), "persona/power");
  EXPECT_EQ(a.reason(), "logins_30d 20 >= 20, feature_share_30d 0.5 >= 0.5");
  EXPECT_THAT(Inputs(a),
              ElementsAre("feature.logins_30d=20", "feature.feature_share_30d=0.5", "score.health=30"));
}

TEST_F(BuiltInSegmentsTest, PersonaPowerWithoutKnownFeatureShare) {
  SetFeature("logins_30d", 25);
  v1::SegmentAssignment a = Assign("persona");
  EXPECT_EQ(a.segment_id(), "persona/power");
  EXPECT_EQ(a.reason(), "logins_30d 25 >= 20, feature_share_30d unknown");
}

TEST_F(BuiltInSegmentsTest, PersonaStruggling) {
  SetFeature("logins_30d", 2);
  SetFeature("feature_share_30d", 0.1);
  scores_.mutable_health()->set_score(40);
  v1::SegmentAssignment a = Assign("persona");
  EXPECT_EQ(a.segment_id(), "persona/struggling");
  EXPECT_EQ(a.reason(), "logins_30d 2 < 3, feature_share_30d 0.1 < 0.3, health 40 < 50");

  scores_.clear_features();
  scores_.clear_health();
  SetFeature("logins_30d", 25);
  SetFeature("feature_share_30d", 0.29);  // many logins, few features
  EXPECT_EQ(Assign("persona").reason(), "feature_share_30d 0.29 < 0.3");

  scores_.clear_features();
  SetFeature("logins_30d", 10);
  scores_.mutable_health()->set_score(49);
  EXPECT_EQ(Assign("persona").reason(), "health 49 < 50");
}

TEST_F(BuiltInSegmentsTest, PersonaCasual) {
  SetFeature("logins_30d", 3);  // the struggling edge is not struggling
  SetFeature("feature_share_30d", 0.3);
  scores_.mutable_health()->set_score(50);
  v1::SegmentAssignment a = Assign("persona");
  EXPECT_EQ(a.segment_id(), "persona/casual");
  EXPECT_EQ(a.reason(), "logins_30d 3 < 20, no sign of struggling");

  scores_.clear_features();
  SetFeature("logins_30d", 30);
  SetFeature("feature_share_30d", 0.4);
  EXPECT_EQ(Assign("persona").reason(), "feature_share_30d 0.4 < 0.5, no sign of struggling");
}

// --- Industry --------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, IndustryNormalisation) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"technology", "industry/technology"},
      {"Technology", "industry/technology"},
      {"SaaS", "industry/technology"},
      {"e-commerce", "industry/e-commerce"},
      {"E-Commerce", "industry/e-commerce"},
      {"ecommerce", "industry/e-commerce"},
      {" e commerce ", "industry/e-commerce"},
      {"Health Care", "industry/health"},
      {"BANKING", "industry/banking"},
      {"Financial Services", "industry/banking"},
      {"sales", "industry/sales"},
      {"customer-support", "industry/support"},
      {"mining", "industry/other"},
      {"commerce", "industry/other"},
      {"", "industry/unknown"},
      {" - ", "industry/unknown"},
  };
  for (const auto& [industry, expected] : cases) {
    account_.set_industry(industry);
    EXPECT_EQ(SegmentOf("industry"), expected) << "\"" << industry << "\"";
  }
}

TEST_F(BuiltInSegmentsTest, IndustryReasonsAndInputs) {
  account_.set_industry("E-Commerce");
  v1::SegmentAssignment a = Assign("industry");
  EXPECT_EQ(a.display_name(), "E-commerce");
  EXPECT_EQ(a.reason(), "industry \"E-Commerce\" is e-commerce");
  EXPECT_THAT(Inputs(a), ElementsAre("account.industry=E-Commerce"));

  account_.set_industry("mining");
  EXPECT_EQ(Assign("industry").reason(), "industry \"mining\" is not one of the configured industries");

  account_.clear_industry();
  a = Assign("industry");
  EXPECT_EQ(a.reason(), "no industry");
  EXPECT_THAT(Inputs(a), ElementsAre("account.industry=unknown"));
}

// --- Size ------------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, Size) {
  const std::vector<std::pair<v1::AccountSize, std::string>> cases = {
      {v1::ACCOUNT_SIZE_SMB, "size/smb"},
      {v1::ACCOUNT_SIZE_MID_MARKET, "size/mid-market"},
      {v1::ACCOUNT_SIZE_ENTERPRISE, "size/enterprise"},
      {v1::ACCOUNT_SIZE_UNSPECIFIED, "size/unknown"},
  };
  for (const auto& [size, expected] : cases) {
    account_.set_size(size);
    EXPECT_EQ(SegmentOf("size"), expected);
  }
  account_.set_size(v1::ACCOUNT_SIZE_MID_MARKET);
  EXPECT_THAT(Inputs(Assign("size")), ElementsAre("account.size=mid_market"));
}

// --- Lifecycle -------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, LifecycleByTenure) {
  const std::vector<std::pair<absl::Duration, std::string>> cases = {
      {absl::ZeroDuration(), "lifecycle/onboarding"},     {absl::Hours(24 * 90), "lifecycle/onboarding"},
      {absl::Hours(24 * 91 - 1), "lifecycle/onboarding"},  // day 90 until the full 91st day
      {absl::Hours(24 * 91), "lifecycle/adoption"},       {absl::Hours(24 * 365), "lifecycle/adoption"},
      {absl::Hours(24 * 366), "lifecycle/expansion"},     {absl::Hours(24 * 2000), "lifecycle/expansion"},
      {-absl::Hours(24 * 3), "lifecycle/onboarding"},  // a start in the future is day 0
  };
  for (const auto& [ago, expected] : cases) {
    SetStartDaysAgo(ago);
    EXPECT_EQ(SegmentOf("lifecycle"), expected) << ago;
  }
}

TEST_F(BuiltInSegmentsTest, LifecycleReasonsAndInputs) {
  SetStartDaysAgo(absl::Hours(24 * 91));
  v1::SegmentAssignment a = Assign("lifecycle");
  EXPECT_EQ(a.reason(), "tenure 91 days between 91 and 365");
  EXPECT_THAT(Inputs(a), ElementsAre("account.status=active", "account.tenure_days=91"));

  SetStartDaysAgo(absl::Hours(24 * 90));
  EXPECT_EQ(Assign("lifecycle").reason(), "tenure 90 days <= 90");
  SetStartDaysAgo(absl::Hours(24 * 1500));
  EXPECT_EQ(Assign("lifecycle").reason(), "tenure 1,500 days > 365");
}

TEST_F(BuiltInSegmentsTest, LifecycleByStatus) {
  SetStartDaysAgo(absl::Hours(24 * 500));
  account_.set_status(v1::ACCOUNT_STATUS_TRIAL);
  v1::SegmentAssignment a = Assign("lifecycle");
  EXPECT_EQ(a.segment_id(), "lifecycle/trial");
  EXPECT_EQ(a.reason(), "status trial");
  EXPECT_THAT(Inputs(a), ElementsAre("account.status=trial"));

  account_.set_status(v1::ACCOUNT_STATUS_CHURNED);
  EXPECT_EQ(SegmentOf("lifecycle"), "lifecycle/churned");

  account_.set_status(v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(SegmentOf("lifecycle"), "lifecycle/expansion");

  account_.clear_start_time();
  a = Assign("lifecycle");
  EXPECT_EQ(a.segment_id(), "lifecycle/active");
  EXPECT_THAT(Inputs(a), ElementsAre("account.status=active", "account.tenure_days=unknown"));
}

// --- NPS -------------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, NpsCategoryEdges) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "nps/detractor"}, {6, "nps/detractor"}, {7, "nps/passive"},
      {8, "nps/passive"},   {9, "nps/promoter"},  {10, "nps/promoter"},
  };
  for (const auto& [nps, expected] : cases) {
    scores_.clear_features();
    SetFeature("nps", nps);
    EXPECT_EQ(SegmentOf("nps"), expected) << nps;
  }
}

TEST_F(BuiltInSegmentsTest, NpsReasonsAndTreatments) {
  SetFeature("nps", 6);
  v1::SegmentAssignment a = Assign("nps");
  EXPECT_EQ(a.reason(), "nps 6 <= 6");
  EXPECT_EQ(a.treatment(), "High-priority call within 24 hours.");
  EXPECT_THAT(Inputs(a), ElementsAre("feature.nps=6"));

  scores_.clear_features();
  SetFeature("nps", 7);
  EXPECT_EQ(Assign("nps").reason(), "6 < nps 7 <= 8");

  scores_.clear_features();
  SetFeature("nps", 9);
  a = Assign("nps");
  EXPECT_EQ(a.reason(), "nps 9 > 8");
  EXPECT_EQ(a.treatment(), "Ask for a referral or a case study.");

  scores_.clear_features();
  a = Assign("nps");
  EXPECT_EQ(a.segment_id(), "nps/none");
  EXPECT_THAT(Inputs(a), ElementsAre("feature.nps=unknown"));
}

// --- Advocacy --------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, AdvocacyHighestLevelWins) {
  // Champion, advocate and ambassador at once: ambassador.
  SetFeature("active_days_30d", 20);
  SetFeature("nps", 10);
  SetFeature("referrals_90d", 5);
  (*account_.mutable_labels())["advocacy"] = "Ambassador";
  v1::SegmentAssignment a = Assign("advocacy");
  EXPECT_EQ(a.segment_id(), "advocacy/ambassador");
  EXPECT_EQ(a.reason(), "label advocacy=Ambassador");
  EXPECT_THAT(Inputs(a), ElementsAre("account.label.advocacy=Ambassador"));

  // Another label value does not make an ambassador: advocate.
  (*account_.mutable_labels())["advocacy"] = "fan";
  a = Assign("advocacy");
  EXPECT_EQ(a.segment_id(), "advocacy/advocate");
  EXPECT_EQ(a.reason(), "referrals_90d 5 >= 3");
  EXPECT_THAT(Inputs(a), ElementsAre("account.label.advocacy=fan", "feature.referrals_90d=5"));
}

TEST_F(BuiltInSegmentsTest, AdvocateAtThreeReferrals) {
  SetFeature("referrals_90d", 3);
  EXPECT_EQ(SegmentOf("advocacy"), "advocacy/advocate");
  scores_.clear_features();
  SetFeature("referrals_90d", 2);
  EXPECT_EQ(SegmentOf("advocacy"), "advocacy/none");
}

TEST_F(BuiltInSegmentsTest, ChampionIsActiveAndSatisfied) {
  SetFeature("referrals_90d", 2);
  SetFeature("active_days_30d", 12);
  SetFeature("nps", 9);
  v1::SegmentAssignment a = Assign("advocacy");
  EXPECT_EQ(a.segment_id(), "advocacy/champion");
  EXPECT_EQ(a.reason(), "active_days_30d 12 >= 12, nps 9 >= 9");
  EXPECT_THAT(Inputs(a), ElementsAre("account.label.advocacy=unknown", "feature.referrals_90d=2",
                                     "feature.active_days_30d=12", "feature.nps=9", "feature.csat=unknown"));

  // CSAT satisfies too.
  scores_.clear_features();
  SetFeature("active_days_30d", 12);
  SetFeature("nps", 8);
  SetFeature("csat", 4);
  a = Assign("advocacy");
  EXPECT_EQ(a.segment_id(), "advocacy/champion");
  EXPECT_EQ(a.reason(), "active_days_30d 12 >= 12, csat 4 >= 4");

  // Satisfied but not active enough.
  scores_.clear_features();
  SetFeature("active_days_30d", 11);
  SetFeature("nps", 10);
  a = Assign("advocacy");
  EXPECT_EQ(a.segment_id(), "advocacy/none");
  EXPECT_EQ(a.reason(), "referrals_90d unknown, active_days_30d 11 < 12");

  // Active but not satisfied.
  scores_.clear_features();
  SetFeature("referrals_90d", 0);
  SetFeature("active_days_30d", 25);
  SetFeature("nps", 8);
  SetFeature("csat", 3);
  a = Assign("advocacy");
  EXPECT_EQ(a.segment_id(), "advocacy/none");
  EXPECT_EQ(a.reason(), "referrals_90d 0 < 3, nps 8 < 9 and csat 3 < 4");
}

// --- Loyalty ---------------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, LoyaltyTier) {
  v1::SegmentAssignment a = Assign("loyalty");
  EXPECT_EQ(a.segment_id(), "loyalty/bronze");
  EXPECT_EQ(a.reason(), "no loyalty record");
  EXPECT_THAT(Inputs(a), ElementsAre("loyalty.earned=0"));

  with_loyalty_ = true;
  loyalty_.set_earned(5200);
  loyalty_.set_tier(v1::LOYALTY_TIER_GOLD);
  a = Assign("loyalty");
  EXPECT_EQ(a.segment_id(), "loyalty/gold");
  EXPECT_EQ(a.display_name(), "Gold");
  EXPECT_EQ(a.reason(), "tier gold (5,200 points earned)");
  EXPECT_THAT(Inputs(a), ElementsAre("loyalty.earned=5200"));

  const std::vector<std::pair<v1::LoyaltyTier, std::string>> cases = {
      {v1::LOYALTY_TIER_UNSPECIFIED, "loyalty/bronze"},
      {v1::LOYALTY_TIER_BRONZE, "loyalty/bronze"},
      {v1::LOYALTY_TIER_SILVER, "loyalty/silver"},
      {v1::LOYALTY_TIER_PLATINUM, "loyalty/platinum"},
  };
  for (const auto& [tier, expected] : cases) {
    loyalty_.set_tier(tier);
    EXPECT_EQ(SegmentOf("loyalty"), expected);
  }
}

// --- A whole account -------------------------------------------------------------------------------

TEST_F(BuiltInSegmentsTest, WholeAccount) {
  account_.set_industry("Banking");
  account_.set_size(v1::ACCOUNT_SIZE_ENTERPRISE);
  account_.set_status(v1::ACCOUNT_STATUS_ACTIVE);
  account_.set_mrr(4000);
  SetStartDaysAgo(absl::Hours(24 * 400));
  SetClv("basic", 60000);
  SetClv("with_expansion", 72000);
  SetChurn(0.08);
  scores_.mutable_health()->set_score(88);
  SetFeature("logins_30d", 45);
  SetFeature("feature_share_30d", 0.7);
  SetFeature("active_days_30d", 21);
  SetFeature("nps", 10);
  SetFeature("referrals_90d", 1);
  with_loyalty_ = true;
  loyalty_.set_earned(12000);
  loyalty_.set_tier(v1::LOYALTY_TIER_PLATINUM);
  std::vector<std::string> ids;
  for (const v1::SegmentAssignment& a : AssignAll()) ids.push_back(a.segment_id());
  EXPECT_THAT(ids, ElementsAre("quadrant/high-value-low-risk", "clv-tier/high", "persona/power",
                               "industry/banking", "size/enterprise", "lifecycle/expansion", "nps/promoter",
                               "advocacy/champion", "loyalty/platinum"));
}

}  // namespace
}  // namespace steward::segmentation
