// MySQL 8 / MariaDB 10.11 back end over Connector/C++ 1.1 (which speaks through libmariadb here).
//
// Values go through server-side prepared statements (binary protocol); the connector renders
// DECIMAL, DATETIME and friends as the server's text. Keys of integer columns are bound as
// integers: a string compared with an integer column is compared as a double by MySQL, which is
// wrong above 2^53.
// clang-format off
// mysql_connection.h first: the cppconn headers rely on its declarations.
#include <mysql_connection.h>
#include <mysql_driver.h>
#include <cppconn/exception.h>
#include <cppconn/metadata.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
// clang-format on
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "adapters/internal.h"

namespace rowcached::adapters {
namespace {

using internal::Assignment;

// get_driver_instance() is not thread-safe: the first call builds the driver. Do it once.
sql::Driver* Driver() {
  static std::once_flag once;
  static sql::Driver* driver = nullptr;
  std::call_once(once, [] { driver = sql::mysql::get_driver_instance(); });
  return driver;
}

Status StatusForCode(int code) {
  switch (code) {
    // Client side: cannot connect, server gone, lost during query, ...
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2005:  // CR_UNKNOWN_HOST
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2026:  // CR_SSL_CONNECTION_ERROR
    case 2055:  // CR_SERVER_LOST_EXTENDED
    // Server side: killed, shutting down, too many connections, network errors.
    case 1040:  // ER_CON_COUNT_ERROR
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1077:  // ER_NORMAL_SHUTDOWN
    case 1152:  // ER_ABORTING_CONNECTION
    case 1158:  // ER_NET_READ_ERROR
    case 1159:  // ER_NET_READ_INTERRUPTED
    case 1160:  // ER_NET_ERROR_ON_WRITE
    case 1161:  // ER_NET_WRITE_INTERRUPTED
    case 1927:  // ER_CONNECTION_KILLED (MariaDB)
    case 4031:  // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
      return Status::kConnectionLost;
    case 1969:  // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
    case 3024:  // ER_QUERY_TIMEOUT (MySQL max_execution_time)
    case 1205:  // ER_LOCK_WAIT_TIMEOUT
      return Status::kTimeout;
    case 1048:  // ER_BAD_NULL_ERROR
    case 1062:  // ER_DUP_ENTRY
    case 1169:  // ER_DUP_UNIQUE
    case 1216:  // ER_NO_REFERENCED_ROW
    case 1217:  // ER_ROW_IS_REFERENCED
    case 1364:  // ER_NO_DEFAULT_FOR_FIELD
    case 1451:  // ER_ROW_IS_REFERENCED_2
    case 1452:  // ER_NO_REFERENCED_ROW_2
    case 1557:  // ER_FOREIGN_DUPLICATE_KEY
    case 1586:  // ER_DUP_ENTRY_WITH_KEY_NAME
    case 3819:  // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
    case 4025:  // ER_CONSTRAINT_FAILED (MariaDB)
      return Status::kConstraintViolated;
    case 1264:  // ER_WARN_DATA_OUT_OF_RANGE
    case 1265:  // WARN_DATA_TRUNCATED
    case 1292:  // ER_TRUNCATED_WRONG_VALUE
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    case 1367:  // ER_ILLEGAL_VALUE_FOR_TYPE
    case 1406:  // ER_DATA_TOO_LONG
    case 1411:  // ER_WRONG_VALUE_FOR_TYPE
      return Status::kInvalidArgument;
    case 1054:  // ER_BAD_FIELD_ERROR
    case 1146:  // ER_NO_SUCH_TABLE
      return Status::kBadIdentifier;
    default:
      return Status::kOther;
  }
}

class MySqlConnection final : public internal::SessionConnection {
 public:
  using SessionConnection::SessionConnection;
  ~MySqlConnection() override { Close(); }

 protected:
  Result<void> Open() override {
    return Guard<void>([&]() -> Result<void> {
      sql::ConnectOptionsMap o;
      o["hostName"] = sql::SQLString("tcp://" + HostForUrl() + ":" + std::to_string(url().port));
      o["userName"] = sql::SQLString(url().user);
      o["password"] = sql::SQLString(url().password);
      o["schema"] = sql::SQLString(url().database);
      o["port"] = url().port;
      o["OPT_CONNECT_TIMEOUT"] = Seconds(options().connect_timeout);
      if (options().read_timeout.count() > 0) {
        o["OPT_READ_TIMEOUT"] = Seconds(options().read_timeout);
        o["OPT_WRITE_TIMEOUT"] = Seconds(options().read_timeout);
      }
      o["OPT_RECONNECT"] = false;  // reconnecting is ours to do: it drops prepared statements
      o["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
      o["CLIENT_MULTI_STATEMENTS"] = false;
      // UPDATE reports the rows it matched, not only those it changed (Upsert relies on it).
      o["CLIENT_FOUND_ROWS"] = true;
      conn_.reset(Driver()->connect(o));
      conn_->setAutoCommit(true);
      {
        // Strict mode for every table: a value the column cannot hold is an error, never
        // silently truncated (and the upsert's unique-key guard relies on NULL being refused).
        std::unique_ptr<sql::Statement> st(conn_->createStatement());
        st->execute(
            "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')");
        ++stats_.statements;
      }
      if (options().statement_timeout.count() > 0) {
        const std::string version = conn_->getMetaData()->getDatabaseProductVersion();
        std::string set;
        if (version.find("MariaDB") != std::string::npos) {
          set = fmt::format("SET SESSION max_statement_time = {:.3f}",
                            options().statement_timeout.count() / 1000.0);
        } else {
          set = fmt::format("SET SESSION max_execution_time = {}",
                            options().statement_timeout.count());
        }
        std::unique_ptr<sql::Statement> st(conn_->createStatement());
        st->execute(set);
        ++stats_.statements;
      }
      return {};
    });
  }

  void Close() noexcept override {
    statements_.clear();
    scratch_.reset();
    if (conn_) {
      try {
        conn_->close();
      } catch (...) {
        // The session is gone either way.
      }
      conn_.reset();
    }
  }

  Result<TableSchema> DoDescribe(std::string_view table) override {
    return Guard<TableSchema>([&]() -> Result<TableSchema> {
      sql::PreparedStatement* ps = Prepare(
          "SELECT c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.DATA_TYPE, k.ORDINAL_POSITION, "
          "c.COLLATION_NAME, c.CHARACTER_SET_NAME "
          "FROM information_schema.COLUMNS c "
          "LEFT JOIN information_schema.KEY_COLUMN_USAGE k "
          "ON k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME "
          "AND k.COLUMN_NAME = c.COLUMN_NAME AND k.CONSTRAINT_NAME = 'PRIMARY' "
          "WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = ? "
          "ORDER BY c.ORDINAL_POSITION");
      ps->setString(1, sql::SQLString(std::string(table)));
      std::unique_ptr<sql::ResultSet> rs(Query(ps));
      TableSchema schema;
      std::vector<std::pair<int, std::string>> key;
      while (rs->next()) {
        Column c;
        c.name = rs->getString(1).asStdString();
        c.type = rs->getString(2).asStdString();
        c.nullable = rs->getString(3).asStdString() == "YES";
        const std::string data_type = rs->getString(4).asStdString();
        c.integer = data_type == "tinyint" || data_type == "smallint" || data_type == "mediumint" ||
                    data_type == "int" || data_type == "bigint";
        c.is_unsigned = c.integer && c.type.find("unsigned") != std::string::npos;
        c.binary = data_type == "blob" || data_type == "tinyblob" || data_type == "mediumblob" ||
                   data_type == "longblob" || data_type == "binary" || data_type == "varbinary";
        if (!rs->isNull(5)) key.emplace_back(rs->getInt(5), c.name);
        if (!rs->isNull(6)) c.collation = rs->getString(6).asStdString();
        if (!rs->isNull(7)) c.charset = rs->getString(7).asStdString();
        schema.columns.push_back(std::move(c));
      }
      if (schema.columns.empty()) {
        return Error(Status::kNotFound, "table '" + internal::Printable(table) +
                                            "' not found in database '" + url().database + "'");
      }
      schema.name = std::string(table);
      std::sort(key.begin(), key.end());
      for (auto& k : key) schema.primary_key.push_back(std::move(k.second));
      // Whether a text key's collation ignores trailing spaces (KeyForm depends on it);
      // MariaDB's catalogue does not say, the collation answers.
      for (Column& c : schema.columns) {
        if (!IsPlainName(c.collation) || !IsPlainName(c.charset)) continue;
        if (std::find(schema.primary_key.begin(), schema.primary_key.end(), c.name) ==
            schema.primary_key.end()) {
          continue;
        }
        const std::string a = "CONVERT('a' USING " + c.charset + ") COLLATE " + c.collation;
        const std::string a_space = "CONVERT('a ' USING " + c.charset + ") COLLATE " + c.collation;
        std::unique_ptr<sql::ResultSet> pad(Query(Prepare("SELECT " + a + " = " + a_space)));
        c.pad_space = pad->next() && pad->getInt(1) == 1;
      }
      return schema;
    });
  }

  Result<Row> DoFetch(const TableSchema& table, const Column& key, std::string_view pk,
                      const std::vector<const Column*>& columns) override {
    return Guard<Row>([&]() -> Result<Row> {
      sql::PreparedStatement* ps = Prepare(builder_.Fetch(table, key, columns));
      BindKey(ps, 1, key, pk);
      std::unique_ptr<sql::ResultSet> rs(Query(ps));
      if (!rs->next()) {
        return Error(Status::kNotFound,
                     "no row with key '" + internal::Printable(pk) + "' in '" + table.name + "'");
      }
      Row row;
      row.reserve(columns.size());
      for (std::size_t i = 0; i < columns.size(); ++i) {
        const auto index = static_cast<std::uint32_t>(i + 1);
        Field field{columns[i]->name, std::nullopt};
        if (!rs->isNull(index)) field.value = Render(*rs, index, *columns[i]);
        row.push_back(std::move(field));
      }
      return row;
    });
  }

  Result<void> DoUpsert(const TableSchema& table, const Column& key, std::string_view pk,
                        const std::vector<Assignment>& values) override {
    std::vector<const Column*> columns;
    for (const Assignment& a : values) columns.push_back(a.column);
    if (columns.empty()) {
      return Guard<void>([&]() -> Result<void> {
        RunWrite(builder_.Upsert(table, key, columns), key, pk, values, 1);
        return {};
      });
    }
    // Update the existing row; insert only if there is none (see SqlBuilder::UpdateRow). The
    // session counts matched rows (CLIENT_FOUND_ROWS), so an update that changes nothing still
    // reports the row. A concurrent insert of the same key makes the insert fail with a duplicate
    // entry: the update then finds the row.
    const int key_last = static_cast<int>(values.size()) + 1;
    Result<int> updated = Guard<int>([&]() -> Result<int> {
      return RunWrite(builder_.UpdateRow(table, key, columns), key, pk, values, key_last);
    });
    if (!updated.ok()) return updated.error();
    if (*updated > 0) return {};
    Result<int> inserted = Guard<int>([&]() -> Result<int> {
      return RunWrite(builder_.InsertRow(table, key, columns), key, pk, values, 1);
    });
    if (inserted.ok()) return {};
    if (inserted.status() == Status::kConstraintViolated) {
      Result<int> retried = Guard<int>([&]() -> Result<int> {
        return RunWrite(builder_.UpdateRow(table, key, columns), key, pk, values, key_last);
      });
      if (retried.ok() && *retried > 0) return {};
    }
    return inserted.error();
  }

  // Runs a write with the key bound at `key_index` and the values around it. Throws driver
  // exceptions (callers wrap it in Guard). Returns the rows matched.
  int RunWrite(const std::string& sql_text, const Column& key, std::string_view pk,
               const std::vector<Assignment>& values, int key_index) {
    sql::PreparedStatement* ps = Prepare(sql_text);
    BindKey(ps, static_cast<unsigned>(key_index), key, pk);
    const unsigned first_value = key_index == 1 ? 2 : 1;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto index = static_cast<unsigned>(i) + first_value;
      if (values[i].value->has_value()) {
        ps->setString(index, sql::SQLString(**values[i].value));
      } else {
        ps->setNull(index, sql::DataType::VARCHAR);
      }
    }
    return Update(ps);
  }

  Result<void> DoDelete(const TableSchema& table, const Column& key, std::string_view pk) override {
    return Guard<void>([&]() -> Result<void> {
      sql::PreparedStatement* ps = Prepare(builder_.Delete(table, key));
      BindKey(ps, 1, key, pk);
      if (Update(ps) == 0) {
        return Error(Status::kNotFound,
                     "no row with key '" + internal::Printable(pk) + "' in '" + table.name + "'");
      }
      return {};
    });
  }

  Result<void> DoScanBatch(const TableSchema& table, const Column& key, const std::string* after,
                           std::size_t limit, std::vector<std::string>* keys,
                           std::vector<std::string>* forms) override {
    std::string form_of_key;
    if (forms != nullptr) {
      Result<std::string> expr =
          WeightExpression(key, internal::QuoteIdentifier(Dialect::kMySql, key.name));
      if (!expr.ok()) return expr.error();
      form_of_key = std::move(expr).value();
    }
    return Guard<void>([&]() -> Result<void> {
      sql::PreparedStatement* ps =
          Prepare(builder_.ScanKeys(table, key, after != nullptr, form_of_key));
      unsigned next = 1;
      if (after != nullptr) BindKey(ps, next++, key, *after);
      ps->setUInt64(next, limit);
      std::unique_ptr<sql::ResultSet> rs(Query(ps));
      while (rs->next()) {
        keys->push_back(rs->getString(1).asStdString());
        if (forms != nullptr) forms->push_back("w" + rs->getString(2).asStdString());
      }
      return {};
    });
  }

  Result<std::string> DoKeyForm(const Column& key, std::string_view pk) override {
    // x: the key as text; it names a row only if the column's character set holds it exactly
    // (else the conversion makes '?' of what it cannot hold, and invalid UTF-8 would be
    // mangled on the way in): `exact` checks the round trip against the bytes as sent.
    Result<std::string> weight = WeightExpression(key, "x");
    if (!weight.ok()) return weight.error();
    return Guard<std::string>([&]() -> Result<std::string> {
      sql::PreparedStatement* ps = Prepare(
          "SELECT " + *weight + ", CAST(CONVERT(CONVERT(x USING " + key.charset +
          ") USING utf8mb4) AS BINARY) = b FROM (SELECT CAST(? AS CHAR CHARACTER SET utf8mb4) "
          "AS x, CAST(? AS BINARY) AS b) AS k");
      ps->setString(1, sql::SQLString(std::string(pk)));
      ps->setString(2, sql::SQLString(std::string(pk)));
      std::unique_ptr<sql::ResultSet> rs(Query(ps));
      if (!rs->next()) return Error(Status::kOther, "no result from the key form query");
      if (rs->isNull(2) || rs->getInt(2) != 1) return "r" + std::string(pk);
      if (rs->isNull(1)) {
        // The database holds the key but would not weigh it (a weight string longer than
        // max_allowed_packet): it may still name a row, so no form may be made up for it.
        return Error(Status::kInvalidArgument, "key of " + std::to_string(pk.size()) +
                                                   " bytes is too long for the database "
                                                   "to weigh under " +
                                                   key.collation);
      }
      return "w" + rs->getString(1).asStdString();
    });
  }

  Result<void> DoPing() override {
    return Guard<void>([&]() -> Result<void> {
      std::unique_ptr<sql::ResultSet> rs(Query(Prepare("SELECT 1")));
      return {};
    });
  }

  Result<std::vector<std::vector<Value>>> DoRunSql(std::string_view sql_text) override {
    using Rows = std::vector<std::vector<Value>>;
    return Guard<Rows>([&]() -> Result<Rows> {
      std::unique_ptr<sql::Statement> st(conn_->createStatement());
      ++stats_.statements;
      Rows rows;
      if (st->execute(sql::SQLString(std::string(sql_text)))) {
        std::unique_ptr<sql::ResultSet> rs(st->getResultSet());
        const unsigned n = rs->getMetaData()->getColumnCount();
        while (rs->next()) {
          std::vector<Value>& row = rows.emplace_back();
          for (unsigned i = 1; i <= n; ++i) {
            row.push_back(rs->isNull(i) ? Value() : Value(rs->getString(i).asStdString()));
          }
        }
      }
      return rows;
    });
  }

 private:
  // Runs `body`, turning the connector's exceptions into statuses.
  template <typename T, typename Body>
  Result<T> Guard(Body&& body) {
    try {
      return body();
    } catch (const sql::SQLException& e) {
      Status status = StatusForCode(e.getErrorCode());
      std::string message = e.what();
      if (e.getErrorCode() != 0) {
        message =
            fmt::format("{} (error {}, SQLSTATE {})", message, e.getErrorCode(), e.getSQLState());
      }
      if (status == Status::kOther && conn_ && IsClosed()) status = Status::kConnectionLost;
      return Error(status, Redact(std::move(message)));
    } catch (const std::exception& e) {
      return Error(Status::kOther, Redact(e.what()));
    }
  }

  bool IsClosed() noexcept {
    try {
      return conn_->isClosed();
    } catch (...) {
      return true;
    }
  }

  std::string HostForUrl() const {
    if (url().host.find(':') != std::string::npos) return "[" + url().host + "]";
    return url().host;
  }

  // The connector formats binary-protocol values itself, and not always as the server does in
  // text: DATETIME / TIMESTAMP / TIME get six fraction digits whenever the fraction is non-zero
  // and none otherwise, whatever the column's precision; FLOAT / DOUBLE get 17 significant
  // digits. Render those as the server would: the column's fraction digits, shortest
  // round-trip numbers.
  static std::string Render(sql::ResultSet& rs, std::uint32_t index, const Column& column) {
    const std::string& type = column.type;
    auto starts = [&](std::string_view prefix) { return type.rfind(prefix, 0) == 0; };
    if (starts("datetime") || starts("timestamp") || starts("time")) {
      std::string text = rs.getString(index).asStdString();
      std::size_t fsp = 0;
      if (std::size_t open = type.find('('); open != std::string::npos) {
        fsp = static_cast<std::size_t>(std::atoi(type.c_str() + open + 1));
      }
      std::size_t dot = text.find('.');
      std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
      if (dot != std::string::npos) text.resize(dot);
      fraction.resize(fsp, '0');
      if (fsp > 0) text += "." + fraction;
      return text;
    }
    const bool is_float = type == "float" || type == "float unsigned";
    if (is_float || type == "double" || type == "double unsigned") {
      char buffer[64];
      const double v = rs.getDouble(index);
      auto result = is_float ? std::to_chars(buffer, buffer + sizeof(buffer), static_cast<float>(v))
                             : std::to_chars(buffer, buffer + sizeof(buffer), v);
      return std::string(buffer, result.ptr);
    }
    return rs.getString(index).asStdString();
  }

  // A collation or character set name from the catalogue, fit to be written into SQL.
  static bool IsPlainName(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
  }

  // The weight string of `operand` (an expression of the key's values) under `key`'s
  // collation. Under PAD SPACE the trailing weight units equal to a space's are removed: the
  // comparison pads the shorter value with spaces, so they never tell two values apart (and
  // characters other than U+0020 may weigh as a space: NO-BREAK SPACE under unicode_ci).
  static Result<std::string> WeightExpression(const Column& key, std::string_view operand) {
    if (!IsPlainName(key.collation) || !IsPlainName(key.charset)) {
      return Error(Status::kInvalidArgument,
                   "collation '" + internal::Printable(key.collation) + "' (character set '" +
                       internal::Printable(key.charset) + "') of key column '" + key.name +
                       "' is not a plain name");
    }
    auto weight = [&](std::string_view value) {
      return "WEIGHT_STRING(CONVERT(" + std::string(value) + " USING " + key.charset +
             ") COLLATE " + key.collation + ")";
    };
    if (!key.pad_space) return weight(operand);
    return "TRIM(TRAILING " + weight("' '") + " FROM " + weight(operand) + ")";
  }

  static int Seconds(std::chrono::milliseconds ms) {
    // Connector options count whole seconds; round up so that a small timeout is not 0 (none).
    return static_cast<int>(std::max<std::int64_t>(1, (ms.count() + 999) / 1000));
  }

  sql::PreparedStatement* Prepare(const std::string& sql_text) {
    if (options().cache_prepared_statements) {
      auto it = statements_.find(sql_text);
      if (it != statements_.end()) return it->second.get();
    }
    ++stats_.prepares;
    std::unique_ptr<sql::PreparedStatement> ps(conn_->prepareStatement(sql_text));
    if (!options().cache_prepared_statements) {
      scratch_ = std::move(ps);  // closes the previous one
      return scratch_.get();
    }
    return statements_.emplace(sql_text, std::move(ps)).first->second.get();
  }

  sql::ResultSet* Query(sql::PreparedStatement* ps) {
    ++stats_.statements;
    return ps->executeQuery();
  }

  int Update(sql::PreparedStatement* ps) {
    ++stats_.statements;
    return ps->executeUpdate();
  }

  static void BindKey(sql::PreparedStatement* ps, unsigned index, const Column& key,
                      std::string_view pk) {
    if (key.integer) {
      if (key.is_unsigned) {
        std::uint64_t v = 0;
        internal::ParseUint64(pk, &v);  // checked by the caller
        ps->setUInt64(index, v);
      } else {
        std::int64_t v = 0;
        internal::ParseInt64(pk, &v);
        ps->setInt64(index, v);
      }
    } else {
      ps->setString(index, sql::SQLString(std::string(pk)));
    }
  }

  internal::SqlBuilder builder_{Dialect::kMySql};
  // Declared before the statements: statements must be destroyed before their connection.
  std::unique_ptr<sql::Connection> conn_;
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> statements_;
  std::unique_ptr<sql::PreparedStatement> scratch_;  // the uncached statement of the last call
};

}  // namespace

Result<std::unique_ptr<Database>> NewMySql(const Options& options) {
  auto shared = internal::NewShared(options, Dialect::kMySql, "NewMySql", "mysql://");
  if (!shared.ok()) return shared.error();
  Driver();  // build the driver now, on the creating thread (it is not thread-safe)
  return std::unique_ptr<Database>(
      std::make_unique<internal::SessionDatabase<MySqlConnection, Dialect::kMySql>>(
          std::move(shared).value()));
}

}  // namespace rowcached::adapters
