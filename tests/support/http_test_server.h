#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace steward::testing {

// One answer of an HttpTestServer.
struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string body = {};
  bool stall = false;  // read the request, never answer, wait for the client to hang up
};

// The answers, in order; the last one repeats. Empty: always 200 with no body.
using HttpScript = std::vector<ScriptedResponse>;

// One request an HttpTestServer read in full.
struct ReceivedRequest {
  std::string method;
  std::string path;                            // as sent, query string included
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// A real HTTP/1.1 server on 127.0.0.1:<ephemeral port> for tests of HTTP clients (webhooks), one
// connection at a time: reads a whole request (headers, then Content-Length bytes), records it, answers
// with the next scripted response and closes the connection (so every request of a client comes on a
// connection of its own, and the Nth connection gets the Nth response).
//
// A failure to listen is a test failure (ADD_FAILURE) and leaves listening() false. A client that stops
// talking for 10 s is dropped, so that it fails its test rather than hang it. The accessors are
// thread-safe; the destructor stops serving (after the connection in progress, if any).
//
// curl (so the webhook sender) honours proxy variables: a test that reaches this server through it
// should set no_proxy=* before starting any thread (for example in SetUpTestSuite).
class HttpTestServer {
 public:
  explicit HttpTestServer(HttpScript script);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  bool listening() const { return port_ != 0; }
  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>"; `path` starts with "/".
  std::string Url(absl::string_view path) const;

  // The requests received so far, in order of arrival.
  std::vector<ReceivedRequest> requests() const;
  size_t request_count() const;

  // Waits, at most `timeout`, until at least `count` requests have been received; returns whether they
  // have. The request is recorded before its response is sent.
  bool WaitForRequests(size_t count, absl::Duration timeout = absl::Seconds(10)) const;

 private:
  void Serve();
  bool ReadRequest(int fd);

  const HttpScript script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace steward::testing
