// The end-to-end harness: rowcached in-process, the row cache installed on its ServerContext
// BEFORE the network server starts serving, in front of a real MariaDB or PostgreSQL server
// (tests/support); clients talk RESP over real loopback sockets.
//
// Threads: everything here that asserts (RespClient, RowCacheServer, Backend) is for the test's
// own thread only (Catch2 v2 assertions are not thread-safe). Worker threads of a test use
// RawClient, which never asserts and reports failures as values.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>  // before anything that pulls in Boost.Asio (environment.md)
#include <vector>

#include "adapters/database.h"
#include "adapters/fault_injection.h"
#include "middleware/row_cache.h"
#include "protocol/resp_client.h"
#include "protocol/test_server.h"
#include "server/network.h"
#include "server/persistence.h"
#include "server/server_context.h"
#include "support/private_server.h"

namespace Catch {
template <>
struct StringMaker<std::optional<std::string>> {
  static std::string convert(const std::optional<std::string>& v) {
    return v ? ::Catch::Detail::stringify(*v) : std::string("NULL");
  }
};
}  // namespace Catch

namespace rowcached::integration_test {

using namespace std::chrono_literals;
using protocol_test::EncodeCommand;
using protocol_test::Reply;
using protocol_test::RespClient;
using protocol_test::WaitUntil;

// ---- the database behind rowcached -------------------------------------------------------------

enum class Kind { kMariaDb, kPostgres };

// One real database server plus the dialect details the tests need.
class Backend {
 public:
  Backend(Kind kind, testing::PrivateServer& server) : kind_(kind), server_(&server) {}

  Kind kind() const { return kind_; }
  const char* name() const { return kind_ == Kind::kMariaDb ? "mariadb" : "postgres"; }
  testing::PrivateServer& server() { return *server_; }
  // The adapter URL; `query` is appended as URL parameters.
  std::string Url(const std::string& query = "") const {
    return query.empty() ? server_->url() : server_->url() + "?" + query;
  }

  // SQL as the administrator, outside rowcached. FAILS with the server's message on error.
  std::vector<testing::SqlRow> Query(const std::string& sql) {
    try {
      return server_->Query(sql);
    } catch (const std::exception& e) {
      FAIL(name() << ": " << e.what());
    }
    return {};
  }
  void Exec(const std::string& sql) { (void)Query(sql); }
  // The single value `sql` selects (nullopt = SQL NULL). FAILS unless exactly one row comes back.
  std::optional<std::string> Scalar(const std::string& sql) {
    auto rows = Query(sql);
    INFO(sql);
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0].size() == 1);
    return rows[0][0];
  }

  std::string BinaryType() const { return kind_ == Kind::kMariaDb ? "BLOB" : "BYTEA"; }
  std::string DateTimeType() const { return kind_ == Kind::kMariaDb ? "DATETIME" : "TIMESTAMP"; }
  std::string TableSuffix() const {
    return kind_ == Kind::kMariaDb ? " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" : "";
  }
  // A binary literal of `bytes`.
  std::string BinaryLiteral(std::string_view bytes) const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : bytes) {
      hex += kHex[c >> 4];
      hex += kHex[c & 15];
    }
    return kind_ == Kind::kMariaDb ? "X'" + hex + "'" : "'\\x" + hex + "'::bytea";
  }

  // products(id, name, price, stock, version) with rows 1..rows: name "p<i>", price "<i>.50",
  // stock 10*i, version 1.
  void RecreateProducts(int rows = 100) {
    Exec("DROP TABLE IF EXISTS products");
    Exec(std::string("CREATE TABLE products (id ") + (kind_ == Kind::kMariaDb ? "INT" : "BIGINT") +
         " PRIMARY KEY, name VARCHAR(100), price DECIMAL(10,2), stock INT, "
         "version BIGINT NOT NULL DEFAULT 0)" +
         TableSuffix());
    std::string insert = "INSERT INTO products (id, name, price, stock, version) VALUES ";
    for (int i = 1; i <= rows; ++i) {
      std::string id = std::to_string(i);
      insert += (i > 1 ? "," : "") + std::string("(") + id + ", 'p" + id + "', " + id + ".50, " +
                std::to_string(10 * i) + ", 1)";
    }
    Exec(insert);
  }

 private:
  Kind kind_;
  testing::PrivateServer* server_;
};

// The process-wide shared servers (started on first use; a test that stops one uses its own).
inline Backend SharedBackend(Kind kind) {
  if (kind == Kind::kMariaDb) return Backend(kind, testing::SharedMariaDb());
  return Backend(kind, testing::SharedPostgres());
}

// ---- rowcached in-process ---------------------------------------------------------------------

// Row cache options for the products table: generous read_timeout (these tests are not about
// timeouts, and run under sanitizers on two busy cores), quick retries.
inline middleware::Options ProductsOptions(const std::string& url) {
  middleware::Options o;
  o.database.url = url;
  o.queues = 4;
  o.retry_initial = 10ms;
  o.retry_max = 200ms;
  middleware::TableOptions t;
  t.name = "products";
  t.read_timeout = 10s;
  o.tables = {t};
  return o;
}

// ServerContext + row cache + NetworkServer on a free loopback port with two I/O threads. The
// row cache is started (and plugged into the context) before the network server serves, and
// stopped after it has stopped, like app/main.cc does. `faults` non-null: the database is
// wrapped with the fault injector. `data_dir` non-empty: snapshots live there (SAVE writes one,
// a server made later on the same directory loads it first), as a restarted deployment.
class RowCacheServer {
 public:
  explicit RowCacheServer(middleware::Options options,
                          std::shared_ptr<adapters::FaultInjector> faults = nullptr,
                          const std::string& data_dir = "")
      : context_(ServerOptions(data_dir)), faults_(std::move(faults)) {
    std::string error;
    if (!data_dir.empty() && !context_.persistence().Load(&error)) FAIL("load: " << error);
    if (faults_) {
      auto db = adapters::NewDatabase(options.database);
      INFO(db.ToString());
      REQUIRE(db.ok());
      cache_ = middleware::StartRowCache(
          context_, options, adapters::WrapWithFaults(std::move(db).value(), faults_), &error);
    } else {
      cache_ = middleware::StartRowCache(context_, options, &error);
    }
    if (!cache_) FAIL("the row cache did not start: " << error);
    network_ = std::make_unique<server::NetworkServer>(context_);
    bool started = network_->Start(&error);
    INFO(error);
    REQUIRE(started);
    REQUIRE(network_->port() != 0);
  }

  ~RowCacheServer() {
    if (faults_) faults_->Clear();  // releases any held call so that the workers can stop
    if (network_) {
      network_->RequestStop();
      network_->Wait();
    }
    if (cache_) middleware::StopRowCache(*cache_);
  }

  uint16_t port() const { return network_->port(); }
  std::unique_ptr<RespClient> Client() { return std::make_unique<RespClient>(port()); }
  adapters::FaultInjector& faults() { return *faults_; }
  const middleware::TableStats& stats(std::string_view table = "products") {
    const middleware::TableStats* s = middleware::FindTableStats(*cache_, table);
    REQUIRE(s != nullptr);
    return *s;
  }

 private:
  static server::Options ServerOptions(const std::string& data_dir) {
    spdlog::set_level(spdlog::level::err);  // outages and retries are provoked on purpose
    server::Options o;
    if (!data_dir.empty()) {
      o.dir = data_dir;
      o.save = {};
    }
    o.bind = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    return o;
  }

  server::ServerContext context_;
  std::shared_ptr<adapters::FaultInjector> faults_;
  std::shared_ptr<middleware::RowCache> cache_;
  std::unique_ptr<server::NetworkServer> network_;
};

// ---- reply helpers ----------------------------------------------------------------------------

using Hash = std::map<std::string, std::string>;

inline void RequireNotError(const Reply& r) {
  if (r.IsError()) FAIL("unexpected error reply: " << r.str);
}

// An HGETALL / ROW.GET reply (RESP2 flat array or RESP3 map) as a map.
inline Hash HashOf(const Reply& r) {
  RequireNotError(r);
  INFO(RespClient::Printable(r.raw));
  REQUIRE((r.type == '*' || r.type == '%'));
  REQUIRE(r.elems.size() % 2 == 0);
  Hash h;
  for (size_t i = 0; i + 1 < r.elems.size(); i += 2) {
    REQUIRE(r.elems[i].type == '$');
    REQUIRE(r.elems[i + 1].type == '$');
    h[r.elems[i].str] = r.elems[i + 1].str;
  }
  REQUIRE(h.size() == r.elems.size() / 2);  // no field twice
  return h;
}

// A bulk reply's text; FAILS on anything else (nil included).
inline std::string BulkOf(const Reply& r) {
  RequireNotError(r);
  INFO(RespClient::Printable(r.raw));
  REQUIRE(r.type == '$');
  REQUIRE(!r.null);
  return r.str;
}

inline bool IsNil(const Reply& r) { return (r.type == '$' && r.null) || r.type == '_'; }

inline int64_t IntOf(const Reply& r) {
  RequireNotError(r);
  INFO(RespClient::Printable(r.raw));
  REQUIRE(r.type == ':');
  return r.integer;
}

// The products row of RecreateProducts() as HGETALL returns it.
inline Hash ProductRow(int id, const std::string& price = "", int64_t version = 1) {
  std::string i = std::to_string(id);
  return {{"id", i},
          {"name", "p" + i},
          {"price", price.empty() ? i + ".50" : price},
          {"stock", std::to_string(10 * id)},
          {"version", std::to_string(version)}};
}

// ROW.STATS <table> as name -> value text (integers in decimal).
inline std::map<std::string, std::string> RowStats(RespClient& c,
                                                   const std::string& table = "products") {
  Reply r = c.Command({"ROW.STATS", table});
  RequireNotError(r);
  REQUIRE((r.type == '*' || r.type == '%'));
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r.elems.size(); i += 2) {
    const Reply& v = r.elems[i + 1];
    out[r.elems[i].str] = v.type == ':' ? std::to_string(v.integer) : v.str;
  }
  return out;
}

inline int64_t Stat(RespClient& c, const std::string& name, const std::string& table = "products") {
  auto stats = RowStats(c, table);
  auto it = stats.find(name);
  if (it == stats.end()) FAIL("ROW.STATS has no '" << name << "'");
  return std::stoll(it->second);
}

// Waits until the table is ready and its Bloom filter loaded, so that counters and database
// calls are deterministic from then on.
inline void WaitTableReady(RespClient& c, const std::string& table = "products") {
  WaitUntil(
      [&] {
        auto s = RowStats(c, table);
        return s["state"] == "ready" && (s["bloom"] == "ready" || s["bloom"] == "off");
      },
      "table " + table + " ready with its Bloom filter loaded");
}

// ---- a client for worker threads --------------------------------------------------------------

// A blocking RESP2 client that never asserts: for threads other than the test's. Errors (I/O,
// timeout, malformed reply) are returned as text; the test thread turns them into failures.
class RawClient {
 public:
  struct Reply {
    char type = 0;  // + - : $ *
    std::string str;
    int64_t integer = 0;
    bool null = false;
    std::vector<Reply> elems;
  };

  RawClient() = default;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  // "" on success, else the reason.
  std::string Connect(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return "socket failed";
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return "connect failed";
    }
    return "";
  }

  // Sends one command and reads its reply. On failure returns nullopt with *error set.
  std::optional<Reply> Command(const std::vector<std::string>& args, std::string* error) {
    std::string bytes = EncodeCommand(args);
    std::string_view left = bytes;
    while (!left.empty()) {
      ssize_t n = ::send(fd_, left.data(), left.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        *error = "send failed";
        return std::nullopt;
      }
      left.remove_prefix(static_cast<size_t>(n));
    }
    size_t pos = 0;
    Reply r;
    if (!Parse(&pos, &r, error)) return std::nullopt;
    buf_.erase(0, pos);
    return r;
  }

 private:
  bool Fill(std::string* error) {
    pollfd p{fd_, POLLIN, 0};
    int pr;
    do {
      pr = ::poll(&p, 1, 10'000);  // a backstop against a hung server, not a timing check
    } while (pr < 0 && errno == EINTR);
    if (pr <= 0) {
      *error = pr == 0 ? "no reply within 10 s" : "poll failed";
      return false;
    }
    char chunk[16 * 1024];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      *error = "connection closed";
      return false;
    }
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  bool Line(size_t* pos, std::string* line, std::string* error) {
    while (true) {
      size_t nl = buf_.find("\r\n", *pos);
      if (nl != std::string::npos) {
        *line = buf_.substr(*pos, nl - *pos);
        *pos = nl + 2;
        return true;
      }
      if (!Fill(error)) return false;
    }
  }

  bool Parse(size_t* pos, Reply* r, std::string* error) {
    while (buf_.size() <= *pos) {
      if (!Fill(error)) return false;
    }
    r->type = buf_[(*pos)++];
    std::string line;
    if (!Line(pos, &line, error)) return false;
    switch (r->type) {
      case '+':
      case '-':
        r->str = line;
        return true;
      case ':':
        r->integer = std::stoll(line);
        return true;
      case '$': {
        int64_t len = std::stoll(line);
        if (len < 0) {
          r->null = true;
          return true;
        }
        while (buf_.size() < *pos + static_cast<size_t>(len) + 2) {
          if (!Fill(error)) return false;
        }
        r->str = buf_.substr(*pos, static_cast<size_t>(len));
        *pos += static_cast<size_t>(len) + 2;
        return true;
      }
      case '*': {
        int64_t n = std::stoll(line);
        if (n < 0) {
          r->null = true;
          return true;
        }
        for (int64_t i = 0; i < n; ++i) {
          Reply e;
          if (!Parse(pos, &e, error)) return false;
          r->elems.push_back(std::move(e));
        }
        return true;
      }
      default:
        *error = std::string("unexpected RESP type byte '") + r->type + "'";
        return false;
    }
  }

  int fd_ = -1;
  std::string buf_;
};

}  // namespace rowcached::integration_test
