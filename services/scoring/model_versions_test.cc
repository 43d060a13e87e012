#include "services/scoring/model_versions.h"

#include "common/clock.h"
#include "common/store/memory_store.h"
#include "gtest/gtest.h"

namespace steward::scoring {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

v1::FittedModels Fitted(bool accepted) {
  v1::FittedModels models;
  models.set_accepted(accepted);
  v1::BgNbdModel& bg = *models.mutable_bg_nbd();
  bg.set_r(0.243);
  bg.set_alpha(4.414);
  bg.set_a(0.793);
  bg.set_b(2.426);
  bg.mutable_statistics()->set_accepted(accepted);
  return models;
}

// Two replicas on one store: the one that fitted uses the new version at once, the other within one
// refresh interval (one small read), never sooner than its interval says and never an unaccepted one.
TEST(ModelVersionsTest, AnotherReplicaPicksUpANewAcceptedVersionWithinTheRefreshInterval) {
  MemoryStore store;
  FakeClock clock(kNow);
  ModelVersions fitter(store, clock, absl::Seconds(5));
  ModelVersions replica(store, clock, absl::Seconds(5));
  EXPECT_EQ(replica.Active(), nullptr);

  auto first = fitter.Add(Fitted(true));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->version(), 1);
  ASSERT_NE(fitter.Active(), nullptr);
  EXPECT_EQ(fitter.Active()->version(), 1);

  clock.Set(kNow + absl::Seconds(4));
  EXPECT_EQ(replica.Active(), nullptr);  // checked 4 s ago: no read yet
  ASSERT_TRUE(replica.ActiveLocally().has_value());
  clock.Set(kNow + absl::Seconds(5));
  EXPECT_FALSE(replica.ActiveLocally().has_value());  // due for a look
  ASSERT_NE(replica.Active(), nullptr);
  EXPECT_EQ(replica.Active()->version(), 1);
  EXPECT_DOUBLE_EQ(replica.Active()->fitted().bg_nbd().alpha(), 4.414);

  auto rejected = fitter.Add(Fitted(false));
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->version(), 2);
  clock.Set(kNow + absl::Seconds(20));
  EXPECT_EQ(replica.Active()->version(), 1);
  EXPECT_EQ(fitter.Active()->version(), 1);
}

TEST(ModelVersionsTest, KeepsTheNewestHundredVersionsAndPagesThem) {
  MemoryStore store;
  FakeClock clock(kNow);
  ModelVersions versions(store, clock, absl::Seconds(5));
  for (int i = 0; i < 105; ++i) ASSERT_TRUE(versions.Add(Fitted(i % 2 == 0)).ok());
  v1::ListModelVersionsRequest request;
  request.set_page_size(1000);  // clamped to 100
  auto page = versions.List(request);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->versions_size(), 100);
  EXPECT_EQ(page->versions(0).version(), 105);
  EXPECT_EQ(page->versions(99).version(), 6);
  EXPECT_EQ(page->active_version(), 105);
  EXPECT_TRUE(page->next_page_token().empty());
  auto dropped = store.Get({"{predictive-models}:v5", "{predictive-models}:v6"});
  ASSERT_TRUE(dropped.ok());
  EXPECT_FALSE((*dropped)[0].has_value());
  EXPECT_TRUE((*dropped)[1].has_value());

  request.set_page_token("not a token");
  EXPECT_EQ(versions.List(request).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::scoring
