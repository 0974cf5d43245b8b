// Bit commands through the real dispatcher (exact RESP bytes, checked against redis-server
// 7.0.15), the pure bit arithmetic, and a replay of replies captured from redis-server for
// random strings, ranges and BITFIELD programs (testdata/bitmap_replies.txt).
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "command_harness.h"
#include "family_test_util.h"
#include "golden_replies.h"
#include "server/bitmap_ops.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kBadOffset = Err("ERR bit offset is not an integer or out of range");
const std::string kBadBit = Err("ERR bit is not an integer or out of range");
const std::string kBadType =
    Err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but "
        "i64 is.");

std::string Nil() { return kNil; }

}  // namespace

TEST_CASE("SETBIT and GETBIT set and read single bits, most significant bit first", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SETBIT", "k", "7", "1"}) == Int(0));
  CHECK(h.Run({"GET", "k"}) == Bulk(std::string("\x01", 1)));
  CHECK(h.Run({"SETBIT", "k", "0", "1"}) == Int(0));
  CHECK(h.Run({"GET", "k"}) == Bulk("\x81"));
  CHECK(h.Run({"SETBIT", "k", "7", "0"}) == Int(1));
  CHECK(h.Run({"SETBIT", "k", "7", "0"}) == Int(0));
  CHECK(h.Run({"GETBIT", "k", "0"}) == Int(1));
  CHECK(h.Run({"GETBIT", "k", "1"}) == Int(0));
  CHECK(h.Run({"GETBIT", "k", "1000000"}) == Int(0));
  CHECK(h.Run({"GETBIT", "nokey", "3"}) == Int(0));
  CHECK(h.Run({"EXISTS", "nokey"}) == Int(0));
}

TEST_CASE("SETBIT past the end zero-pads the string", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "a"}) == kOk);
  CHECK(h.Run({"SETBIT", "k", "31", "1"}) == Int(0));
  CHECK(h.Run({"GET", "k"}) == Bulk(std::string("a\0\0\x01", 4)));
  // Clearing a bit past the end still grows the string.
  CHECK(h.Run({"SETBIT", "k", "47", "0"}) == Int(0));
  CHECK(h.Run({"STRLEN", "k"}) == Int(6));
  // Long strings (heap values) too.
  CHECK(h.Run({"SETBIT", "k", "1000", "1"}) == Int(0));
  CHECK(h.Run({"STRLEN", "k"}) == Int(126));
  CHECK(h.Run({"GETBIT", "k", "1000"}) == Int(1));
  CHECK(h.Run({"BITCOUNT", "k"}) == Int(3 + 1 + 1));
}

TEST_CASE("SETBIT keeps the key's TTL and integer strings are plain bytes", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "a", "EX", "100"}) == kOk);
  CHECK(h.Run({"SETBIT", "k", "100", "1"}) == Int(0));
  CHECK(h.Run({"TTL", "k"}) == Int(100));
  CHECK(h.Run({"SET", "n", "1"}) == kOk);
  CHECK(h.Run({"GETBIT", "n", "2"}) == Int(1));  // '1' = 0x31
  CHECK(h.Run({"SETBIT", "n", "7", "0"}) == Int(1));
  CHECK(h.Run({"GET", "n"}) == Bulk("0"));
}

TEST_CASE("SETBIT and GETBIT errors", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SETBIT", "k", "4294967296", "1"}) == kBadOffset);
  CHECK(h.Run({"SETBIT", "k", "-1", "1"}) == kBadOffset);
  CHECK(h.Run({"SETBIT", "k", "x", "1"}) == kBadOffset);
  CHECK(h.Run({"SETBIT", "k", "#1", "1"}) == kBadOffset);
  CHECK(h.Run({"SETBIT", "k", "1", "2"}) == kBadBit);
  CHECK(h.Run({"SETBIT", "k", "1", "-1"}) == kBadBit);
  CHECK(h.Run({"SETBIT", "k", "1", "x"}) == kBadBit);
  CHECK(h.Run({"SETBIT", "k", "4294967295", "x"}) == kBadBit);
  CHECK(h.Run({"GETBIT", "k", "x"}) == kBadOffset);
  CHECK(h.Run({"GETBIT", "k", "4294967296"}) == kBadOffset);
  CHECK(h.Run({"EXISTS", "k"}) == Int(0));
  CHECK(h.Run({"HSET", "h", "a", "1"}) == Int(1));
  CHECK(h.Run({"SETBIT", "h", "0", "1"}) == kWrongType);
  CHECK(h.Run({"GETBIT", "h", "0"}) == kWrongType);
  CHECK(h.Run({"GETBIT", "h", "x"}) == kBadOffset);  // the offset is parsed first
  CHECK(h.Run({"SETBIT", "k"}) == Err("ERR wrong number of arguments for 'setbit' command"));
}

TEST_CASE("Bit offsets are bounded by proto-max-bulk-len", "[bitmaps]") {
  Options options;
  options.proto_max_bulk_len = 1024;
  CommandHarness h(options);
  CHECK(h.Run({"SETBIT", "k", "8191", "1"}) == Int(0));
  CHECK(h.Run({"STRLEN", "k"}) == Int(1024));
  CHECK(h.Run({"SETBIT", "k", "8192", "1"}) == kBadOffset);
  CHECK(h.Run({"GETBIT", "k", "8192"}) == kBadOffset);
  CHECK(h.Run({"BITFIELD", "k", "GET", "u8", "8192"}) == kBadOffset);
  CHECK(h.Run({"BITFIELD", "k", "GET", "u8", "#1024"}) == kBadOffset);
  // A field may end past the limit as long as it starts below it (Redis only checks the start).
  CHECK(h.Run({"BITFIELD", "k", "SET", "u8", "8188", "255"}) == Arr({Int(16)}));
  CHECK(h.Run({"STRLEN", "k"}) == Int(1025));
}

TEST_CASE("SETBIT grows a bitmap in place, not by a copy per call", "[bitmaps]") {
  CommandHarness h;
  // Each SETBIT below extends the string by one byte. A heap string that doubles its capacity
  // moves only a logarithmic number of times; one rebuilt per call would move every time.
  int moves = 0;
  const char* last = nullptr;
  constexpr int kBytes = 1 << 14;
  for (int i = 0; i < kBytes; ++i) {
    std::string offset = std::to_string(i * 8 + 7);
    REQUIRE(h.Run({"SETBIT", "k", offset, "1"}) == Int(0));
    const char* data = WithKey(h, "k", [](Db& db) { return db.Find("k")->str().data(); });
    if (data != last) ++moves;
    last = data;
  }
  CHECK(moves <= 40);
  CHECK(h.Run({"BITCOUNT", "k"}) == Int(kBytes));
  CHECK(h.Run({"STRLEN", "k"}) == Int(kBytes));
}

TEST_CASE("BITCOUNT with byte and bit ranges", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "foobar"}) == kOk);
  CHECK(h.Run({"BITCOUNT", "k"}) == Int(26));
  CHECK(h.Run({"BITCOUNT", "k", "0", "0"}) == Int(4));
  CHECK(h.Run({"BITCOUNT", "k", "1", "1"}) == Int(6));
  CHECK(h.Run({"BITCOUNT", "k", "1", "1", "BYTE"}) == Int(6));
  CHECK(h.Run({"BITCOUNT", "k", "1", "1", "bit"}) == Int(1));
  CHECK(h.Run({"BITCOUNT", "k", "5", "30", "BIT"}) == Int(17));
  CHECK(h.Run({"BITCOUNT", "k", "-2", "-1"}) == Int(7));
  CHECK(h.Run({"BITCOUNT", "k", "-100", "100"}) == Int(26));
  CHECK(h.Run({"BITCOUNT", "k", "3", "2"}) == Int(0));
  CHECK(h.Run({"BITCOUNT", "k", "-1", "-2", "foo"}) == Int(0));  // empty before the unit check
  CHECK(h.Run({"BITCOUNT", "k", "-1", "-1", "BIT"}) == Int(0));  // 'r' = 0x72 ends in 0
  CHECK(h.Run({"BITCOUNT", "k", "-2", "-1", "BIT"}) == Int(1));
  CHECK(h.Run({"BITCOUNT", "nokey"}) == Int(0));
  CHECK(h.Run({"SET", "e", ""}) == kOk);
  CHECK(h.Run({"BITCOUNT", "e"}) == Int(0));
  CHECK(h.Run({"BITCOUNT", "e", "0", "-1", "BIT"}) == Int(0));
}

TEST_CASE("BITCOUNT errors: the key is read before the arguments", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"BITCOUNT", "nokey", "a", "b"}) == Int(0));
  CHECK(h.Run({"BITCOUNT", "nokey", "0"}) == Int(0));
  CHECK(h.Run({"SET", "k", "foobar"}) == kOk);
  CHECK(h.Run({"BITCOUNT", "k", "a", "b"}) == kNotInteger);
  CHECK(h.Run({"BITCOUNT", "k", "0"}) == kSyntax);
  CHECK(h.Run({"BITCOUNT", "k", "1", "1", "foo"}) == kSyntax);
  CHECK(h.Run({"BITCOUNT", "k", "1", "1", "bit", "x"}) == kSyntax);
  CHECK(h.Run({"HSET", "h", "a", "1"}) == Int(1));
  CHECK(h.Run({"BITCOUNT", "h"}) == kWrongType);
  CHECK(h.Run({"BITCOUNT", "h", "a", "b"}) == kWrongType);
}

TEST_CASE("BITPOS finds the first set or clear bit", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "\xff\xf0"}) == kOk);
  CHECK(h.Run({"BITPOS", "k", "0"}) == Int(12));
  CHECK(h.Run({"SET", "k", std::string("\x00\xff\xf0", 3)}) == kOk);
  CHECK(h.Run({"BITPOS", "k", "1", "0"}) == Int(8));
  CHECK(h.Run({"BITPOS", "k", "1", "2"}) == Int(16));
  CHECK(h.Run({"BITPOS", "k", "1", "2", "-1", "BYTE"}) == Int(16));
  CHECK(h.Run({"BITPOS", "k", "1", "7", "15", "BIT"}) == Int(8));
  CHECK(h.Run({"BITPOS", "k", "1", "7", "-3", "BIT"}) == Int(8));
  CHECK(h.Run({"BITPOS", "k", "0", "9", "-1", "bit"}) == Int(20));
  CHECK(h.Run({"SET", "z", std::string(3, '\0')}) == kOk);
  CHECK(h.Run({"BITPOS", "z", "1"}) == Int(-1));
  CHECK(h.Run({"BITPOS", "z", "0", "-1"}) == Int(16));
  CHECK(h.Run({"BITPOS", "nokey", "1"}) == Int(-1));
  CHECK(h.Run({"BITPOS", "nokey", "0"}) == Int(0));
}

TEST_CASE("BITPOS for a clear bit in all ones: past the end unless the end is given", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "\xff\xff"}) == kOk);
  CHECK(h.Run({"BITPOS", "k", "0"}) == Int(16));
  CHECK(h.Run({"BITPOS", "k", "0", "1"}) == Int(16));
  CHECK(h.Run({"BITPOS", "k", "0", "3", "-1"}) == Int(-1));
  CHECK(h.Run({"BITPOS", "k", "0", "0", "-1"}) == Int(-1));
  CHECK(h.Run({"BITPOS", "k", "0", "0", "-1", "BIT"}) == Int(-1));
  CHECK(h.Run({"BITPOS", "k", "1", "100"}) == Int(-1));
  CHECK(h.Run({"BITPOS", "k", "0", "100"}) == Int(-1));  // empty range
  CHECK(h.Run({"SET", "e", ""}) == kOk);
  CHECK(h.Run({"BITPOS", "e", "0"}) == Int(-1));
  CHECK(h.Run({"BITPOS", "e", "1"}) == Int(-1));
}

TEST_CASE("BITPOS errors", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"BITPOS", "nokey", "2"}) == Err("ERR The bit argument must be 1 or 0."));
  CHECK(h.Run({"BITPOS", "nokey", "x"}) == kNotInteger);
  CHECK(h.Run({"BITPOS", "nokey", "0", "x"}) == Int(0));  // absent: arguments not read
  CHECK(h.Run({"SET", "k", "foobar"}) == kOk);
  CHECK(h.Run({"BITPOS", "k", "1", "x"}) == kNotInteger);
  CHECK(h.Run({"BITPOS", "k", "0", "0", "0", "foo"}) == kSyntax);
  CHECK(h.Run({"BITPOS", "k", "1", "-1", "-2", "foo"}) == kSyntax);
  CHECK(h.Run({"BITPOS", "k", "0", "0", "0", "bit", "1"}) == kSyntax);
  CHECK(h.Run({"BITPOS", "k", "0", "3", "bit"}) == kNotInteger);
  CHECK(h.Run({"HSET", "h", "a", "1"}) == Int(1));
  CHECK(h.Run({"BITPOS", "h", "1"}) == kWrongType);
  CHECK(h.Run({"BITPOS", "h", "x"}) == kNotInteger);
}

TEST_CASE("BITOP combines strings of different lengths, zero-padded", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "a", "\xf0\x0f\xff"}) == kOk);
  CHECK(h.Run({"SET", "b", "\xff"}) == kOk);
  CHECK(h.Run({"BITOP", "AND", "d", "a", "b"}) == Int(3));
  CHECK(h.Run({"GET", "d"}) == Bulk(std::string("\xf0\x00\x00", 3)));
  CHECK(h.Run({"BITOP", "or", "d", "a", "b"}) == Int(3));
  CHECK(h.Run({"GET", "d"}) == Bulk("\xff\x0f\xff"));
  CHECK(h.Run({"BITOP", "XOR", "d", "a", "b"}) == Int(3));
  CHECK(h.Run({"GET", "d"}) == Bulk(std::string("\x0f\x0f\xff", 3)));
  CHECK(h.Run({"BITOP", "NOT", "d", "a"}) == Int(3));
  CHECK(h.Run({"GET", "d"}) == Bulk(std::string("\x0f\xf0\x00", 3)));
  // A missing key reads as an empty string: AND with it is all zeros.
  CHECK(h.Run({"BITOP", "AND", "d", "a", "nokey"}) == Int(3));
  CHECK(h.Run({"GET", "d"}) == Bulk(std::string(3, '\0')));
  // The destination may be a source.
  CHECK(h.Run({"BITOP", "OR", "a", "a", "b"}) == Int(3));
  CHECK(h.Run({"GET", "a"}) == Bulk("\xff\x0f\xff"));
}

TEST_CASE("BITOP replaces the destination, dropping its TTL and an empty result deletes it",
          "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "a", "x"}) == kOk);
  CHECK(h.Run({"HSET", "d", "f", "v"}) == Int(1));
  CHECK(h.Run({"EXPIRE", "d", "100"}) == Int(1));
  CHECK(h.Run({"BITOP", "OR", "d", "a"}) == Int(1));
  CHECK(h.Run({"TYPE", "d"}) == Simple("string"));
  CHECK(h.Run({"TTL", "d"}) == Int(-1));
  // The same for a result too long to be stored inline.
  CHECK(h.Run({"SET", "long", std::string(100, 'x')}) == kOk);
  CHECK(h.Run({"EXPIRE", "d", "100"}) == Int(1));
  CHECK(h.Run({"BITOP", "NOT", "d", "long"}) == Int(100));
  CHECK(h.Run({"TTL", "d"}) == Int(-1));
  CHECK(h.Run({"GET", "d"}) == Bulk(std::string(100, static_cast<char>(~'x'))));
  CHECK(h.Run({"BITOP", "AND", "d", "nokey", "nokey2"}) == Int(0));
  CHECK(h.Run({"EXISTS", "d"}) == Int(0));
  CHECK(h.Run({"SET", "e", ""}) == kOk);
  CHECK(h.Run({"BITOP", "NOT", "d", "e"}) == Int(0));
  CHECK(h.Run({"EXISTS", "d"}) == Int(0));
}

TEST_CASE("BITOP errors", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"BITOP", "NOT", "d", "a", "b"}) ==
        Err("ERR BITOP NOT must be called with a single source key."));
  CHECK(h.Run({"BITOP", "nott", "d", "a"}) == kSyntax);
  CHECK(h.Run({"BITOP", "not", "d"}) == Err("ERR wrong number of arguments for 'bitop' command"));
  CHECK(h.Run({"SET", "k", "x"}) == kOk);
  CHECK(h.Run({"HSET", "h", "a", "1"}) == Int(1));
  CHECK(h.Run({"BITOP", "AND", "d", "k", "h"}) == kWrongType);
  CHECK(h.Run({"BITOP", "AND", "d", "h", "k"}) == kWrongType);
  CHECK(h.Run({"EXISTS", "d"}) == Int(0));
}

TEST_CASE("BITFIELD GET, SET and INCRBY on signed and unsigned fields", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"BITFIELD", "k", "INCRBY", "i5", "100", "1", "GET", "u4", "0"}) ==
        Arr({Int(1), Int(0)}));
  CHECK(h.Run({"STRLEN", "k"}) == Int(14));  // bits 100..104
  CHECK(h.Run({"BITFIELD", "k", "SET", "i8", "#0", "-100", "GET", "i8", "0", "GET", "u8", "0"}) ==
        Arr({Int(0), Int(-100), Int(156)}));
  // SET answers the old value; "#n" is the n-th field of the type's width.
  CHECK(h.Run({"BITFIELD", "k", "SET", "u8", "#1", "200", "SET", "u8", "#1", "7"}) ==
        Arr({Int(0), Int(200)}));
  CHECK(h.Run({"BITFIELD", "k", "GET", "u16", "0"}) == Arr({Int(156 * 256 + 7)}));
  // Fields across byte boundaries, past the end read as zeros.
  CHECK(h.Run({"BITFIELD", "k", "GET", "u4", "6", "GET", "i64", "1000"}) == Arr({Int(0), Int(0)}));
  CHECK(h.Run({"BITFIELD", "k"}) == "*0\r\n");
  CHECK(h.Run({"BITFIELD", "nokey"}) == "*0\r\n");
  CHECK(h.Run({"BITFIELD", "nokey", "OVERFLOW", "SAT"}) == "*0\r\n");
  CHECK(h.Run({"BITFIELD", "nokey", "GET", "u8", "0"}) == Arr({Int(0)}));
  CHECK(h.Run({"EXISTS", "nokey"}) == Int(0));
}

TEST_CASE("BITFIELD overflow modes at the type limits", "[bitmaps]") {
  CommandHarness h;
  // The documented u2 example: WRAP then SAT, called four times.
  const std::vector<std::string> want = {Arr({Int(1), Int(1)}), Arr({Int(2), Int(2)}),
                                         Arr({Int(3), Int(3)}), Arr({Int(0), Int(3)})};
  for (const auto& w : want) {
    CHECK(h.Run({"BITFIELD", "k", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2",
                 "102", "1"}) == w);
  }
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "1"}) == Arr({Nil()}));
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "-3", "INCRBY", "u2",
               "102", "-4"}) == Arr({Int(0), Nil()}));

  // Signed 8-bit: wrap around, saturate, fail.
  CHECK(h.Run({"BITFIELD", "s", "SET", "i8", "0", "127", "INCRBY", "i8", "0", "1"}) ==
        Arr({Int(0), Int(-128)}));
  CHECK(h.Run({"BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-1"}) == Arr({Int(-128)}));
  CHECK(h.Run({"BITFIELD", "s", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "1000", "GET", "i8",
               "0"}) == Arr({Nil(), Int(-128)}));
  CHECK(h.Run({"BITFIELD", "s", "OVERFLOW", "SAT", "SET", "i8", "0", "1000", "GET", "i8", "0"}) ==
        Arr({Int(-128), Int(127)}));
  CHECK(h.Run({"BITFIELD", "s", "SET", "i8", "0", "1000", "GET", "i8", "0"}) ==
        Arr({Int(127), Int(-24)}));  // 1000 mod 256 = 232 = -24

  // 64-bit signed and 63-bit unsigned ends.
  const std::string max64 = std::to_string(std::numeric_limits<int64_t>::max());
  const std::string min64 = std::to_string(std::numeric_limits<int64_t>::min());
  CHECK(h.Run({"BITFIELD", "w", "SET", "i64", "0", max64, "INCRBY", "i64", "0", "1"}) ==
        Arr({Int(0), Int(std::numeric_limits<int64_t>::min())}));
  CHECK(h.Run({"BITFIELD", "w", "OVERFLOW", "SAT", "INCRBY", "i64", "0", min64, "INCRBY", "i64",
               "0", max64}) == Arr({Int(std::numeric_limits<int64_t>::min()), Int(-1)}));
  CHECK(h.Run({"BITFIELD", "w", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", min64, "INCRBY", "i64",
               "0", min64, "INCRBY", "i64", "0", "-1"}) == Arr({Nil(), Nil(), Int(-2)}));
  CHECK(h.Run({"BITFIELD", "u", "OVERFLOW", "SAT", "INCRBY", "u63", "0", max64, "INCRBY", "u63",
               "0", "1"}) ==
        Arr({Int(std::numeric_limits<int64_t>::max()), Int(std::numeric_limits<int64_t>::max())}));
  CHECK(h.Run({"BITFIELD", "u", "INCRBY", "u63", "0", "1"}) == Arr({Int(0)}));
}

TEST_CASE("BITFIELD SET of an out-of-range value follows Redis' checks", "[bitmaps]") {
  CommandHarness h;
  // A negative value for an unsigned field reads as a huge unsigned one: SAT gives the maximum.
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "GET", "u8", "0"}) ==
        Arr({Int(0), Int(255)}));
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u8", "0", "-1"}) == Arr({Nil()}));
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "WRAP", "SET", "u8", "0", "-2", "GET", "u8", "0"}) ==
        Arr({Int(255), Int(254)}));
  // INT64_MIN into i8 with SAT saturates upwards, as Redis' wrapping bound computation does.
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775808", "GET",
               "i8", "0"}) == Arr({Int(-2), Int(127)}));
  // A write refused by FAIL still extends the string first.
  CHECK(h.Run({"BITFIELD", "t", "OVERFLOW", "FAIL", "SET", "u8", "100", "-1"}) == Arr({Nil()}));
  CHECK(h.Run({"STRLEN", "t"}) == Int(14));
}

TEST_CASE("BITFIELD errors are answered before the key is touched", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"BITFIELD", "k", "GET", "I8", "0"}) == kBadType);
  CHECK(h.Run({"BITFIELD", "k", "GET", "i65", "0"}) == kBadType);
  CHECK(h.Run({"BITFIELD", "k", "GET", "u64", "0"}) == kBadType);
  CHECK(h.Run({"BITFIELD", "k", "GET", "i0", "0"}) == kBadType);
  CHECK(h.Run({"BITFIELD", "k", "GET", "u08", "0"}) == kBadType);
  CHECK(h.Run({"BITFIELD", "k", "GET", "i", "0"}) == kBadType);
  CHECK(h.Run({"BITFIELD", "k", "GET", "u63", "0"}) == Arr({Int(0)}));
  CHECK(h.Run({"BITFIELD", "k", "GET", "i8", "#-1"}) == kBadOffset);
  CHECK(h.Run({"BITFIELD", "k", "GET", "i8", "#"}) == kBadOffset);
  CHECK(h.Run({"BITFIELD", "k", "GET", "i8", ""}) == kBadOffset);
  // "#n" times the width wraps like Redis' 64-bit multiply: negative = refused, 2^66 = 0.
  CHECK(h.Run({"BITFIELD", "k", "GET", "i8", "#9223372036854775807"}) == kBadOffset);
  CHECK(h.Run({"BITFIELD", "k", "GET", "i64", "#1152921504606846976"}) == Arr({Int(0)}));
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "foo"}) == Err("ERR Invalid OVERFLOW type specified"));
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW"}) == kSyntax);
  CHECK(h.Run({"BITFIELD", "k", "GET", "i8"}) == kSyntax);
  CHECK(h.Run({"BITFIELD", "k", "foo"}) == kSyntax);
  CHECK(h.Run({"BITFIELD", "k", "SET", "i8", "0", "x"}) == kNotInteger);
  // A bad op after a good write changes nothing.
  CHECK(h.Run({"BITFIELD", "k", "SET", "i8", "0", "1", "GET", "x8", "0"}) == kBadType);
  CHECK(h.Run({"EXISTS", "k"}) == Int(0));
  CHECK(h.Run({"HSET", "h", "a", "1"}) == Int(1));
  CHECK(h.Run({"BITFIELD", "h", "GET", "i8", "0"}) == kWrongType);
  CHECK(h.Run({"BITFIELD", "h", "SET", "i8", "0", "1"}) == kWrongType);
  CHECK(h.Run({"BITFIELD", "h", "GET", "i8", "x"}) == kBadOffset);
}

TEST_CASE("BITFIELD_RO accepts only GET", "[bitmaps]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "\x80"}) == kOk);
  CHECK(h.Run({"BITFIELD_RO", "k", "GET", "i8", "0", "GET", "u1", "0"}) ==
        Arr({Int(-128), Int(1)}));
  CHECK(h.Run({"BITFIELD_RO", "k", "OVERFLOW", "WRAP", "GET", "u8", "0"}) == Arr({Int(128)}));
  CHECK(h.Run({"BITFIELD_RO", "k", "SET", "i8", "0", "1"}) ==
        Err("ERR BITFIELD_RO only supports the GET subcommand"));
  CHECK(h.Run({"BITFIELD_RO", "k", "INCRBY", "i8", "0", "1"}) ==
        Err("ERR BITFIELD_RO only supports the GET subcommand"));
  CHECK(h.Run({"BITFIELD_RO", "k", "SET", "i8", "x", "1"}) == kBadOffset);
  CHECK(h.Run({"BITFIELD_RO", "nokey", "GET", "u8", "0"}) == Arr({Int(0)}));
  CHECK(h.Run({"EXISTS", "nokey"}) == Int(0));
  CHECK(h.Run({"HSET", "h", "a", "1"}) == Int(1));
  CHECK(h.Run({"BITFIELD_RO", "h", "GET", "i8", "0"}) == kWrongType);
}

TEST_CASE("Bit replies in RESP3: BITFIELD FAIL is a null", "[bitmaps]") {
  CommandHarness h;
  h.client().resp = 3;
  CHECK(h.Run({"BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9", "GET", "u2", "0"}) ==
        "*2\r\n_\r\n:0\r\n");
}

TEST_CASE("Bit arithmetic: field overflow helpers", "[bitmaps]") {
  using O = BitFieldOp::Overflow;
  int64_t s = 0;
  CHECK(SignedFieldAdd(127, 1, 8, O::kWrap, &s) == 1);
  CHECK(s == -128);
  CHECK(SignedFieldAdd(-128, -1, 8, O::kSat, &s) == -1);
  CHECK(s == -128);
  CHECK(SignedFieldAdd(5, -3, 8, O::kFail, &s) == 0);
  CHECK(s == 2);
  CHECK(SignedFieldAdd(0, -1, 1, O::kWrap, &s) == 0);  // i1 holds 0 and -1
  CHECK(s == -1);
  CHECK(SignedFieldAdd(-1, -1, 1, O::kWrap, &s) == -1);
  CHECK(s == 0);
  uint64_t u = 0;
  CHECK(UnsignedFieldAdd(3, 1, 2, O::kWrap, &u) == 1);
  CHECK(u == 0);
  CHECK(UnsignedFieldAdd(1, -2, 2, O::kSat, &u) == -1);
  CHECK(u == 0);
  CHECK(UnsignedFieldAdd(0, 1, 1, O::kFail, &u) == 0);
  CHECK(u == 1);
}

TEST_CASE("Bit arithmetic: CountBits and FindBit on plain strings", "[bitmaps]") {
  const std::string s("\x00\xff\x0f", 3);
  CHECK(CountBits(s, std::nullopt) == 12);
  CHECK(CountBits(s, BitRange{.start = 4, .end = 11, .in_bits = true}) == 4);
  CHECK(CountBits(s, BitRange{.start = -4, .end = -1, .in_bits = true}) == 4);
  CHECK(CountBits(s, BitRange{.start = 1, .end = 1}) == 8);
  CHECK(FindBit(s, 1, std::nullopt) == 8);
  CHECK(FindBit(s, 0, BitRange{.start = 1}) == 16);
  CHECK(FindBit(s, 1, BitRange{.start = 17, .end = 19, .in_bits = true}) == -1);
  CHECK(FindBit(s, 1, BitRange{.start = 17, .end = 20, .in_bits = true}) == 20);
  CHECK(FindBit("\xff", 0, std::nullopt) == 8);
  CHECK(FindBit("\xff", 0, BitRange{.start = 0, .end = 0}) == -1);
}

TEST_CASE("Bit commands match replies captured from redis-server 7.0.15", "[bitmaps]") {
  CommandHarness h;
  CHECK(ReplayGolden(h, "bitmap_replies.txt") > 2000);
}
