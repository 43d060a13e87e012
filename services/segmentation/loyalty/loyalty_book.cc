#include "services/segmentation/loyalty/loyalty_book.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/field_error.h"
#include "common/proto_time.h"

namespace steward::segmentation {
namespace {

constexpr absl::string_view kAward = "award";
constexpr absl::string_view kRedemption = "redemption";
constexpr absl::string_view kDailyUse = "daily_use";
constexpr absl::string_view kFeatureUse = "feature_use";
constexpr absl::string_view kReferral = "referral";
constexpr absl::string_view kFeedback = "feedback";
constexpr absl::string_view kSocialShare = "social_share";

// Event.sentiment above this is positive (event.proto); such a social mention counts as a share.
constexpr double kPositiveSentiment = 0.5;

std::vector<v1::LoyaltyReward> SortedRewards(const v1::LoyaltyConfig& config) {
  std::vector<v1::LoyaltyReward> rewards(config.rewards().begin(), config.rewards().end());
  std::sort(rewards.begin(), rewards.end(), [](const v1::LoyaltyReward& a, const v1::LoyaltyReward& b) {
    return a.points() != b.points() ? a.points() < b.points() : a.reward_id() < b.reward_id();
  });
  return rewards;
}

// Parses a stored record into `out`; an absent one leaves `out` empty.
template <typename Message>
absl::Status ParseStored(const std::optional<Record>& record, const std::string& key, Message& out) {
  out.Clear();
  if (record.has_value() && !out.ParseFromString(record->value)) {
    return absl::InternalError(absl::StrCat("stored \"", key, "\" cannot be parsed as ", out.GetTypeName()));
  }
  return absl::OkStatus();
}

// The page token is opaque to clients; inside it is "<newest entry number of the page>/<account id>",
// so that a token cannot be used for another account.
std::string EncodePageToken(int64_t start, const std::string& account_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(start, "/", account_id));
}

std::optional<int64_t> DecodePageToken(const std::string& token, const std::string& account_id) {
  std::string plain;
  if (!absl::WebSafeBase64Unescape(token, &plain)) return std::nullopt;
  const std::size_t slash = plain.find('/');
  int64_t start = 0;
  if (slash == std::string::npos || !absl::SimpleAtoi(absl::string_view(plain).substr(0, slash), &start) ||
      absl::string_view(plain).substr(slash + 1) != account_id) {
    return std::nullopt;
  }
  return start;
}

absl::Status CheckRequestId(const std::string& request_id) {
  if (request_id.empty()) return FieldError("request_id", "is required");
  if (request_id.size() > LoyaltyBook::kMaxRequestIdLength) {
    return FieldError("request_id",
                      absl::StrCat("is longer than ", LoyaltyBook::kMaxRequestIdLength, " characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckNote(const std::string& note) {
  if (note.size() > LoyaltyBook::kMaxNoteLength) {
    return FieldError("note", absl::StrCat("is longer than ", LoyaltyBook::kMaxNoteLength, " characters"));
  }
  return absl::OkStatus();
}

// How an entry of a request reads in an ALREADY_EXISTS message.
std::string DescribeRequest(const v1::LoyaltyEntry& entry) {
  if (entry.kind() == kRedemption) return absl::StrCat("a redemption of reward \"", entry.subject(), "\"");
  if (entry.kind() == kAward) return absl::StrCat("an award of ", entry.points(), " points");
  return absl::StrCat("an entry of kind \"", entry.kind(), "\"");
}

// Whether a stored entry answers the same request as `wanted` (see the class comment).
bool SameRequest(const v1::LoyaltyEntry& stored, const v1::LoyaltyEntry& wanted) {
  if (stored.kind() != wanted.kind()) return false;
  if (wanted.kind() == kRedemption) return stored.subject() == wanted.subject();
  return stored.points() == wanted.points();
}

std::string UtcDay(absl::Time time) { return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone()); }

}  // namespace

LoyaltyBook::LoyaltyBook(Store& store, const Clock& clock, v1::LoyaltyConfig config)
    : store_(store), clock_(clock), config_(std::move(config)), rewards_(SortedRewards(config_)) {}

std::string LoyaltyBook::RecordKey(const std::string& account_id) {
  return absl::StrCat("loyalty:", KeyTag(account_id));
}

std::string LoyaltyBook::EntryKey(const std::string& account_id, int64_t seq) {
  return absl::StrCat("loyalty:", KeyTag(account_id), ":seq:", seq);
}

std::string LoyaltyBook::RequestMarkerKey(const std::string& account_id, const std::string& request_id) {
  return absl::StrCat("loyalty:", KeyTag(account_id), ":req:", request_id);
}

std::string LoyaltyBook::EarnedMarkerKey(const std::string& account_id, const std::string& entry_id) {
  return absl::StrCat("loyalty:", KeyTag(account_id), ":earn:", entry_id);
}

v1::LoyaltyTier LoyaltyBook::TierFor(const v1::LoyaltyConfig& config, int64_t earned) {
  v1::LoyaltyTier tier = v1::LOYALTY_TIER_UNSPECIFIED;
  for (int i = 0; i < config.tiers_size(); ++i) {
    // The lowest tier also takes the (impossible) negative totals.
    if (i == 0 || config.tiers(i).min_earned() <= earned) tier = config.tiers(i).tier();
  }
  return tier;
}

v1::LoyaltyStanding LoyaltyBook::Standing(const v1::LoyaltyConfig& config, const std::string& account_id,
                                          const v1::LoyaltyRecord& record) {
  v1::LoyaltyStanding standing;
  standing.set_account_id(account_id);
  standing.set_balance(record.balance());
  standing.set_earned(record.earned());
  standing.set_redeemed(record.redeemed());
  standing.set_tier(TierFor(config, record.earned()));
  standing.set_entry_count(record.entry_count());
  for (const v1::LoyaltyTierThreshold& tier : config.tiers()) {
    if (tier.min_earned() > record.earned()) {
      standing.set_points_to_next_tier(tier.min_earned() - record.earned());
      break;
    }
  }
  return standing;
}

absl::StatusOr<LoyaltyBook::Committed> LoyaltyBook::Commit(const std::string& account_id,
                                                           absl::Span<const Candidate> candidates,
                                                           const Precondition& precondition) {
  const std::string record_key = RecordKey(account_id);
  std::vector<std::string> keys;
  keys.reserve(candidates.size() + 1);
  keys.push_back(record_key);
  for (const Candidate& candidate : candidates) keys.push_back(candidate.marker_key);

  // Every write of an account Puts its record, so two writers of one account always collide: within
  // this process they take turns on the account's stripe instead of wasting round trips, and only
  // writers in other processes can make an attempt fail.
  const StripedMutex::Lock lock = write_stripes_.LockKeys({record_key});
  for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
    // Every attempt reads the markers again: after a lost race this tells a concurrent duplicate (its
    // marker is there now) from a plain conflict.
    absl::StatusOr<std::vector<std::optional<Record>>> read = store_.Get(keys);
    if (!read.ok()) return read.status();
    Committed out;
    if (absl::Status st = ParseStored((*read)[0], record_key, out.record); !st.ok()) return st;
    out.seqs.resize(candidates.size());
    out.existed.resize(candidates.size());
    out.entries.resize(candidates.size());

    Write write;
    write.key = record_key;
    write.expected_version = (*read)[0].has_value() ? (*read)[0]->version : 0;
    v1::LoyaltyRecord& record = out.record;
    const google::protobuf::Timestamp now = ToProtoTime(clock_.Now());
    bool checked = false;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& candidate = candidates[i];
      if (const std::optional<Record>& stored = (*read)[i + 1]; stored.has_value()) {
        v1::LoyaltyEntryMarker marker;
        if (absl::Status st = ParseStored(stored, candidate.marker_key, marker); !st.ok()) return st;
        out.seqs[i] = marker.seq();
        out.existed[i] = true;
        continue;
      }
      if (!checked && precondition) {
        if (absl::Status st = precondition(record); !st.ok()) return st;
      }
      checked = true;
      v1::LoyaltyEntry& entry = out.entries[i];
      entry = candidate.entry;
      *entry.mutable_time() = now;
      const int64_t seq = record.entry_count() + 1;
      record.set_entry_count(seq);
      record.set_balance(record.balance() + entry.points());
      if (entry.points() >= 0) {
        record.set_earned(record.earned() + entry.points());
      } else {
        record.set_redeemed(record.redeemed() - entry.points());
      }
      entry.set_balance_after(record.balance());
      v1::LoyaltyEntryMarker marker;
      marker.set_seq(seq);
      write.guards.push_back(Guard{candidate.marker_key, 0});
      write.also_write.push_back(AlsoWrite{EntryKey(account_id, seq), entry.SerializeAsString()});
      write.also_write.push_back(AlsoWrite{candidate.marker_key, marker.SerializeAsString()});
      out.seqs[i] = seq;
    }
    if (write.also_write.empty()) return out;  // all duplicates: nothing to write
    write.value = record.SerializeAsString();
    absl::StatusOr<std::vector<bool>> applied = store_.Put({&write, 1});
    if (!applied.ok()) return applied.status();
    if ((*applied)[0]) return out;
  }
  return absl::AbortedError(absl::StrCat("too many concurrent writers on the loyalty ledger of account \"",
                                         account_id, "\"; retry"));
}

absl::Status LoyaltyBook::CommitRequest(const std::string& account_id, const Candidate& candidate,
                                        const Precondition& precondition, v1::LoyaltyStanding& standing,
                                        v1::LoyaltyEntry& entry) {
  absl::StatusOr<Committed> committed = Commit(account_id, {&candidate, 1}, precondition);
  if (!committed.ok()) return committed.status();
  if (!committed->existed[0]) {
    standing = Standing(config_, account_id, committed->record);
    entry = std::move(committed->entries[0]);
    return absl::OkStatus();
  }
  // A retry (or a reuse) of the request id: answer with the first entry, if it is the same request.
  const std::string key = EntryKey(account_id, committed->seqs[0]);
  absl::StatusOr<std::vector<std::optional<Record>>> read = store_.Get({key});
  if (!read.ok()) return read.status();
  if (!(*read)[0].has_value()) {
    return absl::InternalError(
        absl::StrCat("\"", candidate.marker_key, "\" names entry \"", key, "\", which is missing"));
  }
  v1::LoyaltyEntry first;
  if (absl::Status st = ParseStored((*read)[0], key, first); !st.ok()) return st;
  if (!SameRequest(first, candidate.entry)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "request_id: \"", candidate.entry.entry_id(), "\" was already used for ", DescribeRequest(first),
        "; use a new request_id for ", DescribeRequest(candidate.entry)));
  }
  standing = Standing(config_, account_id, committed->record);
  entry = std::move(first);
  return absl::OkStatus();
}

absl::StatusOr<v1::AwardPointsResponse> LoyaltyBook::Award(const v1::AwardPointsRequest& request) {
  if (absl::Status st = CheckRequestId(request.request_id()); !st.ok()) return st;
  if (request.points() < 1 || request.points() > kMaxAwardPoints) {
    return FieldError("points", absl::StrCat("must be 1..", kMaxAwardPoints, ", got ", request.points()));
  }
  if (absl::Status st = CheckNote(request.note()); !st.ok()) return st;

  Candidate candidate;
  candidate.marker_key = RequestMarkerKey(request.account_id(), request.request_id());
  candidate.entry.set_entry_id(request.request_id());
  candidate.entry.set_kind(std::string(kAward));
  candidate.entry.set_points(request.points());
  candidate.entry.set_note(request.note());
  v1::AwardPointsResponse response;
  if (absl::Status st = CommitRequest(request.account_id(), candidate, nullptr, *response.mutable_standing(),
                                      *response.mutable_entry());
      !st.ok()) {
    return st;
  }
  return response;
}

absl::StatusOr<v1::RedeemPointsResponse> LoyaltyBook::Redeem(const v1::RedeemPointsRequest& request) {
  if (absl::Status st = CheckRequestId(request.request_id()); !st.ok()) return st;
  auto reward = std::find_if(rewards_.begin(), rewards_.end(), [&](const v1::LoyaltyReward& r) {
    return r.reward_id() == request.reward_id();
  });
  if (reward == rewards_.end()) {
    return FieldError("reward_id", request.reward_id().empty()
                                       ? "is required"
                                       : absl::StrCat("unknown reward \"", request.reward_id(),
                                                      "\"; ListRewards gives the catalogue"));
  }
  if (absl::Status st = CheckNote(request.note()); !st.ok()) return st;

  Candidate candidate;
  candidate.marker_key = RequestMarkerKey(request.account_id(), request.request_id());
  candidate.entry.set_entry_id(request.request_id());
  candidate.entry.set_kind(std::string(kRedemption));
  candidate.entry.set_subject(reward->reward_id());
  candidate.entry.set_points(-reward->points());
  candidate.entry.set_note(request.note());
  const int64_t price = reward->points();
  const std::string& reward_id = reward->reward_id();
  auto affordable = [price, &reward_id](const v1::LoyaltyRecord& record) {
    if (record.balance() >= price) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("balance ", record.balance(), " is short of the ",
                                                      price, " points of reward \"", reward_id, "\""));
  };
  v1::RedeemPointsResponse response;
  if (absl::Status st = CommitRequest(request.account_id(), candidate, affordable,
                                      *response.mutable_standing(), *response.mutable_entry());
      !st.ok()) {
    return st;
  }
  return response;
}

absl::Status LoyaltyBook::EarnFromEvents(const std::string& account_id, absl::Span<const v1::Event> events) {
  struct Earning {
    absl::Time time;  // of the earliest event behind it
    Candidate candidate;
  };
  std::vector<Earning> earnings;
  absl::flat_hash_map<std::string, std::size_t> by_entry_id;
  auto earn = [&](absl::Time time, absl::string_view kind, absl::string_view what, const std::string& subject,
                  int64_t points) {
    std::string entry_id = absl::StrCat(kind, ":", what);
    auto [it, inserted] = by_entry_id.try_emplace(entry_id, earnings.size());
    if (!inserted) {
      earnings[it->second].time = std::min(earnings[it->second].time, time);
      return;
    }
    Earning& earning = earnings.emplace_back();
    earning.time = time;
    earning.candidate.marker_key = EarnedMarkerKey(account_id, entry_id);
    earning.candidate.entry.set_entry_id(std::move(entry_id));
    earning.candidate.entry.set_kind(std::string(kind));
    earning.candidate.entry.set_subject(subject);
    earning.candidate.entry.set_points(points);
  };

  const v1::LoyaltyEarnRules& rules = config_.earn();
  for (const v1::Event& event : events) {
    if (!event.account_id().empty() && event.account_id() != account_id) continue;
    const absl::Time time = FromProtoTime(event.time());
    switch (event.type()) {
      case v1::EVENT_TYPE_LOGIN:
        earn(time, kDailyUse, UtcDay(time), "", rules.daily_use());
        break;
      case v1::EVENT_TYPE_FEATURE_USED:
        if (!event.subject().empty()) {
          earn(time, kFeatureUse, absl::StrCat(UtcDay(time), ":", event.subject()), event.subject(),
               rules.feature_use());
        }
        break;
      case v1::EVENT_TYPE_REFERRAL:
        if (!event.event_id().empty()) earn(time, kReferral, event.event_id(), "", rules.referral());
        break;
      case v1::EVENT_TYPE_NPS_RESPONSE:
      case v1::EVENT_TYPE_CSAT_RESPONSE:
      case v1::EVENT_TYPE_SURVEY_RESPONSE:
        if (!event.event_id().empty()) earn(time, kFeedback, event.event_id(), "", rules.feedback());
        break;
      case v1::EVENT_TYPE_SOCIAL_MENTION:
        if (!event.event_id().empty() && event.has_sentiment() && event.sentiment() > kPositiveSentiment) {
          earn(time, kSocialShare, event.event_id(), "", rules.social_share());
        }
        break;
      default:
        break;
    }
  }
  // Oldest first, and the same order whatever order the events came in.
  std::sort(earnings.begin(), earnings.end(), [](const Earning& a, const Earning& b) {
    return a.time != b.time ? a.time < b.time : a.candidate.entry.entry_id() < b.candidate.entry.entry_id();
  });

  std::vector<Candidate> chunk;
  for (std::size_t begin = 0; begin < earnings.size(); begin += kMaxEntriesPerWrite) {
    const std::size_t end = std::min(earnings.size(), begin + static_cast<std::size_t>(kMaxEntriesPerWrite));
    chunk.clear();
    for (std::size_t i = begin; i < end; ++i) chunk.push_back(std::move(earnings[i].candidate));
    if (absl::StatusOr<Committed> committed = Commit(account_id, chunk, nullptr); !committed.ok()) {
      return committed.status();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetLoyaltyResponse> LoyaltyBook::Get(const v1::GetLoyaltyRequest& request) {
  if (request.page_size() < 0) {
    return FieldError("page_size", absl::StrCat("must not be negative, got ", request.page_size()));
  }
  const int64_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  const std::string& account_id = request.account_id();
  const std::string record_key = RecordKey(account_id);
  absl::StatusOr<std::vector<std::optional<Record>>> read = store_.Get({record_key});
  if (!read.ok()) return read.status();
  v1::LoyaltyRecord record;
  if (absl::Status st = ParseStored((*read)[0], record_key, record); !st.ok()) return st;

  // Entries are numbered 1..entry_count and never removed, so a page is a range of numbers and a
  // token issued earlier stays valid.
  int64_t start = record.entry_count();  // the newest entry of this page
  if (!request.page_token().empty()) {
    std::optional<int64_t> from = DecodePageToken(request.page_token(), account_id);
    if (!from.has_value() || *from < 1 || *from > record.entry_count()) {
      return FieldError("page_token", "is not a next_page_token that GetLoyalty returned for this account");
    }
    start = *from;
  }
  const int64_t stop = std::max<int64_t>(0, start - page_size);  // the newest entry of the next page
  std::vector<std::string> keys;
  keys.reserve(static_cast<std::size_t>(start - stop));
  for (int64_t seq = start; seq > stop; --seq) keys.push_back(EntryKey(account_id, seq));
  absl::StatusOr<std::vector<std::optional<Record>>> entries = store_.Get(keys);
  if (!entries.ok()) return entries.status();

  v1::GetLoyaltyResponse response;
  *response.mutable_standing() = Standing(config_, account_id, record);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!(*entries)[i].has_value()) {
      return absl::InternalError(absl::StrCat("ledger entry \"", keys[i], "\" is missing"));
    }
    if (absl::Status st = ParseStored((*entries)[i], keys[i], *response.add_entries()); !st.ok()) return st;
  }
  if (stop > 0) response.set_next_page_token(EncodePageToken(stop, account_id));
  return response;
}

}  // namespace steward::segmentation
