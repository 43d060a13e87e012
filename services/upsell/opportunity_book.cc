#include "services/upsell/opportunity_book.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/proto_time.h"

namespace steward::upsell {
namespace {

constexpr std::size_t kMaxRequestIdLength = 128;
constexpr std::size_t kMaxNoteLength = 500;
// The sorted index of the accounts that have opportunities.
constexpr absl::string_view kAccountIndex = "upsell-accounts";

bool IsOpen(v1::OpportunityState state) {
  return state == v1::OPPORTUNITY_STATE_OPEN || state == v1::OPPORTUNITY_STATE_OFFERED;
}

void Move(v1::Opportunity& opportunity, v1::OpportunityState state, absl::Time when,
          const std::string& request_id, const std::string& note) {
  opportunity.set_state(state);
  *opportunity.mutable_update_time() = ToProtoTime(when);
  v1::OpportunityTransition& t = *opportunity.add_transitions();
  t.set_state(state);
  *t.mutable_time() = ToProtoTime(when);
  t.set_request_id(request_id);
  t.set_note(note);
}

}  // namespace

OpportunityBook::OpportunityBook(Store& store, const Clock& clock, OpportunityLimits limits)
    : store_(store), clock_(clock), limits_(limits) {}

std::string OpportunityBook::RecordKey(const std::string& account_id) {
  return absl::StrCat("upsell:", KeyTag(account_id));
}

std::optional<std::string> OpportunityBook::AccountOf(const std::string& opportunity_id) {
  const std::size_t slash = opportunity_id.rfind('/');
  int64_t n = 0;
  if (slash == std::string::npos || slash == 0 || !absl::SimpleAtoi(opportunity_id.substr(slash + 1), &n) ||
      n < 1) {
    return std::nullopt;
  }
  return opportunity_id.substr(0, slash);
}

absl::StatusOr<OpportunityBook::Loaded> OpportunityBook::Load(const std::string& account_id) {
  auto loaded = LoadMany({account_id});
  if (!loaded.ok()) return loaded.status();
  return std::move((*loaded)[0]);
}

absl::StatusOr<std::vector<OpportunityBook::Loaded>> OpportunityBook::LoadMany(
    const std::vector<std::string>& account_ids) {
  std::vector<std::string> keys;
  keys.reserve(account_ids.size());
  for (const std::string& id : account_ids) keys.push_back(RecordKey(id));
  auto read = store_.Get(keys);
  if (!read.ok()) return read.status();
  std::vector<Loaded> out(account_ids.size());
  for (std::size_t i = 0; i < account_ids.size(); ++i) {
    if (!(*read)[i].has_value()) continue;
    if (!out[i].record.ParseFromString((*read)[i]->value)) {
      return absl::InternalError(absl::StrCat("opportunities of \"", account_ids[i], "\" are corrupt"));
    }
    out[i].version = (*read)[i]->version;
  }
  return out;
}

bool OpportunityBook::ExpireDue(v1::AccountOpportunities& record, absl::Time now) const {
  bool changed = false;
  for (v1::Opportunity& o : *record.mutable_opportunities()) {
    const absl::Time expires = FromProtoTime(o.expire_time());
    if (IsOpen(o.state()) && expires <= now) {
      Move(o, v1::OPPORTUNITY_STATE_EXPIRED, expires, "", "nobody acted on it in time");
      (*record.mutable_cooldown_start())[o.trigger().trigger_id()] = absl::ToUnixSeconds(expires);
      changed = true;
    }
  }
  return changed;
}

absl::StatusOr<bool> OpportunityBook::Save(const std::string& account_id,
                                           const v1::AccountOpportunities& record, uint64_t version) {
  Write write;
  write.key = RecordKey(account_id);
  write.value = record.SerializeAsString();
  write.expected_version = version;
  auto put = store_.Put({&write, 1});
  if (!put.ok()) return put.status();
  return (*put)[0];
}

absl::StatusOr<OpportunityBook::OpenResult> OpportunityBook::Open(const std::string& account_id,
                                                                  const v1::FiredTrigger& trigger,
                                                                  absl::Duration cooldown,
                                                                  const Loaded* preloaded) {
  for (int attempt = 0; attempt < limits_.max_write_attempts; ++attempt) {
    absl::StatusOr<Loaded> loaded = attempt == 0 && preloaded != nullptr ? *preloaded : Load(account_id);
    if (!loaded.ok()) return loaded.status();
    v1::AccountOpportunities& record = loaded->record;
    const absl::Time now = clock_.Now();
    const bool expired = ExpireDue(record, now);
    OpenResult result;
    for (const v1::Opportunity& o : record.opportunities()) {
      if (IsOpen(o.state()) && o.trigger().trigger_id() == trigger.trigger_id()) {
        result.outcome = OpenOutcome::kAlreadyOpen;
        result.opportunity = o;
      }
    }
    if (result.outcome == OpenOutcome::kOpened) {
      if (auto it = record.cooldown_start().find(trigger.trigger_id()); it != record.cooldown_start().end()) {
        const absl::Time until = absl::FromUnixSeconds(it->second) + cooldown;
        if (now < until) {
          result.outcome = OpenOutcome::kCoolingDown;
          result.cooldown_until = until;
        }
      }
    }
    if (result.outcome == OpenOutcome::kOpened) {
      record.set_opened(record.opened() + 1);
      v1::Opportunity& o = *record.add_opportunities();
      o.set_opportunity_id(absl::StrCat(account_id, "/", record.opened()));
      o.set_account_id(account_id);
      *o.mutable_trigger() = trigger;
      *o.mutable_create_time() = ToProtoTime(now);
      *o.mutable_expire_time() = ToProtoTime(now + limits_.offer_lifetime);
      Move(o, v1::OPPORTUNITY_STATE_OPEN, now, "", "");
      result.opportunity = o;
      // Keep the newest; closed ones go first (an open one is never dropped while under the bound).
      auto& all = *record.mutable_opportunities();
      while (all.size() > limits_.max_kept_per_account) {
        auto closed =
            std::find_if(all.begin(), all.end(), [](const v1::Opportunity& x) { return !IsOpen(x.state()); });
        all.erase(closed != all.end() ? closed : all.begin());
      }
    } else if (!expired) {
      return result;  // nothing to write
    }
    auto saved = Save(account_id, record, loaded->version);
    if (!saved.ok()) return saved.status();
    if (*saved) {
      // Every account with opportunities is listed, for the metrics (idempotent, so a repeat is fine).
      if (record.opened() == 1 && result.outcome == OpenOutcome::kOpened) {
        if (absl::Status s = store_.IndexAdd(std::string(kAccountIndex), {&account_id, 1}); !s.ok()) return s;
      }
      return result;
    }
  }
  return absl::AbortedError(absl::StrCat("opportunities of \"", account_id, "\" kept changing; retry"));
}

absl::Status OpportunityBook::MarkHandedOver(const std::string& account_id,
                                             const std::vector<std::string>& opportunity_ids) {
  for (int attempt = 0; attempt < limits_.max_write_attempts; ++attempt) {
    auto loaded = Load(account_id);
    if (!loaded.ok()) return loaded.status();
    bool changed = false;
    for (v1::Opportunity& o : *loaded->record.mutable_opportunities()) {
      if (o.handed_over() ||
          std::find(opportunity_ids.begin(), opportunity_ids.end(), o.opportunity_id()) == opportunity_ids.end()) {
        continue;
      }
      o.set_handed_over(true);
      changed = true;
    }
    if (!changed) return absl::OkStatus();
    auto saved = Save(account_id, loaded->record, loaded->version);
    if (!saved.ok()) return saved.status();
    if (*saved) return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("opportunities of \"", account_id, "\" kept changing; retry"));
}

absl::StatusOr<v1::Opportunity> OpportunityBook::Get(const std::string& opportunity_id) {
  std::optional<std::string> account = AccountOf(opportunity_id);
  if (!account.has_value()) return FieldError("opportunity_id", "is not an opportunity id (\"ACCOUNT/N\")");
  auto all = ForAccount(*account);
  if (!all.ok()) return all.status();
  for (v1::Opportunity& o : *all) {
    if (o.opportunity_id() == opportunity_id) return std::move(o);
  }
  return absl::NotFoundError(absl::StrCat("opportunity \"", opportunity_id, "\" not found"));
}

absl::StatusOr<std::vector<v1::Opportunity>> OpportunityBook::ForAccount(const std::string& account_id) {
  auto loaded = Load(account_id);
  if (!loaded.ok()) return loaded.status();
  // Reads apply expiry to what they answer without writing it; the next write records it.
  ExpireDue(loaded->record, clock_.Now());
  return std::vector<v1::Opportunity>(loaded->record.opportunities().begin(),
                                      loaded->record.opportunities().end());
}

absl::StatusOr<v1::Opportunity> OpportunityBook::RecordOutcome(const std::string& opportunity_id,
                                                               v1::OpportunityState state,
                                                               const std::string& request_id,
                                                               const std::string& note, double mrr_change) {
  std::optional<std::string> account = AccountOf(opportunity_id);
  if (!account.has_value()) return FieldError("opportunity_id", "is not an opportunity id (\"ACCOUNT/N\")");
  if (request_id.empty() || request_id.size() > kMaxRequestIdLength) {
    return FieldError("request_id", absl::StrCat("must be 1 to ", kMaxRequestIdLength, " characters"));
  }
  if (note.size() > kMaxNoteLength) {
    return FieldError("note", absl::StrCat("is longer than ", kMaxNoteLength, " characters"));
  }
  if (state != v1::OPPORTUNITY_STATE_OFFERED && state != v1::OPPORTUNITY_STATE_ACCEPTED &&
      state != v1::OPPORTUNITY_STATE_DECLINED && state != v1::OPPORTUNITY_STATE_EXPIRED) {
    return FieldError("state", "must be OFFERED, ACCEPTED, DECLINED or EXPIRED");
  }
  for (int attempt = 0; attempt < limits_.max_write_attempts; ++attempt) {
    auto loaded = Load(*account);
    if (!loaded.ok()) return loaded.status();
    v1::AccountOpportunities& record = loaded->record;
    const absl::Time now = clock_.Now();
    ExpireDue(record, now);
    auto it = std::find_if(record.mutable_opportunities()->begin(), record.mutable_opportunities()->end(),
                           [&](const v1::Opportunity& o) { return o.opportunity_id() == opportunity_id; });
    if (it == record.mutable_opportunities()->end()) {
      return absl::NotFoundError(absl::StrCat("opportunity \"", opportunity_id, "\" not found"));
    }
    v1::Opportunity& o = *it;
    for (const v1::OpportunityTransition& t : o.transitions()) {
      if (t.request_id() == request_id) return o;  // a retry: answered as it is
    }
    const bool allowed = IsOpen(o.state()) && !(state == v1::OPPORTUNITY_STATE_OFFERED &&
                                                o.state() == v1::OPPORTUNITY_STATE_OFFERED);
    if (!allowed) {
      return absl::FailedPreconditionError(
          absl::StrCat("opportunity \"", opportunity_id, "\" is ", v1::OpportunityState_Name(o.state()),
                       " and cannot become ", v1::OpportunityState_Name(state)));
    }
    Move(o, state, now, request_id, note);
    if (state == v1::OPPORTUNITY_STATE_ACCEPTED) o.set_mrr_change(mrr_change);
    if (state == v1::OPPORTUNITY_STATE_DECLINED || state == v1::OPPORTUNITY_STATE_EXPIRED) {
      (*record.mutable_cooldown_start())[o.trigger().trigger_id()] = absl::ToUnixSeconds(now);
    }
    v1::Opportunity answer = o;
    auto saved = Save(*account, record, loaded->version);
    if (!saved.ok()) return saved.status();
    if (*saved) return answer;
  }
  return absl::AbortedError(absl::StrCat("opportunities of \"", *account, "\" kept changing; retry"));
}

absl::Status OpportunityBook::ScanAccounts(const std::string& after_account, int batch,
                                           const std::function<bool(v1::AccountOpportunities&)>& visit) {
  const absl::Time now = clock_.Now();
  std::string cursor = after_account;
  for (;;) {
    auto ids = store_.IndexScan(std::string(kAccountIndex), cursor, batch);
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return absl::OkStatus();
    cursor = ids->back();
    std::vector<std::string> keys;
    keys.reserve(ids->size());
    for (const std::string& id : *ids) keys.push_back(RecordKey(id));
    auto records = store_.Get(keys);
    if (!records.ok()) return records.status();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!(*records)[i].has_value()) continue;
      v1::AccountOpportunities record;
      if (!record.ParseFromString((*records)[i]->value)) {
        return absl::InternalError(absl::StrCat("opportunities of \"", (*ids)[i], "\" are corrupt"));
      }
      ExpireDue(record, now);
      if (!visit(record)) return absl::OkStatus();
    }
  }
}

absl::Status OpportunityBook::ForEach(const std::function<void(const v1::Opportunity&)>& visit) {
  return ScanAccounts("", 1000, [&](v1::AccountOpportunities& record) {
    for (const v1::Opportunity& o : record.opportunities()) visit(o);
    return true;
  });
}

absl::StatusOr<std::vector<v1::Opportunity>> OpportunityBook::List(
    const std::string& account_id, const std::string& after_id, int limit,
    const std::function<bool(const v1::Opportunity&)>& keep) {
  std::vector<v1::Opportunity> out;
  std::string after_account;
  int64_t after_seq = 0;
  if (!after_id.empty()) {
    std::optional<std::string> account = AccountOf(after_id);
    if (!account.has_value()) return FieldError("page_token", "is not a token returned by ListOpportunities");
    after_account = *account;
    absl::SimpleAtoi(absl::string_view(after_id).substr(after_account.size() + 1), &after_seq);
  }
  const absl::Time now = clock_.Now();
  // Takes `record`'s opportunities after `from_seq` that `keep` accepts; false once the page is full.
  auto take = [&](v1::AccountOpportunities& record, int64_t from_seq) {
    ExpireDue(record, now);
    for (v1::Opportunity& o : *record.mutable_opportunities()) {
      int64_t seq = 0;
      absl::SimpleAtoi(absl::string_view(o.opportunity_id()).substr(o.account_id().size() + 1), &seq);
      if (seq <= from_seq || !keep(o)) continue;
      if (static_cast<int>(out.size()) == limit) return false;
      out.push_back(std::move(o));
    }
    return true;
  };
  if (!account_id.empty()) {
    if (!after_account.empty() && after_account != account_id) {
      return FieldError("page_token", "belongs to another listing");
    }
    auto loaded = Load(account_id);
    if (!loaded.ok()) return loaded.status();
    take(loaded->record, after_seq);
    return out;
  }
  // The rest of the account the previous page ended in, then the accounts after it.
  if (!after_account.empty()) {
    auto loaded = Load(after_account);
    if (!loaded.ok()) return loaded.status();
    if (!take(loaded->record, after_seq)) return out;
  }
  absl::Status scanned =
      ScanAccounts(after_account, 100, [&](v1::AccountOpportunities& record) { return take(record, 0); });
  if (!scanned.ok()) return scanned;
  return out;
}

}  // namespace steward::upsell
