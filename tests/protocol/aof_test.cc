// The append-only file over real sockets: replies to logged writes leave only once the AOF has
// the writes (per-I/O-thread group commit in the network layer), blocked clients served by a
// logged write included; and the files, checked by our repair tool and Redis' own.
#include "server/aof.h"

#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protocol/process.h"
#include "protocol/resp_client.h"
#include "protocol/test_server.h"
#include "server/network.h"

namespace rowcached::protocol_test {
namespace {

using server::AppendOnlyFile;

// Until the dispatcher logs write commands itself, these test commands do: run the built-in
// command, then append it as the dispatcher will (while the shard lock is still held).
void RegisterLoggedCommands(server::Registry& registry) {
  for (std::string name : {"set", "rpush"}) {
    const server::CommandSpec* builtin = registry.Find(name);
    REQUIRE(builtin != nullptr);
    server::CommandSpec spec = *builtin;
    spec.name = "log" + name;
    spec.handler = [builtin](server::CommandContext& ctx) {
      builtin->handler(ctx);
      std::vector<std::string_view> args(ctx.args.begin(), ctx.args.end());
      std::string upper = server::ToUpper(builtin->name);
      args[0] = upper;
      ctx.server.command_log()->Append(ctx.client.db.load(), args);
    };
    registry.Add(spec);
  }
}

// An in-process server with an AOF (appendfsync always) installed before serving.
class AofServer {
 public:
  explicit AofServer(const std::string& dir) : context_(MakeOptions(dir)) {
    RegisterLoggedCommands(context_.registry());
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
  constexpr int kClients = 4, kPerClient = 60;
  std::vector<std::thread> threads;
  std::atomic<int> missing{0};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      RespClient client(server.port());
      for (int i = 0; i < kPerClient; ++i) {
        std::string key = "k" + std::to_string(c) + ":" + std::to_string(i);
        if (client.Command({"LOGSET", key, "v"}).raw != "+OK\r\n") ++missing;
        if (ReadFile(server.incr_path()).find(Resp({"SET", key, "v"})) == std::string::npos) {
          ++missing;
        }
      }
      // Pipelined: every reply of the batch follows the batch's writes.
      std::string batch;
      for (int i = 0; i < 20; ++i) {
        batch += EncodeCommand({"LOGSET", "p" + std::to_string(c) + ":" + std::to_string(i), "v"});
      }
      client.Send(batch);
      for (int i = 0; i < 20; ++i) client.Read();
      std::string file = ReadFile(server.incr_path());
      for (int i = 0; i < 20; ++i) {
        if (file.find(Resp({"SET", "p" + std::to_string(c) + ":" + std::to_string(i), "v"})) ==
            std::string::npos) {
          ++missing;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(missing == 0);
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
    pusher.Send(EncodeCommand({"LOGRPUSH", key, "v"}));
    CHECK(waiter.Read().raw ==
          "*2\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$1\r\nv\r\n");
    CHECK(ReadFile(server.incr_path()).find(Resp({"RPUSH", key, "v"})) != std::string::npos);
    pusher.Read();
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
      CHECK(client.Command({"LOGSET", "k" + std::to_string(i), "v"}).raw == "+OK\r\n");
    }
    CHECK(client.Command({"LOGRPUSH", "l", "a", "b"}).raw == ":2\r\n");
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

}  // namespace
}  // namespace rowcached::protocol_test
