#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace steward::testing {

// A child process for black-box tests: stdout and stderr go to a log file in a fresh temporary
// directory, which the test can read while the child runs (e.g. to learn the port a server picked).
// The child gets SIGKILL if the test process dies (PR_SET_PDEATHSIG), so nothing outlives a crash.
// Not thread-safe.
class ChildProcess {
 public:
  // Starts `argv[0]` (an absolute path) with the given arguments. A steward binary (".../server/steward")
  // gets --metrics_listen=127.0.0.1:0 unless `argv` sets --metrics_listen.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv);
  // Kills the child (SIGKILL) if it still runs and removes the temporary directory.
  ~ChildProcess();

  // Everything the child has written so far.
  std::string Output() const;

  // Waits until a line of the output contains `needle`, at most `timeout`; returns that line.
  absl::StatusOr<std::string> WaitForLine(const std::string& needle, absl::Duration timeout) const;

  // Sends `signal` and waits for the exit, at most `timeout`; returns the exit code (128 + signal
  // number when a signal ended it). DEADLINE_EXCEEDED if it did not exit in time.
  absl::StatusOr<int> Stop(int signal, absl::Duration timeout);

  pid_t pid() const { return pid_; }

  // For a `steward` child: waits for its "server_started" log line and returns the port it names.
  absl::StatusOr<int> WaitForServerPort(absl::Duration timeout) const;

 private:
  ChildProcess() = default;

  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// The source tree and the build tree of the test run (ctest sets STEWARD_SOURCE_DIR and
// STEWARD_BINARY_DIR), and the built `steward` binary.
std::string SourceDir();
std::string StewardBinary();

// Starts the built `steward` with `args` and waits for it to serve; sets `port` to the port it took.
absl::StatusOr<std::unique_ptr<ChildProcess>> StartSteward(const std::vector<std::string>& args, int& port,
                                                           absl::Duration timeout = absl::Seconds(20));

// Runs a shell command; returns its exit code and its output (stdout and stderr together).
std::pair<int, std::string> RunCommand(const std::string& command);

}  // namespace steward::testing
