// The row cache end to end: RESP over real sockets to an in-process rowcached, in front of real
// MariaDB and PostgreSQL servers. Each behaviour is written once and run against both.
//
// The database is wrapped with the fault injector in every test here: it counts the calls that
// reach the database (how a hit is told from a miss without timing) and lets the race tests hold
// a refill between its database read and its install, so the races are forced, not hoped for.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/harness.h"

namespace rowcached::integration_test {
namespace {

using adapters::Call;
using adapters::HoldPoint;

// What stays true while the key is served from the cache: no new database read of it.
struct FetchCounter {
  adapters::FaultInjector& faults;
  std::string pk;
  int at = faults.calls(Call::kFetchRow, pk);
  int delta() const { return faults.calls(Call::kFetchRow, pk) - at; }
};

void ReadWriteInvalidate(Kind kind) {
  Backend db = SharedBackend(kind);
  db.RecreateProducts();
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(ProductsOptions(db.Url()), faults);
  auto c = server.Client();
  WaitTableReady(*c);

  // ---- read-through: a miss reads the database once, then the cache serves.
  {
    FetchCounter f{*faults, "7"};
    REQUIRE(HashOf(c->Command({"HGETALL", "products:7"})) == ProductRow(7));
    REQUIRE(f.delta() == 1);
    auto s = RowStats(*c);
    REQUIRE(s["misses"] == "1");
    REQUIRE(s["refreshes"] == "1");
    REQUIRE(s["hits"] == "0");
    REQUIRE(HashOf(c->Command({"HGETALL", "products:7"})) == ProductRow(7));
    REQUIRE(BulkOf(c->Command({"HGET", "products:7", "price"})) == "7.50");
    Reply m = c->Command({"HMGET", "products:7", "name", "stock", "version"});
    REQUIRE(m.type == '*');
    REQUIRE(m.elems.size() == 3);
    REQUIRE(BulkOf(m.elems[0]) == "p7");
    REQUIRE(BulkOf(m.elems[1]) == "70");
    REQUIRE(BulkOf(m.elems[2]) == "1");
    auto j = nlohmann::json::parse(BulkOf(c->Command({"GET", "products:7"})));
    REQUIRE(j == nlohmann::json{
                     {"id", 7}, {"name", "p7"}, {"price", "7.50"}, {"stock", 70}, {"version", 1}});
    REQUIRE(j["id"].is_number_integer());
    REQUIRE(IntOf(c->Command({"EXISTS", "products:7"})) == 1);
    REQUIRE(f.delta() == 1);  // every read after the first was a hit
    s = RowStats(*c);
    REQUIRE(s["hits"] == "5");
    REQUIRE(s["misses"] == "1");
  }

  // ---- rows that do not exist: the Bloom filter answers without the database.
  {
    int64_t rejections = Stat(*c, "bloom_rejections");
    int fetches = faults->calls(Call::kFetchRow);
    for (int id = 100001; id <= 100010; ++id) {
      std::string key = "products:" + std::to_string(id);
      REQUIRE(IsNil(c->Command({"GET", key})));
    }
    REQUIRE(IntOf(c->Command({"EXISTS", "products:100001"})) == 0);
    REQUIRE(HashOf(c->Command({"HGETALL", "products:100001"})).empty());
    int reached = faults->calls(Call::kFetchRow) - fetches;
    // Error rate 0.001: at most a false positive among ten keys reaches the database.
    REQUIRE(reached <= 1);
    REQUIRE(Stat(*c, "bloom_rejections") - rejections >= 9);
  }

  // ---- write-through: HSET replies after the commit; the database and the cache have it.
  {
    int64_t writes = Stat(*c, "writes");
    REQUIRE(IntOf(c->Command({"HSET", "products:7", "price", "9.99", "stock", "3"})) == 0);
    auto rows = db.Query("SELECT price, stock FROM products WHERE id = 7");
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0] == testing::SqlRow{"9.99", "3"});
    REQUIRE(Stat(*c, "writes") == writes + 1);
    FetchCounter f{*faults, "7"};
    int64_t hits = Stat(*c, "hits");
    auto other = server.Client();  // a different connection sees it too
    Hash expected = ProductRow(7);
    expected["price"] = "9.99";
    expected["stock"] = "3";
    REQUIRE(HashOf(other->Command({"HGETALL", "products:7"})) == expected);
    REQUIRE(HashOf(c->Command({"ROW.GET", "products", "7"})) == expected);
    REQUIRE(f.delta() == 0);  // write-through installed the row as stored
    REQUIRE(Stat(*c, "hits") == hits + 2);

    // A new row: HSET counts the fields it added, like Redis; ROW.SET replies OK.
    REQUIRE(IntOf(c->Command(
                {"HSET", "products:5000", "name", "fresh", "price", "1.25", "stock", "4"})) == 3);
    REQUIRE(db.Query("SELECT name, price, stock, version FROM products WHERE id = 5000") ==
            std::vector<testing::SqlRow>{{"fresh", "1.25", "4", "0"}});
    REQUIRE(HashOf(c->Command({"HGETALL", "products:5000"})) == Hash{{"id", "5000"},
                                                                     {"name", "fresh"},
                                                                     {"price", "1.25"},
                                                                     {"stock", "4"},
                                                                     {"version", "0"}});
    REQUIRE(c->Command({"ROW.SET", "products", "5000", "version", "2"}).str == "OK");
    REQUIRE(db.Scalar("SELECT version FROM products WHERE id = 5000") == "2");
    REQUIRE(BulkOf(other->Command({"HGET", "products:5000", "version"})) == "2");
  }

  // ---- out-of-band change: the cache keeps the old row until DEL, then reads the new one.
  {
    db.Exec("UPDATE products SET name = 'renamed', version = 2 WHERE id = 7");
    REQUIRE(BulkOf(c->Command({"HGET", "products:7", "name"})) == "p7");  // still cached
    int64_t invalidations = Stat(*c, "invalidations");
    REQUIRE(IntOf(c->Command({"DEL", "products:7"})) == 1);
    REQUIRE(Stat(*c, "invalidations") == invalidations + 1);
    FetchCounter f{*faults, "7"};
    REQUIRE(BulkOf(c->Command({"HGET", "products:7", "name"})) == "renamed");
    REQUIRE(BulkOf(c->Command({"HGET", "products:7", "version"})) == "2");
    REQUIRE(f.delta() == 1);
    // UNLINK and ROW.INVALIDATE are the same invalidation.
    db.Exec("UPDATE products SET stock = 71 WHERE id = 7");
    REQUIRE(IntOf(c->Command({"UNLINK", "products:7"})) == 1);
    REQUIRE(BulkOf(c->Command({"HGET", "products:7", "stock"})) == "71");
    db.Exec("UPDATE products SET stock = 72 WHERE id = 7");
    REQUIRE(IntOf(c->Command({"ROW.INVALIDATE", "products", "7", "8"})) == 2);
    REQUIRE(BulkOf(c->Command({"HGET", "products:7", "stock"})) == "72");
  }

  // ---- a row inserted behind rowcached's back: unseen by the Bloom filter until invalidated.
  {
    db.Exec(
        "INSERT INTO products (id, name, price, stock, version) "
        "VALUES (6000, 'oob', 6.00, 6, 1)");
    REQUIRE(IntOf(c->Command({"DEL", "products:6000"})) == 1);  // the application says so
    REQUIRE(BulkOf(c->Command({"HGET", "products:6000", "name"})) == "oob");
    REQUIRE(IntOf(c->Command({"EXISTS", "products:6000"})) == 1);
  }

  // ---- ROW.DEL deletes in the database, then invalidates.
  {
    REQUIRE(IntOf(c->Command({"EXISTS", "products:20"})) == 1);
    REQUIRE(IntOf(c->Command({"ROW.DEL", "products", "20"})) == 1);
    REQUIRE(db.Scalar("SELECT COUNT(*) FROM products WHERE id = 20") == "0");
    REQUIRE(IntOf(c->Command({"ROW.DEL", "products", "20"})) == 0);
    REQUIRE(IntOf(c->Command({"EXISTS", "products:20"})) == 0);
    // Absence is cached too (negative cache): no second database read.
    FetchCounter f{*faults, "20"};
    int64_t negative_hits = Stat(*c, "negative_hits");
    REQUIRE(IsNil(c->Command({"GET", "products:20"})));
    REQUIRE(HashOf(c->Command({"HGETALL", "products:20"})).empty());
    REQUIRE(f.delta() == 0);
    REQUIRE(Stat(*c, "negative_hits") == negative_hits + 2);
  }

  // ---- other writes on table keys are refused; plain keys stay plain.
  {
    Reply r = c->Command({"SET", "products:7", "x"});
    REQUIRE(r.IsError());
    REQUIRE(r.str ==
            "ERR products:7 is a table key managed by rowcached; use HSET / ROW.SET / ROW.DEL / "
            "DEL");
    REQUIRE(c->Command({"SET", "plain:7", "x"}).str == "OK");
    REQUIRE(BulkOf(c->Command({"GET", "plain:7"})) == "x");
    REQUIRE(c->Command({"GET", "products:abc"}).IsError());
  }

  // ---- RESP3 clients get a map.
  {
    auto r3 = server.Client();
    RequireNotError(r3->Command({"HELLO", "3"}));
    Reply r = r3->Command({"HGETALL", "products:9"});
    REQUIRE(r.type == '%');
    REQUIRE(HashOf(r) == ProductRow(9));
  }

  // ---- INFO rowcache reports the same counters as ROW.STATS.
  {
    auto stats = RowStats(*c);
    std::string info = protocol_test::Info(*c, "rowcache");
    INFO(info);
    REQUIRE(protocol_test::InfoField(info, "rowcache_tables") == "1");
    REQUIRE(protocol_test::InfoField(info, "rowcache_breaker") == "closed");
    REQUIRE(protocol_test::InfoField(info, "products_state") == "ready");
    for (const char* name : {"hits", "negative_hits", "misses", "refreshes", "merged",
                             "bloom_rejections", "writes", "invalidations", "db_errors"}) {
      INFO(name);
      REQUIRE(protocol_test::InfoField(info, std::string("products_") + name) == stats[name]);
    }
    REQUIRE(stats["writes"] == "5");  // HSET x2, ROW.SET, ROW.DEL x2 (the second found no row)
    REQUIRE(stats["invalidations"] == "5");  // DEL, UNLINK, ROW.INVALIDATE 7 8, DEL 6000
    REQUIRE(stats["db_errors"] == "0");
    REQUIRE(stats["breaker"] == "closed");
    REQUIRE(stats["queue_depth"] == "0");
  }
}

// Race (a): a refill has read the old row and is held before it installs; an HSET of a new
// value queues behind it on the key's queue. After the HSET's reply, every read and the cache
// itself hold the new value.
void RefillHeldThenWrite(Kind kind) {
  Backend db = SharedBackend(kind);
  db.RecreateProducts();
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(ProductsOptions(db.Url()), faults);
  auto reader = server.Client();
  auto writer = server.Client();
  auto observer = server.Client();
  WaitTableReady(*observer);

  auto gate = faults->Hold(Call::kFetchRow, "5", HoldPoint::kAfterDatabase);
  reader->Send(EncodeCommand({"HGETALL", "products:5"}));
  REQUIRE(gate->WaitArrived(20s));  // the refill has read the old row
  writer->Send(EncodeCommand({"HSET", "products:5", "price", "55.55", "version", "2"}));
  // The write is accepted onto the key's queue behind the held refill ...
  WaitUntil([&] { return Stat(*observer, "queue_depth") >= 1; }, "the HSET to queue");
  // ... and cannot have run: the database has not seen it.
  REQUIRE(faults->calls(Call::kUpsert, "5") == 0);
  REQUIRE(db.Scalar("SELECT price FROM products WHERE id = 5") == "5.50");
  gate->Release();
  // The read began before the write: the old row is a correct answer for it.
  REQUIRE(HashOf(reader->Read()) == ProductRow(5));
  REQUIRE(IntOf(writer->Read()) == 0);
  REQUIRE(db.Query("SELECT price, version FROM products WHERE id = 5") ==
          std::vector<testing::SqlRow>{{"55.55", "2"}});
  // Every read after the acknowledgement sees the new value, served by the cache.
  FetchCounter f{*faults, "5"};
  for (int i = 0; i < 3; ++i) {
    auto fresh = server.Client();
    REQUIRE(HashOf(fresh->Command({"HGETALL", "products:5"})) == ProductRow(5, "55.55", 2));
  }
  REQUIRE(HashOf(reader->Command({"HGETALL", "products:5"})) == ProductRow(5, "55.55", 2));
  REQUIRE(f.delta() == 0);
}

// Race (b): the same, with an out-of-band change plus DEL (immediate) instead of HSET: the held
// refill must not be installed.
void RefillHeldThenInvalidate(Kind kind) {
  Backend db = SharedBackend(kind);
  db.RecreateProducts();
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(ProductsOptions(db.Url()), faults);
  auto reader = server.Client();
  auto writer = server.Client();
  WaitTableReady(*writer);

  auto gate = faults->Hold(Call::kFetchRow, "6", HoldPoint::kAfterDatabase);
  reader->Send(EncodeCommand({"HGETALL", "products:6"}));
  REQUIRE(gate->WaitArrived(20s));  // the refill has read the old row
  db.Exec("UPDATE products SET price = 66.66, version = 2 WHERE id = 6");
  // DEL does not queue: it is acknowledged while the refill is still held.
  REQUIRE(IntOf(writer->Command({"DEL", "products:6"})) == 1);
  REQUIRE(gate->arrived() == 1);
  gate->Release();
  REQUIRE(HashOf(reader->Read()) == ProductRow(6));  // began before the invalidation
  // The held refill was not installed: the next read goes to the database and caches the new row.
  FetchCounter f{*faults, "6"};
  REQUIRE(HashOf(writer->Command({"HGETALL", "products:6"})) == ProductRow(6, "66.66", 2));
  REQUIRE(f.delta() == 1);
  for (int i = 0; i < 3; ++i) {
    auto fresh = server.Client();
    REQUIRE(HashOf(fresh->Command({"HGETALL", "products:6"})) == ProductRow(6, "66.66", 2));
  }
  REQUIRE(HashOf(reader->Command({"HGETALL", "products:6"})) == ProductRow(6, "66.66", 2));
  REQUIRE(f.delta() == 1);
}

// 1,000 concurrent misses on one key, each on its own connection, all parked on one refill
// (held before the database), cause exactly one database read.
void ThousandMissesOneFetch(Kind kind) {
  constexpr int kClients = 1000;
  Backend db = SharedBackend(kind);
  db.RecreateProducts();
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(ProductsOptions(db.Url()), faults);
  auto observer = server.Client();
  WaitTableReady(*observer);

  auto gate = faults->Hold(Call::kFetchRow, "9", HoldPoint::kBeforeDatabase);
  std::vector<std::unique_ptr<RespClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(server.Client());
    clients.back()->Send(EncodeCommand({"GET", "products:9"}));
  }
  WaitUntil([&] { return Stat(*observer, "misses") == kClients; }, "1000 parked misses");
  REQUIRE(gate->arrived() == 1);
  gate->Release();
  nlohmann::json expected{
      {"id", 9}, {"name", "p9"}, {"price", "9.50"}, {"stock", 90}, {"version", 1}};
  for (auto& client : clients) {
    REQUIRE(nlohmann::json::parse(BulkOf(client->Read())) == expected);
  }
  REQUIRE(faults->calls(Call::kFetchRow, "9") == 1);
  auto s = RowStats(*observer);
  REQUIRE(s["refreshes"] == "1");
  REQUIRE(s["merged"] == std::to_string(kClients - 1));
  REQUIRE(s["misses"] == std::to_string(kClients));
  // And the row is cached now.
  REQUIRE(nlohmann::json::parse(BulkOf(observer->Command({"GET", "products:9"}))) == expected);
  REQUIRE(faults->calls(Call::kFetchRow, "9") == 1);
}

}  // namespace

TEST_CASE("MariaDB rows read through, write through and invalidate over RESP",
          "[integration][mariadb]") {
  ReadWriteInvalidate(Kind::kMariaDb);
}

TEST_CASE("PostgreSQL rows read through, write through and invalidate over RESP",
          "[integration][postgres]") {
  ReadWriteInvalidate(Kind::kPostgres);
}

TEST_CASE("MariaDB refill held after its read never overwrites an HSET acknowledged later",
          "[integration][mariadb][race]") {
  RefillHeldThenWrite(Kind::kMariaDb);
}

TEST_CASE("PostgreSQL refill held after its read never overwrites an HSET acknowledged later",
          "[integration][postgres][race]") {
  RefillHeldThenWrite(Kind::kPostgres);
}

TEST_CASE("MariaDB refill held across an out-of-band change and DEL is not installed",
          "[integration][mariadb][race]") {
  RefillHeldThenInvalidate(Kind::kMariaDb);
}

TEST_CASE("PostgreSQL refill held across an out-of-band change and DEL is not installed",
          "[integration][postgres][race]") {
  RefillHeldThenInvalidate(Kind::kPostgres);
}

TEST_CASE("MariaDB 1000 concurrent misses on one key make one database read",
          "[integration][mariadb][merge]") {
  ThousandMissesOneFetch(Kind::kMariaDb);
}

TEST_CASE("PostgreSQL 1000 concurrent misses on one key make one database read",
          "[integration][postgres][merge]") {
  ThousandMissesOneFetch(Kind::kPostgres);
}

}  // namespace rowcached::integration_test
