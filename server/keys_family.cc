// Generic key commands: DEL UNLINK EXISTS TOUCH EXPIRE PEXPIRE EXPIREAT PEXPIREAT EXPIRETIME
// PEXPIRETIME TTL PTTL PERSIST TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX COPY MOVE SWAPDB OBJECT.
// Redis 7.0 semantics, replies and error texts. Cmd functions parse and reply; the key-local
// work is in the Op functions of keys_ops.h.
#include <climits>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "server/blocking.h"
#include "server/keys_ops.h"
#include "server/notify.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {

// ---------------------------------------------------------------------------------------------
// Ops

Entry* FindNoTouch(Db& db, std::string_view key, bool count_stats) {
  return db.Find(key, count_stats, /*touch=*/false);
}

bool OpDelete(Db& db, std::string_view key) { return db.Delete(key); }

bool OpExists(Db& db, std::string_view key) { return FindNoTouch(db, key, true) != nullptr; }

bool OpTouch(Db& db, std::string_view key) { return db.Find(key, true) != nullptr; }

bool AbsoluteExpireMs(int64_t when, int64_t unit_ms, int64_t base_ms, int64_t* at_ms) {
  // The same two overflow checks as Redis' expireGenericCommand: the unit conversion, then the
  // addition of the base time (only an upward overflow is possible: base_ms >= 0).
  if (unit_ms != 1) {
    if (when > INT64_MAX / unit_ms || when < INT64_MIN / unit_ms) return false;
    when *= unit_ms;
  }
  if (when > INT64_MAX - base_ms) return false;
  *at_ms = when + base_ms;
  return true;
}

Status OpExpire(Db& db, std::string_view key, int64_t at_ms, unsigned flags, bool* deleted) {
  Entry* e = db.Find(key);
  if (e == nullptr) return Status::kNotFound;
  int64_t current = db.ExpireAt(e);
  if ((flags & kExpireNx) && current != -1) return Status::kNotAllowed;
  if ((flags & kExpireXx) && current == -1) return Status::kNotAllowed;
  // No TTL is an infinite one: GT never passes, LT always does.
  if ((flags & kExpireGt) && (current == -1 || at_ms <= current)) return Status::kNotAllowed;
  if ((flags & kExpireLt) && current != -1 && at_ms >= current) return Status::kNotAllowed;
  bool in_past = db.keyspace().AlreadyExpired(at_ms);
  if (deleted != nullptr) *deleted = in_past;
  if (in_past) {
    (void)db.Delete(key);
    return Status::kOk;
  }
  db.SetExpireAt(e, at_ms);
  return Status::kOk;
}

int64_t OpTtl(Db& db, std::string_view key) {
  Entry* e = FindNoTouch(db, key, true);
  if (e == nullptr) return -2;
  int64_t at = db.ExpireAt(e);
  if (at == -1) return -1;
  int64_t ttl = at - db.NowMs();
  return ttl < 0 ? 0 : ttl;
}

int64_t OpExpireTime(Db& db, std::string_view key) {
  Entry* e = FindNoTouch(db, key, true);
  if (e == nullptr) return -2;
  int64_t at = db.ExpireAt(e);
  return at < 0 ? -1 : at;
}

bool OpPersist(Db& db, std::string_view key) {
  Entry* e = db.Find(key);
  if (e == nullptr || db.ExpireAt(e) == -1) return false;
  db.Persist(e);
  return true;
}

std::string_view OpType(Db& db, std::string_view key) {
  Entry* e = FindNoTouch(db, key, true);
  return e == nullptr ? "none" : TypeName(e->type());
}

namespace {

// A new entry named `key` holding `old`'s value, which moves out of `old` (free it after).
// The key lives inside the entry's block, so a rename needs a new block; the value does not.
Entry* Rekey(Entry* old, std::string_view key) {
  if (old->inline_string()) return Entry::NewString(key, old->str());
  ValueType type = old->type();
  return Entry::NewObject(key, type, old->ReleaseObject());
}

// A deep copy of `e`'s value under the name `key`, for COPY.
Entry* CloneAs(const Entry& e, std::string_view key) {
  if (e.inline_string()) return Entry::NewString(key, e.str());
  return Entry::NewObject(key, e.type(), e.object()->Clone());
}

bool DbIndexOk(const Db& db, int index) { return index >= 0 && index < db.keyspace().databases(); }

}  // namespace

Status OpRename(Db& db, std::string_view src, std::string_view dst, bool nx) {
  if (db.Find(src) == nullptr) return Status::kNoSuchKey;
  // Same key: nothing moves, but the key had to exist (Redis answers OK, or 0 for RENAMENX).
  if (src == dst) return nx ? Status::kNotAllowed : Status::kOk;
  if (nx && db.Find(dst) != nullptr) return Status::kNotAllowed;
  int64_t expire_at = -1;
  Entry* old = db.Take(src, &expire_at);
  Entry* fresh = Rekey(old, dst);
  Entry::Free(old);
  // Deleting first (rather than replacing) gives the renamed key a fresh LRU clock, as Redis'
  // lookupKeyWrite of the source does, instead of the overwritten key's.
  (void)db.Delete(dst);
  db.Put(fresh, false);
  if (expire_at >= 0) db.SetExpireAt(fresh, expire_at);
  return Status::kOk;
}

Status OpCopy(Db& db, std::string_view src, std::string_view dst, int dst_db, bool replace) {
  if (!DbIndexOk(db, dst_db)) return Status::kDbIndexOutOfRange;
  if (dst_db == db.index() && src == dst) return Status::kSameObject;
  Entry* e = db.Find(src, true);
  if (e == nullptr) return Status::kNotFound;
  Db target(&db.keyspace(), dst_db);
  if (target.Find(dst) != nullptr) {
    if (!replace) return Status::kNotAllowed;
    (void)target.Delete(dst);
  }
  int64_t expire_at = db.ExpireAt(e);
  Entry* copy = target.Put(CloneAs(*e, dst), false);
  if (expire_at >= 0) target.SetExpireAt(copy, expire_at);
  return Status::kOk;
}

Status OpMove(Db& db, std::string_view key, int dst_db) {
  if (!DbIndexOk(db, dst_db)) return Status::kDbIndexOutOfRange;
  if (dst_db == db.index()) return Status::kSameObject;
  if (db.Find(key) == nullptr) return Status::kNotFound;
  Db target(&db.keyspace(), dst_db);
  if (target.Find(key) != nullptr) return Status::kNotAllowed;
  int64_t expire_at = -1;
  Entry* e = db.Take(key, &expire_at);
  target.Put(e, false);
  if (expire_at >= 0) target.SetExpireAt(e, expire_at);
  return Status::kOk;
}

Status OpSwapDb(Keyspace& ks, int a, int b) {
  if (a < 0 || b < 0 || a >= ks.databases() || b >= ks.databases()) {
    return Status::kDbIndexOutOfRange;
  }
  if (a == b) return Status::kOk;
  for (size_t i = 0; i < Keyspace::kShards; ++i) {
    auto& dbs = ks.shard(i).dbs;
    dbs[a].Swap(dbs[b]);
  }
  return Status::kOk;
}

std::string_view StringEncoding(std::string_view value) {
  // Redis' limits: OBJ_ENCODING_EMBSTR_SIZE_LIMIT and the 20-character integer check of
  // tryObjectEncoding.
  constexpr size_t kEmbstrLimit = 44;
  int64_t v;
  if (value.size() <= 20 && ParseInt64(value, &v)) return "int";
  return value.size() <= kEmbstrLimit ? "embstr" : "raw";
}

std::string_view EntryEncoding(const Entry& entry) {
  if (entry.type() == ValueType::kString) return StringEncoding(entry.str());
  return entry.object()->Encoding();
}

int64_t EntryRefCount(const Entry& entry, bool shared_integers) {
  constexpr int64_t kSharedIntegers = 10000;    // OBJ_SHARED_INTEGERS
  constexpr int64_t kSharedRefCount = INT_MAX;  // OBJ_SHARED_REFCOUNT
  if (!shared_integers || entry.type() != ValueType::kString) return 1;
  std::string_view s = entry.str();
  int64_t v;
  if (s.size() <= 20 && ParseInt64(s, &v) && v >= 0 && v < kSharedIntegers) {
    return kSharedRefCount;
  }
  return 1;
}

int64_t IdleSeconds(uint32_t lru, int64_t now_ms) { return LruIdleSeconds(lru, now_ms); }

int64_t LfuFrequency(uint32_t lru, int64_t now_ms, int64_t decay_minutes) {
  return LfuDecayedCounter(lru, now_ms, decay_minutes);
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

// Redis' getIntFromObjectOrReply without a custom message: an int64 by string2ll's rules that
// fits in an int. Replies the error and returns false otherwise.
bool ParseIntOrReply(CommandContext& ctx, std::string_view s, int* out) {
  int64_t v;
  if (!ParseInt64(s, &v)) {
    ctx.reply.Error(Status::kNotInteger);
    return false;
  }
  if (v < INT_MIN || v > INT_MAX) {
    ctx.reply.Error("ERR value is out of range, value must between -2147483648 and 2147483647");
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

// The same with a custom message for every failure (SWAPDB's "invalid first DB index").
bool ParseIntOrReply(CommandContext& ctx, std::string_view s, int* out, std::string_view error) {
  int64_t v;
  if (!ParseInt64(s, &v) || v < INT_MIN || v > INT_MAX) {
    ctx.reply.Error(error);
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

void CmdDel(CommandContext& ctx) {
  Db db = ctx.db();
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    if (!OpDelete(db, ctx.arg(i))) continue;
    KeyChanged(ctx, kNotifyGeneric, "del", ctx.arg(i));
    ++n;
  }
  ctx.reply.Integer(n);
}

void CmdExists(CommandContext& ctx) {
  Db db = ctx.db();
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) n += OpExists(db, ctx.arg(i)) ? 1 : 0;
  ctx.reply.Integer(n);
}

void CmdTouch(CommandContext& ctx) {
  Db db = ctx.db();
  int64_t n = 0;
  for (size_t i = 1; i < ctx.argc(); ++i) n += OpTouch(db, ctx.arg(i)) ? 1 : 0;
  ctx.reply.Integer(n);
}

// EXPIRE key time [NX|XX|GT|LT]: time counts `unit_ms` milliseconds from now (relative) or
// from the epoch.
void ExpireGeneric(CommandContext& ctx, int64_t unit_ms, bool relative) {
  unsigned flags = 0;
  for (size_t i = 3; i < ctx.argc(); ++i) {
    std::string_view opt = ctx.arg(i);
    if (EqualsIgnoreCase(opt, "nx")) {
      flags |= kExpireNx;
    } else if (EqualsIgnoreCase(opt, "xx")) {
      flags |= kExpireXx;
    } else if (EqualsIgnoreCase(opt, "gt")) {
      flags |= kExpireGt;
    } else if (EqualsIgnoreCase(opt, "lt")) {
      flags |= kExpireLt;
    } else {
      ctx.reply.Error("ERR Unsupported option " + std::string(opt));
      return;
    }
  }
  if ((flags & kExpireNx) && (flags & (kExpireXx | kExpireGt | kExpireLt))) {
    ctx.reply.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if ((flags & kExpireGt) && (flags & kExpireLt)) {
    ctx.reply.Error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  int64_t when;
  if (!ParseInt64(ctx.arg(2), &when)) {
    ctx.reply.Error(Status::kNotInteger);
    return;
  }
  Db db = ctx.db();
  int64_t at_ms;
  if (!AbsoluteExpireMs(when, unit_ms, relative ? db.NowMs() : 0, &at_ms)) {
    ctx.reply.Error("ERR invalid expire time in '" + ctx.spec.name + "' command");
    return;
  }
  bool deleted = false;
  bool changed = OpExpire(db, ctx.arg(1), at_ms, flags, &deleted) == Status::kOk;
  if (changed) KeyChanged(ctx, kNotifyGeneric, deleted ? "del" : "expire", ctx.arg(1));
  // Logged as the absolute time in milliseconds (with the same NX|XX|GT|LT, which hold again
  // at replay), or as the DEL it amounted to: Redis 7.0's form.
  if (changed && ctx.logging()) {
    if (deleted) {
      ctx.PropagateAs({"DEL", std::string(ctx.arg(1))});
    } else if (relative || unit_ms != 1) {
      std::vector<std::string> command = {"PEXPIREAT", std::string(ctx.arg(1)),
                                          Int64ToString(at_ms)};
      command.insert(command.end(), ctx.args.begin() + 3, ctx.args.end());
      ctx.PropagateAs(std::move(command));
    }
  }
  ctx.reply.Integer(changed ? 1 : 0);
}

void CmdExpire(CommandContext& ctx) { ExpireGeneric(ctx, 1000, true); }
void CmdPExpire(CommandContext& ctx) { ExpireGeneric(ctx, 1, true); }
void CmdExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, 1000, false); }
void CmdPExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, 1, false); }

// Seconds as Redis rounds them for TTL and EXPIRETIME: to the nearest.
int64_t RoundToSeconds(int64_t ms) { return ms < 0 ? ms : (ms + 500) / 1000; }

void CmdTtl(CommandContext& ctx) {
  Db db = ctx.db();
  ctx.reply.Integer(RoundToSeconds(OpTtl(db, ctx.arg(1))));
}

void CmdPTtl(CommandContext& ctx) {
  Db db = ctx.db();
  ctx.reply.Integer(OpTtl(db, ctx.arg(1)));
}

void CmdExpireTime(CommandContext& ctx) {
  Db db = ctx.db();
  ctx.reply.Integer(RoundToSeconds(OpExpireTime(db, ctx.arg(1))));
}

void CmdPExpireTime(CommandContext& ctx) {
  Db db = ctx.db();
  ctx.reply.Integer(OpExpireTime(db, ctx.arg(1)));
}

void CmdPersist(CommandContext& ctx) {
  Db db = ctx.db();
  bool persisted = OpPersist(db, ctx.arg(1));
  if (persisted) KeyChanged(ctx, kNotifyGeneric, "persist", ctx.arg(1));
  ctx.reply.Integer(persisted ? 1 : 0);
}

void CmdType(CommandContext& ctx) {
  Db db = ctx.db();
  ctx.reply.SimpleString(OpType(db, ctx.arg(1)));
}

void CmdKeys(CommandContext& ctx) {
  Db db = ctx.db();
  std::string_view pattern = ctx.arg(1);
  bool all = pattern == "*";
  // Views into the entries: valid while the shard locks are held, i.e. for this whole call.
  std::vector<std::string_view> keys;
  db.ForEach([&](Entry* e) {
    if (all || GlobMatch(pattern, e->key())) keys.push_back(e->key());
  });
  ctx.reply.Array(keys.size());
  for (auto k : keys) ctx.reply.Bulk(k);
}

void CmdScan(CommandContext& ctx) {
  uint64_t cursor;
  if (!ParseScanCursor(ctx.arg(1), &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;
  std::string_view type_name;
  bool use_type = false;
  for (size_t i = 2; i < ctx.argc();) {
    std::string_view opt = ctx.arg(i);
    bool has_value = i + 1 < ctx.argc();
    if (EqualsIgnoreCase(opt, "count") && has_value) {
      if (!ParseInt64(ctx.arg(i + 1), &count)) {
        ctx.reply.Error(Status::kNotInteger);
        return;
      }
      if (count < 1) {
        ctx.reply.Error(Status::kSyntax);
        return;
      }
    } else if (EqualsIgnoreCase(opt, "match") && has_value) {
      pattern = ctx.arg(i + 1);
      use_pattern = pattern != "*";
    } else if (EqualsIgnoreCase(opt, "type") && has_value) {
      // Redis 7.0 compares the name case-insensitively and lets an unknown type match nothing.
      type_name = ctx.arg(i + 1);
      use_type = true;
    } else {
      ctx.reply.Error(Status::kSyntax);
      return;
    }
    i += 2;
  }
  Db db = ctx.db();
  std::vector<std::string_view> keys;
  uint64_t next = db.Scan(cursor, static_cast<size_t>(count), [&](Entry* e) {
    if (use_pattern && !GlobMatch(pattern, e->key())) return;
    if (use_type && !EqualsIgnoreCase(TypeName(e->type()), type_name)) return;
    keys.push_back(e->key());
  });
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.Array(keys.size());
  for (auto k : keys) ctx.reply.Bulk(k);
}

void CmdRandomKey(CommandContext& ctx) {
  Db db = ctx.db();
  Entry* e = db.RandomKey();
  if (e == nullptr) {
    ctx.reply.Null();
  } else {
    ctx.reply.Bulk(e->key());
  }
}

// RENAME and RENAMENX after a successful OpRename: a rename onto itself changes nothing.
void NotifyRename(CommandContext& ctx) {
  if (ctx.arg(1) == ctx.arg(2)) return;
  KeyChanged(ctx, kNotifyGeneric, "rename_from", ctx.arg(1));
  KeyChanged(ctx, kNotifyGeneric, "rename_to", ctx.arg(2));
}

void CmdRename(CommandContext& ctx) {
  Db db = ctx.db();
  Status s = OpRename(db, ctx.arg(1), ctx.arg(2), false);
  if (s != Status::kOk) {
    ctx.reply.Error(s);
    return;
  }
  NotifyRename(ctx);
  KeyReady(ctx, ctx.arg(2));
  ctx.reply.Ok();
}

void CmdRenameNx(CommandContext& ctx) {
  Db db = ctx.db();
  Status s = OpRename(db, ctx.arg(1), ctx.arg(2), true);
  if (s == Status::kNoSuchKey) {
    ctx.reply.Error(s);
    return;
  }
  if (s == Status::kOk) NotifyRename(ctx);
  if (s == Status::kOk) KeyReady(ctx, ctx.arg(2));
  ctx.reply.Integer(s == Status::kOk ? 1 : 0);
}

void CmdCopy(CommandContext& ctx) {
  Db db = ctx.db();
  int dst_db = db.index();
  bool replace = false;
  // Options in Redis' order of checks: the DB index is validated as soon as it is read.
  for (size_t i = 3; i < ctx.argc(); ++i) {
    std::string_view opt = ctx.arg(i);
    if (EqualsIgnoreCase(opt, "replace")) {
      replace = true;
    } else if (EqualsIgnoreCase(opt, "db") && i + 1 < ctx.argc()) {
      if (!ParseIntOrReply(ctx, ctx.arg(i + 1), &dst_db)) return;
      if (dst_db < 0 || dst_db >= db.keyspace().databases()) {
        ctx.reply.Error(Status::kDbIndexOutOfRange);
        return;
      }
      ++i;
    } else {
      ctx.reply.Error(Status::kSyntax);
      return;
    }
  }
  Status s = OpCopy(db, ctx.arg(1), ctx.arg(2), dst_db, replace);
  if (s == Status::kOk) {
    KeyModified(ctx.server, dst_db, ctx.arg(2));
    NotifyKeyspaceEvent(ctx.server, kNotifyGeneric, "copy_to", ctx.arg(2), dst_db);
  }
  if (s == Status::kOk) KeyReady(ctx.server, dst_db, ctx.arg(2));
  if (s == Status::kOk || s == Status::kNotFound || s == Status::kNotAllowed) {
    ctx.reply.Integer(s == Status::kOk ? 1 : 0);
  } else {
    ctx.reply.Error(s);
  }
}

void CmdMove(CommandContext& ctx) {
  int dst_db;
  if (!ParseIntOrReply(ctx, ctx.arg(2), &dst_db)) return;
  Db db = ctx.db();
  Status s = OpMove(db, ctx.arg(1), dst_db);
  if (s == Status::kOk) {
    KeyChanged(ctx, kNotifyGeneric, "move_from", ctx.arg(1));
    KeyModified(ctx.server, dst_db, ctx.arg(1));
    NotifyKeyspaceEvent(ctx.server, kNotifyGeneric, "move_to", ctx.arg(1), dst_db);
  }
  if (s == Status::kOk) KeyReady(ctx.server, dst_db, ctx.arg(1));
  if (s == Status::kOk || s == Status::kNotFound || s == Status::kNotAllowed) {
    ctx.reply.Integer(s == Status::kOk ? 1 : 0);
  } else {
    ctx.reply.Error(s);
  }
}

void CmdSwapDb(CommandContext& ctx) {
  int a, b;
  if (!ParseIntOrReply(ctx, ctx.arg(1), &a, "ERR invalid first DB index") ||
      !ParseIntOrReply(ctx, ctx.arg(2), &b, "ERR invalid second DB index")) {
    return;
  }
  Keyspace& ks = ctx.server.keyspace();
  if (a >= 0 && b >= 0 && a < ks.databases() && b < ks.databases() && a != b) {
    // Before the swap: the watchers compare what each database held with what replaces it.
    ctx.server.watches().TouchDb(ks, a, b);
    ctx.server.watches().TouchDb(ks, b, a);
  }
  Status s = OpSwapDb(ks, a, b);
  if (s != Status::kOk) {
    ctx.reply.Error(s);
    return;
  }
  CountChanges(ctx.server, 1);
  // Clients blocked in either database may now see lists where they waited.
  ctx.server.blocking().DatabaseReady(a);
  ctx.server.blocking().DatabaseReady(b);
  ctx.reply.Ok();
}

// OBJECT subcommands look the key up without touching it; an absent key answers null.
Entry* ObjectLookup(CommandContext& ctx, Db& db) {
  Entry* e = FindNoTouch(db, ctx.arg(2), true);
  if (e == nullptr) ctx.reply.Null();
  return e;
}

void CmdObjectEncoding(CommandContext& ctx) {
  Db db = ctx.db();
  if (Entry* e = ObjectLookup(ctx, db)) ctx.reply.Bulk(EntryEncoding(*e));
}

void CmdObjectRefCount(CommandContext& ctx) {
  Db db = ctx.db();
  Entry* e = ObjectLookup(ctx, db);
  if (e == nullptr) return;
  const EvictionConfig& config = ctx.server.keyspace().eviction_config();
  MaxMemoryPolicy policy = config.policy.load(std::memory_order_relaxed);
  // tryObjectEncoding shares small integers unless an eviction policy needs per-object
  // LRU/LFU data.
  bool shared =
      config.maxmemory.load(std::memory_order_relaxed) == 0 || !(IsLru(policy) || IsLfu(policy));
  ctx.reply.Integer(EntryRefCount(*e, shared));
}

void CmdObjectIdleTime(CommandContext& ctx) {
  Db db = ctx.db();
  Entry* e = ObjectLookup(ctx, db);
  if (e == nullptr) return;
  if (IsLfu(ctx.server.keyspace().eviction_config().policy.load(std::memory_order_relaxed))) {
    ctx.reply.Error(
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
        "switching between policies at runtime LRU and LFU data will take some time to adjust.");
    return;
  }
  ctx.reply.Integer(IdleSeconds(e->lru(), db.NowMs()));
}

void CmdObjectFreq(CommandContext& ctx) {
  Db db = ctx.db();
  Entry* e = ObjectLookup(ctx, db);
  if (e == nullptr) return;
  const EvictionConfig& config = ctx.server.keyspace().eviction_config();
  if (!IsLfu(config.policy.load(std::memory_order_relaxed))) {
    ctx.reply.Error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time "
        "to adjust.");
    return;
  }
  ctx.reply.Integer(
      LfuFrequency(e->lru(), db.NowMs(), config.lfu_decay_time.load(std::memory_order_relaxed)));
}

void CmdObjectHelp(CommandContext& ctx) {
  static constexpr const char* kHelp[] = {
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
      "HELP",
      "    Prints this help.",
  };
  ctx.reply.Array(std::size(kHelp));
  for (const char* line : kHelp) ctx.reply.SimpleString(line);
}

}  // namespace

void RegisterKeysFamily(Registry& registry) {
  // Flags, arities and key positions as in Redis 7.0's command table: the dispatcher locks
  // the shards of the keys these positions name.
  static constexpr CommandRow kCommands[] = {
      {"del", kWrite, -2, 1, -1, 1, CmdDel},
      {"unlink", kWrite | kFast, -2, 1, -1, 1, CmdDel},
      {"exists", kReadOnly | kFast, -2, 1, -1, 1, CmdExists},
      {"touch", kReadOnly | kFast, -2, 1, -1, 1, CmdTouch},
      {"expire", kWrite | kFast, -3, 1, 1, 1, CmdExpire},
      {"pexpire", kWrite | kFast, -3, 1, 1, 1, CmdPExpire},
      {"expireat", kWrite | kFast, -3, 1, 1, 1, CmdExpireAt},
      {"pexpireat", kWrite | kFast, -3, 1, 1, 1, CmdPExpireAt},
      {"expiretime", kReadOnly | kFast, 2, 1, 1, 1, CmdExpireTime},
      {"pexpiretime", kReadOnly | kFast, 2, 1, 1, 1, CmdPExpireTime},
      {"ttl", kReadOnly | kFast, 2, 1, 1, 1, CmdTtl},
      {"pttl", kReadOnly | kFast, 2, 1, 1, 1, CmdPTtl},
      {"persist", kWrite | kFast, 2, 1, 1, 1, CmdPersist},
      {"type", kReadOnly | kFast, 2, 1, 1, 1, CmdType},
      {"keys", kReadOnly | kAllShards, 2, 0, 0, 0, CmdKeys},
      {"scan", kReadOnly | kAllShards, -2, 0, 0, 0, CmdScan},
      {"randomkey", kReadOnly | kAllShards, 1, 0, 0, 0, CmdRandomKey},
      {"rename", kWrite, 3, 1, 2, 1, CmdRename},
      {"renamenx", kWrite | kFast, 3, 1, 2, 1, CmdRenameNx},
      {"copy", kWrite | kDenyOom, -3, 1, 2, 1, CmdCopy},
      // MOVE needs only its key's shard: a shard holds the key's slot in every database.
      {"move", kWrite | kFast, 3, 1, 1, 1, CmdMove},
      {"swapdb", kWrite | kFast | kAllShards, 3, 0, 0, 0, CmdSwapDb},
  };
  registry.AddAll(kCommands);
  registry.Add({
      .name = "object",
      .arity = -2,
      .subcommands =
          {
              {.name = "object|encoding",
               .flags = kReadOnly,
               .arity = 3,
               .first_key = 2,
               .last_key = 2,
               .key_step = 1,
               .handler = CmdObjectEncoding},
              {.name = "object|freq",
               .flags = kReadOnly,
               .arity = 3,
               .first_key = 2,
               .last_key = 2,
               .key_step = 1,
               .handler = CmdObjectFreq},
              {.name = "object|idletime",
               .flags = kReadOnly,
               .arity = 3,
               .first_key = 2,
               .last_key = 2,
               .key_step = 1,
               .handler = CmdObjectIdleTime},
              {.name = "object|refcount",
               .flags = kReadOnly,
               .arity = 3,
               .first_key = 2,
               .last_key = 2,
               .key_step = 1,
               .handler = CmdObjectRefCount},
              {.name = "object|help",
               .flags = kLoading | kStale,
               .arity = 2,
               .handler = CmdObjectHelp},
          },
  });
}

}  // namespace rowcached::server
