// Request ids and deadlines across a hop, over real gRPC on loopback: a caller calls a "front" service,
// whose handler (run on a worker pool, as every Steward handler is) calls a "peer" service through a
// ServiceClient. The peer must see the caller's request id and a deadline no later than the caller's;
// the front must answer under the same id. A caller without a usable id gets one made up, and it is that
// id which travels on.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_handler.h"
#include "common/request_context.h"
#include "common/thread_pool.h"
#include "gtest/gtest.h"
#include "services/scoring/scoring_client.h"
#include "steward/v1/scoring_service.grpc.pb.h"

namespace steward {
namespace {

// The peer: remembers the request id and the time left before the deadline of the last GetAccount.
class Peer final : public v1::ScoringService::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* context,
                                       const v1::GetAccountRequest* request,
                                       v1::GetAccountResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      auto it = context->client_metadata().find(kRequestIdHeader);
      request_id_ =
          it == context->client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
      time_left_ = absl::FromChrono(context->deadline()) - absl::Now();
    }
    response->mutable_account()->set_account_id(request->account_id());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::string request_id() {
    absl::MutexLock lock(&mu_);
    return request_id_;
  }
  absl::Duration time_left() {
    absl::MutexLock lock(&mu_);
    return time_left_;
  }

 private:
  absl::Mutex mu_;
  std::string request_id_ ABSL_GUARDED_BY(mu_);
  absl::Duration time_left_ ABSL_GUARDED_BY(mu_);
};

// The front: answers GetAccount by asking the peer, with a client deadline of 10 s of its own.
class Front final : public v1::ScoringService::CallbackService {
 public:
  explicit Front(const scoring::ScoringClient& peer) : peer_(peer) {}
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* context,
                                       const v1::GetAccountRequest* request,
                                       v1::GetAccountResponse* response) override {
    return HandleOnPool(context, pool_, response,
                        [this, request]() -> absl::StatusOr<v1::GetAccountResponse> {
                          auto account = peer_.GetAccount(request->account_id());
                          if (!account.ok()) return account.status();
                          v1::GetAccountResponse out;
                          *out.mutable_account() = *account;
                          return out;
                        });
  }

 private:
  const scoring::ScoringClient& peer_;
  ThreadPool pool_{2};
};

class RequestPropagationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_server_ = Serve(peer_, peer_port_);
    ASSERT_NE(peer_server_, nullptr);
    client_.Connect(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", peer_port_), grpc::InsecureChannelCredentials()));
    front_server_ = Serve(front_, front_port_);
    ASSERT_NE(front_server_, nullptr);
    front_stub_ = v1::ScoringService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", front_port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    front_server_->Shutdown();
    peer_server_->Shutdown();
  }

  static std::unique_ptr<grpc::Server> Serve(grpc::Service& service, int& port) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    return builder.BuildAndStart();
  }

  // Calls the front with `deadline`, and `request_id` unless empty; returns the id it answered under.
  std::string CallFront(absl::Duration deadline, const std::string& request_id) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    if (!request_id.empty()) context.AddMetadata(kRequestIdHeader, request_id);
    v1::GetAccountRequest request;
    request.set_account_id("acme");
    v1::GetAccountResponse response;
    grpc::Status status = front_stub_->GetAccount(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.account().account_id(), "acme");
    auto echoed = context.GetServerInitialMetadata().find(kRequestIdHeader);
    if (echoed == context.GetServerInitialMetadata().end()) return "";
    return std::string(echoed->second.data(), echoed->second.size());
  }

  Peer peer_;
  int peer_port_ = 0;
  std::unique_ptr<grpc::Server> peer_server_;
  scoring::ScoringClient client_{absl::Seconds(10)};
  Front front_{client_};
  int front_port_ = 0;
  std::unique_ptr<grpc::Server> front_server_;
  std::unique_ptr<v1::ScoringService::Stub> front_stub_;
};

TEST_F(RequestPropagationTest, TheCallersIdAndDeadlineTravelToThePeer) {
  EXPECT_EQ(CallFront(absl::Seconds(2), "crm-sync-4711"), "crm-sync-4711");
  EXPECT_EQ(peer_.request_id(), "crm-sync-4711");
  // The caller's 2 s, not the front's own 10 s (the peer reckons the deadline from its own receipt of
  // the call, so it may see a few milliseconds more).
  EXPECT_LE(peer_.time_left(), absl::Seconds(3));
  EXPECT_GT(peer_.time_left(), absl::ZeroDuration());
}

TEST_F(RequestPropagationTest, AClientDeadlineSoonerThanTheCallersWins) {
  CallFront(absl::Hours(1), "long-report");
  EXPECT_LE(peer_.time_left(), absl::Seconds(11));
  EXPECT_GT(peer_.time_left(), absl::Seconds(5));
}

TEST_F(RequestPropagationTest, ACallerWithoutAUsableIdGetsOneMadeUpAndItTravels) {
  for (const std::string& sent : {std::string(), std::string("two words"), std::string(200, 'x')}) {
    const std::string answered = CallFront(absl::Seconds(5), sent);
    EXPECT_EQ(answered.size(), 16u) << "sent '" << sent << "'";
    EXPECT_NE(answered, sent);
    EXPECT_EQ(peer_.request_id(), answered);
  }
}

TEST(RequestContextTest, ScopesNestAndRestore) {
  EXPECT_EQ(CurrentRequest(), nullptr);
  {
    ScopedRequest outer({"outer", std::nullopt});
    ASSERT_NE(CurrentRequest(), nullptr);
    EXPECT_EQ(CurrentRequest()->request_id, "outer");
    {
      ScopedRequest inner({"inner", absl::Now()});
      EXPECT_EQ(CurrentRequest()->request_id, "inner");
    }
    EXPECT_EQ(CurrentRequest()->request_id, "outer");
  }
  EXPECT_EQ(CurrentRequest(), nullptr);
  EXPECT_NE(NewRequestId(), NewRequestId());
  EXPECT_TRUE(IsUsableRequestId("a-Z_0.9:/"));
  EXPECT_FALSE(IsUsableRequestId("quote\"d"));
  EXPECT_FALSE(IsUsableRequestId(""));
}

}  // namespace
}  // namespace steward
