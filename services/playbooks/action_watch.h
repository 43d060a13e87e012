#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/store/store.h"
#include "steward/v1/playbook_service.pb.h"

namespace steward::playbooks {

// Serves WatchActions: each open stream follows the action stream (a store log) from its own cursor and
// gets the actions that pass its filters, one message each, in order. One background thread polls the
// log for every idle stream; writes go out through gRPC's callback API, so no gRPC thread ever blocks on
// the store. Shutdown ends every stream with UNAVAILABLE ("reconnect with your last cursor").
class ActionWatchHub {
 public:
  ActionWatchHub(Store& store, absl::Duration poll_interval);
  ~ActionWatchHub() { Shutdown(); }

  // A reactor for one WatchActions call. INVALID_ARGUMENT (finished at once) for a bad cursor.
  grpc::ServerWriteReactor<v1::WatchActionsResponse>* Watch(grpc::CallbackServerContext* context,
                                                            const v1::WatchActionsRequest* request);
  // Ends every stream and stops polling. Idempotent.
  void Shutdown();

 private:
  class Watcher;
  void Run();
  void Remove(Watcher* watcher);
  // Reads and sends what is waiting for one idle stream; false when it has nothing more now.
  bool Serve(Watcher& watcher);

  Store& store_;
  const absl::Duration poll_interval_;
  absl::Mutex mu_;
  std::vector<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace steward::playbooks
