// SQLite specifics: WAL journal, busy timeout, statement timeout by progress handler.
#include <catch2/catch.hpp>

#include "adapters/database.h"
#include "adapters/testing.h"
#include "support/private_server.h"

namespace rowcached::adapters {
namespace {

using namespace std::chrono_literals;

struct TempDb {
  TempDb() : dir(rowcached::testing::MakeTempDir("rowcached-sqlite-")) {}
  ~TempDb() { rowcached::testing::RemoveTree(dir); }
  std::string url() const { return "sqlite:" + dir + "/db.sqlite"; }
  std::string dir;
};

TEST_CASE("sqlite - the journal is WAL", "[sqlite]") {
  TempDb tmp;
  auto db = NewDatabase(tmp.url());
  REQUIRE(db.ok());
  auto conn = db.value()->Connect();
  auto mode = RunSqlForTesting(*conn, "PRAGMA journal_mode");
  REQUIRE(mode.ok());
  CHECK(mode.value().at(0).at(0) == "wal");
}

TEST_CASE("sqlite - a writer blocked beyond the busy timeout gets the timeout status", "[sqlite]") {
  TempDb tmp;
  Options options;
  options.url = tmp.url();
  options.busy_timeout = 200ms;
  auto db = NewDatabase(options);
  REQUIRE(db.ok());
  auto holder = db.value()->Connect();
  REQUIRE(RunSqlForTesting(*holder, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").ok());
  auto writer = db.value()->Connect();
  REQUIRE(writer->Describe("t").ok());

  REQUIRE(RunSqlForTesting(*holder, "BEGIN IMMEDIATE").ok());  // holds the write lock
  auto blocked = writer->Upsert("t", "1", {{"v", "x"}});
  CHECK(blocked.status() == Status::kTimeout);
  CHECK_THAT(blocked.message(), Catch::Contains("locked"));
  // Readers are not blocked by the writer (WAL).
  CHECK(writer->FetchRow("t", "1").status() == Status::kNotFound);
  REQUIRE(RunSqlForTesting(*holder, "ROLLBACK").ok());
  CHECK(writer->Upsert("t", "1", {{"v", "x"}}).ok());
}

TEST_CASE("sqlite - a statement beyond the statement timeout is interrupted", "[sqlite]") {
  TempDb tmp;
  auto db = NewDatabase(tmp.url() + "?statement_timeout=200ms");
  REQUIRE(db.ok());
  auto conn = db.value()->Connect();
  // Never terminates on its own.
  auto endless = RunSqlForTesting(
      *conn,
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c");
  CHECK(endless.status() == Status::kTimeout);
  CHECK_THAT(endless.message(), Catch::Contains("statement timeout"));
  CHECK(conn->Ping().ok());
}

}  // namespace
}  // namespace rowcached::adapters
