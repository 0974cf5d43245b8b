// PostgreSQL back end over libpqxx 6.4.
//
// Parameters are sent as text with no declared type, so the server infers each one from the
// column it meets (an integer key compares as an integer, not as text). Results come back as
// the server renders them in text. BYTEA is the exception: it crosses the interface as raw bytes,
// so it is sent and read in the server's hex form ("\x0a0b") and converted here.
#include <algorithm>
#include <pqxx/pqxx>
#include <unordered_map>

#include "adapters/internal.h"

namespace rowcached::adapters {
namespace {

using internal::Assignment;

// One statement parameter: text or SQL NULL. Its own type so that the string_traits below
// cannot collide with anybody else's specialisation.
struct PgParam {
  const std::string* text = nullptr;  // nullptr = NULL
};

}  // namespace
}  // namespace rowcached::adapters

namespace pqxx {
template <>
struct string_traits<rowcached::adapters::PgParam> {
  static constexpr const char* name() noexcept { return "PgParam"; }
  static constexpr bool has_null() noexcept { return true; }
  static bool is_null(const rowcached::adapters::PgParam& p) { return p.text == nullptr; }
  static rowcached::adapters::PgParam null() { return {}; }
  static void from_string(const char[], rowcached::adapters::PgParam&) {}
  static std::string to_string(const rowcached::adapters::PgParam& p) { return *p.text; }
};
}  // namespace pqxx

namespace rowcached::adapters {
namespace {

Status StatusForSqlState(const std::string& state) {
  if (state.empty()) return Status::kOther;
  if (state.compare(0, 2, "08") == 0) return Status::kConnectionLost;  // connection exception
  if (state == "57P01" || state == "57P02" || state == "57P03") {
    return Status::kConnectionLost;  // admin / crash shutdown, cannot connect now
  }
  if (state == "57014" || state == "55P03" || state == "25P03") {
    return Status::kTimeout;  // query_canceled (statement_timeout), lock timeout, idle timeout
  }
  if (state.compare(0, 2, "23") == 0) return Status::kConstraintViolated;
  if (state.compare(0, 2, "22") == 0) return Status::kInvalidArgument;  // data exception
  if (state == "42P01" || state == "42703") return Status::kBadIdentifier;
  return Status::kOther;
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string HexEncodeBytea(const std::string& raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + raw.size() * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

std::string HexDecodeBytea(const char* text, std::size_t size) {
  if (size < 2 || text[0] != '\\' || text[1] != 'x') return std::string(text, size);
  std::string out;
  out.reserve((size - 2) / 2);
  for (std::size_t i = 2; i + 1 < size; i += 2) {
    out += static_cast<char>(Nibble(text[i]) * 16 + Nibble(text[i + 1]));
  }
  return out;
}

// libpq conninfo value: single-quoted, backslash and quote escaped.
std::string ConnInfoValue(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

class PostgresConnection final : public internal::SessionConnection {
 public:
  using SessionConnection::SessionConnection;
  ~PostgresConnection() override { Close(); }

 protected:
  Result<void> Open() override {
    return Guard<void>([&]() -> Result<void> {
      const std::int64_t connect_seconds =
          std::max<std::int64_t>(1, (options().connect_timeout.count() + 999) / 1000);
      std::string info =
          "host=" + ConnInfoValue(url().host) + " port=" + std::to_string(url().port) +
          " dbname=" + ConnInfoValue(url().database) + " user=" + ConnInfoValue(url().user) +
          " connect_timeout=" + std::to_string(connect_seconds) +
          " client_encoding=UTF8 application_name=rowcached";
      if (!url().password.empty()) info += " password=" + ConnInfoValue(url().password);
      conn_ = std::make_unique<pqxx::connection>(info);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      // A broken session is ours to replace (it loses the session settings and statements).
      conn_->inhibit_reactivation(true);
#pragma GCC diagnostic pop
      pqxx::nontransaction tx(*conn_);
      tx.exec("SET bytea_output = 'hex'");
      tx.exec("SET statement_timeout = " + std::to_string(options().statement_timeout.count()));
      stats_.statements += 2;
      return {};
    });
  }

  void Close() noexcept override {
    prepared_.clear();
    if (conn_) {
      try {
        conn_->disconnect();
      } catch (...) {
        // Gone either way.
      }
      conn_.reset();
    }
  }

  Result<TableSchema> DoDescribe(std::string_view table) override {
    return Guard<TableSchema>([&]() -> Result<TableSchema> {
      const std::string name(table);
      std::vector<PgParam> params{{&name}};
      pqxx::result r = Exec(
          "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, t.typname, "
          "(SELECT k.ord FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(num, ord) "
          " WHERE i.indrelid = c.oid AND i.indisprimary AND k.num = a.attnum) "
          "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
          "JOIN pg_type t ON t.oid = a.atttypid "
          "WHERE c.relname = $1 AND pg_table_is_visible(c.oid) "
          "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped "
          "ORDER BY a.attnum",
          params);
      TableSchema schema;
      std::vector<std::pair<long, std::string>> key;
      for (const pqxx::row& row : r) {
        Column c;
        c.name = row[0].c_str();
        c.type = row[1].c_str();
        c.nullable = std::string_view(row[2].c_str()) == "t";
        const std::string_view typname = row[3].c_str();
        c.integer = typname == "int2" || typname == "int4" || typname == "int8";
        c.binary = typname == "bytea";
        if (!row[4].is_null()) key.emplace_back(row[4].as<long>(), c.name);
        schema.columns.push_back(std::move(c));
      }
      if (schema.columns.empty()) {
        return Error(Status::kNotFound, "table '" + internal::Printable(table) +
                                            "' not found in database '" + url().database + "'");
      }
      schema.name = name;
      std::sort(key.begin(), key.end());
      for (auto& k : key) schema.primary_key.push_back(std::move(k.second));
      return schema;
    });
  }

  Result<Row> DoFetch(const TableSchema& table, const Column& key, std::string_view pk,
                      const std::vector<const Column*>& columns) override {
    return Guard<Row>([&]() -> Result<Row> {
      const std::string key_text(pk);
      std::vector<PgParam> params{{&key_text}};
      pqxx::result r = Exec(builder_.Fetch(table, key, columns), params);
      if (r.empty()) {
        return Error(Status::kNotFound,
                     "no row with key '" + internal::Printable(pk) + "' in '" + table.name + "'");
      }
      const pqxx::row row = r[0];
      Row out;
      out.reserve(columns.size());
      for (std::size_t i = 0; i < columns.size(); ++i) {
        const pqxx::field f = row[static_cast<pqxx::row::size_type>(i)];
        Field field{columns[i]->name, std::nullopt};
        if (!f.is_null()) {
          field.value = columns[i]->binary ? HexDecodeBytea(f.c_str(), f.size())
                                           : std::string(f.c_str(), f.size());
        }
        out.push_back(std::move(field));
      }
      return out;
    });
  }

  Result<void> DoUpsert(const TableSchema& table, const Column& key, std::string_view pk,
                        const std::vector<Assignment>& values) override {
    return Guard<void>([&]() -> Result<void> {
      const std::string key_text(pk);
      std::vector<std::string> encoded(values.size());  // hex forms of binary values
      std::vector<PgParam> value_params;
      std::vector<const Column*> columns;
      for (std::size_t i = 0; i < values.size(); ++i) {
        columns.push_back(values[i].column);
        const Value& v = *values[i].value;
        if (!v) {
          value_params.push_back({});
        } else if (values[i].column->binary) {
          encoded[i] = HexEncodeBytea(*v);
          value_params.push_back({&encoded[i]});
        } else {
          value_params.push_back({&*v});
        }
      }
      std::vector<PgParam> key_first{{&key_text}};
      key_first.insert(key_first.end(), value_params.begin(), value_params.end());
      if (columns.empty()) {
        Exec(builder_.Upsert(table, key, columns), key_first);
        return {};
      }
      // Update the existing row; insert only if there is none (see SqlBuilder::UpdateRow). A
      // concurrent insert of the same key makes the insert fail: the update then finds the row.
      std::vector<PgParam> key_last = value_params;
      key_last.push_back({&key_text});
      if (Exec(builder_.UpdateRow(table, key, columns), key_last).affected_rows() > 0) return {};
      try {
        Exec(builder_.InsertRow(table, key, columns), key_first);
      } catch (const pqxx::unique_violation&) {
        if (Exec(builder_.UpdateRow(table, key, columns), key_last).affected_rows() > 0) return {};
        throw;
      }
      return {};
    });
  }

  Result<void> DoDelete(const TableSchema& table, const Column& key, std::string_view pk) override {
    return Guard<void>([&]() -> Result<void> {
      const std::string key_text(pk);
      std::vector<PgParam> params{{&key_text}};
      pqxx::result r = Exec(builder_.Delete(table, key), params);
      if (r.affected_rows() == 0) {
        return Error(Status::kNotFound,
                     "no row with key '" + internal::Printable(pk) + "' in '" + table.name + "'");
      }
      return {};
    });
  }

  Result<void> DoScanBatch(
      const TableSchema& table, const Column& key, const std::string* after, std::size_t limit,
      std::vector<std::string>* keys,
      std::vector<std::string>* /*forms: keys here compare byte for byte*/) override {
    return Guard<void>([&]() -> Result<void> {
      const std::string limit_text = std::to_string(limit);
      std::vector<PgParam> params;
      if (after != nullptr) params.push_back({after});
      params.push_back({&limit_text});
      pqxx::result r = Exec(builder_.ScanKeys(table, key, after != nullptr), params);
      for (const pqxx::row& row : r) keys->emplace_back(row[0].c_str(), row[0].size());
      return {};
    });
  }

  Result<void> DoPing() override {
    return Guard<void>([&]() -> Result<void> {
      Exec("SELECT 1", {});
      return {};
    });
  }

  Result<std::vector<std::vector<Value>>> DoRunSql(std::string_view sql_text) override {
    using Rows = std::vector<std::vector<Value>>;
    return Guard<Rows>([&]() -> Result<Rows> {
      CheckAlive();
      pqxx::nontransaction tx(*conn_);
      ++stats_.statements;
      pqxx::result r = tx.exec(std::string(sql_text));
      Rows rows;
      for (const pqxx::row& row : r) {
        std::vector<Value>& out = rows.emplace_back();
        for (const pqxx::field& f : row) {
          out.push_back(f.is_null() ? Value() : Value(std::string(f.c_str(), f.size())));
        }
      }
      return rows;
    });
  }

 private:
  template <typename T, typename Body>
  Result<T> Guard(Body&& body) {
    try {
      return body();
    } catch (const pqxx::broken_connection& e) {
      return Error(Status::kConnectionLost, Redact(Trim(e.what())));
    } catch (const pqxx::sql_error& e) {
      Status status = StatusForSqlState(e.sqlstate());
      if (status == Status::kOther && conn_ && !conn_->is_open()) {
        status = Status::kConnectionLost;
      }
      std::string message = Trim(e.what());
      if (!e.sqlstate().empty()) message += " (SQLSTATE " + e.sqlstate() + ")";
      return Error(status, Redact(std::move(message)));
    } catch (const pqxx::in_doubt_error& e) {
      return Error(Status::kConnectionLost, Redact(Trim(e.what())));
    } catch (const std::exception& e) {
      Status status = Status::kOther;
      if (conn_ && !conn_->is_open()) status = Status::kConnectionLost;
      return Error(status, Redact(Trim(e.what())));
    }
  }

  // Runs one statement outside any transaction (autocommit), prepared once per session when
  // statements are cached, else as a one-off parameterised statement (parsed every time).
  pqxx::result Exec(const std::string& sql_text, const std::vector<PgParam>& params) {
    CheckAlive();
    pqxx::nontransaction tx(*conn_);
    ++stats_.statements;
    if (!options().cache_prepared_statements) {
      ++stats_.prepares;
      return tx.exec_params(sql_text, pqxx::prepare::make_dynamic_params(params));
    }
    auto it = prepared_.find(sql_text);
    if (it == prepared_.end()) {
      ++stats_.prepares;
      std::string name = "rc" + std::to_string(next_statement_++);
      conn_->prepare(name, sql_text);
      it = prepared_.emplace(sql_text, std::move(name)).first;
    }
    return tx.exec_prepared(it->second, pqxx::prepare::make_dynamic_params(params));
  }

  // libpqxx 6.4 leaks a PGresult when preparing or executing on a connection the server has
  // already closed (session terminated, server shut down). Reading whatever the server sent
  // while we were idle (one non-blocking recv) turns a closed session into broken_connection
  // before anything is sent.
  void CheckAlive() {
    conn_->get_notifs();
    if (!conn_->is_open()) throw pqxx::broken_connection("session closed by the server");
  }

  internal::SqlBuilder builder_{Dialect::kPostgres};
  std::unique_ptr<pqxx::connection> conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::uint64_t next_statement_ = 0;
};

}  // namespace

Result<std::unique_ptr<Database>> NewPostgres(const Options& options) {
  auto shared = internal::NewShared(options, Dialect::kPostgres, "NewPostgres", "postgresql://");
  if (!shared.ok()) return shared.error();
  return std::unique_ptr<Database>(
      std::make_unique<internal::SessionDatabase<PostgresConnection, Dialect::kPostgres>>(
          std::move(shared).value()));
}

}  // namespace rowcached::adapters
