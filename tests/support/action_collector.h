#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "steward/v1/playbook_service.grpc.pb.h"

namespace steward::testing {

// A CS tool watching actions: it keeps one WatchActions stream open to `target` ("HOST:PORT") and
// collects every action handed off, from the start of the kept action stream (cursor "0-0") so that
// nothing handed off before the stream opened is missed. When the stream ends because the server went away (a
// killed process), it reconnects and resumes after the last action it saw (WatchActionsRequest.after), as a
// real consumer would. Actions are kept as received: a step retried after a crash may show twice, with
// the same action id.
class ActionCollector {
 public:
  explicit ActionCollector(std::string target, v1::WatchActionsRequest request = {})
      : target_(std::move(target)), request_(std::move(request)) {
    thread_ = std::thread([this] { Watch(); });
  }
  ~ActionCollector() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    thread_.join();
  }

  std::vector<v1::PlaybookAction> All() {
    absl::MutexLock lock(&mu_);
    return actions_;
  }
  std::vector<v1::PlaybookAction> For(const std::string& enrollment_id) {
    std::vector<v1::PlaybookAction> out;
    for (v1::PlaybookAction& a : All()) {
      if (a.enrollment_id() == enrollment_id) out.push_back(std::move(a));
    }
    return out;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return actions_.size();
  }
  // How many times the stream was opened (1 + reconnections).
  int connections() {
    absl::MutexLock lock(&mu_);
    return connections_;
  }

 private:
  void Watch() {
    auto stub =
        v1::PlaybookService::NewStub(grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
    for (;;) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
      v1::WatchActionsRequest request;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        request = request_;
        request.set_after(actions_.empty() ? "0-0" : actions_.back().cursor());
        context_ = &context;
        ++connections_;
      }
      auto reader = stub->WatchActions(&context, request);
      v1::WatchActionsResponse message;
      while (reader->Read(&message)) {
        absl::MutexLock lock(&mu_);
        actions_.push_back(message.action());
      }
      (void)reader->Finish();
      {
        absl::MutexLock lock(&mu_);
        context_ = nullptr;
        if (stopping_) return;
      }
      absl::SleepFor(absl::Milliseconds(20));  // the server is restarting
    }
  }

  const std::string target_;
  const v1::WatchActionsRequest request_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::PlaybookAction> actions_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace steward::testing
