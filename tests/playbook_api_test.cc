// The playbook API over real gRPC on loopback, on both stores, with every service in one server on a
// manual clock (ClockService.AdvanceClock moves it, running each due step at its own time): the shipped
// playbooks run end to end at SPEC's day offsets on the right channels, the retention offer escalates only
// without a response, win-back starts 30 days after churn and stops when the customer returns,
// re-engagement stops when engagement recovers; plus enrolment rules, pause/resume/cancel, visibility,
// frequency caps, holdout share, re-enrolment and version pinning, and precise errors.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/playbooks/definition/playbook_loader.h"
#include "services/scoring/model/model_config.h"
#include "services/segmentation/builtin/segmentation_config.h"
#include "services/segmentation/loyalty/loyalty_config.h"
#include "services/segmentation/metrics/portfolio_config.h"
#include "steward/v1/clock_service.grpc.pb.h"
#include "steward/v1/playbook_service.grpc.pb.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/action_collector.h"
#include "tests/support/api_test_support.h"
#include "tests/support/healthy_account.h"
#include "tests/support/playbook_server.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_store.h"

namespace steward {
namespace {

using testing::At;
using testing::BadRequestField;
using testing::ConfigDir;
using testing::Context;
using ::testing::ElementsAre;
using testing::Eventually;
using ::testing::HasSubstr;
using testing::StoreKind;

// A Monday, 09:00 UTC.
const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 1, 5, 9, 0, 0), absl::UTCTimeZone());
constexpr absl::Duration kDay = absl::Hours(24);

std::string PlaybooksDir() { return absl::StrCat(std::getenv("STEWARD_SOURCE_DIR"), "/playbooks"); }

// Every action handed off while a test runs, read through WatchActions like a CS tool would.
class PlaybookApiTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    auto store = testing::MakeTestStore(GetParam(), redis_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    StartServer(Playbooks());
  }

  void TearDown() override {
    actions_.reset();
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  // The shipped playbooks. Only win-back's and re-engagement's triggers are kept: the other tests enrol
  // by hand, and an account idle for months would otherwise also fall into a health band's playbook,
  // the retention offer and more, whose touches would mix with the ones a test counts.
  virtual std::vector<v1::Playbook> Playbooks() {
    auto loaded = playbooks::LoadPlaybookDirectory(PlaybooksDir());
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    if (!loaded.ok()) return {};
    for (v1::Playbook& playbook : *loaded) {
      if (playbook.id() != "win-back" && playbook.id() != "re-engagement") playbook.clear_triggers();
    }
    return *loaded;
  }
  // No frequency caps, so that SPEC's offsets show unchanged; the cap test sets its own.
  virtual v1::PlaybookEngineConfig EngineConfig() { return v1::PlaybookEngineConfig(); }

  absl::Status TryStartServer(std::vector<v1::Playbook> playbooks) {
    auto models = scoring::LoadModelDirectory(ConfigDir());
    if (!models.ok()) return models.status();
    auto config = testing::PlaybookServerConfig(std::move(playbooks), clock_);
    if (!config.ok()) return config.status();
    config->playbook_engine = EngineConfig();
    auto server = StewardServer::Start(*config, *store_, clock_, *std::move(models));
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    clients_ = std::make_unique<testing::PlaybookClients>(server_->port());
    scoring_ = clients_->scoring.get();
    playbooks_ = clients_->playbooks.get();
    time_ = clients_->time.get();
    actions_ = std::make_unique<testing::ActionCollector>(absl::StrCat("127.0.0.1:", server_->port()));
    return absl::OkStatus();
  }

  void StartServer(std::vector<v1::Playbook> playbooks) {
    absl::Status started = TryStartServer(std::move(playbooks));
    ASSERT_TRUE(started.ok()) << started;
  }

  absl::Status RestartServer(std::vector<v1::Playbook> playbooks) {
    actions_.reset();
    server_->Shutdown(absl::Seconds(1));
    server_.reset();
    return TryStartServer(std::move(playbooks));
  }

  // An account with no activity at all: no rule of any shipped playbook's exits or steps holds for it
  // but the health bands' (its health is fixed, as nothing happens), so it sits still for 60 days.
  void Account(const std::string& id, v1::AccountStatus status = v1::ACCOUNT_STATUS_ACTIVE,
               int tenure_days = 400) {
    v1::UpsertAccountRequest upsert;
    *upsert.mutable_account() = testing::HealthyAccount(id, clock_.Now());
    upsert.mutable_account()->set_status(status);
    *upsert.mutable_account()->mutable_start_time() = At(clock_.Now() - tenure_days * kDay);
    v1::UpsertAccountResponse upserted;
    grpc::Status s = scoring_->UpsertAccount(Context().get(), upsert, &upserted);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void Record(const std::vector<v1::Event>& events) {
    v1::RecordEventsRequest request;
    for (const v1::Event& e : events) *request.add_events() = e;
    v1::RecordEventsResponse response;
    grpc::Status status = scoring_->RecordEvents(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Advance(absl::Duration by) { clients_->Advance(by); }

  grpc::Status Enroll(const std::string& account, const std::string& playbook, const std::string& request_id,
                      v1::EnrollAccountResponse* out) {
    v1::EnrollAccountRequest request;
    request.set_account_id(account);
    request.set_playbook_id(playbook);
    request.set_request_id(request_id);
    return playbooks_->EnrollAccount(Context().get(), request, out);
  }
  v1::Enrollment MustEnroll(const std::string& account, const std::string& playbook) {
    v1::EnrollAccountResponse response;
    grpc::Status s = Enroll(account, playbook, absl::StrCat("req-", account, "-", playbook), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.enrollment();
  }

  v1::Enrollment Get(const std::string& enrollment_id) { return clients_->GetEnrollment(enrollment_id); }

  // The latest enrolment of an account in a playbook, or an empty one.
  v1::Enrollment Latest(const std::string& account, const std::string& playbook) {
    v1::ListEnrollmentsRequest request;
    request.set_account_id(account);
    v1::ListEnrollmentsResponse response;
    grpc::Status s = playbooks_->ListEnrollments(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const v1::Enrollment& e : response.enrollments()) {
      if (e.playbook_id() == playbook) return e;  // latest first within a playbook
    }
    return v1::Enrollment();
  }

  // The actions of an enrolment as WatchActions delivered them, once `count` have arrived.
  std::vector<v1::PlaybookAction> ActionsOf(const std::string& enrollment_id, size_t count) {
    EXPECT_TRUE(Eventually([&] { return actions_->For(enrollment_id).size() >= count; }, absl::Seconds(10)))
        << enrollment_id << " got " << actions_->For(enrollment_id).size() << " actions, expected " << count;
    return actions_->For(enrollment_id);
  }

  grpc::Status Outcome(const std::string& action_id, v1::ActionOutcome outcome,
                       v1::RecordActionOutcomeResponse* out = nullptr) {
    v1::RecordActionOutcomeRequest request;
    request.set_action_id(action_id);
    request.set_outcome(outcome);
    v1::RecordActionOutcomeResponse response;
    grpc::Status s = playbooks_->RecordActionOutcome(Context().get(), request, &response);
    if (out != nullptr) *out = response;
    return s;
  }

  // "step@day:channel" of each action, the day counted from `from` (hours when not whole days).
  static std::vector<std::string> Describe(const std::vector<v1::PlaybookAction>& actions, absl::Time from) {
    std::vector<std::string> out;
    for (const v1::PlaybookAction& a : actions) {
      const absl::Duration offset = absl::FromUnixSeconds(a.created_time().seconds()) - from;
      const std::string when = offset % kDay == absl::ZeroDuration()
                                   ? absl::StrCat(offset / kDay)
                                   : absl::StrCat(absl::ToDoubleHours(offset), "h");
      out.push_back(absl::StrCat(a.step_id(), "@", when, ":", v1::Channel_Name(a.channel())));
    }
    return out;
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<Store> store_;
  FakeClock clock_{kStart};
  std::unique_ptr<StewardServer> server_;
  std::unique_ptr<testing::PlaybookClients> clients_;
  v1::ScoringService::Stub* scoring_ = nullptr;
  v1::PlaybookService::Stub* playbooks_ = nullptr;
  v1::ClockService::Stub* time_ = nullptr;
  std::unique_ptr<testing::ActionCollector> actions_;
};

// Every shipped playbook without rules in its exits or steps, manually enrolled: each action comes at the
// day offset its file gives (SPEC's), in order, on its step's channel, and the enrolment then completes.
TEST_P(PlaybookApiTest, ShippedPlaybooksRunAtTheirDayOffsetsOnTheirChannels) {
  auto loaded = playbooks::LoadPlaybookDirectory(PlaybooksDir());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::map<std::string, v1::Enrollment> enrolled;
  int checked = 0;
  for (const v1::Playbook& playbook : *loaded) {
    bool has_rules = false;
    for (const v1::ExitCriterion& exit : playbook.exits()) has_rules = has_rules || exit.has_rule();
    for (const v1::Step& step : playbook.steps()) has_rules = has_rules || step.has_condition();
    if (has_rules) continue;  // their own tests below keep the account's scores where the rules need them
    const std::string account = absl::StrCat("e2e-", playbook.id());
    Account(account);
    enrolled[playbook.id()] = MustEnroll(account, playbook.id());
  }
  Advance(61 * kDay);
  for (const v1::Playbook& playbook : *loaded) {
    auto found = enrolled.find(playbook.id());
    if (found == enrolled.end()) continue;
    const v1::Enrollment& e = found->second;
    const absl::Time t0 = absl::FromUnixSeconds(e.enrolled_time().seconds());
    std::vector<std::string> expected;
    const std::vector<int64_t> offsets = playbooks::NominalOffsetsHours(playbook.steps());
    for (int i = 0; i < playbook.steps_size(); ++i) {
      const v1::Step& step = playbook.steps(i);
      // The retention offer's escalation runs when nobody answered, as here.
      const std::string when =
          offsets[i] % 24 == 0 ? absl::StrCat(offsets[i] / 24) : absl::StrCat(offsets[i], "h");
      expected.push_back(
          absl::StrCat(step.id(), "@", when, ":", v1::Channel_Name(playbooks::StepChannel(step))));
    }
    EXPECT_EQ(Describe(ActionsOf(e.enrollment_id(), expected.size()), t0), expected) << playbook.id();
    EXPECT_EQ(Get(e.enrollment_id()).state(), v1::ENROLLMENT_STATE_COMPLETED) << playbook.id();
    ++checked;
  }
  EXPECT_GE(checked, 7);  // onboarding, retention, win-back, three NPS follow-ups, referral ask
}

TEST_P(PlaybookApiTest, RetentionOfferEscalatesOnDayThreeOnlyWithoutAResponse) {
  Account("quiet");
  Account("answers");
  const v1::Enrollment quiet = MustEnroll("quiet", "retention-offer");
  const v1::Enrollment answers = MustEnroll("answers", "retention-offer");
  // Day 0's offer goes out with the enrolment.
  ASSERT_EQ(ActionsOf(answers.enrollment_id(), 1)[0].step_id(), "day_0_offer");
  Advance(kDay + absl::Hours(2));
  const std::vector<v1::PlaybookAction> call = ActionsOf(answers.enrollment_id(), 2);
  ASSERT_EQ(call[1].step_id(), "day_1_retention_call");
  EXPECT_EQ(call[1].channel(), v1::CHANNEL_CALL);
  EXPECT_EQ(call[1].assignee_role(), "account_manager");
  v1::RecordActionOutcomeResponse recorded;
  ASSERT_TRUE(Outcome(call[1].action_id(), v1::ACTION_OUTCOME_REPLIED, &recorded).ok());
  EXPECT_TRUE(recorded.recorded());
  // The reply ends the wait: nothing more for this customer.
  EXPECT_EQ(recorded.enrollment().state(), v1::ENROLLMENT_STATE_COMPLETED);
  Advance(3 * kDay);

  const absl::Time t0 = absl::FromUnixSeconds(quiet.enrolled_time().seconds());
  EXPECT_THAT(Describe(ActionsOf(quiet.enrollment_id(), 4), t0),
              ElementsAre("day_0_offer@0:CHANNEL_OFFER", "day_1_retention_call@1:CHANNEL_CALL",
                          "day_3_escalation@3:CHANNEL_TASK", "day_3_improved_offer@3:CHANNEL_OFFER"));
  const v1::PlaybookAction escalation = ActionsOf(quiet.enrollment_id(), 4)[2];
  EXPECT_EQ(escalation.assignee_role(), "cs_director");
  EXPECT_EQ(escalation.sla_time().seconds() - escalation.created_time().seconds(), 48 * 3600);
  EXPECT_EQ(Describe(actions_->For(answers.enrollment_id()), t0),
            (std::vector<std::string>{"day_0_offer@0:CHANNEL_OFFER", "day_1_retention_call@1:CHANNEL_CALL"}));
  EXPECT_EQ(Get(answers.enrollment_id()).steps_size(), 2);
}

TEST_P(PlaybookApiTest, AcceptingTheRetentionOfferIsTheGoal) {
  Account("keeper");
  const v1::Enrollment e = MustEnroll("keeper", "retention-offer");
  const std::string offer = ActionsOf(e.enrollment_id(), 1)[0].action_id();
  v1::RecordActionOutcomeResponse recorded;
  ASSERT_TRUE(Outcome(offer, v1::ACTION_OUTCOME_ACCEPTED, &recorded).ok());
  EXPECT_EQ(recorded.enrollment().state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(recorded.enrollment().exit_reason(), "offer_accepted");
  EXPECT_TRUE(recorded.enrollment().goal_reached());
  // The same outcome again records nothing new.
  ASSERT_TRUE(Outcome(offer, v1::ACTION_OUTCOME_ACCEPTED, &recorded).ok());
  EXPECT_FALSE(recorded.recorded());
  Advance(5 * kDay);
  EXPECT_EQ(actions_->For(e.enrollment_id()).size(), 1u);
}

TEST_P(PlaybookApiTest, WinBackStartsThirtyDaysAfterChurnAndStopsWhenTheCustomerReturns) {
  Account("gone", v1::ACCOUNT_STATUS_CHURNED);
  Account("back", v1::ACCOUNT_STATUS_CHURNED);
  // The trigger enrols both from the change feed, at the moment of churn.
  Advance(absl::Minutes(1));
  const v1::Enrollment gone = Latest("gone", "win-back");
  const v1::Enrollment back = Latest("back", "win-back");
  ASSERT_EQ(gone.state(), v1::ENROLLMENT_STATE_ACTIVE);
  ASSERT_EQ(back.state(), v1::ENROLLMENT_STATE_ACTIVE);
  EXPECT_EQ(gone.source(), v1::ENROLLMENT_SOURCE_TRIGGER);
  const absl::Time t0 = absl::FromUnixSeconds(gone.enrolled_time().seconds());

  Advance(29 * kDay);
  EXPECT_TRUE(actions_->For(gone.enrollment_id()).empty()) << "nothing before day 30";
  Advance(kDay + absl::Hours(1));
  ASSERT_EQ(ActionsOf(back.enrollment_id(), 1)[0].step_id(), "day_30_we_miss_you");
  Advance(8 * kDay);  // day 38: the 50% offer went out on day 37
  ASSERT_EQ(ActionsOf(back.enrollment_id(), 2).size(), 2u);
  Record({testing::MakeEvent("back", "reactivated", v1::EVENT_TYPE_REACTIVATED, clock_.Now())});
  Advance(30 * kDay);

  EXPECT_THAT(Describe(ActionsOf(gone.enrollment_id(), 4), t0),
              ElementsAre("day_30_we_miss_you@30:CHANNEL_EMAIL", "day_37_offer@37:CHANNEL_OFFER",
                          "day_45_call@45:CHANNEL_CALL", "day_60_last_offer@60:CHANNEL_OFFER"));
  EXPECT_EQ(actions_->For(back.enrollment_id()).size(), 2u) << "the returned customer hears nothing more";
  const v1::Enrollment returned = Get(back.enrollment_id());
  EXPECT_EQ(returned.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(returned.exit_reason(), "returned");
  EXPECT_TRUE(returned.goal_reached());
}

// Logins: two a day from 89 to 31 days ago (the account's baseline), none since: engagement under half
// of normal from the start.
std::vector<v1::Event> DroppedLogins(const std::string& account, absl::Time now) {
  std::vector<v1::Event> events;
  for (int day = 31; day < 90; ++day) {
    for (int i = 0; i < 2; ++i) {
      events.push_back(testing::MakeEvent(account, absl::StrCat("login-", day, "-", i), v1::EVENT_TYPE_LOGIN,
                                          now - day * kDay + absl::Hours(i)));
    }
  }
  return events;
}

TEST_P(PlaybookApiTest, ReEngagementStartsAfterFourteenDaysAndStopsWhenEngagementRecovers) {
  for (const std::string id : {"drifting", "recovers"}) {
    Account(id, v1::ACCOUNT_STATUS_ACTIVE, 120);
    Record(DroppedLogins(id, clock_.Now()));
  }
  Advance(absl::Minutes(1));
  const absl::Time dropped = clock_.Now() - absl::Minutes(1);
  Advance(13 * kDay);
  EXPECT_EQ(Latest("drifting", "re-engagement").enrollment_id(), "") << "not before 14 days";
  Advance(kDay + absl::Hours(1));
  const v1::Enrollment drifting = Latest("drifting", "re-engagement");
  const v1::Enrollment recovers = Latest("recovers", "re-engagement");
  ASSERT_EQ(drifting.state(), v1::ENROLLMENT_STATE_ACTIVE);
  // Day offsets count from when engagement dropped: "day 14" is today.
  EXPECT_EQ(absl::FromUnixSeconds(drifting.enrolled_time().seconds()), dropped);
  Advance(2 * kDay);  // day 16
  ASSERT_EQ(ActionsOf(recovers.enrollment_id(), 2).size(), 2u);
  // The customer comes back: 40 logins over the last days, above half of the usual 60 a month.
  std::vector<v1::Event> logins;
  for (int i = 0; i < 40; ++i) {
    logins.push_back(testing::MakeEvent("recovers", absl::StrCat("back-", i), v1::EVENT_TYPE_LOGIN,
                                        clock_.Now() - absl::Hours(i)));
  }
  Record(logins);
  Advance(5 * kDay);

  EXPECT_THAT(Describe(ActionsOf(drifting.enrollment_id(), 3), dropped),
              ElementsAre("day_14_we_miss_you@14:CHANNEL_EMAIL", "day_16_premium_trial@16:CHANNEL_IN_APP",
                          "day_18_outreach@18:CHANNEL_CALL"));
  EXPECT_EQ(actions_->For(recovers.enrollment_id()).size(), 2u) << "no outreach after recovery";
  const v1::Enrollment recovered = Get(recovers.enrollment_id());
  EXPECT_EQ(recovered.state(), v1::ENROLLMENT_STATE_EXITED);
  EXPECT_EQ(recovered.exit_reason(), "re_engaged");
  EXPECT_TRUE(recovered.goal_reached());
}

TEST_P(PlaybookApiTest, EnrolmentIsIdempotentByRequestAndOnePerAccountAndPlaybook) {
  Account("acme");
  v1::EnrollAccountResponse first;
  ASSERT_TRUE(Enroll("acme", "nps-promoter", "r-1", &first).ok());
  EXPECT_TRUE(first.created());
  EXPECT_EQ(first.enrollment().enrollment_id(), "acme/nps-promoter/1");
  v1::EnrollAccountResponse again;
  ASSERT_TRUE(Enroll("acme", "nps-promoter", "r-1", &again).ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.enrollment().enrollment_id(), "acme/nps-promoter/1");
  v1::EnrollAccountResponse other;
  grpc::Status s = Enroll("acme", "nps-promoter", "r-2", &other);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  // Day 0's action went out once.
  EXPECT_EQ(ActionsOf("acme/nps-promoter/1", 1).size(), 1u);
}

TEST_P(PlaybookApiTest, AnEnrolmentsContextTravelsWithEveryAction) {
  Account("acme");
  v1::EnrollAccountRequest request;
  request.set_account_id("acme");
  request.set_playbook_id("upsell-offer");
  request.set_request_id("upsell:acme/7");
  (*request.mutable_context())["opportunity_id"] = "acme/7";
  (*request.mutable_context())["target_plan"] = "pro";
  v1::EnrollAccountResponse response;
  grpc::Status s = playbooks_->EnrollAccount(Context().get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.enrollment().context().at("opportunity_id"), "acme/7");
  Advance(3 * kDay + absl::Hours(1));  // no answer to the offer: the account manager follows up
  const std::vector<v1::PlaybookAction> actions = ActionsOf(response.enrollment().enrollment_id(), 2);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].step_id(), "day_0_offer");
  EXPECT_EQ(actions[1].step_id(), "day_3_follow_up");
  for (const v1::PlaybookAction& a : actions) {
    EXPECT_EQ(a.context().at("opportunity_id"), "acme/7");
    EXPECT_EQ(a.context().at("target_plan"), "pro");
  }
}

TEST_P(PlaybookApiTest, BadRequestsGetPreciseStatusesAndStoreNothing) {
  Account("acme");
  v1::EnrollAccountResponse response;
  grpc::Status s = Enroll("", "onboarding", "r", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestField(s), "account_id");
  s = Enroll("acme", "", "r", &response);
  EXPECT_EQ(BadRequestField(s), "playbook_id");
  s = Enroll("acme", "onboarding", "", &response);
  EXPECT_EQ(BadRequestField(s), "request_id");
  s = Enroll("acme", "no-such-playbook", "r", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  s = Enroll("nobody", "onboarding", "r", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  // The context an enrolment carries to its actions is bounded and its keys are plain.
  v1::EnrollAccountRequest with_context;
  with_context.set_account_id("acme");
  with_context.set_playbook_id("onboarding");
  with_context.set_request_id("r-context");
  (*with_context.mutable_context())["Opportunity Id"] = "acme/1";
  s = playbooks_->EnrollAccount(Context().get(), with_context, &response);
  EXPECT_EQ(BadRequestField(s), "context");
  with_context.mutable_context()->clear();
  (*with_context.mutable_context())["note"] = std::string(1001, 'x');
  s = playbooks_->EnrollAccount(Context().get(), with_context, &response);
  EXPECT_EQ(BadRequestField(s), "context[note]");
  with_context.mutable_context()->clear();
  for (int i = 0; i < 17; ++i) (*with_context.mutable_context())[absl::StrCat("k", i)] = "v";
  s = playbooks_->EnrollAccount(Context().get(), with_context, &response);
  EXPECT_EQ(BadRequestField(s), "context");

  v1::GetEnrollmentRequest get;
  get.set_enrollment_id("not-an-id");
  v1::GetEnrollmentResponse got;
  s = playbooks_->GetEnrollment(Context().get(), get, &got);
  EXPECT_EQ(BadRequestField(s), "enrollment_id");
  get.set_enrollment_id("acme/onboarding/1");
  s = playbooks_->GetEnrollment(Context().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  s = Outcome("acme/onboarding/1/day_1_welcome/1", v1::ACTION_OUTCOME_OPENED);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  s = Outcome("acme/onboarding", v1::ACTION_OUTCOME_OPENED);
  EXPECT_EQ(BadRequestField(s), "action_id");
  const v1::Enrollment e = MustEnroll("acme", "nps-passive");
  s = Outcome(ActionsOf(e.enrollment_id(), 1)[0].action_id(), v1::ACTION_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(BadRequestField(s), "outcome");

  v1::ListEnrollmentsRequest list;
  v1::ListEnrollmentsResponse listed;
  s = playbooks_->ListEnrollments(Context().get(), list, &listed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  list.set_step_id("day_0");
  list.set_account_id("acme");
  s = playbooks_->ListEnrollments(Context().get(), list, &listed);
  EXPECT_EQ(BadRequestField(s), "step_id");

  // None of that enrolled anyone in onboarding.
  EXPECT_EQ(Latest("acme", "onboarding").enrollment_id(), "");

  // The wall-clock refusal is ClockService's: this server runs on a manual clock, so it moves.
  v1::AdvanceClockRequest advance;
  v1::AdvanceClockResponse advanced;
  s = time_->AdvanceClock(Context().get(), advance, &advanced);
  EXPECT_EQ(BadRequestField(s), "by");
}

TEST_P(PlaybookApiTest, PausedEnrolmentsWaitAndCancelledOnesStop) {
  Account("acme");
  const v1::Enrollment e = MustEnroll("acme", "onboarding");
  v1::PauseEnrollmentRequest pause;
  pause.set_enrollment_id(e.enrollment_id());
  v1::PauseEnrollmentResponse paused;
  ASSERT_TRUE(playbooks_->PauseEnrollment(Context().get(), pause, &paused).ok());
  EXPECT_EQ(paused.enrollment().state(), v1::ENROLLMENT_STATE_PAUSED);
  Advance(5 * kDay);
  EXPECT_TRUE(actions_->For(e.enrollment_id()).empty()) << "nothing runs while paused";

  v1::ResumeEnrollmentRequest resume;
  resume.set_enrollment_id(e.enrollment_id());
  v1::ResumeEnrollmentResponse resumed;
  ASSERT_TRUE(playbooks_->ResumeEnrollment(Context().get(), resume, &resumed).ok());
  // The steps whose time passed (days 1 and 3) run at once, in order.
  EXPECT_EQ(resumed.enrollment().state(), v1::ENROLLMENT_STATE_ACTIVE);
  std::vector<v1::PlaybookAction> caught_up = ActionsOf(e.enrollment_id(), 3);
  EXPECT_EQ(caught_up[0].step_id(), "day_1_welcome");
  EXPECT_EQ(caught_up[2].step_id(), "day_3_first_success");

  v1::CancelEnrollmentRequest cancel;
  cancel.set_enrollment_id(e.enrollment_id());
  cancel.set_reason("customer asked");
  v1::CancelEnrollmentResponse cancelled;
  ASSERT_TRUE(playbooks_->CancelEnrollment(Context().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.enrollment().state(), v1::ENROLLMENT_STATE_CANCELLED);
  ASSERT_EQ(cancelled.enrollment().pauses_size(), 1);
  EXPECT_EQ(cancelled.enrollment().pauses(0).resumed_time().seconds() -
                cancelled.enrollment().pauses(0).paused_time().seconds(),
            5 * 86400);
  v1::GetAccountTimelineRequest timeline_request;
  timeline_request.set_account_id("acme");
  v1::GetAccountTimelineResponse timeline;
  ASSERT_TRUE(playbooks_->GetAccountTimeline(Context().get(), timeline_request, &timeline).ok());
  std::vector<std::string> kinds;
  for (const v1::TimelineEntry& entry : timeline.entries()) {
    kinds.push_back(entry.kind() == v1::TIMELINE_ENTRY_KIND_STEP
                        ? entry.step().step_id()
                        : std::string(v1::TimelineEntryKind_Name(entry.kind())));
  }
  EXPECT_THAT(kinds, ElementsAre("TIMELINE_ENTRY_KIND_ENROLLED", "TIMELINE_ENTRY_KIND_PAUSED",
                                 "TIMELINE_ENTRY_KIND_RESUMED", "day_1_welcome", "day_1_tutorial",
                                 "day_3_first_success", "TIMELINE_ENTRY_KIND_ENDED"));
  Advance(40 * kDay);
  EXPECT_EQ(actions_->For(e.enrollment_id()).size(), 3u);
  grpc::Status s = playbooks_->PauseEnrollment(Context().get(), pause, &paused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Onboarding enrols an account once.
  v1::EnrollAccountResponse again;
  s = Enroll("acme", "onboarding", "again", &again);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
}

TEST_P(PlaybookApiTest, ReEnrolmentWaitsOutTheCooldown) {
  Account("acme");
  MustEnroll("acme", "nps-detractor");  // one call on day 0, then completed; cooldown 90 days
  v1::EnrollAccountResponse response;
  grpc::Status s = Enroll("acme", "nps-detractor", "second", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("90 days"));
  Advance(90 * kDay);
  s = Enroll("acme", "nps-detractor", "third", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.enrollment().enrollment_id(), "acme/nps-detractor/2");
}

TEST_P(PlaybookApiTest, CsToolsSeeWhoIsWhereTheTimelineAndTasks) {
  Account("a1");
  Account("a2");
  const v1::Enrollment e1 = MustEnroll("a1", "onboarding");
  MustEnroll("a2", "onboarding");
  Advance(5 * kDay);  // both past day 3, waiting for day 7's call
  v1::ListEnrollmentsRequest request;
  request.set_playbook_id("onboarding");
  request.set_step_id("day_7_check_in");
  request.set_page_size(1);
  v1::ListEnrollmentsResponse page;
  ASSERT_TRUE(playbooks_->ListEnrollments(Context().get(), request, &page).ok());
  ASSERT_EQ(page.enrollments_size(), 1);
  EXPECT_EQ(page.enrollments(0).account_id(), "a1");
  request.set_page_token(page.next_page_token());
  ASSERT_TRUE(playbooks_->ListEnrollments(Context().get(), request, &page).ok());
  ASSERT_EQ(page.enrollments_size(), 1);
  EXPECT_EQ(page.enrollments(0).account_id(), "a2");

  Advance(2 * kDay);  // day 7: the check-in call is handed to the CSM
  const std::vector<v1::PlaybookAction> actions = ActionsOf(e1.enrollment_id(), 4);
  ASSERT_EQ(actions[3].channel(), v1::CHANNEL_CALL);
  v1::CompleteActionRequest complete;
  complete.set_action_id(actions[3].action_id());
  v1::CompleteActionResponse completed;
  ASSERT_TRUE(playbooks_->CompleteAction(Context().get(), complete, &completed).ok());
  EXPECT_TRUE(completed.on_time());
  complete.set_action_id(actions[0].action_id());  // an email is not a task
  grpc::Status s = playbooks_->CompleteAction(Context().get(), complete, &completed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::GetAccountTimelineRequest timeline_request;
  timeline_request.set_account_id("a1");
  v1::GetAccountTimelineResponse timeline;
  ASSERT_TRUE(playbooks_->GetAccountTimeline(Context().get(), timeline_request, &timeline).ok());
  std::vector<std::string> kinds;
  for (const v1::TimelineEntry& entry : timeline.entries()) {
    if (entry.playbook_id() != "onboarding") continue;
    kinds.push_back(entry.kind() == v1::TIMELINE_ENTRY_KIND_STEP
                        ? entry.step().step_id()
                        : std::string(v1::TimelineEntryKind_Name(entry.kind())));
  }
  EXPECT_THAT(kinds, ElementsAre("TIMELINE_ENTRY_KIND_ENROLLED", "day_1_welcome", "day_1_tutorial",
                                 "day_3_first_success", "day_7_check_in", "TIMELINE_ENTRY_KIND_OUTCOME"));

  v1::GetPlaybookStatsRequest stats_request;
  stats_request.set_playbook_id("onboarding");
  v1::GetPlaybookStatsResponse stats;
  ASSERT_TRUE(playbooks_->GetPlaybookStats(Context().get(), stats_request, &stats).ok());
  EXPECT_EQ(stats.total().enrolled(), 2);
  EXPECT_EQ(stats.total().in_flight(), 2);
  EXPECT_EQ(stats.in_flight_by_step().at("day_14_results"), 2);
}

TEST_P(PlaybookApiTest, PreviewShowsDatedStepsWithoutEnrolling) {
  Account("acme");
  v1::PreviewPlaybookRequest request;
  request.set_account_id("acme");
  request.set_playbook_id("win-back");
  v1::PreviewPlaybookResponse preview;
  ASSERT_TRUE(playbooks_->PreviewPlaybook(Context().get(), request, &preview).ok());
  EXPECT_TRUE(preview.can_enroll());
  ASSERT_EQ(preview.steps_size(), 4);
  EXPECT_EQ(preview.steps(0).due_time().seconds(), absl::ToUnixSeconds(clock_.Now() + 30 * kDay));
  EXPECT_EQ(preview.steps(3).due_time().seconds(), absl::ToUnixSeconds(clock_.Now() + 60 * kDay));
  EXPECT_EQ(Latest("acme", "win-back").enrollment_id(), "");
}

TEST_P(PlaybookApiTest, InFlightEnrolmentsKeepTheirVersionWhenANewOneIsLoaded) {
  Account("early");
  Account("late");
  const v1::Enrollment early = MustEnroll("early", "nps-promoter");  // v1: referral ask day 0, case study 14
  EXPECT_EQ(early.playbook_version(), 1);
  Advance(kDay);
  std::vector<v1::Playbook> changed = Playbooks();
  v1::Playbook* promoter = nullptr;
  for (v1::Playbook& p : changed) {
    if (p.id() == "nps-promoter") promoter = &p;
  }
  ASSERT_NE(promoter, nullptr);
  promoter->set_version(2);
  promoter->mutable_steps(1)->set_id("testimonial_ask");
  promoter->mutable_steps(1)->mutable_delay()->set_days(7);
  ASSERT_TRUE(RestartServer(changed).ok());
  const v1::Enrollment late = MustEnroll("late", "nps-promoter");
  EXPECT_EQ(late.playbook_version(), 2);
  Advance(20 * kDay);

  auto steps_of = [&](const std::string& id) {
    std::vector<std::string> out;
    const v1::Enrollment e = Get(id);
    for (const v1::StepRun& run : e.steps()) {
      out.push_back(
          absl::StrCat(run.step_id(), "@", (run.run_time().seconds() - e.enrolled_time().seconds()) / 86400));
    }
    return out;
  };
  EXPECT_THAT(steps_of(early.enrollment_id()), ElementsAre("referral_ask@0", "case_study_ask@14"));
  EXPECT_THAT(steps_of(late.enrollment_id()), ElementsAre("referral_ask@0", "testimonial_ask@7"));
  v1::GetPlaybookRequest get;
  get.set_playbook_id("nps-promoter");
  get.set_version(1);
  v1::GetPlaybookResponse got;
  ASSERT_TRUE(playbooks_->GetPlaybook(Context().get(), get, &got).ok());
  EXPECT_EQ(got.playbook().steps(1).id(), "case_study_ask");

  // Changing a version in use without raising its number would change the course of enrolments in
  // flight: the server refuses to start.
  promoter->mutable_steps(1)->mutable_delay()->set_days(8);
  absl::Status refused = RestartServer(changed);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("raise `version`"));
}

// An A/B test with a holdout group: a playbook of the test's own.
class ExperimentApiTest : public PlaybookApiTest {
 protected:
  std::vector<v1::Playbook> Playbooks() override {
    std::vector<v1::Playbook> playbooks = PlaybookApiTest::Playbooks();
    v1::Playbook& ab = playbooks.emplace_back();
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(
          id: "upgrade-offer"
          version: 1
          display_name: "Upgrade offer"
          reenrollment { mode: REENROLLMENT_MODE_ALWAYS }
          exits { name: "upgraded" event_type: EVENT_TYPE_UPGRADE goal: true }
          holdout_percent: 20
          variants { id: "plain" weight: 1 }
          variants {
            id: "discount"
            weight: 1
            steps {
              id: "offer"
              delay { days: 0 }
              offer {
                offer_id: "upgrade-20off"
                discount_percent: 20
                duration_months: 3
                content_key: "upgrade.offer"
              }
            }
            steps {
              id: "reminder"
              delay { days: 30 }
              email { template_key: "upgrade.again" subject_key: "upgrade.s" }
            }
          }
          steps {
            id: "offer"
            delay { days: 0 }
            email { template_key: "upgrade.mail" subject_key: "upgrade.subject" }
          }
          steps {
            id: "reminder"
            delay { days: 30 }
            email { template_key: "upgrade.again" subject_key: "upgrade.s" }
          }
        )pb",
        &ab));
    EXPECT_TRUE(playbooks::ValidatePlaybook(ab, "upgrade-offer").ok());
    return playbooks;
  }
};

TEST_P(ExperimentApiTest, HoldoutAndVariantsAreAssignedByShareAndConversionIsComparedToTheHoldout) {
  constexpr int kAccounts = 300;
  std::map<std::string, int> arms;
  std::map<std::string, int> converted;
  std::vector<v1::Event> upgrades;
  for (int i = 0; i < kAccounts; ++i) {
    const std::string id = absl::StrCat("ab-", i);
    Account(id);
    const v1::Enrollment e = MustEnroll(id, "upgrade-offer");
    const std::string arm = e.held_out() ? "holdout" : e.variant_id();
    ++arms[arm];
    // The same enrolment asked again keeps its arm: assignment is by account.
    v1::PreviewPlaybookRequest preview;
    preview.set_account_id(id);
    preview.set_playbook_id("upgrade-offer");
    v1::PreviewPlaybookResponse previewed;
    ASSERT_TRUE(playbooks_->PreviewPlaybook(Context().get(), preview, &previewed).ok());
    EXPECT_EQ(previewed.held_out(), e.held_out());
    EXPECT_EQ(previewed.variant_id(), e.variant_id());
    if (i % 3 == 0) {
      upgrades.push_back(testing::MakeEvent(id, "upgrade", v1::EVENT_TYPE_UPGRADE, clock_.Now(), 100));
      ++converted[arm];
    }
    // Held out: counted, sent nothing.
    if (e.held_out()) {
      EXPECT_EQ(e.steps(0).result(), v1::STEP_RESULT_HELD_OUT);
      EXPECT_TRUE(e.steps(0).action_id().empty());
    } else {
      EXPECT_EQ(e.steps(0).result(), v1::STEP_RESULT_DELIVERED);
    }
  }
  // 20% held out: within 3 standard deviations of a binomial share over 300 accounts (±6.9 points).
  EXPECT_GE(arms["holdout"], 0.131 * kAccounts);
  EXPECT_LE(arms["holdout"], 0.269 * kAccounts);
  EXPECT_GT(arms["plain"], 0.25 * kAccounts);
  EXPECT_GT(arms["discount"], 0.25 * kAccounts);
  Record(upgrades);
  Advance(kDay);

  v1::GetPlaybookStatsRequest request;
  request.set_playbook_id("upgrade-offer");
  v1::GetPlaybookStatsResponse stats;
  ASSERT_TRUE(playbooks_->GetPlaybookStats(Context().get(), request, &stats).ok());
  EXPECT_EQ(stats.total().enrolled(), kAccounts);
  EXPECT_EQ(stats.total().goal_reached(), static_cast<int64_t>(upgrades.size()));
  ASSERT_EQ(stats.variants_size(), 3);
  EXPECT_EQ(stats.variants(2).variant_id(), "holdout");
  const double holdout_conversion = static_cast<double>(converted["holdout"]) / arms["holdout"];
  for (const v1::VariantStats& v : stats.variants()) {
    SCOPED_TRACE(v.variant_id());
    EXPECT_EQ(v.counts().enrolled(), arms[v.variant_id()]);
    EXPECT_EQ(v.counts().goal_reached(), converted[v.variant_id()]);
    EXPECT_EQ(v.counts().exited_by_reason().at("upgraded"), converted[v.variant_id()]);
    const double conversion = static_cast<double>(converted[v.variant_id()]) / arms[v.variant_id()];
    EXPECT_DOUBLE_EQ(v.counts().conversion(), conversion);
    if (v.variant_id() != "holdout") {
      EXPECT_DOUBLE_EQ(v.lift_over_holdout(), conversion - holdout_conversion);
    }
  }
}

// Caps: at most one customer-facing touch per account in any 7 days.
class CappedPlaybookApiTest : public PlaybookApiTest {
 protected:
  v1::PlaybookEngineConfig EngineConfig() override {
    v1::PlaybookEngineConfig config;
    v1::FrequencyCap* cap = config.add_frequency_caps();
    cap->set_max_touches(1);
    cap->set_window_days(7);
    return config;
  }
};

TEST_P(CappedPlaybookApiTest, AFrequencyCapDefersTouchesAcrossPlaybooksAndDropsNone) {
  Account("acme");
  const v1::Enrollment retention = MustEnroll("acme", "retention-offer");  // day 0 offer: the week's touch
  Advance(absl::Hours(1));
  const v1::Enrollment nps = MustEnroll("acme", "nps-passive");  // day 0 email: over the cap
  EXPECT_TRUE(actions_->For(nps.enrollment_id()).empty());
  Advance(30 * kDay);
  const absl::Time t0 = absl::FromUnixSeconds(retention.enrolled_time().seconds());
  // Each touch waits for the previous one to leave its 7-day window; the escalation task is internal
  // and is not held back.
  EXPECT_EQ(Describe(ActionsOf(nps.enrollment_id(), 1), t0),
            std::vector<std::string>{"tutorial@7:CHANNEL_EMAIL"});
  const std::vector<std::string> retention_actions = Describe(ActionsOf(retention.enrollment_id(), 4), t0);
  EXPECT_THAT(retention_actions,
              ElementsAre("day_0_offer@0:CHANNEL_OFFER", "day_1_retention_call@14:CHANNEL_CALL",
                          "day_3_escalation@16:CHANNEL_TASK", "day_3_improved_offer@21:CHANNEL_OFFER"));
  EXPECT_EQ(Get(retention.enrollment_id()).steps(1).deferrals(), 2);
}

INSTANTIATE_TEST_SUITE_P(Stores, PlaybookApiTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });
INSTANTIATE_TEST_SUITE_P(Stores, ExperimentApiTest, ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });
INSTANTIATE_TEST_SUITE_P(Stores, CappedPlaybookApiTest,
                         ::testing::Values(StoreKind::kMemory, StoreKind::kRedis),
                         [](const auto& param_info) { return testing::StoreKindName(param_info.param); });

}  // namespace
}  // namespace steward
