// tests/support/private_server.h — throw-away MariaDB and PostgreSQL servers for tests and
// benchmarks.
//
// Each server lives in its own temporary directory, listens on a free loopback port, and is
// started lazily by the test that needs it (never during static initialisation: ctest's test
// discovery runs test binaries at build time). Nothing is ever skipped: if a server cannot be
// started, Start() throws std::runtime_error carrying the server's log tail, so the test fails
// loudly. Servers die with the test process: graceful stop in the destructor, and the kernel
// kills them (PR_SET_PDEATHSIG) if the process dies any other way (crash, abort, sanitizer).
//
// Data directories are copied from a template built once per machine (under
// $TMPDIR/rowcached-templates-<uid>/, guarded by a file lock, keyed by the server binary), so a
// start costs a copy and a server boot, not an initdb / mariadb-install-db.
//
// When the process runs as root, MariaDB runs as user `mysql` and PostgreSQL as `postgres`
// (initdb refuses root); otherwise both run as the current user.
//
// Threads: a server object is not thread-safe; drive it from one thread (the test's). Start()
// may be called from any thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rowcached::testing {

using SqlRow = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL

class PrivateServer {
 public:
  virtual ~PrivateServer();
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  // Creates the data directory on first use, starts the server and waits until it accepts
  // connections. No-op if running. Throws std::runtime_error (with the log tail) on failure.
  void Start();
  // Graceful shutdown; waits for the process to exit. No-op if not running. The data directory
  // stays for a later Start().
  void Stop();
  // Stop() then Start(): same port, same data.
  void Restart();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  // Listen on this port instead of a free one. REQUIRES: before the first Start().
  void set_port(int port) {
    port_ = port;
    port_fixed_ = true;
  }
  // The server's process id, or -1 when not running.
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  // The last lines of the server's logs.
  std::string LogTail(int lines = 40) const;

  // A URL for the adapters' factory, as the administrator, on the test database.
  virtual std::string url() const = 0;
  // Runs SQL as the administrator. Throws std::runtime_error on error.
  virtual void Execute(const std::string& sql) = 0;
  virtual std::vector<SqlRow> Query(const std::string& sql) = 0;

 protected:
  PrivateServer() = default;

  // Fills dir_/data (once). Throws on failure.
  virtual void Initialise() = 0;
  // argv of the server process.
  virtual std::vector<std::string> ServerCommand() const = 0;
  // True once the server accepts connections.
  virtual bool Ready() = 0;
  // After the first successful start (create the test database, ...).
  virtual void AfterFirstStart() {}
  virtual int StopSignal() const = 0;
  virtual std::vector<std::string> LogFiles() const = 0;

  // Runs a command to completion as `user` (empty = current user), output to `log`. Throws if
  // it fails.
  void RunCommand(const std::vector<std::string>& argv, const std::string& user,
                  const std::string& log) const;
  // User name the server runs as (empty = current).
  std::string service_user_;
  std::string dir_;
  int port_ = 0;

 private:
  [[noreturn]] void Fail(const std::string& what) const;
  void WaitExit(int timeout_seconds);

  pid_t pid_ = -1;
  bool initialised_ = false;
  bool created_ = false;
  bool port_fixed_ = false;
};

class PrivateMariaDb final : public PrivateServer {
 public:
  PrivateMariaDb();
  ~PrivateMariaDb() override;
  // mysql://root@127.0.0.1:PORT/rowcached_test
  std::string url() const override;
  void Execute(const std::string& sql) override;
  std::vector<SqlRow> Query(const std::string& sql) override;
  static constexpr const char* kDatabase = "rowcached_test";

 protected:
  void Initialise() override;
  std::vector<std::string> ServerCommand() const override;
  bool Ready() override;
  void AfterFirstStart() override;
  int StopSignal() const override;
  std::vector<std::string> LogFiles() const override;
};

class PrivatePostgres final : public PrivateServer {
 public:
  PrivatePostgres();
  ~PrivatePostgres() override;
  // postgresql://postgres@127.0.0.1:PORT/postgres
  std::string url() const override;
  void Execute(const std::string& sql) override;
  std::vector<SqlRow> Query(const std::string& sql) override;

 protected:
  void Initialise() override;
  std::vector<std::string> ServerCommand() const override;
  bool Ready() override;
  int StopSignal() const override;
  std::vector<std::string> LogFiles() const override;

 private:
  std::string bin_dir_;
};

// Process-wide servers shared by the tests of one binary, started on first call (and started
// again if a test left them stopped). Stopped and removed at exit.
PrivateMariaDb& SharedMariaDb();
PrivatePostgres& SharedPostgres();

// A fresh temporary directory (removed with RemoveTree). Throws on failure.
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path) noexcept;

// Peak resident set size of this process so far, in KiB (VmHWM).
long PeakRssKib();

}  // namespace rowcached::testing
