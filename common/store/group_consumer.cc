#include "common/store/group_consumer.h"

#include <utility>

#include "common/store/stored_cursor.h"

namespace steward {
namespace {

// How often a following consumer refreshes LastInfo (one extra round trip).
constexpr absl::Duration kInfoEvery = absl::Seconds(1);

GroupConsumer::Options OptionsOf(const FeedSettings& settings, std::string log, std::string group,
                                 std::string legacy_cursor_key) {
  GroupConsumer::Options options;
  options.log = std::move(log);
  options.group = std::move(group);
  options.consumer = settings.consumer;
  options.block = settings.wait;
  options.reclaim_after = settings.reclaim_after;
  options.legacy_cursor_key = std::move(legacy_cursor_key);
  return options;
}

}  // namespace

GroupConsumer::GroupConsumer(Store& store, Options options) : store_(store), options_(std::move(options)) {}

GroupConsumer::GroupConsumer(Store& store, const FeedSettings& settings, std::string log, std::string group,
                             std::string legacy_cursor_key)
    : GroupConsumer(store, OptionsOf(settings, std::move(log), std::move(group), std::move(legacy_cursor_key))) {}

absl::Status GroupConsumer::EnsureGroup() {
  if (group_ready_) return absl::OkStatus();
  std::string start_after;
  if (!options_.legacy_cursor_key.empty()) {
    auto cursor = ReadStoredCursor(store_, options_.legacy_cursor_key);
    if (!cursor.ok()) return cursor.status();
    if (IsLogEntryId(*cursor)) start_after = *cursor;
  }
  if (absl::Status s = store_.LogGroupCreate(options_.log, options_.group, start_after); !s.ok()) return s;
  group_ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LogEntry>> GroupConsumer::NextPage(bool wait) {
  if (!retry_.empty()) return std::move(retry_);  // a page whose handler failed: still pending for us
  const absl::Time now = absl::Now();
  if (now >= next_reclaim_) {
    // At start, everything pending: what this consumer held when its previous process died (and,
    // harmlessly, what other members hold right now). Then only what has been idle for reclaim_after.
    const absl::Duration min_idle = started_ ? options_.reclaim_after : absl::ZeroDuration();
    next_reclaim_ = now + options_.reclaim_every;
    auto orphans =
        store_.LogGroupClaim(options_.log, options_.group, options_.consumer, min_idle, options_.page_size);
    if (!orphans.ok()) return orphans.status();
    if (!orphans->empty()) {
      next_reclaim_ = now;  // there may be more
      return orphans;
    }
    started_ = true;
  }
  return store_.LogGroupRead(options_.log, options_.group, options_.consumer, options_.page_size,
                             wait ? options_.block : absl::ZeroDuration());
}

absl::StatusOr<int> GroupConsumer::Step(const Handler& handler, bool wait) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = EnsureGroup(); !s.ok()) return s;
  auto page = NextPage(wait);
  if (absl::IsNotFound(page.status())) {
    group_ready_ = false;  // the group was deleted under us (a flushed store): made again next time
    return page.status();
  }
  if (!page.ok()) return page.status();
  if (const absl::Time now = absl::Now(); now >= next_info_) {
    next_info_ = now + kInfoEvery;
    auto info = store_.GetLogGroupInfo(options_.log, options_.group);
    if (info.ok()) {
      absl::MutexLock info_lock(&info_mu_);
      last_info_ = *std::move(info);
    }
  }
  if (page->empty()) return 0;
  if (absl::Status s = handler(*page); !s.ok()) {
    retry_ = *std::move(page);  // handed to the handler again at the next Step
    return s;
  }
  std::vector<std::string> ids;
  ids.reserve(page->size());
  for (const LogEntry& entry : *page) ids.push_back(entry.id);
  if (absl::Status s = store_.LogGroupAck(options_.log, options_.group, ids); !s.ok()) {
    retry_ = *std::move(page);  // handled, not acknowledged: handled (harmlessly) and acknowledged again
    return s;
  }
  return static_cast<int>(page->size());
}

absl::StatusOr<bool> GroupConsumer::Follow(const Handler& handler) {
  auto handled = Step(handler, /*wait=*/true);
  if (!handled.ok()) return handled.status();
  return *handled > 0 || options_.block > absl::ZeroDuration();
}

absl::Status GroupConsumer::Drain(const Handler& handler) {
  for (;;) {
    auto handled = Step(handler, /*wait=*/false);
    if (!handled.ok()) return handled.status();
    if (*handled == 0) return absl::OkStatus();
  }
}

LogGroupInfo GroupConsumer::LastInfo() const {
  absl::MutexLock lock(&info_mu_);
  return last_info_;
}

}  // namespace steward
