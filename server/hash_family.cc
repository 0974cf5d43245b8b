// Hash commands: HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS
// HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN. Redis 7.0 semantics, replies and error texts (checked
// against redis-server 7.0.15). Cmd functions parse and reply; the key-local work is in the Op
// functions of hash_ops.h, on the HashObject of hash_object.h.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "server/hash_ops.h"
#include "server/notify.h"
#include "server/scan_command.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {

// ---------------------------------------------------------------------------------------------
// Ops

HashResult<HashObject*> FindHash(Db& db, std::string_view key, bool count_stats) {
  HashResult<HashObject*> r;
  Entry* e = db.FindTyped(key, ValueType::kHash, &r.status, count_stats);
  if (e != nullptr) r.value = static_cast<HashObject*>(e->object());
  return r;
}

HashResult<int64_t> OpHSet(Db& db, std::string_view key,
                           const std::vector<std::string_view>& field_values) {
  HashResult<int64_t> r;
  HashObject* h = db.FindOrCreate<HashObject>(key, ValueType::kHash, &r.status);
  if (h == nullptr) return r;
  for (size_t i = 0; i + 1 < field_values.size(); i += 2) {
    if (h->Set(field_values[i], field_values[i + 1])) ++r.value;
  }
  return r;
}

HashResult<bool> OpHSetNx(Db& db, std::string_view key, std::string_view field,
                          std::string_view value) {
  HashResult<bool> r;
  // Looked up first so that an existing field creates nothing; an absent key cannot hold it.
  HashResult<HashObject*> found = FindHash(db, key, false);
  if (!found.ok()) return {found.status, false};
  if (found.value != nullptr && found.value->Find(field) != nullptr) return r;
  HashObject* h = db.FindOrCreate<HashObject>(key, ValueType::kHash, &r.status);
  r.value = h->Set(field, value);
  return r;
}

HashResult<std::optional<std::string_view>> OpHGet(Db& db, std::string_view key,
                                                   std::string_view field) {
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, std::nullopt};
  const std::string* v = found.value->Find(field);
  if (v == nullptr) return {Status::kOk, std::nullopt};
  return {Status::kOk, std::string_view(*v)};
}

HashResult<std::vector<std::optional<std::string_view>>> OpHMGet(
    Db& db, std::string_view key, const std::vector<std::string_view>& fields) {
  HashResult<std::vector<std::optional<std::string_view>>> r;
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok()) return {found.status, {}};
  r.value.reserve(fields.size());
  for (std::string_view f : fields) {
    const std::string* v = found.value == nullptr ? nullptr : found.value->Find(f);
    r.value.push_back(v == nullptr ? std::nullopt : std::optional<std::string_view>(*v));
  }
  return r;
}

HashResult<std::vector<FieldValue>> OpHGetAll(Db& db, std::string_view key) {
  HashResult<std::vector<FieldValue>> r;
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  r.value.reserve(found.value->size());
  found.value->ForEach([&](std::string_view f, std::string_view v) { r.value.push_back({f, v}); });
  return r;
}

HashResult<int64_t> OpHDel(Db& db, std::string_view key,
                           const std::vector<std::string_view>& fields) {
  HashResult<int64_t> r;
  HashResult<HashObject*> found = FindHash(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  for (std::string_view f : fields) {
    if (found.value->Erase(f)) ++r.value;
    if (found.value->empty()) {
      // Redis removes an empty hash at once (and stops looking at the remaining fields).
      (void)db.Delete(key);
      break;
    }
  }
  return r;
}

HashResult<bool> OpHExists(Db& db, std::string_view key, std::string_view field) {
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, false};
  return {Status::kOk, found.value->Find(field) != nullptr};
}

HashResult<int64_t> OpHLen(Db& db, std::string_view key) {
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  return {Status::kOk, static_cast<int64_t>(found.value->size())};
}

HashResult<int64_t> OpHStrLen(Db& db, std::string_view key, std::string_view field) {
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  const std::string* v = found.value->Find(field);
  return {Status::kOk, v == nullptr ? 0 : static_cast<int64_t>(v->size())};
}

HashResult<int64_t> OpHIncrBy(Db& db, std::string_view key, std::string_view field, int64_t delta) {
  HashResult<int64_t> r;
  HashObject* h = db.FindOrCreate<HashObject>(key, ValueType::kHash, &r.status);
  if (h == nullptr) return r;
  int64_t current = 0;
  if (const std::string* v = h->Find(field); v != nullptr && !ParseInt64(*v, &current)) {
    return {Status::kNotInteger, 0};
  }
  // The key may have just been created empty: an error below cannot happen for it (0 + delta
  // fits), so no empty hash is left behind.
  if ((delta < 0 && current < 0 && delta < INT64_MIN - current) ||
      (delta > 0 && current > 0 && delta > INT64_MAX - current)) {
    return {Status::kOverflow, 0};
  }
  r.value = current + delta;
  h->Set(field, Int64ToString(r.value));
  return r;
}

HashResult<std::string> OpHIncrByFloat(Db& db, std::string_view key, std::string_view field,
                                       long double delta) {
  HashResult<std::string> r;
  HashObject* h = db.FindOrCreate<HashObject>(key, ValueType::kHash, &r.status);
  if (h == nullptr) return r;
  long double current = 0;
  if (const std::string* v = h->Find(field); v != nullptr && !ParseLongDouble(*v, &current)) {
    return {Status::kNotFloat, {}};
  }
  // As for HINCRBY, a fresh key cannot fail here: 0 + a finite delta is finite.
  long double sum = current + delta;
  if (std::isnan(sum) || std::isinf(sum)) return {Status::kNanOrInfinity, {}};
  r.value = FormatLongDouble(sum);
  h->Set(field, r.value);
  return r;
}

HashResult<std::vector<FieldValue>> OpHRandField(Db& db, std::string_view key, int64_t count) {
  HashResult<std::vector<FieldValue>> r;
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr || count == 0) return {found.status, {}};
  const HashObject& h = *found.value;
  std::mt19937_64& rng = db.RngOf(key);
  if (count < 0) {
    uint64_t n = static_cast<uint64_t>(-count);
    // Redis bounds -count only by LONG_MAX; reserve a sane amount and let the vector grow.
    r.value.reserve(std::min<uint64_t>(n, 1 << 16));
    for (uint64_t i = 0; i < n; ++i) r.value.push_back(h.Random(rng));
    return r;
  }
  if (static_cast<uint64_t>(count) >= h.size()) {
    r.value.reserve(h.size());
    h.ForEach([&](std::string_view f, std::string_view v) { r.value.push_back({f, v}); });
    return r;
  }
  r.value = h.RandomDistinct(static_cast<size_t>(count), rng);
  return r;
}

HashResult<std::optional<FieldValue>> OpHRandOne(Db& db, std::string_view key) {
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, std::nullopt};
  return {Status::kOk, found.value->Random(db.RngOf(key))};
}

HashScanPage ScanHash(const HashObject& h, uint64_t cursor, size_t count,
                      std::string_view pattern) {
  HashScanPage page;
  bool all = pattern.empty() || pattern == "*";
  auto collect = [&](std::string_view f, std::string_view v) {
    if (all || GlobMatch(pattern, f)) page.fields.push_back({f, v});
  };
  if (h.listpack()) {
    h.ForEach(collect);
    return page;
  }
  // Redis' loop: stop at `count` reply items collected before filtering (two per field), or
  // after 10 * count more buckets, whichever comes first.
  size_t collected = 0;
  auto counting = [&](std::string_view f, std::string_view v) {
    collected += 2;
    collect(f, v);
  };
  uint64_t max_steps = static_cast<uint64_t>(count) * 10;
  do {
    cursor = h.ScanStep(cursor, counting);
  } while (cursor != 0 && max_steps-- > 0 && collected < count);
  page.cursor = cursor;
  return page;
}

HashResult<HashScanPage> OpHScan(Db& db, std::string_view key, uint64_t cursor, size_t count,
                                 std::string_view pattern) {
  HashResult<HashObject*> found = FindHash(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  return {Status::kOk, ScanHash(*found.value, cursor, count, pattern)};
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

// The error line for a hash Op's status: the value errors have hash-specific texts in Redis.
void ReplyHashError(CommandContext& ctx, Status s) {
  switch (s) {
    case Status::kNotInteger:
      ctx.reply.Error("ERR hash value is not an integer");
      return;
    case Status::kNotFloat:
      ctx.reply.Error("ERR hash value is not a float");
      return;
    default:
      ctx.reply.Error(s);
  }
}

void ReplyArity(CommandContext& ctx) {
  ctx.reply.Error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
}

std::vector<std::string_view> ArgsFrom(CommandContext& ctx, size_t first) {
  return std::vector<std::string_view>(ctx.args.begin() + static_cast<ptrdiff_t>(first),
                                       ctx.args.end());
}

// HSET key field value [field value ...] (replies the number of new fields) and HMSET (OK).
void HSetGeneric(CommandContext& ctx, bool reply_ok) {
  if (ctx.argc() % 2 != 0) {
    ReplyArity(ctx);
    return;
  }
  Db db = ctx.db();
  HashResult<int64_t> r = OpHSet(db, ctx.arg(1), ArgsFrom(ctx, 2));
  if (r.ok()) KeyChanged(ctx, kNotifyHash, "hset", ctx.arg(1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
  } else if (reply_ok) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Integer(r.value);
  }
}

void CmdHSet(CommandContext& ctx) { HSetGeneric(ctx, false); }
void CmdHMSet(CommandContext& ctx) { HSetGeneric(ctx, true); }

void CmdHSetNx(CommandContext& ctx) {
  Db db = ctx.db();
  HashResult<bool> r = OpHSetNx(db, ctx.arg(1), ctx.arg(2), ctx.arg(3));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (r.value) KeyChanged(ctx, kNotifyHash, "hset", ctx.arg(1));
  ctx.reply.Integer(r.value ? 1 : 0);
}

void CmdHGet(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpHGet(db, ctx.arg(1), ctx.arg(2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
  } else if (r.value) {
    ctx.reply.Bulk(*r.value);
  } else {
    ctx.reply.Null();
  }
}

void CmdHMGet(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpHMGet(db, ctx.arg(1), ArgsFrom(ctx, 2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Array(r.value.size());
  for (const auto& v : r.value) {
    if (v) {
      ctx.reply.Bulk(*v);
    } else {
      ctx.reply.Null();
    }
  }
}

// HGETALL (a map in RESP3), HKEYS and HVALS (arrays).
enum class GetAllPart { kBoth, kFields, kValues };

void GetAllGeneric(CommandContext& ctx, GetAllPart part) {
  Db db = ctx.db();
  auto r = OpHGetAll(db, ctx.arg(1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (part == GetAllPart::kBoth) {
    ctx.reply.Map(r.value.size());
  } else {
    ctx.reply.Array(r.value.size());
  }
  for (const FieldValue& fv : r.value) {
    if (part != GetAllPart::kValues) ctx.reply.Bulk(fv.field);
    if (part != GetAllPart::kFields) ctx.reply.Bulk(fv.value);
  }
}

void CmdHGetAll(CommandContext& ctx) { GetAllGeneric(ctx, GetAllPart::kBoth); }
void CmdHKeys(CommandContext& ctx) { GetAllGeneric(ctx, GetAllPart::kFields); }
void CmdHVals(CommandContext& ctx) { GetAllGeneric(ctx, GetAllPart::kValues); }

void CmdHDel(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpHDel(db, ctx.arg(1), ArgsFrom(ctx, 2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (r.value > 0) {
    KeyChanged(ctx, kNotifyHash, "hdel", ctx.arg(1));
    // The last field gone: the hash is gone too.
    if (db.Find(ctx.arg(1), false, /*touch=*/false) == nullptr) {
      NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", ctx.arg(1));
    }
  }
  ctx.reply.Integer(r.value);
}

void CmdHExists(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpHExists(db, ctx.arg(1), ctx.arg(2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value ? 1 : 0);
}

void CmdHLen(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpHLen(db, ctx.arg(1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value);
}

void CmdHStrLen(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpHStrLen(db, ctx.arg(1), ctx.arg(2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value);
}

void CmdHIncrBy(CommandContext& ctx) {
  // The increment is checked before the key, as in Redis.
  int64_t delta;
  if (!ParseInt64(ctx.arg(3), &delta)) {
    ctx.reply.Error(Status::kNotInteger);
    return;
  }
  Db db = ctx.db();
  auto r = OpHIncrBy(db, ctx.arg(1), ctx.arg(2), delta);
  if (!r.ok()) {
    ReplyHashError(ctx, r.status);
    return;
  }
  KeyChanged(ctx, kNotifyHash, "hincrby", ctx.arg(1));
  ctx.reply.Integer(r.value);
}

void CmdHIncrByFloat(CommandContext& ctx) {
  long double delta;
  if (!ParseLongDouble(ctx.arg(3), &delta)) {
    ctx.reply.Error(Status::kNotFloat);
    return;
  }
  if (std::isinf(delta)) {  // NaN never parses
    ctx.reply.Error("ERR value is NaN or Infinity");
    return;
  }
  Db db = ctx.db();
  auto r = OpHIncrByFloat(db, ctx.arg(1), ctx.arg(2), delta);
  if (!r.ok()) {
    ReplyHashError(ctx, r.status);
    return;
  }
  KeyChanged(ctx, kNotifyHash, "hincrbyfloat", ctx.arg(1));
  // The result, not the increment: float arithmetic need not give the same digits at replay.
  if (ctx.logging()) {
    ctx.PropagateAs({"HSET", std::string(ctx.arg(1)), std::string(ctx.arg(2)), r.value});
  }
  ctx.reply.Bulk(r.value);
}

void CmdHRandField(CommandContext& ctx) {
  Db db = ctx.db();
  if (ctx.argc() == 2) {
    auto r = OpHRandOne(db, ctx.arg(1));
    if (!r.ok()) {
      ctx.reply.Error(r.status);
    } else if (r.value) {
      ctx.reply.Bulk(r.value->field);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  int64_t count;
  bool with_values;
  if (std::string_view error = ParseRandomCount(ctx.args, "withvalues", &count, &with_values);
      !error.empty()) {
    ctx.reply.Error(error);
    return;
  }
  auto r = OpHRandField(db, ctx.arg(1), count);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  // RESP3 pairs each field with its value in a two-element array; RESP2 flattens them.
  bool pairs = with_values && ctx.reply.resp3();
  ctx.reply.Array(with_values && !pairs ? r.value.size() * 2 : r.value.size());
  for (const FieldValue& fv : r.value) {
    if (pairs) ctx.reply.Array(2);
    ctx.reply.Bulk(fv.field);
    if (with_values) ctx.reply.Bulk(fv.value);
  }
}

void CmdHScan(CommandContext& ctx) {
  ElementScanCommand(
      ctx, [](Db& db, std::string_view key) { return FindHash(db, key, true); },
      [](const HashObject& hash, uint64_t cursor, size_t count, std::string_view pattern,
         std::vector<std::string>* items) {
        HashScanPage page = ScanHash(hash, cursor, count, pattern);
        for (const FieldValue& fv : page.fields) {
          items->emplace_back(fv.field);
          items->emplace_back(fv.value);
        }
        return page.cursor;
      });
}

}  // namespace

void RegisterHashFamily(Registry& registry) {
  // Flags, arities and key positions as in Redis 7.0's command table (every hash command names
  // one key, at position 1): the dispatcher locks that key's shard, and the middleware's
  // KeyInterceptor finds table keys by these positions.
  static constexpr CommandRow kCommands[] = {
      {"hset", kWrite | kDenyOom | kFast, -4, 1, 1, 1, CmdHSet},
      {"hsetnx", kWrite | kDenyOom | kFast, 4, 1, 1, 1, CmdHSetNx},
      {"hget", kReadOnly | kFast, 3, 1, 1, 1, CmdHGet},
      {"hmget", kReadOnly | kFast, -3, 1, 1, 1, CmdHMGet},
      {"hmset", kWrite | kDenyOom | kFast, -4, 1, 1, 1, CmdHMSet},
      {"hgetall", kReadOnly, 2, 1, 1, 1, CmdHGetAll},
      {"hdel", kWrite | kFast, -3, 1, 1, 1, CmdHDel},
      {"hexists", kReadOnly | kFast, 3, 1, 1, 1, CmdHExists},
      {"hlen", kReadOnly | kFast, 2, 1, 1, 1, CmdHLen},
      {"hstrlen", kReadOnly | kFast, 3, 1, 1, 1, CmdHStrLen},
      {"hkeys", kReadOnly, 2, 1, 1, 1, CmdHKeys},
      {"hvals", kReadOnly, 2, 1, 1, 1, CmdHVals},
      {"hincrby", kWrite | kDenyOom | kFast, 4, 1, 1, 1, CmdHIncrBy},
      {"hincrbyfloat", kWrite | kDenyOom | kFast, 4, 1, 1, 1, CmdHIncrByFloat},
      {"hrandfield", kReadOnly, -2, 1, 1, 1, CmdHRandField},
      {"hscan", kReadOnly, -3, 1, 1, 1, CmdHScan},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
