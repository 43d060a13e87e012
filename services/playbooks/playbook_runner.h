#pragma once

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "common/step_loop.h"
#include "services/playbooks/engine/playbook_engine.h"

namespace steward::playbooks {

// Runs due playbook steps in the background: `threads` loops, each claiming up to `batch` due entries
// of the schedule at a time (PlaybookEngine::RunDue) and polling every `idle` when none is due. Several
// processes may run one each; leases keep them from running a step twice at once.
class PlaybookRunner {
 public:
  PlaybookRunner(PlaybookEngine& engine, int threads, int batch, absl::Duration idle) {
    for (int i = 0; i < threads; ++i) {
      loops_.push_back(std::make_unique<StepLoop>("playbook_runner_failed", idle,
                                                  [&engine, batch]() -> absl::StatusOr<bool> {
                                                    auto claimed = engine.RunDue(batch);
                                                    if (!claimed.ok()) return claimed.status();
                                                    return *claimed == batch;
                                                  }));
    }
  }
  void Start() {
    for (auto& loop : loops_) loop->Start();
  }
  void Stop() {
    for (auto& loop : loops_) loop->Stop();
  }

 private:
  std::vector<std::unique_ptr<StepLoop>> loops_;
};

}  // namespace steward::playbooks
