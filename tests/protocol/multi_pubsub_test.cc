// Transactions, pub/sub and keyspace notifications over real sockets against an in-process
// server with two I/O threads. Connections are spread over the threads in turn, so clients
// opened one after another sit on different threads.
#include <memory>
#include <string>
#include <vector>

#include "protocol/resp_client.h"
#include "protocol/test_server.h"
#include "server/keyspace.h"

namespace rowcached::protocol_test {
namespace {

std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

// ["message", channel, payload] as an array (RESP2) or a push (RESP3).
std::string Message(char type, std::string_view channel, std::string_view payload) {
  return std::string(1, type) + "3\r\n" + Bulk("message") + Bulk(channel) + Bulk(payload);
}

std::string PMessage(std::string_view pattern, std::string_view channel, std::string_view payload) {
  return "*4\r\n" + Bulk("pmessage") + Bulk(pattern) + Bulk(channel) + Bulk(payload);
}

size_t ShardOf(std::string_view key) { return server::Keyspace::ShardOf(server::Table::Hash(key)); }

TEST_CASE("MULTI/EXEC is atomic for clients on every I/O thread", "[protocol][multi]") {
  InProcessServer server;
  // Two keys of different shards: EXEC must hold both shards for the whole transaction.
  std::string a = "a", b = "b";
  for (int i = 0; ShardOf(a) == ShardOf(b); ++i) b = "b" + std::to_string(i);
  // The concurrency is the server's: every client pipelines its whole load in rounds before any
  // reply is read, so writers and readers run at once on both I/O threads. (All socket calls
  // stay on the test's thread: RespClient asserts through Catch2.)
  constexpr int kWriters = 4, kReaders = 2, kRounds = 400;
  constexpr int kTransactionsPerRound = 5, kReadsPerRound = 20;
  std::vector<std::unique_ptr<RespClient>> writers, readers;
  for (int i = 0; i < kWriters; ++i) writers.push_back(std::make_unique<RespClient>(server.port()));
  for (int i = 0; i < kReaders; ++i) readers.push_back(std::make_unique<RespClient>(server.port()));
  std::string transactions, reads;
  for (int i = 0; i < kTransactionsPerRound; ++i) {
    transactions += EncodeCommand({"MULTI"}) + EncodeCommand({"INCR", a}) +
                    EncodeCommand({"INCR", b}) + EncodeCommand({"EXEC"});
  }
  for (int i = 0; i < kReadsPerRound; ++i) reads += EncodeCommand({"MGET", a, b});
  for (int round = 0; round < kRounds; ++round) {
    for (auto& w : writers) w->Send(transactions);
    for (auto& r : readers) r->Send(reads);
  }
  int bad_exec_replies = 0;
  for (auto& w : writers) {
    for (int i = 0; i < kRounds * kTransactionsPerRound; ++i) {
      bool ok = w->Read().raw == "+OK\r\n";
      ok &= w->Read().raw == "+QUEUED\r\n";
      ok &= w->Read().raw == "+QUEUED\r\n";
      Reply exec = w->Read();
      ok &= exec.type == '*' && exec.elems.size() == 2 &&
            exec.elems[1].integer == exec.elems[0].integer;
      bad_exec_replies += ok ? 0 : 1;
    }
  }
  int torn_reads = 0;
  for (auto& r : readers) {
    for (int i = 0; i < kRounds * kReadsPerRound; ++i) {
      Reply got = r->Read();
      torn_reads += got.elems.size() == 2 && got.elems[0].raw == got.elems[1].raw ? 0 : 1;
    }
  }
  CHECK(bad_exec_replies == 0);
  CHECK(torn_reads == 0);
  std::string total = std::to_string(kWriters * kRounds * kTransactionsPerRound);
  CHECK(readers[0]->Command({"MGET", a, b}).raw == "*2\r\n" + Bulk(total) + Bulk(total));
}

TEST_CASE("WATCH aborts EXEC when a client on another thread changes the key",
          "[protocol][multi]") {
  InProcessServer server;
  RespClient watcher(server.port());
  RespClient writer(server.port());
  CHECK(watcher.Command({"SET", "k", "1"}).raw == "+OK\r\n");
  CHECK(watcher.Command({"WATCH", "k"}).raw == "+OK\r\n");
  CHECK(writer.Command({"SET", "k", "theirs"}).raw == "+OK\r\n");
  CHECK(watcher.Command({"MULTI"}).raw == "+OK\r\n");
  CHECK(watcher.Command({"SET", "k", "mine"}).raw == "+QUEUED\r\n");
  CHECK(watcher.Command({"EXEC"}).raw == "*-1\r\n");
  CHECK(watcher.Command({"GET", "k"}).raw == Bulk("theirs"));
  // Unwatched by EXEC: the retry goes through.
  CHECK(watcher.Command({"WATCH", "k"}).raw == "+OK\r\n");
  CHECK(watcher.Command({"MULTI"}).raw == "+OK\r\n");
  CHECK(watcher.Command({"SET", "k", "mine"}).raw == "+QUEUED\r\n");
  CHECK(watcher.Command({"EXEC"}).raw == "*1\r\n+OK\r\n");
  CHECK(writer.Command({"GET", "k"}).raw == Bulk("mine"));
}

TEST_CASE("PUBLISH reaches subscribers on every thread, in RESP2 and RESP3", "[protocol][pubsub]") {
  InProcessServer server;
  RespClient resp2(server.port());
  RespClient resp3(server.port());
  RespClient pattern(server.port());
  RespClient publisher(server.port());
  CHECK(resp2.Command({"SUBSCRIBE", "news"}).raw ==
        "*3\r\n" + Bulk("subscribe") + Bulk("news") + ":1\r\n");
  REQUIRE(resp3.Command({"HELLO", "3"}).type == '%');
  CHECK(resp3.Command({"SUBSCRIBE", "news"}).raw ==
        ">3\r\n" + Bulk("subscribe") + Bulk("news") + ":1\r\n");
  CHECK(pattern.Command({"PSUBSCRIBE", "n*"}).raw ==
        "*3\r\n" + Bulk("psubscribe") + Bulk("n*") + ":1\r\n");
  for (int i = 0; i < 50; ++i) {
    std::string payload = "m" + std::to_string(i);
    CHECK(publisher.Command({"PUBLISH", "news", payload}).raw == ":3\r\n");
  }
  // Every subscriber gets every message, in publishing order.
  for (int i = 0; i < 50; ++i) {
    std::string payload = "m" + std::to_string(i);
    CHECK(resp2.Read().raw == Message('*', "news", payload));
    CHECK(resp3.Read().raw == Message('>', "news", payload));
    CHECK(pattern.Read().raw == PMessage("n*", "news", payload));
  }
  // RESP2 subscribed mode; RESP3 runs anything, and its own publication arrives before the
  // reply to PUBLISH, as in Redis.
  CHECK(resp2.Command({"GET", "x"}).raw ==
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
        "are allowed in this context\r\n");
  CHECK(resp2.Command({"PING"}).raw == "*2\r\n" + Bulk("pong") + Bulk(""));
  CHECK(resp3.Command({"PING"}).raw == "+PONG\r\n");
  resp3.Send(EncodeCommand({"PUBLISH", "news", "self"}));
  CHECK(resp3.Read().raw == Message('>', "news", "self"));
  CHECK(resp3.Read().raw == ":3\r\n");
  CHECK(resp2.Read().raw == Message('*', "news", "self"));
  CHECK(pattern.Read().raw == PMessage("n*", "news", "self"));
}

TEST_CASE("a disconnected subscriber leaves its channels", "[protocol][pubsub]") {
  InProcessServer server;
  RespClient other(server.port());
  {
    RespClient sub(server.port());
    sub.Command({"SUBSCRIBE", "a", "b"});
    sub.Read();
    sub.Command({"PSUBSCRIBE", "p*"});
    CHECK(other.Command({"PUBSUB", "NUMSUB", "a"}).raw == "*2\r\n" + Bulk("a") + ":1\r\n");
    std::string list = other.Command({"CLIENT", "LIST"}).str;
    CHECK(list.find(" flags=P db=0 sub=2 psub=1 ") != std::string::npos);
    CHECK(list.find(" flags=N db=0 sub=0 psub=0 ") != std::string::npos);
  }
  WaitUntil(
      [&] {
        return other.Command({"PUBSUB", "NUMPAT"}).raw == ":0\r\n";
      },
      "the pattern subscription to go");
  CHECK(other.Command({"PUBSUB", "NUMSUB", "a", "b"}).raw ==
        "*4\r\n" + Bulk("a") + ":0\r\n" + Bulk("b") + ":0\r\n");
  CHECK(other.Command({"PUBLISH", "a", "x"}).raw == ":0\r\n");
}

TEST_CASE("keyspace notifications reach a subscriber on another thread", "[protocol][notify]") {
  InProcessServer server;
  RespClient sub(server.port());
  RespClient writer(server.port());
  CHECK(writer.Command({"CONFIG", "SET", "notify-keyspace-events", "KA"}).raw == "+OK\r\n");
  CHECK(sub.Command({"PSUBSCRIBE", "__keyspace@0__:*"}).type == '*');
  CHECK(writer.Command({"SET", "k", "v"}).raw == "+OK\r\n");
  CHECK(writer.Command({"EXPIRE", "k", "100"}).raw == ":1\r\n");
  CHECK(writer.Command({"DEL", "k"}).raw == ":1\r\n");
  CHECK(writer.Command({"HSET", "h", "f", "v"}).raw == ":1\r\n");
  // Deleted by the server's expiry (the cron's cycle or a lookup), not by a command.
  CHECK(writer.Command({"SET", "x", "v", "PX", "1"}).raw == "+OK\r\n");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"k", "set"}, {"k", "expire"}, {"k", "del"},     {"h", "hset"},
      {"x", "set"}, {"x", "expire"}, {"x", "expired"},
  };
  for (const auto& [key, event] : expected) {
    CHECK(sub.Read().raw == PMessage("__keyspace@0__:*", "__keyspace@0__:" + key, event));
  }
  CHECK(writer.Command({"EXISTS", "x"}).raw == ":0\r\n");
}

}  // namespace
}  // namespace rowcached::protocol_test
