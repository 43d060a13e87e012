// The shared manual clock on both stores: every process on one store reads one time.

#include "common/store/stored_clock.h"

#include <memory>

#include "gtest/gtest.h"
#include "tests/support/test_store.h"

namespace steward {
namespace {

using testing::StoreKind;

const absl::Time kStart = absl::FromUnixSeconds(1767603600);  // 2026-01-05T09:00:00Z

class StoredClockTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  std::unique_ptr<StoredManualClock> Open(absl::Time start) {
    auto clock = StoredManualClock::Open(*store_, start);
    EXPECT_TRUE(clock.ok()) << clock.status();
    return clock.ok() ? *std::move(clock) : nullptr;
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoredClockTest, TheFirstToOpenSetsTheTimeAndLaterOnesJoinIt) {
  auto first = Open(kStart);
  auto second = Open(kStart + absl::Hours(5));  // a later start flag does not reset a running clock
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->Now(), kStart);
  EXPECT_EQ(second->Now(), kStart);
}

TEST_P(StoredClockTest, AMoveByOneIsSeenByAll) {
  auto mover = Open(kStart);
  auto watcher = Open(kStart);
  ASSERT_NE(mover, nullptr);
  ASSERT_NE(watcher, nullptr);
  const absl::Time later = kStart + absl::Hours(24 * 14) + absl::Milliseconds(250);
  ASSERT_TRUE(mover->MoveTo(later).ok());
  EXPECT_EQ(watcher->Now(), later);  // sub-second precision survives the round trip
  // A process that restarts goes on from the stored time, not from its flag.
  auto restarted = Open(kStart);
  ASSERT_NE(restarted, nullptr);
  EXPECT_EQ(restarted->Now(), later);
}

TEST_P(StoredClockTest, AGarbledStoredTimeFailsToOpen) {
  Write garbled;
  garbled.key = std::string(StoredManualClock::kKey);
  garbled.value = "next tuesday";
  ASSERT_TRUE(store_->Put({&garbled, 1}).ok());
  auto clock = StoredManualClock::Open(*store_, kStart);
  ASSERT_FALSE(clock.ok());
  EXPECT_EQ(clock.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(clock.status().message().find("next tuesday"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(BothStores, StoredClockTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

}  // namespace
}  // namespace steward
