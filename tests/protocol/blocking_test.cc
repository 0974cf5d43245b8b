// Blocking list and sorted set commands over real sockets against an in-process server (two I/O
// threads): clients on different connections (and so, often, different I/O threads) block, get
// served by pushes from others, time out, disconnect while blocked. Waits are conditions polled on
// INFO's blocked_clients, never sleeps; timeouts are asserted by their reply, never by their
// duration.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "protocol/resp_client.h"
#include "protocol/test_server.h"

namespace rowcached::protocol_test {
namespace {

std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

std::string Pair(std::string_view key, std::string_view value) {
  return "*2\r\n" + Bulk(key) + Bulk(value);
}

int64_t BlockedClients(RespClient& c) {
  return std::stoll(InfoField(Info(c, "clients"), "blocked_clients"));
}

void WaitBlocked(RespClient& observer, int64_t n) {
  WaitUntil([&] { return BlockedClients(observer) == n; }, "blocked_clients:" + std::to_string(n));
}

TEST_CASE("BLPOP is served by an LPUSH from another connection", "[protocol][blocking]") {
  InProcessServer server;
  RespClient waiter(server.port());
  RespClient pusher(server.port());
  waiter.Send(EncodeCommand({"BLPOP", "none", "k", "0"}));
  WaitBlocked(pusher, 1);
  CHECK(pusher.Command({"LPUSH", "k", "v"}).raw == ":1\r\n");
  CHECK(waiter.Read().raw == Pair("k", "v"));
  CHECK(pusher.Command({"EXISTS", "k"}).raw == ":0\r\n");
  CHECK(BlockedClients(pusher) == 0);
  // The waiter's connection goes on as usual.
  CHECK(waiter.Command({"PING"}).raw == "+PONG\r\n");
}

TEST_CASE("commands pipelined behind a blocked one wait for it", "[protocol][blocking]") {
  InProcessServer server;
  RespClient waiter(server.port());
  RespClient pusher(server.port());
  waiter.Send(EncodeCommand({"BRPOP", "k", "0"}) + EncodeCommand({"RPUSH", "k", "mine"}) +
              EncodeCommand({"LRANGE", "k", "0", "-1"}));
  WaitBlocked(pusher, 1);
  CHECK(pusher.Command({"RPUSH", "k", "a", "b"}).raw == ":2\r\n");
  CHECK(waiter.Read().raw == Pair("k", "b"));
  CHECK(waiter.Read().raw == ":2\r\n");
  CHECK(waiter.Read().raw == "*2\r\n" + Bulk("a") + Bulk("mine"));
}

TEST_CASE("blocking commands time out with a null array", "[protocol][blocking]") {
  InProcessServer server;
  RespClient c(server.port());
  CHECK(c.Command({"BLPOP", "k", "0.1"}).raw == "*-1\r\n");
  CHECK(c.Command({"BRPOP", "k", "j", "0.1"}).raw == "*-1\r\n");
  CHECK(c.Command({"BLMOVE", "k", "d", "LEFT", "RIGHT", "0.1"}).raw == "*-1\r\n");
  CHECK(c.Command({"BRPOPLPUSH", "k", "d", "0.1"}).raw == "*-1\r\n");
  CHECK(c.Command({"BLMPOP", "0.1", "2", "k", "j", "LEFT", "COUNT", "3"}).raw == "*-1\r\n");
  CHECK(c.Command({"HELLO", "3"}).type == '%');
  CHECK(c.Command({"BLPOP", "k", "0.1"}).raw == "_\r\n");
  CHECK(c.Command({"BLMOVE", "k", "d", "LEFT", "RIGHT", "0.1"}).raw == "_\r\n");
  CHECK(c.Command({"HELLO", "2"}).type == '*');
  CHECK(BlockedClients(c) == 0);
  // Timed-out clients took nothing: a later push stays in the list.
  CHECK(c.Command({"RPUSH", "k", "v"}).raw == ":1\r\n");
  CHECK(c.Command({"LLEN", "k"}).raw == ":1\r\n");
}

TEST_CASE("three blocked clients are served in the order they blocked", "[protocol][blocking]") {
  InProcessServer server;
  RespClient observer(server.port());
  std::vector<std::unique_ptr<RespClient>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::make_unique<RespClient>(server.port()));
    waiters.back()->Send(EncodeCommand({"BLPOP", "q", "0"}));
    WaitBlocked(observer, i + 1);  // each blocks before the next, so the order is known
  }
  CHECK(observer.Command({"RPUSH", "q", "first", "second"}).raw == ":2\r\n");
  CHECK(waiters[0]->Read().raw == Pair("q", "first"));
  CHECK(waiters[1]->Read().raw == Pair("q", "second"));
  WaitBlocked(observer, 1);
  CHECK(observer.Command({"RPUSH", "q", "third"}).raw == ":1\r\n");
  CHECK(waiters[2]->Read().raw == Pair("q", "third"));
  CHECK(observer.Command({"EXISTS", "q"}).raw == ":0\r\n");
}

TEST_CASE("a client that disconnects while blocked is not served", "[protocol][blocking]") {
  InProcessServer server;
  RespClient observer(server.port());
  auto gone = std::make_unique<RespClient>(server.port());
  gone->Send(EncodeCommand({"BLPOP", "k", "0"}));
  WaitBlocked(observer, 1);
  RespClient next(server.port());
  next.Send(EncodeCommand({"BLPOP", "k", "0"}));
  WaitBlocked(observer, 2);
  gone->Close();
  WaitBlocked(observer, 1);  // the server noticed the disconnect
  CHECK(observer.Command({"LPUSH", "k", "x"}).raw == ":1\r\n");
  CHECK(next.Read().raw == Pair("k", "x"));

  // With nobody left waiting, the element stays in the list.
  auto alone = std::make_unique<RespClient>(server.port());
  alone->Send(EncodeCommand({"BRPOP", "k", "0"}));
  WaitBlocked(observer, 1);
  alone->Close();
  WaitBlocked(observer, 0);
  CHECK(observer.Command({"LPUSH", "k", "y"}).raw == ":1\r\n");
  CHECK(observer.Command({"LRANGE", "k", "0", "-1"}).raw == "*1\r\n" + Bulk("y"));
}

TEST_CASE("CLIENT KILL and CLIENT UNBLOCK end a wait", "[protocol][blocking]") {
  InProcessServer server;
  RespClient observer(server.port());
  RespClient killed(server.port());
  int64_t killed_id = killed.Command({"CLIENT", "ID"}).integer;
  killed.Send(EncodeCommand({"BLPOP", "k", "0"}));
  WaitBlocked(observer, 1);
  std::string list = observer.Command({"CLIENT", "LIST"}).str;
  CHECK(list.find("id=" + std::to_string(killed_id) + " ") != std::string::npos);
  CHECK(list.find("flags=b ") != std::string::npos);
  CHECK(list.find("cmd=blpop ") != std::string::npos);
  CHECK(observer.Command({"CLIENT", "KILL", "ID", std::to_string(killed_id)}).raw == ":1\r\n");
  killed.ExpectClosed();
  WaitBlocked(observer, 0);

  RespClient unblocked(server.port());
  int64_t id = unblocked.Command({"CLIENT", "ID"}).integer;
  unblocked.Send(EncodeCommand({"BLMOVE", "k", "d", "LEFT", "LEFT", "0"}));
  WaitBlocked(observer, 1);
  CHECK(observer.Command({"CLIENT", "UNBLOCK", std::to_string(id)}).raw == ":1\r\n");
  CHECK(unblocked.Read().raw == "*-1\r\n");
  unblocked.Send(EncodeCommand({"BLPOP", "k", "0"}));
  WaitBlocked(observer, 1);
  CHECK(observer.Command({"CLIENT", "UNBLOCK", std::to_string(id), "ERROR"}).raw == ":1\r\n");
  CHECK(unblocked.Read().raw == "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
  CHECK(observer.Command({"CLIENT", "UNBLOCK", std::to_string(id)}).raw == ":0\r\n");
  CHECK(observer.Command({"RPUSH", "k", "v"}).raw == ":1\r\n");
  CHECK(observer.Command({"LLEN", "k"}).raw == ":1\r\n");
}

TEST_CASE("BLMOVE chains: the moved element serves the clients blocked on the destination",
          "[protocol][blocking]") {
  InProcessServer server;
  RespClient observer(server.port());
  RespClient mover(server.port());
  RespClient second(server.port());
  RespClient popper(server.port());
  mover.Send(EncodeCommand({"BLMOVE", "a", "b", "RIGHT", "LEFT", "0"}));
  WaitBlocked(observer, 1);
  second.Send(EncodeCommand({"BRPOPLPUSH", "b", "c", "0"}));
  WaitBlocked(observer, 2);
  popper.Send(EncodeCommand({"BLPOP", "c", "0"}));
  WaitBlocked(observer, 3);
  CHECK(observer.Command({"RPUSH", "a", "x", "y"}).raw == ":2\r\n");
  CHECK(mover.Read().raw == Bulk("y"));
  CHECK(second.Read().raw == Bulk("y"));
  CHECK(popper.Read().raw == Pair("c", "y"));
  CHECK(observer.Command({"LRANGE", "a", "0", "-1"}).raw == "*1\r\n" + Bulk("x"));
  CHECK(observer.Command({"EXISTS", "b", "c"}).raw == ":0\r\n");
}

TEST_CASE("a client blocked on several keys is served by whichever gets an element",
          "[protocol][blocking]") {
  InProcessServer server;
  RespClient observer(server.port());
  RespClient waiter(server.port());
  waiter.Send(EncodeCommand({"BLMPOP", "0", "3", "k1", "k2", "k3", "RIGHT", "COUNT", "2"}));
  WaitBlocked(observer, 1);
  CHECK(observer.Command({"RPUSH", "k3", "a", "b", "c"}).raw == ":3\r\n");
  CHECK(waiter.Read().raw == "*2\r\n" + Bulk("k3") + "*2\r\n" + Bulk("c") + Bulk("b"));
  CHECK(observer.Command({"LRANGE", "k3", "0", "-1"}).raw == "*1\r\n" + Bulk("a"));

  waiter.Send(EncodeCommand({"BRPOP", "k1", "k2", "0"}));
  WaitBlocked(observer, 1);
  CHECK(observer.Command({"LPUSH", "k2", "z"}).raw == ":1\r\n");
  CHECK(waiter.Read().raw == Pair("k2", "z"));
  // Served once: the other key it waited on no longer serves it.
  CHECK(observer.Command({"LPUSH", "k1", "w"}).raw == ":1\r\n");
  CHECK(observer.Command({"LLEN", "k1"}).raw == ":1\r\n");
  CHECK(BlockedClients(observer) == 0);
}

TEST_CASE("many clients blocked on one key each get exactly one element", "[protocol][blocking]") {
  InProcessServer server;
  RespClient observer(server.port());
  constexpr int kClients = 8;
  std::vector<std::unique_ptr<RespClient>> waiters;
  for (int i = 0; i < kClients; ++i) {
    waiters.push_back(std::make_unique<RespClient>(server.port()));
    waiters.back()->Send(EncodeCommand({"BLPOP", "k", "0"}));
  }
  WaitBlocked(observer, kClients);
  // Pushes from several connections at once.
  std::vector<std::unique_ptr<RespClient>> pushers;
  for (int i = 0; i < kClients; ++i) pushers.push_back(std::make_unique<RespClient>(server.port()));
  for (int i = 0; i < kClients; ++i) {
    pushers[i]->Send(EncodeCommand({"RPUSH", "k", "v" + std::to_string(i)}));
  }
  for (auto& p : pushers) CHECK(p->Read().type == ':');
  std::set<std::string> got;
  for (auto& w : waiters) {
    Reply r = w->Read();
    REQUIRE(r.elems.size() == 2);
    got.insert(r.elems[1].str);
  }
  CHECK(got.size() == kClients);
  CHECK(observer.Command({"EXISTS", "k"}).raw == ":0\r\n");
  CHECK(BlockedClients(observer) == 0);
}

// ---------------------------------------------------------------------------------------------
// Sorted sets: BZPOPMIN, BZPOPMAX, BZMPOP (replies checked against redis-server 7.0.15)

// BZPOPMIN's [key, member, score] in RESP2.
std::string KeyMemberScore(std::string_view key, std::string_view member, std::string_view score) {
  return "*3\r\n" + Bulk(key) + Bulk(member) + Bulk(score);
}

TEST_CASE("BZPOPMIN is served by a ZADD from another connection", "[protocol][blocking][zsets]") {
  InProcessServer server;
  RespClient waiter(server.port());
  RespClient adder(server.port());
  waiter.Send(EncodeCommand({"BZPOPMIN", "none", "z", "0"}));
  WaitBlocked(adder, 1);
  CHECK(adder.Command({"ZADD", "z", "2", "b", "1", "a"}).raw == ":2\r\n");
  CHECK(waiter.Read().raw == KeyMemberScore("z", "a", "1"));
  CHECK(adder.Command({"ZRANGE", "z", "0", "-1"}).raw == "*1\r\n" + Bulk("b"));
  CHECK(BlockedClients(adder) == 0);
  // RESP3: the score is a double.
  CHECK(waiter.Command({"HELLO", "3"}).type == '%');
  waiter.Send(EncodeCommand({"BZPOPMAX", "y", "0"}));
  WaitBlocked(adder, 1);
  CHECK(adder.Command({"ZADD", "y", "1.5", "m"}).raw == ":1\r\n");
  CHECK(waiter.Read().raw == "*3\r\n" + Bulk("y") + Bulk("m") + ",1.5\r\n");
  CHECK(waiter.Command({"PING"}).raw == "+PONG\r\n");
}

TEST_CASE("clients blocked on a sorted set are served in the order they blocked",
          "[protocol][blocking][zsets]") {
  InProcessServer server;
  RespClient observer(server.port());
  std::vector<std::unique_ptr<RespClient>> waiters;
  const std::vector<std::vector<std::string>> commands = {
      {"BZPOPMIN", "z", "0"}, {"BZPOPMAX", "z", "0"}, {"BZMPOP", "0", "1", "z", "MIN"}};
  for (size_t i = 0; i < commands.size(); ++i) {
    waiters.push_back(std::make_unique<RespClient>(server.port()));
    waiters.back()->Send(EncodeCommand(commands[i]));
    WaitBlocked(observer, static_cast<int64_t>(i) + 1);  // the order is known
  }
  CHECK(observer.Command({"ZADD", "z", "1", "a", "2", "b"}).raw == ":2\r\n");
  CHECK(waiters[0]->Read().raw == KeyMemberScore("z", "a", "1"));
  CHECK(waiters[1]->Read().raw == KeyMemberScore("z", "b", "2"));
  WaitBlocked(observer, 1);
  CHECK(observer.Command({"ZADD", "z", "3", "c"}).raw == ":1\r\n");
  CHECK(waiters[2]->Read().raw == "*2\r\n" + Bulk("z") + "*1\r\n*2\r\n" + Bulk("c") + Bulk("3"));
  CHECK(observer.Command({"EXISTS", "z"}).raw == ":0\r\n");
}

TEST_CASE("BZMPOP with COUNT takes several members from the key that became ready",
          "[protocol][blocking][zsets]") {
  InProcessServer server;
  RespClient waiter(server.port());
  RespClient adder(server.port());
  waiter.Send(EncodeCommand({"BZMPOP", "0", "2", "a", "b", "MAX", "COUNT", "2"}));
  WaitBlocked(adder, 1);
  CHECK(adder.Command({"ZADD", "b", "1", "x", "2", "y", "3", "z"}).raw == ":3\r\n");
  CHECK(waiter.Read().raw == "*2\r\n" + Bulk("b") + "*2\r\n*2\r\n" + Bulk("z") + Bulk("3") +
                                 "*2\r\n" + Bulk("y") + Bulk("2"));
  CHECK(adder.Command({"ZCARD", "b"}).raw == ":1\r\n");
}

TEST_CASE("blocking sorted set pops time out, check arguments and never block in MULTI",
          "[protocol][blocking][zsets]") {
  InProcessServer server;
  RespClient c(server.port());
  CHECK(c.Command({"BZPOPMIN", "k", "0.1"}).raw == "*-1\r\n");
  CHECK(c.Command({"BZPOPMAX", "k", "j", "0.1"}).raw == "*-1\r\n");
  CHECK(c.Command({"BZMPOP", "0.1", "2", "k", "j", "MIN", "COUNT", "3"}).raw == "*-1\r\n");
  CHECK(c.Command({"HELLO", "3"}).type == '%');
  CHECK(c.Command({"BZPOPMIN", "k", "0.1"}).raw == "_\r\n");
  CHECK(c.Command({"HELLO", "2"}).type == '*');
  CHECK(BlockedClients(c) == 0);

  CHECK(c.Command({"BZPOPMIN", "k", "-1"}).raw == "-ERR timeout is negative\r\n");
  CHECK(c.Command({"BZMPOP", "-1", "1", "k", "MIN"}).raw == "-ERR timeout is negative\r\n");
  CHECK(c.Command({"BZMPOP", "0", "0", "k", "MIN"}).raw ==
        "-ERR numkeys should be greater than 0\r\n");
  CHECK(c.Command({"BZMPOP", "0", "3", "k", "MIN"}).raw == "-ERR syntax error\r\n");
  CHECK(c.Command({"SET", "s", "v"}).raw == "+OK\r\n");
  const std::string wrongtype =
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  CHECK(c.Command({"BZPOPMIN", "s", "0"}).raw == wrongtype);
  CHECK(c.Command({"BZMPOP", "0", "1", "s", "MAX"}).raw == wrongtype);

  CHECK(c.Command({"MULTI"}).raw == "+OK\r\n");
  CHECK(c.Command({"BZPOPMIN", "k", "0"}).raw == "+QUEUED\r\n");
  CHECK(c.Command({"BZMPOP", "0", "1", "k", "MIN"}).raw == "+QUEUED\r\n");
  CHECK(c.Command({"EXEC"}).raw == "*2\r\n*-1\r\n*-1\r\n");
  CHECK(BlockedClients(c) == 0);
  // Timed-out clients took nothing.
  CHECK(c.Command({"ZADD", "k", "1", "a"}).raw == ":1\r\n");
  CHECK(c.Command({"ZCARD", "k"}).raw == ":1\r\n");
}

TEST_CASE("a client that disconnects while blocked on a sorted set is not served",
          "[protocol][blocking][zsets]") {
  InProcessServer server;
  RespClient observer(server.port());
  auto gone = std::make_unique<RespClient>(server.port());
  gone->Send(EncodeCommand({"BZPOPMIN", "k", "0"}));
  WaitBlocked(observer, 1);
  RespClient next(server.port());
  next.Send(EncodeCommand({"BZMPOP", "0", "1", "k", "MIN"}));
  WaitBlocked(observer, 2);
  gone->Close();
  WaitBlocked(observer, 1);
  CHECK(observer.Command({"ZADD", "k", "1", "a", "2", "b"}).raw == ":2\r\n");
  CHECK(next.Read().raw == "*2\r\n" + Bulk("k") + "*1\r\n*2\r\n" + Bulk("a") + Bulk("1"));
  CHECK(observer.Command({"ZRANGE", "k", "0", "-1"}).raw == "*1\r\n" + Bulk("b"));
}

}  // namespace
}  // namespace rowcached::protocol_test
