// BF.* commands through the real dispatcher: exact RESP replies and RedisBloom 2.x's error texts.
#include "middleware/bloom_family.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "server/command_harness.h"

namespace rowcached::middleware {
namespace {

using server::testing::Arr;
using server::testing::Bulk;
using server::testing::CommandHarness;
using server::testing::Err;
using server::testing::Int;
using server::testing::kNil;
using server::testing::kOk;
using server::testing::Simple;

const std::string kWrongType =
    Err("WRONGTYPE Operation against a key holding the wrong kind of value");

struct BloomHarness : CommandHarness {
  BloomHarness() { RegisterBloomFamily(server().registry()); }

  // Stores a string through the keyspace API, so these tests need no string commands.
  void SetString(std::string_view key, std::string_view value) {
    server::ShardLocks locks;
    locks.LockOne(server().keyspace(), key);
    server::Db db(&server().keyspace(), 0);
    (void)db.SetString(key, value, /*keep_ttl=*/false);
  }
};

// BF.INFO's full reply in RESP2.
std::string Info(int64_t capacity, int64_t size, int64_t filters, int64_t items,
                 const std::string& expansion) {
  return Arr({Simple("Capacity"), Int(capacity), Simple("Size"), Int(size),
              Simple("Number of filters"), Int(filters), Simple("Number of items inserted"),
              Int(items), Simple("Expansion rate"), expansion});
}

TEST_CASE("BF.ADD creates a default filter and BF.INFO describes it as RedisBloom does",
          "[bloom_family]") {
  BloomHarness h;
  // The example of RedisBloom's BF.INFO page, byte for byte.
  CHECK(h.Run({"BF.ADD", "bf1", "observation1"}) == Int(1));
  CHECK(h.Run({"BF.ADD", "bf1", "observation1"}) == Int(0));
  CHECK(h.Run({"BF.INFO", "bf1"}) == Info(100, 240, 1, 1, Int(2)));
  CHECK(h.Run({"BF.INFO", "bf1", "CAPACITY"}) == Arr({Int(100)}));
  CHECK(h.Run({"BF.INFO", "bf1", "size"}) == Arr({Int(240)}));
  CHECK(h.Run({"BF.INFO", "bf1", "Filters"}) == Arr({Int(1)}));
  CHECK(h.Run({"BF.INFO", "bf1", "ITEMS"}) == Arr({Int(1)}));
  CHECK(h.Run({"BF.INFO", "bf1", "EXPANSION"}) == Arr({Int(2)}));
  CHECK(h.Run({"BF.INFO", "bf1", "ERROR"}) == Err("Invalid information value"));
  CHECK(h.Run({"bf.exists", "bf1", "observation1"}) == Int(1));
  CHECK(h.Run({"bf.exists", "bf1", "observation2"}) == Int(0));
  CHECK(h.Run({"OBJECT", "ENCODING", "bf1"}) == Bulk("raw"));
}

TEST_CASE("BF.INFO replies a map in RESP3", "[bloom_family]") {
  BloomHarness h;
  h.client().resp = 3;
  CHECK(h.Run({"BF.ADD", "bf", "a"}) == Int(1));
  CHECK(h.Run({"BF.INFO", "bf"}) ==
        "%5\r\n+Capacity\r\n:100\r\n+Size\r\n:240\r\n+Number of filters\r\n:1\r\n"
        "+Number of items inserted\r\n:1\r\n+Expansion rate\r\n:2\r\n");
  CHECK(h.Run({"BF.RESERVE", "ns", "0.01", "2", "NONSCALING"}) == kOk);
  CHECK(h.Run({"BF.INFO", "ns", "EXPANSION"}) == "*1\r\n_\r\n");
  CHECK(h.Run({"BF.INFO", "ns"}) ==
        "%5\r\n+Capacity\r\n:2\r\n+Size\r\n:104\r\n+Number of filters\r\n:1\r\n"
        "+Number of items inserted\r\n:0\r\n+Expansion rate\r\n_\r\n");
}

TEST_CASE("BF.RESERVE creates a filter with the given rate, capacity and expansion",
          "[bloom_family]") {
  BloomHarness h;
  CHECK(h.Run({"BF.RESERVE", "bf", "0.01", "1000"}) == kOk);
  // 1000 items at 0.5% (the tightened first sub-filter): 11027 bits in 173 words.
  CHECK(h.Run({"BF.INFO", "bf"}) == Info(1000, 32 + 64 + 1384, 1, 0, Int(2)));
  CHECK(h.Run({"BF.RESERVE", "bf", "0.01", "1000"}) == Err("ERR item exists"));
  CHECK(h.Run({"BF.RESERVE", "bf", "0.5", "10"}) == Err("ERR item exists"));

  CHECK(h.Run({"BF.RESERVE", "e3", "0.01", "10", "expansion", "3"}) == kOk);
  CHECK(h.Run({"BF.INFO", "e3", "EXPANSION"}) == Arr({Int(3)}));
  std::vector<std::string> madd = {"BF.MADD", "e3"};
  for (int i = 0; i < 30; ++i) madd.push_back("item" + std::to_string(i));
  CHECK(h.Run(madd).substr(0, 5) == "*30\r\n");
  // More than 10 new items made a second sub-filter of 30: 40 in all.
  CHECK(h.Run({"BF.INFO", "e3", "FILTERS"}) == Arr({Int(2)}));
  CHECK(h.Run({"BF.INFO", "e3", "CAPACITY"}) == Arr({Int(40)}));
  for (int i = 0; i < 30; ++i) {
    CHECK(h.Run({"BF.EXISTS", "e3", "item" + std::to_string(i)}) == Int(1));
  }

  // Options are case-insensitive; tokens RedisBloom does not know are ignored, as it does.
  CHECK(h.Run({"bf.reserve", "o", "0.001", "5", "NonScaling", "whatever"}) == kOk);
  CHECK(h.Run({"BF.INFO", "o", "EXPANSION"}) == Arr({kNil}));
  CHECK(h.Run({"BF.RESERVE", "p", "1e-3", "5", "EXPANSION", "1"}) == kOk);
  CHECK(h.Run({"BF.INFO", "p", "EXPANSION"}) == Arr({Int(1)}));
  // A key that reads like an option is just a key.
  CHECK(h.Run({"BF.RESERVE", "expansion", "0.01", "5"}) == kOk);
  CHECK(h.Run({"BF.RESERVE", "nonscaling", "0.01", "5"}) == kOk);
  CHECK(h.Run({"BF.INFO", "nonscaling", "EXPANSION"}) == Arr({Int(2)}));
}

TEST_CASE("BF.RESERVE argument errors have RedisBloom's texts", "[bloom_family]") {
  BloomHarness h;
  CHECK(h.Run({"BF.RESERVE", "k", "abc", "100"}) == Err("ERR bad error rate"));
  CHECK(h.Run({"BF.RESERVE", "k", "nan", "100"}) == Err("ERR bad error rate"));
  // RedisBloom's text ends with a space.
  const std::string range = Err("ERR (0 < error rate range < 1) ");
  CHECK(h.Run({"BF.RESERVE", "k", "0", "100"}) == range);
  CHECK(h.Run({"BF.RESERVE", "k", "1", "100"}) == range);
  CHECK(h.Run({"BF.RESERVE", "k", "-0.01", "100"}) == range);
  CHECK(h.Run({"BF.RESERVE", "k", "inf", "100"}) == range);
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "abc"}) == Err("ERR bad capacity"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "1.5"}) == Err("ERR bad capacity"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "0"}) == Err("ERR (capacity should be larger than 0)"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "-1"}) == Err("ERR (capacity should be larger than 0)"));
  // The error rate is checked before the capacity.
  CHECK(h.Run({"BF.RESERVE", "k", "2", "abc"}) == range);
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "100", "EXPANSION"}) == Err("ERR no expansion"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "100", "EXPANSION", "x"}) == Err("ERR bad expansion"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "100", "EXPANSION", "0"}) == Err("ERR bad expansion"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "100", "EXPANSION", "-2"}) == Err("ERR bad expansion"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "100", "NONSCALING", "EXPANSION", "2"}) ==
        Err("Nonscaling filters cannot expand"));
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "100", "EXPANSION", "2", "NONSCALING"}) ==
        Err("Nonscaling filters cannot expand"));
  // Too large to allocate: the capacity parses but the filter cannot be made.
  CHECK(h.Run({"BF.RESERVE", "k", "0.0001", "100000000000"}) == Err("ERR could not create filter"));
  const std::string arity = Err("ERR wrong number of arguments for 'bf.reserve' command");
  CHECK(h.Run({"BF.RESERVE", "k", "0.01"}) == arity);
  CHECK(h.Run({"BF.RESERVE", "k", "0.01", "100", "EXPANSION", "2", "NONSCALING", "x"}) == arity);
  CHECK(h.Run({"EXISTS", "k"}) == Int(0));
}

TEST_CASE("BF.MADD and BF.MEXISTS answer per item", "[bloom_family]") {
  BloomHarness h;
  CHECK(h.Run({"BF.MADD", "m", "a", "b", "a"}) == Arr({Int(1), Int(1), Int(0)}));
  CHECK(h.Run({"BF.MEXISTS", "m", "a", "b", "z"}) == Arr({Int(1), Int(1), Int(0)}));
  CHECK(h.Run({"BF.INFO", "m", "ITEMS"}) == Arr({Int(2)}));
  CHECK(h.Run({"BF.INFO", "m", "CAPACITY"}) == Arr({Int(100)}));
}

TEST_CASE("A full NONSCALING filter refuses new items", "[bloom_family]") {
  BloomHarness h;
  CHECK(h.Run({"BF.RESERVE", "ns", "0.01", "2", "NONSCALING"}) == kOk);
  // BF.MADD stops at the first refusal, and the array holds the replies given so far.
  CHECK(h.Run({"BF.MADD", "ns", "a", "b", "c", "d"}) ==
        Arr({Int(1), Int(1), Err("ERR non scaling filter is full")}));
  CHECK(h.Run({"BF.ADD", "ns", "a"}) == Int(0));  // present items are still found
  CHECK(h.Run({"BF.ADD", "ns", "c"}) == Err("ERR non scaling filter is full"));
  CHECK(h.Run({"BF.MADD", "ns", "b", "x", "y"}) ==
        Arr({Int(0), Err("ERR non scaling filter is full")}));
  CHECK(h.Run({"BF.MEXISTS", "ns", "a", "b", "c"}) == Arr({Int(1), Int(1), Int(0)}));
  CHECK(h.Run({"BF.INFO", "ns"}) == Info(2, 32 + 64 + 8, 1, 2, kNil));
}

TEST_CASE("BF commands on missing keys and keys of other types", "[bloom_family]") {
  BloomHarness h;
  CHECK(h.Run({"BF.INFO", "missing"}) == Err("ERR not found"));
  CHECK(h.Run({"BF.INFO", "missing", "CAPACITY"}) == Err("ERR not found"));
  CHECK(h.Run({"BF.EXISTS", "missing", "a"}) == Int(0));
  CHECK(h.Run({"BF.MEXISTS", "missing", "a", "b"}) == Arr({Int(0), Int(0)}));
  CHECK(h.Run({"EXISTS", "missing"}) == Int(0));  // reads create nothing

  h.SetString("s", "v");
  CHECK(h.Run({"BF.RESERVE", "s", "0.01", "100"}) == kWrongType);
  CHECK(h.Run({"BF.ADD", "s", "a"}) == kWrongType);
  CHECK(h.Run({"BF.MADD", "s", "a", "b"}) == kWrongType);
  CHECK(h.Run({"BF.INFO", "s"}) == kWrongType);
  // RedisBloom's BF.EXISTS treats any key that is not a filter as an empty one.
  CHECK(h.Run({"BF.EXISTS", "s", "a"}) == Int(0));
  CHECK(h.Run({"BF.MEXISTS", "s", "a", "b"}) == Arr({Int(0), Int(0)}));
  CHECK(h.Run({"TYPE", "s"}) == Simple("string"));  // untouched
}

TEST_CASE("BF command arity errors", "[bloom_family]") {
  BloomHarness h;
  auto arity = [](std::string_view name) {
    return Err("ERR wrong number of arguments for '" + std::string(name) + "' command");
  };
  CHECK(h.Run({"BF.ADD", "k"}) == arity("bf.add"));
  CHECK(h.Run({"BF.ADD", "k", "a", "b"}) == arity("bf.add"));
  CHECK(h.Run({"BF.MADD", "k"}) == arity("bf.madd"));
  CHECK(h.Run({"BF.EXISTS", "k"}) == arity("bf.exists"));
  CHECK(h.Run({"BF.EXISTS", "k", "a", "b"}) == arity("bf.exists"));
  CHECK(h.Run({"BF.MEXISTS", "k"}) == arity("bf.mexists"));
  CHECK(h.Run({"BF.INFO"}) == arity("bf.info"));
  CHECK(h.Run({"BF.INFO", "k", "CAPACITY", "SIZE"}) == arity("bf.info"));
  CHECK(h.Run({"EXISTS", "k"}) == Int(0));
}

TEST_CASE("Filters live in the keyspace like other values", "[bloom_family]") {
  BloomHarness h;
  CHECK(h.Run({"BF.MADD", "bf", "a", "b"}) == Arr({Int(1), Int(1)}));
  // COPY deep-copies the filter: the copy grows on its own.
  CHECK(h.Run({"COPY", "bf", "bf2"}) == Int(1));
  CHECK(h.Run({"BF.ADD", "bf2", "c"}) == Int(1));
  CHECK(h.Run({"BF.EXISTS", "bf2", "a"}) == Int(1));
  CHECK(h.Run({"BF.EXISTS", "bf", "c"}) == Int(0));
  CHECK(h.Run({"BF.INFO", "bf", "ITEMS"}) == Arr({Int(2)}));
  CHECK(h.Run({"BF.INFO", "bf2", "ITEMS"}) == Arr({Int(3)}));
  // RENAME moves it; DEL removes it; BF.ADD then starts afresh.
  CHECK(h.Run({"RENAME", "bf2", "bf3"}) == kOk);
  CHECK(h.Run({"BF.EXISTS", "bf3", "c"}) == Int(1));
  CHECK(h.Run({"DEL", "bf", "bf3"}) == Int(2));
  CHECK(h.Run({"BF.EXISTS", "bf", "a"}) == Int(0));
  CHECK(h.Run({"BF.ADD", "bf", "z"}) == Int(1));
  CHECK(h.Run({"BF.INFO", "bf", "ITEMS"}) == Arr({Int(1)}));
  // Expiry applies: an expired filter is gone.
  CHECK(h.Run({"PEXPIRE", "bf", "100"}) == Int(1));
  h.clock().Advance(101);
  CHECK(h.Run({"BF.INFO", "bf"}) == Err("ERR not found"));
  CHECK(h.Run({"BF.EXISTS", "bf", "z"}) == Int(0));
}

TEST_CASE("BF ops work on a Db without the command layer", "[bloom_family]") {
  BloomHarness h;
  server::ShardLocks locks;
  locks.LockAll(h.server().keyspace());
  server::Db db(&h.server().keyspace(), 0);
  CHECK(OpBfReserve(db, "k", {.capacity = 10, .error_rate = 0.1, .expansion = 4}) == BfStatus::kOk);
  CHECK(OpBfReserve(db, "k", {}) == BfStatus::kItemExists);
  std::vector<std::string_view> items = {"x", "y", "x"};
  std::vector<BloomAddResult> results;
  CHECK(OpBfAdd(db, "k", items, &results) == BfStatus::kOk);
  CHECK(results == std::vector<BloomAddResult>{BloomAddResult::kAdded, BloomAddResult::kAdded,
                                               BloomAddResult::kExists});
  std::vector<bool> found;
  OpBfExists(db, "k", items, &found);
  CHECK(found == std::vector<bool>{true, true, true});
  BloomInfo info;
  CHECK(OpBfInfo(db, "k", &info) == BfStatus::kOk);
  CHECK(info.capacity == 10);
  CHECK(info.items == 2);
  CHECK(info.expansion == 4u);
  CHECK(OpBfInfo(db, "nope", &info) == BfStatus::kNotFound);
  CHECK(BfErrorText(BfStatus::kItemExists) == "ERR item exists");
}

}  // namespace
}  // namespace rowcached::middleware
