#include <catch2/catch.hpp>

#include "command_harness.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

TEST_CASE("dispatcher answers unknown commands with Redis' text", "[dispatch]") {
  CommandHarness h;
  REQUIRE(h.Run({"nosuch", "a", "b"}) ==
          Err("ERR unknown command 'nosuch', with args beginning with: 'a' 'b' "));
  REQUIRE(h.Run({"nosuch"}) == Err("ERR unknown command 'nosuch', with args beginning with: "));
}

TEST_CASE("dispatcher checks arity before running a command", "[dispatch]") {
  CommandHarness h;
  REQUIRE(h.Run({"PING"}) == Simple("PONG"));
  REQUIRE(h.Run({"ping", "hi"}) == Bulk("hi"));
  REQUIRE(h.Run({"PiNg", "a", "b"}) == Err("ERR wrong number of arguments for 'ping' command"));
}
