// Domain-level tests of ScoringService on the in-memory store and a fake clock, for races that the
// API tests cannot stage deterministically.

#include "services/scoring/scoring_service.h"

#include <functional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/forwarding_store.h"

namespace steward::scoring {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 12, 0, 0), absl::UTCTimeZone());

// A MemoryStore that runs `before_cache_write` once, just before the first Put that writes a
// cached-scores entry: the moment a concurrent writer would hurt most.
class InterleavingStore final : public testing::ForwardingStore {
 public:
  std::function<void()> before_cache_write;

  absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) override {
    for (const Write& write : writes) {
      if (absl::StartsWith(write.key, "scores:") && before_cache_write) {
        std::function<void()> hook = std::move(before_cache_write);
        before_cache_write = nullptr;
        hook();
        break;
      }
    }
    return ForwardingStore::Put(writes);
  }
};

class ScoringServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = LoadModelDirectory(absl::StrCat(std::getenv("STEWARD_SOURCE_DIR"), "/config"));
    ASSERT_TRUE(models.ok()) << models.status();
    service_ = std::make_unique<ScoringService>(store_, clock_, *std::move(models));
    v1::UpsertAccountRequest upsert;
    upsert.mutable_account()->set_account_id("a1");
    ASSERT_TRUE(service_->UpsertAccount(upsert).ok());
  }

  absl::Status RecordLogin(const std::string& id, absl::Duration ago = absl::Minutes(1)) {
    v1::RecordEventsRequest request;
    v1::Event* e = request.add_events();
    e->set_event_id(id);
    e->set_account_id("a1");
    e->set_type(v1::EVENT_TYPE_LOGIN);
    e->mutable_time()->set_seconds(absl::ToUnixSeconds(clock_.Now() - ago));
    return service_->RecordEvents(request).status();
  }

  double Logins30d() {
    v1::GetScoresRequest request;
    request.set_account_id("a1");
    auto response = service_->GetScores(request);
    EXPECT_TRUE(response.ok()) << response.status();
    for (const v1::FeatureValue& f : response->scores().features()) {
      if (f.name() == "logins_30d") return f.value();
    }
    return -1;
  }

  InterleavingStore store_;
  FakeClock clock_{kNow};
  std::unique_ptr<ScoringService> service_;
};

TEST_F(ScoringServiceTest, AScoreComputedBeforeAConcurrentWriteIsNeverCached) {
  // A reader computes scores from the activity as it was; before it writes its cache entry, a writer
  // records a login (and drops the cache). The reader's entry must not land, or every later read
  // would serve the pre-login scores until tomorrow.
  store_.before_cache_write = [this] { ASSERT_TRUE(RecordLogin("late-login").ok()); };
  EXPECT_EQ(Logins30d(), 0);  // the reader's own answer predates the login: fine
  EXPECT_EQ(Logins30d(), 1);  // but nothing stale was cached
  EXPECT_EQ(Logins30d(), 1);
}

TEST_F(ScoringServiceTest, DaysRollFromTheLivePartIntoTheHistoryAndLateEventsLandThere) {
  ASSERT_TRUE(RecordLogin("day0").ok());
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(RecordLogin("day1").ok());                       // the roll-over: day 0 moves to the history
  ASSERT_TRUE(RecordLogin("late", absl::Hours(24 * 3)).ok());  // a late event straight into the history
  ASSERT_TRUE(RecordLogin("day1", absl::Minutes(2)).ok());     // a replay, wherever its day went
  clock_.Advance(absl::Hours(24 * 2));
  ASSERT_TRUE(RecordLogin("day3").ok());
  EXPECT_EQ(Logins30d(), 4);
}

TEST_F(ScoringServiceTest, TheFastPathNeverServesScoresOlderThanTheLastWrite) {
  v1::GetScoresRequest request;
  request.set_account_id("a1");
  // An account with no activity yet is always answered by the ordinary path.
  EXPECT_EQ(Logins30d(), 0);
  EXPECT_EQ(service_->TryGetScoresLocally(request), nullptr);

  ASSERT_TRUE(RecordLogin("l0").ok());
  EXPECT_EQ(Logins30d(), 1);  // computes and caches
  std::shared_ptr<const std::string> local = service_->TryGetScoresLocally(request);
  ASSERT_NE(local, nullptr);
  v1::GetScoresResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(*local));
  EXPECT_TRUE(parsed.scores().cached());

  ASSERT_TRUE(RecordLogin("l1").ok());
  EXPECT_EQ(service_->TryGetScoresLocally(request), nullptr) << "the write made the cached entry stale";
  EXPECT_EQ(Logins30d(), 2);
  local = service_->TryGetScoresLocally(request);
  ASSERT_NE(local, nullptr);
  v1::GetScoresResponse after;
  ASSERT_TRUE(after.ParseFromString(*local));
  for (const v1::FeatureValue& f : after.scores().features()) {
    if (f.name() == "logins_30d") {
      EXPECT_EQ(f.value(), 2);
    }
  }
}

TEST(ScoringServiceChangeFeedTest, PagesStopGrowingPastTheByteBudgetButAlwaysHoldOneChange) {
  auto models = LoadModelDirectory(absl::StrCat(std::getenv("STEWARD_SOURCE_DIR"), "/config"));
  ASSERT_TRUE(models.ok()) << models.status();
  MemoryStore store;
  FakeClock clock(kNow);
  ScoringLimits limits;
  limits.change_page_max_bytes = 3000;
  ScoringService service(store, clock, *std::move(models), limits);
  for (const char* id : {"a", "b", "c"}) {
    v1::UpsertAccountRequest upsert;
    upsert.mutable_account()->set_account_id(id);
    ASSERT_TRUE(service.UpsertAccount(upsert).ok());
    // Each account's change carries 50 events of ~50 bytes: more than half the budget.
    v1::RecordEventsRequest request;
    for (int i = 0; i < 50; ++i) {
      v1::Event* e = request.add_events();
      e->set_event_id(absl::StrCat("event-with-a-longish-id-", i));
      e->set_account_id(id);
      e->set_type(v1::EVENT_TYPE_FEATURE_USED);
      e->set_subject("a-feature-name");
      e->mutable_time()->set_seconds(absl::ToUnixSeconds(kNow) - 60);
    }
    ASSERT_TRUE(service.RecordEvents(request).ok());
  }
  v1::ListAccountChangesRequest request;
  request.set_page_size(1000);
  std::vector<std::string> kinds;
  int pages = 0;
  for (int page = 0; page < 10; ++page) {
    auto response = service.ListAccountChanges(request);
    ASSERT_TRUE(response.ok()) << response.status();
    if (response->changes().empty()) break;
    std::size_t bytes = 0;
    for (const v1::AccountChange& c : response->changes()) {
      kinds.push_back(absl::StrCat(c.account_id(), ":", c.events_size()));
      v1::AccountChange stored = c;
      stored.clear_cursor();
      bytes += stored.ByteSizeLong();
    }
    // Over the budget only when a single change is bigger than it.
    if (response->changes_size() > 1) {
      EXPECT_LE(bytes, limits.change_page_max_bytes);
    }
    ++pages;
    request.set_page_token(response->next_page_token());
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"a:0", "a:50", "b:0", "b:50", "c:0", "c:50"}));
  EXPECT_GE(pages, 3);  // three changes of ~2.5 KB never share a 3,000-byte page
}

}  // namespace
}  // namespace steward::scoring
