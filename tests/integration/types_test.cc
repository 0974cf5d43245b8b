// Column types round trip through rowcached byte-exact, on MariaDB and PostgreSQL: HGETALL /
// HGET / HMGET return each non-NULL value exactly as the database renders it (NULL columns are
// absent, HGET of one is nil), GET's JSON carries integers as numbers, binary as base64 and NULL
// as null; values written with HSET (NUL bytes, emoji) arrive in the database unchanged.
#include <nlohmann/json.hpp>

#include "integration/harness.h"

namespace rowcached::integration_test {
namespace {

const std::vector<std::string> kColumns = {"id", "i", "b", "d", "v", "t", "bin", "ts", "n", "nv"};

// Deliberately awkward values. The text has a newline, both quote kinds, accents and emoji; the
// binary value has NUL bytes, 0xff, CR LF.
const std::string kText =
    "first line\nsecond \"line\" it's \xc3\xbc"
    "n\xc3\xaf"
    "c\xc3\xb6"
    "de \xf0\x9f\x8e\x89";
const std::string kVarchar = "h\xc3\xa9llo \xf0\x9f\x98\x80 w\xc3\xb6rld";
const std::string kBinary = std::string("\x00\x01\xff\x00rowcached\x00\r\n\x80", 16);
const std::string kWrittenBinary = std::string("\x00\x00\xfe\xed\x00", 5);
constexpr int64_t kBig = 9007199254740993;  // not representable as a double

std::string Base64(std::string_view in) {
  static constexpr char kA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kA[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kA[(acc << (6 - bits)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::string SqlString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// PostgreSQL's text rendering of BYTEA ("\x0001...") to bytes.
std::string FromPgHex(const std::string& s) {
  REQUIRE(s.rfind("\\x", 0) == 0);
  std::string out;
  for (size_t i = 2; i + 1 < s.size(); i += 2) {
    out += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
  }
  return out;
}

void TypesRoundTrip(Kind kind) {
  Backend db = SharedBackend(kind);
  db.Exec("DROP TABLE IF EXISTS types");
  db.Exec(
      "CREATE TABLE types (id BIGINT PRIMARY KEY, i INT, b BIGINT, d DECIMAL(10,2), "
      "v VARCHAR(100), t TEXT, bin " +
      db.BinaryType() + ", ts " + db.DateTimeType() + ", n INT, nv VARCHAR(20))" +
      db.TableSuffix());
  db.Exec("INSERT INTO types VALUES (1, -42, " + std::to_string(kBig) + ", -12345678.90, " +
          SqlString(kVarchar) + ", " + SqlString(kText) + ", " + db.BinaryLiteral(kBinary) +
          ", '2024-02-29 23:59:58', NULL, NULL)");
  // Empty values are not NULL; extreme integers survive.
  db.Exec(
      "INSERT INTO types VALUES (9223372036854775807, NULL, -9223372036854775808, 0.00, '', "
      "'', " +
      db.BinaryLiteral("") + ", NULL, 0, '')");

  middleware::Options options = ProductsOptions(db.Url());
  options.tables[0].name = "types";
  RowCacheServer server(options);
  auto c = server.Client();
  WaitTableReady(*c, "types");

  // ---- HGETALL: every non-NULL column, byte-exact, in table order; NULL columns absent.
  Reply all = c->Command({"HGETALL", "types:1"});
  Hash h = HashOf(all);
  Hash expected{{"id", "1"},
                {"i", "-42"},
                {"b", std::to_string(kBig)},
                {"d", "-12345678.90"},
                {"v", kVarchar},
                {"t", kText},
                {"bin", kBinary},
                {"ts", "2024-02-29 23:59:58"}};
  REQUIRE(h == expected);
  std::vector<std::string> order;
  for (size_t i = 0; i < all.elems.size(); i += 2) order.push_back(all.elems[i].str);
  REQUIRE(order == std::vector<std::string>{"id", "i", "b", "d", "v", "t", "bin", "ts"});

  // The same bytes as the database renders them to its administrator.
  auto rows = db.Query("SELECT id, i, b, d, v, t, bin, ts FROM types WHERE id = 1");
  REQUIRE(rows.size() == 1);
  for (size_t col = 0; col < 8; ++col) {
    INFO(kColumns[col]);
    REQUIRE(rows[0][col].has_value());
    std::string rendered = *rows[0][col];
    if (kColumns[col] == "bin" && kind == Kind::kPostgres) rendered = FromPgHex(rendered);
    REQUIRE(h[kColumns[col]] == rendered);
  }

  // ---- HGET / HMGET: NULL is nil, empty is empty.
  REQUIRE(BulkOf(c->Command({"HGET", "types:1", "bin"})) == kBinary);
  REQUIRE(IsNil(c->Command({"HGET", "types:1", "n"})));
  Reply m = c->Command({"HMGET", "types:1", "v", "n", "nv", "d"});
  REQUIRE(m.elems.size() == 4);
  REQUIRE(BulkOf(m.elems[0]) == kVarchar);
  REQUIRE(IsNil(m.elems[1]));
  REQUIRE(IsNil(m.elems[2]));
  REQUIRE(BulkOf(m.elems[3]) == "-12345678.90");

  // ---- GET: JSON with numbers, base64 and null, keys in table order.
  {
    auto j = nlohmann::ordered_json::parse(BulkOf(c->Command({"GET", "types:1"})));
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    REQUIRE(keys == kColumns);
    REQUIRE(j["id"].is_number_integer());
    REQUIRE(j["id"].get<int64_t>() == 1);
    REQUIRE(j["i"].is_number_integer());
    REQUIRE(j["i"].get<int64_t>() == -42);
    REQUIRE(j["b"].is_number_integer());
    REQUIRE(j["b"].get<int64_t>() == kBig);
    REQUIRE(j["d"] == "-12345678.90");
    REQUIRE(j["v"] == kVarchar);
    REQUIRE(j["t"] == kText);
    REQUIRE(j["bin"] == Base64(kBinary));
    REQUIRE(j["ts"] == "2024-02-29 23:59:58");
    REQUIRE(j["n"].is_null());
    REQUIRE(j["nv"].is_null());
  }

  // ---- the second row: empty strings and empty binary are values, extremes are exact.
  {
    std::string key = "types:9223372036854775807";
    Hash h2 = HashOf(c->Command({"HGETALL", key}));
    REQUIRE(h2 == Hash{{"id", "9223372036854775807"},
                       {"b", "-9223372036854775808"},
                       {"d", "0.00"},
                       {"v", ""},
                       {"t", ""},
                       {"bin", ""},
                       {"n", "0"},
                       {"nv", ""}});
    auto j = nlohmann::json::parse(BulkOf(c->Command({"GET", key})));
    REQUIRE(j["id"].get<int64_t>() == INT64_MAX);
    REQUIRE(j["b"].get<int64_t>() == INT64_MIN);
    REQUIRE(j["i"].is_null());
    REQUIRE(j["ts"].is_null());
    REQUIRE(j["bin"] == "");
    REQUIRE(j["v"] == "");
    REQUIRE(j["n"].is_number_integer());
    REQUIRE(j["n"].get<int64_t>() == 0);
  }

  // ---- HSET writes bytes unchanged; the cache then holds the row as the database stored it.
  {
    REQUIRE(IntOf(c->Command({"HSET", "types:3", "bin", kWrittenBinary, "v", kVarchar, "d", "1.5",
                              "ts", "2025-01-02 03:04:05", "b", "-1"})) == 5);
    auto stored = db.Query("SELECT bin, v, d, ts, b, i FROM types WHERE id = 3");
    REQUIRE(stored.size() == 1);
    std::string bin = *stored[0][0];
    if (kind == Kind::kPostgres) bin = FromPgHex(bin);
    REQUIRE(bin == kWrittenBinary);
    REQUIRE(stored[0][1] == kVarchar);
    REQUIRE(stored[0][2] == "1.50");
    REQUIRE(stored[0][3] == "2025-01-02 03:04:05");
    REQUIRE(stored[0][4] == "-1");
    REQUIRE(!stored[0][5].has_value());
    REQUIRE(HashOf(c->Command({"HGETALL", "types:3"})) == Hash{{"id", "3"},
                                                               {"b", "-1"},
                                                               {"d", "1.50"},
                                                               {"v", kVarchar},
                                                               {"bin", kWrittenBinary},
                                                               {"ts", "2025-01-02 03:04:05"}});
    auto j = nlohmann::json::parse(BulkOf(c->Command({"GET", "types:3"})));
    REQUIRE(j["bin"] == Base64(kWrittenBinary));
    REQUIRE(j["i"].is_null());
  }
}

}  // namespace

TEST_CASE("MariaDB column types round trip byte-exact through HGETALL and GET JSON",
          "[integration][mariadb][types]") {
  TypesRoundTrip(Kind::kMariaDb);
}

TEST_CASE("PostgreSQL column types round trip byte-exact through HGETALL and GET JSON",
          "[integration][postgres][types]") {
  TypesRoundTrip(Kind::kPostgres);
}

}  // namespace rowcached::integration_test
