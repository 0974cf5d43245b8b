// A short stale-read load test against MariaDB (guarantees 1, 2 and 3 under concurrency).
//
// A hot set of 16 keys. Each key is owned by one writer thread, which serialises every write to
// it and alternates in-band writes (HSET version v) with out-of-band ones (UPDATE ... SET
// version = v in the database, then DEL). Versions only grow. After each acknowledgement the
// writer publishes v as the key's acknowledged version. Readers record, before sending, the
// acknowledged version of the key they read; a read that returns a lower version is stale.
// After the load stops, every key read through rowcached must equal the database.
//
// Bounded in time (ROWCACHED_LOAD_SECONDS, 8 s in release builds, shorter under sanitizers) and
// in operation count; stops by itself.
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "adapters/testing.h"
#include "integration/harness.h"

#ifndef ROWCACHED_LOAD_SECONDS
#define ROWCACHED_LOAD_SECONDS 8
#endif

namespace rowcached::integration_test {
namespace {

constexpr int kKeys = 16;
constexpr int kWriters = 4;  // writer w owns keys w+1, w+1+kWriters, ...
constexpr int kReaders = 4;
constexpr uint64_t kMaxReads = 3'000'000;
constexpr uint64_t kMaxWrites = 300'000;

struct Shared {
  std::chrono::steady_clock::time_point deadline;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked[kKeys + 1] = {};  // by id; the highest acknowledged version
  std::atomic<uint64_t> reads{0}, in_band{0}, out_of_band{0}, stale{0};
  std::mutex mu;
  std::vector<std::string> errors;      // guarded by mu
  std::vector<std::string> stale_seen;  // guarded by mu; the first few, for the report

  bool Done() const { return stop.load() || std::chrono::steady_clock::now() >= deadline; }
  void Fail(std::string what) {
    std::lock_guard l(mu);
    if (errors.size() < 10) errors.push_back(std::move(what));
    stop.store(true);
  }
};

// The version in a read's reply, or -1 (error reported) if the reply is not a row.
int64_t VersionOf(int kind, const RawClient::Reply& r, std::string* error) {
  try {
    switch (kind) {
      case 0:  // HGET products:k version
        if (r.type == '$' && !r.null) return std::stoll(r.str);
        break;
      case 1:  // HMGET products:k name version
        if (r.type == '*' && r.elems.size() == 2 && r.elems[1].type == '$' && !r.elems[1].null) {
          return std::stoll(r.elems[1].str);
        }
        break;
      case 2:  // GET products:k (JSON)
        if (r.type == '$' && !r.null) {
          auto j = nlohmann::json::parse(r.str);
          return j.at("version").get<int64_t>();
        }
        break;
      default:  // HGETALL products:k
        if (r.type == '*') {
          for (size_t i = 0; i + 1 < r.elems.size(); i += 2) {
            if (r.elems[i].str == "version") return std::stoll(r.elems[i + 1].str);
          }
        }
        break;
    }
  } catch (const std::exception& e) {
    *error = std::string("unparsable reply: ") + e.what();
    return -1;
  }
  *error = "unexpected reply type '" + std::string(1, r.type) + "' " + r.str;
  return -1;
}

void Reader(Shared& s, uint16_t port, unsigned seed) {
  RawClient c;
  if (auto e = c.Connect(port); !e.empty()) return s.Fail("reader: " + e);
  std::mt19937 rng(seed);
  std::string error;
  for (uint64_t n = 0; !s.Done() && s.reads.load(std::memory_order_relaxed) < kMaxReads; ++n) {
    int id = static_cast<int>(rng() % kKeys) + 1;
    std::string key = "products:" + std::to_string(id);
    int kind = static_cast<int>(n % 4);
    std::vector<std::string> cmd;
    switch (kind) {
      case 0:
        cmd = {"HGET", key, "version"};
        break;
      case 1:
        cmd = {"HMGET", key, "name", "version"};
        break;
      case 2:
        cmd = {"GET", key};
        break;
      default:
        cmd = {"HGETALL", key};
        break;
    }
    int64_t floor = s.acked[id].load(std::memory_order_acquire);  // before sending
    auto r = c.Command(cmd, &error);
    if (!r) return s.Fail("reader: " + key + ": " + error);
    if (r->type == '-') return s.Fail("reader: " + key + ": -" + r->str);
    int64_t v = VersionOf(kind, *r, &error);
    if (v < 0) return s.Fail("reader: " + cmd[0] + " " + key + ": " + error);
    s.reads.fetch_add(1, std::memory_order_relaxed);
    if (v < floor) {
      s.stale.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard l(s.mu);
      if (s.stale_seen.size() < 10) {
        s.stale_seen.push_back(cmd[0] + " " + key + " returned version " + std::to_string(v) +
                               " after version " + std::to_string(floor) + " was acknowledged");
      }
    }
  }
}

void Writer(Shared& s, uint16_t port, int w, adapters::Connection& db) {
  RawClient c;
  if (auto e = c.Connect(port); !e.empty()) return s.Fail("writer: " + e);
  std::vector<int> keys;
  for (int id = w + 1; id <= kKeys; id += kWriters) keys.push_back(id);
  std::vector<int64_t> version(kKeys + 1, 1);  // RecreateProducts() starts every row at 1
  std::string error;
  for (uint64_t n = 0; !s.Done() && s.in_band.load(std::memory_order_relaxed) +
                                            s.out_of_band.load(std::memory_order_relaxed) <
                                        kMaxWrites;
       ++n) {
    int id = keys[n % keys.size()];
    std::string key = "products:" + std::to_string(id);
    int64_t v = ++version[id];
    bool in_band = (n / keys.size() + w) % 2 == 0;
    if (in_band) {
      auto r = c.Command({"HSET", key, "version", std::to_string(v)}, &error);
      if (!r) return s.Fail("writer: HSET " + key + ": " + error);
      if (r->type != ':' || r->integer != 0) {
        return s.Fail("writer: HSET " + key + ": unexpected reply " + std::string(1, r->type) +
                      r->str);
      }
      s.in_band.fetch_add(1, std::memory_order_relaxed);
    } else {
      auto u = adapters::RunSqlForTesting(db, "UPDATE products SET version = " + std::to_string(v) +
                                                  " WHERE id = " + std::to_string(id));
      if (!u.ok()) return s.Fail("writer: UPDATE " + key + ": " + u.ToString());
      auto r = c.Command({"DEL", key}, &error);
      if (!r) return s.Fail("writer: DEL " + key + ": " + error);
      if (r->type != ':' || r->integer != 1) {
        return s.Fail("writer: DEL " + key + ": unexpected reply " + std::string(1, r->type) +
                      r->str);
      }
      s.out_of_band.fetch_add(1, std::memory_order_relaxed);
    }
    s.acked[id].store(v, std::memory_order_release);  // acknowledged: reads from now on see >= v
  }
}

}  // namespace

TEST_CASE("MariaDB load with in-band and out-of-band writers has no stale read and no stale key",
          "[integration][mariadb][load]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  db.RecreateProducts(kKeys);
  RowCacheServer server(ProductsOptions(db.Url()));
  auto c = server.Client();
  WaitTableReady(*c);

  auto database = adapters::NewDatabase(db.Url());
  INFO(database.ToString());
  REQUIRE(database.ok());
  std::vector<std::unique_ptr<adapters::Connection>> connections;
  for (int w = 0; w < kWriters; ++w) connections.push_back((*database)->Connect());

  Shared s;
  for (int id = 1; id <= kKeys; ++id) s.acked[id].store(1);
  auto started = std::chrono::steady_clock::now();
  s.deadline = started + std::chrono::seconds(ROWCACHED_LOAD_SECONDS);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back(Writer, std::ref(s), server.port(), w, std::ref(*connections[w]));
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back(Reader, std::ref(s), server.port(), 1234u + static_cast<unsigned>(r));
  }
  for (auto& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // Quiesced: every key through rowcached equals the database and the last acknowledged write.
  int stale_keys = 0;
  for (int id = 1; id <= kKeys; ++id) {
    std::string pk = std::to_string(id);
    std::string cached = BulkOf(c->Command({"HGET", "products:" + pk, "version"}));
    auto stored = db.Scalar("SELECT version FROM products WHERE id = " + pk);
    if (!stored || cached != *stored || cached != std::to_string(s.acked[id].load())) {
      ++stale_keys;
      UNSCOPED_INFO("products:" << pk << " rowcached " << cached << ", database "
                                << stored.value_or("NULL") << ", acknowledged "
                                << s.acked[id].load());
    }
  }
  auto stats = RowStats(*c);
  std::printf(
      "load test (mariadb, %d hot keys, %d writers, %d readers, %.1f s): reads=%" PRIu64
      " writes=%" PRIu64 " (in-band %" PRIu64 ", out-of-band %" PRIu64 ") stale_reads=%" PRIu64
      " stale_keys=%d; cache hits=%s misses=%s refreshes=%s merged=%s\n",
      kKeys, kWriters, kReaders, seconds, s.reads.load(), s.in_band.load() + s.out_of_band.load(),
      s.in_band.load(), s.out_of_band.load(), s.stale.load(), stale_keys, stats["hits"].c_str(),
      stats["misses"].c_str(), stats["refreshes"].c_str(), stats["merged"].c_str());
  std::fflush(stdout);

  {
    std::lock_guard l(s.mu);
    for (const auto& e : s.errors) UNSCOPED_INFO(e);
    for (const auto& e : s.stale_seen) UNSCOPED_INFO("stale: " << e);
    REQUIRE(s.errors.empty());
  }
  REQUIRE(s.reads.load() > 0);
  REQUIRE(s.in_band.load() > 0);
  REQUIRE(s.out_of_band.load() > 0);
  REQUIRE(s.stale.load() == 0);
  REQUIRE(stale_keys == 0);
  REQUIRE(stats["db_errors"] == "0");
}

}  // namespace rowcached::integration_test
