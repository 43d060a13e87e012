#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store/memory_store.h"
#include "common/store/redis_store.h"
#include "tests/support/redis_server.h"

namespace steward::testing {

// The two stores every API test runs on.
enum class StoreKind { kMemory, kRedis };

// A fresh store of `kind`: in memory, or a real redis-server started for the test (kept in `redis`,
// which must outlive the store) with round trips bounded by `timeout`.
inline absl::StatusOr<std::unique_ptr<Store>> MakeTestStore(
    StoreKind kind, std::unique_ptr<RedisServer>& redis, absl::Duration timeout = absl::Milliseconds(500)) {
  if (kind == StoreKind::kMemory) return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
  redis = std::make_unique<RedisServer>();
  if (absl::Status s = redis->Start(); !s.ok()) return s;
  RedisOptions options;
  options.port = redis->port();
  options.command_timeout = timeout;
  options.connect_timeout = timeout;
  auto store = RedisStore::Connect(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

// Names the parameterised tests "Memory" and "Redis".
inline const char* StoreKindName(StoreKind kind) { return kind == StoreKind::kMemory ? "Memory" : "Redis"; }

}  // namespace steward::testing
