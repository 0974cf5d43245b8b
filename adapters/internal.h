// adapters/internal.h — shared machinery of the real back ends. Not part of the interface.
//
// SessionConnection implements the Connection contract once (identifier checks, key checks,
// lazy open, reconnect-and-retry-once, backoff, stats); each back end supplies the Do* hooks
// that talk to its driver. Hooks catch their driver's exceptions and return statuses; they
// are only called with an open session.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/database.h"

namespace rowcached::adapters::internal {

// Described tables, shared by a Database and all its connections. Thread-safe (one mutex; held
// only to copy a shared_ptr).
class Catalog {
 public:
  void Put(TableSchema schema);
  std::shared_ptr<const TableSchema> Find(std::string_view table) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const TableSchema>, std::less<>> tables_;
};

// What a Database shares with its connections: `url` is immutable, the catalogue locks itself.
struct Shared {
  ParsedUrl url;
  Catalog catalog;
};

// The state of a new Database: options.url parsed and checked to name `dialect`. A URL of another
// scheme is kInvalidArgument "<factory> needs a <expected> URL, got '<redacted url>'".
Result<std::shared_ptr<Shared>> NewShared(const Options& options, Dialect dialect,
                                          std::string_view factory, std::string_view expected);

// The Database of every back end: the connections differ, nothing else does.
template <typename ConnectionT, Dialect kDialect>
class SessionDatabase final : public Database {
 public:
  explicit SessionDatabase(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  Dialect dialect() const override { return kDialect; }
  const std::string& redacted_url() const override { return shared_->url.redacted; }
  const Options& options() const override { return shared_->url.options; }
  std::unique_ptr<Connection> Connect() override { return std::make_unique<ConnectionT>(shared_); }

 private:
  std::shared_ptr<Shared> shared_;
};

// A name fit for a message: at most 64 bytes, control bytes escaped.
std::string Printable(std::string_view text);

// Quotes an identifier for the dialect (`x` for MySQL, "x" otherwise), doubling any quote
// character inside. Only ever applied to names the catalogue returned.
std::string QuoteIdentifier(Dialect dialect, std::string_view name);

// Parses a decimal integer key exactly (no spaces, optional '-' unless unsigned).
bool ParseInt64(std::string_view text, std::int64_t* out);
bool ParseUint64(std::string_view text, std::uint64_t* out);
// True if `key` is a valid value of integer column `column`.
bool IsIntegerKey(const Column& column, std::string_view key);

// The SQL shapes every back end runs; only the quoting and placeholders differ.
struct SqlBuilder {
  Dialect dialect;

  std::string Placeholder(int index) const;  // 1-based: "?" or "$1"
  std::string Fetch(const TableSchema& table, const Column& key,
                    const std::vector<const Column*>& columns) const;
  std::string Delete(const TableSchema& table, const Column& key) const;
  std::string Upsert(const TableSchema& table, const Column& key,
                     const std::vector<const Column*>& columns) const;
  // Partial-row upsert in two steps (a one-statement INSERT ... ON CONFLICT/DUPLICATE KEY cannot
  // update some columns of a row whose other NOT NULL columns have no default: every database
  // checks the proposed insert row first). UpdateRow binds the values at 1..n and the key at
  // n+1; InsertRow binds the key at 1 and the values at 2..n+1.
  std::string UpdateRow(const TableSchema& table, const Column& key,
                        const std::vector<const Column*>& columns) const;
  std::string InsertRow(const TableSchema& table, const Column& key,
                        const std::vector<const Column*>& columns) const;
  // First batch when `after_key` is false; else keys greater than the first parameter. The last
  // parameter is the batch size.
  // `also_select`: a second result column (an expression of the key), if not empty.
  std::string ScanKeys(const TableSchema& table, const Column& key, bool after_key,
                       std::string_view also_select = {}) const;
};

// A column to write and its value.
struct Assignment {
  const Column* column;
  const Value* value;
};

class SessionConnection : public Connection {
 public:
  explicit SessionConnection(std::shared_ptr<Shared> shared);

  Result<TableSchema> Describe(std::string_view table) final;
  Result<Row> FetchRow(std::string_view table, std::string_view pk,
                       std::span<const std::string> columns) final;
  Result<void> Upsert(std::string_view table, std::string_view pk, const Row& values) final;
  Result<void> DeleteRow(std::string_view table, std::string_view pk) final;
  Result<std::uint64_t> ScanKeys(std::string_view table, const KeyBatchCallback& on_batch) final;
  Result<std::string> KeyForm(std::string_view table, std::string_view pk) final;
  Result<std::uint64_t> ScanKeyForms(std::string_view table,
                                     const KeyBatchCallback& on_batch) final;
  Result<void> Ping() final;
  ConnectionStats stats() const final { return stats_; }

 protected:
  Result<std::vector<std::vector<Value>>> RunSqlForTesting(std::string_view sql) final;

  // Opens the session and applies the session settings (timeouts, character set). Any failure
  // is reported as it is; the caller turns it into kConnectionLost.
  virtual Result<void> Open() = 0;
  // Drops the session and everything tied to it (prepared statements). Never throws.
  virtual void Close() noexcept = 0;

  virtual Result<TableSchema> DoDescribe(std::string_view table) = 0;
  // kNotFound if no row.
  virtual Result<Row> DoFetch(const TableSchema& table, const Column& key, std::string_view pk,
                              const std::vector<const Column*>& columns) = 0;
  virtual Result<void> DoUpsert(const TableSchema& table, const Column& key, std::string_view pk,
                                const std::vector<Assignment>& values) = 0;
  // kNotFound if no row was deleted.
  virtual Result<void> DoDelete(const TableSchema& table, const Column& key,
                                std::string_view pk) = 0;
  // Appends up to `limit` keys greater than *after (all keys if after is null), ascending, and
  // their KeyForms to *forms unless it is null (only asked of keys that fold spellings).
  virtual Result<void> DoScanBatch(const TableSchema& table, const Column& key,
                                   const std::string* after, std::size_t limit,
                                   std::vector<std::string>* keys,
                                   std::vector<std::string>* forms) = 0;
  // KeyForm of a key that folds spellings (KeyFoldsSpellings). Only MySQL has such keys; the
  // default refuses.
  virtual Result<std::string> DoKeyForm(const Column& key, std::string_view pk);
  virtual Result<void> DoPing() = 0;
  virtual Result<std::vector<std::vector<Value>>> DoRunSql(std::string_view sql) = 0;

  const ParsedUrl& url() const { return shared_->url; }
  const Options& options() const { return shared_->url.options; }
  // Removes the password from a driver message (defence in depth: drivers should not echo it).
  std::string Redact(std::string message) const;

  ConnectionStats stats_;

 private:
  template <typename T, typename Op>
  Result<T> Run(Op&& op);
  Result<void> EnsureOpen();
  void MarkLost() noexcept;

  // A described table usable for row operations, and its key column.
  struct Target {
    std::shared_ptr<const TableSchema> schema;
    const Column* key = nullptr;
  };
  Result<Target> Resolve(std::string_view table) const;
  // ScanKeys, delivering the keys' forms if `forms`.
  Result<std::uint64_t> Scan(std::string_view table, const KeyBatchCallback& on_batch, bool forms);

  std::shared_ptr<Shared> shared_;
  bool open_ = false;
  int failed_attempts_ = 0;  // consecutive failed opens
  std::chrono::steady_clock::time_point next_attempt_{};
  std::string last_open_error_;
};

// Converts a failure of Open() into the kConnectionLost the interface promises.
Error ConnectFailure(const ParsedUrl& url, const Error& cause);

}  // namespace rowcached::adapters::internal
