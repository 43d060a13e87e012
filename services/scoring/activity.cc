#include "services/scoring/activity.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "common/proto_time.h"
#include "services/scoring/transactions.h"

namespace steward::scoring {
namespace {

absl::Time EventTime(const v1::Event& event) { return FromProtoTime(event.time()); }

// Returns the bucket of `day`, creating it in order if needed.
v1::DailyActivity& BucketFor(v1::ActivityRecord& record, int32_t day) {
  auto* days = record.mutable_days();
  auto it = std::lower_bound(days->begin(), days->end(), day,
                             [](const v1::DailyActivity& d, int32_t value) { return d.day() < value; });
  if (it != days->end() && it->day() == day) return *it;
  const int position = static_cast<int>(it - days->begin());
  days->Add()->set_day(day);
  // Move the new bucket from the end into place; buckets arrive mostly in order, so this is short.
  for (int i = days->size() - 1; i > position; --i) days->SwapElements(i, i - 1);
  return days->at(position);
}

// Index of `feature` in the record's dictionary, adding it if there is room; -1 when full.
int FeatureIndex(v1::ActivityRecord& record, const std::string& feature) {
  const auto& names = record.feature_names();
  auto it = std::find(names.begin(), names.end(), feature);
  if (it != names.end()) return static_cast<int>(it - names.begin());
  if (names.size() >= kMaxTrackedFeatures) return -1;
  record.add_feature_names(feature);
  return names.size() - 1;
}

void SetBit(std::string& bitmap, int index) {
  const std::size_t byte = static_cast<std::size_t>(index) / 8;
  if (bitmap.size() <= byte) bitmap.resize(byte + 1, '\0');
  bitmap[byte] = static_cast<char>(static_cast<unsigned char>(bitmap[byte]) | (1u << (index % 8)));
}

// Keeps the value with the latest event time, so that a late event never hides a newer one.
void SetLatest(v1::LatestValue* latest, double value, int64_t seconds) {
  if (latest->time_seconds() > seconds) return;
  latest->set_value(value);
  latest->set_time_seconds(seconds);
}

void Apply(const v1::Event& event, v1::ActivityRecord& record, v1::DailyActivity& bucket) {
  const int64_t seconds = event.time().seconds();
  switch (event.type()) {
    case v1::EVENT_TYPE_LOGIN:
      bucket.set_logins(bucket.logins() + 1);
      break;
    case v1::EVENT_TYPE_FEATURE_USED: {
      bucket.set_feature_uses(bucket.feature_uses() + 1);
      const int index = FeatureIndex(record, event.subject());
      if (index >= 0) SetBit(*bucket.mutable_features_used(), index);
      break;
    }
    case v1::EVENT_TYPE_LIMIT_USAGE:
      SetLatest(&(*record.mutable_limit_usage())[event.subject()], event.value(), seconds);
      break;
    case v1::EVENT_TYPE_SEATS_ACTIVE:
      SetLatest(record.mutable_seats_active(), event.value(), seconds);
      break;
    case v1::EVENT_TYPE_EMAIL_SENT:
      bucket.set_emails_sent(bucket.emails_sent() + 1);
      break;
    case v1::EVENT_TYPE_EMAIL_OPENED:
      bucket.set_emails_opened(bucket.emails_opened() + 1);
      break;
    case v1::EVENT_TYPE_IN_APP_ENGAGED:
      bucket.set_in_app_engagements(bucket.in_app_engagements() + 1);
      break;
    case v1::EVENT_TYPE_TICKET_OPENED:
    case v1::EVENT_TYPE_TICKET_RESOLVED:
      if (event.type() == v1::EVENT_TYPE_TICKET_OPENED) {
        bucket.set_tickets_opened(bucket.tickets_opened() + 1);
      } else {
        bucket.set_tickets_resolved(bucket.tickets_resolved() + 1);
      }
      if (event.has_sentiment()) {
        bucket.set_ticket_sentiment_sum(bucket.ticket_sentiment_sum() + event.sentiment());
        bucket.set_ticket_sentiment_count(bucket.ticket_sentiment_count() + 1);
      }
      break;
    case v1::EVENT_TYPE_NPS_RESPONSE:
      SetLatest(record.mutable_nps(), event.value(), seconds);
      if (event.has_sentiment()) SetLatest(record.mutable_feedback_sentiment(), event.sentiment(), seconds);
      break;
    case v1::EVENT_TYPE_CSAT_RESPONSE:
      SetLatest(record.mutable_csat(), event.value(), seconds);
      break;
    case v1::EVENT_TYPE_SURVEY_RESPONSE:
      SetLatest(record.mutable_survey_satisfaction(), event.value(), seconds);
      if (event.has_sentiment()) SetLatest(record.mutable_feedback_sentiment(), event.sentiment(), seconds);
      break;
    case v1::EVENT_TYPE_INVOICE_PAID:
      SetLatest(record.mutable_days_late(), event.value(), seconds);
      break;
    case v1::EVENT_TYPE_COMPETITOR_VISIT:
      bucket.set_competitor_visits(bucket.competitor_visits() + 1);
      break;
    case v1::EVENT_TYPE_COMPETITOR_SEARCH:
      bucket.set_competitor_searches(bucket.competitor_searches() + 1);
      break;
    case v1::EVENT_TYPE_COMPETITOR_EVALUATION:
      bucket.set_competitor_evaluations(bucket.competitor_evaluations() + 1);
      break;
    case v1::EVENT_TYPE_COMPETITOR_TRIAL:
      bucket.set_competitor_trials(bucket.competitor_trials() + 1);
      break;
    case v1::EVENT_TYPE_CONTRACT_REVIEW:
      bucket.set_contract_reviews(bucket.contract_reviews() + 1);
      break;
    case v1::EVENT_TYPE_SOCIAL_MENTION:
      // SPEC §2.2 sentiment bands: below 0.3 is negative.
      if (event.sentiment() < 0.3) bucket.set_negative_mentions(bucket.negative_mentions() + 1);
      break;
    case v1::EVENT_TYPE_ROI_REPORTED:
      SetLatest(record.mutable_roi_percent(), event.value(), seconds);
      break;
    case v1::EVENT_TYPE_REFERRAL:
      bucket.set_referrals(bucket.referrals() + 1);
      break;
    case v1::EVENT_TYPE_FEATURE_REQUEST:
      bucket.set_feature_requests(bucket.feature_requests() + 1);
      break;
    case v1::EVENT_TYPE_UPGRADE:
    case v1::EVENT_TYPE_EXPANSION:
      RecordTransaction(bucket.day(), event.value(), bucket.expansions() > 0, *record.mutable_transactions());
      bucket.set_expansions(bucket.expansions() + 1);
      record.set_last_expansion_seconds(std::max(record.last_expansion_seconds(), seconds));
      break;
    case v1::EVENT_TYPE_DOWNGRADE:
      bucket.set_downgrades(bucket.downgrades() + 1);
      break;
    case v1::EVENT_TYPE_INTEGRATION_ADDED:
      bucket.set_integrations(bucket.integrations() + 1);
      break;
    case v1::EVENT_TYPE_CHURNED:
      record.set_churned_seconds(std::max(record.churned_seconds(), seconds));
      break;
    case v1::EVENT_TYPE_REACTIVATED:
      record.set_reactivated_seconds(std::max(record.reactivated_seconds(), seconds));
      break;
    default:
      // Validation at the API edge rejects every other value before it gets here.
      break;
  }
}

void DropExpiredDays(v1::ActivityRecord& record, int32_t first_kept_day) {
  auto* days = record.mutable_days();
  int expired = 0;
  while (expired < days->size() && days->at(expired).day() < first_kept_day) ++expired;
  if (expired > 0) days->DeleteSubrange(0, expired);
}

// Sums of the daily counters over a window of days [first, last].
struct WindowTotals {
  int64_t logins = 0, active_days = 0, feature_uses = 0, emails_sent = 0, emails_opened = 0;
  int64_t in_app = 0, tickets_opened = 0, tickets_resolved = 0, competitor_visits = 0;
  int64_t competitor_searches = 0, competitor_evaluations = 0, competitor_trials = 0;
  int64_t contract_reviews = 0, negative_mentions = 0, referrals = 0, expansions = 0, downgrades = 0;
  int64_t integrations = 0, ticket_sentiment_count = 0, feature_requests = 0;
  double ticket_sentiment_sum = 0;
  std::string features_used;  // OR of the daily bitmaps
};

WindowTotals Totals(const v1::ActivityRecord& record, int32_t first, int32_t last) {
  WindowTotals t;
  for (const v1::DailyActivity& d : record.days()) {
    if (d.day() < first || d.day() > last) continue;
    t.logins += d.logins();
    t.active_days += d.logins() > 0 ? 1 : 0;
    t.feature_uses += d.feature_uses();
    t.emails_sent += d.emails_sent();
    t.emails_opened += d.emails_opened();
    t.in_app += d.in_app_engagements();
    t.tickets_opened += d.tickets_opened();
    t.tickets_resolved += d.tickets_resolved();
    t.ticket_sentiment_sum += d.ticket_sentiment_sum();
    t.ticket_sentiment_count += d.ticket_sentiment_count();
    t.competitor_visits += d.competitor_visits();
    t.competitor_searches += d.competitor_searches();
    t.competitor_evaluations += d.competitor_evaluations();
    t.competitor_trials += d.competitor_trials();
    t.contract_reviews += d.contract_reviews();
    t.negative_mentions += d.negative_mentions();
    t.referrals += d.referrals();
    t.feature_requests += d.feature_requests();
    t.expansions += d.expansions();
    t.downgrades += d.downgrades();
    t.integrations += d.integrations();
    const std::string& bits = d.features_used();
    if (t.features_used.size() < bits.size()) t.features_used.resize(bits.size(), '\0');
    for (std::size_t i = 0; i < bits.size(); ++i) t.features_used[i] |= bits[i];
  }
  return t;
}

int PopCount(const std::string& bitmap) {
  int n = 0;
  for (char c : bitmap) n += std::popcount(static_cast<unsigned char>(c));
  return n;
}

// The id log's entries (see activity.h) are little-endian whatever the host, so that every replica
// reads the same bytes; loads are plain copies on a little-endian host.
template <typename T>
T LoadLittleEndian(const char* p) {
  T value = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&value, p, sizeof(T));
  } else {
    for (int b = static_cast<int>(sizeof(T)) - 1; b >= 0; --b) {
      value = static_cast<T>((value << 8) | static_cast<unsigned char>(p[b]));
    }
  }
  return value;
}

int32_t IdLogDay(absl::string_view log, std::size_t entry) {
  return static_cast<int32_t>(LoadLittleEndian<uint32_t>(log.data() + entry * kIdLogEntryBytes));
}

uint64_t IdLogFingerprint(absl::string_view log, std::size_t entry) {
  return LoadLittleEndian<uint64_t>(log.data() + entry * kIdLogEntryBytes + 4);
}

void AppendIdLogEntry(std::string& log, int32_t day, uint64_t fingerprint) {
  const auto d = static_cast<uint32_t>(day);
  for (int b = 0; b < 4; ++b) log.push_back(static_cast<char>((d >> (8 * b)) & 0xff));
  for (int b = 0; b < 8; ++b) log.push_back(static_cast<char>((fingerprint >> (8 * b)) & 0xff));
}

}  // namespace

int32_t DayOf(absl::Time t) {
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounds towards the past
  const int64_t day = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  return static_cast<int32_t>(day);
}

uint64_t EventFingerprint(absl::string_view event_id) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : event_id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

ApplyCounts ApplyEvents(const std::vector<const v1::Event*>& events, absl::Time now,
                        v1::ActivityRecord& record, absl::string_view id_log, IdLogUpdate& id_log_update,
                        int dedup_window_days) {
  const int32_t today = DayOf(now);
  const int32_t first_kept_day = today - (kRetentionDays - 1);
  DropExpiredDays(record, first_kept_day);

  // Entries are in arrival order, so those that left the window are a prefix.
  const std::size_t entries = id_log.size() / kIdLogEntryBytes;
  std::size_t first_kept = 0;
  while (first_kept < entries && IdLogDay(id_log, first_kept) <= today - dedup_window_days) ++first_kept;
  id_log_update.replace = first_kept > 0 || id_log.size() % kIdLogEntryBytes != 0;
  id_log_update.bytes.clear();
  if (id_log_update.replace) {
    const absl::string_view kept =
        id_log.substr(first_kept * kIdLogEntryBytes, (entries - first_kept) * kIdLogEntryBytes);
    id_log_update.bytes.assign(kept.data(), kept.size());
  }

  // Has `fingerprint` arrived within the window, or earlier in this batch? A few events are checked
  // by scanning the log (a tight loop over a few hundred integers); many, through a hash set.
  const bool use_set = events.size() > 8;
  absl::flat_hash_set<uint64_t> seen_set;
  if (use_set) {
    seen_set.reserve(entries - first_kept + events.size());
    for (std::size_t e = first_kept; e < entries; ++e) seen_set.insert(IdLogFingerprint(id_log, e));
  }
  std::vector<uint64_t> batch;  // fingerprints recorded by this batch
  auto seen_before = [&](uint64_t fingerprint) {
    if (use_set) return !seen_set.insert(fingerprint).second;
    for (std::size_t e = first_kept; e < entries; ++e) {
      if (IdLogFingerprint(id_log, e) == fingerprint) return true;
    }
    return std::find(batch.begin(), batch.end(), fingerprint) != batch.end();
  };

  ApplyCounts counts;
  for (const v1::Event* event : events) {
    const int32_t day = DayOf(EventTime(*event));
    if (day < first_kept_day) {
      ++counts.expired;
      continue;
    }
    const uint64_t fingerprint = EventFingerprint(event->event_id());
    if (seen_before(fingerprint)) {
      ++counts.duplicates;
      continue;
    }
    batch.push_back(fingerprint);
    AppendIdLogEntry(id_log_update.bytes, today, fingerprint);
    Apply(*event, record, BucketFor(record, day));
    ++counts.recorded;
    counts.recorded_events.push_back(event);
  }
  return counts;
}

bool NeedsHistory(const v1::ActivityRecord& live, const std::vector<const v1::Event*>& events,
                  absl::Time now) {
  const int32_t today = DayOf(now);
  if (!live.days().empty() && live.days(0).day() < today) return true;
  return std::any_of(events.begin(), events.end(),
                     [today](const v1::Event* e) { return DayOf(EventTime(*e)) < today; });
}

void MergeHistory(const v1::ActivityRecord& history, v1::ActivityRecord& live) {
  if (history.days().empty()) return;
  google::protobuf::RepeatedPtrField<v1::DailyActivity> merged;
  merged.Reserve(history.days_size() + live.days_size());
  auto past = history.days().begin();
  for (v1::DailyActivity& day : *live.mutable_days()) {
    while (past != history.days().end() && past->day() < day.day()) *merged.Add() = *past++;
    if (past != history.days().end() && past->day() == day.day()) ++past;  // the live bucket is newer
    merged.Add()->Swap(&day);
  }
  while (past != history.days().end()) *merged.Add() = *past++;
  live.mutable_days()->Swap(&merged);
}

void SplitHistory(v1::ActivityRecord& record, int32_t today, v1::ActivityRecord& history) {
  history.Clear();
  auto* days = record.mutable_days();
  int past = 0;
  while (past < days->size() && days->at(past).day() < today) ++past;
  for (int i = 0; i < past; ++i) history.add_days()->Swap(days->Mutable(i));
  if (past > 0) days->DeleteSubrange(0, past);
}

FeatureVector ExtractFeatures(const v1::Account& account, const v1::ActivityRecord& record, absl::Time now) {
  const int32_t today = DayOf(now);
  FeatureVector f;
  auto set = [&f](Feature feature, double value) { f.Set(feature, value); };

  const WindowTotals last7 = Totals(record, today - 6, today);
  const WindowTotals last14 = Totals(record, today - 13, today);
  const WindowTotals last30 = Totals(record, today - 29, today);
  const WindowTotals prior30 = Totals(record, today - 59, today - 30);
  const WindowTotals all = Totals(record, today - (kRetentionDays - 1), today);

  set(Feature::kLogins7d, last7.logins);
  set(Feature::kLogins30d, last30.logins);
  set(Feature::kActiveDays30d, last30.active_days);

  // The account's own normal login frequency comes from the 60 days before the last 30, counting
  // only days the account existed; it needs two weeks of such history to mean anything.
  const int32_t baseline_first = today - (kRetentionDays - 1);
  const int32_t baseline_last = today - 30;
  int32_t history_start = baseline_first;
  if (account.has_start_time()) {
    history_start = std::max(history_start, DayOf(absl::FromUnixSeconds(account.start_time().seconds())));
  } else if (!record.days().empty()) {
    history_start = std::max(history_start, record.days(0).day());
  }
  const int32_t baseline_days = baseline_last - history_start + 1;
  if (baseline_days >= 14) {
    const WindowTotals baseline = Totals(record, history_start, baseline_last);
    const double per_30_days = static_cast<double>(baseline.logins) * 30.0 / baseline_days;
    set(Feature::kBaselineLogins30d, per_30_days);
    if (per_30_days > 0) set(Feature::kLoginFrequencyRatio, last30.logins / per_30_days);
  }

  set(Feature::kFeatureUses30d, last30.feature_uses);
  set(Feature::kFeatureUsesPrior30d, prior30.feature_uses);
  if (prior30.feature_uses > 0) {
    set(Feature::kUsageChange30d,
        static_cast<double>(last30.feature_uses - prior30.feature_uses) / prior30.feature_uses);
  }
  const int distinct = PopCount(last30.features_used);
  set(Feature::kDistinctFeatures30d, distinct);
  if (account.plan().feature_count() > 0) {
    set(Feature::kFeatureShare30d,
        std::min(1.0, static_cast<double>(distinct) / account.plan().feature_count()));
  }
  if (account.seats() > 0 && record.has_seats_active()) {
    set(Feature::kSeatUtilization, std::min(1.0, record.seats_active().value() / account.seats()));
  }

  set(Feature::kEmailsSent14d, last14.emails_sent);
  set(Feature::kEmailsOpened14d, last14.emails_opened);
  if (last14.emails_sent > 0) {
    set(Feature::kEmailOpenRate14d,
        std::min(1.0, static_cast<double>(last14.emails_opened) / last14.emails_sent));
  }
  set(Feature::kInAppEngagements30d, last30.in_app);

  set(Feature::kTicketsOpened30d, last30.tickets_opened);
  set(Feature::kOpenTickets, std::max<int64_t>(0, all.tickets_opened - all.tickets_resolved));
  if (all.ticket_sentiment_count > 0) {
    set(Feature::kTicketSentiment90d, all.ticket_sentiment_sum / all.ticket_sentiment_count);
  }

  if (record.has_nps()) set(Feature::kNps, record.nps().value());
  if (record.has_csat()) set(Feature::kCsat, record.csat().value());
  if (record.has_survey_satisfaction())
    set(Feature::kSurveySatisfaction, record.survey_satisfaction().value());
  if (record.has_feedback_sentiment()) set(Feature::kFeedbackSentiment, record.feedback_sentiment().value());
  set(Feature::kNegativeMentions30d, last30.negative_mentions);
  if (record.has_days_late()) set(Feature::kDaysLateLastInvoice, record.days_late().value());

  set(Feature::kCompetitorVisits7d, last7.competitor_visits);
  set(Feature::kCompetitorSearches30d, last30.competitor_searches);
  set(Feature::kCompetitorEvaluations30d, last30.competitor_evaluations);
  set(Feature::kCompetitorTrials30d, last30.competitor_trials);
  set(Feature::kContractReviews30d, last30.contract_reviews);

  if (record.has_roi_percent()) set(Feature::kRoiPercent, record.roi_percent().value());
  set(Feature::kReferrals90d, all.referrals);
  set(Feature::kFeatureRequests30d, last30.feature_requests);
  set(Feature::kExpansions90d, all.expansions);
  set(Feature::kDowngrades90d, all.downgrades);
  set(Feature::kIntegrations90d, all.integrations);
  if (record.last_expansion_seconds() > 0) {
    set(Feature::kDaysSinceExpansion,
        std::max(0.0, absl::ToDoubleSeconds(now - absl::FromUnixSeconds(record.last_expansion_seconds())) /
                          86400));
  }

  std::optional<double> max_usage;
  for (const auto& [name, allowed] : account.plan().limits()) {
    auto it = record.limit_usage().find(name);
    if (it == record.limit_usage().end() || allowed <= 0) continue;
    max_usage = std::max(max_usage.value_or(0.0), it->second.value() / allowed);
  }
  if (max_usage) set(Feature::kMaxLimitUsage, *max_usage);

  if (account.has_start_time()) {
    set(Feature::kTenureDays,
        std::max(0.0,
                 absl::ToDoubleSeconds(now - absl::FromUnixSeconds(account.start_time().seconds())) / 86400));
  }
  return f;
}

}  // namespace steward::scoring
