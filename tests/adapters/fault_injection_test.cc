// The fault-injecting wrapper, over a real SQLite back end.
#include "adapters/fault_injection.h"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "adapters/database.h"
#include "adapters/testing.h"
#include "support/private_server.h"

namespace rowcached::adapters {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  Fixture() : dir(rowcached::testing::MakeTempDir("rowcached-faults-")) {
    auto real = NewDatabase("sqlite:" + dir + "/db.sqlite");
    REQUIRE(real.ok());
    faults = std::make_shared<FaultInjector>();
    db = WrapWithFaults(std::move(real).value(), faults);
    conn = db->Connect();
    REQUIRE(RunSqlForTesting(*conn, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").ok());
    REQUIRE(conn->Describe("t").ok());
    REQUIRE(conn->Upsert("t", "1", {{"v", "one"}}).ok());
    REQUIRE(conn->Upsert("t", "2", {{"v", "two"}}).ok());
  }
  ~Fixture() {
    faults->Clear();
    conn.reset();
    db.reset();
    rowcached::testing::RemoveTree(dir);
  }
  std::string dir;
  std::shared_ptr<FaultInjector> faults;
  std::unique_ptr<Database> db;
  std::unique_ptr<Connection> conn;
};

TEST_CASE("faults - a failure applies to its call and key, the given number of times", "[faults]") {
  Fixture f;
  f.faults->Inject({.call = Call::kFetchRow,
                    .key = "1",
                    .status = Status::kTimeout,
                    .message = "slow",
                    .times = 2});
  auto a = f.conn->FetchRow("t", "1");
  CHECK(a.status() == Status::kTimeout);
  CHECK(a.message() == "slow");
  CHECK(f.conn->FetchRow("t", "2").ok());    // other key
  CHECK(f.conn->Upsert("t", "1", {}).ok());  // other call
  CHECK(f.conn->FetchRow("t", "1").status() == Status::kTimeout);
  CHECK(f.conn->FetchRow("t", "1").ok());  // used up
  CHECK(f.faults->calls(Call::kFetchRow) == 4);
  CHECK(f.faults->calls(Call::kFetchRow, "1") == 3);

  // A failed call never reaches the database.
  const auto statements = f.conn->stats().statements;
  f.faults->Inject({.call = Call::kUpsert, .status = Status::kConnectionLost, .times = -1});
  CHECK(f.conn->Upsert("t", "3", {{"v", "x"}}).status() == Status::kConnectionLost);
  CHECK(f.conn->Upsert("t", "4", {{"v", "x"}}).status() == Status::kConnectionLost);
  CHECK(f.conn->stats().statements == statements);
  f.faults->Clear();
  CHECK(f.conn->FetchRow("t", "3").status() == Status::kNotFound);
  CHECK(f.conn->Upsert("t", "3", {{"v", "x"}}).ok());
}

TEST_CASE("faults - a delay slows the call down and then lets it through", "[faults]") {
  Fixture f;
  f.faults->Inject({.call = Call::kPing, .delay = 50ms});
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.conn->Ping().ok());
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);  // the delay is the feature here
}

TEST_CASE("faults - a held call waits mid-flight until released", "[faults]") {
  Fixture f;
  auto gate = f.faults->Hold(Call::kFetchRow, "1", HoldPoint::kAfterDatabase);
  // The worker thread owns its own connection.
  auto worker = f.db->Connect();
  auto pending = std::async(std::launch::async, [&] { return worker->FetchRow("t", "1"); });
  REQUIRE(gate->WaitArrived(10s));
  // The database was read before the hold: a write now does not change what the held call
  // returns (the race a refresh guard must handle).
  REQUIRE(f.conn->Upsert("t", "1", {{"v", "changed"}}).ok());
  CHECK(pending.wait_for(0ms) == std::future_status::timeout);
  CHECK(f.conn->FetchRow("t", "2").ok());  // other keys are not held
  gate->Release();
  auto row = pending.get();
  REQUIRE(row.ok());
  CHECK((*row)[1].value == "one");
  CHECK(gate->arrived() == 1);
  CHECK(f.conn->FetchRow("t", "1")->at(1).value == "changed");
}

TEST_CASE("faults - a call held before the database sees later writes", "[faults]") {
  Fixture f;
  auto gate = f.faults->Hold(Call::kFetchRow, std::nullopt, HoldPoint::kBeforeDatabase);
  auto worker = f.db->Connect();
  auto pending = std::async(std::launch::async, [&] { return worker->FetchRow("t", "2"); });
  REQUIRE(gate->WaitArrived(10s));
  REQUIRE(f.conn->Upsert("t", "2", {{"v", "newer"}}).ok());
  gate->Release();
  auto row = pending.get();
  REQUIRE(row.ok());
  CHECK((*row)[1].value == "newer");
}

}  // namespace
}  // namespace rowcached::adapters
