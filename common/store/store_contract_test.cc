// The Store contract, run against every implementation: MemoryStore and RedisStore (on a throwaway
// redis-server, flushed before each test). A behaviour one backend has and the other lacks is a bug
// in one of them, so every contract lives here and nowhere else.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/store/memory_store.h"
#include "common/store/redis_store.h"
#include "common/store/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"

namespace steward {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

enum class Backend { kMemory, kRedis };

MATCHER(IsMissing, "") { return !arg.has_value(); }

MATCHER_P2(IsRecord, value, version, "") {
  return arg.value == std::string(value) && arg.version == static_cast<uint64_t>(version);
}

// Writes, spelled out (designated initializers would trip -Wmissing-field-initializers).
Write Set(std::string key, std::string value) {
  Write write;
  write.key = std::move(key);
  write.value = std::move(value);
  return write;
}
Write SetIf(std::string key, std::string value, uint64_t expected_version,
            std::vector<std::string> also_delete = {}) {
  Write write = Set(std::move(key), std::move(value));
  write.expected_version = expected_version;
  write.also_delete = std::move(also_delete);
  return write;
}

class StoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (GetParam() == Backend::kMemory) {
      store_ = std::make_unique<MemoryStore>();
      return;
    }
    // One server for the whole suite, started on first use; each test gets an empty database.
    if (server_ == nullptr) {
      server_ = new testing::RedisServer();
      server_status_ = server_->Start();
    }
    ASSERT_TRUE(server_status_.ok()) << server_status_;
    RedisOptions options;
    options.port = server_->port();
    absl::StatusOr<std::unique_ptr<RedisStore>> redis = RedisStore::Connect(options);
    ASSERT_TRUE(redis.ok()) << redis.status();
    const absl::Status flushed = (*redis)->FlushDb();
    ASSERT_TRUE(flushed.ok()) << flushed;
    store_ = *std::move(redis);
  }

  // Helpers that fail the test on an error status, to keep the contracts readable.
  std::optional<Record> GetOne(const std::string& key) {
    absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({key});
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || got->size() != 1) return std::nullopt;
    return got->front();
  }
  std::vector<bool> PutAll(const std::vector<Write>& writes) {
    absl::StatusOr<std::vector<bool>> applied = store_->Put(writes);
    EXPECT_TRUE(applied.ok()) << applied.status();
    return applied.ok() ? *applied : std::vector<bool>();
  }
  bool PutOne(Write write) { return PutAll({std::move(write)}) == std::vector<bool>{true}; }
  std::vector<std::string> Scan(const std::string& index, const std::string& start_after, int limit) {
    absl::StatusOr<std::vector<std::string>> members = store_->IndexScan(index, start_after, limit);
    EXPECT_TRUE(members.ok()) << members.status();
    return members.ok() ? *members : std::vector<std::string>();
  }

  static testing::RedisServer* server_;
  static absl::Status server_status_;
  std::unique_ptr<Store> store_;
};

testing::RedisServer* StoreContractTest::server_ = nullptr;
absl::Status StoreContractTest::server_status_;

TEST_P(StoreContractTest, GetOfMissingKeysReturnsNullopt) {
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"nope", "{acct}:nope"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAre(IsMissing(), IsMissing()));

  absl::StatusOr<std::vector<std::optional<Record>>> none = store_->Get({});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractTest, PutThenGetReturnsValueAndVersionGrowingByOne) {
  EXPECT_TRUE(PutOne(Set("{acct}:profile", "v1")));
  EXPECT_THAT(GetOne("{acct}:profile"), Optional(IsRecord("v1", 1)));

  EXPECT_TRUE(PutOne(Set("{acct}:profile", "v2")));
  EXPECT_THAT(GetOne("{acct}:profile"), Optional(IsRecord("v2", 2)));
}

TEST_P(StoreContractTest, GetReturnsOneEntryPerKeyInOrder) {
  ASSERT_TRUE(PutOne(Set("a", "A")));
  ASSERT_TRUE(PutOne(Set("c", "C")));
  ASSERT_TRUE(PutOne(Set("c", "C2")));
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"c", "b", "a", "c"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAre(Optional(IsRecord("C2", 2)), IsMissing(), Optional(IsRecord("A", 1)),
                                Optional(IsRecord("C2", 2))));
}

TEST_P(StoreContractTest, ConditionalWriteAppliesOnlyAtTheExpectedVersion) {
  ASSERT_TRUE(PutOne(Set("k", "v1")));

  EXPECT_TRUE(PutOne(SetIf("k", "v2", 1)));
  EXPECT_THAT(GetOne("k"), Optional(IsRecord("v2", 2)));

  // Someone else wrote in between: the stale writer loses and changes nothing.
  EXPECT_THAT(PutAll({SetIf("k", "stale", 1)}), ElementsAre(false));
  EXPECT_THAT(PutAll({SetIf("k", "future", 7)}), ElementsAre(false));
  EXPECT_THAT(GetOne("k"), Optional(IsRecord("v2", 2)));
}

TEST_P(StoreContractTest, ExpectedVersionZeroIsCreateOnly) {
  EXPECT_TRUE(PutOne(SetIf("k", "first", 0)));
  EXPECT_THAT(GetOne("k"), Optional(IsRecord("first", 1)));

  EXPECT_THAT(PutAll({SetIf("k", "second", 0)}), ElementsAre(false));
  EXPECT_THAT(GetOne("k"), Optional(IsRecord("first", 1)));

  // A write at version 1 to a missing key does not create it either.
  EXPECT_THAT(PutAll({SetIf("absent", "x", 1)}), ElementsAre(false));
  EXPECT_EQ(GetOne("absent"), std::nullopt);
}

TEST_P(StoreContractTest, AlsoDeleteRemovesKeysOnlyWhenTheWriteApplies) {
  ASSERT_TRUE(PutOne(Set("{acct}:state", "s1")));
  ASSERT_TRUE(PutOne(Set("{acct}:pending:1", "p1")));
  ASSERT_TRUE(PutOne(Set("{acct}:pending:2", "p2")));
  ASSERT_TRUE(PutOne(Set("{acct}:keep", "keep")));

  EXPECT_THAT(PutAll({SetIf("{acct}:state", "s2", 5, {"{acct}:pending:1", "{acct}:pending:2"})}),
              ElementsAre(false));
  EXPECT_THAT(GetOne("{acct}:pending:1"), Optional(IsRecord("p1", 1)));
  EXPECT_THAT(GetOne("{acct}:pending:2"), Optional(IsRecord("p2", 1)));

  EXPECT_THAT(PutAll({SetIf("{acct}:state", "s2", 1,
                            {"{acct}:pending:1", "{acct}:pending:2", "{acct}:never-existed"})}),
              ElementsAre(true));
  EXPECT_THAT(GetOne("{acct}:state"), Optional(IsRecord("s2", 2)));
  EXPECT_EQ(GetOne("{acct}:pending:1"), std::nullopt);
  EXPECT_EQ(GetOne("{acct}:pending:2"), std::nullopt);
  EXPECT_THAT(GetOne("{acct}:keep"), Optional(IsRecord("keep", 1)));
}

TEST_P(StoreContractTest, GuardsMakeAWriteDependOnOtherKeysVersions) {
  ASSERT_TRUE(PutOne(Set("{acct}:source", "v1")));  // version 1
  Write derived = Set("{acct}:derived", "from v1");
  derived.guards = {Guard{"{acct}:source", 1}};
  EXPECT_THAT(PutAll({derived}), ElementsAre(true));
  EXPECT_THAT(GetOne("{acct}:derived"), Optional(IsRecord("from v1", 1)));

  // The source moved on: a value derived from its old version is not written.
  ASSERT_TRUE(PutOne(Set("{acct}:source", "v2")));
  Write stale = Set("{acct}:derived", "from v1 again");
  stale.guards = {Guard{"{acct}:source", 1}};
  EXPECT_THAT(PutAll({stale}), ElementsAre(false));
  EXPECT_THAT(GetOne("{acct}:derived"), Optional(IsRecord("from v1", 1)));

  // Every guard must hold; version 0 means "absent".
  Write both = Set("{acct}:derived", "from v2");
  both.guards = {Guard{"{acct}:source", 2}, Guard{"{acct}:missing", 0}};
  EXPECT_THAT(PutAll({both}), ElementsAre(true));
  both.guards = {Guard{"{acct}:source", 2}, Guard{"{acct}:missing", 1}};
  EXPECT_THAT(PutAll({both}), ElementsAre(false));
  EXPECT_THAT(GetOne("{acct}:derived"), Optional(IsRecord("from v2", 2)));
}

TEST_P(StoreContractTest, AlsoWritesAndAppendsRideOnTheirWriteAndOnlyWhenItHappens) {
  Write first = SetIf("{acct}:live", "l1", 0);
  first.also_write = {AlsoWrite{"{acct}:history", "h1"}};
  first.appends = {Append{"{acct}:log", std::string("ab\0", 3), false}};
  EXPECT_THAT(PutAll({first}), ElementsAre(true));
  EXPECT_THAT(GetOne("{acct}:history"), Optional(IsRecord("h1", 1)));
  EXPECT_THAT(GetOne("{acct}:log"), Optional(IsRecord(std::string("ab\0", 3), 1)));  // created

  Write second = SetIf("{acct}:live", "l2", 1);
  second.also_write = {AlsoWrite{"{acct}:history", "h2"}};
  second.appends = {Append{"{acct}:log", "cd", false}};
  EXPECT_THAT(PutAll({second}), ElementsAre(true));
  EXPECT_THAT(GetOne("{acct}:history"), Optional(IsRecord("h2", 2)));
  EXPECT_THAT(GetOne("{acct}:log"), Optional(IsRecord(std::string("ab\0cd", 5), 1)));  // appended

  Write lost = SetIf("{acct}:live", "l3", 1);  // stale version: nothing of it happens
  lost.also_write = {AlsoWrite{"{acct}:history", "lost"}};
  lost.appends = {Append{"{acct}:log", "zz", false}};
  EXPECT_THAT(PutAll({lost}), ElementsAre(false));
  EXPECT_THAT(GetOne("{acct}:history"), Optional(IsRecord("h2", 2)));
  EXPECT_THAT(GetOne("{acct}:log"), Optional(IsRecord(std::string("ab\0cd", 5), 1)));

  Write compact = SetIf("{acct}:live", "l3", 2);
  compact.appends = {Append{"{acct}:log", "cd", true}};
  EXPECT_THAT(PutAll({compact}), ElementsAre(true));
  EXPECT_THAT(GetOne("{acct}:log"), Optional(IsRecord("cd", 1)));  // replaced
  EXPECT_THAT(GetOne("{acct}:live"), Optional(IsRecord("l3", 3)));
}

TEST_P(StoreContractTest, BinaryAndLargeValuesRoundTrip) {
  const std::string binary("\0\x01\xff\r\n{}\0tail\0", 13);
  ASSERT_EQ(binary.size(), 13u);
  std::string large(1 << 20, '\0');
  std::mt19937 random(20261123);  // fixed seed: the same bytes every run
  for (char& c : large) c = static_cast<char>(random() & 0xff);
  const std::string binary_key("{acct}:\0\xfe key", 12);

  EXPECT_THAT(PutAll({Set("bin", binary), Set("large", large), Set("empty", ""), Set(binary_key, "k")}),
              ElementsAre(true, true, true, true));
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"bin", "large", "empty", binary_key});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 4u);
  EXPECT_THAT((*got)[0], Optional(IsRecord(binary, 1)));
  ASSERT_TRUE((*got)[1].has_value());
  EXPECT_EQ((*got)[1]->value.size(), large.size());
  EXPECT_TRUE((*got)[1]->value == large) << "1 MiB value came back different";
  EXPECT_THAT((*got)[2], Optional(IsRecord("", 1)));
  EXPECT_THAT((*got)[3], Optional(IsRecord("k", 1)));
}

TEST_P(StoreContractTest, PutOfManyWritesReportsEachOutcome) {
  std::vector<Write> setup;
  for (int i = 0; i < 6; ++i) setup.push_back(Set(absl::StrCat("k", i), "old"));
  ASSERT_THAT(PutAll(setup), ElementsAre(true, true, true, true, true, true));

  EXPECT_THAT(PutAll({
                  SetIf("k0", "new", 1),                                   // right version
                  SetIf("k1", "new", 2),                                   // wrong version
                  Set("k2", "new"),                                        // unconditional
                  SetIf("k3", "new", 0),                                   // exists already
                  SetIf("k9", "new", 0),                                   // create
                  SetIf("k4", "new", 1, {"k5"}), SetIf("k4", "newer", 2),  // sees the write before it
              }),
              ElementsAre(true, false, true, false, true, true, true));
  absl::StatusOr<std::vector<std::optional<Record>>> got =
      store_->Get({"k0", "k1", "k2", "k3", "k9", "k4", "k5"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAre(Optional(IsRecord("new", 2)), Optional(IsRecord("old", 1)),
                                Optional(IsRecord("new", 2)), Optional(IsRecord("old", 1)),
                                Optional(IsRecord("new", 1)), Optional(IsRecord("newer", 3)), IsMissing()));

  absl::StatusOr<std::vector<bool>> none = store_->Put({});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractTest, DeleteRemovesKeysAndIgnoresMissingOnes) {
  ASSERT_TRUE(PutOne(Set("a", "A")));
  ASSERT_TRUE(PutOne(Set("b", "B")));

  const absl::Status deleted = store_->Delete({"a", "missing"});
  ASSERT_TRUE(deleted.ok()) << deleted;
  EXPECT_EQ(GetOne("a"), std::nullopt);
  EXPECT_THAT(GetOne("b"), Optional(IsRecord("B", 1)));
  const absl::Status nothing = store_->Delete({});
  EXPECT_TRUE(nothing.ok()) << nothing;

  // A deleted key starts over: created again at version 1.
  EXPECT_TRUE(PutOne(SetIf("a", "A2", 0)));
  EXPECT_THAT(GetOne("a"), Optional(IsRecord("A2", 1)));
}

TEST_P(StoreContractTest, IndexAddIsIdempotentAndScanPagesInByteOrder) {
  const std::string nul_member("a\0b", 3);
  absl::Status added = store_->IndexAdd("{acct}:idx", {"b", "a", "c", "B", "\xff", nul_member});
  ASSERT_TRUE(added.ok()) << added;
  added = store_->IndexAdd("{acct}:idx", {"a", "d", "a"});
  ASSERT_TRUE(added.ok()) << added;
  added = store_->IndexAdd("{acct}:idx", {});
  ASSERT_TRUE(added.ok()) << added;

  // Unsigned byte order: 'B' < 'a' < "a\0b" < 'b' < ... < '\xff'.
  const std::vector<std::string> expected = {"B", "a", nul_member, "b", "c", "d", "\xff"};
  EXPECT_EQ(Scan("{acct}:idx", "", 100), expected);

  std::vector<std::string> paged;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::vector<std::string> members = Scan("{acct}:idx", cursor, 3);
    ASSERT_LE(members.size(), 3u);
    if (members.empty()) break;
    paged.insert(paged.end(), members.begin(), members.end());
    cursor = members.back();
  }
  EXPECT_EQ(paged, expected);

  EXPECT_THAT(Scan("{acct}:idx", "a", 2), ElementsAre(nul_member, "b"));
  EXPECT_THAT(Scan("{acct}:idx", "bb", 2), ElementsAre("c", "d"));  // start_after need not be a member
  EXPECT_THAT(Scan("{acct}:idx", "\xff", 5), ElementsAre());
  EXPECT_THAT(Scan("{acct}:idx", "", 0), ElementsAre());
  EXPECT_THAT(Scan("{acct}:missing", "", 10), ElementsAre());
}

TEST_P(StoreContractTest, IndexRemoveDropsMembersAndIgnoresMissingOnes) {
  ASSERT_TRUE(store_->IndexAdd("idx", {"a", "b", "c"}).ok());
  absl::Status removed = store_->IndexRemove("idx", {"b", "zz"});
  ASSERT_TRUE(removed.ok()) << removed;
  EXPECT_THAT(Scan("idx", "", 10), ElementsAre("a", "c"));
  ASSERT_TRUE(store_->IndexRemove("idx", {"a", "c"}).ok());
  EXPECT_THAT(Scan("idx", "", 10), ElementsAre());
  ASSERT_TRUE(store_->IndexRemove("missing", {"a"}).ok());
  ASSERT_TRUE(store_->IndexRemove("idx", {}).ok());
  // An emptied index takes members again.
  ASSERT_TRUE(store_->IndexAdd("idx", {"d"}).ok());
  EXPECT_THAT(Scan("idx", "", 10), ElementsAre("d"));
}

Write PlainWrite(const std::string& key, const std::string& value) {
  Write write;
  write.key = key;
  write.value = value;
  return write;
}

LogAppend Entry(const std::string& log, const std::string& bytes, int64_t max_entries = 1'000'000) {
  LogAppend entry;
  entry.log = log;
  entry.bytes = bytes;
  entry.max_entries = max_entries;
  return entry;
}

std::vector<std::string> Bytes(const std::vector<LogEntry>& entries) {
  std::vector<std::string> out;
  for (const LogEntry& entry : entries) out.push_back(entry.bytes);
  return out;
}

TEST_P(StoreContractTest, LogEntriesRideOnTheirWriteAndReadBackInOrderAfterACursor) {
  const std::string binary("x\0\xff", 3);
  Write first = PlainWrite("k", "v1");
  first.log_appends = {Entry("feed", "one"), Entry("feed", binary)};
  ASSERT_TRUE(PutOne(first));
  // A write that does not happen adds nothing.
  Write refused = PlainWrite("k", "v");
  refused.expected_version = 7;
  refused.log_appends = {Entry("feed", "lost")};
  EXPECT_THAT(PutAll({refused}), ElementsAre(false));
  Write second = PlainWrite("other", "v");
  second.log_appends = {Entry("feed", "three"), Entry("feed2", "elsewhere")};
  ASSERT_TRUE(PutOne(second));

  absl::StatusOr<std::vector<LogEntry>> all = store_->LogRead("feed", "", 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Bytes(*all), ElementsAre("one", binary, "three"));
  for (const LogEntry& entry : *all) EXPECT_TRUE(IsLogEntryId(entry.id)) << entry.id;

  // Paging from each id in turn visits every entry once, in order.
  absl::StatusOr<std::vector<LogEntry>> page = store_->LogRead("feed", "", 2);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Bytes(*page), ElementsAre("one", binary));
  page = store_->LogRead("feed", page->back().id, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Bytes(*page), ElementsAre("three"));
  page = store_->LogRead("feed", page->back().id, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(*page, ::testing::IsEmpty());

  absl::StatusOr<std::vector<LogEntry>> other = store_->LogRead("feed2", "", 10);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_THAT(Bytes(*other), ElementsAre("elsewhere"));
  absl::StatusOr<std::vector<LogEntry>> missing = store_->LogRead("nothing", "", 10);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_THAT(*missing, ::testing::IsEmpty());
  absl::StatusOr<std::vector<LogEntry>> none = store_->LogRead("feed", "", 0);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, ::testing::IsEmpty());
  // An id never written still positions the read: "0-0" is before everything.
  absl::StatusOr<std::vector<LogEntry>> from_zero = store_->LogRead("feed", "0-0", 1);
  ASSERT_TRUE(from_zero.ok()) << from_zero.status();
  EXPECT_THAT(Bytes(*from_zero), ElementsAre("one"));

  for (const char* bad : {"x", "1-", "-1", "1-2-3", "1 -2", "123456789012345678901-0"}) {
    EXPECT_EQ(store_->LogRead("feed", bad, 10).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST_P(StoreContractTest, LogsKeepAboutTheirNewestEntries) {
  for (int i = 0; i < 500; ++i) {
    Write write = PlainWrite("k", "v");
    write.log_appends = {Entry("feed", absl::StrCat(i), 10)};
    ASSERT_TRUE(PutOne(write));
  }
  absl::StatusOr<std::vector<LogEntry>> kept = store_->LogRead("feed", "", 1000);
  ASSERT_TRUE(kept.ok()) << kept.status();
  // Redis trims whole blocks of entries (about 100 by default), so "about" allows that much.
  EXPECT_GE(kept->size(), 10u);
  EXPECT_LE(kept->size(), 10u + 200u);
  ASSERT_FALSE(kept->empty());
  EXPECT_EQ(kept->back().bytes, "499");
}

TEST_P(StoreContractTest, ConcurrentConditionalIncrementsLoseNothing) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 200;
  constexpr int kMaxAttempts = 100'000;  // a broken store must fail the test, not hang it
  const std::string key = "{acct}:counter";

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      int attempts = 0;
      for (int i = 0; i < kIncrements; ++i) {
        while (true) {
          if (++attempts > kMaxAttempts) {
            ADD_FAILURE() << "too many conflicting attempts";
            return;
          }
          absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({key});
          if (!got.ok()) {
            ADD_FAILURE() << got.status();
            return;
          }
          int64_t count = 0;
          uint64_t version = 0;
          if (const std::optional<Record>& record = got->front(); record.has_value()) {
            if (!absl::SimpleAtoi(record->value, &count)) {
              ADD_FAILURE() << "not a number: " << record->value;
              return;
            }
            version = record->version;
          }
          absl::StatusOr<std::vector<bool>> applied =
              store_->Put({SetIf(key, absl::StrCat(count + 1), version)});
          if (!applied.ok()) {
            ADD_FAILURE() << applied.status();
            return;
          }
          if (applied->front()) break;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_THAT(GetOne(key), Optional(IsRecord(absl::StrCat(kThreads * kIncrements), kThreads * kIncrements)));
}

// Local answers (TryGetLocal) must never be stale for writes through the same store, and the
// tracked read must hold what it read. A single GetAndTrack may decline to hold its result when an
// unrelated invalidation crossed it (e.g. Redis's notice of the FLUSHDB in SetUp), so "it is held"
// is checked over a bounded number of attempts.
std::optional<std::vector<Record>> TrackUntilHeld(Store& store, const std::vector<std::string>& keys) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    absl::StatusOr<std::vector<std::optional<Record>>> got = store.GetAndTrack(keys);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return std::nullopt;
    std::optional<std::vector<Record>> local = store.TryGetLocal(keys);
    if (local.has_value()) {
      EXPECT_EQ(local->size(), got->size());
      for (size_t i = 0; i < local->size() && i < got->size(); ++i) {
        EXPECT_TRUE((*got)[i].has_value()) << keys[i] << " is held locally but absent";
        if ((*got)[i].has_value()) {
          EXPECT_THAT((*local)[i], IsRecord((*got)[i]->value, (*got)[i]->version));
        }
      }
      return local;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::nullopt;
}

TEST_P(StoreContractTest, TrackedReadsAreAnsweredLocallyAndWritesHereDropThemAtOnce) {
  ASSERT_TRUE(PutOne(Set("{acct}:scores", "v1")));
  // Never tracked: nothing, or the current value; never an older one.
  if (std::optional<std::vector<Record>> local = store_->TryGetLocal({"{acct}:scores"}); local.has_value()) {
    EXPECT_THAT(*local, ElementsAre(IsRecord("v1", 1)));
  }

  absl::StatusOr<std::vector<std::optional<Record>>> got =
      store_->GetAndTrack({"{acct}:scores", "{acct}:nope"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, ElementsAre(Optional(IsRecord("v1", 1)), IsMissing()));

  std::optional<std::vector<Record>> held = TrackUntilHeld(*store_, {"{acct}:scores"});
  ASSERT_TRUE(held.has_value()) << "a tracked record is never answered locally";
  EXPECT_THAT(*held, ElementsAre(IsRecord("v1", 1)));
  // A missing key is never held, so a lookup including one has no local answer.
  EXPECT_EQ(store_->TryGetLocal({"{acct}:nope"}), std::nullopt);
  EXPECT_EQ(store_->TryGetLocal({"{acct}:scores", "{acct}:nope"}), std::nullopt);
  absl::StatusOr<std::vector<std::optional<Record>>> missing = store_->GetAndTrack({"{acct}:nope"});
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_THAT(*missing, ElementsAre(IsMissing()));
  EXPECT_EQ(store_->TryGetLocal({"{acct}:nope"}), std::nullopt);
  std::optional<std::vector<Record>> none = store_->TryGetLocal({});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());

  // A write through this store: at once nothing, or the new value.
  ASSERT_TRUE(PutOne(Set("{acct}:scores", "v2")));
  if (std::optional<std::vector<Record>> local = store_->TryGetLocal({"{acct}:scores"}); local.has_value()) {
    EXPECT_THAT(*local, ElementsAre(IsRecord("v2", 2)));
  }
  held = TrackUntilHeld(*store_, {"{acct}:scores"});
  ASSERT_TRUE(held.has_value());
  EXPECT_THAT(*held, ElementsAre(IsRecord("v2", 2)));

  // A delete, and a delete as part of another write (also_delete).
  ASSERT_TRUE(store_->Delete({"{acct}:scores"}).ok());
  EXPECT_EQ(store_->TryGetLocal({"{acct}:scores"}), std::nullopt);
  ASSERT_TRUE(PutOne(Set("{acct}:pending", "p")));
  ASSERT_TRUE(TrackUntilHeld(*store_, {"{acct}:pending"}).has_value());
  ASSERT_TRUE(PutOne(SetIf("{acct}:state", "s", 0, {"{acct}:pending"})));
  EXPECT_EQ(store_->TryGetLocal({"{acct}:pending"}), std::nullopt);
}

TEST_P(StoreContractTest, LocalAnswersAreNeverOlderThanACompletedWriteUnderConcurrentTrackedReads) {
  const std::string key = "{acct}:hot";
  ASSERT_TRUE(PutOne(Set(key, "0")));
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        absl::StatusOr<std::vector<std::optional<Record>>> got = store_->GetAndTrack({key});
        if (!got.ok()) {
          ADD_FAILURE() << got.status();
          return;
        }
      }
    });
  }
  for (uint64_t version = 2; version <= 300; ++version) {
    ASSERT_TRUE(PutOne(Set(key, absl::StrCat(version))));
    // The write is done: whatever this store answers locally from now on is at least this new.
    for (int probe = 0; probe < 3; ++probe) {
      std::optional<std::vector<Record>> local = store_->TryGetLocal({key});
      if (local.has_value()) {
        ASSERT_EQ(local->size(), 1u);
        EXPECT_GE(local->front().version, version) << "stale local answer after a completed write";
      }
    }
  }
  done.store(true);
  for (std::thread& reader : readers) reader.join();
}

// Tracks `index`'s page until it is answered locally (a backend may decline a round or two).
std::optional<std::vector<std::string>> TrackPageUntilHeld(Store& store, const std::string& index,
                                                           const std::string& start_after, int limit) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    absl::StatusOr<std::vector<std::string>> got = store.IndexScanAndTrack(index, start_after, limit);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return std::nullopt;
    std::optional<std::vector<std::string>> local = store.TryIndexScanLocal(index, start_after, limit);
    if (local.has_value()) {
      EXPECT_EQ(*local, *got);
      return local;
    }
  }
  return std::nullopt;
}

TEST_P(StoreContractTest, TrackedIndexPagesAreAnsweredLocallyAndChangesHereDropThemAtOnce) {
  ASSERT_TRUE(store_->IndexAdd("members:x", {"a", "b", "c"}).ok());
  absl::StatusOr<std::vector<std::string>> scanned = store_->IndexScanAndTrack("members:x", "a", 10);
  ASSERT_TRUE(scanned.ok()) << scanned.status();
  EXPECT_THAT(*scanned, ElementsAre("b", "c"));
  std::optional<std::vector<std::string>> held = TrackPageUntilHeld(*store_, "members:x", "", 2);
  ASSERT_TRUE(held.has_value()) << "a tracked page is never answered locally";
  EXPECT_THAT(*held, ElementsAre("a", "b"));
  // Another page of the same index is its own entry: nothing, or the right page.
  if (auto other = store_->TryIndexScanLocal("members:x", "b", 2); other.has_value()) {
    EXPECT_THAT(*other, ElementsAre("c"));
  }

  // A change through this store: at once nothing, or the new page.
  ASSERT_TRUE(store_->IndexAdd("members:x", {"0"}).ok());
  if (auto local = store_->TryIndexScanLocal("members:x", "", 2); local.has_value()) {
    EXPECT_THAT(*local, ElementsAre("0", "a"));
  }
  held = TrackPageUntilHeld(*store_, "members:x", "", 2);
  ASSERT_TRUE(held.has_value());
  EXPECT_THAT(*held, ElementsAre("0", "a"));
  ASSERT_TRUE(store_->IndexRemove("members:x", {"0", "a"}).ok());
  if (auto local = store_->TryIndexScanLocal("members:x", "", 2); local.has_value()) {
    EXPECT_THAT(*local, ElementsAre("b", "c"));
  }
  // An empty index has an empty page, held like any other.
  held = TrackPageUntilHeld(*store_, "members:none", "", 5);
  ASSERT_TRUE(held.has_value());
  EXPECT_THAT(*held, ElementsAre());
  ASSERT_TRUE(store_->IndexAdd("members:none", {"z"}).ok());
  if (auto local = store_->TryIndexScanLocal("members:none", "", 5); local.has_value()) {
    EXPECT_THAT(*local, ElementsAre("z"));
  }
}

std::vector<std::string> Members(const std::vector<ScheduledItem>& items) {
  std::vector<std::string> out;
  for (const ScheduledItem& item : items) out.push_back(item.member);
  return out;
}

TEST_P(StoreContractTest, SchedulesHandOutDueMembersEarliestFirstUnderALease) {
  const int64_t t0 = 1'795'000'000'000;  // ms since the epoch, late 2026
  absl::Status added =
      store_->ScheduleAdd("due", {ScheduledItem{"c", t0 + 300}, ScheduledItem{"a", t0 + 100},
                                  ScheduledItem{"b", t0 + 200}, ScheduledItem{"later", t0 + 10'000}});
  ASSERT_TRUE(added.ok()) << added;

  auto claimed = store_->ScheduleClaim("due", t0 + 250, /*lease_ms=*/1'000, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Members(*claimed), ElementsAre("a", "b"));
  EXPECT_EQ((*claimed)[0].due_ms, t0 + 100);
  EXPECT_EQ((*claimed)[1].due_ms, t0 + 200);
  // Leased: nobody else gets them until the lease ends; "c" has come due meanwhile.
  claimed = store_->ScheduleClaim("due", t0 + 400, 1'000, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Members(*claimed), ElementsAre("c"));
  // Finished work goes; unfinished work comes back when its lease runs out.
  ASSERT_TRUE(store_->ScheduleRemove("due", {"a", "c", "missing"}).ok());
  claimed = store_->ScheduleClaim("due", t0 + 1'250, 1'000, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_THAT(Members(*claimed), ElementsAre("b"));
  EXPECT_EQ((*claimed)[0].due_ms, t0 + 1'250);  // the lease end it was claimed under
  // Adding again moves a member; the limit bounds a claim.
  ASSERT_TRUE(store_->ScheduleAdd("due", {ScheduledItem{"later", t0}}).ok());
  ASSERT_TRUE(store_->ScheduleAdd("due", {ScheduledItem{"x", t0}, ScheduledItem{"y", t0 + 1}}).ok());
  claimed = store_->ScheduleClaim("due", t0 + 5'000, 1'000, 2);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Members(*claimed), ElementsAre("later", "x"));
  auto none = store_->ScheduleClaim("nothing", t0, 1'000, 10);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, ::testing::IsEmpty());
}

TEST_P(StoreContractTest, AWriteMovesScheduleMembersOnlyIfItHappens) {
  const int64_t t0 = 1'795'000'000'000;
  ASSERT_TRUE(store_->ScheduleAdd("steps", {ScheduledItem{"gone", t0}, ScheduledItem{"stays", t0 + 5}}).ok());
  auto earliest = store_->ScheduleEarliest("steps");
  ASSERT_TRUE(earliest.ok()) << earliest.status();
  EXPECT_EQ(*earliest, std::optional<int64_t>(t0));

  Write write;
  write.key = "{e}:record";
  write.value = "v1";
  write.expected_version = 0;
  write.schedule_changes = {ScheduleChange{"steps", "moved", t0 + 1}, ScheduleChange{"steps", "gone", {}}};
  auto applied = store_->Put({&write, 1});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(*applied, ElementsAre(true));
  // A write that does not happen (stale version) changes no schedule.
  write.schedule_changes = {ScheduleChange{"steps", "never", t0 - 100}, ScheduleChange{"steps", "stays", {}}};
  applied = store_->Put({&write, 1});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_THAT(*applied, ElementsAre(false));

  auto claimed = store_->ScheduleClaim("steps", t0 + 10, 1'000, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Members(*claimed), ElementsAre("moved", "stays"));
  earliest = store_->ScheduleEarliest("steps");
  ASSERT_TRUE(earliest.ok()) << earliest.status();
  EXPECT_EQ(*earliest, std::optional<int64_t>(t0 + 10 + 1'000));  // the lease's end
  earliest = store_->ScheduleEarliest("empty");
  ASSERT_TRUE(earliest.ok()) << earliest.status();
  EXPECT_EQ(*earliest, std::nullopt);
}

TEST_P(StoreContractTest, LogLastIdIsACursorForWhatComesNext) {
  auto none = store_->LogLastId("feed-x");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, "");
  for (int i = 0; i < 3; ++i) {
    Write write;
    write.key = absl::StrCat("{a}:k", i);
    write.value = "v";
    write.log_appends.push_back(LogAppend{"feed-x", absl::StrCat("entry-", i)});
    ASSERT_TRUE(store_->Put({&write, 1}).ok());
  }
  auto last = store_->LogLastId("feed-x");
  ASSERT_TRUE(last.ok()) << last.status();
  auto all = store_->LogRead("feed-x", "", 10);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(*last, all->back().id);
  Write write;
  write.key = "{a}:k9";
  write.value = "v";
  write.log_appends.push_back(LogAppend{"feed-x", "entry-next"});
  ASSERT_TRUE(store_->Put({&write, 1}).ok());
  auto next = store_->LogRead("feed-x", *last, 10);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].bytes, "entry-next");
}

// Runs `workers` threads, each calling take(its number) until that returns nothing, and returns all
// they took.
std::vector<std::string> TakeConcurrently(int workers, const std::function<std::vector<std::string>(int)>& take) {
  std::vector<std::vector<std::string>> got(workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      for (std::vector<std::string> taken = take(w); !taken.empty(); taken = take(w)) {
        got[w].insert(got[w].end(), taken.begin(), taken.end());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<std::string> all;
  for (const auto& g : got) all.insert(all.end(), g.begin(), g.end());
  return all;
}

TEST_P(StoreContractTest, ConcurrentClaimersNeverGetTheSameMember) {
  const int64_t t0 = 1'795'000'000'000;
  std::vector<ScheduledItem> items;
  for (int i = 0; i < 300; ++i) items.push_back(ScheduledItem{absl::StrCat("m", i), t0 + i});
  ASSERT_TRUE(store_->ScheduleAdd("work", items).ok());
  const std::vector<std::string> got = TakeConcurrently(4, [&](int) {
    std::vector<std::string> members;
    auto claimed = store_->ScheduleClaim("work", t0 + 1'000, 60'000, 7);
    if (claimed.ok()) {
      for (const ScheduledItem& item : *claimed) members.push_back(item.member);
    }
    return members;
  });
  EXPECT_EQ(got.size(), 300u);  // each exactly once
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 300u);
}

// Consumer groups on logs.

// Appends each of `bytes` to `log`, one write each, and returns their ids.
std::vector<std::string> AppendAll(Store& store, const std::string& log, const std::vector<std::string>& bytes,
                                   int64_t max_entries = 1'000'000) {
  std::vector<std::string> ids;
  for (const std::string& b : bytes) {
    Write write = PlainWrite("{w}:k", "v");
    write.log_appends = {Entry(log, b, max_entries)};
    absl::StatusOr<std::vector<bool>> applied = store.Put({&write, 1});
    EXPECT_TRUE(applied.ok()) << applied.status();
  }
  absl::StatusOr<std::vector<LogEntry>> all = store.LogRead(log, "", 1'000'000);
  EXPECT_TRUE(all.ok()) << all.status();
  if (all.ok()) {
    for (const LogEntry& entry : *all) ids.push_back(entry.id);
  }
  return ids;
}

std::vector<std::string> Ids(const std::vector<LogEntry>& entries) {
  std::vector<std::string> out;
  for (const LogEntry& entry : entries) out.push_back(entry.id);
  return out;
}

// The group's info; a failure fails the test (and gives an info that matches nothing real).
LogGroupInfo InfoOf(Store& store, const std::string& log, const std::string& group) {
  absl::StatusOr<LogGroupInfo> info = store.GetLogGroupInfo(log, group);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? *info : LogGroupInfo{-1, -2, "failed"};
}

std::vector<std::string> Numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(absl::StrCat(prefix, i));
  return out;
}

TEST_P(StoreContractTest, LogGroupCreateMakesTheLogAndIsIdempotent) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  // The log exists now, empty.
  absl::StatusOr<std::string> last = store_->LogLastId("feed");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, "");
  LogGroupInfo info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 0);
  EXPECT_EQ(info.lag, 0);
  EXPECT_EQ(info.last_delivered_id, "0-0");

  const std::vector<std::string> ids = AppendAll(*store_, "feed", {"a", "b"});
  auto read = store_->LogGroupRead("feed", "g", "c1", 1, absl::ZeroDuration());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(Bytes(*read), ElementsAre("a"));
  // Creating it again, from anywhere, leaves it as it is.
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", ids[1]).ok());
  info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 1);
  EXPECT_EQ(info.lag, 1);
  EXPECT_EQ(info.last_delivered_id, ids[0]);
  read = store_->LogGroupRead("feed", "g", "c1", 10, absl::ZeroDuration());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(Bytes(*read), ElementsAre("b"));
}

TEST_P(StoreContractTest, ConsumersOfAGroupShareItsEntriesAndEachGroupGetsThemAll) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "a", "").ok());
  ASSERT_TRUE(store_->LogGroupCreate("feed", "b", "").ok());
  const std::vector<std::string> ids = AppendAll(*store_, "feed", Numbered("e", 6));
  ASSERT_EQ(ids.size(), 6u);

  auto first = store_->LogGroupRead("feed", "a", "c1", 4, absl::ZeroDuration());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = store_->LogGroupRead("feed", "a", "c2", 10, absl::ZeroDuration());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Bytes(*first), ElementsAre("e0", "e1", "e2", "e3"));
  EXPECT_THAT(Bytes(*second), ElementsAre("e4", "e5"));
  std::vector<std::string> together = Ids(*first);
  for (const std::string& id : Ids(*second)) together.push_back(id);
  EXPECT_EQ(together, ids);
  auto none = store_->LogGroupRead("feed", "a", "c1", 10, absl::ZeroDuration());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, ::testing::IsEmpty());

  // Group b has seen nothing of what group a read.
  auto all = store_->LogGroupRead("feed", "b", "c1", 100, absl::ZeroDuration());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Ids(*all), ids);
  EXPECT_THAT(Bytes(*all), ElementsAre("e0", "e1", "e2", "e3", "e4", "e5"));
}

TEST_P(StoreContractTest, ConcurrentConsumersOfAGroupGetEachEntryOnce) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  const std::vector<std::string> ids = AppendAll(*store_, "feed", Numbered("e", 200));
  const std::vector<std::string> got = TakeConcurrently(3, [&](int consumer) {
    auto read = store_->LogGroupRead("feed", "g", absl::StrCat("c", consumer), 7, absl::ZeroDuration());
    return read.ok() ? Ids(*read) : std::vector<std::string>();
  });
  EXPECT_EQ(got.size(), 200u);  // each exactly once
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), std::set<std::string>(ids.begin(), ids.end()));
}

TEST_P(StoreContractTest, UnacknowledgedEntriesAreClaimedByAnotherConsumerOnceIdleLongEnough) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  const std::vector<std::string> ids = AppendAll(*store_, "feed", {"a", "b", "c"});
  auto read = store_->LogGroupRead("feed", "g", "dead", 10, absl::ZeroDuration());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  ASSERT_TRUE(store_->LogGroupAck("feed", "g", {ids[0]}).ok());

  // Not idle for an hour yet.
  auto early = store_->LogGroupClaim("feed", "g", "c2", absl::Hours(1), 10);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_THAT(*early, ::testing::IsEmpty());

  auto one = store_->LogGroupClaim("feed", "g", "c2", absl::ZeroDuration(), 1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(Bytes(*one), ElementsAre("b"));
  auto claimed = store_->LogGroupClaim("feed", "g", "c3", absl::ZeroDuration(), 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Bytes(*claimed), ElementsAre("b", "c"));
  EXPECT_EQ(Ids(*claimed), (std::vector<std::string>{ids[1], ids[2]}));
  // A claim is a fresh delivery: not idle for an hour either.
  auto again = store_->LogGroupClaim("feed", "g", "c2", absl::Hours(1), 10);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, ::testing::IsEmpty());
  // Claiming neither acknowledges nor delivers anything new.
  LogGroupInfo info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 2);
  EXPECT_EQ(info.lag, 0);

  ASSERT_TRUE(store_->LogGroupAck("feed", "g", {ids[1], ids[2], ids[0], "123-0"}).ok());
  auto after_ack = store_->LogGroupClaim("feed", "g", "c2", absl::ZeroDuration(), 10);
  ASSERT_TRUE(after_ack.ok()) << after_ack.status();
  EXPECT_THAT(*after_ack, ::testing::IsEmpty());
}

TEST_P(StoreContractTest, AckLeavesPendingAndLagCountsWhatWasNotDelivered) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  const std::vector<std::string> ids = AppendAll(*store_, "feed", Numbered("e", 5));
  LogGroupInfo info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 0);
  EXPECT_EQ(info.lag, 5);

  auto read = store_->LogGroupRead("feed", "g", "c1", 2, absl::ZeroDuration());
  ASSERT_TRUE(read.ok()) << read.status();
  info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 2);
  EXPECT_EQ(info.lag, 3);
  EXPECT_EQ(info.last_delivered_id, ids[1]);

  ASSERT_TRUE(store_->LogGroupAck("feed", "g", {ids[0]}).ok());
  ASSERT_TRUE(store_->LogGroupAck("feed", "g", {ids[0]}).ok());  // twice is fine
  ASSERT_TRUE(store_->LogGroupAck("feed", "g", {}).ok());
  info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 1);
  EXPECT_EQ(info.lag, 3);

  read = store_->LogGroupRead("feed", "g", "c2", 10, absl::ZeroDuration());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->size(), 3u);
  info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 4);
  EXPECT_EQ(info.lag, 0);
  EXPECT_EQ(info.last_delivered_id, ids[4]);
  // Another group's acknowledgements are its own.
  ASSERT_TRUE(store_->LogGroupAck("feed", "other", {ids[1]}).ok());
  info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 4);
}

TEST_P(StoreContractTest, LogGroupStartsAfterTheGivenEntry) {
  const std::vector<std::string> ids = AppendAll(*store_, "feed", {"old1", "old2", "old3"});
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_TRUE(store_->LogGroupCreate("feed", "mid", ids[1]).ok());
  absl::StatusOr<std::string> last = store_->LogLastId("feed");
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(store_->LogGroupCreate("feed", "new", *last).ok());
  AppendAll(*store_, "feed", {"new1"});

  auto mid = store_->LogGroupRead("feed", "mid", "c", 10, absl::ZeroDuration());
  ASSERT_TRUE(mid.ok()) << mid.status();
  EXPECT_THAT(Bytes(*mid), ElementsAre("old3", "new1"));
  auto fresh = store_->LogGroupRead("feed", "new", "c", 10, absl::ZeroDuration());
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_THAT(Bytes(*fresh), ElementsAre("new1"));
  // "0-0" is before everything, like "".
  ASSERT_TRUE(store_->LogGroupCreate("feed", "zero", "0-0").ok());
  auto zero = store_->LogGroupRead("feed", "zero", "c", 10, absl::ZeroDuration());
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_THAT(Bytes(*zero), ElementsAre("old1", "old2", "old3", "new1"));
}

TEST_P(StoreContractTest, ClaimDropsPendingEntriesTrimmedFromTheLog) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  AppendAll(*store_, "feed", {"first"});
  auto read = store_->LogGroupRead("feed", "g", "dead", 10, absl::ZeroDuration());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_THAT(Bytes(*read), ElementsAre("first"));
  // Enough newer entries that even Redis's approximate trimming drops the first.
  AppendAll(*store_, "feed", Numbered("e", 400), 10);
  absl::StatusOr<std::vector<LogEntry>> oldest = store_->LogRead("feed", "", 1);
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  ASSERT_THAT(Bytes(*oldest), ::testing::Not(ElementsAre("first")));

  auto claimed = store_->LogGroupClaim("feed", "g", "c2", absl::ZeroDuration(), 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(*claimed, ::testing::IsEmpty());
  LogGroupInfo info = InfoOf(*store_, "feed", "g");
  EXPECT_EQ(info.pending, 0);
}

TEST_P(StoreContractTest, BlockingGroupReadReturnsAnEntryAppendedWhileItWaits) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  std::thread appender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    AppendAll(*store_, "feed", {"late"});
  });
  const absl::Time start = absl::Now();
  auto read = store_->LogGroupRead("feed", "g", "c", 10, absl::Seconds(1));
  const absl::Duration waited = absl::Now() - start;
  appender.join();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(Bytes(*read), ElementsAre("late"));
  EXPECT_LT(waited, absl::Milliseconds(900)) << "woke only at the end of the block";
}

TEST_P(StoreContractTest, BlockingGroupReadOnNothingNewWaitsAboutTheBlockAndZeroDoesNotWait) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  absl::Time start = absl::Now();
  auto read = store_->LogGroupRead("feed", "g", "c", 10, absl::Milliseconds(150));
  absl::Duration waited = absl::Now() - start;
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(*read, ::testing::IsEmpty());
  EXPECT_GE(waited, absl::Milliseconds(140));
  EXPECT_LT(waited, absl::Milliseconds(1000));

  // Zero (and negative) means no wait at all; on Redis "BLOCK 0" would wait forever (and the read
  // would fail when the socket timeout expires).
  for (absl::Duration block : {absl::ZeroDuration(), absl::Milliseconds(-5)}) {
    start = absl::Now();
    read = store_->LogGroupRead("feed", "g", "c", 10, block);
    waited = absl::Now() - start;
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_THAT(*read, ::testing::IsEmpty());
    EXPECT_LT(waited, absl::Milliseconds(100));
  }
}

TEST_P(StoreContractTest, LogGroupCallsOnAMissingGroupAreNotFound) {
  AppendAll(*store_, "feed", {"a"});
  for (const std::string& log : {std::string("feed"), std::string("no-such-log")}) {
    EXPECT_EQ(store_->LogGroupRead(log, "g", "c", 10, absl::ZeroDuration()).status().code(),
              absl::StatusCode::kNotFound)
        << log;
    EXPECT_EQ(store_->LogGroupRead(log, "g", "c", 10, absl::Milliseconds(50)).status().code(),
              absl::StatusCode::kNotFound)
        << log;
    EXPECT_EQ(store_->LogGroupClaim(log, "g", "c", absl::ZeroDuration(), 10).status().code(),
              absl::StatusCode::kNotFound)
        << log;
    EXPECT_EQ(store_->GetLogGroupInfo(log, "g").status().code(), absl::StatusCode::kNotFound) << log;
    // Nothing is pending in a group that does not exist: nothing to acknowledge.
    EXPECT_TRUE(store_->LogGroupAck(log, "g", {"1-0"}).ok()) << log;
  }
  ASSERT_TRUE(store_->LogGroupCreate("feed", "other", "").ok());
  EXPECT_EQ(store_->GetLogGroupInfo("feed", "g").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, LogGroupCallsRejectBadArguments) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  const auto invalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(store_->LogGroupCreate("feed", "", "").code(), invalid);
  for (const char* bad : {"x", "1-", "-1", "1-2-3", "99999999999999999999-0"}) {
    EXPECT_EQ(store_->LogGroupCreate("feed", "g2", bad).code(), invalid) << bad;
    EXPECT_EQ(store_->LogGroupAck("feed", "g", {std::string("1-0"), std::string(bad)}).code(), invalid) << bad;
  }
  EXPECT_EQ(store_->GetLogGroupInfo("feed", "g2").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->LogGroupRead("feed", "", "c", 10, absl::ZeroDuration()).status().code(), invalid);
  EXPECT_EQ(store_->LogGroupRead("feed", "g", "", 10, absl::ZeroDuration()).status().code(), invalid);
  EXPECT_EQ(store_->LogGroupClaim("feed", "", "c", absl::ZeroDuration(), 10).status().code(), invalid);
  EXPECT_EQ(store_->LogGroupClaim("feed", "g", "", absl::ZeroDuration(), 10).status().code(), invalid);
  for (int limit : {0, -1}) {
    EXPECT_EQ(store_->LogGroupRead("feed", "g", "c", limit, absl::ZeroDuration()).status().code(), invalid);
    EXPECT_EQ(store_->LogGroupClaim("feed", "g", "c", absl::ZeroDuration(), limit).status().code(), invalid);
  }
  EXPECT_EQ(store_->LogGroupAck("feed", "", {"1-0"}).code(), invalid);
  EXPECT_EQ(store_->GetLogGroupInfo("feed", "").status().code(), invalid);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest, ::testing::Values(Backend::kMemory, Backend::kRedis),
                         [](const ::testing::TestParamInfo<Backend>& param_info) {
                           return param_info.param == Backend::kMemory ? "Memory" : "Redis";
                         });

}  // namespace
}  // namespace steward
