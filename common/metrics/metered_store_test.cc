#include "common/metrics/metered_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/store/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MeteredStoreTest, ForwardsAndCountsPerOperation) {
  MemoryStore inner;
  MetricsRegistry registry;
  MeteredStore store(inner, registry);
  Write write;
  write.key = "k";
  write.value = "v";
  auto put = store.Put({&write, 1});
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE((*put)[0]);
  const std::string key = "k";
  auto got = store.Get({&key, 1});
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE((*got)[0].has_value());
  EXPECT_EQ((*got)[0]->value, "v");
  // The inner store saw the write: the decorator forwards, it keeps nothing of its own.
  EXPECT_EQ((*inner.Get({&key, 1}))[0]->value, "v");
  ASSERT_TRUE(store.Get({&key, 1}).ok());

  // An error of the inner store comes back unchanged and is counted by its code.
  auto bad = store.LogRead("log", "not-an-id", 10);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));

  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"get\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"put\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"log_read\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"schedule_claim\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("steward_store_operation_duration_seconds_count{operation=\"get\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("steward_store_errors_total{operation=\"log_read\",code=\"INVALID_ARGUMENT\"} 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("steward_store_errors_total{operation=\"get\"")));
}

TEST(MeteredStoreTest, SchedulesAndIndexesGoThrough) {
  MemoryStore inner;
  MetricsRegistry registry;
  MeteredStore store(inner, registry);
  ScheduledItem item{"m", 100};
  ASSERT_TRUE(store.ScheduleAdd("s", {&item, 1}).ok());
  auto claimed = store.ScheduleClaim("s", 200, 1000, 10);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].member, "m");
  const std::string member = "a";
  ASSERT_TRUE(store.IndexAdd("i", {&member, 1}).ok());
  auto scanned = store.IndexScanAndTrack("i", "", 10);
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(*scanned, std::vector<std::string>{"a"});
  (void)store.TryIndexScanLocal("i", "", 10);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"schedule_claim\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"index_scan_and_track\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"try_index_scan_local\"} 1\n"));
}

TEST(MeteredStoreTest, LogGroupCallsGoThroughAndAreCountedEach) {
  MemoryStore inner;
  MetricsRegistry registry;
  MeteredStore store(inner, registry);
  ASSERT_TRUE(store.LogGroupCreate("log", "g", "").ok());
  Write write;
  write.key = "k";
  write.value = "v";
  write.log_appends.push_back(LogAppend{"log", "entry"});
  ASSERT_TRUE(store.Put({&write, 1}).ok());
  auto read = store.LogGroupRead("log", "g", "c", 10, absl::ZeroDuration());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  auto claimed = store.LogGroupClaim("log", "g", "c2", absl::ZeroDuration(), 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->size(), 1u);
  ASSERT_TRUE(store.LogGroupAck("log", "g", {(*read)[0].id}).ok());
  auto info = store.GetLogGroupInfo("log", "g");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->pending, 0);  // the inner store saw the acknowledgement
  EXPECT_TRUE(absl::IsNotFound(store.GetLogGroupInfo("log", "missing").status()));

  const std::string text = registry.Render();
  for (const char* op : {"log_group_create", "log_group_read", "log_group_claim", "log_group_ack"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("steward_store_operations_total{operation=\"", op, "\"} 1\n")))
        << op;
  }
  EXPECT_THAT(text, HasSubstr("steward_store_operations_total{operation=\"log_group_info\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("steward_store_errors_total{operation=\"log_group_info\",code=\"NOT_FOUND\"} 1\n"));
}

}  // namespace
}  // namespace steward::metrics
