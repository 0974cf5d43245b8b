// SUBSCRIBE PSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB, RESP2's subscribed mode, and
// keyspace notifications, through the real dispatcher (exact RESP bytes, checked against
// redis-server 7.0.15). The harness client receives its messages in CommandHarness::TakePushed;
// publishers are clients of their own (CommandHarness::Start).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "command_harness.h"

using namespace rowcached::server;
using namespace rowcached::server::testing;

namespace {

std::string Confirm(std::string_view kind, std::string_view name, int count) {
  return Arr({Bulk(kind), Bulk(name), Int(count)});
}
std::string Message(std::string_view channel, std::string_view payload) {
  return Arr({Bulk("message"), Bulk(channel), Bulk(payload)});
}
std::string PMessage(std::string_view pattern, std::string_view channel, std::string_view payload) {
  return Arr({Bulk("pmessage"), Bulk(pattern), Bulk(channel), Bulk(payload)});
}

std::string Publish(CommandHarness& h, std::string channel, std::string payload) {
  return h.RunWait({"PUBLISH", std::move(channel), std::move(payload)});
}

// Both notifications of one event, in Redis' order (keyspace, then keyevent), as received by a
// PSUBSCRIBE to "__key*__:*".
std::string Event(std::string_view event, std::string_view key, int db = 0) {
  std::string d = std::to_string(db);
  return PMessage("__key*__:*", "__keyspace@" + d + "__:" + std::string(key), event) +
         PMessage("__key*__:*", "__keyevent@" + d + "__:" + std::string(event), key);
}

const std::string kNotAllowed =
    "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
    "context";

}  // namespace

TEST_CASE("SUBSCRIBE and PUBLISH", "[pubsub]") {
  CommandHarness h;
  CHECK(h.Run({"SUBSCRIBE", "a", "b", "a"}) ==
        Confirm("subscribe", "a", 1) + Confirm("subscribe", "b", 2) + Confirm("subscribe", "a", 2));
  CHECK(Publish(h, "a", "hello") == Int(1));
  CHECK(Publish(h, "c", "nobody") == Int(0));
  CHECK(Publish(h, "b", "") == Int(1));
  CHECK(h.TakePushed() == Message("a", "hello") + Message("b", ""));
  CHECK(h.Run({"UNSUBSCRIBE", "a", "zz"}) ==
        Confirm("unsubscribe", "a", 1) + Confirm("unsubscribe", "zz", 1));
  CHECK(Publish(h, "a", "gone") == Int(0));
  CHECK(h.Run({"UNSUBSCRIBE"}) == Confirm("unsubscribe", "b", 0));
  CHECK(h.Run({"UNSUBSCRIBE"}) == Arr({Bulk("unsubscribe"), kNil, Int(0)}));
  CHECK(h.TakePushed().empty());
  CHECK(h.Run({"SUBSCRIBE"}) == Err("ERR wrong number of arguments for 'subscribe' command"));
  CHECK(h.Run({"PUBLISH", "a"}) == Err("ERR wrong number of arguments for 'publish' command"));
}

TEST_CASE("PSUBSCRIBE matches glob patterns", "[pubsub]") {
  CommandHarness h;
  CHECK(h.Run({"PSUBSCRIBE", "news.*", "h?llo"}) ==
        Confirm("psubscribe", "news.*", 1) + Confirm("psubscribe", "h?llo", 2));
  CHECK(h.Run({"SUBSCRIBE", "news.art"}) == Confirm("subscribe", "news.art", 3));
  // A client matching by channel and by pattern gets both, and both count.
  CHECK(Publish(h, "news.art", "x") == Int(2));
  CHECK(Publish(h, "hallo", "y") == Int(1));
  CHECK(Publish(h, "news", "z") == Int(0));
  CHECK(h.TakePushed() == Message("news.art", "x") + PMessage("news.*", "news.art", "x") +
                              PMessage("h?llo", "hallo", "y"));
  CHECK(h.Run({"PUNSUBSCRIBE", "news.*"}) == Confirm("punsubscribe", "news.*", 2));
  CHECK(h.Run({"PUNSUBSCRIBE"}) == Confirm("punsubscribe", "h?llo", 1));
  CHECK(h.Run({"PUNSUBSCRIBE"}) == Arr({Bulk("punsubscribe"), kNil, Int(1)}));
  CHECK(Publish(h, "hallo", "y") == Int(0));
}

TEST_CASE("RESP2 subscribed mode refuses other commands", "[pubsub]") {
  CommandHarness h;
  CHECK(h.Run({"PING"}) == Simple("PONG"));
  h.Run({"SUBSCRIBE", "a"});
  CHECK(h.Run({"GET", "a"}) == Err("ERR Can't execute 'get" + kNotAllowed));
  CHECK(h.Run({"CONFIG", "GET", "x"}) == Err("ERR Can't execute 'config|get" + kNotAllowed));
  CHECK(h.Run({"MULTI"}) == Err("ERR Can't execute 'multi" + kNotAllowed));
  CHECK(h.Run({"PING"}) == Arr({Bulk("pong"), Bulk("")}));
  CHECK(h.Run({"PING", "x"}) == Arr({Bulk("pong"), Bulk("x")}));
  CHECK(h.Run({"PSUBSCRIBE", "p*"}) == Confirm("psubscribe", "p*", 2));
  CHECK(h.Run({"UNSUBSCRIBE"}) == Confirm("unsubscribe", "a", 1));
  CHECK(h.Run({"GET", "a"}) == Err("ERR Can't execute 'get" + kNotAllowed));
  CHECK(h.Run({"PUNSUBSCRIBE"}) == Confirm("punsubscribe", "p*", 0));
  CHECK(h.Run({"GET", "a"}) == kNil);
  CHECK(h.Run({"PING"}) == Simple("PONG"));
}

TEST_CASE("RESP3 subscriptions use pushes and allow every command", "[pubsub]") {
  CommandHarness h;
  h.client().resp = 3;
  CHECK(h.Run({"SUBSCRIBE", "a"}) == ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
  CHECK(h.Run({"GET", "a"}) == "_\r\n");
  CHECK(h.Run({"PING"}) == Simple("PONG"));
  CHECK(Publish(h, "a", "hi") == Int(1));
  CHECK(h.TakePushed() == ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n");
  CHECK(h.Run({"PSUBSCRIBE", "*"}) == ">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:2\r\n");
  CHECK(Publish(h, "z", "p") == Int(1));
  CHECK(h.TakePushed() == ">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\nz\r\n$1\r\np\r\n");
  CHECK(h.Run({"UNSUBSCRIBE"}) == ">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n");
  CHECK(h.Run({"PUNSUBSCRIBE"}) == ">3\r\n$12\r\npunsubscribe\r\n$1\r\n*\r\n:0\r\n");
  CHECK(h.Run({"UNSUBSCRIBE"}) == ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
}

TEST_CASE("PUBSUB CHANNELS NUMSUB NUMPAT", "[pubsub]") {
  CommandHarness h;
  CHECK(h.Run({"PUBSUB", "CHANNELS"}) == "*0\r\n");
  CHECK(h.Run({"PUBSUB", "NUMPAT"}) == Int(0));
  h.Run({"SUBSCRIBE", "news.a"});
  h.Run({"PSUBSCRIBE", "x*", "y*"});
  h.Run({"RESET"});  // the harness client leaves subscribed mode to ask
  h.Run({"SUBSCRIBE", "news.a", "sport"});
  h.Run({"PSUBSCRIBE", "x*"});
  CHECK(h.RunWait({"PUBSUB", "CHANNELS", "news.*"}) == Arr({Bulk("news.a")}));
  CHECK(h.RunWait({"PUBSUB", "NUMSUB", "news.a", "none"}) ==
        Arr({Bulk("news.a"), Int(1), Bulk("none"), Int(0)}));
  CHECK(h.RunWait({"PUBSUB", "NUMSUB"}) == "*0\r\n");
  CHECK(h.RunWait({"PUBSUB", "NUMPAT"}) == Int(1));
  CHECK(h.RunWait({"PUBSUB", "CHANNELS", "a", "b"}) ==
        Err("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB "
            "HELP."));
  CHECK(h.RunWait({"PUBSUB", "NUMPAT", "x"}) ==
        Err("ERR wrong number of arguments for 'pubsub|numpat' command"));
  std::string all = h.RunWait({"PUBSUB", "CHANNELS"});
  CHECK(all.starts_with("*2\r\n"));
  CHECK(all.find(Bulk("sport")) != std::string::npos);
}

TEST_CASE("a released client leaves every channel", "[pubsub]") {
  CommandHarness h;
  {
    ClientState other;
    other.authenticated = true;
    std::string out;
    ReplyBuilder reply(&out);
    std::vector<std::string_view> args = {"SUBSCRIBE", "a"};
    Dispatch(h.server(), other, args, reply);
    CHECK(h.server().pubsub().NumSub("a") == 1);
    h.server().ReleaseClient(other);
  }
  CHECK(h.server().pubsub().NumSub("a") == 0);
  CHECK(Publish(h, "a", "x") == Int(0));
}

TEST_CASE("CONFIG notify-keyspace-events takes Redis' letters", "[notify]") {
  CommandHarness h;
  auto get = [&] { return h.Run({"CONFIG", "GET", "notify-keyspace-events"}); };
  auto value = [](std::string_view v) { return Arr({Bulk("notify-keyspace-events"), Bulk(v)}); };
  CHECK(get() == value(""));
  CHECK(h.Run({"CONFIG", "SET", "notify-keyspace-events", "KEA"}) == kOk);
  CHECK(get() == value("AKE"));
  CHECK(h.Run({"CONFIG", "SET", "notify-keyspace-events", "Eg$lshzxetdnmK"}) == kOk);
  CHECK(get() == value("AKEm"));  // Redis omits 'n' after 'A'
  CHECK(h.Run({"CONFIG", "SET", "notify-keyspace-events", "hE$x"}) == kOk);
  CHECK(get() == value("$hxE"));
  CHECK(h.Run({"CONFIG", "SET", "notify-keyspace-events", "Kq"}) ==
        Err("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."));
  CHECK(get() == value("$hxE"));
  CHECK(h.Run({"CONFIG", "SET", "notify-keyspace-events", ""}) == kOk);
  CHECK(get() == value(""));
}

TEST_CASE("keyspace notifications of the string, generic and hash commands", "[notify]") {
  CommandHarness h;
  REQUIRE(h.Run({"CONFIG", "SET", "notify-keyspace-events", "KEA"}) == kOk);
  h.Run({"PSUBSCRIBE", "__key*__:*"});
  // Each command, run by another client, and the events redis-server 7.0.15 sends for it.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"SET", "k", "v", "EX", "100"}, Event("set", "k") + Event("expire", "k")},
      {{"SET", "k", "v"}, Event("set", "k")},
      {{"SETNX", "k", "v"}, ""},
      {{"GETEX", "k", "PX", "5000"}, Event("expire", "k")},
      {{"GETEX", "k", "PERSIST"}, Event("persist", "k")},
      {{"GETEX", "k", "PERSIST"}, ""},
      {{"GETEX", "k", "EXAT", "1"}, Event("del", "k")},
      {{"MSET", "a", "1", "b", "2"}, Event("set", "a") + Event("set", "b")},
      {{"INCR", "a"}, Event("incrby", "a")},
      {{"DECRBY", "a", "3"}, Event("incrby", "a")},
      {{"INCRBYFLOAT", "a", "1.5"}, Event("incrbyfloat", "a")},
      {{"APPEND", "a", "x"}, Event("append", "a")},
      {{"SETRANGE", "a", "0", "zz"}, Event("setrange", "a")},
      {{"SETRANGE", "a", "0", ""}, ""},
      {{"INCR", "a"}, ""},  // an error changes nothing
      {{"GETDEL", "a"}, Event("del", "a")},
      {{"DEL", "b", "nokey"}, Event("del", "b")},
      {{"HSET", "h", "f", "1", "g", "2"}, Event("hset", "h")},
      {{"HSETNX", "h", "f", "1"}, ""},
      {{"HINCRBY", "h", "n", "1"}, Event("hincrby", "h")},
      {{"HINCRBYFLOAT", "h", "n", "1.5"}, Event("hincrbyfloat", "h")},
      {{"HDEL", "h", "f", "g", "nope"}, Event("hdel", "h")},
      {{"HDEL", "h", "n"}, Event("hdel", "h") + Event("del", "h")},
      {{"SET", "r", "1"}, Event("set", "r")},
      {{"RENAME", "r", "r2"}, Event("rename_from", "r") + Event("rename_to", "r2")},
      {{"RENAME", "r2", "r2"}, ""},
      {{"COPY", "r2", "r3"}, Event("copy_to", "r3")},
      {{"MOVE", "r3", "1"}, Event("move_from", "r3") + Event("move_to", "r3", 1)},
      {{"EXPIRE", "r2", "100"}, Event("expire", "r2")},
      {{"PERSIST", "r2"}, Event("persist", "r2")},
      {{"EXPIRE", "r2", "-1"}, Event("del", "r2")},
      {{"GET", "r2"}, ""},
  };
  for (const auto& [command, events] : cases) {
    INFO(command[0] << " " << command[1]);
    h.RunWait(command);
    CHECK(h.TakePushed() == events);
  }
}

TEST_CASE("expired keys notify, lazily and from the active cycle", "[notify]") {
  CommandHarness h;
  REQUIRE(h.Run({"CONFIG", "SET", "notify-keyspace-events", "Ex"}) == kOk);
  h.Run({"SUBSCRIBE", "__keyevent@0__:expired", "__keyevent@3__:expired"});
  h.RunWait({"SET", "lazy", "v", "PX", "100"});
  h.RunWait({"SELECT", "3"});  // a client of its own: no effect on the next
  h.RunWait({"SET", "active", "v", "PX", "100"});
  h.TakePushed();
  h.clock().Advance(200);
  CHECK(h.RunWait({"GET", "lazy"}) == kNil);
  CHECK(h.TakePushed() == Message("__keyevent@0__:expired", "lazy"));
  CHECK(h.server().keyspace().ActiveExpireCycle(1000000) == 1);
  CHECK(h.TakePushed() == Message("__keyevent@0__:expired", "active"));
}

TEST_CASE("notification classes filter events", "[notify]") {
  CommandHarness h;
  h.Run({"PSUBSCRIBE", "__key*__:*"});
  SECTION("no class, no events") {
    REQUIRE(h.RunWait({"CONFIG", "SET", "notify-keyspace-events", "KE"}) == kOk);
    h.RunWait({"SET", "k", "v"});
    CHECK(h.TakePushed().empty());
  }
  SECTION("only keyspace, only strings") {
    REQUIRE(h.RunWait({"CONFIG", "SET", "notify-keyspace-events", "K$"}) == kOk);
    h.RunWait({"SET", "k", "v"});
    h.RunWait({"DEL", "k"});
    h.RunWait({"HSET", "h", "f", "v"});
    CHECK(h.TakePushed() == PMessage("__key*__:*", "__keyspace@0__:k", "set"));
  }
  SECTION("only keyevent, generic and hash") {
    REQUIRE(h.RunWait({"CONFIG", "SET", "notify-keyspace-events", "Egh"}) == kOk);
    h.RunWait({"SET", "k", "v"});
    h.RunWait({"DEL", "k"});
    h.RunWait({"HSET", "h", "f", "v"});
    CHECK(h.TakePushed() == PMessage("__key*__:*", "__keyevent@0__:del", "k") +
                                PMessage("__key*__:*", "__keyevent@0__:hset", "h"));
  }
}
