// The closed loop, end to end, in production shape: scoring, segmentation, upsell and playbooks as four
// `steward` processes on one real redis-server, talking gRPC over loopback, on one manual clock held in
// Redis. Events go in only through RecordEvents and time moves only through ClockService.AdvanceClock;
// everything else — scores moving, segments changing, playbooks enrolling, actions appearing on
// WatchActions, exits, upsell opportunities — the services do to each other, and the test only
// watches through public RPCs.
//
// The story (issue #6): an enterprise account's logins stop; its health falls a band and it enters the
// high-value/high-risk quadrant; after 14 days under half its usual engagement the re-engagement
// playbook enrols it, and its day-14, -16 and -18 actions appear as the clock advances; it logs in again
// and the enrolment ends as re-engaged. Another account reaches 85% of a plan limit and gets an upsell
// opportunity. The second test tells the same story while each service process in turn is killed
// (SIGKILL) and restarted mid-story: nothing is lost and, by action id, nothing is delivered twice.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "steward/v1/clock_service.grpc.pb.h"
#include "steward/v1/playbook_service.grpc.pb.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "steward/v1/segmentation_service.grpc.pb.h"
#include "steward/v1/upsell_service.grpc.pb.h"
#include "tests/support/action_collector.h"
#include "tests/support/api_test_support.h"
#include "tests/support/child_process.h"
#include "tests/support/healthy_account.h"
#include "tests/support/redis_server.h"

namespace steward {
namespace {

using ::testing::ElementsAre;
using testing::Eventually;
using testing::SourceDir;

constexpr char kStart[] = "2026-01-05T09:00:00Z";  // a Monday
constexpr absl::Duration kDay = absl::Hours(24);

// A call that waits for its server to be reachable (a process being restarted) within its deadline.
std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration deadline = absl::Seconds(20)) {
  auto context = testing::Context(deadline);
  context->set_wait_for_ready(true);
  return context;
}

// The four services, each its own process, and their clients.
class Services {
 public:
  enum Role { kScoring, kSegmentation, kUpsell, kPlaybooks };
  // In dependency order: upsell hands its opportunities over to playbooks.
  static constexpr Role kRoles[] = {kScoring, kSegmentation, kPlaybooks, kUpsell};

  explicit Services(int redis_port) : redis_port_(redis_port) {}

  // Starts every service in dependency order; fails the test if one does not come up.
  void StartAll() {
    for (Role role : kRoles) Start(role);
  }

  // Starts (or restarts) one service on its earlier port, if it had one.
  void Start(Role role) {
    std::vector<std::string> args = {absl::StrCat("--listen=127.0.0.1:", ports_[role]),
                                     absl::StrCat("--store=redis://127.0.0.1:", redis_port_, "/0"),
                                     "--manual_clock",
                                     absl::StrCat("--manual_clock_start=", kStart),
                                     "--refresh_interval=0s",
                                     "--segment_poll_interval=20ms",
                                     absl::StrCat("--config_dir=", SourceDir(), "/config"),
                                     absl::StrCat("--playbooks_dir=", SourceDir(), "/playbooks")};
    const std::string scoring = absl::StrCat("--scoring_address=127.0.0.1:", ports_[kScoring]);
    const std::string segmentation = absl::StrCat("--segmentation_address=127.0.0.1:", ports_[kSegmentation]);
    switch (role) {
      case kScoring:
        args.push_back("--services=scoring");
        break;
      case kSegmentation:
        args.insert(args.end(), {"--services=segmentation", scoring});
        break;
      case kUpsell:
        args.insert(args.end(), {"--services=upsell", scoring, segmentation,
                                 absl::StrCat("--playbooks_address=127.0.0.1:", ports_[kPlaybooks])});
        break;
      case kPlaybooks:
        args.insert(args.end(), {"--services=playbooks", scoring, segmentation});
        break;
    }
    int port = 0;
    auto child = testing::StartSteward(args, port);
    ASSERT_TRUE(child.ok()) << child.status();
    processes_[role] = *std::move(child);
    if (ports_[role] == 0) {
      ports_[role] = port;
      channels_[role] =
          grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    }
    ASSERT_EQ(port, ports_[role]);
  }

  // SIGKILL: no drain, no goodbye, as when a node dies.
  void Kill(Role role) {
    auto stopped = processes_[role]->Stop(SIGKILL, absl::Seconds(10));
    ASSERT_TRUE(stopped.ok()) << stopped.status();
    absl::StrAppend(&past_logs_, processes_[role]->Output());  // what it did before it died still counts
  }

  std::unique_ptr<v1::ScoringService::Stub> Scoring() const {
    return v1::ScoringService::NewStub(channels_[kScoring]);
  }
  std::unique_ptr<v1::SegmentationService::Stub> Segmentation() const {
    return v1::SegmentationService::NewStub(channels_[kSegmentation]);
  }
  std::unique_ptr<v1::UpsellService::Stub> Upsell() const {
    return v1::UpsellService::NewStub(channels_[kUpsell]);
  }
  std::unique_ptr<v1::PlaybookService::Stub> Playbooks() const {
    return v1::PlaybookService::NewStub(channels_[kPlaybooks]);
  }
  // The clock is one for all (it lives in Redis); it is moved through the playbooks process so that
  // due steps run at their own times on the way.
  std::unique_ptr<v1::ClockService::Stub> Clock() const {
    return v1::ClockService::NewStub(channels_[kPlaybooks]);
  }
  std::string PlaybooksTarget() const { return absl::StrCat("127.0.0.1:", ports_[kPlaybooks]); }

  // Everything every process wrote, including processes killed earlier.
  std::string Logs() const {
    std::string out = past_logs_;
    for (const auto& p : processes_) {
      if (p != nullptr) absl::StrAppend(&out, p->Output());
    }
    return out;
  }

 private:
  const int redis_port_;
  std::unique_ptr<testing::ChildProcess> processes_[4];
  int ports_[4] = {0, 0, 0, 0};
  std::shared_ptr<grpc::Channel> channels_[4];
  std::string past_logs_;
};

class ClosedLoopStoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.Start().ok());
    services_ = std::make_unique<Services>(redis_.port());
    services_->StartAll();
    v1::WatchActionsRequest watch;
    watch.add_playbook_ids("re-engagement");
    watch.add_playbook_ids("upsell-offer");
    actions_ = std::make_unique<testing::ActionCollector>(services_->PlaybooksTarget(), watch);
  }
  void TearDown() override { actions_.reset(); }

  absl::Time Now() {
    v1::GetTimeResponse response;
    grpc::Status s = services_->Clock()->GetTime(Ctx().get(), v1::GetTimeRequest(), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return absl::FromUnixSeconds(response.now().seconds()) + absl::Nanoseconds(response.now().nanos());
  }

  void Advance(absl::Duration by) {
    v1::AdvanceClockRequest request;
    request.mutable_by()->set_seconds(absl::ToInt64Seconds(by));
    v1::AdvanceClockResponse response;
    grpc::Status s = services_->Clock()->AdvanceClock(Ctx(absl::Seconds(60)).get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message() << services_->Logs();
  }

  void Upsert(const v1::Account& account) {
    v1::UpsertAccountRequest request;
    *request.mutable_account() = account;
    v1::UpsertAccountResponse response;
    grpc::Status s = services_->Scoring()->UpsertAccount(Ctx().get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // Records `events`; with a `request_id`, sends it as the call's "x-request-id" and checks that the
  // server answers under it.
  void Record(const std::vector<v1::Event>& events, const std::string& request_id = "") {
    v1::RecordEventsRequest request;
    for (const v1::Event& e : events) *request.add_events() = e;
    v1::RecordEventsResponse response;
    auto context = Ctx();
    if (!request_id.empty()) context->AddMetadata("x-request-id", request_id);
    grpc::Status s = services_->Scoring()->RecordEvents(context.get(), request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    if (request_id.empty()) return;
    auto echoed = context->GetServerInitialMetadata().find("x-request-id");
    ASSERT_NE(echoed, context->GetServerInitialMetadata().end());
    EXPECT_EQ(std::string(echoed->second.data(), echoed->second.size()), request_id);
  }

  v1::Scores Scores(const std::string& account) {
    v1::GetScoresRequest request;
    request.set_account_id(account);
    v1::GetScoresResponse response;
    grpc::Status s = services_->Scoring()->GetScores(Ctx().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.scores();
  }

  static double Feature(const v1::Scores& scores, const std::string& name) {
    for (const v1::FeatureValue& f : scores.features()) {
      if (f.name() == name) return f.value();
    }
    return -1;
  }

  bool InSegment(const std::string& account, const std::string& segment_id) {
    v1::GetAccountSegmentsRequest request;
    request.set_account_id(account);
    v1::GetAccountSegmentsResponse response;
    if (!services_->Segmentation()->GetAccountSegments(Ctx().get(), request, &response).ok()) return false;
    for (const v1::SegmentAssignment& a : response.assignments()) {
      if (a.segment_id() == segment_id) return true;
    }
    return false;
  }

  // The account's latest enrolment in `playbook`, or an empty one.
  v1::Enrollment Latest(const std::string& account, const std::string& playbook) {
    v1::ListEnrollmentsRequest request;
    request.set_account_id(account);
    v1::ListEnrollmentsResponse response;
    grpc::Status s = services_->Playbooks()->ListEnrollments(Ctx().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const v1::Enrollment& e : response.enrollments()) {
      if (e.playbook_id() == playbook) return e;  // latest first within a playbook
    }
    return v1::Enrollment();
  }

  // The re-engagement actions seen on WatchActions for `enrollment_id`, one per action id (what an
  // idempotent consumer keeps), as "step@day:channel" with days counted from `from`.
  std::vector<std::string> ActionsOf(const std::string& enrollment_id, absl::Time from) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const v1::PlaybookAction& a : actions_->For(enrollment_id)) {
      if (!seen.insert(a.action_id()).second) continue;
      const absl::Duration offset = absl::FromUnixSeconds(a.created_time().seconds()) - from;
      out.push_back(absl::StrCat(a.step_id(), "@", absl::ToDoubleHours(offset) / 24, ":",
                                 v1::Channel_Name(a.channel())));
    }
    return out;
  }

  // Tells the whole story; before day `d`'s events, kills and restarts the processes `kills[d]` names
  // (day 0: right after the plan limit is reached).
  void TellTheStory(const std::multimap<int, Services::Role>& kills = {}) {
    const absl::Time start = Now();
    // Two enterprise customers with the same healthy past: "drifting" stays away, "returning" comes
    // back after the re-engagement playbook's second action.
    for (const std::string id : {"drifting", "returning"}) {
      v1::Account account = testing::HealthyAccount(id, start, 6000);
      *account.mutable_start_time() = testing::At(start - 400 * kDay);
      Upsert(account);
      Record(HealthyHistory(id, start));
    }
    // A third customer, signed up today; its usage comes later. (Created now, so that the upsert's change
    // is long handled when the usage arrives, and what upsell does about the usage is logged under the
    // usage's request id.)
    Upsert(testing::HealthyAccount("busy", start, 1000));
    const v1::Scores before = Scores("drifting");
    ASSERT_EQ(before.health().band(), "good") << before.health().DebugString();
    ASSERT_TRUE(Eventually([&] { return InSegment("drifting", "quadrant/high-value-low-risk"); }));

    // The logins stop; the accounts still use one feature a day. Each day: what the services made of
    // it, through their public RPCs.
    absl::Time dropped_below_half;  // when engagement first fell under half its usual level
    int band_fell_on = 0;
    int high_risk_on = 0;
    int enrolled_on = 0;
    bool returned = false;
    for (int day = 1; day <= 38; ++day) {
      Advance(kDay);
      for (auto [it, end] = kills.equal_range(day); it != end; ++it) {
        services_->Kill(it->second);
        services_->Start(it->second);
      }
      std::vector<v1::Event> quiet;
      for (const std::string id : {"drifting", "returning"}) {
        quiet.push_back(testing::MakeEvent(id, absl::StrCat("quiet-use-", day), v1::EVENT_TYPE_FEATURE_USED,
                                           Now() - absl::Hours(1), 0, "feature-1"));
      }
      Record(quiet);
      const v1::Scores scores = Scores("drifting");
      if (dropped_below_half == absl::Time() && Feature(scores, "login_frequency_ratio") < 0.5) {
        dropped_below_half = Now();
      }
      if (band_fell_on == 0 && scores.health().band() != before.health().band()) band_fell_on = day;
      if (high_risk_on == 0 && scores.churn().probability() >= 0.4) {
        high_risk_on = day;
        // The segmentation process follows the change and moves the account to the risky quadrant.
        EXPECT_TRUE(Eventually([&] { return InSegment("drifting", "quadrant/high-value-high-risk"); }))
            << services_->Logs();
      }
      if (enrolled_on == 0 && Latest("drifting", "re-engagement").enrollment_id() != "") enrolled_on = day;
      if (!returned && Latest("returning", "re-engagement").steps_size() == 2) {
        // The in-app offer worked: 40 logins over the last two days.
        std::vector<v1::Event> logins;
        for (int i = 0; i < 40; ++i) {
          logins.push_back(testing::MakeEvent("returning", absl::StrCat("back-", i), v1::EVENT_TYPE_LOGIN,
                                              Now() - absl::Hours(i)));
        }
        Record(logins);
        returned = true;
      }
    }
    ASSERT_NE(dropped_below_half, absl::Time());
    EXPECT_GT(band_fell_on, 0) << "health falls a band";
    EXPECT_GT(high_risk_on, 0) << "churn probability reaches the high-risk quadrant";
    EXPECT_EQ(Scores("drifting").health().band(), "critical");

    // Fourteen days under half its usual engagement: the playbooks process enrolled it by itself, and
    // SPEC's day offsets count from the day engagement dropped.
    const v1::Enrollment drifting = Latest("drifting", "re-engagement");
    EXPECT_EQ(drifting.source(), v1::ENROLLMENT_SOURCE_TRIGGER);
    EXPECT_EQ(absl::FromUnixSeconds(drifting.enrolled_time().seconds()), dropped_below_half);
    EXPECT_EQ(start + enrolled_on * kDay, dropped_below_half + 14 * kDay);
    EXPECT_TRUE(Eventually([&] { return ActionsOf(drifting.enrollment_id(), start).size() >= 3; }));
    EXPECT_THAT(ActionsOf(drifting.enrollment_id(), dropped_below_half),
                ElementsAre("day_14_we_miss_you@14:CHANNEL_EMAIL", "day_16_premium_trial@16:CHANNEL_IN_APP",
                            "day_18_outreach@18:CHANNEL_CALL"));
    EXPECT_EQ(drifting.state(), v1::ENROLLMENT_STATE_COMPLETED) << drifting.DebugString();

    // The customer who came back left the playbook re-engaged, before the outreach call.
    ASSERT_TRUE(returned) << services_->Logs();
    const v1::Enrollment back = Latest("returning", "re-engagement");
    EXPECT_EQ(back.state(), v1::ENROLLMENT_STATE_EXITED);
    EXPECT_EQ(back.exit_reason(), "re_engaged");
    EXPECT_TRUE(back.goal_reached());
    EXPECT_TRUE(Eventually([&] { return ActionsOf(back.enrollment_id(), start).size() >= 2; }));
    EXPECT_THAT(ActionsOf(back.enrollment_id(), dropped_below_half),
                ElementsAre("day_14_we_miss_you@14:CHANNEL_EMAIL", "day_16_premium_trial@16:CHANNEL_IN_APP"));

    // Another account reaches 85% of its plan's API calls: upsell opens an opportunity on its own.
    std::vector<v1::Event> usage = testing::HealthyMonth("busy", Now());
    usage.push_back(testing::MakeEvent("busy", "api", v1::EVENT_TYPE_LIMIT_USAGE, Now(), 850, "api_calls"));
    Record(usage, "crm-sync-4711");
    for (auto [it, end] = kills.equal_range(0); it != end; ++it) {
      services_->Kill(it->second);
      services_->Start(it->second);
    }
    v1::ListOpportunitiesRequest list;
    list.set_account_id("busy");
    list.set_trigger_id("limit");
    v1::ListOpportunitiesResponse listed;
    ASSERT_TRUE(Eventually([&] {
      return services_->Upsell()->ListOpportunities(Ctx().get(), list, &listed).ok() &&
             listed.opportunities_size() == 1;
    })) << services_->Logs();
    EXPECT_EQ(listed.opportunities(0).state(), v1::OPPORTUNITY_STATE_OPEN);
    EXPECT_EQ(listed.opportunities(0).trigger().offer().target_plan(), "pro");
    // Upsell hands the opportunity over to the playbook service: the account is enrolled in the upsell
    // offer, with the opportunity in the enrolment's context, and the day-0 offer carries it.
    const std::string opportunity_id = listed.opportunities(0).opportunity_id();
    v1::Enrollment offer;
    EXPECT_TRUE(Eventually([&] {
      offer = Latest("busy", "upsell-offer");
      return !offer.enrollment_id().empty();
    })) << services_->Logs();
    EXPECT_EQ(offer.request_id(), "upsell:" + opportunity_id);
    EXPECT_EQ(offer.context().at("opportunity_id"), opportunity_id);
    EXPECT_EQ(offer.context().at("target_plan"), "pro");
    EXPECT_TRUE(Eventually([&] { return !actions_->For(offer.enrollment_id()).empty(); }));
    const v1::PlaybookAction offered = actions_->For(offer.enrollment_id()).front();
    EXPECT_EQ(offered.step_id(), "day_0_offer");
    EXPECT_EQ(offered.context().at("opportunity_id"), opportunity_id);
    EXPECT_EQ(offered.context().at("trigger_id"), "limit");

    // The caller's request id went with the events into the change feed, and the processes that acted
    // on them logged what they did under that id: upsell the opportunity it opened, playbooks the
    // NPS follow-up it enrolled the account in (busy's history ends with a promoter's answer).
    auto logged = [&](const std::string& event, const std::string& detail) {
      return Eventually([&] {
        for (absl::string_view line : absl::StrSplit(services_->Logs(), '\n')) {
          if (absl::StrContains(line, absl::StrCat("\"event\":\"", event, "\"")) &&
              absl::StrContains(line, "\"request_id\":\"crm-sync-4711\"") &&
              absl::StrContains(line, detail)) {
            return true;
          }
        }
        return false;
      });
    };
    EXPECT_TRUE(logged("upsell_opportunity_opened", listed.opportunities(0).opportunity_id()))
        << services_->Logs();
    EXPECT_TRUE(logged("playbook_enrolled", "busy/nps-promoter/")) << services_->Logs();

    // Nothing more for either: five quiet days later, the same five actions.
    Advance(5 * kDay);
    EXPECT_EQ(
        ActionsOf(drifting.enrollment_id(), start).size() + ActionsOf(back.enrollment_id(), start).size(),
        5u);
  }

  // The 60 days before `now` of an enterprise customer worth 6,000 a month: two logins a day, daily use
  // of 9 of its 10 features, engaged emails, 8 of 10 seats active, a passive NPS and a satisfied CSAT.
  static std::vector<v1::Event> HealthyHistory(const std::string& id, absl::Time now) {
    std::vector<v1::Event> events = testing::HealthyMonth(id, now);
    for (v1::Event& e : testing::HealthyMonth(id, now - 30 * kDay)) {
      e.set_event_id(absl::StrCat("earlier-", e.event_id()));
      events.push_back(std::move(e));
    }
    return events;
  }

  testing::RedisServer redis_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<testing::ActionCollector> actions_;
};

TEST_F(ClosedLoopStoryTest, UsageDropsAPlaybookReactsTheCustomerReturnsAnotherGetsAnUpsell) {
  TellTheStory();
  EXPECT_EQ(actions_->connections(), 1);
}

// Each service process is killed (SIGKILL) once, at a moment it has work in hand, and restarted on the
// same port: scoring while the account drifts, segmentation as the account turns risky, playbooks
// between the day-14 and day-16 actions (and its action stream with it), upsell just after the limit
// is reached. The story ends the same.
TEST_F(ClosedLoopStoryTest, KillingAnyServiceMidStoryLosesNothingAndDuplicatesNothing) {
  TellTheStory({{5, Services::kScoring},
                {27, Services::kSegmentation},
                {34, Services::kPlaybooks},
                {0, Services::kUpsell}});
  EXPECT_GE(actions_->connections(), 2) << "the watcher resumed after the playbooks process died";
}

}  // namespace
}  // namespace steward
