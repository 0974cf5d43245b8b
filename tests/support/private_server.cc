#include "support/private_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

namespace rowcached::testing {
namespace {

// Forks happen on one long-lived thread. PR_SET_PDEATHSIG fires when the *thread* that forked
// the child exits, so forking from a test's worker thread would kill the server when that thread
// ends; this thread only ends with the process, which is exactly when servers must die.
class Spawner {
 public:
  static Spawner& Instance() {
    static Spawner* spawner = new Spawner();  // never destroyed: lives as long as the process
    return *spawner;
  }

  // Starts argv[0] (a path) with stdout and stderr appended to `log`, as `user` if non-empty.
  // Returns the pid or throws.
  pid_t Spawn(const std::vector<std::string>& argv, const std::string& user,
              const std::string& log) {
    std::unique_lock lock(mu_);
    Request request{argv, user, log, 0, {}};
    bool done = false;
    queue_.push_back([&] {
      request.pid = ForkExec(request);
      done = true;
    });
    cv_.notify_all();
    cv_.wait(lock, [&] { return done; });
    if (request.pid <= 0) throw std::runtime_error(request.error);
    return request.pid;
  }

 private:
  struct Request {
    std::vector<std::string> argv;
    std::string user;
    std::string log;
    pid_t pid;
    std::string error;
  };

  Spawner() {
    std::thread([this] { Loop(); }).detach();
  }

  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !queue_.empty(); });
      auto job = std::move(queue_.front());
      queue_.pop_front();
      job();
      cv_.notify_all();
    }
  }

  static pid_t ForkExec(Request& r) {
    // Everything the child needs is prepared before fork: after it, only async-signal-safe
    // calls.
    std::vector<char*> args;
    for (const std::string& a : r.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    uid_t uid = 0;
    gid_t gid = 0;
    bool switch_user = false;
    if (!r.user.empty() && geteuid() == 0) {
      passwd* pw = getpwnam(r.user.c_str());
      if (pw == nullptr) {
        r.error = "no such user '" + r.user + "' to run " + r.argv[0] + " as";
        return -1;
      }
      uid = pw->pw_uid;
      gid = pw->pw_gid;
      switch_user = true;
    }
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      r.error = std::string("fork failed: ") + std::strerror(errno);
      return -1;
    }
    if (pid == 0) {
      setsid();  // own process group: a terminal's ^C reaches us, we stop the server ourselves
      int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, 0);
      int log_fd = open(r.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (log_fd >= 0) {
        dup2(log_fd, 1);
        dup2(log_fd, 2);
      }
      if (switch_user) {
        if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
      }
      // Set after the user switch: changing credentials clears the parent-death signal.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(125);  // the parent died before prctl
      execv(args[0], args.data());
      _exit(127);
    }
    return pid;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

std::string ReadTail(const std::string& path, int lines) {
  std::ifstream in(path);
  if (!in) return "";
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) out += "  " + l + "\n";
  return out;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

void ChownTo(const std::string& path, const std::string& user) {
  if (user.empty() || geteuid() != 0) return;
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) throw std::runtime_error("no such user '" + user + "'");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown " + path + " failed: " + std::strerror(errno));
  }
}

std::string FindPostgresBin() {
  namespace fs = std::filesystem;
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = entry.path() / "bin";
    if (fs::exists(bin / "postgres") && fs::exists(bin / "initdb")) {
      if (best.empty() || entry.path().filename().string() == "15") best = bin.string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install the "
        "postgresql package)");
  }
  return best;
}

void EnsureMysqlLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

// Initialising a data directory (mariadb-install-db, initdb) costs seconds on a busy machine;
// copying a ready one costs milliseconds. The first process to need one builds a template under
// an exclusive file lock, keyed by the server binary's identity; everyone copies it (cp -a keeps
// the service user's ownership and modes). `build(dir)` must create `dir`/data.
void CopyFromTemplate(const std::string& kind, const std::string& binary, const std::string& dest,
                      const std::function<void(const std::string&)>& build,
                      const std::function<void(const std::vector<std::string>&)>& run) {
  namespace fs = std::filesystem;
  struct stat st {};
  if (stat(binary.c_str(), &st) != 0) throw std::runtime_error(binary + " not found");
  const fs::path root =
      fs::temp_directory_path() / ("rowcached-templates-" + std::to_string(geteuid()));
  std::error_code ec;
  fs::create_directories(root, ec);
  chmod(root.c_str(), 0755);
  const fs::path ready =
      root / (kind + "-" + std::to_string(st.st_mtime) + "-" + std::to_string(st.st_size));
  const std::string lock_path = ready.string() + ".lock";
  int lock = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0) throw std::runtime_error("cannot open " + lock_path);
  while (flock(lock, LOCK_EX) != 0 && errno == EINTR) {
  }
  try {
    if (!fs::exists(ready / "data")) {
      const std::string building = ready.string() + ".building";
      fs::remove_all(building, ec);
      fs::create_directory(building);
      chmod(building.c_str(), 0755);
      build(building);
      fs::rename(building, ready);
    }
  } catch (...) {
    close(lock);  // releases the lock
    throw;
  }
  close(lock);
  run({"/bin/cp", "-a", (ready / "data").string(), dest + "/data"});
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  chmod(pattern.c_str(), 0755);
  return pattern;
}

void RemoveTree(const std::string& path) noexcept {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

long PeakRssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------

PrivateServer::~PrivateServer() = default;

void PrivateServer::Fail(const std::string& what) const {
  std::string message = what + "\n--- server log tail (" + dir_ + ") ---\n" + LogTail();
  throw std::runtime_error(message);
}

std::string PrivateServer::LogTail(int lines) const {
  std::string out;
  for (const std::string& file : LogFiles()) {
    std::string tail = ReadTail(file, lines);
    if (!tail.empty()) out += file + ":\n" + tail;
  }
  return out.empty() ? "  (no log)\n" : out;
}

void PrivateServer::RunCommand(const std::vector<std::string>& argv, const std::string& user,
                               const std::string& log) const {
  pid_t pid = Spawner::Instance().Spawn(argv, user, log);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed (status " + std::to_string(status) + ")\n" +
                             ReadTail(log, 40));
  }
}

void PrivateServer::Start() {
  if (running()) return;
  if (!initialised_) {
    if (dir_.empty()) {
      dir_ = MakeTempDir("rowcached-test-");
      ChownTo(dir_, service_user_);
    }
    Initialise();
    initialised_ = true;
  }
  // Another process may grab the port between our probe and the server's bind: retry with a
  // new port, but only for the first start (a restart must keep its port).
  const bool may_move = !created_ && !port_fixed_;
  const int attempts = may_move ? 3 : 1;
  for (int attempt = 1;; ++attempt) {
    if (port_ == 0 || (may_move && attempt > 1)) port_ = FreeLoopbackPort();
    try {
      pid_ = Spawner::Instance().Spawn(ServerCommand(), service_user_, dir_ + "/server.log");
    } catch (const std::exception& e) {
      Fail(std::string("cannot start server: ") + e.what());
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool exited = false;
    for (;;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited = true;
        pid_ = -1;
        break;
      }
      if (Ready()) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
        Fail("server on port " + std::to_string(port_) + " not ready within 60 s");
      }
      // Polling a server that offers no readiness notification.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited) break;
    if (attempt >= attempts) {
      Fail("server exited during start-up (port " + std::to_string(port_) + ")");
    }
  }
  if (!created_) {
    created_ = true;
    AfterFirstStart();
  }
}

void PrivateServer::WaitExit(int timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  for (;;) {
    pid_t r = waitpid(pid_, nullptr, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

void PrivateServer::Stop() {
  if (!running()) return;
  kill(pid_, StopSignal());
  WaitExit(30);
}

void PrivateServer::Restart() {
  Stop();
  Start();
}

// ---------------------------------------------------------------------------------------------
// MariaDB

PrivateMariaDb::PrivateMariaDb() { service_user_ = "mysql"; }

PrivateMariaDb::~PrivateMariaDb() {
  Stop();
  RemoveTree(dir_);
}

void PrivateMariaDb::Initialise() {
  const std::string log = dir_ + "/install.log";
  CopyFromTemplate(
      "mariadb", "/usr/sbin/mariadbd", dir_,
      [&](const std::string& target) {
        ChownTo(target, service_user_);
        std::vector<std::string> argv = {"/usr/bin/mariadb-install-db",
                                         "--no-defaults",
                                         "--datadir=" + target + "/data",
                                         "--auth-root-authentication-method=normal",
                                         "--skip-test-db",
                                         "--innodb-log-file-size=16M"};
        if (geteuid() == 0) argv.push_back("--user=mysql");
        RunCommand(argv, "", log);
      },
      [&](const std::vector<std::string>& argv) { RunCommand(argv, "", log); });
}

std::vector<std::string> PrivateMariaDb::ServerCommand() const {
  // Durability is traded for speed: the data is thrown away.
  return {"/usr/sbin/mariadbd",
          "--no-defaults",
          "--datadir=" + dir_ + "/data",
          "--socket=" + dir_ + "/sock",
          // Its own tmpdir: a starting server deletes every "#sql*" file in its tmpdir, which in
          // a shared /tmp are the temporary tables of the other servers running beside it.
          "--tmpdir=" + dir_,
          "--port=" + std::to_string(port_),
          "--bind-address=127.0.0.1",
          "--pid-file=" + dir_ + "/pid",
          "--log-error=" + dir_ + "/err.log",
          "--skip-name-resolve",
          "--max-connections=500",
          "--innodb-buffer-pool-size=128M",
          "--innodb-log-file-size=16M",
          "--innodb-buffer-pool-load-at-startup=0",
          "--innodb-buffer-pool-dump-at-shutdown=0",
          "--innodb-flush-log-at-trx-commit=0",
          "--innodb-doublewrite=0",
          "--character-set-server=utf8mb4",
          "--collation-server=utf8mb4_unicode_ci"};
}

namespace {

MYSQL* ConnectMaria(int port, int timeout_seconds) {
  EnsureMysqlLibrary();
  MYSQL* m = mysql_init(nullptr);
  if (m == nullptr) return nullptr;
  unsigned int timeout = static_cast<unsigned int>(timeout_seconds);
  mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(m, "127.0.0.1", "root", "", nullptr, static_cast<unsigned int>(port),
                         nullptr, 0) == nullptr) {
    mysql_close(m);
    return nullptr;
  }
  return m;
}

}  // namespace

bool PrivateMariaDb::Ready() {
  MYSQL* m = ConnectMaria(port_, 1);
  if (m == nullptr) return false;
  mysql_close(m);
  return true;
}

void PrivateMariaDb::AfterFirstStart() {
  Execute(std::string("CREATE DATABASE IF NOT EXISTS ") + kDatabase);
}

int PrivateMariaDb::StopSignal() const { return SIGTERM; }

std::vector<std::string> PrivateMariaDb::LogFiles() const {
  return {dir_ + "/install.log", dir_ + "/server.log", dir_ + "/err.log"};
}

std::string PrivateMariaDb::url() const {
  return "mysql://root@127.0.0.1:" + std::to_string(port_) + "/" + kDatabase;
}

std::vector<SqlRow> PrivateMariaDb::Query(const std::string& sql) {
  MYSQL* m = ConnectMaria(port_, 5);
  if (m == nullptr) {
    throw std::runtime_error("admin connection to MariaDB on port " + std::to_string(port_) +
                             " failed");
  }
  std::vector<SqlRow> rows;
  std::string error;
  (void)mysql_select_db(m, kDatabase);  // fails harmlessly before the database exists
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    error = mysql_error(m);
  } else if (MYSQL_RES* res = mysql_store_result(m); res != nullptr) {
    const unsigned n = mysql_num_fields(res);
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
      unsigned long* lengths = mysql_fetch_lengths(res);
      SqlRow& out = rows.emplace_back();
      for (unsigned i = 0; i < n; ++i) {
        out.push_back(row[i] == nullptr
                          ? std::nullopt
                          : std::optional<std::string>(std::string(row[i], lengths[i])));
      }
    }
    mysql_free_result(res);
  } else if (mysql_field_count(m) != 0) {
    error = mysql_error(m);
  }
  mysql_close(m);
  if (!error.empty()) throw std::runtime_error("MariaDB admin SQL failed: " + error + "\n  " + sql);
  return rows;
}

void PrivateMariaDb::Execute(const std::string& sql) { (void)Query(sql); }

// ---------------------------------------------------------------------------------------------
// PostgreSQL

PrivatePostgres::PrivatePostgres() { service_user_ = "postgres"; }

PrivatePostgres::~PrivatePostgres() {
  Stop();
  RemoveTree(dir_);
}

void PrivatePostgres::Initialise() {
  bin_dir_ = FindPostgresBin();
  ChownTo(dir_, service_user_);
  const std::string log = dir_ + "/initdb.log";
  CopyFromTemplate(
      "postgres", bin_dir_ + "/postgres", dir_,
      [&](const std::string& target) {
        ChownTo(target, service_user_);
        RunCommand({bin_dir_ + "/initdb", "-D", target + "/data", "-U", "postgres", "--auth=trust",
                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"},
                   service_user_, log);
      },
      [&](const std::vector<std::string>& argv) { RunCommand(argv, "", log); });
}

std::vector<std::string> PrivatePostgres::ServerCommand() const {
  // Durability is traded for speed: the data is thrown away.
  return {bin_dir_ + "/postgres",
          "-D",
          dir_ + "/data",
          "-p",
          std::to_string(port_),
          "-k",
          dir_,
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "fsync=off",
          "-c",
          "synchronous_commit=off",
          "-c",
          "full_page_writes=off",
          "-c",
          "max_connections=200",
          "-c",
          "timezone=UTC"};
}

bool PrivatePostgres::Ready() {
  std::string info = "host=127.0.0.1 port=" + std::to_string(port_) +
                     " dbname=postgres user=postgres connect_timeout=2";
  return PQping(info.c_str()) == PQPING_OK;
}

int PrivatePostgres::StopSignal() const { return SIGINT; }  // fast shutdown

std::vector<std::string> PrivatePostgres::LogFiles() const {
  return {dir_ + "/initdb.log", dir_ + "/server.log"};
}

std::string PrivatePostgres::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

std::vector<SqlRow> PrivatePostgres::Query(const std::string& sql) {
  try {
    pqxx::connection c("host=127.0.0.1 port=" + std::to_string(port_) +
                       " dbname=postgres user=postgres connect_timeout=5");
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec(sql);
    std::vector<SqlRow> rows;
    for (const pqxx::row& row : r) {
      SqlRow& out = rows.emplace_back();
      for (const pqxx::field& f : row) {
        out.push_back(f.is_null() ? std::nullopt
                                  : std::optional<std::string>(std::string(f.c_str(), f.size())));
      }
    }
    return rows;
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("PostgreSQL admin SQL failed: ") + e.what() + "\n  " +
                             sql);
  }
}

void PrivatePostgres::Execute(const std::string& sql) { (void)Query(sql); }

// ---------------------------------------------------------------------------------------------

PrivateMariaDb& SharedMariaDb() {
  static PrivateMariaDb server;
  server.Start();
  return server;
}

PrivatePostgres& SharedPostgres() {
  static PrivatePostgres server;
  server.Start();
  return server;
}

}  // namespace rowcached::testing
