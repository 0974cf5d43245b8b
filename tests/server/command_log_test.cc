// What the command log (command_log.h, propagate.h) receives: ordinary writes as received,
// nothing for commands that changed nothing, the deterministic forms Redis 7.0 writes to its
// append-only file (checked against redis-server 7.0.15's appendonly.aof), MULTI/EXEC framing,
// blocked clients served later, DEL for expired and evicted keys, the dirty counter; and a
// replay test: a random workload's log, replayed into a fresh server, rebuilds the same
// keyspace, values and absolute expiries included.
#include "server/command_log.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blocking_test_util.h"
#include "command_harness.h"
#include "family_test_util.h"
#include "server/notify.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

// Records every appended command with its database. Thread-safe, as the real log.
class RecordingLog final : public CommandLog {
 public:
  struct Logged {
    int db;
    std::vector<std::string> args;
  };

  void Append(int db, const std::vector<std::string_view>& args) override {
    std::lock_guard l(mu_);
    logged_.push_back({db, std::vector<std::string>(args.begin(), args.end())});
  }
  void AwaitDurable() override {}

  // Everything recorded since the last call.
  std::vector<Logged> Take() {
    std::lock_guard l(mu_);
    return std::exchange(logged_, {});
  }
  // The same, each command as one space-separated line (databases dropped).
  std::vector<std::string> TakeLines() {
    std::vector<std::string> lines;
    for (const Logged& e : Take()) {
      std::string line;
      for (const std::string& a : e.args) line += (line.empty() ? "" : " ") + a;
      lines.push_back(std::move(line));
    }
    return lines;
  }

 private:
  std::mutex mu_;
  std::vector<Logged> logged_;
};

using Lines = std::vector<std::string>;

// A harness with a recording log installed.
struct WithLog {
  CommandHarness h;
  RecordingLog log;

  WithLog() { h.server().set_command_log(&log); }
  ~WithLog() { h.server().set_command_log(nullptr); }

  // Runs commands whose logging is not under test, then forgets what they logged.
  void Setup(std::initializer_list<std::vector<std::string>> commands) {
    for (const auto& c : commands) h.Run(c);
    log.Take();
  }
  std::string Now(int64_t plus_ms) { return std::to_string(h.clock().NowMs() + plus_ms); }
};

std::string Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

}  // namespace

TEST_CASE("ordinary writes are logged as received", "[command-log]") {
  WithLog t;
  auto& h = t.h;
  h.Run({"set", "k", "v"});
  h.Run({"LPUSH", "l", "a", "b"});
  h.Run({"HSET", "h", "f", "1"});
  h.Run({"SADD", "s", "x"});
  h.Run({"ZADD", "z", "1", "m"});
  h.Run({"INCR", "n"});
  h.Run({"MSET", "a", "1", "b", "2"});
  h.Run({"APPEND", "k", "w"});
  h.Run({"RENAME", "a", "a2"});
  h.Run({"COPY", "b", "b2"});
  h.Run({"MOVE", "b2", "3"});
  h.Run({"DEL", "a2", "missing"});
  h.Run({"SWAPDB", "0", "1"});
  h.Run({"FLUSHDB"});
  h.Run({"FLUSHALL"});
  CHECK(t.log.TakeLines() == Lines{"set k v", "LPUSH l a b", "HSET h f 1", "SADD s x", "ZADD z 1 m",
                                   "INCR n", "MSET a 1 b 2", "APPEND k w", "RENAME a a2",
                                   "COPY b b2", "MOVE b2 3", "DEL a2 missing", "SWAPDB 0 1",
                                   "FLUSHDB", "FLUSHALL"});
}

TEST_CASE("the database of each logged command is the client's", "[command-log]") {
  WithLog t;
  t.h.Run({"SET", "a", "1"});
  t.h.Run({"SELECT", "2"});
  t.h.Run({"SET", "b", "1"});
  auto logged = t.log.Take();
  REQUIRE(logged.size() == 2);  // SELECT itself is not logged: the log emits it from the db
  CHECK(logged[0].db == 0);
  CHECK(logged[1].db == 2);
}

TEST_CASE("commands that change nothing are not logged", "[command-log]") {
  WithLog t;
  t.Setup({{"SET", "k", "v"},
           {"SADD", "s", "a"},
           {"LPUSH", "l", "x"},
           {"ZADD", "z", "1", "m"},
           {"HSET", "h", "f", "v"},
           {"PFADD", "hll", "a"},
           {"PFCOUNT", "hll"}});
  auto& h = t.h;
  for (const std::vector<std::string>& c : std::vector<std::vector<std::string>>{
           {"SET", "k", "w", "NX"},
           {"SETNX", "k", "w"},
           {"SET", "absent", "w", "XX"},
           {"DEL", "missing"},
           {"UNLINK", "missing"},
           {"SREM", "s", "nope"},
           {"SPOP", "missing"},
           {"SPOP", "s", "0"},
           {"LPOP", "missing"},
           {"EXPIRE", "missing", "10"},
           {"PERSIST", "k"},
           {"GETEX", "k"},
           {"GETDEL", "missing"},
           {"HDEL", "h", "nope"},
           {"ZREM", "z", "nope"},
           {"PFADD", "hll", "a"},
           {"PFCOUNT", "hll"},
           {"RENAMENX", "k", "s"},
           {"INCR", "k"},  // an error
           {"GET", "k"},
           {"LRANGE", "l", "0", "-1"},
           {"SRANDMEMBER", "s", "-5"},
           {"ZRANDMEMBER", "z", "-5"},
           {"HRANDFIELD", "h", "-5"},
           {"RANDOMKEY"},
           {"EXISTS", "k"},
           {"BLPOP", "missing", "0"},  // no client to park: answers at once
       }) {
    h.Run(c);
  }
  CHECK(t.log.TakeLines().empty());
}

TEST_CASE("expiries are logged as absolute times or as DEL", "[command-log]") {
  WithLog t;
  t.Setup({{"SET", "k", "v"}});
  auto& h = t.h;
  std::string in100s = t.Now(100'000);

  h.Run({"EXPIRE", "k", "100"});
  h.Run({"PEXPIRE", "k", "100000", "XX"});
  h.Run({"EXPIREAT", "k", std::to_string(h.clock().NowMs() / 1000 + 200)});
  h.Run({"pexpireat", "k", "9999999999999"});
  CHECK(t.log.TakeLines() ==
        Lines{"PEXPIREAT k " + in100s, "PEXPIREAT k " + in100s + " XX",
              "PEXPIREAT k " + std::to_string((h.clock().NowMs() / 1000 + 200) * 1000),
              "pexpireat k 9999999999999"});

  // A time already past deletes the key: logged as that DEL.
  h.Run({"EXPIRE", "k", "-1"});
  CHECK(t.log.TakeLines() == Lines{"DEL k"});
  t.Setup({{"SET", "k", "v"}});
  h.Run({"PEXPIREAT", "k", "1"});
  CHECK(t.log.TakeLines() == Lines{"DEL k"});

  h.Run({"SETEX", "a", "100", "v"});
  h.Run({"PSETEX", "a", "100000", "v"});
  h.Run({"SET", "a", "v", "EX", "100"});
  h.Run({"SET", "a", "v", "PX", "100000", "XX"});
  h.Run({"SET", "a", "v", "EXAT", "9999999999"});
  h.Run({"SET", "a", "v", "PXAT", "9999999999000", "GET"});
  h.Run({"SET", "b", "v", "NX", "EX", "100"});
  CHECK(t.log.TakeLines() == Lines{"SET a v PXAT " + in100s, "SET a v PXAT " + in100s,
                                   "SET a v PXAT " + in100s, "SET a v PXAT " + in100s,
                                   "SET a v PXAT 9999999999000", "SET a v PXAT 9999999999000",
                                   "SET b v PXAT " + in100s});

  t.Setup({{"SET", "g", "v"}});
  h.Run({"GETEX", "g", "EX", "100"});
  h.Run({"GETEX", "g", "PX", "100000"});
  h.Run({"GETEX", "g", "EXAT", "9999999999"});
  h.Run({"GETEX", "g", "PXAT", "9999999999000"});
  h.Run({"GETEX", "g", "PERSIST"});
  h.Run({"GETEX", "g", "PERSIST"});  // no TTL any more: nothing changes
  h.Run({"GETEX", "g", "PXAT", "1"});
  CHECK(t.log.TakeLines() == Lines{"PEXPIREAT g " + in100s, "PEXPIREAT g " + in100s,
                                   "PEXPIREAT g 9999999999000", "PEXPIREAT g 9999999999000",
                                   "PERSIST g", "DEL g"});
}

TEST_CASE("GETDEL, GETSET, SET GET and the float increments are logged as what they did",
          "[command-log]") {
  WithLog t;
  t.Setup({{"SET", "k", "v"}, {"SET", "f", "1.5"}, {"PEXPIRE", "f", "100000"}});
  auto& h = t.h;
  h.Run({"GETDEL", "k"});
  h.Run({"GETSET", "k", "w"});
  h.Run({"SET", "k", "x", "GET"});
  h.Run({"SET", "k", "y", "KEEPTTL", "GET"});
  REQUIRE(h.Run({"INCRBYFLOAT", "f", "2"}) == Bulk("3.5"));
  REQUIRE(h.Run({"HINCRBYFLOAT", "h", "fld", "0.25"}) == Bulk("0.25"));
  CHECK(t.log.TakeLines() == Lines{"DEL k", "SET k w", "SET k x", "SET k y KEEPTTL",
                                   "SET f 3.5 KEEPTTL", "HSET h fld 0.25"});
}

TEST_CASE("SPOP is logged as the SREM of the members it took", "[command-log]") {
  WithLog t;
  t.Setup({{"SADD", "s", "a", "b", "c", "d", "e"}});
  auto& h = t.h;
  std::string one = h.Run({"SPOP", "s"});
  REQUIRE(one[0] == '$');
  std::string member = one.substr(one.find("\r\n") + 2, 1);
  CHECK(t.log.TakeLines() == Lines{"SREM s " + member});

  std::vector<std::string> two = BulkArray(h.Run({"SPOP", "s", "2"}));
  REQUIRE(two.size() == 2);
  auto logged = t.log.Take();
  REQUIRE(logged.size() == 1);
  REQUIRE(logged[0].args.size() == 4);
  CHECK(logged[0].args[0] == "SREM");
  CHECK(Sorted({logged[0].args[2], logged[0].args[3]}) == Sorted(two));

  // A count that takes the whole set deletes it: DEL, as Redis.
  h.Run({"SPOP", "s", "10"});
  CHECK(t.log.TakeLines() == Lines{"DEL s"});

  // A large count: SREMs of at most 1024 members, together the members taken.
  std::vector<std::string> add = {"SADD", "big"};
  for (int i = 0; i < 3000; ++i) add.push_back("m" + std::to_string(i));
  t.Setup({add});
  std::vector<std::string> popped = BulkArray(h.Run({"SPOP", "big", "2000"}));
  REQUIRE(popped.size() == 2000);
  logged = t.log.Take();
  REQUIRE(logged.size() == 2);
  std::vector<std::string> removed;
  for (const auto& e : logged) {
    CHECK(e.args[0] == "SREM");
    CHECK(e.args[1] == "big");
    removed.insert(removed.end(), e.args.begin() + 2, e.args.end());
  }
  CHECK(logged[0].args.size() == 2 + 1024);
  CHECK(Sorted(removed) == Sorted(popped));
}

TEST_CASE("blocking commands served at once are logged as their non-blocking forms",
          "[command-log]") {
  WithLog t;
  auto& h = t.h;
  t.Setup({{"RPUSH", "l", "1", "2", "3", "4", "5", "6", "7"},
           {"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"}});
  h.Run({"BLPOP", "empty", "l", "0"});
  h.Run({"BRPOP", "l", "0"});
  h.Run({"BLMOVE", "l", "l2", "left", "right", "0"});
  h.Run({"BRPOPLPUSH", "l", "l2", "0"});
  h.Run({"BLMPOP", "0", "2", "empty", "l", "LEFT", "COUNT", "10"});
  h.Run({"LMPOP", "1", "l2", "RIGHT"});
  h.Run({"BZPOPMIN", "z", "0"});
  h.Run({"BZPOPMAX", "empty", "z", "0"});
  h.Run({"BZMPOP", "0", "1", "z", "MIN", "COUNT", "2"});
  h.Run({"ZMPOP", "1", "z", "MAX", "COUNT", "5"});
  CHECK(t.log.TakeLines() == Lines{"LPOP l", "RPOP l", "LMOVE l l2 LEFT RIGHT", "RPOPLPUSH l l2",
                                   "LPOP l 3", "RPOP l2 1", "ZPOPMIN z", "ZPOPMAX z", "ZPOPMIN z 2",
                                   "ZPOPMAX z 1"});
}

TEST_CASE("a blocked client served later logs its pop after the push", "[command-log]") {
  WithLog t;
  auto& h = t.h;
  auto blpop = h.Start({"BLPOP", "q", "0"});
  auto blmove = h.Start({"BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"});
  auto brpoplpush = h.Start({"BRPOPLPUSH", "src2", "dst", "0"});
  auto blmpop = h.Start({"BLMPOP", "0", "1", "q2", "RIGHT", "COUNT", "5"});
  auto bzpop = h.Start({"BZPOPMAX", "zq", "0"});
  auto bzmpop = h.Start({"BZMPOP", "0", "1", "zq2", "MIN", "COUNT", "2"});
  REQUIRE(Blocked(h) == 6);
  CHECK(t.log.TakeLines().empty());

  h.Run({"RPUSH", "q", "a", "b"});
  h.Run({"RPUSH", "src", "x", "y"});
  h.Run({"LPUSH", "src2", "z"});
  h.Run({"RPUSH", "q2", "1", "2", "3"});
  h.Run({"ZADD", "zq", "1", "m", "2", "n"});
  h.Run({"ZADD", "zq2", "1", "m", "2", "n", "3", "o"});
  CHECK(Await(blpop) == Arr({Bulk("q"), Bulk("a")}));
  CHECK(Await(blmove) == Bulk("y"));
  CHECK(Await(brpoplpush) == Bulk("z"));
  Await(blmpop);
  Await(bzpop);
  Await(bzmpop);
  CHECK(t.log.TakeLines() == Lines{"RPUSH q a b", "LPOP q", "RPUSH src x y",
                                   "LMOVE src dst RIGHT LEFT", "LPUSH src2 z", "RPOPLPUSH src2 dst",
                                   "RPUSH q2 1 2 3", "RPOP q2 3", "ZADD zq 1 m 2 n", "ZPOPMAX zq",
                                   "ZADD zq2 1 m 2 n 3 o", "ZPOPMIN zq2 2"});

  // Served by a push inside a transaction: the transaction, then the pop.
  auto again = h.Start({"BLPOP", "q3", "0"});
  h.Run({"MULTI"});
  h.Run({"RPUSH", "q3", "v"});
  h.Run({"EXEC"});
  Await(again);
  CHECK(t.log.TakeLines() == Lines{"MULTI", "RPUSH q3 v", "EXEC", "LPOP q3"});
}

TEST_CASE("a transaction is framed by MULTI and EXEC when it changed something", "[command-log]") {
  WithLog t;
  auto& h = t.h;
  t.Setup({{"SET", "k", "v"}});
  h.Run({"MULTI"});
  h.Run({"GET", "k"});
  h.Run({"SET", "a", "1"});
  h.Run({"SET", "k", "x", "NX"});
  h.Run({"EXPIRE", "a", "100"});
  h.Run({"SPOP", "missing"});
  h.Run({"EXEC"});
  CHECK(t.log.TakeLines() == Lines{"MULTI", "SET a 1", "PEXPIREAT a " + t.Now(100'000), "EXEC"});

  // Reads and no-ops only: nothing at all.
  h.Run({"MULTI"});
  h.Run({"GET", "k"});
  h.Run({"DEL", "missing"});
  h.Run({"EXEC"});
  CHECK(t.log.TakeLines().empty());

  // SELECT inside: each command in its database, EXEC in the last one.
  h.Run({"MULTI"});
  h.Run({"SET", "b", "1"});
  h.Run({"SELECT", "4"});
  h.Run({"SET", "c", "1"});
  h.Run({"EXEC"});
  auto logged = t.log.Take();
  REQUIRE(logged.size() == 4);
  CHECK(logged[0].args == std::vector<std::string>{"MULTI"});
  CHECK(logged[0].db == 0);
  CHECK(logged[1].db == 0);
  CHECK(logged[2].db == 4);
  CHECK(logged[3].args == std::vector<std::string>{"EXEC"});
  CHECK(logged[3].db == 4);
  h.Run({"SELECT", "0"});

  // An aborted transaction logs nothing.
  h.Run({"WATCH", "k"});
  h.Run({"SET", "k", "changed"});
  t.log.Take();
  h.Run({"MULTI"});
  h.Run({"SET", "k", "mine"});
  REQUIRE(h.Run({"EXEC"}) == "*-1\r\n");
  CHECK(t.log.TakeLines().empty());
}

TEST_CASE("keys deleted by expiry are logged as DEL", "[command-log]") {
  WithLog t;
  auto& h = t.h;
  t.Setup({{"SET", "lazy", "v", "PX", "100"},
           {"SET", "written", "v", "PX", "100"},
           {"SET", "a1", "v", "PX", "100"},
           {"SET", "a2", "v", "PX", "100"},
           {"SET", "a3", "v", "PX", "100"}});
  h.clock().Advance(200);
  REQUIRE(h.Run({"GET", "lazy"}) == kNil);
  // A write finding its key expired: the expiry's DEL, then the write.
  h.Run({"LPUSH", "written", "x"});
  CHECK(t.log.TakeLines() == Lines{"DEL lazy", "DEL written", "LPUSH written x"});

  // Active expiry, outside any command.
  REQUIRE(h.server().keyspace().ActiveExpireCycle(10'000'000) == 3);
  CHECK(Sorted(t.log.TakeLines()) == Sorted({"DEL a1", "DEL a2", "DEL a3"}));
}

namespace {

// Owns the keys starting with "tbl:", as the middleware owns its table keys.
class TablePrefix final : public KeyInterceptor {
 public:
  bool Owns(std::string_view key) const override { return key.substr(0, 4) == "tbl:"; }
  void Handle(CommandContext& ctx) override { RunBuiltin(ctx); }
};

}  // namespace

TEST_CASE("table keys are not logged when they expire", "[command-log]") {
  WithLog t;
  auto& h = t.h;
  h.server().SetKeyInterceptor(std::make_shared<TablePrefix>());
  WithKey(h, "tbl:1", [&](Db& db) {
    Entry* e = db.SetString("tbl:1", "row", false);
    db.SetExpireAt(e, h.clock().NowMs() + 100);
    return 0;
  });
  t.Setup({{"SET", "plain", "v", "PX", "100"}});
  h.clock().Advance(200);
  REQUIRE(h.server().keyspace().ActiveExpireCycle(10'000'000) == 2);
  CHECK(t.log.TakeLines() == Lines{"DEL plain"});
  h.server().SetKeyInterceptor(nullptr);
}

TEST_CASE("keys evicted under maxmemory are logged as DEL", "[command-log]") {
  WithLog t;
  auto& h = t.h;
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back("key" + std::to_string(i));
    h.Run({"SET", keys.back(), std::string(1000, 'v')});
  }
  t.log.Take();
  REQUIRE(h.Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-random"}) == kOk);
  // Below what the process already uses: every key goes, and the CONFIG SET itself is not a
  // change to log.
  h.Run({"CONFIG", "SET", "maxmemory", "1"});
  REQUIRE(h.Run({"CONFIG", "SET", "maxmemory", "0"}) == kOk);
  REQUIRE(h.Run({"DBSIZE"}) == Int(0));
  std::vector<std::string> expected;
  for (const auto& k : keys) expected.push_back("DEL " + k);
  CHECK(Sorted(t.log.TakeLines()) == Sorted(expected));
}

TEST_CASE("dirty counts every change and nothing else", "[command-log]") {
  CommandHarness h;  // no log installed: the counter does not depend on it
  uint64_t start = h.server().dirty();
  h.Run({"SET", "a", "1"});
  h.Run({"SET", "b", "1"});
  CHECK(h.server().dirty() == start + 2);
  h.Run({"SET", "a", "2", "NX"});
  h.Run({"GET", "a"});
  h.Run({"DEL", "missing"});
  CHECK(h.server().dirty() == start + 2);
  h.Run({"DEL", "a", "b"});
  CHECK(h.server().dirty() == start + 4);
  // Expiry is not a change (Redis counts it in expired_keys only).
  h.Run({"SET", "e", "1", "PX", "10"});
  h.clock().Advance(20);
  h.Run({"GET", "e"});
  CHECK(h.server().dirty() == start + 5);
  // FLUSHALL: each key removed, plus one.
  h.Run({"MSET", "x", "1", "y", "2"});
  uint64_t before = h.server().dirty();
  h.Run({"FLUSHALL"});
  CHECK(h.server().dirty() == before + 3);
}

// ---------------------------------------------------------------------------------------------
// Replay: the log of a random workload rebuilds the same keyspace.

namespace {

// Everything visible in databases [0, databases): "db key" -> type, value, absolute expiry.
std::map<std::string, std::string> Snapshot(CommandHarness& h, int databases) {
  std::map<std::string, std::string> out;
  for (int db = 0; db < databases; ++db) {
    h.Run({"SELECT", std::to_string(db)});
    for (const std::string& key : BulkArray(h.Run({"KEYS", "*"}))) {
      std::string type = h.Run({"TYPE", key});
      std::string value;
      if (type == Simple("string")) {
        value = h.Run({"GET", key});
      } else if (type == Simple("list")) {
        value = h.Run({"LRANGE", key, "0", "-1"});
      } else if (type == Simple("set")) {
        value = Sorted(BulkArray(h.Run({"SMEMBERS", key})));
      } else if (type == Simple("zset")) {
        value = h.Run({"ZRANGE", key, "0", "-1", "WITHSCORES"});
      } else if (type == Simple("hash")) {
        std::vector<std::string> flat = BulkArray(h.Run({"HGETALL", key}));
        std::vector<std::string> pairs;
        for (size_t i = 0; i + 1 < flat.size(); i += 2)
          pairs.push_back(flat[i] + "=" + flat[i + 1]);
        value = Sorted(pairs);
      }
      out[std::to_string(db) + " " + key] = type + value + h.Run({"PEXPIRETIME", key});
    }
  }
  h.Run({"SELECT", "0"});
  return out;
}

// Runs the logged commands in a server, in their databases, as loading the file would: with
// expiry suspended (Keyspace::set_loading), and SELECT before a command of another database.
void Replay(const std::vector<RecordingLog::Logged>& logged, CommandHarness& into) {
  int db = 0;
  into.server().keyspace().set_loading(true);
  into.Run({"SELECT", "0"});
  for (const auto& e : logged) {
    if (e.db != db) {
      REQUIRE(into.Run({"SELECT", std::to_string(e.db)})[0] == '+');  // OK, or QUEUED in MULTI
      db = e.db;
    }
    std::string reply = into.Run(e.args);
    INFO(e.args[0] << " " << (e.args.size() > 1 ? e.args[1] : "") << " -> " << reply);
    CHECK(reply[0] != '-');
  }
  into.Run({"SELECT", "0"});
  into.server().keyspace().set_loading(false);
}

// A random write (or read) over a small set of keys of every type.
class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}

  std::vector<std::string> Next() {
    std::string s = Key("s", 6), n = Key("n", 4), f = Key("f", 3), l = Key("l", 4),
                l2 = Key("l", 4), st = Key("st", 4), st2 = Key("st", 4), z = Key("z", 4),
                z2 = Key("z", 4), h = Key("h", 4), p = Key("p", 3), any = AnyKey();
    std::string v = "v" + std::to_string(Pick(50));
    std::string secs = std::to_string(1 + Pick(6));
    std::string ms = std::to_string(100 + Pick(6000));
    switch (Pick(85)) {
      case 0:
        return {"SET", s, v};
      case 1:
        return {"SET", s, v, "EX", secs};
      case 2:
        return {"SET", s, v, "PX", ms, "NX"};
      case 3:
        return {"SET", s, v, "KEEPTTL", "GET"};
      case 4:
        return {"SETEX", s, secs, v};
      case 5:
        return {"PSETEX", s, ms, v};
      case 6:
        return {"GETEX", s, "EX", secs};
      case 7:
        return {"GETEX", s, "PERSIST"};
      case 8:
        return {"GETDEL", s};
      case 9:
        return {"GETSET", s, v};
      case 10:
        return {"APPEND", s, v};
      case 11:
        return {"INCRBY", n, std::to_string(Pick(100))};
      case 12:
        return {"INCRBYFLOAT", f, "0." + std::to_string(1 + Pick(9))};
      case 13:
        return {"EXPIRE", any, secs};
      case 14:
        return {"PEXPIRE", any, ms, Pick(2) ? "GT" : "LT"};
      case 15:
        return {"EXPIRE", any, "-1"};
      case 16:
        return {"PERSIST", any};
      case 17:
        return {"DEL", any, AnyKey()};
      case 18:
        return {"RPUSH", l, v, "w"};
      case 19:
        return {"LPUSH", l, v};
      case 20:
        return {"LPOP", l};
      case 21:
        return {"RPOP", l, "2"};
      case 22:
        return {"BLPOP", l, l2, "0"};
      case 23:
        return {"BRPOP", l, "0"};
      case 24:
        return {"BLMOVE", l, l2, "LEFT", "RIGHT", "0"};
      case 25:
        return {"BRPOPLPUSH", l, l2, "0"};
      case 26:
        return {"BLMPOP", "0", "2", l, l2, "RIGHT", "COUNT", "2"};
      case 27:
        return {"LMPOP", "1", l, "LEFT"};
      case 28:
        return {"LTRIM", l, "0", "3"};
      case 29:
        return {"SADD", st, v, "a", "b", std::to_string(Pick(20))};
      case 30:
        return {"SPOP", st};
      case 31:
        return {"SPOP", st, std::to_string(Pick(4))};
      case 32:
        return {"SREM", st, v};
      case 33:
        return {"SMOVE", st, st2, "a"};
      case 34:
        return {"SINTERSTORE", st, st2, Key("st", 4)};
      case 35:
        return {"ZADD", z, std::to_string(Pick(10)), v};
      case 36:
        return {"ZINCRBY", z, "1.5", v};
      case 37:
        return {"BZPOPMIN", z, "0"};
      case 38:
        return {"BZPOPMAX", z, z2, "0"};
      case 39:
        return {"BZMPOP", "0", "1", z, "MIN", "COUNT", "2"};
      case 40:
        return {"ZMPOP", "2", z, z2, "MAX"};
      case 41:
        return {"ZUNIONSTORE", z, "2", z, z2};
      case 42:
        return {"HSET", h, "f" + std::to_string(Pick(5)), v};
      case 43:
        return {"HINCRBYFLOAT", h, "x", "0.3"};
      case 44:
        return {"HINCRBY", h, "i", "3"};
      case 45:
        return {"HDEL", h, "f1"};
      case 46:
        return {"PFADD", p, v, "w" + std::to_string(Pick(100))};
      case 47:
        return {"PFCOUNT", p};
      case 48:
        return {"PFMERGE", p, Key("p", 3)};
      case 49:
        return {"RENAME", any, AnyKey()};
      case 50:
        return {"COPY", any, AnyKey(), "REPLACE"};
      case 51:
        return {"MOVE", any, "1"};
      case 52:
        return {"SETRANGE", s, std::to_string(Pick(5)), v};
      case 53:
        return {"SETBIT", s, std::to_string(Pick(40)), "1"};
      case 54:
        return {"MSET", s, v, Key("s", 6), "m"};
      case 55:
        return {"LMOVE", l, l2, "RIGHT", "LEFT"};
      case 56:
        return {"SET", s, v, "EXAT", std::to_string(1'700'000'000 + Pick(60))};
      case 57:
        return {"ZREMRANGEBYRANK", z, "0", "0"};
      case 58:
        return {"SWAPDB", "0", "1"};
      case 59:
        return {"SELECT", Pick(2) ? "1" : "0"};
      case 60:
        return Pick(40) == 0 ? std::vector<std::string>{"FLUSHDB"}
                             : std::vector<std::string>{"GET", s};
      case 61:
        return {"LINSERT", l, "BEFORE", "w", v};
      case 62:
        return {"LSET", l, "0", v};
      case 63:
        return {"LREM", l, "1", "w"};
      case 64:
        return {"RPUSHX", l, v};
      case 65:
        return {"HSETNX", h, "f" + std::to_string(Pick(5)), v};
      case 66:
        return {"ZREM", z, v};
      case 67:
        return {"ZREMRANGEBYSCORE", z, "0", std::to_string(Pick(5))};
      case 68:
        return {"ZRANGESTORE", z2, z, "0", "2"};
      case 69:
        return {"ZINTERSTORE", z, "2", z, z2, "WEIGHTS", "2", "3"};
      case 70:
        return {"SDIFFSTORE", st, st2, Key("st", 4)};
      case 71:
        return {"BITOP", "OR", s, s, Key("s", 6)};
      case 72:
        return {"BITFIELD", s, "INCRBY", "u8", "0", "7"};
      case 73:
        return {"MSETNX", s, v, Key("s", 6), v};
      case 74:
        return {"SETNX", s, v};
      case 75:
        return {"DECR", n};
      case 76:
        return {"RENAMENX", any, AnyKey()};
      case 77:
        return {"UNLINK", any};
      case 78:
        return {"PEXPIREAT", any, std::to_string(1'700'000'000'000 + Pick(60'000))};
      case 79:
        return {"GETEX", s, "PXAT", std::to_string(1'700'000'000'000 + Pick(60'000))};
      case 80:
        return {"ZINCRBY", z, "-0.1", v};
      case 81:
        return {"SMOVE", st, st2, std::to_string(Pick(20))};
      case 82:
        return {"HDEL", h, "x", "i"};
      case 83:
        return {"LMPOP", "2", l, l2, "RIGHT", "COUNT", "3"};
      default:
        return {"SUNIONSTORE", st2, st, z};  // WRONGTYPE sometimes
    }
  }

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

 private:
  std::string Key(const std::string& prefix, size_t n) { return prefix + std::to_string(Pick(n)); }
  std::string AnyKey() {
    static const char* kPrefixes[] = {"s", "n", "f", "l", "st", "z", "h", "p"};
    return Key(kPrefixes[Pick(8)], 4);
  }

  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("replaying the log of a random workload rebuilds the same keyspace",
          "[command-log][replay]") {
  uint64_t seed = GENERATE(1, 2, 3, 4);
  INFO("seed " << seed);
  WithLog a;
  Workload work(seed);
  std::vector<std::future<std::string>> blocked;
  int next_wait = 0;
  for (int step = 0; step < 4000; ++step) {
    switch (work.Pick(40)) {
      case 0:
        a.h.clock().Advance(static_cast<int64_t>(work.Pick(2500)));
        break;
      case 1:
        a.h.server().keyspace().ActiveExpireCycle(10'000'000);
        break;
      case 2: {  // a transaction of a few commands
        a.h.Run({"MULTI"});
        for (size_t i = work.Pick(4); i > 0; --i) a.h.Run(work.Next());
        a.h.Run({"EXEC"});
        break;
      }
      case 3: {  // a client blocks now and is served by a later push (database 0)
        std::string key = "w" + std::to_string(next_wait++);
        switch (work.Pick(3)) {
          case 0:
            blocked.push_back(a.h.Start({"BLPOP", key, "0"}));
            break;
          case 1:
            blocked.push_back(a.h.Start({"BLMOVE", key, "l0", "RIGHT", "LEFT", "0"}));
            break;
          default:
            blocked.push_back(a.h.Start({"BLMPOP", "0", "1", key, "LEFT", "COUNT", "2"}));
        }
        a.h.Run({"SELECT", "0"});
        a.h.Run({"RPUSH", key, "x", "y", "z"});
        break;
      }
      default:
        a.h.Run(work.Next());
    }
  }
  for (auto& f : blocked) REQUIRE(Ready(f));

  // Loaded later, as a file would be: the clock of the replaying server is past the last
  // command, so only absolute expiries come out right.
  CommandHarness b;
  b.clock().Set(a.h.clock().NowMs() + 1000);
  a.h.clock().Advance(1000);
  std::vector<RecordingLog::Logged> logged = a.log.Take();
  REQUIRE(logged.size() > 1000);
  Replay(logged, b);
  auto expected = Snapshot(a.h, 2);
  auto got = Snapshot(b, 2);
  REQUIRE(expected.size() > 10);
  CHECK(got == expected);

  // And still the same once more of the keys have expired on both.
  a.h.clock().Advance(4000);
  b.clock().Advance(4000);
  CHECK(Snapshot(b, 2) == Snapshot(a.h, 2));
}

TEST_CASE("concurrent writers are logged in the order they changed each key",
          "[command-log][replay]") {
  WithLog a;
  constexpr int kThreads = 4;
  constexpr int kOps = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&a, t] {
      ClientState client;
      client.id = a.h.server().NextClientId();
      client.authenticated = true;
      std::mt19937_64 rng(t);
      for (int i = 0; i < kOps; ++i) {
        std::string key = "k" + std::to_string(rng() % 8);
        std::string out;
        ReplyBuilder reply(&out);
        std::vector<std::string> args;
        switch (rng() % 4) {
          case 0:
            args = {"RPUSH", "list" + key, std::to_string(t) + ":" + std::to_string(i)};
            break;
          case 1:
            args = {"INCRBYFLOAT", "f" + key, "1.25"};
            break;
          case 2:
            args = {"SPOP", "set" + key};
            break;
          default:
            args = {"SADD", "set" + key, std::to_string(i % 10), std::to_string(t)};
        }
        std::vector<std::string_view> views(args.begin(), args.end());
        Dispatch(a.h.server(), client, views, reply);
      }
      a.h.server().ReleaseClient(client);
    });
  }
  for (auto& th : threads) th.join();
  CommandHarness b;
  Replay(a.log.Take(), b);
  CHECK(Snapshot(b, 1) == Snapshot(a.h, 1));
}
