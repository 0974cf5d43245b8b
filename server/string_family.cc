// String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR
// INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR SETRANGE LCS, with Redis 7.0's
// semantics, replies and error texts. Cmd functions parse and reply; the key-local work is in
// the Op functions declared in string_ops.h.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>

#include "server/notify.h"
#include "server/reply.h"
#include "server/server_context.h"
#include "server/string_ops.h"
#include "server/util.h"

namespace rowcached::server {

// ---------------------------------------------------------------------------------------------
// Ops

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// The heap string of a non-inline string entry, to grow in place (APPEND, SETRANGE) so that
// repeated appends stay amortised O(1) per byte. REQUIRES: e->type() == kString.
std::string* MutableHeapString(Entry* e) {
  if (e->inline_string()) return nullptr;
  return &static_cast<StringObject*>(e->object())->value;
}

// Redis' checkStringLength: size + extra must stay within max_len (and not overflow).
bool FitsMaxLen(int64_t size, int64_t extra, int64_t max_len) {
  return extra <= max_len && size <= max_len - extra;
}

}  // namespace

OpResult<std::optional<std::string_view>> OpGet(Db& db, std::string_view key) {
  OpResult<std::optional<std::string_view>> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
  if (e != nullptr) r.value = e->str();
  return r;
}

std::vector<std::optional<std::string_view>> OpMGet(Db& db,
                                                    const std::vector<std::string_view>& keys) {
  std::vector<std::optional<std::string_view>> values(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    Entry* e = db.Find(keys[i], /*count_stats=*/true);
    if (e != nullptr && e->type() == ValueType::kString) values[i] = e->str();
  }
  return values;
}

OpResult<SetOutcome> OpSet(Db& db, std::string_view key, std::string_view value,
                           const SetParams& params) {
  OpResult<SetOutcome> r;
  bool found = false;
  if (params.get_old) {
    Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
    if (!r.ok()) return r;
    if (e != nullptr) {
      r.value.old_value.emplace(e->str());
      found = true;
    }
  } else if (params.when != SetParams::When::kAlways) {
    found = db.Find(key) != nullptr;
  }
  if ((params.when == SetParams::When::kIfAbsent && found) ||
      (params.when == SetParams::When::kIfPresent && !found)) {
    return r;
  }
  Entry* e = db.SetString(key, value, params.keep_ttl);
  if (params.expire_at_ms >= 0) db.SetExpireAt(e, params.expire_at_ms);
  r.value.applied = true;
  return r;
}

OpResult<std::optional<std::string>> OpGetDel(Db& db, std::string_view key) {
  OpResult<std::optional<std::string>> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
  if (e == nullptr) return r;
  r.value.emplace(e->str());
  db.Delete(key);
  return r;
}

OpResult<std::optional<std::string>> OpGetEx(Db& db, std::string_view key,
                                             const GetExParams& params, const char** event) {
  OpResult<std::optional<std::string>> r;
  const char* change = nullptr;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
  if (e == nullptr) return r;
  r.value.emplace(e->str());
  switch (params.ttl) {
    case GetExParams::Ttl::kKeep:
      break;
    case GetExParams::Ttl::kPersist:
      if (db.ExpireAt(e) >= 0) change = "persist";
      db.Persist(e);
      break;
    case GetExParams::Ttl::kExpireAt:
      // EXAT/PXAT in the past delete at once, as Redis' checkAlreadyExpired.
      if (db.keyspace().AlreadyExpired(params.expire_at_ms)) {
        db.Delete(key);
        change = "del";
      } else {
        db.SetExpireAt(e, params.expire_at_ms);
        change = "expire";
      }
      break;
  }
  if (event != nullptr) *event = change;
  return r;
}

void OpMSet(Db& db, const std::vector<std::string_view>& kv) {
  for (size_t i = 0; i + 1 < kv.size(); i += 2) db.SetString(kv[i], kv[i + 1], false);
}

bool OpMSetNx(Db& db, const std::vector<std::string_view>& kv) {
  for (size_t i = 0; i + 1 < kv.size(); i += 2) {
    if (db.Find(kv[i]) != nullptr) return false;
  }
  OpMSet(db, kv);
  return true;
}

OpResult<int64_t> OpIncrBy(Db& db, std::string_view key, int64_t delta) {
  OpResult<int64_t> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status);
  if (!r.ok()) return r;
  int64_t value = 0;
  if (e != nullptr && !ParseInt64(e->str(), &value)) {
    r.status = Status::kNotInteger;
    return r;
  }
  if ((delta < 0 && value < 0 && delta < kInt64Min - value) ||
      (delta > 0 && value > 0 && delta > kInt64Max - value)) {
    r.status = Status::kOverflow;
    return r;
  }
  r.value = value + delta;
  db.SetString(key, Int64ToString(r.value), /*keep_ttl=*/true);
  return r;
}

bool ParseIncrFloat(std::string_view s, long double* out) { return ParseLongDouble(s, out); }

OpResult<std::string> OpIncrByFloat(Db& db, std::string_view key, std::string_view increment) {
  OpResult<std::string> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status);
  if (!r.ok()) return r;
  long double value = 0;
  long double incr = 0;
  if ((e != nullptr && !ParseIncrFloat(e->str(), &value)) || !ParseIncrFloat(increment, &incr)) {
    r.status = Status::kNotFloat;
    return r;
  }
  value += incr;
  if (std::isnan(value) || std::isinf(value)) {
    r.status = Status::kNanOrInfinity;
    return r;
  }
  r.value = FormatLongDouble(value);
  db.SetString(key, r.value, /*keep_ttl=*/true);
  return r;
}

OpResult<int64_t> OpAppend(Db& db, std::string_view key, std::string_view suffix, int64_t max_len) {
  OpResult<int64_t> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status);
  if (!r.ok()) return r;
  if (e == nullptr) {
    // Redis adds the argument as is: it already passed the protocol's bulk length limit.
    db.SetString(key, suffix, false);
    r.value = static_cast<int64_t>(suffix.size());
    return r;
  }
  std::string_view old = e->str();
  if (!FitsMaxLen(static_cast<int64_t>(old.size()), static_cast<int64_t>(suffix.size()), max_len)) {
    r.status = Status::kStringTooLong;
    return r;
  }
  if (std::string* heap = MutableHeapString(e)) {
    heap->append(suffix);
    r.value = static_cast<int64_t>(heap->size());
    return r;
  }
  std::string grown;
  grown.reserve(old.size() + suffix.size());
  grown.append(old).append(suffix);
  db.SetString(key, grown, /*keep_ttl=*/true);
  r.value = static_cast<int64_t>(grown.size());
  return r;
}

OpResult<int64_t> OpSetRange(Db& db, std::string_view key, int64_t offset, std::string_view value,
                             int64_t max_len) {
  OpResult<int64_t> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status);
  if (!r.ok()) return r;
  int64_t old_len = e != nullptr ? static_cast<int64_t>(e->str().size()) : 0;
  if (value.empty()) {
    r.value = old_len;
    return r;
  }
  if (!FitsMaxLen(offset, static_cast<int64_t>(value.size()), max_len)) {
    r.status = Status::kStringTooLong;
    return r;
  }
  size_t end = static_cast<size_t>(offset) + value.size();
  if (e != nullptr) {
    if (std::string* heap = MutableHeapString(e)) {
      if (heap->size() < end) heap->resize(end, '\0');
      std::memcpy(heap->data() + offset, value.data(), value.size());
      r.value = static_cast<int64_t>(heap->size());
      return r;
    }
  }
  std::string s(e != nullptr ? e->str() : std::string_view());
  if (s.size() < end) s.resize(end, '\0');
  std::memcpy(s.data() + offset, value.data(), value.size());
  db.SetString(key, s, /*keep_ttl=*/true);
  r.value = static_cast<int64_t>(s.size());
  return r;
}

OpResult<int64_t> OpStrLen(Db& db, std::string_view key) {
  OpResult<int64_t> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
  if (e != nullptr) r.value = static_cast<int64_t>(e->str().size());
  return r;
}

std::string_view StringRange(std::string_view s, int64_t start, int64_t end) {
  // Redis' getrangeCommand arithmetic. Adding a non-negative length to a negative index cannot
  // overflow.
  const int64_t len = static_cast<int64_t>(s.size());
  if (start < 0 && end < 0 && start > end) return {};
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return {};
  return s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1));
}

OpResult<std::string_view> OpGetRange(Db& db, std::string_view key, int64_t start, int64_t end) {
  OpResult<std::string_view> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
  if (e != nullptr) r.value = StringRange(e->str(), start, end);
  return r;
}

OpResult<std::pair<std::string_view, std::string_view>> OpLcsInputs(Db& db, std::string_view a,
                                                                    std::string_view b) {
  OpResult<std::pair<std::string_view, std::string_view>> r;
  Entry* ea = db.Find(a, /*count_stats=*/true);
  Entry* eb = db.Find(b, /*count_stats=*/true);
  if ((ea != nullptr && ea->type() != ValueType::kString) ||
      (eb != nullptr && eb->type() != ValueType::kString)) {
    r.status = Status::kWrongType;
    return r;
  }
  if (ea != nullptr) r.value.first = ea->str();
  if (eb != nullptr) r.value.second = eb->str();
  return r;
}

bool ComputeLcs(std::string_view a, std::string_view b, bool want_string, bool want_matches,
                int64_t min_match_len, LcsResult* out) {
  const uint32_t alen = static_cast<uint32_t>(a.size());
  const uint32_t blen = static_cast<uint32_t>(b.size());
  const size_t cells = static_cast<size_t>(alen + 1) * (blen + 1);
  std::unique_ptr<uint32_t[]> table(new (std::nothrow) uint32_t[cells]);
  if (table == nullptr) return false;
  // LCS(i, j) = length of the LCS of a[0..i) and b[0..j).
  auto at = [&](uint32_t i, uint32_t j) -> uint32_t& {
    return table[j + static_cast<size_t>(i) * (blen + 1)];
  };
  for (uint32_t i = 0; i <= alen; ++i) {
    for (uint32_t j = 0; j <= blen; ++j) {
      if (i == 0 || j == 0) {
        at(i, j) = 0;
      } else if (a[i - 1] == b[j - 1]) {
        at(i, j) = at(i - 1, j - 1) + 1;
      } else {
        at(i, j) = std::max(at(i - 1, j), at(i, j - 1));
      }
    }
  }
  out->length = at(alen, blen);
  out->lcs.clear();
  out->matches.clear();
  if (!want_string && !want_matches) return true;

  // Backtrack from the end as Redis' lcsCommand does, collecting contiguous ranges.
  uint32_t idx = out->length;
  out->lcs.assign(idx, '\0');
  uint32_t i = alen, j = blen;
  uint32_t arange_start = alen;  // alen = no range open
  uint32_t arange_end = 0, brange_start = 0, brange_end = 0;
  while (i > 0 && j > 0) {
    bool emit_range = false;
    if (a[i - 1] == b[j - 1]) {
      out->lcs[idx - 1] = a[i - 1];
      if (arange_start == alen) {
        arange_start = i - 1;
        arange_end = i - 1;
        brange_start = j - 1;
        brange_end = j - 1;
      } else if (arange_start == i && brange_start == j) {
        --arange_start;
        --brange_start;
      } else {
        emit_range = true;
      }
      if (arange_start == 0 || brange_start == 0) emit_range = true;
      --idx;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (arange_start != alen) emit_range = true;
    }
    if (emit_range) {
      uint32_t match_len = arange_end - arange_start + 1;
      if (want_matches && (min_match_len == 0 || match_len >= min_match_len)) {
        out->matches.push_back({arange_start, arange_end, brange_start, brange_end, match_len});
      }
      arange_start = alen;
    }
  }
  if (!want_string) out->lcs.clear();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

// Options are compared as C strings, as Redis does: an argument with a NUL byte matches on the
// part before it.
std::string_view OptionName(std::string_view arg) { return arg.substr(0, arg.find('\0')); }

void ReplyOptionalBulk(ReplyBuilder& reply, const std::optional<std::string_view>& v) {
  if (v) {
    reply.Bulk(*v);
  } else {
    reply.Null();
  }
}

void ReplyOptionalBulk(ReplyBuilder& reply, const std::optional<std::string>& v) {
  if (v) {
    reply.Bulk(*v);
  } else {
    reply.Null();
  }
}

// Outcome of reading an expire argument. Not a Status: the "invalid expire time" text names the
// command, so it is formatted here (see ReplyExpireError).
enum class ExpireArg { kOk, kNotInteger, kInvalid };

// Redis' getExpireMillisecondsOrReply: `arg` must be a positive integer in seconds
// (`seconds`) or milliseconds, relative to now (EX/PX, SETEX/PSETEX) or absolute (EXAT/PXAT);
// the resulting absolute time must be representable.
ExpireArg ParseExpireArg(std::string_view arg, bool seconds, bool relative, int64_t now_ms,
                         int64_t* at_ms) {
  int64_t v = 0;
  if (!ParseInt64(arg, &v)) return ExpireArg::kNotInteger;
  if (v <= 0 || (seconds && v > kInt64Max / 1000)) return ExpireArg::kInvalid;
  if (seconds) v *= 1000;
  if (relative) {
    if (now_ms > 0 && v > kInt64Max - now_ms) return ExpireArg::kInvalid;
    v += now_ms;
    if (v <= 0) return ExpireArg::kInvalid;
  }
  *at_ms = v;
  return ExpireArg::kOk;
}

void ReplyExpireError(CommandContext& ctx, ExpireArg err) {
  if (err == ExpireArg::kNotInteger) {
    ctx.reply.Error(Status::kNotInteger);
  } else {
    ctx.reply.Error("ERR invalid expire time in '" + ctx.spec.name + "' command");
  }
}

// Options shared by SET and GETEX, as Redis' parseExtendedStringArgumentsOrReply.
enum SetFlag : unsigned {
  kSetNx = 1u << 0,
  kSetXx = 1u << 1,
  kSetGet = 1u << 2,
  kSetKeepTtl = 1u << 3,
  kSetPersist = 1u << 4,
  kSetEx = 1u << 5,
  kSetPx = 1u << 6,
  kSetExAt = 1u << 7,
  kSetPxAt = 1u << 8,
};
constexpr unsigned kSetAnyExpire = kSetEx | kSetPx | kSetExAt | kSetPxAt;

struct ExtendedArgs {
  unsigned flags = 0;
  std::string_view expire;  // the EX/PX/EXAT/PXAT argument, when one of those flags is set
};

// Parses args[first..] of SET (for_set) or GETEX. Repeating an option is allowed (the last
// expire value wins); conflicting ones are a syntax error. Returns false on a syntax error.
bool ParseExtendedArgs(const CommandContext& ctx, size_t first, bool for_set, ExtendedArgs* out) {
  unsigned& f = out->flags;
  for (size_t j = first; j < ctx.argc(); ++j) {
    std::string_view opt = OptionName(ctx.arg(j));
    bool has_next = j + 1 < ctx.argc();
    if (for_set && EqualsIgnoreCase(opt, "nx") && !(f & kSetXx)) {
      f |= kSetNx;
    } else if (for_set && EqualsIgnoreCase(opt, "xx") && !(f & kSetNx)) {
      f |= kSetXx;
    } else if (for_set && EqualsIgnoreCase(opt, "get")) {
      f |= kSetGet;
    } else if (for_set && EqualsIgnoreCase(opt, "keepttl") &&
               !(f & (kSetPersist | kSetAnyExpire))) {
      f |= kSetKeepTtl;
    } else if (!for_set && EqualsIgnoreCase(opt, "persist") &&
               !(f & (kSetKeepTtl | kSetAnyExpire))) {
      f |= kSetPersist;
    } else if (has_next && EqualsIgnoreCase(opt, "ex") &&
               !(f & (kSetKeepTtl | kSetPersist | (kSetAnyExpire & ~kSetEx)))) {
      f |= kSetEx;
      out->expire = ctx.arg(++j);
    } else if (has_next && EqualsIgnoreCase(opt, "px") &&
               !(f & (kSetKeepTtl | kSetPersist | (kSetAnyExpire & ~kSetPx)))) {
      f |= kSetPx;
      out->expire = ctx.arg(++j);
    } else if (has_next && EqualsIgnoreCase(opt, "exat") &&
               !(f & (kSetKeepTtl | kSetPersist | (kSetAnyExpire & ~kSetExAt)))) {
      f |= kSetExAt;
      out->expire = ctx.arg(++j);
    } else if (has_next && EqualsIgnoreCase(opt, "pxat") &&
               !(f & (kSetKeepTtl | kSetPersist | (kSetAnyExpire & ~kSetPxAt)))) {
      f |= kSetPxAt;
      out->expire = ctx.arg(++j);
    } else {
      return false;
    }
  }
  return true;
}

// The absolute expiry named by parsed EX/PX/EXAT/PXAT flags.
ExpireArg ExtendedExpire(const ExtendedArgs& args, int64_t now_ms, int64_t* at_ms) {
  bool seconds = args.flags & (kSetEx | kSetExAt);
  bool relative = args.flags & (kSetEx | kSetPx);
  return ParseExpireArg(args.expire, seconds, relative, now_ms, at_ms);
}

void CmdGet(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpGet(db, ctx.arg(1));
  if (!r.ok()) return ctx.reply.Error(r.status);
  ReplyOptionalBulk(ctx.reply, r.value);
}

// What a SET that applied is logged as, as Redis 7.0: any expiry as SET key value PXAT
// <absolute ms> (replayed later, a relative one would be longer); GETSET and SET ... GET as the
// plain SET they amounted to (NX and XX held, so they can go).
void PropagateSet(CommandContext& ctx, std::string_view key, std::string_view value,
                  const SetParams& params) {
  if (params.expire_at_ms >= 0) {
    return ctx.PropagateAs(
        {"SET", std::string(key), std::string(value), "PXAT", Int64ToString(params.expire_at_ms)});
  }
  if (params.get_old) {
    std::vector<std::string> command = {"SET", std::string(key), std::string(value)};
    if (params.keep_ttl) command.emplace_back("KEEPTTL");
    ctx.PropagateAs(std::move(command));
  }
}

// SET and the commands Redis implements through setGenericCommand. `ok_reply` answers a
// completed write without GET; a refused one answers nil (SET) or 0 (SETNX).
void RunSet(CommandContext& ctx, std::string_view key, std::string_view value,
            const SetParams& params, bool integer_reply) {
  Db db = ctx.db();
  auto r = OpSet(db, key, value, params);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value.applied) {
    KeyChanged(ctx, kNotifyString, "set", key);
    if (params.expire_at_ms >= 0) NotifyKeyspaceEvent(ctx, kNotifyGeneric, "expire", key);
    if (ctx.logging()) PropagateSet(ctx, key, value, params);
  }
  if (params.get_old) return ReplyOptionalBulk(ctx.reply, r.value.old_value);
  if (integer_reply) return ctx.reply.Integer(r.value.applied ? 1 : 0);
  if (r.value.applied) return ctx.reply.Ok();
  ctx.reply.Null();
}

void CmdSet(CommandContext& ctx) {
  ExtendedArgs args;
  if (!ParseExtendedArgs(ctx, 3, /*for_set=*/true, &args)) return ctx.reply.Error(Status::kSyntax);
  SetParams params;
  if (args.flags & kSetNx) params.when = SetParams::When::kIfAbsent;
  if (args.flags & kSetXx) params.when = SetParams::When::kIfPresent;
  params.keep_ttl = args.flags & kSetKeepTtl;
  params.get_old = args.flags & kSetGet;
  if (args.flags & kSetAnyExpire) {
    ExpireArg e = ExtendedExpire(args, ctx.db().NowMs(), &params.expire_at_ms);
    if (e != ExpireArg::kOk) return ReplyExpireError(ctx, e);
  }
  RunSet(ctx, ctx.arg(1), ctx.arg(2), params, false);
}

void CmdSetNx(CommandContext& ctx) {
  RunSet(ctx, ctx.arg(1), ctx.arg(2), {.when = SetParams::When::kIfAbsent}, true);
}

// SETEX key seconds value / PSETEX key milliseconds value.
template <bool kSeconds>
void CmdSetEx(CommandContext& ctx) {
  SetParams params;
  ExpireArg e = ParseExpireArg(ctx.arg(2), kSeconds, /*relative=*/true, ctx.db().NowMs(),
                               &params.expire_at_ms);
  if (e != ExpireArg::kOk) return ReplyExpireError(ctx, e);
  RunSet(ctx, ctx.arg(1), ctx.arg(3), params, false);
}

void CmdGetSet(CommandContext& ctx) {
  RunSet(ctx, ctx.arg(1), ctx.arg(2), {.get_old = true}, false);
}

void CmdGetDel(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpGetDel(db, ctx.arg(1));
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value) {
    KeyChanged(ctx, kNotifyGeneric, "del", ctx.arg(1));
    if (ctx.logging()) ctx.PropagateAs({"DEL", std::string(ctx.arg(1))});
  }
  ReplyOptionalBulk(ctx.reply, r.value);
}

// A GETEX that changed the TTL is logged as what it did, as Redis 7.0: PEXPIREAT with the
// absolute time, PERSIST, or DEL for a time already past.
void PropagateGetEx(CommandContext& ctx, const GetExParams& params, std::string_view event) {
  std::string key(ctx.arg(1));
  if (event == "del") return ctx.PropagateAs({"DEL", std::move(key)});
  if (event == "persist") return ctx.PropagateAs({"PERSIST", std::move(key)});
  ctx.PropagateAs({"PEXPIREAT", std::move(key), Int64ToString(params.expire_at_ms)});
}

void CmdGetEx(CommandContext& ctx) {
  ExtendedArgs args;
  if (!ParseExtendedArgs(ctx, 2, /*for_set=*/false, &args)) {
    return ctx.reply.Error(Status::kSyntax);
  }
  Db db = ctx.db();
  GetExParams params;
  if (args.flags & kSetPersist) params.ttl = GetExParams::Ttl::kPersist;
  if (args.flags & kSetAnyExpire) {
    params.ttl = GetExParams::Ttl::kExpireAt;
    ExpireArg e = ExtendedExpire(args, db.NowMs(), &params.expire_at_ms);
    if (e != ExpireArg::kOk) {
      // Redis validates the expiry only after finding a string: an absent key answers nil and
      // a wrong type WRONGTYPE whatever the argument.
      auto r = OpGet(db, ctx.arg(1));
      if (!r.ok()) return ctx.reply.Error(r.status);
      if (!r.value) return ctx.reply.Null();
      return ReplyExpireError(ctx, e);
    }
  }
  const char* event = nullptr;
  auto r = OpGetEx(db, ctx.arg(1), params, &event);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (event != nullptr) {
    KeyChanged(ctx, kNotifyGeneric, event, ctx.arg(1));
    if (ctx.logging()) PropagateGetEx(ctx, params, event);
  }
  ReplyOptionalBulk(ctx.reply, r.value);
}

void CmdMGet(CommandContext& ctx) {
  Db db = ctx.db();
  std::vector<std::string_view> keys(ctx.args.begin() + 1, ctx.args.end());
  auto values = OpMGet(db, keys);
  ctx.reply.Array(values.size());
  for (const auto& v : values) ReplyOptionalBulk(ctx.reply, v);
}

// The arity check lets through MSET/MSETNX with a key but no value; Redis answers those with
// the arity error too.
bool CheckPairs(CommandContext& ctx) {
  if (ctx.argc() % 2 == 1) return true;
  ctx.reply.Error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
  return false;
}

// MSET and MSETNX: one "set" per key, as Redis' msetGenericCommand.
void NotifyEachSet(CommandContext& ctx) {
  for (size_t i = 1; i + 1 < ctx.argc(); i += 2) KeyChanged(ctx, kNotifyString, "set", ctx.arg(i));
}

void CmdMSet(CommandContext& ctx) {
  if (!CheckPairs(ctx)) return;
  Db db = ctx.db();
  OpMSet(db, std::vector<std::string_view>(ctx.args.begin() + 1, ctx.args.end()));
  NotifyEachSet(ctx);
  ctx.reply.Ok();
}

void CmdMSetNx(CommandContext& ctx) {
  if (!CheckPairs(ctx)) return;
  Db db = ctx.db();
  bool set = OpMSetNx(db, std::vector<std::string_view>(ctx.args.begin() + 1, ctx.args.end()));
  if (set) NotifyEachSet(ctx);
  ctx.reply.Integer(set ? 1 : 0);
}

void RunIncrBy(CommandContext& ctx, int64_t delta) {
  Db db = ctx.db();
  auto r = OpIncrBy(db, ctx.arg(1), delta);
  if (!r.ok()) return ctx.reply.Error(r.status);
  KeyChanged(ctx, kNotifyString, "incrby", ctx.arg(1));
  ctx.reply.Integer(r.value);
}

void CmdIncr(CommandContext& ctx) { RunIncrBy(ctx, 1); }
void CmdDecr(CommandContext& ctx) { RunIncrBy(ctx, -1); }

void CmdIncrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ParseInt64(ctx.arg(2), &delta)) return ctx.reply.Error(Status::kNotInteger);
  RunIncrBy(ctx, delta);
}

void CmdDecrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ParseInt64(ctx.arg(2), &delta)) return ctx.reply.Error(Status::kNotInteger);
  // Negating INT64_MIN overflows; Redis refuses it before looking at the key.
  if (delta == kInt64Min) return ctx.reply.Error("ERR decrement would overflow");
  RunIncrBy(ctx, -delta);
}

void CmdIncrByFloat(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpIncrByFloat(db, ctx.arg(1), ctx.arg(2));
  if (!r.ok()) return ctx.reply.Error(r.status);
  KeyChanged(ctx, kNotifyString, "incrbyfloat", ctx.arg(1));
  // The result, not the increment: float arithmetic need not give the same digits at replay.
  if (ctx.logging()) ctx.PropagateAs({"SET", std::string(ctx.arg(1)), r.value, "KEEPTTL"});
  ctx.reply.Bulk(r.value);
}

void CmdAppend(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpAppend(db, ctx.arg(1), ctx.arg(2), ctx.server.proto_max_bulk_len());
  if (!r.ok()) return ctx.reply.Error(r.status);
  KeyChanged(ctx, kNotifyString, "append", ctx.arg(1));
  ctx.reply.Integer(r.value);
}

void CmdStrLen(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpStrLen(db, ctx.arg(1));
  if (!r.ok()) return ctx.reply.Error(r.status);
  ctx.reply.Integer(r.value);
}

// GETRANGE and SUBSTR.
void CmdGetRange(CommandContext& ctx) {
  int64_t start = 0, end = 0;
  if (!ParseInt64(ctx.arg(2), &start) || !ParseInt64(ctx.arg(3), &end)) {
    return ctx.reply.Error(Status::kNotInteger);
  }
  Db db = ctx.db();
  auto r = OpGetRange(db, ctx.arg(1), start, end);
  if (!r.ok()) return ctx.reply.Error(r.status);
  ctx.reply.Bulk(r.value);
}

void CmdSetRange(CommandContext& ctx) {
  int64_t offset = 0;
  if (!ParseInt64(ctx.arg(2), &offset)) return ctx.reply.Error(Status::kNotInteger);
  if (offset < 0) return ctx.reply.Error(Status::kOffsetOutOfRange);
  Db db = ctx.db();
  auto r = OpSetRange(db, ctx.arg(1), offset, ctx.arg(3), ctx.server.proto_max_bulk_len());
  if (!r.ok()) return ctx.reply.Error(r.status);
  // An empty value changes nothing (and creates no key).
  if (!ctx.arg(3).empty()) KeyChanged(ctx, kNotifyString, "setrange", ctx.arg(1));
  ctx.reply.Integer(r.value);
}

void CmdLcs(CommandContext& ctx) {
  Db db = ctx.db();
  // Redis checks the types before it parses the options.
  auto in = OpLcsInputs(db, ctx.arg(1), ctx.arg(2));
  if (!in.ok()) return ctx.reply.Error("ERR The specified keys must contain string values");
  auto [a, b] = in.value;

  bool get_len = false, get_idx = false, with_match_len = false;
  int64_t min_match_len = 0;
  for (size_t j = 3; j < ctx.argc(); ++j) {
    std::string_view opt = OptionName(ctx.arg(j));
    if (EqualsIgnoreCase(opt, "idx")) {
      get_idx = true;
    } else if (EqualsIgnoreCase(opt, "len")) {
      get_len = true;
    } else if (EqualsIgnoreCase(opt, "withmatchlen")) {
      with_match_len = true;
    } else if (EqualsIgnoreCase(opt, "minmatchlen") && j + 1 < ctx.argc()) {
      if (!ParseInt64(ctx.arg(j + 1), &min_match_len)) {
        return ctx.reply.Error(Status::kNotInteger);
      }
      if (min_match_len < 0) min_match_len = 0;
      ++j;
    } else {
      return ctx.reply.Error(Status::kSyntax);
    }
  }
  if (get_idx && get_len) {
    return ctx.reply.Error("ERR If you want both the length and indexes, please just use IDX.");
  }
  constexpr size_t kMaxLcsInput = std::numeric_limits<uint32_t>::max() - 1;
  if (a.size() >= kMaxLcsInput || b.size() >= kMaxLcsInput) {
    return ctx.reply.Error("ERR String too long for LCS");
  }
  // The dynamic program's table is transient memory Redis bounds by proto-max-bulk-len.
  uint64_t table_bytes = (uint64_t{a.size()} + 1) * (uint64_t{b.size()} + 1) * sizeof(uint32_t);
  if (table_bytes > static_cast<uint64_t>(ctx.server.proto_max_bulk_len())) {
    return ctx.reply.Error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  LcsResult lcs;
  if (!ComputeLcs(a, b, /*want_string=*/get_idx || !get_len, /*want_matches=*/get_idx,
                  min_match_len, &lcs)) {
    return ctx.reply.Error("ERR Insufficient memory, failed allocating transient memory for LCS");
  }
  if (get_idx) {
    ctx.reply.Map(2);
    ctx.reply.Bulk("matches");
    ctx.reply.Array(lcs.matches.size());
    for (const LcsMatch& m : lcs.matches) {
      ctx.reply.Array(with_match_len ? 3 : 2);
      ctx.reply.Array(2);
      ctx.reply.Integer(m.a_start);
      ctx.reply.Integer(m.a_end);
      ctx.reply.Array(2);
      ctx.reply.Integer(m.b_start);
      ctx.reply.Integer(m.b_end);
      if (with_match_len) ctx.reply.Integer(m.length);
    }
    ctx.reply.Bulk("len");
    ctx.reply.Integer(lcs.length);
  } else if (get_len) {
    ctx.reply.Integer(lcs.length);
  } else {
    ctx.reply.Bulk(lcs.lcs);
  }
}

}  // namespace

// Flags, arities and key positions as Redis 7.0's command table (COMMAND INFO).
void RegisterStringFamily(Registry& registry) {
  constexpr uint32_t kWriteM = kWrite | kDenyOom;  // writes that may grow memory
  static constexpr CommandRow kCommands[] = {
      {"get", kReadOnly | kFast, 2, 1, 1, 1, CmdGet},
      {"set", kWriteM, -3, 1, 1, 1, CmdSet},
      {"setnx", kWriteM | kFast, 3, 1, 1, 1, CmdSetNx},
      {"setex", kWriteM, 4, 1, 1, 1, CmdSetEx<true>},
      {"psetex", kWriteM, 4, 1, 1, 1, CmdSetEx<false>},
      {"getset", kWriteM | kFast, 3, 1, 1, 1, CmdGetSet},
      {"getdel", kWrite | kFast, 2, 1, 1, 1, CmdGetDel},
      {"getex", kWrite | kFast, -2, 1, 1, 1, CmdGetEx},
      {"mget", kReadOnly | kFast, -2, 1, -1, 1, CmdMGet},
      {"mset", kWriteM, -3, 1, -1, 2, CmdMSet},
      {"msetnx", kWriteM, -3, 1, -1, 2, CmdMSetNx},
      {"incr", kWriteM | kFast, 2, 1, 1, 1, CmdIncr},
      {"decr", kWriteM | kFast, 2, 1, 1, 1, CmdDecr},
      {"incrby", kWriteM | kFast, 3, 1, 1, 1, CmdIncrBy},
      {"decrby", kWriteM | kFast, 3, 1, 1, 1, CmdDecrBy},
      {"incrbyfloat", kWriteM | kFast, 3, 1, 1, 1, CmdIncrByFloat},
      {"append", kWriteM | kFast, 3, 1, 1, 1, CmdAppend},
      {"strlen", kReadOnly | kFast, 2, 1, 1, 1, CmdStrLen},
      {"getrange", kReadOnly, 4, 1, 1, 1, CmdGetRange},
      {"substr", kReadOnly, 4, 1, 1, 1, CmdGetRange},
      {"setrange", kWriteM, 4, 1, 1, 1, CmdSetRange},
      {"lcs", kReadOnly, -3, 1, 2, 1, CmdLcs},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
