#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace steward::testing {
namespace {

constexpr absl::string_view kDefaultBinary = "/usr/bin/redis-server";

std::string ErrnoText(absl::string_view what) { return absl::StrCat(what, ": ", std::strerror(errno)); }

std::string FindRedisServer() {
  if (access(std::string(kDefaultBinary).c_str(), X_OK) == 0) return std::string(kDefaultBinary);
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/redis-server");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string TempRoot() {
  for (const char* name : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "/tmp";
}

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// One PING over a fresh connection; true on "+PONG". Anything else (refused, LOADING, no answer
// within 200 ms) means "not yet".
bool AnswersPing(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const timeval timeout{0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  const sockaddr_in address = Loopback(port);
  bool ok = false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0) {
    constexpr absl::string_view kPing = "PING\r\n";
    if (send(fd, kPing.data(), kPing.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(kPing.size())) {
      char buffer[16] = {};
      const ssize_t n = recv(fd, buffer, sizeof(buffer) - 1, 0);
      ok = n >= 5 && absl::string_view(buffer, 5) == "+PONG";
    }
  }
  close(fd);
  return ok;
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("stopped with wait status ", status);
}

std::string Tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

}  // namespace

RedisServer::RedisServer() {
  // Port 0 lets the kernel pick a free port; keeping the socket bound (never listening) holds it.
  reservation_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (reservation_fd_ >= 0) {
    const int one = 1;
    setsockopt(reservation_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address = Loopback(0);
    socklen_t length = sizeof(address);
    if (bind(reservation_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 &&
        getsockname(reservation_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  std::string dir_template = absl::StrCat(TempRoot(), "/steward-redis-XXXXXX");
  if (mkdtemp(dir_template.data()) != nullptr) dir_ = dir_template;
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) == -1 && errno == EINTR) {
    }
  }
  if (reservation_fd_ >= 0) close(reservation_fd_);
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

absl::Status RedisServer::Start(absl::Duration ready_timeout) {
  if (port_ == 0) return absl::InternalError("RedisServer: could not reserve a loopback port");
  if (dir_.empty())
    return absl::InternalError(absl::StrCat("RedisServer: could not create a directory under ", TempRoot()));
  if (pid_ > 0) return absl::FailedPreconditionError("RedisServer: already running");
  const std::string binary = FindRedisServer();
  if (binary.empty()) {
    return absl::NotFoundError(
        "RedisServer: no redis-server at /usr/bin/redis-server or on PATH (apt-get install redis-server)");
  }

  // Everything the child needs is prepared here: between fork and exec only async-signal-safe calls
  // are allowed, since other threads of the test may hold locks (malloc's among them).
  const std::string port = absl::StrCat(port_);
  const std::string log_file = absl::StrCat(dir_, "/redis.log");
  const std::string output_file = absl::StrCat(dir_, "/output.log");
  std::vector<std::string> args = {binary,   "--save",    "",       "--appendonly", "no",
                                   "--bind", "127.0.0.1", "--port", port,           "--dir",
                                   dir_,     "--logfile", log_file, "--daemonize",  "no"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(ErrnoText("RedisServer: fork"));
  if (pid == 0) {
    // Die with the test process instead of outliving a crashed test.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // a blocked SIGTERM would survive exec
    const int out = open(output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  paused_ = false;
  return WaitReady(ready_timeout);
}

absl::Status RedisServer::WaitReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("RedisServer: redis-server on port ", port_, " ",
                                              DescribeExit(status), " before answering PING; log:\n",
                                              LogTail()));
    }
    if (AnswersPing(port_)) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) == -1 && errno == EINTR) {
      }
      pid_ = -1;
      return absl::DeadlineExceededError(absl::StrCat("RedisServer: redis-server on port ", port_,
                                                      " did not answer PING within ",
                                                      absl::FormatDuration(timeout), "; log:\n", LogTail()));
    }
    absl::SleepFor(absl::Milliseconds(10));  // polling for readiness, not a timing assumption
  }
}

absl::Status RedisServer::Stop() {
  if (pid_ <= 0) return absl::FailedPreconditionError("RedisServer: not running");
  kill(pid_, SIGTERM);
  if (paused_) kill(pid_, SIGCONT);  // a stopped process only acts on SIGTERM once continued
  paused_ = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid_, &status, WNOHANG)) == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::string forced;
  if (done == 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, &status, 0) == -1 && errno == EINTR) {
    }
    forced = " (did not exit within 5s of SIGTERM; killed)";
  }
  pid_ = -1;
  if (!forced.empty())
    return absl::InternalError(absl::StrCat("RedisServer: ", DescribeExit(status), forced));
  return absl::OkStatus();
}

absl::Status RedisServer::Pause() {
  if (pid_ <= 0) return absl::FailedPreconditionError("RedisServer: not running");
  if (kill(pid_, SIGSTOP) != 0) return absl::InternalError(ErrnoText("RedisServer: SIGSTOP"));
  paused_ = true;
  return absl::OkStatus();
}

absl::Status RedisServer::Resume() {
  if (pid_ <= 0) return absl::FailedPreconditionError("RedisServer: not running");
  if (kill(pid_, SIGCONT) != 0) return absl::InternalError(ErrnoText("RedisServer: SIGCONT"));
  paused_ = false;
  return absl::OkStatus();
}

std::string RedisServer::LogTail() const {
  return absl::StrCat(Tail(absl::StrCat(dir_, "/output.log"), 2000),
                      Tail(absl::StrCat(dir_, "/redis.log"), 2000));
}

}  // namespace steward::testing
