// The append-only file over real sockets: replies to logged writes leave only once the AOF has
// the writes (per-I/O-thread group commit in the network layer), blocked clients served by a
// logged write included; the files, checked by our repair tool and Redis' own; and the AOF
// turned on and off at run time while clients write.
#include "server/aof.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/process.h"
#include "protocol/resp_client.h"
#include "protocol/test_server.h"
#include "server/dispatch.h"
#include "server/keyspace.h"
#include "server/network.h"

namespace rowcached::protocol_test {
namespace {

using server::AppendOnlyFile;

// An in-process server with an AOF (appendfsync always) installed before serving.
class AofServer {
 public:
  explicit AofServer(const std::string& dir) : context_(MakeOptions(dir)) {
    std::string error;
    aof_ = AppendOnlyFile::Open(context_, child_, &error);
    INFO(error);
    REQUIRE(aof_ != nullptr);
    context_.set_command_log(aof_.get());
    network_ = std::make_unique<server::NetworkServer>(context_);
    REQUIRE(network_->Start(&error));
  }
  ~AofServer() {
    network_->RequestStop();
    network_->Wait();
    network_.reset();
    context_.set_command_log(nullptr);
  }
  uint16_t port() const { return network_->port(); }
  std::string incr_path() const { return aof_->directory() + "/appendonly.aof.1.incr.aof"; }
  // Bytes of the increment fsynced so far (it starts empty: file offsets are the log's).
  uint64_t synced_offset() const { return aof_->synced_offset(); }

 private:
  static server::Options MakeOptions(const std::string& dir) {
    spdlog::set_level(spdlog::level::err);
    server::Options o;
    o.bind = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.dir = dir;
    o.appendonly = true;
    o.appendfsync = "always";
    o.aof_use_rdb_preamble = false;
    return o;
  }

  server::ServerContext context_;
  server::BackgroundChild child_;
  std::unique_ptr<AppendOnlyFile> aof_;
  std::unique_ptr<server::NetworkServer> network_;
};

std::string Resp(const std::vector<std::string_view>& args) {
  std::string out;
  server::aof::AppendCommand(&out, args);
  return out;
}

TEST_CASE("AOF: a reply to a logged write is sent only once the write is in the file",
          "[protocol][aof]") {
  TempDir tmp;
  AofServer server(tmp.path().string());
  // Several connections (so both I/O threads) with requests in flight at once; one thread
  // drives them all, as Catch2's assertions must stay on the test's thread.
  constexpr int kClients = 4, kRounds = 40, kBatch = 20;
  std::vector<std::unique_ptr<RespClient>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(std::make_unique<RespClient>(server.port()));
  auto key = [](int c, int round, int i) {
    return "k" + std::to_string(c) + ":" + std::to_string(round) + ":" + std::to_string(i);
  };
  for (int round = 0; round < kRounds; ++round) {
    // Alternately one request per client and a pipelined batch per client.
    const int batch = round % 2 == 0 ? 1 : kBatch;
    for (int c = 0; c < kClients; ++c) {
      std::string bytes;
      for (int i = 0; i < batch; ++i) bytes += EncodeCommand({"SET", key(c, round, i), "v"});
      clients[c]->Send(bytes);
    }
    for (int c = 0; c < kClients; ++c) {
      for (int i = 0; i < batch; ++i) REQUIRE(clients[c]->Read().raw == "+OK\r\n");
      // Client c has its replies: its writes are in the file.
      std::string file = ReadFile(server.incr_path());
      for (int i = 0; i < batch; ++i) {
        CHECK(file.find(Resp({"SET", key(c, round, i), "v"})) != std::string::npos);
      }
    }
  }
}

TEST_CASE(
    "AOF: a blocked client served by a logged write is answered after the write is in "
    "the file",
    "[protocol][aof]") {
  TempDir tmp;
  AofServer server(tmp.path().string());
  for (int round = 0; round < 20; ++round) {
    RespClient waiter(server.port());
    RespClient pusher(server.port());
    const std::string key = "list" + std::to_string(round);
    waiter.Send(EncodeCommand({"BLPOP", key, "0"}));
    WaitUntil([&] { return InfoField(Info(pusher, "clients"), "blocked_clients") == "1"; },
              "the waiter to block");
    pusher.Send(EncodeCommand({"RPUSH", key, "v"}));
    CHECK(waiter.Read().raw ==
          "*2\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$1\r\nv\r\n");
    CHECK(ReadFile(server.incr_path()).find(Resp({"RPUSH", key, "v"})) != std::string::npos);
    pusher.Read();
  }
}

TEST_CASE(
    "AOF: a command that arrives while a large reply is still being written is answered after "
    "it, and the thread serves other clients meanwhile",
    "[protocol][aof]") {
  TempDir tmp;
  AofServer server(tmp.path().string());
  RespClient client(server.port());
  const std::string big(32 * 1024 * 1024, 'x');  // far more than the sockets' buffers hold
  REQUIRE(client.Command({"SET", "big", big}).raw == "+OK\r\n");
  // The PING is sent once the GET's reply has begun to arrive, and nothing is read before: the
  // reply cannot be written out, so the PING runs while the server's write is still under way.
  client.Send(EncodeCommand({"GET", "big"}));
  client.WaitReadable();
  client.Send(EncodeCommand({"PING"}));
  // Other clients (both I/O threads) are served meanwhile.
  for (int i = 0; i < 4; ++i) {
    RespClient other(server.port());
    CHECK(other.Command({"SET", "k" + std::to_string(i), "v"}).raw == "+OK\r\n");
  }
  Reply value = client.Read();
  CHECK(value.type == '$');
  CHECK(value.str.size() == big.size());
  CHECK(client.Read().raw == "+PONG\r\n");
}

TEST_CASE("AOF: clients that close while their replies wait for the file stop nothing",
          "[protocol][aof]") {
  TempDir tmp;
  AofServer server(tmp.path().string());
  // One client per I/O thread (connections are spread round-robin) checks its thread serves.
  RespClient first(server.port()), second(server.port());
  for (int i = 0; i < 100; ++i) {
    {
      // The write and the end of the stream in one go: the close is often read in the same
      // batch, while the reply waits for the round.
      RespClient leaving(server.port());
      leaving.Send(EncodeCommand({"SET", "gone" + std::to_string(i), "v"}));
    }
    REQUIRE(first.Command({"PING"}).raw == "+PONG\r\n");
    REQUIRE(second.Command({"PING"}).raw == "+PONG\r\n");
  }
  WaitUntil([&] { return InfoField(Info(first, "clients"), "connected_clients") == "2"; },
            "the closed clients to be gone");
}

TEST_CASE(
    "AOF: a message a client publishes to itself comes before its PUBLISH reply, also for "
    "commands run after a held reply",
    "[protocol][aof]") {
  TempDir tmp;
  AofServer server(tmp.path().string());
  RespClient client(server.port());
  REQUIRE(client.Command({"HELLO", "3"}).type == '%');
  REQUIRE(client.Command({"SUBSCRIBE", "ch"}).type == '>');
  const std::string message = ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n";
  for (int i = 0; i < 200; ++i) {
    // Two segments: the second often arrives while the SET's reply waits for the file, and is
    // then run by the round that releases it.
    client.Send(EncodeCommand({"SET", "k", "v"}));
    client.Send(EncodeCommand({"PUBLISH", "ch", "m"}) + EncodeCommand({"PING"}));
    REQUIRE(client.Read().raw == "+OK\r\n");
    REQUIRE(client.Read().raw == message);
    REQUIRE(client.Read().raw == ":1\r\n");
    REQUIRE(client.Read().raw == "+PONG\r\n");
  }
}

TEST_CASE("AOF: a subscriber gets a message only once the write published before it is fsynced",
          "[protocol][aof]") {
  TempDir tmp;
  AofServer server(tmp.path().string());
  // Connections are spread round-robin: the two are on different I/O threads, so the message
  // reaches the subscriber's thread while the publisher's thread may not have written the SET.
  RespClient subscriber(server.port()), publisher(server.port());
  REQUIRE(subscriber.Command({"SUBSCRIBE", "ch"}).type == '*');
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i);
    publisher.Send(EncodeCommand({"SET", key, "v"}) + EncodeCommand({"PUBLISH", "ch", key}));
    REQUIRE(subscriber.Read().elems.size() == 3);
    const uint64_t synced = server.synced_offset();
    const std::string set = Resp({"SET", key, "v"});
    const size_t at = ReadFile(server.incr_path()).find(set);
    REQUIRE(at != std::string::npos);
    CHECK(synced >= at + set.size());
    REQUIRE(publisher.Read().raw == "+OK\r\n");
    REQUIRE(publisher.Read().raw == ":1\r\n");
  }
}

TEST_CASE("AOF: our files pass redis-check-aof and our checker fixes a cut file",
          "[protocol][aof]") {
  const std::string redis_check = RequireTool("redis-check-aof", "redis-tools");
  TempDir tmp;
  {
    AofServer server(tmp.path().string());
    RespClient client(server.port());
    for (int i = 0; i < 10; ++i) {
      CHECK(client.Command({"SET", "k" + std::to_string(i), "v"}).raw == "+OK\r\n");
    }
    CHECK(client.Command({"RPUSH", "l", "a", "b"}).raw == ":2\r\n");
  }
  const fs::path dir = tmp.path() / "appendonlydir";
  RunResult redis = Run({redis_check, (dir / "appendonly.aof.manifest").string()}, tmp.path());
  INFO(redis.out << redis.err);
  CHECK(redis.exit_code == 0);
  CHECK(redis.out.find("is valid") != std::string::npos);
  // Cut the last command in half: both checkers see it; ours fixes it without asking.
  const fs::path incr = dir / "appendonly.aof.1.incr.aof";
  const auto size = fs::file_size(incr);
  fs::resize_file(incr, size - 5);
  RunResult ours =
      Run({ROWCACHED_CHECK_AOF_BINARY, (dir / "appendonly.aof.manifest").string()}, tmp.path());
  INFO(ours.out << ours.err);
  CHECK(ours.exit_code == 1);
  CHECK(ours.out.find("is not valid") != std::string::npos);
  RunResult fixed =
      Run({ROWCACHED_CHECK_AOF_BINARY, "--fix", (dir / "appendonly.aof.manifest").string()},
          tmp.path());
  INFO(fixed.out << fixed.err);
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find("Successfully truncated AOF") != std::string::npos);
  CHECK(fs::file_size(incr) == size - Resp({"RPUSH", "l", "a", "b"}).size());
  redis = Run({redis_check, (dir / "appendonly.aof.manifest").string()}, tmp.path());
  CHECK(redis.exit_code == 0);
}

// A private redis-server 7.0 with appendonly on (or off) on `dir` (the AOF's commands, no RDB
// preamble).
class RedisServer {
 public:
  explicit RedisServer(const fs::path& dir, bool appendonly = true)
      : port_(FreePort()),
        process_(
            {RequireTool("redis-server", "redis-server"), "--port", std::to_string(port_), "--bind",
             "127.0.0.1", "--dir", dir.string(), "--save", "", "--appendonly",
             appendonly ? "yes" : "no", "--aof-use-rdb-preamble", "no", "--appendfsync", "always"},
            dir) {
    WaitUntil([&] { return CanConnect(port_); }, "redis-server to listen");
    // It listens while it loads its AOF, answering -LOADING meanwhile.
    RespClient c(port_);
    WaitUntil([&] { return InfoField(Info(c, "persistence"), "loading") == "0"; },
              "redis-server to load its AOF");
  }
  ~RedisServer() {
    {
      RespClient c(port_);
      c.Send(EncodeCommand({"SHUTDOWN", "NOSAVE"}));
    }
    process_.Finish(std::chrono::seconds(20));
  }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
  Process process_;
};

// Runs commands against a ServerContext through the dispatcher.
std::string RunIn(server::ServerContext& context, server::ClientState& client,
                  const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string out;
  server::ReplyBuilder reply(&out);
  server::Dispatch(context, client, views, reply);
  return out;
}

TEST_CASE("AOF: an AOF written and rewritten by redis-server 7.0 loads into rowcached",
          "[protocol][aof]") {
  TempDir tmp;
  {
    RedisServer redis(tmp.path());
    RespClient c(redis.port());
    CHECK(c.Command({"SET", "s", "v", "EX", "1000"}).raw == "+OK\r\n");
    CHECK(c.Command({"RPUSH", "l", "a", "b", "c"}).raw == ":3\r\n");
    CHECK(c.Command({"SADD", "set", "x", "y"}).raw == ":2\r\n");
    CHECK(c.Command({"ZADD", "z", "1", "a", "2.5", "b"}).raw == ":2\r\n");
    CHECK(c.Command({"HSET", "h", "f", "v"}).raw == ":1\r\n");
    // The rewrite writes a base of commands; what follows goes to the next increment.
    CHECK(c.Command({"BGREWRITEAOF"}).raw == "+Background append only file rewriting started\r\n");
    WaitUntil(
        [&] {
          std::string info = Info(c, "persistence");
          return InfoField(info, "aof_rewrites") == "1" &&
                 InfoField(info, "aof_rewrite_in_progress") == "0";
        },
        "redis' rewrite to finish");
    CHECK(c.Command({"INCR", "n"}).raw == ":1\r\n");
    CHECK(c.Command({"EXPIRE", "l", "500"}).raw == ":1\r\n");
    CHECK(c.Command({"SELECT", "3"}).raw == "+OK\r\n");
    CHECK(c.Command({"MULTI"}).raw == "+OK\r\n");
    c.Command({"SET", "in3", "x"});
    c.Command({"LPUSH", "l3", "y"});
    CHECK(c.Command({"EXEC"}).raw == "*2\r\n+OK\r\n:1\r\n");
  }
  server::Options o;
  o.dir = tmp.path().string();
  o.appendonly = true;
  server::ServerContext context(o);
  std::string error;
  server::AofLoadResult result;
  REQUIRE(server::LoadAppendOnlyFile(context, o, &error, &result));
  INFO(error);
  CHECK(result.found);
  INFO(ReadFile(tmp.path() / "appendonlydir" / "appendonly.aof.manifest"));
  CHECK(result.files_loaded == 2);
  CHECK(ReadFile(tmp.path() / "appendonlydir" / "appendonly.aof.manifest")
            .starts_with("file appendonly.aof.2.base.aof seq 2 type b\n"));
  server::ClientState client;
  client.authenticated = true;
  CHECK(RunIn(context, client, {"GET", "s"}) == "$1\r\nv\r\n");
  CHECK(std::stoll(RunIn(context, client, {"TTL", "s"}).substr(1)) > 900);
  CHECK(std::stoll(RunIn(context, client, {"TTL", "l"}).substr(1)) > 400);
  CHECK(RunIn(context, client, {"LRANGE", "l", "0", "-1"}) ==
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
  CHECK(RunIn(context, client, {"SCARD", "set"}) == ":2\r\n");
  CHECK(RunIn(context, client, {"ZSCORE", "z", "b"}) == "$3\r\n2.5\r\n");
  CHECK(RunIn(context, client, {"HGET", "h", "f"}) == "$1\r\nv\r\n");
  CHECK(RunIn(context, client, {"GET", "n"}) == "$1\r\n1\r\n");
  CHECK(RunIn(context, client, {"SELECT", "3"}) == "+OK\r\n");
  CHECK(RunIn(context, client, {"GET", "in3"}) == "$1\r\nx\r\n");
  CHECK(RunIn(context, client, {"LPOP", "l3"}) == "$1\r\ny\r\n");
}

TEST_CASE("AOF: an AOF written by rowcached loads into redis-server 7.0", "[protocol][aof]") {
  TempDir tmp;
  {
    AofServer server(tmp.path().string());
    RespClient client(server.port());
    CHECK(client.Command({"SET", "a", "1"}).raw == "+OK\r\n");
    CHECK(client.Command({"SELECT", "2"}).raw == "+OK\r\n");
    CHECK(client.Command({"RPUSH", "l", "x", "y"}).raw == ":2\r\n");
  }
  RedisServer redis(tmp.path());
  RespClient c(redis.port());
  CHECK(c.Command({"GET", "a"}).raw == "$1\r\n1\r\n");
  CHECK(c.Command({"SELECT", "2"}).raw == "+OK\r\n");
  CHECK(c.Command({"LRANGE", "l", "0", "-1"}).raw == "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
}

}  // namespace
}  // namespace rowcached::protocol_test

// CONFIG SET appendonly at run time, over real sockets while clients write on both I/O threads.
namespace rowcached::protocol_test {
namespace {

// A client on its own thread writing distinct keys in pipelined batches until told to stop,
// with raw sockets (no Catch2 assertion off the test's thread): it counts the writes
// acknowledged with +OK and anything else as an error.
class Writer {
 public:
  Writer(uint16_t port, int id) : id_(id) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{static_cast<time_t>(kDeadline.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Writer() {
    Stop();
    ::close(fd_);
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t acked() const { return acked_.load(); }
  int64_t errors() const { return errors_.load(); }

 private:
  void Loop() {
    constexpr int kBatch = 50;
    const std::string ok = "+OK\r\n";
    while (!stop_) {
      std::string bytes;
      for (int i = 0; i < kBatch; ++i) {
        bytes +=
            EncodeCommand({"SET", "w" + std::to_string(id_) + ":" + std::to_string(next_++), "v"});
      }
      if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(bytes.size())) {
        ++errors_;
        return;
      }
      std::string replies;
      char buf[4096];
      while (replies.size() < ok.size() * kBatch) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
          ++errors_;
          return;
        }
        replies.append(buf, static_cast<size_t>(n));
      }
      for (int i = 0; i < kBatch; ++i) {
        (replies.compare(i * ok.size(), ok.size(), ok) == 0 ? acked_ : errors_)++;
      }
    }
  }

  const int id_;
  int fd_ = -1;
  int64_t next_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> errors_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("AOF: CONFIG SET appendonly toggled while clients write, the last AOF holds them all",
          "[protocol][aof][config]") {
  TempDir tmp;
  server::Options o;
  o.dir = tmp.path().string();
  o.appendonly = false;
  o.appendfsync = "everysec";
  InProcessServer server(o);
  RespClient admin(server.port());
  std::vector<std::unique_ptr<Writer>> writers;
  for (int i = 0; i < 4; ++i) writers.push_back(std::make_unique<Writer>(server.port(), i));
  auto total_acked = [&] {
    int64_t n = 0;
    for (const auto& w : writers) n += w->acked();
    return n;
  };
  // On and off again while the writers run: each "yes" forks a first rewrite, each "no" kills
  // it and retires the log the I/O threads append to.
  for (int round = 0; round < 3; ++round) {
    const int64_t before = total_acked();
    REQUIRE(admin.Command({"CONFIG", "SET", "appendonly", "yes"}).raw == "+OK\r\n");
    WaitUntil([&] { return total_acked() > before + 200; }, "writes while the AOF is on");
    REQUIRE(admin.Command({"CONFIG", "SET", "appendonly", "no"}).raw == "+OK\r\n");
    CHECK(InfoField(Info(admin, "persistence"), "aof_enabled") == "0");
    WaitUntil([&] { return total_acked() > before + 400; }, "writes while the AOF is off");
  }
  REQUIRE(admin.Command({"CONFIG", "SET", "appendonly", "yes"}).raw == "+OK\r\n");
  WaitForFirstAofRewrite(admin);
  CHECK(InfoField(Info(admin, "persistence"), "aof_enabled") == "1");
  const int64_t at_rewrite = total_acked();
  WaitUntil([&] { return total_acked() > at_rewrite + 200; }, "writes after the rewrite");
  for (auto& w : writers) w->Stop();
  for (const auto& w : writers) CHECK(w->errors() == 0);
  const int64_t acked = total_acked();
  CHECK(admin.Command({"DBSIZE"}).integer == acked);

  // What a restart with appendonly yes loads: every acknowledged write, before and after.
  server::Options reload = o;
  reload.appendonly = true;
  server::ServerContext fresh(reload);
  std::string error;
  server::AofLoadResult result;
  REQUIRE(server::LoadAppendOnlyFile(fresh, reload, &error, &result));
  CHECK(result.found);
  server::ShardLocks locks;
  locks.LockAll(fresh.keyspace());
  CHECK(static_cast<int64_t>(server::Db(&fresh.keyspace(), 0).Size()) == acked);
}

TEST_CASE(
    "AOF: CONFIG SET appendonly from two clients at once: the setting says what is so, and the "
    "AOF turned on last holds every write",
    "[protocol][aof][config]") {
  TempDir tmp;
  server::Options o;
  o.dir = tmp.path().string();
  o.appendonly = false;
  o.appendfsync = "everysec";
  InProcessServer server(o);
  // Connections are spread round-robin: the two switching clients are on different I/O threads.
  RespClient first(server.port()), second(server.port());
  std::vector<std::unique_ptr<Writer>> writers;
  for (int i = 0; i < 2; ++i) writers.push_back(std::make_unique<Writer>(server.port(), i));
  // Each sends its switches in one pipeline, so the two run into each other: a "yes" racing a
  // "no" that is still retiring the AOF, two "yes" at once, a "no" during a first rewrite.
  constexpr int kSwitches = 20;
  std::string first_bytes, second_bytes;
  for (int i = 0; i < kSwitches; ++i) {
    first_bytes += EncodeCommand({"CONFIG", "SET", "appendonly", i % 2 == 0 ? "yes" : "no"});
    second_bytes += EncodeCommand({"CONFIG", "SET", "appendonly", i % 3 == 0 ? "no" : "yes"});
  }
  first.Send(first_bytes);
  second.Send(second_bytes);
  for (int i = 0; i < kSwitches; ++i) {
    CHECK(first.Read().raw == "+OK\r\n");
    CHECK(second.Read().raw == "+OK\r\n");
  }
  // Whatever the interleaving, the setting and the AOF agree.
  const std::string setting = first.Command({"CONFIG", "GET", "appendonly"}).elems.at(1).str;
  CHECK(InfoField(Info(first, "persistence"), "aof_enabled") == (setting == "yes" ? "1" : "0"));
  REQUIRE(first.Command({"CONFIG", "SET", "appendonly", "yes"}).raw == "+OK\r\n");
  WaitForFirstAofRewrite(first);
  const int64_t at_rewrite = writers[0]->acked() + writers[1]->acked();
  WaitUntil([&] { return writers[0]->acked() + writers[1]->acked() > at_rewrite + 200; },
            "writes after the rewrite");
  for (auto& w : writers) w->Stop();
  for (const auto& w : writers) CHECK(w->errors() == 0);
  const int64_t acked = writers[0]->acked() + writers[1]->acked();
  CHECK(first.Command({"DBSIZE"}).integer == acked);

  server::Options reload = o;
  reload.appendonly = true;
  server::ServerContext fresh(reload);
  std::string error;
  server::AofLoadResult result;
  REQUIRE(server::LoadAppendOnlyFile(fresh, reload, &error, &result));
  server::ShardLocks locks;
  locks.LockAll(fresh.keyspace());
  CHECK(static_cast<int64_t>(server::Db(&fresh.keyspace(), 0).Size()) == acked);
}

}  // namespace rowcached::protocol_test

namespace rowcached::protocol_test {
namespace {

// What a client sees of CONFIG SET appendonly on a server started with appendonly no over the
// AOF an earlier run left in `dir`: the replies, the INFO fields, and the files at the end.
std::vector<std::string> TurnOnAndOffOverAnEarlierAof(uint16_t port, const fs::path& dir) {
  RespClient c(port);
  std::vector<std::string> seen;
  auto run = [&](std::vector<std::string> args) { seen.push_back(c.Command(args).raw); };
  auto info = [&](const std::string& field) {
    seen.push_back(field + ":" + InfoField(Info(c, "persistence"), field));
  };
  run({"DBSIZE"});  // the earlier AOF is not loaded
  run({"SET", "fresh", "1"});
  run({"CONFIG", "SET", "appendonly", "maybe"});
  run({"CONFIG", "SET", "appendonly", "yes"});
  info("aof_enabled");
  run({"SET", "after", "1"});
  WaitForFirstAofRewrite(c);
  info("aof_last_bgrewrite_status");
  run({"CONFIG", "SET", "appendonly", "yes"});
  run({"CONFIG", "GET", "appendonly"});
  const fs::path aof_dir = dir / "appendonlydir";
  seen.push_back(ReadFile(aof_dir / "appendonly.aof.manifest"));
  std::set<std::string> files;
  for (const auto& f : fs::directory_iterator(aof_dir)) files.insert(f.path().filename());
  for (const auto& f : files) seen.push_back(f);
  run({"CONFIG", "SET", "appendonly", "no"});
  info("aof_enabled");
  info("aof_rewrite_in_progress");
  run({"CONFIG", "SET", "appendonly", "no"});
  run({"CONFIG", "GET", "appendonly"});
  return seen;
}

}  // namespace

TEST_CASE("AOF: CONFIG SET appendonly over an earlier AOF replies and leaves files as Redis 7.0",
          "[protocol][aof][config]") {
  TempDir redis_dir, ours_dir;
  {
    RedisServer redis(redis_dir.path());
    RespClient c(redis.port());
    REQUIRE(c.Command({"SET", "stale", "1"}).raw == "+OK\r\n");
  }
  std::vector<std::string> redis_saw;
  {
    RedisServer redis(redis_dir.path(), /*appendonly=*/false);
    redis_saw = TurnOnAndOffOverAnEarlierAof(redis.port(), redis_dir.path());
  }
  const std::vector<std::string> args = {"--persistence.aof_use_rdb_preamble=false",
                                         "--persistence.appendfsync=always", "--persistence.save="};
  auto with = [&](const std::string& appendonly) {
    std::vector<std::string> a = args;
    a.push_back("--persistence.appendonly=" + appendonly);
    return a;
  };
  {
    RowcachedProcess ours(ours_dir.path(), with("true"));
    RespClient c(ours.port());
    REQUIRE(c.Command({"SET", "stale", "1"}).raw == "+OK\r\n");
    ours.Shutdown();
  }
  RowcachedProcess ours(ours_dir.path(), with("false"));
  CHECK(TurnOnAndOffOverAnEarlierAof(ours.port(), ours_dir.path()) == redis_saw);
  ours.Shutdown();
}

}  // namespace rowcached::protocol_test
