// String commands through the real dispatcher, compared byte for byte with what redis-server
// 7.0.15 replies (each expectation was checked against it), plus the Ops and pure helpers of
// string_ops.h.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "command_harness.h"
#include "family_test_util.h"
#include "server/string_ops.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kNotInt = Err("ERR value is not an integer or out of range");
const std::string kNotFloat = Err("ERR value is not a valid float");
const std::string kTooLong = Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
const std::string kEmpty = Bulk("");

std::string InvalidExpire(std::string_view cmd) {
  return Err("ERR invalid expire time in '" + std::string(cmd) + "' command");
}

// A non-string value, to provoke WRONGTYPE.
class FakeHash final : public Object {
 public:
  size_t MemoryUsage() const override { return sizeof(*this); }
  std::unique_ptr<Object> Clone() const override { return std::make_unique<FakeHash>(); }
  std::string_view Encoding() const override { return "listpack"; }
};

void MakeHash(CommandHarness& h, std::string_view key) {
  WithKey(h, key, [&](Db& db) {
    db.SetObject(key, ValueType::kHash, std::make_unique<FakeHash>());
    return 0;
  });
}

// PTTL without the keys family: ms left, -1 without a TTL, -2 when absent.
int64_t Pttl(CommandHarness& h, std::string_view key) {
  return WithKey(h, key, [&](Db& db) -> int64_t {
    Entry* e = db.Find(key);
    if (e == nullptr) return -2;
    int64_t at = db.ExpireAt(e);
    return at < 0 ? -1 : at - db.NowMs();
  });
}

uint64_t Hits(CommandHarness& h) { return h.server().keyspace().stats().keyspace_hits.Load(); }
uint64_t Misses(CommandHarness& h) { return h.server().keyspace().stats().keyspace_misses.Load(); }

std::string Pair(int64_t a, int64_t b) { return Arr({Int(a), Int(b)}); }

}  // namespace

TEST_CASE("string commands are registered with Redis' flags, arity and key positions", "[string]") {
  CommandHarness h;
  struct Want {
    const char* name;
    uint32_t flags;
    int arity, first, last, step;
  };
  const uint32_t w = kWrite | kDenyOom;
  const Want wants[] = {
      {"get", kReadOnly | kFast, 2, 1, 1, 1},
      {"set", w, -3, 1, 1, 1},
      {"setnx", w | kFast, 3, 1, 1, 1},
      {"setex", w, 4, 1, 1, 1},
      {"psetex", w, 4, 1, 1, 1},
      {"getset", w | kFast, 3, 1, 1, 1},
      {"getdel", kWrite | kFast, 2, 1, 1, 1},
      {"getex", kWrite | kFast, -2, 1, 1, 1},
      {"mget", kReadOnly | kFast, -2, 1, -1, 1},
      {"mset", w, -3, 1, -1, 2},
      {"msetnx", w, -3, 1, -1, 2},
      {"incr", w | kFast, 2, 1, 1, 1},
      {"decr", w | kFast, 2, 1, 1, 1},
      {"incrby", w | kFast, 3, 1, 1, 1},
      {"decrby", w | kFast, 3, 1, 1, 1},
      {"incrbyfloat", w | kFast, 3, 1, 1, 1},
      {"append", w | kFast, 3, 1, 1, 1},
      {"strlen", kReadOnly | kFast, 2, 1, 1, 1},
      {"getrange", kReadOnly, 4, 1, 1, 1},
      {"substr", kReadOnly, 4, 1, 1, 1},
      {"setrange", w, 4, 1, 1, 1},
      {"lcs", kReadOnly, -3, 1, 2, 1},
  };
  for (const Want& want : wants) {
    INFO(want.name);
    const CommandSpec* spec = h.server().registry().Find(want.name);
    REQUIRE(spec != nullptr);
    CHECK(spec->flags == want.flags);
    CHECK(spec->arity == want.arity);
    CHECK(spec->first_key == want.first);
    CHECK(spec->last_key == want.last);
    CHECK(spec->key_step == want.step);
  }
  CHECK(h.Run({"get"}) == Err("ERR wrong number of arguments for 'get' command"));
  CHECK(h.Run({"set", "k"}) == Err("ERR wrong number of arguments for 'set' command"));
  CHECK(h.Run({"lcs", "a"}) == Err("ERR wrong number of arguments for 'lcs' command"));
}

TEST_CASE("GET and SET store and return exact bytes", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"GET", "k"}) == kNil);
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"get", "k"}) == Bulk("v"));

  SECTION("empty and binary values") {
    CHECK(h.Run({"SET", "e", ""}) == kOk);
    CHECK(h.Run({"GET", "e"}) == kEmpty);
    const std::string bin("a\0b\r\n\0", 6);
    CHECK(h.Run(std::vector<std::string>{"SET", bin, bin}) == kOk);
    CHECK(h.Run(std::vector<std::string>{"GET", bin}) == Bulk(bin));
  }
  SECTION("values across the inline limit") {
    const std::string inl(Entry::kMaxInlineString, 'x');
    const std::string heap(Entry::kMaxInlineString + 1, 'y');
    CHECK(h.Run({"SET", "k", heap}) == kOk);
    CHECK(h.Run({"GET", "k"}) == Bulk(heap));
    CHECK(h.Run({"SET", "k", inl}) == kOk);
    CHECK(h.Run({"GET", "k"}) == Bulk(inl));
    const std::string big(100000, 'z');
    CHECK(h.Run({"SET", "k", big}) == kOk);
    CHECK(h.Run({"GET", "k"}) == Bulk(big));
  }
  SECTION("SET replaces a value of another type and GET refuses one") {
    MakeHash(h, "h");
    CHECK(h.Run({"GET", "h"}) == kWrongType);
    CHECK(h.Run({"SET", "h", "s"}) == kOk);
    CHECK(h.Run({"GET", "h"}) == Bulk("s"));
  }
}

TEST_CASE("SET NX XX and GET combine as in Redis 7", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v", "NX", "NX"}) == kOk);
  CHECK(h.Run({"SET", "k", "w", "nx"}) == kNil);
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"SET", "k", "w", "XX"}) == kOk);
  CHECK(h.Run({"SET", "missing", "w", "XX"}) == kNil);
  CHECK(h.Run({"GET", "missing"}) == kNil);

  // GET replies the old value whether or not the condition let the write through.
  CHECK(h.Run({"SET", "k", "v2", "NX", "GET"}) == Bulk("w"));
  CHECK(h.Run({"GET", "k"}) == Bulk("w"));
  CHECK(h.Run({"SET", "k", "v3", "XX", "GET"}) == Bulk("w"));
  CHECK(h.Run({"GET", "k"}) == Bulk("v3"));
  CHECK(h.Run({"SET", "nk", "v", "XX", "GET"}) == kNil);
  CHECK(h.Run({"GET", "nk"}) == kNil);
  CHECK(h.Run({"SET", "nk2", "v", "NX", "GET"}) == kNil);
  CHECK(h.Run({"GET", "nk2"}) == Bulk("v"));
  CHECK(h.Run({"SET", "k", "v4", "GET", "GET"}) == Bulk("v3"));

  // NX/XX see keys of any type; GET refuses a non-string and leaves it.
  MakeHash(h, "h");
  CHECK(h.Run({"SET", "h", "v", "NX"}) == kNil);
  CHECK(h.Run({"SET", "h", "v", "GET"}) == kWrongType);
  CHECK(h.Run({"SET", "h", "v", "NX", "GET"}) == kWrongType);
  CHECK(h.Run({"GET", "h"}) == kWrongType);
  CHECK(h.Run({"SET", "h", "v", "XX"}) == kOk);
  CHECK(h.Run({"GET", "h"}) == Bulk("v"));
}

TEST_CASE("SET refuses conflicting or unknown options with a syntax error", "[string]") {
  CommandHarness h;
  for (auto args : std::vector<std::vector<std::string>>{
           {"SET", "k", "v", "NX", "XX"},
           {"SET", "k", "v", "XX", "NX"},
           {"SET", "k", "v", "EX", "10", "PX", "10"},
           {"SET", "k", "v", "PX", "10", "EXAT", "10"},
           {"SET", "k", "v", "EXAT", "10", "PXAT", "10"},
           {"SET", "k", "v", "KEEPTTL", "EX", "10"},
           {"SET", "k", "v", "EX", "10", "KEEPTTL"},
           {"SET", "k", "v", "EX"},
           {"SET", "k", "v", "PERSIST"},
           {"SET", "k", "v", "foo"},
           {"SET", "k", "v", "NXX"},
       }) {
    INFO(args[3]);
    CHECK(h.Run(args) == kSyntax);
  }
  CHECK(h.Run({"GET", "k"}) == kNil);
  // Options are matched as C strings, as Redis does.
  CHECK(h.Run(std::vector<std::string>{"SET", "k", "v", std::string("nx\0junk", 7)}) == kOk);
}

TEST_CASE("SET expiry options set, keep and clear the TTL", "[string]") {
  CommandHarness h;
  const int64_t now = h.clock().NowMs();

  CHECK(h.Run({"SET", "k", "v", "EX", "10"}) == kOk);
  CHECK(Pttl(h, "k") == 10000);
  CHECK(h.Run({"SET", "k", "v", "PX", "1500"}) == kOk);
  CHECK(Pttl(h, "k") == 1500);
  CHECK(h.Run({"SET", "k", "v", "ex", "10", "ex", "20"}) == kOk);  // the last one wins
  CHECK(Pttl(h, "k") == 20000);
  CHECK(h.Run({"SET", "k", "v", "EXAT", std::to_string(now / 1000 + 100)}) == kOk);
  CHECK(Pttl(h, "k") == (now / 1000 + 100) * 1000 - now);
  CHECK(h.Run({"SET", "k", "v", "PXAT", std::to_string(now + 1234)}) == kOk);
  CHECK(Pttl(h, "k") == 1234);

  SECTION("KEEPTTL keeps it and a plain SET clears it") {
    CHECK(h.Run({"SET", "k", "w", "KEEPTTL"}) == kOk);
    CHECK(Pttl(h, "k") == 1234);
    CHECK(h.Run({"GET", "k"}) == Bulk("w"));
    CHECK(h.Run({"SET", "k", "x"}) == kOk);
    CHECK(Pttl(h, "k") == -1);
    CHECK(h.Run({"SET", "fresh", "x", "KEEPTTL"}) == kOk);
    CHECK(Pttl(h, "fresh") == -1);
  }
  SECTION("the key expires with the clock") {
    h.clock().Advance(1233);
    CHECK(h.Run({"GET", "k"}) == Bulk("v"));
    h.clock().Advance(1);
    CHECK(h.Run({"GET", "k"}) == kNil);
    CHECK_FALSE(Exists(h, "k"));
  }
  SECTION("an expired key counts as absent for NX and XX") {
    h.clock().Advance(5000);
    CHECK(h.Run({"SET", "k", "a", "XX"}) == kNil);
    CHECK(h.Run({"SET", "k", "b", "NX", "GET"}) == kNil);
    CHECK(h.Run({"GET", "k"}) == Bulk("b"));
    CHECK(Pttl(h, "k") == -1);
  }
  SECTION("a heap string keeps or drops its TTL like an inline one") {
    const std::string big(200, 'b');
    CHECK(h.Run({"SET", "k", big, "KEEPTTL"}) == kOk);
    CHECK(h.Run({"SET", "k", big + "c", "KEEPTTL"}) == kOk);
    CHECK(Pttl(h, "k") == 1234);
    CHECK(h.Run({"SET", "k", big}) == kOk);
    CHECK(Pttl(h, "k") == -1);
  }
  SECTION("an absolute time in the past stores a value that is already gone") {
    CHECK(h.Run({"SET", "k", "v", "EXAT", "1"}) == kOk);
    CHECK(h.Run({"GET", "k"}) == kNil);
    CHECK(h.Run({"SET", "k", "v", "PXAT", std::to_string(now)}) == kOk);
    CHECK(h.Run({"GET", "k"}) == kNil);
  }
}

TEST_CASE("SET answers bad expire values with Redis' errors", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v", "EX", "0"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "EX", "-1"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "PX", "0"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "EXAT", "0"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "PXAT", "-5"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "EX", "abc"}) == kNotInt);
  CHECK(h.Run({"SET", "k", "v", "EX", "1.5"}) == kNotInt);
  CHECK(h.Run({"SET", "k", "v", "EX", " 1"}) == kNotInt);
  CHECK(h.Run({"SET", "k", "v", "PX", "9223372036854775808"}) == kNotInt);
  // Seconds that overflow when turned into milliseconds, or when added to now.
  CHECK(h.Run({"SET", "k", "v", "EX", "9223372036854776"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "EX", "9223372036854775"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "PX", "9223372036854775807"}) == InvalidExpire("set"));
  CHECK(h.Run({"SET", "k", "v", "EXAT", "9223372036854776"}) == InvalidExpire("set"));
  CHECK(h.Run({"GET", "k"}) == kNil);
  // Absolute times need no addition, so the largest ones are fine.
  CHECK(h.Run({"SET", "k", "v", "EXAT", "9223372036854775"}) == kOk);
  CHECK(Pttl(h, "k") == 9223372036854775000 - h.clock().NowMs());
  CHECK(h.Run({"SET", "k", "v", "PXAT", "9223372036854775807"}) == kOk);
  // The expire value is checked before GET looks at the type.
  MakeHash(h, "h");
  CHECK(h.Run({"SET", "h", "v", "EX", "abc", "GET"}) == kNotInt);
  CHECK(h.Run({"SET", "h", "v", "EX", "0", "GET"}) == InvalidExpire("set"));
}

TEST_CASE("SETNX SETEX and PSETEX", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"SETNX", "k", "v"}) == Int(1));
  CHECK(h.Run({"SETNX", "k", "w"}) == Int(0));
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  MakeHash(h, "h");
  CHECK(h.Run({"SETNX", "h", "w"}) == Int(0));

  CHECK(h.Run({"SETEX", "k", "10", "w"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("w"));
  CHECK(Pttl(h, "k") == 10000);
  CHECK(h.Run({"PSETEX", "k", "250", "x"}) == kOk);
  CHECK(Pttl(h, "k") == 250);
  h.clock().Advance(250);
  CHECK(h.Run({"GET", "k"}) == kNil);
  CHECK(h.Run({"SETEX", "h", "10", "s"}) == kOk);  // replaces any type
  CHECK(h.Run({"GET", "h"}) == Bulk("s"));

  CHECK(h.Run({"SETEX", "k", "0", "v"}) == InvalidExpire("setex"));
  CHECK(h.Run({"SETEX", "k", "-10", "v"}) == InvalidExpire("setex"));
  CHECK(h.Run({"SETEX", "k", "9223372036854775", "v"}) == InvalidExpire("setex"));
  CHECK(h.Run({"PSETEX", "k", "-1", "v"}) == InvalidExpire("psetex"));
  CHECK(h.Run({"PSETEX", "k", "9223372036854775807", "v"}) == InvalidExpire("psetex"));
  CHECK(h.Run({"SETEX", "k", "abc", "v"}) == kNotInt);
  CHECK(h.Run({"PSETEX", "k", "1e3", "v"}) == kNotInt);
  CHECK(h.Run({"SETEX", "k", "10"}) == Err("ERR wrong number of arguments for 'setex' command"));
  CHECK(h.Run({"GET", "k"}) == kNil);
}

TEST_CASE("GETSET and GETDEL", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"GETSET", "k", "a"}) == kNil);
  CHECK(h.Run({"GET", "k"}) == Bulk("a"));
  CHECK(h.Run({"SETEX", "k", "100", "b"}) == kOk);
  CHECK(h.Run({"GETSET", "k", "c"}) == Bulk("b"));
  CHECK(Pttl(h, "k") == -1);  // GETSET clears the TTL
  MakeHash(h, "h");
  CHECK(h.Run({"GETSET", "h", "x"}) == kWrongType);
  CHECK(h.Run({"GET", "h"}) == kWrongType);

  CHECK(h.Run({"GETDEL", "k"}) == Bulk("c"));
  CHECK_FALSE(Exists(h, "k"));
  CHECK(h.Run({"GETDEL", "k"}) == kNil);
  CHECK(h.Run({"GETDEL", "h"}) == kWrongType);
  CHECK(Exists(h, "h"));
  const std::string big(300, 'q');
  CHECK(h.Run({"SET", "big", big}) == kOk);
  CHECK(h.Run({"GETDEL", "big"}) == Bulk(big));
  CHECK(h.Run({"GET", "big"}) == kNil);
}

TEST_CASE("GETEX reads and changes the TTL", "[string]") {
  CommandHarness h;
  const int64_t now = h.clock().NowMs();
  CHECK(h.Run({"GETEX", "k"}) == kNil);
  CHECK(h.Run({"SET", "k", "v", "EX", "100"}) == kOk);
  CHECK(h.Run({"GETEX", "k"}) == Bulk("v"));
  CHECK(Pttl(h, "k") == 100000);
  CHECK(h.Run({"GETEX", "k", "PERSIST"}) == Bulk("v"));
  CHECK(Pttl(h, "k") == -1);
  CHECK(h.Run({"GETEX", "k", "PX", "5000"}) == Bulk("v"));
  CHECK(Pttl(h, "k") == 5000);
  CHECK(h.Run({"GETEX", "k", "ex", "10", "ex", "20"}) == Bulk("v"));
  CHECK(Pttl(h, "k") == 20000);
  CHECK(h.Run({"GETEX", "k", "EXAT", std::to_string(now / 1000 + 50)}) == Bulk("v"));
  CHECK(Pttl(h, "k") == (now / 1000 + 50) * 1000 - now);
  CHECK(h.Run({"GETEX", "k", "PXAT", std::to_string(now + 10)}) == Bulk("v"));
  CHECK(Pttl(h, "k") == 10);
  h.clock().Advance(10);
  CHECK(h.Run({"GETEX", "k"}) == kNil);

  SECTION("an absolute time in the past deletes the key after replying") {
    CHECK(h.Run({"SET", "k", "v"}) == kOk);
    CHECK(h.Run({"GETEX", "k", "EXAT", "1"}) == Bulk("v"));
    CHECK_FALSE(Exists(h, "k"));
    CHECK(h.Run({"SET", "k", "v"}) == kOk);
    CHECK(h.Run({"GETEX", "k", "PXAT", std::to_string(h.clock().NowMs())}) == Bulk("v"));
    CHECK_FALSE(Exists(h, "k"));
  }
  SECTION("syntax errors") {
    CHECK(h.Run({"SET", "k", "v"}) == kOk);
    CHECK(h.Run({"GETEX", "k", "PERSIST", "EX", "10"}) == kSyntax);
    CHECK(h.Run({"GETEX", "k", "EX", "10", "PERSIST"}) == kSyntax);
    CHECK(h.Run({"GETEX", "k", "EX", "10", "PX", "10"}) == kSyntax);
    CHECK(h.Run({"GETEX", "k", "KEEPTTL"}) == kSyntax);
    CHECK(h.Run({"GETEX", "k", "NX"}) == kSyntax);
    CHECK(h.Run({"GETEX", "k", "GET"}) == kSyntax);
    CHECK(h.Run({"GETEX", "k", "EX"}) == kSyntax);
    CHECK(h.Run({"GETEX", "nokey", "foo"}) == kSyntax);
  }
  SECTION("the expire value is checked only once a string is found") {
    MakeHash(h, "h");
    CHECK(h.Run({"GETEX", "h"}) == kWrongType);
    CHECK(h.Run({"GETEX", "h", "EX", "abc"}) == kWrongType);
    CHECK(h.Run({"GETEX", "nokey", "EX", "abc"}) == kNil);
    CHECK(h.Run({"GETEX", "nokey", "EX", "0"}) == kNil);
    CHECK(h.Run({"SET", "k", "v", "PX", "700"}) == kOk);
    CHECK(h.Run({"GETEX", "k", "EX", "abc"}) == kNotInt);
    CHECK(h.Run({"GETEX", "k", "EX", "0"}) == InvalidExpire("getex"));
    CHECK(h.Run({"GETEX", "k", "PX", "-1"}) == InvalidExpire("getex"));
    CHECK(h.Run({"GETEX", "k", "EX", "9223372036854775"}) == InvalidExpire("getex"));
    CHECK(Pttl(h, "k") == 700);
  }
}

TEST_CASE("MGET MSET and MSETNX", "[string]") {
  CommandHarness h;
  MakeHash(h, "h");
  CHECK(h.Run({"MSET", "a", "1", "b", "2"}) == kOk);
  CHECK(h.Run({"MGET", "a", "b", "nokey", "h", "a"}) ==
        Arr({Bulk("1"), Bulk("2"), kNil, kNil, Bulk("1")}));
  CHECK(h.Run({"MSET", "a", "1", "b"}) == Err("ERR wrong number of arguments for 'mset' command"));
  CHECK(h.Run({"MSET"}) == Err("ERR wrong number of arguments for 'mset' command"));
  CHECK(h.Run({"MSET", "x", "1", "x", "2"}) == kOk);
  CHECK(h.Run({"GET", "x"}) == Bulk("2"));
  CHECK(h.Run({"SET", "t", "v", "EX", "10"}) == kOk);
  CHECK(h.Run({"MSET", "t", "w", "h", "s"}) == kOk);  // clears TTLs, replaces any type
  CHECK(Pttl(h, "t") == -1);
  CHECK(h.Run({"GET", "h"}) == Bulk("s"));

  CHECK(h.Run({"MSETNX", "a", "1", "c", "3"}) == Int(0));
  CHECK(h.Run({"GET", "c"}) == kNil);
  CHECK(h.Run({"MSETNX", "c", "3", "d", "4"}) == Int(1));
  CHECK(h.Run({"MGET", "c", "d"}) == Arr({Bulk("3"), Bulk("4")}));
  CHECK(h.Run({"MSETNX", "e", "1", "f"}) ==
        Err("ERR wrong number of arguments for 'msetnx' command"));
  CHECK(h.Run({"MSETNX", "y", "1", "y", "2"}) == Int(1));
  CHECK(h.Run({"GET", "y"}) == Bulk("2"));
  MakeHash(h, "h2");
  CHECK(h.Run({"MSETNX", "z", "1", "h2", "2"}) == Int(0));

  // Many keys over many shards, in one command.
  std::vector<std::string> mset{"MSET"}, mget{"MGET"};
  std::string want = "*200\r\n";
  for (int i = 0; i < 200; ++i) {
    mset.push_back("key:" + std::to_string(i));
    mset.push_back("val:" + std::to_string(i));
    mget.push_back("key:" + std::to_string(i));
    want += Bulk("val:" + std::to_string(i));
  }
  CHECK(h.Run(mset) == kOk);
  CHECK(h.Run(mget) == want);
}

TEST_CASE("INCR DECR INCRBY and DECRBY", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"INCR", "n"}) == Int(1));
  CHECK(h.Run({"INCRBY", "n", "9223372036854775806"}) == Int(9223372036854775807));
  CHECK(h.Run({"INCR", "n"}) == Err("ERR increment or decrement would overflow"));
  CHECK(h.Run({"GET", "n"}) == Bulk("9223372036854775807"));
  CHECK(h.Run({"DECR", "m"}) == Int(-1));
  CHECK(h.Run({"DECRBY", "m", "10"}) == Int(-11));
  CHECK(h.Run({"INCRBY", "m", "-4"}) == Int(-15));
  CHECK(h.Run({"DECRBY", "m", "-20"}) == Int(5));
  CHECK(h.Run({"GET", "m"}) == Bulk("5"));

  CHECK(h.Run({"SET", "n", "-9223372036854775808"}) == kOk);
  CHECK(h.Run({"DECR", "n"}) == Err("ERR increment or decrement would overflow"));
  CHECK(h.Run({"DECRBY", "n", "-9223372036854775808"}) == Err("ERR decrement would overflow"));
  CHECK(h.Run({"DECRBY", "none", "-9223372036854775808"}) == Err("ERR decrement would overflow"));
  CHECK(h.Run({"SET", "n", "5"}) == kOk);
  CHECK(h.Run({"DECRBY", "n", "9223372036854775807"}) == Int(-9223372036854775802));
  CHECK(h.Run({"DECRBY", "n", "10"}) == Err("ERR increment or decrement would overflow"));

  for (const char* bad : {"abc", " 1", "1 ", "01", "+1", "-0", "", "1.5", "9223372036854775808"}) {
    INFO(bad);
    CHECK(h.Run({"SET", "s", bad}) == kOk);
    CHECK(h.Run({"INCR", "s"}) == kNotInt);
    CHECK(h.Run({"INCRBY", "n", bad}) == kNotInt);
  }
  CHECK(h.Run({"SET", "s", std::string("1\0", 2)}) == kOk);
  CHECK(h.Run({"INCR", "s"}) == kNotInt);

  MakeHash(h, "h");
  CHECK(h.Run({"INCR", "h"}) == kWrongType);
  CHECK(h.Run({"DECRBY", "h", "1"}) == kWrongType);
  CHECK(h.Run({"INCRBY", "h", "abc"}) == kNotInt);  // the increment is parsed first

  SECTION("the key keeps its TTL") {
    CHECK(h.Run({"SET", "t", "10", "PX", "500"}) == kOk);
    CHECK(h.Run({"INCR", "t"}) == Int(11));
    CHECK(Pttl(h, "t") == 500);
    h.clock().Advance(500);
    CHECK(h.Run({"INCR", "t"}) == Int(1));
    CHECK(Pttl(h, "t") == -1);
  }
}

TEST_CASE("INCRBYFLOAT computes in long double and formats as Redis", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "f", "10.50"}) == kOk);
  CHECK(h.Run({"INCRBYFLOAT", "f", "0.1"}) == Bulk("10.6"));
  CHECK(h.Run({"INCRBYFLOAT", "f", "-5.0e3"}) == Bulk("-4989.39999999999999991"));
  CHECK(h.Run({"INCRBYFLOAT", "f", "5.0e3"}) == Bulk("10.60000000000000009"));
  CHECK(h.Run({"GET", "f"}) == Bulk("10.60000000000000009"));
  CHECK(h.Run({"INCRBYFLOAT", "f", "0x10"}) == Bulk("26.60000000000000009"));
  CHECK(h.Run({"INCRBYFLOAT", "new", "1.5"}) == Bulk("1.5"));
  CHECK(h.Run({"SET", "z", "0"}) == kOk);
  CHECK(h.Run({"INCRBYFLOAT", "z", "-0.0"}) == Bulk("0"));
  CHECK(h.Run({"INCRBYFLOAT", "z", "3"}) == Bulk("3"));
  CHECK(h.Run({"INCRBYFLOAT", "z", "1.1e-17"}) == Bulk("3.00000000000000001"));
  CHECK(h.Run({"INCRBYFLOAT", "z", "1e20"}) ==
        Bulk("100000000000000000000"));                           // 3 is below the ulp
  CHECK(h.Run({"INCRBYFLOAT", "tiny", "1e-4940"}) == Bulk("0"));  // a denormal is accepted
  CHECK(h.Run({"SET", "big", "1.7976931348623157e308"}) == kOk);
  const std::string twice_max =
      "359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737"
      "216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236"
      "326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382"
      "416235440319971852753604933726679072768";
  CHECK(h.Run({"INCRBYFLOAT", "big", "1.7976931348623157e308"}) == Bulk(twice_max));

  SECTION("errors") {
    for (const char* bad : {"abc", " 1", "1 ", "nan", "", "1e5000", "1e-5000", "1,5"}) {
      INFO(bad);
      CHECK(h.Run({"INCRBYFLOAT", "f", bad}) == kNotFloat);
    }
    CHECK(h.Run({"INCRBYFLOAT", "f", "inf"}) == Err("ERR increment would produce NaN or Infinity"));
    CHECK(h.Run({"SET", "g", "inf"}) == kOk);
    CHECK(h.Run({"INCRBYFLOAT", "g", "1"}) == Err("ERR increment would produce NaN or Infinity"));
    CHECK(h.Run({"SET", "s", "abc"}) == kOk);
    CHECK(h.Run({"INCRBYFLOAT", "s", "1"}) == kNotFloat);
    CHECK(h.Run({"SET", "s", ""}) == kOk);
    CHECK(h.Run({"INCRBYFLOAT", "s", "1"}) == kNotFloat);
    CHECK(h.Run({"GET", "f"}) == Bulk("26.60000000000000009"));
    // The key's type is checked before the increment.
    MakeHash(h, "h");
    CHECK(h.Run({"INCRBYFLOAT", "h", "1"}) == kWrongType);
    CHECK(h.Run({"INCRBYFLOAT", "h", "abc"}) == kWrongType);
  }
  SECTION("the key keeps its TTL") {
    CHECK(h.Run({"SET", "t", "1", "EX", "7"}) == kOk);
    CHECK(h.Run({"INCRBYFLOAT", "t", "0.25"}) == Bulk("1.25"));
    CHECK(Pttl(h, "t") == 7000);
  }
}

TEST_CASE("APPEND and STRLEN", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"STRLEN", "a"}) == Int(0));
  CHECK(h.Run({"APPEND", "a", "hello"}) == Int(5));
  CHECK(h.Run({"APPEND", "a", " world"}) == Int(11));
  CHECK(h.Run({"GET", "a"}) == Bulk("hello world"));
  CHECK(h.Run({"STRLEN", "a"}) == Int(11));
  CHECK(h.Run({"APPEND", "a", ""}) == Int(11));
  CHECK(h.Run({"APPEND", "e", ""}) == Int(0));
  CHECK(Exists(h, "e"));  // an empty APPEND still creates the key
  CHECK(h.Run({"GET", "e"}) == kEmpty);

  SECTION("binary data and growth past the inline limit keep the TTL") {
    CHECK(h.Run({"SET", "b", std::string("\0\0", 2), "PX", "900"}) == kOk);
    std::string want("\0\0", 2);
    for (int i = 0; i < 100; ++i) {
      std::string piece("x\0y", 3);
      want += piece;
      CHECK(h.Run({"APPEND", "b", piece}) == Int(static_cast<int64_t>(want.size())));
    }
    CHECK(h.Run({"GET", "b"}) == Bulk(want));
    CHECK(h.Run({"STRLEN", "b"}) == Int(static_cast<int64_t>(want.size())));
    CHECK(Pttl(h, "b") == 900);
    h.clock().Advance(900);
    CHECK(h.Run({"APPEND", "b", "new"}) == Int(3));
    CHECK(Pttl(h, "b") == -1);
  }
  SECTION("wrong type") {
    MakeHash(h, "h");
    CHECK(h.Run({"APPEND", "h", "x"}) == kWrongType);
    CHECK(h.Run({"APPEND", "h", ""}) == kWrongType);
    CHECK(h.Run({"STRLEN", "h"}) == kWrongType);
  }
}

TEST_CASE("APPEND and SETRANGE respect proto-max-bulk-len", "[string]") {
  Options options;
  options.proto_max_bulk_len = 100;
  CommandHarness h(options);
  const std::string ninety(90, 'n');
  CHECK(h.Run({"APPEND", "a", ninety}) == Int(90));
  CHECK(h.Run({"APPEND", "a", std::string(10, 'x')}) == Int(100));
  CHECK(h.Run({"APPEND", "a", "y"}) == kTooLong);
  CHECK(h.Run({"STRLEN", "a"}) == Int(100));
  // A new key takes the argument as it is: the protocol already bounded it.
  CHECK(h.Run({"APPEND", "b", std::string(150, 'b')}) == Int(150));

  CHECK(h.Run({"SETRANGE", "s", "99", "x"}) == Int(100));
  CHECK(h.Run({"SETRANGE", "s", "100", "x"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "s", "0", std::string(101, 'z')}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "n", "99", "xy"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "s", "100", ""}) == Int(100));  // nothing to write: no check
  CHECK(h.Run({"SETRANGE", "s", "9223372036854775807", "x"}) == kTooLong);
  CHECK(h.Run({"STRLEN", "s"}) == Int(100));
  CHECK_FALSE(Exists(h, "n"));

  // The LCS table is bounded by the same limit: (2+1)*(7+1)*4 = 96 bytes fit, 3*9*4 do not.
  CHECK(h.Run({"MSET", "l1", "ab", "l2", "abcdefg", "l3", "abcdefgh"}) == kOk);
  CHECK(h.Run({"LCS", "l1", "l2"}) == Bulk("ab"));
  CHECK(h.Run({"LCS", "l1", "l3"}) ==
        Err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
}

TEST_CASE("SETRANGE", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"SETRANGE", "s", "5", "ab"}) == Int(7));
  CHECK(h.Run({"GET", "s"}) == Bulk(std::string("\0\0\0\0\0ab", 7)));
  CHECK(h.Run({"SETRANGE", "s", "1", "XYZ"}) == Int(7));
  CHECK(h.Run({"GET", "s"}) == Bulk(std::string("\0XYZ\0ab", 7)));
  CHECK(h.Run({"SETRANGE", "s", "6", "cd"}) == Int(8));
  CHECK(h.Run({"GET", "s"}) == Bulk(std::string("\0XYZ\0acd", 8)));
  CHECK(h.Run({"SETRANGE", "s", "0", ""}) == Int(8));
  CHECK(h.Run({"SETRANGE", "nk", "0", ""}) == Int(0));
  CHECK(h.Run({"SETRANGE", "nk", "10", ""}) == Int(0));
  CHECK_FALSE(Exists(h, "nk"));

  CHECK(h.Run({"SETRANGE", "s", "-1", "x"}) == Err("ERR offset is out of range"));
  CHECK(h.Run({"SETRANGE", "s", "abc", "x"}) == kNotInt);
  CHECK(h.Run({"SETRANGE", "s", "9223372036854775808", "x"}) == kNotInt);
  // The default limit is 512 MB: refused before any allocation.
  CHECK(h.Run({"SETRANGE", "s", "536870912", "x"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "s", "536870911", "xy"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "s", "9223372036854775807", "x"}) == kTooLong);

  MakeHash(h, "h");
  CHECK(h.Run({"SETRANGE", "h", "0", "x"}) == kWrongType);
  CHECK(h.Run({"SETRANGE", "h", "0", ""}) == kWrongType);
  CHECK(h.Run({"SETRANGE", "h", "-1", "x"}) == Err("ERR offset is out of range"));

  SECTION("heap strings change in place and keep the TTL") {
    const std::string base(100, 'a');
    CHECK(h.Run({"SET", "big", base, "EX", "3"}) == kOk);
    CHECK(h.Run({"SETRANGE", "big", "98", "XYZ"}) == Int(101));
    CHECK(h.Run({"GETRANGE", "big", "96", "-1"}) == Bulk("aaXYZ"));
    CHECK(h.Run({"SETRANGE", "big", "200", std::string("\0", 1)}) == Int(201));
    CHECK(h.Run({"STRLEN", "big"}) == Int(201));
    CHECK(Pttl(h, "big") == 3000);
    CHECK(h.Run({"SET", "small", "hello", "PX", "20"}) == kOk);
    CHECK(h.Run({"SETRANGE", "small", "0", "J"}) == Int(5));
    CHECK(h.Run({"SETRANGE", "small", "70", "!"}) == Int(71));  // grows past the inline size
    CHECK(h.Run({"GETRANGE", "small", "0", "5"}) == Bulk(std::string("Jello\0", 6)));
    CHECK(Pttl(h, "small") == 20);
  }
}

TEST_CASE("GETRANGE and SUBSTR follow Redis' index rules", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "g", "This is a string"}) == kOk);
  CHECK(h.Run({"GETRANGE", "g", "0", "3"}) == Bulk("This"));
  CHECK(h.Run({"GETRANGE", "g", "-3", "-1"}) == Bulk("ing"));
  CHECK(h.Run({"GETRANGE", "g", "0", "-1"}) == Bulk("This is a string"));
  CHECK(h.Run({"GETRANGE", "g", "10", "100"}) == Bulk("string"));
  CHECK(h.Run({"GETRANGE", "g", "5", "3"}) == kEmpty);
  CHECK(h.Run({"GETRANGE", "g", "-1", "-5"}) == kEmpty);
  CHECK(h.Run({"GETRANGE", "g", "-100", "-50"}) == Bulk("T"));
  CHECK(h.Run({"GETRANGE", "g", "-100", "2"}) == Bulk("Thi"));
  CHECK(h.Run({"GETRANGE", "g", "100", "200"}) == kEmpty);
  CHECK(h.Run({"GETRANGE", "g", "-9223372036854775808", "9223372036854775807"}) ==
        Bulk("This is a string"));
  CHECK(h.Run({"SUBSTR", "g", "0", "3"}) == Bulk("This"));
  CHECK(h.Run({"GETRANGE", "nokey", "0", "-1"}) == kEmpty);
  CHECK(h.Run({"SET", "em", ""}) == kOk);
  CHECK(h.Run({"GETRANGE", "em", "0", "-1"}) == kEmpty);
  CHECK(h.Run({"GETRANGE", "em", "-1", "0"}) == kEmpty);
  CHECK(h.Run({"GETRANGE", "g", "a", "1"}) == kNotInt);
  CHECK(h.Run({"GETRANGE", "g", "0", "9223372036854775808"}) == kNotInt);
  MakeHash(h, "h");
  CHECK(h.Run({"GETRANGE", "h", "0", "1"}) == kWrongType);
  CHECK(h.Run({"GETRANGE", "h", "a", "1"}) == kNotInt);  // arguments first
  CHECK(h.Run({"SET", "bin", std::string("a\0b\0c", 5)}) == kOk);
  CHECK(h.Run({"GETRANGE", "bin", "1", "3"}) == Bulk(std::string("\0b\0", 3)));
}

TEST_CASE("LCS returns the string, its length or the matching ranges", "[string]") {
  CommandHarness h;
  CHECK(h.Run({"MSET", "key1", "ohmytext", "key2", "mynewtext"}) == kOk);
  CHECK(h.Run({"LCS", "key1", "key2"}) == Bulk("mytext"));
  CHECK(h.Run({"LCS", "key1", "key2", "LEN"}) == Int(6));
  CHECK(h.Run({"LCS", "key1", "key2", "len", "len"}) == Int(6));
  CHECK(h.Run({"LCS", "key1", "key2", "WITHMATCHLEN"}) == Bulk("mytext"));
  CHECK(h.Run({"LCS", "key1", "key2", "MINMATCHLEN", "3", "LEN"}) == Int(6));

  const std::string first = Arr({Pair(4, 7), Pair(5, 8)});
  const std::string second = Arr({Pair(2, 3), Pair(0, 1)});
  CHECK(h.Run({"LCS", "key1", "key2", "IDX"}) ==
        Arr({Bulk("matches"), Arr({first, second}), Bulk("len"), Int(6)}));
  CHECK(h.Run({"LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"}) ==
        Arr({Bulk("matches"), Arr({first}), Bulk("len"), Int(6)}));
  CHECK(h.Run({"LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"}) ==
        Arr({Bulk("matches"), Arr({Arr({Pair(4, 7), Pair(5, 8), Int(4)})}), Bulk("len"), Int(6)}));
  CHECK(h.Run({"LCS", "key1", "key2", "IDX", "WITHMATCHLEN"}) ==
        Arr({Bulk("matches"),
             Arr({Arr({Pair(4, 7), Pair(5, 8), Int(4)}), Arr({Pair(2, 3), Pair(0, 1), Int(2)})}),
             Bulk("len"), Int(6)}));
  CHECK(h.Run({"LCS", "key1", "key2", "MINMATCHLEN", "-5", "IDX"}) ==
        Arr({Bulk("matches"), Arr({first, second}), Bulk("len"), Int(6)}));

  CHECK(h.Run({"MSET", "a", "ACGTACGT", "b", "GTAC"}) == kOk);
  CHECK(h.Run({"LCS", "a", "b", "IDX", "WITHMATCHLEN"}) ==
        Arr({Bulk("matches"), Arr({Arr({Pair(2, 5), Pair(0, 3), Int(4)})}), Bulk("len"), Int(4)}));

  // Absent keys read as empty strings.
  CHECK(h.Run({"LCS", "nk1", "nk2"}) == kEmpty);
  CHECK(h.Run({"LCS", "nk1", "key1", "LEN"}) == Int(0));
  CHECK(h.Run({"LCS", "nk1", "nk2", "IDX"}) ==
        Arr({Bulk("matches"), "*0\r\n", Bulk("len"), Int(0)}));

  CHECK(h.Run({"LCS", "key1", "key2", "LEN", "IDX"}) ==
        Err("ERR If you want both the length and indexes, please just use IDX."));
  CHECK(h.Run({"LCS", "key1", "key2", "foo"}) == kSyntax);
  CHECK(h.Run({"LCS", "key1", "key2", "MINMATCHLEN"}) == kSyntax);
  CHECK(h.Run({"LCS", "key1", "key2", "MINMATCHLEN", "abc"}) == kNotInt);
  MakeHash(h, "h");
  const std::string not_strings = Err("ERR The specified keys must contain string values");
  CHECK(h.Run({"LCS", "key1", "h"}) == not_strings);
  CHECK(h.Run({"LCS", "h", "key1", "foo"}) == not_strings);  // types before options

  CHECK(h.Run({"MSET", "x", std::string("a\0b\0c", 5), "y", std::string("\0\0c", 3)}) == kOk);
  CHECK(h.Run({"LCS", "x", "y"}) == Bulk(std::string("\0\0c", 3)));
  CHECK(h.Run({"LCS", "x", "y", std::string("idx\0zz", 6)}) ==
        Arr({Bulk("matches"), Arr({Arr({Pair(3, 4), Pair(1, 2)}), Arr({Pair(1, 1), Pair(0, 0)})}),
             Bulk("len"), Int(3)}));
}

TEST_CASE("string replies in RESP3 use the null and map types", "[string]") {
  CommandHarness h;
  h.client().resp = 3;
  const std::string null3 = "_\r\n";
  CHECK(h.Run({"GET", "nokey"}) == null3);
  CHECK(h.Run({"SET", "k", "v", "XX"}) == null3);
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"MGET", "k", "nokey"}) == Arr({Bulk("v"), null3}));
  CHECK(h.Run({"GETDEL", "nokey"}) == null3);
  CHECK(h.Run({"GETEX", "nokey"}) == null3);
  CHECK(h.Run({"SET", "nk", "v", "NX", "GET"}) == null3);
  CHECK(h.Run({"GETRANGE", "nokey", "0", "1"}) == kEmpty);
  CHECK(h.Run({"INCRBYFLOAT", "fl", "1.5"}) == Bulk("1.5"));
  CHECK(h.Run({"MSET", "key1", "ohmytext", "key2", "mynewtext"}) == kOk);
  CHECK(h.Run({"LCS", "key1", "key2", "IDX", "WITHMATCHLEN"}) ==
        "%2\r\n" + Bulk("matches") +
            Arr({Arr({Pair(4, 7), Pair(5, 8), Int(4)}), Arr({Pair(2, 3), Pair(0, 1), Int(2)})}) +
            Bulk("len") + Int(6));
}

TEST_CASE("string reads count keyspace hits and misses like Redis", "[string]") {
  CommandHarness h;
  MakeHash(h, "h");
  CHECK(h.Run({"SET", "a", "1"}) == kOk);
  struct Case {
    std::vector<std::string> args;
    uint64_t hits, misses;
  };
  const Case cases[] = {
      {{"GET", "a"}, 1, 0},
      {{"GET", "z"}, 0, 1},
      {{"GET", "h"}, 1, 0},  // found, then refused for its type
      {{"SETNX", "a", "1"}, 0, 0},
      {{"INCR", "a"}, 0, 0},
      {{"INCRBYFLOAT", "a", "1"}, 0, 0},
      {{"APPEND", "a", "0"}, 0, 0},
      {{"SETRANGE", "a", "0", "1"}, 0, 0},
      {{"MSETNX", "a", "1", "b", "2"}, 0, 0},
      {{"SET", "a", "1"}, 0, 0},
      {{"SET", "a", "1", "XX"}, 0, 0},
      {{"SET", "a", "1", "GET"}, 1, 0},
      {{"SET", "y", "1", "NX", "GET"}, 0, 1},
      {{"GETSET", "a", "1"}, 1, 0},
      {{"GETEX", "a"}, 1, 0},
      {{"GETEX", "z"}, 0, 1},
      {{"STRLEN", "a"}, 1, 0},
      {{"STRLEN", "z"}, 0, 1},
      {{"GETRANGE", "a", "0", "1"}, 1, 0},
      {{"SUBSTR", "z", "0", "1"}, 0, 1},
      {{"MGET", "a", "z", "h"}, 2, 1},
      {{"LCS", "a", "z"}, 1, 1},
      {{"GETDEL", "a"}, 1, 0},
      {{"GETDEL", "a"}, 0, 1},
  };
  for (const Case& c : cases) {
    INFO(c.args[0] << " " << c.args[1]);
    uint64_t hits = Hits(h), misses = Misses(h);
    h.Run(c.args);
    CHECK(Hits(h) - hits == c.hits);
    CHECK(Misses(h) - misses == c.misses);
  }
}

TEST_CASE("string Ops work on a Db without RESP", "[string]") {
  CommandHarness h;
  WithKey(h, "k", [&](Db& db) {
    auto set = OpSet(db, "k", "v", {.expire_at_ms = db.NowMs() + 100, .get_old = true});
    CHECK(set.ok());
    CHECK(set.value.applied);
    CHECK_FALSE(set.value.old_value.has_value());
    auto nx = OpSet(db, "k", "w", {.when = SetParams::When::kIfAbsent, .get_old = true});
    CHECK_FALSE(nx.value.applied);
    CHECK(nx.value.old_value == std::optional<std::string>("v"));
    auto get = OpGet(db, "k");
    CHECK(get.ok());
    CHECK(get.value == std::optional<std::string_view>("v"));
    CHECK(db.ExpireAt(db.Find("k")) == db.NowMs() + 100);
    auto incr = OpIncrBy(db, "k", 1);
    CHECK(incr.status == Status::kNotInteger);
    CHECK(OpAppend(db, "k", "12", 3).value == 3);
    CHECK(OpAppend(db, "k", "3", 3).status == Status::kStringTooLong);
    CHECK(OpSetRange(db, "k", 0, "9", 100).value == 3);
    CHECK(OpIncrBy(db, "k", 1).value == 913);
    CHECK(OpIncrByFloat(db, "k", "0.5").value == "913.5");
    CHECK(OpStrLen(db, "k").value == 5);
    CHECK(OpGetRange(db, "k", 1, 2).value == "13");
    auto ex = OpGetEx(db, "k", {.ttl = GetExParams::Ttl::kPersist});
    CHECK(ex.value == std::optional<std::string>("913.5"));
    CHECK(db.ExpireAt(db.Find("k")) == -1);
    auto del = OpGetDel(db, "k");
    CHECK(del.value == std::optional<std::string>("913.5"));
    CHECK(db.Find("k") == nullptr);
    return 0;
  });
}

TEST_CASE("StringRange ComputeLcs and ParseIncrFloat", "[string]") {
  CHECK(StringRange("hello", 0, -1) == "hello");
  CHECK(StringRange("hello", -2, -1) == "lo");
  CHECK(StringRange("hello", 3, 1).empty());
  CHECK(StringRange("", 0, 0).empty());
  CHECK(StringRange("hello", INT64_MIN, INT64_MAX) == "hello");

  LcsResult r;
  REQUIRE(ComputeLcs("ohmytext", "mynewtext", true, true, 0, &r));
  CHECK(r.length == 6);
  CHECK(r.lcs == "mytext");
  REQUIRE(r.matches.size() == 2);
  CHECK(r.matches[0].a_start == 4);
  CHECK(r.matches[0].a_end == 7);
  CHECK(r.matches[0].b_start == 5);
  CHECK(r.matches[0].b_end == 8);
  CHECK(r.matches[0].length == 4);
  REQUIRE(ComputeLcs("ohmytext", "mynewtext", false, false, 0, &r));
  CHECK(r.length == 6);
  CHECK(r.lcs.empty());
  CHECK(r.matches.empty());
  REQUIRE(ComputeLcs("", "abc", true, true, 0, &r));
  CHECK(r.length == 0);
  CHECK(r.lcs.empty());
  REQUIRE(ComputeLcs("abc", "xyz", true, true, 0, &r));
  CHECK(r.length == 0);
  CHECK(r.matches.empty());

  long double v = 0;
  CHECK(ParseIncrFloat("1.5", &v));
  CHECK(v == 1.5L);
  CHECK(ParseIncrFloat("inf", &v));
  CHECK(ParseIncrFloat("-1e-4940", &v));
  CHECK_FALSE(ParseIncrFloat("1e5000", &v));
  CHECK_FALSE(ParseIncrFloat("1e-5000", &v));
  CHECK_FALSE(ParseIncrFloat("nan", &v));
  CHECK_FALSE(ParseIncrFloat("\t1", &v));
  CHECK_FALSE(ParseIncrFloat(std::string(5 * 1024, '1'), &v));
  CHECK(ParseIncrFloat(std::string(5 * 1024 - 1, '0'), &v));
}
