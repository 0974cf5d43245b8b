// Set commands through the real dispatcher (exact RESP bytes, checked against redis-server
// 7.0.15), their Op functions directly, and SetObject's two encodings.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "command_harness.h"
#include "family_test_util.h"
#include "server/set_object.h"
#include "server/set_ops.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kEmpty = "*0\r\n";
std::set<std::string> MemberSet(const std::string& resp, char type = '*') {
  auto v = BulkArray(resp, type);
  return std::set<std::string>(v.begin(), v.end());
}

std::string Encoding(CommandHarness& h, const std::string& key) {
  return h.Run({"OBJECT", "ENCODING", key});
}

// SADD key <prefix>0 ... <prefix><n-1> in one command.
std::string Fill(CommandHarness& h, const std::string& key, int n, const std::string& prefix) {
  std::vector<std::string> args = {"SADD", key};
  for (int i = 0; i < n; ++i) args.push_back(prefix + std::to_string(i));
  return h.Run(args);
}

std::set<std::string> Names(int n, const std::string& prefix) {
  std::set<std::string> s;
  for (int i = 0; i < n; ++i) s.insert(prefix + std::to_string(i));
  return s;
}

std::string Set3(const std::string& a, const std::string& b, const std::string& c) {
  return "~3\r\n" + Bulk(a) + Bulk(b) + Bulk(c);
}

}  // namespace

TEST_CASE("set commands are registered with Redis' flags, arity and key positions", "[sets]") {
  CommandHarness h;
  struct Want {
    const char* name;
    uint32_t flags;
    int arity, first, last;
  };
  const Want wants[] = {
      {"sadd", kWrite | kDenyOom | kFast, -3, 1, 1},
      {"srem", kWrite | kFast, -3, 1, 1},
      {"smove", kWrite | kFast, 4, 1, 2},
      {"sismember", kReadOnly | kFast, 3, 1, 1},
      {"smismember", kReadOnly | kFast, -3, 1, 1},
      {"scard", kReadOnly | kFast, 2, 1, 1},
      {"spop", kWrite | kFast, -2, 1, 1},
      {"srandmember", kReadOnly, -2, 1, 1},
      {"sinter", kReadOnly, -2, 1, -1},
      {"sintercard", kReadOnly | kNoShardLock, -3, 0, 0},
      {"sinterstore", kWrite | kDenyOom, -3, 1, -1},
      {"sunion", kReadOnly, -2, 1, -1},
      {"sunionstore", kWrite | kDenyOom, -3, 1, -1},
      {"sdiff", kReadOnly, -2, 1, -1},
      {"sdiffstore", kWrite | kDenyOom, -3, 1, -1},
      {"smembers", kReadOnly, 2, 1, 1},
      {"sscan", kReadOnly, -3, 1, 1},
  };
  for (const Want& w : wants) {
    INFO(w.name);
    const CommandSpec* spec = h.server().registry().Find(w.name);
    REQUIRE(spec != nullptr);
    CHECK(spec->flags == w.flags);
    CHECK(spec->arity == w.arity);
    CHECK(spec->first_key == w.first);
    CHECK(spec->last_key == w.last);
  }
  CHECK(h.Run({"SADD", "s"}) == Err("ERR wrong number of arguments for 'sadd' command"));
  CHECK(h.Run({"SINTERCARD", "1"}) ==
        Err("ERR wrong number of arguments for 'sintercard' command"));
}

TEST_CASE("SADD and SREM keep Redis' intset and hashtable encodings", "[sets]") {
  CommandHarness h;
  CHECK(h.Run({"SADD", "s", "3", "1", "2", "1"}) == Int(3));
  CHECK(Encoding(h, "s") == Bulk("intset"));
  CHECK(h.Run({"TYPE", "s"}) == Simple("set"));
  // An intset iterates in ascending order, as redis-server answers.
  CHECK(h.Run({"SMEMBERS", "s"}) == Arr({Bulk("1"), Bulk("2"), Bulk("3")}));
  CHECK(h.Run({"SADD", "s", "a"}) == Int(1));
  CHECK(Encoding(h, "s") == Bulk("hashtable"));
  CHECK(MemberSet(h.Run({"SMEMBERS", "s"})) == std::set<std::string>{"1", "2", "3", "a"});
  // Never back to an intset.
  CHECK(h.Run({"SREM", "s", "a"}) == Int(1));
  CHECK(Encoding(h, "s") == Bulk("hashtable"));

  SECTION("non-canonical integers are strings") {
    for (const char* m : {"-0", "+1", "01", " 1", "9223372036854775808", "1.0"}) {
      INFO(m);
      CHECK(h.Run({"DEL", "t"}).size() > 0);
      CHECK(h.Run({"SADD", "t", m}) == Int(1));
      CHECK(Encoding(h, "t") == Bulk("hashtable"));
    }
    CHECK(h.Run({"DEL", "t"}) == Int(1));
    CHECK(h.Run({"SADD", "t", "-9223372036854775808", "9223372036854775807"}) == Int(2));
    CHECK(Encoding(h, "t") == Bulk("intset"));
    CHECK(h.Run({"SISMEMBER", "t", "-9223372036854775808"}) == Int(1));
  }

  SECTION("512 integers stay an intset, the 513th converts") {
    CHECK(Fill(h, "big", 512, "") == Int(512));
    CHECK(Encoding(h, "big") == Bulk("intset"));
    CHECK(h.Run({"SADD", "big", "511"}) == Int(0));
    CHECK(Encoding(h, "big") == Bulk("intset"));
    CHECK(h.Run({"SADD", "big", "512"}) == Int(1));
    CHECK(Encoding(h, "big") == Bulk("hashtable"));
    CHECK(h.Run({"SCARD", "big"}) == Int(513));
    CHECK(MemberSet(h.Run({"SMEMBERS", "big"})) == Names(513, ""));
  }

  SECTION("SREM counts members removed; the last one deletes the key") {
    CHECK(h.Run({"SREM", "s", "1", "1", "x", "2"}) == Int(2));
    CHECK(h.Run({"SREM", "nokey", "1"}) == Int(0));
    CHECK(h.Run({"SREM", "s", "3", "4"}) == Int(1));
    CHECK_FALSE(Exists(h, "s"));
    CHECK(h.Run({"SCARD", "s"}) == Int(0));
  }

  SECTION("a write keeps the TTL") {
    CHECK(h.Run({"EXPIRE", "s", "100"}) == Int(1));
    CHECK(h.Run({"SADD", "s", "9"}) == Int(1));
    CHECK(h.Run({"SREM", "s", "9"}) == Int(1));
    CHECK(h.Run({"TTL", "s"}) == Int(100));
  }
}

TEST_CASE("every set command refuses a key of another type", "[sets]") {
  CommandHarness h;
  REQUIRE(h.Run({"SET", "str", "x"}) == kOk);
  REQUIRE(h.Run({"SADD", "s", "1"}) == Int(1));
  const std::vector<std::vector<std::string>> commands = {
      {"SADD", "str", "1"},
      {"SREM", "str", "1"},
      {"SMEMBERS", "str"},
      {"SISMEMBER", "str", "1"},
      {"SMISMEMBER", "str", "1"},
      {"SCARD", "str"},
      {"SPOP", "str"},
      {"SPOP", "str", "1"},
      {"SRANDMEMBER", "str"},
      {"SRANDMEMBER", "str", "1"},
      {"SRANDMEMBER", "str", "-1"},
      {"SMOVE", "str", "s", "1"},
      {"SMOVE", "s", "str", "1"},
      {"SMOVE", "s", "str", "99"},
      // Redis 7.0 checks every key's type before it looks at absent keys.
      {"SINTER", "nokey", "str"},
      {"SINTER", "str", "nokey"},
      {"SINTERCARD", "2", "nokey", "str"},
      {"SINTERSTORE", "d", "nokey", "str"},
      {"SUNION", "nokey", "str"},
      {"SUNIONSTORE", "d", "nokey", "str"},
      {"SDIFF", "nokey", "str"},
      {"SDIFF", "s", "str"},
      {"SDIFFSTORE", "d", "nokey", "str"},
      {"SSCAN", "str", "0"},
      {"SSCAN", "str", "0", "COUNT", "0"},
  };
  for (const auto& c : commands) {
    INFO(c[0] << " " << c[1]);
    CHECK(h.Run(c) == kWrongType);
  }
  CHECK(h.Run({"GET", "str"}) == Bulk("x"));
  CHECK_FALSE(Exists(h, "d"));
  // An absent source moves nothing, whatever the destination holds.
  CHECK(h.Run({"SMOVE", "nokey", "str", "1"}) == Int(0));
  // The argument errors come before the key.
  CHECK(h.Run({"SRANDMEMBER", "str", "x"}) == kNotInteger);
  CHECK(h.Run({"SPOP", "str", "x"}) == Err("ERR value is out of range, must be positive"));
  CHECK(h.Run({"SSCAN", "str", "x"}) == Err("ERR invalid cursor"));
}

TEST_CASE("SMEMBERS SISMEMBER SMISMEMBER SCARD", "[sets]") {
  CommandHarness h;
  CHECK(h.Run({"SMEMBERS", "nokey"}) == kEmpty);
  CHECK(h.Run({"SISMEMBER", "nokey", "a"}) == Int(0));
  CHECK(h.Run({"SMISMEMBER", "nokey", "a", "b"}) == Arr({Int(0), Int(0)}));
  CHECK(h.Run({"SCARD", "nokey"}) == Int(0));
  REQUIRE(h.Run({"SADD", "s", "1", "2", "3", "a"}) == Int(4));
  CHECK(h.Run({"SISMEMBER", "s", "a"}) == Int(1));
  CHECK(h.Run({"SISMEMBER", "s", "b"}) == Int(0));
  CHECK(h.Run({"SMISMEMBER", "s", "a", "9", "1"}) == Arr({Int(1), Int(0), Int(1)}));
  CHECK(h.Run({"SCARD", "s"}) == Int(4));

  SECTION("RESP3 replies sets") {
    h.client().resp = 3;
    CHECK(h.Run({"SMEMBERS", "nokey"}) == "~0\r\n");
    REQUIRE(h.Run({"SADD", "i", "3", "1", "2"}) == Int(3));
    CHECK(h.Run({"SMEMBERS", "i"}) == Set3("1", "2", "3"));
    CHECK(MemberSet(h.Run({"SMEMBERS", "s"}), '~') == std::set<std::string>{"1", "2", "3", "a"});
    // SMISMEMBER stays an array of integers.
    CHECK(h.Run({"SMISMEMBER", "s", "a"}) == Arr({Int(1)}));
  }
}

TEST_CASE("SPOP", "[sets]") {
  CommandHarness h;
  CHECK(h.Run({"SPOP", "nokey"}) == kNil);
  CHECK(h.Run({"SPOP", "nokey", "0"}) == kEmpty);
  CHECK(h.Run({"SPOP", "nokey", "1"}) == kEmpty);
  CHECK(h.Run({"SPOP", "nokey", "-1"}) == Err("ERR value is out of range, must be positive"));
  CHECK(h.Run({"SPOP", "nokey", "1", "2"}) == kSyntax);
  REQUIRE(h.Run({"SADD", "s", "1", "2", "3"}) == Int(3));
  CHECK(h.Run({"SPOP", "s", "-1"}) == Err("ERR value is out of range, must be positive"));
  CHECK(h.Run({"SPOP", "s", "0"}) == kEmpty);
  CHECK(h.Run({"SCARD", "s"}) == Int(3));

  SECTION("one at a time until the key is gone") {
    std::set<std::string> popped;
    for (int i = 0; i < 3; ++i) {
      std::string r = h.Run({"SPOP", "s"});
      REQUIRE(r[0] == '$');
      popped.insert(r.substr(4, 1));
    }
    CHECK(popped == std::set<std::string>{"1", "2", "3"});
    CHECK_FALSE(Exists(h, "s"));
    CHECK(h.Run({"SPOP", "s"}) == kNil);
  }

  SECTION("a count at least the size takes the whole set and deletes the key") {
    CHECK(h.Run({"SPOP", "s", "10"}) == Arr({Bulk("1"), Bulk("2"), Bulk("3")}));
    CHECK_FALSE(Exists(h, "s"));
  }

  SECTION("RESP3 replies a set") {
    h.client().resp = 3;
    CHECK(h.Run({"SPOP", "nokey"}) == "_\r\n");
    CHECK(h.Run({"SPOP", "nokey", "1"}) == "~0\r\n");
    CHECK(h.Run({"SPOP", "s", "0"}) == "~0\r\n");
    CHECK(h.Run({"SPOP", "s", "3"}) == Set3("1", "2", "3"));
  }

  SECTION("popping most of a big set leaves a new set, an intset when it can be") {
    REQUIRE(Fill(h, "big", 1000, "") == Int(1000));
    REQUIRE(h.Run({"EXPIRE", "big", "100"}) == Int(1));
    CHECK(Encoding(h, "big") == Bulk("hashtable"));
    CHECK(BulkArray(h.Run({"SPOP", "big", "100"})).size() == 100);
    CHECK(Encoding(h, "big") == Bulk("hashtable"));
    auto popped = BulkArray(h.Run({"SPOP", "big", "890"}));
    CHECK(popped.size() == 890);
    CHECK(h.Run({"SCARD", "big"}) == Int(10));
    CHECK(Encoding(h, "big") == Bulk("intset"));
    CHECK(h.Run({"TTL", "big"}) == Int(100));
    auto rest = BulkArray(h.Run({"SMEMBERS", "big"}));
    std::set<std::string> all(popped.begin(), popped.end());
    for (const auto& m : rest) CHECK(all.insert(m).second);
    CHECK(all.size() == 900);
  }

  SECTION("distinct members, removed, on both encodings") {
    for (const auto& [key, prefix, n] :
         {std::tuple<std::string, std::string, int>{"ints", "", 300}, {"strs", "m", 2000}}) {
      INFO(key);
      REQUIRE(Fill(h, key, n, prefix) == Int(n));
      std::set<std::string> seen;
      // Small counts (one by one) and a count close to the size.
      for (int count : {1, 7, 50, n - 58 - 10}) {
        auto got = BulkArray(h.Run({"SPOP", key, std::to_string(count)}));
        CHECK(got.size() == static_cast<size_t>(count));
        for (const auto& m : got) CHECK(seen.insert(m).second);
      }
      CHECK(h.Run({"SCARD", key}) == Int(10));
      auto rest = BulkArray(h.Run({"SPOP", key, "1000000"}));
      CHECK(rest.size() == 10);
      for (const auto& m : rest) CHECK(seen.insert(m).second);
      CHECK(seen == Names(n, prefix));
      CHECK_FALSE(Exists(h, key));
    }
  }
}

TEST_CASE("SRANDMEMBER", "[sets]") {
  CommandHarness h;
  CHECK(h.Run({"SRANDMEMBER", "nokey"}) == kNil);
  CHECK(h.Run({"SRANDMEMBER", "nokey", "0"}) == kEmpty);
  CHECK(h.Run({"SRANDMEMBER", "nokey", "5"}) == kEmpty);
  CHECK(h.Run({"SRANDMEMBER", "nokey", "-5"}) == kEmpty);
  CHECK(h.Run({"SRANDMEMBER", "nokey", "x"}) == kNotInteger);
  const std::string kRange =
      Err("ERR value is out of range, value must between -9223372036854775807 and "
          "9223372036854775807");
  CHECK(h.Run({"SRANDMEMBER", "nokey", "-9223372036854775808"}) == kRange);
  REQUIRE(h.Run({"SADD", "s", "1", "2", "3"}) == Int(3));
  CHECK(h.Run({"SRANDMEMBER", "s", "-9223372036854775808"}) == kRange);
  CHECK(h.Run({"SRANDMEMBER", "s", "1", "2"}) == kSyntax);
  CHECK(h.Run({"SRANDMEMBER", "s", "0"}) == kEmpty);
  CHECK(h.Run({"SRANDMEMBER", "s", "100"}) == Arr({Bulk("1"), Bulk("2"), Bulk("3")}));
  CHECK(h.Run({"SCARD", "s"}) == Int(3));

  SECTION("RESP3 replies an array for a count (members may repeat), a set never") {
    h.client().resp = 3;
    CHECK(h.Run({"SRANDMEMBER", "nokey"}) == "_\r\n");
    CHECK(h.Run({"SRANDMEMBER", "nokey", "5"}) == kEmpty);
    CHECK(h.Run({"SRANDMEMBER", "s", "100"}) == Arr({Bulk("1"), Bulk("2"), Bulk("3")}));
    CHECK(BulkArray(h.Run({"SRANDMEMBER", "s", "-5"})).size() == 5);
  }

  SECTION("a huge negative count is refused before anything is built") {
    CHECK(h.Run({"SRANDMEMBER", "s", "-9223372036854775807"}) ==
          Err("ERR reply would exceed proto-max-bulk-len: count is too large"));
    CHECK(h.Run({"SRANDMEMBER", "s", "-1000000000"}) ==
          Err("ERR reply would exceed proto-max-bulk-len: count is too large"));
  }

  SECTION("a negative count over long members is refused once the reply passes the bound") {
    h.server().UpdateOptions([](Options& o) { o.proto_max_bulk_len = 1024 * 1024; });
    REQUIRE(h.Run({"SADD", "long", std::string(1000, 'x')}) == Int(1));
    CHECK(BulkArray(h.Run({"SRANDMEMBER", "long", "-1000"})).size() == 1000);
    CHECK(h.Run({"SRANDMEMBER", "long", "-2000"}) ==
          Err("ERR reply would exceed proto-max-bulk-len: count is too large"));
  }

  SECTION("positive counts give distinct members, negative counts repeat, all are reached") {
    for (const auto& [key, prefix, n] :
         {std::tuple<std::string, std::string, int>{"ints", "", 200}, {"strs", "m", 3000}}) {
      INFO(key);
      REQUIRE(Fill(h, key, n, prefix) == Int(n));
      std::set<std::string> reached;
      // Below a third of the size (sampling) and above it (shuffling).
      for (int count : {1, 5, n / 4, n / 2, n - 1}) {
        for (int round = 0; round < 5; ++round) {
          auto got = BulkArray(h.Run({"SRANDMEMBER", key, std::to_string(count)}));
          REQUIRE(got.size() == static_cast<size_t>(count));
          std::set<std::string> distinct(got.begin(), got.end());
          CHECK(distinct.size() == got.size());
          reached.insert(got.begin(), got.end());
        }
      }
      auto many = BulkArray(h.Run({"SRANDMEMBER", key, std::to_string(-20 * n)}));
      CHECK(many.size() == static_cast<size_t>(20 * n));
      std::map<std::string, int> times;
      for (const auto& m : many) ++times[m];
      // Every member drawn, and some drawn more than once.
      CHECK(times.size() == static_cast<size_t>(n));
      CHECK(std::any_of(times.begin(), times.end(), [](const auto& p) { return p.second > 1; }));
      reached.insert(many.begin(), many.end());
      CHECK(reached == Names(n, prefix));
      CHECK(h.Run({"SCARD", key}) == Int(n));
    }
  }
}

TEST_CASE("SMOVE", "[sets]") {
  CommandHarness h;
  REQUIRE(h.Run({"SADD", "s", "1", "a"}) == Int(2));
  CHECK(h.Run({"SMOVE", "nokey", "s", "a"}) == Int(0));
  CHECK(h.Run({"SMOVE", "s", "s", "a"}) == Int(1));
  CHECK(h.Run({"SMOVE", "s", "s", "zz"}) == Int(0));
  CHECK(h.Run({"SMOVE", "s", "d", "zz"}) == Int(0));
  CHECK_FALSE(Exists(h, "d"));
  CHECK(h.Run({"SMOVE", "s", "d", "1"}) == Int(1));
  // A new destination is an intset when its first member is an integer.
  CHECK(Encoding(h, "d") == Bulk("intset"));
  CHECK(h.Run({"SMEMBERS", "d"}) == Arr({Bulk("1")}));
  REQUIRE(h.Run({"SADD", "d", "a"}) == Int(1));
  // Already in the destination: still 1, and the source loses it (its last: the key goes).
  CHECK(h.Run({"SMOVE", "s", "d", "a"}) == Int(1));
  CHECK_FALSE(Exists(h, "s"));
  CHECK(MemberSet(h.Run({"SMEMBERS", "d"})) == std::set<std::string>{"1", "a"});
}

TEST_CASE("SINTER SUNION SDIFF and their STORE forms", "[sets]") {
  CommandHarness h;
  REQUIRE(h.Run({"SADD", "a", "1", "2", "3", "4"}) == Int(4));
  REQUIRE(h.Run({"SADD", "b", "3", "4", "5"}) == Int(3));
  REQUIRE(h.Run({"SADD", "c", "4", "x"}) == Int(2));

  CHECK(h.Run({"SINTER", "a", "b"}) == Arr({Bulk("3"), Bulk("4")}));
  CHECK(h.Run({"SINTER", "a", "b", "c"}) == Arr({Bulk("4")}));
  CHECK(h.Run({"SINTER", "a", "nokey"}) == kEmpty);
  CHECK(h.Run({"SINTER", "a", "a"}) == Arr({Bulk("1"), Bulk("2"), Bulk("3"), Bulk("4")}));
  // A union of integers is built as an intset: ascending, as redis-server answers.
  CHECK(h.Run({"SUNION", "b", "a", "nokey"}) ==
        Arr({Bulk("1"), Bulk("2"), Bulk("3"), Bulk("4"), Bulk("5")}));
  CHECK(MemberSet(h.Run({"SUNION", "a", "c"})) == std::set<std::string>{"1", "2", "3", "4", "x"});
  CHECK(h.Run({"SUNION", "nokey"}) == kEmpty);
  CHECK(h.Run({"SDIFF", "a", "b"}) == Arr({Bulk("1"), Bulk("2")}));
  CHECK(h.Run({"SDIFF", "a", "b", "c", "nokey"}) == Arr({Bulk("1"), Bulk("2")}));
  CHECK(h.Run({"SDIFF", "a", "nokey"}) == Arr({Bulk("1"), Bulk("2"), Bulk("3"), Bulk("4")}));
  CHECK(h.Run({"SDIFF", "nokey", "a"}) == kEmpty);
  CHECK(h.Run({"SDIFF", "a", "a"}) == kEmpty);
  CHECK(h.Run({"SDIFF", "c", "a"}) == Arr({Bulk("x")}));

  SECTION("both SDIFF algorithms agree") {
    REQUIRE(Fill(h, "huge", 3000, "") == Int(3000));
    REQUIRE(h.Run({"SADD", "few", "1", "2", "2999", "nope"}) == Int(4));
    // Testing each member of the first set (two sets), and copying the first set then removing
    // the others' members (a big first set against several small ones).
    CHECK(h.Run({"SDIFFSTORE", "d", "huge", "few"}) == Int(2997));
    CHECK(h.Run({"SISMEMBER", "d", "2"}) == Int(0));
    CHECK(h.Run({"SISMEMBER", "d", "3"}) == Int(1));
    CHECK(h.Run({"SDIFFSTORE", "d", "huge", "few", "a"}) == Int(2995));
    CHECK(h.Run({"SMISMEMBER", "d", "1", "3", "4", "5", "2999", "2998"}) ==
          Arr({Int(0), Int(0), Int(0), Int(1), Int(0), Int(1)}));
    CHECK(h.Run({"SDIFF", "few", "huge"}) == Arr({Bulk("nope")}));
    CHECK(h.Run({"SDIFF", "few", "huge", "a"}) == Arr({Bulk("nope")}));
  }

  SECTION("RESP3 replies sets") {
    h.client().resp = 3;
    CHECK(h.Run({"SINTER", "a", "nokey"}) == "~0\r\n");
    CHECK(h.Run({"SINTER", "a", "b", "c"}) == "~1\r\n" + Bulk("4"));
    CHECK(h.Run({"SUNION", "b"}) == Set3("3", "4", "5"));
    CHECK(h.Run({"SDIFF", "b", "nokey"}) == Set3("3", "4", "5"));
  }

  SECTION("STORE replaces the destination, clears its TTL, and may read it") {
    REQUIRE(h.Run({"SET", "d", "string"}) == kOk);
    REQUIRE(h.Run({"EXPIRE", "d", "100"}) == Int(1));
    CHECK(h.Run({"SINTERSTORE", "d", "a", "b"}) == Int(2));
    CHECK(h.Run({"TTL", "d"}) == Int(-1));
    CHECK(h.Run({"SMEMBERS", "d"}) == Arr({Bulk("3"), Bulk("4")}));
    CHECK(Encoding(h, "d") == Bulk("intset"));
    CHECK(h.Run({"SUNIONSTORE", "d", "d", "c"}) == Int(3));
    CHECK(Encoding(h, "d") == Bulk("hashtable"));
    CHECK(MemberSet(h.Run({"SMEMBERS", "d"})) == std::set<std::string>{"3", "4", "x"});
    CHECK(h.Run({"SDIFFSTORE", "d", "d", "b"}) == Int(1));
    CHECK(h.Run({"SMEMBERS", "d"}) == Arr({Bulk("x")}));
    CHECK(h.Run({"SINTERSTORE", "a", "a"}) == Int(4));
    CHECK(h.Run({"SCARD", "a"}) == Int(4));
  }

  SECTION("an empty result deletes the destination") {
    REQUIRE(h.Run({"SADD", "d", "old"}) == Int(1));
    CHECK(h.Run({"SINTERSTORE", "d", "a", "nokey"}) == Int(0));
    CHECK_FALSE(Exists(h, "d"));
    REQUIRE(h.Run({"SET", "d", "string"}) == kOk);
    CHECK(h.Run({"SINTERSTORE", "d", "a", "c", "b", "x"}) == Int(0));
    CHECK_FALSE(Exists(h, "d"));
    REQUIRE(h.Run({"SADD", "d", "old"}) == Int(1));
    CHECK(h.Run({"SDIFFSTORE", "d", "a", "a"}) == Int(0));
    CHECK_FALSE(Exists(h, "d"));
    REQUIRE(h.Run({"SADD", "d", "old"}) == Int(1));
    CHECK(h.Run({"SUNIONSTORE", "d", "nokey"}) == Int(0));
    CHECK_FALSE(Exists(h, "d"));
    CHECK(h.Run({"SUNIONSTORE", "d", "nokey"}) == Int(0));
  }

  SECTION("keys spread over many shards") {
    std::vector<std::string> args = {"SINTERSTORE", "dest"};
    for (int i = 0; i < 40; ++i) {
      std::string key = "k" + std::to_string(i);
      REQUIRE(h.Run({"SADD", key, "common", "only" + std::to_string(i)}) == Int(2));
      args.push_back(key);
    }
    CHECK(h.Run(args) == Int(1));
    CHECK(h.Run({"SMEMBERS", "dest"}) == Arr({Bulk("common")}));
    args[0] = "SUNIONSTORE";
    CHECK(h.Run(args) == Int(41));
    args.erase(args.begin() + 1);
    args[0] = "SINTER";
    CHECK(h.Run(args) == Arr({Bulk("common")}));
  }
}

TEST_CASE("SINTERCARD", "[sets]") {
  CommandHarness h;
  REQUIRE(h.Run({"SADD", "a", "1", "2", "3", "4"}) == Int(4));
  REQUIRE(h.Run({"SADD", "b", "2", "3", "4", "x"}) == Int(4));
  CHECK(h.Run({"SINTERCARD", "2", "a", "b"}) == Int(3));
  CHECK(h.Run({"SINTERCARD", "1", "a"}) == Int(4));
  CHECK(h.Run({"SINTERCARD", "2", "a", "b", "LIMIT", "2"}) == Int(2));
  CHECK(h.Run({"SINTERCARD", "2", "a", "b", "limit", "0"}) == Int(3));
  CHECK(h.Run({"SINTERCARD", "2", "a", "b", "LIMIT", "100"}) == Int(3));
  CHECK(h.Run({"SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "0"}) == Int(4));
  CHECK(h.Run({"SINTERCARD", "1", "nokey"}) == Int(0));
  CHECK(h.Run({"SINTERCARD", "2", "a", "nokey"}) == Int(0));

  const std::string kNumKeys = Err("ERR numkeys should be greater than 0");
  const std::string kTooMany = Err("ERR Number of keys can't be greater than number of args");
  const std::string kLimit = Err("ERR LIMIT can't be negative");
  CHECK(h.Run({"SINTERCARD", "0", "a"}) == kNumKeys);
  CHECK(h.Run({"SINTERCARD", "-1", "a"}) == kNumKeys);
  CHECK(h.Run({"SINTERCARD", "x", "a"}) == kNumKeys);
  CHECK(h.Run({"SINTERCARD", "2", "a"}) == kTooMany);
  CHECK(h.Run({"SINTERCARD", "9223372036854775807", "a"}) == kTooMany);
  CHECK(h.Run({"SINTERCARD", "1", "a", "LIMIT"}) == kSyntax);
  CHECK(h.Run({"SINTERCARD", "1", "a", "LIMIT", "-1"}) == kLimit);
  CHECK(h.Run({"SINTERCARD", "1", "a", "LIMIT", "x"}) == kLimit);
  CHECK(h.Run({"SINTERCARD", "1", "a", "LIMIT", "9223372036854775808"}) == kLimit);
  CHECK(h.Run({"SINTERCARD", "1", "a", "LIMIT", "-1", "LIMIT", "1"}) == kLimit);
  CHECK(h.Run({"SINTERCARD", "1", "a", "LIMIT", "1", "foo"}) == kSyntax);
  CHECK(h.Run({"SINTERCARD", "1", "a", "foo", "1"}) == kSyntax);
}

TEST_CASE("SSCAN", "[sets]") {
  CommandHarness h;
  CHECK(h.Run({"SSCAN", "nokey", "0"}) == kEmptyScan);
  CHECK(h.Run({"SSCAN", "nokey", "x"}) == Err("ERR invalid cursor"));
  // An absent key answers an empty page before the options are looked at.
  CHECK(h.Run({"SSCAN", "nokey", "0", "COUNT", "0"}) == kEmptyScan);
  REQUIRE(h.Run({"SADD", "s", "3", "1", "2"}) == Int(3));
  const std::string kWhole = "*2\r\n$1\r\n0\r\n" + Arr({Bulk("1"), Bulk("2"), Bulk("3")});
  // An intset comes whole with cursor 0, whatever the cursor and COUNT.
  CHECK(h.Run({"SSCAN", "s", "0"}) == kWhole);
  CHECK(h.Run({"SSCAN", "s", "-1"}) == kWhole);
  CHECK(h.Run({"SSCAN", "s", "77", "MATCH", "*", "COUNT", "1"}) == kWhole);
  CHECK(h.Run({"SSCAN", "s", "0", "MATCH", "[12]"}) ==
        "*2\r\n$1\r\n0\r\n" + Arr({Bulk("1"), Bulk("2")}));
  CHECK(h.Run({"SSCAN", "s", "18446744073709551616"}) == Err("ERR invalid cursor"));
  CHECK(h.Run({"SSCAN", "s", "0", "COUNT", "0"}) == kSyntax);
  CHECK(h.Run({"SSCAN", "s", "0", "COUNT", "-1"}) == kSyntax);
  CHECK(h.Run({"SSCAN", "s", "0", "COUNT", "x"}) == kNotInteger);
  CHECK(h.Run({"SSCAN", "s", "0", "MATCH"}) == kSyntax);
  CHECK(h.Run({"SSCAN", "s", "0", "COUNT", "1", "MATCH"}) == kSyntax);
  CHECK(h.Run({"SSCAN", "s", "0", "foo", "bar"}) == kSyntax);

  SECTION("a hashtable scan returns every member, across changes") {
    REQUIRE(Fill(h, "big", 1000, "m") == Int(1000));
    std::set<std::string> seen;
    std::string cursor = "0";
    int steps = 0;
    do {
      std::string reply = h.Run({"SSCAN", "big", cursor, "COUNT", "20"});
      REQUIRE(reply.rfind("*2\r\n$", 0) == 0);
      size_t eol = reply.find("\r\n", 4);
      size_t len = std::stoul(reply.substr(5, eol - 5));
      cursor = reply.substr(eol + 2, len);
      auto page = BulkArray(reply.substr(eol + 2 + len + 2));
      seen.insert(page.begin(), page.end());
      // Growing and shrinking midway keeps the guarantee for the members present throughout.
      if (steps == 5) REQUIRE(Fill(h, "big", 3000, "extra") == Int(3000));
      if (steps == 10) {
        std::vector<std::string> del = {"SREM", "big"};
        for (int i = 0; i < 3000; ++i) del.push_back("extra" + std::to_string(i));
        REQUIRE(h.Run(del) == Int(3000));
      }
      ++steps;
    } while (cursor != "0" && steps < 100000);
    for (const auto& m : Names(1000, "m")) CHECK(seen.count(m) == 1);
    CHECK(steps > 10);
  }

  SECTION("MATCH filters a hashtable scan") {
    REQUIRE(Fill(h, "big", 600, "m") == Int(600));
    REQUIRE(h.Run({"SADD", "big", "other"}) == Int(1));
    std::set<std::string> seen;
    std::string cursor = "0";
    do {
      std::string reply = h.Run({"SSCAN", "big", cursor, "MATCH", "o*"});
      size_t eol = reply.find("\r\n", 4);
      size_t len = std::stoul(reply.substr(5, eol - 5));
      cursor = reply.substr(eol + 2, len);
      auto page = BulkArray(reply.substr(eol + 2 + len + 2));
      seen.insert(page.begin(), page.end());
    } while (cursor != "0");
    CHECK(seen == std::set<std::string>{"other"});
  }
}

TEST_CASE("set Ops work on the keyspace directly", "[sets]") {
  CommandHarness h;
  auto run = [&](auto fn) { return WithKeys(h, {"s", "t", "d", "nokey", "str"}, fn); };
  run([](Db& db) {
    auto added = OpSAdd(db, "s", {"1", "2", "a", "2"});
    REQUIRE(added.ok());
    CHECK(added.value == 3);
    CHECK(OpSCard(db, "s").value == 3);
    CHECK(OpSIsMember(db, "s", "a").value);
    CHECK(OpSMIsMember(db, "s", {"1", "z"}).value == std::vector<bool>{true, false});

    auto moved = OpSMove(db, "s", "t", "a");
    REQUIRE(moved.ok());
    CHECK(moved.value.moved);
    CHECK(moved.value.added);
    CHECK_FALSE(moved.value.source_deleted);

    auto stored = OpSetStore(db, SetAlgebra::kUnion, "d", {"s", "t"});
    REQUIRE(stored.ok());
    CHECK(stored.value.size == 3);
    auto inter = OpSetStore(db, SetAlgebra::kInter, "d", {"s", "nokey"});
    CHECK(inter.value.size == 0);
    CHECK(inter.value.dest_deleted);
    CHECK_FALSE(inter.value.sources_found);

    auto removed = OpSRem(db, "s", {"1", "2", "9"});
    CHECK(removed.value.removed == 2);
    CHECK(removed.value.key_deleted);
    CHECK(db.Find("s") == nullptr);

    auto pop = OpSPopOne(db, "t");
    REQUIRE(pop.value.members == std::vector<std::string>{"a"});
    CHECK(pop.value.key_deleted);
    CHECK(OpSPop(db, "t", 3).value.members.empty());
    CHECK(OpSRandOne(db, "t").value == std::nullopt);

    REQUIRE(db.SetString("str", "x", false) != nullptr);
    CHECK(OpSAdd(db, "str", {"1"}).status == Status::kWrongType);
    CHECK(OpSInterCard(db, {"t", "str"}, 0).status == Status::kWrongType);
    return 0;
  });
}

TEST_CASE("SetObject: encodings, random members, Clone and MemoryUsage", "[sets]") {
  std::mt19937_64 rng(42);

  SECTION("an intset converts when a member is not an integer, and Clone copies both forms") {
    SetObject s;
    CHECK(s.intset());
    CHECK(s.Add("5"));
    CHECK(s.Add("-3"));
    CHECK_FALSE(s.Add("5"));
    CHECK(s.Contains("-3"));
    CHECK_FALSE(s.Contains("x"));
    CHECK_FALSE(s.Remove("x"));
    auto intset_copy = s.Clone();
    CHECK(intset_copy->Encoding() == "intset");
    CHECK(s.Add("x"));
    CHECK(s.Encoding() == "hashtable");
    CHECK(s.Contains("5"));
    CHECK(s.Contains("-3"));
    auto copy = s.Clone();
    CHECK(copy->Encoding() == "hashtable");
    auto* cs = static_cast<SetObject*>(copy.get());
    CHECK(s.Remove("x"));
    CHECK(cs->size() == 3);
    CHECK(cs->Contains("x"));
    CHECK(static_cast<SetObject*>(intset_copy.get())->size() == 2);
  }

  SECTION("members with any bytes, including empty and NUL") {
    SetObject s;
    const std::string nul("a\0b", 3);
    CHECK(s.Add(""));
    CHECK(s.Add(nul));
    CHECK(s.Contains(""));
    CHECK(s.Contains(nul));
    CHECK_FALSE(s.Contains("a"));
    CHECK(s.Remove(""));
    CHECK(s.size() == 1);
  }

  SECTION("Random reaches every member of a hashtable, roughly evenly") {
    SetObject s;
    for (int i = 0; i < 100; ++i) s.Add("m" + std::to_string(i));
    std::map<std::string, int> times;
    for (int i = 0; i < 100000; ++i) ++times[std::string(s.Random(rng).view())];
    REQUIRE(times.size() == 100);
    for (const auto& [m, n] : times) {
      INFO(m);
      // 1000 expected; chains of a few members keep every member well within this band.
      CHECK(n > 100);
      CHECK(n < 3000);
    }
  }

  SECTION("removing most members shrinks the table and Random keeps working") {
    SetObject s;
    for (int i = 0; i < 10000; ++i) s.Add("m" + std::to_string(i));
    size_t full = s.MemoryUsage();
    for (int i = 0; i < 9990; ++i) CHECK(s.Remove("m" + std::to_string(i)));
    CHECK(s.size() == 10);
    CHECK(s.MemoryUsage() * 50 < full);
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) seen.insert(std::string(s.Random(rng).view()));
    CHECK(seen.size() == 10);
    auto distinct = s.RandomDistinct(10, rng);
    std::set<std::string> d;
    for (const auto& m : distinct) d.insert(std::string(m.view()));
    CHECK(d == seen);
  }

  SECTION("an intset widens its integers as Redis' does, keeping order and values") {
    SetObject s;
    for (int i = 0; i < 100; ++i) s.Add(std::to_string(i));
    size_t narrow = s.MemoryUsage();
    for (const char* v : {"70000", "-40000", "1099511627776", "-9223372036854775808"}) {
      CHECK(s.Add(v));
      CHECK(s.Encoding() == "intset");
    }
    CHECK(s.MemoryUsage() > narrow);
    std::vector<std::string> order;
    s.ForEach([&](const SetMember& m) { order.emplace_back(m.view()); });
    REQUIRE(order.size() == 104);
    CHECK(order[0] == "-9223372036854775808");
    CHECK(order[1] == "-40000");
    CHECK(order[2] == "0");
    CHECK(order[101] == "99");
    CHECK(order[102] == "70000");
    CHECK(order[103] == "1099511627776");
    for (int i = 0; i < 100; ++i) CHECK(s.Contains(std::to_string(i)));
    CHECK(s.Remove("70000"));
    CHECK_FALSE(s.Contains("70000"));
    CHECK(s.Contains("1099511627776"));
  }

  SECTION("MemoryUsage grows with the members, near Redis' cost per member") {
    SetObject ints;
    for (int i = 0; i < 512; ++i) ints.Add(std::to_string(i));
    // 2 bytes a small integer, as in Redis' intset (plus vector slack).
    CHECK(ints.MemoryUsage() >= 512 * 2);
    CHECK(ints.MemoryUsage() < 512 * 2 * 2 + 128);
    SetObject strs;
    for (int i = 0; i < 10000; ++i) strs.Add("member:" + std::to_string(i));
    // Redis spends about 48-56 bytes on such a member (dictEntry, sds, bucket slot).
    CHECK(strs.MemoryUsage() > 10000 * 32);
    CHECK(strs.MemoryUsage() < 10000 * 48);
  }
}
