// RDB files written and read back in-process: every type and encoding, expiries, several
// databases, rows, and the ways a damaged file must fail (checksum, truncation, bad magic,
// types rowcached does not have). The cross tests against redis-server itself are in
// tests/protocol/rdb_redis_test.cc.
#include "server/rdb.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "server/hash_object.h"
#include "server/list_object.h"
#include "server/rdb_codec.h"
#include "server/set_object.h"
#include "server/util.h"
#include "server/zset_object.h"
#include "support/keyspace_image.h"

using namespace rowcached::server;
using rowcached::testing::Image;
using rowcached::testing::KeyImage;
using rowcached::testing::KeyspaceImage;

namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// A cached row as the middleware would hold it: only RdbSaveOptions::row_fields reads it.
class FakeRow final : public Object {
 public:
  std::vector<std::pair<std::string, std::string>> columns;
  size_t MemoryUsage() const override { return sizeof(*this); }
  std::unique_ptr<Object> Clone() const override { return std::make_unique<FakeRow>(*this); }
  std::string_view Encoding() const override { return "row"; }
};

RdbSaveOptions RowOptions() {
  RdbSaveOptions options;
  options.row_fields = [](const Entry& row, std::vector<std::pair<std::string, std::string>>* out) {
    *out = static_cast<const FakeRow*>(row.object())->columns;
  };
  return options;
}

std::string Dump(Keyspace& ks, const RdbSaveOptions& options = {}) {
  int fd = ::memfd_create("rdb", 0);
  REQUIRE(fd >= 0);
  std::string error;
  REQUIRE(WriteRdb(ks, fd, options, &error));
  off_t size = ::lseek(fd, 0, SEEK_END);
  std::string bytes(static_cast<size_t>(size), '\0');
  REQUIRE(::pread(fd, bytes.data(), bytes.size(), 0) == size);
  ::close(fd);
  return bytes;
}

struct Fixture {
  ManualClock clock{kNow};
  Keyspace ks{16, &clock};

  // Runs fn(Db&) for database `d` with every shard locked.
  template <typename Fn>
  void With(int d, Fn&& fn) {
    ShardLocks locks;
    locks.LockAll(ks);
    Db db(&ks, d);
    fn(db);
  }
};

template <typename T>
T* Make(Db& db, std::string_view key, ValueType type) {
  Status st;
  T* o = db.FindOrCreate<T>(key, type, &st);
  REQUIRE(st == Status::kOk);
  return o;
}

// A keyspace with every type in its small and large encodings.
void FillVariety(Fixture& f) {
  f.With(0, [](Db& db) {
    db.SetString("empty", "", false);
    db.SetString("int", "12345", false);
    db.SetString("negint", "-7", false);
    db.SetString("bigint", "9223372036854775807", false);
    db.SetString("notint", "007", false);
    db.SetString("plus", "+1", false);
    db.SetString("compressible", std::string(1000, 'a') + "tail", false);
    std::string binary("\0bin\r\n\xff\0", 8);
    db.SetString(std::string("key\0with\0nul", 12), binary, false);
    std::string random;
    std::mt19937_64 rng(1);
    for (int i = 0; i < 300; ++i) random.push_back(static_cast<char>(rng()));
    db.SetString("random", random, false);

    auto* small_list = Make<ListObject>(db, "list", ValueType::kList);
    for (const std::string& v :
         std::vector<std::string>{"a", "1", "-5", std::string("b\0c", 3), std::string(100, 'z')}) {
      small_list->Push(ListEnd::kRight, v);
    }
    auto* big_list = Make<ListObject>(db, "biglist", ValueType::kList);
    for (int i = 0; i < 5000; ++i) big_list->Push(ListEnd::kRight, "element-" + std::to_string(i));

    auto* intset = Make<SetObject>(db, "intset", ValueType::kSet);
    for (int64_t v : {1ll, -2ll, 40000ll, -3000000000ll, 9223372036854775807ll}) {
      intset->Add(std::to_string(v));
    }
    auto* small_ints = Make<SetObject>(db, "intset16", ValueType::kSet);
    for (int v = 0; v < 10; ++v) small_ints->Add(std::to_string(v));
    auto* strset = Make<SetObject>(db, "strset", ValueType::kSet);
    for (const std::string& v : std::vector<std::string>{"x", "y", std::string("\0", 1)})
      strset->Add(v);
    auto* bigintset = Make<SetObject>(db, "bigintset", ValueType::kSet);
    for (int v = 0; v < 1000; ++v) bigintset->Add(std::to_string(v));

    auto* zs = Make<ZSetObject>(db, "zset", ValueType::kZSet);
    zs->Insert("a", 1.5);
    zs->Insert("inf", INFINITY);
    zs->Insert("-inf", -INFINITY);
    zs->Insert("neg", -2.25);
    zs->Insert("tiny", 5e-324);
    zs->Insert("zero", -0.0);
    auto* bigz = Make<ZSetObject>(db, "bigzset", ValueType::kZSet);
    for (int i = 0; i < 300; ++i) bigz->Insert("m" + std::to_string(i), i * 0.1);
    bigz->Insert("negzero", -0.0);
    bigz->Insert("pinf", INFINITY);
    auto* longz = Make<ZSetObject>(db, "longmember", ValueType::kZSet);
    longz->Insert(std::string(100, 'q'), 3);

    auto* h = Make<HashObject>(db, "hash", ValueType::kHash);
    h->Set("f", "v");
    h->Set("n", "42");
    h->Set(std::string("b\0in", 4), std::string("v\0al", 4));
    auto* bigh = Make<HashObject>(db, "bighash", ValueType::kHash);
    for (int i = 0; i < 1000; ++i) bigh->Set("field" + std::to_string(i), std::to_string(i));
    auto* longh = Make<HashObject>(db, "longvalue", ValueType::kHash);
    longh->Set("f", std::string(200, 'v'));

    Entry* ttl = db.SetString("ttl", "expiring", false);
    db.SetExpireAt(ttl, kNow + 60'000);
    Entry* ttl_hash = db.Find("hash");
    db.SetExpireAt(ttl_hash, kNow + 1);
  });
  f.With(3, [](Db& db) {
    db.SetString("k", "in db 3", false);
    Make<ListObject>(db, "l", ValueType::kList)->Push(ListEnd::kLeft, "x");
  });
  f.With(15, [](Db& db) { db.SetString("last", "db 15", false); });
}

// Loads `bytes` into a fresh keyspace at `now`.
struct Loaded {
  ManualClock clock;
  Keyspace ks;
  bool ok;
  std::string error;
  RdbLoadResult result;
  Loaded(std::string_view bytes, int64_t now = kNow) : clock(now), ks(16, &clock) {
    ok = LoadRdbBytes(ks, bytes, "dump.rdb", &result, &error);
  }
  size_t KeyCount() { return KeyspaceImage(ks).size(); }
};

}  // namespace

TEST_CASE("rdb codec: CRC64 and LZF as Redis has them", "[rdb]") {
  REQUIRE(rdb::Crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caull);
  // Chained calls equal one call over the concatenation (the writer flushes in chunks).
  std::string data(10000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 13);
  REQUIRE(rdb::Crc64(rdb::Crc64(0, data.data(), 3333), data.data() + 3333, data.size() - 3333) ==
          rdb::Crc64(0, data.data(), data.size()));

  std::string text = std::string(500, 'a') + "bcdefg" + std::string(500, 'a');
  std::string out(text.size(), '\0');
  size_t n = rdb::LzfCompress(text, out.data(), out.size());
  REQUIRE(n > 0);
  REQUIRE(n < 100);
  std::string back(text.size(), '\0');
  REQUIRE(rdb::LzfDecompress(std::string_view(out.data(), n), back.data(), back.size()));
  REQUIRE(back == text);
  REQUIRE_FALSE(rdb::LzfDecompress(std::string_view(out.data(), n), back.data(), back.size() - 1));
}

TEST_CASE("rdb codec: listpacks built as Redis' lpAppend encodes them decode back", "[rdb]") {
  std::vector<std::string> elements = {"0",
                                       "127",
                                       "128",
                                       "-1",
                                       "-4096",
                                       "4095",
                                       "-4097",
                                       "32767",
                                       "-32768",
                                       "32768",
                                       "8388607",
                                       "-8388608",
                                       "8388608",
                                       "2147483647",
                                       "-2147483649",
                                       "9223372036854775807",
                                       "-9223372036854775808",
                                       "007",
                                       "+1",
                                       "-0",
                                       "",
                                       std::string(63, 'a'),
                                       std::string(64, 'b'),
                                       std::string(4095, 'c'),
                                       std::string(4096, 'd'),
                                       std::string(20000, 'e'),
                                       std::string("\0\xff", 2)};
  rdb::ListpackBuilder builder;
  for (const auto& e : elements) builder.Append(e);
  CHECK(builder.count() == elements.size());
  std::string lp = builder.Finish();
  CHECK(builder.count() == 0);
  // Integer encodings where Redis uses them: 7-bit, 13-bit, 16, 24, 32 and 64-bit.
  CHECK(lp.substr(6, 2) == std::string("\x00\x01", 2));  // "0": one byte, back-length 1
  std::vector<std::string> decoded;
  std::vector<bool> as_int;
  REQUIRE(rdb::DecodeListpack(lp, [&](const rdb::PackedElement& e) {
    char buf[24];
    decoded.emplace_back(e.Text(buf));
    as_int.push_back(e.is_int);
    return true;
  }));
  CHECK(decoded == elements);
  for (size_t i = 0; i < elements.size(); ++i) {
    int64_t v;
    INFO(elements[i]);
    CHECK(as_int[i] == ParseInt64(elements[i], &v));
  }
}

TEST_CASE("rdb round trip keeps every type, encoding, TTL and database", "[rdb]") {
  Fixture f;
  FillVariety(f);
  Image before = KeyspaceImage(f.ks);
  REQUIRE(before.size() == 25);
  // Encodings the fixture is meant to cover.
  CHECK(before[{0, "intset"}].encoding == "intset");
  CHECK(before[{0, "bigintset"}].encoding == "hashtable");
  CHECK(before[{0, "strset"}].encoding == "hashtable");
  CHECK(before[{0, "zset"}].encoding == "listpack");
  CHECK(before[{0, "bigzset"}].encoding == "skiplist");
  CHECK(before[{0, "longmember"}].encoding == "skiplist");
  CHECK(before[{0, "hash"}].encoding == "listpack");
  CHECK(before[{0, "bighash"}].encoding == "hashtable");
  CHECK(before[{0, "longvalue"}].encoding == "hashtable");

  for (bool compress : {true, false}) {
    RdbSaveOptions options;
    options.compress = compress;
    std::string bytes = Dump(f.ks, options);
    REQUIRE(bytes.substr(0, 9) == "REDIS0010");
    Loaded loaded(bytes);
    INFO(loaded.error);
    REQUIRE(loaded.ok);
    CHECK(loaded.result.keys_loaded == before.size());
    CHECK(loaded.result.rdb_version == 10);
    CHECK_FALSE(loaded.result.redis_ver.empty());
    Image after = KeyspaceImage(loaded.ks);
    for (const auto& [key, image] : before) {
      INFO("db " << key.first << " key " << key.second);
      REQUIRE(after.count(key) == 1);
      CHECK(after[key] == image);
    }
    CHECK(after.size() == before.size());
    // Compression shrinks the file (the 1004-byte run of 'a' and the long list elements).
    if (compress) {
      CHECK(bytes.find(std::string(100, 'a')) == std::string::npos);
    } else {
      CHECK(bytes.find(std::string(1000, 'a')) != std::string::npos);
    }
  }
}

TEST_CASE("rdb writes integer-looking strings in Redis' integer encodings", "[rdb]") {
  Fixture f;
  f.With(0, [](Db& db) {
    db.SetString("a", "100", false);
    db.SetString("b", "-30000", false);
    db.SetString("c", "2000000000", false);
  });
  std::string bytes = Dump(f.ks);
  // Key "a" then 0xC0 (int8) 100; "b" then 0xC1 (int16, little-endian); "c" then 0xC2 (int32).
  CHECK(bytes.find(std::string("\x01"
                               "a\xc0\x64",
                               4)) != std::string::npos);
  CHECK(bytes.find(std::string("\x01"
                               "b\xc1\xd0\x8a",
                               5)) != std::string::npos);
  CHECK(bytes.find(std::string("\x01"
                               "c\xc2\x00\x94\x35\x77",
                               7)) != std::string::npos);
  Loaded loaded(bytes);
  REQUIRE(loaded.ok);
  Image image = KeyspaceImage(loaded.ks);
  CHECK(image[{0, "b"}].value == std::vector<std::string>{"-30000"});
  CHECK(image[{0, "c"}].value == std::vector<std::string>{"2000000000"});
}

TEST_CASE("rdb of an empty keyspace loads as empty", "[rdb]") {
  Fixture f;
  std::string bytes = Dump(f.ks);
  Loaded loaded(bytes);
  REQUIRE(loaded.ok);
  CHECK(loaded.result.keys_loaded == 0);
  CHECK(loaded.KeyCount() == 0);
  // No SELECTDB for databases without keys: magic, aux fields, EOF, checksum. (A lone 0xFE byte
  // may well appear in the binary aux values or the checksum: look for SELECTDB 0 + RESIZEDB.)
  CHECK(bytes.substr(0, bytes.size() - 9).find(std::string("\xfe\x00\xfb", 3)) ==
        std::string::npos);
}

TEST_CASE("rdb load skips keys whose TTL passed and counts them", "[rdb]") {
  Fixture f;
  f.With(0, [](Db& db) {
    db.SetExpireAt(db.SetString("soon", "x", false), kNow + 1000);
    db.SetExpireAt(db.SetString("later", "y", false), kNow + 100'000);
    db.SetString("forever", "z", false);
  });
  std::string bytes = Dump(f.ks);
  Loaded loaded(bytes, kNow + 5000);
  REQUIRE(loaded.ok);
  CHECK(loaded.result.keys_loaded == 2);
  CHECK(loaded.result.expired_skipped == 1);
  Image image = KeyspaceImage(loaded.ks);
  CHECK(image.count({0, "soon"}) == 0);
  CHECK(image[{0, "later"}].expire_at == kNow + 100'000);
  CHECK(image[{0, "forever"}].expire_at == -1);
}

TEST_CASE("rdb writes cached rows as hashes and leaves Bloom filters out", "[rdb]") {
  Fixture f;
  f.With(0, [](Db& db) {
    auto row = std::make_unique<FakeRow>();
    row->columns = {{"id", "7"}, {"name", "ada"}, {"bio", std::string(300, 'b')}};
    Entry* e = db.Put(Entry::NewObject("users:7", ValueType::kRow, std::move(row)), false);
    db.SetExpireAt(e, kNow + 9000);
    db.Put(Entry::NewObject("filter", ValueType::kBloom, std::make_unique<FakeRow>()), false);
    db.SetString("s", "v", false);
  });
  Loaded with_rows(Dump(f.ks, RowOptions()));
  REQUIRE(with_rows.ok);
  Image image = KeyspaceImage(with_rows.ks);
  REQUIRE(image.size() == 2);
  KeyImage row = image[{0, "users:7"}];
  CHECK(row.type == "hash");
  CHECK(row.encoding == "hashtable");  // a 300-byte value is past hash-max-listpack-value
  CHECK(row.value == std::vector<std::string>{"bio=" + std::string(300, 'b'), "id=7", "name=ada"});
  CHECK(row.expire_at == kNow + 9000);

  Loaded without_rows(Dump(f.ks));  // no row_fields: rows are not written
  REQUIRE(without_rows.ok);
  CHECK(without_rows.KeyCount() == 1);
}

TEST_CASE("rdb load detects a checksum mismatch and loads nothing", "[rdb]") {
  Fixture f;
  f.With(0, [](Db& db) { db.SetString("k", "some value bytes", false); });
  std::string bytes = Dump(f.ks);
  SECTION("a changed value byte") {
    size_t at = bytes.find("value");
    REQUIRE(at != std::string::npos);
    bytes[at] = 'V';
  }
  SECTION("a changed checksum") { bytes[bytes.size() - 1] ^= 1; }
  Loaded loaded(bytes);
  CHECK_FALSE(loaded.ok);
  CHECK_THAT(loaded.error, Catch::Contains("dump.rdb: checksum mismatch"));
  CHECK(loaded.KeyCount() == 0);
}

TEST_CASE("rdb with a zero checksum (rdbchecksum no) loads", "[rdb]") {
  Fixture f;
  f.With(0, [](Db& db) { db.SetString("k", "v", false); });
  std::string bytes = Dump(f.ks);
  std::memset(bytes.data() + bytes.size() - 8, 0, 8);
  Loaded loaded(bytes);
  REQUIRE(loaded.ok);
  CHECK(loaded.KeyCount() == 1);
}

TEST_CASE("rdb truncated at any byte fails cleanly with an empty keyspace", "[rdb]") {
  Fixture f;
  FillVariety(f);
  std::string bytes = Dump(f.ks);
  // Every prefix of a smaller dump, and a spread of prefixes of the large one.
  Fixture small;
  small.With(0, [](Db& db) {
    db.SetString("s", "value", false);
    db.SetExpireAt(db.SetString("n", "123", false), kNow + 5000);
    Make<HashObject>(db, "h", ValueType::kHash)->Set("f", std::string(40, 'x'));
    Make<SetObject>(db, "i", ValueType::kSet)->Add("5");
    Make<ZSetObject>(db, "z", ValueType::kZSet)->Insert("m", 2);
    Make<ListObject>(db, "l", ValueType::kList)->Push(ListEnd::kLeft, "e");
  });
  std::string small_bytes = Dump(small.ks);
  for (size_t len = 0; len < small_bytes.size(); ++len) {
    Loaded loaded(std::string_view(small_bytes).substr(0, len));
    INFO("prefix of " << len << " bytes: " << loaded.error);
    REQUIRE_FALSE(loaded.ok);
    REQUIRE(loaded.KeyCount() == 0);
    REQUIRE_THAT(loaded.error, Catch::StartsWith("dump.rdb: "));
  }
  for (size_t len = 0; len < bytes.size(); len += 1 + len / 50) {
    Loaded loaded(std::string_view(bytes).substr(0, len));
    INFO("prefix of " << len << " bytes: " << loaded.error);
    REQUIRE_FALSE(loaded.ok);
    REQUIRE(loaded.KeyCount() == 0);
  }
  Loaded truncated(std::string_view(bytes).substr(0, bytes.size() - 3));
  CHECK_THAT(truncated.error,
             Catch::Equals("dump.rdb: truncated at byte " + std::to_string(bytes.size() - 8)));
}

TEST_CASE("rdb with random byte damage never crashes or half-loads", "[rdb]") {
  Fixture f;
  FillVariety(f);
  RdbSaveOptions options;
  options.compress = false;
  std::string bytes = Dump(f.ks, options);
  std::mt19937_64 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::string damaged = bytes;
    for (int i = 0; i < 3; ++i) damaged[rng() % damaged.size()] = static_cast<char>(rng());
    // Zero the checksum so the parser meets the damage itself.
    std::memset(damaged.data() + damaged.size() - 8, 0, 8);
    Loaded loaded(damaged);
    if (!loaded.ok) REQUIRE(loaded.KeyCount() == 0);
  }
}

TEST_CASE("rdb load refuses bad magic, unknown and unsupported types", "[rdb]") {
  auto fails_with = [](std::string bytes, const std::string& message) {
    Loaded loaded(bytes);
    CHECK_FALSE(loaded.ok);
    CHECK(loaded.error == message);
    CHECK(loaded.KeyCount() == 0);
  };
  fails_with("REDIS", "dump.rdb: truncated at byte 0");
  fails_with(std::string("RDIS00100\xff", 10), "dump.rdb: not an RDB file (bad magic) at byte 0");
  fails_with(std::string("REDIS0011\xff", 10),
             "dump.rdb: RDB version 11 is not supported at byte 5");
  // A string key first, so the failure is not at the start.
  std::string prefix = std::string("REDIS0010") + '\0' + "\x01k\x01v";
  fails_with(prefix + "\x63\x01k", "dump.rdb: unknown value type 99 at byte 14");
  fails_with(prefix + "\x0f\x01k",
             "dump.rdb: streams are not supported by rowcached (key type 15) at byte 14");
  fails_with(prefix + "\x07\x01k",
             "dump.rdb: module values are not supported by rowcached (key type 7) at byte 14");
  fails_with(prefix + "\xf5", "dump.rdb: functions are not supported by rowcached at byte 14");
  fails_with(prefix + "\xf7", "dump.rdb: module data is not supported by rowcached at byte 14");
  fails_with(prefix + "\xfe\x10", "dump.rdb: database 16 is beyond the 16 configured at byte 14");
  // A complete file (EOF, no checksum) whose second key repeats the first.
  fails_with(prefix + std::string("\x00\x01k\x01w\xff", 6) + std::string(8, '\0'),
             "dump.rdb: duplicate key at byte 14");
}

TEST_CASE("rdb loads the ziplist, zipmap and old list and zset forms", "[rdb]") {
  // Hand-built containers as Redis 2.6 to 6.2 wrote them.
  auto ziplist = [](const std::vector<std::string>& items) {
    std::string body;
    size_t prev = 0;
    for (const auto& item : items) {
      std::string entry(1, static_cast<char>(prev));
      int64_t v;
      if (item == "12") {
        entry += '\xfd';  // 4-bit immediate: 12
      } else if (item == "-300") {
        entry += '\xc0';  // int16
        v = -300;
        entry.append(reinterpret_cast<const char*>(&v), 2);
      } else {
        entry += static_cast<char>(item.size());  // 6-bit string length
        entry += item;
      }
      prev = entry.size();
      body += entry;
    }
    std::string zl(10, '\0');
    uint32_t total = static_cast<uint32_t>(10 + body.size() + 1);
    uint16_t count = static_cast<uint16_t>(items.size());
    std::memcpy(zl.data(), &total, 4);
    std::memcpy(zl.data() + 8, &count, 2);
    return zl + body + "\xff";
  };
  auto blob = [](const std::string& b) { return std::string(1, static_cast<char>(b.size())) + b; };
  std::string file = "REDIS0009";
  file += std::string("\x0a") + "\x02zl" + blob(ziplist({"a", "12", "-300"}));
  file += std::string("\x0d") + "\x02hz" + blob(ziplist({"f", "12", "g", "v"}));
  file += std::string("\x0c") + "\x02zz" + blob(ziplist({"m", "-300", "n", "1.5"}));
  file += std::string("\x0e") + "\x02ql\x02" + blob(ziplist({"x"})) + blob(ziplist({"y", "z"}));
  // zipmap: count, field length, field, value length, free, value, end.
  file += std::string("\x09") + "\x02zm" +
          blob(std::string("\x01\x01"
                           "a\x02\x00"
                           "bc\xff",
                           8));
  // RDB_TYPE_ZSET with text scores (and the inf marker), RDB_TYPE_SET with a string member.
  file += std::string("\x03") +
          "\x02zt\x02\x01"
          "a\x03"
          "2.5\x01"
          "b\xfe";
  file += std::string("\x02") +
          "\x02st\x02\x01"
          "a\x01"
          "1";
  // EXPIRETIME in seconds.
  file += std::string(
      "\xfd\x00\x00\x00\x70\x00\x02"
      "ex\x01v",
      11);
  file += "\xff";
  uint64_t crc = rdb::Crc64(0, file.data(), file.size());
  file.append(reinterpret_cast<const char*>(&crc), 8);

  Loaded loaded(file);
  INFO(loaded.error);
  REQUIRE(loaded.ok);
  CHECK(loaded.result.rdb_version == 9);
  Image image = KeyspaceImage(loaded.ks);
  CHECK(image[{0, "zl"}].value == std::vector<std::string>{"a", "12", "-300"});
  CHECK(image[{0, "hz"}].value == std::vector<std::string>{"f=12", "g=v"});
  CHECK(image[{0, "hz"}].encoding == "listpack");
  CHECK(image[{0, "zz"}].value == std::vector<std::string>{"m=-300", "n=1.5"});
  CHECK(image[{0, "ql"}].value == std::vector<std::string>{"x", "y", "z"});
  CHECK(image[{0, "zm"}].value == std::vector<std::string>{"a=bc"});
  CHECK(image[{0, "zt"}].value == std::vector<std::string>{"a=2.5", "b=inf"});
  CHECK(image[{0, "st"}].value == std::vector<std::string>{"1", "a"});
  CHECK(image[{0, "st"}].encoding == "hashtable");
  CHECK(image[{0, "ex"}].expire_at == int64_t{0x70000000} * 1000);
}

TEST_CASE("SaveRdbFile replaces the file atomically and leaves no temporary file", "[rdb]") {
  Fixture f;
  FillVariety(f);
  char dir_template[] = "/tmp/rdb-test-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  std::string dir = dir_template;
  std::string path = dir + "/dump.rdb";
  std::string error;
  REQUIRE(SaveRdbFile(f.ks, path, {}, &error));
  REQUIRE(SaveRdbFile(f.ks, path, {}, &error));  // over an existing file
  {
    ManualClock clock(kNow);
    Keyspace ks(16, &clock);
    RdbLoadResult result;
    REQUIRE(LoadRdbFile(ks, path, &result, &error));
    CHECK(KeyspaceImage(ks) == KeyspaceImage(f.ks));
  }
  CHECK_FALSE(SaveRdbFile(f.ks, dir + "/missing/dump.rdb", {}, &error));
  CHECK_THAT(error, Catch::Contains("missing/dump.rdb.tmp-"));
  REQUIRE(std::system(("test \"$(ls " + dir + ")\" = dump.rdb").c_str()) == 0);
  {
    ManualClock clock(kNow);
    Keyspace ks(16, &clock);
    RdbLoadResult result;
    CHECK_FALSE(LoadRdbFile(ks, dir + "/none.rdb", &result, &error));
    CHECK_THAT(error, Catch::Contains("none.rdb"));
  }
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("rdb loads a dump saved by redis-server 7.0.15 and survives its damage", "[rdb]") {
  // Made by testdata/make_redis_dump.sh.
  std::string path = std::string(ROWCACHED_SERVER_TESTDATA) + "/redis_7.0.15_dump.rdb";
  std::string bytes;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
    std::fclose(f);
  }
  Loaded loaded(bytes);
  INFO(loaded.error);
  REQUIRE(loaded.ok);
  CHECK(loaded.result.redis_ver == "7.0.15");
  Image image = KeyspaceImage(loaded.ks);
  CHECK(image.size() == 13);
  CHECK(image[{0, "int8"}].value == std::vector<std::string>{"-100"});
  CHECK(image[{0, "int32"}].value == std::vector<std::string>{"2000000000"});
  std::string abc;
  for (int i = 0; i < 200; ++i) abc += "abc";
  CHECK(image[{0, "long"}].value == std::vector<std::string>{abc});
  CHECK(image[{0, "list"}].value ==
        std::vector<std::string>{"a", "1", "-5", "123456789012", std::string(100, 'q')});
  CHECK(image[{0, "biglist"}].value.size() == 1500);
  CHECK(image[{0, "biglist"}].value[1499] == "element-1500");
  CHECK(image[{0, "intset"}].encoding == "intset");
  CHECK(image[{0, "intset"}].value ==
        std::vector<std::string>{"-3", "-9223372036854775808", "1", "100000", "2"});
  CHECK(image[{0, "strset"}].encoding == "hashtable");
  CHECK(image[{0, "zset"}].encoding == "listpack");
  CHECK(image[{0, "zset"}].value ==
        std::vector<std::string>{"low=-inf", "neg=-2.25", "a=1.5", "int=3", "high=inf"});
  CHECK(image[{0, "bigzset"}].encoding == "skiplist");
  CHECK(image[{0, "bigzset"}].value.size() == 200);
  CHECK(image[{0, "hash"}].encoding == "listpack");
  CHECK(image[{0, "hash"}].value == std::vector<std::string>{"f=v", "n=42", "neg=-7"});
  CHECK(image[{0, "bighash"}].encoding == "hashtable");
  CHECK(image[{0, "bighash"}].value.size() == 600);
  CHECK(image[{1, "k"}].value == std::vector<std::string>{"db1"});

  // Damage inside listpacks, intsets and LZF strings must fail cleanly (checksum zeroed so the
  // parser itself meets it), and every truncation must fail.
  for (size_t len = 0; len < bytes.size(); len += 1 + len / 100) {
    Loaded cut(std::string_view(bytes).substr(0, len));
    REQUIRE_FALSE(cut.ok);
    REQUIRE(cut.KeyCount() == 0);
  }
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string damaged = bytes;
    damaged[9 + rng() % (damaged.size() - 17)] = static_cast<char>(rng());
    std::memset(damaged.data() + damaged.size() - 8, 0, 8);
    Loaded result(damaged);
    if (!result.ok) REQUIRE(result.KeyCount() == 0);
  }
}

TEST_CASE("WriteRdb reports a write error", "[rdb]") {
  Fixture f;
  f.With(0, [](Db& db) { db.SetString("k", "v", false); });
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // writes fail with EBADF
  REQUIRE(fd >= 0);
  std::string error;
  CHECK_FALSE(WriteRdb(f.ks, fd, {}, &error));
  CHECK_THAT(error, Catch::Contains("write failed"));
  ::close(fd);
}
