// The Connection contract, run against real MariaDB, PostgreSQL and SQLite.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <set>
#include <thread>

#include "adapters/database.h"
#include "adapters/testing.h"
#include "harness.h"

namespace rowcached::adapters::test {
namespace {

using namespace std::chrono_literals;

// Every type the issue lists, with a NULL-able column.
std::string TypesDdl(Dialect dialect) {
  switch (dialect) {
    case Dialect::kMySql:
      return "CREATE TABLE t_types (id INT PRIMARY KEY, big BIGINT, price DECIMAL(10,2), "
             "name VARCHAR(100) CHARACTER SET utf8mb4, body TEXT, data BLOB, "
             "created DATETIME(6), updated TIMESTAMP(3) NULL DEFAULT NULL, note VARCHAR(20), "
             "ratio DOUBLE, weight FLOAT)";
    case Dialect::kPostgres:
      return "CREATE TABLE t_types (id INT PRIMARY KEY, big BIGINT, price NUMERIC(10,2), "
             "name VARCHAR(100), body TEXT, data BYTEA, created TIMESTAMP(6), "
             "updated TIMESTAMPTZ(3), note VARCHAR(20), ratio DOUBLE PRECISION, weight REAL)";
    case Dialect::kSqlite:
      return "CREATE TABLE t_types (id INTEGER PRIMARY KEY, big BIGINT, price DECIMAL(10,2), "
             "name VARCHAR(100), body TEXT, data BLOB, created DATETIME, updated TIMESTAMP, "
             "note VARCHAR(20), ratio DOUBLE, weight FLOAT)";
  }
  return "";
}

const std::string kBlob("\x00\x01\xff\xfe'\"\\\x00\x80 end\x00", 14);
const std::string kEmoji = "h\xc3\xa9llo \xf0\x9f\x91\x8b w\xc3\xb6rld \xf0\x9f\x9a\x80";

Row FullRow(Dialect dialect) {
  return {
      {"big", "-9223372036854775808"},
      {"price", "12345678.90"},
      {"name", kEmoji},
      {"body", "line 1\nline 2\t'quoted' \"double\" \\backslash"},
      {"data", kBlob},
      {"created", "2024-02-29 23:59:59.123456"},
      {"updated",
       dialect == Dialect::kPostgres ? "2024-03-01 00:00:01.5+00" : "2024-03-01 00:00:01.500"},
      {"note", std::nullopt},
      {"ratio", "0.1"},
      {"weight", "2.5"},
  };
}

// What the database renders for FullRow (the SQLite DECIMAL column has NUMERIC affinity: the
// value is stored as a REAL and rendered as SQLite renders REALs).
Row ExpectedRow(Dialect dialect) {
  Row row = FullRow(dialect);
  row.insert(row.begin(), Field{"id", "1"});
  if (dialect == Dialect::kSqlite) row[2].value = "12345678.9";
  return row;
}

void CrudRoundTrip(Backend& backend) {
  backend.Recreate("t_types", TypesDdl(backend.dialect()));
  auto db = backend.Open();
  auto conn = db->Connect();

  auto schema = conn->Describe("t_types");
  REQUIRE(schema.ok());
  REQUIRE(schema->primary_key == std::vector<std::string>{"id"});
  std::vector<std::string> names;
  for (const Column& c : schema->columns) names.push_back(c.name);
  REQUIRE(names == std::vector<std::string>{"id", "big", "price", "name", "body", "data", "created",
                                            "updated", "note", "ratio", "weight"});
  CHECK(schema->FindColumn("id")->integer);
  CHECK(!schema->FindColumn("id")->nullable);
  CHECK(schema->FindColumn("data")->binary);
  CHECK(!schema->FindColumn("body")->binary);
  CHECK(schema->FindColumn("note")->nullable);
  const std::string price_type = schema->FindColumn("price")->type;
  CHECK((price_type == "decimal(10,2)" || price_type == "numeric(10,2)" ||
         price_type == "DECIMAL(10,2)"));

  auto missing = conn->FetchRow("t_types", "1");
  REQUIRE(missing.status() == Status::kNotFound);

  // Insert, then read every column back byte for byte.
  REQUIRE(conn->Upsert("t_types", "1", FullRow(backend.dialect())).ok());
  auto row = conn->FetchRow("t_types", "1");
  REQUIRE(row.ok());
  CHECK(*row == ExpectedRow(backend.dialect()));
  CHECK((*row)[5].value->size() == kBlob.size());

  // Update a subset; read a subset in the order asked for.
  REQUIRE(conn->Upsert("t_types", "1", {{"name", "updated \xe2\x9c\x93"}, {"note", ""}}).ok());
  std::vector<std::string> wanted{"note", "name", "id", "price"};
  auto part = conn->FetchRow("t_types", "1", wanted);
  REQUIRE(part.ok());
  CHECK(*part == Row{{"note", ""},
                     {"name", "updated \xe2\x9c\x93"},
                     {"id", "1"},
                     {"price", ExpectedRow(backend.dialect())[2].value}});

  // NULL and the empty string stay distinct.
  REQUIRE(conn->Upsert("t_types", "1", {{"note", std::nullopt}, {"body", ""}}).ok());
  std::vector<std::string> nb{"note", "body"};
  auto nulls = conn->FetchRow("t_types", "1", nb);
  REQUIRE(nulls.ok());
  CHECK(!(*nulls)[0].value.has_value());
  REQUIRE((*nulls)[1].value.has_value());
  CHECK((*nulls)[1].value->empty());

  // Restating the key is allowed; changing it is not.
  CHECK(conn->Upsert("t_types", "1", {{"id", "1"}, {"big", "7"}}).ok());
  CHECK(conn->Upsert("t_types", "1", {{"id", "2"}}).status() == Status::kInvalidArgument);
  CHECK(conn->Upsert("t_types", "1", {{"big", "1"}, {"big", "2"}}).status() ==
        Status::kInvalidArgument);

  // A key-only upsert inserts once and is then a no-op.
  REQUIRE(conn->Upsert("t_types", "5", {}).ok());
  REQUIRE(conn->Upsert("t_types", "5", {}).ok());
  auto bare = conn->FetchRow("t_types", "5");
  REQUIRE(bare.ok());
  CHECK((*bare)[0].value == "5");
  CHECK(!(*bare)[1].value.has_value());

  // Keys that cannot be integers match nothing and are refused for writes; never coerced.
  CHECK(conn->FetchRow("t_types", "1abc").status() == Status::kNotFound);
  CHECK(conn->FetchRow("t_types", " 1").status() == Status::kNotFound);
  CHECK(conn->DeleteRow("t_types", "1abc").status() == Status::kNotFound);
  CHECK(conn->Upsert("t_types", "1abc", {}).status() == Status::kInvalidArgument);

  // Delete, then it is gone; deleting again says so.
  REQUIRE(conn->DeleteRow("t_types", "1").ok());
  CHECK(conn->FetchRow("t_types", "1").status() == Status::kNotFound);
  CHECK(conn->DeleteRow("t_types", "1").status() == Status::kNotFound);
}
ADAPTER_TEST_ALL("CRUD round-trips every type byte-exact", CrudRoundTrip)

// Rows written by the database's own client come back exactly as that client renders them.
void RendersLikeTheDatabase(Backend& backend) {
  backend.Recreate("t_types", TypesDdl(backend.dialect()));
  const bool pg = backend.dialect() == Dialect::kPostgres;
  backend.Admin(
      std::string("INSERT INTO t_types (id, big, price, name, body, created, updated, note, "
                  "ratio, weight) VALUES (2, 42, 1.5, 'x', '', '2024-01-02 03:04:05', ") +
      (pg ? "'2024-01-02 03:04:05+00'" : "'2024-01-02 03:04:05'") + ", NULL, 0.3, 0.7)");
  auto db = backend.Open();
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_types").ok());
  std::vector<std::string> columns{"id",      "big",     "price", "name",  "body",
                                   "created", "updated", "note",  "ratio", "weight"};
  auto row = conn->FetchRow("t_types", "2", columns);
  REQUIRE(row.ok());
  auto admin = backend.Admin(
      "SELECT id, big, price, name, body, created, updated, note, ratio, weight FROM t_types "
      "WHERE id = 2");
  REQUIRE(admin.size() == 1);
  for (std::size_t i = 0; i < columns.size(); ++i) {
    INFO("column " << columns[i]);
    CHECK((*row)[i].value == admin[0][i]);
  }
  if (backend.dialect() != Dialect::kSqlite) CHECK((*row)[2].value == "1.50");
}
ADAPTER_TEST_ALL("values are rendered exactly as the database client renders them",
                 RendersLikeTheDatabase)

void InjectionIsInert(Backend& backend) {
  const bool mysql = backend.dialect() == Dialect::kMySql;
  backend.Recreate("t_inj", std::string("CREATE TABLE t_inj (k VARCHAR(100) ") +
                                (mysql ? "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin " : "") +
                                "PRIMARY KEY, v TEXT)");
  auto db = backend.Open();
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_inj").ok());
  const std::vector<std::string> payloads = {
      "'; DROP TABLE t_inj; --",
      "1' OR '1'='1",
      "\" OR \"\"=\"",
      "`t_inj`; DELETE FROM t_inj",
      "\\'; SELECT 1; --",
      "$1",
      "?",
      "%s%n%x",
      "x\" ; DROP TABLE \"t_inj",
      "Robert'); DROP TABLE t_inj;--",
  };
  for (const std::string& p : payloads) {
    INFO(p);
    REQUIRE(conn->Upsert("t_inj", p, {{"v", p}}).ok());
  }
  for (const std::string& p : payloads) {
    INFO(p);
    auto row = conn->FetchRow("t_inj", p);
    REQUIRE(row.ok());
    CHECK(*row == Row{{"k", p}, {"v", p}});
  }
  std::set<std::string> scanned;
  auto scan = conn->ScanKeys("t_inj", [&](std::span<const std::string> keys) {
    scanned.insert(keys.begin(), keys.end());
    return true;
  });
  REQUIRE(scan.ok());
  CHECK(scanned == std::set<std::string>(payloads.begin(), payloads.end()));
  CHECK(*backend.Admin("SELECT COUNT(*) FROM t_inj").at(0).at(0) ==
        std::to_string(payloads.size()));

  // Identifiers that look like injection are refused before any SQL runs.
  const std::uint64_t before = conn->stats().statements;
  std::vector<std::string> evil_column{"v FROM t_inj; DROP TABLE t_inj; --"};
  CHECK(conn->FetchRow("t_inj; DROP TABLE t_inj", "1").status() == Status::kBadIdentifier);
  CHECK(conn->FetchRow("t_inj", "1", evil_column).status() == Status::kBadIdentifier);
  CHECK(conn->Upsert("t_inj", "1", {{evil_column[0], "x"}}).status() == Status::kBadIdentifier);
  CHECK(conn->DeleteRow("t_inj` WHERE 1=1; --", "1").status() == Status::kBadIdentifier);
  CHECK(conn->stats().statements == before);
  // Describe binds the name as a parameter: no such table, nothing dropped.
  CHECK(conn->Describe("t_inj; DROP TABLE t_inj").status() == Status::kNotFound);
  CHECK(*backend.Admin("SELECT COUNT(*) FROM t_inj").at(0).at(0) ==
        std::to_string(payloads.size()));
}
ADAPTER_TEST_ALL("values that look like SQL injection are stored and returned verbatim",
                 InjectionIsInert)

void UnknownIdentifiersRefused(Backend& backend) {
  backend.Recreate("t_known", "CREATE TABLE t_known (id INT PRIMARY KEY, v TEXT)");
  backend.Recreate("t_nokey", "CREATE TABLE t_nokey (a INT, b TEXT)");
  auto db = backend.Open();
  auto conn = db->Connect();
  std::vector<std::string> nosuch{"nosuch"};
  // Not described yet: refused, and the connection never even opened a session.
  CHECK(conn->FetchRow("t_known", "1").status() == Status::kBadIdentifier);
  CHECK(conn->Upsert("t_known", "1", {{"v", "x"}}).status() == Status::kBadIdentifier);
  CHECK(conn->DeleteRow("t_known", "1").status() == Status::kBadIdentifier);
  CHECK(conn->ScanKeys("t_known", [](auto) { return true; }).status() == Status::kBadIdentifier);
  CHECK(conn->stats().connects == 0);
  CHECK(conn->stats().statements == 0);

  CHECK(conn->Describe("no_such_table").status() == Status::kNotFound);
  REQUIRE(conn->Describe("t_known").ok());
  const std::uint64_t before = conn->stats().statements;
  auto unknown_column = conn->FetchRow("t_known", "1", nosuch);
  CHECK(unknown_column.status() == Status::kBadIdentifier);
  CHECK_THAT(unknown_column.message(), Catch::Contains("nosuch"));
  CHECK(conn->Upsert("t_known", "1", {{"nosuch", "x"}}).status() == Status::kBadIdentifier);
  CHECK(conn->FetchRow("no_such_table", "1").status() == Status::kBadIdentifier);
  CHECK(conn->stats().statements == before);

  // A table without a single-column primary key cannot be used for row operations.
  auto nokey = conn->Describe("t_nokey");
  REQUIRE(nokey.ok());
  CHECK(nokey->primary_key.empty());
  CHECK(conn->FetchRow("t_nokey", "1").status() == Status::kBadIdentifier);

  // What one connection described, every connection of the database accepts.
  auto other = db->Connect();
  CHECK(other->Upsert("t_known", "1", {{"v", "x"}}).ok());
  CHECK(other->FetchRow("t_known", "1").ok());
}
ADAPTER_TEST_ALL("unknown tables and columns are refused before any SQL runs",
                 UnknownIdentifiersRefused)

void KeyCollationReported(Backend& backend) {
  const bool mysql = backend.dialect() == Dialect::kMySql;
  backend.Recreate("t_coll",
                   mysql ? "CREATE TABLE t_coll (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE "
                           "utf8mb4_general_ci PRIMARY KEY, b VARCHAR(20) CHARACTER SET utf8mb4 "
                           "COLLATE utf8mb4_bin, n INT)"
                         : "CREATE TABLE t_coll (k VARCHAR(20) PRIMARY KEY, b VARCHAR(20), n INT)");
  auto db = backend.Open();
  auto conn = db->Connect();
  auto schema = conn->Describe("t_coll");
  REQUIRE(schema.ok());
  REQUIRE(schema->columns.size() == 3);
  if (mysql) {
    // The case-insensitive key: 'ALICE' and 'alice' are one row to the database.
    CHECK(schema->columns[0].collation == "utf8mb4_general_ci");
    CHECK(conn->Upsert("t_coll", "alice", {{"n", "1"}}).ok());
    CHECK(conn->Upsert("t_coll", "ALICE", {{"n", "2"}}).ok());
    auto row = conn->FetchRow("t_coll", "alice", std::vector<std::string>{"k", "n"});
    REQUIRE(row.ok());
    CHECK((*row)[0].value == "alice");
    CHECK((*row)[1].value == "2");
    CHECK(schema->columns[1].collation == "utf8mb4_bin");
  } else {
    CHECK(schema->columns[0].collation.empty());
    CHECK(schema->columns[1].collation.empty());
  }
  CHECK(schema->columns[2].collation.empty());
}
ADAPTER_TEST_ALL("text columns report their collation (MySQL), where spellings may fold",
                 KeyCollationReported)

void KeyFormsGroupSpellings(Backend& backend) {
  const bool mysql = backend.dialect() == Dialect::kMySql;
  backend.Recreate("t_form",
                   mysql ? "CREATE TABLE t_form (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE "
                           "utf8mb4_unicode_ci PRIMARY KEY, n INT)"
                         : "CREATE TABLE t_form (k VARCHAR(20) PRIMARY KEY, n INT)");
  auto db = backend.Open();
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_form").ok());
  REQUIRE(conn->Upsert("t_form", "alice", {{"n", "1"}}).ok());
  REQUIRE(conn->Upsert("t_form",
                       "stra\xc3\x9f"
                       "e",
                       {{"n", "2"}})
              .ok());  // "straße"
  auto form = [&](std::string_view pk) {
    auto f = conn->KeyForm("t_form", pk);
    INFO(f.ToString());
    REQUIRE(f.ok());
    return *f;
  };
  std::vector<std::string> scanned;
  auto scan = conn->ScanKeyForms("t_form", [&](std::span<const std::string> forms) {
    scanned.insert(scanned.end(), forms.begin(), forms.end());
    return true;
  });
  REQUIRE(scan.ok());
  REQUIRE(*scan == 2);
  REQUIRE(scanned.size() == 2);
  if (mysql) {
    // Every spelling the collation equates has the row's form, whatever the case, a trailing
    // space (PAD SPACE) or an expansion (unicode_ci: ß = ss); the scan delivers the same forms.
    const uint64_t statements = conn->stats().statements;
    const std::string alice = form("alice");
    CHECK(conn->stats().statements == statements + 1);  // one SELECT
    CHECK(form("ALICE") == alice);
    CHECK(form("Alice  ") == alice);
    CHECK(form("STRASSE") == form("stra\xc3\x9f"
                                  "e"));
    CHECK(form("bob") != alice);
    CHECK(form("alic") != alice);
    // Forms are binary: utf8mb4_general_ci weighs 'a' and 'A' as the two bytes 00 41.
    backend.Recreate("t_form_g",
                     "CREATE TABLE t_form_g (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE "
                     "utf8mb4_general_ci PRIMARY KEY)");
    REQUIRE(conn->Describe("t_form_g").ok());
    auto g = conn->KeyForm("t_form_g", "a");
    REQUIRE(g.ok());
    CHECK(*g == std::string("w\x00\x41", 3));
    // NO PAD: trailing spaces count, so 'alice' and 'alice ' are two rows with two forms.
    backend.Recreate("t_form_np",
                     "CREATE TABLE t_form_np (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE "
                     "utf8mb4_unicode_nopad_ci PRIMARY KEY)");
    auto np = conn->Describe("t_form_np");
    REQUIRE(np.ok());
    CHECK_FALSE(np->columns[0].pad_space);
    auto np_form = [&](std::string_view pk) { return *conn->KeyForm("t_form_np", pk); };
    CHECK(np_form("alice") == np_form("ALICE"));
    CHECK(np_form("alice") != np_form("alice "));
    // A latin1 key: accents fold; a key latin1 cannot hold (or invalid UTF-8) names no row and
    // gets a form of its own, shared with no other spelling ('caf?' is what latin1 makes of it).
    backend.Recreate("t_form_l",
                     "CREATE TABLE t_form_l (k VARCHAR(20) CHARACTER SET latin1 COLLATE "
                     "latin1_swedish_ci PRIMARY KEY)");
    auto l = conn->Describe("t_form_l");
    REQUIRE(l.ok());
    CHECK(l->columns[0].charset == "latin1");
    CHECK(l->columns[0].pad_space);
    auto l_form = [&](std::string_view pk) { return *conn->KeyForm("t_form_l", pk); };
    CHECK(l_form("caf\xc3\xa9") == l_form("CAF\xc3\x89"));  // café, CAFÉ
    CHECK(l_form("caf\xc3\xa9")[0] == 'w');
    CHECK(l_form("caf\xc4\x81") == "rcaf\xc4\x81");  // cafā
    CHECK(l_form("caf?")[0] == 'w');
    CHECK(l_form("\xff") == "r\xff");
    // A key the database holds but will not weigh (its weight string would exceed
    // max_allowed_packet) may still name a row ('alice' and a million spaces is 'alice'): no
    // form is made up for it.
    auto huge = conn->KeyForm("t_form", "alice" + std::string(1100000, ' '));
    CHECK(huge.status() == Status::kInvalidArgument);
    // PAD SPACE pads by weight: NO-BREAK SPACE weighs as a space under unicode_ci.
    CHECK(form("alice\xc2\xa0") == form("alice"));
    // A PAD SPACE binary collation folds trailing spaces only, and its forms need no database;
    // a NO PAD binary one compares byte for byte.
    backend.Recreate("t_form_b",
                     "CREATE TABLE t_form_b (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE "
                     "utf8mb4_bin PRIMARY KEY, n VARCHAR(20) CHARACTER SET utf8mb4 COLLATE "
                     "utf8mb4_nopad_bin)");
    auto b = conn->Describe("t_form_b");
    REQUIRE(b.ok());
    CHECK(KeyComparisonOf(b->columns[0]) == KeyComparison::kTrailingSpaces);
    CHECK(KeyComparisonOf(b->columns[1]) == KeyComparison::kExact);  // not a key: not probed
    const uint64_t before = conn->stats().statements;
    CHECK(*conn->KeyForm("t_form_b", "alice  ") == *conn->KeyForm("t_form_b", "alice"));
    CHECK(*conn->KeyForm("t_form_b", "alice") != *conn->KeyForm("t_form_b", "ALICE"));
    CHECK(conn->stats().statements == before);
    REQUIRE(conn->Upsert("t_form_b", "alice", {{"n", "1"}}).ok());
    auto same = conn->FetchRow("t_form_b", "alice  ", std::vector<std::string>{"n"});
    REQUIRE(same.ok());  // the database agrees: one row
    backend.Recreate("t_form_nb",
                     "CREATE TABLE t_form_nb (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE "
                     "utf8mb4_nopad_bin PRIMARY KEY)");
    auto nb = conn->Describe("t_form_nb");
    REQUIRE(nb.ok());
    CHECK(KeyComparisonOf(nb->columns[0]) == KeyComparison::kExact);
    CHECK(*conn->KeyForm("t_form_nb", "alice ") == "alice ");
    CHECK(std::set<std::string>(scanned.begin(), scanned.end()) ==
          std::set<std::string>{alice, form("strasse")});
    // The database agrees on which row they name.
    auto row = conn->FetchRow("t_form", "ALICE  ", std::vector<std::string>{"k", "n"});
    REQUIRE(row.ok());
    CHECK((*row)[0].value == "alice");
  } else {
    // Byte-exact keys are their own forms, without a round trip.
    const uint64_t statements = conn->stats().statements;
    CHECK(form("ALICE") == "ALICE");
    CHECK(form("alice") == "alice");
    CHECK(conn->stats().statements == statements);
    std::sort(scanned.begin(), scanned.end());
    CHECK(scanned == std::vector<std::string>{"alice",
                                              "stra\xc3\x9f"
                                              "e"});
  }
  CHECK(conn->KeyForm("t_nope", "x").status() == Status::kBadIdentifier);
}
ADAPTER_TEST_ALL("key forms: spellings the collation equates share one form",
                 KeyFormsGroupSpellings)

void ConstraintViolations(Backend& backend) {
  backend.Recreate("t_con",
                   "CREATE TABLE t_con (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, "
                   "email VARCHAR(50) UNIQUE)");
  auto db = backend.Open();
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_con").ok());
  auto null_name = conn->Upsert("t_con", "1", {{"name", std::nullopt}});
  CHECK(null_name.status() == Status::kConstraintViolated);
  CHECK(!null_name.message().empty());
  REQUIRE(conn->Upsert("t_con", "1", {{"name", "a"}, {"email", "a@x"}}).ok());
  auto duplicate = conn->Upsert("t_con", "2", {{"name", "b"}, {"email", "a@x"}});
  CHECK(duplicate.status() == Status::kConstraintViolated);
  INFO(duplicate.message());
  CHECK_THAT(duplicate.message(),
             Catch::Contains("a@x") || Catch::Contains("UNIQUE") || Catch::Contains("unique"));
  // A clash on the other unique key neither inserts nor touches the row holding that value.
  auto first = conn->FetchRow("t_con", "1");
  REQUIRE(first.ok());
  CHECK((*first)[1].value == "a");
  CHECK(conn->FetchRow("t_con", "2").status() == Status::kNotFound);
  // The session survives an error.
  CHECK(conn->FetchRow("t_con", "1").ok());
  CHECK(conn->stats().connects == 1);
}
ADAPTER_TEST_ALL("constraint violations are reported as such", ConstraintViolations)

// Regression: a one-statement INSERT ... ON CONFLICT / ON DUPLICATE KEY upsert refused to update
// some columns of a row whose other NOT NULL columns have no default (every database checks the
// proposed insert row first), so `HSET products:42 price 9.90` failed on ordinary schemas.
void PartialUpdateOfNotNullRow(Backend& backend) {
  backend.Recreate("t_partial",
                   "CREATE TABLE t_partial (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, "
                   "price DECIMAL(10,2) NOT NULL, stock INT NOT NULL)");
  backend.Admin("INSERT INTO t_partial VALUES (1, 'a', 1.00, 5)");
  auto db = backend.Open();
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_partial").ok());
  auto r = conn->Upsert("t_partial", "1", {{"price", "9.90"}});
  INFO(r.ToString());
  REQUIRE(r.ok());
  // The same values again: the row is matched even though nothing changes.
  REQUIRE(conn->Upsert("t_partial", "1", {{"price", "9.90"}}).ok());
  auto row = conn->FetchRow("t_partial", "1");
  REQUIRE(row.ok());
  CHECK((*row)[1].value == "a");
  CHECK((*row)[2].value == (backend.dialect() == Dialect::kSqlite ? "9.9" : "9.90"));
  CHECK((*row)[3].value == "5");
  // A new row still needs every NOT NULL column: the database says which.
  CHECK(conn->Upsert("t_partial", "2", {{"price", "1.00"}}).status() ==
        Status::kConstraintViolated);
  REQUIRE(conn->Upsert("t_partial", "2", {{"name", "b"}, {"price", "1.00"}, {"stock", "1"}}).ok());
  CHECK(conn->FetchRow("t_partial", "2").ok());
}
ADAPTER_TEST_ALL("upsert updates some columns of a row with NOT NULL columns",
                 PartialUpdateOfNotNullRow)

void PreparedStatementsCached(Backend& backend) {
  backend.Recreate("t_prep", "CREATE TABLE t_prep (id INT PRIMARY KEY, v TEXT)");
  for (bool cache : {true, false}) {
    INFO("cache_prepared_statements " << cache);
    Options options;
    options.cache_prepared_statements = cache;
    auto db = backend.Open(options);
    auto conn = db->Connect();
    REQUIRE(conn->Describe("t_prep").ok());
    REQUIRE(conn->Upsert("t_prep", "1", {{"v", "one"}}).ok());
    const std::uint64_t before = conn->stats().prepares;
    for (int i = 0; i < 5; ++i) {
      auto row = conn->FetchRow("t_prep", "1");
      REQUIRE(row.ok());
      CHECK((*row)[1].value == "one");
    }
    CHECK(conn->stats().prepares - before == (cache ? 1u : 5u));
  }
}
ADAPTER_TEST_ALL("prepared statements are cached per connection", PreparedStatementsCached)

void OneConnectionPerThread(Backend& backend) {
  backend.Recreate("t_threads", "CREATE TABLE t_threads (id INT PRIMARY KEY, v TEXT)");
  auto db = backend.Open();
  REQUIRE(db->Connect()->Describe("t_threads").ok());
  constexpr int kThreads = 8;
  constexpr int kRows = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conn = db->Connect();  // owned by this thread
      for (int i = 0; i < kRows; ++i) {
        const std::string key = std::to_string(t * 1000 + i);
        if (!conn->Upsert("t_threads", key, {{"v", "v" + key}}).ok()) ++failures;
        auto row = conn->FetchRow("t_threads", key);
        if (!row.ok() || (*row)[1].value != "v" + key) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(*backend.Admin("SELECT COUNT(*) FROM t_threads").at(0).at(0) ==
        std::to_string(kThreads * kRows));
}
ADAPTER_TEST_ALL("connections used from their own threads concurrently", OneConnectionPerThread)

void ScanKeysMillion(Backend& backend) {
  constexpr std::uint64_t kRows = 1000000;
  backend.Recreate("t_big", "CREATE TABLE t_big (id BIGINT PRIMARY KEY)");
  switch (backend.dialect()) {
    case Dialect::kMySql:
      backend.Admin("INSERT INTO t_big SELECT seq FROM seq_1_to_1000000");
      break;
    case Dialect::kPostgres:
      backend.Admin("INSERT INTO t_big SELECT generate_series(1, 1000000)");
      break;
    case Dialect::kSqlite:
      backend.Admin(
          "INSERT INTO t_big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
          "WHERE x < 1000000) SELECT x FROM c");
      break;
  }
  Options options;
  options.scan_batch_size = 10000;
  options.statement_timeout = std::chrono::minutes(1);
  auto db = backend.Open(options);
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_big").ok());

  const long rss_before = rowcached::testing::PeakRssKib();
  std::uint64_t count = 0, sum = 0, batches = 0, largest_batch = 0, previous = 0;
  bool ascending = true;
  auto scanned = conn->ScanKeys("t_big", [&](std::span<const std::string> keys) {
    ++batches;
    largest_batch = std::max<std::uint64_t>(largest_batch, keys.size());
    for (const std::string& k : keys) {
      const std::uint64_t v = std::stoull(k);
      ascending = ascending && v > previous;
      previous = v;
      sum += v;
      ++count;
    }
    return true;
  });
  const long rss_after = rowcached::testing::PeakRssKib();
  REQUIRE(scanned.ok());
  CHECK(*scanned == kRows);
  CHECK(count == kRows);
  CHECK(sum == kRows * (kRows + 1) / 2);
  CHECK(ascending);
  CHECK(largest_batch == 10000);
  CHECK(batches == kRows / 10000);
  const long delta_kib = rss_after - rss_before;
  std::cout << "ScanKeys " << backend.name() << ": " << count << " keys in " << batches
            << " batches; peak RSS " << rss_after / 1024 << " MiB, grew by " << delta_kib / 1024
            << " MiB during the scan\n";
#if !defined(__SANITIZE_ADDRESS__)
  // One batch is 10,000 short strings (well under 1 MiB); loading all 10^6 keys would take over
  // 30 MiB. (Not checked under AddressSanitizer, whose quarantine keeps freed memory resident.)
  CHECK(delta_kib < 16 * 1024);
#endif
  // Stopping early is honoured.
  std::uint64_t seen = 0;
  auto stopped = conn->ScanKeys("t_big", [&](std::span<const std::string> keys) {
    seen += keys.size();
    return false;
  });
  REQUIRE(stopped.ok());
  CHECK(seen == 10000);
}
ADAPTER_TEST_ALL("ScanKeys streams 1000000 keys in bounded memory", ScanKeysMillion)

// --- Server-only behaviour: sessions killed, servers stopped, statement timeouts. ---

void KilledSessionReconnects(Backend& backend) {
  backend.Recreate("t_kill", "CREATE TABLE t_kill (id INT PRIMARY KEY, v TEXT)");
  backend.Admin("INSERT INTO t_kill VALUES (1, 'one')");
  auto db = backend.Open();
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_kill").ok());
  REQUIRE(conn->stats().connects == 1);
  backend.KillSession(*conn);
  // The very next call finds the dead session, reconnects and succeeds.
  auto row = conn->FetchRow("t_kill", "1");
  REQUIRE(row.ok());
  CHECK((*row)[1].value == "one");
  CHECK(conn->stats().connects == 2);
  // Prepared statements were re-prepared on the new session.
  backend.KillSession(*conn);
  CHECK(conn->Upsert("t_kill", "2", {{"v", "two"}}).ok());
  CHECK(conn->stats().connects == 3);
  CHECK(*backend.Admin("SELECT v FROM t_kill WHERE id = 2").at(0).at(0) == "two");
}
ADAPTER_TEST_SERVERS("a killed session is replaced by the next call", KilledSessionReconnects)

void StoppedAndRestarted(Backend& backend) {
  backend.Recreate("t_down", "CREATE TABLE t_down (id INT PRIMARY KEY, v TEXT)");
  backend.Admin("INSERT INTO t_down VALUES (1, 'one')");
  // A user with a password full of URL delimiters, percent-encoded in the URL.
  const std::string password = "S3cr#t:p@ss/w%rd";
  const std::string encoded = "S3cr%23t%3Ap%40ss%2Fw%25rd";
  std::string url = backend.Url();
  if (backend.dialect() == Dialect::kMySql) {
    backend.Admin("DROP USER IF EXISTS 'app'@'%'");
    backend.Admin("CREATE USER 'app'@'%' IDENTIFIED BY '" + password + "'");
    backend.Admin("GRANT ALL ON rowcached_test.* TO 'app'@'%'");
    url.replace(url.find("root@"), 5, "app:" + encoded + "@");
  } else {
    backend.Admin("DROP ROLE IF EXISTS app");
    backend.Admin("CREATE ROLE app LOGIN SUPERUSER PASSWORD '" + password + "'");
    url.replace(url.find("postgres@"), 9, "app:" + encoded + "@");
  }
  Options options;
  options.url = url;
  options.connect_timeout = 2s;
  options.reconnect_backoff_initial = 0ms;  // every call may try to reconnect
  auto opened = NewDatabase(options);
  REQUIRE(opened.ok());
  CHECK(opened.value()->redacted_url().find(encoded) == std::string::npos);
  auto db = std::move(opened).value();
  auto conn = db->Connect();
  REQUIRE(conn->Describe("t_down").ok());  // the decoded password was accepted (MariaDB checks)
  REQUIRE(conn->FetchRow("t_down", "1").ok());

  backend.Stop();
  auto down = conn->FetchRow("t_down", "1");
  CHECK(down.status() == Status::kConnectionLost);
  INFO(down.message());
  CHECK_THAT(down.message(), Catch::Contains("cannot connect"));
  CHECK_THAT(down.message(), Catch::Contains("127.0.0.1"));
  CHECK(down.message().find(password) == std::string::npos);
  CHECK(down.message().find(encoded) == std::string::npos);
  auto fresh = db->Connect();
  CHECK(fresh->Ping().status() == Status::kConnectionLost);

  backend.Restart();
  auto up = conn->FetchRow("t_down", "1");
  REQUIRE(up.ok());
  CHECK((*up)[1].value == "one");
  CHECK(fresh->Ping().ok());
}
ADAPTER_TEST_SERVERS("a stopped database is a clear error and a restarted one is used again",
                     StoppedAndRestarted)

void StatementTimeout(Backend& backend) {
  auto db = backend.Open({}, "statement_timeout=300ms");
  CHECK(db->options().statement_timeout == 300ms);
  auto conn = db->Connect();
  auto slept = RunSqlForTesting(*conn, backend.SleepSql(5));
  INFO(slept.message());
  CHECK(slept.status() == Status::kTimeout);
  // The session is still good afterwards.
  CHECK(conn->Ping().ok());
  CHECK(conn->stats().connects == 1);
}
ADAPTER_TEST_SERVERS("a statement beyond the statement timeout returns the timeout status",
                     StatementTimeout)

}  // namespace
}  // namespace rowcached::adapters::test
