// Real Redis clients (redis-cli, redis-benchmark from Debian's redis-tools) against the real
// `rowcached` binary, started on a free port by each test and stopped with SHUTDOWN; and the
// binary's command line: bad configuration, --help, --version.
#include <fstream>

#include "protocol/process.h"
#include "protocol/resp_client.h"
#include "protocol/test_server.h"
#include "server/server_context.h"

namespace rowcached::protocol_test {
namespace {

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  lines.push_back(cur);
  return lines;
}

bool Blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

TEST_CASE("redis-cli PING SET GET and INFO against the rowcached binary", "[real-clients]") {
  std::string cli = RequireTool("redis-cli", "redis-tools");
  RowcachedProcess server;
  std::string p = std::to_string(server.port());
  auto cli_result = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {cli, "-p", p};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv, server.dir());
  };
  auto cli_run = [&](std::vector<std::string> args) {
    RunResult r = cli_result(args);
    INFO("redis-cli " << args.at(0) << " stderr: " << r.err);
    CHECK(r.exit_code == 0);
    return r.out;
  };
  CHECK(cli_run({"PING"}) == "PONG\n");
  CHECK(cli_run({"SET", "greeting", "hello world"}) == "OK\n");
  CHECK(cli_run({"GET", "greeting"}) == "hello world\n");
  CHECK(cli_run({"GET", "missing"}) == "\n");  // redis-cli prints nil as an empty line raw
  CHECK(cli_run({"INCR", "counter"}) == "1\n");
  RunResult unknown = cli_result({"NOSUCH"});
  CHECK((unknown.out + unknown.err).find("ERR unknown command 'NOSUCH'") != std::string::npos);
  std::string info = cli_run({"INFO", "server"});
  CHECK(info.find("redis_version:7.0.15") != std::string::npos);
  CHECK(info.find("tcp_port:" + p) != std::string::npos);
  // RESP3 through the real client.
  std::string hello = cli_run({"-3", "HELLO", "3"});
  CHECK(hello.find("proto") != std::string::npos);
  server.Shutdown();
}

TEST_CASE("redis-cli --pipe mass insert of 100000 keys", "[real-clients]") {
  std::string cli = RequireTool("redis-cli", "redis-tools");
  RowcachedProcess server;
  fs::path input = server.dir() / "mass-insert.resp";
  {
    std::ofstream out(input, std::ios::binary);
    for (int i = 0; i < 100000; ++i) {
      out << EncodeCommand({"SET", "key:" + std::to_string(i), "value:" + std::to_string(i)});
    }
  }
  RunResult r = Run({cli, "-p", std::to_string(server.port()), "--pipe"}, server.dir(),
                    std::chrono::seconds(120), input);
  INFO("redis-cli --pipe stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("errors: 0, replies: 100000") != std::string::npos);

  RespClient c(server.port());
  CHECK(c.Command({"DBSIZE"}).raw == ":100000\r\n");
  CHECK(c.Command({"GET", "key:0"}).str == "value:0");
  CHECK(c.Command({"GET", "key:99999"}).str == "value:99999");
  CHECK(InfoField(Info(c, "keyspace"), "db0") == "keys=100000,expires=0,avg_ttl=0");
  server.Shutdown();
}

TEST_CASE("redis-benchmark set get incr mset ping runs without errors", "[real-clients]") {
  std::string bench = RequireTool("redis-benchmark", "redis-tools");
  RowcachedProcess server;
  RunResult r = Run({bench, "-q", "-n", "20000", "-t", "set,get,incr,mset,ping", "-p",
                     std::to_string(server.port())},
                    server.dir(), std::chrono::seconds(180));
  INFO("redis-benchmark stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  std::vector<std::string> results;
  for (const auto& line : SplitLines(r.out + "\n" + r.err)) {
    if (Blank(line)) continue;
    if (line.find("rps=") != std::string::npos) continue;  // progress lines, overwritten by \r
    INFO("line: " << line);
    CHECK(line.find("rror") == std::string::npos);
    CHECK(line.find("requests per second") != std::string::npos);
    results.push_back(line.substr(0, line.find(':')));
  }
  std::sort(results.begin(), results.end());
  CHECK(results == std::vector<std::string>{"GET", "INCR", "MSET (10 keys)", "PING_INLINE",
                                            "PING_MBULK", "SET"});
  RespClient c(server.port());
  // INCR ran 20000 times on one key.
  CHECK(c.Command({"GET", "counter:__rand_int__"}).str == "20000");
  server.Shutdown();
}

TEST_CASE("Bad configuration stops the binary with a message naming where, key and reason",
          "[real-clients]") {
  TempDir dir;
  SECTION("command line value") {
    RunResult r = Run({ROWCACHED_BINARY, "--server.port=notanumber"}, dir.path());
    INFO("stderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("command line") != std::string::npos);
    CHECK(r.err.find("server.port") != std::string::npos);
    CHECK(r.err.find("expected an integer") != std::string::npos);
    CHECK(r.err.find("notanumber") != std::string::npos);
  }
  SECTION("command line unknown key") {
    RunResult r = Run({ROWCACHED_BINARY, "--server.no_such_key=1"}, dir.path());
    INFO("stderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("command line") != std::string::npos);
    CHECK(r.err.find("server.no_such_key") != std::string::npos);
    CHECK(r.err.find("unknown key") != std::string::npos);
  }
  SECTION("config file with an unknown key") {
    fs::path file = dir.path() / "bad.toml";
    std::ofstream(file) << "[server]\nport = 7001\nno_such_key = 1\n";
    RunResult r = Run({ROWCACHED_BINARY, "--config", file.string()}, dir.path());
    INFO("stderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find(file.string()) != std::string::npos);
    CHECK(r.err.find("server.no_such_key") != std::string::npos);
    CHECK(r.err.find("unknown key") != std::string::npos);
  }
  SECTION("config file with a bad value") {
    fs::path file = dir.path() / "bad-value.toml";
    std::ofstream(file) << "[cache]\nmaxmemory_policy = \"sometimes\"\n";
    RunResult r = Run({ROWCACHED_BINARY, "--config", file.string()}, dir.path());
    INFO("stderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find(file.string()) != std::string::npos);
    CHECK(r.err.find("cache.maxmemory_policy") != std::string::npos);
    CHECK(r.err.find("sometimes") != std::string::npos);
  }
  SECTION("missing config file") {
    fs::path file = dir.path() / "does-not-exist.toml";
    RunResult r = Run({ROWCACHED_BINARY, "--config", file.string()}, dir.path());
    INFO("stderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find(file.string()) != std::string::npos);
  }
}

TEST_CASE("The binary answers --help and --version with exit code 0", "[real-clients]") {
  TempDir dir;
  RunResult help = Run({ROWCACHED_BINARY, "--help"}, dir.path());
  INFO("stdout: " << help.out << "\nstderr: " << help.err);
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--config") != std::string::npos);
  CHECK(help.out.find("--section.key=value") != std::string::npos);
  RunResult version = Run({ROWCACHED_BINARY, "--version"}, dir.path());
  CHECK(version.exit_code == 0);
  CHECK(version.out.find(std::string("rowcached ") + server::kRowcachedVersion) !=
        std::string::npos);
}

TEST_CASE("The binary serves a config file and stops on SIGTERM", "[real-clients]") {
  TempDir dir;
  uint16_t port = FreePort();
  fs::path file = dir.path() / "rowcached.toml";
  std::ofstream(file) << "[server]\nport = " << port
                      << "\nthreads = 2\nrequirepass = \"pw\"\nloglevel = \"warn\"\n"
                      << "[persistence]\ndir = \"" << (dir.path() / "data").string() << "\"\n";
  Process p({ROWCACHED_BINARY, "--config", file.string()}, dir.path());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!CanConnect(port)) {
    if (p.WaitExit(std::chrono::milliseconds(20))) FAIL("exited early: " << p.Err());
    if (std::chrono::steady_clock::now() > deadline) FAIL("never accepted connections");
  }
  RespClient c(port);
  CHECK(c.Command({"PING"}).raw == "-NOAUTH Authentication required.\r\n");
  CHECK(c.Command({"AUTH", "pw"}).raw == "+OK\r\n");
  CHECK(c.Command({"CONFIG", "GET", "port"}).elems.at(1).str == std::to_string(port));
  REQUIRE(::kill(p.pid(), SIGTERM) == 0);
  c.ExpectClosed();
  CHECK(p.Finish(std::chrono::seconds(30)) == 0);
  // With the default `save` rules, a SIGTERM writes the final snapshot, as Redis' does.
  CHECK(fs::exists(dir.path() / "data" / "dump.rdb"));
}

}  // namespace
}  // namespace rowcached::protocol_test
