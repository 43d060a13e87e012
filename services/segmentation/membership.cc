#include "services/segmentation/membership.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/proto_time.h"
#include "common/request_context.h"
#include "services/scoring/keys.h"
#include "services/segmentation/builtin/builtin_segments.h"
#include "services/segmentation/keys.h"
#include "services/segmentation/rules/fields.h"
#include "steward/v1/segmentation_record.pb.h"

namespace steward::segmentation {
namespace {

constexpr int kMaxWriteAttempts = 8;

std::string ValueText(const std::optional<Value>& value) {
  if (!value.has_value()) return "unknown";
  if (const double* number = std::get_if<double>(&*value)) return absl::StrCat(*number);
  return std::string(std::get<absl::string_view>(*value));
}

void AddCounters(v1::SegmentCounters& into, const v1::AccountMemberships& record, int sign) {
  into.set_account_count(into.account_count() + sign);
  into.set_mrr(into.mrr() + sign * record.mrr());
  if (record.has_health()) {
    into.set_health_sum(into.health_sum() + sign * record.health());
    into.set_health_count(into.health_count() + sign);
  }
}

void AddDelta(v1::SegmentCounters& into, const v1::SegmentCounters& delta) {
  into.set_account_count(into.account_count() + delta.account_count());
  into.set_mrr(into.mrr() + delta.mrr());
  into.set_health_sum(into.health_sum() + delta.health_sum());
  into.set_health_count(into.health_count() + delta.health_count());
}

v1::MembershipEvent Event(const std::string& account_id, const std::string& segment_id,
                          v1::MembershipChange change, absl::Time now, std::string reason,
                          const std::string& request_id) {
  v1::MembershipEvent event;
  event.set_request_id(request_id);
  event.set_account_id(account_id);
  event.set_segment_id(segment_id);
  event.set_change(change);
  *event.mutable_time() = ToProtoTime(now);
  event.set_reason(std::move(reason));
  return event;
}

// Why an account left `segment_id`: where it went instead within the same segmentation, or which rule
// no longer holds.
std::string LeaveReason(const std::string& segment_id, const CatalogSnapshot& catalog,
                        const std::vector<v1::SegmentAssignment>& now_in) {
  const std::size_t slash = segment_id.find('/');
  if (slash != std::string::npos) {
    const std::string segmentation = segment_id.substr(0, slash);
    for (const v1::SegmentAssignment& a : now_in) {
      if (a.segmentation() == segmentation) return absl::StrCat("now ", a.segment_id(), ": ", a.reason());
    }
    return "segment no longer assigned";
  }
  for (const CustomSegment& custom : catalog.custom) {
    if (custom.definition.segment_id() == segment_id) {
      return absl::StrCat("no longer matches ", custom.rule.Describe());
    }
  }
  return "segment deleted";
}

}  // namespace

std::vector<v1::SegmentAssignment> AssignSegments(const v1::SegmentationConfig& config,
                                                  const CatalogSnapshot& catalog, const AccountView& view) {
  std::vector<v1::SegmentAssignment> assignments = AssignBuiltInSegments(config, view);
  if (catalog.custom.empty()) return assignments;
  std::vector<std::string> built_in;
  built_in.reserve(assignments.size());
  for (const v1::SegmentAssignment& a : assignments) built_in.push_back(a.segment_id());
  std::sort(built_in.begin(), built_in.end());
  for (const CustomSegment& custom : catalog.custom) {
    if (!custom.rule.Matches(view, built_in)) continue;
    v1::SegmentAssignment& a = assignments.emplace_back();
    a.set_segmentation("custom");
    a.set_segment_id(custom.definition.segment_id());
    a.set_display_name(custom.definition.display_name());
    a.set_reason(absl::StrCat("matches ", custom.rule.Describe()));
    a.set_treatment(custom.definition.treatment());
    for (const FieldRef& field : custom.rule.fields()) {
      if (field.type == FieldType::kSegmentSet) continue;
      v1::SegmentInput& input = *a.add_inputs();
      input.set_field(field.name);
      input.set_value(ValueText(Lookup(field, view)));
    }
  }
  return assignments;
}

// Counter changes (or, during a rebuild, totals) by segment, and for the whole portfolio.
struct MembershipMaintainer::Tally {
  absl::flat_hash_map<std::string, v1::SegmentCounters> segments;
  v1::SegmentCounters portfolio;

  void Merge(const Tally& other) {
    AddDelta(portfolio, other.portfolio);
    for (const auto& [id, counters] : other.segments) AddDelta(segments[id], counters);
  }

  void Add(const v1::AccountMemberships& record, int sign) {
    if (!record.counted()) return;
    AddCounters(portfolio, record, sign);
    for (const std::string& id : record.segment_ids()) AddCounters(segments[id], record, sign);
  }
};

MembershipMaintainer::MembershipMaintainer(Store& store, const Clock& clock,
                                           const scoring::ScoringClient& scoring, SegmentCatalog& catalog,
                                           LoyaltyBook& loyalty, AccountHistoryBook& history,
                                           const v1::SegmentationConfig& config, MaintainerOptions options)
    : store_(store),
      clock_(clock),
      scoring_(scoring),
      catalog_(catalog),
      loyalty_(loyalty),
      history_(history),
      config_(config),
      options_(options),
      changes_(store, options_.feed, std::string(scoring::kChangeFeed), "segmentation",
               std::string(kFeedCursorKey)),
      loop_("segment_maintainer_failed", options_.poll_interval, [this] { return Step(); }) {}

MembershipMaintainer::~MembershipMaintainer() { Stop(); }

absl::Status MembershipMaintainer::Evaluate(const std::vector<std::string>& account_ids,
                                            const RequestIds* request_ids) {
  auto catalog = catalog_.Current();
  if (!catalog.ok()) return catalog.status();
  std::vector<std::string> unique;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& id : account_ids) {
    if (seen.insert(id).second) unique.push_back(id);
  }
  for (std::size_t at = 0; at < unique.size(); at += options_.batch_size) {
    std::vector<std::string> batch(unique.begin() + at,
                                   unique.begin() + std::min(unique.size(), at + options_.batch_size));
    if (absl::Status s = EvaluateBatch(batch, **catalog, nullptr, request_ids); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status MembershipMaintainer::EvaluateBatch(const std::vector<std::string>& ids,
                                                 const CatalogSnapshot& catalog, Tally* totals,
                                                 const RequestIds* request_ids) {
  if (ids.empty()) return absl::OkStatus();
  auto accounts = scoring_.BatchGetAccounts(ids);
  if (!accounts.ok()) return accounts.status();
  auto scores = scoring_.BatchGetScores(ids);
  if (!scores.ok()) return scores.status();
  if (accounts->size() != ids.size() || scores->size() != ids.size()) {
    return absl::InternalError("scoring service answered a batch with the wrong number of accounts");
  }
  const std::size_t n = ids.size();
  std::vector<std::string> keys;
  keys.reserve(2 * n);
  for (const std::string& id : ids) keys.push_back(MembershipsKey(id));
  for (const std::string& id : ids) keys.push_back(LoyaltyBook::RecordKey(id));
  auto records = store_.Get(keys);
  if (!records.ok()) return records.status();

  const absl::Time now = clock_.Now();
  std::vector<AccountHistoryBook::LatestScores> latest_scores;
  // Per account: the new record and the assignments behind it.
  std::vector<v1::AccountMemberships> fresh(n);
  std::vector<std::vector<v1::SegmentAssignment>> assigned(n);
  for (std::size_t i = 0; i < n; ++i) {
    v1::LoyaltyStanding standing;
    const v1::LoyaltyStanding* loyalty = nullptr;
    if (const std::optional<Record>& r = (*records)[n + i]; r.has_value()) {
      v1::LoyaltyRecord record;
      if (!record.ParseFromString(r->value)) {
        return absl::InternalError(absl::StrCat("loyalty record of \"", ids[i], "\" is corrupt"));
      }
      standing = LoyaltyBook::Standing(loyalty_.config(), ids[i], record);
      loyalty = &standing;
    }
    const AccountView view{&(*accounts)[i], &(*scores)[i], loyalty, now};
    assigned[i] = AssignSegments(config_, catalog, view);
    if (totals == nullptr) {
      // Accounts that changed: their latest health and LTV:CAC for portfolio metrics, written below in
      // one round trip. (A rebuild skips this, to stay one pass over the accounts.)
      const v1::Scores& s = (*scores)[i];
      AccountHistoryBook::LatestScores& latest = latest_scores.emplace_back();
      latest.account_id = ids[i];
      if (s.has_health()) latest.health = s.health().score();
      if (s.clv().has_ltv_to_cac()) latest.ltv_to_cac = s.clv().ltv_to_cac();
    }
    v1::AccountMemberships& record = fresh[i];
    std::vector<std::pair<absl::string_view, absl::string_view>> by_id;
    by_id.reserve(assigned[i].size());
    for (const v1::SegmentAssignment& a : assigned[i]) by_id.emplace_back(a.segment_id(), a.reason());
    std::sort(by_id.begin(), by_id.end());
    for (const auto& [id, reason] : by_id) {
      record.add_segment_ids(std::string(id));
      record.add_reasons(std::string(reason));
    }
    record.set_mrr((*accounts)[i].mrr());
    if ((*scores)[i].has_health()) record.set_health((*scores)[i].health().score());
    record.set_counted(true);
  }

  if (!latest_scores.empty()) {
    if (absl::Status st = history_.SetScoresMany(std::move(latest_scores)); !st.ok()) return st;
  }
  Tally delta;
  absl::flat_hash_map<std::string, std::vector<std::string>> added;    // segment -> accounts
  absl::flat_hash_map<std::string, std::vector<std::string>> removed;  // segment -> accounts
  std::vector<std::optional<Record>> current(n);
  for (std::size_t i = 0; i < n; ++i) current[i] = std::move((*records)[i]);
  std::vector<std::size_t> pending(n);
  for (std::size_t i = 0; i < n; ++i) pending[i] = i;

  for (int attempt = 0; !pending.empty(); ++attempt) {
    if (attempt == kMaxWriteAttempts) {
      return absl::AbortedError(
          absl::StrCat("memberships of \"", ids[pending[0]], "\" kept changing; will retry"));
    }
    std::vector<Write> writes;
    std::vector<std::size_t> written;
    std::vector<v1::AccountMemberships> previous;
    for (std::size_t i : pending) {
      v1::AccountMemberships old;
      if (current[i].has_value() && !old.ParseFromString(current[i]->value)) {
        return absl::InternalError(absl::StrCat("membership record of \"", ids[i], "\" is corrupt"));
      }
      if (totals != nullptr) {
        totals->Add(fresh[i], +1);
        // A rebuild also re-adds every member to its indexes (idempotent), repairing an index update
        // that a crash between a membership write and its index update left undone.
        if (attempt == 0) {
          for (const std::string& segment : fresh[i].segment_ids()) added[segment].push_back(ids[i]);
        }
      }
      // Unchanged but for the time: no write (so a rebuild rewrites only what moved).
      fresh[i].set_update_unix_seconds(old.update_unix_seconds());
      if (current[i].has_value() && current[i]->value == fresh[i].SerializeAsString()) continue;
      fresh[i].set_update_unix_seconds(absl::ToUnixSeconds(now));
      Write write;
      write.key = MembershipsKey(ids[i]);
      write.value = fresh[i].SerializeAsString();
      write.expected_version = current[i].has_value() ? current[i]->version : 0;
      // Entered and left: a merge of the two sorted id lists.
      const auto& before = old.segment_ids();
      const auto& after = fresh[i].segment_ids();
      auto b = before.begin();
      auto a = after.begin();
      // The request behind the account's change: who reads the events logs under it too.
      std::string request_id;
      if (request_ids != nullptr) {
        if (auto it = request_ids->find(ids[i]); it != request_ids->end()) request_id = it->second;
      }
      if (const RequestContext* request = CurrentRequest(); request_id.empty() && request != nullptr) {
        request_id = request->request_id;
      }
      auto log = [&](const v1::MembershipEvent& event) {
        LogAppend entry;
        entry.log = std::string(kMembershipLog);
        entry.bytes = event.SerializeAsString();
        entry.max_entries = options_.membership_log_max_entries;
        write.log_appends.push_back(std::move(entry));
      };
      while (b != before.end() || a != after.end()) {
        if (a == after.end() || (b != before.end() && *b < *a)) {
          log(Event(ids[i], *b, v1::MEMBERSHIP_CHANGE_LEFT, now, LeaveReason(*b, catalog, assigned[i]),
                    request_id));
          ++b;
        } else if (b == before.end() || *a < *b) {
          auto it = std::find_if(assigned[i].begin(), assigned[i].end(),
                                 [&](const v1::SegmentAssignment& s) { return s.segment_id() == *a; });
          log(Event(ids[i], *a, v1::MEMBERSHIP_CHANGE_ENTERED, now, it->reason(), request_id));
          ++a;
        } else {
          ++a;
          ++b;
        }
      }
      writes.push_back(std::move(write));
      written.push_back(i);
      previous.push_back(std::move(old));
    }
    if (writes.empty()) break;
    auto applied = store_.Put(writes);
    if (!applied.ok()) return applied.status();
    std::vector<std::size_t> lost;
    std::vector<std::string> reread;
    for (std::size_t w = 0; w < writes.size(); ++w) {
      const std::size_t i = written[w];
      if (!(*applied)[w]) {
        lost.push_back(i);
        reread.push_back(writes[w].key);
        continue;
      }
      delta.Add(previous[w], -1);
      delta.Add(fresh[i], +1);
      for (const auto& entry : writes[w].log_appends) {
        v1::MembershipEvent event;
        event.ParseFromString(entry.bytes);
        auto& index = event.change() == v1::MEMBERSHIP_CHANGE_ENTERED ? added : removed;
        index[event.segment_id()].push_back(ids[i]);
      }
    }
    if (lost.empty()) break;
    // Another maintainer wrote these accounts meanwhile: diff against what it wrote.
    auto again = store_.Get(reread);
    if (!again.ok()) return again.status();
    for (std::size_t l = 0; l < lost.size(); ++l) current[lost[l]] = std::move((*again)[l]);
    if (totals != nullptr) {
      for (std::size_t i : lost) totals->Add(fresh[i], -1);  // re-added on the next attempt
    }
    pending = std::move(lost);
  }

  for (auto& [segment, members] : added) {
    if (absl::Status s = store_.IndexAdd(MembersIndex(segment), members); !s.ok()) return s;
  }
  for (auto& [segment, members] : removed) {
    if (absl::Status s = store_.IndexRemove(MembersIndex(segment), members); !s.ok()) return s;
  }
  // During a rebuild the totals replace the counters at the end instead.
  if (totals == nullptr) return AddToStats(delta);
  return absl::OkStatus();
}

absl::Status MembershipMaintainer::AddToStats(const Tally& delta) {
  if (delta.segments.empty() && delta.portfolio.account_count() == 0 && delta.portfolio.mrr() == 0 &&
      delta.portfolio.health_count() == 0 && delta.portfolio.health_sum() == 0) {
    return absl::OkStatus();
  }
  const std::string key(kStatsKey);
  for (int attempt = 0; attempt < 64; ++attempt) {
    auto read = store_.Get({&key, 1});
    if (!read.ok()) return read.status();
    v1::SegmentStatsRecord stats;
    if ((*read)[0].has_value() && !stats.ParseFromString((*read)[0]->value)) {
      return absl::InternalError("segment stats record is corrupt");
    }
    AddDelta(*stats.mutable_portfolio(), delta.portfolio);
    for (const auto& [segment, d] : delta.segments) {
      v1::SegmentCounters& counters = (*stats.mutable_segments())[segment];
      AddDelta(counters, d);
      if (counters.account_count() <= 0) stats.mutable_segments()->erase(segment);
    }
    Write write;
    write.key = key;
    write.value = stats.SerializeAsString();
    write.expected_version = (*read)[0].has_value() ? (*read)[0]->version : 0;
    auto put = store_.Put({&write, 1});
    if (!put.ok()) return put.status();
    if ((*put)[0]) return absl::OkStatus();
  }
  return absl::AbortedError("segment stats kept changing; will retry");
}

absl::Status MembershipMaintainer::ReplaceStats(const Tally& total) {
  v1::SegmentStatsRecord stats;
  *stats.mutable_portfolio() = total.portfolio;
  for (const auto& [segment, counters] : total.segments) (*stats.mutable_segments())[segment] = counters;
  Write write;
  write.key = std::string(kStatsKey);
  write.value = stats.SerializeAsString();
  return store_.Put({&write, 1}).status();
}

absl::Status MembershipMaintainer::Rebuild() {
  auto catalog = catalog_.Current();
  if (!catalog.ok()) return catalog.status();
  const absl::Time started = absl::Now();
  // The account ids first (a few kilobytes per thousand), then the evaluation in parallel batches: the
  // cost is in the round trips of each batch, which overlap.
  std::vector<std::string> ids;
  std::string token;
  do {
    auto page = scoring_.ListAccounts(token, 1000);
    if (!page.ok()) return page.status();
    for (const v1::Account& account : page->accounts()) ids.push_back(account.account_id());
    token = page->next_page_token();
  } while (!token.empty());

  const int threads = std::max(1, options_.rebuild_parallelism);
  const std::size_t batches = (ids.size() + options_.batch_size - 1) / options_.batch_size;
  std::vector<Tally> totals(threads);
  std::vector<absl::Status> errors(threads);
  std::atomic<std::size_t> next{0};
  std::atomic<int64_t> done{0};
  auto work = [&](int t) {
    absl::Time reported = started;
    for (std::size_t b = next.fetch_add(1); b < batches && errors[t].ok(); b = next.fetch_add(1)) {
      const std::size_t begin = b * options_.batch_size;
      std::vector<std::string> batch(ids.begin() + begin,
                                     ids.begin() + std::min(ids.size(), begin + options_.batch_size));
      errors[t] = EvaluateBatch(batch, **catalog, &totals[t]);
      done.fetch_add(static_cast<int64_t>(batch.size()));
      if (t == 0 && absl::Now() - reported > absl::Seconds(5)) {
        reported = absl::Now();
        Log(LogLevel::kInfo, "segment_rebuild_progress",
            {{"accounts", absl::StrCat(done.load())}, {"of", absl::StrCat(ids.size())}});
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);  // this thread works too, and reports progress on long rebuilds
  for (std::thread& thread : pool) thread.join();
  for (const absl::Status& s : errors) {
    if (!s.ok()) return s;
  }
  Tally total;
  for (const Tally& part : totals) total.Merge(part);
  // Accounts whose records named segments that no longer exist were rewritten above; the counters of
  // those segments vanish with the replacement.
  if (absl::Status s = ReplaceStats(total); !s.ok()) return s;
  rebuilt_catalog_version_ = (*catalog)->version;
  rebuilt_ = true;
  last_rebuild_ = clock_.Now();
  rebuilds_.fetch_add(1);
  Log(LogLevel::kInfo, "segment_rebuild_done",
      {{"accounts", absl::StrCat(ids.size())},
       {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - started))}});
  return absl::OkStatus();
}

absl::StatusOr<bool> MembershipMaintainer::Step() {
  auto catalog = catalog_.Current();
  if (!catalog.ok()) return catalog.status();
  if (!rebuilt_ || (*catalog)->version != rebuilt_catalog_version_ ||
      clock_.Now() - last_rebuild_ >= options_.rebuild_interval) {
    if (absl::Status s = Rebuild(); !s.ok()) return s;
  }

  return changes_.Follow([this](absl::Span<const LogEntry> entries) { return OnChanges(entries); });
}

absl::Status MembershipMaintainer::Drain() {
  return changes_.Drain([this](absl::Span<const LogEntry> entries) { return OnChanges(entries); });
}

absl::Status MembershipMaintainer::OnChanges(absl::Span<const LogEntry> entries) {
  std::vector<v1::AccountChange> changes;
  changes.reserve(entries.size());
  for (const LogEntry& entry : entries) {
    if (!changes.emplace_back().ParseFromString(entry.bytes)) {
      // Nothing would ever read it better: skipping it is the only way on.
      Log(LogLevel::kError, "segment_feed_entry_corrupt", {{"entry_id", entry.id}});
      changes.pop_back();
      continue;
    }
    changes.back().set_cursor(entry.id);  // the history applies each change once, by its position
  }
  std::vector<std::string> ids;
  RequestIds request_ids;
  absl::flat_hash_map<std::string, std::vector<v1::Event>> events;
  for (const v1::AccountChange& change : changes) {
    ids.push_back(change.account_id());
    request_ids[change.account_id()] = change.request_id();
    if (change.kind() == v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED) {
      auto& list = events[change.account_id()];
      list.insert(list.end(), change.events().begin(), change.events().end());
    }
  }
  // The history behind portfolio metrics, change by change in feed order (each change applies once,
  // so a repeat after a crash is harmless). An upsert carries the account as it stored it.
  if (absl::Status s = history_.ApplyPage(changes); !s.ok()) return s;
  // Points first: the loyalty tier is one of the segmentations evaluated next. Both are idempotent,
  // so a page handled again after a crash only repeats work.
  for (const auto& [account_id, list] : events) {
    if (absl::Status s = loyalty_.EarnFromEvents(account_id, list); !s.ok()) return s;
  }
  return Evaluate(ids, &request_ids);
}

void MembershipMaintainer::Start() { loop_.Start(); }

void MembershipMaintainer::Stop() { loop_.Stop(); }

}  // namespace steward::segmentation
