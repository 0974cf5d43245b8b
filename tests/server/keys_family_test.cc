// Generic key commands through the real dispatcher (exact RESP bytes, checked against
// redis-server 7.0.15), and their Op functions directly.
#include <algorithm>
#include <catch2/catch.hpp>
#include <climits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "command_harness.h"
#include "family_test_util.h"
#include "server/keys_ops.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

// A stand-in for a hash value: enough of an Object for TYPE, COPY, RENAME and OBJECT.
class FakeHash final : public Object {
 public:
  explicit FakeHash(std::map<std::string, std::string> f) : fields(std::move(f)) {}
  size_t MemoryUsage() const override { return sizeof(*this) + fields.size() * 64; }
  std::unique_ptr<Object> Clone() const override { return std::make_unique<FakeHash>(fields); }
  std::string_view Encoding() const override { return "listpack"; }
  std::map<std::string, std::string> fields;
};

const std::string kEmpty = "*0\r\n";
const std::string kIntRange =
    Err("ERR value is out of range, value must between -2147483648 and 2147483647");

Db DbOf(CommandHarness& h, int index = 0) { return Db(&h.server().keyspace(), index); }

// Test-side writes and reads go around the dispatcher, so they take the key's shard lock.
void Set(CommandHarness& h, std::string_view key, std::string_view value, int db = 0) {
  ShardLocks locks;
  locks.LockOne(h.server().keyspace(), key);
  DbOf(h, db).SetString(key, value, false);
}

void SetHash(CommandHarness& h, std::string_view key, std::map<std::string, std::string> fields,
             int db = 0) {
  ShardLocks locks;
  locks.LockOne(h.server().keyspace(), key);
  DbOf(h, db).SetObject(key, ValueType::kHash, std::make_unique<FakeHash>(std::move(fields)));
}

// The string value of a live key, or nullopt.
std::optional<std::string> Get(CommandHarness& h, std::string_view key, int db = 0) {
  ShardLocks locks;
  locks.LockOne(h.server().keyspace(), key);
  Db d = DbOf(h, db);
  Entry* e = d.Find(key);
  if (e == nullptr || e->type() != ValueType::kString) return std::nullopt;
  return std::string(e->str());
}

// Runs `fn` on the FakeHash of a live hash key (nullptr when absent) under its shard lock.
template <typename Fn>
void WithHash(CommandHarness& h, std::string_view key, int db, Fn fn) {
  ShardLocks locks;
  locks.LockOne(h.server().keyspace(), key);
  Db d = DbOf(h, db);
  Entry* e = d.Find(key);
  fn(e != nullptr && e->type() == ValueType::kHash ? static_cast<FakeHash*>(e->object()) : nullptr);
}

std::vector<std::string> SortedBulkArray(const std::string& resp) {
  size_t pos = 0;
  auto v = ParseBulkArray(resp, &pos);
  REQUIRE(pos == resp.size());
  std::sort(v.begin(), v.end());
  return v;
}

// One SCAN call: returns the next cursor and appends the keys.
std::string ScanStep(CommandHarness& h, std::vector<std::string> args,
                     std::vector<std::string>* keys) {
  std::string reply = h.Run(args);
  REQUIRE(reply.rfind("*2\r\n", 0) == 0);
  size_t pos = 4;
  REQUIRE(reply[pos] == '$');
  size_t eol = reply.find("\r\n", pos);
  size_t len = std::stoul(reply.substr(pos + 1, eol - pos - 1));
  std::string cursor = reply.substr(eol + 2, len);
  pos = eol + 2 + len + 2;
  auto page = ParseBulkArray(reply, &pos);
  REQUIRE(pos == reply.size());
  keys->insert(keys->end(), page.begin(), page.end());
  return cursor;
}

// A full SCAN iteration with `options` after the cursor; returns every key returned.
std::vector<std::string> ScanAll(CommandHarness& h, std::vector<std::string> options = {}) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  int calls = 0;
  do {
    std::vector<std::string> args = {"SCAN", cursor};
    args.insert(args.end(), options.begin(), options.end());
    cursor = ScanStep(h, args, &keys);
    REQUIRE(++calls < 1000000);
  } while (cursor != "0");
  return keys;
}

}  // namespace

TEST_CASE("DEL and UNLINK count each deleted key once", "[keys]") {
  CommandHarness h;
  Set(h, "a", "1");
  Set(h, "b", "2");
  SetHash(h, "h", {{"f", "v"}});
  REQUIRE(h.Run({"DEL", "a", "a", "nokey"}) == Int(1));
  REQUIRE(h.Run({"unlink", "b", "h", "b"}) == Int(2));
  REQUIRE(h.Run({"EXISTS", "a", "b", "h"}) == Int(0));
  REQUIRE(h.Run({"DEL"}) == Err("ERR wrong number of arguments for 'del' command"));
  REQUIRE(h.Run({"UNLINK"}) == Err("ERR wrong number of arguments for 'unlink' command"));
}

TEST_CASE("DEL of keys spread over many shards locks and deletes them all", "[keys]") {
  CommandHarness h;
  std::vector<std::string> args = {"DEL"};
  for (int i = 0; i < 200; ++i) {
    args.push_back("k" + std::to_string(i));
    Set(h, args.back(), "v");
  }
  args.push_back("k0");  // a repeat is not deleted twice
  REQUIRE(h.Run(args) == Int(200));
  REQUIRE(h.Run({"KEYS", "*"}) == kEmpty);
}

TEST_CASE("EXISTS counts repeated keys and TOUCH counts existing ones", "[keys]") {
  CommandHarness h;
  Set(h, "a", "1");
  SetHash(h, "h", {{"f", "v"}});
  REQUIRE(h.Run({"EXISTS", "a", "a", "b"}) == Int(2));
  REQUIRE(h.Run({"EXISTS", "h"}) == Int(1));
  REQUIRE(h.Run({"EXISTS", "nokey"}) == Int(0));
  REQUIRE(h.Run({"TOUCH", "a", "a", "h", "nokey"}) == Int(3));
  REQUIRE(h.Run({"EXISTS"}) == Err("ERR wrong number of arguments for 'exists' command"));
}

TEST_CASE("EXPIRE PEXPIRE EXPIREAT PEXPIREAT set TTLs in their units", "[keys]") {
  CommandHarness h;
  int64_t now = h.clock().NowMs();
  Set(h, "k", "v");
  REQUIRE(h.Run({"EXPIRE", "k", "100"}) == Int(1));
  REQUIRE(h.Run({"PTTL", "k"}) == Int(100000));
  REQUIRE(h.Run({"PEXPIRETIME", "k"}) == Int(now + 100000));
  REQUIRE(h.Run({"PEXPIRE", "k", "1500"}) == Int(1));
  REQUIRE(h.Run({"PTTL", "k"}) == Int(1500));
  std::string at_s = std::to_string(now / 1000 + 50);
  REQUIRE(h.Run({"EXPIREAT", "k", at_s}) == Int(1));
  REQUIRE(h.Run({"PEXPIRETIME", "k"}) == Int((now / 1000 + 50) * 1000));
  std::string at_ms = std::to_string(now + 12345);
  REQUIRE(h.Run({"PEXPIREAT", "k", at_ms}) == Int(1));
  REQUIRE(h.Run({"PTTL", "k"}) == Int(12345));
  REQUIRE(h.Run({"EXPIRE", "nokey", "100"}) == Int(0));
  REQUIRE(h.Run({"PEXPIREAT", "nokey", at_ms}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k"}) == Err("ERR wrong number of arguments for 'expire' command"));

  h.clock().Advance(12344);
  REQUIRE(h.Run({"PTTL", "k"}) == Int(1));
  h.clock().Advance(1);
  REQUIRE(h.Run({"PTTL", "k"}) == Int(-2));
  REQUIRE(h.Run({"EXISTS", "k"}) == Int(0));
}

TEST_CASE("EXPIRE NX XX GT LT follow Redis' conditions", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  // No TTL yet: XX and GT fail (no TTL is infinite), NX and LT pass.
  REQUIRE(h.Run({"EXPIRE", "k", "100", "XX"}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k", "100", "gt"}) == Int(0));
  REQUIRE(h.Run({"TTL", "k"}) == Int(-1));
  REQUIRE(h.Run({"EXPIRE", "k", "100", "lt"}) == Int(1));
  REQUIRE(h.Run({"PERSIST", "k"}) == Int(1));
  REQUIRE(h.Run({"EXPIRE", "k", "100", "nx"}) == Int(1));
  REQUIRE(h.Run({"EXPIRE", "k", "200", "NX"}) == Int(0));
  REQUIRE(h.Run({"TTL", "k"}) == Int(100));
  // With a TTL of 100s.
  REQUIRE(h.Run({"EXPIRE", "k", "50", "GT"}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k", "100", "GT"}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k", "200", "GT"}) == Int(1));
  REQUIRE(h.Run({"EXPIRE", "k", "300", "LT"}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k", "200", "LT"}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k", "150", "LT", "XX"}) == Int(1));
  REQUIRE(h.Run({"EXPIRE", "k", "120", "xx", "gt"}) == Int(0));
  REQUIRE(h.Run({"TTL", "k"}) == Int(150));
  // Options never revive a missing key.
  REQUIRE(h.Run({"EXPIRE", "nokey", "100", "LT"}) == Int(0));
}

TEST_CASE("EXPIRE option errors use Redis' texts and order", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  const std::string nx_err =
      Err("ERR NX and XX, GT or LT options at the same time are not compatible");
  REQUIRE(h.Run({"EXPIRE", "k", "10", "nx", "xx"}) == nx_err);
  REQUIRE(h.Run({"EXPIRE", "k", "10", "NX", "GT"}) == nx_err);
  REQUIRE(h.Run({"PEXPIRE", "k", "10", "lt", "nx"}) == nx_err);
  REQUIRE(h.Run({"EXPIREAT", "k", "10", "gt", "lt"}) ==
          Err("ERR GT and LT options at the same time are not compatible"));
  REQUIRE(h.Run({"EXPIRE", "k", "10", "foo"}) == Err("ERR Unsupported option foo"));
  // Every option is read before their compatibility and the time are checked.
  REQUIRE(h.Run({"EXPIRE", "k", "abc", "nx", "xx", "bad"}) == Err("ERR Unsupported option bad"));
  REQUIRE(h.Run({"EXPIRE", "k", "abc", "nx", "xx"}) == nx_err);
  REQUIRE(h.Run({"EXPIRE", "k", "abc"}) == kNotInteger);
  REQUIRE(h.Run({"EXPIRE", "k", "1.5"}) == kNotInteger);
  REQUIRE(h.Run({"EXPIRE", "k", "+10"}) == kNotInteger);
  REQUIRE(h.Run({"TTL", "k"}) == Int(-1));
}

TEST_CASE("EXPIRE overflow is an invalid expire time", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  REQUIRE(h.Run({"EXPIRE", "k", "9223372036854775807"}) ==
          Err("ERR invalid expire time in 'expire' command"));
  // Fits after * 1000 but not after adding now.
  REQUIRE(h.Run({"EXPIRE", "k", "9223372036854774"}) ==
          Err("ERR invalid expire time in 'expire' command"));
  REQUIRE(h.Run({"EXPIRE", "k", "-9223372036854776"}) ==
          Err("ERR invalid expire time in 'expire' command"));
  REQUIRE(h.Run({"PEXPIRE", "k", "9223372036854775807"}) ==
          Err("ERR invalid expire time in 'pexpire' command"));
  REQUIRE(h.Run({"expireat", "k", "9223372036854776"}) ==
          Err("ERR invalid expire time in 'expireat' command"));
  // The error comes before the key lookup.
  REQUIRE(h.Run({"EXPIRE", "nokey", "9223372036854775807"}) ==
          Err("ERR invalid expire time in 'expire' command"));
  REQUIRE(h.Run({"TTL", "k"}) == Int(-1));
  // The extremes that do fit.
  REQUIRE(h.Run({"EXPIREAT", "k", "9223372036854775"}) == Int(1));
  REQUIRE(h.Run({"PEXPIREAT", "k", "9223372036854775807"}) == Int(1));
  REQUIRE(h.Run({"PEXPIRETIME", "k"}) == Int(INT64_MAX));
  REQUIRE(h.Run({"PEXPIREAT", "k", "-9223372036854775808"}) == Int(1));
  REQUIRE(h.Run({"EXISTS", "k"}) == Int(0));
}

TEST_CASE("EXPIRE with a time not in the future deletes the key", "[keys]") {
  CommandHarness h;
  int64_t now = h.clock().NowMs();
  Set(h, "a", "1");
  Set(h, "b", "1");
  Set(h, "c", "1");
  SetHash(h, "d", {{"f", "v"}});
  REQUIRE(h.Run({"EXPIRE", "a", "-1"}) == Int(1));
  REQUIRE(h.Run({"PEXPIRE", "b", "0"}) == Int(1));
  REQUIRE(h.Run({"PEXPIREAT", "c", std::to_string(now)}) == Int(1));
  REQUIRE(h.Run({"EXPIREAT", "d", "1"}) == Int(1));
  REQUIRE(h.Run({"EXISTS", "a", "b", "c", "d"}) == Int(0));
  // A condition that fails keeps the key even with a past time.
  Set(h, "e", "1");
  REQUIRE(h.Run({"EXPIRE", "e", "-1", "XX"}) == Int(0));
  REQUIRE(h.Run({"EXISTS", "e"}) == Int(1));
}

TEST_CASE("TTL and EXPIRETIME round to seconds like Redis", "[keys]") {
  CommandHarness h;
  int64_t now = h.clock().NowMs();
  REQUIRE(h.Run({"TTL", "nokey"}) == Int(-2));
  REQUIRE(h.Run({"PTTL", "nokey"}) == Int(-2));
  REQUIRE(h.Run({"EXPIRETIME", "nokey"}) == Int(-2));
  REQUIRE(h.Run({"PEXPIRETIME", "nokey"}) == Int(-2));
  Set(h, "k", "v");
  REQUIRE(h.Run({"TTL", "k"}) == Int(-1));
  REQUIRE(h.Run({"PTTL", "k"}) == Int(-1));
  REQUIRE(h.Run({"EXPIRETIME", "k"}) == Int(-1));
  REQUIRE(h.Run({"PEXPIRETIME", "k"}) == Int(-1));
  REQUIRE(h.Run({"PEXPIRE", "k", "1499"}) == Int(1));
  REQUIRE(h.Run({"TTL", "k"}) == Int(1));
  REQUIRE(h.Run({"PEXPIRE", "k", "1500"}) == Int(1));
  REQUIRE(h.Run({"TTL", "k"}) == Int(2));
  REQUIRE(h.Run({"PEXPIREAT", "k", std::to_string(now + 10499)}) == Int(1));
  REQUIRE(h.Run({"EXPIRETIME", "k"}) == Int((now + 10499 + 500) / 1000));
  REQUIRE(h.Run({"PEXPIRETIME", "k"}) == Int(now + 10499));
  REQUIRE(h.Run({"TTL"}) == Err("ERR wrong number of arguments for 'ttl' command"));
  REQUIRE(h.Run({"PTTL", "a", "b"}) == Err("ERR wrong number of arguments for 'pttl' command"));
}

TEST_CASE("PERSIST removes a TTL and answers whether it did", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  REQUIRE(h.Run({"PERSIST", "nokey"}) == Int(0));
  REQUIRE(h.Run({"PERSIST", "k"}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k", "10"}) == Int(1));
  REQUIRE(h.Run({"PERSIST", "k"}) == Int(1));
  REQUIRE(h.Run({"TTL", "k"}) == Int(-1));
  h.clock().Advance(20000);
  REQUIRE(h.Run({"EXISTS", "k"}) == Int(1));
}

TEST_CASE("an expired key is invisible to every key command", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  SetHash(h, "h", {{"f", "v"}});
  REQUIRE(h.Run({"PEXPIRE", "k", "100"}) == Int(1));
  REQUIRE(h.Run({"PEXPIRE", "h", "100"}) == Int(1));
  h.clock().Advance(100);
  REQUIRE(h.Run({"EXISTS", "k", "h"}) == Int(0));
  REQUIRE(h.Run({"TOUCH", "k", "h"}) == Int(0));
  REQUIRE(h.Run({"TTL", "k"}) == Int(-2));
  REQUIRE(h.Run({"PEXPIRETIME", "h"}) == Int(-2));
  REQUIRE(h.Run({"TYPE", "k"}) == Simple("none"));
  REQUIRE(h.Run({"PERSIST", "k"}) == Int(0));
  REQUIRE(h.Run({"EXPIRE", "k", "100"}) == Int(0));
  REQUIRE(h.Run({"KEYS", "*"}) == kEmpty);
  REQUIRE(h.Run({"SCAN", "0"}) == Arr({Bulk("0"), kEmpty}));
  REQUIRE(h.Run({"RANDOMKEY"}) == kNil);
  REQUIRE(h.Run({"RENAME", "k", "x"}) == Err("ERR no such key"));
  REQUIRE(h.Run({"COPY", "h", "x"}) == Int(0));
  REQUIRE(h.Run({"MOVE", "k", "1"}) == Int(0));
  REQUIRE(h.Run({"OBJECT", "ENCODING", "k"}) == kNil);
  REQUIRE(h.Run({"DEL", "k", "h"}) == Int(0));
}

TEST_CASE("expired keys are deleted on lookup and reported as expired", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  REQUIRE(h.Run({"PEXPIRE", "k", "5"}) == Int(1));
  h.clock().Advance(5);
  auto& stats = h.server().keyspace().stats();
  uint64_t before = stats.expired_keys.load();
  REQUIRE(h.Run({"TYPE", "k"}) == Simple("none"));
  REQUIRE(stats.expired_keys.load() == before + 1);
  ShardLocks locks;
  locks.LockAll(h.server().keyspace());
  REQUIRE(DbOf(h).Size() == 0);
}

TEST_CASE("TYPE names every value type", "[keys]") {
  CommandHarness h;
  Set(h, "s", "v");
  Set(h, "long", std::string(1000, 'x'));
  SetHash(h, "h", {{"f", "v"}});
  {
    ShardLocks locks;
    locks.LockKeys(h.server().keyspace(), {"l", "z", "st", "r"});
    Db d = DbOf(h);
    d.SetObject("l", ValueType::kList,
                std::make_unique<FakeHash>(std::map<std::string, std::string>{}));
    d.SetObject("z", ValueType::kZSet,
                std::make_unique<FakeHash>(std::map<std::string, std::string>{}));
    d.SetObject("st", ValueType::kSet,
                std::make_unique<FakeHash>(std::map<std::string, std::string>{}));
    d.SetObject("r", ValueType::kRow,
                std::make_unique<FakeHash>(std::map<std::string, std::string>{}));
  }
  REQUIRE(h.Run({"TYPE", "s"}) == Simple("string"));
  REQUIRE(h.Run({"TYPE", "long"}) == Simple("string"));
  REQUIRE(h.Run({"TYPE", "h"}) == Simple("hash"));
  REQUIRE(h.Run({"TYPE", "l"}) == Simple("list"));
  REQUIRE(h.Run({"TYPE", "z"}) == Simple("zset"));
  REQUIRE(h.Run({"TYPE", "st"}) == Simple("set"));
  REQUIRE(h.Run({"TYPE", "r"}) == Simple("hash"));  // a cached row is a hash to clients
  REQUIRE(h.Run({"TYPE", "nokey"}) == Simple("none"));
}

TEST_CASE("KEYS returns the keys matching a glob pattern", "[keys]") {
  CommandHarness h;
  for (auto k : {"hello", "hallo", "hxllo", "hllo", "heeeello", "a*b", "user:1", "user:22"}) {
    Set(h, k, "v");
  }
  using V = std::vector<std::string>;
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "*"})) ==
          V{"a*b", "hallo", "heeeello", "hello", "hllo", "hxllo", "user:1", "user:22"});
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "h?llo"})) == V{"hallo", "hello", "hxllo"});
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "h*llo"})) ==
          V{"hallo", "heeeello", "hello", "hllo", "hxllo"});
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "h[ae]llo"})) == V{"hallo", "hello"});
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "h[^e]llo"})) == V{"hallo", "hxllo"});
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "h[a-b]llo"})) == V{"hallo"});
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "a\\*b"})) == V{"a*b"});
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "user:?"})) == V{"user:1"});
  REQUIRE(h.Run({"KEYS", "nomatch*"}) == kEmpty);
  REQUIRE(h.Run({"KEYS"}) == Err("ERR wrong number of arguments for 'keys' command"));
  // Only the selected database.
  h.client().db = 1;
  REQUIRE(h.Run({"KEYS", "*"}) == kEmpty);
}

TEST_CASE("SCAN returns every key of a full iteration", "[keys]") {
  CommandHarness h;
  REQUIRE(h.Run({"SCAN", "0"}) == Arr({Bulk("0"), kEmpty}));
  std::set<std::string> want;
  for (int i = 0; i < 1000; ++i) {
    want.insert("key:" + std::to_string(i));
    Set(h, "key:" + std::to_string(i), "v");
  }
  for (std::string count : {"1", "7", "10", "100", "100000"}) {
    std::vector<std::string> options;
    if (count != "10") options = {"COUNT", count};
    auto got = ScanAll(h, options);
    REQUIRE(std::set<std::string>(got.begin(), got.end()) == want);
  }
  // Without resizes a key comes back exactly once.
  REQUIRE(ScanAll(h).size() == want.size());
}

TEST_CASE("SCAN returns keys present for the whole iteration across resizes", "[keys]") {
  CommandHarness h;
  std::set<std::string> stable;
  for (int i = 0; i < 2000; ++i) {
    stable.insert("s:" + std::to_string(i));
    Set(h, "s:" + std::to_string(i), "v");
  }
  std::vector<std::string> seen;
  std::string cursor = "0";
  int step = 0;
  int churn = 0;  // churn keys c:0 .. c:churn-1 exist
  do {
    cursor = ScanStep(h, {"SCAN", cursor, "COUNT", "25"}, &seen);
    ++step;
    // Grow every table several times over, then shrink them back, repeatedly.
    if (step % 8 == 2) {
      for (int i = 0; i < 6000; ++i) Set(h, "c:" + std::to_string(churn + i), "v");
      churn += 6000;
    } else if (step % 8 == 6) {
      std::vector<std::string> del = {"DEL"};
      for (int i = 0; i < churn; ++i) del.push_back("c:" + std::to_string(i));
      REQUIRE(h.Run(del) == Int(churn));
      churn = 0;
    }
    REQUIRE(step < 100000);
  } while (cursor != "0");
  std::set<std::string> got;
  for (auto& k : seen) {
    if (k.rfind("s:", 0) == 0) got.insert(k);
  }
  REQUIRE(got == stable);
}

TEST_CASE("SCAN with keys deleted during the iteration still returns the rest", "[keys]") {
  CommandHarness h;
  for (int i = 0; i < 600; ++i) Set(h, "k" + std::to_string(i), "v");
  std::vector<std::string> seen;
  std::string cursor = "0";
  int step = 0;
  do {
    cursor = ScanStep(h, {"SCAN", cursor}, &seen);
    // Delete 20 of the odd keys each step: the tables shrink under the cursor.
    if (++step <= 15) {
      std::vector<std::string> del = {"DEL"};
      for (int i = 0; i < 20; ++i)
        del.push_back("k" + std::to_string(2 * ((step - 1) * 20 + i) + 1));
      h.Run(del);
    }
  } while (cursor != "0");
  std::set<std::string> got(seen.begin(), seen.end());
  for (int i = 0; i < 600; i += 2) REQUIRE(got.count("k" + std::to_string(i)) == 1);
}

TEST_CASE("SCAN filters by MATCH and TYPE", "[keys]") {
  CommandHarness h;
  for (int i = 0; i < 50; ++i) {
    Set(h, "str:" + std::to_string(i), "v");
    SetHash(h, "hash:" + std::to_string(i), {{"f", "v"}});
  }
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  auto matching = [](std::string prefix, int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
    std::sort(v.begin(), v.end());
    return v;
  };
  REQUIRE(sorted(ScanAll(h, {"MATCH", "str:*"})) == matching("str:", 50));
  REQUIRE(sorted(ScanAll(h, {"TYPE", "hash"})) == matching("hash:", 50));
  REQUIRE(sorted(ScanAll(h, {"type", "STRING"})) == matching("str:", 50));
  REQUIRE(ScanAll(h, {"TYPE", "nosuchtype"}).empty());
  REQUIRE(sorted(ScanAll(h, {"MATCH", "hash:1?", "COUNT", "3", "TYPE", "hash"})) ==
          matching("hash:1", 10));
  REQUIRE(ScanAll(h, {"MATCH", "hash:1?", "TYPE", "string"}).empty());
  // The last MATCH wins, as in Redis.
  REQUIRE(sorted(ScanAll(h, {"MATCH", "hash:*", "MATCH", "str:4?"})).size() == 10);
  REQUIRE(ScanAll(h, {"MATCH", "*"}).size() == 100);
}

TEST_CASE("SCAN cursor and option errors match Redis", "[keys]") {
  CommandHarness h;
  Set(h, "a", "1");
  const std::string all = Arr({Bulk("0"), Arr({Bulk("a")})});
  REQUIRE(h.Run({"SCAN", "0"}) == all);
  REQUIRE(h.Run({"SCAN", "abc"}) == Err("ERR invalid cursor"));
  REQUIRE(h.Run({"SCAN", " 1"}) == Err("ERR invalid cursor"));
  REQUIRE(h.Run({"SCAN", "1x"}) == Err("ERR invalid cursor"));
  REQUIRE(h.Run({"SCAN", "-"}) == Err("ERR invalid cursor"));
  REQUIRE(h.Run({"SCAN", "18446744073709551616"}) == Err("ERR invalid cursor"));
  // strtoul's leniency, which Redis keeps: empty is 0, a '+' sign, a negation.
  REQUIRE(h.Run({"SCAN", ""}) == all);
  REQUIRE(h.Run({"SCAN", "+0"}) == all);
  REQUIRE(h.Run({"SCAN", "-0"}) == all);
  REQUIRE(h.Run({"SCAN", "18446744073709551615"}).rfind("*2\r\n", 0) == 0);
  REQUIRE(h.Run({"SCAN", "0", "COUNT", "0"}) == kSyntax);
  REQUIRE(h.Run({"SCAN", "0", "COUNT", "-1"}) == kSyntax);
  REQUIRE(h.Run({"SCAN", "0", "COUNT", "abc"}) == kNotInteger);
  REQUIRE(h.Run({"SCAN", "0", "COUNT", "99999999999999999999"}) == kNotInteger);
  REQUIRE(h.Run({"SCAN", "0", "COUNT", "9223372036854775807"}) == all);
  REQUIRE(h.Run({"SCAN", "0", "COUNT"}) == kSyntax);
  REQUIRE(h.Run({"SCAN", "0", "MATCH"}) == kSyntax);
  REQUIRE(h.Run({"SCAN", "0", "TYPE"}) == kSyntax);
  REQUIRE(h.Run({"SCAN", "0", "foo"}) == kSyntax);
  REQUIRE(h.Run({"SCAN", "abc", "foo"}) == Err("ERR invalid cursor"));
  REQUIRE(h.Run({"SCAN"}) == Err("ERR wrong number of arguments for 'scan' command"));
}

TEST_CASE("RANDOMKEY returns a live key or nil", "[keys]") {
  CommandHarness h;
  REQUIRE(h.Run({"RANDOMKEY"}) == kNil);
  Set(h, "only", "v");
  REQUIRE(h.Run({"RANDOMKEY"}) == Bulk("only"));
  std::set<std::string> keys;
  for (int i = 0; i < 20; ++i) Set(h, "k" + std::to_string(i), "v");
  std::set<std::string> seen;
  for (int i = 0; i < 400; ++i) {
    std::string r = h.Run({"RANDOMKEY"});
    REQUIRE(r[0] == '$');
    seen.insert(r);
  }
  REQUIRE(seen.size() > 10);  // spread over the keys, not stuck on one
  REQUIRE(h.Run({"RANDOMKEY", "x"}) ==
          Err("ERR wrong number of arguments for 'randomkey' command"));
}

TEST_CASE("RANDOMKEY skips expired keys", "[keys]") {
  CommandHarness h;
  for (int i = 0; i < 30; ++i) {
    Set(h, "gone" + std::to_string(i), "v");
    REQUIRE(h.Run({"PEXPIRE", "gone" + std::to_string(i), "10"}) == Int(1));
  }
  Set(h, "live", "v");
  h.clock().Advance(10);
  for (int i = 0; i < 20; ++i) REQUIRE(h.Run({"RANDOMKEY"}) == Bulk("live"));
}

TEST_CASE("RENAME moves the value and its TTL", "[keys]") {
  CommandHarness h;
  Set(h, "a", "1");
  REQUIRE(h.Run({"PEXPIRE", "a", "5000"}) == Int(1));
  REQUIRE(h.Run({"RENAME", "a", "b"}) == kOk);
  REQUIRE(h.Run({"EXISTS", "a"}) == Int(0));
  REQUIRE(Get(h, "b") == "1");
  REQUIRE(h.Run({"PTTL", "b"}) == Int(5000));
  // Over an existing key: its value and its TTL go.
  Set(h, "c", std::string(500, 'x'));
  REQUIRE(h.Run({"EXPIRE", "c", "100"}) == Int(1));
  Set(h, "d", "plain");
  REQUIRE(h.Run({"RENAME", "d", "c"}) == kOk);
  REQUIRE(Get(h, "c") == "plain");
  REQUIRE(h.Run({"TTL", "c"}) == Int(-1));
  // Heap strings and objects keep their value.
  REQUIRE(h.Run({"RENAME", "c", "long"}) == kOk);
  Set(h, "long", std::string(500, 'y'));
  REQUIRE(h.Run({"RENAME", "long", "long2"}) == kOk);
  REQUIRE(Get(h, "long2") == std::string(500, 'y'));
  SetHash(h, "h", {{"f", "v"}});
  REQUIRE(h.Run({"RENAME", "h", "h2"}) == kOk);
  REQUIRE(h.Run({"TYPE", "h2"}) == Simple("hash"));
  WithHash(h, "h2", 0, [](FakeHash* o) {
    REQUIRE(o != nullptr);
    REQUIRE(o->fields.at("f") == "v");
  });
  // Errors and the same key.
  REQUIRE(h.Run({"RENAME", "nokey", "x"}) == Err("ERR no such key"));
  REQUIRE(h.Run({"RENAME", "nokey", "nokey"}) == Err("ERR no such key"));
  REQUIRE(h.Run({"RENAME", "b", "b"}) == kOk);
  REQUIRE(h.Run({"PTTL", "b"}) == Int(5000));
  REQUIRE(h.Run({"RENAME", "b"}) == Err("ERR wrong number of arguments for 'rename' command"));
}

TEST_CASE("RENAMENX renames only onto a missing key", "[keys]") {
  CommandHarness h;
  Set(h, "a", "1");
  Set(h, "b", "2");
  REQUIRE(h.Run({"RENAMENX", "a", "b"}) == Int(0));
  REQUIRE(Get(h, "a") == "1");
  REQUIRE(h.Run({"RENAMENX", "a", "a"}) == Int(0));
  REQUIRE(h.Run({"RENAMENX", "nokey", "a"}) == Err("ERR no such key"));
  REQUIRE(h.Run({"EXPIRE", "a", "10"}) == Int(1));
  REQUIRE(h.Run({"RENAMENX", "a", "c"}) == Int(1));
  REQUIRE(Get(h, "c") == "1");
  REQUIRE(h.Run({"TTL", "c"}) == Int(10));
  // An expired destination counts as missing.
  REQUIRE(h.Run({"PEXPIRE", "b", "1"}) == Int(1));
  h.clock().Advance(1);
  REQUIRE(h.Run({"RENAMENX", "c", "b"}) == Int(1));
  REQUIRE(Get(h, "b") == "1");
}

TEST_CASE("COPY copies deeply with the TTL, to another database and with REPLACE", "[keys]") {
  CommandHarness h;
  SetHash(h, "h", {{"f", "v"}});
  REQUIRE(h.Run({"PEXPIRE", "h", "7000"}) == Int(1));
  REQUIRE(h.Run({"COPY", "h", "h2"}) == Int(1));
  REQUIRE(h.Run({"PTTL", "h2"}) == Int(7000));
  // A deep copy: changing the source leaves the copy alone.
  WithHash(h, "h", 0, [](FakeHash* o) { o->fields["f"] = "changed"; });
  WithHash(h, "h2", 0, [](FakeHash* o) { REQUIRE(o->fields.at("f") == "v"); });

  Set(h, "s", "hello");
  Set(h, "dst", "old");
  REQUIRE(h.Run({"COPY", "s", "dst"}) == Int(0));
  REQUIRE(Get(h, "dst") == "old");
  REQUIRE(h.Run({"EXPIRE", "dst", "100"}) == Int(1));
  REQUIRE(h.Run({"COPY", "s", "dst", "REPLACE"}) == Int(1));
  REQUIRE(Get(h, "dst") == "hello");
  REQUIRE(h.Run({"TTL", "dst"}) == Int(-1));
  REQUIRE(h.Run({"copy", "s", "dst", "replace", "replace"}) == Int(1));

  // To database 3, same key name allowed there.
  REQUIRE(h.Run({"COPY", "s", "s", "DB", "3"}) == Int(1));
  REQUIRE(Get(h, "s", 3) == "hello");
  REQUIRE(h.Run({"COPY", "s", "s", "DB", "3"}) == Int(0));
  Set(h, "big", std::string(300, 'z'));
  REQUIRE(h.Run({"COPY", "big", "big", "db", "3", "REPLACE"}) == Int(1));
  REQUIRE(Get(h, "big", 3) == std::string(300, 'z'));
  REQUIRE(Get(h, "big", 0) == std::string(300, 'z'));
  REQUIRE(h.Run({"COPY", "nokey", "x"}) == Int(0));
}

TEST_CASE("COPY errors match Redis", "[keys]") {
  CommandHarness h;
  Set(h, "b", "1");
  const std::string same = Err("ERR source and destination objects are the same");
  REQUIRE(h.Run({"COPY", "b", "b"}) == same);
  REQUIRE(h.Run({"COPY", "b", "b", "DB", "0"}) == same);
  REQUIRE(h.Run({"COPY", "nokey", "nokey"}) == same);
  REQUIRE(h.Run({"COPY", "b", "x", "DB", "99"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"COPY", "b", "x", "DB", "16"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"COPY", "b", "x", "DB", "-1"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"COPY", "b", "x", "DB", "abc"}) == kNotInteger);
  REQUIRE(h.Run({"COPY", "b", "x", "DB", "99999999999"}) == kIntRange);
  REQUIRE(h.Run({"COPY", "b", "x", "foo"}) == kSyntax);
  REQUIRE(h.Run({"COPY", "b", "x", "DB"}) == kSyntax);
  // The DB index is checked when read, before later options.
  REQUIRE(h.Run({"COPY", "b", "x", "DB", "99", "foo"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"COPY", "b", "x", "foo", "DB", "99"}) == kSyntax);
  REQUIRE(h.Run({"COPY", "b"}) == Err("ERR wrong number of arguments for 'copy' command"));
  REQUIRE(h.Run({"EXISTS", "x"}) == Int(0));
}

TEST_CASE("MOVE moves a key and its TTL to another database", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  REQUIRE(h.Run({"EXPIRE", "k", "100"}) == Int(1));
  REQUIRE(h.Run({"MOVE", "k", "1"}) == Int(1));
  REQUIRE(h.Run({"EXISTS", "k"}) == Int(0));
  h.client().db = 1;
  REQUIRE(Get(h, "k", 1) == "v");
  REQUIRE(h.Run({"TTL", "k"}) == Int(100));
  Set(h, "k", "other", 0);
  REQUIRE(h.Run({"MOVE", "k", "0"}) == Int(0));  // exists in the target
  REQUIRE(Get(h, "k", 1) == "v");
  REQUIRE(Get(h, "k", 0) == "other");
  REQUIRE(h.Run({"MOVE", "nokey", "0"}) == Int(0));
  SetHash(h, "h", {{"f", "v"}}, 1);
  REQUIRE(h.Run({"MOVE", "h", "15"}) == Int(1));
  WithHash(h, "h", 15, [](FakeHash* o) { REQUIRE(o != nullptr); });
}

TEST_CASE("MOVE errors match Redis", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  const std::string same = Err("ERR source and destination objects are the same");
  REQUIRE(h.Run({"MOVE", "k", "0"}) == same);
  REQUIRE(h.Run({"MOVE", "nokey", "0"}) == same);
  REQUIRE(h.Run({"MOVE", "k", "16"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"MOVE", "k", "-1"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"MOVE", "k", "abc"}) == kNotInteger);
  REQUIRE(h.Run({"MOVE", "k", "01"}) == kNotInteger);
  REQUIRE(h.Run({"MOVE", "k", "99999999999"}) == kIntRange);
  REQUIRE(h.Run({"MOVE", "k"}) == Err("ERR wrong number of arguments for 'move' command"));
}

TEST_CASE("SWAPDB swaps whole databases with their TTLs", "[keys]") {
  CommandHarness h;
  for (int i = 0; i < 100; ++i) Set(h, "zero" + std::to_string(i), "0", 0);
  Set(h, "one", "1", 1);
  REQUIRE(h.Run({"PEXPIRE", "zero7", "3000"}) == Int(1));
  REQUIRE(h.Run({"SWAPDB", "0", "1"}) == kOk);
  REQUIRE(h.Run({"KEYS", "*"}) == Arr({Bulk("one")}));
  h.client().db = 1;
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "*"})).size() == 100);
  REQUIRE(h.Run({"PTTL", "zero7"}) == Int(3000));
  h.clock().Advance(3000);
  REQUIRE(h.Run({"EXISTS", "zero7"}) == Int(0));
  REQUIRE(h.Run({"SWAPDB", "1", "1"}) == kOk);
  REQUIRE(h.Run({"DEL", "zero8"}) == Int(1));
  REQUIRE(h.Run({"SWAPDB", "15", "1"}) == kOk);
  REQUIRE(h.Run({"KEYS", "*"}) == kEmpty);
  h.client().db = 15;
  REQUIRE(SortedBulkArray(h.Run({"KEYS", "*"})).size() == 98);
}

TEST_CASE("SWAPDB errors match Redis", "[keys]") {
  CommandHarness h;
  REQUIRE(h.Run({"SWAPDB", "abc", "0"}) == Err("ERR invalid first DB index"));
  REQUIRE(h.Run({"SWAPDB", "0", "abc"}) == Err("ERR invalid second DB index"));
  REQUIRE(h.Run({"SWAPDB", "abc", "abc"}) == Err("ERR invalid first DB index"));
  REQUIRE(h.Run({"SWAPDB", "0", "16"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"SWAPDB", "-1", "0"}) == Err("ERR DB index is out of range"));
  REQUIRE(h.Run({"SWAPDB", "0", "4294967296"}) == Err("ERR invalid second DB index"));
  REQUIRE(h.Run({"SWAPDB", "-4294967296", "0"}) == Err("ERR invalid first DB index"));
  REQUIRE(h.Run({"SWAPDB", "0"}) == Err("ERR wrong number of arguments for 'swapdb' command"));
}

TEST_CASE("OBJECT ENCODING answers Redis' string encodings and the object's", "[keys]") {
  CommandHarness h;
  auto enc = [&](std::string value) {
    Set(h, "k", value);
    return h.Run({"OBJECT", "ENCODING", "k"});
  };
  REQUIRE(enc("1") == Bulk("int"));
  REQUIRE(enc("-9223372036854775808") == Bulk("int"));
  REQUIRE(enc("12345678901234567890") == Bulk("embstr"));  // 20 chars, beyond int64
  REQUIRE(enc("-0") == Bulk("embstr"));
  REQUIRE(enc("007") == Bulk("embstr"));
  REQUIRE(enc("+1") == Bulk("embstr"));
  REQUIRE(enc("") == Bulk("embstr"));
  REQUIRE(enc(std::string(44, 'a')) == Bulk("embstr"));
  REQUIRE(enc(std::string(45, 'a')) == Bulk("raw"));
  REQUIRE(enc(std::string(1000, 'a')) == Bulk("raw"));
  SetHash(h, "h", {{"f", "v"}});
  REQUIRE(h.Run({"object", "encoding", "h"}) == Bulk("listpack"));
  REQUIRE(h.Run({"OBJECT", "ENCODING", "nokey"}) == kNil);
  h.client().resp = 3;
  REQUIRE(h.Run({"OBJECT", "ENCODING", "nokey"}) == "_\r\n");
}

TEST_CASE("OBJECT REFCOUNT reports shared small integers like Redis", "[keys]") {
  CommandHarness h;
  Set(h, "zero", "0");
  Set(h, "small", "9999");
  Set(h, "big", "10000");
  Set(h, "neg", "-1");
  Set(h, "s", "abc");
  SetHash(h, "h", {{"f", "v"}});
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "zero"}) == Int(INT_MAX));
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "small"}) == Int(INT_MAX));
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "big"}) == Int(1));
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "neg"}) == Int(1));
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "s"}) == Int(1));
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "h"}) == Int(1));
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "nokey"}) == kNil);
  // With maxmemory and an LRU policy, integers are not shared.
  h.server().UpdateOptions([](Options& o) {
    o.maxmemory = 1 << 30;
    o.maxmemory_policy = "allkeys-lru";
  });
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "small"}) == Int(1));
  h.server().UpdateOptions([](Options& o) { o.maxmemory_policy = "volatile-ttl"; });
  REQUIRE(h.Run({"OBJECT", "REFCOUNT", "small"}) == Int(INT_MAX));
}

TEST_CASE("OBJECT IDLETIME follows the clock and only touching lookups reset it", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(0));
  h.clock().Advance(10'000);
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(10));
  // Lookups that Redis makes with LOOKUP_NOTOUCH leave the idle time alone.
  REQUIRE(h.Run({"EXISTS", "k"}) == Int(1));
  REQUIRE(h.Run({"TYPE", "k"}) == Simple("string"));
  REQUIRE(h.Run({"TTL", "k"}) == Int(-1));
  REQUIRE(h.Run({"PEXPIRETIME", "k"}) == Int(-1));
  REQUIRE(h.Run({"OBJECT", "ENCODING", "k"}) == Bulk("embstr"));
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(10));
  h.clock().Advance(5'000);
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(15));
  REQUIRE(h.Run({"TOUCH", "k"}) == Int(1));
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(0));
  h.clock().Advance(3'000);
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(3));
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "nokey"}) == kNil);
  h.server().UpdateOptions([](Options& o) { o.maxmemory_policy = "allkeys-lfu"; });
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) ==
          Err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
              "when switching between policies at runtime LRU and LFU data will take some time "
              "to adjust."));
}

TEST_CASE("OBJECT FREQ needs an LFU policy", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  REQUIRE(h.Run({"OBJECT", "FREQ", "k"}) ==
          Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
              "note that when switching between policies at runtime LRU and LFU data will take "
              "some time to adjust."));
  REQUIRE(h.Run({"OBJECT", "FREQ", "nokey"}) == kNil);
  h.server().UpdateOptions([](Options& o) { o.maxmemory_policy = "volatile-lfu"; });
  REQUIRE(h.Run({"OBJECT", "FREQ", "k"})[0] == ':');
}

TEST_CASE("OBJECT HELP and subcommand errors match Redis", "[keys]") {
  CommandHarness h;
  // Redis 7.0.15's text, line by line.
  REQUIRE(h.Run({"OBJECT", "HELP"}) ==
          "*15\r\n"
          "+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
          "+ENCODING <key>\r\n"
          "+    Return the kind of internal representation used in order to store the value\r\n"
          "+    associated with a <key>.\r\n"
          "+FREQ <key>\r\n"
          "+    Return the access frequency index of the <key>. The returned integer is\r\n"
          "+    proportional to the logarithm of the recent access frequency of the key.\r\n"
          "+IDLETIME <key>\r\n"
          "+    Return the idle time of the <key>, that is the approximated number of\r\n"
          "+    seconds elapsed since the last access to the key.\r\n"
          "+REFCOUNT <key>\r\n"
          "+    Return the number of references of the value associated with the specified\r\n"
          "+    <key>.\r\n"
          "+HELP\r\n"
          "+    Prints this help.\r\n");
  REQUIRE(h.Run({"object", "help"}).rfind("*15\r\n", 0) == 0);
  REQUIRE(h.Run({"OBJECT", "foo", "k"}) == Err("ERR unknown subcommand 'foo'. Try OBJECT HELP."));
  REQUIRE(h.Run({"OBJECT", "ENCODING"}) ==
          Err("ERR wrong number of arguments for 'object|encoding' command"));
  REQUIRE(h.Run({"OBJECT", "encoding", "a", "b"}) ==
          Err("ERR wrong number of arguments for 'object|encoding' command"));
  REQUIRE(h.Run({"OBJECT", "HELP", "x"}) ==
          Err("ERR wrong number of arguments for 'object|help' command"));
  REQUIRE(h.Run({"OBJECT"}) == Err("ERR wrong number of arguments for 'object' command"));
}

TEST_CASE("key commands are registered with Redis' flags and key positions", "[keys]") {
  CommandHarness h;
  const Registry& r = h.server().registry();
  auto keys = [&](std::string_view name) {
    const CommandSpec* s = r.Find(name);
    REQUIRE(s != nullptr);
    return std::tuple(s->arity, s->first_key, s->last_key, s->key_step);
  };
  REQUIRE(keys("del") == std::tuple(-2, 1, -1, 1));
  REQUIRE(keys("unlink") == std::tuple(-2, 1, -1, 1));
  REQUIRE(keys("exists") == std::tuple(-2, 1, -1, 1));
  REQUIRE(keys("touch") == std::tuple(-2, 1, -1, 1));
  REQUIRE(keys("rename") == std::tuple(3, 1, 2, 1));
  REQUIRE(keys("renamenx") == std::tuple(3, 1, 2, 1));
  REQUIRE(keys("copy") == std::tuple(-3, 1, 2, 1));
  REQUIRE(keys("expire") == std::tuple(-3, 1, 1, 1));
  REQUIRE(keys("move") == std::tuple(3, 1, 1, 1));
  for (auto name : {"keys", "scan", "randomkey", "swapdb"}) {
    REQUIRE((r.Find(name)->flags & kAllShards) != 0);
  }
  for (auto name : {"del", "expire", "rename", "copy", "move", "swapdb", "persist"}) {
    REQUIRE((r.Find(name)->flags & kWrite) != 0);
  }
  for (auto name : {"exists", "ttl", "type", "keys", "scan", "touch"}) {
    REQUIRE((r.Find(name)->flags & kReadOnly) != 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Ops without RESP

TEST_CASE("OpExpire OpTtl OpPersist work on a Db directly", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  ShardLocks locks;
  locks.LockOne(h.server().keyspace(), "k");
  Db db = DbOf(h);
  int64_t now = db.NowMs();
  REQUIRE(OpTtl(db, "k") == -1);
  REQUIRE(OpExpire(db, "nokey", now + 10, 0) == Status::kNotFound);
  REQUIRE(OpExpire(db, "k", now + 1000, kExpireXx) == Status::kNotAllowed);
  REQUIRE(OpExpire(db, "k", now + 1000, kExpireNx) == Status::kOk);
  REQUIRE(OpTtl(db, "k") == 1000);
  REQUIRE(OpExpireTime(db, "k") == now + 1000);
  REQUIRE(OpExpire(db, "k", now + 2000, kExpireGt | kExpireXx) == Status::kOk);
  REQUIRE(OpExpire(db, "k", now + 3000, kExpireLt) == Status::kNotAllowed);
  REQUIRE(OpPersist(db, "k"));
  REQUIRE_FALSE(OpPersist(db, "k"));
  REQUIRE(OpExpire(db, "k", now, 0) == Status::kOk);
  REQUIRE(OpTtl(db, "k") == -2);
  REQUIRE_FALSE(OpExists(db, "k"));
  REQUIRE(OpType(db, "k") == "none");
}

TEST_CASE("OpRename OpCopy OpMove return statuses", "[keys]") {
  CommandHarness h;
  Set(h, "a", "1");
  Set(h, "b", "2");
  ShardLocks locks;
  locks.LockAll(h.server().keyspace());
  Db db = DbOf(h);
  REQUIRE(OpRename(db, "nokey", "x", false) == Status::kNoSuchKey);
  REQUIRE(OpRename(db, "a", "b", true) == Status::kNotAllowed);
  REQUIRE(OpRename(db, "a", "a", true) == Status::kNotAllowed);
  REQUIRE(OpRename(db, "a", "a", false) == Status::kOk);
  REQUIRE(OpRename(db, "a", "b", false) == Status::kOk);
  REQUIRE_FALSE(OpExists(db, "a"));
  REQUIRE(db.Find("b")->str() == "1");
  REQUIRE(OpCopy(db, "b", "b", 0, false) == Status::kSameObject);
  REQUIRE(OpCopy(db, "b", "c", 16, false) == Status::kDbIndexOutOfRange);
  REQUIRE(OpCopy(db, "nokey", "c", 0, false) == Status::kNotFound);
  REQUIRE(OpCopy(db, "b", "b", 2, false) == Status::kOk);
  REQUIRE(OpCopy(db, "b", "b", 2, false) == Status::kNotAllowed);
  REQUIRE(OpCopy(db, "b", "b", 2, true) == Status::kOk);
  REQUIRE(OpMove(db, "b", 0) == Status::kSameObject);
  REQUIRE(OpMove(db, "b", -1) == Status::kDbIndexOutOfRange);
  REQUIRE(OpMove(db, "b", 2) == Status::kNotAllowed);
  REQUIRE(OpMove(db, "nokey", 2) == Status::kNotFound);
  REQUIRE(OpMove(db, "b", 3) == Status::kOk);
  REQUIRE(DbOf(h, 3).Find("b")->str() == "1");
  REQUIRE(OpSwapDb(h.server().keyspace(), 0, 16) == Status::kDbIndexOutOfRange);
  REQUIRE(OpSwapDb(h.server().keyspace(), 3, 0) == Status::kOk);
  REQUIRE(db.Find("b")->str() == "1");
}

TEST_CASE("AbsoluteExpireMs detects overflow like Redis", "[keys]") {
  int64_t at = 0;
  REQUIRE(AbsoluteExpireMs(10, 1000, 5, &at));
  REQUIRE(at == 10005);
  REQUIRE(AbsoluteExpireMs(-10, 1000, 0, &at));
  REQUIRE(at == -10000);
  REQUIRE(AbsoluteExpireMs(INT64_MAX, 1, 0, &at));
  REQUIRE_FALSE(AbsoluteExpireMs(INT64_MAX, 1, 1, &at));
  REQUIRE_FALSE(AbsoluteExpireMs(INT64_MAX / 1000 + 1, 1000, 0, &at));
  REQUIRE(AbsoluteExpireMs(INT64_MAX / 1000, 1000, 0, &at));
  REQUIRE_FALSE(AbsoluteExpireMs(INT64_MIN / 1000 - 1, 1000, 0, &at));
  REQUIRE(AbsoluteExpireMs(INT64_MIN, 1, 0, &at));
  REQUIRE(at == INT64_MIN);
}

TEST_CASE("IdleSeconds wraps the 24-bit LRU clock and LfuFrequency decays", "[keys]") {
  int64_t now = 1'700'000'000'000;
  uint32_t clock = LruClock(now);
  REQUIRE(IdleSeconds(clock, now) == 0);
  REQUIRE(IdleSeconds(clock - 100, now) == 100);
  // An LRU value "ahead" of the clock means the clock wrapped since.
  REQUIRE(IdleSeconds(clock + 1, now) == (1 << 24) - 2);
  int64_t minutes = (now / 60000) & 65535;
  uint32_t lfu = static_cast<uint32_t>((minutes << 8) | 20);
  REQUIRE(LfuFrequency(lfu, now, 1) == 20);
  REQUIRE(LfuFrequency(lfu, now + 5 * 60000, 1) == 15);
  REQUIRE(LfuFrequency(lfu, now + 5 * 60000, 2) == 18);
  REQUIRE(LfuFrequency(lfu, now + 500 * 60000, 1) == 0);
  REQUIRE(LfuFrequency(lfu, now + 500 * 60000, 0) == 20);
  REQUIRE(StringEncoding("42") == "int");
  REQUIRE(StringEncoding("4 2") == "embstr");
}

// Regression: Table::Replace used to copy the old entry's LRU clock to the replacing entry, so
// an overwritten key kept its old idle time. Redis answers 0 after SET on an existing key.
TEST_CASE("OBJECT IDLETIME is 0 after the key is overwritten", "[keys]") {
  CommandHarness h;
  Set(h, "k", "v");
  h.clock().Advance(100'000);
  Set(h, "k", "v2");
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(0));
}
