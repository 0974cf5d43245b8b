// Guarantee 7 end to end: the MariaDB server behind rowcached is stopped mid-run and started
// again. Cached rows keep being served, misses fail fast with -TRYAGAIN, nothing acknowledged is
// lost, writes during the outage are refused (never acknowledged), and service recovers by itself.
// The test owns its MariaDB instance (it stops it), with small timeouts so the outage is quick.
#include "integration/harness.h"

namespace rowcached::integration_test {
namespace {

using adapters::Call;

bool StartsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

void RequireUnavailable(const Reply& r) {
  INFO(RespClient::Printable(r.raw));
  REQUIRE(r.IsError());
  REQUIRE(StartsWith(r.str, "TRYAGAIN database unavailable: "));
  REQUIRE(r.str.size() > std::string_view("TRYAGAIN database unavailable: ").size());  // a reason
}

}  // namespace

TEST_CASE(
    "MariaDB stopped mid-run: hits served, misses fail fast, no acknowledged write lost, "
    "recovery by itself",
    "[integration][mariadb][outage]") {
  testing::PrivateMariaDb mariadb;
  mariadb.Start();
  Backend db(Kind::kMariaDb, mariadb);
  db.RecreateProducts();

  middleware::Options options =
      ProductsOptions(db.Url("connect_timeout=1s&read_timeout=2s&statement_timeout=2s"));
  options.breaker_failures = 2;
  options.retry_initial = 10ms;
  options.retry_max = 100ms;
  options.database.reconnect_backoff_initial = 10ms;
  options.database.reconnect_backoff_max = 100ms;
  auto faults = std::make_shared<adapters::FaultInjector>();  // no faults: counts calls only
  RowCacheServer server(options, faults);
  auto c = server.Client();
  WaitTableReady(*c);

  // Rows 1..5 cached by reads; rows 11..15 written (acknowledged) and cached by write-through.
  for (int id = 1; id <= 5; ++id) {
    REQUIRE(HashOf(c->Command({"HGETALL", "products:" + std::to_string(id)})) == ProductRow(id));
  }
  for (int id = 11; id <= 15; ++id) {
    REQUIRE(IntOf(c->Command({"HSET", "products:" + std::to_string(id), "version",
                              std::to_string(100 + id)})) == 0);
  }

  mariadb.Stop();

  // Cached rows keep being served.
  for (int id = 1; id <= 5; ++id) {
    REQUIRE(HashOf(c->Command({"HGETALL", "products:" + std::to_string(id)})) == ProductRow(id));
  }
  for (int id = 11; id <= 15; ++id) {
    REQUIRE(HashOf(c->Command({"HGETALL", "products:" + std::to_string(id)})) ==
            ProductRow(id, "", 100 + id));
  }
  // Misses fail with TRYAGAIN until the breaker opens (breaker_failures in a row) ...
  int id = 30;
  while (RowStats(*c)["breaker"] != "open") {
    REQUIRE(id < 60);  // two failures open it; a few more at most if a probe interleaves
    RequireUnavailable(c->Command({"HGETALL", "products:" + std::to_string(id++)}));
  }
  // ... and then fail fast: the database is not even tried.
  int fetches = faults->calls(Call::kFetchRow);
  RequireUnavailable(c->Command({"HGETALL", "products:70"}));
  RequireUnavailable(c->Command({"GET", "products:71"}));
  REQUIRE(faults->calls(Call::kFetchRow) == fetches);
  REQUIRE(Stat(*c, "rejected") >= 2);
  std::string info = protocol_test::Info(*c, "rowcache");
  REQUIRE(protocol_test::InfoField(info, "rowcache_breaker") == "open");
  // Hits are still served with the breaker open.
  REQUIRE(HashOf(c->Command({"HGETALL", "products:1"})) == ProductRow(1));
  // Writes during the outage are refused, not acknowledged.
  {
    Reply w = c->Command({"HSET", "products:3", "version", "999"});
    INFO(RespClient::Printable(w.raw));
    REQUIRE(w.IsError());
    REQUIRE(StartsWith(w.str, "TRYAGAIN"));
    Reply d = c->Command({"ROW.DEL", "products", "4"});
    INFO(RespClient::Printable(d.raw));
    REQUIRE(d.IsError());
    REQUIRE(StartsWith(d.str, "TRYAGAIN"));
  }

  mariadb.Restart();

  // Service recovers by itself: poll a read that was failing (each poll fails fast until the
  // breaker's probe finds the database again).
  WaitUntil(
      [&] {
        return !c->Command({"HGETALL", "products:30"}).IsError();
      },
      "reads to succeed again after the restart");
  REQUIRE(HashOf(c->Command({"HGETALL", "products:30"})) == ProductRow(30));
  REQUIRE(RowStats(*c)["breaker"] == "closed");
  REQUIRE(HashOf(c->Command({"HGETALL", "products:70"})) == ProductRow(70));

  // Nothing acknowledged was lost; nothing refused was applied.
  for (int k = 11; k <= 15; ++k) {
    std::string pk = std::to_string(k);
    REQUIRE(db.Scalar("SELECT version FROM products WHERE id = " + pk) == std::to_string(100 + k));
    REQUIRE(BulkOf(c->Command({"HGET", "products:" + pk, "version"})) == std::to_string(100 + k));
  }
  REQUIRE(db.Scalar("SELECT version FROM products WHERE id = 3") == "1");
  REQUIRE(BulkOf(c->Command({"HGET", "products:3", "version"})) == "1");
  REQUIRE(db.Scalar("SELECT COUNT(*) FROM products WHERE id = 4") == "1");
  REQUIRE(IntOf(c->Command({"EXISTS", "products:4"})) == 1);
  // And writes are acknowledged again.
  REQUIRE(IntOf(c->Command({"HSET", "products:3", "version", "1000"})) == 0);
  REQUIRE(db.Scalar("SELECT version FROM products WHERE id = 3") == "1000");
  REQUIRE(BulkOf(c->Command({"HGET", "products:3", "version"})) == "1000");
}

}  // namespace rowcached::integration_test
