// BZPOPMIN, BZPOPMAX and BZMPOP through the real dispatcher and the harness' deferred replies
// (exact RESP bytes, checked against redis-server 7.0.15; tests/protocol/blocking_test.cc has
// the socket tests).
#include <catch2/catch.hpp>
#include <string>

#include "blocking_test_util.h"
#include "command_harness.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kWrongType =
    Err("WRONGTYPE Operation against a key holding the wrong kind of value");
const std::string kSyntax = Err("ERR syntax error");
const std::string kNullArray = "*-1\r\n";
const std::string kNegative = Err("ERR timeout is negative");
const std::string kNotFloat = Err("ERR timeout is not a float or out of range");
const std::string kNumKeys = Err("ERR numkeys should be greater than 0");

// BZPOPMIN's [key, member, score] in RESP2.
std::string KeyMemberScore(const std::string& key, const std::string& member,
                           const std::string& score) {
  return Arr({Bulk(key), Bulk(member), Bulk(score)});
}

// BZMPOP's [key, [[member, score], ...]] in RESP2.
std::string KeyPairs(const std::string& key,
                     std::initializer_list<std::pair<std::string, std::string>> pairs) {
  std::string r = "*" + std::to_string(pairs.size()) + "\r\n";
  for (const auto& [member, score] : pairs) r += Arr({Bulk(member), Bulk(score)});
  return "*2\r\n" + Bulk(key) + r;
}

}  // namespace

TEST_CASE("blocking sorted set commands are registered with Redis' flags and key positions",
          "[zsets][blocking]") {
  CommandHarness h;
  const Registry& registry = h.server().registry();
  const CommandSpec* min = registry.Find("bzpopmin");
  const CommandSpec* max = registry.Find("bzpopmax");
  const CommandSpec* mpop = registry.Find("bzmpop");
  REQUIRE(min != nullptr);
  REQUIRE(max != nullptr);
  REQUIRE(mpop != nullptr);
  for (const CommandSpec* spec : {min, max}) {
    CHECK(spec->arity == -3);
    CHECK(spec->first_key == 1);
    CHECK(spec->last_key == -2);
    CHECK(spec->key_step == 1);
    CHECK(spec->flags == (kWrite | kNoScript | kFast));
  }
  CHECK(mpop->arity == -5);
  CHECK(mpop->flags == (kWrite | kNoShardLock));
}

TEST_CASE("BZPOPMIN BZPOPMAX BZMPOP pop at once when they can, and check their arguments",
          "[zsets][blocking]") {
  CommandHarness h;
  CHECK(h.Run({"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"}) == Int(4));
  CHECK(h.Run({"BZPOPMIN", "none", "z", "0"}) == KeyMemberScore("z", "a", "1"));
  CHECK(h.Run({"BZPOPMAX", "z", "none", "1.5"}) == KeyMemberScore("z", "d", "4"));
  CHECK(h.Run({"BZMPOP", "0", "2", "none", "z", "MAX", "COUNT", "10"}) ==
        KeyPairs("z", {{"c", "3"}, {"b", "2"}}));
  CHECK(h.Run({"EXISTS", "z"}) == Int(0));
  CHECK(h.Run({"ZADD", "z", "1", "a", "2", "b"}) == Int(2));
  CHECK(h.Run({"BZMPOP", "0", "1", "z", "min"}) == KeyPairs("z", {{"a", "1"}}));

  CHECK(h.Run({"BZPOPMIN", "z", "-1"}) == kNegative);
  CHECK(h.Run({"BZPOPMAX", "z", "abc"}) == kNotFloat);
  CHECK(h.Run({"BZPOPMIN", "z"}) == Err("ERR wrong number of arguments for 'bzpopmin' command"));
  CHECK(h.Run({"BZMPOP", "0", "1", "z"}) ==
        Err("ERR wrong number of arguments for 'bzmpop' command"));
  // numkeys, MIN|MAX and COUNT are checked before the timeout (unlike BLMPOP's order).
  CHECK(h.Run({"BZMPOP", "-1", "0", "z", "MIN"}) == kNumKeys);
  CHECK(h.Run({"BZMPOP", "0", "abc", "z", "MIN"}) == kNumKeys);
  CHECK(h.Run({"BZMPOP", "-1", "1", "z", "MIN"}) == kNegative);
  CHECK(h.Run({"BZMPOP", "0", "5", "z", "MIN"}) == kSyntax);
  CHECK(h.Run({"BZMPOP", "0", "1", "z", "foo"}) == kSyntax);
  CHECK(h.Run({"BZMPOP", "-1", "1", "z", "foo"}) == kSyntax);
  CHECK(h.Run({"BZMPOP", "0", "1", "z", "MIN", "COUNT", "0"}) ==
        Err("ERR count should be greater than 0"));
  CHECK(h.Run({"BZMPOP", "0", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"}) == kSyntax);
  CHECK(h.Run({"ZCARD", "z"}) == Int(1));  // no error popped anything

  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"BZPOPMIN", "s", "0"}) == kWrongType);
  CHECK(h.Run({"BZPOPMAX", "none", "s", "z", "0"}) == kWrongType);  // the first existing key
  CHECK(h.Run({"BZMPOP", "0", "1", "s", "MIN"}) == kWrongType);

  // Unable to block (no deferred reply, as inside MULTI): the timeout reply at once.
  CHECK(h.Run({"BZPOPMIN", "none", "0"}) == kNullArray);
  CHECK(h.Run({"BZPOPMAX", "none", "0"}) == kNullArray);
  CHECK(h.Run({"BZMPOP", "0", "1", "none", "MAX"}) == kNullArray);
  CHECK(Blocked(h) == 0);

  h.client().resp = 3;
  CHECK(h.Run({"BZPOPMIN", "none", "0"}) == "_\r\n");
  CHECK(h.Run({"ZADD", "z", "2", "b", "3", "c"}) == Int(1));
  CHECK(h.Run({"BZPOPMIN", "z", "0"}) == "*3\r\n$1\r\nz\r\n$1\r\nb\r\n,2\r\n");
  CHECK(h.Run({"BZMPOP", "0", "1", "z", "MAX", "COUNT", "5"}) ==
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
}

TEST_CASE("inside MULTI the blocking pops answer at once", "[zsets][blocking]") {
  CommandHarness h;
  CHECK(h.Run({"ZADD", "z", "1", "a"}) == Int(1));
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"BZPOPMIN", "z", "0"}) == Simple("QUEUED"));
  CHECK(h.Run({"BZPOPMAX", "z", "0"}) == Simple("QUEUED"));
  CHECK(h.Run({"BZMPOP", "0", "1", "z", "MIN"}) == Simple("QUEUED"));
  CHECK(h.Run({"EXEC"}) == Arr({KeyMemberScore("z", "a", "1"), kNullArray, kNullArray}));
  CHECK(Blocked(h) == 0);
}

TEST_CASE("a blocked BZPOPMIN is served by a later ZADD, first blocked first served",
          "[zsets][blocking]") {
  CommandHarness h;
  auto first = h.Start({"BZPOPMIN", "a", "b", "0"});
  auto second = h.Start({"BZPOPMAX", "b", "0"});
  auto third = h.Start({"BZPOPMIN", "b", "0"});
  CHECK(Blocked(h) == 3);
  CHECK_FALSE(Ready(first));
  CHECK(h.Run({"ZADD", "b", "1", "x", "2", "y"}) == Int(2));
  REQUIRE(Ready(first));
  REQUIRE(Ready(second));
  CHECK(first.get() == KeyMemberScore("b", "x", "1"));
  CHECK(second.get() == KeyMemberScore("b", "y", "2"));
  CHECK_FALSE(Ready(third));
  CHECK(h.Run({"EXISTS", "b"}) == Int(0));
  CHECK(Blocked(h) == 1);
  CHECK(h.Run({"ZINCRBY", "b", "5", "z"}) == Bulk("5"));
  REQUIRE(Ready(third));
  CHECK(third.get() == KeyMemberScore("b", "z", "5"));
  CHECK(Blocked(h) == 0);
}

TEST_CASE("BZMPOP with COUNT is served from the key that became ready", "[zsets][blocking]") {
  CommandHarness h;
  auto waiter = h.Start({"BZMPOP", "0", "3", "a", "b", "c", "MAX", "COUNT", "2"});
  CHECK(h.Run({"ZADD", "c", "1", "p", "2", "q", "3", "r"}) == Int(3));
  REQUIRE(Ready(waiter));
  CHECK(waiter.get() == KeyPairs("c", {{"r", "3"}, {"q", "2"}}));
  CHECK(h.Run({"ZRANGE", "c", "0", "-1"}) == Arr({Bulk("p")}));
}

TEST_CASE("the store commands and key commands wake clients blocked on sorted sets",
          "[zsets][blocking]") {
  CommandHarness h;
  CHECK(h.Run({"ZADD", "src", "1", "a", "2", "b"}) == Int(2));
  auto on_union = h.Start({"BZPOPMIN", "u", "0"});
  auto on_inter = h.Start({"BZPOPMIN", "i", "0"});
  auto on_diff = h.Start({"BZPOPMAX", "d", "0"});
  auto on_range = h.Start({"BZMPOP", "0", "1", "r", "MIN"});
  auto on_rename = h.Start({"BZPOPMIN", "renamed", "0"});
  CHECK(h.Run({"ZUNIONSTORE", "u", "1", "src"}) == Int(2));
  CHECK(h.Run({"ZINTERSTORE", "i", "1", "src"}) == Int(2));
  CHECK(h.Run({"ZDIFFSTORE", "d", "1", "src"}) == Int(2));
  CHECK(h.Run({"ZRANGESTORE", "r", "src", "0", "0"}) == Int(1));
  CHECK(Await(on_union) == KeyMemberScore("u", "a", "1"));
  CHECK(Await(on_inter) == KeyMemberScore("i", "a", "1"));
  CHECK(Await(on_diff) == KeyMemberScore("d", "b", "2"));
  CHECK(Await(on_range) == KeyPairs("r", {{"a", "1"}}));
  CHECK(h.Run({"RENAME", "src", "renamed"}) == kOk);
  CHECK(Await(on_rename) == KeyMemberScore("renamed", "a", "1"));
  CHECK(Blocked(h) == 0);
}

TEST_CASE("a client blocked on a sorted set ignores other types and keeps waiting",
          "[zsets][blocking]") {
  CommandHarness h;
  auto waiter = h.Start({"BZPOPMIN", "k", "0"});
  CHECK(h.Run({"RPUSH", "k", "x"}) == Int(1));
  CHECK_FALSE(Ready(waiter));
  CHECK(h.Run({"LLEN", "k"}) == Int(1));
  CHECK(h.Run({"DEL", "k"}) == Int(1));
  CHECK(h.Run({"ZADD", "k", "7", "m"}) == Int(1));
  REQUIRE(Ready(waiter));
  CHECK(waiter.get() == KeyMemberScore("k", "m", "7"));
}

TEST_CASE("blocked sorted set pops time out with a null array and are never served after",
          "[zsets][blocking]") {
  CommandHarness h;
  auto min = h.Start({"BZPOPMIN", "k", "0.05"});
  auto mpop = h.Start({"BZMPOP", "0.05", "1", "k", "MAX"});
  CHECK(Await(min) == kNullArray);
  CHECK(Await(mpop) == kNullArray);
  CHECK(Blocked(h) == 0);
  CHECK(h.Run({"ZADD", "k", "1", "a"}) == Int(1));
  CHECK(h.Run({"ZCARD", "k"}) == Int(1));
}

TEST_CASE("a pop served to a blocked client emits zpopmin and del", "[zsets][blocking]") {
  CommandHarness h;
  CHECK(h.Run({"CONFIG", "SET", "notify-keyspace-events", "KEA"}) == kOk);
  auto waiter = h.Start({"BZPOPMIN", "k", "0"});
  h.client().resp = 3;
  CHECK(h.Run({"PSUBSCRIBE", "__keyspace@0__:k"}) ==
        ">3\r\n$10\r\npsubscribe\r\n$16\r\n__keyspace@0__:k\r\n:1\r\n");
  CHECK(h.Run({"ZADD", "k", "1", "a"}) == Int(1));
  REQUIRE(Ready(waiter));
  CHECK(waiter.get() == KeyMemberScore("k", "a", "1"));
  auto event = [](const std::string& name) {
    return ">4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:k\r\n$16\r\n__keyspace@0__:k\r\n$" +
           std::to_string(name.size()) + "\r\n" + name + "\r\n";
  };
  CHECK(h.TakePushed() == event("zadd") + event("zpopmin") + event("del"));
}
