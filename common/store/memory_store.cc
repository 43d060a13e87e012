#include "common/store/memory_store.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace steward {
namespace {

std::string EntryId(uint64_t n) { return absl::StrCat(n, "-0"); }

}  // namespace

absl::StatusOr<std::vector<std::optional<Record>>> MemoryStore::Get(absl::Span<const std::string> keys) {
  std::vector<std::optional<Record>> out;
  out.reserve(keys.size());
  absl::MutexLock lock(&mu_);
  for (const std::string& key : keys) {
    auto it = records_.find(key);
    if (it == records_.end()) {
      out.emplace_back(std::nullopt);
    } else {
      out.emplace_back(it->second);
    }
  }
  return out;
}

absl::StatusOr<std::vector<bool>> MemoryStore::Put(absl::Span<const Write> writes) {
  std::vector<bool> applied;
  applied.reserve(writes.size());
  absl::MutexLock lock(&mu_);
  for (const Write& write : writes) {
    auto it = records_.find(write.key);
    const uint64_t current = it == records_.end() ? 0 : it->second.version;
    auto guard_fails = [this](const Guard& guard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      auto g = records_.find(guard.key);
      return (g == records_.end() ? 0 : g->second.version) != guard.version;
    };
    if ((write.expected_version.has_value() && *write.expected_version != current) ||
        std::any_of(write.guards.begin(), write.guards.end(), guard_fails)) {
      applied.push_back(false);
      continue;
    }
    records_[write.key] = Record{write.value, current + 1};
    for (const AlsoWrite& also : write.also_write) {
      Record& record = records_[also.key];
      record.value = also.value;
      ++record.version;
    }
    for (const Append& append : write.appends) {
      auto [log, created] = records_.try_emplace(append.key, Record{append.bytes, 1});
      if (!created) {
        if (append.replace) {
          log->second.value = append.bytes;
        } else {
          log->second.value += append.bytes;
        }
        log->second.version = 1;
      }
    }
    for (const LogAppend& entry : write.log_appends) {
      Log& log = logs_[entry.log];
      log.entries.emplace_back(++log.last_id, entry.bytes);
      while (static_cast<int64_t>(log.entries.size()) > std::max<int64_t>(entry.max_entries, 1)) {
        log.entries.pop_front();
      }
    }
    for (const ScheduleChange& change : write.schedule_changes) {
      if (change.due_ms.has_value()) {
        AddToSchedule(schedules_[change.schedule], change.member, *change.due_ms);
      } else if (auto found = schedules_.find(change.schedule); found != schedules_.end()) {
        RemoveFromSchedule(found->second, change.member);
      }
    }
    for (const std::string& key : write.also_delete) records_.erase(key);
    applied.push_back(true);
  }
  return applied;
}

absl::Status MemoryStore::Delete(absl::Span<const std::string> keys) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : keys) records_.erase(key);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<Record>>> MemoryStore::GetAndTrack(
    absl::Span<const std::string> keys) {
  return Get(keys);
}

std::optional<std::vector<Record>> MemoryStore::TryGetLocal(absl::Span<const std::string> keys) {
  std::vector<Record> out;
  out.reserve(keys.size());
  absl::MutexLock lock(&mu_);
  for (const std::string& key : keys) {
    auto it = records_.find(key);
    if (it == records_.end()) return std::nullopt;
    out.push_back(it->second);
  }
  return out;
}

absl::Status MemoryStore::IndexAdd(const std::string& index, absl::Span<const std::string> members) {
  absl::MutexLock lock(&mu_);
  auto& set = indexes_[index];
  set.insert(members.begin(), members.end());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemoryStore::IndexScan(const std::string& index,
                                                                const std::string& start_after, int limit) {
  std::vector<std::string> out;
  absl::MutexLock lock(&mu_);
  auto it = indexes_.find(index);
  if (it == indexes_.end()) return out;
  for (auto m = it->second.upper_bound(start_after); m != it->second.end() && limit > 0; ++m, --limit) {
    out.push_back(*m);
  }
  return out;
}

std::optional<std::vector<std::string>> MemoryStore::TryIndexScanLocal(const std::string& index,
                                                                       const std::string& start_after,
                                                                       int limit) {
  absl::StatusOr<std::vector<std::string>> page = IndexScan(index, start_after, limit);
  if (!page.ok()) return std::nullopt;
  return *std::move(page);
}

void MemoryStore::AddToSchedule(Schedule& s, const std::string& member, int64_t due_ms) {
  if (auto it = s.due.find(member); it != s.due.end()) s.by_due.erase({it->second, member});
  s.due[member] = due_ms;
  s.by_due.insert({due_ms, member});
}

void MemoryStore::RemoveFromSchedule(Schedule& s, const std::string& member) {
  if (auto it = s.due.find(member); it != s.due.end()) {
    s.by_due.erase({it->second, member});
    s.due.erase(it);
  }
}

absl::StatusOr<std::optional<int64_t>> MemoryStore::ScheduleEarliest(const std::string& schedule) {
  absl::MutexLock lock(&mu_);
  auto found = schedules_.find(schedule);
  if (found == schedules_.end() || found->second.by_due.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(found->second.by_due.begin()->first);
}

absl::Status MemoryStore::ScheduleAdd(const std::string& schedule, absl::Span<const ScheduledItem> items) {
  absl::MutexLock lock(&mu_);
  Schedule& s = schedules_[schedule];
  for (const ScheduledItem& item : items) AddToSchedule(s, item.member, item.due_ms);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ScheduledItem>> MemoryStore::ScheduleClaim(const std::string& schedule,
                                                                      int64_t now_ms, int64_t lease_ms,
                                                                      int limit) {
  std::vector<ScheduledItem> claimed;
  absl::MutexLock lock(&mu_);
  auto found = schedules_.find(schedule);
  if (found == schedules_.end()) return claimed;
  Schedule& s = found->second;
  while (static_cast<int>(claimed.size()) < limit && !s.by_due.empty() && s.by_due.begin()->first <= now_ms) {
    auto [due, member] = *s.by_due.begin();
    s.by_due.erase(s.by_due.begin());
    s.by_due.insert({now_ms + lease_ms, member});
    s.due[member] = now_ms + lease_ms;
    claimed.push_back(ScheduledItem{std::move(member), due});
  }
  return claimed;
}

absl::Status MemoryStore::ScheduleRemove(const std::string& schedule, absl::Span<const std::string> members) {
  absl::MutexLock lock(&mu_);
  auto found = schedules_.find(schedule);
  if (found == schedules_.end()) return absl::OkStatus();
  for (const std::string& member : members) RemoveFromSchedule(found->second, member);
  return absl::OkStatus();
}

absl::Status MemoryStore::IndexRemove(const std::string& index, absl::Span<const std::string> members) {
  absl::MutexLock lock(&mu_);
  auto it = indexes_.find(index);
  if (it == indexes_.end()) return absl::OkStatus();
  for (const std::string& member : members) it->second.erase(member);
  if (it->second.empty()) indexes_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LogEntry>> MemoryStore::LogRead(const std::string& log, const std::string& after,
                                                           int limit) {
  // Ids are "<n>-0", so an entry follows `after` = "<a>-<b>" when n > a (or n == a and 0 > b, never).
  uint64_t after_n = 0;
  if (!after.empty()) {
    if (!IsLogEntryId(after)) {
      return absl::InvalidArgumentError(absl::StrCat("not a log entry id: \"", after, "\""));
    }
    // Saturates: an id beyond what this store can count is after every entry it will ever hold.
    if (!absl::SimpleAtoi(absl::string_view(after).substr(0, after.find('-')), &after_n))
      after_n = UINT64_MAX;
  }
  std::vector<LogEntry> out;
  absl::MutexLock lock(&mu_);
  auto it = logs_.find(log);
  if (it == logs_.end() || limit <= 0) return out;
  const auto& entries = it->second.entries;
  for (auto e = EntriesAfter(it->second, after_n); e != entries.end() && static_cast<int>(out.size()) < limit;
       ++e) {
    out.push_back(LogEntry{EntryId(e->first), e->second});
  }
  return out;
}

std::deque<std::pair<uint64_t, std::string>>::const_iterator MemoryStore::EntriesAfter(const Log& log,
                                                                                       uint64_t after) {
  return std::upper_bound(log.entries.begin(), log.entries.end(), after,
                          [](uint64_t n, const auto& entry) { return n < entry.first; });
}

absl::StatusOr<std::string> MemoryStore::LogLastId(const std::string& log) {
  absl::MutexLock lock(&mu_);
  auto it = logs_.find(log);
  if (it == logs_.end() || it->second.last_id == 0) return std::string();
  return EntryId(it->second.last_id);
}

absl::StatusOr<MemoryStore::Group*> MemoryStore::FindGroup(const std::string& log, const std::string& group) {
  auto found = logs_.find(log);
  if (found != logs_.end()) {
    if (auto g = found->second.groups.find(group); g != found->second.groups.end()) return &g->second;
  }
  return absl::NotFoundError(absl::StrCat("no consumer group \"", group, "\" on log \"", log, "\""));
}

absl::Status MemoryStore::LogGroupCreate(const std::string& log, const std::string& group,
                                         const std::string& start_after) {
  if (absl::Status status = CheckLogGroupName(group); !status.ok()) return status;
  std::pair<uint64_t, uint64_t> start{0, 0};
  if (!start_after.empty()) {
    if (absl::Status status = CheckLogEntryIds({&start_after, 1}); !status.ok()) return status;
    start = *ParseLogEntryId(start_after);
  }
  absl::MutexLock lock(&mu_);
  auto [it, created] = logs_[log].groups.try_emplace(group);
  if (created) {
    // Entries are "<n>-0", so those after "<a>-<b>" are the ones numbered above a.
    it->second.last_delivered = start.first;
    it->second.last_delivered_id = absl::StrCat(start.first, "-", start.second);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LogEntry>> MemoryStore::LogGroupRead(const std::string& log, const std::string& group,
                                                                const std::string& consumer, int limit,
                                                                absl::Duration block) {
  if (absl::Status status = CheckLogGroupConsumer(group, consumer, limit); !status.ok()) return status;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Group*> found = FindGroup(log, group);
  if (!found.ok()) return found.status();
  if (block > absl::ZeroDuration() && logs_.at(log).last_id <= (*found)->last_delivered) {
    // Every append to any log releases mu_, which re-evaluates this; nothing removes groups, but the
    // map may rehash meanwhile, so look everything up again afterwards.
    struct HasNew {
      MemoryStore* store;
      const std::string* log;
      const std::string* group;
      bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(store->mu_) {
        const Log& l = store->logs_.at(*log);
        return l.last_id > l.groups.at(*group).last_delivered;
      }
    } has_new{this, &log, &group};
    mu_.AwaitWithTimeout(absl::Condition(&has_new), block);
    found = FindGroup(log, group);
    if (!found.ok()) return found.status();
  }
  Group& g = **found;
  const Log& l = logs_.at(log);
  std::vector<LogEntry> out;
  const absl::Time now = absl::Now();
  for (auto e = EntriesAfter(l, g.last_delivered); e != l.entries.end() && static_cast<int>(out.size()) < limit;
       ++e) {
    out.push_back(LogEntry{EntryId(e->first), e->second});
    g.pending[e->first] = PendingEntry{consumer, now, 1};
    g.last_delivered = e->first;
    g.last_delivered_id = out.back().id;
  }
  return out;
}

absl::StatusOr<std::vector<LogEntry>> MemoryStore::LogGroupClaim(const std::string& log, const std::string& group,
                                                                 const std::string& consumer,
                                                                 absl::Duration min_idle, int limit) {
  if (absl::Status status = CheckLogGroupConsumer(group, consumer, limit); !status.ok()) return status;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Group*> found = FindGroup(log, group);
  if (!found.ok()) return found.status();
  Group& g = **found;
  const Log& l = logs_.at(log);
  std::vector<LogEntry> out;
  const absl::Time now = absl::Now();
  for (auto p = g.pending.begin(); p != g.pending.end() && static_cast<int>(out.size()) < limit;) {
    if (now - p->second.delivered < min_idle) {
      ++p;
      continue;
    }
    auto e = EntriesAfter(l, p->first - 1);
    if (e == l.entries.end() || e->first != p->first) {  // trimmed away: Redis drops it too
      p = g.pending.erase(p);
      continue;
    }
    out.push_back(LogEntry{EntryId(e->first), e->second});
    p->second.consumer = consumer;
    p->second.delivered = now;
    ++p->second.deliveries;
    ++p;
  }
  return out;
}

absl::Status MemoryStore::LogGroupAck(const std::string& log, const std::string& group,
                                      absl::Span<const std::string> ids) {
  if (absl::Status status = CheckLogGroupName(group); !status.ok()) return status;
  if (absl::Status status = CheckLogEntryIds(ids); !status.ok()) return status;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Group*> found = FindGroup(log, group);
  if (!found.ok()) return absl::OkStatus();  // nothing is pending in a group that does not exist
  for (const std::string& id : ids) {
    const std::pair<uint64_t, uint64_t> parsed = *ParseLogEntryId(id);
    if (parsed.second == 0) (*found)->pending.erase(parsed.first);
  }
  return absl::OkStatus();
}

absl::StatusOr<LogGroupInfo> MemoryStore::GetLogGroupInfo(const std::string& log, const std::string& group) {
  if (absl::Status status = CheckLogGroupName(group); !status.ok()) return status;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Group*> found = FindGroup(log, group);
  if (!found.ok()) return found.status();
  const Log& l = logs_.at(log);
  LogGroupInfo info;
  info.pending = static_cast<int64_t>((*found)->pending.size());
  info.lag = l.entries.end() - EntriesAfter(l, (*found)->last_delivered);
  info.last_delivered_id = (*found)->last_delivered_id;
  return info;
}

}  // namespace steward
