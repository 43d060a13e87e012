// RedisStore behaviour only a real Redis shows: outages (server gone, server hung), recovery without
// a restart of the client, blocking reads outlasting the command timeout, the record layout's memory cost, and URL parsing. The Store contract
// itself is in store_contract_test.cc.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/store/redis_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"

namespace steward {
namespace {

using ::testing::HasSubstr;

// Generous: the store should give up after ~2 x (connect + command timeout) = 0.8 s; the bound only
// proves that it gives up at all instead of hanging.
constexpr absl::Duration kNoHang = absl::Seconds(5);

Write Set(std::string key, std::string value) {
  Write write;
  write.key = std::move(key);
  write.value = std::move(value);
  return write;
}

RedisOptions ShortTimeouts(int port) {
  RedisOptions options;
  options.port = port;
  options.connect_timeout = absl::Milliseconds(200);
  options.command_timeout = absl::Milliseconds(200);
  options.pool_wait_timeout = absl::Milliseconds(200);
  return options;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status started = server_.Start();
    ASSERT_TRUE(started.ok()) << started;
    absl::StatusOr<std::unique_ptr<RedisStore>> store = RedisStore::Connect(ShortTimeouts(server_.port()));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Retries `call` a bounded number of times until it succeeds (the first calls after an outage may
  // still meet connections that broke during it); returns the last status.
  template <typename Call>
  absl::Status EventuallyOk(Call call) {
    absl::Status status;
    for (int attempt = 0; attempt < 5; ++attempt) {
      status = call();
      if (status.ok()) return status;
    }
    return status;
  }

  testing::RedisServer server_;
  std::unique_ptr<RedisStore> store_;
};

TEST_F(RedisStoreTest, CallsFailFastWhileRedisIsDownAndRecoverWhenItIsBack) {
  ASSERT_TRUE(store_->Put({Set("k", "before")}).ok());

  ASSERT_TRUE(server_.Stop().ok());
  for (int i = 0; i < 3; ++i) {  // repeated calls during the outage stay fast and sane
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"k"});
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr(store_->endpoint()));
    absl::StatusOr<std::vector<bool>> put = store_->Put({Set("k", "during")});
    EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
    const absl::Status deleted = store_->Delete({"k"});
    EXPECT_EQ(deleted.code(), absl::StatusCode::kUnavailable) << deleted;
    absl::StatusOr<std::vector<std::string>> scanned = store_->IndexScan("idx", "", 10);
    EXPECT_EQ(scanned.status().code(), absl::StatusCode::kUnavailable) << scanned.status();
    EXPECT_LT(absl::Now() - start, kNoHang);
  }

  // Same store object, no reconnect call: it recovers on its own. The restarted server is empty and
  // has no scripts cached, so Put also exercises the EVALSHA -> EVAL fallback.
  ASSERT_TRUE(server_.Start().ok());
  const absl::Status put = EventuallyOk([&] { return store_->Put({Set("k", "after")}).status(); });
  ASSERT_TRUE(put.ok()) << put;
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"k"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->front().has_value());
  EXPECT_EQ(got->front()->value, "after");
  EXPECT_EQ(got->front()->version, 1u);
}

TEST_F(RedisStoreTest, StaleIdleConnectionsAfterARestartDoNotFailReads) {
  // Fill the pool with several connections by using it from several threads at once.
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 20; ++i) EXPECT_TRUE(store_->Get({"k"}).ok());
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  ASSERT_TRUE(server_.Stop().ok());
  ASSERT_TRUE(server_.Start().ok());

  // Every pooled connection is dead now. A read is safe to repeat, so the store retries it once on a
  // fresh connection, and the caller never sees the restart.
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"k"});
  EXPECT_TRUE(got.ok()) << got.status();
}

TEST_F(RedisStoreTest, WritingToAConnectionRedisClosedDoesNotKillTheProcess) {
  // Writing a large pipeline to a socket the server has closed raises SIGPIPE, whose default action
  // ends the process; the store must turn it into an ordinary UNAVAILABLE.
  ASSERT_TRUE(store_->Put({Set("k", "v")}).ok());  // leaves a pooled connection behind
  ASSERT_TRUE(server_.Stop().ok());
  const std::string large(4 << 20, 'x');
  absl::StatusOr<std::vector<bool>> put = store_->Put({Set("k", large), Set("k2", large)});
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
}

TEST_F(RedisStoreTest, HungRedisTimesOutInsteadOfBlocking) {
  ASSERT_TRUE(server_.Pause().ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"k"});
  absl::StatusOr<std::vector<bool>> put = store_->Put({Set("k", "v")});
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
  EXPECT_LT(elapsed, kNoHang);

  ASSERT_TRUE(server_.Resume().ok());
  const absl::Status recovered = EventuallyOk([&] { return store_->Get({"k"}).status(); });
  EXPECT_TRUE(recovered.ok()) << recovered;
}

TEST_F(RedisStoreTest, BlockingGroupReadsOutlastTheCommandTimeoutWhichComesBackAfterwards) {
  ASSERT_TRUE(store_->LogGroupCreate("feed", "g", "").ok());
  // The block is five times the command timeout (200 ms): the read's socket waits that much longer.
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<LogEntry>> read = store_->LogGroupRead("feed", "g", "c", 10, absl::Seconds(1));
  const absl::Duration waited = absl::Now() - start;
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
  EXPECT_GE(waited, absl::Milliseconds(950));

  // The connection went back to the pool with the normal timeout: against a hung Redis, a plain call
  // on it gives up after ~200 ms, not after the 1.2 s the blocking read was allowed.
  ASSERT_TRUE(server_.Pause().ok());
  const absl::Time hung = absl::Now();
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"k"});
  const absl::Duration elapsed = absl::Now() - hung;
  ASSERT_TRUE(server_.Resume().ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_LT(elapsed, absl::Milliseconds(700));
}

TEST_F(RedisStoreTest, ConnectFailsFastWhenNothingListens) {
  testing::RedisServer never_started;  // its port is reserved but nobody listens there
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<RedisStore>> store =
      RedisStore::Connect(ShortTimeouts(never_started.port()));
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", never_started.port())));
  EXPECT_LT(absl::Now() - start, kNoHang);
}

TEST_F(RedisStoreTest, ConnectRejectsNonsensicalOptions) {
  RedisOptions options = ShortTimeouts(server_.port());
  options.pool_size = 0;
  EXPECT_EQ(RedisStore::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = ShortTimeouts(0);
  EXPECT_EQ(RedisStore::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RedisStoreTest, SelectsTheConfiguredDatabase) {
  RedisOptions options = ShortTimeouts(server_.port());
  options.db = 3;
  absl::StatusOr<std::unique_ptr<RedisStore>> db3 = RedisStore::Connect(options);
  ASSERT_TRUE(db3.ok()) << db3.status();
  ASSERT_TRUE((*db3)->Put({Set("k", "in db 3")}).ok());

  absl::StatusOr<std::vector<std::optional<Record>>> in_db0 = store_->Get({"k"});
  ASSERT_TRUE(in_db0.ok()) << in_db0.status();
  EXPECT_EQ(in_db0->front(), std::nullopt);

  options.db = 100000;  // more than the server has
  EXPECT_FALSE(RedisStore::Connect(options).ok());
}

TEST_F(RedisStoreTest, RecordsCostLittleMoreThanTheirValue) {
  const std::string value(100, 'x');
  ASSERT_TRUE(store_->Put({Set("{acct}:profile", value)}).ok());
  absl::StatusOr<int64_t> bytes = store_->MemoryUsage("{acct}:profile");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  // 16 version digits + the value + Redis' per-key overhead (dict entry, object and key headers).
  EXPECT_GE(*bytes, 116);
  EXPECT_LE(*bytes, 116 + 80) << "record layout grew";

  EXPECT_EQ(store_->MemoryUsage("missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RedisStoreTest, NonRecordValuesAreInternalErrors) {
  ASSERT_TRUE(store_->IndexAdd("idx", {"a"}).ok());
  absl::StatusOr<std::vector<std::optional<Record>>> got = store_->Get({"idx"});
  // MGET reports a key of another type as missing; a Put on it is a script error.
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->front(), std::nullopt);
  EXPECT_EQ(store_->Put({Set("idx", "v")}).status().code(), absl::StatusCode::kInternal);
}

// Polls `condition` every millisecond for up to `limit`: a bound on waiting, not a timing assertion.
template <typename Condition>
bool Eventually(Condition condition, absl::Duration limit = absl::Seconds(2)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// GetAndTrack until the key is answered locally (a single tracked read may decline to hold its
// result when an unrelated invalidation crossed it); returns the local answer.
std::optional<Record> TrackUntilHeld(RedisStore& store, const std::string& key,
                                     absl::Duration limit = absl::Seconds(2)) {
  std::optional<Record> held;
  Eventually(
      [&] {
        if (!store.GetAndTrack({key}).ok()) return false;
        std::optional<std::vector<Record>> local = store.TryGetLocal({key});
        if (local.has_value()) held = local->front();
        return held.has_value();
      },
      limit);
  return held;
}

TEST_F(RedisStoreTest, AnotherReplicasWriteInvalidatesTheLocalCopy) {
  absl::StatusOr<std::unique_ptr<RedisStore>> other = RedisStore::Connect(ShortTimeouts(server_.port()));
  ASSERT_TRUE(other.ok()) << other.status();
  RedisStore& a = *store_;
  RedisStore& b = **other;

  ASSERT_TRUE(b.Put({Set("{acct}:scores", "v1"), Set("{acct}:profile", "p1")}).ok());
  std::optional<Record> held = TrackUntilHeld(a, "{acct}:scores");
  ASSERT_TRUE(held.has_value()) << "tracked record never answered locally";
  EXPECT_EQ(held->value, "v1");
  ASSERT_TRUE(TrackUntilHeld(a, "{acct}:profile").has_value());

  const absl::Time written = absl::Now();
  ASSERT_TRUE(b.Put({Set("{acct}:scores", "v2")}).ok());
  EXPECT_TRUE(Eventually([&] { return !a.TryGetLocal({"{acct}:scores"}).has_value(); }))
      << "the other replica's write never invalidated the local copy";
  const absl::Duration invalidation_latency = absl::Now() - written;
  // Only the written key goes.
  EXPECT_TRUE(a.TryGetLocal({"{acct}:profile"}).has_value());

  absl::StatusOr<std::vector<std::optional<Record>>> got = a.GetAndTrack({"{acct}:scores"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->front().has_value());
  EXPECT_EQ(got->front()->value, "v2");
  EXPECT_EQ(got->front()->version, 2u);
  held = TrackUntilHeld(a, "{acct}:scores");
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->value, "v2");

  // Deletes and flushes by another replica invalidate too.
  ASSERT_TRUE(b.Delete({"{acct}:scores"}).ok());
  EXPECT_TRUE(Eventually([&] { return !a.TryGetLocal({"{acct}:scores"}).has_value(); }));
  ASSERT_TRUE(b.FlushDb().ok());
  EXPECT_TRUE(Eventually([&] { return !a.TryGetLocal({"{acct}:profile"}).has_value(); }));
  std::cerr << "invalidation latency: " << absl::FormatDuration(invalidation_latency) << "\n";
}

TEST_F(RedisStoreTest, AnotherReplicasIndexChangeInvalidatesTheLocalPages) {
  absl::StatusOr<std::unique_ptr<RedisStore>> other = RedisStore::Connect(ShortTimeouts(server_.port()));
  ASSERT_TRUE(other.ok()) << other.status();
  RedisStore& a = *store_;
  RedisStore& b = **other;
  ASSERT_TRUE(b.IndexAdd("members:x", {"a", "b"}).ok());
  ASSERT_TRUE(b.IndexAdd("members:y", {"k"}).ok());
  auto held = [&](const std::string& index) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (!a.IndexScanAndTrack(index, "", 10).ok()) return false;
      if (a.TryIndexScanLocal(index, "", 10).has_value()) return true;
    }
    return false;
  };
  ASSERT_TRUE(held("members:x")) << "tracked page never answered locally";
  ASSERT_TRUE(held("members:y"));

  ASSERT_TRUE(b.IndexRemove("members:x", {"a"}).ok());
  EXPECT_TRUE(Eventually([&] { return !a.TryIndexScanLocal("members:x", "", 10).has_value(); }))
      << "the other replica's change never invalidated the local page";
  // Only the changed index goes.
  EXPECT_TRUE(a.TryIndexScanLocal("members:y", "", 10).has_value());
  ASSERT_TRUE(held("members:x"));
  EXPECT_EQ(*a.TryIndexScanLocal("members:x", "", 10), std::vector<std::string>{"b"});
}

TEST_F(RedisStoreTest, RedisRestartTurnsLocalCachingOffUntilTrackingIsBack) {
  ASSERT_TRUE(store_->Put({Set("k", "before")}).ok());
  ASSERT_TRUE(TrackUntilHeld(*store_, "k").has_value());

  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(server_.Stop().ok());
  // The broken invalidation connection is noticed (it is closed, not silent) and the copy goes.
  EXPECT_TRUE(Eventually([&] { return !store_->TryGetLocal({"k"}).has_value(); }));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(store_->TryGetLocal({"k"}), std::nullopt);
    EXPECT_EQ(store_->GetAndTrack({"k"}).status().code(), absl::StatusCode::kUnavailable);
    absl::SleepFor(absl::Milliseconds(5));
  }

  ASSERT_TRUE(server_.Start().ok());
  // The restarted server is empty: nothing old may be answered.
  EXPECT_EQ(store_->TryGetLocal({"k"}), std::nullopt);
  bool stale = false;
  const bool back = Eventually(
      [&] {
        std::optional<std::vector<Record>> local = store_->TryGetLocal({"k"});
        if (local.has_value() && local->front().value != "after") stale = true;
        if (!store_->Put({Set("k", "after")}).ok()) return false;
        std::optional<std::vector<Record>> held = std::nullopt;
        if (store_->GetAndTrack({"k"}).ok()) held = store_->TryGetLocal({"k"});
        return held.has_value() && held->front().value == "after";
      },
      absl::Seconds(10));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(back) << "local caching never came back after the restart";
  EXPECT_FALSE(stale);
  EXPECT_THAT(log, HasSubstr("redis_tracking_lost"));
  EXPECT_THAT(log, HasSubstr("redis_tracking_restored"));
}

TEST_F(RedisStoreTest, WithoutClientSideCachingNothingIsAnsweredLocally) {
  RedisOptions options = ShortTimeouts(server_.port());
  options.client_side_caching = false;
  absl::StatusOr<std::unique_ptr<RedisStore>> plain = RedisStore::Connect(options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE((*plain)->Put({Set("k", "v")}).ok());
  absl::StatusOr<std::vector<std::optional<Record>>> got = (*plain)->GetAndTrack({"k"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->front().has_value());
  EXPECT_EQ(got->front()->value, "v");
  EXPECT_EQ((*plain)->TryGetLocal({"k"}), std::nullopt);
}

TEST_F(RedisStoreTest, TheLocalCacheStaysWithinItsBound) {
  RedisOptions options = ShortTimeouts(server_.port());
  options.local_cache_max_entries = 2;
  absl::StatusOr<std::unique_ptr<RedisStore>> small = RedisStore::Connect(options);
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_TRUE((*small)->Put({Set("a", "A"), Set("b", "B"), Set("c", "C")}).ok());
  ASSERT_TRUE(TrackUntilHeld(**small, "a").has_value());
  ASSERT_TRUE(TrackUntilHeld(**small, "b").has_value());
  ASSERT_TRUE(TrackUntilHeld(**small, "c").has_value());  // full: emptied, then c
  EXPECT_EQ((*small)->TryGetLocal({"a"}), std::nullopt);
  EXPECT_EQ((*small)->TryGetLocal({"b"}), std::nullopt);
}

struct UrlCase {
  std::string url;
  std::string host;
  int port;
  int db;
};

TEST(ParseRedisUrlTest, AcceptsHostPortAndDb) {
  for (const UrlCase& c : std::vector<UrlCase>{
           {"redis://127.0.0.1:6379/0", "127.0.0.1", 6379, 0},
           {"redis://redis", "redis", 6379, 0},
           {"redis://redis.prod.svc:7000", "redis.prod.svc", 7000, 0},
           {"redis://redis/2", "redis", 6379, 2},
           {"redis://redis/", "redis", 6379, 0},
           {"redis://[::1]:6380/1", "::1", 6380, 1},
       }) {
    absl::StatusOr<RedisOptions> options = ParseRedisUrl(c.url);
    ASSERT_TRUE(options.ok()) << c.url << ": " << options.status();
    EXPECT_EQ(options->host, c.host) << c.url;
    EXPECT_EQ(options->port, c.port) << c.url;
    EXPECT_EQ(options->db, c.db) << c.url;
    EXPECT_EQ(options->pool_size, RedisOptions().pool_size) << c.url;
  }
}

TEST(ParseRedisUrlTest, RejectsEverythingElseNamingTheUrlAndTheProblem) {
  for (const auto& [url, problem] : std::vector<std::pair<std::string, std::string>>{
           {"", "scheme"},
           {"127.0.0.1:6379", "scheme"},
           {"rediss://host:6379", "scheme"},
           {"http://host", "scheme"},
           {"redis://", "missing host"},
           {"redis://:6379", "missing host"},
           {"redis://host:", "port"},
           {"redis://host:0", "port"},
           {"redis://host:65536", "port"},
           {"redis://host:63a9", "port"},
           {"redis://host:-1", "port"},
           {"redis://host/x", "database"},
           {"redis://host/-1", "database"},
           {"redis://host/1/2", "database"},
           {"redis://user:secret@host", "credentials"},
           {"redis://host?db=1", "query"},
           {"redis://[::1", "unterminated"},
           {"redis://[::1]x", "after ']'"},
       }) {
    absl::StatusOr<RedisOptions> options = ParseRedisUrl(url);
    ASSERT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(options.status().message(), HasSubstr(absl::StrCat("\"", url, "\""))) << url;
    EXPECT_THAT(options.status().message(), HasSubstr(problem)) << url;
  }
}

}  // namespace
}  // namespace steward
