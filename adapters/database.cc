#include "adapters/database.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "adapters/internal.h"

namespace rowcached::adapters {

using internal::Printable;

std::string_view StatusText(Status status) {
  switch (status) {
    case Status::kOk:
      return "ok";
    case Status::kNotFound:
      return "not found";
    case Status::kConnectionLost:
      return "connection lost";
    case Status::kTimeout:
      return "timeout";
    case Status::kConstraintViolated:
      return "constraint violated";
    case Status::kBadIdentifier:
      return "bad identifier";
    case Status::kInvalidArgument:
      return "invalid argument";
    case Status::kOther:
      return "error";
  }
  return "error";
}

std::string Error::ToString() const {
  if (ok()) return "ok";
  std::string text(StatusText(status_));
  if (!message_.empty()) {
    text += ": ";
    text += message_;
  }
  return text;
}

KeyComparison KeyComparisonOf(const Column& key) {
  const std::string& c = key.collation;
  if (c.empty()) return KeyComparison::kExact;
  if (c.size() > 4 && c.compare(c.size() - 4, 4, "_bin") == 0) {
    return key.pad_space ? KeyComparison::kTrailingSpaces : KeyComparison::kExact;
  }
  return KeyComparison::kCollation;
}

std::optional<std::string> LocalKeyForm(const Column& key, std::string_view pk) {
  switch (KeyComparisonOf(key)) {
    case KeyComparison::kExact:
      return std::string(pk);
    case KeyComparison::kTrailingSpaces: {
      const std::size_t end = pk.find_last_not_of(' ');
      return "b" + std::string(pk.substr(0, end == std::string_view::npos ? 0 : end + 1));
    }
    case KeyComparison::kCollation:
      break;
  }
  return std::nullopt;
}

std::string_view DialectName(Dialect dialect) {
  switch (dialect) {
    case Dialect::kMySql:
      return "mysql";
    case Dialect::kPostgres:
      return "postgres";
    case Dialect::kSqlite:
      return "sqlite";
  }
  return "?";
}

const Column* TableSchema::FindColumn(std::string_view column) const {
  for (const Column& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// URL parsing

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexDigit(in[i + 1]);
    int lo = HexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// "250ms", "2s", "1m", "1.5s"; a bare number is seconds.
bool ParseDuration(std::string_view text, std::chrono::milliseconds* out) {
  if (text.empty()) return false;
  std::size_t digits = 0;
  while (digits < text.size() &&
         ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) return false;
  double number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || ptr != text.data() + digits) return false;
  std::string_view unit = text.substr(digits);
  double ms;
  if (unit.empty() || unit == "s") {
    ms = number * 1000;
  } else if (unit == "ms") {
    ms = number;
  } else if (unit == "m") {
    ms = number * 60000;
  } else {
    return false;
  }
  if (ms > 1e12) return false;
  *out = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
  return true;
}

Error BadUrl(std::string_view what, const std::string& redacted) {
  return Error(Status::kInvalidArgument,
               "database.url: " + std::string(what) + " in '" + redacted + "'");
}

}  // namespace

Result<ParsedUrl> ParseUrl(const Options& options) {
  ParsedUrl parsed;
  parsed.options = options;
  const std::string& url = options.url;

  std::size_t colon = url.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Error(Status::kInvalidArgument,
                 "database.url: missing scheme (expected mysql://, postgresql:// or sqlite:PATH)");
  }
  std::string scheme = url.substr(0, colon);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view rest = std::string_view(url).substr(colon + 1);

  // The redacted form: the raw password text replaced by ****. Computed before anything can fail
  // so that every error message can show the URL.
  parsed.redacted = url;
  std::string_view authority;
  if (rest.substr(0, 2) == "//") {
    std::string_view after = rest.substr(2);
    authority = after.substr(0, after.find_first_of("/?"));
    std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      std::size_t pw = userinfo.find(':');
      if (pw != std::string_view::npos) {
        std::size_t start = colon + 3 + pw + 1;
        parsed.redacted = url.substr(0, start) + "****" + url.substr(start + (at - pw - 1));
      }
    }
  } else if (scheme != "sqlite" && rest.find('@') != std::string_view::npos) {
    // Unparseable authority: it may hold a password, so show none of it.
    parsed.redacted = url.substr(0, colon) + ":(redacted)";
  }
  const std::string& redacted = parsed.redacted;

  std::string_view path_and_query;
  if (scheme == "sqlite") {
    parsed.dialect = Dialect::kSqlite;
    std::string_view path = rest;
    if (path.substr(0, 2) == "//") path = path.substr(2);
    std::size_t q = path.find('?');
    std::string_view query = q == std::string_view::npos ? "" : path.substr(q + 1);
    path = path.substr(0, q);
    if (path.empty()) return BadUrl("database file path is empty (expected sqlite:PATH)", redacted);
    parsed.database = std::string(path);
    path_and_query = query;
  } else if (scheme == "mysql" || scheme == "postgresql" || scheme == "postgres") {
    parsed.dialect = scheme == "mysql" ? Dialect::kMySql : Dialect::kPostgres;
    parsed.port = parsed.dialect == Dialect::kMySql ? 3306 : 5432;
    if (rest.substr(0, 2) != "//") return BadUrl("expected '//' after the scheme", redacted);
    std::string_view hostport = authority;
    std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      std::string_view userinfo = authority.substr(0, at);
      hostport = authority.substr(at + 1);
      std::size_t pw = userinfo.find(':');
      if (!PercentDecode(userinfo.substr(0, pw), &parsed.user)) {
        return BadUrl("bad percent-escape in the user name", redacted);
      }
      if (pw != std::string_view::npos &&
          !PercentDecode(userinfo.substr(pw + 1), &parsed.password)) {
        return BadUrl("bad percent-escape in the password", redacted);
      }
    }
    if (parsed.user.empty()) return BadUrl("user name is missing", redacted);
    std::string_view host = hostport;
    std::string_view port;
    if (!hostport.empty() && hostport.front() == '[') {
      std::size_t close = hostport.find(']');
      if (close == std::string_view::npos) return BadUrl("unterminated '[' in the host", redacted);
      host = hostport.substr(1, close - 1);
      std::string_view after = hostport.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') return BadUrl("junk after the host", redacted);
        port = after.substr(1);
        if (port.empty()) return BadUrl("port is empty", redacted);
      }
    } else {
      std::size_t pc = hostport.rfind(':');
      if (pc != std::string_view::npos) {
        host = hostport.substr(0, pc);
        port = hostport.substr(pc + 1);
        if (port.empty()) return BadUrl("port is empty", redacted);
      }
    }
    if (host.empty()) return BadUrl("host is missing", redacted);
    parsed.host = std::string(host);
    if (!port.empty()) {
      int value = 0;
      auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (ec != std::errc() || ptr != port.data() + port.size() || value < 1 || value > 65535) {
        return BadUrl("port '" + std::string(port) + "' is not a number in 1-65535", redacted);
      }
      parsed.port = value;
    }
    std::string_view after = rest.substr(2 + authority.size());  // "/db?query", "?query" or ""
    std::size_t q = after.find('?');
    std::string_view path = after.substr(0, q);
    path_and_query = q == std::string_view::npos ? "" : after.substr(q + 1);
    if (path.size() <= 1) return BadUrl("database name is missing (expected /DBNAME)", redacted);
    if (!PercentDecode(path.substr(1), &parsed.database) ||
        parsed.database.find('/') != std::string::npos) {
      return BadUrl("bad database name", redacted);
    }
  } else {
    return BadUrl("unsupported scheme '" + Printable(scheme) +
                      "' (expected mysql://, postgresql:// or sqlite:PATH)",
                  redacted);
  }

  // Query parameters.
  std::string_view query = path_and_query;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    std::chrono::milliseconds* target = nullptr;
    if (key == "connect_timeout") {
      target = &parsed.options.connect_timeout;
    } else if (key == "read_timeout") {
      target = &parsed.options.read_timeout;
    } else if (key == "statement_timeout") {
      target = &parsed.options.statement_timeout;
    } else if (key == "busy_timeout") {
      target = &parsed.options.busy_timeout;
    } else {
      return BadUrl("unknown parameter '" + Printable(key) +
                        "' (known: connect_timeout, read_timeout, statement_timeout, "
                        "busy_timeout)",
                    redacted);
    }
    if (!ParseDuration(value, target)) {
      return BadUrl("parameter '" + std::string(key) + "' has bad value '" + Printable(value) +
                        "' (expected a duration such as 5s or 250ms)",
                    redacted);
    }
  }
  if (parsed.options.scan_batch_size == 0) {
    return Error(Status::kInvalidArgument, "scan_batch_size must be at least 1");
  }
  return parsed;
}

Result<std::unique_ptr<Database>> NewDatabase(const Options& options) {
  Result<ParsedUrl> parsed = ParseUrl(options);
  if (!parsed.ok()) return parsed.error();
  switch (parsed->dialect) {
    case Dialect::kMySql:
      return NewMySql(options);
    case Dialect::kPostgres:
      return NewPostgres(options);
    case Dialect::kSqlite:
      return NewSqlite(options);
  }
  return Error(Status::kInvalidArgument, "database.url: unknown dialect");
}

Result<std::unique_ptr<Database>> NewDatabase(std::string_view url) {
  Options options;
  options.url = std::string(url);
  return NewDatabase(options);
}

// ---------------------------------------------------------------------------------------------
// Shared machinery

namespace internal {

void Catalog::Put(TableSchema schema) {
  auto entry = std::make_shared<const TableSchema>(std::move(schema));
  std::lock_guard lock(mu_);
  tables_[entry->name] = std::move(entry);
}

std::shared_ptr<const TableSchema> Catalog::Find(std::string_view table) const {
  std::lock_guard lock(mu_);
  auto it = tables_.find(table);
  return it == tables_.end() ? nullptr : it->second;
}

std::string Printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > 64) out += "...";
  return out;
}

std::string QuoteIdentifier(Dialect dialect, std::string_view name) {
  const char quote = dialect == Dialect::kMySql ? '`' : '"';
  std::string out;
  out.reserve(name.size() + 2);
  out += quote;
  for (char c : name) {
    if (c == quote) out += quote;
    out += c;
  }
  out += quote;
  return out;
}

bool ParseInt64(std::string_view text, std::int64_t* out) {
  if (text.empty() || text.front() == '+') return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseUint64(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.front() == '+' || text.front() == '-') return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool IsIntegerKey(const Column& column, std::string_view key) {
  if (column.is_unsigned) {
    std::uint64_t v;
    return ParseUint64(key, &v);
  }
  std::int64_t v;
  return ParseInt64(key, &v);
}

std::string SqlBuilder::Placeholder(int index) const {
  if (dialect == Dialect::kMySql) return "?";
  return "$" + std::to_string(index);
}

std::string SqlBuilder::Fetch(const TableSchema& table, const Column& key,
                              const std::vector<const Column*>& columns) const {
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += QuoteIdentifier(dialect, columns[i]->name);
  }
  sql += " FROM " + QuoteIdentifier(dialect, table.name) + " WHERE " +
         QuoteIdentifier(dialect, key.name) + " = " + Placeholder(1);
  return sql;
}

std::string SqlBuilder::Delete(const TableSchema& table, const Column& key) const {
  return "DELETE FROM " + QuoteIdentifier(dialect, table.name) + " WHERE " +
         QuoteIdentifier(dialect, key.name) + " = " + Placeholder(1);
}

std::string SqlBuilder::Upsert(const TableSchema& table, const Column& key,
                               const std::vector<const Column*>& columns) const {
  const std::string qkey = QuoteIdentifier(dialect, key.name);
  std::string sql = "INSERT INTO " + QuoteIdentifier(dialect, table.name) + " (" + qkey;
  for (const Column* c : columns) sql += ", " + QuoteIdentifier(dialect, c->name);
  sql += ") VALUES (" + Placeholder(1);
  for (std::size_t i = 0; i < columns.size(); ++i) sql += ", " + Placeholder(int(i) + 2);
  sql += ")";
  if (dialect == Dialect::kMySql) {
    // ON DUPLICATE KEY fires for a clash on *any* unique key. A clash on another unique key
    // must not update that other row: the first assignment sets the key to NULL in that case,
    // which strict mode refuses (error 1048), so the statement fails with nothing changed.
    // Assignments run left to right, so the check sees the row's own key.
    // VALUES(col) works on MariaDB and MySQL 8 (deprecated there in favour of a row alias that
    // MariaDB does not have).
    sql += " ON DUPLICATE KEY UPDATE " + qkey + " = IF(" + qkey + " = VALUES(" + qkey + "), " +
           qkey + ", NULL)";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::string q = QuoteIdentifier(dialect, columns[i]->name);
      sql += ", " + q + " = VALUES(" + q + ")";
    }
  } else {
    sql += " ON CONFLICT (" + qkey + ") DO ";
    if (columns.empty()) {
      sql += "NOTHING";
    } else {
      sql += "UPDATE SET ";
      for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i > 0) sql += ", ";
        std::string q = QuoteIdentifier(dialect, columns[i]->name);
        sql += q + " = excluded." + q;
      }
    }
  }
  return sql;
}

Result<std::shared_ptr<Shared>> NewShared(const Options& options, Dialect dialect,
                                          std::string_view factory, std::string_view expected) {
  Result<ParsedUrl> parsed = ParseUrl(options);
  if (!parsed.ok()) return parsed.error();
  if (parsed->dialect != dialect) {
    return Error(Status::kInvalidArgument, std::string(factory) + " needs a " +
                                               std::string(expected) + " URL, got '" +
                                               parsed->redacted + "'");
  }
  auto shared = std::make_shared<Shared>();
  shared->url = std::move(parsed).value();
  return shared;
}

std::string SqlBuilder::UpdateRow(const TableSchema& table, const Column& key,
                                  const std::vector<const Column*>& columns) const {
  std::string sql = "UPDATE " + QuoteIdentifier(dialect, table.name) + " SET ";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += QuoteIdentifier(dialect, columns[i]->name) + " = " + Placeholder(int(i) + 1);
  }
  sql +=
      " WHERE " + QuoteIdentifier(dialect, key.name) + " = " + Placeholder(int(columns.size()) + 1);
  return sql;
}

std::string SqlBuilder::InsertRow(const TableSchema& table, const Column& key,
                                  const std::vector<const Column*>& columns) const {
  std::string sql = "INSERT INTO " + QuoteIdentifier(dialect, table.name) + " (" +
                    QuoteIdentifier(dialect, key.name);
  for (const Column* c : columns) sql += ", " + QuoteIdentifier(dialect, c->name);
  sql += ") VALUES (" + Placeholder(1);
  for (std::size_t i = 0; i < columns.size(); ++i) sql += ", " + Placeholder(int(i) + 2);
  return sql + ")";
}

std::string SqlBuilder::ScanKeys(const TableSchema& table, const Column& key, bool after_key,
                                 std::string_view also_select) const {
  const std::string qkey = QuoteIdentifier(dialect, key.name);
  std::string sql = "SELECT " + qkey;
  if (!also_select.empty()) sql += ", " + std::string(also_select);
  sql += " FROM " + QuoteIdentifier(dialect, table.name);
  int next = 1;
  if (after_key) sql += " WHERE " + qkey + " > " + Placeholder(next++);
  sql += " ORDER BY " + qkey + " LIMIT " + Placeholder(next);
  return sql;
}

Error ConnectFailure(const ParsedUrl& url, const Error& cause) {
  std::string where = url.dialect == Dialect::kSqlite
                          ? "sqlite:" + url.database
                          : url.host + ":" + std::to_string(url.port) + "/" + url.database;
  return Error(Status::kConnectionLost, "cannot connect to " +
                                            std::string(DialectName(url.dialect)) + " at " + where +
                                            ": " + cause.message());
}

SessionConnection::SessionConnection(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

std::string SessionConnection::Redact(std::string message) const {
  const std::string& password = shared_->url.password;
  // Very short passwords are not scrubbed: they would mangle ordinary words, and drivers do
  // not echo passwords in the first place.
  if (password.size() < 4) return message;
  std::size_t pos;
  while ((pos = message.find(password)) != std::string::npos) {
    message.replace(pos, password.size(), "****");
  }
  return message;
}

void SessionConnection::MarkLost() noexcept {
  if (open_) Close();
  open_ = false;
}

Result<void> SessionConnection::EnsureOpen() {
  if (open_) return {};
  const auto now = std::chrono::steady_clock::now();
  if (failed_attempts_ > 0 && now < next_attempt_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count();
    return Error(Status::kConnectionLost, "database unavailable (next reconnect attempt in " +
                                              std::to_string(wait) + " ms): " + last_open_error_);
  }
  Result<void> opened = Open();
  if (opened.ok()) {
    open_ = true;
    ++stats_.connects;
    if (failed_attempts_ > 0) {
      spdlog::info("adapters: reconnected to {} after {} failed attempt(s)", url().redacted,
                   failed_attempts_);
    }
    failed_attempts_ = 0;
    return {};
  }
  Close();
  Error failure = ConnectFailure(url(), Error(opened.status(), Redact(opened.message())));
  ++failed_attempts_;
  auto delay = options().reconnect_backoff_initial;
  for (int i = 1; i < failed_attempts_ && delay < options().reconnect_backoff_max; ++i) delay *= 2;
  delay = std::min(delay, options().reconnect_backoff_max);
  next_attempt_ = std::chrono::steady_clock::now() + delay;
  last_open_error_ = failure.message();
  spdlog::warn("adapters: {} (attempt {}, next in {} ms)", failure.message(), failed_attempts_,
               delay.count());
  return failure;
}

template <typename T, typename Op>
Result<T> SessionConnection::Run(Op&& op) {
  const bool was_open = open_;
  if (Result<void> opened = EnsureOpen(); !opened.ok()) return opened.error();
  Result<T> result = op();
  if (result.status() != Status::kConnectionLost) return result;
  MarkLost();
  if (!was_open) return result;
  // The session died since the last call (killed, server restarted, network cut): every
  // operation here is idempotent, so reconnect at once and try once more.
  spdlog::warn("adapters: session to {} lost ({}); reconnecting", url().redacted, result.message());
  if (Result<void> opened = EnsureOpen(); !opened.ok()) return opened.error();
  result = op();
  if (result.status() == Status::kConnectionLost) MarkLost();
  return result;
}

Result<SessionConnection::Target> SessionConnection::Resolve(std::string_view table) const {
  Target target;
  target.schema = shared_->catalog.Find(table);
  if (!target.schema) {
    return Error(Status::kBadIdentifier,
                 "unknown table '" + Printable(table) + "' (not found by Describe)");
  }
  if (target.schema->primary_key.size() != 1) {
    return Error(Status::kBadIdentifier,
                 "table '" + Printable(table) + "' has no single-column primary key");
  }
  target.key = target.schema->FindColumn(target.schema->primary_key.front());
  if (target.key == nullptr) {
    return Error(Status::kBadIdentifier, "table '" + Printable(table) + "' lost its key column");
  }
  return target;
}

Result<TableSchema> SessionConnection::Describe(std::string_view table) {
  Result<TableSchema> schema = Run<TableSchema>([&] { return DoDescribe(table); });
  if (schema.ok()) shared_->catalog.Put(*schema);
  return schema;
}

Result<Row> SessionConnection::FetchRow(std::string_view table, std::string_view pk,
                                        std::span<const std::string> columns) {
  Result<Target> target = Resolve(table);
  if (!target.ok()) return target.error();
  const TableSchema& schema = *target->schema;
  std::vector<const Column*> wanted;
  if (columns.empty()) {
    for (const Column& c : schema.columns) wanted.push_back(&c);
  } else {
    wanted.reserve(columns.size());
    for (const std::string& name : columns) {
      const Column* c = schema.FindColumn(name);
      if (c == nullptr) {
        return Error(Status::kBadIdentifier,
                     "unknown column '" + Printable(name) + "' in table '" + schema.name + "'");
      }
      wanted.push_back(c);
    }
  }
  if (target->key->integer && !IsIntegerKey(*target->key, pk)) {
    // No row can have this key; do not let the database coerce "12abc" into 12.
    return Error(Status::kNotFound, "no row with key '" + Printable(pk) + "' in '" + schema.name +
                                        "' (not a valid " + target->key->type + ")");
  }
  return Run<Row>([&] { return DoFetch(schema, *target->key, pk, wanted); });
}

Result<void> SessionConnection::Upsert(std::string_view table, std::string_view pk,
                                       const Row& values) {
  Result<Target> target = Resolve(table);
  if (!target.ok()) return target.error();
  const TableSchema& schema = *target->schema;
  std::vector<Assignment> assignments;
  assignments.reserve(values.size());
  for (const Field& field : values) {
    const Column* c = schema.FindColumn(field.column);
    if (c == nullptr) {
      return Error(Status::kBadIdentifier, "unknown column '" + Printable(field.column) +
                                               "' in table '" + schema.name + "'");
    }
    if (c == target->key) {
      if (field.value && *field.value == pk) continue;  // restating the key is harmless
      return Error(Status::kInvalidArgument,
                   "column '" + c->name + "' is the primary key: it cannot be changed by Upsert");
    }
    for (const Assignment& a : assignments) {
      if (a.column == c) {
        return Error(Status::kInvalidArgument, "column '" + c->name + "' given twice");
      }
    }
    assignments.push_back({c, &field.value});
  }
  if (target->key->integer && !IsIntegerKey(*target->key, pk)) {
    return Error(Status::kInvalidArgument, "key '" + Printable(pk) + "' is not a valid " +
                                               target->key->type + " for '" + schema.name + "'");
  }
  return Run<void>([&] { return DoUpsert(schema, *target->key, pk, assignments); });
}

Result<void> SessionConnection::DeleteRow(std::string_view table, std::string_view pk) {
  Result<Target> target = Resolve(table);
  if (!target.ok()) return target.error();
  if (target->key->integer && !IsIntegerKey(*target->key, pk)) {
    return Error(Status::kNotFound,
                 "no row with key '" + Printable(pk) + "' in '" + target->schema->name + "'");
  }
  return Run<void>([&] { return DoDelete(*target->schema, *target->key, pk); });
}

Result<std::string> SessionConnection::KeyForm(std::string_view table, std::string_view pk) {
  Result<Target> target = Resolve(table);
  if (!target.ok()) return target.error();
  if (std::optional<std::string> local = LocalKeyForm(*target->key, pk)) return *local;
  return Run<std::string>([&] { return DoKeyForm(*target->key, pk); });
}

Result<std::string> SessionConnection::DoKeyForm(const Column& key, std::string_view) {
  return Error(Status::kOther, "key forms under collation " + key.collation + " are not supported");
}

Result<std::uint64_t> SessionConnection::ScanKeys(std::string_view table,
                                                  const KeyBatchCallback& on_batch) {
  return Scan(table, on_batch, /*forms=*/false);
}

Result<std::uint64_t> SessionConnection::ScanKeyForms(std::string_view table,
                                                      const KeyBatchCallback& on_batch) {
  return Scan(table, on_batch, /*forms=*/true);
}

Result<std::uint64_t> SessionConnection::Scan(std::string_view table,
                                              const KeyBatchCallback& on_batch, bool forms) {
  Result<Target> target = Resolve(table);
  if (!target.ok()) return target.error();
  // Only forms under a collation come from the database; the others are made here.
  const bool local_forms = forms && KeyComparisonOf(*target->key) != KeyComparison::kCollation;
  forms = forms && !local_forms;
  const std::size_t batch = options().scan_batch_size;
  std::vector<std::string> keys;
  std::vector<std::string> key_forms;
  keys.reserve(batch);
  std::string after;
  bool first = true;
  std::uint64_t total = 0;
  for (;;) {
    Result<void> got = Run<void>([&] {
      keys.clear();
      key_forms.clear();
      return DoScanBatch(*target->schema, *target->key, first ? nullptr : &after, batch, &keys,
                         forms ? &key_forms : nullptr);
    });
    if (!got.ok()) return got.error();
    if (keys.empty()) break;
    total += keys.size();
    if (local_forms) {
      for (const std::string& k : keys) key_forms.push_back(*LocalKeyForm(*target->key, k));
    }
    if (!on_batch(std::span<const std::string>(forms || local_forms ? key_forms : keys))) break;
    if (keys.size() < batch) break;
    after = keys.back();
    first = false;
  }
  return total;
}

Result<void> SessionConnection::Ping() {
  return Run<void>([&] { return DoPing(); });
}

Result<std::vector<std::vector<Value>>> SessionConnection::RunSqlForTesting(std::string_view sql) {
  return Run<std::vector<std::vector<Value>>>([&] { return DoRunSql(sql); });
}

}  // namespace internal

Result<std::vector<std::vector<Value>>> RunSqlForTesting(Connection& connection,
                                                         std::string_view sql) {
  return connection.RunSqlForTesting(sql);
}

}  // namespace rowcached::adapters
