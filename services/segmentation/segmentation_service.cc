#include "services/segmentation/segmentation_service.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/logging.h"
#include "common/proto_time.h"
#include "services/scoring/validation.h"
#include "services/segmentation/builtin/builtin_segments.h"
#include "services/segmentation/keys.h"
#include "services/segmentation/metrics/portfolio_metrics.h"
#include "services/segmentation/rules/fields.h"
#include "steward/v1/segmentation_record.pb.h"

namespace steward::segmentation {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
// Like the scoring service's batch reads.
constexpr int kMaxAccountsPerBatchGet = 1000;

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0) return FieldError("page_size", "must not be negative");
  return requested == 0 ? kDefaultPageSize : std::min<int>(requested, kMaxPageSize);
}

// Listing tokens are the last id of the previous page, so that a page stays right while members come
// and go; base64 keeps them opaque to callers.
absl::StatusOr<std::string> StartAfter(const std::string& token, absl::string_view rpc) {
  std::string start_after;
  if (!token.empty() && (!absl::WebSafeBase64Unescape(token, &start_after) || start_after.empty())) {
    return FieldError("page_token", absl::StrCat("is not a token returned by ", rpc));
  }
  return start_after;
}

absl::Status CheckSegmentIdGiven(const std::string& segment_id) {
  if (segment_id.empty()) return FieldError("segment_id", "is required");
  if (segment_id.size() > 200) return FieldError("segment_id", "is longer than 200 characters");
  return absl::OkStatus();
}

}  // namespace

SegmentationService::SegmentationService(Store& store, const Clock& clock,
                                         const scoring::ScoringClient& scoring, SegmentCatalog& catalog,
                                         LoyaltyBook& loyalty, const v1::SegmentationConfig& config,
                                         const v1::PortfolioTargets& targets,
                                         MembershipMaintainer* maintainer)
    : store_(store),
      clock_(clock),
      scoring_(scoring),
      catalog_(catalog),
      loyalty_(loyalty),
      config_(config),
      targets_(targets),
      maintainer_(maintainer) {}

absl::Status SegmentationService::CheckAccount(const std::string& account_id) {
  if (absl::Status s = scoring::ValidateAccountId("account_id", account_id); !s.ok()) return s;
  return scoring_.GetAccount(account_id).status();
}

absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> SegmentationService::CatalogWith(
    const std::string& segment_id) {
  if (absl::Status s = CheckSegmentIdGiven(segment_id); !s.ok()) return s;
  auto catalog = catalog_.Current();
  if (!catalog.ok()) return catalog.status();
  if ((*catalog)->Find(segment_id) == nullptr) {
    return absl::NotFoundError(absl::StrCat("segment \"", segment_id, "\" not found"));
  }
  return catalog;
}

void SegmentationService::Reevaluate(const std::string& account_id) {
  if (maintainer_ == nullptr) return;
  // Best effort: the next rebuild repairs what fails here, and the answer is already committed.
  if (absl::Status s = maintainer_->Evaluate({account_id}); !s.ok()) {
    Log(LogLevel::kWarning, "segment_reevaluation_failed",
        {{"account_id", account_id}, {"error", s.ToString()}});
  }
}

absl::StatusOr<v1::GetAccountSegmentsResponse> SegmentationService::GetAccountSegments(
    const v1::GetAccountSegmentsRequest& request) {
  if (absl::Status s = scoring::ValidateAccountId("account_id", request.account_id()); !s.ok()) return s;
  if (!request.evaluate_now()) {
    // The maintained record. (The local copy was tried already by TryGetAccountSegmentsLocally; this
    // read tracks the record so that the next call can be answered that way.)
    const std::string key = MembershipsKey(request.account_id());
    auto read = store_.GetAndTrack({&key, 1});
    if (!read.ok()) return read.status();
    std::optional<Record> record = std::move((*read)[0]);
    // Not evaluated yet (a brand-new account): evaluate now, which also answers NOT_FOUND.
    if (record.has_value()) {
      auto catalog = catalog_.Current();
      if (!catalog.ok()) return catalog.status();
      return FromMaintained(request.account_id(), *record, **catalog);
    }
  }
  auto account = scoring_.GetAccount(request.account_id());
  if (!account.ok()) return account.status();
  auto scores = scoring_.BatchGetScores({request.account_id()});
  if (!scores.ok()) return scores.status();
  if (scores->size() != 1) return absl::InternalError("scoring service answered with no scores");
  v1::GetLoyaltyRequest loyalty_request;
  loyalty_request.set_account_id(request.account_id());
  loyalty_request.set_page_size(1);
  auto loyalty = loyalty_.Get(loyalty_request);
  if (!loyalty.ok()) return loyalty.status();
  auto catalog = catalog_.Current();
  if (!catalog.ok()) return catalog.status();

  const absl::Time now = clock_.Now();
  const AccountView view{&*account, &(*scores)[0], &loyalty->standing(), now};
  v1::GetAccountSegmentsResponse response;
  response.set_account_id(request.account_id());
  *response.mutable_update_time() = ToProtoTime(now);
  for (v1::SegmentAssignment& a : AssignSegments(config_, **catalog, view)) {
    *response.add_assignments() = std::move(a);
  }
  return response;
}

absl::StatusOr<v1::BatchGetAccountSegmentsResponse> SegmentationService::BatchGetAccountSegments(
    const v1::BatchGetAccountSegmentsRequest& request) {
  auto ids = scoring::ValidateAccountIds("account_ids", request.account_ids(), kMaxAccountsPerBatchGet);
  if (!ids.ok()) return ids.status();
  std::vector<std::string> keys;
  keys.reserve(ids->size());
  for (const std::string& id : *ids) keys.push_back(MembershipsKey(id));
  auto read = store_.GetAndTrack(keys);
  if (!read.ok()) return read.status();
  auto catalog = catalog_.Current();
  if (!catalog.ok()) return catalog.status();
  v1::BatchGetAccountSegmentsResponse response;
  for (std::size_t i = 0; i < ids->size(); ++i) {
    absl::StatusOr<v1::GetAccountSegmentsResponse> one;
    if ((*read)[i].has_value()) {
      one = FromMaintained((*ids)[i], *(*read)[i], **catalog);
    } else {
      // Not evaluated yet (a brand-new account; rare): the single path evaluates it, or says NOT_FOUND.
      v1::GetAccountSegmentsRequest single;
      single.set_account_id((*ids)[i]);
      single.set_evaluate_now(true);
      one = GetAccountSegments(single);
    }
    if (!one.ok()) return one.status();
    *response.add_accounts() = *std::move(one);
  }
  return response;
}

std::optional<v1::GetAccountSegmentsResponse> SegmentationService::TryGetAccountSegmentsLocally(
    const v1::GetAccountSegmentsRequest& request) {
  if (request.evaluate_now() || !scoring::ValidateAccountId("account_id", request.account_id()).ok()) {
    return std::nullopt;
  }
  std::shared_ptr<const CatalogSnapshot> catalog = catalog_.TryCurrentLocally();
  if (catalog == nullptr) return std::nullopt;
  const std::string key = MembershipsKey(request.account_id());
  std::optional<std::vector<Record>> local = store_.TryGetLocal({&key, 1});
  if (!local.has_value()) return std::nullopt;
  auto response = FromMaintained(request.account_id(), (*local)[0], *catalog);
  if (!response.ok()) return std::nullopt;
  return *std::move(response);
}

absl::StatusOr<v1::GetAccountSegmentsResponse> SegmentationService::FromMaintained(
    const std::string& account_id, const Record& record, const CatalogSnapshot& catalog) {
  v1::AccountMemberships memberships;
  if (!memberships.ParseFromString(record.value)) {
    return absl::InternalError(absl::StrCat("membership record of \"", account_id, "\" is corrupt"));
  }
  // Built-in segmentations in their fixed order, then custom segments by id (the record is by id).
  struct Entry {
    std::size_t rank;
    int index;
  };
  std::vector<Entry> order;
  for (int i = 0; i < memberships.segment_ids_size(); ++i) {
    const std::string& id = memberships.segment_ids(i);
    const std::size_t slash = id.find('/');
    std::size_t rank = kBuiltInSegmentations.size();
    if (slash != std::string::npos) {
      rank = std::find(kBuiltInSegmentations.begin(), kBuiltInSegmentations.end(),
                       absl::string_view(id).substr(0, slash)) -
             kBuiltInSegmentations.begin();
    }
    order.push_back(Entry{rank, i});
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Entry& a, const Entry& b) { return a.rank < b.rank; });
  v1::GetAccountSegmentsResponse response;
  response.set_account_id(account_id);
  *response.mutable_update_time() = ToProtoTime(absl::FromUnixSeconds(memberships.update_unix_seconds()));
  for (const Entry& entry : order) {
    const std::string& id = memberships.segment_ids(entry.index);
    // A custom segment deleted since the evaluation is gone from the answer at once.
    const v1::Segment* segment = catalog.Find(id);
    if (segment == nullptr) continue;
    v1::SegmentAssignment& a = *response.add_assignments();
    const std::size_t slash = id.find('/');
    a.set_segmentation(slash == std::string::npos ? "custom" : id.substr(0, slash));
    a.set_segment_id(id);
    a.set_display_name(segment->display_name());
    if (entry.index < memberships.reasons_size()) a.set_reason(memberships.reasons(entry.index));
    a.set_treatment(segment->treatment());
  }
  return response;
}

absl::StatusOr<v1::CreateSegmentResponse> SegmentationService::CreateSegment(
    const v1::CreateSegmentRequest& request) {
  if (!request.has_segment()) return FieldError("segment", "is required");
  auto segment = catalog_.Create(request.segment());
  if (!segment.ok()) return segment.status();
  v1::CreateSegmentResponse response;
  *response.mutable_segment() = *std::move(segment);
  return response;
}

absl::StatusOr<v1::GetSegmentResponse> SegmentationService::GetSegment(const v1::GetSegmentRequest& request) {
  auto catalog = CatalogWith(request.segment_id());
  if (!catalog.ok()) return catalog.status();
  v1::GetSegmentResponse response;
  *response.mutable_segment() = *(*catalog)->Find(request.segment_id());
  return response;
}

absl::StatusOr<v1::ListSegmentsResponse> SegmentationService::ListSegments(
    const v1::ListSegmentsRequest& request) {
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  auto start_after = StartAfter(request.page_token(), "ListSegments");
  if (!start_after.ok()) return start_after.status();
  auto catalog = catalog_.Current();
  if (!catalog.ok()) return catalog.status();
  // Both lists are sorted by id: merge them from the token on.
  std::vector<const v1::Segment*> all;
  for (const v1::Segment& s : (*catalog)->built_in) all.push_back(&s);
  for (const CustomSegment& s : (*catalog)->custom) all.push_back(&s.definition);
  std::sort(all.begin(), all.end(),
            [](const v1::Segment* a, const v1::Segment* b) { return a->segment_id() < b->segment_id(); });
  auto it =
      std::upper_bound(all.begin(), all.end(), *start_after,
                       [](const std::string& id, const v1::Segment* s) { return id < s->segment_id(); });
  v1::ListSegmentsResponse response;
  for (; it != all.end() && response.segments_size() < *page_size; ++it) *response.add_segments() = **it;
  if (it != all.end() && response.segments_size() > 0) {
    response.set_next_page_token(absl::WebSafeBase64Escape(response.segments().rbegin()->segment_id()));
  }
  return response;
}

absl::StatusOr<v1::UpdateSegmentResponse> SegmentationService::UpdateSegment(
    const v1::UpdateSegmentRequest& request) {
  if (!request.has_segment()) return FieldError("segment", "is required");
  auto segment = catalog_.Update(request.segment());
  if (!segment.ok()) return segment.status();
  v1::UpdateSegmentResponse response;
  *response.mutable_segment() = *std::move(segment);
  return response;
}

absl::StatusOr<v1::DeleteSegmentResponse> SegmentationService::DeleteSegment(
    const v1::DeleteSegmentRequest& request) {
  if (absl::Status s = CheckSegmentIdGiven(request.segment_id()); !s.ok()) return s;
  if (absl::Status s = catalog_.Delete(request.segment_id()); !s.ok()) return s;
  return v1::DeleteSegmentResponse();
}

absl::StatusOr<v1::ListSegmentMembersResponse> SegmentationService::ListSegmentMembers(
    const v1::ListSegmentMembersRequest& request) {
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  auto start_after = StartAfter(request.page_token(), "ListSegmentMembers");
  if (!start_after.ok()) return start_after.status();
  auto catalog = CatalogWith(request.segment_id());
  if (!catalog.ok()) return catalog.status();
  // One extra id tells whether another page follows. Tracked, so that the next call for this page
  // can be answered by TryListSegmentMembersLocally.
  auto ids = store_.IndexScanAndTrack(MembersIndex(request.segment_id()), *start_after, *page_size + 1);
  if (!ids.ok()) return ids.status();
  return MembersPage(*std::move(ids), *page_size);
}

v1::ListSegmentMembersResponse SegmentationService::MembersPage(std::vector<std::string> members,
                                                                int page_size) {
  v1::ListSegmentMembersResponse response;
  const bool more = static_cast<int>(members.size()) > page_size;
  if (more) members.pop_back();
  for (std::string& id : members) response.add_account_ids(std::move(id));
  if (more) response.set_next_page_token(absl::WebSafeBase64Escape(*response.account_ids().rbegin()));
  return response;
}

std::optional<v1::ListSegmentMembersResponse> SegmentationService::TryListSegmentMembersLocally(
    const v1::ListSegmentMembersRequest& request) {
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return std::nullopt;
  auto start_after = StartAfter(request.page_token(), "ListSegmentMembers");
  if (!start_after.ok() || !CheckSegmentIdGiven(request.segment_id()).ok()) return std::nullopt;
  std::shared_ptr<const CatalogSnapshot> catalog = catalog_.TryCurrentLocally();
  if (catalog == nullptr || catalog->Find(request.segment_id()) == nullptr) return std::nullopt;
  std::optional<std::vector<std::string>> members =
      store_.TryIndexScanLocal(MembersIndex(request.segment_id()), *start_after, *page_size + 1);
  if (!members.has_value()) return std::nullopt;
  return MembersPage(*std::move(members), *page_size);
}

absl::StatusOr<v1::GetSegmentStatsResponse> SegmentationService::GetSegmentStats(
    const v1::GetSegmentStatsRequest& request) {
  auto catalog = CatalogWith(request.segment_id());
  if (!catalog.ok()) return catalog.status();
  const std::string key(kStatsKey);
  auto read = store_.Get({&key, 1});
  if (!read.ok()) return read.status();
  v1::SegmentStatsRecord stats;
  if ((*read)[0].has_value() && !stats.ParseFromString((*read)[0]->value)) {
    return absl::InternalError("segment stats record is corrupt");
  }
  v1::SegmentCounters counters;
  if (auto it = stats.segments().find(request.segment_id()); it != stats.segments().end())
    counters = it->second;
  const v1::SegmentCounters& all = stats.portfolio();
  v1::GetSegmentStatsResponse response;
  response.set_total_accounts(all.account_count());
  response.set_total_mrr(all.mrr());
  v1::SegmentStats& out = *response.mutable_stats();
  out.set_segment_id(request.segment_id());
  out.set_account_count(counters.account_count());
  out.set_mrr(counters.mrr());
  if (all.account_count() > 0) {
    out.set_account_share(static_cast<double>(counters.account_count()) / all.account_count());
  }
  if (all.mrr() > 0) out.set_revenue_share(counters.mrr() / all.mrr());
  if (counters.health_count() > 0) out.set_average_health(counters.health_sum() / counters.health_count());
  return response;
}

absl::StatusOr<v1::ListMembershipEventsResponse> SegmentationService::ListMembershipEvents(
    const v1::ListMembershipEventsRequest& request) {
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  if (!request.page_token().empty() && !IsLogEntryId(request.page_token())) {
    return FieldError("page_token", "is not a cursor returned by ListMembershipEvents");
  }
  auto entries = store_.LogRead(std::string(kMembershipLog), request.page_token(), *page_size);
  if (!entries.ok()) return entries.status();
  v1::ListMembershipEventsResponse response;
  response.set_next_page_token(request.page_token());
  for (LogEntry& entry : *entries) {
    v1::MembershipEvent& event = *response.add_events();
    if (!event.ParseFromString(entry.bytes)) {
      return absl::InternalError(absl::StrCat("membership log entry ", entry.id, " is corrupt"));
    }
    event.set_cursor(entry.id);
    response.set_next_page_token(std::move(entry.id));
  }
  return response;
}

absl::StatusOr<v1::ListSegmentFieldsResponse> SegmentationService::ListSegmentFields(
    const v1::ListSegmentFieldsRequest&) {
  v1::ListSegmentFieldsResponse response;
  for (v1::SegmentField& field : SegmentFields()) *response.add_fields() = std::move(field);
  return response;
}

absl::StatusOr<v1::GetLoyaltyResponse> SegmentationService::GetLoyalty(const v1::GetLoyaltyRequest& request) {
  if (absl::Status s = CheckAccount(request.account_id()); !s.ok()) return s;
  return loyalty_.Get(request);
}

absl::StatusOr<v1::AwardPointsResponse> SegmentationService::AwardPoints(
    const v1::AwardPointsRequest& request) {
  if (absl::Status s = CheckAccount(request.account_id()); !s.ok()) return s;
  auto response = loyalty_.Award(request);
  if (response.ok()) Reevaluate(request.account_id());
  return response;
}

absl::StatusOr<v1::RedeemPointsResponse> SegmentationService::RedeemPoints(
    const v1::RedeemPointsRequest& request) {
  if (absl::Status s = CheckAccount(request.account_id()); !s.ok()) return s;
  auto response = loyalty_.Redeem(request);
  if (response.ok()) Reevaluate(request.account_id());
  return response;
}

absl::StatusOr<v1::ListRewardsResponse> SegmentationService::ListRewards(const v1::ListRewardsRequest&) {
  v1::ListRewardsResponse response;
  for (const v1::LoyaltyReward& reward : loyalty_.Rewards()) *response.add_rewards() = reward;
  return response;
}

absl::StatusOr<v1::GetPortfolioMetricsResponse> SegmentationService::GetPortfolioMetrics(
    const v1::GetPortfolioMetricsRequest& request) {
  if (absl::Status s = ValidatePortfolioMetricsRequest(request); !s.ok()) return s;
  if (request.segment_id().empty()) return ComputePortfolioMetrics(store_, targets_, request, nullptr);
  auto catalog = CatalogWith(request.segment_id());
  if (!catalog.ok()) return catalog.status();
  // Per segment: the accounts in it now, from its member index.
  absl::flat_hash_set<std::string> members;
  std::string after;
  for (;;) {
    auto page = store_.IndexScan(MembersIndex(request.segment_id()), after, 10000);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    after = page->back();
    for (std::string& id : *page) members.insert(std::move(id));
  }
  const std::function<bool(const std::string&)> in_segment = [&members](const std::string& id) {
    return members.contains(id);
  };
  return ComputePortfolioMetrics(store_, targets_, request, &in_segment);
}

}  // namespace steward::segmentation
