// An in-process rowcached server for protocol tests: ServerContext + NetworkServer on a free
// port (Options.port = 0) with two I/O threads, started in a test's body (never during static
// initialisation: catch_discover_tests runs the binary at build time) and stopped by the
// destructor. Plus the waiting helpers the tests use instead of sleeps.
#pragma once

#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "protocol/resp_client.h"
#include "server/network.h"
#include "server/server_context.h"

namespace rowcached::protocol_test {

// Generous: these bound how long a broken server can keep a test waiting, they are not timing
// assertions (the tests also run under ThreadSanitizer on a shared two-core machine).
inline constexpr auto kDeadline = std::chrono::seconds(20);

class InProcessServer {
 public:
  explicit InProcessServer(server::Options options = {})
      : context_(Prepare(std::move(options))), network_(context_) {
    std::string error;
    bool started = network_.Start(&error);
    INFO(error);
    REQUIRE(started);
    REQUIRE(network_.port() != 0);
  }
  ~InProcessServer() {
    network_.RequestStop();
    network_.Wait();
  }

  uint16_t port() const { return network_.port(); }
  server::ServerContext& context() { return context_; }
  server::NetworkServer& network() { return network_; }

 private:
  static server::Options Prepare(server::Options o) {
    spdlog::set_level(spdlog::level::err);  // the tests provoke warnings on purpose
    o.bind = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.save = {};  // SHUTDOWN would write a snapshot into the working directory
    return o;
  }

  server::ServerContext context_;
  server::NetworkServer network_;
};

// Polls `condition` until it holds; FAILS with `what` after kDeadline. The pause between polls
// only spaces out the checks: correctness never depends on its length.
inline void WaitUntil(const std::function<bool()>& condition, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting for " << what);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The value of `field` in an INFO reply text ("" when absent).
inline std::string InfoField(const std::string& info, const std::string& field) {
  std::string needle = field + ":";
  size_t pos = 0;
  while (pos < info.size()) {
    size_t end = info.find("\r\n", pos);
    if (end == std::string::npos) end = info.size();
    if (info.compare(pos, needle.size(), needle) == 0) {
      return info.substr(pos + needle.size(), end - pos - needle.size());
    }
    pos = end + 2;
  }
  return "";
}

inline std::string Info(RespClient& c, const std::string& section) {
  Reply r = c.Command({"INFO", section});
  REQUIRE(r.type == '$');
  return r.str;
}

inline int64_t ConnectedClients(RespClient& c) {
  return std::stoll(InfoField(Info(c, "clients"), "connected_clients"));
}

// Waits for the first rewrite of an AOF turned on with CONFIG SET appendonly yes to complete
// (the AOF's rewrite counter starts at 0), then checks that it succeeded.
inline void WaitForFirstAofRewrite(RespClient& c) {
  std::string info;
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  for (;;) {
    info = Info(c, "persistence");
    if (InfoField(info, "aof_rewrite_in_progress") == "0" &&
        InfoField(info, "aof_rewrite_scheduled") == "0" && InfoField(info, "aof_rewrites") == "1") {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("timed out waiting for the first rewrite of the AOF turned on last; INFO:\n" << info);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(InfoField(Info(c, "persistence"), "aof_last_bgrewrite_status") == "ok");
}

}  // namespace rowcached::protocol_test
