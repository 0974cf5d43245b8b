#include "server/keyspace.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>

using namespace rowcached::server;

namespace {

struct Fixture {
  ManualClock clock;
  Keyspace ks{16, &clock};
  Db db{&ks, 0};
  ShardLocks locks;
  Fixture() { locks.LockAll(ks); }  // single-threaded tests: hold every shard
};

}  // namespace

TEST_CASE("keyspace stores binary-safe keys and values", "[keyspace]") {
  Fixture f;
  std::string key("k\0ey", 4), value("v\0\r\nalue", 8);
  f.db.SetString(key, value, false);
  Entry* e = f.db.Find(key);
  REQUIRE(e != nullptr);
  REQUIRE(e->key() == key);
  REQUIRE(e->str() == value);
  REQUIRE(f.db.Find(std::string("k\0ex", 4)) == nullptr);
}

TEST_CASE("keyspace keeps long strings out of line and grows them in place", "[keyspace]") {
  Fixture f;
  std::string big(1000, 'x');
  Entry* e = f.db.SetString("k", big, false);
  REQUIRE_FALSE(e->inline_string());
  Entry* again = f.db.SetString("k", big + "y", true);
  REQUIRE(again == e);  // same entry: no reallocation for a heap string
  REQUIRE(f.db.Find("k")->str() == big + "y");
  Entry* small = f.db.SetString("k", "s", true);
  REQUIRE(small->inline_string());
  REQUIRE(f.db.Find("k")->str() == "s");
}

TEST_CASE("keyspace databases are independent", "[keyspace]") {
  Fixture f;
  Db db1(&f.ks, 1);
  f.db.SetString("k", "zero", false);
  db1.SetString("k", "one", false);
  REQUIRE(f.db.Find("k")->str() == "zero");
  REQUIRE(db1.Find("k")->str() == "one");
  REQUIRE(f.db.Size() == 1);
  REQUIRE(db1.Size() == 1);
  f.locks.Unlock();  // Flush takes the locks itself
  f.ks.Flush(1);
  f.locks.LockAll(f.ks);
  REQUIRE(f.db.Size() == 1);
  REQUIRE(db1.Size() == 0);
}

TEST_CASE("keyspace expires keys lazily at the millisecond", "[keyspace][expiry]") {
  Fixture f;
  Entry* e = f.db.SetString("k", "v", false);
  int64_t at = f.clock.NowMs() + 100;
  f.db.SetExpireAt(e, at);
  REQUIRE(f.db.ExpireAt(f.db.Find("k")) == at);
  f.clock.Advance(99);
  REQUIRE(f.db.Find("k") != nullptr);
  f.clock.Advance(1);
  REQUIRE(f.db.Find("k") == nullptr);
  REQUIRE(f.ks.stats().expired_keys == 1);
  REQUIRE(f.db.Size() == 0);
}

TEST_CASE("keyspace SET clears a TTL unless asked to keep it", "[keyspace][expiry]") {
  Fixture f;
  f.db.SetExpireAt(f.db.SetString("a", "1", false), f.clock.NowMs() + 1000);
  f.db.SetExpireAt(f.db.SetString("b", "1", false), f.clock.NowMs() + 1000);
  f.db.SetString("a", "2", false);
  f.db.SetString("b", "2", true);
  REQUIRE(f.db.ExpireAt(f.db.Find("a")) == -1);
  REQUIRE(f.db.ExpireAt(f.db.Find("b")) == f.clock.NowMs() + 1000);
  REQUIRE(f.db.VolatileCount() == 1);
}

TEST_CASE("keyspace active expiry removes expired keys nobody reads", "[keyspace][expiry]") {
  ManualClock clock;
  Keyspace ks(16, &clock);
  Db db(&ks, 0);
  {
    ShardLocks locks;
    locks.LockAll(ks);
    for (int i = 0; i < 5000; ++i) {
      Entry* e = db.SetString("k" + std::to_string(i), "v", false);
      db.SetExpireAt(e, clock.NowMs() + (i % 2 == 0 ? 10 : 1000000));
    }
    db.SetString("persistent", "v", false);
  }
  clock.Advance(11);
  size_t deleted = 0;
  // The cycle is bounded; repeated passes converge like Redis' cron does.
  for (int pass = 0; pass < 1000 && deleted < 2500; ++pass) {
    deleted += ks.ActiveExpireCycle(1000000);
  }
  REQUIRE(deleted == 2500);
  ShardLocks locks;
  locks.LockAll(ks);
  REQUIRE(db.Size() == 2501);
  REQUIRE(db.VolatileCount() == 2500);
  REQUIRE(ks.stats().expired_keys == 2500);
}

TEST_CASE("keyspace scan returns every key present for the whole scan despite resizes",
          "[keyspace][scan]") {
  Fixture f;
  for (int i = 0; i < 2000; ++i) f.db.SetString("stay" + std::to_string(i), "v", false);
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int step = 0;
  do {
    cursor = f.db.Scan(cursor, 10, [&](Entry* e) { seen.insert(std::string(e->key())); });
    // Grow and then shrink the tables between calls.
    if (step < 50) {
      for (int i = 0; i < 200; ++i) {
        f.db.SetString("tmp" + std::to_string(step * 200 + i), "v", false);
      }
    } else if (step < 100) {
      for (int i = 0; i < 200; ++i) f.db.Delete("tmp" + std::to_string((step - 50) * 200 + i));
    }
    ++step;
  } while (cursor != 0);
  for (int i = 0; i < 2000; ++i) REQUIRE(seen.count("stay" + std::to_string(i)) == 1);
}

TEST_CASE("keyspace random key returns only live keys", "[keyspace]") {
  Fixture f;
  REQUIRE(f.db.RandomKey() == nullptr);
  f.db.SetExpireAt(f.db.SetString("dead", "v", false), f.clock.NowMs() + 1);
  f.db.SetString("live", "v", false);
  f.clock.Advance(5);
  for (int i = 0; i < 20; ++i) REQUIRE(f.db.RandomKey()->key() == "live");
}

TEST_CASE("keyspace take moves an entry with its expiry", "[keyspace]") {
  Fixture f;
  f.db.SetExpireAt(f.db.SetString("k", "v", false), f.clock.NowMs() + 500);
  int64_t at = 0;
  Entry* e = f.db.Take("k", &at);
  REQUIRE(e != nullptr);
  REQUIRE(at == f.clock.NowMs() + 500);
  REQUIRE(f.db.Find("k") == nullptr);
  Db db2(&f.ks, 2);
  db2.Put(e, false);
  db2.SetExpireAt(e, at);
  REQUIRE(db2.ExpireAt(db2.Find("k")) == at);
}

TEST_CASE("shard locks of overlapping multi-key commands never deadlock", "[keyspace][tsan]") {
  ManualClock clock;
  Keyspace ks(16, &clock);
  auto worker = [&](int seed) {
    Db db(&ks, 0);
    for (int i = 0; i < 20000; ++i) {
      std::vector<std::string> names = {"a" + std::to_string((i + seed) % 97),
                                        "b" + std::to_string((i * 7 + seed) % 89),
                                        "c" + std::to_string((i * 13) % 83)};
      std::vector<std::string_view> keys(names.begin(), names.end());
      ShardLocks locks;
      locks.LockKeys(ks, keys);
      for (auto k : keys) db.SetString(k, "v", false);
    }
  };
  std::thread t1(worker, 1), t2(worker, 2), t3(worker, 3);
  t1.join();
  t2.join();
  t3.join();
  ShardLocks locks;
  locks.LockAll(ks);
  REQUIRE(Db(&ks, 0).Size() == 97 + 89 + 83);
}

TEST_CASE("shard mutex excludes under contention, through its spinning and parked waits",
          "[keyspace][tsan]") {
  ShardMutex mu;
  uint64_t counter = 0;  // guarded by mu, deliberately not atomic
  std::atomic<int> waiting{0};
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50000;
  // The main thread holds the lock until every worker is about to take it, so the workers
  // outwait the spin and park; then they contend among themselves, sections short and long.
  mu.lock();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      waiting.fetch_add(1);
      for (int i = 0; i < kIncrements; ++i) {
        std::lock_guard l(mu);
        uint64_t seen = counter;
        if ((i + t) % 1000 == 0) std::this_thread::yield();  // a holder descheduled mid-section
        counter = seen + 1;
      }
    });
  }
  while (waiting.load() < kThreads) std::this_thread::yield();
  for (int i = 0; i < 1000; ++i) std::this_thread::yield();
  counter = 0;
  mu.unlock();
  for (auto& th : threads) th.join();
  REQUIRE(counter == uint64_t{kThreads} * kIncrements);
  REQUIRE(mu.try_lock());
  REQUIRE_FALSE(mu.try_lock());
  mu.unlock();
}
