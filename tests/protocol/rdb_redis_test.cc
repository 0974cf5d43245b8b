// RDB files moved both ways between rowcached and the real redis-server 7.0 (Debian's): a dump
// written by redis-server loads into a rowcached keyspace with every value, TTL and encoding
// redis-server reports, and a dump written by rowcached loads into redis-server with every
// value, type and TTL intact. The tests FAIL (never skip) when redis-server is missing; the
// redis-server process is killed when a test ends, whatever the outcome.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "protocol/process.h"
#include "protocol/resp_client.h"
#include "server/clock.h"
#include "server/hash_object.h"
#include "server/keyspace.h"
#include "server/list_object.h"
#include "server/rdb.h"
#include "server/set_object.h"
#include "server/zset_object.h"
#include "support/keyspace_image.h"

namespace rowcached::protocol_test {
namespace {

using server::Db;
using server::Entry;
using server::Keyspace;
using server::ValueType;
using testing::Image;
using testing::KeyImage;
using testing::ScoreText;

// A private redis-server on a free port with its own directory, no snapshots of its own.
// Started on `dir`/`dbfilename` when that file exists (loading it). Killed by the Process
// destructor if the test stops early.
class RedisServer {
 public:
  explicit RedisServer(const fs::path& dir) : dir_(dir), port_(FreePort()) {
    std::string binary = RequireTool("redis-server", "redis-server");
    process_.emplace(
        std::vector<std::string>{binary, "--port", std::to_string(port_), "--dir", dir.string(),
                                 "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
                                 // Deep checks of every listpack and intset it loads.
                                 "--sanitize-dump-payload", "yes", "--logfile",
                                 (dir / "redis.log").string()},
        dir);
    // Ready when PING answers PONG (during loading it answers -LOADING).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
      if (process_->WaitExit(std::chrono::milliseconds(20))) {
        FAIL("redis-server exited with " << process_->exit_code() << "; log: " << Log());
      }
      if (CanConnect(port_)) {
        RespClient c(port_);
        if (c.Command({"PING"}).str == "PONG") break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL("redis-server not ready within 60 s; log: " << Log());
      }
    }
  }

  uint16_t port() const { return port_; }
  std::string Log() const { return ReadFile(dir_ / "redis.log"); }

 private:
  fs::path dir_;
  uint16_t port_;
  std::optional<Process> process_;
};

std::vector<std::string> Strings(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& e : r.elems) out.push_back(e.str);
  return out;
}

Image RedisImage(RespClient& c, int databases) {
  Image image;
  for (int d = 0; d < databases; ++d) {
    REQUIRE(c.Command({"SELECT", std::to_string(d)}).str == "OK");
    for (const std::string& key : Strings(c.Command({"KEYS", "*"}))) {
      KeyImage k;
      k.type = c.Command({"TYPE", key}).str;
      if (k.type != "string") k.encoding = c.Command({"OBJECT", "ENCODING", key}).str;
      k.expire_at = c.Command({"PEXPIRETIME", key}).integer;
      if (k.type == "string") {
        k.value = {c.Command({"GET", key}).str};
      } else if (k.type == "list") {
        k.value = Strings(c.Command({"LRANGE", key, "0", "-1"}));
      } else if (k.type == "set") {
        k.value = Strings(c.Command({"SMEMBERS", key}));
        std::sort(k.value.begin(), k.value.end());
      } else if (k.type == "zset") {
        auto flat = Strings(c.Command({"ZRANGE", key, "0", "-1", "WITHSCORES"}));
        for (size_t i = 0; i + 1 < flat.size(); i += 2) {
          k.value.push_back(flat[i] + "=" + ScoreText(std::strtod(flat[i + 1].c_str(), nullptr)));
        }
      } else if (k.type == "hash") {
        auto flat = Strings(c.Command({"HGETALL", key}));
        for (size_t i = 0; i + 1 < flat.size(); i += 2)
          k.value.push_back(flat[i] + "=" + flat[i + 1]);
        std::sort(k.value.begin(), k.value.end());
      }
      image[{d, key}] = k;
    }
  }
  return image;
}

void CompareImages(const Image& expected, const Image& actual) {
  for (const auto& [key, image] : expected) {
    INFO("db " << key.first << " key " << RespClient::Printable(key.second));
    auto it = actual.find(key);
    REQUIRE(it != actual.end());
    CHECK(it->second == image);
  }
  CHECK(actual.size() == expected.size());
}

std::string Number(int i) { return std::to_string(i); }

}  // namespace

TEST_CASE("a dump.rdb written by redis-server 7.0 loads into rowcached", "[rdb-redis]") {
  TempDir dir;
  Image expected;
  {
    RedisServer redis(dir.path());
    RespClient c(redis.port());
    auto ok = [&](std::vector<std::string> args) {
      Reply r = c.Command(args);
      INFO(args[0] << " " << (args.size() > 1 ? args[1] : "") << " -> " << r.raw);
      REQUIRE_FALSE(r.IsError());
    };
    const int64_t later = server::SystemClock::Instance()->NowMs() + 3'600'000;
    // Strings: short, integer (int8/16/32 and beyond 32 bits), long compressible, binary.
    ok({"SET", "str", "hello"});
    ok({"SET", "i8", "-100"});
    ok({"SET", "i16", "30000"});
    ok({"SET", "i32", "-2000000000"});
    ok({"SET", "i64", "-9223372036854775808"});
    ok({"SET", "notint", "0123"});
    ok({"SET", "empty", ""});
    ok({"SET", "long", std::string(5000, 'x') + "end"});
    ok({"SET", std::string("bin\0key", 7), std::string("\0\xff\r\n", 4)});
    ok({"SET", "ttl", "v", "PXAT", std::to_string(later)});
    // A HyperLogLog, sparse and dense.
    ok({"PFADD", "hll", "a", "b", "c"});
    std::vector<std::string> pf = {"PFADD", "hlldense"};
    for (int i = 0; i < 5000; ++i) pf.push_back("e" + Number(i));
    ok(pf);
    // Lists: one small node, many nodes; integers inside listpacks.
    ok({"RPUSH", "list", "a", "1", "-5", "123456789012", std::string(100, 'q')});
    std::vector<std::string> big = {"RPUSH", "biglist"};
    for (int i = 0; i < 3000; ++i) big.push_back(i % 3 ? "element-" + Number(i) : Number(i));
    ok(big);
    // Sets: intset (16, 32, 64-bit), hashtable, an integer set too large for an intset.
    ok({"SADD", "iset16", "1", "2", "-3"});
    ok({"SADD", "iset32", "1", "100000"});
    ok({"SADD", "iset64", "1", "-9223372036854775808"});
    ok({"SADD", "sset", "a", "b", std::string("\0", 1)});
    std::vector<std::string> bigset = {"SADD", "bigintset"};
    for (int i = 0; i < 1000; ++i) bigset.push_back(Number(i * 7));
    ok(bigset);
    // Sorted sets: listpack and skiplist, with infinities, negatives and fractions.
    ok({"ZADD", "zset", "1.5", "a", "-inf", "low", "+inf", "high", "-2.25", "neg", "3", "int"});
    std::vector<std::string> bigz = {"ZADD", "bigzset"};
    for (int i = 0; i < 300; ++i) {
      bigz.push_back(Number(i) + ".125");
      bigz.push_back("m" + Number(i));
    }
    ok(bigz);
    ok({"ZADD", "longz", "1", std::string(100, 'm')});
    // Hashes: listpack and hashtable.
    ok({"HSET", "hash", "f", "v", "n", "42", "neg", "-7"});
    std::vector<std::string> bigh = {"HSET", "bighash"};
    for (int i = 0; i < 1000; ++i) {
      bigh.push_back("field" + Number(i));
      bigh.push_back(Number(i));
    }
    ok(bigh);
    ok({"HSET", "longhash", "f", std::string(300, 'v')});
    ok({"PEXPIREAT", "hash", std::to_string(later + 5)});
    // Other databases.
    ok({"SELECT", "3"});
    ok({"SET", "k", "db3"});
    ok({"RPUSH", "l", "x"});
    ok({"SELECT", "15"});
    ok({"SET", "k", "db15"});
    ok({"PEXPIREAT", "k", std::to_string(later + 7)});
    expected = RedisImage(c, 16);
    REQUIRE(c.Command({"SAVE"}).str == "OK");
  }
  REQUIRE(expected.size() == 28);

  Keyspace ks(16, server::SystemClock::Instance());
  server::RdbLoadResult result;
  std::string error;
  INFO(error);
  REQUIRE(server::LoadRdbFile(ks, (dir.path() / "dump.rdb").string(), &result, &error));
  CHECK(result.rdb_version == 10);
  CHECK(result.redis_ver == "7.0.15");
  CHECK(result.keys_loaded == expected.size());
  CompareImages(expected, testing::KeyspaceImage(ks));
}

TEST_CASE("a dump.rdb written by rowcached loads into redis-server 7.0", "[rdb-redis]") {
  TempDir dir;
  Keyspace ks(16, server::SystemClock::Instance());
  const int64_t later = server::SystemClock::Instance()->NowMs() + 3'600'000;
  {
    server::ShardLocks locks;
    locks.LockAll(ks);
    Db db(&ks, 0);
    server::Status st;
    db.SetString("str", "hello", false);
    db.SetString("int", "-2000000000", false);
    db.SetString("i64", "9223372036854775807", false);
    db.SetString("notint", "+5", false);
    db.SetString("empty", "", false);
    db.SetString("long", std::string(5000, 'y') + "end", false);
    db.SetString(std::string("bin\0key", 7), std::string("\0\xff\r\n", 4), false);
    db.SetExpireAt(db.SetString("ttl", "v", false), later);
    auto* list = db.FindOrCreate<server::ListObject>("list", ValueType::kList, &st);
    for (std::string v : {"a", "1", "-5", "70000", "-9000000000"}) {
      list->Push(server::ListEnd::kRight, v);
    }
    // Entries past 127 and 16383 bytes have two- and three-byte listpack back-lengths.
    list->Push(server::ListEnd::kRight, std::string(200, 'p'));
    list->Push(server::ListEnd::kRight, std::string(20000, 'r'));
    list->Push(server::ListEnd::kRight, "tail");
    auto* biglist = db.FindOrCreate<server::ListObject>("biglist", ValueType::kList, &st);
    for (int i = 0; i < 3000; ++i) biglist->Push(server::ListEnd::kRight, "element-" + Number(i));
    auto* iset = db.FindOrCreate<server::SetObject>("iset", ValueType::kSet, &st);
    for (std::string v : {"1", "-3", "100000", "-9223372036854775808"}) iset->Add(v);
    auto* sset = db.FindOrCreate<server::SetObject>("sset", ValueType::kSet, &st);
    for (std::string v : {"a", "b", "7"}) sset->Add(v);
    auto* bigset = db.FindOrCreate<server::SetObject>("bigintset", ValueType::kSet, &st);
    for (int i = 0; i < 1000; ++i) bigset->Add(Number(i));
    auto* zset = db.FindOrCreate<server::ZSetObject>("zset", ValueType::kZSet, &st);
    zset->Insert("a", 1.5);
    zset->Insert("low", -INFINITY);
    zset->Insert("high", INFINITY);
    zset->Insert("neg", -2.25);
    zset->Insert("third", 1.0 / 3);
    auto* bigz = db.FindOrCreate<server::ZSetObject>("bigzset", ValueType::kZSet, &st);
    for (int i = 0; i < 300; ++i) bigz->Insert("m" + Number(i), i / 7.0);
    auto* hash = db.FindOrCreate<server::HashObject>("hash", ValueType::kHash, &st);
    hash->Set("f", "v");
    hash->Set("n", "42");
    db.SetExpireAt(db.Find("hash"), later + 5);
    auto* bighash = db.FindOrCreate<server::HashObject>("bighash", ValueType::kHash, &st);
    for (int i = 0; i < 1000; ++i) bighash->Set("field" + Number(i), std::string(i % 50, 'v'));
    Db db2(&ks, 2);
    db2.SetString("k", "db2", false);
    Db db15(&ks, 15);
    db15.SetExpireAt(db15.SetString("k", std::string(100, 'z'), false), later + 9);
  }
  Image expected = testing::KeyspaceImage(ks);
  REQUIRE(expected.size() == 19);
  std::string error;
  INFO(error);
  REQUIRE(server::SaveRdbFile(ks, (dir.path() / "dump.rdb").string(), {}, &error));

  // Redis' own checker walks every record and verifies the checksum.
  RunResult check =
      Run({RequireTool("redis-check-rdb", "redis-tools"), (dir.path() / "dump.rdb").string()},
          dir.path());
  INFO("redis-check-rdb: " << check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK_THAT(check.out, Catch::Contains("RDB looks OK"));

  RedisServer redis(dir.path());
  INFO("redis-server log: " << redis.Log());
  CHECK_THAT(redis.Log(), Catch::Contains("DB loaded from disk"));
  RespClient c(redis.port());
  CompareImages(expected, RedisImage(c, 16));
  // Walking a list backwards reads the listpack back-lengths LRANGE 0 -1 does not.
  REQUIRE(c.Command({"SELECT", "0"}).str == "OK");
  for (const char* key : {"list", "biglist"}) {
    const auto& elements = expected.at({0, key}).value;
    for (size_t i = 1; i <= elements.size(); i += 1 + i / 3) {
      INFO(key << " index -" << i);
      CHECK(c.Command({"LINDEX", key, "-" + std::to_string(i)}).str ==
            elements[elements.size() - i]);
    }
  }
}

}  // namespace rowcached::protocol_test
