// Test harness: one Backend per database kind, so that each behaviour is written once and run
// against MariaDB, PostgreSQL and SQLite. Servers are private instances started lazily by the
// first test that needs them (tests/support); nothing is ever skipped.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/database.h"
#include "adapters/testing.h"
#include "support/private_server.h"

namespace Catch {
template <>
struct StringMaker<std::optional<std::string>> {
  static std::string convert(const std::optional<std::string>& v) {
    return v ? ::Catch::Detail::stringify(*v) : std::string("NULL");
  }
};
template <>
struct StringMaker<rowcached::adapters::Field> {
  static std::string convert(const rowcached::adapters::Field& f) {
    return f.column + "=" + StringMaker<std::optional<std::string>>::convert(f.value);
  }
};
}  // namespace Catch

namespace rowcached::adapters::test {

using rowcached::testing::SqlRow;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual Dialect dialect() const = 0;
  virtual bool is_server() const { return true; }
  // The adapter URL (starts the server if needed). `query` is appended as URL parameters.
  virtual std::string Url(const std::string& query = "") = 0;
  // Runs SQL as the administrator, outside the adapter.
  virtual std::vector<SqlRow> Admin(const std::string& sql) = 0;
  virtual void Stop() { FAIL("no server to stop"); }
  virtual void Restart() { FAIL("no server to restart"); }
  // Kills the session of `connection` from the administrator side and waits until it is gone.
  virtual void KillSession(Connection& connection) {
    (void)connection;
    FAIL("no sessions");
  }
  virtual std::string SleepSql(int seconds) const = 0;

  // Drops `table` if it exists, then runs `ddl`.
  void Recreate(const std::string& table, const std::string& ddl) {
    Admin("DROP TABLE IF EXISTS " + table);
    Admin(ddl);
  }

  std::unique_ptr<Database> Open(Options options = {}, const std::string& query = "") {
    options.url = Url(query);
    auto db = NewDatabase(options);
    REQUIRE(db.ok());
    return std::move(db).value();
  }
};

class MariaDbBackend final : public Backend {
 public:
  std::string name() const override { return "mariadb"; }
  Dialect dialect() const override { return Dialect::kMySql; }
  std::string Url(const std::string& query) override {
    std::string url = rowcached::testing::SharedMariaDb().url();
    return query.empty() ? url : url + "?" + query;
  }
  std::vector<SqlRow> Admin(const std::string& sql) override {
    return rowcached::testing::SharedMariaDb().Query(sql);
  }
  void Stop() override { rowcached::testing::SharedMariaDb().Stop(); }
  void Restart() override { rowcached::testing::SharedMariaDb().Restart(); }
  void KillSession(Connection& connection) override {
    auto id = RunSqlForTesting(connection, "SELECT CONNECTION_ID()");
    REQUIRE(id.ok());
    const std::string session = *id.value().at(0).at(0);
    Admin("KILL CONNECTION " + session);
    // KILL marks the session; wait until the server has really dropped it.
    for (int i = 0; i < 500; ++i) {
      auto left =
          Admin("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = " + session);
      if (*left.at(0).at(0) == "0") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("session " << session << " still alive after KILL");
  }
  std::string SleepSql(int seconds) const override {
    return "SELECT SLEEP(" + std::to_string(seconds) + ")";
  }
};

class PostgresBackend final : public Backend {
 public:
  std::string name() const override { return "postgres"; }
  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string Url(const std::string& query) override {
    std::string url = rowcached::testing::SharedPostgres().url();
    return query.empty() ? url : url + "?" + query;
  }
  std::vector<SqlRow> Admin(const std::string& sql) override {
    return rowcached::testing::SharedPostgres().Query(sql);
  }
  void Stop() override { rowcached::testing::SharedPostgres().Stop(); }
  void Restart() override { rowcached::testing::SharedPostgres().Restart(); }
  void KillSession(Connection& connection) override {
    auto id = RunSqlForTesting(connection, "SELECT pg_backend_pid()");
    REQUIRE(id.ok());
    const std::string pid = *id.value().at(0).at(0);
    // The two-argument form waits (up to 10 s) until the backend has exited.
    auto killed = Admin("SELECT pg_terminate_backend(" + pid + ", 10000)");
    REQUIRE(*killed.at(0).at(0) == "t");
  }
  std::string SleepSql(int seconds) const override {
    return "SELECT pg_sleep(" + std::to_string(seconds) + ")";
  }
};

class SqliteBackend final : public Backend {
 public:
  SqliteBackend() : dir_(rowcached::testing::MakeTempDir("rowcached-sqlite-")) {}
  ~SqliteBackend() override { rowcached::testing::RemoveTree(dir_); }
  std::string name() const override { return "sqlite"; }
  Dialect dialect() const override { return Dialect::kSqlite; }
  bool is_server() const override { return false; }
  std::string Url(const std::string& query) override {
    std::string url = "sqlite:" + dir_ + "/test.db";
    return query.empty() ? url : url + "?" + query;
  }
  // The administrator of an embedded database is just another connection.
  std::vector<SqlRow> Admin(const std::string& sql) override {
    if (!admin_) {
      auto db = NewDatabase(Url(""));
      REQUIRE(db.ok());
      admin_db_ = std::move(db).value();
      admin_ = admin_db_->Connect();
    }
    auto rows = RunSqlForTesting(*admin_, sql);
    INFO(sql);
    REQUIRE(rows.ok());
    return std::move(rows).value();
  }
  std::string SleepSql(int) const override { return ""; }

 private:
  std::string dir_;
  std::unique_ptr<Database> admin_db_;
  std::unique_ptr<Connection> admin_;
};

}  // namespace rowcached::adapters::test

// Defines one test case per back end running `body(Backend&)`.
#define ADAPTER_TEST_ALL(title, body)                   \
  TEST_CASE("mariadb - " title, "[mariadb]") {          \
    rowcached::adapters::test::MariaDbBackend backend;  \
    body(backend);                                      \
  }                                                     \
  TEST_CASE("postgres - " title, "[postgres]") {        \
    rowcached::adapters::test::PostgresBackend backend; \
    body(backend);                                      \
  }                                                     \
  TEST_CASE("sqlite - " title, "[sqlite]") {            \
    rowcached::adapters::test::SqliteBackend backend;   \
    body(backend);                                      \
  }

// Defines one test case per database server running `body(Backend&)`.
#define ADAPTER_TEST_SERVERS(title, body)               \
  TEST_CASE("mariadb - " title, "[mariadb]") {          \
    rowcached::adapters::test::MariaDbBackend backend;  \
    body(backend);                                      \
  }                                                     \
  TEST_CASE("postgres - " title, "[postgres]") {        \
    rowcached::adapters::test::PostgresBackend backend; \
    body(backend);                                      \
  }
