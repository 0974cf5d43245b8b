#include "middleware/row_cache.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>
#include <utility>  // before asio (environment.md)

#include "server/dispatch.h"
#include "server/hash_object.h"
#include "server/keys_ops.h"
#include "server/persistence.h"
#include "server/util.h"

namespace rowcached::middleware {
namespace {

using adapters::Row;
using server::CommandContext;
using server::ReplyBuilder;

// Generation slots: 64K x 8 bytes. Enough that unrelated keys rarely share a slot (a shared
// slot only wastes a refill, see the design comment).
constexpr size_t kSlots = size_t{1} << 16;
// Rows live in database 0 whatever the client SELECTed: a table key names a database row.
constexpr int kRowDb = 0;
// How long a stale row stays available to on_timeout = "stale" after it turned stale: long
// enough to ride out a database outage or slow spell, short enough not to pin dead rows forever.
constexpr int64_t kStaleGraceMs = 60 * 60 * 1000;
// The freshness limit of a row loaded from a snapshot: long past, so the first read re-validates.
constexpr int64_t kNeverFresh = 1;
// Spellings whose form (adapters::Connection::KeyForm) is remembered, over two generations; a
// forgotten one is one cheap SELECT to ask again (a spelling in the cache is never forgotten).
constexpr size_t kMaxRememberedForms = size_t{1} << 16;
// Order keys of forms (KeyPlace) and the queue keys that find forms begin with bytes that begin
// no table key a client can send (those begin with a configured table name).
constexpr char kFormOrderPrefix = '\x02';
constexpr char kFormLookupPrefix = '\x01';
// Remembered spellings (RowCache::spellings_) before the first sweep of the forgotten ones, and
// the hash buckets a sweep visits per hold of the mutex.
constexpr size_t kFirstSpellingSweep = 1024;
constexpr size_t kSweepBuckets = 64;

// The cached form of a row (or of its absence).
class RowValue final : public server::Object {
 public:
  RowValue(std::shared_ptr<const Row> row, int64_t fresh_until_ms)
      : row(std::move(row)), fresh_until_ms(fresh_until_ms) {}
  size_t MemoryUsage() const override {
    size_t n = sizeof(*this);
    if (row) {
      for (const auto& f : *row)
        n += sizeof(f) + f.column.capacity() + (f.value ? f.value->capacity() : 0);
    }
    return n;
  }
  std::unique_ptr<Object> Clone() const override {
    return std::make_unique<RowValue>(row, fresh_until_ms);
  }
  std::string_view Encoding() const override { return "hashtable"; }
  bool Fresh(int64_t now_ms) const { return fresh_until_ms == 0 || now_ms < fresh_until_ms; }

  std::shared_ptr<const Row> row;  // null: no such row
  int64_t fresh_until_ms;          // 0: no expiry
};

// What a refill produced: the row, "no such row", or the database's error.
struct FetchResult {
  adapters::Status status = adapters::Status::kOk;  // kOk (row may be null = no row) or error
  std::string message;
  std::shared_ptr<const Row> row;
  // Waiters answered with this result; every one after the first was a merged read.
  mutable std::atomic<uint64_t> served{0};

  FetchResult() = default;
  FetchResult(FetchResult&& o) noexcept
      : status(o.status), message(std::move(o.message)), row(std::move(o.row)) {}
};

// What finding a key's form produced (a merged read of the form; see RowCache::KeyPlace).
struct FormResult {
  adapters::Status status = adapters::Status::kOk;
  std::string message;
  std::string form;
};

// Where a table key is ordered, guarded and filtered (see the design comment): `order` keys its
// queue and generation slot, `member` is what the table's Bloom filter holds. For most tables
// they are the key and the primary key; under a folding collation both come from the key's form
// (adapters::Connection::KeyForm), which every spelling of the row shares.
struct KeyPlace {
  std::string order;
  std::string member;
};

enum class TableState : int { kPending, kReady, kBroken };

struct Table {
  TableOptions options;
  std::vector<std::string> columns;  // what is fetched and cached (after Describe)
  adapters::TableSchema schema;
  bool key_is_integer = false;
  adapters::Column key_column;  // as described
  // The database finds one row under several spellings of a key (a case- or accent-insensitive
  // collation): keys are ordered, guarded and filtered by their form (KeyPlace).
  bool folds = false;
  std::atomic<TableState> state{TableState::kPending};
  std::string broken_reason;  // set once before state becomes kBroken
  std::unique_ptr<ConcurrentBloom> bloom;
  std::atomic<bool> bloom_ready{false};
  std::atomic<bool> bloom_off{false};  // turned off after the configuration asked for it
  TableStats stats;

  bool HasColumn(std::string_view c) const {
    for (const auto& col : columns) {
      if (col == c) return true;
    }
    return false;
  }
};

enum class ReadKind { kHGetAll, kHGet, kHMGet, kJson, kExists };

struct Table;

// A checked table key as a client spelled it, and its primary key.
struct TableKeyRef {
  Table* table;
  std::string key;
  std::string pk;
};

struct ReadRequest {
  Table* table;
  std::string key;
  std::string pk;
  ReadKind kind;
  std::vector<std::string> fields;  // HGET/HMGET
  // Taken once the read has missed, after it reached rowcached: whatever was acknowledged
  // before it arrived is older. (A hit never needs it.)
  std::chrono::steady_clock::time_point arrived;
};

// One on_timeout = "db" read of a key outside its queue, and the timed-out reads it answers.
// A read may join it only while its SELECT has not been sent before that read arrived: a
// SELECT sent earlier may predate a write acknowledged before the read, and would serve the
// read a row older than that write.
struct DirectRead {
  bool sent = false;  // guarded by RowCache::direct_mu_, as are the others
  std::chrono::steady_clock::time_point sent_at;
  std::vector<std::pair<std::shared_ptr<const ReadRequest>, std::shared_ptr<server::DeferredReply>>>
      waiters;

  bool Answers(const ReadRequest& req) const { return !sent || sent_at > req.arrived; }
};

// The worker's (or pool thread's) own connection to `db`.
adapters::Connection& ThreadConnection(adapters::Database& db) {
  thread_local std::unordered_map<const adapters::Database*, std::unique_ptr<adapters::Connection>>
      connections;
  auto& c = connections[&db];
  if (!c) c = db.Connect();
  return *c;
}

bool IsIntegerText(std::string_view s) {
  int64_t v;
  if (server::ParseInt64(s, &v)) return true;
  // Unsigned keys above INT64_MAX.
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return s[0] != '0';
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// GET's JSON: integer columns as numbers, NULL as null, binary columns base64-encoded (JSON
// strings cannot carry arbitrary bytes), everything else as the database's text.
std::string RowJson(const Table& table, const Row& row) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& f : row) {
    const adapters::Column* col = table.schema.FindColumn(f.column);
    if (!f.value) {
      j[f.column] = nullptr;
    } else if (col != nullptr && col->binary) {
      j[f.column] = Base64(*f.value);
    } else if (col != nullptr && col->integer) {
      int64_t v;
      if (server::ParseInt64(*f.value, &v)) {
        j[f.column] = v;
      } else {
        j[f.column] = *f.value;  // unsigned beyond int64: keep the exact text
      }
    } else {
      j[f.column] = *f.value;
    }
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

const adapters::Value* FindField(const Row& row, std::string_view column) {
  for (const auto& f : row) {
    if (f.column == column) return &f.value;
  }
  return nullptr;
}

// Writes the reply of a read. `row` null = no such row.
void RenderRead(ReplyBuilder& r, const ReadRequest& req, const Row* row) {
  switch (req.kind) {
    case ReadKind::kHGetAll: {
      if (row == nullptr) {
        r.Map(0);
        return;
      }
      size_t n = 0;
      for (const auto& f : *row) n += f.value.has_value();
      r.Map(n);
      for (const auto& f : *row) {
        if (!f.value) continue;  // a hash has no NULL: the field is absent
        r.Bulk(f.column);
        r.Bulk(*f.value);
      }
      return;
    }
    case ReadKind::kHGet: {
      const adapters::Value* v = row ? FindField(*row, req.fields[0]) : nullptr;
      if (v == nullptr || !v->has_value()) {
        r.Null();
      } else {
        r.Bulk(**v);
      }
      return;
    }
    case ReadKind::kHMGet:
      r.Array(req.fields.size());
      for (const auto& field : req.fields) {
        const adapters::Value* v = row ? FindField(*row, field) : nullptr;
        if (v == nullptr || !v->has_value()) {
          r.Null();
        } else {
          r.Bulk(**v);
        }
      }
      return;
    case ReadKind::kJson:
      if (row == nullptr) {
        r.Null();
      } else {
        r.Bulk(RowJson(*req.table, *row));
      }
      return;
    case ReadKind::kExists:
      r.Integer(row != nullptr ? 1 : 0);
      return;
  }
}

std::string ManagedKeyError(std::string_view key) {
  return "ERR " + std::string(key) +
         " is a table key managed by rowcached; use HSET / ROW.SET / ROW.DEL / DEL";
}

}  // namespace

class RowCache final : public server::KeyInterceptor,
                       public std::enable_shared_from_this<RowCache> {
 public:
  RowCache(server::ServerContext& server, Options options, std::unique_ptr<adapters::Database> db)
      : server_(server),
        options_(std::move(options)),
        db_(std::move(db)),
        queues_(queues::Options{.queues = options_.queues,
                                .max_depth = options_.max_queue_depth,
                                .thread_name_prefix = "rc-db"}),
        slots_(new std::atomic<uint64_t>[kSlots]),
        fallback_(std::max<size_t>(options_.fallback_threads, 1)) {
    for (size_t i = 0; i < kSlots; ++i) slots_[i].store(0, std::memory_order_relaxed);
    for (const auto& t : options_.tables) {
      auto table = std::make_unique<Table>();
      table->options = t;
      if (t.bloom) table->bloom = ConcurrentBloom::Create(t.bloom_capacity, t.bloom_error_rate);
      tables_.push_back(std::move(table));
    }
  }

  ~RowCache() override { Stop(); }

  // ---- start-up ------------------------------------------------------------------------------

  // One pass of table checks with `conn`. Returns false with *fatal set when the database refutes
  // the configuration; sets *unavailable when it could not be reached.
  bool CheckTables(adapters::Connection& conn, std::string* fatal, std::string* unavailable) {
    bool described = false;
    for (auto& t : tables_) {
      if (t->state.load() != TableState::kPending) continue;
      auto schema = conn.Describe(t->options.name);
      if (!schema.ok()) {
        if (schema.status() == adapters::Status::kConnectionLost ||
            schema.status() == adapters::Status::kTimeout) {
          *unavailable = schema.ToString();
          NoteDbFailure(*unavailable);
          return true;
        }
        *fatal = "table '" + t->options.name + "': " +
                 (schema.status() == adapters::Status::kNotFound
                      ? std::string("no such table in ") + db_->redacted_url()
                      : schema.ToString());
        return false;
      }
      std::string err = Validate(*t, *schema);
      if (!err.empty()) {
        *fatal = "table '" + t->options.name + "': " + err;
        return false;
      }
      if (t->folds && !CheckKeyForms(conn, *t, unavailable)) return true;
      if (t->folds) DropUnvalidatedRows(*t);  // before any read may fall back on them
      t->state.store(TableState::kReady);
      described = true;
      spdlog::info("table {}: ready ({} columns cached, key {})", t->options.name,
                   t->columns.size(), t->options.key);
    }
    if (described) NoteDbSuccess();
    return true;
  }

  std::string Validate(Table& t, const adapters::TableSchema& schema) {
    if (schema.FindColumn(t.options.key) == nullptr) {
      return "no column '" + t.options.key + "' (the configured key)";
    }
    if (schema.primary_key != std::vector<std::string>{t.options.key}) {
      std::string pk;
      for (const auto& c : schema.primary_key) pk += (pk.empty() ? "" : ", ") + c;
      return "the primary key is (" + pk + "), but the configured key is '" + t.options.key +
             "' (a single-column primary key is required)";
    }
    std::vector<std::string> columns;
    if (t.options.columns.empty()) {
      for (const auto& c : schema.columns) columns.push_back(c.name);
    } else {
      for (const auto& c : t.options.columns) {
        if (schema.FindColumn(c) == nullptr) return "no column '" + c + "'";
        columns.push_back(c);
      }
    }
    t.schema = schema;
    t.columns = std::move(columns);
    const adapters::Column* key = schema.FindColumn(t.options.key);
    t.key_is_integer = key->integer;
    t.key_column = *key;
    t.folds = adapters::KeyFoldsSpellings(*key);
    return "";
  }

  // A folding key's forms must tell spellings apart exactly as the database does; two probes
  // check what would be wrong everywhere ('a' must have a form, and 'a ' the same one exactly
  // under PAD SPACE: a collation weighing on several levels would fail that). If they fail, the
  // table's spellings are cached, ordered and invalidated one by one (as keys that compare byte
  // for byte), which the log says. Returns false (*unavailable set) if the database did not
  // answer.
  bool CheckKeyForms(adapters::Connection& conn, Table& t, std::string* unavailable) {
    auto a = conn.KeyForm(t.options.name, "a");
    auto a_space = conn.KeyForm(t.options.name, "a ");
    for (const auto* r : {&a, &a_space}) {
      if (r->status() == adapters::Status::kConnectionLost ||
          r->status() == adapters::Status::kTimeout) {
        *unavailable = r->ToString();
        NoteDbFailure(*unavailable);
        return false;
      }
    }
    if (a.ok() && a_space.ok() && a->rfind("r", 0) != 0 &&
        (*a == *a_space) == t.key_column.pad_space) {
      spdlog::info(
          "table {}: key column {} has collation {}, under which spellings that differ in case "
          "(or accents, or trailing spaces) may name one row: their reads, writes and "
          "invalidations are ordered together",
          t.options.name, t.options.key, t.key_column.collation);
      return true;
    }
    spdlog::warn(
        "table {}: key column {} has collation {}, under which spellings that differ in case "
        "(or accents, or trailing spaces) may name one row, but rowcached cannot tell which ({}); "
        "it caches each spelling as its own key, so a write through one spelling does not "
        "refresh another, and its Bloom filter is off (it would turn other spellings of a row "
        "away): use one spelling per row in every client, or a NO PAD binary collation for the "
        "key",
        t.options.name, t.options.key, t.key_column.collation,
        !a.ok()         ? a.ToString()
        : !a_space.ok() ? a_space.ToString()
                        : "unexpected weights");
    t.folds = false;
    t.bloom_off.store(true);  // never loaded, so never consulted
    return true;
  }

  // Starts the background thread: pending table checks, Bloom loading, breaker probing.
  void StartBackground() {
    background_ = std::thread([self = this] { self->BackgroundLoop(); });
  }

  void BackgroundLoop() {
    auto conn = db_->Connect();
    auto backoff = options_.retry_initial;
    std::unique_lock lock(bg_mu_);
    while (!stopping_) {
      lock.unlock();
      bool work_left = false;
      // Tables not checked yet (database was unreachable).
      std::string fatal, unavailable;
      if (!CheckTables(*conn, &fatal, &unavailable)) {
        for (auto& t : tables_) {
          if (t->state.load() == TableState::kPending) {
            t->broken_reason = fatal;
            t->state.store(TableState::kBroken);
          }
        }
        spdlog::error("configuration refuted by the database: {}; its keys answer errors", fatal);
      }
      if (!unavailable.empty()) {
        spdlog::warn("database unavailable ({}), retrying in {} ms", unavailable, backoff.count());
        work_left = true;
      }
      // Bloom filters of ready tables.
      for (auto& t : tables_) {
        if (!unavailable.empty()) break;
        if (t->state.load() != TableState::kReady || !t->bloom || t->bloom_ready.load() ||
            t->bloom_off.load()) {
          continue;
        }
        uint64_t loaded = 0;
        // Under a folding collation the filter holds the keys' forms (KeyPlace::member).
        auto add = [&](std::span<const std::string> keys) {
          for (const auto& k : keys) t->bloom->Add(k);
          loaded += keys.size();
          return !StopRequested();
        };
        auto r = t->folds ? conn->ScanKeyForms(t->options.name, add)
                          : conn->ScanKeys(t->options.name, add);
        if (r.ok() && !StopRequested()) {
          t->bloom_ready.store(true);
          spdlog::info("table {}: Bloom filter loaded with {} keys", t->options.name, *r);
          if (*r > t->options.bloom_capacity) {
            spdlog::warn(
                "table {}: {} keys exceed bloom_capacity {}; the false-positive rate "
                "rises above bloom_error_rate",
                t->options.name, *r, t->options.bloom_capacity);
          }
        } else if (!r.ok()) {
          spdlog::warn("table {}: Bloom filter load failed ({}), retrying", t->options.name,
                       r.ToString());
          work_left = true;
        }
      }
      // Spellings whose entries left the keyspace (RememberSpellingLocked asked).
      bool sweep;
      {
        std::lock_guard l(spellings_mu_);
        sweep = sweep_requested_;
      }
      if (sweep) SweepSpellings();
      // Breaker probe.
      if (breaker_open_.load()) {
        auto r = conn->Ping();
        if (r.ok()) {
          NoteDbSuccess();
          spdlog::info("database answers again: breaker closed");
        } else {
          work_left = true;
          spdlog::warn("database still unavailable ({}), next probe in {} ms", r.ToString(),
                       backoff.count());
        }
      }
      lock.lock();
      if (stopping_) break;
      if (work_left) {
        bg_cv_.wait_for(lock, backoff, [this] { return stopping_; });
        backoff = std::min(backoff * 2, options_.retry_max);
      } else {
        backoff = options_.retry_initial;
        bg_cv_.wait(lock, [this] { return stopping_ || wake_background_; });
        wake_background_ = false;
      }
    }
  }

  bool StopRequested() {
    std::lock_guard l(bg_mu_);
    return stopping_;
  }

  void Stop() {
    {
      std::lock_guard l(bg_mu_);
      if (stopped_) return;
      stopped_ = true;
      stopping_ = true;
    }
    bg_cv_.notify_all();
    if (background_.joinable()) background_.join();
    queues_.Stop(queues::StopMode::kCancel);
    fallback_.join();
  }

  // ---- breaker -------------------------------------------------------------------------------

  void NoteDbFailure(const std::string& reason) {
    {
      std::lock_guard l(reason_mu_);
      reason_ = reason;
    }
    if (failures_.fetch_add(1) + 1 >= options_.breaker_failures && !breaker_open_.exchange(true)) {
      spdlog::warn("database unavailable ({}): breaker open, misses fail fast", reason);
      std::lock_guard l(bg_mu_);
      wake_background_ = true;
      bg_cv_.notify_all();
    }
  }
  void NoteDbSuccess() {
    failures_.store(0);
    breaker_open_.store(false);
  }
  std::string UnavailableReason() {
    std::lock_guard l(reason_mu_);
    return reason_.empty() ? std::string("not reachable yet") : reason_;
  }

  // ---- KeyInterceptor ------------------------------------------------------------------------

  Table* TableOf(std::string_view key) const {
    size_t colon = key.find(':');
    if (colon == std::string_view::npos) return nullptr;
    std::string_view name = key.substr(0, colon);
    for (const auto& t : tables_) {
      if (t->options.name == name) return t.get();
    }
    return nullptr;
  }

  bool Owns(std::string_view key) const override { return TableOf(key) != nullptr; }

  void Handle(CommandContext& ctx) override {
    const std::string& name = ctx.spec.name;
    using Handler = void (RowCache::*)(CommandContext&);
    static const std::unordered_map<std::string, Handler> kHandlers = {
        {"hgetall", &RowCache::CmdRead}, {"hget", &RowCache::CmdRead},
        {"hmget", &RowCache::CmdRead},   {"get", &RowCache::CmdRead},
        {"exists", &RowCache::CmdRead},  {"hset", &RowCache::CmdHSet},
        {"hmset", &RowCache::CmdHSet},   {"del", &RowCache::CmdDel},
        {"unlink", &RowCache::CmdDel},
    };
    if (auto it = kHandlers.find(name); it != kHandlers.end()) {
      (this->*(it->second))(ctx);
      return;
    }
    if (ctx.spec.flags & server::kWrite) {
      for (size_t i = 1; i < ctx.argc(); ++i) {
        if (Owns(ctx.arg(i))) {
          ctx.reply.Error(ManagedKeyError(ctx.arg(i)));
          return;
        }
      }
    }
    // Other hash reads would see the cache's internal value, not the row: say what works.
    static const std::unordered_map<std::string, bool> kUnsupportedReads = {
        {"hlen", true},     {"hkeys", true},      {"hvals", true}, {"hexists", true},
        {"hstrlen", true},  {"hrandfield", true}, {"hscan", true}, {"strlen", true},
        {"getrange", true}, {"mget", true},       {"lcs", true},
    };
    if (kUnsupportedReads.count(name)) {
      ctx.reply.Error("ERR " + server::ToUpper(name) +
                      " is not supported on table keys; use HGETALL, HGET, HMGET, GET or EXISTS");
      return;
    }
    server::RunBuiltin(ctx);  // reads that don't need the database: TYPE, TTL, OBJECT, ...
  }

  // Splits and checks "<table>:<pk>". Replies the error and returns false if malformed.
  bool ParseKey(CommandContext& ctx, std::string_view key, Table** table, std::string* pk) {
    *table = TableOf(key);
    *pk = std::string(key.substr(key.find(':') + 1));
    if (pk->empty()) {
      ctx.reply.Error("ERR '" + std::string(key) +
                      "' is not a valid table key: the primary key is missing");
      return false;
    }
    return CheckTable(ctx, **table, *pk, key);
  }

  bool CheckTable(CommandContext& ctx, Table& t, const std::string& pk, std::string_view key) {
    switch (t.state.load()) {
      case TableState::kPending:
        ctx.reply.Error("TRYAGAIN database unavailable: " + UnavailableReason());
        return false;
      case TableState::kBroken:
        ctx.reply.Error("ERR table " + t.options.name + " is unusable: " + t.broken_reason);
        return false;
      case TableState::kReady:
        break;
    }
    if (t.key_is_integer && !IsIntegerText(pk)) {
      ctx.reply.Error("ERR '" + std::string(key) + "' is not a valid table key: the primary key '" +
                      t.options.key + "' of " + t.options.name + " is an integer");
      return false;
    }
    return true;
  }

  bool CheckColumn(CommandContext& ctx, const Table& t, std::string_view column) {
    if (t.HasColumn(column)) return true;
    ctx.reply.Error("ERR unknown column '" + std::string(column) + "' in table " + t.options.name);
    return false;
  }

  // ---- reads ---------------------------------------------------------------------------------

  void CmdRead(CommandContext& ctx) {
    ReadRequest req;
    const std::string& name = ctx.spec.name;
    if (name == "exists" && ctx.argc() != 2) {
      ctx.reply.Error("ERR EXISTS on a table key takes exactly one key");
      return;
    }
    if (!ParseKey(ctx, ctx.arg(1), &req.table, &req.pk)) return;
    req.key = std::string(ctx.arg(1));
    if (name == "hgetall") {
      req.kind = ReadKind::kHGetAll;
    } else if (name == "get") {
      req.kind = ReadKind::kJson;
    } else if (name == "exists") {
      req.kind = ReadKind::kExists;
    } else {
      req.kind = name == "hget" ? ReadKind::kHGet : ReadKind::kHMGet;
      for (size_t i = 2; i < ctx.argc(); ++i) {
        if (!CheckColumn(ctx, *req.table, ctx.arg(i))) return;
        req.fields.emplace_back(ctx.arg(i));
      }
    }
    Read(ctx, std::move(req));
  }

  void Read(CommandContext& ctx, ReadRequest req) {
    Table& t = *req.table;
    std::shared_ptr<const Row> stale;
    {
      server::ShardLocks locks;
      locks.LockOne(server_.keyspace(), req.key);
      server::Db db(&server_.keyspace(), kRowDb);
      server::Entry* e = db.Find(req.key);
      if (e != nullptr && e->type() == server::ValueType::kRow) {
        auto* v = static_cast<RowValue*>(e->object());
        if (v->Fresh(db.NowMs())) {
          (v->row ? t.stats.hits : t.stats.negative_hits).fetch_add(1, std::memory_order_relaxed);
          RenderRead(ctx.reply, req, v->row.get());
          return;
        }
        stale = v->row;
      }
    }
    std::optional<KeyPlace> place = KnownPlace(t, req.key, req.pk);
    if (place && (NamesNoRow(t, *place) || BloomRejects(t, place->member))) {
      RenderRead(ctx.reply, req, nullptr);
      return;
    }
    if (breaker_open_.load(std::memory_order_relaxed)) {
      t.stats.rejected.fetch_add(1, std::memory_order_relaxed);
      if (stale && t.options.on_timeout == OnTimeout::kStale) {
        t.stats.timeouts_stale.fetch_add(1, std::memory_order_relaxed);
        RenderRead(ctx.reply, req, stale.get());
      } else {
        ctx.reply.Error("TRYAGAIN database unavailable: " + UnavailableReason());
      }
      return;
    }
    t.stats.misses.fetch_add(1, std::memory_order_relaxed);
    if (!ctx.defer) {
      ctx.reply.Error("ERR this connection cannot wait for the database");
      return;
    }
    auto reply = ctx.defer();
    req.arrived = std::chrono::steady_clock::now();
    auto request = std::make_shared<const ReadRequest>(std::move(req));
    auto deadline = queues::Clock::now() + t.options.read_timeout;
    if (place) {
      SubmitRefill(request, *place, reply, stale, deadline);
    } else {
      FindPlaceThenRefill(request, reply, stale, deadline);
    }
  }

  // A key its column cannot hold (see adapters::KeyFormNamesNoRow): no database call needed.
  static bool NamesNoRow(const Table& t, const KeyPlace& place) {
    return t.folds && adapters::KeyFormNamesNoRow(t.key_column, place.member);
  }

  bool BloomRejects(Table& t, std::string_view member) {
    if (!t.bloom || !t.bloom_ready.load(std::memory_order_acquire) ||
        t.bloom->MightContain(member)) {
      return false;
    }
    t.stats.bloom_rejections.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // The refill of a missed read, merged with the pending one of the same order key and
  // generation. The generation is taken now, after the read arrived: anything acknowledged
  // before it is older.
  void SubmitRefill(const std::shared_ptr<const ReadRequest>& request, const KeyPlace& place,
                    const std::shared_ptr<server::DeferredReply>& reply,
                    const std::shared_ptr<const Row>& stale, queues::Deadline deadline) {
    const uint64_t gen = Slot(place.order).load(std::memory_order_relaxed);
    std::weak_ptr<RowCache> weak = weak_from_this();
    auto fetch = [this, request, order = place.order, gen]() -> FetchResult {
      return Refill(*request, order, gen);
    };
    (void)queues_.SubmitRefresh<FetchResult>(
        place.order, gen, std::move(fetch),
        queues::Waiter<FetchResult>{
            deadline, [this, weak, request, reply, stale](
                          queues::Status st, std::shared_ptr<const FetchResult> result) {
              auto self = weak.lock();
              if (!self) {
                reply->Complete([](ReplyBuilder& r) { r.Error("TRYAGAIN shutting down"); });
                return;
              }
              Completed(st, result, request, reply, stale);
            }});
  }

  // A missed read of a spelling whose form is not known yet: the form first (one SELECT, merged
  // for concurrent reads of the spelling, bounded by the read's own deadline), then as any miss.
  void FindPlaceThenRefill(const std::shared_ptr<const ReadRequest>& request,
                           const std::shared_ptr<server::DeferredReply>& reply,
                           const std::shared_ptr<const Row>& stale, queues::Deadline deadline) {
    std::weak_ptr<RowCache> weak = weak_from_this();
    auto find = [this, request]() -> FormResult {
      FormResult out;
      auto form = FormOf(*request->table, request->key, request->pk);
      if (form.ok()) {
        out.form = std::move(form).value();
      } else {
        out.status = form.status();
        out.message = form.message();
      }
      return out;
    };
    (void)queues_.SubmitRefresh<FormResult>(
        kFormLookupPrefix + request->key, 0, std::move(find),
        queues::Waiter<FormResult>{
            deadline, [this, weak, request, reply, stale, deadline](
                          queues::Status st, std::shared_ptr<const FormResult> result) {
              auto self = weak.lock();
              if (!self) {
                reply->Complete([](ReplyBuilder& r) { r.Error("TRYAGAIN shutting down"); });
                return;
              }
              Table& t = *request->table;
              if (st != queues::Status::kOk) return Completed(st, nullptr, request, reply, stale);
              if (result->status != adapters::Status::kOk) {
                FetchResult failed;
                failed.status = result->status;
                failed.message = result->message;
                return ReplyDbError(t, *request, failed, reply, stale);
              }
              KeyPlace place = PlaceOfForm(t, result->form);
              if (NamesNoRow(t, place) || BloomRejects(t, place.member)) {
                reply->Complete([&](ReplyBuilder& r) { RenderRead(r, *request, nullptr); });
                return;
              }
              SubmitRefill(request, place, reply, stale, deadline);
            }});
  }

  // On the key's worker: read the database and install if no write or invalidation came since.
  FetchResult Refill(const ReadRequest& req, const std::string& order, uint64_t gen) {
    Table& t = *req.table;
    {
      // A read that missed just as an earlier refill of this generation completed opens a new
      // group: the row is installed by now, so serve it without another database read (one
      // database read per invalidation, however the misses interleave).
      server::ShardLocks locks;
      locks.LockOne(server_.keyspace(), req.key);
      server::Db db(&server_.keyspace(), kRowDb);
      server::Entry* e = db.Find(req.key);
      if (e != nullptr && e->type() == server::ValueType::kRow &&
          Slot(order).load(std::memory_order_relaxed) == gen) {
        auto* v = static_cast<RowValue*>(e->object());
        if (v->Fresh(db.NowMs())) {
          FetchResult cached;
          cached.row = v->row;
          return cached;
        }
      }
    }
    t.stats.refreshes.fetch_add(1, std::memory_order_relaxed);
    FetchResult out = FetchFromDb(ThreadConnection(*db_), t, req.pk);
    if (out.status != adapters::Status::kOk) return out;
    int64_t now = server_.clock().NowMs();
    int64_t ttl_ms = out.row ? JitteredTtl(t) : t.options.negative_ttl.count();
    InstallIfCurrent(t, req.key, order, gen, out.row, ttl_ms, now);
    return out;
  }

  FetchResult FetchFromDb(adapters::Connection& conn, Table& t, const std::string& pk) {
    FetchResult out;
    auto row = conn.FetchRow(t.options.name, pk, t.columns);
    if (row.ok()) {
      out.row = std::make_shared<const Row>(std::move(row).value());
      NoteDbSuccess();
    } else if (row.status() == adapters::Status::kNotFound) {
      NoteDbSuccess();
    } else {
      out.status = row.status();
      out.message = row.message();
      t.stats.db_errors.fetch_add(1, std::memory_order_relaxed);
      if (row.status() == adapters::Status::kConnectionLost) NoteDbFailure(row.message());
    }
    return out;
  }

  int64_t JitteredTtl(const Table& t) {
    int64_t ttl = t.options.ttl.count();
    if (ttl == 0 || t.options.ttl_jitter <= 0) return ttl;
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> spread(-t.options.ttl_jitter, t.options.ttl_jitter);
    return std::max<int64_t>(1, static_cast<int64_t>(ttl * (1.0 + spread(rng))));
  }

  // REQUIRES: the key's shard lock. `ttl_ms` 0 = no expiry. Rows of on_timeout = stale tables
  // stay in the keyspace after they turn stale, as the fallback value while the database is
  // slow or down: for kStaleGraceMs or one more ttl, whichever is longer (eviction still applies).
  void Install(const std::string& key, const Table& t, std::shared_ptr<const Row> row,
               int64_t ttl_ms, int64_t now) {
    server::Db db(&server_.keyspace(), kRowDb);
    int64_t fresh_until = ttl_ms == 0 ? 0 : now + ttl_ms;
    server::Entry* e =
        db.SetObject(key, server::ValueType::kRow, std::make_unique<RowValue>(row, fresh_until));
    if (ttl_ms != 0) {
      int64_t keep = t.options.on_timeout == OnTimeout::kStale && row
                         ? ttl_ms + std::max(ttl_ms, kStaleGraceMs)
                         : ttl_ms;
      db.SetExpireAt(e, now + keep);
    }
  }

  // The install half of the guard: `key` gets `row` only if no write or invalidation of its
  // order key came since `gen`. Under a folding collation the spelling is remembered with its
  // order key, so that a write through any spelling drops it (DropOtherSpellingsLocked).
  void InstallIfCurrent(const Table& t, const std::string& key, const std::string& order,
                        uint64_t gen, std::shared_ptr<const Row> row, int64_t ttl_ms, int64_t now) {
    std::unique_lock<std::mutex> spellings = LockSpellings(t);
    {
      server::ShardLocks locks;
      locks.LockOne(server_.keyspace(), key);
      if (Slot(order).load(std::memory_order_relaxed) != gen) return;
      Install(key, t, std::move(row), ttl_ms, now);
    }
    if (t.folds) RememberSpellingLocked(order, key);
  }

  // REQUIRES: the key's shard lock (and LockSpellings). The write/invalidation half of the
  // guard, for `key` itself: a new generation for its order key, and its entry dropped.
  void BumpAndDropLocked(const std::string& key, const std::string& order) {
    Slot(order).store(next_generation_.fetch_add(1, std::memory_order_relaxed) + 1,
                      std::memory_order_relaxed);
    server::Db(&server_.keyspace(), kRowDb).Delete(key);
  }

  // The whole write/invalidation half of the guard: BumpAndDropLocked, and under a folding
  // collation every other spelling of the row dropped too.
  void BumpAndDrop(const Table& t, const std::string& key, const std::string& order) {
    std::unique_lock<std::mutex> spellings = LockSpellings(t);
    {
      server::ShardLocks locks;
      locks.LockOne(server_.keyspace(), key);
      BumpAndDropLocked(key, order);
    }
    if (t.folds) DropOtherSpellingsLocked(order, "");
  }

  // A refill waiter's completion: on the worker (kOk), the deadline thread (kTimeout) or the
  // submitting I/O thread (refused).
  void Completed(queues::Status st, const std::shared_ptr<const FetchResult>& result,
                 const std::shared_ptr<const ReadRequest>& req,
                 const std::shared_ptr<server::DeferredReply>& reply,
                 const std::shared_ptr<const Row>& stale) {
    Table& t = *req->table;
    switch (st) {
      case queues::Status::kOk:
        if (result->status == adapters::Status::kOk) {
          if (result->served.fetch_add(1, std::memory_order_relaxed) > 0) {
            t.stats.merged.fetch_add(1, std::memory_order_relaxed);
          }
          auto row = result->row;
          reply->Complete([&](ReplyBuilder& r) { RenderRead(r, *req, row.get()); });
        } else {
          ReplyDbError(t, *req, *result, reply, stale);
        }
        return;
      case queues::Status::kTimeout:
        OnReadTimeout(t, req, reply, stale);
        return;
      case queues::Status::kQueueFull:
      case queues::Status::kShutdown:
        t.stats.rejected.fetch_add(1, std::memory_order_relaxed);
        reply->Complete(
            [st](ReplyBuilder& r) { r.Error("TRYAGAIN " + std::string(queues::StatusText(st))); });
        return;
    }
  }

  void ReplyDbError(Table& t, const ReadRequest& req, const FetchResult& result,
                    const std::shared_ptr<server::DeferredReply>& reply,
                    const std::shared_ptr<const Row>& stale) {
    if (stale && t.options.on_timeout == OnTimeout::kStale) {
      t.stats.timeouts_stale.fetch_add(1, std::memory_order_relaxed);
      reply->Complete([&](ReplyBuilder& r) { RenderRead(r, req, stale.get()); });
      return;
    }
    std::string text = DbErrorText(result.status, result.message);
    reply->Complete([&](ReplyBuilder& r) { r.Error(text); });
  }

  static std::string DbErrorText(adapters::Status status, const std::string& message) {
    switch (status) {
      case adapters::Status::kConnectionLost:
        return "TRYAGAIN database unavailable: " + message;
      case adapters::Status::kTimeout:
        return "TRYAGAIN database timeout: " + message;
      default:
        return "ERR database error: " + std::string(adapters::StatusText(status)) + ": " + message;
    }
  }

  void OnReadTimeout(Table& t, const std::shared_ptr<const ReadRequest>& req,
                     const std::shared_ptr<server::DeferredReply>& reply,
                     const std::shared_ptr<const Row>& stale) {
    switch (t.options.on_timeout) {
      case OnTimeout::kDb:
        t.stats.timeouts_db.fetch_add(1, std::memory_order_relaxed);
        ReadDirectly(req, reply);
        return;
      case OnTimeout::kStale:
        if (stale) {
          t.stats.timeouts_stale.fetch_add(1, std::memory_order_relaxed);
          reply->Complete([&](ReplyBuilder& r) { RenderRead(r, *req, stale.get()); });
          return;
        }
        [[fallthrough]];
      case OnTimeout::kError:
        t.stats.timeouts_error.fetch_add(1, std::memory_order_relaxed);
        reply->Complete([](ReplyBuilder& r) { r.Error("TRYAGAIN read timed out"); });
        return;
    }
  }

  // The on_timeout = "db" fallback: off the I/O thread and off the key's queue; the result is
  // served, never installed (it was read outside the key's order). Timed-out reads of one key
  // share one database read when DirectRead::Answers allows (a slow database would otherwise get
  // one SELECT per waiting client, just when it can least take them).
  void ReadDirectly(const std::shared_ptr<const ReadRequest>& req,
                    const std::shared_ptr<server::DeferredReply>& reply) {
    std::shared_ptr<DirectRead> read;
    {
      std::lock_guard l(direct_mu_);
      auto& slot = direct_reads_[req->key];
      if (slot && slot->Answers(*req)) {
        slot->waiters.emplace_back(req, reply);
        req->table->stats.merged.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      slot = std::make_shared<DirectRead>();
      slot->waiters.emplace_back(req, reply);
      read = slot;
    }
    boost::asio::post(fallback_, [this, read, req] {
      {
        std::lock_guard l(direct_mu_);
        read->sent = true;
        read->sent_at = std::chrono::steady_clock::now();
      }
      FetchResult r = FetchFromDb(ThreadConnection(*db_), *req->table, req->pk);
      {
        std::lock_guard l(direct_mu_);
        auto it = direct_reads_.find(req->key);
        if (it != direct_reads_.end() && it->second == read) direct_reads_.erase(it);
      }
      // No reader joins once the read is out of the map: the waiters are final.
      const std::string error =
          r.status == adapters::Status::kOk ? std::string() : DbErrorText(r.status, r.message);
      for (auto& [waiter, waiter_reply] : read->waiters) {
        if (r.status == adapters::Status::kOk) {
          waiter_reply->Complete([&](ReplyBuilder& b) { RenderRead(b, *waiter, r.row.get()); });
        } else {
          waiter_reply->Complete([&](ReplyBuilder& b) { b.Error(error); });
        }
      }
    });
  }

  // ---- spellings of one row (folding collations) ---------------------------------------------

  static KeyPlace PlaceOfForm(const Table& t, const std::string& form) {
    return {kFormOrderPrefix + t.options.name + ":" + form, form};
  }

  // The place if it is known without the database: always, unless the table folds and the
  // spelling's form is not remembered.
  std::optional<KeyPlace> KnownPlace(const Table& t, const std::string& key,
                                     const std::string& pk) {
    if (!t.folds) return KeyPlace{key, pk};
    if (std::optional<std::string> form = adapters::LocalKeyForm(t.key_column, pk)) {
      return PlaceOfForm(t, *form);
    }
    {
      std::lock_guard l(forms_mu_);
      for (const auto* forms : {&forms_, &old_forms_}) {
        if (auto it = forms->find(key); it != forms->end()) return PlaceOfForm(t, it->second);
      }
    }
    // A spelling in the cache keeps its form known, so that invalidating it never needs the
    // database.
    std::lock_guard l(spellings_mu_);
    auto it = installed_orders_.find(key);
    if (it == installed_orders_.end()) return std::nullopt;
    return KeyPlace{it->second, it->second.substr(it->second.find(':') + 1)};
  }

  // On a worker: the spelling's form, remembered or asked of the database.
  adapters::Result<std::string> FormOf(Table& t, const std::string& key, const std::string& pk) {
    if (std::optional<KeyPlace> place = KnownPlace(t, key, pk)) return place->member;
    auto form = ThreadConnection(*db_).KeyForm(t.options.name, pk);
    if (!form.ok()) {
      t.stats.db_errors.fetch_add(1, std::memory_order_relaxed);
      if (form.status() == adapters::Status::kConnectionLost) NoteDbFailure(form.message());
      return form;
    }
    NoteDbSuccess();
    std::lock_guard l(forms_mu_);
    // Two generations: a spelling asked again while the newer one fills survives the turn.
    if (forms_.size() >= kMaxRememberedForms / 2) {
      old_forms_ = std::move(forms_);
      forms_.clear();
    }
    forms_.emplace(key, *form);
    return form;
  }

  // Holds spellings_mu_ for a table that folds (nothing otherwise). Taken before shard locks.
  std::unique_lock<std::mutex> LockSpellings(const Table& t) {
    return t.folds ? std::unique_lock<std::mutex>(spellings_mu_) : std::unique_lock<std::mutex>();
  }

  // REQUIRES: spellings_mu_, no shard lock. Notes that `key` is cached under order key `order`.
  // The lists also keep names of entries evicted or expired since; once they have doubled since
  // the last sweep, the background thread sweeps them (SweepSpellings).
  void RememberSpellingLocked(const std::string& order, const std::string& key) {
    auto& keys = spellings_[order];
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return;
    keys.push_back(key);
    installed_orders_[key] = order;
    if (++spelling_count_ < spelling_sweep_at_ || sweep_requested_) return;
    sweep_requested_ = true;
    std::lock_guard l(bg_mu_);
    wake_background_ = true;
    bg_cv_.notify_all();
  }

  // REQUIRES: spellings_mu_, no shard lock, and the order key's generation just bumped. Drops
  // every spelling cached under `order` but `keep` (a row just written through it).
  void DropOtherSpellingsLocked(const std::string& order, const std::string& keep) {
    auto it = spellings_.find(order);
    if (it == spellings_.end()) return;
    for (const auto& key : it->second) {
      installed_orders_.erase(key);  // `keep` is remembered again if its row is installed
      if (key == keep) continue;
      server::ShardLocks locks;
      locks.LockOne(server_.keyspace(), key);
      server::Db(&server_.keyspace(), kRowDb).Delete(key);
    }
    spelling_count_ -= std::min(spelling_count_, it->second.size());
    spellings_.erase(it);
  }

  // On the background thread: forgets the remembered spellings whose entries left the keyspace
  // (evicted, expired), a few hash buckets per hold of spellings_mu_, so that installs and
  // writes of folding tables never wait for a whole sweep.
  void SweepSpellings() {
    size_t remembered = 0;
    for (size_t bucket = 0;;) {
      std::lock_guard l(spellings_mu_);
      const size_t buckets = spellings_.bucket_count();
      if (bucket >= buckets) {
        spelling_count_ = remembered;
        spelling_sweep_at_ = std::max(kFirstSpellingSweep, 2 * remembered);
        sweep_requested_ = false;
        return;
      }
      for (const size_t end = std::min(buckets, bucket + kSweepBuckets); bucket < end; ++bucket) {
        std::vector<std::string> orders;
        for (auto it = spellings_.begin(bucket); it != spellings_.end(bucket); ++it) {
          orders.push_back(it->first);
        }
        for (const auto& order : orders) {
          auto& names = spellings_[order];
          std::erase_if(names, [&](const std::string& name) {
            server::ShardLocks locks;
            locks.LockOne(server_.keyspace(), name);
            if (server::Db(&server_.keyspace(), kRowDb).Find(name, false, false) != nullptr) {
              return false;
            }
            installed_orders_.erase(name);
            return true;
          });
          remembered += names.size();
          if (names.empty()) spellings_.erase(order);
        }
      }
    }
  }

  // ---- writes --------------------------------------------------------------------------------

  void CmdHSet(CommandContext& ctx) {
    if (ctx.argc() < 4 || ctx.argc() % 2 != 0) {
      ctx.reply.Error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
      return;
    }
    std::vector<std::string_view> pairs(ctx.args.begin() + 2, ctx.args.end());
    Write(ctx, ctx.arg(1), pairs, ctx.spec.name == "hmset" ? WriteReply::kOk : WriteReply::kAdded);
  }

  enum class WriteReply { kAdded, kOk };

  void Write(CommandContext& ctx, std::string_view key, const std::vector<std::string_view>& pairs,
             WriteReply reply_kind) {
    Table* t;
    std::string pk;
    if (!ParseKey(ctx, key, &t, &pk)) return;
    Row values;
    for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
      std::string_view column = pairs[i];
      if (column == t->options.key) {
        ctx.reply.Error("ERR column '" + std::string(column) + "' is the primary key of " +
                        t->options.name + "; the key names the row");
        return;
      }
      if (!CheckColumn(ctx, *t, column)) return;
      bool replaced = false;
      for (auto& f : values) {
        if (f.column == column) {
          f.value = std::string(pairs[i + 1]);  // last one wins, like HSET
          replaced = true;
        }
      }
      if (!replaced) values.push_back({std::string(column), std::string(pairs[i + 1])});
    }
    if (!ctx.defer) {
      ctx.reply.Error("ERR this connection cannot wait for the database");
      return;
    }
    auto reply = ctx.defer();
    std::string k(key);
    SubmitOrdered(*t, k, pk, reply,
                  [this, t, k, pk, values = std::move(values), reply_kind,
                   reply](const KeyPlace& place) mutable {
                    adapters::Connection& conn = ThreadConnection(*db_);
                    bool existed = true;
                    if (reply_kind == WriteReply::kAdded) {
                      auto before = conn.FetchRow(t->options.name, pk,
                                                  std::vector<std::string>{t->options.key});
                      existed = before.ok();
                    }
                    auto r = conn.Upsert(t->options.name, pk, values);
                    if (!r.ok()) return FailWrite(*t, k, place, r.status(), r.message(), reply);
                    AfterWrite(*t, k, place, pk, conn, /*deleted=*/false);
                    int64_t added = existed ? 0 : static_cast<int64_t>(values.size());
                    reply->Complete([&](ReplyBuilder& b) {
                      if (reply_kind == WriteReply::kOk) {
                        b.Ok();
                      } else {
                        b.Integer(added);
                      }
                    });
                  });
  }

  using OrderedOp = queues::UniqueFunction<void(const KeyPlace&)>;

  // Runs a write `op` on the queue of the key's order key, after every read-that-missed, write
  // and invalidation of the row submitted before it. A spelling whose form is not known yet has
  // its form found first, on a queue of its own. Refusals and failures are replied to here.
  void SubmitOrdered(Table& t, const std::string& key, const std::string& pk,
                     const std::shared_ptr<server::DeferredReply>& reply, OrderedOp op) {
    if (std::optional<KeyPlace> place = KnownPlace(t, key, pk)) {
      return SubmitAt(t, key, std::move(*place), reply, std::move(op));
    }
    // A refusal has already run the operation with its status.
    (void)queues_.Submit(kFormLookupPrefix + key,
                         [this, &t, key, pk, reply, op = std::move(op)](queues::Status st) mutable {
                           if (st != queues::Status::kOk) return RejectWrite(t, st, reply);
                           auto form = FormOf(t, key, pk);
                           if (!form.ok())
                             return FailFormLookup(form.status(), form.message(), reply);
                           SubmitAt(t, key, PlaceOfForm(t, *form), reply, std::move(op));
                         });
  }

  void SubmitAt(Table& t, const std::string& key, KeyPlace place,
                const std::shared_ptr<server::DeferredReply>& reply, OrderedOp op) {
    if (NamesNoRow(t, place)) {
      std::string text = "ERR '" + key + "' is not a valid table key: its key column '" +
                         t.options.key + "' (" + t.key_column.charset + ") cannot hold it";
      reply->Complete([&](ReplyBuilder& r) { r.Error(text); });
      return;
    }
    std::string order = place.order;
    (void)queues_.Submit(order, [this, &t, reply, place = std::move(place),
                                 op = std::move(op)](queues::Status st) mutable {
      if (st != queues::Status::kOk) return RejectWrite(t, st, reply);
      op(place);
    });
  }

  // The database could not tell a spelling's form: nothing was written or invalidated.
  static void FailFormLookup(adapters::Status status, const std::string& message,
                             const std::shared_ptr<server::DeferredReply>& reply) {
    std::string text = DbErrorText(status, message);
    reply->Complete([&](ReplyBuilder& r) { r.Error(text); });
  }

  void RejectWrite(Table& t, queues::Status st,
                   const std::shared_ptr<server::DeferredReply>& reply) {
    t.stats.rejected.fetch_add(1, std::memory_order_relaxed);
    reply->Complete(
        [st](ReplyBuilder& r) { r.Error("TRYAGAIN " + std::string(queues::StatusText(st))); });
  }

  // The database refused or failed: the cache must not keep the key (it may hold a value the
  // database no longer has, or never had).
  void FailWrite(Table& t, const std::string& key, const KeyPlace& place, adapters::Status status,
                 const std::string& message, const std::shared_ptr<server::DeferredReply>& reply) {
    t.stats.db_errors.fetch_add(1, std::memory_order_relaxed);
    if (status == adapters::Status::kConnectionLost) NoteDbFailure(message);
    BumpAndDrop(t, key, place.order);
    std::string text = DbErrorText(status, message);
    reply->Complete([&](ReplyBuilder& r) { r.Error(text); });
  }

  // On the worker after the database committed: re-read the row as stored and install it
  // (write-through) unless an invalidation came in between, else drop the entry.
  void AfterWrite(Table& t, const std::string& key, const KeyPlace& place, const std::string& pk,
                  adapters::Connection& conn, bool deleted) {
    NoteDbSuccess();
    t.stats.writes.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<const Row> row;
    uint64_t gen = Slot(place.order).load(std::memory_order_relaxed);
    bool install = !deleted && t.options.mode == Mode::kWriteThrough;
    if (install) {
      auto fetched = conn.FetchRow(t.options.name, pk, t.columns);
      if (fetched.ok()) {
        row = std::make_shared<const Row>(std::move(fetched).value());
      } else {
        install = false;
      }
    }
    if (!deleted && t.bloom) t.bloom->Add(place.member);
    int64_t now = server_.clock().NowMs();
    std::unique_lock<std::mutex> spellings = LockSpellings(t);
    {
      server::ShardLocks locks;
      locks.LockOne(server_.keyspace(), key);
      bool unchanged = Slot(place.order).load(std::memory_order_relaxed) == gen;
      BumpAndDropLocked(key, place.order);
      install = install && unchanged;
      if (install) Install(key, t, row, JitteredTtl(t), now);
    }
    if (t.folds) {
      DropOtherSpellingsLocked(place.order, key);
      if (install) RememberSpellingLocked(place.order, key);
    }
  }

  // ---- ROW.DEL and invalidation --------------------------------------------------------------

  void RowDelete(CommandContext& ctx, std::string_view key) {
    Table* t;
    std::string pk;
    if (!ParseKey(ctx, key, &t, &pk)) return;
    if (!ctx.defer) {
      ctx.reply.Error("ERR this connection cannot wait for the database");
      return;
    }
    auto reply = ctx.defer();
    std::string k(key);
    SubmitOrdered(*t, k, pk, reply, [this, t, k, pk, reply](const KeyPlace& place) {
      adapters::Connection& conn = ThreadConnection(*db_);
      auto r = conn.DeleteRow(t->options.name, pk);
      if (!r.ok() && r.status() != adapters::Status::kNotFound) {
        return FailWrite(*t, k, place, r.status(), r.message(), reply);
      }
      AfterWrite(*t, k, place, pk, conn, /*deleted=*/true);
      int64_t n = r.ok() ? 1 : 0;
      reply->Complete([n](ReplyBuilder& b) { b.Integer(n); });
    });
  }

  // Immediate: see the design comment. REQUIRES: the table key was checked.
  void Invalidate(Table& t, const std::string& key, const KeyPlace& place) {
    BumpAndDrop(t, key, place.order);
    // The application changed the database itself: the row may exist now.
    if (t.bloom) t.bloom->Add(place.member);
    t.stats.invalidations.fetch_add(1, std::memory_order_relaxed);
  }

  // A table key to invalidate and its place, if known without the database.
  struct Invalidation {
    TableKeyRef key;
    std::optional<KeyPlace> place;
  };

  // The places of `keys`, or nothing (the error replied) if one is not known and this connection
  // cannot wait for the database to tell it.
  std::optional<std::vector<Invalidation>> PlacesToInvalidate(CommandContext& ctx,
                                                              std::vector<TableKeyRef> keys) {
    std::vector<Invalidation> out;
    for (auto& k : keys) {
      std::optional<KeyPlace> place = KnownPlace(*k.table, k.key, k.pk);
      if (!place && !ctx.defer) {
        ctx.reply.Error("ERR this connection cannot wait for the database");
        return std::nullopt;
      }
      out.push_back({std::move(k), std::move(place)});
    }
    return out;
  }

  // Invalidates the keys and replies `removed` + their number. Keys whose place is known are
  // invalidated at once; spellings of a folding table whose form is not known yet are
  // invalidated once the database told it, and the reply waits for them (an error if it
  // cannot tell: those keys are not invalidated).
  void InvalidateAndReply(CommandContext& ctx, std::vector<Invalidation> keys, int64_t removed) {
    removed += static_cast<int64_t>(keys.size());
    std::vector<TableKeyRef> unknown;
    for (auto& k : keys) {
      if (k.place) {
        Invalidate(*k.key.table, k.key.key, *k.place);
      } else {
        unknown.push_back(std::move(k.key));
      }
    }
    if (unknown.empty()) {
      ctx.reply.Integer(removed);
      return;
    }
    auto reply = ctx.defer();  // PlacesToInvalidate made sure it can
    struct Pending {
      std::mutex mu;
      size_t left;
      std::string error;  // the first failure, if any
    };
    auto pending = std::make_shared<Pending>();
    pending->left = unknown.size();
    for (auto& k : unknown) {
      // A refusal has already run the operation with its status.
      (void)queues_.Submit(kFormLookupPrefix + k.key,
                           [this, k, reply, pending, removed](queues::Status st) {
                             std::string error;
                             if (st != queues::Status::kOk) {
                               error = "TRYAGAIN " + std::string(queues::StatusText(st));
                             } else if (auto form = FormOf(*k.table, k.key, k.pk); !form.ok()) {
                               error = DbErrorText(form.status(), form.message());
                             } else {
                               Invalidate(*k.table, k.key, PlaceOfForm(*k.table, *form));
                             }
                             std::lock_guard l(pending->mu);
                             if (pending->error.empty()) pending->error = error;
                             if (--pending->left > 0) return;
                             reply->Complete([&](ReplyBuilder& r) {
                               if (pending->error.empty()) {
                                 r.Integer(removed);
                               } else {
                                 r.Error(pending->error);
                               }
                             });
                           });
    }
  }

  // DEL / UNLINK with any mix of plain and table keys. Table keys count as removed.
  void CmdDel(CommandContext& ctx) {
    std::vector<TableKeyRef> table_keys;
    for (size_t i = 1; i < ctx.argc(); ++i) {
      if (!Owns(ctx.arg(i))) continue;
      TableKeyRef k{nullptr, std::string(ctx.arg(i)), {}};
      if (!ParseKey(ctx, ctx.arg(i), &k.table, &k.pk)) return;
      table_keys.push_back(std::move(k));
    }
    auto invalidations = PlacesToInvalidate(ctx, std::move(table_keys));
    if (!invalidations) return;
    int64_t removed = 0;
    for (size_t i = 1; i < ctx.argc(); ++i) {
      if (Owns(ctx.arg(i))) continue;
      server::ShardLocks locks;
      locks.LockOne(server_.keyspace(), ctx.arg(i));
      server::Db db = ctx.db();
      removed += server::OpDelete(db, ctx.arg(i)) ? 1 : 0;
    }
    InvalidateAndReply(ctx, std::move(*invalidations), removed);
  }

  // ---- ROW.* ---------------------------------------------------------------------------------

  // "<table>" "<pk>" -> the table key, or an error reply.
  bool TableKey(CommandContext& ctx, std::string_view table, std::string_view pk,
                std::string* key) {
    *key = std::string(table) + ":" + std::string(pk);
    if (TableOf(*key) == nullptr || TableOf(*key)->options.name != table) {
      ctx.reply.Error("ERR no such table '" + std::string(table) + "'");
      return false;
    }
    return true;
  }

  void CmdRowGet(CommandContext& ctx) {
    std::string key;
    if (!TableKey(ctx, ctx.arg(1), ctx.arg(2), &key)) return;
    ReadRequest req;
    if (!ParseKey(ctx, key, &req.table, &req.pk)) return;
    req.key = key;
    req.kind = ctx.argc() > 3 ? ReadKind::kHMGet : ReadKind::kHGetAll;
    for (size_t i = 3; i < ctx.argc(); ++i) {
      if (!CheckColumn(ctx, *req.table, ctx.arg(i))) return;
      req.fields.emplace_back(ctx.arg(i));
    }
    Read(ctx, std::move(req));
  }

  void CmdRowSet(CommandContext& ctx) {
    if (ctx.argc() % 2 != 1) {
      ctx.reply.Error("ERR wrong number of arguments for 'row.set' command");
      return;
    }
    std::string key;
    if (!TableKey(ctx, ctx.arg(1), ctx.arg(2), &key)) return;
    std::vector<std::string_view> pairs(ctx.args.begin() + 3, ctx.args.end());
    Write(ctx, key, pairs, WriteReply::kOk);
  }

  void CmdRowDel(CommandContext& ctx) {
    std::string key;
    if (!TableKey(ctx, ctx.arg(1), ctx.arg(2), &key)) return;
    RowDelete(ctx, key);
  }

  void CmdRowInvalidate(CommandContext& ctx) {
    std::vector<TableKeyRef> keys;
    for (size_t i = 2; i < ctx.argc(); ++i) {
      TableKeyRef k{nullptr, {}, {}};
      if (!TableKey(ctx, ctx.arg(1), ctx.arg(i), &k.key)) return;
      if (!ParseKey(ctx, k.key, &k.table, &k.pk)) return;
      keys.push_back(std::move(k));
    }
    auto invalidations = PlacesToInvalidate(ctx, std::move(keys));
    if (!invalidations) return;
    InvalidateAndReply(ctx, std::move(*invalidations), 0);
  }

  std::vector<std::pair<std::string, uint64_t>> Counters(const Table& t) const {
    const TableStats& s = t.stats;
    return {
        {"hits", s.hits.load()},
        {"negative_hits", s.negative_hits.load()},
        {"misses", s.misses.load()},
        {"refreshes", s.refreshes.load()},
        {"merged", s.merged.load()},
        {"timeouts_db", s.timeouts_db.load()},
        {"timeouts_stale", s.timeouts_stale.load()},
        {"timeouts_error", s.timeouts_error.load()},
        {"bloom_rejections", s.bloom_rejections.load()},
        {"writes", s.writes.load()},
        {"invalidations", s.invalidations.load()},
        {"db_errors", s.db_errors.load()},
        {"rejected", s.rejected.load()},
    };
  }

  uint64_t QueueDepth() const { return queues_.Metrics().total.depth; }

  void ReplyTableStats(ReplyBuilder& r, const Table& t) {
    auto counters = Counters(t);
    r.Map(counters.size() + 4);
    for (const auto& [name, value] : counters) {
      r.Bulk(name);
      r.Integer(static_cast<int64_t>(value));
    }
    r.Bulk("state");
    r.Bulk(StateName(t));
    r.Bulk("bloom");
    r.Bulk(!t.bloom || t.bloom_off.load() ? "off" : t.bloom_ready.load() ? "ready" : "loading");
    r.Bulk("breaker");
    r.Bulk(breaker_open_.load() ? "open" : "closed");
    r.Bulk("queue_depth");
    r.Integer(static_cast<int64_t>(QueueDepth()));
  }

  static const char* StateName(const Table& t) {
    switch (t.state.load()) {
      case TableState::kPending:
        return "pending";
      case TableState::kReady:
        return "ready";
      case TableState::kBroken:
        return "broken";
    }
    return "unknown";
  }

  void CmdRowStats(CommandContext& ctx) {
    if (ctx.argc() == 2) {
      for (const auto& t : tables_) {
        if (t->options.name == ctx.arg(1)) {
          ReplyTableStats(ctx.reply, *t);
          return;
        }
      }
      ctx.reply.Error("ERR no such table '" + std::string(ctx.arg(1)) + "'");
      return;
    }
    ctx.reply.Map(tables_.size());
    for (const auto& t : tables_) {
      ctx.reply.Bulk(t->options.name);
      ReplyTableStats(ctx.reply, *t);
    }
  }

  void InfoSection(std::string* out) {
    auto line = [&](const std::string& name, const std::string& value) {
      out->append(name).append(":").append(value).append("\r\n");
    };
    line("rowcache_tables", std::to_string(tables_.size()));
    line("rowcache_breaker", breaker_open_.load() ? "open" : "closed");
    line("rowcache_queue_depth", std::to_string(QueueDepth()));
    for (const auto& t : tables_) {
      line(t->options.name + "_state", StateName(*t));
      for (const auto& [name, value] : Counters(*t)) {
        line(t->options.name + "_" + name, std::to_string(value));
      }
    }
  }

  void Register() {
    auto& reg = server_.registry();
    auto self = this;
    reg.Add({.name = "row.get",
             .flags = server::kReadOnly | server::kNoShardLock,
             .arity = -3,
             .handler = [self](CommandContext& c) { self->CmdRowGet(c); }});
    reg.Add({.name = "row.set",
             .flags = server::kWrite | server::kDenyOom | server::kNoShardLock,
             .arity = -5,
             .handler = [self](CommandContext& c) { self->CmdRowSet(c); }});
    reg.Add({.name = "row.del",
             .flags = server::kWrite | server::kNoShardLock,
             .arity = 3,
             .handler = [self](CommandContext& c) { self->CmdRowDel(c); }});
    reg.Add({.name = "row.invalidate",
             .flags = server::kWrite | server::kNoShardLock,
             .arity = -3,
             .handler = [self](CommandContext& c) { self->CmdRowInvalidate(c); }});
    reg.Add({.name = "row.stats",
             .flags = server::kReadOnly | server::kNoShardLock,
             .arity = -1,
             .handler = [self](CommandContext& c) {
               if (c.argc() > 2) {
                 c.reply.Error("ERR wrong number of arguments for 'row.stats' command");
               } else {
                 self->CmdRowStats(c);
               }
             }});
    server_.AddInfoSection("rowcache", [self](std::string* out) { self->InfoSection(out); });
  }

  // Rows loaded from a snapshot or the append-only file arrive as plain hashes. The database
  // may have changed while rowcached was down, so none is served as it is: each becomes a row
  // that is not fresh, which the first read re-validates against the database (through the
  // key's queue, merged like any refill). The loaded copy is only ever used as the fallback
  // that on_timeout = "stale" allows for any expired row. Anything else under a table key is
  // dropped. Runs before serving.
  void AdoptLoadedRows() {
    server::ShardLocks locks;
    locks.LockAll(server_.keyspace());
    server::Db db(&server_.keyspace(), kRowDb);
    std::vector<std::string> keys;
    db.ForEach([&](server::Entry* e) {
      if (e->type() != server::ValueType::kRow && Owns(e->key())) keys.emplace_back(e->key());
    });
    size_t adopted = 0;
    for (const auto& key : keys) {
      server::Entry* e = db.Find(key, false, false);
      if (e == nullptr) continue;
      if (e->type() != server::ValueType::kHash) {
        db.Delete(key);
        continue;
      }
      const Table* t = TableOf(key);
      if (t->state.load() == TableState::kReady && t->folds) {
        db.Delete(key);  // see DropUnvalidatedRows
        continue;
      }
      auto row = std::make_shared<Row>();
      const auto* hash = static_cast<const server::HashObject*>(e->object());
      if (!t->columns.empty()) {
        for (const auto& column : t->columns) {
          const std::string* v = hash->Find(column);
          row->push_back({column, v ? std::optional<std::string>(*v) : std::nullopt});
        }
      } else {
        hash->ForEach([&](std::string_view f, std::string_view v) {
          row->push_back({std::string(f), std::string(v)});
        });
      }
      int64_t expire_at = db.ExpireAt(e);
      // Never fresh; the entry's own TTL (the stale horizon) stays.
      server::Entry* fresh = db.SetObject(key, server::ValueType::kRow,
                                          std::make_unique<RowValue>(std::move(row), kNeverFresh));
      if (expire_at >= 0) db.SetExpireAt(fresh, expire_at);
      ++adopted;
    }
    if (!keys.empty()) {
      spdlog::info("{} saved rows loaded for re-validation, {} other table keys dropped", adopted,
                   keys.size() - adopted);
    }
  }

  // Under a folding collation a saved row cannot be kept for re-validation: which spellings it
  // shares its row with is learnt only as rows are installed, so a write through another
  // spelling would not drop it, and on_timeout = "stale" could serve it after that write. Drops
  // the table's rows loaded before the table was known to fold (the database was unreachable at
  // start-up); a row installed since is not one of them.
  void DropUnvalidatedRows(const Table& t) {
    server::ShardLocks locks;
    locks.LockAll(server_.keyspace());
    server::Db db(&server_.keyspace(), kRowDb);
    std::vector<std::string> keys;
    db.ForEach([&](server::Entry* e) {
      if (e->type() == server::ValueType::kRow && TableOf(e->key()) == &t &&
          static_cast<const RowValue*>(e->object())->fresh_until_ms == kNeverFresh) {
        keys.emplace_back(e->key());
      }
    });
    for (const auto& key : keys) db.Delete(key);
    if (!keys.empty()) {
      spdlog::info("table {}: {} saved rows dropped (its key folds spellings)", t.options.name,
                   keys.size());
    }
  }

  const TableStats* Stats(std::string_view table) const {
    for (const auto& t : tables_) {
      if (t->options.name == table) return &t->stats;
    }
    return nullptr;
  }

  adapters::Database& DatabaseForStartup() { return *db_; }

 private:
  std::atomic<uint64_t>& Slot(std::string_view key) {
    return slots_[server::Table::Hash(key) & (kSlots - 1)];
  }

  server::ServerContext& server_;
  const Options options_;
  std::unique_ptr<adapters::Database> db_;
  std::vector<std::unique_ptr<Table>> tables_;
  queues::KeyQueues queues_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::atomic<uint64_t> next_generation_{0};
  boost::asio::thread_pool fallback_;
  std::mutex direct_mu_;
  // Key -> its on_timeout = "db" read that later timed-out reads may still join.
  std::unordered_map<std::string, std::shared_ptr<DirectRead>> direct_reads_;  // direct_mu_

  // Tables that fold spellings (Table::folds). forms_, old_forms_: a spelling's table key ->
  // its form, remembered (the newer and the older generation).
  std::mutex forms_mu_;
  std::unordered_map<std::string, std::string> forms_;      // guarded by forms_mu_
  std::unordered_map<std::string, std::string> old_forms_;  // guarded by forms_mu_
  // Order key -> the spellings installed under it, which a write through any of them drops,
  // and back. spellings_mu_ is taken before shard locks, by installs, writes and invalidations
  // of folding tables only, never together with forms_mu_.
  std::mutex spellings_mu_;
  std::unordered_map<std::string, std::vector<std::string>> spellings_;  // spellings_mu_
  std::unordered_map<std::string, std::string> installed_orders_;        // spellings_mu_
  size_t spelling_count_ = 0;                                            // spellings_mu_
  size_t spelling_sweep_at_ = kFirstSpellingSweep;                       // spellings_mu_
  bool sweep_requested_ = false;                                         // spellings_mu_

  std::atomic<int> failures_{0};
  std::atomic<bool> breaker_open_{false};
  std::mutex reason_mu_;
  std::string reason_;  // guarded by reason_mu_

  std::thread background_;
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;         // guarded by bg_mu_
  bool stopped_ = false;          // guarded by bg_mu_
  bool wake_background_ = false;  // guarded by bg_mu_
};

std::shared_ptr<RowCache> StartRowCache(server::ServerContext& server, Options options,
                                        std::unique_ptr<adapters::Database> database,
                                        std::string* error) {
  auto cache = std::make_shared<RowCache>(server, std::move(options), std::move(database));
  {
    // A first, synchronous check: a refuted configuration stops start-up.
    auto conn = cache->DatabaseForStartup().Connect();
    std::string fatal, unavailable;
    if (!cache->CheckTables(*conn, &fatal, &unavailable)) {
      *error = fatal;
      cache->Stop();
      return nullptr;
    }
    if (!unavailable.empty()) {
      spdlog::warn(
          "database unavailable at start-up ({}); serving plain keys, table keys answer "
          "TRYAGAIN until it is reachable",
          unavailable);
    }
  }
  cache->Register();
  KeepRowsInSnapshots(server);
  cache->AdoptLoadedRows();
  server.SetKeyInterceptor(cache);
  cache->StartBackground();
  return cache;
}

std::shared_ptr<RowCache> StartRowCache(server::ServerContext& server, Options options,
                                        std::string* error) {
  auto db = adapters::NewDatabase(options.database);
  if (!db.ok()) {
    *error = "database.url: " + db.ToString();
    return nullptr;
  }
  return StartRowCache(server, std::move(options), std::move(db).value(), error);
}

void KeepRowsInSnapshots(server::ServerContext& server) {
  // A NULL column is an absent field, as HGETALL shows it; the negative cache is not kept.
  server.persistence().set_row_fields(
      [](const server::Entry& e, std::vector<std::pair<std::string, std::string>>* fields) {
        const auto* value = static_cast<const RowValue*>(e.object());
        if (!value->row) return;
        for (const auto& f : *value->row) {
          if (f.value) fields->emplace_back(f.column, *f.value);
        }
      });
}

void StopRowCache(RowCache& cache) { cache.Stop(); }

const TableStats* FindTableStats(const RowCache& cache, std::string_view table) {
  return cache.Stats(table);
}

}  // namespace rowcached::middleware
