// Persistence with the real `rowcached` binary, crashed with kill -9: SHUTDOWN saves and the
// next start loads; kill -9 in the middle of a BGSAVE or an AOF rewrite leaves the previous files
// usable; a damaged snapshot stops start-up with a message instead of serving half a dataset;
// with the AOF, no acknowledged write is lost to kill -9 (always, and everysec too); the AOF
// wins over the snapshot; the AOF turned on and off at run time (CONFIG SET appendonly).
#include <signal.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "protocol/process.h"
#include "protocol/resp_client.h"
#include "protocol/test_server.h"

namespace rowcached::protocol_test {
namespace {

// SETs key:0 .. key:<n-1> in pipelined batches.
void Fill(uint16_t port, int n, const std::string& prefix = "key:") {
  RespClient c(port);
  constexpr int kBatch = 1000;
  for (int start = 0; start < n; start += kBatch) {
    std::string batch;
    int end = std::min(n, start + kBatch);
    for (int i = start; i < end; ++i) {
      batch += EncodeCommand({"SET", prefix + std::to_string(i), "value-" + std::to_string(i)});
    }
    c.Send(batch);
    for (int i = start; i < end; ++i) REQUIRE(c.Read().str == "OK");
  }
}

int64_t DbSize(uint16_t port) {
  RespClient c(port);
  return c.Command({"DBSIZE"}).integer;
}

// The child processes of `pid` (a BGSAVE's child), from /proc: a child belongs to the thread
// that forked it, so every thread's list is read.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::stringstream in(ReadFile(task.path() / "children"));
    pid_t child;
    while (in >> child) out.push_back(child);
  }
  return out;
}

}  // namespace

TEST_CASE("SHUTDOWN writes a snapshot and the next start loads every type", "[persistence]") {
  TempDir data;
  {
    RowcachedProcess server(data.path(), {});
    RespClient c(server.port());
    REQUIRE(c.Command({"SET", "s", "hello"}).str == "OK");
    REQUIRE(c.Command({"SET", "ttl", "v", "EX", "1000"}).str == "OK");
    REQUIRE(c.Command({"RPUSH", "l", "a", "b"}).integer == 2);
    REQUIRE(c.Command({"SADD", "set", "1", "2", "x"}).integer == 3);
    REQUIRE(c.Command({"ZADD", "z", "2", "b", "1", "a"}).integer == 2);
    REQUIRE(c.Command({"HSET", "h", "f", "v"}).integer == 1);
    REQUIRE(c.Command({"PFADD", "hll", "a", "b", "c"}).integer == 1);
    server.Shutdown();
  }
  RowcachedProcess server(data.path(), {});
  RespClient c(server.port());
  CHECK(c.Command({"GET", "s"}).str == "hello");
  int64_t ttl = c.Command({"TTL", "ttl"}).integer;
  CHECK(ttl > 0);
  CHECK(ttl <= 1000);
  CHECK(c.Command({"LRANGE", "l", "0", "-1"}).raw == "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(c.Command({"SISMEMBER", "set", "x"}).integer == 1);
  CHECK(c.Command({"ZRANGE", "z", "0", "-1"}).raw == "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  CHECK(c.Command({"HGET", "h", "f"}).str == "v");
  CHECK(c.Command({"PFCOUNT", "hll"}).integer == 3);
  CHECK(c.Command({"DBSIZE"}).integer == 7);
  server.Shutdown();
}

TEST_CASE("kill -9 during BGSAVE leaves the previous snapshot usable", "[persistence]") {
  TempDir data;
  constexpr int kKeys = 300000;
  {
    RowcachedProcess server(data.path(), {"--persistence.save="});
    Fill(server.port(), kKeys);
    {
      RespClient c(server.port());
      REQUIRE(c.Command({"SAVE"}).str == "OK");
      REQUIRE(c.Command({"SET", "after-save", "x"}).str == "OK");
      REQUIRE(c.Command({"BGSAVE"}).str == "Background saving started");
    }
    // Kill the saving child first (mid-write, unless it already finished), then the server.
    for (pid_t child : ChildrenOf(server.pid())) ::kill(child, SIGKILL);
    server.KillHard();
  }
  // The snapshot is the SAVE's, or the BGSAVE's if it completed before the kill: never a mix,
  // never unreadable.
  RowcachedProcess server(data.path(), {"--persistence.save="});
  int64_t keys = DbSize(server.port());
  CHECK((keys == kKeys || keys == kKeys + 1));
  RespClient c(server.port());
  CHECK(c.Command({"GET", "key:12345"}).str == "value-12345");
  server.Shutdown();
}

TEST_CASE("A damaged snapshot stops start-up with a message naming it", "[persistence]") {
  TempDir data;
  {
    RowcachedProcess server(data.path(), {});
    Fill(server.port(), 1000);
    server.Shutdown();
  }
  fs::path dump = data.path() / "dump.rdb";
  std::string bytes = ReadFile(dump);
  REQUIRE(bytes.size() > 100);
  {
    // Cut in the middle: truncated.
    std::ofstream(dump, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
    RunResult r = Run({ROWCACHED_BINARY, "--server.port=" + std::to_string(FreePort()),
                       "--persistence.dir=" + data.path().string()},
                      data.path());
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err + r.out, Catch::Contains("dump.rdb"));
  }
  {
    // One byte flipped: the checksum says so.
    std::string damaged = bytes;
    damaged[damaged.size() / 2] ^= 0x5a;
    std::ofstream(dump, std::ios::binary | std::ios::trunc) << damaged;
    RunResult r = Run({ROWCACHED_BINARY, "--server.port=" + std::to_string(FreePort()),
                       "--persistence.dir=" + data.path().string()},
                      data.path());
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err + r.out, Catch::Contains("dump.rdb"));
  }
}

}  // namespace rowcached::protocol_test

namespace rowcached::protocol_test {
namespace {

const std::vector<std::string> kAlways = {"--persistence.appendonly=true",
                                          "--persistence.appendfsync=always"};

// The i-th write of a mixed workload over every type, an expiry among them.
std::vector<std::string> MixedWrite(int i) {
  std::string n = std::to_string(i);
  switch (i % 6) {
    case 0:
      return {"SET", "s:" + n, "v" + n};
    case 1:
      return {"HSET", "h", "f" + n, "v" + n};
    case 2:
      return {"RPUSH", "l", n};
    case 3:
      return {"SADD", "set", n};
    case 4:
      return {"ZADD", "z", n, "m" + n};
    default:
      return {"SET", "e:" + n, "v" + n, "EX", "100000"};
  }
}

// How many of writes [0, n) are missing from the server on `port`.
int CountMissing(uint16_t port, int n) {
  RespClient c(port);
  int missing = 0;
  std::set<std::string> list;
  for (const auto& r : c.Command({"LRANGE", "l", "0", "-1"}).elems) list.insert(r.str);
  for (int i = 0; i < n; ++i) {
    std::string s = std::to_string(i);
    bool present = false;
    switch (i % 6) {
      case 0:
        present = c.Command({"GET", "s:" + s}).str == "v" + s;
        break;
      case 1:
        present = c.Command({"HGET", "h", "f" + s}).str == "v" + s;
        break;
      case 2:
        present = list.count(s) == 1;
        break;
      case 3:
        present = c.Command({"SISMEMBER", "set", s}).integer == 1;
        break;
      case 4:
        present = c.Command({"ZSCORE", "z", "m" + s}).str == s;
        break;
      default:
        present =
            c.Command({"GET", "e:" + s}).str == "v" + s && c.Command({"TTL", "e:" + s}).integer > 0;
    }
    if (!present) ++missing;
  }
  return missing;
}

// Sends `total` mixed writes pipelined, reads the replies of the first `acked`, and kills the
// server with the rest in flight. Returns nothing: writes [0, acked) were acknowledged.
void WriteThenKill(RowcachedProcess& server, int total, int acked) {
  RespClient c(server.port());
  std::string batch;
  for (int i = 0; i < total; ++i) batch += EncodeCommand(MixedWrite(i));
  c.Send(batch);
  for (int i = 0; i < acked; ++i) REQUIRE_FALSE(c.Read().IsError());
  server.KillHard();
}

}  // namespace

TEST_CASE("appendfsync always: kill -9 loses no acknowledged write", "[persistence][aof]") {
  TempDir data;
  constexpr int kTotal = 30000, kAcked = 20000;
  {
    RowcachedProcess server(data.path(), kAlways);
    WriteThenKill(server, kTotal, kAcked);
  }
  RowcachedProcess server(data.path(), kAlways);
  CHECK(CountMissing(server.port(), kAcked) == 0);
  server.Shutdown();
}

TEST_CASE("appendfsync everysec: acknowledged writes lost to kill -9 are counted",
          "[persistence][aof]") {
  TempDir data;
  constexpr int kTotal = 30000, kAcked = 20000;
  std::vector<std::string> everysec = {"--persistence.appendonly=true",
                                       "--persistence.appendfsync=everysec"};
  {
    RowcachedProcess server(data.path(), everysec);
    WriteThenKill(server, kTotal, kAcked);
  }
  RowcachedProcess server(data.path(), everysec);
  int missing = CountMissing(server.port(), kAcked);
  // Every reply follows the write() of its command, so a killed process loses none; only a
  // machine crash can lose the last second, which fsync has not reached yet.
  WARN("everysec: " << missing << " of " << kAcked << " acknowledged writes lost to kill -9");
  CHECK(missing == 0);
  server.Shutdown();
}

TEST_CASE("kill -9 during an AOF rewrite: the previous files load, nothing is lost",
          "[persistence][aof]") {
  TempDir data;
  constexpr int kKeys = 200000;
  {
    RowcachedProcess server(data.path(), kAlways);
    Fill(server.port(), kKeys);
    RespClient c(server.port());
    REQUIRE(c.Command({"BGREWRITEAOF"}).str == "Background append only file rewriting started");
    // Written while the child writes the new base: they go to the new increment file.
    REQUIRE(c.Command({"SET", "during-rewrite", "x"}).str == "OK");
    for (pid_t child : ChildrenOf(server.pid())) ::kill(child, SIGKILL);
    server.KillHard();
  }
  RowcachedProcess server(data.path(), kAlways);
  CHECK(DbSize(server.port()) == kKeys + 1);
  RespClient c(server.port());
  CHECK(c.Command({"GET", "during-rewrite"}).str == "x");
  CHECK(c.Command({"GET", "key:4242"}).str == "value-4242");
  server.Shutdown();
}

TEST_CASE("The AOF is preferred over the snapshot when both exist", "[persistence][aof]") {
  TempDir data;
  {
    RowcachedProcess server(data.path(), kAlways);
    RespClient c(server.port());
    REQUIRE(c.Command({"SET", "k", "in-both"}).str == "OK");
    REQUIRE(c.Command({"SAVE"}).str == "OK");
    REQUIRE(c.Command({"SET", "k", "aof-only"}).str == "OK");
    server.KillHard();
  }
  {
    RowcachedProcess server(data.path(), kAlways);
    RespClient c(server.port());
    CHECK(c.Command({"GET", "k"}).str == "aof-only");
    server.KillHard();
  }
  // Without the AOF, the snapshot is what there is.
  RowcachedProcess server(data.path(), {"--persistence.save="});
  RespClient c(server.port());
  CHECK(c.Command({"GET", "k"}).str == "in-both");
  server.Shutdown();
}

}  // namespace rowcached::protocol_test

// CONFIG SET appendonly at run time, then kill -9 and a restart with appendonly yes.
namespace rowcached::protocol_test {
namespace {

const std::vector<std::string> kAofOff = {"--persistence.appendonly=false", "--persistence.save="};
const std::vector<std::string> kAofOn = {"--persistence.appendonly=true", "--persistence.save="};

}  // namespace

TEST_CASE("CONFIG SET appendonly yes: after kill -9, a restart with the AOF has every write",
          "[persistence][aof][config]") {
  TempDir data;
  constexpr int kKeys = 20000;
  {
    RowcachedProcess server(data.path(), kAofOff);
    Fill(server.port(), kKeys);
    RespClient c(server.port());
    REQUIRE(c.Command({"SET", "s", "hello", "EX", "1000"}).str == "OK");
    REQUIRE(c.Command({"HSET", "h", "f1", "v1", "f2", "v2"}).integer == 2);
    REQUIRE(c.Command({"RPUSH", "l", "a", "b", "c"}).integer == 3);
    REQUIRE(c.Command({"SADD", "set", "x", "y"}).integer == 2);
    REQUIRE(c.Command({"ZADD", "z", "1", "a", "2", "b"}).integer == 2);
    REQUIRE(c.Command({"SET", "changed-later", "old", "EX", "2000"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "yes"}).str == "OK");
    CHECK(InfoField(Info(c, "persistence"), "aof_enabled") == "1");
    CHECK(c.Command({"CONFIG", "GET", "appendonly"}).raw ==
          "*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n");
    // Written while the first rewrite may still run: the increment's.
    REQUIRE(c.Command({"SET", "s2", "world", "PX", "3000000"}).str == "OK");
    REQUIRE(c.Command({"HSET", "h", "f1", "changed"}).integer == 0);
    REQUIRE(c.Command({"LPOP", "l"}).str == "a");
    REQUIRE(c.Command({"SREM", "set", "x"}).integer == 1);
    REQUIRE(c.Command({"ZINCRBY", "z", "5", "a"}).str == "6");
    REQUIRE(c.Command({"SET", "changed-later", "new", "KEEPTTL"}).str == "OK");
    REQUIRE(c.Command({"DEL", "key:7"}).integer == 1);
    REQUIRE(c.Command({"SET", "key:8", "changed"}).str == "OK");
    WaitForFirstAofRewrite(c);
    REQUIRE(c.Command({"SET", "after-rewrite", "1"}).str == "OK");
    server.KillHard();
  }
  // Loaded from the AOF: the process wrote no snapshot.
  CHECK_FALSE(fs::exists(data.path() / "dump.rdb"));
  RowcachedProcess server(data.path(), kAofOn);
  RespClient c(server.port());
  CHECK(c.Command({"DBSIZE"}).integer == kKeys - 1 + 8);
  CHECK(c.Command({"GET", "key:4242"}).str == "value-4242");
  CHECK(c.Command({"EXISTS", "key:7"}).integer == 0);
  CHECK(c.Command({"GET", "key:8"}).str == "changed");
  CHECK(c.Command({"GET", "s"}).str == "hello");
  int64_t ttl = c.Command({"TTL", "s"}).integer;
  CHECK((ttl > 0 && ttl <= 1000));
  CHECK(c.Command({"GET", "s2"}).str == "world");
  ttl = c.Command({"TTL", "s2"}).integer;
  CHECK((ttl > 2000 && ttl <= 3000));
  CHECK(c.Command({"GET", "changed-later"}).str == "new");
  ttl = c.Command({"TTL", "changed-later"}).integer;
  CHECK((ttl > 0 && ttl <= 2000));
  CHECK(c.Command({"HGETALL", "h"}).raw ==
        "*4\r\n$2\r\nf1\r\n$7\r\nchanged\r\n$2\r\nf2\r\n$2\r\nv2\r\n");
  CHECK(c.Command({"LRANGE", "l", "0", "-1"}).raw == "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
  CHECK(c.Command({"SMEMBERS", "set"}).raw == "*1\r\n$1\r\ny\r\n");
  CHECK(c.Command({"ZRANGE", "z", "0", "-1", "WITHSCORES"}).raw ==
        "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n6\r\n");
  CHECK(c.Command({"GET", "after-rewrite"}).str == "1");
  server.Shutdown();
}

TEST_CASE("CONFIG SET appendonly yes over an earlier run's AOF: its data does not come back",
          "[persistence][aof][config]") {
  TempDir data;
  {
    RowcachedProcess server(data.path(), kAofOn);
    RespClient c(server.port());
    REQUIRE(c.Command({"SET", "stale", "1"}).str == "OK");
    REQUIRE(c.Command({"SET", "shared", "old"}).str == "OK");
    server.KillHard();
  }
  const fs::path aof_dir = data.path() / "appendonlydir";
  std::set<std::string> old_files;
  for (const auto& f : fs::directory_iterator(aof_dir)) {
    if (f.path().filename() != "appendonly.aof.manifest") old_files.insert(f.path().filename());
  }
  REQUIRE(old_files.size() == 2);  // base 1, increment 1
  {
    RowcachedProcess server(data.path(), kAofOff);
    RespClient c(server.port());
    CHECK(c.Command({"DBSIZE"}).integer == 0);  // the AOF is not loaded with appendonly no
    REQUIRE(c.Command({"SET", "fresh", "1"}).str == "OK");
    REQUIRE(c.Command({"SET", "shared", "new"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "yes"}).str == "OK");
    REQUIRE(c.Command({"SET", "after", "1"}).str == "OK");
    WaitForFirstAofRewrite(c);
    server.KillHard();
  }
  for (const auto& name : old_files) CHECK_FALSE(fs::exists(aof_dir / name));
  RowcachedProcess server(data.path(), kAofOn);
  RespClient c(server.port());
  CHECK(c.Command({"EXISTS", "stale"}).integer == 0);
  CHECK(c.Command({"GET", "shared"}).str == "new");
  CHECK(c.Command({"GET", "fresh"}).str == "1");
  CHECK(c.Command({"GET", "after"}).str == "1");
  CHECK(c.Command({"DBSIZE"}).integer == 3);
  server.Shutdown();
}

TEST_CASE("CONFIG SET appendonly no: later writes are not in the AOF, and toggling works",
          "[persistence][aof][config]") {
  TempDir data;
  {
    RowcachedProcess server(data.path(), kAofOff);
    RespClient c(server.port());
    REQUIRE(c.Command({"SET", "a", "1"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "yes"}).str == "OK");
    WaitForFirstAofRewrite(c);
    REQUIRE(c.Command({"SET", "b", "2"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "no"}).str == "OK");
    CHECK(InfoField(Info(c, "persistence"), "aof_enabled") == "0");
    CHECK(c.Command({"CONFIG", "SET", "appendonly", "no"}).str == "OK");
    REQUIRE(c.Command({"SET", "c", "3"}).str == "OK");
    server.KillHard();
  }
  {
    RowcachedProcess server(data.path(), kAofOn);
    RespClient c(server.port());
    CHECK(c.Command({"GET", "a"}).str == "1");
    CHECK(c.Command({"GET", "b"}).str == "2");
    CHECK(c.Command({"EXISTS", "c"}).integer == 0);  // written after "no", as in Redis
    // Off, on (its rewrite killed by the next off), off, on: the last AOF has everything.
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "no"}).str == "OK");
    REQUIRE(c.Command({"SET", "t1", "1"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "yes"}).str == "OK");
    REQUIRE(c.Command({"SET", "t2", "2"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "no"}).str == "OK");
    REQUIRE(c.Command({"SET", "t3", "3"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "yes"}).str == "OK");
    REQUIRE(c.Command({"CONFIG", "SET", "appendonly", "yes"}).str == "OK");
    REQUIRE(c.Command({"SET", "t4", "4"}).str == "OK");
    WaitForFirstAofRewrite(c);
    REQUIRE(c.Command({"SET", "t5", "5"}).str == "OK");
    server.KillHard();
  }
  RowcachedProcess server(data.path(), kAofOn);
  RespClient c(server.port());
  for (const char* key : {"a", "b", "t1", "t2", "t3", "t4", "t5"}) {
    CHECK(c.Command({"EXISTS", key}).integer == 1);
  }
  CHECK(c.Command({"DBSIZE"}).integer == 7);
  server.Shutdown();
}

}  // namespace rowcached::protocol_test
