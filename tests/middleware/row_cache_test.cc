// The row cache against a real SQLite database behind the fault-injecting adapter. Races are
// forced, not hoped for: a gate holds a refill mid-flight while the test writes or invalidates.
#include "middleware/row_cache.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "adapters/fault_injection.h"
#include "adapters/testing.h"
#include "server/command_harness.h"
#include "server/persistence.h"

using namespace rowcached;
using namespace std::chrono_literals;
using adapters::Call;
using adapters::HoldPoint;
using server::testing::Bulk;
using server::testing::CommandHarness;
using server::testing::Err;
using server::testing::Int;
using server::testing::kNil;
using server::testing::kOk;

namespace {

// Waits for `done` with a deadline that fails the test instead of hanging it.
void WaitFor(const std::function<bool()>& done, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting for " << what);
    std::this_thread::yield();
  }
}

std::string Get(std::future<std::string>& f) {
  if (f.wait_for(30s) != std::future_status::ready) {
    FAIL("no reply within 30 s");
  }
  return f.get();
}

// RESP of ROW.GET's reply for a products row (id, name, price, stock).
std::string RowReply(int id, const std::string& name, const std::string& price, int stock) {
  return "*8\r\n" + Bulk("id") + Bulk(std::to_string(id)) + Bulk("name") + Bulk(name) +
         Bulk("price") + Bulk(price) + Bulk("stock") + Bulk(std::to_string(stock));
}

class Fixture {
 public:
  // `dir`: where the database and the snapshots live; empty = a fresh temporary directory
  // (removed at the end). A second fixture on the same dir is the same deployment restarted.
  explicit Fixture(std::function<void(middleware::Options&)> tweak = nullptr, std::string dir = "")
      : dir_(dir.empty() ? MakeTempDir() : dir), owns_dir_(dir.empty()), h_(ServerOptions(dir_)) {
    url_ = "sqlite:" + dir_ + "/shop.db";
    admin_db_ = std::move(adapters::NewDatabase(url_)).value();
    admin_ = admin_db_->Connect();
    if (owns_dir_) {
      Sql("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price TEXT, stock "
          "INTEGER)");
      Sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
          "INSERT INTO products SELECT i, 'p' || i, i || '.50', i * 10 FROM n");
    }
    std::string load_error;
    if (!h_.server().persistence().Load(&load_error)) FAIL("load failed: " << load_error);
    middleware::Options options;
    options.database.url = url_;
    options.queues = 2;
    options.retry_initial = 5ms;
    options.retry_max = 50ms;
    middleware::TableOptions table;
    table.name = "products";
    table.bloom = false;
    // Long enough never to fire by accident on a loaded machine; timeout tests set their own and
    // hold the queue so that it fires for sure.
    table.read_timeout = 60s;
    options.tables = {table};
    if (tweak) tweak(options);
    faults_ = std::make_shared<adapters::FaultInjector>();
    auto db = adapters::WrapWithFaults(std::move(adapters::NewDatabase(url_)).value(), faults_);
    std::string error;
    cache_ = middleware::StartRowCache(h_.server(), options, std::move(db), &error);
    if (!cache_) FAIL("row cache did not start: " << error);
  }

  ~Fixture() {
    faults_->Clear();  // release any gate so the workers can stop
    if (cache_) middleware::StopRowCache(*cache_);
    if (owns_dir_) std::filesystem::remove_all(dir_);
  }

  const std::string& dir() const { return dir_; }
  // The directory outlives this fixture (for a restarted one; the test removes it).
  void KeepDir() { owns_dir_ = false; }

  void Sql(const std::string& sql) {
    auto r = adapters::RunSqlForTesting(*admin_, sql);
    if (!r.ok()) FAIL(sql << ": " << r.ToString());
  }

  const middleware::TableStats& stats() { return *middleware::FindTableStats(*cache_, "products"); }
  adapters::FaultInjector& faults() { return *faults_; }
  CommandHarness& h() { return h_; }
  std::string Run(std::vector<std::string> args) { return h_.RunWait(std::move(args)); }

 private:
  static std::string MakeTempDir() {
    char tmpl[] = "/tmp/rowcached-rowcache-XXXXXX";
    return mkdtemp(tmpl);
  }
  static server::Options ServerOptions(const std::string& dir) {
    server::Options o;
    o.dir = dir + "/data";
    o.save = {};
    return o;
  }

  std::string dir_;
  bool owns_dir_;
  CommandHarness h_;
  std::string url_;
  std::unique_ptr<adapters::Database> admin_db_;
  std::unique_ptr<adapters::Connection> admin_;
  std::shared_ptr<adapters::FaultInjector> faults_;
  std::shared_ptr<middleware::RowCache> cache_;
};

}  // namespace

TEST_CASE("row cache reads through once, then serves hits", "[rowcache]") {
  Fixture f;
  REQUIRE(f.Run({"ROW.GET", "products", "7"}) == RowReply(7, "p7", "7.50", 70));
  REQUIRE(f.Run({"ROW.GET", "products", "7"}) == RowReply(7, "p7", "7.50", 70));
  REQUIRE(f.Run({"ROW.GET", "products", "7", "price", "name"}) ==
          "*2\r\n" + Bulk("7.50") + Bulk("p7"));
  REQUIRE(f.faults().calls(Call::kFetchRow, "7") == 1);
  REQUIRE(f.stats().hits == 2);
  REQUIRE(f.stats().misses == 1);
}

TEST_CASE("row cache GET answers the row as JSON and nil for no row", "[rowcache]") {
  Fixture f;
  REQUIRE(f.Run({"GET", "products:3"}) ==
          Bulk(R"({"id":3,"name":"p3","price":"3.50","stock":30})"));
  REQUIRE(f.Run({"GET", "products:1000"}) == kNil);
  REQUIRE(f.Run({"EXISTS", "products:3"}) == Int(1));
  REQUIRE(f.Run({"EXISTS", "products:1000"}) == Int(0));
}

TEST_CASE("row cache refill held mid-flight never overwrites a later write", "[rowcache][race]") {
  Fixture f;
  // The refill of key 5 reads the old row, then is held before it can install it.
  auto gate = f.faults().Hold(Call::kFetchRow, "5", HoldPoint::kAfterDatabase);
  auto read = f.h().Start({"ROW.GET", "products", "5"});
  REQUIRE(gate->WaitArrived(30s));
  // The write queues behind the refill on the key's queue.
  auto write = f.h().Start({"ROW.SET", "products", "5", "price", "99.00"});
  f.faults().Clear();                                   // releases the held refill
  REQUIRE(Get(read) == RowReply(5, "p5", "5.50", 50));  // began before the write: old is fine
  REQUIRE(Get(write) == kOk);
  // After the acknowledgement every read, and the cache itself, hold the new value.
  int fetches = f.faults().calls(Call::kFetchRow, "5");
  REQUIRE(f.Run({"ROW.GET", "products", "5"}) == RowReply(5, "p5", "99.00", 50));
  REQUIRE(f.Run({"ROW.GET", "products", "5"}) == RowReply(5, "p5", "99.00", 50));
  REQUIRE(f.faults().calls(Call::kFetchRow, "5") == fetches);  // served by the cache
}

TEST_CASE("row cache refill that read before an out-of-band change and DEL is not installed",
          "[rowcache][race]") {
  Fixture f;
  auto gate = f.faults().Hold(Call::kFetchRow, "6", HoldPoint::kAfterDatabase);
  auto read = f.h().Start({"ROW.GET", "products", "6"});
  REQUIRE(gate->WaitArrived(30s));  // the refill has read the old row
  f.Sql("UPDATE products SET price = '66.00' WHERE id = 6");
  REQUIRE(f.Run({"DEL", "products:6"}) == Int(1));  // acknowledged invalidation
  f.faults().Clear();
  REQUIRE(Get(read) == RowReply(6, "p6", "6.50", 60));  // started before the invalidation
  // The held refill must not have installed its old row: the next read goes to the database.
  REQUIRE(f.Run({"ROW.GET", "products", "6"}) == RowReply(6, "p6", "66.00", 60));
  REQUIRE(f.Run({"ROW.GET", "products", "6"}) == RowReply(6, "p6", "66.00", 60));
  REQUIRE(f.faults().calls(Call::kFetchRow, "6") == 2);
}

TEST_CASE("row cache read after an invalidation does not join an older refill",
          "[rowcache][race]") {
  Fixture f;
  auto gate = f.faults().Hold(Call::kFetchRow, "8", HoldPoint::kAfterDatabase);
  auto early = f.h().Start({"ROW.GET", "products", "8"});
  REQUIRE(gate->WaitArrived(30s));
  f.Sql("UPDATE products SET stock = 1 WHERE id = 8");
  REQUIRE(f.Run({"ROW.INVALIDATE", "products", "8"}) == Int(1));
  auto late = f.h().Start({"ROW.GET", "products", "8"});  // must not merge into `early`'s refill
  f.faults().Clear();
  REQUIRE(Get(early) == RowReply(8, "p8", "8.50", 80));
  REQUIRE(Get(late) == RowReply(8, "p8", "8.50", 1));
}

TEST_CASE("row cache merges 1000 concurrent misses into one database read", "[rowcache]") {
  Fixture f;
  auto gate = f.faults().Hold(Call::kFetchRow, "9", HoldPoint::kBeforeDatabase);
  std::vector<std::future<std::string>> reads;
  for (int i = 0; i < 1000; ++i) reads.push_back(f.h().Start({"ROW.GET", "products", "9"}));
  WaitFor([&] { return f.stats().misses.load() == 1000; }, "1000 parked reads");
  gate->Release();
  for (auto& r : reads) REQUIRE(Get(r) == RowReply(9, "p9", "9.50", 90));
  REQUIRE(f.faults().calls(Call::kFetchRow, "9") == 1);
  REQUIRE(f.stats().refreshes == 1);
  REQUIRE(f.stats().merged == 999);
}

namespace {
// One queue, held busy by a write of key 2 (writes have no deadline), so a read of key 1
// waits past its read_timeout.
void HoldTheQueue(Fixture& f, std::shared_ptr<adapters::Gate>* gate,
                  std::future<std::string>* blocker) {
  *gate = f.faults().Hold(Call::kUpsert, "2", HoldPoint::kBeforeDatabase);
  *blocker = f.h().Start({"ROW.SET", "products", "2", "stock", "22"});
  REQUIRE((*gate)->WaitArrived(30s));
}
auto OneQueue(middleware::OnTimeout policy) {
  return [policy](middleware::Options& o) {
    o.queues = 1;
    o.tables[0].read_timeout = 30ms;
    o.tables[0].on_timeout = policy;
  };
}
}  // namespace

TEST_CASE("row cache on_timeout db reads the database directly", "[rowcache][timeout]") {
  Fixture f(OneQueue(middleware::OnTimeout::kDb));
  std::shared_ptr<adapters::Gate> gate;
  std::future<std::string> blocker;
  HoldTheQueue(f, &gate, &blocker);
  REQUIRE(f.Run({"ROW.GET", "products", "1"}) == RowReply(1, "p1", "1.50", 10));
  REQUIRE(f.stats().timeouts_db == 1);
  gate->Release();
  REQUIRE(Get(blocker) == kOk);
}

TEST_CASE("row cache on_timeout db: timed-out reads of one key share one database read",
          "[rowcache][timeout]") {
  Fixture f([](middleware::Options& o) {
    OneQueue(middleware::OnTimeout::kDb)(o);
    o.fallback_threads = 1;
  });
  std::shared_ptr<adapters::Gate> gate;
  std::future<std::string> blocker;
  HoldTheQueue(f, &gate, &blocker);
  // The one fallback thread is busy with key 3's direct read, so key 1's waits unsent while
  // every read of key 1 times out.
  auto busy = f.faults().Hold(Call::kFetchRow, "3", HoldPoint::kBeforeDatabase);
  auto read3 = f.h().Start({"ROW.GET", "products", "3"});
  REQUIRE(busy->WaitArrived(30s));
  std::vector<std::future<std::string>> reads;
  for (int i = 0; i < 50; ++i) reads.push_back(f.h().Start({"ROW.GET", "products", "1"}));
  reads.push_back(f.h().Start({"HGET", "products:1", "price"}));
  WaitFor([&] { return f.stats().timeouts_db.load() == 52; }, "52 timed-out reads");
  busy->Release();
  REQUIRE(Get(read3) == RowReply(3, "p3", "3.50", 30));
  for (int i = 0; i < 50; ++i) REQUIRE(Get(reads[i]) == RowReply(1, "p1", "1.50", 10));
  REQUIRE(Get(reads[50]) == Bulk("1.50"));
  // One direct read of key 1 (its queued refill is still behind the held write).
  REQUIRE(f.faults().calls(Call::kFetchRow, "1") == 1);
  REQUIRE(f.stats().merged == 50);
  gate->Release();
  REQUIRE(Get(blocker) == kOk);
}

TEST_CASE("row cache on_timeout db: a read never joins a database read sent before it arrived",
          "[rowcache][timeout][coherency]") {
  Fixture f(OneQueue(middleware::OnTimeout::kDb));
  std::shared_ptr<adapters::Gate> gate;
  std::future<std::string> blocker;
  HoldTheQueue(f, &gate, &blocker);
  // The first direct read has read the old price and is held before returning it.
  auto held = f.faults().Hold(Call::kFetchRow, "1", HoldPoint::kAfterDatabase);
  auto before = f.h().Start({"HGET", "products:1", "price"});
  REQUIRE(held->WaitArrived(30s));
  // The application changes the row itself; the change is committed before the next read.
  f.Sql("UPDATE products SET price = '1.99' WHERE id = 1");
  auto after = f.h().Start({"HGET", "products:1", "price"});
  // Sharing the held read would serve the old price: a second database read must be made.
  REQUIRE(held->WaitArrived(30s, 2));
  held->Release();
  REQUIRE(Get(before) == Bulk("1.50"));  // its read began before the change
  REQUIRE(Get(after) == Bulk("1.99"));
  REQUIRE(f.stats().merged == 0);
  gate->Release();
  REQUIRE(Get(blocker) == kOk);
}

TEST_CASE("row cache on_timeout error answers TRYAGAIN", "[rowcache][timeout]") {
  Fixture f(OneQueue(middleware::OnTimeout::kError));
  std::shared_ptr<adapters::Gate> gate;
  std::future<std::string> blocker;
  HoldTheQueue(f, &gate, &blocker);
  REQUIRE(f.Run({"ROW.GET", "products", "1"}) == Err("TRYAGAIN read timed out"));
  REQUIRE(f.stats().timeouts_error == 1);
  gate->Release();
  REQUIRE(Get(blocker) == kOk);
}

TEST_CASE("row cache on_timeout stale serves the last known row", "[rowcache][timeout]") {
  Fixture f([](middleware::Options& o) {
    OneQueue(middleware::OnTimeout::kStale)(o);
    o.tables[0].ttl = 10s;
    o.tables[0].ttl_jitter = 0;
  });
  // Cache the row through a write (writes have no deadline; write-through installs the row).
  REQUIRE(f.Run({"ROW.SET", "products", "1", "stock", "10"}) == kOk);
  f.Sql("UPDATE products SET stock = 11 WHERE id = 1");
  // Stale for longer than the row was ever fresh: still kept as the fallback (a slow database
  // can outlast a short ttl).
  f.h().clock().Advance(25'000);
  std::shared_ptr<adapters::Gate> gate;
  std::future<std::string> blocker;
  HoldTheQueue(f, &gate, &blocker);
  REQUIRE(f.Run({"ROW.GET", "products", "1"}) == RowReply(1, "p1", "1.50", 10));
  REQUIRE(f.stats().timeouts_stale == 1);
  gate->Release();
  REQUIRE(Get(blocker) == kOk);
  // With the queue free again the refill brings the current row.
  REQUIRE(f.Run({"ROW.GET", "products", "1"}) == RowReply(1, "p1", "1.50", 11));
}

TEST_CASE("row cache Bloom filter keeps unknown keys away from the database", "[rowcache][bloom]") {
  Fixture f([](middleware::Options& o) { o.tables[0].bloom = true; });
  WaitFor(
      [&] {
        return f.Run({"ROW.STATS", "products"}).find("ready") != std::string::npos &&
               f.Run({"ROW.STATS", "products"}).find("loading") == std::string::npos;
      },
      "the Bloom filter to load");
  for (int id = 1000; id < 1100; ++id) {
    REQUIRE(f.Run({"GET", "products:" + std::to_string(id)}) == kNil);
  }
  int reached = 0;
  for (int id = 1000; id < 1100; ++id)
    reached += f.faults().calls(Call::kFetchRow, std::to_string(id));
  REQUIRE(reached <= 1);  // error rate 0.001: at most a false positive or so
  REQUIRE(f.stats().bloom_rejections >= 99);
  // A row inserted through rowcached is readable at once.
  REQUIRE(f.Run({"ROW.SET", "products", "2000", "name", "new", "price", "1.00", "stock", "1"}) ==
          kOk);
  REQUIRE(f.Run({"ROW.GET", "products", "2000", "name"}) == "*1\r\n" + Bulk("new"));
  // A row inserted behind rowcached's back becomes readable once named in ROW.INVALIDATE.
  f.Sql("INSERT INTO products VALUES (3000, 'oob', '3.00', 3)");
  REQUIRE(f.Run({"GET", "products:3000"}) == kNil);  // the filter has never seen it
  REQUIRE(f.Run({"ROW.INVALIDATE", "products", "3000"}) == Int(1));
  REQUIRE(f.Run({"ROW.GET", "products", "3000", "name"}) == "*1\r\n" + Bulk("oob"));
}

TEST_CASE("row cache caches absence for negative_ttl, rows for ttl", "[rowcache][ttl]") {
  Fixture f([](middleware::Options& o) {
    o.tables[0].ttl = 60s;
    o.tables[0].ttl_jitter = 0;
    o.tables[0].negative_ttl = 5s;
  });
  REQUIRE(f.Run({"GET", "products:500"}) == kNil);
  REQUIRE(f.Run({"GET", "products:500"}) == kNil);
  REQUIRE(f.faults().calls(Call::kFetchRow, "500") == 1);
  REQUIRE(f.stats().negative_hits == 1);
  f.h().clock().Advance(5'001);
  REQUIRE(f.Run({"GET", "products:500"}) == kNil);
  REQUIRE(f.faults().calls(Call::kFetchRow, "500") == 2);

  REQUIRE(f.Run({"EXISTS", "products:4"}) == Int(1));
  f.Sql("UPDATE products SET stock = 4 WHERE id = 4");
  f.h().clock().Advance(59'000);
  REQUIRE(f.Run({"ROW.GET", "products", "4", "stock"}) == "*1\r\n" + Bulk("40"));
  f.h().clock().Advance(2'000);
  REQUIRE(f.Run({"ROW.GET", "products", "4", "stock"}) == "*1\r\n" + Bulk("4"));
}

TEST_CASE("row cache cache-aside drops the row on write, write-through installs it", "[rowcache]") {
  for (auto mode : {middleware::Mode::kCacheAside, middleware::Mode::kWriteThrough}) {
    Fixture f([mode](middleware::Options& o) { o.tables[0].mode = mode; });
    REQUIRE(f.Run({"ROW.GET", "products", "11", "stock"}) == "*1\r\n" + Bulk("110"));
    REQUIRE(f.Run({"ROW.SET", "products", "11", "stock", "7"}) == kOk);
    int before = f.faults().calls(Call::kFetchRow, "11");
    REQUIRE(f.Run({"ROW.GET", "products", "11", "stock"}) == "*1\r\n" + Bulk("7"));
    int read_fetches = f.faults().calls(Call::kFetchRow, "11") - before;
    REQUIRE(read_fetches == (mode == middleware::Mode::kCacheAside ? 1 : 0));
  }
}

TEST_CASE("row cache write the database refuses leaves the cache without the key", "[rowcache]") {
  Fixture f;
  REQUIRE(f.Run({"ROW.GET", "products", "12", "stock"}) == "*1\r\n" + Bulk("120"));
  f.faults().Inject({.call = Call::kUpsert,
                     .key = "12",
                     .status = adapters::Status::kConstraintViolated,
                     .message = "CHECK failed"});
  std::string reply = f.Run({"ROW.SET", "products", "12", "stock", "-1"});
  REQUIRE(reply.rfind("-ERR database error: constraint violated", 0) == 0);
  int before = f.faults().calls(Call::kFetchRow, "12");
  REQUIRE(f.Run({"ROW.GET", "products", "12", "stock"}) == "*1\r\n" + Bulk("120"));
  REQUIRE(f.faults().calls(Call::kFetchRow, "12") == before + 1);  // re-read, not the cache
}

TEST_CASE("row cache database outage: hits served, misses fail fast, recovery by itself",
          "[rowcache][outage]") {
  Fixture f([](middleware::Options& o) { o.breaker_failures = 2; });
  REQUIRE(f.Run({"ROW.GET", "products", "13", "stock"}) == "*1\r\n" + Bulk("130"));
  for (Call call : {Call::kFetchRow, Call::kUpsert, Call::kPing}) {
    f.faults().Inject({.call = call,
                       .status = adapters::Status::kConnectionLost,
                       .message = "server gone",
                       .times = -1});
  }
  // Cached rows keep being served.
  REQUIRE(f.Run({"ROW.GET", "products", "13", "stock"}) == "*1\r\n" + Bulk("130"));
  // Misses fail with TRYAGAIN; the breaker opens after two failures and then fails fast.
  for (int id : {14, 15}) {
    REQUIRE(f.Run({"ROW.GET", "products", std::to_string(id)}) ==
            Err("TRYAGAIN database unavailable: server gone"));
  }
  int fetches = f.faults().calls(Call::kFetchRow);
  REQUIRE(f.Run({"ROW.GET", "products", "16"}).rfind("-TRYAGAIN database unavailable", 0) == 0);
  REQUIRE(f.faults().calls(Call::kFetchRow) == fetches);  // fail fast: the database untouched
  // A write during the outage is refused, not acknowledged.
  REQUIRE(f.Run({"ROW.SET", "products", "13", "stock", "1"}).rfind("-", 0) == 0);
  // The database comes back: the probe closes the breaker and misses succeed again.
  f.faults().Clear();
  WaitFor(
      [&] {
        return f.Run({"ROW.STATS", "products"}).find("open") == std::string::npos;
      },
      "the breaker to close");
  REQUIRE(f.Run({"ROW.GET", "products", "16", "stock"}) == "*1\r\n" + Bulk("160"));
  REQUIRE(f.Run({"ROW.GET", "products", "13", "stock"}) == "*1\r\n" + Bulk("130"));
}

TEST_CASE("row cache refuses malformed keys and other writes with clear errors", "[rowcache]") {
  Fixture f;
  REQUIRE(f.Run({"GET", "products:"}) ==
          Err("ERR 'products:' is not a valid table key: the primary key is missing"));
  REQUIRE(f.Run({"GET", "products:abc"}) ==
          Err("ERR 'products:abc' is not a valid table key: the primary key 'id' of products is "
              "an integer"));
  REQUIRE(f.Run({"SET", "products:1", "x"}) ==
          Err("ERR products:1 is a table key managed by rowcached; use HSET / ROW.SET / ROW.DEL "
              "/ DEL"));
  REQUIRE(f.Run({"EXPIRE", "products:1", "10"}).rfind("-ERR products:1 is a table key", 0) == 0);
  REQUIRE(f.Run({"ROW.GET", "nosuch", "1"}) == Err("ERR no such table 'nosuch'"));
  REQUIRE(f.Run({"ROW.SET", "products", "1", "colour", "red"}) ==
          Err("ERR unknown column 'colour' in table products"));
  REQUIRE(f.Run({"ROW.SET", "products", "1", "id", "2"}) ==
          Err("ERR column 'id' is the primary key of products; the key names the row"));
  REQUIRE(f.Run({"ROW.SET", "products", "1", "name"}) ==
          Err("ERR wrong number of arguments for 'row.set' command"));
  REQUIRE(f.Run({"HLEN", "products:1"}) ==
          Err("ERR HLEN is not supported on table keys; use HGETALL, HGET, HMGET, GET or EXISTS"));
  // Plain keys that merely look alike stay plain.
  REQUIRE(f.Run({"SET", "orders:1", "x"}) == kOk);
  REQUIRE(f.Run({"DEL", "orders:1", "products:1"}) == Int(2));
}

TEST_CASE("row cache answers the hash commands of the contract on table keys", "[rowcache]") {
  Fixture f;
  REQUIRE(f.Run({"HGETALL", "products:30"}) == RowReply(30, "p30", "30.50", 300));
  REQUIRE(f.Run({"HGET", "products:30", "price"}) == Bulk("30.50"));
  REQUIRE(f.Run({"HMGET", "products:30", "stock", "name"}) == "*2\r\n" + Bulk("300") + Bulk("p30"));
  REQUIRE(f.Run({"HGET", "products:30", "colour"}) ==
          Err("ERR unknown column 'colour' in table products"));
  // HSET replies how many fields it added, like Redis: none for an existing row.
  REQUIRE(f.Run({"HSET", "products:30", "price", "1.00", "stock", "3"}) == Int(0));
  REQUIRE(f.Run({"HSET", "products:4000", "name", "n", "price", "2.00", "stock", "1"}) == Int(3));
  REQUIRE(f.Run({"HGETALL", "products:4000"}) == RowReply(4000, "n", "2.00", 1));
  REQUIRE(f.Run({"HMGET", "products:30", "price", "stock"}) == "*2\r\n" + Bulk("1.00") + Bulk("3"));
  REQUIRE(f.Run({"HGETALL", "products:5000"}) == "*0\r\n");
  REQUIRE(f.Run({"TYPE", "products:30"}) == "+hash\r\n");
  // Plain hashes are untouched by all this.
  REQUIRE(f.Run({"HSET", "cart:1", "apples", "3"}) == Int(1));
  REQUIRE(f.Run({"HGET", "cart:1", "apples"}) == Bulk("3"));
}

TEST_CASE("row cache ROW.DEL deletes in the database and invalidates", "[rowcache]") {
  Fixture f;
  REQUIRE(f.Run({"EXISTS", "products:20"}) == Int(1));
  REQUIRE(f.Run({"ROW.DEL", "products", "20"}) == Int(1));
  REQUIRE(f.Run({"EXISTS", "products:20"}) == Int(0));
  REQUIRE(f.Run({"ROW.DEL", "products", "20"}) == Int(0));
}

TEST_CASE("rows kept in a snapshot are re-validated against the database after a restart",
          "[rowcache][persistence]") {
  auto f = std::make_unique<Fixture>();
  std::string dir = f->dir();
  f->KeepDir();
  REQUIRE(f->Run({"ROW.GET", "products", "7"}) == RowReply(7, "p7", "7.50", 70));
  REQUIRE(f->Run({"ROW.GET", "products", "8"}) == RowReply(8, "p8", "8.50", 80));
  REQUIRE(f->Run({"SET", "plain", "kept"}) == kOk);
  REQUIRE(f->Run({"SAVE"}) == kOk);
  // While rowcached is down, the database changes.
  f->Sql("UPDATE products SET price = '77.00' WHERE id = 7");
  f.reset();

  Fixture restarted(nullptr, dir);
  {
    // The saved rows are back as rows (kept for on_timeout = "stale"), not as plain hashes.
    server::ShardLocks locks;
    locks.LockAll(restarted.h().server().keyspace());
    server::Db db(&restarted.h().server().keyspace(), 0);
    server::Entry* e = db.Find("products:7", false, false);
    REQUIRE(e != nullptr);
    CHECK(e->type() == server::ValueType::kRow);
  }
  // The saved copy of row 7 is older than the database: it must not be served.
  REQUIRE(restarted.Run({"ROW.GET", "products", "7"}) == RowReply(7, "p7", "77.00", 70));
  REQUIRE(restarted.Run({"HGET", "products:8", "price"}) == Bulk("8.50"));
  // Each saved row was read again from the database, once.
  CHECK(restarted.faults().calls(Call::kFetchRow, "7") == 1);
  CHECK(restarted.faults().calls(Call::kFetchRow, "8") == 1);
  CHECK(restarted.Run({"GET", "plain"}) == Bulk("kept"));
  std::filesystem::remove_all(dir);
}
