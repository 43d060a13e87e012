#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace steward::testing {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::vector<std::string>& given) {
  if (given.empty()) return absl::InvalidArgumentError("ChildProcess: empty argv");
  std::vector<std::string> argv = given;
  // A steward serves /metrics on 127.0.0.1:9464 by default: tests running side by side (ctest -j, or
  // several servers in one test) would fight over it, so a child takes a free port unless told.
  if (absl::EndsWith(argv[0], "/server/steward") &&
      std::none_of(argv.begin(), argv.end(),
                   [](const std::string& arg) { return absl::StartsWith(arg, "--metrics_listen"); })) {
    argv.push_back("--metrics_listen=127.0.0.1:0");
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  std::string dir_template = (std::filesystem::temp_directory_path() / "steward-child-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  child->dir_ = dir_template;
  child->log_path_ = child->dir_ + "/output.log";
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  const int log_fd = open(child->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("open log: ", std::strerror(errno)));
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  sigset_t none;
  sigemptyset(&none);

  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  child->pid_ = pid;
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) == -1 && errno == EINTR) {
    }
  }
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string ChildProcess::Output() const {
  std::ifstream in(log_path_);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(const std::string& needle,
                                                      absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    for (absl::string_view line : absl::StrSplit(Output(), '\n')) {
      if (absl::StrContains(line, needle)) return std::string(line);
    }
    if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == pid_) {
      return absl::FailedPreconditionError(
          absl::StrCat("child exited before printing \"", needle, "\"; output:\n", Output()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no line with \"", needle, "\" within ", absl::FormatDuration(timeout), "; output:\n", Output()));
    }
    absl::SleepFor(absl::Milliseconds(20));  // polling a log file; not a timing assertion
  }
}

absl::StatusOr<int> ChildProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  kill(pid_, signal);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (absl::Now() > deadline) return absl::DeadlineExceededError("child did not exit in time");
    absl::SleepFor(absl::Milliseconds(10));
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

absl::StatusOr<int> ChildProcess::WaitForServerPort(absl::Duration timeout) const {
  absl::StatusOr<std::string> line = WaitForLine("\"server_started\"", timeout);
  if (!line.ok()) return line.status();
  // {"time":…,"event":"server_started",…,"port":"40123",…}
  const std::string key = "\"port\":\"";
  const std::size_t at = line->find(key);
  const std::size_t end = at == std::string::npos ? at : line->find('"', at + key.size());
  int port = 0;
  if (end == std::string::npos ||
      !absl::SimpleAtoi(line->substr(at + key.size(), end - at - key.size()), &port)) {
    return absl::InternalError(absl::StrCat("no port in: ", *line));
  }
  return port;
}

std::string SourceDir() { return std::getenv("STEWARD_SOURCE_DIR"); }

std::string StewardBinary() { return absl::StrCat(std::getenv("STEWARD_BINARY_DIR"), "/server/steward"); }

absl::StatusOr<std::unique_ptr<ChildProcess>> StartSteward(const std::vector<std::string>& args, int& port,
                                                           absl::Duration timeout) {
  std::vector<std::string> argv = {StewardBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(argv);
  if (!child.ok()) return child.status();
  absl::StatusOr<int> serving = (*child)->WaitForServerPort(timeout);
  if (!serving.ok()) {
    return absl::Status(serving.status().code(),
                        absl::StrCat(serving.status().message(), "\n", (*child)->Output()));
  }
  port = *serving;
  return child;
}

std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), output};
}

}  // namespace steward::testing
