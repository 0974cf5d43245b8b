// MULTI EXEC DISCARD WATCH UNWATCH through the real dispatcher (exact RESP bytes, checked
// against redis-server 7.0.15). Another client's writes go through CommandHarness::Start, a
// client of its own.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "command_harness.h"
#include "server/dispatch.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

const std::string kQueued = Simple("QUEUED");
const std::string kExecAbort = Err("EXECABORT Transaction discarded because of previous errors.");
const std::string kNullArray = "*-1\r\n";

// Another client's command, run to completion.
std::string Other(CommandHarness& h, std::vector<std::string> args) {
  return h.RunWait(std::move(args));
}

// MULTI, PING, EXEC: the reply of EXEC shows whether the transaction ran.
std::string PingTransaction(CommandHarness& h) {
  REQUIRE(h.Run({"MULTI"}) == kOk);
  REQUIRE(h.Run({"PING"}) == kQueued);
  return h.Run({"EXEC"});
}
const std::string kPingRan = Arr({Simple("PONG")});

// Owns the keys starting with "t:", like the middleware's table keys.
class TablePrefixInterceptor final : public KeyInterceptor {
 public:
  bool Owns(std::string_view key) const override { return key.starts_with("t:"); }
  void Handle(CommandContext& ctx) override { ctx.reply.SimpleString("TABLE"); }
};

}  // namespace

TEST_CASE("MULTI queues commands and EXEC runs them in order", "[multi]") {
  CommandHarness h;
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"SET", "a", "1"}) == kQueued);
  CHECK(h.Run({"INCR", "a"}) == kQueued);
  CHECK(h.Run({"GET", "a"}) == kQueued);
  // Nothing ran yet.
  CHECK(Other(h, {"GET", "a"}) == kNil);
  CHECK(h.Run({"EXEC"}) == Arr({kOk, Int(2), Bulk("2")}));
  CHECK(h.Run({"GET", "a"}) == Bulk("2"));
  CHECK(h.Run({"EXEC"}) == Err("ERR EXEC without MULTI"));
}

TEST_CASE("EXEC of an empty transaction and the RESP3 forms", "[multi]") {
  CommandHarness h;
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"EXEC"}) == "*0\r\n");
  h.client().resp = 3;
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"HSET", "h", "f", "v"}) == kQueued);
  CHECK(h.Run({"HGETALL", "h"}) == kQueued);
  CHECK(h.Run({"EXEC"}) == "*2\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
  h.Run({"WATCH", "h"});
  Other(h, {"DEL", "h"});
  CHECK(PingTransaction(h) == "_\r\n");
}

TEST_CASE("MULTI misuse errors", "[multi]") {
  CommandHarness h;
  CHECK(h.Run({"EXEC"}) == Err("ERR EXEC without MULTI"));
  CHECK(h.Run({"DISCARD"}) == Err("ERR DISCARD without MULTI"));
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"MULTI"}) == Err("ERR MULTI calls can not be nested"));
  CHECK(h.Run({"WATCH", "a"}) == Err("ERR WATCH inside MULTI is not allowed"));
  // Neither error aborts the transaction.
  CHECK(h.Run({"SET", "a", "1"}) == kQueued);
  CHECK(h.Run({"EXEC"}) == Arr({kOk}));
  CHECK(h.Run({"MULTI", "x"}) == Err("ERR wrong number of arguments for 'multi' command"));
}

TEST_CASE("DISCARD drops the queue and leaves MULTI", "[multi]") {
  CommandHarness h;
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"SET", "a", "1"}) == kQueued);
  CHECK(h.Run({"DISCARD"}) == kOk);
  CHECK(h.Run({"GET", "a"}) == kNil);
  CHECK(h.Run({"EXEC"}) == Err("ERR EXEC without MULTI"));
}

TEST_CASE("errors while queueing abort EXEC with EXECABORT", "[multi]") {
  CommandHarness h;
  SECTION("unknown command") {
    CHECK(h.Run({"MULTI"}) == kOk);
    CHECK(h.Run({"SET", "a", "1"}) == kQueued);
    CHECK(h.Run({"FOO", "x"}) == Err("ERR unknown command 'FOO', with args beginning with: 'x' "));
  }
  SECTION("wrong arity") {
    CHECK(h.Run({"MULTI"}) == kOk);
    CHECK(h.Run({"SET", "a", "1"}) == kQueued);
    CHECK(h.Run({"GET"}) == Err("ERR wrong number of arguments for 'get' command"));
  }
  SECTION("unknown subcommand") {
    CHECK(h.Run({"MULTI"}) == kOk);
    CHECK(h.Run({"SET", "a", "1"}) == kQueued);
    CHECK(h.Run({"CONFIG", "FOO"}) == Err("ERR unknown subcommand 'FOO'. Try CONFIG HELP."));
  }
  CHECK(h.Run({"EXEC"}) == kExecAbort);
  CHECK(h.Run({"GET", "a"}) == kNil);
  // The transaction is over: the next one starts clean.
  CHECK(PingTransaction(h) == kPingRan);
}

TEST_CASE("runtime errors inside EXEC are per-command replies", "[multi]") {
  CommandHarness h;
  h.Run({"HSET", "h", "f", "v"});
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"SET", "a", "x"}) == kQueued);
  CHECK(h.Run({"INCR", "a"}) == kQueued);
  CHECK(h.Run({"GET", "h"}) == kQueued);
  CHECK(h.Run({"SET", "b", "2"}) == kQueued);
  CHECK(h.Run({"EXEC"}) ==
        Arr({kOk, Err("ERR value is not an integer or out of range"),
             Err("WRONGTYPE Operation against a key holding the wrong kind of value"), kOk}));
  CHECK(h.Run({"GET", "b"}) == Bulk("2"));
}

TEST_CASE("whole-keyspace and self-locking commands run inside EXEC", "[multi]") {
  CommandHarness h;
  h.Run({"SET", "old", "1"});
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"SET", "a", "1"}) == kQueued);
  CHECK(h.Run({"DBSIZE"}) == kQueued);
  CHECK(h.Run({"FLUSHDB"}) == kQueued);
  CHECK(h.Run({"SET", "b", "1"}) == kQueued);
  CHECK(h.Run({"KEYS", "*"}) == kQueued);
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-samples", "7"}) == kQueued);
  CHECK(h.Run({"INFO", "keyspace"}) == kQueued);
  CHECK(h.Run({"SWAPDB", "0", "1"}) == kQueued);
  CHECK(h.Run({"FLUSHALL"}) == kQueued);
  std::string reply = h.Run({"EXEC"});
  CHECK(reply.starts_with("*9\r\n+OK\r\n:2\r\n+OK\r\n+OK\r\n*1\r\n$1\r\nb\r\n+OK\r\n"));
  CHECK(reply.find("db0:keys=1,expires=0") != std::string::npos);
  CHECK(reply.ends_with("+OK\r\n+OK\r\n"));
  CHECK(h.Run({"CONFIG", "GET", "maxmemory-samples"}) ==
        Arr({Bulk("maxmemory-samples"), Bulk("7")}));
  CHECK(h.Run({"DBSIZE"}) == Int(0));
}

TEST_CASE("SELECT inside EXEC moves the following commands", "[multi]") {
  CommandHarness h;
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"SELECT", "2"}) == kQueued);
  CHECK(h.Run({"SET", "a", "1"}) == kQueued);
  CHECK(h.Run({"EXEC"}) == Arr({kOk, kOk}));
  CHECK(h.Run({"GET", "a"}) == Bulk("1"));
  CHECK(h.Run({"SELECT", "0"}) == kOk);
  CHECK(h.Run({"GET", "a"}) == kNil);
}

TEST_CASE("table keys are refused inside MULTI", "[multi]") {
  CommandHarness h;
  h.server().SetKeyInterceptor(std::make_shared<TablePrefixInterceptor>());
  CHECK(h.Run({"GET", "t:1"}) == Simple("TABLE"));
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"SET", "a", "1"}) == kQueued);
  CHECK(h.Run({"MGET", "a", "t:7"}) ==
        Err("ERR t:7 is a table key managed by rowcached; table keys cannot be used inside "
            "MULTI"));
  CHECK(h.Run({"EXEC"}) == kExecAbort);
  CHECK(h.Run({"GET", "a"}) == kNil);
  h.server().SetKeyInterceptor(nullptr);
}

TEST_CASE("WATCH aborts EXEC when another client changes the key", "[multi]") {
  CommandHarness h;
  h.Run({"SET", "k", "1"});
  CHECK(h.Run({"WATCH", "k", "other"}) == kOk);
  SECTION("a write") { Other(h, {"INCR", "k"}); }
  SECTION("a delete") { Other(h, {"DEL", "k"}); }
  SECTION("an expire") { Other(h, {"EXPIRE", "k", "100"}); }
  SECTION("a rename away") { Other(h, {"RENAME", "k", "k2"}); }
  SECTION("a rename onto it") {
    Other(h, {"SET", "src", "x"});
    Other(h, {"RENAME", "src", "other"});
  }
  SECTION("a move") { Other(h, {"MOVE", "k", "3"}); }
  SECTION("a flush") { Other(h, {"FLUSHALL"}); }
  SECTION("FLUSHDB of its database") { Other(h, {"FLUSHDB"}); }
  SECTION("SWAPDB") { Other(h, {"SWAPDB", "0", "5"}); }
  SECTION("its own write before MULTI") { h.Run({"SET", "k", "2"}); }
  CHECK(PingTransaction(h) == kNullArray);
  // EXEC unwatched: the next transaction runs.
  Other(h, {"SET", "k", "3"});
  CHECK(PingTransaction(h) == kPingRan);
}

TEST_CASE("WATCH without a change lets EXEC run", "[multi]") {
  CommandHarness h;
  h.Run({"SET", "k", "1"});
  CHECK(h.Run({"WATCH", "k"}) == kOk);
  SECTION("reads") {
    Other(h, {"GET", "k"});
    Other(h, {"EXISTS", "k"});
  }
  SECTION("other keys and other databases") {
    Other(h, {"SET", "j", "1"});
    h.Run({"SELECT", "1"});
    h.Run({"SET", "k", "x"});
    h.Run({"SELECT", "0"});
  }
  SECTION("a refused write") {
    Other(h, {"SETNX", "k", "2"});
    Other(h, {"HSET", "k", "f", "v"});  // WRONGTYPE
  }
  SECTION("FLUSHDB of another database") {
    h.Run({"SELECT", "4"});
    h.Run({"FLUSHDB"});
    h.Run({"SELECT", "0"});
  }
  SECTION("a flush while the watched key is absent") {
    h.Run({"UNWATCH"});
    h.Run({"WATCH", "absent"});
    Other(h, {"FLUSHALL"});  // deletes k, which is no longer watched
  }
  CHECK(PingTransaction(h) == kPingRan);
}

TEST_CASE("UNWATCH and DISCARD forget the watched keys", "[multi]") {
  CommandHarness h;
  CHECK(h.Run({"WATCH", "k"}) == kOk);
  Other(h, {"SET", "k", "1"});
  SECTION("UNWATCH") { CHECK(h.Run({"UNWATCH"}) == kOk); }
  SECTION("DISCARD") {
    CHECK(h.Run({"MULTI"}) == kOk);
    CHECK(h.Run({"DISCARD"}) == kOk);
  }
  SECTION("RESET") { CHECK(h.Run({"RESET"}) == Simple("RESET")); }
  CHECK(PingTransaction(h) == kPingRan);
}

TEST_CASE("the transaction's own writes do not abort it", "[multi]") {
  CommandHarness h;
  CHECK(h.Run({"WATCH", "k"}) == kOk);
  CHECK(h.Run({"MULTI"}) == kOk);
  CHECK(h.Run({"SET", "k", "1"}) == kQueued);
  CHECK(h.Run({"EXEC"}) == Arr({kOk}));
  CHECK(h.Run({"GET", "k"}) == Bulk("1"));
}

TEST_CASE("WATCH and expiry follow Redis 7.0", "[multi]") {
  CommandHarness h;
  int64_t now = h.clock().NowMs();
  SECTION("a key that expires after WATCH counts as modified") {
    h.Run({"SET", "k", "v", "PX", "100"});
    CHECK(h.Run({"WATCH", "k"}) == kOk);
    h.clock().Set(now + 200);
    CHECK(PingTransaction(h) == kNullArray);
  }
  SECTION("also when another client's read deleted it") {
    h.Run({"SET", "k", "v", "PX", "100"});
    CHECK(h.Run({"WATCH", "k"}) == kOk);
    h.clock().Set(now + 200);
    CHECK(Other(h, {"GET", "k"}) == kNil);
    CHECK(PingTransaction(h) == kNullArray);
  }
  SECTION("also when the active expiry cycle deleted it") {
    h.Run({"SET", "k", "v", "PX", "100"});
    CHECK(h.Run({"WATCH", "k"}) == kOk);
    h.clock().Set(now + 200);
    CHECK(h.server().keyspace().ActiveExpireCycle(1000000) == 1);
    CHECK(PingTransaction(h) == kNullArray);
  }
  SECTION("a key already expired at WATCH: its deletion is no change") {
    h.Run({"SET", "k", "v", "PX", "100"});
    h.clock().Set(now + 200);
    CHECK(h.Run({"WATCH", "k"}) == kOk);
    CHECK(Other(h, {"GET", "k"}) == kNil);
    CHECK(PingTransaction(h) == kPingRan);
  }
  SECTION("a key already expired at WATCH, then set again") {
    h.Run({"SET", "k", "v", "PX", "100"});
    h.clock().Set(now + 200);
    CHECK(h.Run({"WATCH", "k"}) == kOk);
    Other(h, {"SET", "k", "new"});
    CHECK(PingTransaction(h) == kNullArray);
  }
  SECTION("a key already expired at WATCH, then flushed") {
    h.Run({"SET", "k", "v", "PX", "100"});
    h.clock().Set(now + 200);
    CHECK(h.Run({"WATCH", "k"}) == kOk);
    Other(h, {"FLUSHDB"});
    CHECK(PingTransaction(h) == kPingRan);
  }
}

TEST_CASE("queued commands are counted when EXEC runs them", "[multi]") {
  CommandHarness h;
  auto processed = [&] { return h.server().stats().total_commands_processed.Load(); };
  uint64_t before = processed();
  h.Run({"MULTI"});
  h.Run({"SET", "a", "1"});
  h.Run({"GET", "a"});
  CHECK(processed() == before + 1);
  h.Run({"EXEC"});
  CHECK(processed() == before + 4);
}
