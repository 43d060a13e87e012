#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/thread_pool.h"
#include "steward/v1/clock_service.grpc.pb.h"

namespace steward {

// ClockService (clock_service.proto): reads the server's clock, and moves it when the server runs on a
// manual clock (--manual_clock). `advance` moves it by a duration, running what falls due on the way,
// and returns how many playbook steps it ran.
class ClockServiceImpl final : public v1::ClockService::CallbackService {
 public:
  using Advance = std::function<absl::StatusOr<int64_t>(absl::Duration)>;
  ClockServiceImpl(const Clock& clock, bool manual, Advance advance, ThreadPool& pool)
      : clock_(clock), manual_(manual), advance_(std::move(advance)), pool_(pool) {}

  grpc::ServerUnaryReactor* GetTime(grpc::CallbackServerContext* context, const v1::GetTimeRequest* request,
                                    v1::GetTimeResponse* response) override;
  grpc::ServerUnaryReactor* AdvanceClock(grpc::CallbackServerContext* context,
                                         const v1::AdvanceClockRequest* request,
                                         v1::AdvanceClockResponse* response) override;

 private:
  const Clock& clock_;
  const bool manual_;
  const Advance advance_;
  ThreadPool& pool_;
};

}  // namespace steward
