#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace steward::testing {

// A throwaway redis-server for tests: a child process on a free loopback port, in a fresh temporary
// directory, with persistence off.
//
// The constructor only reserves the port (a bound, non-listening socket kept open for the life of
// this object, so that no other process is handed the port between Stop() and Start(); redis-server
// can still bind it because both sockets use SO_REUSEADDR). Until Start(), and after Stop(),
// connecting to port() is refused, which makes it a good "nothing listens here" address too.
//
// The child gets SIGKILL if the thread that started it exits (PR_SET_PDEATHSIG), so a crashed test
// leaves no server behind; start it from the test's main thread. Not thread-safe.
class RedisServer {
 public:
  RedisServer();
  // Kills the server (SIGKILL) and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server (/usr/bin/redis-server, else the one on PATH) on port() and waits until it
  // answers PING, at most `ready_timeout`. Also restarts a stopped server, on the same port and with
  // an empty dataset. Errors say why (exit status, log tail) so a test can fail with them.
  absl::Status Start(absl::Duration ready_timeout = absl::Seconds(5));

  // SIGTERM and wait for the exit (SIGKILL after 5 s). The port stays reserved for Start().
  absl::Status Stop();

  // Freezes (SIGSTOP) / thaws (SIGCONT) the server: connections stay open but nothing answers, the
  // way a hung or overloaded Redis looks to a client.
  absl::Status Pause();
  absl::Status Resume();

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }
  // The server's working directory (its log is redis.log in there).
  const std::string& dir() const { return dir_; }

 private:
  std::string LogTail() const;
  absl::Status WaitReady(absl::Duration timeout);

  int reservation_fd_ = -1;
  int port_ = 0;
  std::string dir_;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace steward::testing
