// List commands through the real dispatcher (exact RESP bytes, checked against redis-server
// 7.0.15), their Op functions directly, ListObject, and the blocking commands through the
// harness' deferred replies (no sockets: tests/protocol/blocking_test.cc has those).
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "blocking_test_util.h"
#include "command_harness.h"
#include "family_test_util.h"
#include "server/blocking.h"
#include "server/list_object.h"
#include "server/list_ops.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kEmpty = "*0\r\n";
const std::string kNullArray = "*-1\r\n";

std::string Bulks(std::initializer_list<std::string> items) {
  std::string r = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) r += Bulk(i);
  return r;
}

std::string Ints(std::initializer_list<long long> items) {
  std::string r = "*" + std::to_string(items.size()) + "\r\n";
  for (long long i : items) r += Int(i);
  return r;
}

// [key, [values...]] as LMPOP replies.
std::string KeyValues(const std::string& key, std::initializer_list<std::string> values) {
  return "*2\r\n" + Bulk(key) + Bulks(values);
}

}  // namespace

TEST_CASE("list commands are registered with Redis' flags, arity and key positions", "[lists]") {
  CommandHarness h;
  struct Want {
    const char* name;
    uint32_t flags;
    int arity;
    int first;
    int last;
  };
  const uint32_t w = kWrite | kDenyOom | kFast;
  const Want wants[] = {
      {"lpush", w, -3, 1, 1},
      {"rpush", w, -3, 1, 1},
      {"lpushx", w, -3, 1, 1},
      {"rpushx", w, -3, 1, 1},
      {"lpop", kWrite | kFast, -2, 1, 1},
      {"rpop", kWrite | kFast, -2, 1, 1},
      {"llen", kReadOnly | kFast, 2, 1, 1},
      {"lrange", kReadOnly, 4, 1, 1},
      {"lindex", kReadOnly, 3, 1, 1},
      {"lset", kWrite | kDenyOom, 4, 1, 1},
      {"linsert", kWrite | kDenyOom, 5, 1, 1},
      {"lrem", kWrite, 4, 1, 1},
      {"ltrim", kWrite, 4, 1, 1},
      {"lpos", kReadOnly, -3, 1, 1},
      {"lmove", kWrite | kDenyOom, 5, 1, 2},
      {"rpoplpush", kWrite | kDenyOom, 3, 1, 2},
      {"blmove", kWrite | kDenyOom | kNoScript, 6, 1, 2},
      {"brpoplpush", kWrite | kDenyOom | kNoScript, 4, 1, 2},
      {"blpop", kWrite | kNoScript, -3, 1, -2},
      {"brpop", kWrite | kNoScript, -3, 1, -2},
      {"lmpop", kWrite | kNoShardLock, -4, 0, 0},
      {"blmpop", kWrite | kNoShardLock, -5, 0, 0},
  };
  for (const Want& want : wants) {
    INFO(want.name);
    const CommandSpec* spec = h.server().registry().Find(want.name);
    REQUIRE(spec != nullptr);
    CHECK(spec->flags == want.flags);
    CHECK(spec->arity == want.arity);
    CHECK(spec->first_key == want.first);
    CHECK(spec->last_key == want.last);
  }
  CHECK(h.Run({"LPUSH", "k"}) == Err("ERR wrong number of arguments for 'lpush' command"));
  CHECK(h.Run({"LPOP", "k", "1", "2"}) == Err("ERR wrong number of arguments for 'lpop' command"));
  CHECK(h.Run({"RPOP", "k", "1", "2"}) == Err("ERR wrong number of arguments for 'rpop' command"));
}

TEST_CASE("LPUSH RPUSH LPUSHX RPUSHX build the list in Redis' order", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LPUSHX", "l", "a"}) == Int(0));
  CHECK(h.Run({"RPUSHX", "l", "a"}) == Int(0));
  CHECK(h.Run({"EXISTS", "l"}) == Int(0));
  CHECK(h.Run({"LPUSH", "l", "a", "b", "c"}) == Int(3));  // c b a
  CHECK(h.Run({"RPUSH", "l", "x", "y"}) == Int(5));       // c b a x y
  CHECK(h.Run({"LPUSHX", "l", "0"}) == Int(6));
  CHECK(h.Run({"RPUSHX", "l", "z", "zz"}) == Int(8));
  CHECK(h.Run({"LRANGE", "l", "0", "-1"}) == Bulks({"0", "c", "b", "a", "x", "y", "z", "zz"}));
  CHECK(h.Run({"TYPE", "l"}) == Simple("list"));
  CHECK(h.Run({"OBJECT", "ENCODING", "l"}) == Bulk("quicklist"));
  // Binary-safe elements, empty ones included.
  std::string bin("a\0b\r\n", 5);
  CHECK(h.Run({"RPUSH", "bin", bin, ""}) == Int(2));
  CHECK(h.Run({"LRANGE", "bin", "0", "-1"}) == "*2\r\n" + Bulk(bin) + Bulk(""));
  // Wrong type: nothing changes.
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"LPUSH", "s", "a"}) == kWrongType);
  CHECK(h.Run({"RPUSH", "s", "a"}) == kWrongType);
  CHECK(h.Run({"LPUSHX", "s", "a"}) == kWrongType);
  CHECK(h.Run({"RPUSHX", "s", "a"}) == kWrongType);
  CHECK(h.Run({"GET", "s"}) == Bulk("v"));
  // A push keeps the TTL.
  CHECK(h.Run({"EXPIRE", "l", "100"}) == Int(1));
  CHECK(h.Run({"RPUSH", "l", "t"}) == Int(9));
  CHECK(h.Run({"TTL", "l"}) == Int(100));
}

TEST_CASE("large lists stay quicklist and index from both ends", "[lists]") {
  CommandHarness h;
  std::vector<std::string> args = {"RPUSH", "big"};
  for (int i = 0; i < 5000; ++i) args.push_back("element-number-" + std::to_string(i));
  CHECK(h.Run(args) == Int(5000));
  CHECK(h.Run({"OBJECT", "ENCODING", "big"}) == Bulk("quicklist"));
  CHECK(h.Run({"LINDEX", "big", "2500"}) == Bulk("element-number-2500"));
  CHECK(h.Run({"LINDEX", "big", "-1"}) == Bulk("element-number-4999"));
  CHECK(h.Run({"LLEN", "big"}) == Int(5000));
}

TEST_CASE("LPOP and RPOP with and without COUNT", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LPOP", "none"}) == kNil);
  CHECK(h.Run({"RPOP", "none"}) == kNil);
  CHECK(h.Run({"LPOP", "none", "2"}) == kNullArray);
  CHECK(h.Run({"LPOP", "none", "0"}) == kNullArray);
  CHECK(h.Run({"RPUSH", "l", "a", "b", "c", "d", "e"}) == Int(5));
  CHECK(h.Run({"LPOP", "l"}) == Bulk("a"));
  CHECK(h.Run({"RPOP", "l"}) == Bulk("e"));
  CHECK(h.Run({"LPOP", "l", "0"}) == kEmpty);
  CHECK(h.Run({"LPOP", "l", "2"}) == Bulks({"b", "c"}));
  CHECK(h.Run({"LPOP", "l", "-1"}) == Err("ERR value is out of range, must be positive"));
  CHECK(h.Run({"LPOP", "l", "x"}) == kNotInteger);
  CHECK(h.Run({"RPOP", "l", "9223372036854775807"}) == Bulks({"d"}));
  CHECK(h.Run({"EXISTS", "l"}) == Int(0));  // the empty list is gone
  CHECK(h.Run({"RPUSH", "l", "a", "b"}) == Int(2));
  CHECK(h.Run({"RPOP", "l", "5"}) == Bulks({"b", "a"}));
  CHECK(h.Run({"EXISTS", "l"}) == Int(0));
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"LPOP", "s"}) == kWrongType);
  CHECK(h.Run({"RPOP", "s", "1"}) == kWrongType);
  // The count is checked before the key.
  CHECK(h.Run({"LPOP", "s", "x"}) == kNotInteger);

  h.client().resp = 3;
  CHECK(h.Run({"LPOP", "none"}) == "_\r\n");
  CHECK(h.Run({"LPOP", "none", "2"}) == "_\r\n");
}

TEST_CASE("LLEN LRANGE LINDEX", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LLEN", "none"}) == Int(0));
  CHECK(h.Run({"LRANGE", "none", "0", "-1"}) == kEmpty);
  CHECK(h.Run({"LINDEX", "none", "0"}) == kNil);
  CHECK(h.Run({"LINDEX", "none", "x"}) == kNil);  // the key is looked up first
  CHECK(h.Run({"RPUSH", "l", "a", "b", "c", "d"}) == Int(4));
  CHECK(h.Run({"LLEN", "l"}) == Int(4));
  CHECK(h.Run({"LRANGE", "l", "1", "2"}) == Bulks({"b", "c"}));
  CHECK(h.Run({"LRANGE", "l", "-2", "-1"}) == Bulks({"c", "d"}));
  CHECK(h.Run({"LRANGE", "l", "-100", "100"}) == Bulks({"a", "b", "c", "d"}));
  CHECK(h.Run({"LRANGE", "l", "2", "1"}) == kEmpty);
  CHECK(h.Run({"LRANGE", "l", "4", "10"}) == kEmpty);
  CHECK(h.Run({"LRANGE", "l", "-9223372036854775808", "9223372036854775807"}) ==
        Bulks({"a", "b", "c", "d"}));
  CHECK(h.Run({"LRANGE", "l", "0", "-5"}) == kEmpty);
  CHECK(h.Run({"LRANGE", "l", "x", "1"}) == kNotInteger);
  CHECK(h.Run({"LRANGE", "none", "0", "y"}) == kNotInteger);  // parsed before the lookup
  CHECK(h.Run({"LINDEX", "l", "0"}) == Bulk("a"));
  CHECK(h.Run({"LINDEX", "l", "-1"}) == Bulk("d"));
  CHECK(h.Run({"LINDEX", "l", "-4"}) == Bulk("a"));
  CHECK(h.Run({"LINDEX", "l", "-5"}) == kNil);
  CHECK(h.Run({"LINDEX", "l", "4"}) == kNil);
  CHECK(h.Run({"LINDEX", "l", "x"}) == kNotInteger);
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"LLEN", "s"}) == kWrongType);
  CHECK(h.Run({"LRANGE", "s", "0", "1"}) == kWrongType);
  CHECK(h.Run({"LINDEX", "s", "0"}) == kWrongType);
}

TEST_CASE("LSET and LINSERT", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LSET", "none", "0", "a"}) == Err("ERR no such key"));
  CHECK(h.Run({"LSET", "none", "x", "a"}) == Err("ERR no such key"));
  CHECK(h.Run({"RPUSH", "l", "a", "b", "c"}) == Int(3));
  CHECK(h.Run({"LSET", "l", "1", "B"}) == kOk);
  CHECK(h.Run({"LSET", "l", "-1", "C"}) == kOk);
  CHECK(h.Run({"LSET", "l", "3", "x"}) == Err("ERR index out of range"));
  CHECK(h.Run({"LSET", "l", "-4", "x"}) == Err("ERR index out of range"));
  CHECK(h.Run({"LSET", "l", "x", "x"}) == kNotInteger);
  CHECK(h.Run({"LRANGE", "l", "0", "-1"}) == Bulks({"a", "B", "C"}));

  CHECK(h.Run({"LINSERT", "l", "BEFORE", "B", "x"}) == Int(4));
  CHECK(h.Run({"LINSERT", "l", "after", "C", "y"}) == Int(5));
  CHECK(h.Run({"LINSERT", "l", "after", "nope", "y"}) == Int(-1));
  CHECK(h.Run({"LINSERT", "l", "middle", "C", "y"}) == kSyntax);
  CHECK(h.Run({"LINSERT", "none", "before", "a", "b"}) == Int(0));
  CHECK(h.Run({"EXISTS", "none"}) == Int(0));
  CHECK(h.Run({"LRANGE", "l", "0", "-1"}) == Bulks({"a", "x", "B", "C", "y"}));
  // The first occurrence of the pivot.
  CHECK(h.Run({"RPUSH", "d", "p", "p"}) == Int(2));
  CHECK(h.Run({"LINSERT", "d", "AFTER", "p", "q"}) == Int(3));
  CHECK(h.Run({"LRANGE", "d", "0", "-1"}) == Bulks({"p", "q", "p"}));
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"LSET", "s", "0", "a"}) == kWrongType);
  CHECK(h.Run({"LINSERT", "s", "before", "a", "b"}) == kWrongType);
}

TEST_CASE("LREM and LTRIM", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LREM", "none", "0", "a"}) == Int(0));
  CHECK(h.Run({"LREM", "none", "x", "a"}) == kNotInteger);
  CHECK(h.Run({"RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"}) == Int(7));
  CHECK(h.Run({"LREM", "l", "1", "a"}) == Int(1));   // b a c a b a
  CHECK(h.Run({"LREM", "l", "-2", "a"}) == Int(2));  // b a c b
  CHECK(h.Run({"LRANGE", "l", "0", "-1"}) == Bulks({"b", "a", "c", "b"}));
  CHECK(h.Run({"LREM", "l", "0", "b"}) == Int(2));
  CHECK(h.Run({"LREM", "l", "0", "zz"}) == Int(0));
  CHECK(h.Run({"LREM", "l", "-9223372036854775808", "a"}) == Int(1));
  CHECK(h.Run({"LREM", "l", "5", "c"}) == Int(1));
  CHECK(h.Run({"EXISTS", "l"}) == Int(0));

  CHECK(h.Run({"LTRIM", "none", "0", "1"}) == kOk);
  CHECK(h.Run({"LTRIM", "none", "x", "1"}) == kNotInteger);
  CHECK(h.Run({"RPUSH", "t", "a", "b", "c", "d", "e"}) == Int(5));
  CHECK(h.Run({"LTRIM", "t", "1", "-2"}) == kOk);
  CHECK(h.Run({"LRANGE", "t", "0", "-1"}) == Bulks({"b", "c", "d"}));
  CHECK(h.Run({"LTRIM", "t", "-100", "100"}) == kOk);
  CHECK(h.Run({"LLEN", "t"}) == Int(3));
  CHECK(h.Run({"LTRIM", "t", "1", "1"}) == kOk);
  CHECK(h.Run({"LRANGE", "t", "0", "-1"}) == Bulks({"c"}));
  CHECK(h.Run({"LTRIM", "t", "5", "10"}) == kOk);  // empty range: the key goes
  CHECK(h.Run({"EXISTS", "t"}) == Int(0));
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"LREM", "s", "0", "a"}) == kWrongType);
  CHECK(h.Run({"LTRIM", "s", "0", "1"}) == kWrongType);
}

TEST_CASE("LPOS with RANK, COUNT and MAXLEN", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LPOS", "none", "a"}) == kNil);
  CHECK(h.Run({"LPOS", "none", "a", "COUNT", "0"}) == kEmpty);
  CHECK(h.Run({"RPUSH", "l", "a", "b", "c", "a", "b", "c"}) == Int(6));
  CHECK(h.Run({"LPOS", "l", "b"}) == Int(1));
  CHECK(h.Run({"LPOS", "l", "z"}) == kNil);
  CHECK(h.Run({"LPOS", "l", "b", "COUNT", "0"}) == Ints({1, 4}));
  CHECK(h.Run({"LPOS", "l", "z", "COUNT", "0"}) == kEmpty);
  CHECK(h.Run({"LPOS", "l", "b", "RANK", "2"}) == Int(4));
  CHECK(h.Run({"LPOS", "l", "b", "RANK", "3"}) == kNil);
  CHECK(h.Run({"LPOS", "l", "b", "RANK", "-1"}) == Int(4));
  CHECK(h.Run({"LPOS", "l", "b", "RANK", "-2"}) == Int(1));
  CHECK(h.Run({"LPOS", "l", "a", "COUNT", "1"}) == Ints({0}));
  CHECK(h.Run({"LPOS", "l", "c", "RANK", "-1", "COUNT", "5"}) == Ints({5, 2}));
  CHECK(h.Run({"LPOS", "l", "b", "RANK", "-1", "COUNT", "2", "MAXLEN", "3"}) == Ints({4}));
  CHECK(h.Run({"LPOS", "l", "c", "MAXLEN", "0", "COUNT", "0"}) == Ints({2, 5}));
  CHECK(h.Run({"LPOS", "l", "c", "MAXLEN", "2"}) == kNil);
  CHECK(h.Run({"LPOS", "l", "a", "rank", "2", "count", "0"}) == Ints({3}));
  // Redis 7.0 negates the rank in a long: INT64_MIN ranks every match, from the tail.
  CHECK(h.Run({"LPOS", "l", "a", "RANK", "-9223372036854775808"}) == Int(3));
  CHECK(h.Run({"LPOS", "l", "a", "RANK", "0"}) ==
        Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list"));
  CHECK(h.Run({"LPOS", "l", "a", "RANK", "x"}) == kNotInteger);
  CHECK(h.Run({"LPOS", "l", "a", "COUNT", "-1"}) == Err("ERR COUNT can't be negative"));
  CHECK(h.Run({"LPOS", "l", "a", "COUNT", "x"}) == Err("ERR COUNT can't be negative"));
  CHECK(h.Run({"LPOS", "l", "a", "MAXLEN", "-1"}) == Err("ERR MAXLEN can't be negative"));
  CHECK(h.Run({"LPOS", "l", "a", "FOO"}) == kSyntax);
  CHECK(h.Run({"LPOS", "l", "a", "RANK"}) == kSyntax);
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"LPOS", "s", "a"}) == kWrongType);
  CHECK(h.Run({"LPOS", "s", "a", "RANK", "0"}) ==  // options before the key
        Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list"));
}

TEST_CASE("LMOVE and RPOPLPUSH", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LMOVE", "none", "d", "LEFT", "RIGHT"}) == kNil);
  CHECK(h.Run({"RPOPLPUSH", "none", "d"}) == kNil);
  CHECK(h.Run({"EXISTS", "d"}) == Int(0));
  CHECK(h.Run({"RPUSH", "l", "a", "b", "c"}) == Int(3));
  CHECK(h.Run({"LMOVE", "l", "d", "LEFT", "RIGHT"}) == Bulk("a"));
  CHECK(h.Run({"LMOVE", "l", "d", "right", "left"}) == Bulk("c"));
  CHECK(h.Run({"LRANGE", "d", "0", "-1"}) == Bulks({"c", "a"}));
  CHECK(h.Run({"RPOPLPUSH", "l", "d"}) == Bulk("b"));
  CHECK(h.Run({"EXISTS", "l"}) == Int(0));
  CHECK(h.Run({"LRANGE", "d", "0", "-1"}) == Bulks({"b", "c", "a"}));
  // Same key: a rotation.
  CHECK(h.Run({"LMOVE", "d", "d", "LEFT", "RIGHT"}) == Bulk("b"));
  CHECK(h.Run({"LRANGE", "d", "0", "-1"}) == Bulks({"c", "a", "b"}));
  CHECK(h.Run({"RPOPLPUSH", "d", "d"}) == Bulk("b"));
  CHECK(h.Run({"LRANGE", "d", "0", "-1"}) == Bulks({"b", "c", "a"}));
  CHECK(h.Run({"RPUSH", "one", "x"}) == Int(1));
  CHECK(h.Run({"LMOVE", "one", "one", "LEFT", "LEFT"}) == Bulk("x"));
  CHECK(h.Run({"LRANGE", "one", "0", "-1"}) == Bulks({"x"}));
  CHECK(h.Run({"LMOVE", "d", "e", "UP", "LEFT"}) == kSyntax);
  CHECK(h.Run({"LMOVE", "d", "e", "LEFT", "DOWN"}) == kSyntax);
  // A destination of another type: nothing moves.
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"LMOVE", "d", "s", "LEFT", "LEFT"}) == kWrongType);
  CHECK(h.Run({"RPOPLPUSH", "d", "s"}) == kWrongType);
  CHECK(h.Run({"LLEN", "d"}) == Int(3));
  CHECK(h.Run({"LMOVE", "s", "d", "LEFT", "LEFT"}) == kWrongType);
  CHECK(h.Run({"RPOPLPUSH", "none", "s"}) == kNil);  // the absent source is seen first
}

TEST_CASE("LMPOP", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"LMPOP", "1", "none", "LEFT"}) == kNullArray);
  CHECK(h.Run({"RPUSH", "l", "a", "b", "c"}) == Int(3));
  CHECK(h.Run({"LMPOP", "2", "none", "l", "LEFT"}) == KeyValues("l", {"a"}));
  CHECK(h.Run({"LMPOP", "2", "none", "l", "RIGHT", "COUNT", "5"}) == KeyValues("l", {"c", "b"}));
  CHECK(h.Run({"EXISTS", "l"}) == Int(0));
  const std::string kNumkeys = Err("ERR numkeys should be greater than 0");
  CHECK(h.Run({"LMPOP", "0", "l", "LEFT"}) == kNumkeys);
  CHECK(h.Run({"LMPOP", "-1", "l", "LEFT"}) == kNumkeys);
  CHECK(h.Run({"LMPOP", "abc", "l", "LEFT"}) == kNumkeys);
  CHECK(h.Run({"LMPOP", "99", "l", "LEFT"}) == kSyntax);
  CHECK(h.Run({"LMPOP", "2", "l", "LEFT"}) == kSyntax);
  CHECK(h.Run({"LMPOP", "9223372036854775807", "l", "LEFT"}) == kSyntax);
  CHECK(h.Run({"LMPOP", "1", "l", "MIDDLE"}) == kSyntax);
  const std::string kCount = Err("ERR count should be greater than 0");
  CHECK(h.Run({"LMPOP", "1", "l", "LEFT", "COUNT", "0"}) == kCount);
  CHECK(h.Run({"LMPOP", "1", "l", "LEFT", "COUNT", "-1"}) == kCount);
  CHECK(h.Run({"LMPOP", "1", "l", "LEFT", "COUNT", "x"}) == kCount);
  CHECK(h.Run({"LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"}) == kSyntax);
  CHECK(h.Run({"LMPOP", "1", "l", "LEFT", "COUNT"}) == kSyntax);
  CHECK(h.Run({"LMPOP", "1", "l", "LEFT", "foo"}) == kSyntax);
  // The first key of another type stops the search, even before a non-empty list.
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"RPUSH", "l", "a"}) == Int(1));
  CHECK(h.Run({"LMPOP", "2", "s", "l", "LEFT"}) == kWrongType);
  CHECK(h.Run({"LMPOP", "2", "l", "s", "LEFT"}) == KeyValues("l", {"a"}));
  h.client().resp = 3;
  CHECK(h.Run({"LMPOP", "1", "none", "LEFT"}) == "_\r\n");
}

TEST_CASE("blocking commands pop at once when they can, and check their arguments", "[lists]") {
  CommandHarness h;
  CHECK(h.Run({"RPUSH", "l", "a", "b", "c", "d"}) == Int(4));
  CHECK(h.Run({"BLPOP", "none", "l", "0"}) == Bulks({"l", "a"}));
  CHECK(h.Run({"BRPOP", "none", "l", "1.5"}) == Bulks({"l", "d"}));
  CHECK(h.Run({"BLMPOP", "0", "2", "none", "l", "RIGHT", "COUNT", "1"}) == KeyValues("l", {"c"}));
  CHECK(h.Run({"BLMOVE", "l", "d", "LEFT", "LEFT", "0"}) == Bulk("b"));
  CHECK(h.Run({"BRPOPLPUSH", "d", "e", "0"}) == Bulk("b"));
  CHECK(h.Run({"EXISTS", "l", "d"}) == Int(0));

  const std::string kNegative = Err("ERR timeout is negative");
  const std::string kNotFloat = Err("ERR timeout is not a float or out of range");
  CHECK(h.Run({"BLPOP", "l", "-1"}) == kNegative);
  CHECK(h.Run({"BLPOP", "l", "abc"}) == kNotFloat);
  CHECK(h.Run({"BLPOP", "l", "nan"}) == kNotFloat);
  CHECK(h.Run({"BLPOP", "l", "inf"}) == kNegative);   // too large for milliseconds
  CHECK(h.Run({"BLPOP", "l", "1e20"}) == kNegative);  // likewise
  CHECK(h.Run({"BRPOP", "l", "-0.5"}) == kNegative);
  CHECK(h.Run({"BLMOVE", "l", "d", "LEFT", "LEFT", "-1"}) == kNegative);
  CHECK(h.Run({"BLMOVE", "l", "d", "MIDDLE", "LEFT", "-1"}) == kSyntax);  // ends first
  CHECK(h.Run({"BRPOPLPUSH", "l", "d", "x"}) == kNotFloat);
  CHECK(h.Run({"BLMPOP", "-1", "1", "l", "LEFT"}) == kNegative);
  // numkeys, the direction and COUNT are checked before the timeout, as Redis does.
  CHECK(h.Run({"BLMPOP", "-1", "0", "l", "LEFT"}) == Err("ERR numkeys should be greater than 0"));
  CHECK(h.Run({"BLMPOP", "-1", "1", "l", "UP"}) == kSyntax);
  CHECK(h.Run({"BLMPOP", "0", "0", "l", "LEFT"}) == Err("ERR numkeys should be greater than 0"));
  CHECK(h.Run({"BLMPOP", "0", "1", "l", "UP"}) == kSyntax);

  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"BLPOP", "none", "s", "0"}) == kWrongType);
  CHECK(h.Run({"BLMOVE", "s", "d", "LEFT", "LEFT", "0"}) == kWrongType);
  CHECK(h.Run({"BLMPOP", "0", "1", "s", "LEFT"}) == kWrongType);

  // Unable to block (no deferred reply, as inside MULTI): the timeout reply at once, except
  // BLMOVE and BRPOPLPUSH, which answer a null bulk there, as Redis does.
  CHECK(h.Run({"BLPOP", "none", "0"}) == kNullArray);
  CHECK(h.Run({"BRPOP", "none", "0"}) == kNullArray);
  CHECK(h.Run({"BLMPOP", "0", "1", "none", "LEFT"}) == kNullArray);
  CHECK(h.Run({"BLMOVE", "none", "d", "LEFT", "LEFT", "0"}) == kNil);
  CHECK(h.Run({"BRPOPLPUSH", "none", "d", "0"}) == kNil);
  h.client().resp = 3;
  CHECK(h.Run({"BLPOP", "none", "0"}) == "_\r\n");
  CHECK(h.Run({"BLMOVE", "none", "d", "LEFT", "LEFT", "0"}) == "_\r\n");
  CHECK(Blocked(h) == 0);
}

TEST_CASE("a blocked BLPOP is served by a later push, first blocked first served", "[lists]") {
  CommandHarness h;
  auto first = h.Start({"BLPOP", "a", "b", "0"});
  auto second = h.Start({"BRPOP", "b", "0"});
  auto third = h.Start({"BLPOP", "b", "0"});
  CHECK(Blocked(h) == 3);
  CHECK_FALSE(Ready(first));
  CHECK(h.Run({"RPUSH", "b", "x", "y"}) == Int(2));
  // The push replies first; the blocked clients are served after it, in the order they came.
  REQUIRE(Ready(first));
  REQUIRE(Ready(second));
  CHECK(first.get() == Bulks({"b", "x"}));
  CHECK(second.get() == Bulks({"b", "y"}));
  CHECK_FALSE(Ready(third));
  CHECK(h.Run({"EXISTS", "b"}) == Int(0));
  CHECK(Blocked(h) == 1);
  CHECK(h.Run({"LPUSH", "b", "z"}) == Int(1));
  REQUIRE(Ready(third));
  CHECK(third.get() == Bulks({"b", "z"}));
  CHECK(Blocked(h) == 0);
  CHECK(h.Run({"EXISTS", "b"}) == Int(0));
}

TEST_CASE("a blocked client is served from the key that became ready", "[lists]") {
  CommandHarness h;
  auto waiter = h.Start({"BLMPOP", "0", "3", "a", "b", "c", "RIGHT", "COUNT", "2"});
  CHECK(h.Run({"RPUSH", "c", "1", "2", "3"}) == Int(3));
  REQUIRE(Ready(waiter));
  CHECK(waiter.get() == KeyValues("c", {"3", "2"}));
  CHECK(h.Run({"LRANGE", "c", "0", "-1"}) == Bulks({"1"}));
  // A push to a key of another database does not serve.
  auto other = h.Start({"BLPOP", "q", "0"});
  CHECK(h.Run({"SELECT", "1"}) == kOk);
  CHECK(h.Run({"RPUSH", "q", "v"}) == Int(1));
  CHECK_FALSE(Ready(other));
  CHECK(h.Run({"SELECT", "0"}) == kOk);
  CHECK(h.Run({"RPUSH", "q", "w"}) == Int(1));
  REQUIRE(Ready(other));
  CHECK(other.get() == Bulks({"q", "w"}));
}

TEST_CASE("BLMOVE waits, and the element it moves serves the clients on the destination",
          "[lists]") {
  CommandHarness h;
  auto mover = h.Start({"BLMOVE", "src", "mid", "RIGHT", "LEFT", "0"});
  auto chained = h.Start({"BRPOPLPUSH", "mid", "dst", "0"});
  auto last = h.Start({"BLPOP", "dst", "0"});
  CHECK(Blocked(h) == 3);
  CHECK(h.Run({"RPUSH", "src", "a", "b"}) == Int(2));
  REQUIRE(Ready(mover));
  CHECK(mover.get() == Bulk("b"));
  REQUIRE(Ready(chained));
  CHECK(chained.get() == Bulk("b"));
  REQUIRE(Ready(last));
  CHECK(last.get() == Bulks({"dst", "b"}));
  CHECK(h.Run({"LRANGE", "src", "0", "-1"}) == Bulks({"a"}));
  CHECK(h.Run({"EXISTS", "mid", "dst"}) == Int(0));
  CHECK(Blocked(h) == 0);
}

TEST_CASE("a blocked BLMOVE whose destination has the wrong type gets WRONGTYPE", "[lists]") {
  CommandHarness h;
  auto mover = h.Start({"BLMOVE", "src", "s", "LEFT", "LEFT", "0"});
  CHECK(h.Run({"SET", "s", "v"}) == kOk);
  CHECK(h.Run({"RPUSH", "src", "a"}) == Int(1));
  REQUIRE(Ready(mover));
  CHECK(mover.get() == kWrongType);
  CHECK(h.Run({"LRANGE", "src", "0", "-1"}) == Bulks({"a"}));
}

TEST_CASE("a blocked client on a key set to another type keeps waiting", "[lists]") {
  CommandHarness h;
  auto waiter = h.Start({"BLPOP", "k", "0"});
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"DEL", "k"}) == Int(1));
  CHECK_FALSE(Ready(waiter));
  CHECK(h.Run({"RPUSH", "k", "x"}) == Int(1));
  REQUIRE(Ready(waiter));
  CHECK(waiter.get() == Bulks({"k", "x"}));
}

TEST_CASE("blocked clients time out with a null array and are never served after", "[lists]") {
  CommandHarness h;
  auto pop = h.Start({"BLPOP", "k", "0.05"});
  auto move = h.Start({"BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"});
  auto mpop = h.Start({"BLMPOP", "0.05", "1", "k", "LEFT"});
  CHECK(Await(pop) == kNullArray);
  CHECK(Await(move) == kNullArray);
  CHECK(Await(mpop) == kNullArray);
  CHECK(Blocked(h) == 0);
  CHECK(h.Run({"RPUSH", "k", "a"}) == Int(1));
  CHECK(h.Run({"LLEN", "k"}) == Int(1));
  // A client waiting forever still gets it, after another timed out before it.
  // A timeout beyond the clock's range waits like 0 (it is still served).
  auto huge = h.Start({"BLPOP", "j", "9e15"});
  CHECK(h.Run({"RPUSH", "j", "h"}) == Int(1));
  REQUIRE(Ready(huge));
  CHECK(huge.get() == Bulks({"j", "h"}));
  auto timed = h.Start({"BLPOP", "j", "0.01"});
  auto forever = h.Start({"BLPOP", "j", "0"});
  CHECK(Await(timed) == kNullArray);
  CHECK(h.Run({"RPUSH", "j", "v"}) == Int(1));
  REQUIRE(Ready(forever));
  CHECK(forever.get() == Bulks({"j", "v"}));
}

TEST_CASE("CLIENT UNBLOCK answers a blocked client with the timeout reply or an error", "[lists]") {
  CommandHarness h;
  auto a = h.Start({"BLPOP", "k", "0"});
  auto b = h.Start({"BLPOP", "k", "0"});
  CHECK(Blocked(h) == 2);
  // The harness numbers its clients: the first is its own, then one per Start().
  uint64_t id_a = h.client().id + 1;
  uint64_t id_b = h.client().id + 2;
  CHECK(h.Run({"CLIENT", "UNBLOCK", std::to_string(id_a)}) == Int(1));
  REQUIRE(Ready(a));
  CHECK(a.get() == kNullArray);
  CHECK(h.Run({"CLIENT", "UNBLOCK", std::to_string(id_a)}) == Int(0));
  CHECK(h.Run({"CLIENT", "UNBLOCK", std::to_string(id_b), "FOO"}) ==
        Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"));
  CHECK(h.Run({"CLIENT", "UNBLOCK", "x"}) == kNotInteger);
  CHECK(h.Run({"CLIENT", "UNBLOCK", std::to_string(id_b), "error"}) == Int(1));
  REQUIRE(Ready(b));
  CHECK(b.get() == Err("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
  CHECK(Blocked(h) == 0);
  CHECK(h.Run({"RPUSH", "k", "v"}) == Int(1));
  CHECK(h.Run({"LLEN", "k"}) == Int(1));
}

TEST_CASE("INFO counts blocked clients", "[lists]") {
  CommandHarness h;
  auto a = h.Start({"BLPOP", "k", "0"});
  CHECK(h.Run({"INFO", "clients"}).find("blocked_clients:1\r\n") != std::string::npos);
  CHECK(h.Run({"RPUSH", "k", "v"}) == Int(1));
  REQUIRE(Ready(a));
  CHECK(h.Run({"INFO", "clients"}).find("blocked_clients:0\r\n") != std::string::npos);
}

TEST_CASE("ParseBlockTimeout follows Redis' conversion to milliseconds", "[lists]") {
  std::string out;
  ReplyBuilder reply(&out);
  int64_t ms = -1;
  CHECK(ParseBlockTimeout("0", &ms, reply));
  CHECK(ms == 0);
  CHECK(ParseBlockTimeout("1.5", &ms, reply));
  CHECK(ms == 1500);
  CHECK(ParseBlockTimeout("0.0001", &ms, reply));  // truncates to 0: forever
  CHECK(ms == 0);
  CHECK(ParseBlockTimeout("-0.0001", &ms, reply));
  CHECK(ms == 0);
  CHECK(out.empty());
  CHECK_FALSE(ParseBlockTimeout("-1", &ms, reply));
  CHECK(out == "-ERR timeout is negative\r\n");
}

TEST_CASE("list Ops and ListObject match a reference deque", "[lists]") {
  CommandHarness h;
  ShardLocks locks;
  locks.LockOne(h.server().keyspace(), "k");
  Db db(&h.server().keyspace(), 0);
  std::deque<std::string> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 3000; ++step) {
    std::string v(rng() % 40, static_cast<char>('a' + rng() % 3));  // long and short strings
    switch (rng() % 6) {
      case 0:
        REQUIRE(OpPush(db, "k", {v}, ListEnd::kLeft, false).value ==
                static_cast<int64_t>(model.size() + 1));
        model.push_front(v);
        break;
      case 1:
      case 2:
        REQUIRE(OpPush(db, "k", {v}, ListEnd::kRight, false).ok());
        model.push_back(v);
        break;
      case 3: {
        auto r = OpPop(db, "k", ListEnd::kLeft, rng() % 3);
        for (const auto& got : r.value.values) {
          REQUIRE(got == model.front());
          model.pop_front();
        }
        REQUIRE(r.value.key_deleted == (model.empty() && !r.value.values.empty()));
        break;
      }
      case 4: {
        if (model.empty()) break;
        int64_t i = static_cast<int64_t>(rng() % model.size());
        REQUIRE(OpSet(db, "k", i, v).value);
        model[static_cast<size_t>(i)] = v;
        break;
      }
      default: {
        // LREM with a random count: 0 = all, > 0 from the head, < 0 from the tail.
        int64_t count = static_cast<int64_t>(rng() % 5) - 2;
        bool deleted = false;
        auto r = OpRem(db, "k", count, v, &deleted);
        int64_t expected = 0;
        auto limit = static_cast<int64_t>(count < 0 ? -count : count);
        if (count >= 0) {
          for (auto it = model.begin(); it != model.end() && (limit == 0 || expected < limit);) {
            if (*it == v) {
              it = model.erase(it);
              ++expected;
            } else {
              ++it;
            }
          }
        } else {
          for (size_t i = model.size(); i > 0 && expected < limit; --i) {
            if (model[i - 1] == v) {
              model.erase(model.begin() + static_cast<std::ptrdiff_t>(i - 1));
              ++expected;
            }
          }
        }
        REQUIRE(r.value == expected);
        REQUIRE(deleted == (model.empty() && expected > 0));
        break;
      }
    }
    REQUIRE(OpLen(db, "k").value == static_cast<int64_t>(model.size()));
  }
  auto all = OpRange(db, "k", 0, -1);
  REQUIRE(all.value.size() == model.size());
  for (size_t i = 0; i < model.size(); ++i) CHECK(all.value[i] == model[i]);
  Entry* e = db.Find("k");
  if (e != nullptr) {
    auto* list = static_cast<ListObject*>(e->object());
    // Memory grows with the payload: at least the long strings' bytes plus a slot each.
    size_t payload = 0;
    for (const auto& s : model) payload += s.size() > 15 ? s.size() : 0;
    CHECK(list->MemoryUsage() >= payload + model.size() * sizeof(std::string));
    // A copy's strings are allocated to size; the original's may have kept larger buffers.
    auto copy = list->Clone();
    CHECK(copy->MemoryUsage() <= list->MemoryUsage());
    CHECK(copy->MemoryUsage() >= payload + model.size() * sizeof(std::string));
  }
}

TEST_CASE("RENAME, COPY, MOVE and SWAPDB serve the clients blocked on the new key", "[lists]") {
  CommandHarness h;
  auto renamed = h.Start({"BLPOP", "r", "0"});
  CHECK(h.Run({"RPUSH", "src", "1"}) == Int(1));
  CHECK(h.Run({"RENAME", "src", "r"}) == kOk);
  REQUIRE(Ready(renamed));
  CHECK(renamed.get() == Bulks({"r", "1"}));

  auto renamed_nx = h.Start({"BLPOP", "rnx", "0"});
  CHECK(h.Run({"RPUSH", "src", "2"}) == Int(1));
  CHECK(h.Run({"RENAMENX", "src", "rnx"}) == Int(1));
  REQUIRE(Ready(renamed_nx));
  CHECK(renamed_nx.get() == Bulks({"rnx", "2"}));

  auto copied = h.Start({"BLPOP", "c", "0"});
  CHECK(h.Run({"RPUSH", "src", "3"}) == Int(1));
  CHECK(h.Run({"COPY", "src", "c"}) == Int(1));
  REQUIRE(Ready(copied));
  CHECK(copied.get() == Bulks({"c", "3"}));
  CHECK(h.Run({"LLEN", "src"}) == Int(1));  // the original stays

  // The harness' blocked clients use database 0.
  auto moved = h.Start({"BLPOP", "m", "0"});
  CHECK(h.Run({"SELECT", "1"}) == kOk);
  CHECK(h.Run({"RPUSH", "m", "4"}) == Int(1));
  CHECK(h.Run({"MOVE", "m", "0"}) == Int(1));
  REQUIRE(Ready(moved));
  CHECK(moved.get() == Bulks({"m", "4"}));

  auto swapped = h.Start({"BLPOP", "w", "0"});
  CHECK(h.Run({"RPUSH", "w", "5"}) == Int(1));  // in database 1
  CHECK_FALSE(Ready(swapped));
  CHECK(h.Run({"SWAPDB", "0", "1"}) == kOk);
  REQUIRE(Ready(swapped));
  CHECK(swapped.get() == Bulks({"w", "5"}));
  CHECK(Blocked(h) == 0);
}
