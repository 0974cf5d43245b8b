// Row fetches per second by primary key through each adapter: MariaDB, PostgreSQL (private
// servers started here) and SQLite (a temporary file); 1 and 16 connections, each owned by its
// own thread; cached prepared statements against the same query prepared and discarded on every
// call. All in one run, so the figures are comparable on a shared machine.
//
//   adapters_bench [--seconds=2] [--rows=10000]
//
// Last line: "adapters: mysql R1 pg R2 sqlite R3 fetches/s (16 conns)" (prepared statements).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapters/database.h"
#include "adapters/testing.h"
#include "support/private_server.h"

namespace {

using namespace rowcached::adapters;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "adapters_bench: %s\n", what.c_str());
  std::exit(1);
}

std::unique_ptr<Database> Open(const std::string& url, bool prepared) {
  Options options;
  options.url = url;
  options.cache_prepared_statements = prepared;
  auto db = NewDatabase(options);
  if (!db.ok()) Die(db.ToString());
  return std::move(db).value();
}

// Fetches per second with `threads` connections for `seconds`.
double Measure(Database& db, int threads, double seconds, int rows) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<std::uint64_t> total{0};
  std::atomic<int> errors{0};
  std::string first_error;
  std::mutex error_mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto conn = db.Connect();  // owned by this thread
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      std::uniform_int_distribution<int> key(1, rows);
      // Open the session and warm the statement cache before the clock starts.
      auto warm = conn->FetchRow("bench_rows", std::to_string(key(rng)));
      if (!warm.ok()) {
        std::lock_guard lock(error_mu);
        first_error = warm.ToString();
        ++errors;
      }
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      std::uint64_t done = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto row = conn->FetchRow("bench_rows", std::to_string(key(rng)));
        if (!row.ok()) {
          std::lock_guard lock(error_mu);
          if (first_error.empty()) first_error = row.ToString();
          ++errors;
          break;
        }
        ++done;
      }
      total.fetch_add(done);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measuring window
  stop.store(true);
  for (auto& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (errors.load() > 0) Die("fetch failed: " + first_error);
  return static_cast<double>(total.load()) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  int rows = 10000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--seconds=", 10) == 0) {
      seconds = std::atof(argv[i] + 10);
    } else if (std::strncmp(argv[i], "--rows=", 7) == 0) {
      rows = std::atoi(argv[i] + 7);
    } else {
      Die(std::string("unknown argument ") + argv[i] + " (usage: [--seconds=2] [--rows=10000])");
    }
  }
  if (seconds <= 0 || rows <= 0) Die("--seconds and --rows must be positive");

  try {
    rowcached::testing::PrivateMariaDb maria;
    rowcached::testing::PrivatePostgres pg;
    const std::string sqlite_dir = rowcached::testing::MakeTempDir("rowcached-bench-");
    std::fprintf(stderr, "starting private MariaDB and PostgreSQL servers...\n");
    maria.Start();
    pg.Start();
    const std::string n = std::to_string(rows);
    maria.Execute(
        "CREATE TABLE bench_rows (id INT PRIMARY KEY, name VARCHAR(64), price DECIMAL(10,2), "
        "stock INT, version INT)");
    maria.Execute(
        "INSERT INTO bench_rows SELECT seq, CONCAT('product ', seq), seq / 100, "
        "seq % 97, 1 FROM seq_1_to_" +
        n);
    pg.Execute(
        "CREATE TABLE bench_rows (id INT PRIMARY KEY, name VARCHAR(64), price NUMERIC(10,2), "
        "stock INT, version INT)");
    pg.Execute(
        "INSERT INTO bench_rows SELECT g, 'product ' || g, g / 100.0, g % 97, 1 "
        "FROM generate_series(1, " +
        n + ") g");
    const std::string sqlite_url = "sqlite:" + sqlite_dir + "/bench.db";
    {
      auto db = Open(sqlite_url, true);
      auto conn = db->Connect();
      for (const std::string& sql :
           {std::string("CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, name VARCHAR(64), "
                        "price DECIMAL(10,2), stock INT, version INT)"),
            "INSERT INTO bench_rows WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
            "FROM c WHERE x < " +
                n + ") SELECT x, 'product ' || x, x / 100.0, x % 97, 1 FROM c"}) {
        auto done = RunSqlForTesting(*conn, sql);
        if (!done.ok()) Die(done.ToString());
      }
    }

    struct Target {
      const char* name;
      std::string url;
    };
    const std::vector<Target> targets = {
        {"mysql", maria.url()}, {"pg", pg.url()}, {"sqlite", sqlite_url}};
    std::map<std::string, double> headline;
    std::printf("%-8s %6s %14s %14s %8s\n", "backend", "conns", "prepared/s", "unprepared/s",
                "ratio");
    for (const Target& target : targets) {
      for (int conns : {1, 16}) {
        double rate[2];
        for (int prepared = 1; prepared >= 0; --prepared) {
          auto db = Open(target.url, prepared == 1);
          if (auto d = db->Connect()->Describe("bench_rows"); !d.ok()) Die(d.ToString());
          rate[prepared] = Measure(*db, conns, seconds, rows);
        }
        std::printf("%-8s %6d %14.0f %14.0f %7.2fx\n", target.name, conns, rate[1], rate[0],
                    rate[0] > 0 ? rate[1] / rate[0] : 0.0);
        std::fflush(stdout);
        if (conns == 16) headline[target.name] = rate[1];
      }
    }
    rowcached::testing::RemoveTree(sqlite_dir);
    std::printf("adapters: mysql %.0f pg %.0f sqlite %.0f fetches/s (16 conns)\n",
                headline["mysql"], headline["pg"], headline["sqlite"]);
  } catch (const std::exception& e) {
    Die(e.what());
  }
  return 0;
}
