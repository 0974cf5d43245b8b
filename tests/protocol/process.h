// Child processes for the real-client tests: run a program with stdin from a file and its
// output captured, with a deadline (a hung child is killed and FAILS the test); and the real
// `rowcached` binary started on a free port and stopped with SHUTDOWN.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/resp_client.h"
#include "support/temp_dir.h"

extern char** environ;

namespace rowcached::protocol_test {

namespace fs = std::filesystem;

// A private temporary directory, removed with its contents at scope exit.
struct TempDir : ::rowcached::testing::TempDir {
  TempDir() : ::rowcached::testing::TempDir("rowcached-proto") {}
};

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Finds `name` on PATH like `command -v`; FAILS loudly when missing (never skips).
inline std::string RequireTool(const std::string& name, const std::string& package) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  FAIL(name << " not found on PATH: install it (apt-get install " << package
            << "); these tests need the real client");
  return "";
}

// A spawned child. Output goes to files in `dir` (stdout.N / stderr.N).
class Process {
 public:
  Process(const std::vector<std::string>& argv, const fs::path& dir,
          const std::optional<fs::path>& stdin_file = std::nullopt) {
    static int counter = 0;
    int n = ++counter;
    out_path_ = dir / ("stdout." + std::to_string(n));
    err_path_ = dir / ("stderr." + std::to_string(n));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, stdin_file ? stdin_file->c_str() : "/dev/null",
                                     O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      FAIL("cannot start " << argv[0] << ": " << std::strerror(rc));
    }
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    if (pidfd_ >= 0) ::close(pidfd_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Waits up to `timeout` for the child to exit: true once it has (see exit_code()).
  bool WaitExit(std::chrono::milliseconds timeout) {
    if (exited_) return true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int status;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (pidfd_ >= 0) {
        pollfd p{pidfd_, POLLIN, 0};  // readable when the child exits
        ::poll(&p, 1, static_cast<int>(left.count()));
      } else {
        ::usleep(10 * 1000);  // no pidfd (old kernel): poll the exit status
      }
    }
  }

  // Waits for the exit; FAILS (after killing the child) if it does not come within `timeout`.
  int Finish(std::chrono::milliseconds timeout) {
    if (!WaitExit(timeout)) {
      ::kill(pid_, SIGKILL);
      WaitExit(std::chrono::seconds(10));
      FAIL("process " << pid_ << " did not exit within " << timeout.count()
                      << " ms; stdout: " << Out() << " stderr: " << Err());
    }
    return exit_code_;
  }

  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  std::string Out() const { return ReadFile(out_path_); }
  std::string Err() const { return ReadFile(err_path_); }

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  fs::path out_path_, err_path_;
};

struct RunResult {
  int exit_code;
  std::string out;
  std::string err;
};

inline RunResult Run(const std::vector<std::string>& argv, const fs::path& dir,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60),
                     const std::optional<fs::path>& stdin_file = std::nullopt) {
  Process p(argv, dir, stdin_file);
  int code = p.Finish(timeout);
  return {code, p.Out(), p.Err()};
}

// A port nobody listens on right now: bind port 0, read it back, close.
inline uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool CanConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The real `rowcached` binary on a free port, in its own temporary directory.
class RowcachedProcess {
 public:
  explicit RowcachedProcess(std::vector<std::string> extra_args = {})
      : RowcachedProcess(fs::path(), std::move(extra_args)) {}
  // With its files in `data_dir` (kept across restarts) instead of a fresh directory.
  RowcachedProcess(const fs::path& data_dir, std::vector<std::string> extra_args)
      : port_(FreePort()) {
    fs::path data = data_dir.empty() ? dir_.path() / "data" : data_dir;
    std::vector<std::string> argv = {ROWCACHED_BINARY, "--server.port=" + std::to_string(port_),
                                     "--server.threads=2", "--server.loglevel=warn",
                                     "--persistence.dir=" + data.string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_.emplace(argv, dir_.path());
    // Ready when it accepts connections; an early exit (e.g. the port was taken) fails.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!CanConnect(port_)) {
      if (process_->WaitExit(std::chrono::milliseconds(20))) {
        FAIL("rowcached exited with "
             << process_->exit_code()
             << " before accepting connections; stderr: " << process_->Err());
      }
      if (std::chrono::steady_clock::now() > deadline) {
        FAIL("rowcached did not accept connections on port " << port_ << " within 30 s");
      }
    }
  }

  uint16_t port() const { return port_; }
  const fs::path& dir() const { return dir_.path(); }

  pid_t pid() const { return process_->pid(); }
  // kill -9, and wait for the process to be gone.
  void KillHard() {
    ::kill(process_->pid(), SIGKILL);
    process_->Finish(std::chrono::seconds(30));
  }

  // SHUTDOWN, then the process must exit 0.
  void Shutdown() {
    {
      RespClient c(port_);
      c.Send(EncodeCommand({"SHUTDOWN"}));
      c.ExpectClosed();
    }
    int code = process_->Finish(std::chrono::seconds(30));
    INFO("rowcached stderr: " << process_->Err());
    CHECK(code == 0);
  }

 private:
  TempDir dir_;
  uint16_t port_;
  std::optional<Process> process_;  // killed by its destructor if still running
};

}  // namespace rowcached::protocol_test
