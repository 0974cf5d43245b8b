// Hash commands through the real dispatcher (exact RESP bytes, checked against redis-server
// 7.0.15), their Op functions directly, and HashObject's two encodings.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "command_harness.h"
#include "family_test_util.h"
#include "server/hash_object.h"
#include "server/hash_ops.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kEmpty = "*0\r\n";
// A flat field/value array as a map; REQUIREs no field twice.
std::map<std::string, std::string> PairsOf(const std::vector<std::string>& flat) {
  REQUIRE(flat.size() % 2 == 0);
  std::map<std::string, std::string> m;
  for (size_t i = 0; i < flat.size(); i += 2) REQUIRE(m.emplace(flat[i], flat[i + 1]).second);
  return m;
}

std::string Encoding(CommandHarness& h, const std::string& key) {
  return h.Run({"OBJECT", "ENCODING", key});
}

// HSET key f0 v0 ... f<n-1> v<n-1> in one command.
std::string FillHash(CommandHarness& h, const std::string& key, int n,
                     const std::string& prefix = "f") {
  std::vector<std::string> args = {"HSET", key};
  for (int i = 0; i < n; ++i) {
    args.push_back(prefix + std::to_string(i));
    args.push_back("v" + std::to_string(i));
  }
  return h.Run(args);
}

// One HSCAN call: returns the next cursor and appends the flat field/value page.
std::string HScanStep(CommandHarness& h, std::vector<std::string> args,
                      std::vector<std::string>* out) {
  std::string reply = h.Run(args);
  REQUIRE(reply.rfind("*2\r\n", 0) == 0);
  size_t pos = 4;
  size_t eol = reply.find("\r\n", pos);
  size_t len = std::stoul(reply.substr(pos + 1, eol - pos - 1));
  std::string cursor = reply.substr(eol + 2, len);
  pos = eol + 2 + len + 2;
  auto page = ParseBulkArray(reply, &pos);
  REQUIRE(pos == reply.size());
  REQUIRE(page.size() % 2 == 0);
  out->insert(out->end(), page.begin(), page.end());
  return cursor;
}

}  // namespace

TEST_CASE("hash commands are registered with Redis' flags, arity and key positions", "[hash]") {
  CommandHarness h;
  struct Want {
    const char* name;
    uint32_t flags;
    int arity;
  };
  const uint32_t w = kWrite | kDenyOom | kFast;
  const Want wants[] = {
      {"hset", w, -4},
      {"hsetnx", w, 4},
      {"hget", kReadOnly | kFast, 3},
      {"hmget", kReadOnly | kFast, -3},
      {"hmset", w, -4},
      {"hgetall", kReadOnly, 2},
      {"hdel", kWrite | kFast, -3},
      {"hexists", kReadOnly | kFast, 3},
      {"hlen", kReadOnly | kFast, 2},
      {"hstrlen", kReadOnly | kFast, 3},
      {"hkeys", kReadOnly, 2},
      {"hvals", kReadOnly, 2},
      {"hincrby", w, 4},
      {"hincrbyfloat", w, 4},
      {"hrandfield", kReadOnly, -2},
      {"hscan", kReadOnly, -3},
  };
  for (const Want& want : wants) {
    INFO(want.name);
    const CommandSpec* spec = h.server().registry().Find(want.name);
    REQUIRE(spec != nullptr);
    CHECK(spec->flags == want.flags);
    CHECK(spec->arity == want.arity);
    CHECK(spec->first_key == 1);
    CHECK(spec->last_key == 1);
    CHECK(spec->key_step == 1);
  }
  CHECK(h.Run({"hget", "h"}) == Err("ERR wrong number of arguments for 'hget' command"));
  CHECK(h.Run({"hgetall"}) == Err("ERR wrong number of arguments for 'hgetall' command"));
  // An odd number of field/value arguments passes the arity check and fails in the command.
  CHECK(h.Run({"hset", "h", "a", "1", "b"}) ==
        Err("ERR wrong number of arguments for 'hset' command"));
  CHECK(h.Run({"hmset", "h", "a", "1", "b"}) ==
        Err("ERR wrong number of arguments for 'hmset' command"));
  CHECK_FALSE(Exists(h, "h"));
}

TEST_CASE("HSET HMSET and HSETNX store fields and count the new ones", "[hash]") {
  CommandHarness h;
  CHECK(h.Run({"HSET", "h", "a", "1", "b", "2"}) == Int(2));
  CHECK(h.Run({"HSET", "h", "a", "9"}) == Int(0));
  CHECK(h.Run({"HSET", "h", "x", "1", "x", "2"}) == Int(1));  // a repeated field keeps the last
  CHECK(h.Run({"HGET", "h", "x"}) == Bulk("2"));
  CHECK(h.Run({"HMSET", "h", "c", "3"}) == kOk);
  CHECK(h.Run({"HSETNX", "h", "a", "7"}) == Int(0));
  CHECK(h.Run({"HGET", "h", "a"}) == Bulk("9"));
  CHECK(h.Run({"HSETNX", "h", "z", "7"}) == Int(1));
  CHECK(h.Run({"HSETNX", "new", "f", "v"}) == Int(1));
  CHECK(h.Run({"HGETALL", "new"}) == Arr({Bulk("f"), Bulk("v")}));
  // Insertion order in the listpack form; an update keeps the field's place.
  CHECK(h.Run({"HKEYS", "h"}) == Arr({Bulk("a"), Bulk("b"), Bulk("x"), Bulk("c"), Bulk("z")}));
  CHECK(h.Run({"HVALS", "h"}) == Arr({Bulk("9"), Bulk("2"), Bulk("2"), Bulk("3"), Bulk("7")}));
}

TEST_CASE("HGET HMGET HEXISTS HLEN HSTRLEN on present and absent fields and keys", "[hash]") {
  CommandHarness h;
  h.Run({"HSET", "h", "a", "1", "long", "hello world"});
  CHECK(h.Run({"HGET", "h", "a"}) == Bulk("1"));
  CHECK(h.Run({"HGET", "h", "nope"}) == kNil);
  CHECK(h.Run({"HGET", "nokey", "a"}) == kNil);
  CHECK(h.Run({"HMGET", "h", "a", "nope", "long"}) == Arr({Bulk("1"), kNil, Bulk("hello world")}));
  CHECK(h.Run({"HMGET", "nokey", "a", "b"}) == Arr({kNil, kNil}));
  CHECK(h.Run({"HEXISTS", "h", "a"}) == Int(1));
  CHECK(h.Run({"HEXISTS", "h", "nope"}) == Int(0));
  CHECK(h.Run({"HEXISTS", "nokey", "a"}) == Int(0));
  CHECK(h.Run({"HLEN", "h"}) == Int(2));
  CHECK(h.Run({"HLEN", "nokey"}) == Int(0));
  CHECK(h.Run({"HSTRLEN", "h", "long"}) == Int(11));
  CHECK(h.Run({"HSTRLEN", "h", "nope"}) == Int(0));
  CHECK(h.Run({"HSTRLEN", "nokey", "a"}) == Int(0));
  CHECK(h.Run({"HGETALL", "nokey"}) == kEmpty);
  CHECK(h.Run({"HKEYS", "nokey"}) == kEmpty);
  CHECK(h.Run({"HVALS", "nokey"}) == kEmpty);
  CHECK_FALSE(Exists(h, "nokey"));
}

TEST_CASE("HGETALL is a map in RESP3 and nulls are RESP3 nulls", "[hash]") {
  CommandHarness h;
  h.client().resp = 3;
  h.Run({"HSET", "h", "a", "1", "b", "2"});
  CHECK(h.Run({"HGETALL", "h"}) == "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
  CHECK(h.Run({"HGETALL", "nokey"}) == "%0\r\n");
  CHECK(h.Run({"HMGET", "h", "a", "x"}) == "*2\r\n$1\r\n1\r\n_\r\n");
  CHECK(h.Run({"HGET", "h", "x"}) == "_\r\n");
  CHECK(h.Run({"HRANDFIELD", "nokey"}) == "_\r\n");
  CHECK(h.Run({"HKEYS", "nokey"}) == kEmpty);
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "1.5"}) == Bulk("1.5"));
  CHECK(h.Run({"HSCAN", "h", "0"}) ==
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nf\r\n$3\r\n1."
        "5\r\n");
  CHECK(h.Run({"HSCAN", "nokey", "0"}) == kEmptyScan);
}

TEST_CASE("every hash command answers WRONGTYPE on another type and changes nothing", "[hash]") {
  CommandHarness h;
  h.Run({"SET", "s", "v"});
  const std::vector<std::vector<std::string>> commands = {
      {"HSET", "s", "a", "1"},
      {"HMSET", "s", "a", "1"},
      {"HSETNX", "s", "a", "1"},
      {"HGET", "s", "a"},
      {"HMGET", "s", "a"},
      {"HGETALL", "s"},
      {"HDEL", "s", "a"},
      {"HEXISTS", "s", "a"},
      {"HLEN", "s"},
      {"HSTRLEN", "s", "a"},
      {"HKEYS", "s"},
      {"HVALS", "s"},
      {"HINCRBY", "s", "a", "1"},
      {"HINCRBYFLOAT", "s", "a", "1"},
      {"HRANDFIELD", "s"},
      {"HRANDFIELD", "s", "2"},
      {"HRANDFIELD", "s", "-2", "WITHVALUES"},
      {"HSCAN", "s", "0"},
      {"HSCAN", "s", "0", "COUNT", "0"},
  };
  for (const auto& c : commands) {
    INFO(c[0]);
    CHECK(h.Run(c) == kWrongType);
  }
  CHECK(h.Run({"GET", "s"}) == Bulk("v"));
  // Argument errors come first where Redis checks them first.
  CHECK(h.Run({"HINCRBY", "s", "a", "x"}) == kNotInteger);
  CHECK(h.Run({"HINCRBYFLOAT", "s", "a", "x"}) == Err("ERR value is not a valid float"));
  CHECK(h.Run({"HSCAN", "s", "x"}) == Err("ERR invalid cursor"));
  CHECK(h.Run({"HRANDFIELD", "s", "x"}) == kNotInteger);
  CHECK(h.Run({"HRANDFIELD", "s", "1", "foo"}) == kSyntax);
}

TEST_CASE("HDEL counts deleted fields and removes an emptied hash", "[hash]") {
  CommandHarness h;
  h.Run({"HSET", "h", "a", "1", "b", "2", "c", "3"});
  CHECK(h.Run({"HDEL", "h", "a", "x"}) == Int(1));
  CHECK(h.Run({"HDEL", "h", "a", "a"}) == Int(0));
  CHECK(h.Run({"HLEN", "h"}) == Int(2));
  CHECK(h.Run({"HDEL", "h", "b", "b", "c"}) == Int(2));
  CHECK(h.Run({"EXISTS", "h"}) == Int(0));
  CHECK_FALSE(Exists(h, "h"));
  CHECK(h.Run({"HDEL", "nokey", "a"}) == Int(0));

  SECTION("a hashtable emptied field by field is removed too") {
    FillHash(h, "big", 600);
    CHECK(Encoding(h, "big") == Bulk("hashtable"));
    for (int i = 0; i < 599; ++i) {
      REQUIRE(h.Run({"HDEL", "big", "f" + std::to_string(i)}) == Int(1));
    }
    CHECK(Encoding(h, "big") == Bulk("hashtable"));  // never converts back
    CHECK(h.Run({"HGETALL", "big"}) == Arr({Bulk("f599"), Bulk("v599")}));
    CHECK(h.Run({"HDEL", "big", "f599"}) == Int(1));
    CHECK(h.Run({"TYPE", "big"}) == Simple("none"));
  }
}

TEST_CASE("HINCRBY adds, creates, and refuses bad values and overflow", "[hash]") {
  CommandHarness h;
  CHECK(h.Run({"HINCRBY", "h", "a", "5"}) == Int(5));
  CHECK(h.Run({"HINCRBY", "h", "a", "-7"}) == Int(-2));
  CHECK(h.Run({"HGET", "h", "a"}) == Bulk("-2"));
  CHECK(h.Run({"HINCRBY", "h", "a", "x"}) == kNotInteger);
  CHECK(h.Run({"HINCRBY", "h", "a", "+5"}) == kNotInteger);
  CHECK(h.Run({"HINCRBY", "h", "a", "05"}) == kNotInteger);
  CHECK(h.Run({"HINCRBY", "h", "a", "9223372036854775808"}) == kNotInteger);
  h.Run({"HSET", "h", "str", "abc", "sp", " 1", "big", "9223372036854775807", "neg",
         "-9223372036854775808"});
  CHECK(h.Run({"HINCRBY", "h", "str", "1"}) == Err("ERR hash value is not an integer"));
  CHECK(h.Run({"HINCRBY", "h", "sp", "1"}) == Err("ERR hash value is not an integer"));
  CHECK(h.Run({"HINCRBY", "h", "big", "1"}) == Err("ERR increment or decrement would overflow"));
  CHECK(h.Run({"HINCRBY", "h", "neg", "-1"}) == Err("ERR increment or decrement would overflow"));
  CHECK(h.Run({"HINCRBY", "h", "neg", "0"}) == Int(INT64_MIN));
  CHECK(h.Run({"HINCRBY", "h", "big", "-1"}) == Int(9223372036854775806));
  // A failed increment on a new key leaves no key behind.
  CHECK(h.Run({"HINCRBY", "fresh", "a", "x"}) == kNotInteger);
  CHECK_FALSE(Exists(h, "fresh"));
}

TEST_CASE("HINCRBYFLOAT adds in long double and refuses bad values", "[hash]") {
  CommandHarness h;
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "0.1"}) == Bulk("0.1"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "0.2"}) == Bulk("0.3"));
  CHECK(h.Run({"HGET", "h", "f"}) == Bulk("0.3"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "a", "1e20"}) == Bulk("100000000000000000000"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "k", "0x10"}) == Bulk("16"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "k2", "1."}) == Bulk("1"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "k3", ".5"}) == Bulk("0.5"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "k4", "+5"}) == Bulk("5"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "z", "-0.0"}) == Bulk("0"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "i", "3"}) == Bulk("3"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "i", "-1.5"}) == Bulk("1.5"));

  const std::string not_float = Err("ERR value is not a valid float");
  const std::string nan_inf = Err("ERR value is NaN or Infinity");
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "abc"}) == not_float);
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", " 1"}) == not_float);
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "1 "}) == not_float);
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "nan"}) == not_float);
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "1e5000"}) == not_float);   // overflow
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "5e-5000"}) == not_float);  // underflow to zero
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "inf"}) == nan_inf);
  CHECK(h.Run({"HINCRBYFLOAT", "h", "f", "-inf"}) == nan_inf);

  h.Run({"HSET", "h", "str", "abc", "sp", " 1", "huge", "1e5000", "inf", "inf"});
  CHECK(h.Run({"HINCRBYFLOAT", "h", "str", "1"}) == Err("ERR hash value is not a float"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "sp", "1"}) == Err("ERR hash value is not a float"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "huge", "1"}) == Err("ERR hash value is not a float"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "inf", "1"}) ==
        Err("ERR increment would produce NaN or Infinity"));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "big", "1e4932"}).size() > 4900);
  CHECK(h.Run({"HINCRBYFLOAT", "h", "big", "1e4932"}) ==
        Err("ERR increment would produce NaN or Infinity"));
  CHECK(h.Run({"HGET", "h", "f"}) == Bulk("0.3"));
}

TEST_CASE("HRANDFIELD without a count", "[hash]") {
  CommandHarness h;
  CHECK(h.Run({"HRANDFIELD", "nokey"}) == kNil);
  h.Run({"HSET", "h", "a", "1", "b", "2", "c", "3"});
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string r = h.Run({"HRANDFIELD", "h"});
    REQUIRE((r == Bulk("a") || r == Bulk("b") || r == Bulk("c")));
    seen.insert(r);
  }
  CHECK(seen.size() == 3);
}

TEST_CASE("HRANDFIELD with counts, WITHVALUES and Redis' range errors", "[hash]") {
  CommandHarness h;
  h.Run({"HSET", "h", "a", "1", "b", "2", "c", "3"});
  const std::map<std::string, std::string> all = {{"a", "1"}, {"b", "2"}, {"c", "3"}};

  // count >= HLEN: the whole hash in its order, however large the count.
  CHECK(h.Run({"HRANDFIELD", "h", "3"}) == Arr({Bulk("a"), Bulk("b"), Bulk("c")}));
  CHECK(h.Run({"HRANDFIELD", "h", "9223372036854775807"}) ==
        Arr({Bulk("a"), Bulk("b"), Bulk("c")}));
  CHECK(h.Run({"HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"}) ==
        Arr({Bulk("a"), Bulk("1"), Bulk("b"), Bulk("2"), Bulk("c"), Bulk("3")}));
  // 0 and absent keys: empty arrays.
  CHECK(h.Run({"HRANDFIELD", "h", "0"}) == kEmpty);
  CHECK(h.Run({"HRANDFIELD", "h", "0", "withvalues"}) == kEmpty);
  CHECK(h.Run({"HRANDFIELD", "nokey", "5"}) == kEmpty);
  CHECK(h.Run({"HRANDFIELD", "nokey", "-5", "WITHVALUES"}) == kEmpty);

  // 0 < count < HLEN: distinct fields.
  for (int i = 0; i < 50; ++i) {
    auto fields = BulkArray(h.Run({"HRANDFIELD", "h", "2"}));
    REQUIRE(fields.size() == 2);
    REQUIRE(fields[0] != fields[1]);
    auto pairs = PairsOf(BulkArray(h.Run({"HRANDFIELD", "h", "2", "WITHVALUES"})));
    REQUIRE(pairs.size() == 2);
    for (const auto& [f, v] : pairs) REQUIRE(all.at(f) == v);
  }

  // Negative counts: exactly -count draws, repeats allowed.
  auto many = BulkArray(h.Run({"HRANDFIELD", "h", "-100"}));
  CHECK(many.size() == 100);
  CHECK(std::set<std::string>(many.begin(), many.end()).size() == 3);
  auto flat = BulkArray(h.Run({"HRANDFIELD", "h", "-10", "WITHVALUES"}));
  REQUIRE(flat.size() == 20);
  for (size_t i = 0; i < flat.size(); i += 2) CHECK(all.at(flat[i]) == flat[i + 1]);

  // Errors, in Redis' order and texts.
  CHECK(h.Run({"HRANDFIELD", "h", "x"}) == kNotInteger);
  CHECK(h.Run({"HRANDFIELD", "h", "-9223372036854775808"}) ==
        Err("ERR value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807"));
  CHECK(h.Run({"HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"}) ==
        Err("ERR value is out of range"));
  CHECK(h.Run({"HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"}) ==
        Err("ERR value is out of range"));
  CHECK(h.Run({"HRANDFIELD", "h", "1", "withvalue"}) == kSyntax);
  CHECK(h.Run({"HRANDFIELD", "h", "1", "withvalues", "x"}) == kSyntax);
  CHECK(h.Run({"HRANDFIELD", "nokey", "1", "foo"}) == kSyntax);
  CHECK(h.Run({"HRANDFIELD", "nokey", "x"}) == kNotInteger);
}

TEST_CASE("HRANDFIELD WITHVALUES pairs each field in RESP3", "[hash]") {
  CommandHarness h;
  h.client().resp = 3;
  h.Run({"HSET", "h", "a", "1", "b", "2"});
  CHECK(h.Run({"HRANDFIELD", "h", "5", "WITHVALUES"}) ==
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
  CHECK(h.Run({"HRANDFIELD", "h", "5"}) == "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  std::string r = h.Run({"HRANDFIELD", "h", "-3", "WITHVALUES"});
  CHECK(r.rfind("*3\r\n*2\r\n", 0) == 0);
  CHECK(r.size() ==
        std::string("*3\r\n").size() + 3 * std::string("*2\r\n$1\r\na\r\n$1\r\n1\r\n").size());
  CHECK(h.Run({"HRANDFIELD", "h", "0", "WITHVALUES"}) == kEmpty);
  CHECK(h.Run({"HRANDFIELD", "nokey", "2", "WITHVALUES"}) == kEmpty);
}

TEST_CASE("HRANDFIELD on a hashtable returns distinct fields and covers the hash", "[hash]") {
  CommandHarness h;
  FillHash(h, "big", 1000);
  REQUIRE(Encoding(h, "big") == Bulk("hashtable"));
  for (int count : {1, 10, 300, 400, 999}) {  // both of Redis' sampling strategies
    INFO(count);
    auto fields = BulkArray(h.Run({"HRANDFIELD", "big", std::to_string(count)}));
    CHECK(fields.size() == static_cast<size_t>(count));
    CHECK(std::set<std::string>(fields.begin(), fields.end()).size() == fields.size());
  }
  auto pairs = PairsOf(BulkArray(h.Run({"HRANDFIELD", "big", "500", "WITHVALUES"})));
  CHECK(pairs.size() == 500);
  for (const auto& [f, v] : pairs) CHECK(f.substr(1) == v.substr(1));
  auto drawn = BulkArray(h.Run({"HRANDFIELD", "big", "-20000"}));
  CHECK(drawn.size() == 20000);
  CHECK(std::set<std::string>(drawn.begin(), drawn.end()).size() > 950);
}

TEST_CASE("HSCAN over a listpack returns everything with cursor 0", "[hash]") {
  CommandHarness h;
  h.Run({"HSET", "h", "a", "1", "b", "2", "ab", "3"});
  const std::string all =
      "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n";
  CHECK(h.Run({"HSCAN", "h", "0"}) == all);
  CHECK(h.Run({"HSCAN", "h", "12345"}) == all);  // the cursor is ignored
  CHECK(h.Run({"HSCAN", "h", "-1"}) == all);
  CHECK(h.Run({"HSCAN", "h", "0", "COUNT", "1"}) == all);
  CHECK(h.Run({"HSCAN", "h", "0", "MATCH", "a*"}) ==
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n");
  CHECK(h.Run({"HSCAN", "h", "0", "match", "zz*", "count", "5"}) == kEmptyScan);
}

TEST_CASE("HSCAN cursor and option errors match Redis", "[hash]") {
  CommandHarness h;
  h.Run({"HSET", "h", "a", "1"});
  CHECK(h.Run({"HSCAN", "h", "x"}) == Err("ERR invalid cursor"));
  CHECK(h.Run({"HSCAN", "h", "18446744073709551616"}) == Err("ERR invalid cursor"));
  CHECK(h.Run({"HSCAN", "h", "0", "COUNT", "0"}) == kSyntax);
  CHECK(h.Run({"HSCAN", "h", "0", "COUNT", "x"}) == kNotInteger);
  CHECK(h.Run({"HSCAN", "h", "0", "COUNT"}) == kSyntax);
  CHECK(h.Run({"HSCAN", "h", "0", "foo", "bar"}) == kSyntax);
  CHECK(h.Run({"HSCAN", "h", "0", "NOVALUES"}) == kSyntax);  // a Redis 7.4 option
  // An absent key answers an empty page before the options are looked at.
  CHECK(h.Run({"HSCAN", "nokey", "0", "foo"}) == kEmptyScan);
  CHECK(h.Run({"HSCAN", "nokey", "x"}) == Err("ERR invalid cursor"));
}

TEST_CASE("HSCAN full iteration over a hashtable returns every field", "[hash]") {
  CommandHarness h;
  FillHash(h, "big", 2000);
  REQUIRE(Encoding(h, "big") == Bulk("hashtable"));
  for (std::string count : {"1", "10", "100"}) {
    INFO(count);
    std::vector<std::string> flat;
    std::string cursor = "0";
    int calls = 0;
    do {
      cursor = HScanStep(h, {"HSCAN", "big", cursor, "COUNT", count}, &flat);
      REQUIRE(++calls < 100000);
    } while (cursor != "0");
    CHECK(calls > 1);
    std::map<std::string, std::string> seen;
    for (size_t i = 0; i < flat.size(); i += 2) seen[flat[i]] = flat[i + 1];
    CHECK(seen.size() == 2000);
    for (const auto& [f, v] : seen) CHECK(f.substr(1) == v.substr(1));
  }

  SECTION("with MATCH") {
    std::vector<std::string> flat;
    std::string cursor = "0";
    do {
      cursor = HScanStep(h, {"HSCAN", "big", cursor, "MATCH", "f1*"}, &flat);
    } while (cursor != "0");
    std::set<std::string> fields;
    for (size_t i = 0; i < flat.size(); i += 2) fields.insert(flat[i]);
    CHECK(fields.size() == 1111);  // f1, f10-f19, f100-f199, f1000-f1999
    for (const auto& f : fields) CHECK(f.rfind("f1", 0) == 0);
  }

  SECTION("fields present for the whole scan survive growth and shrinking in between") {
    std::vector<std::string> flat;
    std::string cursor = "0";
    int step = 0;
    do {
      cursor = HScanStep(h, {"HSCAN", "big", cursor, "COUNT", "20"}, &flat);
      ++step;
      if (step == 5) FillHash(h, "big", 6000, "g");  // grows the table several times
      if (step == 40) {
        std::vector<std::string> del = {"HDEL", "big"};
        for (int i = 0; i < 6000; ++i) del.push_back("g" + std::to_string(i));
        REQUIRE(h.Run(del) == Int(6000));  // shrinks it back
      }
    } while (cursor != "0");
    std::set<std::string> fields;
    for (size_t i = 0; i < flat.size(); i += 2) fields.insert(flat[i]);
    for (int i = 0; i < 2000; ++i) REQUIRE(fields.count("f" + std::to_string(i)) == 1);
  }
}

TEST_CASE("binary fields and values with NUL bytes round-trip", "[hash]") {
  CommandHarness h;
  const std::string f1("a\0b", 3), f2("a\0c", 3), v1("\0\r\n\0", 4), v2(100, '\0');
  std::vector<std::string> hset = {"HSET", "h", f1, v1, f2, "x"};
  CHECK(h.Run(hset) == Int(2));
  CHECK(h.Run(std::vector<std::string>{"HGET", "h", f1}) == Bulk(v1));
  CHECK(h.Run(std::vector<std::string>{"HGET", "h", std::string("a\0", 2)}) == kNil);
  CHECK(h.Run(std::vector<std::string>{"HSTRLEN", "h", f1}) == Int(4));
  CHECK(h.Run(std::vector<std::string>{"HGETALL", "h"}) ==
        Arr({Bulk(f1), Bulk(v1), Bulk(f2), Bulk("x")}));
  CHECK(Encoding(h, "h") == Bulk("listpack"));
  CHECK(h.Run(std::vector<std::string>{"HSET", "h", f2, v2}) == Int(0));  // 100 bytes: converts
  CHECK(Encoding(h, "h") == Bulk("hashtable"));
  CHECK(h.Run(std::vector<std::string>{"HGET", "h", f2}) == Bulk(v2));
  CHECK(h.Run(std::vector<std::string>{"HGET", "h", f1}) == Bulk(v1));
  CHECK(h.Run(std::vector<std::string>{"HDEL", "h", f1}) == Int(1));
  CHECK(h.Run(std::vector<std::string>{"HEXISTS", "h", f1}) == Int(0));
  CHECK(h.Run(std::vector<std::string>{"HLEN", "h"}) == Int(1));
}

TEST_CASE("OBJECT ENCODING follows Redis' listpack limits", "[hash]") {
  CommandHarness h;
  const std::string v64(64, 'x'), v65(65, 'x');
  SECTION("512 fields stay a listpack, the 513th converts") {
    FillHash(h, "h", 512);
    CHECK(Encoding(h, "h") == Bulk("listpack"));
    CHECK(h.Run({"HSET", "h", "f0", "changed"}) == Int(0));
    CHECK(Encoding(h, "h") == Bulk("listpack"));
    CHECK(h.Run({"HSET", "h", "one-more", "v"}) == Int(1));
    CHECK(Encoding(h, "h") == Bulk("hashtable"));
    CHECK(h.Run({"HLEN", "h"}) == Int(513));
    CHECK(h.Run({"HGET", "h", "f0"}) == Bulk("changed"));
    CHECK(h.Run({"HGET", "h", "f511"}) == Bulk("v511"));
  }
  SECTION("64-byte fields and values stay a listpack, 65 bytes convert") {
    h.Run({"HSET", "h", v64, v64});
    CHECK(Encoding(h, "h") == Bulk("listpack"));
    h.Run({"HSET", "h", "f", v65});
    CHECK(Encoding(h, "h") == Bulk("hashtable"));
    h.Run({"HDEL", "h", "f"});
    CHECK(Encoding(h, "h") == Bulk("hashtable"));
    h.Run({"HSET", "h2", v65, "1"});
    CHECK(Encoding(h, "h2") == Bulk("hashtable"));
    h.Run({"HSETNX", "h3", "f", v65});
    CHECK(Encoding(h, "h3") == Bulk("hashtable"));
    h.Run({"HMSET", "h4", "a", "1", "b", v65});
    CHECK(Encoding(h, "h4") == Bulk("hashtable"));
  }
  SECTION("increments that grow a value past 64 bytes convert") {
    h.Run({"HSET", "h", "f", "1"});
    CHECK(h.Run({"HINCRBY", "h", "f", "10000000000"}) == Int(10000000001));
    CHECK(Encoding(h, "h") == Bulk("listpack"));
    h.Run({"HINCRBYFLOAT", "h", "f", "1e70"});
    CHECK(Encoding(h, "h") == Bulk("hashtable"));
  }
}

TEST_CASE("hash writes keep the key's TTL", "[hash]") {
  CommandHarness h;
  h.Run({"HSET", "h", "k", "v"});
  CHECK(h.Run({"EXPIRE", "h", "100"}) == Int(1));
  h.clock().Advance(10'000);
  CHECK(h.Run({"HSET", "h", "k", "w", "n", "1"}) == Int(1));
  CHECK(h.Run({"HMSET", "h", "m", "1"}) == kOk);
  CHECK(h.Run({"HSETNX", "h", "o", "1"}) == Int(1));
  CHECK(h.Run({"HINCRBY", "h", "n", "1"}) == Int(2));
  CHECK(h.Run({"HINCRBYFLOAT", "h", "n", "1"}) == Bulk("3"));
  CHECK(h.Run({"HDEL", "h", "k"}) == Int(1));
  CHECK(h.Run({"TTL", "h"}) == Int(90));
  FillHash(h, "h", 600);  // the conversion to a hashtable keeps it too
  CHECK(Encoding(h, "h") == Bulk("hashtable"));
  CHECK(h.Run({"TTL", "h"}) == Int(90));
  h.clock().Advance(91'000);
  CHECK(h.Run({"HGET", "h", "m"}) == kNil);
  CHECK(h.Run({"HLEN", "h"}) == Int(0));
  // A write to an expired hash starts a new one without a TTL.
  CHECK(h.Run({"HSET", "h", "a", "1"}) == Int(1));
  CHECK(h.Run({"HLEN", "h"}) == Int(1));
  CHECK(h.Run({"TTL", "h"}) == Int(-1));
}

TEST_CASE("COPY and RENAME carry a hash and its encoding", "[hash]") {
  CommandHarness h;
  FillHash(h, "big", 600);
  h.Run({"HSET", "small", "a", "1"});
  CHECK(h.Run({"COPY", "big", "big2"}) == Int(1));
  CHECK(h.Run({"COPY", "small", "small2"}) == Int(1));
  CHECK(Encoding(h, "big2") == Bulk("hashtable"));
  CHECK(Encoding(h, "small2") == Bulk("listpack"));
  CHECK(h.Run({"HDEL", "big", "f1"}) == Int(1));
  CHECK(h.Run({"HLEN", "big2"}) == Int(600));
  CHECK(h.Run({"HGET", "big2", "f599"}) == Bulk("v599"));
  CHECK(h.Run({"RENAME", "small2", "s3"}) == kOk);
  CHECK(h.Run({"HGETALL", "s3"}) == Arr({Bulk("a"), Bulk("1")}));
  CHECK(h.Run({"TYPE", "s3"}) == Simple("hash"));
}

TEST_CASE("hash Ops work on a Db without RESP", "[hash]") {
  CommandHarness h;
  WithKey(h, "h", [&](Db& db) {
    auto set = OpHSet(db, "h", {"a", "1", "b", "2"});
    REQUIRE(set.ok());
    CHECK(set.value == 2);
    auto get = OpHGet(db, "h", "a");
    REQUIRE(get.ok());
    CHECK(get.value == std::optional<std::string_view>("1"));
    CHECK(OpHLen(db, "h").value == 2);
    auto inc = OpHIncrBy(db, "h", "a", 41);
    CHECK(inc.ok());
    CHECK(inc.value == 42);
    CHECK(OpHIncrBy(db, "h", "a", INT64_MAX).status == Status::kOverflow);
    CHECK(OpHIncrByFloat(db, "h", "b", 0.5L).value == "2.5");
    CHECK(OpHSetNx(db, "h", "a", "x").value == false);
    auto all = OpHGetAll(db, "h");
    REQUIRE(all.value.size() == 2);
    CHECK(all.value[0].field == "a");
    CHECK(all.value[0].value == "42");
    CHECK(OpHDel(db, "h", {"a", "b"}).value == 2);
    CHECK(db.Find("h") == nullptr);
    db.SetString("h", "str", false);
    CHECK(OpHGet(db, "h", "a").status == Status::kWrongType);
    CHECK(OpHSet(db, "h", {"a", "1"}).status == Status::kWrongType);
    return 0;
  });
}

TEST_CASE("HashObject keeps its fields across conversion, clone and shrink", "[hash]") {
  HashObject o;
  std::mt19937_64 rng(7);
  std::map<std::string, std::string> model;
  for (int round = 0; round < 20000; ++round) {
    std::string f = "k" + std::to_string(rng() % 1500);
    if (rng() % 3 == 0) {
      REQUIRE(o.Erase(f) == (model.erase(f) == 1));
    } else {
      std::string v = std::to_string(round);
      REQUIRE(o.Set(f, v) == model.insert_or_assign(f, v).second);
    }
    REQUIRE(o.size() == model.size());
  }
  CHECK_FALSE(o.listpack());
  auto copy = o.Clone();
  const auto& c = static_cast<const HashObject&>(*copy);
  CHECK(c.Encoding() == "hashtable");
  std::map<std::string, std::string> got;
  c.ForEach([&](std::string_view f, std::string_view v) { got.emplace(f, v); });
  CHECK(got == model);
  for (const auto& [f, v] : model) REQUIRE(o.Erase(f));
  CHECK(o.empty());
  CHECK(o.Find("k1") == nullptr);
  CHECK(o.Set("again", "1"));
  CHECK(*o.Find("again") == "1");
  CHECK(o.MemoryUsage() > sizeof(HashObject));
}
