// Graceful shutdown of the server: a call in flight when Shutdown starts finishes normally if it can
// within the grace period, and Shutdown never waits longer than that period for one that cannot.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "server/steward_server.h"
#include "services/scoring/model/model_config.h"
#include "steward/v1/scoring_service.grpc.pb.h"
#include "tests/support/forwarding_store.h"

namespace steward {
namespace {

// A MemoryStore whose Get blocks once armed, until released: a store round trip that is slow.
class SlowStore final : public testing::ForwardingStore {
 public:
  absl::Notification entered;  // a Get is blocked
  absl::Notification release;  // let it go on

  void Arm() { armed_ = true; }

  absl::StatusOr<std::vector<std::optional<Record>>> Get(absl::Span<const std::string> keys) override {
    Block();
    return ForwardingStore::Get(keys);
  }
  absl::StatusOr<std::vector<std::optional<Record>>> GetAndTrack(
      absl::Span<const std::string> keys) override {
    Block();
    return ForwardingStore::GetAndTrack(keys);
  }
  // Never answers locally, so every GetScores reaches the (slow) store.
  std::optional<std::vector<Record>> TryGetLocal(absl::Span<const std::string>) override {
    return std::nullopt;
  }

 private:
  void Block() {
    if (!armed_.exchange(false)) return;
    entered.Notify();
    release.WaitForNotification();
  }
  std::atomic<bool> armed_ = false;
};

class ServerShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = scoring::LoadModelDirectory(absl::StrCat(std::getenv("STEWARD_SOURCE_DIR"), "/config"));
    ASSERT_TRUE(models.ok()) << models.status();
    auto server = StewardServer::Start(ServerConfig{}, store_, clock_, *std::move(models));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::ScoringService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
    v1::UpsertAccountRequest upsert;
    upsert.mutable_account()->set_account_id("a1");
    v1::UpsertAccountResponse upserted;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->UpsertAccount(&context, upsert, &upserted).ok());
  }

  // Starts a GetScores that blocks in the store, and returns once it is in flight there.
  std::thread StartSlowCall(grpc::Status& status) {
    store_.Arm();
    std::thread call([this, &status] {
      v1::GetScoresRequest request;
      request.set_account_id("a1");
      v1::GetScoresResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      status = stub_->GetScores(&context, request, &response);
    });
    store_.entered.WaitForNotification();
    return call;
  }

  SlowStore store_;
  FakeClock clock_{absl::FromUnixSeconds(1'795'000'000)};
  std::unique_ptr<StewardServer> server_;
  std::unique_ptr<v1::ScoringService::Stub> stub_;
};

TEST_F(ServerShutdownTest, ACallInFlightFinishesWithinTheGracePeriod) {
  grpc::Status status;
  std::thread call = StartSlowCall(status);
  std::thread shutdown([this] { server_->Shutdown(absl::Seconds(20)); });
  // Shutdown is draining; the store now answers, and the call completes normally.
  store_.release.Notify();
  call.join();
  shutdown.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ServerShutdownTest, ShutdownDoesNotWaitPastTheGracePeriod) {
  grpc::Status status;
  std::thread call = StartSlowCall(status);
  const absl::Time start = absl::Now();
  std::thread shutdown([this] { server_->Shutdown(absl::Milliseconds(200)); });
  // The store stays stuck: once the grace period is over the call is cancelled and its client gets
  // an error, long before the call's own 30 s deadline.
  call.join();
  EXPECT_FALSE(status.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  // Only then does the store answer; Shutdown returns once the worker has let go of the call.
  store_.release.Notify();
  shutdown.join();
}

}  // namespace
}  // namespace steward
