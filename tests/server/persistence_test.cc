// SAVE, BGSAVE, LASTSAVE, the save schedule and loading at start-up, through the real
// dispatcher against real files (RDB format details are rdb_test.cc's).
#include "server/persistence.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "command_harness.h"
#include "family_test_util.h"
#include "server/info.h"
#include "support/temp_dir.h"

namespace rowcached::server::testing {
namespace {

namespace fs = std::filesystem;

using TempDir = ::rowcached::testing::TempDir;

Options InDir(const fs::path& dir, std::vector<std::string> save = {}) {
  Options o;
  o.dir = dir.string();
  o.save = std::move(save);
  return o;
}

// The value of one INFO persistence field.
std::string InfoField(ServerContext& server, const std::string& name) {
  std::string info = RenderInfo(server, {"persistence"});
  auto at = info.find("\r\n" + name + ":");
  REQUIRE(at != std::string::npos);
  at += name.size() + 3;
  return info.substr(at, info.find("\r\n", at) - at);
}

// Runs the cron until the background child is gone (the child is a real process: waiting for
// its exit is the condition, with a deadline that fails the test).
void WaitForChild(ServerContext& server) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (server.persistence().child().running() != BackgroundChild::Kind::kNone) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    server.persistence().Cron();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

TEST_CASE("SAVE writes a snapshot that a restart loads", "[persistence]") {
  TempDir dir;
  {
    CommandHarness h(InDir(dir.path()));
    REQUIRE(h.Run({"SET", "greeting", "hello"}) == kOk);
    REQUIRE(h.Run({"RPUSH", "list", "a", "b", "c"}) == Int(3));
    REQUIRE(h.Run({"SADD", "set", "x", "y"}) == Int(2));
    REQUIRE(h.Run({"ZADD", "zset", "1.5", "m"}) == Int(1));
    REQUIRE(h.Run({"HSET", "hash", "f", "v"}) == Int(1));
    REQUIRE(h.Run({"SELECT", "3"}) == kOk);
    REQUIRE(h.Run({"SET", "in3", "three", "PX", "100000"}) == kOk);
    CHECK(InfoField(h.server(), "rdb_changes_since_last_save") == "6");
    h.clock().Advance(5000);
    REQUIRE(h.Run({"SAVE"}) == kOk);
    CHECK(InfoField(h.server(), "rdb_changes_since_last_save") == "0");
    CHECK(InfoField(h.server(), "rdb_saves") == "1");
    CHECK(h.Run({"LASTSAVE"}) == Int(h.clock().NowMs() / 1000));
  }
  REQUIRE(fs::exists(dir.path() / "dump.rdb"));
  CommandHarness h(InDir(dir.path()));
  std::string error;
  REQUIRE(h.server().persistence().Load(&error));
  CHECK(h.Run({"GET", "greeting"}) == Bulk("hello"));
  CHECK(h.Run({"LRANGE", "list", "0", "-1"}) == Arr({Bulk("a"), Bulk("b"), Bulk("c")}));
  CHECK(h.Run({"SCARD", "set"}) == Int(2));
  CHECK(h.Run({"ZSCORE", "zset", "m"}) == Bulk("1.5"));
  CHECK(h.Run({"HGET", "hash", "f"}) == Bulk("v"));
  CHECK(h.Run({"DBSIZE"}) == Int(5));
  REQUIRE(h.Run({"SELECT", "3"}) == kOk);
  CHECK(h.Run({"GET", "in3"}) == Bulk("three"));
  CHECK(h.Run({"PTTL", "in3"}) != Int(-1));
  CHECK(InfoField(h.server(), "rdb_last_load_keys_loaded") == "6");
}

TEST_CASE("Start-up without a snapshot starts empty, and a bad one stops it", "[persistence]") {
  TempDir dir;
  std::string error;
  {
    CommandHarness h(InDir(dir.path() / "not-yet"));
    REQUIRE(h.server().persistence().Load(&error));
    CHECK(fs::is_directory(dir.path() / "not-yet"));
    CHECK(h.Run({"DBSIZE"}) == Int(0));
  }
  {
    std::ofstream(dir.path() / "dump.rdb") << "REDIS0010 this is not a snapshot";
    CommandHarness h(InDir(dir.path()));
    CHECK_FALSE(h.server().persistence().Load(&error));
    CHECK_THAT(error, Catch::Contains("dump.rdb"));
    CHECK(h.Run({"DBSIZE"}) == Int(0));
  }
}

TEST_CASE("BGSAVE snapshots the keyspace as it was when it started", "[persistence]") {
  TempDir dir;
  {
    CommandHarness h(InDir(dir.path()));
    for (int i = 0; i < 1000; ++i) {
      REQUIRE(h.Run({"SET", "before:" + std::to_string(i), std::to_string(i)}) == kOk);
    }
    REQUIRE(h.Run({"BGSAVE"}) == Simple("Background saving started"));
    CHECK(InfoField(h.server(), "rdb_bgsave_in_progress") == "1");
    // Changed after the fork: none of this is in the snapshot.
    REQUIRE(h.Run({"SET", "after", "x"}) == kOk);
    REQUIRE(h.Run({"DEL", "before:0"}) == Int(1));
    WaitForChild(h.server());
    CHECK(InfoField(h.server(), "rdb_bgsave_in_progress") == "0");
    CHECK(InfoField(h.server(), "rdb_last_bgsave_status") == "ok");
    // The two changes made after the fork are still unsaved.
    CHECK(InfoField(h.server(), "rdb_changes_since_last_save") == "2");
  }
  CommandHarness h(InDir(dir.path()));
  std::string error;
  REQUIRE(h.server().persistence().Load(&error));
  CHECK(h.Run({"DBSIZE"}) == Int(1000));
  CHECK(h.Run({"GET", "before:0"}) == Bulk("0"));
  CHECK(h.Run({"EXISTS", "after"}) == Int(0));
  // No temporary file left behind.
  for (const auto& f : fs::directory_iterator(dir.path())) {
    CHECK(f.path().filename() == "dump.rdb");
  }
}

TEST_CASE("BGSAVE with another child running: refused, or scheduled with SCHEDULE",
          "[persistence]") {
  TempDir dir;
  CommandHarness h(InDir(dir.path()));
  REQUIRE(h.Run({"SET", "k", "v"}) == kOk);
  // Another child (an AOF rewrite's place) that runs until the test lets it go.
  int release[2];
  REQUIRE(::pipe(release) == 0);
  std::string error;
  REQUIRE(h.server().persistence().child().Start(
      h.server().keyspace(), BackgroundChild::Kind::kAof, nullptr,
      [&] {
        char c;
        return ::read(release[0], &c, 1) == 1 ? 0 : 1;
      },
      nullptr, &error));
  CHECK(h.Run({"BGSAVE"}) ==
        Err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
            "SCHEDULE in order to schedule a BGSAVE whenever possible."));
  CHECK(h.Run({"BGSAVE", "SCHEDULE"}) == Simple("Background saving scheduled"));
  CHECK(h.Run({"BGSAVE", "NOW"}) == Err("ERR syntax error"));
  REQUIRE(::write(release[1], "x", 1) == 1);
  ::close(release[0]);
  ::close(release[1]);
  // The cron reaps the other child, then starts the scheduled save.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(dir.path() / "dump.rdb") ||
         h.server().persistence().child().running() != BackgroundChild::Kind::kNone) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    h.server().persistence().Cron();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(InfoField(h.server(), "rdb_saves") == "1");
}

TEST_CASE("The save schedule starts a BGSAVE when a rule holds", "[persistence]") {
  TempDir dir;
  CommandHarness h(InDir(dir.path(), {"100 3", "10 1000"}));
  REQUIRE(h.Run({"MSET", "a", "1", "b", "2"}) == kOk);
  h.clock().Advance(200 * 1000);
  h.server().persistence().Cron();
  // Two changes: neither rule holds, however long ago the last save was.
  CHECK(h.server().persistence().child().running() == BackgroundChild::Kind::kNone);
  REQUIRE(h.Run({"SET", "c", "3"}) == kOk);
  h.server().persistence().Cron();
  CHECK(h.server().persistence().child().running() == BackgroundChild::Kind::kRdb);
  WaitForChild(h.server());
  CHECK(fs::exists(dir.path() / "dump.rdb"));
  CHECK(InfoField(h.server(), "rdb_changes_since_last_save") == "0");
  // Just saved: a new change waits for the 100 seconds of the first rule.
  REQUIRE(h.Run({"MSET", "d", "4", "e", "5", "f", "6"}) == kOk);
  h.server().persistence().Cron();
  CHECK(h.server().persistence().child().running() == BackgroundChild::Kind::kNone);
  CHECK(
      h.Run({"CONFIG", "SET", "save", "1 2 3"}) ==
      Err("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"));
  CHECK(h.Run({"CONFIG", "SET", "save", ""}) == kOk);
  CHECK(h.Run({"CONFIG", "GET", "save"}) == Arr({Bulk("save"), Bulk("")}));
}

TEST_CASE("SHUTDOWN saves when rules exist, not with NOSAVE, and refuses when saving fails",
          "[persistence]") {
  TempDir dir;
  {
    CommandHarness h(InDir(dir.path(), {"3600 1"}));
    REQUIRE(h.Run({"SET", "k", "v"}) == kOk);
    REQUIRE(h.Run({"SHUTDOWN", "NOSAVE"}).empty());
    CHECK_FALSE(fs::exists(dir.path() / "dump.rdb"));
    std::string error;
    REQUIRE(h.server().persistence().FinishShutdown(&error));
    CHECK_FALSE(fs::exists(dir.path() / "dump.rdb"));
  }
  {
    CommandHarness h(InDir(dir.path(), {"3600 1"}));
    REQUIRE(h.Run({"SET", "k", "v"}) == kOk);
    REQUIRE(h.Run({"SHUTDOWN"}).empty());
    CHECK(fs::exists(dir.path() / "dump.rdb"));
    // A write that slipped in after SHUTDOWN's snapshot is saved by the last step.
    REQUIRE(h.Run({"SET", "late", "v"}) == kOk);
    std::string error;
    REQUIRE(h.server().persistence().FinishShutdown(&error));
  }
  {
    CommandHarness h(InDir(dir.path()));
    std::string error;
    REQUIRE(h.server().persistence().Load(&error));
    CHECK(h.Run({"MGET", "k", "late"}) == Arr({Bulk("v"), Bulk("v")}));
  }
  {
    // No rules: SHUTDOWN SAVE still saves; into a directory that is gone, it fails.
    CommandHarness h(InDir(dir.path() / "gone"));
    REQUIRE(h.Run({"SET", "k", "v"}) == kOk);
    CHECK(h.Run({"SHUTDOWN", "SAVE"}) == Err("ERR Errors trying to SHUTDOWN. Check logs."));
    CHECK(h.Run({"SHUTDOWN", "SAVE", "NOSAVE"}) == Err("ERR syntax error"));
    CHECK(h.Run({"SHUTDOWN", "SAVE", "FORCE"}).empty());
  }
}

}  // namespace rowcached::server::testing
