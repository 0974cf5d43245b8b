// rowcached-bench: what rowcached buys over hand-written cache-aside code, in numbers and a
// picture. Starts a private MariaDB, Debian's redis-server and rowcached on loopback (unless
// given running ones), runs the scenarios, prints a table, PASS/FAIL lines against the targets
// and one summary line; optionally writes JSON and a PNG chart (gnuplot).
//
//   rowcached-bench --scenario all|stale-read|baselines|herd|penetration|slow-db|hit
//                   --duration SECONDS [--json FILE] [--chart FILE.png]
//                   [--mysql URL] [--redis HOST:PORT] [--rowcached HOST:PORT] ...
//
// Scenarios (see bench/README.md for what each measures and why):
//   stale-read  K hot keys, W writers (in-band HSET and out-of-band UPDATE + DEL, each key's
//               version only grows, writes to one key serialised), R readers. A read is stale
//               when it returns a version lower than the highest one acknowledged before it was
//               sent.
//   baselines   the same load through cache-aside code the bench runs against redis-server:
//               delete-then-update, update-then-delete, delayed double delete, no cache.
//   herd        invalidate a hot key, fire N concurrent reads: database reads caused.
//   penetration N reads of keys that do not exist, with and without the Bloom filter.
//   slow-db     every database reply delayed beyond read_timeout (a proxy in the bench).
//   hit         reads of a fully cached hot set against GET on redis-server.
//
// Everything is bounded in time; SIGINT/SIGTERM stop the run and what it started.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/database.h"
#include "adapters/testing.h"
#include "resp.h"
#include "support.h"
#include "support/private_server.h"

#ifndef ROWCACHED_BIN
#define ROWCACHED_BIN "rowcached"
#endif

namespace rcbench {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace adapters = rowcached::adapters;

// ---- options ------------------------------------------------------------------------------------

struct Options {
  std::string scenario = "all";
  double duration = 10;  // seconds per measured phase
  std::string json_file;
  std::string chart_file;
  std::string mysql_url;  // empty = start a private MariaDB
  std::string redis;      // HOST:PORT; empty = start redis-server
  std::string rowcached;  // HOST:PORT; empty = start rowcached from the build
  std::string rowcached_bin = ROWCACHED_BIN;
  std::string table = "rc_bench";
  int rows = 10000;  // rows in the table (the Bloom filter and the hit set draw from them)
  int keys = 16;     // hot set of the stale-read scenario
  int writers = 4;
  int readers = 32;
  double inband = 0.5;  // share of rowcached writes that are HSET (the rest UPDATE + DEL)
  int double_delete_ms = 50;
  int herd_reads = 500;
  int herd_rounds = 5;
  int pool = 32;  // database connections of the hand-written baseline's pool (herd)
  uint64_t penetration_reads = 100000;
  double bloom_error_rate = 0.001;
  int read_timeout_ms = 100;  // slow-db: rowcached read_timeout
  int db_delay_ms = 300;      // slow-db: added to every database round trip
  int slow_ttl_ms = 500;      // slow-db: row ttl, so that rows turn stale during the run
  int hit_keys = 1000;
  int connections = 32;  // hit: client connections, same for both servers
  int pipeline = 1;      // hit and stale-read readers: requests in flight per connection
  int server_threads = 0;
  int queues = 16;
};

bool Want(const Options& o, const std::string& s) { return o.scenario == "all" || o.scenario == s; }

// ---- environment: the servers -------------------------------------------------------------------

struct HostPort {
  std::string host = "127.0.0.1";
  int port = 0;
};

HostPort ParseHostPort(const std::string& s) {
  HostPort hp;
  auto colon = s.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("expected HOST:PORT, got '" + s + "'");
  hp.host = s.substr(0, colon);
  hp.port = std::stoi(s.substr(colon + 1));
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  return hp;
}

// ROW.STATS <table> as name -> value (numbers only; "state"/"bloom" kept as strings).
std::map<std::string, std::string> RowStats(const HostPort& hp, const std::string& table) {
  SyncClient c(hp.host, hp.port);
  Reply r = c.Call({"ROW.STATS", table});
  if (r.error()) throw std::runtime_error("ROW.STATS " + table + ": " + r.str);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    const Reply& v = r.elements[i + 1];
    out[r.elements[i].str] = v.type == ':' ? std::to_string(v.integer) : v.str;
  }
  return out;
}

int64_t Stat(const std::map<std::string, std::string>& s, const std::string& name) {
  auto it = s.find(name);
  return it == s.end() ? 0 : std::stoll(it->second);
}

struct Env {
  Options o;
  std::string work;  // temporary directory for configs and logs
  std::unique_ptr<rowcached::testing::PrivateMariaDb> maria;
  std::string mysql_url;
  int mysql_port = 3306;
  std::unique_ptr<adapters::Database> db;
  std::unique_ptr<Child> redis_child;
  HostPort redis;
  std::unique_ptr<Child> rowcached_child;
  HostPort rowcached;
  bool own_rowcached = false;
  std::vector<std::string> started;  // what was started, for the header

  // Starts a rowcached with the bench table; `table_extra` lines go into its [[tables]] entry.
  std::unique_ptr<Child> StartRowcached(const std::string& name, const std::string& url,
                                        const std::string& table_extra, HostPort* hp) {
    std::string dir = work + "/" + name;
    std::filesystem::create_directories(dir);
    for (int attempt = 0;; ++attempt) {
      int port = FreePort();
      std::string conf = dir + "/rowcached.toml";
      std::ofstream f(conf);
      f << "# generated by rowcached-bench\n[server]\nbind = \"127.0.0.1\"\nport = " << port
        << "\nthreads = " << o.server_threads << "\nloglevel = \"warn\"\n"
        << "\n[persistence]\ndir = \"" << dir << "\"\nappendonly = false\nsave = []\n"
        << "\n[database]\nurl = \"" << url << "\"\nqueues = " << o.queues << "\n"
        << "\n[[tables]]\nname = \"" << o.table << "\"\nkey = \"id\"\n"
        << "columns = [\"id\", \"version\", \"payload\"]\nmode = \"write-through\"\n"
        << "bloom_capacity = " << std::max(o.rows * 4, 100000) << "\n"
        << "bloom_error_rate = " << o.bloom_error_rate << "\n"
        << table_extra;
      f.close();
      auto child = std::make_unique<Child>(
          name, std::vector<std::string>{o.rowcached_bin, "--config", conf}, dir + "/log", dir);
      try {
        WaitPing(*child, port, 20s);
      } catch (const std::exception&) {
        if (attempt < 3 && !g_interrupted.load() && !child->Alive()) continue;  // port race
        throw;
      }
      hp->host = "127.0.0.1";
      hp->port = port;
      WaitTableReady(*hp, *child);
      return child;
    }
  }

  // The table's keys answer only once rowcached checked the table and loaded the Bloom filter.
  void WaitTableReady(const HostPort& hp, Child* child) {
    auto deadline = Clock::now() + 30s;
    std::string state;
    while (Clock::now() < deadline && !g_interrupted.load()) {
      try {
        auto s = RowStats(hp, o.table);
        state = s["state"] + "/bloom " + s["bloom"];
        if (s["state"] == "ready" && s["bloom"] != "loading") return;
      } catch (const std::exception& e) {
        state = e.what();
      }
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("rowcached table " + o.table + " not ready (" + state + ")" +
                             (child ? "; log:\n" + child->LogTail() : ""));
  }
  void WaitTableReady(const HostPort& hp, Child& child) { WaitTableReady(hp, &child); }

  void Start() {
    char tmpl[] = "/tmp/rowcached-bench.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    work = tmpl;
    // 500 herd connections to each server plus the rest: more than the usual 1024 descriptors.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
      setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (o.mysql_url.empty()) {
      maria = std::make_unique<rowcached::testing::PrivateMariaDb>();
      maria->Start();
      mysql_url = maria->url();
      started.push_back("MariaDB (private, port " + std::to_string(maria->port()) + ")");
    } else {
      mysql_url = o.mysql_url;
    }
    {
      adapters::Options dbo;
      dbo.url = mysql_url;
      auto parsed = adapters::ParseUrl(dbo);
      if (!parsed.ok()) throw std::runtime_error("--mysql: " + parsed.ToString());
      if (parsed->dialect != adapters::Dialect::kMySql) {
        throw std::runtime_error("--mysql: expected a mysql:// URL");
      }
      mysql_port = parsed->port;
      auto d = adapters::NewDatabase(dbo);
      if (!d.ok()) throw std::runtime_error("database: " + d.ToString());
      db = std::move(d).value();
    }
    CreateTable();

    if (o.redis.empty()) {
      int port = 0;
      for (int attempt = 0; attempt < 4; ++attempt) {
        port = FreePort();
        std::string dir = work + "/redis";
        std::filesystem::create_directories(dir);
        redis_child = std::make_unique<Child>(
            "redis-server",
            std::vector<std::string>{"redis-server", "--port", std::to_string(port), "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
                                     "--maxclients", "10000"},
            dir + "/log");
        try {
          WaitPing(*redis_child, port, 10s);
          break;
        } catch (const std::exception&) {
          if (attempt == 3 || redis_child->Alive()) throw;
        }
      }
      redis.port = port;
      started.push_back("redis-server (port " + std::to_string(port) + ")");
    } else {
      redis = ParseHostPort(o.redis);
    }

    if (o.rowcached.empty()) {
      rowcached_child = StartRowcached("rowcached", mysql_url, "", &rowcached);
      own_rowcached = true;
      started.push_back("rowcached (port " + std::to_string(rowcached.port) + ")");
    } else {
      rowcached = ParseHostPort(o.rowcached);
      WaitTableReady(rowcached, nullptr);
    }
  }

  void CreateTable() {
    auto conn = db->Connect();
    auto run = [&](const std::string& sql) {
      auto r = adapters::RunSqlForTesting(*conn, sql);
      if (!r.ok()) throw std::runtime_error(sql.substr(0, 80) + ": " + r.ToString());
    };
    // The bench owns this table: it is recreated so every run starts from version 1.
    run("DROP TABLE IF EXISTS " + o.table);
    run("CREATE TABLE " + o.table +
        " (id BIGINT PRIMARY KEY, version BIGINT NOT NULL, payload VARCHAR(64) NOT NULL DEFAULT "
        "'')");
    for (int start = 1; start <= o.rows; start += 1000) {
      std::string sql = "INSERT INTO " + o.table + " (id, version, payload) VALUES ";
      for (int id = start; id < std::min(start + 1000, o.rows + 1); ++id) {
        if (id != start) sql += ",";
        sql += "(" + std::to_string(id) + ",1,'row " + std::to_string(id) + " of the bench')";
      }
      run(sql);
    }
    auto d = conn->Describe(o.table);
    if (!d.ok()) throw std::runtime_error("describe: " + d.ToString());
  }

  void Stop() {
    if (!redis_child && redis.port != 0) {
      // Someone else's redis-server: take away only the keys the bench made.
      try {
        SyncClient c(redis.host, redis.port);
        std::string cursor = "0";
        do {
          Reply r = c.Call({"SCAN", cursor, "MATCH", o.table + "*", "COUNT", "1000"});
          if (r.type != '*' || r.elements.size() != 2) break;
          cursor = r.elements[0].str;
          for (const Reply& k : r.elements[1].elements) c.Call({"DEL", k.str});
        } while (cursor != "0");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rowcached-bench: cleaning up redis keys: %s\n", e.what());
      }
    }
    // Reverse order of start: rowcached first, so it does not log a vanished database.
    if (rowcached_child) rowcached_child->Stop();
    if (redis_child) redis_child->Stop();
    if (maria) maria->Stop();
    maria.reset();
    if (!work.empty()) std::filesystem::remove_all(work);
  }
};

std::string Key(const Env& env, int64_t id) { return env.o.table + ":" + std::to_string(id); }

int64_t ParseVersion(const Reply& r, bool* ok) {
  int64_t v = 0;
  *ok = r.type == '$' && !r.nil &&
        std::from_chars(r.str.data(), r.str.data() + r.str.size(), v).ec == std::errc();
  return v;
}

// ---- stale-read ---------------------------------------------------------------------------------

// The versions of the hot set. next: last version issued (only the key's writer touches it);
// acked: highest version whose write was acknowledged (readers snapshot it before sending).
struct Versions {
  explicit Versions(int k) : next(static_cast<size_t>(k)), acked(static_cast<size_t>(k)) {
    for (auto& a : next) a.store(1);
    for (auto& a : acked) a.store(1);
  }
  std::vector<std::atomic<int64_t>> next;
  std::vector<std::atomic<int64_t>> acked;
};

enum class Strategy { kRowcached, kDeleteThenUpdate, kUpdateThenDelete, kDoubleDelete, kNoCache };

std::string StrategyName(Strategy s, const Options& o) {
  switch (s) {
    case Strategy::kRowcached:
      return "rowcached";
    case Strategy::kDeleteThenUpdate:
      return "delete-then-update";
    case Strategy::kUpdateThenDelete:
      return "update-then-delete";
    case Strategy::kDoubleDelete:
      return "double-delete-" + std::to_string(o.double_delete_ms) + "ms";
    case Strategy::kNoCache:
      return "no-cache";
  }
  return "?";
}

struct StaleResult {
  std::string strategy;
  uint64_t reads = 0, stale = 0, errors = 0, writes = 0, write_errors = 0;
  uint64_t stale_keys = 0;
  uint64_t db_reads = 0;  // database reads caused by reads
  // Every SELECT the database ran during the phase (MariaDB Com_select), writers' included:
  // rowcached's HSET re-reads the row it wrote, hand-written reads are SELECTs.
  uint64_t db_selects_all = 0;
  int64_t max_lag = 0;  // largest (acked - returned) of a stale read
  double seconds = 0;
  Latencies lat;
  std::string first_error;
  json ToJson() {
    return {{"strategy", strategy},
            {"reads", reads},
            {"stale_reads", stale},
            {"stale_keys", stale_keys},
            {"max_version_lag", max_lag},
            {"errors", errors},
            {"writes", writes},
            {"write_errors", write_errors},
            {"seconds", seconds},
            {"reads_per_s", seconds > 0 ? reads / seconds : 0},
            {"p50_ms", lat.PercentileMs(0.50)},
            {"p99_ms", lat.PercentileMs(0.99)},
            {"p999_ms", lat.PercentileMs(0.999)},
            {"db_reads", db_reads},
            {"db_reads_per_1000", reads ? 1000.0 * db_reads / reads : 0},
            {"db_selects_all", db_selects_all},
            {"first_error", first_error}};
  }
};

// A DB connection owned by the calling thread.
struct Sql {
  explicit Sql(Env& env) : env(env), conn(env.db->Connect()) {}
  void Update(int64_t id, int64_t version) {
    auto r = adapters::RunSqlForTesting(*conn, "UPDATE " + env.o.table +
                                                   " SET version = " + std::to_string(version) +
                                                   " WHERE id = " + std::to_string(id));
    if (!r.ok()) throw std::runtime_error("UPDATE: " + r.ToString());
  }
  // MariaDB's global Com_select counter (SELECT statements run, prepared ones included).
  int64_t ComSelect() {
    auto r = adapters::RunSqlForTesting(*conn, "SHOW GLOBAL STATUS LIKE 'Com_select'");
    if (!r.ok() || r->empty() || r->at(0).size() < 2) return 0;
    return std::stoll(r->at(0)[1].value_or("0"));
  }
  int64_t ReadVersion(int64_t id) {
    static const std::vector<std::string> kCols{"version"};
    auto r = conn->FetchRow(env.o.table, std::to_string(id), kCols);
    if (!r.ok()) throw std::runtime_error("SELECT: " + r.ToString());
    return std::stoll(r->at(0).value.value_or("0"));
  }
  Env& env;
  std::unique_ptr<adapters::Connection> conn;
};

// The hand-written cache-aside read: GET, on a miss SELECT and SET.
int64_t CacheAsideRead(Env& env, SyncClient& redis, Sql& sql, int64_t id, uint64_t* db_reads) {
  std::string key = Key(env, id);
  Reply r = redis.Call({"GET", key});
  bool ok;
  int64_t v = ParseVersion(r, &ok);
  if (ok) return v;
  if (!r.nil) throw std::runtime_error("GET: " + r.Describe());
  v = sql.ReadVersion(id);
  ++*db_reads;
  redis.Call({"SET", key, std::to_string(v), "EX", "600"});
  return v;
}

// One writer of the stale-read load. Owns the keys k with k % writers == index.
void WriterLoop(Env& env, Strategy s, Versions& ver, int index, const std::atomic<bool>& stop,
                StaleResult* out, std::mutex* mu) {
  const Options& o = env.o;
  uint64_t writes = 0, errors = 0;
  std::string first_error;
  try {
    Sql sql(env);
    HostPort hp = s == Strategy::kRowcached ? env.rowcached : env.redis;
    SyncClient cache(hp.host, hp.port);
    std::mt19937_64 rng(static_cast<uint64_t>(index) * 7919 + 17);
    std::uniform_real_distribution<double> coin(0, 1);
    // Second deletes of the delayed double delete: (due, key). Asynchronous, as applications
    // schedule them: the write is acknowledged after the UPDATE.
    std::deque<std::pair<Clock::time_point, int64_t>> pending;
    auto flush_due = [&](bool all) {
      while (!pending.empty() && (all || pending.front().first <= Clock::now())) {
        if (all) std::this_thread::sleep_until(pending.front().first);
        cache.Call({"DEL", Key(env, pending.front().second)});
        pending.pop_front();
      }
    };
    std::vector<int> mine;
    for (int k = 0; k < o.keys; ++k) {
      if (k % o.writers == index) mine.push_back(k);
    }
    size_t next = 0;
    while (!stop.load() && !mine.empty()) {
      int k = mine[next++ % mine.size()];
      int64_t id = k + 1;
      int64_t v = ver.next[static_cast<size_t>(k)].fetch_add(1) + 1;
      std::string key = Key(env, id);
      try {
        switch (s) {
          case Strategy::kRowcached:
            if (coin(rng) < o.inband) {
              Reply r = cache.Call({"HSET", key, "version", std::to_string(v)});
              if (r.error()) throw std::runtime_error("HSET: " + r.str);
            } else {
              sql.Update(id, v);
              Reply r = cache.Call({"DEL", key});
              if (r.error()) throw std::runtime_error("DEL: " + r.str);
            }
            break;
          case Strategy::kDeleteThenUpdate:
            cache.Call({"DEL", key});
            sql.Update(id, v);
            break;
          case Strategy::kUpdateThenDelete:
            sql.Update(id, v);
            cache.Call({"DEL", key});
            break;
          case Strategy::kDoubleDelete:
            cache.Call({"DEL", key});
            sql.Update(id, v);
            pending.emplace_back(Clock::now() + std::chrono::milliseconds(o.double_delete_ms), id);
            break;
          case Strategy::kNoCache:
            sql.Update(id, v);
            break;
        }
        ver.acked[static_cast<size_t>(k)].store(v);
        ++writes;
      } catch (const std::exception& e) {
        // The write may or may not have happened: keep versions growing, acknowledge nothing.
        ++errors;
        if (first_error.empty()) first_error = e.what();
        std::this_thread::sleep_for(10ms);
      }
      flush_due(false);
    }
    flush_due(true);
  } catch (const std::exception& e) {
    ++errors;
    if (first_error.empty()) first_error = e.what();
  }
  std::lock_guard lock(*mu);
  out->writes += writes;
  out->write_errors += errors;
  if (out->first_error.empty() && !first_error.empty()) out->first_error = "writer: " + first_error;
}

StaleResult RunStale(Env& env, Strategy s, Versions& ver) {
  const Options& o = env.o;
  StaleResult res;
  res.strategy = StrategyName(s, o);
  std::mutex mu;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};

  if (s != Strategy::kRowcached && s != Strategy::kNoCache) {
    // Start from an empty cache of our keys (never FLUSHALL: --redis may be someone's server).
    SyncClient c(env.redis.host, env.redis.port);
    for (int k = 0; k < o.keys; ++k) c.Call({"DEL", Key(env, k + 1)});
  }
  std::map<std::string, std::string> before;
  Sql status(env);
  const int64_t selects_before = status.ComSelect();
  if (s == Strategy::kRowcached) before = RowStats(env.rowcached, o.table);

  std::vector<std::thread> writers;
  for (int w = 0; w < o.writers; ++w) {
    writers.emplace_back(WriterLoop, std::ref(env), s, std::ref(ver), w, std::cref(stop), &res,
                         &mu);
  }
  auto t0 = Clock::now();
  auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  {
    Progress progress("stale-read " + res.strategy, o.duration, &reads);
    if (s == Strategy::kRowcached) {
      // Readers: R connections on one thread, HGET <key> version.
      std::vector<std::mt19937_64> rng;
      for (int i = 0; i < o.readers; ++i) rng.emplace_back(static_cast<uint64_t>(i) + 1);
      AsyncLoad load(env.rowcached.host, env.rowcached.port, o.readers, o.pipeline);
      uint64_t n = 0;
      auto make = [&](int conn, std::string* out, uint64_t* token) {
        int k = static_cast<int>(rng[static_cast<size_t>(conn)]() % static_cast<uint64_t>(o.keys));
        int64_t snap = ver.acked[static_cast<size_t>(k)].load();
        *token = (static_cast<uint64_t>(snap) << 16) | static_cast<uint64_t>(k);
        Encode(out, {"HGET", Key(env, k + 1), "version"});
        return true;
      };
      auto done = [&](int, uint64_t token, const Reply& r, Clock::time_point sent) {
        res.lat.Add(Clock::now() - sent);
        int64_t snap = static_cast<int64_t>(token >> 16);
        bool ok;
        int64_t v = ParseVersion(r, &ok);
        if (!ok) {
          ++res.errors;
          if (res.first_error.empty()) res.first_error = "read: " + r.Describe();
        } else if (v < snap) {
          ++res.stale;
          res.max_lag = std::max(res.max_lag, snap - v);
        }
        ++n;
        if ((n & 255) == 0) reads.store(n, std::memory_order_relaxed);
      };
      auto stopfn = [&] { return g_interrupted.load() || Clock::now() >= deadline; };
      try {
        res.reads = load.Run(make, done, stopfn);
      } catch (const std::exception& e) {
        res.first_error = std::string("readers: ") + e.what();
        res.reads = n;
      }
    } else {
      // Readers: R threads, each with its own cache connection and database connection, as an
      // application's request threads would have.
      std::vector<std::thread> readers;
      for (int i = 0; i < o.readers; ++i) {
        readers.emplace_back([&, i] {
          StaleResult mine;
          uint64_t db_reads = 0;
          try {
            Sql sql(env);
            std::unique_ptr<SyncClient> redis;
            if (s != Strategy::kNoCache) {
              redis = std::make_unique<SyncClient>(env.redis.host, env.redis.port);
            }
            std::mt19937_64 rng(static_cast<uint64_t>(i) + 1);
            while (!g_interrupted.load() && Clock::now() < deadline) {
              int k = static_cast<int>(rng() % static_cast<uint64_t>(o.keys));
              int64_t snap = ver.acked[static_cast<size_t>(k)].load();
              auto sent = Clock::now();
              int64_t v;
              if (s == Strategy::kNoCache) {
                v = sql.ReadVersion(k + 1);
                ++db_reads;
              } else {
                v = CacheAsideRead(env, *redis, sql, k + 1, &db_reads);
              }
              mine.lat.Add(Clock::now() - sent);
              if (v < snap) {
                ++mine.stale;
                mine.max_lag = std::max(mine.max_lag, snap - v);
              }
              ++mine.reads;
              reads.fetch_add(1, std::memory_order_relaxed);
            }
          } catch (const std::exception& e) {
            ++mine.errors;
            mine.first_error = std::string("reader: ") + e.what();
          }
          std::lock_guard lock(mu);
          res.reads += mine.reads;
          res.stale += mine.stale;
          res.errors += mine.errors;
          res.db_reads += db_reads;
          res.max_lag = std::max(res.max_lag, mine.max_lag);
          res.lat.Merge(mine.lat);
          if (res.first_error.empty()) res.first_error = mine.first_error;
        });
      }
      for (auto& t : readers) t.join();
    }
    res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    stop.store(true);
    for (auto& t : writers) t.join();  // includes the last second deletes
  }
  res.db_selects_all =
      static_cast<uint64_t>(std::max<int64_t>(0, status.ComSelect() - selects_before));

  // Keys still stale after the load stopped: one read of each through the strategy's read path.
  if (s == Strategy::kRowcached) {
    SyncClient c(env.rowcached.host, env.rowcached.port);
    for (int k = 0; k < o.keys; ++k) {
      bool ok;
      int64_t v = ParseVersion(c.Call({"HGET", Key(env, k + 1), "version"}), &ok);
      if (!ok || v < ver.acked[static_cast<size_t>(k)].load()) ++res.stale_keys;
    }
    auto after = RowStats(env.rowcached, o.table);
    res.db_reads =
        static_cast<uint64_t>((Stat(after, "refreshes") - Stat(before, "refreshes")) +
                              (Stat(after, "timeouts_db") - Stat(before, "timeouts_db")));
  } else if (s != Strategy::kNoCache) {
    SyncClient c(env.redis.host, env.redis.port);
    Sql sql(env);
    uint64_t ignored = 0;
    for (int k = 0; k < o.keys; ++k) {
      if (CacheAsideRead(env, c, sql, k + 1, &ignored) < ver.acked[static_cast<size_t>(k)].load())
        ++res.stale_keys;
    }
  }
  return res;
}

// ---- herd ---------------------------------------------------------------------------------------

struct HerdResult {
  std::vector<uint64_t> rowcached_db_reads;  // per round
  std::vector<uint64_t> baseline_db_reads;
  uint64_t errors = 0;
  std::string first_error;
  uint64_t Max(const std::vector<uint64_t>& v) const {
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  }
};

HerdResult RunHerd(Env& env) {
  const Options& o = env.o;
  HerdResult res;
  std::atomic<uint64_t> rounds_done{0};
  Progress progress("herd", 0, &rounds_done, "rounds");
  // Herd keys lie outside the stale-read hot set, so no writer touches them.
  auto herd_id = [&](int round) { return static_cast<int64_t>(o.keys + 1 + round); };

  // rowcached: N connections, each sends one read before any reply is read.
  {
    std::vector<std::unique_ptr<SyncClient>> clients;
    for (int i = 0; i < o.herd_reads; ++i) {
      clients.push_back(std::make_unique<SyncClient>(env.rowcached.host, env.rowcached.port));
    }
    SyncClient ctl(env.rowcached.host, env.rowcached.port);
    for (int round = 0; round < o.herd_rounds && !g_interrupted.load(); ++round) {
      std::string key = Key(env, herd_id(round));
      ctl.Call({"HGET", key, "version"});  // cached
      auto before = RowStats(env.rowcached, o.table);
      ctl.Call({"DEL", key});  // invalidate
      std::string cmd;
      Encode(&cmd, {"HGET", key, "version"});
      for (auto& c : clients) {
        c->SendRaw(cmd);
        c->Flush();
      }
      for (auto& c : clients) {
        bool ok;
        Reply r = c->Read();
        ParseVersion(r, &ok);
        if (!ok) {
          ++res.errors;
          if (res.first_error.empty()) res.first_error = "rowcached herd read: " + r.Describe();
        }
      }
      auto after = RowStats(env.rowcached, o.table);
      res.rowcached_db_reads.push_back(
          static_cast<uint64_t>(Stat(after, "refreshes") - Stat(before, "refreshes") +
                                Stat(after, "timeouts_db") - Stat(before, "timeouts_db")));
      rounds_done.fetch_add(1);
    }
  }

  // Hand-written cache-aside: N request threads, a pool of database connections, redis-server.
  {
    std::vector<std::unique_ptr<SyncClient>> clients;
    for (int i = 0; i < o.herd_reads; ++i) {
      clients.push_back(std::make_unique<SyncClient>(env.redis.host, env.redis.port));
    }
    std::vector<std::unique_ptr<Sql>> pool;
    for (int i = 0; i < o.pool; ++i) pool.push_back(std::make_unique<Sql>(env));
    for (auto& p : pool) p->ReadVersion(1);  // open the sessions before the clock matters
    std::mutex pool_mu;
    std::condition_variable pool_cv;
    SyncClient ctl(env.redis.host, env.redis.port);
    for (int round = 0; round < o.herd_rounds && !g_interrupted.load(); ++round) {
      int64_t id = herd_id(round);
      std::string key = Key(env, id);
      {
        uint64_t ignored = 0;
        CacheAsideRead(env, ctl, *pool[0], id, &ignored);  // cached
      }
      ctl.Call({"DEL", key});  // invalidate
      std::atomic<uint64_t> db_reads{0};
      std::mutex go_mu;
      std::condition_variable go_cv;
      bool go = false;
      std::atomic<int> ready{0};
      std::vector<std::thread> threads;
      for (int i = 0; i < o.herd_reads; ++i) {
        threads.emplace_back([&, i] {
          {
            std::unique_lock lock(go_mu);
            ready.fetch_add(1);
            go_cv.wait(lock, [&] { return go; });
          }
          try {
            Reply r = clients[static_cast<size_t>(i)]->Call({"GET", key});
            if (r.nil) {
              std::unique_ptr<Sql> conn;
              {
                std::unique_lock lock(pool_mu);
                pool_cv.wait(lock, [&] { return !pool.empty(); });
                conn = std::move(pool.back());
                pool.pop_back();
              }
              int64_t v = conn->ReadVersion(id);
              db_reads.fetch_add(1);
              {
                std::lock_guard lock(pool_mu);
                pool.push_back(std::move(conn));
              }
              pool_cv.notify_one();
              clients[static_cast<size_t>(i)]->Call({"SET", key, std::to_string(v), "EX", "600"});
            }
          } catch (const std::exception& e) {
            std::lock_guard lock(pool_mu);
            ++res.errors;
            if (res.first_error.empty())
              res.first_error = std::string("baseline herd: ") + e.what();
          }
        });
      }
      while (ready.load() < o.herd_reads) std::this_thread::sleep_for(1ms);
      {
        std::lock_guard lock(go_mu);
        go = true;
      }
      go_cv.notify_all();
      for (auto& t : threads) t.join();
      res.baseline_db_reads.push_back(db_reads.load());
      rounds_done.fetch_add(1);
    }
  }
  return res;
}

// ---- penetration --------------------------------------------------------------------------------

struct PenetrationResult {
  uint64_t reads_bloom = 0, db_reads_bloom = 0, rejections_bloom = 0;
  uint64_t reads_nobloom = 0, db_reads_nobloom = 0;
  double seconds_bloom = 0, seconds_nobloom = 0;
  uint64_t errors = 0;
  std::string first_error;
};

// N reads of random absent keys (ids far above the table's), pipelined. Returns reads done.
uint64_t AbsentReads(Env& env, const HostPort& hp, uint64_t n, double cap_seconds,
                     const std::string& label, PenetrationResult* res, double* seconds) {
  std::mt19937_64 rng(0xbe11);
  std::uniform_int_distribution<int64_t> id(int64_t{1} << 40, int64_t{1} << 41);
  std::atomic<uint64_t> progress_count{0};
  uint64_t issued = 0, got = 0;
  auto t0 = Clock::now();
  auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cap_seconds));
  Progress progress(label, cap_seconds, &progress_count);
  AsyncLoad load(hp.host, hp.port, 8, 32);
  auto make = [&](int, std::string* out, uint64_t* token) {
    if (issued >= n) return false;
    ++issued;
    *token = 0;
    Encode(out, {"HGET", Key(env, id(rng)), "version"});
    return true;
  };
  auto done = [&](int, uint64_t, const Reply& r, Clock::time_point) {
    if (!(r.type == '$' && r.nil)) {
      ++res->errors;
      if (res->first_error.empty()) res->first_error = label + ": " + r.Describe();
    }
    if ((++got & 255) == 0) progress_count.store(got, std::memory_order_relaxed);
  };
  auto stopfn = [&] { return g_interrupted.load() || Clock::now() >= deadline; };
  uint64_t replies = load.Run(make, done, stopfn);
  *seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return replies;
}

PenetrationResult RunPenetration(Env& env) {
  const Options& o = env.o;
  PenetrationResult res;
  double cap = std::max(60.0, 3 * o.duration);
  {
    auto before = RowStats(env.rowcached, o.table);
    res.reads_bloom = AbsentReads(env, env.rowcached, o.penetration_reads, cap,
                                  "penetration, Bloom on", &res, &res.seconds_bloom);
    auto after = RowStats(env.rowcached, o.table);
    res.db_reads_bloom =
        static_cast<uint64_t>(Stat(after, "refreshes") - Stat(before, "refreshes") +
                              Stat(after, "timeouts_db") - Stat(before, "timeouts_db"));
    res.rejections_bloom =
        static_cast<uint64_t>(Stat(after, "bloom_rejections") - Stat(before, "bloom_rejections"));
  }
  if (!g_interrupted.load()) {
    HostPort hp;
    auto child = env.StartRowcached("rowcached-nobloom", env.mysql_url, "bloom = false\n", &hp);
    auto before = RowStats(hp, o.table);
    res.reads_nobloom = AbsentReads(env, hp, o.penetration_reads, cap, "penetration, Bloom off",
                                    &res, &res.seconds_nobloom);
    auto after = RowStats(hp, o.table);
    res.db_reads_nobloom =
        static_cast<uint64_t>(Stat(after, "refreshes") - Stat(before, "refreshes") +
                              Stat(after, "timeouts_db") - Stat(before, "timeouts_db"));
    child->Stop();
  }
  return res;
}

// ---- slow database ------------------------------------------------------------------------------

struct SlowResult {
  std::string on_timeout;
  uint64_t reads = 0, errors = 0;
  Latencies lat;
  std::map<std::string, int64_t> answered;  // which path answered (counter deltas)
  std::string first_error;
};

SlowResult RunSlow(Env& env, DelayProxy& proxy, const std::string& on_timeout, double seconds) {
  const Options& o = env.o;
  SlowResult res;
  res.on_timeout = on_timeout;
  std::string url = env.mysql_url;
  // Same database, reached through the proxy.
  auto at = url.rfind('@');
  auto slash = url.find('/', at == std::string::npos ? 8 : at);
  url = url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(proxy.port()) + url.substr(slash);
  HostPort hp;
  auto child = env.StartRowcached(
      "rowcached-slow-" + on_timeout, url,
      "ttl = \"" + std::to_string(o.slow_ttl_ms) + "ms\"\nread_timeout = \"" +
          std::to_string(o.read_timeout_ms) + "ms\"\non_timeout = \"" + on_timeout + "\"\n",
      &hp);
  const int keys = 64;
  {
    SyncClient c(hp.host, hp.port);
    for (int k = 0; k < keys; ++k) c.Call({"HGET", Key(env, k + 1), "version"});  // cached
  }
  auto before = RowStats(hp, o.table);
  proxy.set_delay_ms(o.db_delay_ms);
  std::atomic<uint64_t> count{0};
  {
    Progress progress("slow-db on_timeout=" + on_timeout, seconds, &count);
    auto t0 = Clock::now();
    auto deadline =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::mt19937_64> rng;
    for (int i = 0; i < o.readers; ++i) rng.emplace_back(static_cast<uint64_t>(i) + 99);
    AsyncLoad load(hp.host, hp.port, o.readers, 1);
    auto make = [&](int conn, std::string* out, uint64_t* token) {
      *token = 0;
      Encode(out,
             {"HGET", Key(env, static_cast<int64_t>(rng[static_cast<size_t>(conn)]() % keys) + 1),
              "version"});
      return true;
    };
    uint64_t n = 0;
    auto done = [&](int, uint64_t, const Reply& r, Clock::time_point sent) {
      res.lat.Add(Clock::now() - sent);
      bool ok;
      ParseVersion(r, &ok);
      if (!ok) {
        ++res.errors;
        if (res.first_error.empty()) res.first_error = r.Describe();
      }
      if ((++n & 63) == 0) count.store(n, std::memory_order_relaxed);
    };
    auto stopfn = [&] { return g_interrupted.load() || Clock::now() >= deadline; };
    try {
      res.reads = load.Run(make, done, stopfn);
    } catch (const std::exception& e) {
      res.first_error = e.what();
      res.reads = n;
    }
  }
  auto after = RowStats(hp, o.table);
  proxy.set_delay_ms(0);
  for (const char* name : {"hits", "misses", "merged", "refreshes", "timeouts_db", "timeouts_stale",
                           "timeouts_error", "rejected", "db_errors"}) {
    res.answered[name] = Stat(after, name) - Stat(before, name);
  }
  child->Stop();
  return res;
}

// ---- hit throughput -----------------------------------------------------------------------------

struct HitPair {
  std::string name;  // what rowcached ran
  double redis_ops = 0, rowcached_ops = 0;
  double Ratio() const { return redis_ops > 0 ? rowcached_ops / redis_ops : 0; }
};

double Throughput(const HostPort& hp, const std::vector<std::string>& commands, double seconds,
                  const Options& o, const std::string& label, std::string* error) {
  std::atomic<uint64_t> count{0};
  Progress progress(label, seconds, &count, "ops");
  std::vector<std::mt19937_64> rng;
  for (int i = 0; i < o.connections; ++i) rng.emplace_back(static_cast<uint64_t>(i) + 5);
  AsyncLoad load(hp.host, hp.port, o.connections, o.pipeline);
  auto t0 = Clock::now();
  auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  uint64_t n = 0;
  auto make = [&](int conn, std::string* out, uint64_t* token) {
    *token = 0;
    out->append(commands[rng[static_cast<size_t>(conn)]() % commands.size()]);
    return true;
  };
  auto done = [&](int, uint64_t, const Reply& r, Clock::time_point) {
    if ((r.type != '$' || r.nil) && error->empty()) *error = label + ": " + r.Describe();
    if ((++n & 1023) == 0) count.store(n, std::memory_order_relaxed);
  };
  auto stopfn = [&] { return g_interrupted.load() || Clock::now() >= deadline; };
  uint64_t replies = load.Run(make, done, stopfn);
  return replies / std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<HitPair> RunHit(Env& env, std::string* error) {
  const Options& o = env.o;
  // Keys past the stale-read and herd ones: nobody writes them during the run.
  int64_t first = o.keys + o.herd_rounds + 1;
  int64_t last = std::min<int64_t>(o.rows, first + o.hit_keys - 1);
  SyncClient rc(env.rowcached.host, env.rowcached.port);
  SyncClient redis(env.redis.host, env.redis.port);
  std::vector<std::string> rc_hget, rc_get, redis_version, redis_json;
  for (int64_t id = first; id <= last; ++id) {
    std::string key = Key(env, id);
    Reply version = rc.Call({"HGET", key, "version"});  // caches the row
    Reply row = rc.Call({"GET", key});                  // the row as JSON
    if (version.type != '$' || version.nil || row.type != '$' || row.nil) {
      throw std::runtime_error("hit: cannot read " + key + " through rowcached: " +
                               version.Describe() + " / " + row.Describe());
    }
    // redis-server holds the same bytes under a separate name, read with plain GET.
    std::string vkey = o.table + "_version:" + std::to_string(id);
    redis.Call({"SET", vkey, version.str});
    redis.Call({"SET", key, row.str});
    std::string c;
    Encode(&c, {"HGET", key, "version"});
    rc_hget.push_back(c);
    c.clear();
    Encode(&c, {"GET", key});
    rc_get.push_back(c);
    redis_json.push_back(c);
    c.clear();
    Encode(&c, {"GET", vkey});
    redis_version.push_back(c);
  }
  std::vector<HitPair> pairs{{"GET table key (row as JSON)"}, {"HGET table key version"}};
  // Alternating rounds, so drift of a shared machine hits both servers alike.
  const int rounds = 2;
  double slice = std::max(0.5, o.duration / (2 * rounds * pairs.size()));
  for (int round = 0; round < rounds && !g_interrupted.load(); ++round) {
    for (size_t p = 0; p < pairs.size() && !g_interrupted.load(); ++p) {
      const auto& rc_cmds = p == 0 ? rc_get : rc_hget;
      const auto& redis_cmds = p == 0 ? redis_json : redis_version;
      pairs[p].redis_ops +=
          Throughput(env.redis, redis_cmds, slice, o, "hit redis-server GET", error) / rounds;
      pairs[p].rowcached_ops +=
          Throughput(env.rowcached, rc_cmds, slice, o,
                     p == 0 ? "hit rowcached GET" : "hit rowcached HGET", error) /
          rounds;
    }
  }
  return pairs;
}

// ---- report -------------------------------------------------------------------------------------

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

struct Target {
  std::string name;
  bool pass;
  std::string detail;
};

// gnuplot chart: stale reads, latency, database reads per strategy; herd and penetration;
// slow-database latency; hit throughput. Returns "" or why there is no chart.
std::string WriteChart(const std::string& png, const std::string& work,
                       std::vector<StaleResult>& stale, const std::optional<HerdResult>& herd,
                       const std::optional<PenetrationResult>& pen, std::vector<SlowResult>& slow,
                       const std::vector<HitPair>& hit, const Options& o) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    return "gnuplot not found (package gnuplot-nox; scripts/setup.sh installs it): no chart";
  }
  std::string dir = work + "/chart";
  std::filesystem::create_directories(dir);
  auto file = [&](const std::string& name) { return dir + "/" + name; };
  {
    std::ofstream f(file("stale.dat"));
    f << "# strategy stale_per_million stale_keys p50 p99 p999 db_per_1k reads_per_s\n";
    for (auto& s : stale) {
      f << "\"" << s.strategy << "\" " << (s.reads ? 1e6 * s.stale / s.reads : 0) << " "
        << s.stale_keys << " " << s.lat.PercentileMs(0.5) << " " << s.lat.PercentileMs(0.99) << " "
        << s.lat.PercentileMs(0.999) << " " << (s.reads ? 1000.0 * s.db_reads / s.reads : 0) << " "
        << (s.seconds > 0 ? s.reads / s.seconds : 0) << "\n";
    }
  }
  {
    std::ofstream f(file("db.dat"));
    f << "# case rowcached handwritten\n";
    if (herd) {
      f << "\"herd: " << o.herd_reads << " reads after 1 invalidation\" "
        << herd->Max(herd->rowcached_db_reads) << " " << herd->Max(herd->baseline_db_reads) << "\n";
    }
    if (pen) {
      f << "\"" << WithCommas(pen->reads_bloom) << " absent keys, Bloom on\" "
        << pen->db_reads_bloom << " NaN\n";
      f << "\"" << WithCommas(pen->reads_nobloom) << " absent keys, Bloom off\" "
        << pen->db_reads_nobloom << " NaN\n";
    }
  }
  {
    std::ofstream f(file("slow.dat"));
    f << "# on_timeout p50 p99 p999\n";
    for (auto& s : slow) {
      f << "\"on_timeout=" << s.on_timeout << "\" " << s.lat.PercentileMs(0.5) << " "
        << s.lat.PercentileMs(0.99) << " " << s.lat.PercentileMs(0.999) << "\n";
    }
  }
  {
    std::ofstream f(file("hit.dat"));
    f << "# read redis rowcached\n";
    for (auto& h : hit)
      f << "\"" << h.name << "\" " << h.redis_ops << " " << h.rowcached_ops << "\n";
  }
  std::ofstream g(file("chart.gp"));
  // Data files start with a '#' header line (gnuplot skips it). Labels are plain text: table
  // names contain underscores, which enhanced text would turn into subscripts.
  g << "set terminal pngcairo size 1800,1100 font 'DejaVu Sans,10' noenhanced\n"
    << "set output '" << png << "'\n"
    << "set multiplot layout 2,3 title 'rowcached-bench: rowcached vs hand-written cache-aside "
       "on redis-server, same run'\n"
    << "set style data histograms\nset style histogram clustered gap 1\n"
    << "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\n"
    << "set key top left\nset xtics rotate by -25 scale 0\nset yrange [0:*]\n"
    << "set offsets 0, 0, graph 0.1, 0\n";
  std::string sd = file("stale.dat"), dd = file("db.dat"), sl = file("slow.dat"),
              ht = file("hit.dat");
  if (!stale.empty()) {
    g << "set title 'Stale reads per million reads (lower is better)'\n"
      << "plot '" << sd << "' using 2:xtic(sprintf('%s (%d stale keys)', strcol(1), $3)) "
      << "title 'stale reads / 1M reads', '' using 0:2:(sprintf('%.0f', $2)) with labels "
      << "offset 0,1 notitle\n";
    g << "set title 'Read latency, ms (log scale)'\nset logscale y\nset yrange [*:*]\n"
      << "plot '" << sd << "' using 4:xtic(1) title 'p50', '' using 5 title 'p99', '' using 6 "
      << "title 'p99.9'\nunset logscale y\nset yrange [0:*]\n";
    g << "set title 'Database reads per 1,000 reads'\n"
      << "plot '" << sd << "' using 7:xtic(1) title 'SELECTs / 1,000 reads', '' using "
      << "0:7:(sprintf('%.1f', $7)) with labels offset 0,1 notitle\n";
  } else {
    g << "set multiplot next\nset multiplot next\nset multiplot next\n";
  }
  if (herd || pen) {
    g << "set title 'Database reads caused (log scale)'\nset logscale y\nset yrange [0.5:*]\n"
      << "plot '" << dd << "' using ($2 > 0 ? $2 : 0.5):xtic(1) title 'rowcached', '' using "
      << "($3 > 0 ? $3 : 0.5) title 'hand-written cache-aside', '' using ($0 - 0.2):($2 > 0 ? "
      << "$2 : 0.5):($2 == $2 ? sprintf('%d', $2) : '') with labels offset 0,1 notitle, '' using "
         "($0 + 0.2):"
      << "($3 > 0 ? $3 : 0.5):($3 == $3 ? sprintf('%d', $3) : '') with labels offset 0,1 notitle\n"
      << "unset logscale y\nset yrange [0:*]\n";
  } else {
    g << "set multiplot next\n";
  }
  if (!slow.empty()) {
    g << "set title 'Slow database (+" << o.db_delay_ms << " ms per round trip, read_timeout "
      << o.read_timeout_ms << " ms): read latency, ms (log scale)'\nset logscale y\n"
      << "set yrange [*:*]\n"
      << "set arrow 1 from graph 0, first " << o.read_timeout_ms + 20 << " to graph 1, first "
      << o.read_timeout_ms + 20 << " nohead dt 2 lw 2 lc rgb 'red'\n"
      << "plot '" << sl << "' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 "
      << "title 'p99.9', NaN with lines dt 2 lw 2 lc rgb 'red' title 'target p99: read_timeout "
         "+ 20 ms'\nunset arrow 1\nunset logscale y\nset yrange [0:*]\n";
  } else {
    g << "set multiplot next\n";
  }
  if (!hit.empty()) {
    g << "set title 'Hit throughput, reads/s (" << o.connections << " connections, pipeline "
      << o.pipeline << ")'\n"
      << "plot '" << ht
      << "' using 2:xtic(1) title 'redis-server GET (same bytes)', '' using 3 "
         "title 'rowcached'\n";
  }
  g << "unset multiplot\n";
  g.close();
  std::string cmd = "gnuplot '" + file("chart.gp") + "' 2>'" + file("gnuplot.err") + "'";
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream e(file("gnuplot.err"));
    std::stringstream ss;
    ss << e.rdbuf();
    return "gnuplot failed: " + ss.str();
  }
  return "";
}

// Keeps the three load averages of a /proc/loadavg line.
void LoadAverage(char* line) {
  int spaces = 0;
  for (char* p = line; *p; ++p) {
    if (*p == ' ' && ++spaces == 3) {
      *p = 0;
      break;
    }
  }
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "rowcached-bench: rowcached against hand-written cache-aside code on redis-server, with a "
      "private MariaDB; stale reads, herd, penetration, slow database, hit throughput"};
  app.add_option("--scenario", o.scenario, "all|stale-read|baselines|herd|penetration|slow-db|hit")
      ->check(CLI::IsMember(
          {"all", "stale-read", "baselines", "herd", "penetration", "slow-db", "hit"}));
  app.add_option("--duration", o.duration, "seconds per measured phase (default 10)")
      ->check(CLI::Range(0.5, 3600.0));
  app.add_option("--json", o.json_file, "write the results as JSON to this file");
  app.add_option("--chart", o.chart_file, "write a PNG chart (gnuplot) to this file");
  app.add_option("--mysql", o.mysql_url,
                 "use this MariaDB/MySQL (mysql://user:pass@host:port/db) "
                 "instead of starting a private one");
  app.add_option("--redis", o.redis, "use this redis-server HOST:PORT instead of starting one");
  app.add_option("--rowcached", o.rowcached,
                 "use this rowcached HOST:PORT (configured with the bench table on the same "
                 "database) instead of starting one");
  app.add_option("--rowcached-bin", o.rowcached_bin, "rowcached binary to start");
  app.add_option("--table", o.table, "the bench's table (dropped and recreated)");
  app.add_option("--rows", o.rows, "rows in the table")->check(CLI::Range(100, 10000000));
  app.add_option("--keys", o.keys, "stale-read: hot keys")->check(CLI::Range(1, 65535));
  app.add_option("--writers", o.writers, "stale-read: writer threads")->check(CLI::Range(1, 256));
  app.add_option("--readers", o.readers, "stale-read and slow-db: reader connections")
      ->check(CLI::Range(1, 4096));
  app.add_option("--inband", o.inband, "stale-read: share of rowcached writes done with HSET")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--double-delete-ms", o.double_delete_ms, "delay of the second delete");
  app.add_option("--herd-reads", o.herd_reads, "herd: concurrent reads per invalidation")
      ->check(CLI::Range(1, 5000));
  app.add_option("--herd-rounds", o.herd_rounds, "herd: invalidations (one key each)")
      ->check(CLI::Range(1, 100));
  app.add_option("--pool", o.pool, "herd baseline: database connection pool size");
  app.add_option("--penetration-reads", o.penetration_reads, "penetration: reads of absent keys");
  app.add_option("--bloom-error-rate", o.bloom_error_rate, "rowcached bloom_error_rate");
  app.add_option("--read-timeout-ms", o.read_timeout_ms, "slow-db: rowcached read_timeout");
  app.add_option("--db-delay-ms", o.db_delay_ms, "slow-db: delay added to each database reply");
  app.add_option("--connections", o.connections, "hit: client connections (both servers)");
  app.add_option("--pipeline", o.pipeline,
                 "hit and rowcached stale-read readers: requests in "
                 "flight per connection")
      ->check(CLI::Range(1, 1024));
  app.add_option("--server-threads", o.server_threads, "rowcached server.threads (0 = per core)");
  app.add_option("--queues", o.queues, "rowcached database.queues");
  CLI11_PARSE(app, argc, argv);
  if (o.keys + o.herd_rounds + 2 > o.rows) {
    std::fprintf(stderr, "rowcached-bench: --rows must exceed --keys + --herd-rounds\n");
    return 2;
  }

  InstallSignalHandlers();
  // Last resort against a server that stops answering (the clients block on replies): after a
  // generous deadline, or 30 s after Ctrl-C without a clean end, exit; the kernel then kills the
  // servers the bench started (PR_SET_PDEATHSIG).
  std::thread([limit = std::chrono::duration<double>(12 * o.duration + 900)] {
    auto hard = Clock::now() + std::chrono::duration_cast<Clock::duration>(limit);
    while (Clock::now() < hard && !g_interrupted.load()) std::this_thread::sleep_for(100ms);
    if (g_interrupted.load()) std::this_thread::sleep_for(30s);
    std::fprintf(stderr, "rowcached-bench: %s; exiting\n",
                 g_interrupted.load() ? "no clean stop 30 s after the interrupt"
                                      : "time limit exceeded (a server stopped answering?)");
    std::_Exit(3);
  }).detach();
  Env env;
  env.o = o;
  json out;
  std::vector<StaleResult> stale;
  std::optional<HerdResult> herd;
  std::optional<PenetrationResult> pen;
  std::vector<SlowResult> slow;
  std::vector<HitPair> hit;
  std::string hit_error;
  std::string failure;
  char load_start[64] = "?";
  {
    std::ifstream la("/proc/loadavg");
    la.getline(load_start, sizeof(load_start));
    LoadAverage(load_start);
  }
  auto start = Clock::now();
  try {
    std::fprintf(stderr, "rowcached-bench: starting servers on 127.0.0.1\n");
    env.Start();
    std::printf("rowcached-bench: %u cores, load average %s; scenario %s, %.0f s per phase\n",
                std::thread::hardware_concurrency(), load_start, o.scenario.c_str(), o.duration);
    if (!env.started.empty()) {
      std::string s;
      for (auto& x : env.started) s += (s.empty() ? "" : ", ") + x;
      std::printf("rowcached-bench: started %s\n", s.c_str());
    }
    std::fflush(stdout);

    Versions ver(o.keys);
    if (Want(o, "stale-read")) stale.push_back(RunStale(env, Strategy::kRowcached, ver));
    if (Want(o, "baselines") || Want(o, "stale-read")) {
      if (o.scenario != "stale-read") {
        for (Strategy s : {Strategy::kDeleteThenUpdate, Strategy::kUpdateThenDelete,
                           Strategy::kDoubleDelete, Strategy::kNoCache}) {
          if (g_interrupted.load()) break;
          stale.push_back(RunStale(env, s, ver));
        }
      }
    }
    if (Want(o, "herd") && !g_interrupted.load()) herd = RunHerd(env);
    if (Want(o, "penetration") && !g_interrupted.load()) {
      if (!env.own_rowcached) {
        std::printf(
            "penetration: skipped with --rowcached (needs a second instance with "
            "bloom = false)\n");
      } else {
        pen = RunPenetration(env);
      }
    }
    if (Want(o, "slow-db") && !g_interrupted.load()) {
      if (!env.own_rowcached) {
        std::printf("slow-db: skipped with --rowcached (needs an instance behind the proxy)\n");
      } else {
        DelayProxy proxy(env.mysql_port);
        double each = std::max(3.0, o.duration / 2);
        for (const char* mode : {"stale", "db"}) {
          if (g_interrupted.load()) break;
          slow.push_back(RunSlow(env, proxy, mode, each));
        }
      }
    }
    if (Want(o, "hit") && !g_interrupted.load()) hit = RunHit(env, &hit_error);
  } catch (const std::exception& e) {
    failure = e.what();
  }

  // ---- tables ----
  std::vector<Target> targets;
  if (!stale.empty()) {
    std::printf(
        "\nstale-read: %d hot keys, %d writers (rowcached: %.0f%% HSET, rest UPDATE + "
        "DEL), %d readers; hand-written strategies against redis-server\n",
        o.keys, o.writers, o.inband * 100, o.readers);
    std::printf("%-22s %12s %10s %9s %10s %6s %8s %8s %8s %9s %9s %9s %7s\n", "strategy", "reads",
                "reads/s", "stale", "stale/1M", "s-keys", "p50 ms", "p99 ms", "p999 ms", "db/1k rd",
                "sel/1k rd", "writes", "errors");
    for (auto& s : stale) {
      std::printf(
          "%-22s %12s %10s %9s %10s %6s %8.3f %8.3f %8.3f %9.1f %9.1f %9s %7s\n",
          s.strategy.c_str(), WithCommas(s.reads).c_str(),
          WithCommas(static_cast<uint64_t>(s.seconds > 0 ? s.reads / s.seconds : 0)).c_str(),
          WithCommas(s.stale).c_str(), Fixed(s.reads ? 1e6 * s.stale / s.reads : 0, 1).c_str(),
          WithCommas(s.stale_keys).c_str(), s.lat.PercentileMs(0.5), s.lat.PercentileMs(0.99),
          s.lat.PercentileMs(0.999), s.reads ? 1000.0 * s.db_reads / s.reads : 0,
          s.reads ? 1000.0 * s.db_selects_all / s.reads : 0, WithCommas(s.writes).c_str(),
          WithCommas(s.errors + s.write_errors).c_str());
    }
    for (auto& s : stale) {
      if (!s.first_error.empty()) {
        std::printf("  %s: first error: %s\n", s.strategy.c_str(), s.first_error.c_str());
      }
    }
    std::printf(
        "  stale/1M: stale reads per million; s-keys: keys still stale after the load; db/1k rd: "
        "database reads caused by reads per 1,000 reads; sel/1k rd: every SELECT MariaDB ran "
        "(Com_select, writers' included) per 1,000 reads\n");
    auto& rc = stale.front();
    if (rc.strategy == "rowcached") {
      bool enough = rc.reads >= 1000000;
      targets.push_back(
          {"stale-read", rc.stale == 0 && rc.stale_keys == 0 && enough && rc.errors == 0,
           "rowcached " + WithCommas(rc.stale) + " stale reads of " + WithCommas(rc.reads) + ", " +
               std::to_string(rc.stale_keys) + " stale keys" +
               (rc.errors ? ", " + WithCommas(rc.errors) + " read errors" : "") +
               (enough ? "" : " (fewer than 1,000,000 reads: run with --duration 60)")});
    }
  }
  if (herd) {
    std::printf(
        "\nherd: invalidate one key, %d concurrent reads, %zu rounds (database reads per "
        "round)\n",
        o.herd_reads, herd->rowcached_db_reads.size());
    auto list = [](const std::vector<uint64_t>& v) {
      std::string s;
      for (auto x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
      return s;
    };
    std::printf("  %-40s max %4llu   per round: %s\n", "rowcached",
                static_cast<unsigned long long>(herd->Max(herd->rowcached_db_reads)),
                list(herd->rowcached_db_reads).c_str());
    std::printf("  %-40s max %4llu   per round: %s\n",
                ("hand-written cache-aside (pool of " + std::to_string(o.pool) + ")").c_str(),
                static_cast<unsigned long long>(herd->Max(herd->baseline_db_reads)),
                list(herd->baseline_db_reads).c_str());
    if (!herd->first_error.empty()) std::printf("  first error: %s\n", herd->first_error.c_str());
    uint64_t m = herd->Max(herd->rowcached_db_reads);
    targets.push_back({"herd", m <= 1 && herd->errors == 0 && !herd->rowcached_db_reads.empty(),
                       "rowcached at most " + std::to_string(m) +
                           " database read per invalidation (hand-written: " +
                           std::to_string(herd->Max(herd->baseline_db_reads)) + ")"});
  }
  if (pen) {
    std::printf("\npenetration: reads of random absent keys (bloom_error_rate %g)\n",
                o.bloom_error_rate);
    std::printf("  %-12s %10s %10s %10s %8s\n", "Bloom", "reads", "db reads", "rejected", "s");
    std::printf("  %-12s %10s %10s %10s %8.1f\n", "on", WithCommas(pen->reads_bloom).c_str(),
                WithCommas(pen->db_reads_bloom).c_str(), WithCommas(pen->rejections_bloom).c_str(),
                pen->seconds_bloom);
    std::printf("  %-12s %10s %10s %10s %8.1f\n", "off", WithCommas(pen->reads_nobloom).c_str(),
                WithCommas(pen->db_reads_nobloom).c_str(), "-", pen->seconds_nobloom);
    if (!pen->first_error.empty()) std::printf("  first error: %s\n", pen->first_error.c_str());
    double bound = 2 * o.bloom_error_rate * static_cast<double>(pen->reads_bloom);
    targets.push_back({"penetration",
                       pen->db_reads_bloom <= bound && pen->reads_bloom == o.penetration_reads &&
                           pen->errors == 0,
                       WithCommas(pen->db_reads_bloom) + " database reads for " +
                           WithCommas(pen->reads_bloom) + " absent keys with Bloom (bound " +
                           Fixed(bound, 0) + "), " + WithCommas(pen->db_reads_nobloom) +
                           " without"});
  }
  if (!slow.empty()) {
    std::printf(
        "\nslow-db: +%d ms per database round trip (proxy), read_timeout %d ms, ttl %d "
        "ms, %d readers on 64 keys\n",
        o.db_delay_ms, o.read_timeout_ms, o.slow_ttl_ms, o.readers);
    std::printf("  %-18s %9s %8s %8s %8s %8s  %s\n", "on_timeout", "reads", "p50 ms", "p99 ms",
                "p999 ms", "errors", "answered by (counter deltas)");
    for (auto& s : slow) {
      std::string ans;
      for (auto& [k, v] : s.answered) ans += k + "=" + std::to_string(v) + " ";
      std::printf("  %-18s %9s %8.1f %8.1f %8.1f %8s  %s\n", s.on_timeout.c_str(),
                  WithCommas(s.reads).c_str(), s.lat.PercentileMs(0.5), s.lat.PercentileMs(0.99),
                  s.lat.PercentileMs(0.999), WithCommas(s.errors).c_str(), ans.c_str());
      if (!s.first_error.empty()) std::printf("    first error: %s\n", s.first_error.c_str());
    }
    auto& s = slow.front();
    double p99 = s.lat.PercentileMs(0.99);
    targets.push_back(
        {"slow-db", p99 <= o.read_timeout_ms + 20 && s.reads > 0,
         "on_timeout=stale p99 " + Fixed(p99, 1) + " ms (bound " +
             std::to_string(o.read_timeout_ms + 20) + " ms" +
             (s.errors ? ", " + WithCommas(s.errors) + " reads answered -TRYAGAIN"
                       : std::string()) +
             ")" +
             (slow.size() > 1 ? "; on_timeout=db p99 " + Fixed(slow[1].lat.PercentileMs(0.99), 1) +
                                    " ms (the fallback reads the slow database)"
                              : "")});
  }
  if (!hit.empty()) {
    std::printf(
        "\nhit: %d cached rows, %d connections, pipeline %d, alternating rounds; plain GET "
        "on redis-server of the same bytes\n",
        o.hit_keys, o.connections, o.pipeline);
    std::printf("  %-30s %14s %14s %7s\n", "rowcached read", "redis GET/s", "rowcached/s", "ratio");
    for (auto& h : hit) {
      std::printf("  %-30s %14s %14s %7.2f\n", h.name.c_str(),
                  WithCommas(static_cast<uint64_t>(h.redis_ops)).c_str(),
                  WithCommas(static_cast<uint64_t>(h.rowcached_ops)).c_str(), h.Ratio());
    }
    if (!hit_error.empty()) std::printf("  first error: %s\n", hit_error.c_str());
    targets.push_back({"hit", hit.front().Ratio() >= 0.90 && hit_error.empty(),
                       "GET on a table key " + Fixed(hit.front().Ratio(), 2) +
                           " x redis-server GET (HGET " + Fixed(hit.back().Ratio(), 2) + " x)"});
  }

  std::string chart_note;
  if (!o.chart_file.empty() && failure.empty()) {
    chart_note = WriteChart(std::filesystem::absolute(o.chart_file).string(), env.work, stale, herd,
                            pen, slow, hit, o);
  }

  std::printf("\n");
  for (auto& t : targets) {
    std::printf("%s %-12s %s\n", t.pass ? "PASS" : "FAIL", t.name.c_str(), t.detail.c_str());
  }
  char load_end[64] = "?";
  {
    std::ifstream la("/proc/loadavg");
    la.getline(load_end, sizeof(load_end));
    LoadAverage(load_end);
  }
  std::printf("load average at start %s, at end %s; took %.0f s\n", load_start, load_end,
              std::chrono::duration<double>(Clock::now() - start).count());
  if (!o.chart_file.empty()) {
    if (chart_note.empty() && failure.empty()) {
      std::printf("chart: %s\n", o.chart_file.c_str());
    } else if (!chart_note.empty()) {
      std::printf("chart: %s\n", chart_note.c_str());
    }
  }

  // Summary line; "-" where a scenario did not run.
  std::string summary = "bench: stale ";
  StaleResult* rc =
      !stale.empty() && stale.front().strategy == "rowcached" ? &stale.front() : nullptr;
  summary += rc ? std::to_string(rc->stale) + " of " + std::to_string(rc->reads) +
                      " reads, stale-keys " + std::to_string(rc->stale_keys)
                : "- of - reads, stale-keys -";
  summary += ", herd " + (herd ? std::to_string(herd->Max(herd->rowcached_db_reads)) : "-");
  summary += ", penetration " + (pen ? std::to_string(pen->db_reads_bloom) : "-");
  summary += ", hit-ratio " + (hit.empty() ? std::string("-") : Fixed(hit.front().Ratio(), 2));

  if (!o.json_file.empty()) {
    out["options"] = {{"scenario", o.scenario},
                      {"duration", o.duration},
                      {"keys", o.keys},
                      {"writers", o.writers},
                      {"readers", o.readers},
                      {"inband", o.inband},
                      {"double_delete_ms", o.double_delete_ms},
                      {"herd_reads", o.herd_reads},
                      {"herd_rounds", o.herd_rounds},
                      {"penetration_reads", o.penetration_reads},
                      {"bloom_error_rate", o.bloom_error_rate},
                      {"read_timeout_ms", o.read_timeout_ms},
                      {"db_delay_ms", o.db_delay_ms},
                      {"connections", o.connections},
                      {"pipeline", o.pipeline}};
    out["stale_read"] = json::array();
    for (auto& s : stale) out["stale_read"].push_back(s.ToJson());
    if (herd) {
      out["herd"] = {{"rowcached_db_reads", herd->rowcached_db_reads},
                     {"baseline_db_reads", herd->baseline_db_reads},
                     {"errors", herd->errors}};
    }
    if (pen) {
      out["penetration"] = {{"reads_bloom", pen->reads_bloom},
                            {"db_reads_bloom", pen->db_reads_bloom},
                            {"bloom_rejections", pen->rejections_bloom},
                            {"reads_no_bloom", pen->reads_nobloom},
                            {"db_reads_no_bloom", pen->db_reads_nobloom},
                            {"errors", pen->errors}};
    }
    out["slow_db"] = json::array();
    for (auto& s : slow) {
      out["slow_db"].push_back({{"on_timeout", s.on_timeout},
                                {"reads", s.reads},
                                {"errors", s.errors},
                                {"p50_ms", s.lat.PercentileMs(0.5)},
                                {"p99_ms", s.lat.PercentileMs(0.99)},
                                {"p999_ms", s.lat.PercentileMs(0.999)},
                                {"answered", s.answered}});
    }
    out["hit"] = json::array();
    for (auto& h : hit) {
      out["hit"].push_back({{"read", h.name},
                            {"redis_ops_per_s", h.redis_ops},
                            {"rowcached_ops_per_s", h.rowcached_ops},
                            {"ratio", h.Ratio()}});
    }
    out["targets"] = json::array();
    for (auto& t : targets) {
      out["targets"].push_back({{"name", t.name}, {"pass", t.pass}, {"detail", t.detail}});
    }
    out["summary"] = summary;
    if (!failure.empty()) out["failure"] = failure;
    std::ofstream f(o.json_file);
    f << out.dump(2) << "\n";
  }

  env.Stop();
  if (!failure.empty()) std::printf("rowcached-bench: error: %s\n", failure.c_str());
  if (g_interrupted.load()) std::printf("rowcached-bench: interrupted; partial results\n");
  std::printf("%s\n", summary.c_str());
  if (g_interrupted.load()) return 130;  // as a shell reports a Ctrl-C
  return failure.empty() ? 0 : 1;
}

}  // namespace
}  // namespace rcbench

int main(int argc, char** argv) { return rcbench::Main(argc, argv); }
