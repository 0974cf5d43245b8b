// adapters/database.h — the one small interface between rowcached and its database.
//
// Three back ends implement it: MySQL 8 / MariaDB 10.11 (Connector/C++), PostgreSQL (libpqxx) and
// SQLite (embedded default). A fault-injecting wrapper for tests lives in fault_injection.h.
//
// Contracts every back end keeps:
//   * No SQL text is ever built from a value. Every value (keys included) is bound as a statement
//     parameter; identifiers (tables, columns) are accepted only if Describe() found them in the
//     database catalogue, and are then quoted for the dialect.
//   * Values cross the interface as bytes exactly as the database renders them in text (DECIMAL
//     as its string, DATETIME as "YYYY-MM-DD HH:MM:SS[.ffffff]", utf8mb4 intact); BLOB / BYTEA
//     columns carry raw bytes (binary-safe, NUL bytes included). SQL NULL is std::nullopt, which
//     is distinct from the empty string.
//   * No exception crosses this interface. Driver exceptions are caught at the boundary and become
//     a Status of the closed set below, carrying the database's own message. Passwords never
//     appear in any message or log line.
//   * After a lost connection the next call reconnects. A call that finds its session dead
//     reconnects at once and retries once (every operation here is idempotent); if reconnecting
//     fails, further calls fail fast with kConnectionLost until a backoff delay (doubling from
//     Options::reconnect_backoff_initial up to reconnect_backoff_max) has passed, then try again.
//
// Threads and ownership:
//   * Database (the factory) is thread-safe: any thread may call Connect() and the accessors.
//     It owns the catalogue of described tables, shared by all its connections.
//   * A Connection is owned by exactly one thread at a time (a queue worker); it is not safe to
//     call from two threads concurrently. It opens its session lazily on first use, so creating
//     one never blocks and never fails. A Connection may outlive its Database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rowcached::adapters {

// The closed set of outcomes. Adding a member is an interface change: callers switch on it.
enum class Status : std::uint8_t {
  kOk,
  kNotFound,            // no such row (FetchRow, DeleteRow) or table (Describe)
  kConnectionLost,      // cannot reach the database or the session died; retrying may succeed
  kTimeout,             // statement timeout, lock wait timeout, SQLite busy timeout
  kConstraintViolated,  // NOT NULL, UNIQUE, FOREIGN KEY, CHECK
  kBadIdentifier,       // table or column unknown (not found by Describe), or unusable as asked
  kInvalidArgument,     // malformed URL / options, or a value the column type cannot hold
  kOther,               // anything else the database reported
};

// The one place a status becomes text: "ok", "not found", "connection lost", "timeout",
// "constraint violated", "bad identifier", "invalid argument", "error".
std::string_view StatusText(Status status);

// The outcome of an operation: a Status plus, when not kOk, the message (the database's own
// message where there is one). Result<T> also carries a T when ok().
class [[nodiscard]] Error {
 public:
  Error() = default;
  Error(Status status, std::string message) : status_(status), message_(std::move(message)) {}

  Status status() const { return status_; }
  bool ok() const { return status_ == Status::kOk; }
  const std::string& message() const { return message_; }
  // "<status text>: <message>", or "ok".
  std::string ToString() const;

 private:
  Status status_ = Status::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}      // NOLINT: implicit, ok
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit; REQUIRES !error.ok()
  Result(Status status, std::string message) : error_(status, std::move(message)) {}

  Status status() const { return error_.status(); }
  bool ok() const { return error_.ok(); }
  const std::string& message() const { return error_.message(); }
  const Error& error() const { return error_; }
  std::string ToString() const { return error_.ToString(); }

  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Error error_;
  std::optional<T> value_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit
  Result(Status status, std::string message) : error_(status, std::move(message)) {}

  Status status() const { return error_.status(); }
  bool ok() const { return error_.ok(); }
  const std::string& message() const { return error_.message(); }
  const Error& error() const { return error_; }
  std::string ToString() const { return error_.ToString(); }

 private:
  Error error_;
};

// One column value: bytes as the database renders them; std::nullopt is SQL NULL.
using Value = std::optional<std::string>;

struct Field {
  std::string column;
  Value value;
  bool operator==(const Field&) const = default;
};

// A row (or part of one): fields in the order asked for (table order when all columns are).
using Row = std::vector<Field>;

struct Column {
  std::string name;  // as the catalogue spells it
  std::string type;  // as the catalogue renders it: "int(11)", "decimal(10,2)", "numeric(10,2)"
  bool nullable = true;
  bool binary = false;       // BLOB / BINARY / BYTEA: values are raw bytes
  bool integer = false;      // an integer type: keys are bound as integers
  bool is_unsigned = false;  // MySQL UNSIGNED integer
  // MySQL/MariaDB: the text column's collation ("utf8mb4_general_ci") and character set
  // ("utf8mb4"); empty for other types and back ends (PostgreSQL's and SQLite's default
  // comparisons are byte-exact).
  std::string collation;
  std::string charset;
  // MySQL/MariaDB, a text primary-key column: its collation ignores trailing spaces (PAD SPACE,
  // most collations, "_bin" ones included) rather than counting them (NO PAD: "_nopad_", MySQL
  // 8's "_0900_"). Asked of the database by Describe; false when it could not be.
  bool pad_space = false;
};

// How the database compares values of a key column.
enum class KeyComparison : std::uint8_t {
  kExact,           // byte for byte: integers, binary strings, NO PAD "_bin" collations,
                    // PostgreSQL's and SQLite's default comparisons
  kTrailingSpaces,  // byte for byte but for trailing spaces: a PAD SPACE "_bin" collation
  kCollation,       // under a collation's weights, which fold case, accents, spaces ...
};
KeyComparison KeyComparisonOf(const Column& key);

// Whether the database may find one row under spellings of `key` that differ as bytes
// ('alice', 'ALICE' and 'alice ' under utf8mb4_unicode_ci; 'alice' and 'alice ' under
// utf8mb4_bin).
inline bool KeyFoldsSpellings(const Column& key) {
  return KeyComparisonOf(key) != KeyComparison::kExact;
}

// Connection::KeyForm of `pk`, where it needs no database: nullopt under kCollation.
std::optional<std::string> LocalKeyForm(const Column& key, std::string_view pk);

// Whether `form` (a KeyForm of a value of `key`) is that of a key the column's character set
// cannot hold, which names no row.
inline bool KeyFormNamesNoRow(const Column& key, std::string_view form) {
  return KeyComparisonOf(key) == KeyComparison::kCollation && form.starts_with('r');
}

struct TableSchema {
  std::string name;
  std::vector<Column> columns;  // in table order
  // Primary-key columns in key order; empty if the table has none. Row operations need exactly
  // one (the contract's single-column key).
  std::vector<std::string> primary_key;

  const Column* FindColumn(std::string_view column) const;
};

enum class Dialect : std::uint8_t { kMySql, kPostgres, kSqlite };
std::string_view DialectName(Dialect dialect);  // "mysql", "postgres", "sqlite"

// Everything that configures a Database. Defaults are what rowcached uses when the config does
// not say otherwise. Query parameters of the URL override the matching fields (durations as
// "250ms", "2s", "1m", a bare number meaning seconds): connect_timeout, read_timeout,
// statement_timeout, busy_timeout.
struct Options {
  // mysql://user:pass@host:port/db?..., postgresql://user:pass@host:port/db?... (also
  // postgres://), sqlite:PATH. User and password are percent-decoded. Default port 3306 / 5432.
  std::string url;

  // Longest wait to open a session (MySQL, PostgreSQL). PostgreSQL's libpq counts whole seconds
  // and treats anything under 2 s as 2 s.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};

  // MySQL socket read timeout (whole seconds); 0 = none. A backstop for a dead peer: statement
  // timeouts should fire first.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};

  // Longest a statement may run; 0 = no limit. MariaDB max_statement_time, MySQL
  // max_execution_time (SELECT only), PostgreSQL statement_timeout, SQLite progress handler.
  std::chrono::milliseconds statement_timeout{std::chrono::seconds(10)};

  // SQLite: how long a writer waits for a lock before kTimeout.
  std::chrono::milliseconds busy_timeout{std::chrono::seconds(5)};

  // Reconnect backoff after a failed reconnect: first delay, doubled up to the maximum.
  // 0 = try again on every call.
  std::chrono::milliseconds reconnect_backoff_initial{100};
  std::chrono::milliseconds reconnect_backoff_max{std::chrono::seconds(5)};

  // Keep each connection's prepared statements for reuse (true) or prepare, run and discard
  // the statement on every call (false; for benchmarks). Values are bound parameters either way.
  bool cache_prepared_statements = true;

  // Primary keys per ScanKeys batch (the bound on memory a scan holds).
  std::size_t scan_batch_size = 10000;
};

// The URL split into its parts (what NewDatabase understands). Exposed for config checks.
struct ParsedUrl {
  Dialect dialect = Dialect::kSqlite;
  std::string user;      // percent-decoded
  std::string password;  // percent-decoded; never print
  std::string host;
  int port = 0;
  std::string database;  // database name, or the SQLite file path
  // Options with the URL's query parameters applied.
  Options options;
  // The URL with the password replaced by "****": the only form that may be logged.
  std::string redacted;
};

// Splits and checks options.url. A bad URL is kInvalidArgument naming the part that is wrong
// (scheme, user, password, host, port, database, parameter name or value); the message shows
// the URL only in redacted form.
Result<ParsedUrl> ParseUrl(const Options& options);

// Counters of one connection, for tests and benchmarks.
struct ConnectionStats {
  std::uint64_t statements = 0;  // statements sent to the database
  std::uint64_t prepares = 0;    // statements prepared (cache misses, or every call if uncached)
  std::uint64_t connects = 0;    // sessions opened (the first included)
};

class Connection {
 public:
  virtual ~Connection() = default;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads the table's columns, types and primary key from the catalogue (the table name is bound
  // as a parameter) and registers them with the Database, so that every connection of that
  // Database accepts the table and its columns from then on. Calling it again refreshes the
  // registration (after an ALTER TABLE). kNotFound if no such table.
  virtual Result<TableSchema> Describe(std::string_view table) = 0;

  // The row whose primary key is `pk`; `columns` empty means every column, in table order.
  // kNotFound if no such row (also when `pk` cannot be a value of the key's type).
  // kBadIdentifier, before any SQL runs, if the table was not described or a column is unknown.
  virtual Result<Row> FetchRow(std::string_view table, std::string_view pk,
                               std::span<const std::string> columns = {}) = 0;

  // Inserts the row or updates the given columns of the existing one, in one statement.
  // `values` must not name the key column (the key is `pk`); it may be empty (insert the key
  // only if missing). kConstraintViolated, kInvalidArgument for a value the type cannot hold.
  virtual Result<void> Upsert(std::string_view table, std::string_view pk, const Row& values) = 0;

  // Deletes the row. kNotFound if there was no such row (the database is unchanged either way).
  virtual Result<void> DeleteRow(std::string_view table, std::string_view pk) = 0;

  // Streams every primary key of the table in ascending key order, in batches of at most
  // Options::scan_batch_size keys (keyset pagination: no long transaction, memory bounded by one
  // batch). The callback returns false to stop early. Returns the number of keys delivered.
  // Keys inserted or deleted during the scan may or may not be seen.
  using KeyBatchCallback = std::function<bool(std::span<const std::string> keys)>;
  virtual Result<std::uint64_t> ScanKeys(std::string_view table,
                                         const KeyBatchCallback& on_batch) = 0;

  // The form in which the database compares values of the table's key: two spellings name one
  // row exactly when their forms are equal. Computed without a round trip where it can be
  // (LocalKeyForm): `pk` itself where keys compare byte for byte, "b" and `pk` without its
  // trailing spaces under kTrailingSpaces. Under kCollation one SELECT computes it: "w" and
  // MySQL's WEIGHT_STRING under the key's collation (binary; under PAD SPACE without the
  // trailing units that weigh as a space does, as the comparison pads with them), or "r" and
  // `pk` itself for a key the column's character set cannot hold (it names no row, and must
  // share its form with no other spelling).
  virtual Result<std::string> KeyForm(std::string_view table, std::string_view pk) = 0;

  // As ScanKeys, but delivers the KeyForm of each key rather than the key.
  virtual Result<std::uint64_t> ScanKeyForms(std::string_view table,
                                             const KeyBatchCallback& on_batch) = 0;

  // One round trip; opens the session if needed.
  virtual Result<void> Ping() = 0;

  virtual ConnectionStats stats() const = 0;

 protected:
  // Test-only escape hatch (see adapters/testing.h): runs `sql` verbatim and returns its rows.
  virtual Result<std::vector<std::vector<Value>>> RunSqlForTesting(std::string_view sql) = 0;
  friend Result<std::vector<std::vector<Value>>> RunSqlForTesting(Connection& connection,
                                                                  std::string_view sql);
  // Lets wrappers (the fault injector) forward the hook to the connection they wrap.
  static Result<std::vector<std::vector<Value>>> ForwardRunSql(Connection& inner,
                                                               std::string_view sql) {
    return inner.RunSqlForTesting(sql);
  }
};

class Database {
 public:
  virtual ~Database() = default;

  virtual Dialect dialect() const = 0;
  // The URL with the password replaced by "****".
  virtual const std::string& redacted_url() const = 0;
  virtual const Options& options() const = 0;

  // A new connection of this database; its session opens on first use.
  virtual std::unique_ptr<Connection> Connect() = 0;
};

// The factory: picks the back end from the URL's scheme. kInvalidArgument for a bad URL.
Result<std::unique_ptr<Database>> NewDatabase(const Options& options);
Result<std::unique_ptr<Database>> NewDatabase(std::string_view url);  // default Options

// The back ends themselves. REQUIRES: options.url has the matching scheme (else
// kInvalidArgument).
Result<std::unique_ptr<Database>> NewMySql(const Options& options);
Result<std::unique_ptr<Database>> NewPostgres(const Options& options);
Result<std::unique_ptr<Database>> NewSqlite(const Options& options);

}  // namespace rowcached::adapters
