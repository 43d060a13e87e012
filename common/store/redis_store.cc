#include "common/store/redis_store.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/logging.h"

namespace steward {
namespace {

constexpr size_t kVersionDigits = 16;
constexpr absl::string_view kVersionPlaceholder = "0000000000000000";

// Client-side caching: where Redis (RESP2) publishes invalidations of tracked keys.
constexpr absl::string_view kInvalidationChannel = "__redis__:invalidate";
// How long the invalidation thread waits on its socket before it checks for shutdown.
constexpr int kListenPollMillis = 50;
// After this much silence the invalidation thread sends a PING; if no reply follows within the
// command timeout (at least kHeartbeatMinTimeout), the connection counts as broken: notices sent on a
// half-dead connection would be lost without any error.
constexpr absl::Duration kHeartbeatInterval = absl::Seconds(1);
constexpr absl::Duration kHeartbeatMinTimeout = absl::Seconds(1);
// Reconnect backoff of the invalidation connection: doubles from min to max.
constexpr absl::Duration kListenBackoffMin = absl::Milliseconds(50);
constexpr absl::Duration kListenBackoffMax = absl::Seconds(1);
// Index pages held locally (IndexScanAndTrack): ~2.5 KB each for a page of 100 ids, so ~10 MB.
constexpr std::size_t kMaxIndexPages = 4096;

// Put's atomic step. KEYS = [key, guard keys..., also_write keys..., append keys..., log keys...,
// also_delete keys...]; ARGV = [expected version as 16 hex digits, or "-" for an unconditional write;
// value behind a 16-byte placeholder; number of guards; guard versions as 16 hex digits...; number of
// also_writes; their values, each behind a placeholder...; number of appends; for each "a" (append)
// or "r" (replace), then its bytes; number of log entries; for each its max entries, then its bytes;
// number of schedule changes; for each the due time ("-" to remove), then the member]. The schedule
// keys come after the log keys in KEYS.
// Logs are Redis streams (XADD with an id Redis assigns, trimmed approximately). Only the 16-digit version
// prefixes are read (GETRANGE), never the values, so the cost does not grow with the record's size. Versions
// are compared as their fixed-width hex text, so the comparison is exact whatever Lua's number precision;
// only the increment goes through a number (exact up to 2^53 writes of one key).
constexpr absl::string_view kPutScript = R"lua(
local function version_of(key)
  local v = redis.call('GETRANGE', key, 0, 15)
  if v == '' then return '0000000000000000' end
  if #v < 16 then return nil end
  return v
end
local ver = version_of(KEYS[1])
if not ver then return redis.error_reply('steward: not a record: ' .. KEYS[1]) end
if ARGV[1] ~= '-' and ARGV[1] ~= ver then return 0 end
local guards = tonumber(ARGV[3])
for i = 1, guards do
  if version_of(KEYS[1 + i]) ~= ARGV[3 + i] then return 0 end
end
local n = tonumber(ver, 16)
if n == nil then return redis.error_reply('steward: not a record: ' .. KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SETRANGE', KEYS[1], 0, string.format('%016x', n + 1))
local at = 4 + guards
local writes = tonumber(ARGV[at])
for i = 1, writes do
  local key = KEYS[1 + guards + i]
  local v = tonumber(version_of(key) or '0000000000000000', 16)
  redis.call('SET', key, ARGV[at + i])
  redis.call('SETRANGE', key, 0, string.format('%016x', v + 1))
end
at = at + writes + 1
local appends = tonumber(ARGV[at])
for i = 1, appends do
  local key = KEYS[1 + guards + writes + i]
  local bytes = ARGV[at + 2 * i]
  if ARGV[at + 2 * i - 1] == 'r' or redis.call('EXISTS', key) == 0 then
    redis.call('SET', key, '0000000000000001' .. bytes)
  else
    redis.call('APPEND', key, bytes)
  end
end
at = at + 2 * appends + 1
local logs = tonumber(ARGV[at])
for i = 1, logs do
  redis.call('XADD', KEYS[1 + guards + writes + appends + i], 'MAXLEN', '~', ARGV[at + 2 * i - 1], '*', 'd',
             ARGV[at + 2 * i])
end
at = at + 2 * logs + 1
local changes = tonumber(ARGV[at])
for i = 1, changes do
  local key = KEYS[1 + guards + writes + appends + logs + i]
  if ARGV[at + 2 * i - 1] == '-' then
    redis.call('ZREM', key, ARGV[at + 2 * i])
  else
    redis.call('ZADD', key, ARGV[at + 2 * i - 1], ARGV[at + 2 * i])
  end
end
for i = 2 + guards + writes + appends + logs + changes, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
)lua";

std::string VersionHex(uint64_t version) { return absl::StrFormat("%016x", version); }

// Strict: exactly 16 lowercase hex digits (what the script writes).
std::optional<uint64_t> ParseVersion(absl::string_view hex) {
  if (hex.size() != kVersionDigits) return std::nullopt;
  uint64_t version = 0;
  for (char c : hex) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    version = version << 4 | static_cast<uint64_t>(digit);
  }
  return version;
}

absl::string_view ReplyText(const redisReply& reply) { return absl::string_view(reply.str, reply.len); }

// hiredis writes with write(2), which raises SIGPIPE when Redis has closed the connection; by
// default that kills the process. Rather than ignoring SIGPIPE process-wide behind the embedding
// program's back, block it on this thread while hiredis runs and swallow one raised meanwhile
// (write then fails with EPIPE, which hiredis reports as a connection error).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{};
        while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// hiredis reports an expired SO_RCVTIMEO/SO_SNDTIMEO only as EAGAIN's strerror text.
bool TimedOut(const redisContext& context) {
  return context.err == REDIS_ERR_IO && absl::StrContains(context.errstr, "temporarily unavailable");
}

absl::Status InvalidUrl(absl::string_view url, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid Redis URL \"", url, "\": ", problem, " (expected redis://host[:port][/db])"));
}

}  // namespace

// One command's arguments, as hiredis wants them (binary-safe: pointer + length). Borrowed
// arguments (keys, values) are not copied, so they must outlive the round trip.
class RedisStore::Command {
 public:
  Command() = default;
  Command(std::initializer_list<absl::string_view> args) {
    for (absl::string_view arg : args) Add(arg);
  }
  // Moving keeps owned arguments in place (the deque's blocks change hands); a copy would point
  // into the original's.
  Command(Command&&) = default;
  Command& operator=(Command&&) = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;
  Command& Add(absl::string_view borrowed) {
    argv_.push_back(borrowed.data());
    lengths_.push_back(borrowed.size());
    return *this;
  }
  Command& AddOwned(std::string arg) {
    // A deque never moves its elements, so the pointer stays valid.
    return Add(owned_.emplace_back(std::move(arg)));
  }
  int argc() const { return static_cast<int>(argv_.size()); }
  const char** argv() const { return const_cast<const char**>(argv_.data()); }
  const size_t* lengths() const { return lengths_.data(); }

 private:
  std::deque<std::string> owned_;
  std::vector<const char*> argv_;
  std::vector<size_t> lengths_;
};

absl::StatusOr<RedisOptions> ParseRedisUrl(std::string_view url_text) {
  const absl::string_view url(url_text.data(), url_text.size());
  constexpr absl::string_view kScheme = "redis://";
  if (!absl::StartsWith(url, kScheme)) return InvalidUrl(url, "scheme must be redis://");
  absl::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("@?#") != absl::string_view::npos) {
    return InvalidUrl(url, "credentials, query and fragment are not supported");
  }
  RedisOptions options;
  absl::string_view host;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return InvalidUrl(url, "unterminated '[' in host");
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest[0] != ':' && rest[0] != '/') {
      return InvalidUrl(url, "unexpected text after ']'");
    }
  } else {
    const size_t end = rest.find_first_of(":/");
    host = rest.substr(0, end);
    rest.remove_prefix(end == absl::string_view::npos ? rest.size() : end);
  }
  if (host.empty()) return InvalidUrl(url, "missing host");
  options.host = std::string(host);

  if (absl::StartsWith(rest, ":")) {
    rest.remove_prefix(1);
    const size_t end = rest.find('/');
    const absl::string_view port = rest.substr(0, end);
    rest.remove_prefix(end == absl::string_view::npos ? rest.size() : end);
    int value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value < 1 || value > 65535) {
      return InvalidUrl(url, absl::StrCat("port \"", port, "\" is not a number in 1..65535"));
    }
    options.port = value;
  }

  if (absl::StartsWith(rest, "/")) {
    rest.remove_prefix(1);
    if (!rest.empty()) {  // "redis://host/" means database 0, as in redis-cli
      int value = 0;
      const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
      if (ec != std::errc() || ptr != rest.data() + rest.size() || value < 0) {
        return InvalidUrl(url, absl::StrCat("database \"", rest, "\" is not a non-negative number"));
      }
      options.db = value;
    }
  } else if (!rest.empty()) {
    return InvalidUrl(url, absl::StrCat("unexpected \"", rest, "\""));
  }
  return options;
}

void RedisStore::ContextDeleter::operator()(redisContext* context) const { redisFree(context); }
void RedisStore::ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

RedisStore::RedisStore(RedisOptions options)
    : options_(std::move(options)), endpoint_(absl::StrCat(options_.host, ":", options_.port)) {}

RedisStore::~RedisStore() {
  stop_.Notify();
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof(one));
  }
  if (listener_thread_.joinable()) listener_thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::StatusOr<std::unique_ptr<RedisStore>> RedisStore::Connect(RedisOptions options) {
  if (options.host.empty()) return absl::InvalidArgumentError("Redis host is empty");
  if (options.port < 1 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("Redis port ", options.port, " is not in 1..65535"));
  }
  if (options.db < 0)
    return absl::InvalidArgumentError(absl::StrCat("Redis db ", options.db, " is negative"));
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("Redis pool size ", options.pool_size, " is below 1"));
  }
  if (options.connect_timeout <= absl::ZeroDuration() || options.command_timeout <= absl::ZeroDuration() ||
      options.pool_wait_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "Redis connect and command timeouts must be positive, and the pool wait timeout not negative");
  }
  if (options.client_side_caching && options.local_cache_max_entries < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Redis local cache size ", options.local_cache_max_entries, " is below 1"));
  }
  auto store = absl::WrapUnique(new RedisStore(std::move(options)));

  absl::StatusOr<ReplyPtr> pong = store->Call(Command{"PING"}, /*may_repeat=*/false);
  if (!pong.ok()) return pong.status();

  absl::StatusOr<ReplyPtr> sha = store->Call(Command{"SCRIPT", "LOAD", kPutScript}, /*may_repeat=*/false);
  if (!sha.ok()) return sha.status();
  if ((*sha)->type != REDIS_REPLY_STRING) {
    return absl::InternalError(absl::StrCat("redis ", store->endpoint_, ": SCRIPT LOAD returned no SHA1"));
  }
  store->put_script_sha_ = std::string(ReplyText(**sha));

  if (store->options_.client_side_caching) {
    // Synchronously, so that caching works from the first call; if the invalidation connection
    // cannot be made now, the store still serves (uncached) and the thread keeps trying.
    absl::StatusOr<Listener> listener = store->OpenListener();
    ContextPtr context;
    if (listener.ok()) {
      store->TrackingRestored(listener->client_id);
      context = std::move(listener->context);
    } else {
      Log(LogLevel::kWarning, "redis_tracking_lost",
          {{"endpoint", store->endpoint_}, {"error", std::string(listener.status().message())}});
      store->tracking_lost_logged_ = true;
    }
    store->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    RedisStore* raw = store.get();
    store->listener_thread_ =
        std::thread([raw, context = std::move(context)]() mutable { raw->ListenLoop(std::move(context)); });
  }
  return store;
}

absl::StatusOr<std::vector<std::optional<Record>>> RedisStore::Get(absl::Span<const std::string> keys) {
  std::vector<std::optional<Record>> out;
  if (keys.empty()) return out;
  Command mget;
  mget.Add("MGET");
  for (const std::string& key : keys) mget.Add(key);
  absl::StatusOr<ReplyPtr> reply = Call(mget, /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  return ParseRecords(keys, **reply);
}

absl::StatusOr<std::vector<std::optional<Record>>> RedisStore::ParseRecords(
    absl::Span<const std::string> keys, const redisReply& array) const {
  std::vector<std::optional<Record>> out;
  if (array.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("MGET", array);
  if (array.type != REDIS_REPLY_ARRAY || array.elements != keys.size()) {
    return absl::InternalError(
        absl::StrCat("redis ", endpoint_, ": MGET of ", keys.size(), " keys returned an unexpected reply"));
  }
  out.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const redisReply& element = *array.element[i];
    if (element.type == REDIS_REPLY_NIL) {
      out.emplace_back(std::nullopt);
      continue;
    }
    std::optional<uint64_t> version;
    if (element.type == REDIS_REPLY_STRING && element.len >= kVersionDigits) {
      version = ParseVersion(absl::string_view(element.str, kVersionDigits));
    }
    if (!version.has_value()) {
      return absl::InternalError(absl::StrCat("redis ", endpoint_, ": key \"", absl::CHexEscape(keys[i]),
                                              "\" does not hold a Steward record"));
    }
    out.emplace_back(
        Record{std::string(element.str + kVersionDigits, element.len - kVersionDigits), *version});
  }
  return out;
}

absl::StatusOr<std::vector<bool>> RedisStore::Put(absl::Span<const Write> writes) {
  std::vector<bool> applied(writes.size(), false);
  if (writes.empty()) return applied;

  // Builds the script call of one write, by SHA1 (EVALSHA) or by text (EVAL, which also caches it).
  auto script_call = [&](const Write& write, absl::string_view verb, absl::string_view script) {
    Command command;
    command.Add(verb).Add(script);
    command
        .AddOwned(absl::StrCat(1 + write.guards.size() + write.also_write.size() + write.appends.size() +
                               write.log_appends.size() + write.schedule_changes.size() +
                               write.also_delete.size()))
        .Add(write.key);
    for (const Guard& guard : write.guards) command.Add(guard.key);
    for (const AlsoWrite& also : write.also_write) command.Add(also.key);
    for (const Append& append : write.appends) command.Add(append.key);
    for (const LogAppend& entry : write.log_appends) command.Add(entry.log);
    for (const ScheduleChange& change : write.schedule_changes) command.Add(change.schedule);
    for (const std::string& key : write.also_delete) command.Add(key);
    if (write.expected_version.has_value()) {
      command.AddOwned(VersionHex(*write.expected_version));
    } else {
      command.Add("-");
    }
    // The value goes in behind a placeholder for its version, which the script then overwrites in
    // place: building "version .. value" inside Lua would copy a large value once more.
    command.AddOwned(absl::StrCat(kVersionPlaceholder, write.value));
    command.AddOwned(absl::StrCat(write.guards.size()));
    for (const Guard& guard : write.guards) command.AddOwned(VersionHex(guard.version));
    command.AddOwned(absl::StrCat(write.also_write.size()));
    for (const AlsoWrite& also : write.also_write)
      command.AddOwned(absl::StrCat(kVersionPlaceholder, also.value));
    command.AddOwned(absl::StrCat(write.appends.size()));
    for (const Append& append : write.appends) command.Add(append.replace ? "r" : "a").Add(append.bytes);
    command.AddOwned(absl::StrCat(write.log_appends.size()));
    for (const LogAppend& entry : write.log_appends) {
      command.AddOwned(absl::StrCat(std::max<int64_t>(entry.max_entries, 1))).Add(entry.bytes);
    }
    command.AddOwned(absl::StrCat(write.schedule_changes.size()));
    for (const ScheduleChange& change : write.schedule_changes) {
      if (change.due_ms.has_value()) {
        command.AddOwned(absl::StrCat(*change.due_ms));
      } else {
        command.Add("-");
      }
      command.Add(change.member);
    }
    return command;
  };

  std::vector<Command> commands;
  commands.reserve(writes.size());
  for (const Write& write : writes) commands.push_back(script_call(write, "EVALSHA", put_script_sha_));
  // Local copies go before the write is sent (no reader of this store sees the old value from now
  // on) and again once it is done, whatever the outcome: a GetAndTrack that read the old value
  // between the two may have held it, and Redis's invalidation of it may not have arrived yet.
  DropLocal(writes);
  struct DropAgain {
    RedisStore* store;
    absl::Span<const Write> writes;
    ~DropAgain() { store->DropLocal(writes); }
  } drop_again{this, writes};
  // Writes are not safe to repeat blindly: the first attempt may have been applied.
  absl::StatusOr<std::vector<ReplyPtr>> replies = RoundTrip(commands, /*may_repeat=*/false);
  if (!replies.ok()) return replies.status();

  // Redis lost its script cache (restart, failover, SCRIPT FLUSH): those writes did nothing, so
  // send them again with the script text. Each write is atomic on its own, so order among the
  // retried ones and the others does not matter beyond what the contract promises.
  std::vector<size_t> missing_script;
  for (size_t i = 0; i < writes.size(); ++i) {
    const redisReply& reply = *(*replies)[i];
    if (reply.type == REDIS_REPLY_ERROR && absl::StartsWith(ReplyText(reply), "NOSCRIPT")) {
      missing_script.push_back(i);
    }
  }
  if (!missing_script.empty()) {
    std::vector<Command> retry;
    retry.reserve(missing_script.size());
    for (size_t i : missing_script) retry.push_back(script_call(writes[i], "EVAL", kPutScript));
    absl::StatusOr<std::vector<ReplyPtr>> retried = RoundTrip(retry, /*may_repeat=*/false);
    if (!retried.ok()) return retried.status();
    for (size_t j = 0; j < missing_script.size(); ++j) {
      (*replies)[missing_script[j]] = std::move((*retried)[j]);
    }
  }

  for (size_t i = 0; i < writes.size(); ++i) {
    const redisReply& reply = *(*replies)[i];
    if (reply.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("Put script", reply);
    if (reply.type != REDIS_REPLY_INTEGER || (reply.integer != 0 && reply.integer != 1)) {
      return absl::InternalError(
          absl::StrCat("redis ", endpoint_, ": Put script returned an unexpected reply"));
    }
    applied[i] = reply.integer == 1;
  }
  return applied;
}

absl::Status RedisStore::Delete(absl::Span<const std::string> keys) {
  if (keys.empty()) return absl::OkStatus();
  Command del;
  del.Add("DEL");
  for (const std::string& key : keys) del.Add(key);
  DropLocal(keys);  // before and after, as in Put
  absl::Status status = Call(del, /*may_repeat=*/true).status();
  DropLocal(keys);
  return status;
}

absl::StatusOr<std::vector<std::optional<Record>>> RedisStore::GetAndTrack(
    absl::Span<const std::string> keys) {
  uint64_t seq = 0;
  bool enabled = false;
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    // Before sending: any invalidation, write or tracking change from here on makes the reply
    // unfit to hold, since it may concern a value older than what the reply carries or a
    // connection whose notices go nowhere.
    enabled = caching_enabled_;
    seq = invalidation_seq_;
  }
  if (!enabled || keys.empty()) return Get(keys);
  std::vector<Command> commands;
  commands.reserve(2);
  commands.push_back(Command{"CLIENT", "CACHING", "yes"});
  Command& mget = commands.emplace_back();
  mget.Add("MGET");
  for (const std::string& key : keys) mget.Add(key);
  absl::StatusOr<std::vector<ReplyPtr>> replies = RoundTrip(commands, /*may_repeat=*/true);
  if (!replies.ok()) return replies.status();
  absl::StatusOr<std::vector<std::optional<Record>>> records = ParseRecords(keys, *(*replies)[1]);
  if (!records.ok()) return records.status();

  // CLIENT CACHING fails on a connection without tracking (registration failed, or opened while
  // the invalidation connection was down): then Redis will not report changes, so hold nothing.
  const redisReply& caching = *(*replies)[0];
  if (caching.type != REDIS_REPLY_STATUS) return records;
  size_t present = 0;
  for (const std::optional<Record>& record : *records) present += record.has_value() ? 1 : 0;
  if (present == 0) return records;
  absl::flat_hash_map<std::string, Record> evicted;  // destroyed outside the lock
  {
    absl::MutexLock lock(&cache_mu_);
    if (!caching_enabled_ || invalidation_seq_ != seq) return records;
    if (cache_.size() + present > static_cast<size_t>(options_.local_cache_max_entries)) {
      evicted.swap(cache_);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if ((*records)[i].has_value()) cache_.insert_or_assign(keys[i], *(*records)[i]);
    }
  }
  return records;
}

std::optional<std::vector<Record>> RedisStore::TryGetLocal(absl::Span<const std::string> keys) {
  std::vector<Record> out;
  out.reserve(keys.size());
  absl::ReaderMutexLock lock(&cache_mu_);
  if (!caching_enabled_ && !keys.empty()) return std::nullopt;
  for (const std::string& key : keys) {
    auto it = cache_.find(key);
    if (it == cache_.end()) return std::nullopt;
    out.push_back(it->second);
  }
  return out;
}

absl::Status RedisStore::IndexAdd(const std::string& index, absl::Span<const std::string> members) {
  if (members.empty()) return absl::OkStatus();
  Command zadd;
  zadd.Add("ZADD").Add(index);
  for (const std::string& member : members) zadd.Add("0").Add(member);
  DropLocal({&index, 1});  // before and after, as in Put
  absl::Status status = Call(zadd, /*may_repeat=*/true).status();
  DropLocal({&index, 1});
  return status;
}

// ZRANGEBYLEX of up to `limit` (> 0) members after `start_after`.
RedisStore::Command RedisStore::IndexRangeCommand(const std::string& index, const std::string& start_after,
                                                  int limit) {
  Command range;
  range.Add("ZRANGEBYLEX").Add(index);
  if (start_after.empty()) {
    range.Add("-");
  } else {
    range.AddOwned(absl::StrCat("(", start_after));
  }
  range.Add("+").Add("LIMIT").Add("0").AddOwned(absl::StrCat(limit));
  return range;
}

namespace {

std::string IndexPageKey(const std::string& start_after, int limit) {
  return absl::StrCat(limit, ":", start_after);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> RedisStore::ParseMembers(const redisReply& array) const {
  if (array.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("ZRANGEBYLEX", array);
  if (array.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(
        absl::StrCat("redis ", endpoint_, ": ZRANGEBYLEX returned an unexpected reply"));
  }
  std::vector<std::string> out;
  out.reserve(array.elements);
  for (size_t i = 0; i < array.elements; ++i) {
    const redisReply& element = *array.element[i];
    if (element.type != REDIS_REPLY_STRING) {
      return absl::InternalError(
          absl::StrCat("redis ", endpoint_, ": ZRANGEBYLEX returned a non-string member"));
    }
    out.emplace_back(ReplyText(element));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisStore::IndexScan(const std::string& index,
                                                               const std::string& start_after, int limit) {
  // LIMIT with a negative count means "all" to Redis; the contract means "none".
  if (limit <= 0) return std::vector<std::string>();
  absl::StatusOr<ReplyPtr> reply = Call(IndexRangeCommand(index, start_after, limit), /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  return ParseMembers(**reply);
}

absl::StatusOr<std::vector<std::string>> RedisStore::IndexScanAndTrack(const std::string& index,
                                                                       const std::string& start_after,
                                                                       int limit) {
  uint64_t seq = 0;
  bool enabled = false;
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    enabled = caching_enabled_;  // as in GetAndTrack: any change from here on voids the reply
    seq = invalidation_seq_;
  }
  if (!enabled || limit <= 0) return IndexScan(index, start_after, limit);
  std::vector<Command> commands;
  commands.reserve(2);
  commands.push_back(Command{"CLIENT", "CACHING", "yes"});
  commands.push_back(IndexRangeCommand(index, start_after, limit));
  absl::StatusOr<std::vector<ReplyPtr>> replies = RoundTrip(commands, /*may_repeat=*/true);
  if (!replies.ok()) return replies.status();
  absl::StatusOr<std::vector<std::string>> members = ParseMembers(*(*replies)[1]);
  if (!members.ok()) return members.status();
  if ((*replies)[0]->type != REDIS_REPLY_STATUS) return members;  // a connection without tracking
  absl::MutexLock lock(&cache_mu_);
  if (!caching_enabled_ || invalidation_seq_ != seq) return members;
  // A page holds up to `limit` members (often a hundred or more), so pages get their own, smaller
  // bound; past it they start over.
  if (index_page_count_ >= kMaxIndexPages) {
    index_pages_.clear();
    index_page_count_ = 0;
  }
  auto [it, added] = index_pages_[index].insert_or_assign(IndexPageKey(start_after, limit), *members);
  if (added) ++index_page_count_;
  return members;
}

std::optional<std::vector<std::string>> RedisStore::TryIndexScanLocal(const std::string& index,
                                                                      const std::string& start_after,
                                                                      int limit) {
  absl::ReaderMutexLock lock(&cache_mu_);
  auto pages = index_pages_.find(index);
  if (pages == index_pages_.end()) return std::nullopt;
  auto page = pages->second.find(IndexPageKey(start_after, limit));
  if (page == pages->second.end()) return std::nullopt;
  return page->second;
}

namespace {

// ScheduleClaim's atomic step. KEYS = [schedule]; ARGV = [now, limit, lease end]: the members due by
// now, earliest first, with their due times, each moved to the lease end.
constexpr absl::string_view kClaimScript = R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
for i = 1, #due, 2 do redis.call('ZADD', KEYS[1], ARGV[3], due[i]) end
return due
)lua";

}  // namespace

absl::Status RedisStore::ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) {
  if (items.empty()) return absl::OkStatus();
  Command zadd;
  zadd.Add("ZADD").Add(schedule);
  for (const ScheduledItem& item : items) zadd.AddOwned(absl::StrCat(item.due_ms)).Add(item.member);
  return Call(zadd, /*may_repeat=*/true).status();
}

absl::StatusOr<std::vector<ScheduledItem>> RedisStore::ScheduleClaim(const std::string& schedule,
                                                                     int64_t now_ms, int64_t lease_ms,
                                                                     int limit) {
  std::vector<ScheduledItem> claimed;
  if (limit <= 0) return claimed;
  Command eval;
  eval.Add("EVAL").Add(kClaimScript).Add("1").Add(schedule);
  eval.AddOwned(absl::StrCat(now_ms)).AddOwned(absl::StrCat(limit)).AddOwned(absl::StrCat(now_ms + lease_ms));
  // Not repeated blindly: a lost reply's claims come back after their lease.
  absl::StatusOr<ReplyPtr> reply = Call(eval, /*may_repeat=*/false);
  if (!reply.ok()) return reply.status();
  const redisReply& array = **reply;
  if (array.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("schedule claim", array);
  if (array.type != REDIS_REPLY_ARRAY || array.elements % 2 != 0) {
    return absl::InternalError(
        absl::StrCat("redis ", endpoint_, ": schedule claim returned an unexpected reply"));
  }
  for (size_t i = 0; i + 1 < array.elements; i += 2) {
    double due = 0;
    if (array.element[i]->type != REDIS_REPLY_STRING || array.element[i + 1]->type != REDIS_REPLY_STRING ||
        !absl::SimpleAtod(ReplyText(*array.element[i + 1]), &due)) {
      return absl::InternalError(absl::StrCat("redis ", endpoint_, ": schedule claim returned a bad member"));
    }
    claimed.push_back(ScheduledItem{std::string(ReplyText(*array.element[i])), static_cast<int64_t>(due)});
  }
  return claimed;
}

absl::Status RedisStore::ScheduleRemove(const std::string& schedule, absl::Span<const std::string> members) {
  if (members.empty()) return absl::OkStatus();
  Command zrem;
  zrem.Add("ZREM").Add(schedule);
  for (const std::string& member : members) zrem.Add(member);
  return Call(zrem, /*may_repeat=*/true).status();
}

absl::StatusOr<std::optional<int64_t>> RedisStore::ScheduleEarliest(const std::string& schedule) {
  Command zrange;
  zrange.Add("ZRANGE").Add(schedule).Add("0").Add("0").Add("WITHSCORES");
  absl::StatusOr<ReplyPtr> reply = Call(zrange, /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  const redisReply& array = **reply;
  if (array.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("schedule earliest", array);
  if (array.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": ZRANGE returned an unexpected reply"));
  }
  if (array.elements == 0) return std::optional<int64_t>();
  double due = 0;
  if (array.elements != 2 || array.element[1]->type != REDIS_REPLY_STRING ||
      !absl::SimpleAtod(ReplyText(*array.element[1]), &due)) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": ZRANGE returned a bad score"));
  }
  return std::optional<int64_t>(static_cast<int64_t>(due));
}

absl::Status RedisStore::IndexRemove(const std::string& index, absl::Span<const std::string> members) {
  if (members.empty()) return absl::OkStatus();
  Command zrem;
  zrem.Add("ZREM").Add(index);
  for (const std::string& member : members) zrem.Add(member);
  DropLocal({&index, 1});  // before and after, as in Put
  absl::Status status = Call(zrem, /*may_repeat=*/true).status();
  DropLocal({&index, 1});
  return status;
}

absl::StatusOr<std::string> RedisStore::LogLastId(const std::string& log) {
  Command range;
  range.Add("XREVRANGE").Add(log).Add("+").Add("-").Add("COUNT").Add("1");
  absl::StatusOr<ReplyPtr> reply = Call(range, /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  const redisReply& array = **reply;
  if (array.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("XREVRANGE", array);
  if (array.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": XREVRANGE returned an unexpected reply"));
  }
  if (array.elements == 0) return std::string();
  const redisReply& entry = *array.element[0];
  if (entry.type != REDIS_REPLY_ARRAY || entry.elements < 1 || entry.element[0]->type != REDIS_REPLY_STRING) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": XREVRANGE returned a bad entry"));
  }
  return std::string(ReplyText(*entry.element[0]));
}

absl::StatusOr<std::vector<LogEntry>> RedisStore::LogRead(const std::string& log, const std::string& after,
                                                          int limit) {
  if (!after.empty() && !IsLogEntryId(after)) {
    return absl::InvalidArgumentError(absl::StrCat("not a log entry id: \"", absl::CHexEscape(after), "\""));
  }
  std::vector<LogEntry> out;
  // COUNT 0 means "all" to Redis; the contract means "none".
  if (limit <= 0) return out;
  Command range;
  range.Add("XRANGE").Add(log);
  if (after.empty()) {
    range.Add("-");
  } else {
    range.AddOwned(absl::StrCat("(", after));
  }
  range.Add("+").Add("COUNT").AddOwned(absl::StrCat(limit));
  absl::StatusOr<ReplyPtr> reply = Call(range, /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  const redisReply& array = **reply;
  if (array.type == REDIS_REPLY_ERROR) {
    // An id past the largest Redis can represent, for example; nothing can follow it.
    if (absl::StrContains(ReplyText(array), "Invalid stream ID")) return out;
    return ReplyErrorStatus("XRANGE", array);
  }
  if (absl::Status status = AppendLogEntries(log, "XRANGE", array, out); !status.ok()) return status;
  return out;
}

absl::Status RedisStore::AppendLogEntries(const std::string& log, absl::string_view what,
                                          const redisReply& array, std::vector<LogEntry>& out) const {
  if (array.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": ", what, " returned an unexpected reply"));
  }
  out.reserve(out.size() + array.elements);
  for (size_t i = 0; i < array.elements; ++i) {
    // Each entry is [id, [field, value]]; Put writes a single field "d".
    const redisReply& entry = *array.element[i];
    if (entry.type == REDIS_REPLY_NIL) continue;
    if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2 ||
        entry.element[0]->type != REDIS_REPLY_STRING || entry.element[1]->type != REDIS_REPLY_ARRAY ||
        entry.element[1]->elements != 2 || entry.element[1]->element[1]->type != REDIS_REPLY_STRING) {
      return absl::InternalError(absl::StrCat("redis ", endpoint_, ": log \"", absl::CHexEscape(log),
                                              "\" holds an entry Steward did not write"));
    }
    out.push_back(LogEntry{std::string(ReplyText(*entry.element[0])),
                           std::string(ReplyText(*entry.element[1]->element[1]))});
  }
  return absl::OkStatus();
}

absl::Status RedisStore::GroupErrorStatus(absl::string_view what, const redisReply& reply) const {
  const absl::string_view error = ReplyText(reply);
  if (absl::StartsWith(error, "NOGROUP") || absl::StartsWith(error, "ERR no such key")) {
    return absl::NotFoundError(absl::StrCat("redis ", endpoint_, ": ", what, ": ", error));
  }
  return ReplyErrorStatus(what, reply);
}

absl::Status RedisStore::LogGroupCreate(const std::string& log, const std::string& group,
                                        const std::string& start_after) {
  if (absl::Status status = CheckLogGroupName(group); !status.ok()) return status;
  if (absl::Status status = CheckLogEntryIds({&start_after, start_after.empty() ? 0u : 1u}); !status.ok()) {
    return status;
  }
  const absl::string_view start = start_after.empty() ? absl::string_view("0") : absl::string_view(start_after);
  absl::StatusOr<ReplyPtr> reply =
      Send(Command{"XGROUP", "CREATE", log, group, start, "MKSTREAM"}, /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    if (absl::StartsWith(ReplyText(**reply), "BUSYGROUP")) return absl::OkStatus();
    return ReplyErrorStatus("XGROUP CREATE", **reply);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LogEntry>> RedisStore::LogGroupRead(const std::string& log, const std::string& group,
                                                               const std::string& consumer, int limit,
                                                               absl::Duration block) {
  if (absl::Status status = CheckLogGroupConsumer(group, consumer, limit); !status.ok()) return status;
  Command read{"XREADGROUP", "GROUP", group, consumer, "COUNT"};
  read.AddOwned(absl::StrCat(limit));
  absl::Duration wait = absl::ZeroDuration();
  if (block > absl::ZeroDuration()) {
    // BLOCK 0 means "forever" to Redis: never send it. Whole milliseconds, rounded up.
    wait = absl::Ceil(std::min(block, kMaxLogGroupBlock), absl::Milliseconds(1));
    read.Add("BLOCK").AddOwned(absl::StrCat(absl::ToInt64Milliseconds(wait)));
  }
  read.Add("STREAMS").Add(log).Add(">");
  // Not repeated blindly: entries delivered by a lost reply stay pending and come back by a claim.
  absl::StatusOr<ReplyPtr> reply = Send(read, /*may_repeat=*/false, wait);
  if (!reply.ok()) return reply.status();
  const redisReply& streams = **reply;
  std::vector<LogEntry> out;
  if (streams.type == REDIS_REPLY_ERROR) return GroupErrorStatus("XREADGROUP", streams);
  if (streams.type == REDIS_REPLY_NIL) return out;  // nothing new (within `block`)
  // [[log, [entry...]]]
  if (streams.type != REDIS_REPLY_ARRAY || streams.elements != 1 ||
      streams.element[0]->type != REDIS_REPLY_ARRAY || streams.element[0]->elements != 2) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": XREADGROUP returned an unexpected reply"));
  }
  if (absl::Status status = AppendLogEntries(log, "XREADGROUP", *streams.element[0]->element[1], out);
      !status.ok()) {
    return status;
  }
  return out;
}

absl::StatusOr<std::vector<LogEntry>> RedisStore::LogGroupClaim(const std::string& log, const std::string& group,
                                                                const std::string& consumer,
                                                                absl::Duration min_idle, int limit) {
  if (absl::Status status = CheckLogGroupConsumer(group, consumer, limit); !status.ok()) return status;
  const std::string idle_ms = absl::StrCat(std::max<int64_t>(0, absl::ToInt64Milliseconds(min_idle)));
  std::vector<LogEntry> out;
  std::string cursor = "0-0";
  do {
    Command claim{"XAUTOCLAIM", log, group, consumer, idle_ms, cursor, "COUNT"};
    claim.AddOwned(absl::StrCat(limit - static_cast<int>(out.size())));
    absl::StatusOr<ReplyPtr> reply = Send(claim, /*may_repeat=*/false);
    if (!reply.ok()) return reply.status();
    const redisReply& array = **reply;
    if (array.type == REDIS_REPLY_ERROR) return GroupErrorStatus("XAUTOCLAIM", array);
    // [next cursor, [entry...]] (Redis 7 adds [deleted id...], which it already dropped from the
    // pending list).
    if (array.type != REDIS_REPLY_ARRAY || array.elements < 2 || array.element[0]->type != REDIS_REPLY_STRING) {
      return absl::InternalError(absl::StrCat("redis ", endpoint_, ": XAUTOCLAIM returned an unexpected reply"));
    }
    if (absl::Status status = AppendLogEntries(log, "XAUTOCLAIM", *array.element[1], out); !status.ok()) {
      return status;
    }
    cursor = std::string(ReplyText(*array.element[0]));
  } while (cursor != "0-0" && static_cast<int>(out.size()) < limit);
  return out;
}

absl::Status RedisStore::LogGroupAck(const std::string& log, const std::string& group,
                                     absl::Span<const std::string> ids) {
  if (absl::Status status = CheckLogGroupName(group); !status.ok()) return status;
  if (absl::Status status = CheckLogEntryIds(ids); !status.ok()) return status;
  if (ids.empty()) return absl::OkStatus();
  Command ack{"XACK", log, group};
  for (const std::string& id : ids) ack.Add(id);
  return Call(ack, /*may_repeat=*/true).status();
}

absl::StatusOr<LogGroupInfo> RedisStore::GetLogGroupInfo(const std::string& log, const std::string& group) {
  if (absl::Status status = CheckLogGroupName(group); !status.ok()) return status;
  absl::StatusOr<ReplyPtr> reply = Send(Command{"XINFO", "GROUPS", log}, /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  const redisReply& groups = **reply;
  if (groups.type == REDIS_REPLY_ERROR) return GroupErrorStatus("XINFO GROUPS", groups);
  if (groups.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": XINFO GROUPS returned an unexpected reply"));
  }
  for (size_t g = 0; g < groups.elements; ++g) {
    // Each group is [field, value, ...].
    const redisReply& fields = *groups.element[g];
    if (fields.type != REDIS_REPLY_ARRAY || fields.elements % 2 != 0) {
      return absl::InternalError(absl::StrCat("redis ", endpoint_, ": XINFO GROUPS returned a bad group"));
    }
    absl::flat_hash_map<absl::string_view, const redisReply*> by_name;
    for (size_t i = 0; i + 1 < fields.elements; i += 2) {
      if (fields.element[i]->type == REDIS_REPLY_STRING) by_name[ReplyText(*fields.element[i])] = fields.element[i + 1];
    }
    auto name = by_name.find("name");
    if (name == by_name.end() || name->second->type != REDIS_REPLY_STRING || ReplyText(*name->second) != group) {
      continue;
    }
    auto pending = by_name.find("pending");
    auto last = by_name.find("last-delivered-id");
    if (pending == by_name.end() || pending->second->type != REDIS_REPLY_INTEGER || last == by_name.end() ||
        last->second->type != REDIS_REPLY_STRING) {
      return absl::InternalError(absl::StrCat("redis ", endpoint_, ": XINFO GROUPS returned a bad group"));
    }
    LogGroupInfo info;
    info.pending = static_cast<int64_t>(pending->second->integer);
    info.last_delivered_id = std::string(ReplyText(*last->second));
    auto lag = by_name.find("lag");  // Redis 7; nil when it cannot tell
    info.lag = lag != by_name.end() && lag->second->type == REDIS_REPLY_INTEGER
                   ? static_cast<int64_t>(lag->second->integer)
                   : -1;
    return info;
  }
  return absl::NotFoundError(absl::StrCat("redis ", endpoint_, ": no consumer group \"", absl::CHexEscape(group),
                                          "\" on log \"", absl::CHexEscape(log), "\""));
}

absl::StatusOr<int64_t> RedisStore::MemoryUsage(const std::string& key) {
  absl::StatusOr<ReplyPtr> reply = Call(Command{"MEMORY", "USAGE", key, "SAMPLES", "0"}, /*may_repeat=*/true);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_NIL) {
    return absl::NotFoundError(absl::StrCat("redis ", endpoint_, ": no key \"", absl::CHexEscape(key), "\""));
  }
  if ((*reply)->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(
        absl::StrCat("redis ", endpoint_, ": MEMORY USAGE returned an unexpected reply"));
  }
  return static_cast<int64_t>((*reply)->integer);
}

absl::Status RedisStore::FlushDb() {
  ClearLocal();
  absl::Status status = Call(Command{"FLUSHDB"}, /*may_repeat=*/true).status();
  ClearLocal();
  return status;
}

absl::StatusOr<RedisStore::ReplyPtr> RedisStore::Send(const Command& command, bool may_repeat,
                                                      absl::Duration extra_wait) {
  absl::StatusOr<std::vector<ReplyPtr>> replies =
      RoundTrip(absl::MakeConstSpan(&command, 1), may_repeat, extra_wait);
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

absl::StatusOr<RedisStore::ReplyPtr> RedisStore::Call(const Command& command, bool may_repeat) {
  absl::StatusOr<ReplyPtr> reply = Send(command, may_repeat);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    return ReplyErrorStatus(absl::string_view(command.argv()[0], command.lengths()[0]), **reply);
  }
  return reply;
}

absl::StatusOr<std::vector<RedisStore::ReplyPtr>> RedisStore::RoundTrip(absl::Span<const Command> commands,
                                                                        bool may_repeat,
                                                                        absl::Duration extra_wait) {
  const bool extended = extra_wait > absl::ZeroDuration();
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<Lease> lease = Acquire();
    if (!lease.ok()) return lease.status();
    redisContext* context = lease->context.get();
    absl::StatusOr<std::vector<ReplyPtr>> replies;
    // A blocking command: its connection waits longer for this one reply, then goes back to the pool
    // with the normal timeout (a connection whose timeout cannot be set back is not pooled again).
    if (extended && redisSetTimeout(context, absl::ToTimeval(options_.command_timeout + extra_wait)) != REDIS_OK) {
      replies = absl::UnavailableError(absl::StrCat("redis ", endpoint_, ": cannot set timeout: ", context->errstr));
    } else {
      replies = RoundTripOnce(context, commands, extra_wait);
      if (extended && replies.ok() &&
          redisSetTimeout(context, absl::ToTimeval(options_.command_timeout)) != REDIS_OK) {
        Release(*std::move(lease), /*healthy=*/false);
        return replies;
      }
    }
    // A pooled connection that Redis closed meanwhile (restart, idle timeout, failover) fails on
    // first use although Redis may be fine; one more try on a fresh connection tells the two apart.
    // Not after a timeout: Redis may still run the command, and the caller has waited long enough.
    const bool stale = lease->reused && !replies.ok() && !TimedOut(*lease->context);
    Release(*std::move(lease), replies.ok());
    if (replies.ok()) {
      NoteSuccess();
      return replies;
    }
    NoteFailure(replies.status());
    // The failure above emptied the idle list, so the retry's Acquire opens a new connection.
    if (!may_repeat || !stale || attempt > 0) return replies.status();
  }
}

absl::StatusOr<std::vector<RedisStore::ReplyPtr>> RedisStore::RoundTripOnce(
    redisContext* context, absl::Span<const Command> commands, absl::Duration extra_wait) {
  ScopedSigpipeBlock no_sigpipe;
  for (const Command& command : commands) {
    if (redisAppendCommandArgv(context, command.argc(), command.argv(), command.lengths()) != REDIS_OK) {
      return absl::ResourceExhaustedError(
          absl::StrCat("redis ", endpoint_, ": cannot buffer command: ", context->errstr));
    }
  }
  std::vector<ReplyPtr> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(context, &reply) != REDIS_OK || reply == nullptr) {
      const absl::string_view error = context->errstr;
      if (context->err == REDIS_ERR_PROTOCOL) {
        return absl::InternalError(absl::StrCat("redis ", endpoint_, ": protocol error: ", error));
      }
      if (TimedOut(*context)) {
        return absl::UnavailableError(absl::StrCat("redis ", endpoint_, ": no reply within ",
                                                   absl::FormatDuration(options_.command_timeout + extra_wait)));
      }
      return absl::UnavailableError(absl::StrCat(
          "redis ", endpoint_, ": connection failed: ", error.empty() ? "unknown error" : error));
    }
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  return replies;
}

bool RedisStore::CanLease() const { return !idle_.empty() || open_ < options_.pool_size; }

absl::StatusOr<RedisStore::Lease> RedisStore::Acquire() {
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &RedisStore::CanLease), options_.pool_wait_timeout)) {
      return absl::UnavailableError(absl::StrCat("redis ", endpoint_, ": all ", options_.pool_size,
                                                 " connections busy for ",
                                                 absl::FormatDuration(options_.pool_wait_timeout)));
    }
    if (!idle_.empty()) {
      Lease lease{std::move(idle_.back()), generation_, /*reused=*/true};
      idle_.pop_back();
      return lease;
    }
    ++open_;  // reserve the slot; connect outside the lock, it can take connect_timeout
    generation = generation_;
  }
  absl::StatusOr<ContextPtr> context = OpenConnection();
  if (!context.ok()) {
    {
      absl::MutexLock lock(&mu_);
      --open_;
    }
    NoteFailure(context.status());
    return context.status();
  }
  return Lease{*std::move(context), generation, /*reused=*/false};
}

absl::StatusOr<RedisStore::ContextPtr> RedisStore::Dial() const {
  ContextPtr context(redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                             absl::ToTimeval(options_.connect_timeout)));
  if (context == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("redis ", endpoint_, ": cannot allocate a connection"));
  }
  if (context->err != 0) {
    return absl::UnavailableError(absl::StrCat("redis ", endpoint_, ": cannot connect: ", context->errstr));
  }
  if (redisSetTimeout(context.get(), absl::ToTimeval(options_.command_timeout)) != REDIS_OK) {
    return absl::UnavailableError(
        absl::StrCat("redis ", endpoint_, ": cannot set timeout: ", context->errstr));
  }
  return context;
}

absl::StatusOr<RedisStore::ContextPtr> RedisStore::OpenConnection() {
  absl::StatusOr<ContextPtr> dialed = Dial();
  if (!dialed.ok()) return dialed.status();
  ContextPtr context = *std::move(dialed);
  if (options_.db != 0) {
    Command select{"SELECT"};
    select.AddOwned(absl::StrCat(options_.db));
    absl::StatusOr<std::vector<ReplyPtr>> reply =
        RoundTripOnce(context.get(), absl::MakeConstSpan(&select, 1));
    if (!reply.ok()) return reply.status();
    if (reply->front()->type == REDIS_REPLY_ERROR) {
      // A wrong db is configuration, not an outage; but Connect surfaces it at start-up either way.
      return absl::InvalidArgumentError(
          absl::StrCat("redis ", endpoint_, ": SELECT ", options_.db, ": ", ReplyText(*reply->front())));
    }
  }
  // Read after Acquire took its generation: a connection that still registers with an old id
  // belongs to an older generation and is closed on release (see TrackingRestored).
  if (const int64_t redirect = redirect_id_.load(); options_.client_side_caching && redirect != 0) {
    Command tracking{"CLIENT", "TRACKING", "on", "REDIRECT"};
    tracking.AddOwned(absl::StrCat(redirect)).Add("OPTIN");
    absl::StatusOr<std::vector<ReplyPtr>> reply =
        RoundTripOnce(context.get(), absl::MakeConstSpan(&tracking, 1));
    if (!reply.ok()) return reply.status();
    // Not an error for ordinary calls: this connection just never holds anything (its CLIENT
    // CACHING fails), and caching stays off until tracking is restored.
    if (reply->front()->type == REDIS_REPLY_ERROR) {
      TrackingRegistrationFailed(redirect, ReplyText(*reply->front()));
    }
  }
  return context;
}

void RedisStore::Release(Lease lease, bool healthy) {
  std::vector<ContextPtr> to_close;
  {
    absl::MutexLock lock(&mu_);
    if (healthy && lease.generation == generation_) {
      idle_.push_back(std::move(lease.context));
      return;
    }
    to_close.push_back(std::move(lease.context));
    if (!healthy) {
      ++generation_;
      for (ContextPtr& context : idle_) to_close.push_back(std::move(context));
      idle_.clear();
    }
    open_ -= static_cast<int>(to_close.size());
  }
  // to_close closes its sockets here, outside the lock.
}

void RedisStore::NoteFailure(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnavailable) return;
  if (reachable_.exchange(false)) {
    Log(LogLevel::kWarning, "redis_unavailable",
        {{"endpoint", endpoint_}, {"error", std::string(status.message())}});
  }
}

void RedisStore::NoteSuccess() {
  if (!reachable_.load(std::memory_order_relaxed) && !reachable_.exchange(true)) {
    Log(LogLevel::kInfo, "redis_reconnected", {{"endpoint", endpoint_}});
  }
}

absl::Status RedisStore::ReplyErrorStatus(absl::string_view what, const redisReply& reply) const {
  const absl::string_view error = ReplyText(reply);
  const std::string message = absl::StrCat("redis ", endpoint_, ": ", what, ": ", error);
  // Transient server states: loading its dataset after a restart, a long script, a replica that
  // lost its primary or a primary demoted by failover. Callers may retry these.
  for (absl::string_view transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (absl::StartsWith(error, transient)) return absl::UnavailableError(message);
  }
  if (absl::StartsWith(error, "OOM")) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

}  // namespace steward

namespace steward {

absl::StatusOr<RedisStore::Listener> RedisStore::OpenListener() {
  absl::StatusOr<ContextPtr> dialed = Dial();
  if (!dialed.ok()) return dialed.status();
  ContextPtr context = *std::move(dialed);
  std::vector<Command> commands;
  commands.push_back(Command{"CLIENT", "ID"});
  commands.push_back(Command{"SUBSCRIBE", kInvalidationChannel});
  absl::StatusOr<std::vector<ReplyPtr>> replies = RoundTripOnce(context.get(), commands);
  if (!replies.ok()) return replies.status();
  const redisReply& id = *(*replies)[0];
  if (id.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("CLIENT ID", id);
  if (id.type != REDIS_REPLY_INTEGER || id.integer <= 0) {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": CLIENT ID returned an unexpected reply"));
  }
  const redisReply& subscribed = *(*replies)[1];
  if (subscribed.type == REDIS_REPLY_ERROR) return ReplyErrorStatus("SUBSCRIBE", subscribed);
  if (subscribed.type != REDIS_REPLY_ARRAY || subscribed.elements != 3 ||
      subscribed.element[0]->type != REDIS_REPLY_STRING || ReplyText(*subscribed.element[0]) != "subscribe") {
    return absl::InternalError(absl::StrCat("redis ", endpoint_, ": SUBSCRIBE returned an unexpected reply"));
  }
  return Listener{std::move(context), static_cast<int64_t>(id.integer)};
}

void RedisStore::ListenLoop(ContextPtr listener) {
  absl::Duration backoff = kListenBackoffMin;
  absl::Time last_heard = absl::Now();
  std::optional<absl::Time> ping_sent;
  while (!stop_.HasBeenNotified()) {
    if (listener == nullptr) {
      if (stop_.WaitForNotificationWithTimeout(backoff)) break;
      absl::StatusOr<Listener> opened = OpenListener();
      if (!opened.ok()) {
        backoff = std::min(backoff * 2, kListenBackoffMax);
        continue;
      }
      backoff = kListenBackoffMin;
      listener = std::move(opened->context);
      last_heard = absl::Now();
      ping_sent.reset();
      TrackingRestored(opened->client_id);
      continue;
    }
    const absl::Status status = PumpInvalidations(listener.get(), last_heard, ping_sent);
    if (!status.ok()) {
      listener.reset();
      if (!tracking_lost_logged_) {
        Log(LogLevel::kWarning, "redis_tracking_lost",
            {{"endpoint", endpoint_}, {"error", std::string(status.message())}});
        tracking_lost_logged_ = true;
      }
      TrackingLost();
    }
  }
}

absl::Status RedisStore::PumpInvalidations(redisContext* listener, absl::Time& last_heard,
                                           std::optional<absl::Time>& ping_sent) {
  // First whatever is already buffered (a read may bring several messages; the first ones may have
  // come with the SUBSCRIBE reply), since poll only reports what is still in the socket.
  for (;;) {
    void* reply = nullptr;
    if (redisGetReplyFromReader(listener, &reply) != REDIS_OK) {
      return absl::InternalError(absl::StrCat("redis ", endpoint_, ": protocol error: ", listener->errstr));
    }
    if (reply == nullptr) break;
    ReplyPtr message(static_cast<redisReply*>(reply));
    ApplyInvalidation(*message);
    last_heard = absl::Now();
    ping_sent.reset();
  }

  pollfd fds[2] = {{listener->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};  // poll skips a negative fd
  const int ready = poll(fds, 2, kListenPollMillis);
  if (ready < 0) {
    if (errno == EINTR) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("redis ", endpoint_, ": poll failed: ", strerror(errno)));
  }
  if (fds[1].revents != 0) return absl::OkStatus();  // shutting down; the caller sees stop_
  if (fds[0].revents != 0) {
    // Readable, closed or failed: the read tells which.
    if (redisBufferRead(listener) != REDIS_OK) {
      return absl::UnavailableError(
          absl::StrCat("redis ", endpoint_, ": invalidation connection failed: ",
                       listener->errstr[0] != '\0' ? listener->errstr : "unknown error"));
    }
    return absl::OkStatus();
  }

  const absl::Time now = absl::Now();
  if (ping_sent.has_value()) {
    if (now - *ping_sent > std::max(options_.command_timeout, kHeartbeatMinTimeout)) {
      return absl::UnavailableError(
          absl::StrCat("redis ", endpoint_, ": invalidation connection does not answer PING"));
    }
  } else if (now - last_heard > kHeartbeatInterval) {
    ScopedSigpipeBlock no_sigpipe;
    if (redisAppendCommand(listener, "PING") != REDIS_OK) {
      return absl::ResourceExhaustedError(absl::StrCat("redis ", endpoint_, ": cannot buffer PING"));
    }
    int done = 0;
    while (!done) {
      if (redisBufferWrite(listener, &done) != REDIS_OK) {
        return absl::UnavailableError(
            absl::StrCat("redis ", endpoint_, ": invalidation connection failed: ", listener->errstr));
      }
    }
    ping_sent = now;
  }
  return absl::OkStatus();
}

void RedisStore::ApplyInvalidation(const redisReply& message) {
  // ["message", channel, payload]; payload is the array of invalidated keys, or null when Redis
  // dropped all tracking (FLUSHALL, FLUSHDB, tracking table overflow). Other replies ("pong",
  // "subscribe") change nothing.
  if (message.type != REDIS_REPLY_ARRAY || message.elements < 1 ||
      message.element[0]->type != REDIS_REPLY_STRING || ReplyText(*message.element[0]) != "message") {
    return;
  }
  const redisReply* payload = message.elements >= 3 ? message.element[2] : nullptr;
  if (payload == nullptr || payload->type != REDIS_REPLY_ARRAY) {
    ClearLocal();  // null, or something unexpected: forgetting everything is always safe
    return;
  }
  absl::MutexLock lock(&cache_mu_);
  for (size_t i = 0; i < payload->elements; ++i) {
    const redisReply& key = *payload->element[i];
    if (key.type == REDIS_REPLY_STRING) EraseLocal(ReplyText(key));
  }
  ++invalidation_seq_;
}

void RedisStore::TrackingLost() {
  redirect_id_.store(0);  // connections opened from now on do not register with a dead id
  absl::flat_hash_map<std::string, Record> dropped;
  absl::MutexLock lock(&cache_mu_);
  caching_enabled_ = false;
  dropped.swap(cache_);
  index_pages_.clear();
  index_page_count_ = 0;
  ++invalidation_seq_;
}

void RedisStore::TrackingRestored(int64_t client_id) {
  // Order matters. 1. New connections register with the new id. 2. Every older connection goes:
  // idle ones now, leased ones when released (their generation is old). 3. Only then caching
  // comes back, with a new sequence number, so a GetAndTrack that began before this (maybe on an
  // old connection, whose notices went to a dead id) cannot hold its result, and one that begins
  // after can only get a connection registered with the new id.
  redirect_id_.store(client_id);
  std::vector<ContextPtr> to_close;
  {
    absl::MutexLock lock(&mu_);
    ++generation_;
    to_close.swap(idle_);
    open_ -= static_cast<int>(to_close.size());
  }
  to_close.clear();  // closes the sockets outside the lock
  {
    absl::flat_hash_map<std::string, Record> dropped;
    absl::MutexLock lock(&cache_mu_);
    dropped.swap(cache_);
    index_pages_.clear();
    index_page_count_ = 0;
    ++invalidation_seq_;
    caching_enabled_ = true;
  }
  if (tracking_lost_logged_) {
    Log(LogLevel::kInfo, "redis_tracking_restored", {{"endpoint", endpoint_}});
    tracking_lost_logged_ = false;
  }
}

void RedisStore::TrackingRegistrationFailed(int64_t client_id, absl::string_view error) {
  {
    absl::flat_hash_map<std::string, Record> dropped;
    absl::MutexLock lock(&cache_mu_);
    // A failure against an id that is no longer current says nothing about the current one.
    if (!caching_enabled_ || redirect_id_.load() != client_id) return;
    caching_enabled_ = false;
    dropped.swap(cache_);
    index_pages_.clear();
    index_page_count_ = 0;
    ++invalidation_seq_;
  }
  Log(LogLevel::kWarning, "redis_tracking_unavailable",
      {{"endpoint", endpoint_}, {"error", std::string(error)}});
}

void RedisStore::DropLocal(absl::Span<const Write> writes) {
  if (!options_.client_side_caching) return;
  absl::MutexLock lock(&cache_mu_);
  for (const Write& write : writes) {
    EraseLocal(write.key);
    for (const AlsoWrite& also : write.also_write) EraseLocal(also.key);
    for (const Append& append : write.appends) EraseLocal(append.key);
    for (const std::string& key : write.also_delete) EraseLocal(key);
  }
  ++invalidation_seq_;
}

void RedisStore::DropLocal(absl::Span<const std::string> keys) {
  if (!options_.client_side_caching) return;
  absl::MutexLock lock(&cache_mu_);
  for (const std::string& key : keys) EraseLocal(key);
  ++invalidation_seq_;
}

void RedisStore::ClearLocal() {
  if (!options_.client_side_caching) return;
  absl::flat_hash_map<std::string, Record> dropped;  // destroyed outside the lock
  absl::MutexLock lock(&cache_mu_);
  dropped.swap(cache_);
  index_pages_.clear();
  index_page_count_ = 0;
  ++invalidation_seq_;
}

void RedisStore::EraseLocal(absl::string_view key) {
  cache_.erase(key);
  if (auto pages = index_pages_.find(key); pages != index_pages_.end()) {
    index_page_count_ -= pages->second.size();
    index_pages_.erase(pages);
  }
}

}  // namespace steward
