// Helpers for tests of blocking commands through CommandHarness::Start's deferred replies.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>

#include "command_harness.h"
#include "server/blocking.h"

namespace rowcached::server::testing {

// Whether a started command has replied (never waits).
inline bool Ready(std::future<std::string>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// Waits for a reply that must come (a timeout firing); fails the test after 30 s.
inline std::string Await(std::future<std::string>& f) {
  REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  return f.get();
}

// INFO's blocked_clients.
inline int64_t Blocked(CommandHarness& h) {
  return static_cast<int64_t>(h.server().blocking().blocked_clients());
}

}  // namespace rowcached::server::testing
