#include "services/upsell/upsell_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/logging.h"
#include "common/proto_time.h"
#include "common/request_context.h"
#include "services/scoring/validation.h"
#include "services/upsell/trigger_engine.h"

namespace steward::upsell {

UpsellService::UpsellService(const Clock& clock, const scoring::ScoringClient& scoring,
                             const segmentation::SegmentationClient& segmentation,
                             OpportunityBook& opportunities, v1::UpsellConfig config, HandOff hand_off)
    : clock_(clock),
      scoring_(scoring),
      segmentation_(segmentation),
      opportunities_(opportunities),
      config_(std::move(config)),
      hand_off_(std::move(hand_off)) {}

const v1::UpsellTrigger* UpsellService::FindTrigger(const std::string& id) const {
  for (const v1::UpsellTrigger& trigger : config_.triggers()) {
    if (trigger.id() == id) return &trigger;
  }
  return nullptr;
}

absl::StatusOr<v1::EvaluateAccountResponse> UpsellService::EvaluateAccount(
    const v1::EvaluateAccountRequest& request) {
  if (absl::Status s = scoring::ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  auto facts = segmentation::ReadAccountFacts(scoring_, &segmentation_, request.account_id());
  if (!facts.ok()) return facts.status();
  return Evaluate(request.account_id(), *facts);
}

absl::Status UpsellService::EvaluateChanged(absl::Span<const ChangedAccount> changed) {
  // Each account once, under the id of the request behind its latest change.
  std::vector<std::string> ids;
  absl::flat_hash_map<std::string, std::string> latest_request;
  for (const ChangedAccount& c : changed) {
    if (latest_request.insert_or_assign(c.account_id, c.request_id).second) ids.push_back(c.account_id);
  }
  auto facts = segmentation::ReadManyAccountFacts(scoring_, &segmentation_, ids);
  if (!facts.ok()) return facts.status();
  // Every account's opportunities in one round trip too: most evaluations find what fired already open.
  auto opportunities = opportunities_.LoadMany(ids);
  if (!opportunities.ok()) return opportunities.status();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string& id = ids[i];
    auto found = facts->find(id);
    if (found == facts->end()) continue;  // unknown account: nothing to evaluate
    const std::string& request_id = latest_request[id];
    ScopedRequest as_request({request_id.empty() ? NewRequestId() : request_id, std::nullopt});
    absl::Status s = Evaluate(id, found->second, &(*opportunities)[i]).status();
    if (absl::IsUnavailable(s) || absl::IsAborted(s) || absl::IsDeadlineExceeded(s)) return s;
    if (!s.ok()) {
      // Anything else would fail again on a retry; one account must not stop the others.
      Log(LogLevel::kWarning, "upsell_evaluation_failed", {{"account_id", id}, {"error", s.ToString()}});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::EvaluateAccountResponse> UpsellService::Evaluate(
    const std::string& account_id, const segmentation::AccountFacts& facts,
    const OpportunityBook::Loaded* opportunities) {
  AccountSnapshot snapshot;
  snapshot.account = &facts.account;
  snapshot.scores = &facts.scores;
  snapshot.now = clock_.Now();
  snapshot.segment_ids = facts.segment_ids;
  Evaluation evaluation = EvaluateTriggers(config_, snapshot);

  v1::EvaluateAccountResponse response;
  response.set_account_id(account_id);
  response.set_at_risk(evaluation.at_risk);
  response.set_at_risk_reason(evaluation.at_risk_reason);
  for (v1::FiredTrigger& fired : evaluation.fired) {
    const v1::UpsellTrigger* trigger = FindTrigger(fired.trigger_id());
    if (trigger == nullptr) return absl::InternalError(absl::StrCat("unknown trigger ", fired.trigger_id()));
    auto opened = opportunities_.Open(account_id, fired, Cooldown(*trigger), opportunities);
    // What the page read is stale once this evaluation wrote: later triggers read afresh.
    if (opened.ok() && opened->outcome == OpportunityBook::OpenOutcome::kOpened) opportunities = nullptr;
    if (!opened.ok()) return opened.status();
    switch (opened->outcome) {
      case OpportunityBook::OpenOutcome::kOpened:
        Log(LogLevel::kInfo, "upsell_opportunity_opened",
            {{"account_id", account_id},
             {"opportunity_id", opened->opportunity.opportunity_id()},
             {"trigger_id", fired.trigger_id()}});
        *response.add_opened() = std::move(opened->opportunity);
        break;
      case OpportunityBook::OpenOutcome::kAlreadyOpen:
        *response.add_already_open() = std::move(opened->opportunity);
        break;
      case OpportunityBook::OpenOutcome::kCoolingDown:
        response.add_cooling_down(fired.trigger_id());
        break;
    }
    *response.add_fired() = std::move(fired);
  }
  if (hand_off_ != nullptr) {
    // Oldest first: the offer playbook takes one opportunity at a time, so when an earlier hand-off
    // failed (and this is its retry), the opportunity that was first must still be first.
    std::vector<const v1::Opportunity*> open;
    for (const v1::Opportunity& o : response.already_open()) open.push_back(&o);
    for (const v1::Opportunity& o : response.opened()) open.push_back(&o);
    std::stable_sort(open.begin(), open.end(), [](const v1::Opportunity* a, const v1::Opportunity* b) {
      return FromProtoTime(a->create_time()) < FromProtoTime(b->create_time());
    });
    std::vector<std::string> taken;
    for (const v1::Opportunity* o : open) {
      if (o->handed_over()) continue;  // presented already: nothing to ask of anyone
      absl::StatusOr<bool> handed = hand_off_(*o);
      if (!handed.ok()) return handed.status();
      if (*handed) taken.push_back(o->opportunity_id());
    }
    if (!taken.empty()) {
      if (absl::Status s = opportunities_.MarkHandedOver(account_id, taken); !s.ok()) return s;
    }
  }
  return response;
}

absl::StatusOr<v1::GetOpportunityResponse> UpsellService::GetOpportunity(
    const v1::GetOpportunityRequest& request) {
  auto opportunity = opportunities_.Get(request.opportunity_id());
  if (!opportunity.ok()) return opportunity.status();
  v1::GetOpportunityResponse response;
  *response.mutable_opportunity() = *std::move(opportunity);
  return response;
}

absl::StatusOr<v1::ListOpportunitiesResponse> UpsellService::ListOpportunities(
    const v1::ListOpportunitiesRequest& request) {
  if (!request.account_id().empty()) {
    if (absl::Status s = scoring::ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  }
  if (!v1::OpportunityState_IsValid(request.state()))
    return FieldError("state", "is not an OpportunityState");
  if (request.page_size() < 0) return FieldError("page_size", "must not be negative");
  const int page_size = request.page_size() == 0 ? 100 : std::min(request.page_size(), 1000);
  std::string after;
  if (!request.page_token().empty() &&
      (!absl::WebSafeBase64Unescape(request.page_token(), &after) || after.empty())) {
    return FieldError("page_token", "is not a token returned by ListOpportunities");
  }
  // One more than the page tells whether another follows.
  auto found = opportunities_.List(request.account_id(), after, page_size + 1, [&](const v1::Opportunity& o) {
    return (request.trigger_id().empty() || o.trigger().trigger_id() == request.trigger_id()) &&
           (request.state() == v1::OPPORTUNITY_STATE_UNSPECIFIED || o.state() == request.state());
  });
  if (!found.ok()) return found.status();
  v1::ListOpportunitiesResponse response;
  const bool more = static_cast<int>(found->size()) > page_size;
  if (more) found->pop_back();
  for (v1::Opportunity& o : *found) *response.add_opportunities() = std::move(o);
  if (more) {
    response.set_next_page_token(
        absl::WebSafeBase64Escape(response.opportunities().rbegin()->opportunity_id()));
  }
  return response;
}

absl::Status UpsellService::ReportAccepted(const v1::Opportunity& opportunity, double mrr_change) {
  const v1::FiredTrigger& trigger = opportunity.trigger();
  v1::RecordEventsRequest events;
  v1::Event& event = *events.add_events();
  event.set_event_id(absl::StrCat("upsell:", opportunity.opportunity_id()));
  event.set_account_id(opportunity.account_id());
  event.set_type(trigger.kind_of_sale() == v1::SALE_KIND_CROSS_SELL ? v1::EVENT_TYPE_EXPANSION
                                                                    : v1::EVENT_TYPE_UPGRADE);
  *event.mutable_time() = ToProtoTime(clock_.Now());
  event.set_value(mrr_change);
  event.set_subject(!trigger.offer().target_plan().empty() ? trigger.offer().target_plan()
                                                           : trigger.offer().target_product());
  auto recorded = scoring_.RecordEvents(events);
  if (!recorded.ok()) return recorded.status();
  if (recorded->recorded() == 0) return absl::OkStatus();  // reported before: the MRR moved then
  auto account = scoring_.GetAccount(opportunity.account_id());
  if (!account.ok()) return account.status();
  v1::UpsertAccountRequest upsert;
  *upsert.mutable_account() = *std::move(account);
  upsert.mutable_account()->set_mrr(upsert.account().mrr() + mrr_change);
  if (!trigger.offer().target_plan().empty()) {
    upsert.mutable_account()->mutable_plan()->set_name(trigger.offer().target_plan());
  }
  return scoring_.UpsertAccount(upsert).status();
}

absl::StatusOr<v1::RecordOpportunityOutcomeResponse> UpsellService::RecordOpportunityOutcome(
    const v1::RecordOpportunityOutcomeRequest& request) {
  if (request.state() == v1::OPPORTUNITY_STATE_ACCEPTED && !(request.mrr_change() > 0)) {
    return FieldError("mrr_change", "an accepted offer needs the MRR it adds, > 0");
  }
  if (request.state() == v1::OPPORTUNITY_STATE_ACCEPTED) {
    // The deal reaches the scoring service before the opportunity closes, so that a failure here
    // leaves the opportunity open for a retry; the event id makes that retry harmless.
    auto current = opportunities_.Get(request.opportunity_id());
    if (!current.ok()) return current.status();
    bool retry = false;
    for (const v1::OpportunityTransition& t : current->transitions())
      retry |= t.request_id() == request.request_id();
    const bool open =
        current->state() == v1::OPPORTUNITY_STATE_OPEN || current->state() == v1::OPPORTUNITY_STATE_OFFERED;
    if (open && !retry) {
      if (absl::Status s = ReportAccepted(*current, request.mrr_change()); !s.ok()) return s;
    }
  }
  auto moved = opportunities_.RecordOutcome(request.opportunity_id(), request.state(), request.request_id(),
                                            request.note(), request.mrr_change());
  if (!moved.ok()) return moved.status();
  v1::RecordOpportunityOutcomeResponse response;
  *response.mutable_opportunity() = *std::move(moved);
  return response;
}

namespace {

// Seed 001's targets for the share of upsell and cross-sell opportunities won.
constexpr double kUpsellRateTarget = 0.25;
constexpr double kCrossSellRateTarget = 0.35;

void Count(v1::ConversionStats& stats, const v1::Opportunity& o) {
  stats.set_opened(stats.opened() + 1);
  switch (o.state()) {
    case v1::OPPORTUNITY_STATE_OPEN:
      stats.set_open(stats.open() + 1);
      break;
    case v1::OPPORTUNITY_STATE_OFFERED:
      stats.set_offered(stats.offered() + 1);
      break;
    case v1::OPPORTUNITY_STATE_ACCEPTED:
      stats.set_accepted(stats.accepted() + 1);
      stats.set_expansion_mrr_won(stats.expansion_mrr_won() + o.mrr_change());
      break;
    case v1::OPPORTUNITY_STATE_DECLINED:
      stats.set_declined(stats.declined() + 1);
      break;
    case v1::OPPORTUNITY_STATE_EXPIRED:
      stats.set_expired(stats.expired() + 1);
      break;
    default:
      break;
  }
}

// accepted ÷ decided, when anything is decided.
std::optional<double> Conversion(const v1::ConversionStats& stats) {
  const int64_t decided = stats.accepted() + stats.declined() + stats.expired();
  if (decided == 0) return std::nullopt;
  return static_cast<double>(stats.accepted()) / static_cast<double>(decided);
}

}  // namespace

absl::StatusOr<v1::GetUpsellMetricsResponse> UpsellService::GetUpsellMetrics(
    const v1::GetUpsellMetricsRequest& request) {
  const absl::Time start =
      request.has_start_time() ? FromProtoTime(request.start_time()) : absl::InfinitePast();
  const absl::Time end = request.has_end_time() ? FromProtoTime(request.end_time()) : absl::InfiniteFuture();
  if (start >= end) return FieldError("end_time", "must be after start_time");

  v1::GetUpsellMetricsResponse response;
  for (const v1::UpsellTrigger& trigger : config_.triggers()) {
    v1::ConversionStats& stats = *response.add_triggers();
    stats.set_trigger_id(trigger.id());
    stats.set_expected_conversion_min(trigger.expected_conversion_min());
    stats.set_expected_conversion_max(trigger.expected_conversion_max());
  }
  v1::ConversionStats upsell;
  v1::ConversionStats cross_sell;
  absl::Status scanned = opportunities_.ForEach([&](const v1::Opportunity& o) {
    const absl::Time opened = FromProtoTime(o.create_time());
    if (opened < start || opened >= end) return;
    Count(*response.mutable_overall(), o);
    Count(o.trigger().kind_of_sale() == v1::SALE_KIND_CROSS_SELL ? cross_sell : upsell, o);
    for (v1::ConversionStats& stats : *response.mutable_triggers()) {
      if (stats.trigger_id() == o.trigger().trigger_id()) Count(stats, o);
    }
  });
  if (!scanned.ok()) return scanned;
  for (v1::ConversionStats& stats : *response.mutable_triggers()) {
    if (std::optional<double> rate = Conversion(stats); rate.has_value()) {
      stats.set_conversion_rate(*rate);
      stats.set_meets_expectation(*rate >= stats.expected_conversion_min());
    }
  }
  if (std::optional<double> rate = Conversion(response.overall()); rate.has_value()) {
    response.mutable_overall()->set_conversion_rate(*rate);
  }
  if (std::optional<double> rate = Conversion(upsell); rate.has_value()) response.set_upsell_rate(*rate);
  if (std::optional<double> rate = Conversion(cross_sell); rate.has_value())
    response.set_cross_sell_rate(*rate);
  response.set_upsell_rate_target(kUpsellRateTarget);
  response.set_cross_sell_rate_target(kCrossSellRateTarget);
  return response;
}

}  // namespace steward::upsell
