// Text keys under a case- and accent-insensitive MariaDB collation: 'alice', 'ALICE' and
// 'Alice ' name one row, so the row cache must read, order and invalidate them as one row while
// caching each spelling a client uses. Real MariaDB, real sockets; the database is wrapped with
// the fault injector to count what reaches it and to hold a refill mid-flight.
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace rowcached::integration_test {
namespace {

using adapters::Call;
using adapters::HoldPoint;

// users(name PRIMARY KEY, email, visits) with table options `collation` (character set and
// collation) holding `rows` (an INSERT's VALUES), and row cache options for it.
middleware::Options UsersTable(Backend& db, const std::string& collation, const std::string& rows) {
  db.Exec("DROP TABLE IF EXISTS users");
  db.Exec("CREATE TABLE users (name VARCHAR(40) PRIMARY KEY, email VARCHAR(100), visits INT)" +
          collation);
  db.Exec("INSERT INTO users VALUES " + rows);
  middleware::Options o = ProductsOptions(db.Url());
  o.tables[0].name = "users";
  o.tables[0].key = "name";
  return o;
}

// users under utf8mb4_unicode_ci with 'alice' and 'straße'.
middleware::Options UsersOptions(Backend& db, bool bloom = true) {
  middleware::Options o = UsersTable(db, db.TableSuffix() + " COLLATE utf8mb4_unicode_ci",
                                     "('alice', 'a@example.com', 1), "
                                     "(_utf8mb4 x'73747261c39f65', 's@example.com', 1)");  // straße
  o.tables[0].bloom = bloom;
  return o;
}

Hash Alice(const std::string& visits, const std::string& email = "a@example.com") {
  return {{"name", "alice"}, {"email", email}, {"visits", visits}};
}

std::string Visits(RespClient& c, const std::string& spelling) {
  return BulkOf(c.Command({"HGET", "users:" + spelling, "visits"}));
}

TEST_CASE("MariaDB case-insensitive key: every spelling reads the row and sees every write",
          "[integration][mariadb][collation]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(UsersOptions(db), faults);
  auto c = server.Client();
  WaitTableReady(*c, "users");

  // Reads: the Bloom filter holds the rows' forms, so no spelling of an existing row is turned
  // away; each spelling is cached under the key the client used, its form asked once.
  REQUIRE(HashOf(c->Command({"HGETALL", "users:ALICE"})) == Alice("1"));
  REQUIRE(HashOf(c->Command({"HGETALL", "users:alice"})) == Alice("1"));
  REQUIRE(HashOf(c->Command({"HGETALL", "users:Alice  "})) == Alice("1"));             // PAD SPACE
  REQUIRE(BulkOf(c->Command({"HGET", "users:STRASSE", "email"})) == "s@example.com");  // ß = ss
  REQUIRE(faults->calls(Call::kKeyForm, "ALICE") == 1);
  REQUIRE(faults->calls(Call::kFetchRow, "ALICE") == 1);
  REQUIRE(Visits(*c, "ALICE") == "1");  // a hit: neither the form nor the row asked again
  REQUIRE(faults->calls(Call::kKeyForm, "ALICE") == 1);
  REQUIRE(faults->calls(Call::kFetchRow, "ALICE") == 1);

  // A write through a spelling not seen before reaches every cached spelling.
  REQUIRE(IntOf(c->Command({"HSET", "users:aLiCe", "visits", "2"})) == 0);
  REQUIRE(db.Scalar("SELECT visits FROM users WHERE name = 'alice'") == "2");
  for (const char* spelling : {"ALICE", "alice", "Alice  ", "aLiCe"}) {
    INFO(spelling);
    REQUIRE(Visits(*c, spelling) == "2");
  }

  // An out-of-band change, then DEL through yet another spelling (its form looked up first):
  // every spelling reads the database again.
  db.Exec("UPDATE users SET visits = 3 WHERE name = 'alice'");
  REQUIRE(Visits(*c, "ALICE") == "2");  // still cached, as for any key
  REQUIRE(IntOf(c->Command({"DEL", "users:ALIce"})) == 1);
  for (const char* spelling : {"ALICE", "alice", "Alice  ", "aLiCe"}) {
    INFO(spelling);
    REQUIRE(Visits(*c, spelling) == "3");
  }
  // DEL of plain keys, a known and an unknown spelling at once: one reply counting them all.
  REQUIRE(c->Command({"SET", "plain", "x"}).str == "OK");
  REQUIRE(IntOf(c->Command({"DEL", "plain", "users:alice", "users:ALICe", "missing"})) == 3);
  REQUIRE(IsNil(c->Command({"GET", "plain"})));
  REQUIRE(Visits(*c, "ALICE") == "3");
  // ROW.INVALIDATE through a spelling whose form is known: immediate.
  db.Exec("UPDATE users SET email = 'new@example.com' WHERE name = 'alice'");
  REQUIRE(IntOf(c->Command({"ROW.INVALIDATE", "users", "alice"})) == 1);
  REQUIRE(HashOf(c->Command({"HGETALL", "users:ALICE"})) == Alice("3", "new@example.com"));

  // ROW.DEL through one spelling: every spelling reads "no row" afterwards.
  REQUIRE(HashOf(c->Command({"HGETALL", "users:aLiCe"})) == Alice("3", "new@example.com"));
  REQUIRE(IntOf(c->Command({"ROW.DEL", "users", "Alice  "})) == 1);
  REQUIRE(db.Scalar("SELECT COUNT(*) FROM users WHERE name = 'alice'") == "0");
  for (const char* spelling : {"ALICE", "alice", "aLiCe"}) {
    INFO(spelling);
    REQUIRE(IntOf(c->Command({"EXISTS", std::string("users:") + spelling})) == 0);
  }

  // A row that never existed: the form is asked, the Bloom filter (of forms) turns the read
  // away before the table is read. Error rate 0.001: at most a false positive among ten.
  int fetches = faults->calls(Call::kFetchRow);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(IsNil(c->Command({"GET", "users:nobody" + std::to_string(i)})));
  }
  REQUIRE(faults->calls(Call::kFetchRow) - fetches <= 1);
  REQUIRE(Stat(*c, "bloom_rejections", "users") >= 9);
}

// NO PAD collations count trailing spaces: 'alice' and 'alice ' are two rows there, and must not
// share a form (their reads would merge and one would get the other's row).
TEST_CASE("MariaDB NO PAD collation: spellings differing in trailing spaces stay two rows",
          "[integration][mariadb][collation]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  middleware::Options o =
      UsersTable(db, db.TableSuffix() + " COLLATE utf8mb4_unicode_nopad_ci",
                 "('alice', 'a@example.com', 1), ('alice ', 'b@example.com', 2)");
  RowCacheServer server(o);
  auto c = server.Client();
  WaitTableReady(*c, "users");
  REQUIRE(Visits(*c, "alice") == "1");
  REQUIRE(Visits(*c, "alice ") == "2");
  REQUIRE(Visits(*c, "ALICE") == "1");
  REQUIRE(IntOf(c->Command({"HSET", "users:ALICE", "visits", "5"})) == 0);
  REQUIRE(Visits(*c, "alice") == "5");
  REQUIRE(Visits(*c, "alice ") == "2");
}

// A PAD SPACE binary collation (MariaDB's utf8mb4_bin) is case-sensitive but ignores trailing
// spaces: 'alice' and 'alice ' are one row, 'ALICE' another; forms need no database call.
TEST_CASE("MariaDB PAD SPACE binary key: spellings differing in trailing spaces are one row",
          "[integration][mariadb][collation]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  middleware::Options o =
      UsersTable(db, db.TableSuffix() + " COLLATE utf8mb4_bin",
                 "('alice', 'a@example.com', 1), ('ALICE', 'b@example.com', 2)");
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(o, faults);
  auto c = server.Client();
  WaitTableReady(*c, "users");
  REQUIRE(Visits(*c, "alice  ") == "1");
  REQUIRE(Visits(*c, "alice") == "1");
  REQUIRE(Visits(*c, "ALICE") == "2");
  REQUIRE(IntOf(c->Command({"HSET", "users:alice ", "visits", "6"})) == 0);
  REQUIRE(Visits(*c, "alice") == "6");
  REQUIRE(Visits(*c, "alice  ") == "6");
  REQUIRE(Visits(*c, "ALICE") == "2");
  REQUIRE(faults->calls(Call::kKeyForm) ==
          faults->calls(Call::kKeyForm, "a") + faults->calls(Call::kKeyForm, "a "));  // probes
}

// The form of a new spelling is one more database call: a read waiting for it is bounded by
// read_timeout like any, and an invalidation the database cannot place is refused, not claimed.
TEST_CASE("MariaDB case-insensitive key: looking up a spelling's form is bounded and can fail",
          "[integration][mariadb][collation]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  middleware::Options o = UsersOptions(db);
  o.tables[0].read_timeout = 200ms;
  o.tables[0].on_timeout = middleware::OnTimeout::kError;
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(o, faults);
  auto c = server.Client();
  WaitTableReady(*c, "users");
  {
    // Held until the read has answered: the deadline, not the database, ends it.
    auto gate = faults->Hold(Call::kKeyForm, "SLOW", HoldPoint::kBeforeDatabase);
    REQUIRE(c->Command({"HGETALL", "users:SLOW"}).str == "TRYAGAIN read timed out");
    REQUIRE(gate->arrived() == 1);
    gate->Release();
  }
  faults->Inject({.call = Call::kKeyForm,
                  .key = "Gone",
                  .status = adapters::Status::kConnectionLost,
                  .message = "connection refused"});
  REQUIRE(c->Command({"DEL", "users:Gone"}).str ==
          "TRYAGAIN database unavailable: connection refused");
  // A spelling seen before needs no database call to be invalidated.
  REQUIRE(Visits(*c, "alice") == "1");
  int lookups = faults->calls(Call::kKeyForm);
  REQUIRE(IntOf(c->Command({"DEL", "users:alice"})) == 1);
  REQUIRE(faults->calls(Call::kKeyForm) == lookups);
}

// A collation that weighs on several levels (accent-sensitive UCA 14): its weight strings cannot
// be trimmed of padding, the start-up probes see it, and the table is served per spelling.
TEST_CASE("MariaDB multi-level collation: forms fail the probes, the table is served per spelling",
          "[integration][mariadb][collation]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  middleware::Options o = UsersTable(db, db.TableSuffix() + " COLLATE utf8mb4_uca1400_as_ci",
                                     "('alice', 'a@example.com', 1)");
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(o, faults);
  auto c = server.Client();
  WaitTableReady(*c, "users");
  REQUIRE(faults->calls(Call::kKeyForm, "a ") == 1);  // probed
  // The Bloom filter is off: it would hold 'alice' and turn the row's other spellings away.
  REQUIRE(RowStats(*c, "users")["bloom"] == "off");
  REQUIRE(Visits(*c, "ALICE") == "1");
  REQUIRE(Visits(*c, "alice") == "1");
  REQUIRE(IntOf(c->Command({"HSET", "users:alice", "visits", "4"})) == 0);
  REQUIRE(Visits(*c, "alice") == "4");
  REQUIRE(faults->calls(Call::kKeyForm) == 2);  // no form asked after the probes
}

// A key its column's character set cannot hold names no row: reads answer "no row" without
// reading the table, writes a clear error (not the database's "Illegal mix of collations").
TEST_CASE("MariaDB latin1 key: a key the column cannot hold names no row",
          "[integration][mariadb][collation]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  middleware::Options o = UsersTable(
      db, " ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE latin1_swedish_ci",
      "('caf?', 'q@example.com', 1), (_utf8mb4 x'636166c3a9', 'e@example.com', 2)");  // 'café'
  o.tables[0].bloom = false;  // what is shown is the key check, not the filter
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server(o, faults);
  auto c = server.Client();
  WaitTableReady(*c, "users");
  REQUIRE(Visits(*c, "CAF\xc3\x89") == "2");     // 'CAFÉ' is 'café' under latin1_swedish_ci
  const std::string cafa = "users:caf\xc4\x81";  // 'cafā': latin1 has no 'ā'
  REQUIRE(IsNil(c->Command({"HGET", cafa, "visits"})));
  REQUIRE(IntOf(c->Command({"EXISTS", cafa})) == 0);
  REQUIRE(faults->calls(Call::kFetchRow, "caf\xc4\x81") == 0);
  REQUIRE(c->Command({"HSET", cafa, "visits", "9"}).str ==
          "ERR '" + cafa +
              "' is not a valid table key: its key column 'name' (latin1) cannot hold it");
  REQUIRE(faults->calls(Call::kUpsert) == 0);
  REQUIRE(Visits(*c, "caf?") == "1");
}

// A snapshot keeps the rows of other tables for re-validation; a folding table's rows are dropped
// at load (which spellings shared a row is not saved, so a write through one spelling could not
// reach a loaded other), and every spelling reads the database again.
TEST_CASE("MariaDB case-insensitive key: rows saved in a snapshot are read again after a restart",
          "[integration][mariadb][collation][persistence]") {
  Backend db = SharedBackend(Kind::kMariaDb);
  char tmpl[] = "/tmp/rowcached-collation-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  middleware::Options options = UsersOptions(db);
  options.tables[0].on_timeout = middleware::OnTimeout::kStale;
  {
    RowCacheServer server(options, nullptr, dir);
    auto c = server.Client();
    WaitTableReady(*c, "users");
    REQUIRE(Visits(*c, "ALICE") == "1");
    REQUIRE(Visits(*c, "alice") == "1");
    REQUIRE(c->Command({"SAVE"}).str == "OK");
  }
  db.Exec("UPDATE users SET visits = 5 WHERE name = 'alice'");
  auto faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer restarted(options, faults, dir);
  auto c = restarted.Client();
  REQUIRE(c->Command({"TYPE", "users:ALICE"}).str == "none");
  REQUIRE(c->Command({"TYPE", "users:alice"}).str == "none");
  WaitTableReady(*c, "users");
  REQUIRE(Visits(*c, "ALICE") == "5");
  REQUIRE(Visits(*c, "alice") == "5");
  REQUIRE(faults->calls(Call::kFetchRow) == 2);
  std::filesystem::remove_all(dir);
}

// The race tests' start: 'alice' read (its form known, so what follows through it queues at
// once), then a read of 'ALICE' whose refill has read visits = 1 and is held there. The Bloom
// filter is off: what they force is the order of database calls.
struct HeldRefillOfAlice {
  Backend db = SharedBackend(Kind::kMariaDb);
  std::shared_ptr<adapters::FaultInjector> faults = std::make_shared<adapters::FaultInjector>();
  RowCacheServer server{UsersOptions(db, /*bloom=*/false), faults};
  std::unique_ptr<RespClient> reader = server.Client();
  std::unique_ptr<RespClient> writer = server.Client();
  std::shared_ptr<adapters::Gate> gate;

  HeldRefillOfAlice() {
    WaitTableReady(*writer, "users");
    REQUIRE(Visits(*writer, "alice") == "1");
    gate = faults->Hold(Call::kFetchRow, "ALICE", HoldPoint::kAfterDatabase);
    reader->Send(EncodeCommand({"HGETALL", "users:ALICE"}));
    REQUIRE(gate->WaitArrived(20s));
  }
};

// Race: a write through 'alice' names the held refill's row, so it must queue behind it (it
// would otherwise commit and be acknowledged while the refill still holds the old row), and the
// refill must not install the old row.
TEST_CASE(
    "MariaDB case-insensitive key: a held refill of one spelling never outlives a write "
    "through another",
    "[integration][mariadb][collation][race]") {
  HeldRefillOfAlice race;
  auto observer = race.server.Client();
  race.writer->Send(EncodeCommand({"HSET", "users:alice", "visits", "9"}));
  WaitUntil([&] { return Stat(*observer, "queue_depth", "users") >= 1; }, "the HSET to queue");
  REQUIRE(race.faults->calls(Call::kUpsert) == 0);
  REQUIRE(race.db.Scalar("SELECT visits FROM users WHERE name = 'alice'") == "1");
  race.gate->Release();
  REQUIRE(HashOf(race.reader->Read()) == Alice("1"));  // began before the write
  REQUIRE(IntOf(race.writer->Read()) == 0);
  for (const char* spelling : {"ALICE", "alice", "Alice"}) {
    INFO(spelling);
    REQUIRE(Visits(*observer, spelling) == "9");
  }
}

// Race: the same with an out-of-band change and an immediate DEL through another spelling.
TEST_CASE(
    "MariaDB case-insensitive key: DEL through one spelling keeps a held refill of another "
    "from installing",
    "[integration][mariadb][collation][race]") {
  HeldRefillOfAlice race;
  race.db.Exec("UPDATE users SET visits = 7 WHERE name = 'alice'");
  REQUIRE(IntOf(race.writer->Command({"DEL", "users:alice"})) == 1);  // acknowledged while held
  REQUIRE(race.gate->arrived() == 1);
  race.gate->Release();
  REQUIRE(HashOf(race.reader->Read()) == Alice("1"));  // began before the invalidation
  int fetches = race.faults->calls(Call::kFetchRow, "ALICE");
  REQUIRE(Visits(*race.writer, "ALICE") == "7");
  REQUIRE(race.faults->calls(Call::kFetchRow, "ALICE") == fetches + 1);  // not installed
  REQUIRE(Visits(*race.writer, "alice") == "7");
}

}  // namespace
}  // namespace rowcached::integration_test
