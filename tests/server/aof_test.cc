// The append-only file: the bytes appended, group commit, the manifest, loading (truncated and
// corrupt files), rewrites through a forked child, and the repair tool's logic.
#include "server/aof.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "command_harness.h"
#include "server/aof_check.h"
#include "server/aof_files.h"
#include "server/background_child.h"
#include "server/persistence.h"
#include "support/temp_dir.h"

namespace rowcached::server {
namespace {

namespace fs = std::filesystem;
using testing::Bulk;
using testing::CommandHarness;
using testing::Int;
using testing::kNil;
using testing::kOk;

using TempDir = ::rowcached::testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Spit(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

Options AofOptions(const std::string& dir, std::string fsync = "always") {
  Options o;
  o.dir = dir;
  o.appendonly = true;
  o.appendfsync = std::move(fsync);
  o.aof_use_rdb_preamble = false;  // the base as commands
  return o;
}

std::string Resp(const std::vector<std::string_view>& args) {
  std::string out;
  aof::AppendCommand(&out, args);
  return out;
}

// A server whose commands are logged as the dispatcher will log them: run, then appended.
struct LoggedServer {
  explicit LoggedServer(const Options& options)
      : harness(options), dir(options.dir + "/" + options.appenddirname) {
    std::string error;
    aof = AppendOnlyFile::Open(harness.server(), child, &error);
    REQUIRE(aof != nullptr);
    INFO(error);
    harness.server().set_command_log(aof.get());
  }
  ~LoggedServer() { harness.server().set_command_log(nullptr); }

  // Runs a command through the dispatcher (which appends it), then waits as the network
  // layer would before replying.
  std::string Run(std::vector<std::string_view> args) {
    std::string reply = harness.Run(args);
    aof->AwaitDurable();
    return reply;
  }

  std::string IncrPath(int seq) const {
    return dir + "/appendonly.aof." + std::to_string(seq) + ".incr.aof";
  }

  CommandHarness harness;
  const std::string dir;
  BackgroundChild child;
  std::unique_ptr<AppendOnlyFile> aof;
};

int64_t InfoField(const AppendOnlyFile& aof, const std::string& name) {
  std::string info;
  aof.AppendInfo(&info);
  size_t at = info.find(name + ":");
  REQUIRE(at != std::string::npos);
  return std::stoll(info.substr(at + name.size() + 1));
}

// Loads the AOF of `options` into a fresh server and returns it.
std::unique_ptr<CommandHarness> Reload(const Options& options, bool expect_ok = true,
                                       std::string* error_out = nullptr,
                                       AofLoadResult* result_out = nullptr) {
  auto h = std::make_unique<CommandHarness>(options);
  std::string error;
  AofLoadResult result;
  bool ok = LoadAppendOnlyFile(h->server(), options, &error, &result);
  INFO(error);
  REQUIRE(ok == expect_ok);
  if (error_out) *error_out = error;
  if (result_out) *result_out = result;
  return h;
}

// Writes a manifest with a base and one increment holding `incr` bytes.
Options WriteAof(const TempDir& tmp, std::string_view incr, bool load_truncated = true) {
  Options o = AofOptions(tmp.str());
  o.aof_load_truncated = load_truncated;
  std::string dir = tmp.str() + "/appendonlydir";
  fs::create_directories(dir);
  Spit(
      dir + "/appendonly.aof.manifest",
      "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
  Spit(dir + "/appendonly.aof.1.base.aof", "");
  Spit(dir + "/appendonly.aof.1.incr.aof", incr);
  return o;
}

TEST_CASE("AOF appends the commands in RESP with SELECT when the database changes", "[aof]") {
  TempDir tmp;
  LoggedServer s(AofOptions(tmp.str()));
  // Redis 7.0's layout: an empty base (no data yet) and the first increment.
  CHECK(Slurp(s.aof->directory() + "/appendonly.aof.manifest") ==
        "file appendonly.aof.1.base.aof seq 1 type b\n"
        "file appendonly.aof.1.incr.aof seq 1 type i\n");
  CHECK(Slurp(s.aof->directory() + "/appendonly.aof.1.base.aof").empty());
  s.aof->Append(0, {"SET", "a", "1"});
  s.aof->Append(0, {"SET", "b", "2"});
  s.aof->Append(3, {"SET", "c", "three"});
  s.aof->Append(0, {"DEL", "a"});
  s.aof->AwaitDurable();
  CHECK(Slurp(s.IncrPath(1)) ==
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
        "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
        "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
        "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
        "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nthree\r\n"
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
        "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n");
  // Reopened, the next increment's first command selects its database again.
  s.harness.server().set_command_log(nullptr);
  s.aof.reset();
  std::string error;
  auto again = AppendOnlyFile::Open(s.harness.server(), s.child, &error);
  REQUIRE(again != nullptr);
  again->Append(0, {"SET", "d", "4"});
  again->AwaitDurable();
  CHECK(Slurp(s.IncrPath(1))
            .ends_with("*2\r\n$3\r\nDEL\r\n$1\r\na\r\n"
                       "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                       "*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$1\r\n4\r\n"));
}

TEST_CASE("AOF AwaitDurable returns once the thread's own commands are in the file", "[aof]") {
  for (std::string fsync : {"always", "everysec", "no"}) {
    DYNAMIC_SECTION("appendfsync " << fsync) {
      TempDir tmp;
      LoggedServer s(AofOptions(tmp.str(), fsync));
      constexpr int kThreads = 8, kPerThread = 300;
      std::atomic<int> missing{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kPerThread; ++i) {
            std::string key = "k" + std::to_string(t) + ":" + std::to_string(i);
            s.aof->Append(0, {"SET", key, "v"});
            s.aof->AwaitDurable();
            // Every 50th: the command is in the file by now (written, whatever the policy).
            if (i % 50 == 0 &&
                Slurp(s.IncrPath(1)).find(Resp({"SET", key, "v"})) == std::string::npos) {
              ++missing;
            }
          }
        });
      }
      for (auto& t : threads) t.join();
      CHECK(missing == 0);
      std::string data = Slurp(s.IncrPath(1));
      size_t commands = 0;
      aof::ScanResult scan =
          aof::ScanCommands(data, [&](const std::vector<std::string_view>& args, size_t) {
            if (args[0] == "SET") ++commands;
            return true;
          });
      CHECK(scan.status == aof::ScanResult::kOk);
      CHECK(commands == kThreads * kPerThread);
    }
  }
}

TEST_CASE(
    "AOF under always: AwaitDurable returns to each of several concurrent clients only once "
    "its command is fsynced, and one fsync serves several of them",
    "[aof][tsan]") {
  TempDir tmp;
  LoggedServer s(AofOptions(tmp.str(), "always"));
  // Clients as the I/O threads run them: append, wait until durable, answer, send the next.
  // While one fsyncs, the others append and wait for it; the next writer's fsync then covers
  // all of them (group commit).
  constexpr int kClients = 6;
  constexpr int kRounds = 150;
  std::atomic<int> answered_early{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string command =
            Resp({"SET", "c" + std::to_string(c) + ":" + std::to_string(i), "v"});
        s.aof->Append(0, {"SET", "c" + std::to_string(c) + ":" + std::to_string(i), "v"});
        s.aof->AwaitDurable();
        // The increment started empty, so file offsets are the log's logical offsets.
        const uint64_t synced = s.aof->synced_offset();
        const size_t at = Slurp(s.IncrPath(1)).find(command);
        if (at == std::string::npos || synced < at + command.size()) answered_early.fetch_add(1);
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(answered_early.load() == 0);
  CHECK(s.aof->fsyncs() < static_cast<uint64_t>(kClients * kRounds));
}

TEST_CASE(
    "AOF under always: AwaitAllDurable also waits for other threads' commands, AwaitDurable "
    "only for the caller's own",
    "[aof]") {
  TempDir tmp;
  LoggedServer s(AofOptions(tmp.str(), "always"));
  const std::string command = Resp({"SET", "other", "v"});
  std::thread([&] { s.aof->Append(0, {"SET", "other", "v"}); }).join();
  // Nothing fsyncs under always until somebody waits.
  CHECK(s.aof->synced_offset() < command.size());
  s.aof->AwaitDurable();  // this thread appended nothing
  CHECK(s.aof->synced_offset() < command.size());
  s.aof->AwaitAllDurable();
  CHECK(s.aof->synced_offset() >= command.size());
  CHECK(Slurp(s.IncrPath(1)).find(command) != std::string::npos);
}

TEST_CASE("AOF manifest renders and parses as Redis 7.0 writes it", "[aof]") {
  aof::Manifest m;
  m.base = aof::ManifestFile{"appendonly.aof.2.base.rdb", 2, 'b'};
  m.history.push_back({"appendonly.aof.1.incr.aof", 1, 'h'});
  m.incrs.push_back({"appendonly.aof.2.incr.aof", 2, 'i'});
  m.incrs.push_back({"appendonly.aof.3.incr.aof", 3, 'i'});
  const std::string text = m.Render();
  CHECK(text ==
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
        "file appendonly.aof.1.incr.aof seq 1 type h\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n"
        "file appendonly.aof.3.incr.aof seq 3 type i\n");
  aof::Manifest parsed;
  std::string error;
  REQUIRE(aof::Manifest::Parse("# comment\n" + text + "\n", &parsed, &error));
  CHECK(parsed.Render() == text);
  CHECK_FALSE(aof::Manifest::Parse("file a seq x type i\n", &parsed, &error));
  CHECK(error.find("line 1") != std::string::npos);
  CHECK_FALSE(aof::Manifest::Parse("file a seq 1 type b\nfile b seq 2 type b\n", &parsed, &error));
  CHECK_FALSE(aof::Manifest::Parse("file a seq 2 type i\nfile b seq 1 type i\n", &parsed, &error));
  CHECK_FALSE(aof::Manifest::Parse("file ../x seq 1 type i\n", &parsed, &error));
}

// Fills a logged server with every type, in two databases, with expiries.
// `Server`: LoggedServer or RunTimeAofServer (each runs a command, then waits as the network
// layer would).
template <typename Server>
void FillEveryType(Server& s) {
  const std::string at = std::to_string(s.harness.clock().NowMs() + 100000);
  CHECK(s.Run({"SET", "str", "hello"}) == kOk);
  CHECK(s.Run({"SET", "long", std::string(200, 'x')}) == kOk);
  CHECK(s.Run({"PEXPIREAT", "str", at}) == Int(1));
  CHECK(s.Run({"RPUSH", "list", "a", "b", "c"}) == Int(3));
  CHECK(s.Run({"LPUSH", "list", "z"}) == Int(4));
  CHECK(s.Run({"SADD", "set", "1", "2", "x"}) == Int(3));
  CHECK(s.Run({"ZADD", "zset", "1.5", "m1", "-2", "m2", "0.1", "m3"}) == Int(3));
  CHECK(s.Run({"HSET", "hash", "f1", "v1", "f2", "v2"}) == Int(2));
  CHECK(s.Run({"INCR", "counter"}) == Int(1));
  CHECK(s.Run({"INCRBY", "counter", "41"}) == Int(42));
  CHECK(s.Run({"SELECT", "5"}) == kOk);
  CHECK(s.Run({"SET", "in5", "five"}) == kOk);
  CHECK(s.Run({"SELECT", "0"}) == kOk);
  CHECK(s.Run({"SET", "gone", "x"}) == kOk);
  CHECK(s.Run({"DEL", "gone"}) == Int(1));
  // A transaction: the dispatcher frames it with MULTI and EXEC.
  CHECK(s.Run({"MULTI"}) == kOk);
  CHECK(s.Run({"SET", "tx1", "a"}) == "+QUEUED\r\n");
  CHECK(s.Run({"SET", "tx2", "b"}) == "+QUEUED\r\n");
  CHECK(s.Run({"EXEC"}) == "*2\r\n+OK\r\n+OK\r\n");
}

void CheckEveryType(CommandHarness& h) {
  CHECK(h.Run({"GET", "str"}) == Bulk("hello"));
  CHECK(h.Run({"PTTL", "str"}) == Int(100000));
  CHECK(h.Run({"GET", "long"}) == Bulk(std::string(200, 'x')));
  CHECK(h.Run({"LRANGE", "list", "0", "-1"}) ==
        testing::Arr({Bulk("z"), Bulk("a"), Bulk("b"), Bulk("c")}));
  CHECK(h.Run({"SCARD", "set"}) == Int(3));
  CHECK(h.Run({"SISMEMBER", "set", "x"}) == Int(1));
  CHECK(h.Run({"ZRANGE", "zset", "0", "-1", "WITHSCORES"}) ==
        testing::Arr({Bulk("m2"), Bulk("-2"), Bulk("m3"), Bulk("0.10000000000000001"), Bulk("m1"),
                      Bulk("1.5")}));
  CHECK(h.Run({"HGET", "hash", "f2"}) == Bulk("v2"));
  CHECK(h.Run({"HLEN", "hash"}) == Int(2));
  CHECK(h.Run({"GET", "counter"}) == Bulk("42"));
  CHECK(h.Run({"GET", "gone"}) == kNil);
  CHECK(h.Run({"GET", "tx2"}) == Bulk("b"));
  CHECK(h.Run({"SELECT", "5"}) == kOk);
  CHECK(h.Run({"GET", "in5"}) == Bulk("five"));
  CHECK(h.Run({"SELECT", "0"}) == kOk);
}

TEST_CASE("AOF loading replays the commands to the same keyspace", "[aof]") {
  TempDir tmp;
  Options o = AofOptions(tmp.str());
  {
    LoggedServer s(o);
    FillEveryType(s);
    CheckEveryType(s.harness);
  }
  AofLoadResult result;
  auto h = Reload(o, true, nullptr, &result);
  CHECK(result.found);
  CHECK(result.files_loaded == 2);
  CHECK_FALSE(result.truncated_dropped);
  CheckEveryType(*h);
  CHECK(h->Run({"DBSIZE"}) == Int(9));
}

TEST_CASE("AOF without a manifest: nothing to load, or a clear error if files are there", "[aof]") {
  TempDir tmp;
  Options o = AofOptions(tmp.str());
  AofLoadResult result;
  Reload(o, true, nullptr, &result);
  CHECK_FALSE(result.found);
  CHECK_FALSE(AppendOnlyFileExists(o));
  fs::create_directories(tmp.str() + "/appendonlydir");
  Spit(tmp.str() + "/appendonlydir/appendonly.aof.1.incr.aof", Resp({"SET", "a", "1"}));
  std::string error;
  Reload(o, false, &error);
  CHECK(error.find("no manifest") != std::string::npos);
}

TEST_CASE("AOF truncated last command: dropped with aof-load-truncated yes, fatal with no",
          "[aof]") {
  const std::string whole = Resp({"SET", "a", "1"}) + Resp({"SET", "b", "2"});
  const std::string last = Resp({"SET", "c", "three"});
  // Every cut inside the last command: after '*', inside a length, inside the bulk, before
  // the final CRLF, between CR and LF.
  for (size_t keep = 1; keep < last.size(); ++keep) {
    DYNAMIC_SECTION("cut after " << keep << " bytes of the last command") {
      {
        TempDir tmp;
        Options o = WriteAof(tmp, whole + last.substr(0, keep), /*load_truncated=*/true);
        AofLoadResult result;
        auto h = Reload(o, true, nullptr, &result);
        CHECK(result.truncated_dropped);
        CHECK(h->Run({"GET", "b"}) == Bulk("2"));
        CHECK(h->Run({"EXISTS", "c"}) == Int(0));
        // Truncated at the last whole command, so the next appends follow it.
        CHECK(Slurp(tmp.str() + "/appendonlydir/appendonly.aof.1.incr.aof") == whole);
      }
      {
        TempDir tmp;
        Options o = WriteAof(tmp, whole + last.substr(0, keep), /*load_truncated=*/false);
        std::string error;
        Reload(o, false, &error);
        CHECK(error.find("appendonly.aof.1.incr.aof at offset " + std::to_string(whole.size())) !=
              std::string::npos);
        CHECK(error.find("rowcached-check-aof --fix") != std::string::npos);
      }
    }
  }
}

TEST_CASE("AOF garbage in the middle fails naming the file, the offset and the fix", "[aof]") {
  TempDir tmp;
  const std::string first = Resp({"SET", "a", "1"});
  Options o =
      WriteAof(tmp, first + "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2XX" + Resp({"SET", "c", "3"}));
  std::string error;
  Reload(o, false, &error);
  CHECK(error.find("Bad file format") != std::string::npos);
  CHECK(error.find("appendonly.aof.1.incr.aof at offset " + std::to_string(first.size())) !=
        std::string::npos);
  CHECK(error.find("rowcached-check-aof --fix " + tmp.str() +
                   "/appendonlydir/appendonly.aof.1.incr.aof") != std::string::npos);
  // An unknown command is fatal too.
  TempDir tmp2;
  o = WriteAof(tmp2, first + Resp({"NOSUCHCOMMAND", "x"}));
  Reload(o, false, &error);
  CHECK(error.find("Unknown command 'NOSUCHCOMMAND'") != std::string::npos);
  CHECK(error.find("offset " + std::to_string(first.size())) != std::string::npos);
}

TEST_CASE("AOF unterminated MULTI at the end is dropped whole", "[aof]") {
  TempDir tmp;
  const std::string before =
      Resp({"SET", "a", "1"}) + Resp({"MULTI"}) + Resp({"SET", "t", "1"}) + Resp({"EXEC"});
  Options o =
      WriteAof(tmp, before + Resp({"MULTI"}) + Resp({"SET", "x", "1"}) + Resp({"SET", "y", "1"}));
  AofLoadResult result;
  auto h = Reload(o, true, nullptr, &result);
  CHECK(result.truncated_dropped);
  CHECK(h->Run({"GET", "t"}) == Bulk("1"));
  CHECK(h->Run({"EXISTS", "x", "y"}) == Int(0));
  CHECK(Slurp(tmp.str() + "/appendonlydir/appendonly.aof.1.incr.aof") == before);
  // With aof-load-truncated no it stops start-up.
  TempDir tmp2;
  o = WriteAof(tmp2, before + Resp({"MULTI"}) + Resp({"SET", "x", "1"}), false);
  std::string error;
  Reload(o, false, &error);
  CHECK(error.find("offset " + std::to_string(before.size())) != std::string::npos);
}

TEST_CASE("AOF rewrite: a new base, writes during the rewrite kept, old files removed", "[aof]") {
  TempDir tmp;
  Options o = AofOptions(tmp.str());
  LoggedServer s(o);
  FillEveryType(s);
  std::string error;
  REQUIRE(s.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kStarted);
  CHECK(s.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kInProgress);
  // Written after the fork: in the new increment only, not in the child's base.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string key = "during" + std::to_string(t) + ":" + std::to_string(i);
        s.aof->Append(0, {"SET", key, "v"});
        s.aof->AwaitDurable();
      }
    });
  }
  for (auto& w : writers) w.join();
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 100; ++i) {
      std::string key = "during" + std::to_string(t) + ":" + std::to_string(i);
      CHECK(s.harness.Run({"SET", key, "v"}) == kOk);
    }
  }
  CHECK(s.Run({"RPUSH", "list", "after"}) == Int(5));
  s.child.Wait();  // runs the parent's completion
  CHECK(s.Run({"SET", "last", "1"}) == kOk);
  aof::Manifest m = s.aof->manifest();
  CHECK(
      m.Render() ==
      "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
  CHECK_FALSE(fs::exists(s.aof->directory() + "/appendonly.aof.1.base.aof"));
  CHECK_FALSE(fs::exists(s.IncrPath(1)));
  std::string info;
  s.aof->AppendInfo(&info);
  CHECK(info.find("aof_rewrites:1\r\n") != std::string::npos);
  CHECK(info.find("aof_last_bgrewrite_status:ok\r\n") != std::string::npos);
  CHECK(info.find("aof_rewrite_in_progress:0\r\n") != std::string::npos);
  // The new base alone holds the data of the fork point, as commands.
  std::string base = Slurp(s.aof->directory() + "/appendonly.aof.2.base.aof");
  CHECK(base.find(Resp({"SET", "counter", "42"})) != std::string::npos);
  CHECK(base.find("during") == std::string::npos);

  auto h = Reload(o);
  CHECK(h->Run({"LRANGE", "list", "-1", "-1"}) == testing::Arr({Bulk("after")}));
  CHECK(h->Run({"RPOP", "list"}) == Bulk("after"));
  CheckEveryType(*h);
  CHECK(h->Run({"DBSIZE"}) == Int(9 + 400 + 1));
  CHECK(h->Run({"GET", "during3:99"}) == Bulk("v"));
}

TEST_CASE("AOF a killed rewrite leaves the old manifest loadable", "[aof]") {
  TempDir tmp;
  Options o = AofOptions(tmp.str());
  // What the child of a crashed process left is removed at open.
  const std::string orphan = tmp.str() + "/appendonlydir/temp-rewriteaof-bg-1.aof";
  fs::create_directories(tmp.str() + "/appendonlydir");
  Spit(orphan, "partial");
  LoggedServer s(o);
  CHECK_FALSE(fs::exists(orphan));
  FillEveryType(s);
  // The child's temporary base is a FIFO nobody reads: the child blocks opening it, so it is
  // certainly running when it is killed.
  const std::string temp =
      s.aof->directory() + "/temp-rewriteaof-bg-" + std::to_string(::getpid()) + ".aof";
  REQUIRE(::mkfifo(temp.c_str(), 0644) == 0);
  std::string error;
  REQUIRE(s.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kStarted);
  CHECK(s.Run({"SET", "during", "1"}) == kOk);
  s.child.Kill();
  CHECK_FALSE(fs::exists(temp));
  CHECK(s.Run({"SET", "after", "1"}) == kOk);
  // The increment opened at the fork is listed after the old ones.
  CHECK(s.aof->manifest().Render() ==
        "file appendonly.aof.1.base.aof seq 1 type b\n"
        "file appendonly.aof.1.incr.aof seq 1 type i\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n");
  std::string info;
  s.aof->AppendInfo(&info);
  CHECK(info.find("aof_last_bgrewrite_status:err\r\n") != std::string::npos);
  auto h = Reload(o);
  CheckEveryType(*h);
  CHECK(h->Run({"GET", "during"}) == Bulk("1"));
  CHECK(h->Run({"GET", "after"}) == Bulk("1"));
  // A later rewrite succeeds and folds all three files into one base.
  REQUIRE(s.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kStarted);
  s.child.Wait();
  CHECK(s.aof->manifest().Render() ==
        "file appendonly.aof.2.base.aof seq 2 type b\n"
        "file appendonly.aof.3.incr.aof seq 3 type i\n");
  auto h2 = Reload(o);
  CheckEveryType(*h2);
  CHECK(h2->Run({"GET", "after"}) == Bulk("1"));
}

TEST_CASE("AOF BGREWRITEAOF replies as Redis, scheduled behind a BGSAVE child", "[aof]") {
  TempDir tmp;
  // The AOF in use is the server's (Persistence): the one BGREWRITEAOF rewrites.
  CommandHarness h(AofOptions(tmp.str()));
  BackgroundChild& child = h.server().persistence().child();
  std::string error;
  std::shared_ptr<AppendOnlyFile> aof = AppendOnlyFile::Open(h.server(), child, &error);
  REQUIRE(aof != nullptr);
  h.server().persistence().UseAppendOnlyFile(aof);
  CHECK(h.Run({"SET", "a", "1"}) == kOk);
  // A stand-in for a BGSAVE child that runs until killed.
  REQUIRE(child.Start(
      h.server().keyspace(), BackgroundChild::Kind::kRdb, nullptr,
      [] {
        ::pause();
        return 0;
      },
      nullptr, &error));
  CHECK(h.Run({"BGREWRITEAOF"}) ==
        testing::Simple("Background append only file rewriting scheduled"));
  std::string info;
  aof->AppendInfo(&info);
  CHECK(info.find("aof_rewrite_scheduled:1\r\n") != std::string::npos);
  child.Kill();
  aof->Cron();  // starts the scheduled rewrite
  CHECK(child.running() == BackgroundChild::Kind::kAof);
  CHECK(h.Run({"BGREWRITEAOF"}) ==
        testing::Err("ERR Background append only file rewriting already in progress"));
  child.Wait();
  CHECK(aof->manifest().base->name == "appendonly.aof.2.base.aof");
  CHECK(h.Run({"BGREWRITEAOF"}) ==
        testing::Simple("Background append only file rewriting started"));
  child.Wait();
}

TEST_CASE("AOF automatic rewrite when the file grew past percentage and min size", "[aof]") {
  TempDir tmp;
  Options o = AofOptions(tmp.str());
  o.auto_aof_rewrite_min_size = 1000;
  o.auto_aof_rewrite_percentage = 100;
  LoggedServer s(o);
  s.aof->Cron();
  CHECK(s.child.running() == BackgroundChild::Kind::kNone);  // empty: below the minimum
  while (InfoField(*s.aof, "aof_current_size") < 1000) {
    s.Run({"RPUSH", "l", std::string(50, 'x')});
  }
  s.aof->Cron();
  CHECK(s.child.running() == BackgroundChild::Kind::kAof);
  s.child.Wait();
  CHECK(s.aof->manifest().base->seq == 2);
}

TEST_CASE("AOF check finds the first invalid offset and --fix truncates there", "[aof]") {
  TempDir tmp;
  const std::string whole = Resp({"SET", "a", "1"}) + Resp({"SET", "b", "2"});
  Options o = WriteAof(tmp, whole + "*3\r\n$3\r\nSET\r\n$1");
  const std::string manifest = tmp.str() + "/appendonlydir/appendonly.aof.manifest";
  const std::string incr = tmp.str() + "/appendonlydir/appendonly.aof.1.incr.aof";
  std::string report;
  CHECK(CheckAppendOnlyFile(manifest, false, &report) == 1);
  CHECK(report.find("AOF analyzed: filename=" + incr +
                    ", size=" + std::to_string(whole.size() + 15) +
                    ", ok_up_to=" + std::to_string(whole.size()) + ", ok_up_to_line=15, diff=15") !=
        std::string::npos);
  CHECK(report.find("is not valid. Use the --fix option") != std::string::npos);
  report.clear();
  CHECK(CheckAppendOnlyFile(manifest, true, &report) == 0);
  CHECK(report.find("Successfully truncated AOF " + incr) != std::string::npos);
  CHECK(Slurp(incr) == whole);
  report.clear();
  CHECK(CheckAppendOnlyFile(incr, false, &report) == 0);
  CHECK(report.find("AOF " + incr + " is valid") != std::string::npos);
  // The fixed AOF loads with aof-load-truncated no.
  o.aof_load_truncated = false;
  auto h = Reload(o);
  CHECK(h->Run({"GET", "b"}) == Bulk("2"));
}

// RLIMIT_FSIZE makes write() past the limit fail with EFBIG (SIGXFSZ ignored): a full disk for
// this process only. Restored by the destructor.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST_CASE("AOF a failed write under everysec: MISCONF, bytes kept, retried by the cron", "[aof]") {
  TempDir tmp;
  LoggedServer s(AofOptions(tmp.str(), "everysec"));
  CHECK(s.Run({"SET", "a", "1"}) == kOk);
  const std::string before = Slurp(s.IncrPath(1));
  const std::string big(4096, 'x');
  std::string message;
  {
    FileSizeLimit limit(before.size() + 100);  // room for part of the next command only
    s.aof->Append(0, {"SET", "big", big});
    s.aof->AwaitDurable();  // fails, and returns: everysec acknowledges what is buffered
    CHECK(s.aof->WriteError(&message));
    CHECK(message.starts_with("MISCONF Errors writing to the AOF file: "));
    CHECK(InfoField(*s.aof, "aof_buffer_length") > 4096);
    std::string info;
    s.aof->AppendInfo(&info);
    CHECK(info.find("aof_last_write_status:err\r\n") != std::string::npos);
    // The partial write was cut off: the file still ends with a whole command.
    CHECK(Slurp(s.IncrPath(1)) == before);
    s.aof->Cron();  // still failing
    CHECK(s.aof->WriteError(&message));
  }
  s.aof->Cron();  // room again: the retry writes the buffer
  CHECK_FALSE(s.aof->WriteError(&message));
  CHECK(InfoField(*s.aof, "aof_buffer_length") == 0);
  CHECK(Slurp(s.IncrPath(1)) == before + Resp({"SET", "big", big}));
}

TEST_CASE("AOF under always: a failed last write while turning the AOF off only warns", "[aof]") {
  TempDir tmp;
  LoggedServer s(AofOptions(tmp.str(), "always"));
  CHECK(s.Run({"SET", "a", "1"}) == kOk);
  const std::string before = Slurp(s.IncrPath(1));
  {
    FileSizeLimit limit(before.size() + 100);  // room for part of the next command only
    s.aof->Append(0, {"SET", "big", std::string(4096, 'x')});
    s.aof->Retire();  // a write failure under always would end the process
  }
  std::string message;
  CHECK_FALSE(s.aof->WriteError(&message));  // off: writes are not refused
  CHECK(Slurp(s.IncrPath(1)) == before);     // the partial write was cut off
  s.aof->AwaitAllDurable();                  // returns: nothing is left to wait for
}

TEST_CASE("AOF info lines", "[aof]") {
  TempDir tmp;
  LoggedServer s(AofOptions(tmp.str()));
  CHECK(s.Run({"SET", "a", "1"}) == kOk);
  std::string info;
  s.aof->AppendInfo(&info);
  const std::string size =
      std::to_string(Resp({"SELECT", "0"}).size() + Resp({"SET", "a", "1"}).size());
  CHECK(info ==
        "aof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
        "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n"
        "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_last_write_status:ok\r\n"
        "aof_current_size:" +
            size + "\r\naof_base_size:0\r\naof_buffer_length:0\r\n");
}

// Fails the directory fsync that follows the rename of a manifest naming the second base.
bool FailAfterManifestNamesBase2(const std::string& dir) {
  std::string manifest;
  std::string error;
  return aof_files::ReadFile(dir + "/appendonly.aof.manifest", &manifest, &error) &&
         manifest.find("appendonly.aof.2.base.aof") != std::string::npos;
}

TEST_CASE("AOF rewrite whose manifest's directory fsync fails keeps the files the old one lists",
          "[aof]") {
  TempDir tmp;
  Options o = AofOptions(tmp.str());
  LoggedServer s(o);
  FillEveryType(s);
  std::string error;
  {
    // Removes the fault however the block is left.
    struct FaultGuard {
      FaultGuard() { aof_files::SetFsyncDirFaultForTesting(&FailAfterManifestNamesBase2); }
      ~FaultGuard() { aof_files::SetFsyncDirFaultForTesting(nullptr); }
    } fault;
    REQUIRE(s.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kStarted);
    CHECK(s.Run({"SET", "during", "1"}) == kOk);
    s.child.Wait();
  }
  CHECK(s.Run({"SET", "after", "1"}) == kOk);
  const std::string dir = s.aof->directory();
  // The new manifest is in place; what the old one lists is still there, as history.
  CHECK(s.aof->manifest().Render() ==
        "file appendonly.aof.2.base.aof seq 2 type b\n"
        "file appendonly.aof.1.base.aof seq 1 type h\n"
        "file appendonly.aof.1.incr.aof seq 1 type h\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n");
  CHECK(fs::exists(dir + "/appendonly.aof.1.base.aof"));
  CHECK(fs::exists(dir + "/appendonly.aof.1.incr.aof"));
  // The file lists them too, so a restart before the next rewrite still deletes them then.
  CHECK(Slurp(dir + "/appendonly.aof.manifest") == s.aof->manifest().Render());
  auto h = Reload(o);
  CheckEveryType(*h);
  CHECK(h->Run({"GET", "after"}) == Bulk("1"));
  // A crash that loses the manifest's directory entry brings the old manifest back: it loads.
  Spit(dir + "/appendonly.aof.manifest",
       "file appendonly.aof.1.base.aof seq 1 type b\n"
       "file appendonly.aof.1.incr.aof seq 1 type i\n"
       "file appendonly.aof.2.incr.aof seq 2 type i\n");
  auto old = Reload(o);
  CheckEveryType(*old);
  CHECK(old->Run({"GET", "during"}) == Bulk("1"));
  CHECK(old->Run({"GET", "after"}) == Bulk("1"));
  // The next rewrite deletes the history.
  REQUIRE(s.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kStarted);
  s.child.Wait();
  CHECK_FALSE(fs::exists(dir + "/appendonly.aof.1.base.aof"));
  CHECK_FALSE(fs::exists(dir + "/appendonly.aof.1.incr.aof"));
  auto h2 = Reload(o);
  CheckEveryType(*h2);
}

}  // namespace
}  // namespace rowcached::server

namespace rowcached::server::testing {

TEST_CASE("AOF replay keeps a key whose TTL passed while down when the file persists it later",
          "[aof]") {
  for (bool rdb_base : {false, true}) {
    INFO("base as " << (rdb_base ? "RDB" : "commands"));
    TempDir tmp;
    Options o = AofOptions(tmp.str());
    o.aof_use_rdb_preamble = rdb_base;
    {
      LoggedServer s(o);
      REQUIRE(s.Run({"SET", "kept", "v", "PX", "1000"}) == kOk);
      REQUIRE(s.Run({"SET", "gone", "v", "PX", "1000"}) == kOk);
      // The TTLs go into the base; PERSIST comes after it, in the increment.
      std::string error;
      REQUIRE(s.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kStarted);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (s.child.running() != BackgroundChild::Kind::kNone) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        s.aof->Cron();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      REQUIRE(s.Run({"PERSIST", "kept"}) == Int(1));
    }
    // Restarted long after both TTLs passed.
    CommandHarness h(o);
    h.clock().Advance(60 * 1000);
    std::string error;
    REQUIRE(LoadAppendOnlyFile(h.server(), o, &error));
    CHECK(h.Run({"GET", "kept"}) == Bulk("v"));
    CHECK(h.Run({"PTTL", "kept"}) == Int(-1));
    CHECK(h.Run({"GET", "gone"}) == kNil);
  }
}

TEST_CASE("AOF transactions on several threads stay whole in the file and load back", "[aof]") {
  TempDir tmp;
  Options o = AofOptions(tmp.str());
  LoggedServer s(o);
  constexpr int kThreads = 4, kTransactions = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ClientState client;
      client.authenticated = true;
      std::string reply_bytes;
      auto run = [&](std::vector<std::string> args) {
        std::vector<std::string_view> views(args.begin(), args.end());
        reply_bytes.clear();
        ReplyBuilder reply(&reply_bytes);
        Dispatch(s.harness.server(), client, views, reply);
      };
      const std::string n = std::to_string(t);
      for (int i = 0; i < kTransactions; ++i) {
        run({"MULTI"});
        run({"INCR", "counter:" + n});
        run({"RPUSH", "list:" + n, std::to_string(i)});
        run({"EXEC"});
        run({"SET", "plain:" + n + ":" + std::to_string(i), "v"});  // between transactions
      }
      s.aof->AwaitDurable();
    });
  }
  for (auto& th : threads) th.join();
  auto h = Reload(o);
  for (int t = 0; t < kThreads; ++t) {
    const std::string n = std::to_string(t);
    CHECK(h->Run({"GET", "counter:" + n}) == Bulk(std::to_string(kTransactions)));
    CHECK(h->Run({"LLEN", "list:" + n}) == Int(kTransactions));
  }
  CHECK(h->Run({"DBSIZE"}) == Int(kThreads * (2 + kTransactions)));
}

}  // namespace rowcached::server::testing

namespace rowcached::server {
namespace {

// A server whose AOF is turned on and off at run time (CONFIG SET appendonly), as Persistence
// does it; nobody runs its cron unless the test does.
struct RunTimeAofServer {
  explicit RunTimeAofServer(Options options)
      : harness([&] {
          options.appendonly = false;
          return options;
        }()) {}

  // Runs a command, then waits as the network layer would before replying.
  std::string Run(std::vector<std::string_view> args) {
    std::string reply = harness.Run(args);
    if (CommandLog* log = harness.server().command_log()) log->AwaitDurable();
    return reply;
  }
  Persistence& persistence() { return harness.server().persistence(); }
  bool InfoHas(const std::string& line) {
    return harness.Run({"INFO", "persistence"}).find("\r\n" + line + "\r\n") != std::string::npos;
  }
  // Runs the cron until no child runs (a real process: its exit is the condition).
  void WaitForChild() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (persistence().child().running() != BackgroundChild::Kind::kNone) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      persistence().Cron();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  CommandHarness harness;
};

std::string Manifest(const Options& o) {
  return Slurp(o.dir + "/" + o.appenddirname + "/" + aof::ManifestName(o.appendfilename));
}

}  // namespace

TEST_CASE("CONFIG SET appendonly yes: a rewrite writes the earlier data, the log what follows",
          "[aof][config]") {
  TempDir tmp;
  const Options o = AofOptions(tmp.str());
  RunTimeAofServer s(o);
  FillEveryType(s);
  CHECK(s.harness.server().command_log() == nullptr);
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == kOk);
  CHECK(s.Run({"CONFIG", "GET", "appendonly"}) == testing::Arr({Bulk("appendonly"), Bulk("yes")}));
  // The child is not reaped until the cron runs: the rewrite is in progress.
  CHECK(s.InfoHas("aof_enabled:1"));
  CHECK(s.InfoHas("aof_rewrite_in_progress:1"));
  REQUIRE(s.harness.server().command_log() != nullptr);
  // SHUTDOWN would kill the only writer of the earlier data: refused, as Redis does.
  CHECK(s.harness.Run({"SHUTDOWN", "NOSAVE"}) ==
        testing::Err("ERR Errors trying to SHUTDOWN. Check logs."));
  CHECK(s.persistence().child().running() == BackgroundChild::Kind::kAof);
  // Nothing names the new files until the base is written (Redis 7.0 too).
  CHECK_FALSE(fs::exists(tmp.str() + "/appendonlydir/appendonly.aof.manifest"));
  // After the fork: in the increment only; earlier keys changed too.
  const std::string at = std::to_string(s.harness.clock().NowMs() + 50000);
  CHECK(s.Run({"SET", "tx1", "changed"}) == kOk);
  CHECK(s.Run({"PEXPIREAT", "tx2", at}) == Int(1));
  CHECK(s.Run({"HSET", "hash2", "f", "v"}) == Int(1));
  CHECK(s.Run({"SET", "after-switch", "1"}) == kOk);
  s.WaitForChild();
  CHECK(s.InfoHas("aof_rewrite_in_progress:0"));
  CHECK(s.InfoHas("aof_rewrites:1"));
  CHECK(s.InfoHas("aof_last_bgrewrite_status:ok"));
  CHECK(Manifest(o) ==
        "file appendonly.aof.1.base.aof seq 1 type b\n"
        "file appendonly.aof.1.incr.aof seq 1 type i\n");
  CHECK(s.Run({"SET", "after-rewrite", "2"}) == kOk);

  auto h = Reload(o);
  CheckEveryType(*h);
  CHECK(h->Run({"GET", "tx1"}) == Bulk("changed"));
  CHECK(h->Run({"PTTL", "tx2"}) == Int(50000));
  CHECK(h->Run({"HGET", "hash2", "f"}) == Bulk("v"));
  CHECK(h->Run({"GET", "after-switch"}) == Bulk("1"));
  CHECK(h->Run({"GET", "after-rewrite"}) == Bulk("2"));
  CHECK(h->Run({"DBSIZE"}) == Int(12));
}

TEST_CASE("CONFIG SET appendonly yes over an earlier run's AOF: its files are replaced",
          "[aof][config]") {
  TempDir tmp;
  const Options o = AofOptions(tmp.str());
  {
    LoggedServer earlier(o);
    CHECK(earlier.Run({"SET", "stale", "1"}) == kOk);
    CHECK(earlier.Run({"SET", "shared", "old"}) == kOk);
    std::string error;
    REQUIRE(earlier.aof->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kStarted);
    earlier.child.Wait();
    CHECK(earlier.Run({"SET", "stale2", "1"}) == kOk);
  }
  const std::string old_manifest = Manifest(o);
  REQUIRE(old_manifest ==
          "file appendonly.aof.2.base.aof seq 2 type b\n"
          "file appendonly.aof.2.incr.aof seq 2 type i\n");
  const std::string dir = tmp.str() + "/appendonlydir/";
  const std::string old_incr = Slurp(dir + "appendonly.aof.2.incr.aof");

  // Started with appendonly no: the earlier AOF is not loaded.
  RunTimeAofServer s(o);
  CHECK(s.Run({"SET", "fresh", "1"}) == kOk);
  CHECK(s.Run({"SET", "shared", "new"}) == kOk);
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == kOk);
  CHECK(s.Run({"SET", "after", "1"}) == kOk);
  // Until the rewrite completes the old files are untouched; the new ones come after them.
  CHECK(Manifest(o) == old_manifest);
  CHECK(Slurp(dir + "appendonly.aof.2.incr.aof") == old_incr);
  CHECK(Slurp(dir + "appendonly.aof.3.incr.aof") ==
        Resp({"SELECT", "0"}) + Resp({"SET", "after", "1"}));
  s.WaitForChild();
  CHECK(s.InfoHas("aof_last_bgrewrite_status:ok"));
  CHECK(Manifest(o) ==
        "file appendonly.aof.3.base.aof seq 3 type b\n"
        "file appendonly.aof.3.incr.aof seq 3 type i\n");
  for (const char* gone : {"appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof",
                           "appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"}) {
    CHECK_FALSE(fs::exists(dir + gone));
  }
  auto h = Reload(o);
  CHECK(h->Run({"GET", "stale"}) == kNil);
  CHECK(h->Run({"GET", "stale2"}) == kNil);
  CHECK(h->Run({"GET", "shared"}) == Bulk("new"));
  CHECK(h->Run({"GET", "fresh"}) == Bulk("1"));
  CHECK(h->Run({"GET", "after"}) == Bulk("1"));
  CHECK(h->Run({"DBSIZE"}) == Int(3));
}

TEST_CASE("CONFIG SET appendonly yes behind a BGSAVE child, or in EXEC: the rewrite is scheduled",
          "[aof][config]") {
  TempDir tmp;
  const Options o = AofOptions(tmp.str());
  RunTimeAofServer s(o);
  BackgroundChild& child = s.persistence().child();
  CHECK(s.Run({"SET", "before", "1"}) == kOk);
  SECTION("behind a BGSAVE child") {
    // A stand-in for a BGSAVE child that runs until killed.
    std::string error;
    REQUIRE(child.Start(
        s.harness.server().keyspace(), BackgroundChild::Kind::kRdb, nullptr,
        [] {
          ::pause();
          return 0;
        },
        nullptr, &error));
    CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == kOk);
    CHECK(s.InfoHas("aof_rewrite_scheduled:1"));
    child.Kill();
  }
  SECTION("inside EXEC") {
    CHECK(s.Run({"MULTI"}) == kOk);
    CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == "+QUEUED\r\n");
    CHECK(s.Run({"EXEC"}) == "*1\r\n+OK\r\n");
  }
  CHECK(s.InfoHas("aof_enabled:1"));
  CHECK(s.InfoHas("aof_rewrite_scheduled:1"));
  CHECK(s.InfoHas("aof_rewrite_in_progress:0"));
  // Not logged yet: the rewrite's snapshot, taken later, holds it.
  CHECK(s.harness.server().command_log() == nullptr);
  CHECK(s.Run({"SET", "while-scheduled", "1"}) == kOk);
  s.persistence().Cron();  // starts the scheduled rewrite
  CHECK(child.running() == BackgroundChild::Kind::kAof);
  CHECK(s.harness.server().command_log() != nullptr);
  CHECK(s.InfoHas("aof_rewrite_scheduled:0"));
  CHECK(s.Run({"SET", "after-fork", "1"}) == kOk);
  s.WaitForChild();
  auto h = Reload(o);
  CHECK(h->Run({"GET", "before"}) == Bulk("1"));
  CHECK(h->Run({"GET", "while-scheduled"}) == Bulk("1"));
  CHECK(h->Run({"GET", "after-fork"}) == Bulk("1"));
}

TEST_CASE(
    "CONFIG SET appendonly no flushes, kills the rewrite and stops logging, and yes works again",
    "[aof][config]") {
  TempDir tmp;
  const Options o = AofOptions(tmp.str(), "everysec");
  RunTimeAofServer s(o);
  CHECK(s.Run({"SET", "a", "1"}) == kOk);
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "no"}) == kOk);  // off already: nothing
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == kOk);
  s.WaitForChild();
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == kOk);  // on already: nothing
  CHECK(s.persistence().child().running() == BackgroundChild::Kind::kNone);
  CHECK(s.InfoHas("aof_rewrites:1"));
  // Appended, not yet written (the reply is not awaited): turning off writes it.
  CHECK(s.harness.Run({"SET", "b", "2"}) == kOk);
  CHECK(s.Run({"BGREWRITEAOF"}) ==
        testing::Simple("Background append only file rewriting started"));
  std::shared_ptr<AppendOnlyFile> retired = s.persistence().aof();
  CommandLog* log = s.harness.server().command_log();
  REQUIRE(log == retired.get());
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "no"}) == kOk);
  CHECK(s.persistence().child().running() == BackgroundChild::Kind::kNone);  // killed
  CHECK(s.harness.server().command_log() == nullptr);
  CHECK(s.persistence().aof() == nullptr);
  CHECK(s.InfoHas("aof_enabled:0"));
  CHECK(s.InfoHas("aof_rewrite_in_progress:0"));
  CHECK(s.Run({"CONFIG", "GET", "appendonly"}) == testing::Arr({Bulk("appendonly"), Bulk("no")}));
  CHECK(aof_files::FilesWithPrefix(tmp.str() + "/appendonlydir", "temp-").empty());
  CHECK(s.Run({"SET", "c", "3"}) == kOk);
  // An I/O thread may still hold the pointer: appending to it is dropped, waiting returns.
  log->Append(0, {"SET", "x", "y"});
  log->AwaitDurable();
  std::string error;
  CHECK(retired->StartRewrite(&error) == AppendOnlyFile::RewriteStart::kFailed);
  retired->Cron();
  CHECK(s.persistence().child().running() == BackgroundChild::Kind::kNone);
  {
    auto h = Reload(o);
    CHECK(h->Run({"GET", "a"}) == Bulk("1"));
    CHECK(h->Run({"GET", "b"}) == Bulk("2"));
    CHECK(h->Run({"GET", "c"}) == kNil);  // written after "no" (Redis too)
    CHECK(h->Run({"GET", "x"}) == kNil);
  }
  // On again: a new AOF whose base holds everything, c included.
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == kOk);
  CHECK(s.Run({"SET", "d", "4"}) == kOk);
  s.WaitForChild();
  auto h = Reload(o);
  for (const char* key : {"a", "b", "c", "d"}) CHECK(h->Run({"EXISTS", key}) == Int(1));
  CHECK(h->Run({"DBSIZE"}) == Int(4));
}

TEST_CASE("CONFIG SET appendonly yes when the fork fails: an error, and the AOF stays off",
          "[aof][config]") {
  TempDir tmp;
  const Options o = AofOptions(tmp.str());
  RunTimeAofServer s(o);
  CHECK(s.Run({"SET", "a", "1"}) == kOk);
  s.persistence().child().FailNextForkForTesting();
  // Redis' reply; every value of the command is restored.
  CHECK(s.Run({"CONFIG", "SET", "appendfsync", "no", "appendonly", "yes"}) ==
        testing::Err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable "
                     "to turn on AOF. Check server logs."));
  CHECK(s.Run({"CONFIG", "GET", "appendonly"}) == testing::Arr({Bulk("appendonly"), Bulk("no")}));
  CHECK(s.Run({"CONFIG", "GET", "appendfsync"}) ==
        testing::Arr({Bulk("appendfsync"), Bulk("always")}));
  CHECK(s.harness.server().command_log() == nullptr);
  CHECK(s.persistence().aof() == nullptr);
  CHECK(s.InfoHas("aof_enabled:0"));
  CHECK(aof_files::FilesWithPrefix(tmp.str() + "/appendonlydir", "appendonly.aof").empty());
  // The next try succeeds.
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == kOk);
  s.WaitForChild();
  auto h = Reload(o);
  CHECK(h->Run({"GET", "a"}) == Bulk("1"));
}

}  // namespace rowcached::server

namespace rowcached::server {

TEST_CASE("A first rewrite that keeps failing is retried by the cron, then less often",
          "[aof][config]") {
  TempDir tmp;
  const Options o = AofOptions(tmp.str());
  RunTimeAofServer s(o);
  BackgroundChild& child = s.persistence().child();
  CHECK(s.Run({"SET", "a", "1"}) == kOk);
  // Inside EXEC the rewrite is scheduled for the cron.
  CHECK(s.Run({"MULTI"}) == kOk);
  CHECK(s.Run({"CONFIG", "SET", "appendonly", "yes"}) == "+QUEUED\r\n");
  CHECK(s.Run({"EXEC"}) == "*1\r\n+OK\r\n");
  // Three forks fail in a row: each leaves the rewrite scheduled for the next tick.
  for (int i = 0; i < 3; ++i) {
    child.FailNextForkForTesting();
    s.persistence().Cron();
    CHECK(child.running() == BackgroundChild::Kind::kNone);
    CHECK(s.InfoHas("aof_rewrite_scheduled:1"));
    CHECK(s.InfoHas("aof_last_bgrewrite_status:err"));
  }
  // Then the cron waits (a minute, Redis' aofRewriteLimited), the rewrite still scheduled.
  s.persistence().Cron();
  CHECK(child.running() == BackgroundChild::Kind::kNone);
  CHECK(s.InfoHas("aof_rewrite_scheduled:1"));
  // BGREWRITEAOF is not limited: the first rewrite completes, and the limit is lifted.
  CHECK(s.Run({"BGREWRITEAOF"}) ==
        testing::Simple("Background append only file rewriting started"));
  s.WaitForChild();
  CHECK(s.InfoHas("aof_last_bgrewrite_status:ok"));
  CHECK(s.InfoHas("aof_rewrite_scheduled:0"));
  CHECK(s.Run({"SET", "b", "2"}) == kOk);
  auto h = Reload(o);
  CHECK(h->Run({"GET", "a"}) == Bulk("1"));
  CHECK(h->Run({"GET", "b"}) == Bulk("2"));
}

}  // namespace rowcached::server
