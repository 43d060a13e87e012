#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/store/store.h"

struct redisContext;
struct redisReply;

namespace steward {

// Where RedisStore connects and how long it waits. However Redis misbehaves, every call returns
// within about pool_wait_timeout + 2 * (connect_timeout + command_timeout): a call safe to repeat
// that finds its pooled connection closed by Redis is retried once on a fresh connection.
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  // Connections kept open at most; callers beyond that wait for a free one.
  int pool_size = 16;
  absl::Duration connect_timeout = absl::Milliseconds(500);
  // Bound on each socket read or write while a command runs (not on the whole pipeline).
  absl::Duration command_timeout = absl::Milliseconds(500);
  // How long a caller waits for a free connection before giving up with UNAVAILABLE.
  absl::Duration pool_wait_timeout = absl::Seconds(1);
  // Server-assisted client-side caching (Redis 6+ CLIENT TRACKING, see RedisStore): GetAndTrack keeps
  // copies that TryGetLocal answers from until Redis reports a change. Off: GetAndTrack is Get and
  // TryGetLocal never answers.
  bool client_side_caching = true;
  // Most records held locally. When an insert would go beyond it, the whole local cache is emptied
  // (simple, and it refills on demand).
  int local_cache_max_entries = 200'000;
};

// Parses "redis://host[:port][/db]" (host may be a bracketed IPv6 literal). Anything else (another
// scheme, credentials, query, bad port or db) is INVALID_ARGUMENT naming the URL and the problem.
// Fields the URL does not set keep their RedisOptions defaults.
absl::StatusOr<RedisOptions> ParseRedisUrl(std::string_view url);

// The production Store: a standalone Redis (or a primary behind a fixed address) over a bounded
// pool of synchronous hiredis connections.
//
// Layout: each record is one Redis string, 16 lowercase hex digits of the version followed by the
// raw value bytes; each index is a sorted set with all scores 0, ordered by member bytes.
//
// Errors: UNAVAILABLE when Redis cannot be reached, closes the connection, does not answer within
// the timeouts, is loading or busy, or no pooled connection frees up in time; INTERNAL for replies
// that make no sense (e.g. a key holding something that is not a record). A connection that failed
// is dropped, together with every idle one (they most likely broke too), and new ones are made on
// demand, so calls work again as soon as Redis is back, without restarting the process.
//
// Client-side caching (options.client_side_caching): a dedicated connection, read by a background
// thread, subscribes to __redis__:invalidate; every pooled connection is opened with
// `CLIENT TRACKING on REDIRECT <that connection's id> OPTIN`, and GetAndTrack sends
// `CLIENT CACHING yes` before its MGET, so Redis tells the thread whenever any client changes a key
// this store holds. The invalidation connection going away loses notices silently (RESP2), so then
// the local cache is emptied and off until the thread has reconnected and every pooled connection
// has been re-created against the new id (logged as redis_tracking_lost / redis_tracking_restored).
//
// Thread-safe. Blocking: call it from worker threads, never from a gRPC reactor; the one exception
// is TryGetLocal, which never does I/O and only takes a short in-memory lock.
class RedisStore final : public Store {
 public:
  // Opens one connection, checks it with PING and loads the Put script. Fails fast (UNAVAILABLE)
  // when Redis is not there, so that a bad deploy never starts serving; INVALID_ARGUMENT for
  // nonsensical options.
  static absl::StatusOr<std::unique_ptr<RedisStore>> Connect(RedisOptions options);

  // Stops the invalidation thread (at once, or after its connection attempt in progress: at most
  // connect_timeout + command_timeout).
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // One MGET round trip.
  absl::StatusOr<std::vector<std::optional<Record>>> Get(absl::Span<const std::string> keys) override;
  // One pipelined round trip of EVALSHA calls (a second one with EVAL for writes that met an empty
  // script cache, e.g. after a Redis restart). On UNAVAILABLE some writes may have been applied.
  absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) override;
  // One DEL round trip.
  absl::Status Delete(absl::Span<const std::string> keys) override;
  // One pipelined round trip: CLIENT CACHING yes, MGET. The present records are held locally unless
  // an invalidation or a write through this store happened meanwhile (then the result is returned
  // but not held) or caching is off.
  absl::StatusOr<std::vector<std::optional<Record>>> GetAndTrack(absl::Span<const std::string> keys) override;
  // In-memory only; nullopt whenever caching is off or unavailable.
  std::optional<std::vector<Record>> TryGetLocal(absl::Span<const std::string> keys) override;
  // One ZADD round trip.
  absl::Status IndexAdd(const std::string& index, absl::Span<const std::string> members) override;
  // One ZRANGEBYLEX round trip.
  absl::StatusOr<std::vector<std::string>> IndexScan(const std::string& index, const std::string& start_after,
                                                     int limit) override;
  absl::Status IndexRemove(const std::string& index, absl::Span<const std::string> members) override;
  // Sorted sets scored by due time; a claim is one Lua step.
  absl::Status ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) override;
  absl::StatusOr<std::vector<ScheduledItem>> ScheduleClaim(const std::string& schedule, int64_t now_ms,
                                                           int64_t lease_ms, int limit) override;
  absl::Status ScheduleRemove(const std::string& schedule, absl::Span<const std::string> members) override;
  absl::StatusOr<std::optional<int64_t>> ScheduleEarliest(const std::string& schedule) override;
  // ZRANGEBYLEX with CLIENT CACHING, holding the page until Redis reports a change of the index.
  absl::StatusOr<std::vector<std::string>> IndexScanAndTrack(const std::string& index,
                                                             const std::string& start_after,
                                                             int limit) override;
  std::optional<std::vector<std::string>> TryIndexScanLocal(const std::string& index,
                                                            const std::string& start_after,
                                                            int limit) override;
  // XRANGE over a stream; ids are Redis stream ids ("<milliseconds>-<sequence>").
  absl::StatusOr<std::vector<LogEntry>> LogRead(const std::string& log, const std::string& after,
                                                int limit) override;
  absl::StatusOr<std::string> LogLastId(const std::string& log) override;
  // XGROUP CREATE ... MKSTREAM (BUSYGROUP, the group exists already, is OK).
  absl::Status LogGroupCreate(const std::string& log, const std::string& group,
                              const std::string& start_after) override;
  // XREADGROUP ... STREAMS log >, with BLOCK <ms> only for a positive `block` (Redis's BLOCK 0 would
  // wait forever; `block` is rounded up to whole milliseconds and capped at kMaxLogGroupBlock). A
  // blocking read holds one pooled connection for up to `block`, with that connection's socket read
  // timeout raised to block + command_timeout for the call and set back before it returns to the
  // pool: each concurrent blocking reader takes one of the pool_size connections, so keep them well
  // below pool_size (a few per process is the intended use; others wait pool_wait_timeout at most).
  absl::StatusOr<std::vector<LogEntry>> LogGroupRead(const std::string& log, const std::string& group,
                                                     const std::string& consumer, int limit,
                                                     absl::Duration block) override;
  // XAUTOCLAIM from 0-0, following the cursor until `limit` entries or the end of the pending list
  // (one round trip per step; not repeated blindly, a lost reply's claims come back after min_idle).
  absl::StatusOr<std::vector<LogEntry>> LogGroupClaim(const std::string& log, const std::string& group,
                                                      const std::string& consumer, absl::Duration min_idle,
                                                      int limit) override;
  // XACK.
  absl::Status LogGroupAck(const std::string& log, const std::string& group,
                           absl::Span<const std::string> ids) override;
  // XINFO GROUPS (lag is -1 where Redis reports none, or before Redis 7).
  absl::StatusOr<LogGroupInfo> GetLogGroupInfo(const std::string& log, const std::string& group) override;
  static constexpr absl::Duration kMaxLogGroupBlock = absl::Hours(1);

  // Bytes Redis spends on `key` (MEMORY USAGE key SAMPLES 0); NOT_FOUND for a missing key. For tests
  // and benchmarks of the record layout.
  absl::StatusOr<int64_t> MemoryUsage(const std::string& key);

  // Deletes every key of the configured database (and empties the local cache). For tests and
  // benchmarks only.
  absl::Status FlushDb();

  // "host:port", for messages.
  const std::string& endpoint() const { return endpoint_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
  struct ReplyDeleter {
    void operator()(redisReply* reply) const;
  };
  using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

  // A connection taken out of the pool.
  struct Lease {
    ContextPtr context;
    uint64_t generation = 0;
    bool reused = false;  // came from the idle list, so it may have gone stale meanwhile
  };

  class Command;

  explicit RedisStore(RedisOptions options);

  // Sends `commands` as one pipeline and returns one reply per command, in order (error replies
  // included; the caller interprets them). `may_repeat`: the commands are safe to send twice, so a
  // reused connection found closed is retried once on a fresh one. `extra_wait`: how much longer than
  // command_timeout a reply may take (a blocking command); the connection's socket timeouts are
  // raised by that much for this round trip only.
  absl::StatusOr<std::vector<ReplyPtr>> RoundTrip(absl::Span<const Command> commands, bool may_repeat,
                                                  absl::Duration extra_wait = absl::ZeroDuration());
  absl::StatusOr<std::vector<ReplyPtr>> RoundTripOnce(redisContext* context, absl::Span<const Command> commands,
                                                      absl::Duration extra_wait = absl::ZeroDuration());
  // Single command; its reply as it is, error replies included.
  absl::StatusOr<ReplyPtr> Send(const Command& command, bool may_repeat,
                                absl::Duration extra_wait = absl::ZeroDuration());
  // Single command, reply errors turned into a status.
  absl::StatusOr<ReplyPtr> Call(const Command& command, bool may_repeat);

  absl::StatusOr<Lease> Acquire();
  // A new connection with the connect and command timeouts set (nothing sent yet).
  absl::StatusOr<ContextPtr> Dial() const;
  absl::StatusOr<ContextPtr> OpenConnection();
  // Returns a healthy connection to the pool, or closes a broken one and with it every idle one.
  void Release(Lease lease, bool healthy);
  bool CanLease() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Logs once per outage (and once per recovery), not per failed call.
  void NoteFailure(const absl::Status& status);
  void NoteSuccess();

  absl::Status ReplyErrorStatus(absl::string_view what, const redisReply& reply) const;
  // ReplyErrorStatus, but NOT_FOUND for a missing consumer group or log (NOGROUP, "no such key").
  absl::Status GroupErrorStatus(absl::string_view what, const redisReply& reply) const;
  // Appends the entries of an XRANGE-style reply ([id, [field, value]] each) of `log` to `out`; nil
  // entries (deleted meanwhile, as XAUTOCLAIM on Redis 6.2 reports them) are skipped.
  absl::Status AppendLogEntries(const std::string& log, absl::string_view what, const redisReply& array,
                                std::vector<LogEntry>& out) const;
  // Parses an MGET reply for `keys`.
  absl::StatusOr<std::vector<std::optional<Record>>> ParseRecords(absl::Span<const std::string> keys,
                                                                  const redisReply& array) const;

  // --- Client-side caching ---
  struct Listener {
    ContextPtr context;
    int64_t client_id = 0;
  };
  // Opens the invalidation connection: CLIENT ID, SUBSCRIBE __redis__:invalidate.
  absl::StatusOr<Listener> OpenListener();
  // The background thread: reads invalidations from `listener` (may be null: connect first) until
  // stop_ is notified, reconnecting with bounded backoff.
  void ListenLoop(ContextPtr listener);
  // Waits a short while for invalidations on `listener` and applies them; an error means the
  // connection is unusable.
  absl::Status PumpInvalidations(redisContext* listener, absl::Time& last_heard,
                                 std::optional<absl::Time>& ping_sent);
  void ApplyInvalidation(const redisReply& message);
  // The invalidation connection broke (or never came up): caching off, cache emptied.
  void TrackingLost();
  // A new invalidation connection with `client_id` is up: re-create every pooled connection so that
  // it registers with the new id, then turn caching on.
  void TrackingRestored(int64_t client_id);
  // A pooled connection could not enable tracking with `client_id`: caching off until the next
  // TrackingRestored.
  void TrackingRegistrationFailed(int64_t client_id, absl::string_view error);
  // Drops the local copies of `keys` and bumps the invalidation sequence.
  void DropLocal(absl::Span<const Write> writes);
  void DropLocal(absl::Span<const std::string> keys);
  void ClearLocal();

  const RedisOptions options_;
  const std::string endpoint_;
  // Set by Connect before the store is shared; never changes after. The SHA1 only depends on the
  // script text, so it stays valid across Redis restarts (after which EVAL reloads the script).
  std::string put_script_sha_;

  absl::Mutex mu_;
  std::vector<ContextPtr> idle_ ABSL_GUARDED_BY(mu_);
  // Connections open (idle, leased or being opened); never more than options_.pool_size.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped whenever a connection breaks; leased connections of an older generation are closed on
  // return instead of being pooled, since they most likely broke in the same incident.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;

  std::atomic<bool> reachable_{true};

  // Local cache. Lock order: cache_mu_ and mu_ are never held together.
  absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, Record> cache_ ABSL_GUARDED_BY(cache_mu_);
  // Tracked index pages, by index, then by "<limit>:<start_after>"; dropped with the index's key.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, std::vector<std::string>>> index_pages_
      ABSL_GUARDED_BY(cache_mu_);
  std::size_t index_page_count_ ABSL_GUARDED_BY(cache_mu_) = 0;
  // Drops a key's local copy, record or index pages.
  void EraseLocal(absl::string_view key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(cache_mu_);
  absl::StatusOr<std::vector<std::string>> ParseMembers(const redisReply& array) const;
  static Command IndexRangeCommand(const std::string& index, const std::string& start_after, int limit);
  // Bumped by every invalidation, every write through this store, and every loss or restore of
  // tracking. GetAndTrack holds its result only if this did not move during its round trip, so an
  // invalidation that overtakes the reply it concerns can never leave a stale copy behind.
  uint64_t invalidation_seq_ ABSL_GUARDED_BY(cache_mu_) = 0;
  bool caching_enabled_ ABSL_GUARDED_BY(cache_mu_) = false;
  // Client id of the invalidation connection that new pooled connections redirect to; 0 = none.
  std::atomic<int64_t> redirect_id_{0};
  // Only the listener thread (or Connect, before it starts) touches this.
  bool tracking_lost_logged_ = false;
  absl::Notification stop_;
  // Also signalled on shutdown, to wake the thread from poll at once (-1 if unavailable: then it
  // notices within one poll interval).
  int wake_fd_ = -1;
  std::thread listener_thread_;
};

}  // namespace steward
