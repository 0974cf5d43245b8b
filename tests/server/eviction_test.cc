// maxmemory and eviction through the real dispatcher: each policy evicts what Redis 7.0's would,
// OBJECT FREQ / IDLETIME, the LFU counter, the CONFIG parameters, evicted_keys, and how close
// the allocation-counting used_memory is to the resident memory a large load really takes.
// Replies checked against redis-server 7.0.15. Keys are aged with the harness' ManualClock.
#include <malloc.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "command_harness.h"
#include "server/memory.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kOom = Err("OOM command not allowed when used memory > 'maxmemory'.");

// What a write may leave above maxmemory: eviction runs before a command, so the command's own
// growth (one key, or one table's bucket array doubling) lands on top of the limit.
constexpr int64_t kEvictionSlack = 64 * 1024;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string Key(std::string_view prefix, int i) { return std::string(prefix) + std::to_string(i); }

void Fill(CommandHarness& h, std::string_view prefix, int n, size_t value_size) {
  std::string value(value_size, 'v');
  for (int i = 0; i < n; ++i) REQUIRE(h.Run({"SET", Key(prefix, i), value}) == kOk);
}

bool Exists(CommandHarness& h, const std::string& key) { return h.Run({"EXISTS", key}) == Int(1); }

int CountExisting(CommandHarness& h, std::string_view prefix, int n) {
  int count = 0;
  for (int i = 0; i < n; ++i) count += Exists(h, Key(prefix, i)) ? 1 : 0;
  return count;
}

// A numeric field of INFO's reply.
int64_t InfoField(CommandHarness& h, std::string_view section, const std::string& field) {
  std::string info = h.Run({"INFO", section});
  size_t at = info.find("\r\n" + field + ":");
  REQUIRE(at != std::string::npos);
  return std::stoll(info.substr(at + field.size() + 3));
}

int64_t DbSize(CommandHarness& h) {
  std::string r = h.Run({"DBSIZE"});
  return std::stoll(r.substr(1));
}

void Configure(CommandHarness& h, std::string_view param, const std::string& value) {
  REQUIRE(h.Run({"CONFIG", "SET", param, value}) == kOk);
}

// Sets maxmemory so that about `keys` keys of `per_key` bytes must go, which CONFIG SET
// evicts at once.
int64_t SqueezeBy(CommandHarness& h, int keys, int64_t per_key) {
  int64_t limit = UsedMemory() - keys * per_key;
  Configure(h, "maxmemory", std::to_string(limit));
  return limit;
}

// Bytes one key of the fill costs, measured.
int64_t PerKeyBytes(CommandHarness& h, std::string_view prefix, int n, size_t value_size) {
  int64_t before = UsedMemory();
  Fill(h, prefix, n, value_size);
  return (UsedMemory() - before) / n;
}

}  // namespace

TEST_CASE("noeviction refuses denyoom commands with Redis' OOM error, reads and DEL still run",
          "[eviction]") {
  CommandHarness h;
  Fill(h, "k", 10, 100);
  REQUIRE(h.Run({"HSET", "h", "f", "v"}) == Int(1));
  Configure(h, "maxmemory", "1");  // noeviction is the default
  REQUIRE(h.Run({"SET", "k0", "x"}) == kOom);
  REQUIRE(h.Run({"SET", "new", "x"}) == kOom);
  REQUIRE(h.Run({"APPEND", "k1", "x"}) == kOom);
  REQUIRE(h.Run({"INCR", "n"}) == kOom);
  REQUIRE(h.Run({"HSET", "h", "g", "v"}) == kOom);
  REQUIRE(h.Run({"MSET", "a", "1", "b", "2"}) == kOom);
  // Arity errors come first, as in Redis' processCommand.
  REQUIRE(h.Run({"SET", "x"}) == Err("ERR wrong number of arguments for 'set' command"));
  REQUIRE(h.Run({"GET", "k0"}) == Bulk(std::string(100, 'v')));
  REQUIRE(h.Run({"HGET", "h", "f"}) == Bulk("v"));
  REQUIRE(h.Run({"EXPIRE", "k2", "100"}) == Int(1));  // write, not denyoom
  REQUIRE(h.Run({"GETDEL", "k3"}) == Bulk(std::string(100, 'v')));
  REQUIRE(h.Run({"DEL", "k0", "k1"}) == Int(2));
  REQUIRE(DbSize(h) == 8);
  REQUIRE(InfoField(h, "stats", "evicted_keys") == 0);
  // Inside MULTI the check comes before queueing: the refused command aborts the transaction.
  REQUIRE(h.Run({"MULTI"}) == kOk);
  REQUIRE(h.Run({"GET", "k2"}) == Simple("QUEUED"));
  REQUIRE(h.Run({"SET", "k2", "x"}) == kOom);
  REQUIRE(h.Run({"EXEC"}) == Err("EXECABORT Transaction discarded because of previous errors."));
  Configure(h, "maxmemory", "0");
  REQUIRE(h.Run({"SET", "new", "x"}) == kOk);
}

TEST_CASE("allkeys-lru evicts idle keys and keeps the recently read ones", "[eviction]") {
  CommandHarness h;
  Configure(h, "maxmemory-policy", "allkeys-lru");
  int64_t per_key = PerKeyBytes(h, "k", 400, 200);
  h.clock().Advance(100'000);
  for (int i = 0; i < 400; i += 10) REQUIRE(h.Run({"GET", Key("k", i)}) != kNil);  // 40 hot
  int64_t limit = SqueezeBy(h, 200, per_key);
  REQUIRE(UsedMemory() <= limit);
  for (int i = 0; i < 400; i += 10) {
    INFO(Key("k", i));
    REQUIRE(Exists(h, Key("k", i)));
  }
  int64_t left = DbSize(h);
  REQUIRE(left < 400 - 150);
  REQUIRE(InfoField(h, "stats", "evicted_keys") == 400 - left);
  // A write over the limit makes room for itself the same way.
  REQUIRE(h.Run({"SET", "big", std::string(20 * per_key, 'b')}) == kOk);
  REQUIRE(UsedMemory() <= limit + kEvictionSlack);
  for (int i = 0; i < 400; i += 10) REQUIRE(Exists(h, Key("k", i)));
}

TEST_CASE("allkeys-lfu evicts rarely read keys and keeps the frequently read ones", "[eviction]") {
  CommandHarness h;
  Configure(h, "maxmemory-policy", "allkeys-lfu");
  int64_t per_key = PerKeyBytes(h, "k", 400, 200);
  for (int i = 0; i < 400; i += 10) {
    for (int n = 0; n < 20; ++n) REQUIRE(h.Run({"GET", Key("k", i)}) != kNil);
  }
  // Another 20 keys are only written, later: under LRU they would be the freshest, under LFU
  // they are as cold as the rest (LFU_INIT_VAL).
  h.clock().Advance(10'000);
  Fill(h, "late", 20, 200);
  int64_t limit = SqueezeBy(h, 200, per_key);
  REQUIRE(UsedMemory() <= limit);
  for (int i = 0; i < 400; i += 10) {
    INFO(Key("k", i));
    REQUIRE(Exists(h, Key("k", i)));
  }
  REQUIRE(DbSize(h) < 420 - 150);
  REQUIRE(InfoField(h, "stats", "evicted_keys") == 420 - DbSize(h));
}

TEST_CASE("allkeys-random evicts any keys until under the limit", "[eviction]") {
  CommandHarness h;
  Configure(h, "maxmemory-policy", "allkeys-random");
  int64_t per_key = PerKeyBytes(h, "k", 300, 200);
  REQUIRE(h.Run({"SELECT", "3"}) == kOk);
  Fill(h, "d3-", 100, 200);
  int64_t limit = SqueezeBy(h, 200, per_key);
  REQUIRE(UsedMemory() <= limit);
  int64_t left3 = DbSize(h);
  REQUIRE(h.Run({"SELECT", "0"}) == kOk);
  int64_t left0 = DbSize(h);
  REQUIRE(left0 + left3 < 400 - 150);
  REQUIRE(InfoField(h, "stats", "evicted_keys") == 400 - left0 - left3);
}

TEST_CASE("volatile-ttl evicts the keys that expire soonest and never keys without a TTL",
          "[eviction]") {
  CommandHarness h;
  Configure(h, "maxmemory-policy", "volatile-ttl");
  Fill(h, "p", 100, 200);
  int64_t per_key = PerKeyBytes(h, "t", 60, 200);
  for (int i = 0; i < 60; ++i) {
    REQUIRE(h.Run({"EXPIRE", Key("t", i), std::to_string(1000 + 10 * i)}) == Int(1));
  }
  SqueezeBy(h, 20, per_key);
  REQUIRE(CountExisting(h, "p", 100) == 100);
  int evicted = 60 - CountExisting(h, "t", 60);
  REQUIRE(evicted >= 20);
  REQUIRE(InfoField(h, "stats", "evicted_keys") == evicted);
  for (int i = 0; i < 5; ++i) {
    INFO(Key("t", i));
    REQUIRE_FALSE(Exists(h, Key("t", i)));
  }
  for (int i = 40; i < 60; ++i) {
    INFO(Key("t", i));
    REQUIRE(Exists(h, Key("t", i)));
  }
}

TEST_CASE("volatile policies evict only keys with a TTL and give OOM when none is left",
          "[eviction]") {
  for (const char* policy : {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}) {
    INFO(policy);
    CommandHarness h;
    Configure(h, "maxmemory-policy", policy);
    int64_t per_key = PerKeyBytes(h, "p", 100, 200);
    Fill(h, "t", 10, 200);
    for (int i = 0; i < 10; ++i) REQUIRE(h.Run({"EXPIRE", Key("t", i), "1000"}) == Int(1));
    SqueezeBy(h, 50, per_key);
    REQUIRE(CountExisting(h, "t", 10) == 0);
    REQUIRE(CountExisting(h, "p", 100) == 100);
    REQUIRE(InfoField(h, "stats", "evicted_keys") == 10);
    REQUIRE(h.Run({"SET", "x", "y"}) == kOom);
    REQUIRE(h.Run({"GET", "p0"}) == Bulk(std::string(200, 'v')));
    REQUIRE(h.Run({"DEL", "p0"}) == Int(1));
  }
}

TEST_CASE("cached table rows are evicted like any key", "[eviction]") {
  CommandHarness h;
  Configure(h, "maxmemory-policy", "allkeys-lru");
  {
    ShardLocks locks;
    locks.LockOne(h.server().keyspace(), "orders:1");
    Db(&h.server().keyspace(), 0)
        .SetObject("orders:1", ValueType::kRow,
                   std::make_unique<StringObject>(std::string(4096, 'r')));
  }
  REQUIRE(h.Run({"TYPE", "orders:1"}) == Simple("hash"));
  h.clock().Advance(60'000);
  Fill(h, "k", 50, 100);
  SqueezeBy(h, 1, 4096);
  REQUIRE(h.Run({"EXISTS", "orders:1"}) == Int(0));
  REQUIRE(InfoField(h, "stats", "evicted_keys") >= 1);
}

TEST_CASE("OBJECT IDLETIME and FREQ follow the policy's clock", "[eviction]") {
  CommandHarness h;
  REQUIRE(h.Run({"SET", "k", "v"}) == kOk);
  h.clock().Advance(42'000);
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(42));
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(42));  // OBJECT does not touch
  REQUIRE(h.Run({"GET", "k"}) == Bulk("v"));
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(0));
  REQUIRE(h.Run({"OBJECT", "FREQ", "k"}) ==
          Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
              "Please note that when switching between policies at runtime LRU and LFU data "
              "will take some time to adjust."));
  REQUIRE(h.Run({"OBJECT", "FREQ", "missing"}) == kNil);

  Configure(h, "maxmemory-policy", "allkeys-lfu");
  REQUIRE(h.Run({"OBJECT", "IDLETIME", "k"}) ==
          Err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
              "when switching between policies at runtime LRU and LFU data will take some time "
              "to adjust."));
  REQUIRE(h.Run({"SET", "f", "v"}) == kOk);
  REQUIRE(h.Run({"OBJECT", "FREQ", "f"}) == Int(5));  // LFU_INIT_VAL
  REQUIRE(h.Run({"GET", "f"}) == Bulk("v"));
  REQUIRE(h.Run({"OBJECT", "FREQ", "f"}) == Int(6));  // the first increment is certain
  // An overwrite keeps the counter (Redis' dbSetValue under LFU).
  REQUIRE(h.Run({"SET", "f", "w"}) == kOk);
  REQUIRE(h.Run({"OBJECT", "FREQ", "f"}) == Int(6));
  // Decay: one per lfu-decay-time minutes, computed on read, stored on access.
  h.clock().Advance(3 * 60'000);
  REQUIRE(h.Run({"OBJECT", "FREQ", "f"}) == Int(3));
  Configure(h, "lfu-decay-time", "2");
  REQUIRE(h.Run({"OBJECT", "FREQ", "f"}) == Int(5));
  Configure(h, "lfu-decay-time", "0");
  REQUIRE(h.Run({"OBJECT", "FREQ", "f"}) == Int(6));
  // lfu-log-factor 0: every access increments.
  Configure(h, "lfu-log-factor", "0");
  for (int i = 0; i < 10; ++i) REQUIRE(h.Run({"GET", "f"}) == Bulk("w"));
  REQUIRE(h.Run({"OBJECT", "FREQ", "f"}) == Int(16));
  // The default factor 10 makes increments rarer as the counter grows.
  Configure(h, "lfu-log-factor", "10");
  REQUIRE(h.Run({"SET", "g", "v"}) == kOk);
  for (int i = 0; i < 100; ++i) REQUIRE(h.Run({"GET", "g"}) == Bulk("v"));
  std::string freq = h.Run({"OBJECT", "FREQ", "g"});
  int64_t g = std::stoll(freq.substr(1));
  REQUIRE(g > 6);
  REQUIRE(g < 16);
}

TEST_CASE("CONFIG GET and SET of the eviction parameters, as Redis replies", "[eviction]") {
  CommandHarness h;
  REQUIRE(h.Run({"CONFIG", "GET", "lfu-*"}) ==
          "*4\r\n" + Bulk("lfu-log-factor") + Bulk("10") + Bulk("lfu-decay-time") + Bulk("1"));
  REQUIRE(h.Run({"CONFIG", "GET", "maxmemory*"}) ==
          "*6\r\n" + Bulk("maxmemory") + Bulk("0") + Bulk("maxmemory-policy") + Bulk("noeviction") +
              Bulk("maxmemory-samples") + Bulk("5"));
  REQUIRE(h.Run({"CONFIG", "SET", "lfu-log-factor", "-1"}) ==
          Err("ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - argument "
              "must be between 0 and 2147483647 inclusive"));
  REQUIRE(h.Run({"CONFIG", "SET", "lfu-decay-time", "abc"}) ==
          Err("ERR CONFIG SET failed (possibly related to argument 'lfu-decay-time') - argument "
              "couldn't be parsed into an integer"));
  REQUIRE(h.Run({"CONFIG", "SET", "maxmemory-samples", "0"}) ==
          Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - "
              "argument must be between 1 and 2147483647 inclusive"));
  REQUIRE(h.Run({"CONFIG", "SET", "maxmemory-policy", "foo"}) ==
          Err("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
              "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
              "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
              "noeviction"));
  REQUIRE(h.Run({"CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LFU", "maxmemory-samples", "10",
                 "lfu-log-factor", "5", "lfu-decay-time", "0"}) == kOk);
  const EvictionConfig& config = h.server().keyspace().eviction_config();
  REQUIRE(config.policy.load() == MaxMemoryPolicy::kAllKeysLfu);
  REQUIRE(config.samples.load() == 10);
  REQUIRE(config.lfu_log_factor.load() == 5);
  REQUIRE(config.lfu_decay_time.load() == 0);
  REQUIRE(h.Run({"CONFIG", "GET", "maxmemory-policy"}) ==
          "*2\r\n" + Bulk("maxmemory-policy") + Bulk("allkeys-lfu"));
  REQUIRE(h.Run({"CONFIG", "SET", "maxmemory", "100mb"}) == kOk);
  REQUIRE(config.maxmemory.load() == 100 * 1024 * 1024);
  REQUIRE(InfoField(h, "memory", "maxmemory") == 100 * 1024 * 1024);
}

TEST_CASE("used_memory stays at or under maxmemory while a load runs", "[eviction]") {
  CommandHarness h;
  Configure(h, "maxmemory-policy", "allkeys-lru");
  int64_t limit = UsedMemory() + 2 * 1024 * 1024;
  Configure(h, "maxmemory", std::to_string(limit));
  std::string value(100, 'v');
  int64_t worst = 0;
  constexpr int kKeys = 40000;  // about 6 MB: three times the room
  for (int i = 0; i < kKeys; ++i) {
    REQUIRE(h.Run({"SET", Key("load:", i), value}) == kOk);
    if (i % 16 == 0) REQUIRE(h.Run({"HSET", Key("hash:", i), "f1", value, "f2", value}) == Int(2));
    if (i % 100 == 99) h.clock().Advance(1000);  // LRU resolution is one second
    worst = std::max(worst, UsedMemory() - limit);
  }
  WARN("worst overshoot above maxmemory during the load: " << worst << " bytes");
  REQUIRE(worst <= kEvictionSlack);
  REQUIRE(InfoField(h, "memory", "used_memory") <= limit + kEvictionSlack);
  int64_t evicted = InfoField(h, "stats", "evicted_keys");
  REQUIRE(evicted > kKeys / 2);
  REQUIRE(DbSize(h) == kKeys + kKeys / 16 - evicted);
  // The last second's writes are the freshest keys: LRU keeps them.
  for (int i = kKeys - 100; i < kKeys; ++i) REQUIRE(Exists(h, Key("load:", i)));
}

TEST_CASE("writers on several threads evict concurrently without deadlock", "[eviction]") {
  CommandHarness h;
  Configure(h, "maxmemory-policy", "allkeys-lru");
  int64_t limit = UsedMemory() + 1024 * 1024;
  Configure(h, "maxmemory", std::to_string(limit));
  constexpr int kThreads = 4;
  constexpr int kKeysPerThread = kSanitized ? 3000 : 10000;
  std::atomic<int> bad_replies{0};  // Catch's assertions are not for other threads
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&h, &bad_replies, t] {
      ClientState client;
      client.id = h.server().NextClientId();
      client.authenticated = true;
      std::string value(100, 'v');
      for (int i = 0; i < kKeysPerThread; ++i) {
        std::string key = "t" + std::to_string(t) + ":" + std::to_string(i);
        std::string out;
        ReplyBuilder reply(&out);
        // MSET over keys of several shards: the command's locks come after eviction's.
        std::string other = key + ":b";
        Dispatch(h.server(), client, {"MSET", key, value, other, value}, reply);
        if (out != kOk) bad_replies.fetch_add(1);
        out.clear();
        Dispatch(h.server(), client, {"GET", key}, reply);
      }
    });
  }
  for (auto& w : writers) w.join();
  REQUIRE(bad_replies.load() == 0);
  // Each writer thread may have held back kMemoryFlushBytes unpublished.
  REQUIRE(UsedMemory() <= limit + kEvictionSlack + kThreads * kMemoryFlushBytes);
  int64_t evicted = InfoField(h, "stats", "evicted_keys");
  REQUIRE(evicted > 0);
  REQUIRE(DbSize(h) == 2 * kThreads * kKeysPerThread - evicted);
}

TEST_CASE("used_memory follows the resident memory of a large load", "[eviction][memory]") {
  // 1M small keys and 100 hashes of 1000 fields. Under the sanitizers RSS holds shadow memory
  // and quarantined blocks, so there the comparison is printed but not checked.
  constexpr int kKeys = kSanitized ? 100'000 : 1'000'000;
  CommandHarness h;
  malloc_trim(0);  // give back what earlier tests freed, so RSS growth is this load's
  int64_t rss_before = ResidentMemory();
  int64_t used_before = UsedMemory();
  char key[32];
  char value[32];
  for (int i = 0; i < kKeys; ++i) {
    std::snprintf(key, sizeof key, "key:%08d", i);
    std::snprintf(value, sizeof value, "value:%d", i * 7);
    Db db(&h.server().keyspace(), 0);
    ShardLocks locks;
    locks.LockOne(h.server().keyspace(), key);
    db.SetString(key, value, false);
  }
  for (int i = 0; i < 100; ++i) {
    std::vector<std::string> args = {"HSET", Key("bighash:", i)};
    for (int f = 0; f < 1000; ++f) {
      args.push_back("field:" + std::to_string(f));
      args.push_back(std::string(40, 'x'));
    }
    REQUIRE(h.Run(args) == Int(1000));
  }
  int64_t used = UsedMemory() - used_before;
  int64_t rss = ResidentMemory() - rss_before;
  double error = static_cast<double>(used - rss) / static_cast<double>(rss);
  WARN("load of " << kKeys << " keys + 100 hashes x 1000 fields: used_memory grew " << used
                  << " bytes, RSS grew " << rss << " bytes, error " << error * 100 << "%");
  REQUIRE(InfoField(h, "memory", "used_memory") >= used);
  if (!kSanitized) {
    REQUIRE(error > -0.10);
    REQUIRE(error < 0.10);
  }
}
