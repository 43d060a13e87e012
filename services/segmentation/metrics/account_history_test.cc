#include "services/segmentation/metrics/account_history.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "common/store/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/forwarding_store.h"

namespace steward::segmentation {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

absl::Time Day(int year, int month, int day) {
  return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
}
int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

v1::Account MakeAccount(const std::string& id, v1::AccountStatus status, double mrr, absl::Time start) {
  v1::Account account;
  account.set_account_id(id);
  account.set_status(status);
  account.set_mrr(mrr);
  *account.mutable_start_time() = ToProtoTime(start);
  return account;
}

v1::Event MakeEvent(v1::EventType type, absl::Time time, double value = 0, const std::string& subject = "") {
  v1::Event event;
  event.set_event_id(absl::StrCat(type, "-", absl::ToUnixMillis(time)));
  event.set_type(type);
  *event.mutable_time() = ToProtoTime(time);
  event.set_value(value);
  event.set_subject(subject);
  return event;
}

// Feeds changes of one account with increasing cursors, like the scoring service's feed.
class Feed {
 public:
  explicit Feed(AccountHistoryBook& book) : book_(book) {}

  v1::AccountChange Upsert(const v1::Account& account, absl::Time at) {
    v1::AccountChange change = Next(account.account_id(), v1::ACCOUNT_CHANGE_KIND_UPSERTED, at);
    EXPECT_TRUE(book_.Apply(change, &account).ok());
    accounts_.push_back(account);
    return change;
  }

  v1::AccountChange Events(const std::string& id, absl::Time at, std::vector<v1::Event> events) {
    v1::AccountChange change = Next(id, v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED, at);
    for (v1::Event& event : events) {
      event.set_account_id(id);
      *change.add_events() = event;
    }
    EXPECT_TRUE(book_.Apply(change, nullptr).ok());
    return change;
  }

 private:
  v1::AccountChange Next(const std::string& id, v1::AccountChangeKind kind, absl::Time at) {
    v1::AccountChange change;
    change.set_cursor(absl::StrCat(absl::ToUnixMillis(at), "-", seq_++));
    change.set_account_id(id);
    change.set_kind(kind);
    *change.mutable_change_time() = ToProtoTime(at);
    return change;
  }

  AccountHistoryBook& book_;
  int seq_ = 0;
  std::vector<v1::Account> accounts_;
};

class AccountHistoryTest : public ::testing::Test {
 protected:
  v1::PortfolioHistoryRecord Get(const std::string& id) {
    absl::StatusOr<std::optional<v1::PortfolioHistoryRecord>> record = book_.Read(id);
    EXPECT_TRUE(record.ok()) << record.status();
    EXPECT_TRUE(record.ok() && record->has_value()) << id;
    return record.ok() && record->has_value() ? **record : v1::PortfolioHistoryRecord();
  }

  uint64_t Version(const std::string& id) {
    const std::string key = AccountHistoryBook::RecordKey(id);
    auto read = store_.Get({&key, 1});
    return read.ok() && (*read)[0].has_value() ? (*read)[0]->version : 0;
  }

  MemoryStore store_;
  AccountHistoryBook book_{store_};
  Feed feed_{book_};
};

TEST(CompareCursorsTest, ComparesNumerically) {
  EXPECT_THAT(CompareCursors("10-0", "9-5"), Optional(1));
  EXPECT_THAT(CompareCursors("5-9", "5-10"), Optional(-1));
  EXPECT_THAT(CompareCursors("5-10", "05-10"), Optional(0));
  EXPECT_THAT(CompareCursors("99999999999999999999-1", "1-1"), Optional(1));
  EXPECT_EQ(CompareCursors("5", "5-1"), std::nullopt);
  EXPECT_EQ(CompareCursors("a-1", "5-1"), std::nullopt);
}

TEST_F(AccountHistoryTest, FirstUpsertRecordsStartStatusAndMrrAndIndexesTheAccount) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_UNSPECIFIED, 500, Day(2025, 1, 10)), Day(2025, 2, 1));
  const v1::PortfolioHistoryRecord record = Get("acme");
  EXPECT_EQ(record.start_time_ms(), Ms(Day(2025, 1, 10)));
  EXPECT_EQ(record.initial_status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(record.upserted_status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_TRUE(record.status_points().empty());
  ASSERT_EQ(record.mrr_points_size(), 1);
  EXPECT_EQ(record.mrr_points(0).time_ms(), Ms(Day(2025, 2, 1)));
  EXPECT_EQ(record.mrr_points(0).mrr(), 500);
  EXPECT_FALSE(record.last_cursor().empty());
  auto members = store_.IndexScan(std::string(AccountHistoryBook::kIndex), "", 10);
  ASSERT_TRUE(members.ok());
  EXPECT_THAT(*members, ElementsAre("acme"));
}

TEST_F(AccountHistoryTest, ReplayedChangesAreIdempotent) {
  std::vector<v1::AccountChange> changes;
  const v1::Account trial = MakeAccount("acme", v1::ACCOUNT_STATUS_TRIAL, 0, Day(2025, 1, 1));
  const v1::Account paid = MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 300, Day(2025, 1, 1));
  changes.push_back(feed_.Upsert(trial, Day(2025, 1, 1)));
  changes.push_back(feed_.Upsert(paid, Day(2025, 1, 15)));
  changes.push_back(feed_.Events("acme", Day(2025, 2, 1),
                                 {MakeEvent(v1::EVENT_TYPE_EXPANSION, Day(2025, 2, 1), 100),
                                  MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, Day(2025, 2, 1), 9),
                                  MakeEvent(v1::EVENT_TYPE_FEATURE_USED, Day(2025, 1, 3), 0, "reports")}));
  changes.push_back(feed_.Events("acme", Day(2025, 3, 1),
                                 {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 3, 1), 0, "competition")}));
  const v1::PortfolioHistoryRecord before = Get("acme");
  const uint64_t version = Version("acme");

  // The whole feed again, and then a change from the middle of it: nothing is written.
  for (const v1::AccountChange& change : changes) {
    const v1::Account* account = change.kind() == v1::ACCOUNT_CHANGE_KIND_UPSERTED
                                     ? (change.cursor() == changes[0].cursor() ? &trial : &paid)
                                     : nullptr;
    ASSERT_TRUE(book_.Apply(change, account).ok());
  }
  ASSERT_TRUE(book_.Apply(changes[2], nullptr).ok());
  EXPECT_EQ(Get("acme").SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(Version("acme"), version);
  EXPECT_EQ(before.movements_size(), 1);
  EXPECT_EQ(before.nps_answers_size(), 1);
  EXPECT_EQ(before.status_points_size(), 2);
}

TEST_F(AccountHistoryTest, ChangesThatChangeNothingWriteNothing) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  const uint64_t version = Version("acme");
  feed_.Events("acme", Day(2025, 1, 2), {MakeEvent(v1::EVENT_TYPE_LOGIN, Day(2025, 1, 2))});
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 3));
  EXPECT_EQ(Version("acme"), version);
  // Only logins: no record at all.
  feed_.Events("quiet", Day(2025, 1, 2), {MakeEvent(v1::EVENT_TYPE_LOGIN, Day(2025, 1, 2))});
  auto record = book_.Read("quiet");
  ASSERT_TRUE(record.ok());
  EXPECT_FALSE(record->has_value());
}

TEST_F(AccountHistoryTest, TrialToPaidIsRecordedAtTheUpsert) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_TRIAL, 0, Day(2025, 1, 1)), Day(2025, 1, 1));
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 200, Day(2025, 1, 1)), Day(2025, 1, 20));
  const v1::PortfolioHistoryRecord record = Get("acme");
  EXPECT_EQ(record.initial_status(), v1::ACCOUNT_STATUS_TRIAL);
  ASSERT_EQ(record.status_points_size(), 1);
  EXPECT_EQ(record.status_points(0).status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(record.status_points(0).time_ms(), Ms(Day(2025, 1, 20)));
  EXPECT_FALSE(record.status_points(0).from_event());
  ASSERT_EQ(record.mrr_points_size(), 2);
  EXPECT_EQ(record.mrr_points(1).mrr(), 200);
}

TEST_F(AccountHistoryTest, ChurnEventGivesTimeAndReasonToAnUpsertedChurn) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_CHURNED, 0, Day(2025, 1, 1)), Day(2025, 3, 10));
  feed_.Events("acme", Day(2025, 3, 11),
               {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 3, 5), 0, "competition")});
  // A second churn event of the same churn changes nothing.
  feed_.Events("acme", Day(2025, 3, 12), {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 3, 12), 0, "other")});
  const v1::PortfolioHistoryRecord record = Get("acme");
  ASSERT_EQ(record.status_points_size(), 1);
  EXPECT_EQ(record.status_points(0).status(), v1::ACCOUNT_STATUS_CHURNED);
  EXPECT_EQ(record.status_points(0).time_ms(), Ms(Day(2025, 3, 5)));
  EXPECT_EQ(record.status_points(0).reason(), "competition");
  EXPECT_TRUE(record.status_points(0).from_event());
}

TEST_F(AccountHistoryTest, UpsertedChurnAfterTheEventAddsNothing) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  feed_.Events("acme", Day(2025, 3, 5),
               {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 3, 5), 0, "business_closed")});
  // An unrelated upsert that still reads ACTIVE does not undo the churn event...
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 3, 6));
  // ...and the upsert that marks it churned adds no second churn.
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_CHURNED, 0, Day(2025, 1, 1)), Day(2025, 3, 7));
  const v1::PortfolioHistoryRecord record = Get("acme");
  ASSERT_EQ(record.status_points_size(), 1);
  EXPECT_EQ(record.status_points(0).reason(), "business_closed");
  EXPECT_EQ(record.status_points(0).time_ms(), Ms(Day(2025, 3, 5)));
}

TEST_F(AccountHistoryTest, ReactivationFromEventOrUpsert) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  feed_.Events("acme", Day(2025, 2, 1),
               {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 2, 1), 0, "competition")});
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_CHURNED, 0, Day(2025, 1, 1)), Day(2025, 2, 2));
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 4, 10));
  feed_.Events("acme", Day(2025, 4, 11), {MakeEvent(v1::EVENT_TYPE_REACTIVATED, Day(2025, 4, 8))});
  const v1::PortfolioHistoryRecord record = Get("acme");
  ASSERT_EQ(record.status_points_size(), 2);
  EXPECT_EQ(record.status_points(1).status(), v1::ACCOUNT_STATUS_ACTIVE);
  EXPECT_EQ(record.status_points(1).time_ms(), Ms(Day(2025, 4, 8)));
  EXPECT_TRUE(record.status_points(1).from_event());
}

TEST_F(AccountHistoryTest, EventsBeforeTheFirstUpsertAreKept) {
  feed_.Events("acme", Day(2025, 2, 1),
               {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 2, 1), 0, "competition")});
  EXPECT_EQ(Get("acme").upserted_status(), v1::ACCOUNT_STATUS_UNSPECIFIED);
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2024, 1, 1)), Day(2025, 2, 2));
  const v1::PortfolioHistoryRecord record = Get("acme");
  EXPECT_EQ(record.initial_status(), v1::ACCOUNT_STATUS_ACTIVE);
  ASSERT_EQ(record.status_points_size(), 1);
  EXPECT_EQ(record.status_points(0).status(), v1::ACCOUNT_STATUS_CHURNED);
}

TEST_F(AccountHistoryTest, AnAccountFirstSeenChurnedWasPayingUntilThen) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_CHURNED, 0, Day(2024, 1, 1)), Day(2025, 2, 2));
  const v1::PortfolioHistoryRecord record = Get("acme");
  EXPECT_EQ(record.initial_status(), v1::ACCOUNT_STATUS_ACTIVE);
  ASSERT_EQ(record.status_points_size(), 1);
  EXPECT_EQ(record.status_points(0).time_ms(), Ms(Day(2025, 2, 2)));
}

TEST_F(AccountHistoryTest, KeepsMovementsFirstFeatureAndAnswersInTimeOrder) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  feed_.Events("acme", Day(2025, 3, 1),
               {MakeEvent(v1::EVENT_TYPE_UPGRADE, Day(2025, 2, 20), 50),
                MakeEvent(v1::EVENT_TYPE_DOWNGRADE, Day(2025, 2, 10), 20),
                MakeEvent(v1::EVENT_TYPE_EXPANSION, Day(2025, 2, 25), 0),  // no amount: nothing
                MakeEvent(v1::EVENT_TYPE_FEATURE_USED, Day(2025, 1, 9), 0, "a"),
                MakeEvent(v1::EVENT_TYPE_FEATURE_USED, Day(2025, 1, 5), 0, "b"),
                MakeEvent(v1::EVENT_TYPE_CSAT_RESPONSE, Day(2025, 2, 28), 4),
                MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, Day(2025, 2, 27), 10),
                MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, Day(2025, 2, 26), 3)});
  const v1::PortfolioHistoryRecord record = Get("acme");
  ASSERT_EQ(record.movements_size(), 2);
  EXPECT_EQ(record.movements(0).type(), v1::EVENT_TYPE_DOWNGRADE);
  EXPECT_EQ(record.movements(0).amount(), 20);
  EXPECT_EQ(record.movements(1).type(), v1::EVENT_TYPE_UPGRADE);
  EXPECT_EQ(record.first_feature_time_ms(), Ms(Day(2025, 1, 5)));
  ASSERT_EQ(record.nps_answers_size(), 2);
  EXPECT_EQ(record.nps_answers(0).value(), 3);
  EXPECT_EQ(record.nps_answers(1).value(), 10);
  ASSERT_EQ(record.csat_answers_size(), 1);
}

TEST_F(AccountHistoryTest, EventsOfAnotherAccountAreSkipped) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  v1::AccountChange change;
  change.set_cursor("99999999999999-0");
  change.set_account_id("acme");
  change.set_kind(v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED);
  *change.mutable_change_time() = ToProtoTime(Day(2025, 2, 1));
  v1::Event event = MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 2, 1), 0, "competition");
  event.set_account_id("other");
  *change.add_events() = event;
  ASSERT_TRUE(book_.Apply(change, nullptr).ok());
  EXPECT_TRUE(Get("acme").status_points().empty());
}

TEST_F(AccountHistoryTest, ListsAreBounded) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 0, Day(2020, 1, 1)), Day(2020, 1, 1));
  const absl::Time base = Day(2022, 1, 1);
  for (int i = 1; i <= AccountHistoryBook::kMaxMrrPoints + 5; ++i) {
    feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, i, Day(2020, 1, 1)), base + absl::Minutes(i));
  }
  std::vector<v1::Event> answers;
  for (int i = 0; i < AccountHistoryBook::kMaxAnswers + 10; ++i) {
    answers.push_back(MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, base + absl::Hours(i), 8));
  }
  feed_.Events("acme", base + absl::Hours(2000), answers);
  v1::PortfolioHistoryRecord record = Get("acme");
  ASSERT_EQ(record.mrr_points_size(), AccountHistoryBook::kMaxMrrPoints);
  EXPECT_EQ(record.mrr_points().rbegin()->mrr(), AccountHistoryBook::kMaxMrrPoints + 5);
  ASSERT_EQ(record.nps_answers_size(), AccountHistoryBook::kMaxAnswers);
  EXPECT_EQ(record.nps_answers().rbegin()->time_ms(),
            Ms(base + absl::Hours(AccountHistoryBook::kMaxAnswers + 9)));

  // Answers older than the retention before a later change's time are dropped.
  feed_.Events("acme", base + absl::Hours(2000) + AccountHistoryBook::kAnswerRetention,
               {MakeEvent(v1::EVENT_TYPE_CSAT_RESPONSE, base + absl::Hours(2000), 5)});
  record = Get("acme");
  EXPECT_TRUE(record.nps_answers().empty());
  EXPECT_EQ(record.csat_answers_size(), 1);
}

TEST_F(AccountHistoryTest, StatusPointsAreBoundedAndFoldIntoTheStartingStatus) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 10, Day(2020, 1, 1)), Day(2020, 1, 1));
  const absl::Time base = Day(2021, 1, 1);
  for (int i = 0; i < AccountHistoryBook::kMaxStatusPoints + 1; ++i) {
    feed_.Events(
        "acme", base + absl::Hours(i),
        {MakeEvent(i % 2 == 0 ? v1::EVENT_TYPE_CHURNED : v1::EVENT_TYPE_REACTIVATED, base + absl::Hours(i))});
  }
  const v1::PortfolioHistoryRecord record = Get("acme");
  ASSERT_EQ(record.status_points_size(), AccountHistoryBook::kMaxStatusPoints);
  EXPECT_EQ(record.initial_status(), v1::ACCOUNT_STATUS_CHURNED);  // the first (dropped) point
  EXPECT_EQ(record.status_points(0).status(), v1::ACCOUNT_STATUS_ACTIVE);
}

TEST_F(AccountHistoryTest, BadChangesAreInvalidArgument) {
  v1::AccountChange change;
  change.set_account_id("acme");
  change.set_kind(v1::ACCOUNT_CHANGE_KIND_UPSERTED);
  change.set_cursor("not-a-cursor");
  const v1::Account account = MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 1, Day(2025, 1, 1));
  absl::Status status = book_.Apply(change, &account);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorField(status), Optional(std::string("cursor")));

  change.set_cursor("1-0");
  status = book_.Apply(change, nullptr);
  EXPECT_THAT(ErrorField(status), Optional(std::string("account")));

  const v1::Account other = MakeAccount("other", v1::ACCOUNT_STATUS_ACTIVE, 1, Day(2025, 1, 1));
  status = book_.Apply(change, &other);
  EXPECT_THAT(ErrorField(status), Optional(std::string("account.account_id")));

  change.clear_account_id();
  status = book_.Apply(change, &account);
  EXPECT_THAT(ErrorField(status), Optional(std::string("account_id")));
}

TEST_F(AccountHistoryTest, SetScoresWritesOnlyChanges) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  ASSERT_TRUE(book_.SetScores("acme", 82.5, 4).ok());
  const uint64_t version = Version("acme");
  ASSERT_TRUE(book_.SetScores("acme", 82.5, 4).ok());
  EXPECT_EQ(Version("acme"), version);
  v1::PortfolioHistoryRecord record = Get("acme");
  EXPECT_EQ(record.health(), 82.5);
  EXPECT_EQ(record.ltv_to_cac(), 4);
  ASSERT_TRUE(book_.SetScores("acme", 70, std::nullopt).ok());
  record = Get("acme");
  EXPECT_EQ(record.health(), 70);
  EXPECT_FALSE(record.has_ltv_to_cac());
  // The feed's state is untouched.
  EXPECT_EQ(record.mrr_points_size(), 1);

  // Scores before any change: a record that is indexed but not known yet.
  ASSERT_TRUE(book_.SetScores("early", 50, std::nullopt).ok());
  EXPECT_EQ(Get("early").upserted_status(), v1::ACCOUNT_STATUS_UNSPECIFIED);
  auto members = store_.IndexScan(std::string(AccountHistoryBook::kIndex), "", 10);
  ASSERT_TRUE(members.ok());
  EXPECT_THAT(*members, ElementsAre("acme", "early"));
}

TEST_F(AccountHistoryTest, APageFoldsLikeItsChangesOneByOneInOneReadAndOneWrite) {
  // The same feed applied change by change on one book, and as one page on another.
  MemoryStore paged_store;
  AccountHistoryBook paged(paged_store);
  const v1::Account acme = MakeAccount("acme", v1::ACCOUNT_STATUS_TRIAL, 0, Day(2025, 1, 1));
  const v1::Account beta = MakeAccount("beta", v1::ACCOUNT_STATUS_ACTIVE, 250, Day(2024, 6, 1));
  std::vector<v1::AccountChange> page;
  v1::AccountChange change = feed_.Upsert(acme, Day(2025, 1, 1));
  *change.mutable_account() = acme;  // as the scoring service writes an upsert into the feed
  page.push_back(change);
  change = feed_.Upsert(beta, Day(2025, 1, 2));
  *change.mutable_account() = beta;
  page.push_back(change);
  page.push_back(feed_.Events("acme", Day(2025, 1, 20),
                              {MakeEvent(v1::EVENT_TYPE_NPS_RESPONSE, Day(2025, 1, 20), 4),
                               MakeEvent(v1::EVENT_TYPE_FEATURE_USED, Day(2025, 1, 20), 0, "reports")}));
  page.push_back(feed_.Events("beta", Day(2025, 2, 1), {MakeEvent(v1::EVENT_TYPE_EXPANSION, Day(2025, 2, 1), 50)}));
  page.push_back(feed_.Events("acme", Day(2025, 2, 2), {MakeEvent(v1::EVENT_TYPE_CHURNED, Day(2025, 2, 2), 0, "price")}));

  ASSERT_TRUE(paged.ApplyPage(page).ok());
  for (const char* id : {"acme", "beta"}) {
    auto record = paged.Read(id);
    ASSERT_TRUE(record.ok() && record->has_value()) << id;
    EXPECT_EQ((*record)->SerializeAsString(), Get(id).SerializeAsString()) << id;
  }
  // Again (a page handled twice after a crash): nothing is written.
  const std::string key = AccountHistoryBook::RecordKey("acme");
  const uint64_t version = (*paged_store.Get({&key, 1}))[0]->version;
  ASSERT_TRUE(paged.ApplyPage(page).ok());
  EXPECT_EQ((*paged_store.Get({&key, 1}))[0]->version, version);
  auto members = paged_store.IndexScan(std::string(AccountHistoryBook::kIndex), "", 10);
  ASSERT_TRUE(members.ok());
  EXPECT_THAT(*members, ElementsAre("acme", "beta"));

  // A bad change fails the page before anything is written.
  page.back().set_cursor("not-a-cursor");
  page.back().set_account_id("gamma");
  EXPECT_EQ(paged.ApplyPage(page).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(paged.Read("gamma")->has_value());
}

TEST_F(AccountHistoryTest, SetScoresManyWritesOnlyWhatChanged) {
  feed_.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  feed_.Upsert(MakeAccount("beta", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  ASSERT_TRUE(book_.SetScoresMany({{"acme", 80, 3}, {"beta", 60, std::nullopt}}).ok());
  const uint64_t acme_version = Version("acme");
  const uint64_t beta_version = Version("beta");
  ASSERT_TRUE(book_.SetScoresMany({{"acme", 80, 3}, {"beta", 65, std::nullopt}}).ok());
  EXPECT_EQ(Version("acme"), acme_version);
  EXPECT_GT(Version("beta"), beta_version);
  EXPECT_EQ(Get("acme").health(), 80);
  EXPECT_EQ(Get("beta").health(), 65);
  EXPECT_EQ(book_.SetScoresMany({{"", 1, 1}}).code(), absl::StatusCode::kInvalidArgument);
}

// A store that lets another writer change the record right before this process's first write of it.
class RacingStore final : public steward::testing::ForwardingStore {
 public:
  absl::StatusOr<std::vector<bool>> Put(absl::Span<const Write> writes) override {
    if (races_left_ > 0) {
      --races_left_;
      Write rival;
      rival.key = writes[0].key;
      v1::PortfolioHistoryRecord record;
      auto read = ForwardingStore::Get({&rival.key, 1});
      if (read.ok() && (*read)[0].has_value()) record.ParseFromString((*read)[0]->value);
      record.set_health(11);  // the rival's write
      rival.value = record.SerializeAsString();
      if (auto put = ForwardingStore::Put({&rival, 1}); !put.ok()) return put.status();
    }
    return ForwardingStore::Put(writes);
  }

  int races_left_ = 0;
};

TEST(AccountHistoryRaceTest, LostRacesAreRetriedAndKeepTheRivalsWrite) {
  RacingStore store;
  AccountHistoryBook book(store);
  Feed feed(book);
  feed.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  store.races_left_ = 3;
  feed.Events("acme", Day(2025, 2, 1), {MakeEvent(v1::EVENT_TYPE_EXPANSION, Day(2025, 2, 1), 40)});
  auto record = book.Read("acme");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->movements_size(), 1);
  EXPECT_EQ((*record)->health(), 11);

  store.races_left_ = AccountHistoryBook::kMaxWriteAttempts;
  v1::AccountChange change;
  change.set_cursor("99999999999999-0");
  change.set_account_id("acme");
  change.set_kind(v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED);
  *change.mutable_change_time() = ToProtoTime(Day(2025, 3, 1));
  *change.add_events() = MakeEvent(v1::EVENT_TYPE_EXPANSION, Day(2025, 3, 1), 40);
  EXPECT_EQ(book.Apply(change, nullptr).code(), absl::StatusCode::kAborted);
}

TEST(AccountHistoryRaceTest, APageRetriesTheRecordsThatLostARace) {
  RacingStore store;
  AccountHistoryBook book(store);
  Feed feed(book);
  feed.Upsert(MakeAccount("acme", v1::ACCOUNT_STATUS_ACTIVE, 100, Day(2025, 1, 1)), Day(2025, 1, 1));
  v1::AccountChange change;
  change.set_cursor("99999999999999-0");
  change.set_account_id("acme");
  change.set_kind(v1::ACCOUNT_CHANGE_KIND_EVENTS_RECORDED);
  *change.mutable_change_time() = ToProtoTime(Day(2025, 3, 1));
  *change.add_events() = MakeEvent(v1::EVENT_TYPE_EXPANSION, Day(2025, 3, 1), 40);
  store.races_left_ = 2;  // the page's write and the first retry lose
  ASSERT_TRUE(book.ApplyPage({&change, 1}).ok());
  auto record = book.Read("acme");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->movements_size(), 1);
  EXPECT_EQ((*record)->health(), 11);  // the rival's write is kept
}

}  // namespace
}  // namespace steward::segmentation
