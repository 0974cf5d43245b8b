// HyperLogLog commands through the real dispatcher: replies and errors as redis-server 7.0.15
// gives them, values byte-identical to the strings redis-server builds for the same PFADD
// sequences (testdata/hll_replies.txt, sparse and dense), and the estimator's error bound.
#include "server/hyperloglog.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "command_harness.h"
#include "family_test_util.h"
#include "golden_replies.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kNotHll = Err("WRONGTYPE Key is not a valid HyperLogLog string value.");
const std::string kCorrupt = Err("INVALIDOBJ Corrupted HLL object detected");

// A 16-byte HLL header: magic, encoding, cached cardinality (stale when `stale`).
std::string Header(uint8_t encoding, uint64_t card, bool stale) {
  std::string h = "HYLL";
  h.push_back(static_cast<char>(encoding));
  h.append(3, '\0');
  for (int i = 0; i < 8; ++i) h.push_back(static_cast<char>(card >> (8 * i)));
  if (stale) h[15] = static_cast<char>(h[15] | 0x80);
  return h;
}

// PFADD key el:<first> .. el:<first+count-1>, 1000 per command.
void AddRange(CommandHarness& h, const std::string& key, int64_t first, int64_t count) {
  for (int64_t done = 0; done < count;) {
    std::vector<std::string> args = {"PFADD", key};
    for (int i = 0; i < 1000 && done < count; ++i, ++done) {
      args.push_back("el:" + std::to_string(first + done));
    }
    REQUIRE(h.Run(args)[0] == ':');
  }
}

int64_t CountOf(const std::string& reply) {
  REQUIRE(reply[0] == ':');
  return std::stoll(reply.substr(1));
}

}  // namespace

TEST_CASE("HLL values are byte-identical to redis-server's for the same PFADD sequences", "[hll]") {
  // Sparse values of 3..1500 elements, their promotion to dense, dense values up to 6000
  // elements, cached cardinalities, PFMERGE results (sparse and dense) and PFDEBUG DECODE.
  CommandHarness h;
  CHECK(ReplayGolden(h, "hll_replies.txt") > 70);
}

TEST_CASE("PFADD creates an empty sparse HLL and answers whether a register changed", "[hll]") {
  CommandHarness h;
  CHECK(h.Run({"PFADD", "k"}) == Int(1));
  // A new key's cache is marked stale, as Redis' PFADD marks it.
  CHECK(h.Run({"GET", "k"}) == Bulk(Header(1, 0, true) + "\x7f\xff"));
  CHECK(h.Run({"PFADD", "k"}) == Int(0));
  CHECK(h.Run({"PFCOUNT", "k"}) == Int(0));
  CHECK(h.Run({"GET", "k"}) == Bulk(Header(1, 0, false) + "\x7f\xff"));
  CHECK(h.Run({"PFADD", "k", "a"}) == Int(1));
  CHECK(h.Run({"PFCOUNT", "k"}) == Int(1));
  // "a" lands in register 12711 with value 2: XZERO 12711, VAL 2, XZERO 3672.
  CHECK(h.Run({"GET", "k"}) == Bulk(Header(1, 1, false) + "\x71\xa6\x84\x4e\x57"));
  CHECK(h.Run({"PFADD", "k", "a"}) == Int(0));
  CHECK(h.Run({"PFCOUNT", "k"}) == Int(1));
  CHECK(h.Run({"PFADD", "k", "a", "b", "c"}) == Int(1));
  CHECK(h.Run({"PFCOUNT", "k"}) == Int(3));
}

TEST_CASE("PFCOUNT caches the estimate in the header until the next change", "[hll]") {
  CommandHarness h;
  CHECK(h.Run({"PFADD", "k", "a", "b", "c"}) == Int(1));
  std::string before = h.Run({"GET", "k"});
  CHECK(static_cast<uint8_t>(before[5 + 15]) == 0x80);  // "$21\r\n" then the header
  CHECK(h.Run({"PFCOUNT", "k"}) == Int(3));
  std::string after = h.Run({"GET", "k"});
  CHECK(after.substr(5 + 8, 8) == std::string("\x03\0\0\0\0\0\0\0", 8));
  CHECK(after.substr(5 + 16) == before.substr(5 + 16));
  CHECK(h.Run({"PFADD", "k", "d"}) == Int(1));
  CHECK(static_cast<uint8_t>(h.Run({"GET", "k"})[5 + 15]) == 0x80);
  // PFADD, PFCOUNT and PFMERGE keep the key's TTL.
  CHECK(h.Run({"EXPIRE", "k", "100"}) == Int(1));
  CHECK(h.Run({"PFADD", "k", "e"}) == Int(1));
  CHECK(h.Run({"PFCOUNT", "k"}) == Int(5));
  CHECK(h.Run({"PFMERGE", "k", "nokey"}) == kOk);
  CHECK(h.Run({"TTL", "k"}) == Int(100));
}

TEST_CASE("PFCOUNT and PFMERGE on missing keys", "[hll]") {
  CommandHarness h;
  CHECK(h.Run({"PFCOUNT", "nokey"}) == Int(0));
  CHECK(h.Run({"PFCOUNT", "nokey", "nokey2"}) == Int(0));
  CHECK(h.Run({"EXISTS", "nokey"}) == Int(0));
  CHECK(h.Run({"PFMERGE", "dst"}) == kOk);
  CHECK(h.Run({"GET", "dst"}) == Bulk(Header(1, 0, true) + "\x7f\xff"));
  CHECK(h.Run({"PFMERGE", "dst2", "nokey"}) == kOk);
  CHECK(h.Run({"PFCOUNT", "dst2"}) == Int(0));
  CHECK(h.Run({"PFADD", "a", "x"}) == Int(1));
  CHECK(h.Run({"PFCOUNT", "nokey", "a"}) == Int(1));
  CHECK(h.Run({"PFMERGE"}) == Err("ERR wrong number of arguments for 'pfmerge' command"));
  CHECK(h.Run({"PFCOUNT"}) == Err("ERR wrong number of arguments for 'pfcount' command"));
  CHECK(h.Run({"PFADD"}) == Err("ERR wrong number of arguments for 'pfadd' command"));
}

TEST_CASE("Strings that are not HyperLogLogs are refused", "[hll]") {
  CommandHarness h;
  CHECK(h.Run({"SET", "s", "foobar"}) == kOk);
  CHECK(h.Run({"SET", "n", "12345678901234567890"}) == kOk);
  CHECK(h.Run({"SET", "hy", "HYLLxxxxxxxxxxxxxxxxxxxxxx"}) == kOk);  // encoding 'x'
  CHECK(h.Run({"SET", "short", "HYLL"}) == kOk);
  CHECK(h.Run({"SET", "dense", Header(0, 0, false) + std::string(5, '\0')}) == kOk);
  CHECK(h.Run({"SET", "enc2", Header(2, 0, false) + std::string(5, '\0')}) == kOk);
  CHECK(h.Run({"PFADD", "a", "x"}) == Int(1));
  for (const char* key : {"s", "n", "hy", "short", "dense", "enc2"}) {
    INFO(key);
    CHECK(h.Run({"PFADD", key, "a"}) == kNotHll);
    CHECK(h.Run({"PFCOUNT", key}) == kNotHll);
    CHECK(h.Run({"PFCOUNT", "a", key}) == kNotHll);
    CHECK(h.Run({"PFMERGE", "a", key}) == kNotHll);
    CHECK(h.Run({"PFMERGE", key, "a"}) == kNotHll);
    CHECK(h.Run({"PFDEBUG", "ENCODING", key}) == kNotHll);
  }
  CHECK(h.Run({"GET", "s"}) == Bulk("foobar"));
  CHECK(h.Run({"HSET", "h", "f", "v"}) == Int(1));
  CHECK(h.Run({"PFADD", "h", "a"}) == kWrongType);
  CHECK(h.Run({"PFCOUNT", "h"}) == kWrongType);
  CHECK(h.Run({"PFCOUNT", "h", "a"}) == kWrongType);
  CHECK(h.Run({"PFMERGE", "a", "h"}) == kWrongType);
}

TEST_CASE("Corrupt sparse HyperLogLogs answer INVALIDOBJ", "[hll]") {
  CommandHarness h;
  // XZERO of 16369 registers: 15 short of the 16384.
  CHECK(h.Run({"SET", "short", Header(1, 0, true) + "\x7f\xf0"}) == kOk);
  // XZERO of 16384 then one more register.
  CHECK(h.Run({"SET", "over", Header(1, 0, true) + "\x7f\xff\x80"}) == kOk);
  for (const char* key : {"short", "over"}) {
    INFO(key);
    CHECK(h.Run({"PFCOUNT", key}) == kCorrupt);
    CHECK(h.Run({"PFCOUNT", key, "nokey"}) == kCorrupt);
    CHECK(h.Run({"PFMERGE", "x", key}) == kCorrupt);
    CHECK(h.Run({"EXISTS", "x"}) == Int(0));
    CHECK(h.Run({"PFDEBUG", "TODENSE", key}) == kCorrupt);
    CHECK(h.Run({"PFDEBUG", "GETREG", key}) == kCorrupt);
  }
  // PFADD only walks up to the register it changes, as Redis' does.
  CHECK(h.Run({"PFADD", "short", "a", "b", "c"}) == Int(1));
  CHECK(h.Run({"GET", "short"}) ==
        Bulk(Header(1, 0, true) + "\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x4b"));
  CHECK(h.Run({"PFADD", "over", "a"}) == Int(1));
  CHECK(h.Run({"PFDEBUG", "DECODE", "over"}) == Bulk("Z:12711 v:2,1 Z:3672 v:1,1"));
}

TEST_CASE("PFDEBUG ENCODING, DECODE, TODENSE, GETREG", "[hll]") {
  CommandHarness h;
  CHECK(h.Run({"PFADD", "k", "a", "b", "c"}) == Int(1));
  CHECK(h.Run({"PFDEBUG", "ENCODING", "k"}) == Simple("sparse"));
  CHECK(h.Run({"PFDEBUG", "DECODE", "k"}) == Bulk("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"));
  CHECK(h.Run({"PFDEBUG", "TODENSE", "k"}) == Int(1));
  CHECK(h.Run({"PFDEBUG", "TODENSE", "k"}) == Int(0));
  CHECK(h.Run({"PFDEBUG", "ENCODING", "k"}) == Simple("dense"));
  CHECK(h.Run({"PFDEBUG", "DECODE", "k"}) == Err("ERR HLL encoding is not sparse"));
  CHECK(h.Run({"STRLEN", "k"}) == Int(hll::kDenseSize));
  CHECK(h.Run({"PFCOUNT", "k"}) == Int(3));
  std::string regs = h.Run({"PFDEBUG", "GETREG", "k"});
  CHECK(regs.rfind("*16384\r\n:0\r\n", 0) == 0);
  size_t ones = 0, twos = 0;
  for (size_t pos = 0; (pos = regs.find("\r\n:", pos)) != std::string::npos; ++pos) {
    if (regs.compare(pos + 3, 3, "1\r\n") == 0) ++ones;
    if (regs.compare(pos + 3, 3, "2\r\n") == 0) ++twos;
  }
  CHECK(ones == 2);
  CHECK(twos == 1);
  CHECK(h.Run({"PFDEBUG", "FOO", "k"}) == Err("ERR Unknown PFDEBUG subcommand 'FOO'"));
  CHECK(h.Run({"PFDEBUG", "ENCODING", "nokey"}) == Err("ERR The specified key does not exist"));
  CHECK(h.Run({"PFDEBUG", "FOO", "nokey"}) == Err("ERR The specified key does not exist"));
  CHECK(h.Run({"PFDEBUG", "GETREG", "k", "x"}) ==
        Err("ERR wrong number of arguments for 'pfdebug' command"));
}

TEST_CASE("HLL estimates stay within 3 standard errors (3 x 0.81%)", "[hll]") {
  CommandHarness h;
  int64_t added = 0;
  for (int64_t n : {1000, 10000, 100000, 1000000}) {
    AddRange(h, "k", added, n - added);
    added = n;
    const int64_t estimate = CountOf(h.Run({"PFCOUNT", "k"}));
    INFO("n = " << n << ", estimate = " << estimate);
    CHECK(std::abs(static_cast<double>(estimate - n)) <= 3 * 0.0081 * n);
  }
}

TEST_CASE("PFMERGE of overlapping sets counts their union", "[hll]") {
  CommandHarness h;
  AddRange(h, "a", 0, 60000);        // el:0 .. el:59999
  AddRange(h, "b", 40000, 60000);    // el:40000 .. el:99999
  AddRange(h, "all", 0, 100000);     // the union, added directly
  AddRange(h, "small", 99000, 200);  // sparse, inside b
  CHECK(h.Run({"PFMERGE", "u", "a", "b", "small"}) == kOk);
  const int64_t merged = CountOf(h.Run({"PFCOUNT", "u"}));
  CHECK(merged == CountOf(h.Run({"PFCOUNT", "a", "b"})));
  CHECK(merged == CountOf(h.Run({"PFCOUNT", "all"})));
  CHECK(std::abs(static_cast<double>(merged - 100000)) <= 3 * 0.0081 * 100000);
  // Dense registers are the register-wise maximum: the same bytes as adding everything.
  CHECK(h.Run({"GET", "u"}) == h.Run({"GET", "all"}));
  // A merge of sparse inputs stays sparse.
  AddRange(h, "s1", 0, 50);
  AddRange(h, "s2", 25, 50);
  CHECK(h.Run({"PFMERGE", "s3", "s1", "s2"}) == kOk);
  CHECK(h.Run({"PFDEBUG", "ENCODING", "s3"}) == Simple("sparse"));
  CHECK(CountOf(h.Run({"PFCOUNT", "s3"})) == CountOf(h.Run({"PFCOUNT", "s1", "s2"})));
  CHECK(std::abs(CountOf(h.Run({"PFCOUNT", "s3"})) - 75) <= 2);
}

TEST_CASE("MurmurHash64A places elements of every tail length as Redis does", "[hll]") {
  // Register and value of one element of 0..17 bytes as redis-server 7.0.15 stores it
  // (PFDEBUG DECODE): covers the 8-byte word loop and every tail length of the hash.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "Z:5938 v:2,1 Z:10445"},
      {"a", "Z:12711 v:2,1 Z:3672"},
      {"ab", "Z:719 v:1,1 Z:15664"},
      {"abc", "Z:9474 v:1,1 Z:6909"},
      {"abcd", "Z:11070 v:8,1 Z:5313"},
      {"abcde", "Z:3726 v:4,1 Z:12657"},
      {"abcdef", "Z:13647 v:2,1 Z:2736"},
      {"abcdefg", "Z:5634 v:2,1 Z:10749"},
      {"abcdefgh", "Z:1383 v:1,1 Z:15000"},
      {"abcdefghi", "Z:6903 v:1,1 Z:9480"},
      {"abcdefghijklmnop", "Z:9328 v:1,1 Z:7055"},
      {"abcdefghijklmnopq", "Z:4271 v:1,1 Z:12112"},
  };
  CommandHarness h;
  for (const auto& [element, decoded] : cases) {
    INFO("element '" << element << "'");
    const std::string key = "k" + std::to_string(element.size());
    CHECK(h.Run({"PFADD", key, element}) == Int(1));
    CHECK(h.Run({"PFDEBUG", "DECODE", key}) == Bulk(decoded));
  }
}

TEST_CASE("hll-sparse-max-bytes bounds the sparse encoding", "[hll]") {
  CommandHarness h;
  CHECK(h.Run({"CONFIG", "GET", "hll-sparse-max-bytes"}) ==
        Arr({Bulk("hll-sparse-max-bytes"), Bulk("3000")}));
  CHECK(h.Run({"CONFIG", "SET", "hll-sparse-max-bytes", "1kb"}) == kOk);
  CHECK(h.Run({"CONFIG", "GET", "hll-sparse-max-bytes"}) ==
        Arr({Bulk("hll-sparse-max-bytes"), Bulk("1024")}));
  CHECK(h.Run({"CONFIG", "SET", "hll-sparse-max-bytes", "-1"}) ==
        Err("ERR CONFIG SET failed (possibly related to argument 'hll-sparse-max-bytes') - "
            "argument must be a memory value"));
  CHECK(h.Run({"CONFIG", "SET", "hll-sparse-max-bytes", "40"}) == kOk);
  // Each new register splits a zero run: 3 more bytes, until the next one would pass 40 bytes
  // (lengths as redis-server 7.0.15 gives for the same elements).
  for (int i = 0; i < 10; ++i) {
    INFO("element " << i);
    CHECK(h.Run({"PFADD", "t", "x" + std::to_string(i)}) == Int(1));
    CHECK(h.Run({"STRLEN", "t"}) == Int(i < 7 ? 21 + 3 * i : hll::kDenseSize));
    CHECK(h.Run({"PFDEBUG", "ENCODING", "t"}) == Simple(i < 7 ? "sparse" : "dense"));
  }
  CHECK(h.Run({"PFCOUNT", "t"}) == Int(10));
}
