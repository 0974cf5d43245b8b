// tests/support itself: servers fail loudly, and die with the process that started them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/private_server.h"

namespace rowcached::testing {
namespace {

using namespace std::chrono_literals;

// A process that is gone or a zombie nobody has reaped yet no longer serves anything.
bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t paren = line.rfind(')');
  return paren == std::string::npos || line.substr(paren + 2, 1) == "Z";
}

TEST_CASE("support - a server that cannot start fails loudly with its log", "[support]") {
  // Occupy a loopback port, then ask for a server on it.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(fd, 1) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  PrivateMariaDb server;
  server.set_port(ntohs(addr.sin_port));
  REQUIRE_THROWS_WITH(server.Start(),
                      Catch::Contains("server log tail") && Catch::Contains("already in use"));
  CHECK(!server.running());
  close(fd);
}

// Run only by the next test, in a child process: starts a server and dies without cleanup.
TEST_CASE("support - crash child", "[.crash_child]") {
  const char* pid_file = std::getenv("ROWCACHED_CRASH_PID_FILE");
  if (pid_file == nullptr) return;       // run by hand: nothing to do
  auto* server = new PrivatePostgres();  // never destroyed: no graceful stop
  server->Start();
  std::ofstream(pid_file) << server->pid() << " " << server->dir() << "\n";
  std::abort();
}

TEST_CASE("support - servers die with a test process that crashes", "[support]") {
  const std::string dir = MakeTempDir("rowcached-crash-");
  const std::string pid_file = dir + "/pid";
  char exe[4096] = {};
  REQUIRE(readlink("/proc/self/exe", exe, sizeof(exe) - 1) > 0);
  setenv("ROWCACHED_CRASH_PID_FILE", pid_file.c_str(), 1);
  const std::string command =
      std::string("'") + exe + "' 'support - crash child' >" + dir + "/child.log 2>&1";
  const int status = std::system(command.c_str());
  unsetenv("ROWCACHED_CRASH_PID_FILE");
  CHECK(status != 0);  // the child aborted
  pid_t pid = -1;
  std::string server_dir;
  std::ifstream(pid_file) >> pid >> server_dir;
  REQUIRE(pid > 0);
  bool gone = false;
  for (int i = 0; i < 1000 && !(gone = ProcessGone(pid)); ++i) {
    std::this_thread::sleep_for(10ms);  // polling a process we cannot wait for
  }
  CHECK(gone);
  if (!gone) kill(pid, SIGKILL);
  RemoveTree(server_dir);
  RemoveTree(dir);
}

}  // namespace
}  // namespace rowcached::testing
