// SQLite back end (the embedded default): one sqlite3 handle per connection, WAL journal so
// readers never block the writer, a busy timeout for writers, and a progress handler that
// enforces the statement timeout.
//
// Values are rendered as SQLite renders them in text (sqlite3_column_text); BLOB values (and
// every value of a column declared BLOB) are bound and read as raw bytes.
#include <sqlite3.h>

#include <algorithm>
#include <unordered_map>

#include "adapters/internal.h"

namespace rowcached::adapters {
namespace {

using internal::Assignment;

Status StatusForCode(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT:  // only ever raised by the statement-timeout progress handler
      return Status::kTimeout;
    case SQLITE_CONSTRAINT:
      return Status::kConstraintViolated;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
      return Status::kConnectionLost;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return Status::kInvalidArgument;
    default:
      return Status::kOther;
  }
}

// SQLite column declared type -> integer affinity (the rule of section 3.1 of the datatype doc).
bool HasIntegerAffinity(std::string type) {
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return type.find("INT") != std::string::npos;
}

bool IsBlobType(std::string type) {
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return type.find("BLOB") != std::string::npos || type.find("BINARY") != std::string::npos ||
         type.find("BYTEA") != std::string::npos;
}

class SqliteConnection final : public internal::SessionConnection {
 public:
  using SessionConnection::SessionConnection;
  ~SqliteConnection() override { Close(); }

 protected:
  Result<void> Open() override {
    int rc =
        sqlite3_open_v2(url().database.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return Failure(rc);
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, static_cast<int>(options().busy_timeout.count()));
    // The progress handler runs every N virtual-machine steps; 1000 steps is a few
    // microseconds, fine-grained enough for millisecond timeouts and cheap enough to ignore.
    sqlite3_progress_handler(db_, 1000, &SqliteConnection::Progress, this);
    for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON"}) {
      Result<std::vector<std::vector<Value>>> done = DoRunSql(pragma);
      if (!done.ok()) return done.error();
    }
    return {};
  }

  void Close() noexcept override {
    for (auto& [sql_text, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  Result<TableSchema> DoDescribe(std::string_view table) override {
    Result<sqlite3_stmt*> stmt =
        Prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid");
    if (!stmt.ok()) return stmt.error();
    Statement s(this, *stmt);
    sqlite3_bind_text(*stmt, 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
    TableSchema schema;
    std::vector<std::pair<int, std::string>> key;
    int rc;
    while ((rc = Step(*stmt)) == SQLITE_ROW) {
      Column c;
      c.name = Text(*stmt, 0);
      c.type = Text(*stmt, 1);
      c.nullable = sqlite3_column_int(*stmt, 2) == 0;
      c.integer = HasIntegerAffinity(c.type);
      c.binary = IsBlobType(c.type);
      int pk = sqlite3_column_int(*stmt, 3);
      if (pk > 0) {
        key.emplace_back(pk, c.name);
        // INTEGER PRIMARY KEY aliases the rowid, which is NOT NULL whatever the declaration.
        if (c.integer) c.nullable = false;
      }
      schema.columns.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return Failure(rc);
    if (schema.columns.empty()) {
      return Error(Status::kNotFound,
                   "table '" + internal::Printable(table) + "' not found in " + url().database);
    }
    schema.name = std::string(table);
    std::sort(key.begin(), key.end());
    for (auto& k : key) schema.primary_key.push_back(std::move(k.second));
    return schema;
  }

  Result<Row> DoFetch(const TableSchema& table, const Column& key, std::string_view pk,
                      const std::vector<const Column*>& columns) override {
    Result<sqlite3_stmt*> stmt = Prepare(builder_.Fetch(table, key, columns));
    if (!stmt.ok()) return stmt.error();
    Statement s(this, *stmt);
    BindKey(*stmt, 1, key, pk);
    int rc = Step(*stmt);
    if (rc == SQLITE_DONE) {
      return Error(Status::kNotFound,
                   "no row with key '" + internal::Printable(pk) + "' in '" + table.name + "'");
    }
    if (rc != SQLITE_ROW) return Failure(rc);
    Row row;
    row.reserve(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) {
      row.push_back({columns[i]->name, ColumnValue(*stmt, static_cast<int>(i))});
    }
    return row;
  }

  Result<void> DoUpsert(const TableSchema& table, const Column& key, std::string_view pk,
                        const std::vector<Assignment>& values) override {
    std::vector<const Column*> columns;
    for (const Assignment& a : values) columns.push_back(a.column);
    if (columns.empty()) {
      Result<int> r = RunWrite(builder_.Upsert(table, key, columns), key, pk, values, 1);
      return r.ok() ? Result<void>() : Result<void>(r.error());
    }
    // Update the existing row; insert only if there is none. A concurrent insert of the same key
    // between the two makes the insert fail: the update then finds the row.
    Result<int> updated = RunWrite(builder_.UpdateRow(table, key, columns), key, pk, values,
                                   static_cast<int>(values.size()) + 1);
    if (!updated.ok()) return updated.error();
    if (*updated > 0) return {};
    Result<int> inserted = RunWrite(builder_.InsertRow(table, key, columns), key, pk, values, 1);
    if (inserted.ok() || inserted.status() != Status::kConstraintViolated) {
      return inserted.ok() ? Result<void>() : Result<void>(inserted.error());
    }
    Result<int> retried = RunWrite(builder_.UpdateRow(table, key, columns), key, pk, values,
                                   static_cast<int>(values.size()) + 1);
    if (retried.ok() && *retried > 0) return {};
    return inserted.error();
  }

  // Runs a write with the key bound at `key_index` and the values around it (before it when the
  // key is last, after it when it is first). Returns the rows changed.
  Result<int> RunWrite(const std::string& sql, const Column& key, std::string_view pk,
                       const std::vector<Assignment>& values, int key_index) {
    Result<sqlite3_stmt*> stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.error();
    Statement s(this, *stmt);
    BindKey(*stmt, key_index, key, pk);
    const int first_value = key_index == 1 ? 2 : 1;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int index = static_cast<int>(i) + first_value;
      const Value& v = *values[i].value;
      if (!v) {
        sqlite3_bind_null(*stmt, index);
      } else if (values[i].column->binary) {
        sqlite3_bind_blob64(*stmt, index, v->data(), v->size(), SQLITE_STATIC);
      } else {
        sqlite3_bind_text64(*stmt, index, v->data(), v->size(), SQLITE_STATIC, SQLITE_UTF8);
      }
    }
    int rc = Step(*stmt);
    if (rc != SQLITE_DONE) return Failure(rc);
    return sqlite3_changes(db_);
  }

  Result<void> DoDelete(const TableSchema& table, const Column& key, std::string_view pk) override {
    Result<sqlite3_stmt*> stmt = Prepare(builder_.Delete(table, key));
    if (!stmt.ok()) return stmt.error();
    Statement s(this, *stmt);
    BindKey(*stmt, 1, key, pk);
    int rc = Step(*stmt);
    if (rc != SQLITE_DONE) return Failure(rc);
    if (sqlite3_changes(db_) == 0) {
      return Error(Status::kNotFound,
                   "no row with key '" + internal::Printable(pk) + "' in '" + table.name + "'");
    }
    return {};
  }

  Result<void> DoScanBatch(
      const TableSchema& table, const Column& key, const std::string* after, std::size_t limit,
      std::vector<std::string>* keys,
      std::vector<std::string>* /*forms: keys here compare byte for byte*/) override {
    Result<sqlite3_stmt*> stmt = Prepare(builder_.ScanKeys(table, key, after != nullptr));
    if (!stmt.ok()) return stmt.error();
    Statement s(this, *stmt);
    int next = 1;
    if (after != nullptr) BindKey(*stmt, next++, key, *after);
    sqlite3_bind_int64(*stmt, next, static_cast<sqlite3_int64>(limit));
    int rc;
    while ((rc = Step(*stmt)) == SQLITE_ROW) keys->push_back(Text(*stmt, 0));
    if (rc != SQLITE_DONE) return Failure(rc);
    return {};
  }

  Result<void> DoPing() override {
    Result<sqlite3_stmt*> stmt = Prepare("SELECT 1");
    if (!stmt.ok()) return stmt.error();
    Statement s(this, *stmt);
    int rc = Step(*stmt);
    if (rc != SQLITE_ROW) return Failure(rc);
    return {};
  }

  Result<std::vector<std::vector<Value>>> DoRunSql(std::string_view sql_text) override {
    std::vector<std::vector<Value>> rows;
    sqlite3_stmt* stmt = nullptr;
    int rc =
        sqlite3_prepare_v2(db_, sql_text.data(), static_cast<int>(sql_text.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return Failure(rc);
    while ((rc = Step(stmt)) == SQLITE_ROW) {
      std::vector<Value>& row = rows.emplace_back();
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) row.push_back(ColumnValue(stmt, i));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return Failure(rc);
    return rows;
  }

 private:
  // Resets a cached statement (or finalizes an uncached one) when a call is done with it.
  class Statement {
   public:
    Statement(SqliteConnection* owner, sqlite3_stmt* stmt) : owner_(owner), stmt_(stmt) {}
    ~Statement() {
      if (owner_->options().cache_prepared_statements) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
      } else {
        sqlite3_finalize(stmt_);
      }
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

   private:
    SqliteConnection* owner_;
    sqlite3_stmt* stmt_;
  };

  static int Progress(void* self) {
    auto* connection = static_cast<SqliteConnection*>(self);
    return std::chrono::steady_clock::now() > connection->deadline_ ? 1 : 0;
  }

  Error Failure(int rc) const {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_INTERRUPT) {
      message = "statement timeout (" + std::to_string(options().statement_timeout.count()) +
                " ms) exceeded: " + message;
    }
    return Error(StatusForCode(rc), message + " (sqlite code " + std::to_string(rc) + ")");
  }

  Result<sqlite3_stmt*> Prepare(const std::string& sql_text) {
    const bool cache = options().cache_prepared_statements;
    if (cache) {
      auto it = statements_.find(sql_text);
      if (it != statements_.end()) return it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql_text.c_str(), static_cast<int>(sql_text.size()),
                                cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
    if (rc != SQLITE_OK) return Failure(rc);
    ++stats_.prepares;
    if (cache) statements_.emplace(sql_text, stmt);
    return stmt;
  }

  // Steps a statement under the statement timeout.
  int Step(sqlite3_stmt* stmt) {
    if (sqlite3_stmt_busy(stmt) == 0) {
      ++stats_.statements;
      deadline_ = options().statement_timeout.count() > 0
                      ? std::chrono::steady_clock::now() + options().statement_timeout
                      : std::chrono::steady_clock::time_point::max();
    }
    return sqlite3_step(stmt);
  }

  static std::string Text(sqlite3_stmt* stmt, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return text == nullptr
               ? std::string()
               : std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
  }

  static Value ColumnValue(sqlite3_stmt* stmt, int column) {
    switch (sqlite3_column_type(stmt, column)) {
      case SQLITE_NULL:
        return std::nullopt;
      case SQLITE_BLOB: {
        const void* blob = sqlite3_column_blob(stmt, column);
        const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, column));
        return blob == nullptr ? std::string() : std::string(static_cast<const char*>(blob), size);
      }
      default:
        return Text(stmt, column);
    }
  }

  static void BindKey(sqlite3_stmt* stmt, int index, const Column& key, std::string_view pk) {
    std::int64_t v;
    if (key.integer && internal::ParseInt64(pk, &v)) {
      sqlite3_bind_int64(stmt, index, v);
    } else {
      sqlite3_bind_text64(stmt, index, pk.data(), pk.size(), SQLITE_STATIC, SQLITE_UTF8);
    }
  }

  internal::SqlBuilder builder_{Dialect::kSqlite};
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

}  // namespace

Result<std::unique_ptr<Database>> NewSqlite(const Options& options) {
  auto shared = internal::NewShared(options, Dialect::kSqlite, "NewSqlite", "sqlite:PATH");
  if (!shared.ok()) return shared.error();
  return std::unique_ptr<Database>(
      std::make_unique<internal::SessionDatabase<SqliteConnection, Dialect::kSqlite>>(
          std::move(shared).value()));
}

}  // namespace rowcached::adapters
