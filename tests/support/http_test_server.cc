#include "tests/support/http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace steward::testing {
namespace {

bool ReadSome(int fd, std::string& data) {
  char buffer[4096];
  const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
  if (n <= 0) return false;
  data.append(buffer, static_cast<size_t>(n));
  return true;
}

void Answer(int fd, const ScriptedResponse& response) {
  if (response.stall) {
    std::string ignored;
    while (ReadSome(fd, ignored)) {
    }
    return;
  }
  std::string reply =
      absl::StrCat("HTTP/1.1 ", response.status, " Scripted\r\nContent-Length: ", response.body.size(),
                   "\r\nConnection: close\r\n");
  for (const auto& [name, value] : response.headers) absl::StrAppend(&reply, name, ": ", value, "\r\n");
  absl::StrAppend(&reply, "\r\n", response.body);
  for (size_t sent = 0; sent < reply.size();) {
    const ssize_t n = send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace

HttpTestServer::HttpTestServer(HttpScript script)
    : script_(script.empty() ? HttpScript{ScriptedResponse{}} : std::move(script)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(addr);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    ADD_FAILURE() << "cannot listen on 127.0.0.1: " << std::strerror(errno);
    if (listen_fd_ >= 0) close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

HttpTestServer::~HttpTestServer() {
  if (listen_fd_ < 0) return;
  shutdown(listen_fd_, SHUT_RDWR);  // on Linux, wakes the blocked accept()
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
}

std::string HttpTestServer::Url(absl::string_view path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

std::vector<ReceivedRequest> HttpTestServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

size_t HttpTestServer::request_count() const {
  absl::MutexLock lock(&mu_);
  return requests_.size();
}

bool HttpTestServer::WaitForRequests(size_t count, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto arrived = [this, count]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return requests_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout);
}

void HttpTestServer::Serve() {
  for (size_t served = 0;;) {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    // A client that stops talking must fail the test, not hang it.
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    const ScriptedResponse& response = script_[std::min(served++, script_.size() - 1)];
    if (ReadRequest(fd)) Answer(fd, response);
    close(fd);
  }
}

bool HttpTestServer::ReadRequest(int fd) {
  std::string data;
  size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (!ReadSome(fd, data)) return false;
  }
  ReceivedRequest request;
  std::vector<std::string> lines = absl::StrSplit(absl::string_view(data).substr(0, header_end), "\r\n");
  std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
  if (request_line.size() != 3) return false;
  request.method = request_line[0];
  request.path = request_line[1];
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> header = absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    request.headers[absl::AsciiStrToLower(header.first)] =
        std::string(absl::StripAsciiWhitespace(header.second));
  }
  size_t content_length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    if (!absl::SimpleAtoi(it->second, &content_length)) return false;
  }
  while (data.size() < header_end + 4 + content_length) {
    if (!ReadSome(fd, data)) return false;
  }
  request.body = data.substr(header_end + 4, content_length);
  absl::MutexLock lock(&mu_);
  requests_.push_back(std::move(request));
  return true;
}

}  // namespace steward::testing
