#include "services/playbooks/action_watch.h"

#include <algorithm>

#include "absl/algorithm/container.h"
#include "common/logging.h"
#include "services/playbooks/engine/enrollment_keys.h"

namespace steward::playbooks {
namespace {

constexpr int kReadBatch = 100;
// How long Shutdown waits for streams with a write in flight.
constexpr absl::Duration kShutdownWait = absl::Seconds(2);

}  // namespace

// One stream. The hub thread reads the log and starts writes while the stream is idle; gRPC's
// OnWriteDone sends whatever else is queued. Finish is called once, never with a write in flight: by
// OnCancel or OnWriteDone when the client goes, or by the hub when it stops. gRPC then calls OnDone,
// which unregisters and deletes the watcher.
class ActionWatchHub::Watcher final : public grpc::ServerWriteReactor<v1::WatchActionsResponse> {
 public:
  Watcher(ActionWatchHub& hub, const v1::WatchActionsRequest& request, std::string cursor)
      : hub_(hub), request_(request), cursor_(std::move(cursor)) {}

  bool Wants(const v1::PlaybookAction& action) const {
    if (!request_.channels().empty() &&
        !absl::c_linear_search(request_.channels(), static_cast<int>(action.channel()))) {
      return false;
    }
    if (!request_.playbook_ids().empty() &&
        !absl::c_linear_search(request_.playbook_ids(), action.playbook_id())) {
      return false;
    }
    if (!request_.assignee_roles().empty() &&
        !absl::c_linear_search(request_.assignee_roles(), action.assignee_role())) {
      return false;
    }
    return true;
  }

  // Hub thread: whether the hub may read for this stream now.
  bool Idle() {
    absl::MutexLock lock(&mu_);
    return !writing_ && queue_.empty() && !finished_;
  }
  std::string cursor() {
    absl::MutexLock lock(&mu_);
    return cursor_;
  }
  // Hub thread: queues the actions read up to `cursor` and starts sending.
  void Send(std::vector<v1::WatchActionsResponse> messages, std::string cursor) {
    absl::MutexLock lock(&mu_);
    cursor_ = std::move(cursor);
    for (auto& m : messages) queue_.push_back(std::move(m));
    StartNextLocked();
  }
  // Hub thread: ends the stream when the hub stops (once no write is in flight). Returns whether it
  // has ended.
  bool MaybeFinish(bool stopping) {
    absl::MutexLock lock(&mu_);
    if (stopping && !writing_) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "server shutting down; reconnect with your last cursor"));
    }
    return finished_;
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) broken_ = true;
    if (broken_ || cancelled_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream ended by the client"));
      return;
    }
    StartNextLocked();
  }
  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
  }
  void OnDone() override {
    hub_.Remove(this);
    delete this;
  }

 private:
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    Finish(status);
  }

  void StartNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || queue_.empty() || finished_) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  ActionWatchHub& hub_;
  const v1::WatchActionsRequest request_;
  absl::Mutex mu_;
  std::string cursor_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::WatchActionsResponse> queue_ ABSL_GUARDED_BY(mu_);
  v1::WatchActionsResponse current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

ActionWatchHub::ActionWatchHub(Store& store, absl::Duration poll_interval)
    : store_(store), poll_interval_(poll_interval) {
  thread_ = std::thread([this] { Run(); });
}

void ActionWatchHub::Remove(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), watcher), watchers_.end());
}

grpc::ServerWriteReactor<v1::WatchActionsResponse>* ActionWatchHub::Watch(
    grpc::CallbackServerContext* context, const v1::WatchActionsRequest* request) {
  std::string cursor = request->after();
  grpc::Status refused;
  if (!cursor.empty() && !IsLogEntryId(cursor)) {
    refused =
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "after: is not a cursor from a PlaybookAction");
  } else if (cursor.empty()) {
    // From now on: after the newest action already in the stream.
    auto last = store_.LogLastId(std::string(kActionLogName));
    if (!last.ok()) {
      refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(last.status().message()));
    } else {
      cursor = last->empty() ? "0-0" : *last;
    }
  }
  auto* watcher = new Watcher(*this, *request, cursor);
  absl::MutexLock lock(&mu_);
  if (refused.ok() && stopping_) {
    refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down");
  }
  if (!refused.ok()) {
    // Not registered: OnDone's Remove finds nothing.
    watcher->Finish(refused);
    return watcher;
  }
  watchers_.push_back(watcher);
  (void)context;
  return watcher;
}

bool ActionWatchHub::Serve(Watcher& watcher) {
  auto entries = store_.LogRead(std::string(kActionLogName), watcher.cursor(), kReadBatch);
  if (!entries.ok()) {
    Log(LogLevel::kWarning, "watch_actions_read_failed", {{"error", entries.status().ToString()}});
    return false;
  }
  if (entries->empty()) return false;
  std::vector<v1::WatchActionsResponse> messages;
  for (const LogEntry& entry : *entries) {
    v1::WatchActionsResponse message;
    if (!message.mutable_action()->ParseFromString(entry.bytes) || !watcher.Wants(message.action())) continue;
    message.mutable_action()->set_cursor(entry.id);
    messages.push_back(std::move(message));
  }
  watcher.Send(std::move(messages), entries->back().id);
  return static_cast<int>(entries->size()) == kReadBatch;
}

void ActionWatchHub::Run() {
  absl::Time give_up = absl::InfiniteFuture();
  for (;;) {
    bool more = false;
    {
      // Under the hub's lock: OnDone (which deletes a watcher) waits for this pass to finish.
      absl::MutexLock lock(&mu_);
      if (stopping_ && give_up == absl::InfiniteFuture()) give_up = absl::Now() + kShutdownWait;
      bool all_finished = true;
      for (Watcher* watcher : watchers_) {
        if (watcher->MaybeFinish(stopping_)) continue;
        all_finished = false;
        if (!stopping_ && watcher->Idle()) more = Serve(*watcher) || more;
      }
      // A stream whose client stopped reading keeps its write in flight; the server's own shutdown
      // cancels it after this.
      if (stopping_ && (all_finished || absl::Now() > give_up)) return;
    }
    if (!more)
      stop_.WaitForNotificationWithTimeout(stop_.HasBeenNotified() ? absl::Milliseconds(5) : poll_interval_);
  }
}

void ActionWatchHub::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace steward::playbooks
