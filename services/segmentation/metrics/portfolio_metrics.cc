#include "services/segmentation/metrics/portfolio_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "services/segmentation/metrics/account_history.h"
#include "services/segmentation/metrics/portfolio_config.h"

namespace steward::segmentation {
namespace {

using v1::AccountStatus;

constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;
// google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

absl::Status CheckTimestamp(bool has, const google::protobuf::Timestamp& ts, absl::string_view field) {
  if (!has) return FieldError(field, "is required");
  if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds || ts.nanos() < 0 ||
      ts.nanos() > 999'999'999) {
    return FieldError(field, "is not a valid timestamp (years 1 to 9999)");
  }
  return absl::OkStatus();
}

// A number as formulas show it: integers without decimals, others with up to 6 significant digits
// (2 decimals for large ones).
std::string Num(double v) {
  if (std::fabs(v) < 1e15 && v == std::round(v)) return absl::StrFormat("%.0f", v);
  if (std::fabs(v) >= 1e5) return absl::StrFormat("%.2f", v);
  return absl::StrFormat("%.6g", v);
}

// One account's record, read for one period.
class History {
 public:
  explicit History(const v1::PortfolioHistoryRecord& record) : r_(record) {}

  bool Known() const { return r_.upserted_status() != v1::ACCOUNT_STATUS_UNSPECIFIED; }
  int64_t start() const { return r_.start_time_ms(); }

  // The status just before `t` (changes at t not included); UNSPECIFIED when not started by then.
  AccountStatus StatusBefore(int64_t t) const {
    if (r_.start_time_ms() >= t) return v1::ACCOUNT_STATUS_UNSPECIFIED;
    AccountStatus status = r_.initial_status();
    for (const v1::PortfolioStatusPoint& point : r_.status_points()) {
      if (point.time_ms() >= t) break;
      status = point.status();
    }
    return status;
  }

  // The first churn in [from, to), if any.
  const v1::PortfolioStatusPoint* FirstChurn(int64_t from, int64_t to) const {
    for (const v1::PortfolioStatusPoint& point : r_.status_points()) {
      if (point.time_ms() >= to) break;
      if (point.time_ms() >= from && point.status() == v1::ACCOUNT_STATUS_CHURNED) return &point;
    }
    return nullptr;
  }

  // Whether a status change in [from, to) went from `before` to `after`.
  bool Transition(int64_t from, int64_t to, AccountStatus before, AccountStatus after) const {
    AccountStatus previous = r_.initial_status();
    for (const v1::PortfolioStatusPoint& point : r_.status_points()) {
      if (point.time_ms() >= to) break;
      if (point.time_ms() >= from && previous == before && point.status() == after) return true;
      previous = point.status();
    }
    return false;
  }

  // Whether the account was on trial at some time in [from, to).
  bool TrialDuring(int64_t from, int64_t to) const {
    if (r_.start_time_ms() >= to) return false;
    if (StatusBefore(from) == v1::ACCOUNT_STATUS_TRIAL) return true;
    if (r_.start_time_ms() >= from && r_.initial_status() == v1::ACCOUNT_STATUS_TRIAL) return true;
    for (const v1::PortfolioStatusPoint& point : r_.status_points()) {
      if (point.time_ms() >= to) break;
      if (point.time_ms() >= from && point.status() == v1::ACCOUNT_STATUS_TRIAL) return true;
    }
    return false;
  }

  // The MRR of the last upsert at or before `t` (`inclusive`) or strictly before it; the first upsert's
  // when none is that early; 0 without any.
  double MrrAsOf(int64_t t, bool inclusive) const {
    if (r_.mrr_points().empty()) return 0;
    double mrr = r_.mrr_points(0).mrr();
    for (const v1::PortfolioMrrPoint& point : r_.mrr_points()) {
      if (inclusive ? point.time_ms() > t : point.time_ms() >= t) break;
      mrr = point.mrr();
    }
    return mrr;
  }

  const v1::PortfolioHistoryRecord& record() const { return r_; }

 private:
  const v1::PortfolioHistoryRecord& r_;
};

struct ReasonTally {
  int64_t accounts = 0;
  double mrr = 0;
};

struct CohortTally {
  int64_t accounts = 0;
  std::vector<int64_t> retained;  // per month offset
};

// Everything summed over the accounts in scope.
struct Totals {
  v1::PortfolioAccountCounts counts;
  double start_mrr = 0, expansion = 0, contraction = 0, churned_mrr = 0, end_mrr = 0;
  int64_t expansion_events = 0, contraction_events = 0;
  std::map<std::string, ReasonTally> reasons;
  int64_t nps_answers = 0, promoters = 0, passives = 0, detractors = 0;
  int64_t csat_answers = 0, csat_satisfied = 0;
  double csat_sum = 0;
  int64_t trials = 0, converted = 0;
  int64_t activation_due = 0, activated = 0;
  int64_t ttv_accounts = 0;
  double ttv_days_sum = 0;
  int64_t health_accounts = 0, ltv_accounts = 0;
  double health_sum = 0, ltv_sum = 0;
  std::vector<CohortTally> cohorts;
};

// The cohort table's months and checkpoints.
struct CohortFrame {
  absl::CivilMonth first;  // the oldest cohort month
  int months = 0;          // cohorts shown; the last one holds end_time
  int64_t end_ms = 0;

  // The checkpoint of month offset k of cohort `index`: the end of that month, or end_time.
  int64_t Checkpoint(int index, int k) const {
    const absl::CivilMonth next = first + index + k + 1;
    return std::min(end_ms, absl::ToUnixMillis(absl::FromCivil(next, absl::UTCTimeZone())));
  }
  // Month offsets of cohort `index`: up to the month holding end_time.
  int Offsets(int index) const { return months - index; }
};

void Accumulate(const History& h, int64_t s, int64_t e, int64_t activation_window_ms,
                const CohortFrame& frame, Totals& t) {
  v1::PortfolioAccountCounts& counts = t.counts;
  const v1::PortfolioHistoryRecord& r = h.record();
  counts.set_accounts(counts.accounts() + 1);

  // Churn and revenue retention: the accounts paying at start.
  if (h.StatusBefore(s) == v1::ACCOUNT_STATUS_ACTIVE) {
    counts.set_at_start(counts.at_start() + 1);
    t.start_mrr += h.MrrAsOf(s, /*inclusive=*/true);
    for (const v1::PortfolioMrrMovement& movement : r.movements()) {
      if (movement.time_ms() < s || movement.time_ms() >= e) continue;
      if (movement.type() == v1::EVENT_TYPE_DOWNGRADE) {
        t.contraction += movement.amount();
        ++t.contraction_events;
      } else {
        t.expansion += movement.amount();
        ++t.expansion_events;
      }
    }
    if (const v1::PortfolioStatusPoint* churn = h.FirstChurn(s, e); churn != nullptr) {
      counts.set_lost(counts.lost() + 1);
      const double mrr = h.MrrAsOf(churn->time_ms(), /*inclusive=*/false);
      t.churned_mrr += mrr;
      ReasonTally& reason = t.reasons[churn->reason().empty() ? "unspecified" : churn->reason()];
      ++reason.accounts;
      reason.mrr += mrr;
    }
  }
  if (h.Transition(s, e, v1::ACCOUNT_STATUS_CHURNED, v1::ACCOUNT_STATUS_ACTIVE)) {
    counts.set_reactivated(counts.reactivated() + 1);
  }

  // The end of the period.
  const AccountStatus at_end = h.StatusBefore(e);
  if (at_end == v1::ACCOUNT_STATUS_ACTIVE) {
    counts.set_active_at_end(counts.active_at_end() + 1);
    t.end_mrr += h.MrrAsOf(e, /*inclusive=*/false);
    if (r.has_health()) {
      ++t.health_accounts;
      t.health_sum += r.health();
    }
    if (r.has_ltv_to_cac()) {
      ++t.ltv_accounts;
      t.ltv_sum += r.ltv_to_cac();
    }
  } else if (at_end == v1::ACCOUNT_STATUS_TRIAL) {
    counts.set_trial_at_end(counts.trial_at_end() + 1);
  }

  // Conversion.
  if (h.TrialDuring(s, e)) {
    ++t.trials;
    if (h.Transition(s, e, v1::ACCOUNT_STATUS_TRIAL, v1::ACCOUNT_STATUS_ACTIVE)) ++t.converted;
  }

  // New accounts: activation and time to value.
  if (h.start() >= s && h.start() < e) {
    counts.set_new_accounts(counts.new_accounts() + 1);
    const int64_t first_use = r.first_feature_time_ms();
    if (h.start() + activation_window_ms <= e) {
      ++t.activation_due;
      if (first_use != 0 && first_use < h.start() + activation_window_ms) ++t.activated;
    }
    if (first_use != 0 && first_use < e) {
      ++t.ttv_accounts;
      t.ttv_days_sum += static_cast<double>(std::max<int64_t>(0, first_use - h.start())) / kDayMs;
    }
  }

  // Surveys: NPS counts each account's latest answer in the period; CSAT every answer.
  const v1::PortfolioSurveyAnswer* latest_nps = nullptr;
  for (const v1::PortfolioSurveyAnswer& answer : r.nps_answers()) {
    if (answer.time_ms() >= s && answer.time_ms() < e) latest_nps = &answer;
  }
  if (latest_nps != nullptr) {
    ++t.nps_answers;
    if (latest_nps->value() >= 9) {
      ++t.promoters;
    } else if (latest_nps->value() <= 6) {
      ++t.detractors;
    } else {
      ++t.passives;
    }
  }
  for (const v1::PortfolioSurveyAnswer& answer : r.csat_answers()) {
    if (answer.time_ms() < s || answer.time_ms() >= e) continue;
    ++t.csat_answers;
    t.csat_sum += answer.value();
    if (answer.value() >= 4) ++t.csat_satisfied;
  }

  // Cohorts: one walk through the status points for all the month checkpoints. An account that starts
  // after end_time is in no cohort yet.
  const absl::CivilMonth month = absl::ToCivilMonth(absl::FromUnixMillis(h.start()), absl::UTCTimeZone());
  const int64_t index = month - frame.first;
  if (index >= 0 && index < frame.months && h.start() < e) {
    CohortTally& cohort = t.cohorts[index];
    ++cohort.accounts;
    AccountStatus status = r.initial_status();
    int next = 0;
    for (int k = 0; k < frame.Offsets(static_cast<int>(index)); ++k) {
      const int64_t checkpoint = frame.Checkpoint(static_cast<int>(index), k);
      while (next < r.status_points_size() && r.status_points(next).time_ms() < checkpoint) {
        status = r.status_points(next++).status();
      }
      if (status != v1::ACCOUNT_STATUS_CHURNED) ++cohort.retained[k];
    }
  }
}

// Builds the metrics list.
class MetricWriter {
 public:
  explicit MetricWriter(v1::GetPortfolioMetricsResponse& response) : response_(response) {}

  v1::PortfolioMetric& Add(absl::string_view name, absl::string_view unit, bool known, double value,
                           std::string formula) {
    v1::PortfolioMetric& metric = *response_.add_metrics();
    metric.set_name(std::string(name));
    metric.set_unit(std::string(unit));
    metric.set_known(known && std::isfinite(value));
    metric.set_value(metric.known() ? value : 0);
    metric.set_formula(std::move(formula));
    return metric;
  }

  // Adds a target when `target` is set; comparison is ">=" or "<".
  static void Target(v1::PortfolioMetric& metric, bool has, double target, absl::string_view comparison) {
    if (!has) return;
    metric.set_target(target);
    metric.set_target_comparison(std::string(comparison));
    if (metric.known()) {
      metric.set_meets_target(comparison == ">=" ? metric.value() >= target : metric.value() < target);
    }
  }

 private:
  v1::GetPortfolioMetricsResponse& response_;
};

// 100 × part / whole, in this order so that exact ratios (1.15) come out exact (115).
double Percent(double part, double whole) { return 100 * part / whole; }

// A period rate of `percent` scaled to 30 days: 1 − (1 − r)^(30 / days). A rate of 100% or more stays
// 100%; a 30-day period keeps its rate exactly.
double MonthlyPercent(double percent, double days) {
  if (percent >= 100) return 100;
  if (days == 30) return percent;
  return 100 * (1 - std::pow(1 - std::max(percent, 0.0) / 100, 30.0 / days));
}

// A monthly rate as an annual one: 1 − (1 − m)^12.
double AnnualPercent(double monthly_percent) {
  if (monthly_percent >= 100) return 100;
  return 100 * (1 - std::pow(1 - std::max(monthly_percent, 0.0) / 100, 12));
}

// Adds the rate part / whole and its monthly and annual versions, with the monthly one's target.
void AddScaledRates(MetricWriter& w, absl::string_view name, bool known, double part, double whole,
                    std::string formula, absl::string_view unknown_reason, double days,
                    const std::optional<double>& monthly_target) {
  const double percent = known ? Percent(part, whole) : 0;
  w.Add(name, "percent", known, percent, known ? std::move(formula) : std::string(unknown_reason));
  const double monthly = MonthlyPercent(percent, days);
  v1::PortfolioMetric& m = w.Add(absl::StrCat(name, "_monthly"), "percent", known, monthly,
                                 known ? absl::StrCat("(1 − (1 − ", Num(std::min(percent, 100.0) / 100),
                                                      ")^(30 / ", Num(days), ")) × 100")
                                       : std::string(unknown_reason));
  MetricWriter::Target(m, monthly_target.has_value(), monthly_target.value_or(0), "<");
  w.Add(absl::StrCat(name, "_annual"), "percent", known, AnnualPercent(monthly),
        known ? absl::StrCat("(1 − (1 − ", Num(monthly / 100), ")^12) × 100") : std::string(unknown_reason));
}

void WriteMetrics(const Totals& t, const v1::PortfolioTargets& targets, double days,
                  v1::GetPortfolioMetricsResponse& response) {
  MetricWriter w(response);
  const v1::PortfolioAccountCounts& c = t.counts;
  const bool any_at_start = c.at_start() > 0;
  const bool any_mrr = t.start_mrr > 0;
  constexpr absl::string_view kNoAccountsAtStart = "no paying accounts at start_time";
  constexpr absl::string_view kNoStartMrr = "no MRR at start_time";

  // Logo churn and retention.
  AddScaledRates(w, "logo_churn_rate", any_at_start, c.lost(), c.at_start(),
                 absl::StrCat(c.lost(), " / ", c.at_start(), " × 100"), kNoAccountsAtStart, days,
                 targets.has_max_monthly_churn_percent()
                     ? std::optional<double>(targets.max_monthly_churn_percent())
                     : std::nullopt);
  const double logo_pct = any_at_start ? Percent(c.lost(), c.at_start()) : 0;
  const double logo_monthly_pct = MonthlyPercent(logo_pct, days);
  w.Add("logo_retention_rate", "percent", any_at_start, 100 - logo_pct,
        any_at_start ? absl::StrCat("100 − ", Num(logo_pct)) : std::string(kNoAccountsAtStart));
  MetricWriter::Target(
      w.Add("logo_retention_rate_monthly", "percent", any_at_start, 100 - logo_monthly_pct,
            any_at_start ? absl::StrCat("100 − ", Num(logo_monthly_pct)) : std::string(kNoAccountsAtStart)),
      targets.has_min_retention_percent(), targets.min_retention_percent(), ">=");

  // Revenue.
  const std::string start = Num(t.start_mrr), expansion = Num(t.expansion), contraction = Num(t.contraction),
                    churned = Num(t.churned_mrr);
  AddScaledRates(w, "revenue_churn_rate", any_mrr, t.contraction + t.churned_mrr, t.start_mrr,
                 absl::StrCat("(", contraction, " + ", churned, ") / ", start, " × 100"), kNoStartMrr, days,
                 std::nullopt);
  MetricWriter::Target(
      w.Add("gross_revenue_retention", "percent", any_mrr,
            any_mrr ? Percent(t.start_mrr - t.contraction - t.churned_mrr, t.start_mrr) : 0,
            any_mrr ? absl::StrCat("(", start, " − ", contraction, " − ", churned, ") / ", start, " × 100")
                    : std::string(kNoStartMrr)),
      targets.has_min_grr_percent(), targets.min_grr_percent(), ">=");
  MetricWriter::Target(
      w.Add("net_revenue_retention", "percent", any_mrr,
            any_mrr ? Percent(t.start_mrr + t.expansion - t.contraction - t.churned_mrr, t.start_mrr) : 0,
            any_mrr ? absl::StrCat("(", start, " + ", expansion, " − ", contraction, " − ", churned, ") / ",
                                   start, " × 100")
                    : std::string(kNoStartMrr)),
      targets.has_min_nrr_percent(), targets.min_nrr_percent(), ">=");
  const std::string at_start_text = absl::StrCat(" of ", c.at_start(), " paying account(s) at start_time");
  w.Add("start_mrr", "currency", any_at_start, t.start_mrr,
        any_at_start ? absl::StrCat("sum of the MRR", at_start_text) : std::string(kNoAccountsAtStart));
  w.Add("expansion_mrr", "currency", any_at_start, t.expansion,
        any_at_start
            ? absl::StrCat("sum of ", t.expansion_events, " upgrade and expansion event(s)", at_start_text)
            : std::string(kNoAccountsAtStart));
  w.Add("contraction_mrr", "currency", any_at_start, t.contraction,
        any_at_start ? absl::StrCat("sum of ", t.contraction_events, " downgrade event(s)", at_start_text)
                     : std::string(kNoAccountsAtStart));
  w.Add("churned_mrr", "currency", any_at_start, t.churned_mrr,
        any_at_start
            ? absl::StrCat("sum of the MRR of ", c.lost(), " lost account(s) just before they churned")
            : std::string(kNoAccountsAtStart));
  w.Add("expansion_rate", "percent", any_mrr, any_mrr ? Percent(t.expansion, t.start_mrr) : 0,
        any_mrr ? absl::StrCat(expansion, " / ", start, " × 100") : std::string(kNoStartMrr));

  const bool any_accounts = c.accounts() > 0;
  const bool any_active = c.active_at_end() > 0;
  constexpr absl::string_view kNoAccounts = "no accounts";
  constexpr absl::string_view kNoActive = "no paying accounts at end_time";
  w.Add("mrr", "currency", any_accounts, t.end_mrr,
        any_accounts ? absl::StrCat("sum of the MRR of ", c.active_at_end(), " paying account(s) at end_time")
                     : std::string(kNoAccounts));
  w.Add("arr", "currency", any_accounts, 12 * t.end_mrr,
        any_accounts ? absl::StrCat("12 × ", Num(t.end_mrr)) : std::string(kNoAccounts));
  w.Add("arpu", "currency", any_active, any_active ? t.end_mrr / c.active_at_end() : 0,
        any_active ? absl::StrCat(Num(t.end_mrr), " / ", c.active_at_end()) : std::string(kNoActive));

  // Surveys.
  const bool any_nps = t.nps_answers > 0;
  w.Add("nps", "score", any_nps, any_nps ? Percent(t.promoters - t.detractors, t.nps_answers) : 0,
        any_nps ? absl::StrCat("(", t.promoters, " − ", t.detractors, ") / ", t.nps_answers, " × 100")
                : "no NPS answers in the period");
  const bool any_csat = t.csat_answers > 0;
  w.Add("csat", "score", any_csat, any_csat ? t.csat_sum / t.csat_answers : 0,
        any_csat ? absl::StrCat(Num(t.csat_sum), " / ", t.csat_answers) : "no CSAT answers in the period");
  w.Add("csat_satisfied_rate", "percent", any_csat, any_csat ? Percent(t.csat_satisfied, t.csat_answers) : 0,
        any_csat ? absl::StrCat(t.csat_satisfied, " / ", t.csat_answers, " × 100")
                 : "no CSAT answers in the period");

  // Onboarding.
  const bool any_trials = t.trials > 0;
  w.Add("trial_to_paid_conversion", "percent", any_trials, any_trials ? Percent(t.converted, t.trials) : 0,
        any_trials ? absl::StrCat(t.converted, " / ", t.trials, " × 100")
                   : "no accounts on trial in the period");
  const bool any_due = t.activation_due > 0;
  MetricWriter::Target(
      w.Add("activation_rate", "percent", any_due, any_due ? Percent(t.activated, t.activation_due) : 0,
            any_due ? absl::StrCat(t.activated, " / ", t.activation_due, " × 100")
                    : "no new accounts whose activation window ended in the period"),
      targets.has_min_activation_percent(), targets.min_activation_percent(), ">=");
  const bool any_ttv = t.ttv_accounts > 0;
  MetricWriter::Target(w.Add("time_to_value", "days", any_ttv, any_ttv ? t.ttv_days_sum / t.ttv_accounts : 0,
                             any_ttv ? absl::StrCat(Num(t.ttv_days_sum), " / ", t.ttv_accounts)
                                     : "no new accounts that used a feature in the period"),
                       targets.has_max_time_to_value_days(), targets.max_time_to_value_days(), "<");

  // Scores.
  const bool any_ltv = t.ltv_accounts > 0;
  MetricWriter::Target(w.Add("ltv_to_cac", "ratio", any_ltv, any_ltv ? t.ltv_sum / t.ltv_accounts : 0,
                             any_ltv ? absl::StrCat(Num(t.ltv_sum), " / ", t.ltv_accounts)
                                     : "no paying account at end_time has an LTV:CAC"),
                       targets.has_min_ltv_to_cac(), targets.min_ltv_to_cac(), ">=");
  const bool any_health = t.health_accounts > 0;
  MetricWriter::Target(
      w.Add("average_health", "score", any_health, any_health ? t.health_sum / t.health_accounts : 0,
            any_health ? absl::StrCat(Num(t.health_sum), " / ", t.health_accounts)
                       : "no paying account at end_time has a health score"),
      targets.has_min_average_health(), targets.min_average_health(), ">=");
}

void WriteReasons(const Totals& t, v1::GetPortfolioMetricsResponse& response) {
  std::vector<std::pair<std::string, ReasonTally>> reasons(t.reasons.begin(), t.reasons.end());
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.second.accounts > b.second.accounts; });
  for (const auto& [reason, tally] : reasons) {
    v1::ChurnReasonShare& share = *response.add_churn_by_reason();
    share.set_reason(reason);
    share.set_accounts(tally.accounts);
    share.set_share_percent(Percent(tally.accounts, t.counts.lost()));
    share.set_churn_rate_percent(Percent(tally.accounts, t.counts.at_start()));
    share.set_churned_mrr(tally.mrr);
  }
}

void WriteCohorts(const Totals& t, const CohortFrame& frame, v1::GetPortfolioMetricsResponse& response) {
  for (int i = 0; i < frame.months; ++i) {
    const CohortTally& tally = t.cohorts[i];
    v1::CohortRetention& cohort = *response.add_cohorts();
    cohort.set_cohort_month(absl::FormatCivilTime(frame.first + i));
    cohort.set_accounts(tally.accounts);
    if (tally.accounts == 0) continue;
    for (int k = 0; k < frame.Offsets(i); ++k) {
      cohort.add_retained_percent(Percent(tally.retained[k], tally.accounts));
    }
  }
}

}  // namespace

absl::Status ValidatePortfolioMetricsRequest(const v1::GetPortfolioMetricsRequest& request) {
  if (absl::Status s = CheckTimestamp(request.has_start_time(), request.start_time(), "start_time");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckTimestamp(request.has_end_time(), request.end_time(), "end_time"); !s.ok()) {
    return s;
  }
  const absl::Time start = FromProtoTime(request.start_time());
  const absl::Time end = FromProtoTime(request.end_time());
  if (end <= start) return FieldError("end_time", "must be after start_time");
  if (end - start > absl::Hours(24) * kMaxPeriodDays) {
    return FieldError("end_time",
                      absl::StrCat("must be at most ", kMaxPeriodDays, " days (10 years) after start_time"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetPortfolioMetricsResponse> ComputePortfolioMetrics(
    Store& store, const v1::PortfolioTargets& targets, const v1::GetPortfolioMetricsRequest& request,
    const std::function<bool(const std::string& account_id)>* in_segment) {
  if (absl::Status s = ValidatePortfolioMetricsRequest(request); !s.ok()) return s;
  // Millisecond resolution, like the records.
  const int64_t s = absl::ToUnixMillis(FromProtoTime(request.start_time()));
  const int64_t e = absl::ToUnixMillis(FromProtoTime(request.end_time()));
  const double days = static_cast<double>(e - s) / kDayMs;
  if (e <= s) return FieldError("end_time", "must be at least a millisecond after start_time");
  const int64_t window_ms = int64_t{ActivationWindowDays(targets)} * kDayMs;

  CohortFrame frame;
  frame.months = CohortMonths(targets);
  frame.end_ms = e;
  frame.first = absl::ToCivilMonth(absl::FromUnixMillis(e - 1), absl::UTCTimeZone()) - (frame.months - 1);
  Totals totals;
  totals.cohorts.resize(frame.months);
  for (int i = 0; i < frame.months; ++i) totals.cohorts[i].retained.assign(frame.Offsets(i), 0);

  const std::string index(AccountHistoryBook::kIndex);
  std::string after;
  while (true) {
    absl::StatusOr<std::vector<std::string>> page = store.IndexScan(index, after, kPortfolioPageSize);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    after = page->back();
    std::vector<std::string> keys;
    keys.reserve(page->size());
    for (const std::string& id : *page) {
      if (in_segment == nullptr || (*in_segment)(id)) keys.push_back(AccountHistoryBook::RecordKey(id));
    }
    if (!keys.empty()) {
      absl::StatusOr<std::vector<std::optional<Record>>> records = store.Get(keys);
      if (!records.ok()) return records.status();
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (!(*records)[i].has_value()) continue;  // indexed, never written
        v1::PortfolioHistoryRecord record;
        if (!record.ParseFromString((*records)[i]->value)) {
          return absl::InternalError(
              absl::StrCat("stored \"", keys[i], "\" cannot be parsed as ", record.GetTypeName()));
        }
        const History history(record);
        if (history.Known()) Accumulate(history, s, e, window_ms, frame, totals);
      }
    }
    if (static_cast<int>(page->size()) < kPortfolioPageSize) break;
  }

  v1::GetPortfolioMetricsResponse response;
  *response.mutable_start_time() = request.start_time();
  *response.mutable_end_time() = request.end_time();
  response.set_segment_id(request.segment_id());
  response.set_period_days(days);
  WriteMetrics(totals, targets, days, response);
  WriteReasons(totals, response);
  WriteCohorts(totals, frame, response);
  *response.mutable_counts() = totals.counts;
  return response;
}

}  // namespace steward::segmentation
