// URL parsing, status text and the reconnect backoff: no database server needed.
#include <catch2/catch.hpp>
#include <filesystem>

#include "adapters/database.h"
#include "support/private_server.h"

namespace rowcached::adapters {
namespace {

using namespace std::chrono_literals;

Result<ParsedUrl> Parse(const std::string& url) {
  Options options;
  options.url = url;
  return ParseUrl(options);
}

TEST_CASE("URL - mysql with every part and percent-decoded credentials", "[url]") {
  auto p = Parse(
      "mysql://app%40corp:p%3Ass%2Fw%25rd@db.example:3307/shop?connect_timeout=3&"
      "read_timeout=250ms&statement_timeout=1.5s");
  REQUIRE(p.ok());
  CHECK(p->dialect == Dialect::kMySql);
  CHECK(p->user == "app@corp");
  CHECK(p->password == "p:ss/w%rd");
  CHECK(p->host == "db.example");
  CHECK(p->port == 3307);
  CHECK(p->database == "shop");
  CHECK(p->options.connect_timeout == 3s);
  CHECK(p->options.read_timeout == 250ms);
  CHECK(p->options.statement_timeout == 1500ms);
  CHECK(p->redacted ==
        "mysql://app%40corp:****@db.example:3307/shop?connect_timeout=3&"
        "read_timeout=250ms&statement_timeout=1.5s");
}

TEST_CASE("URL - defaults for ports and schemes", "[url]") {
  auto my = Parse("mysql://u@h/d");
  REQUIRE(my.ok());
  CHECK(my->port == 3306);
  CHECK(my->password.empty());
  CHECK(my->options.connect_timeout == Options().connect_timeout);
  auto pg = Parse("postgresql://u:pw@[::1]/d");
  REQUIRE(pg.ok());
  CHECK(pg->dialect == Dialect::kPostgres);
  CHECK(pg->host == "::1");
  CHECK(pg->port == 5432);
  CHECK(Parse("postgres://u@h:1/d")->dialect == Dialect::kPostgres);
  auto lite = Parse("sqlite:/tmp/x.db?busy_timeout=2s");
  REQUIRE(lite.ok());
  CHECK(lite->dialect == Dialect::kSqlite);
  CHECK(lite->database == "/tmp/x.db");
  CHECK(lite->options.busy_timeout == 2s);
  CHECK(Parse("sqlite:data/cache.db")->database == "data/cache.db");
  CHECK(Parse("sqlite:///var/x.db")->database == "/var/x.db");
}

TEST_CASE("URL - a bad URL names the part that is wrong and never shows the password", "[url]") {
  struct Case {
    std::string url;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"redis://u:hunter22@h/d", "scheme"},
      {"no-scheme-here", "scheme"},
      {"mysql://u:hunter22@h:99999/d", "port '99999'"},
      {"mysql://u:hunter22@h:3x/d", "port '3x'"},
      {"mysql://u:hunter22@h:/d", "port is empty"},
      {"mysql://u:hunter22@/d", "host"},
      {"mysql://:hunter22@h/d", "user"},
      {"mysql://u%zz:hunter22@h/d", "user name"},
      {"mysql://u:hunter22%g@h/d", "password"},
      {"mysql://u:hunter22@h:1", "database name"},
      {"mysql://u:hunter22@h/", "database name"},
      {"mysql:u:hunter22@h/d", "'//'"},
      {"postgresql://u:hunter22@h/d?timeout=1", "unknown parameter 'timeout'"},
      {"postgresql://u:hunter22@h/d?connect_timeout=soon", "'connect_timeout' has bad value"},
      {"sqlite:", "file path"},
  };
  for (const Case& c : cases) {
    INFO(c.url);
    auto p = Parse(c.url);
    REQUIRE(p.status() == Status::kInvalidArgument);
    CHECK_THAT(p.message(), Catch::Contains(c.names));
    CHECK_THAT(p.message(), Catch::Contains("database.url"));
    CHECK(p.message().find("hunter22") == std::string::npos);
    auto db = NewDatabase(c.url);
    CHECK(db.status() == Status::kInvalidArgument);
  }
}

TEST_CASE("URL - each back-end constructor insists on its own scheme", "[url]") {
  Options options;
  options.url = "sqlite:/tmp/x.db";
  CHECK(NewMySql(options).status() == Status::kInvalidArgument);
  CHECK(NewPostgres(options).status() == Status::kInvalidArgument);
  auto db = NewSqlite(options);
  REQUIRE(db.ok());
  CHECK(db.value()->dialect() == Dialect::kSqlite);
}

TEST_CASE("Status - one text per status", "[status]") {
  CHECK(StatusText(Status::kOk) == "ok");
  CHECK(StatusText(Status::kNotFound) == "not found");
  CHECK(StatusText(Status::kConnectionLost) == "connection lost");
  CHECK(StatusText(Status::kTimeout) == "timeout");
  CHECK(StatusText(Status::kConstraintViolated) == "constraint violated");
  CHECK(StatusText(Status::kBadIdentifier) == "bad identifier");
  CHECK(StatusText(Status::kInvalidArgument) == "invalid argument");
  CHECK(StatusText(Status::kOther) == "error");
  CHECK(Error(Status::kTimeout, "slow").ToString() == "timeout: slow");
  CHECK(Error().ToString() == "ok");
}

TEST_CASE("Reconnect - failed opens back off and fail fast until the delay has passed",
          "[backoff]") {
  // An unreachable database: a SQLite file in a directory that does not exist.
  Options options;
  options.url = "sqlite:/nonexistent-dir-for-rowcached/x.db";
  options.reconnect_backoff_initial = std::chrono::hours(1);
  options.reconnect_backoff_max = std::chrono::hours(1);
  auto db = NewDatabase(options);
  REQUIRE(db.ok());
  auto conn = db.value()->Connect();
  auto first = conn->Ping();
  CHECK(first.status() == Status::kConnectionLost);
  CHECK_THAT(first.message(), Catch::Contains("cannot connect"));
  auto second = conn->Ping();
  CHECK(second.status() == Status::kConnectionLost);
  CHECK_THAT(second.message(), Catch::Contains("next reconnect attempt"));
  CHECK_THAT(second.message(), Catch::Contains("cannot connect"));
  CHECK(conn->stats().connects == 0);

  // With no backoff every call tries again, and succeeds once the database is reachable.
  const std::string dir = rowcached::testing::MakeTempDir("rowcached-backoff-");
  options.url = "sqlite:" + dir + "/later/x.db";
  options.reconnect_backoff_initial = 0ms;
  auto db2 = NewDatabase(options);
  REQUIRE(db2.ok());
  auto conn2 = db2.value()->Connect();
  CHECK(conn2->Ping().status() == Status::kConnectionLost);
  std::filesystem::create_directory(dir + "/later");
  CHECK(conn2->Ping().ok());
  CHECK(conn2->stats().connects == 1);
  conn2.reset();
  rowcached::testing::RemoveTree(dir);
}

}  // namespace
}  // namespace rowcached::adapters
