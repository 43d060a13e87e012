#include "services/segmentation/loyalty/loyalty_book.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "common/store/memory_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "tests/support/forwarding_store.h"

namespace steward::segmentation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kConfig[] = R"cfg(
earn { daily_use: 10 feature_use: 5 referral: 100 feedback: 25 social_share: 15 }
tiers { tier: LOYALTY_TIER_BRONZE min_earned: 0 }
tiers { tier: LOYALTY_TIER_SILVER min_earned: 1000 }
tiers { tier: LOYALTY_TIER_GOLD min_earned: 5000 }
tiers { tier: LOYALTY_TIER_PLATINUM min_earned: 10000 }
rewards { reward_id: "premium_feature" display_name: "Premium feature" points: 500 }
rewards { reward_id: "training" display_name: "Training" points: 300 }
rewards { reward_id: "priority_support" display_name: "Priority support" points: 200 }
rewards { reward_id: "beta_access" display_name: "Beta access" points: 1000 }
rewards { reward_id: "custom_feature" display_name: "Custom feature" points: 2000 }
)cfg";

v1::LoyaltyConfig SpecConfig() {
  v1::LoyaltyConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
  EXPECT_TRUE(ValidateLoyaltyConfig(config).ok());
  return config;
}

absl::Time Utc(const std::string& text) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &error)) << text << ": " << error;
  return t;
}

v1::Event MakeEvent(const std::string& id, v1::EventType type, const std::string& time,
                    const std::string& subject = "", std::optional<double> sentiment = std::nullopt) {
  v1::Event event;
  event.set_event_id(id);
  event.set_account_id("acme");
  event.set_type(type);
  *event.mutable_time() = ToProtoTime(Utc(time));
  event.set_subject(subject);
  if (sentiment.has_value()) event.set_sentiment(*sentiment);
  return event;
}

// A Store that forwards to a MemoryStore, checks that every key of a write carries the account's hash
// tag, and can run a hook before a Put (to stage a race) or refuse a number of Puts (a lost race).
class TestStore final : public steward::testing::ForwardingStore {
 public:
  absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) override {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      ++puts_;
      hook = std::move(before_put_);
      before_put_ = nullptr;
      if (refuse_ > 0) {
        --refuse_;
        return std::vector<bool>(writes.size(), false);
      }
    }
    if (hook) hook();
    for (const Write& write : writes) {
      const std::size_t open = write.key.find('{');
      const std::string tag = write.key.substr(open, write.key.find('}') - open + 1);
      for (const Guard& guard : write.guards) EXPECT_THAT(guard.key, HasSubstr(tag));
      for (const AlsoWrite& also : write.also_write) EXPECT_THAT(also.key, HasSubstr(tag));
      EXPECT_TRUE(write.expected_version.has_value()) << write.key;
    }
    absl::StatusOr<std::vector<bool>> applied = ForwardingStore::Put(writes);
    if (applied.ok()) {
      absl::MutexLock lock(&mu_);
      for (bool done : *applied) conflicts_ += done ? 0 : 1;
    }
    return applied;
  }

  void BeforeNextPut(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    before_put_ = std::move(hook);
  }
  void RefusePuts(int n) {
    absl::MutexLock lock(&mu_);
    refuse_ = n;
  }
  int puts() {
    absl::MutexLock lock(&mu_);
    return puts_;
  }
  // Writes that reached the MemoryStore and failed their version check or a guard.
  int conflicts() {
    absl::MutexLock lock(&mu_);
    return conflicts_;
  }

 private:
  absl::Mutex mu_;
  std::function<void()> before_put_ ABSL_GUARDED_BY(mu_);
  int refuse_ ABSL_GUARDED_BY(mu_) = 0;
  int puts_ ABSL_GUARDED_BY(mu_) = 0;
  int conflicts_ ABSL_GUARDED_BY(mu_) = 0;
};

class LoyaltyBookTest : public ::testing::Test {
 protected:
  LoyaltyBookTest() : clock_(Utc("2026-11-23T12:00:00Z")), book_(store_, clock_, SpecConfig()) {}

  absl::StatusOr<v1::AwardPointsResponse> Award(const std::string& request_id, int64_t points,
                                                const std::string& note = "",
                                                const std::string& account = "acme") {
    v1::AwardPointsRequest request;
    request.set_account_id(account);
    request.set_request_id(request_id);
    request.set_points(points);
    request.set_note(note);
    return book_.Award(request);
  }

  absl::StatusOr<v1::RedeemPointsResponse> Redeem(const std::string& request_id, const std::string& reward_id,
                                                  const std::string& account = "acme") {
    v1::RedeemPointsRequest request;
    request.set_account_id(account);
    request.set_request_id(request_id);
    request.set_reward_id(reward_id);
    return book_.Redeem(request);
  }

  absl::StatusOr<v1::GetLoyaltyResponse> Get(int32_t page_size = 0, const std::string& token = "",
                                             const std::string& account = "acme") {
    v1::GetLoyaltyRequest request;
    request.set_account_id(account);
    request.set_page_size(page_size);
    request.set_page_token(token);
    return book_.Get(request);
  }

  v1::LoyaltyStanding StandingOf(const std::string& account = "acme") {
    absl::StatusOr<v1::GetLoyaltyResponse> response = Get(1, "", account);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->standing() : v1::LoyaltyStanding();
  }

  // The whole ledger, newest first, read page by page.
  std::vector<v1::LoyaltyEntry> Ledger(int32_t page_size = 1000, const std::string& account = "acme") {
    std::vector<v1::LoyaltyEntry> entries;
    std::string token;
    do {
      absl::StatusOr<v1::GetLoyaltyResponse> page = Get(page_size, token, account);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      entries.insert(entries.end(), page->entries().begin(), page->entries().end());
      token = page->next_page_token();
    } while (!token.empty());
    return entries;
  }

  // The ledger's invariants: balance = sum of entries, earned/redeemed = sums of the positive/negative
  // ones, entry_count = number of entries, each balance_after the running sum.
  void ExpectConsistent(const std::string& account = "acme") {
    const v1::LoyaltyStanding standing = StandingOf(account);
    std::vector<v1::LoyaltyEntry> entries = Ledger(1000, account);
    int64_t balance = 0, earned = 0, redeemed = 0;
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      balance += it->points();
      (it->points() >= 0 ? earned : redeemed) += std::abs(it->points());
      EXPECT_EQ(it->balance_after(), balance) << it->entry_id();
      EXPECT_GE(it->balance_after(), 0) << it->entry_id();
    }
    EXPECT_EQ(standing.balance(), balance);
    EXPECT_EQ(standing.earned(), earned);
    EXPECT_EQ(standing.redeemed(), redeemed);
    EXPECT_EQ(standing.entry_count(), static_cast<int64_t>(entries.size()));
  }

  std::vector<std::string> EntryIds() {
    std::vector<std::string> ids;
    for (const v1::LoyaltyEntry& entry : Ledger()) ids.push_back(entry.entry_id());
    return ids;
  }

  TestStore store_;
  FakeClock clock_;
  LoyaltyBook book_;
};

// --- tiers and standing ---

TEST(LoyaltyTierTest, TierEdges) {
  const v1::LoyaltyConfig config = SpecConfig();
  EXPECT_EQ(LoyaltyBook::TierFor(config, 0), v1::LOYALTY_TIER_BRONZE);
  EXPECT_EQ(LoyaltyBook::TierFor(config, 999), v1::LOYALTY_TIER_BRONZE);
  EXPECT_EQ(LoyaltyBook::TierFor(config, 1000), v1::LOYALTY_TIER_SILVER);
  EXPECT_EQ(LoyaltyBook::TierFor(config, 4999), v1::LOYALTY_TIER_SILVER);
  EXPECT_EQ(LoyaltyBook::TierFor(config, 5000), v1::LOYALTY_TIER_GOLD);
  EXPECT_EQ(LoyaltyBook::TierFor(config, 9999), v1::LOYALTY_TIER_GOLD);
  EXPECT_EQ(LoyaltyBook::TierFor(config, 10000), v1::LOYALTY_TIER_PLATINUM);
  EXPECT_EQ(LoyaltyBook::TierFor(config, int64_t{1} << 50), v1::LOYALTY_TIER_PLATINUM);
  EXPECT_EQ(LoyaltyBook::TierFor(v1::LoyaltyConfig(), 5), v1::LOYALTY_TIER_UNSPECIFIED);
}

TEST(LoyaltyTierTest, StandingCountsToTheNextTier) {
  const v1::LoyaltyConfig config = SpecConfig();
  auto standing = [&](int64_t earned, int64_t redeemed) {
    v1::LoyaltyRecord record;
    record.set_earned(earned);
    record.set_redeemed(redeemed);
    record.set_balance(earned - redeemed);
    record.set_entry_count(3);
    return LoyaltyBook::Standing(config, "acme", record);
  };
  EXPECT_EQ(standing(0, 0).points_to_next_tier(), 1000);
  EXPECT_EQ(standing(999, 0).points_to_next_tier(), 1);
  EXPECT_EQ(standing(1000, 0).points_to_next_tier(), 4000);
  EXPECT_EQ(standing(9999, 0).points_to_next_tier(), 1);
  EXPECT_EQ(standing(10000, 0).points_to_next_tier(), 0);
  const v1::LoyaltyStanding s = standing(5200, 5000);
  EXPECT_EQ(s.account_id(), "acme");
  EXPECT_EQ(s.balance(), 200);
  EXPECT_EQ(s.earned(), 5200);
  EXPECT_EQ(s.redeemed(), 5000);
  EXPECT_EQ(s.tier(), v1::LOYALTY_TIER_GOLD);  // by points earned, not by balance
  EXPECT_EQ(s.entry_count(), 3);
}

TEST_F(LoyaltyBookTest, RewardsCheapestFirst) {
  std::vector<std::string> ids;
  for (const v1::LoyaltyReward& reward : book_.Rewards()) ids.push_back(reward.reward_id());
  EXPECT_THAT(
      ids, ElementsAre("priority_support", "training", "premium_feature", "beta_access", "custom_feature"));
  EXPECT_EQ(book_.Rewards()[0].display_name(), "Priority support");
  EXPECT_EQ(book_.Rewards()[0].points(), 200);
}

TEST_F(LoyaltyBookTest, AccountWithoutLedgerIsBronzeWithNothing) {
  absl::StatusOr<v1::GetLoyaltyResponse> response = Get();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->standing().account_id(), "acme");
  EXPECT_EQ(response->standing().balance(), 0);
  EXPECT_EQ(response->standing().earned(), 0);
  EXPECT_EQ(response->standing().tier(), v1::LOYALTY_TIER_BRONZE);
  EXPECT_EQ(response->standing().points_to_next_tier(), 1000);
  EXPECT_EQ(response->standing().entry_count(), 0);
  EXPECT_TRUE(response->entries().empty());
  EXPECT_TRUE(response->next_page_token().empty());
  EXPECT_EQ(store_.puts(), 0);
}

TEST_F(LoyaltyBookTest, TiersFollowPointsEarnedThroughTheLedger) {
  ASSERT_TRUE(Award("a1", 999).ok());
  EXPECT_EQ(StandingOf().tier(), v1::LOYALTY_TIER_BRONZE);
  ASSERT_TRUE(Award("a2", 1).ok());
  EXPECT_EQ(StandingOf().tier(), v1::LOYALTY_TIER_SILVER);
  ASSERT_TRUE(Award("a3", 3999).ok());
  EXPECT_EQ(StandingOf().tier(), v1::LOYALTY_TIER_SILVER);
  ASSERT_TRUE(Award("a4", 1).ok());
  EXPECT_EQ(StandingOf().tier(), v1::LOYALTY_TIER_GOLD);
  ASSERT_TRUE(Award("a5", 4999).ok());
  EXPECT_EQ(StandingOf().tier(), v1::LOYALTY_TIER_GOLD);
  EXPECT_EQ(StandingOf().points_to_next_tier(), 1);
  absl::StatusOr<v1::AwardPointsResponse> last = Award("a6", 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->standing().tier(), v1::LOYALTY_TIER_PLATINUM);
  EXPECT_EQ(last->standing().points_to_next_tier(), 0);
  // Spending everything keeps the tier.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Redeem(absl::StrCat("r", i), "custom_feature").ok());
  EXPECT_EQ(StandingOf().balance(), 0);
  EXPECT_EQ(StandingOf().tier(), v1::LOYALTY_TIER_PLATINUM);
  ExpectConsistent();
}

// --- AwardPoints ---

TEST_F(LoyaltyBookTest, AwardWritesAnEntry) {
  absl::StatusOr<v1::AwardPointsResponse> response = Award("req-1", 250, "webinar host");
  ASSERT_TRUE(response.ok()) << response.status();
  const v1::LoyaltyEntry& entry = response->entry();
  EXPECT_EQ(entry.entry_id(), "req-1");
  EXPECT_EQ(entry.kind(), "award");
  EXPECT_EQ(entry.points(), 250);
  EXPECT_EQ(entry.note(), "webinar host");
  EXPECT_EQ(entry.balance_after(), 250);
  EXPECT_EQ(FromProtoTime(entry.time()), Utc("2026-11-23T12:00:00Z"));
  EXPECT_EQ(response->standing().balance(), 250);
  EXPECT_EQ(response->standing().earned(), 250);
  EXPECT_EQ(response->standing().entry_count(), 1);

  absl::StatusOr<v1::GetLoyaltyResponse> read = Get();
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->entries_size(), 1);
  EXPECT_EQ(read->entries(0).SerializeAsString(), entry.SerializeAsString());
}

TEST_F(LoyaltyBookTest, AwardValidatesFields) {
  auto field = [](const absl::StatusOr<v1::AwardPointsResponse>& r) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    return ErrorField(r.status()).value_or("");
  };
  EXPECT_EQ(field(Award("", 10)), "request_id");
  EXPECT_EQ(field(Award(std::string(129, 'x'), 10)), "request_id");
  EXPECT_EQ(field(Award("p", 0)), "points");
  EXPECT_EQ(field(Award("p", -5)), "points");
  EXPECT_EQ(field(Award("p", 1'000'001)), "points");
  EXPECT_EQ(field(Award("n", 10, std::string(501, 'n'))), "note");
  EXPECT_EQ(store_.puts(), 0);

  EXPECT_TRUE(Award(std::string(128, 'x'), 1).ok());
  EXPECT_TRUE(Award("max", 1'000'000, std::string(500, 'n')).ok());
  EXPECT_EQ(StandingOf().balance(), 1'000'001);
}

TEST_F(LoyaltyBookTest, RetriedAwardReturnsTheFirstEntry) {
  absl::StatusOr<v1::AwardPointsResponse> first = Award("req-1", 40, "first");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Award("req-2", 7).ok());
  clock_.Advance(absl::Hours(1));
  const int puts = store_.puts();
  // The note is not compared: a retry that changed it is still the same award.
  absl::StatusOr<v1::AwardPointsResponse> retry = Award("req-1", 40, "second");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->entry().SerializeAsString(), first->entry().SerializeAsString());
  EXPECT_EQ(retry->standing().balance(), 47);  // the current standing
  EXPECT_EQ(retry->standing().entry_count(), 2);
  EXPECT_EQ(store_.puts(), puts);  // nothing written
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, RequestIdReusedForAnotherOperationIsAlreadyExists) {
  ASSERT_TRUE(Award("req-1", 40).ok());
  ASSERT_TRUE(Award("req-2", 1000).ok());
  ASSERT_TRUE(Redeem("red-1", "training").ok());

  absl::StatusOr<v1::AwardPointsResponse> other_points = Award("req-1", 41);
  EXPECT_EQ(other_points.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(other_points.status().message(), HasSubstr("request_id"));
  EXPECT_THAT(other_points.status().message(), HasSubstr("an award of 40 points"));

  absl::StatusOr<v1::RedeemPointsResponse> other_reward = Redeem("red-1", "priority_support");
  EXPECT_EQ(other_reward.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(other_reward.status().message(), HasSubstr("reward \"training\""));

  EXPECT_EQ(Redeem("req-1", "training").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Award("red-1", 300).status().code(), absl::StatusCode::kAlreadyExists);

  EXPECT_EQ(StandingOf().balance(), 740);
  EXPECT_EQ(StandingOf().entry_count(), 3);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, RequestIdsAreKeptPerAccount) {
  ASSERT_TRUE(Award("req-1", 40, "", "acme").ok());
  ASSERT_TRUE(Award("req-1", 50, "", "globex").ok());
  EXPECT_EQ(StandingOf("acme").balance(), 40);
  EXPECT_EQ(StandingOf("globex").balance(), 50);
}

// --- RedeemPoints ---

TEST_F(LoyaltyBookTest, RedeemSpendsThePrice) {
  ASSERT_TRUE(Award("a", 1200).ok());
  v1::RedeemPointsRequest request;
  request.set_account_id("acme");
  request.set_request_id("r-1");
  request.set_reward_id("beta_access");
  request.set_note("for the Q1 beta");
  absl::StatusOr<v1::RedeemPointsResponse> response = book_.Redeem(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->entry().entry_id(), "r-1");
  EXPECT_EQ(response->entry().kind(), "redemption");
  EXPECT_EQ(response->entry().subject(), "beta_access");
  EXPECT_EQ(response->entry().points(), -1000);
  EXPECT_EQ(response->entry().note(), "for the Q1 beta");
  EXPECT_EQ(response->entry().balance_after(), 200);
  EXPECT_EQ(response->standing().balance(), 200);
  EXPECT_EQ(response->standing().earned(), 1200);
  EXPECT_EQ(response->standing().redeemed(), 1000);
  EXPECT_EQ(response->standing().tier(), v1::LOYALTY_TIER_SILVER);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, OverRedemptionIsRefusedAndStoresNothing) {
  ASSERT_TRUE(Award("a", 150).ok());
  const int puts = store_.puts();
  absl::StatusOr<v1::RedeemPointsResponse> refused = Redeem("r-1", "priority_support");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("150"));
  EXPECT_THAT(refused.status().message(), HasSubstr("200"));
  EXPECT_EQ(store_.puts(), puts);
  EXPECT_EQ(StandingOf().balance(), 150);
  EXPECT_EQ(StandingOf().entry_count(), 1);

  // Nothing remembers the refused request: with enough points the same request id now succeeds.
  ASSERT_TRUE(Award("b", 50).ok());
  absl::StatusOr<v1::RedeemPointsResponse> later = Redeem("r-1", "priority_support");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->standing().balance(), 0);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, RetriedRedemptionSucceedsEvenWhenTheBalanceIsNowShort) {
  ASSERT_TRUE(Award("a", 300).ok());
  absl::StatusOr<v1::RedeemPointsResponse> first = Redeem("r-1", "training");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<v1::RedeemPointsResponse> retry = Redeem("r-1", "training");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->entry().SerializeAsString(), first->entry().SerializeAsString());
  EXPECT_EQ(retry->standing().balance(), 0);
  EXPECT_EQ(retry->standing().redeemed(), 300);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, RedeemValidatesFields) {
  ASSERT_TRUE(Award("a", 5000).ok());
  absl::StatusOr<v1::RedeemPointsResponse> unknown = Redeem("r", "yacht");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorField(unknown.status()), "reward_id");
  EXPECT_THAT(unknown.status().message(), HasSubstr("yacht"));
  EXPECT_EQ(ErrorField(Redeem("r", "").status()), "reward_id");
  EXPECT_EQ(ErrorField(Redeem("", "training").status()), "request_id");
  v1::RedeemPointsRequest long_note;
  long_note.set_account_id("acme");
  long_note.set_request_id("r");
  long_note.set_reward_id("training");
  long_note.set_note(std::string(501, 'x'));
  EXPECT_EQ(ErrorField(book_.Redeem(long_note).status()), "note");
  EXPECT_EQ(StandingOf().entry_count(), 1);
}

// --- GetLoyalty paging ---

TEST_F(LoyaltyBookTest, PagesNewestFirst) {
  for (int i = 1; i <= 25; ++i) ASSERT_TRUE(Award(absl::StrCat("a", i), i).ok());
  std::vector<std::string> ids;
  std::string token;
  std::vector<int> sizes;
  do {
    absl::StatusOr<v1::GetLoyaltyResponse> page = Get(10, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->standing().entry_count(), 25);
    sizes.push_back(page->entries_size());
    for (const v1::LoyaltyEntry& entry : page->entries()) ids.push_back(entry.entry_id());
    token = page->next_page_token();
  } while (!token.empty());
  EXPECT_THAT(sizes, ElementsAre(10, 10, 5));
  ASSERT_EQ(ids.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(ids[i], absl::StrCat("a", 25 - i));

  // An exact multiple ends without an empty page.
  absl::StatusOr<v1::GetLoyaltyResponse> all = Get(25);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->entries_size(), 25);
  EXPECT_TRUE(all->next_page_token().empty());
}

TEST_F(LoyaltyBookTest, TokensStayValidWhileTheLedgerGrows) {
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(Award(absl::StrCat("a", i), 1).ok());
  absl::StatusOr<v1::GetLoyaltyResponse> first = Get(2);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Award("a6", 1).ok());
  absl::StatusOr<v1::GetLoyaltyResponse> second = Get(2, first->next_page_token());
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->entries_size(), 2);
  EXPECT_EQ(second->entries(0).entry_id(), "a3");
  EXPECT_EQ(second->entries(1).entry_id(), "a2");
  EXPECT_EQ(second->standing().entry_count(), 6);
}

TEST_F(LoyaltyBookTest, PageSizeDefaultsAndClamps) {
  std::vector<v1::Event> events;
  // 1,100 distinct features in one day: 1,100 entries of 5 points.
  for (int i = 0; i < 1100; ++i) {
    events.push_back(MakeEvent(absl::StrCat("f", i), v1::EVENT_TYPE_FEATURE_USED, "2026-11-23T10:00:00Z",
                               absl::StrCat("f", i)));
  }
  ASSERT_TRUE(book_.EarnFromEvents("acme", events).ok());
  absl::StatusOr<v1::GetLoyaltyResponse> by_default = Get(0);
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(by_default->entries_size(), 100);
  absl::StatusOr<v1::GetLoyaltyResponse> clamped = Get(5000);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->entries_size(), 1000);
  absl::StatusOr<v1::GetLoyaltyResponse> rest = Get(5000, clamped->next_page_token());
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->entries_size(), 100);
  EXPECT_TRUE(rest->next_page_token().empty());
  EXPECT_EQ(StandingOf().balance(), 5500);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, BadPagingIsInvalidArgument) {
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(Award(absl::StrCat("a", i), 1).ok());
  ASSERT_TRUE(Award("g", 1, "", "globex").ok());
  absl::StatusOr<v1::GetLoyaltyResponse> page = Get(1);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token().empty());

  EXPECT_EQ(ErrorField(Get(-1).status()), "page_size");
  EXPECT_EQ(ErrorField(Get(1, "not a token!").status()), "page_token");
  EXPECT_EQ(ErrorField(Get(1, "bm90LWEtbnVtYmVy").status()), "page_token");  // base64 of non-number
  // Another account's token.
  EXPECT_EQ(ErrorField(Get(1, page->next_page_token(), "globex").status()), "page_token");
  // A token past the end of the ledger, and one of an empty ledger (white box: the token's format).
  EXPECT_EQ(ErrorField(Get(1, absl::WebSafeBase64Escape("4/acme")).status()), "page_token");
  EXPECT_EQ(ErrorField(Get(1, absl::WebSafeBase64Escape("0/acme")).status()), "page_token");
  EXPECT_EQ(ErrorField(Get(1, page->next_page_token(), "nobody").status()), "page_token");
  EXPECT_TRUE(Get(1, absl::WebSafeBase64Escape("3/acme")).ok());
}

// --- EarnFromEvents ---

TEST_F(LoyaltyBookTest, EarnsFromEachKindOfEvent) {
  const std::vector<v1::Event> events = {
      MakeEvent("l1", v1::EVENT_TYPE_LOGIN, "2026-11-22T08:00:00Z"),
      MakeEvent("f1", v1::EVENT_TYPE_FEATURE_USED, "2026-11-22T08:05:00Z", "reports"),
      MakeEvent("ref", v1::EVENT_TYPE_REFERRAL, "2026-11-22T09:00:00Z", "initech"),
      MakeEvent("nps", v1::EVENT_TYPE_NPS_RESPONSE, "2026-11-22T10:00:00Z"),
      MakeEvent("csat", v1::EVENT_TYPE_CSAT_RESPONSE, "2026-11-22T10:01:00Z"),
      MakeEvent("survey", v1::EVENT_TYPE_SURVEY_RESPONSE, "2026-11-22T10:02:00Z"),
      MakeEvent("share", v1::EVENT_TYPE_SOCIAL_MENTION, "2026-11-22T11:00:00Z", "", 0.9),
      // Earn nothing: a neutral mention, a mention without sentiment, an unrelated type.
      MakeEvent("neutral", v1::EVENT_TYPE_SOCIAL_MENTION, "2026-11-22T11:01:00Z", "", 0.5),
      MakeEvent("bare", v1::EVENT_TYPE_SOCIAL_MENTION, "2026-11-22T11:02:00Z"),
      MakeEvent("ticket", v1::EVENT_TYPE_TICKET_OPENED, "2026-11-22T12:00:00Z"),
      MakeEvent("nofeature", v1::EVENT_TYPE_FEATURE_USED, "2026-11-22T12:00:00Z"),
  };
  ASSERT_TRUE(book_.EarnFromEvents("acme", events).ok());
  const std::vector<v1::LoyaltyEntry> ledger = Ledger();
  std::vector<std::string> ids;
  for (auto it = ledger.rbegin(); it != ledger.rend(); ++it) {
    ids.push_back(absl::StrCat(it->entry_id(), "=", it->kind(), "/", it->subject(), "/", it->points()));
  }
  EXPECT_THAT(
      ids, ElementsAre("daily_use:2026-11-22=daily_use//10",
                       "feature_use:2026-11-22:reports=feature_use/reports/5", "referral:ref=referral//100",
                       "feedback:nps=feedback//25", "feedback:csat=feedback//25",
                       "feedback:survey=feedback//25", "social_share:share=social_share//15"));
  EXPECT_EQ(StandingOf().balance(), 10 + 5 + 100 + 75 + 15);
  EXPECT_EQ(FromProtoTime(ledger[0].time()), clock_.Now());  // written now, not at the event's time
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, DailyUseAndFeatureUseOncePerDay) {
  const std::vector<v1::Event> events = {
      MakeEvent("l1", v1::EVENT_TYPE_LOGIN, "2026-11-22T08:00:00Z"),
      MakeEvent("l2", v1::EVENT_TYPE_LOGIN, "2026-11-22T23:59:59Z"),  // same UTC day
      MakeEvent("l3", v1::EVENT_TYPE_LOGIN, "2026-11-23T00:00:00Z"),  // next day
      MakeEvent("f1", v1::EVENT_TYPE_FEATURE_USED, "2026-11-22T08:00:00Z", "reports"),
      MakeEvent("f2", v1::EVENT_TYPE_FEATURE_USED, "2026-11-22T09:00:00Z", "reports"),
      MakeEvent("f3", v1::EVENT_TYPE_FEATURE_USED, "2026-11-22T09:00:00Z", "exports"),
      MakeEvent("f4", v1::EVENT_TYPE_FEATURE_USED, "2026-11-23T09:00:00Z", "reports"),
  };
  ASSERT_TRUE(book_.EarnFromEvents("acme", events).ok());
  EXPECT_EQ(StandingOf().balance(), 2 * 10 + 3 * 5);
  EXPECT_THAT(EntryIds(), ElementsAre("feature_use:2026-11-23:reports", "daily_use:2026-11-23",
                                      "feature_use:2026-11-22:exports", "feature_use:2026-11-22:reports",
                                      "daily_use:2026-11-22"));

  // Another login that day, in a later call, earns nothing either.
  ASSERT_TRUE(
      book_.EarnFromEvents("acme", {MakeEvent("l4", v1::EVENT_TYPE_LOGIN, "2026-11-23T15:00:00Z")}).ok());
  EXPECT_EQ(StandingOf().balance(), 35);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, ReplayedBatchEarnsOnce) {
  const std::vector<v1::Event> events = {
      MakeEvent("l1", v1::EVENT_TYPE_LOGIN, "2026-11-22T08:00:00Z"),
      MakeEvent("ref", v1::EVENT_TYPE_REFERRAL, "2026-11-22T09:00:00Z"),
      MakeEvent("nps", v1::EVENT_TYPE_NPS_RESPONSE, "2026-11-22T10:00:00Z"),
  };
  ASSERT_TRUE(book_.EarnFromEvents("acme", events).ok());
  const v1::LoyaltyStanding before = StandingOf();
  const int puts = store_.puts();
  ASSERT_TRUE(book_.EarnFromEvents("acme", events).ok());
  EXPECT_EQ(store_.puts(), puts);  // nothing new, nothing written
  EXPECT_EQ(StandingOf().SerializeAsString(), before.SerializeAsString());

  // A batch with one new event among replayed ones earns only that one.
  std::vector<v1::Event> mixed = events;
  mixed.push_back(MakeEvent("ref2", v1::EVENT_TYPE_REFERRAL, "2026-11-22T11:00:00Z"));
  ASSERT_TRUE(book_.EarnFromEvents("acme", mixed).ok());
  EXPECT_EQ(StandingOf().balance(), before.balance() + 100);
  EXPECT_EQ(StandingOf().entry_count(), before.entry_count() + 1);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, EarningIgnoresOtherAccountsAndAwardRequestIds) {
  v1::Event foreign = MakeEvent("ref-x", v1::EVENT_TYPE_REFERRAL, "2026-11-22T09:00:00Z");
  foreign.set_account_id("globex");
  // An award whose request id looks like an earned entry id does not block that earning.
  ASSERT_TRUE(Award("referral:ref", 1).ok());
  ASSERT_TRUE(book_
                  .EarnFromEvents(
                      "acme", {foreign, MakeEvent("ref", v1::EVENT_TYPE_REFERRAL, "2026-11-22T09:00:00Z")})
                  .ok());
  EXPECT_EQ(StandingOf("acme").balance(), 101);
  EXPECT_EQ(StandingOf("globex").entry_count(), 0);
}

TEST_F(LoyaltyBookTest, LargeBatchesAreWrittenInSteps) {
  std::vector<v1::Event> events;
  for (int i = 0; i < 600; ++i) {
    events.push_back(MakeEvent(absl::StrCat("r", i), v1::EVENT_TYPE_REFERRAL, "2026-11-22T09:00:00Z"));
  }
  ASSERT_TRUE(book_.EarnFromEvents("acme", events).ok());
  EXPECT_EQ(store_.puts(), 3);  // 256 + 256 + 88
  EXPECT_EQ(StandingOf().balance(), 60000);
  ASSERT_TRUE(book_.EarnFromEvents("acme", events).ok());
  EXPECT_EQ(StandingOf().entry_count(), 600);
  ExpectConsistent();
}

// --- races ---

TEST_F(LoyaltyBookTest, LostRaceIsRetried) {
  ASSERT_TRUE(Award("a", 10).ok());
  store_.RefusePuts(3);
  absl::StatusOr<v1::AwardPointsResponse> response = Award("b", 5);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->standing().balance(), 15);
  ExpectConsistent();
}

TEST_F(LoyaltyBookTest, EndlessConflictsAreAborted) {
  store_.RefusePuts(LoyaltyBook::kMaxWriteAttempts);
  EXPECT_EQ(Award("b", 5).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(StandingOf().entry_count(), 0);
}

TEST_F(LoyaltyBookTest, ConcurrentDuplicateIsRecognisedAfterALostRace) {
  // While this award is between its read and its write, the same request lands from elsewhere: the
  // write fails, and the re-read finds the other one's entry and answers with it.
  LoyaltyBook other(store_, clock_, SpecConfig());
  std::optional<v1::LoyaltyEntry> winner;
  store_.BeforeNextPut([&] {
    v1::AwardPointsRequest request;
    request.set_account_id("acme");
    request.set_request_id("dup");
    request.set_points(70);
    request.set_note("winner");
    absl::StatusOr<v1::AwardPointsResponse> response = other.Award(request);
    ASSERT_TRUE(response.ok()) << response.status();
    winner = response->entry();
  });
  absl::StatusOr<v1::AwardPointsResponse> response = Award("dup", 70, "loser");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_TRUE(winner.has_value());
  EXPECT_EQ(response->entry().note(), "winner");
  EXPECT_EQ(response->entry().SerializeAsString(), winner->SerializeAsString());
  EXPECT_EQ(StandingOf().balance(), 70);
  EXPECT_EQ(StandingOf().entry_count(), 1);
}

TEST_F(LoyaltyBookTest, ConcurrentAwardsAndRedemptionsKeepTheLedgerExact) {
  // Two books over one store stand for two server replicas: threads of one book take turns, threads of
  // different books race on the store and retry.
  LoyaltyBook replica(store_, clock_, SpecConfig());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 60;
  std::atomic<int64_t> expected{0};
  std::atomic<int> failures{0};
  std::latch start(kThreads);  // so that the threads really overlap
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      LoyaltyBook& book = t % 2 == 0 ? book_ : replica;
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const int64_t points = 1 + (t * kPerThread + i) % 97;
        // Every award is sent twice (a client retry); it counts once.
        v1::AwardPointsRequest award;
        award.set_account_id("acme");
        award.set_request_id(absl::StrCat("t", t, "-", i));
        award.set_points(points);
        bool awarded = false;
        for (int send = 0; send < 2; ++send) {
          absl::StatusOr<v1::AwardPointsResponse> r = book.Award(award);
          if (r.ok()) {
            awarded = true;
          } else {
            ADD_FAILURE() << r.status();
            ++failures;
          }
        }
        if (awarded) expected += points;
        // Every fifth iteration also tries a redemption, which may be refused for want of points.
        if (i % 5 == 0) {
          v1::RedeemPointsRequest redeem;
          redeem.set_account_id("acme");
          redeem.set_request_id(absl::StrCat("r", t, "-", i));
          redeem.set_reward_id("priority_support");
          absl::StatusOr<v1::RedeemPointsResponse> r = book.Redeem(redeem);
          if (r.ok()) {
            expected -= 200;
          } else if (r.status().code() != absl::StatusCode::kFailedPrecondition) {
            ADD_FAILURE() << r.status();
            ++failures;
          }
        }
        // And every thread earns from the same shared events, which must count once in all.
        absl::Status earn = book.EarnFromEvents(
            "acme", {MakeEvent(absl::StrCat("shared", i), v1::EVENT_TYPE_REFERRAL, "2026-11-22T09:00:00Z")});
        if (!earn.ok()) {
          ADD_FAILURE() << earn;
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // Not asserted (it depends on the scheduler), but the point of the test: writers did collide.
  RecordProperty("lost_races", store_.conflicts());
  expected += 100 * kPerThread;
  const v1::LoyaltyStanding standing = StandingOf();
  EXPECT_EQ(standing.balance(), expected.load());
  int64_t sum = 0;
  for (const v1::LoyaltyEntry& entry : Ledger()) sum += entry.points();
  EXPECT_EQ(sum, expected.load());
  ExpectConsistent();
}

TEST(LoyaltyBookShippedConfigTest, ShippedConfigDrivesTheBook) {
  const char* dir = std::getenv("STEWARD_SOURCE_DIR");
  absl::StatusOr<v1::LoyaltyConfig> config =
      LoadLoyaltyConfig(absl::StrCat(dir != nullptr ? dir : ".", "/config/loyalty.textproto"));
  ASSERT_TRUE(config.ok()) << config.status();
  MemoryStore store;
  FakeClock clock(Utc("2026-11-23T12:00:00Z"));
  LoyaltyBook book(store, clock, *config);
  ASSERT_EQ(book.Rewards().size(), 5u);
  EXPECT_EQ(book.Rewards().front().reward_id(), "priority_support");
  EXPECT_EQ(book.Rewards().back().reward_id(), "custom_feature");
  ASSERT_TRUE(
      book.EarnFromEvents("acme", {MakeEvent("l", v1::EVENT_TYPE_LOGIN, "2026-11-23T08:00:00Z")}).ok());
  v1::GetLoyaltyRequest request;
  request.set_account_id("acme");
  absl::StatusOr<v1::GetLoyaltyResponse> response = book.Get(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->standing().balance(), 10);
  EXPECT_EQ(response->standing().points_to_next_tier(), 990);
}

}  // namespace
}  // namespace steward::segmentation
