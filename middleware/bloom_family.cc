// BF.* commands. Texts and argument handling follow RedisBloom 2.x's rebloom.c; where this file
// deliberately differs, the comment at the spot says so.
#include "middleware/bloom_family.h"

#include <cstdint>
#include <string>

#include "server/util.h"

namespace rowcached::middleware {

using server::CommandContext;
using server::Db;
using server::Entry;
using server::Status;
using server::ValueType;

std::string_view BfErrorText(BfStatus status) {
  switch (status) {
    case BfStatus::kItemExists:
      return "ERR item exists";
    case BfStatus::kNotFound:
      return "ERR not found";
    case BfStatus::kWrongType:
      return server::ErrorText(Status::kWrongType);
    case BfStatus::kCannotCreate:
      return "ERR could not create filter";
    case BfStatus::kOk:
      break;
  }
  return "ERR internal error";
}

// ---------------------------------------------------------------------------------------------
// Ops

namespace {

// The filter at `key`, or nullptr with *status kOk (missing) or kWrongType. Reads count
// keyspace hits and misses; writes do not (Redis' lookupKeyWrite).
BloomObject* FindBloom(Db& db, std::string_view key, bool count_stats, BfStatus* status) {
  Status s = Status::kOk;
  Entry* e = db.FindTyped(key, ValueType::kBloom, &s, count_stats);
  *status = s == Status::kWrongType ? BfStatus::kWrongType : BfStatus::kOk;
  return e == nullptr ? nullptr : static_cast<BloomObject*>(e->object());
}

BloomObject* CreateBloom(Db& db, std::string_view key, const ScalableBloomOptions& options) {
  std::optional<ScalableBloom> bloom = ScalableBloom::Create(options);
  if (!bloom) return nullptr;
  Entry* e = db.SetObject(key, ValueType::kBloom, std::make_unique<BloomObject>(std::move(*bloom)));
  return static_cast<BloomObject*>(e->object());
}

}  // namespace

BfStatus OpBfReserve(Db& db, std::string_view key, const ScalableBloomOptions& options) {
  BfStatus status;
  if (FindBloom(db, key, false, &status) != nullptr) return BfStatus::kItemExists;
  if (status != BfStatus::kOk) return status;
  return CreateBloom(db, key, options) == nullptr ? BfStatus::kCannotCreate : BfStatus::kOk;
}

BfStatus OpBfAdd(Db& db, std::string_view key, std::span<const std::string_view> items,
                 std::vector<BloomAddResult>* results) {
  BfStatus status;
  BloomObject* bloom = FindBloom(db, key, false, &status);
  if (status != BfStatus::kOk) return status;
  if (bloom == nullptr) {
    bloom = CreateBloom(db, key, ScalableBloomOptions{});
    if (bloom == nullptr) return BfStatus::kCannotCreate;  // not reached with the defaults
  }
  for (std::string_view item : items) {
    BloomAddResult r = bloom->bloom().Add(item);
    results->push_back(r);
    if (r == BloomAddResult::kFull || r == BloomAddResult::kCannotGrow) break;
  }
  return BfStatus::kOk;
}

void OpBfExists(Db& db, std::string_view key, std::span<const std::string_view> items,
                std::vector<bool>* out) {
  BfStatus status;
  BloomObject* bloom = FindBloom(db, key, true, &status);
  for (std::string_view item : items) {
    out->push_back(bloom != nullptr && bloom->bloom().MightContain(item));
  }
}

BfStatus OpBfInfo(Db& db, std::string_view key, BloomInfo* info) {
  BfStatus status;
  BloomObject* obj = FindBloom(db, key, true, &status);
  if (status != BfStatus::kOk) return status;
  if (obj == nullptr) return BfStatus::kNotFound;
  const ScalableBloom& bloom = obj->bloom();
  info->capacity = bloom.capacity();
  info->size = bloom.InfoSize();
  info->filters = bloom.num_filters();
  info->items = bloom.items();
  if (bloom.options().scaling) {
    info->expansion = bloom.options().expansion;
  } else {
    info->expansion.reset();
  }
  return BfStatus::kOk;
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

void ReplyArity(CommandContext& ctx) {
  // RedisBloom checks its upper bounds itself; the lower ones are in the command table.
  ctx.reply.Error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
}

// RedisBloom's RMUtil_ArgIndex: the first argument equal to `name`, case-insensitively, or -1.
// Searches from `from` rather than from 0 as RedisBloom does, so a key or an error rate that
// happens to read "expansion" is not taken for the option.
int ArgIndex(const CommandContext& ctx, std::string_view name, size_t from) {
  for (size_t i = from; i < ctx.argc(); ++i) {
    if (server::EqualsIgnoreCase(ctx.arg(i), name)) return static_cast<int>(i);
  }
  return -1;
}

std::span<const std::string_view> Items(const CommandContext& ctx) {
  return std::span<const std::string_view>(ctx.args).subspan(2);
}

void ReplyAddResult(CommandContext& ctx, BloomAddResult r) {
  switch (r) {
    case BloomAddResult::kAdded:
      ctx.reply.Integer(1);
      return;
    case BloomAddResult::kExists:
      ctx.reply.Integer(0);
      return;
    case BloomAddResult::kFull:
      ctx.reply.Error("ERR non scaling filter is full");
      return;
    case BloomAddResult::kCannotGrow:
      // RedisBloom 2.x answers 1 here (a failed growth leaks out as "added"); an error is the
      // truthful reply, in its words for a filter it could not allocate.
      ctx.reply.Error("ERR could not create filter");
      return;
  }
}

// BF.RESERVE key error_rate capacity [EXPANSION expansion] [NONSCALING]
void CmdReserve(CommandContext& ctx) {
  if (ctx.argc() > 7) return ReplyArity(ctx);
  ScalableBloomOptions options;
  if (!server::ParseDouble(ctx.arg(2), &options.error_rate)) {
    return ctx.reply.Error("ERR bad error rate");
  }
  if (!(options.error_rate > 0 && options.error_rate < 1)) {
    // The trailing space is RedisBloom's.
    return ctx.reply.Error("ERR (0 < error rate range < 1) ");
  }
  int64_t capacity;
  if (!server::ParseInt64(ctx.arg(3), &capacity)) return ctx.reply.Error("ERR bad capacity");
  if (capacity <= 0) return ctx.reply.Error("ERR (capacity should be larger than 0)");
  options.capacity = static_cast<uint64_t>(capacity);

  options.scaling = ArgIndex(ctx, "NONSCALING", 4) == -1;
  int ex = ArgIndex(ctx, "EXPANSION", 4);
  if (ex + 1 == static_cast<int>(ctx.argc())) return ctx.reply.Error("ERR no expansion");
  if (ex != -1) {
    if (!options.scaling) {
      // RedisBloom replies this one without the ERR prefix.
      return ctx.reply.Error("Nonscaling filters cannot expand");
    }
    int64_t expansion;
    // RedisBloom 2.x accepts any integer here and misbehaves on < 1 (a zero-sized next filter);
    // out-of-range values get the same "bad expansion" as unparsable ones.
    if (!server::ParseInt64(ctx.arg(ex + 1), &expansion) || expansion < 1 ||
        expansion > UINT32_MAX) {
      return ctx.reply.Error("ERR bad expansion");
    }
    options.expansion = static_cast<uint32_t>(expansion);
  }
  // Other arguments are ignored, as RedisBloom ignores them.

  Db db = ctx.db();
  BfStatus status = OpBfReserve(db, ctx.arg(1), options);
  if (status != BfStatus::kOk) return ctx.reply.Error(BfErrorText(status));
  ctx.reply.Ok();
}

// BF.ADD key item
void CmdAdd(CommandContext& ctx) {
  Db db = ctx.db();
  std::vector<BloomAddResult> results;
  BfStatus status = OpBfAdd(db, ctx.arg(1), Items(ctx), &results);
  if (status != BfStatus::kOk) return ctx.reply.Error(BfErrorText(status));
  ReplyAddResult(ctx, results.front());
}

// BF.MADD key item [item ...]: one reply per item, ending early with the error of a full filter.
void CmdMAdd(CommandContext& ctx) {
  Db db = ctx.db();
  std::vector<BloomAddResult> results;
  BfStatus status = OpBfAdd(db, ctx.arg(1), Items(ctx), &results);
  if (status != BfStatus::kOk) return ctx.reply.Error(BfErrorText(status));
  ctx.reply.Array(results.size());
  for (BloomAddResult r : results) ReplyAddResult(ctx, r);
}

// BF.EXISTS key item
void CmdExists(CommandContext& ctx) {
  Db db = ctx.db();
  std::vector<bool> found;
  OpBfExists(db, ctx.arg(1), Items(ctx), &found);
  ctx.reply.Integer(found.front() ? 1 : 0);
}

// BF.MEXISTS key item [item ...]
void CmdMExists(CommandContext& ctx) {
  Db db = ctx.db();
  std::vector<bool> found;
  OpBfExists(db, ctx.arg(1), Items(ctx), &found);
  ctx.reply.Array(found.size());
  for (bool f : found) ctx.reply.Integer(f ? 1 : 0);
}

void ReplyExpansion(CommandContext& ctx, const BloomInfo& info) {
  if (info.expansion) {
    ctx.reply.Integer(*info.expansion);
  } else {
    ctx.reply.Null();
  }
}

// BF.INFO key [CAPACITY | SIZE | FILTERS | ITEMS | EXPANSION]
void CmdInfo(CommandContext& ctx) {
  if (ctx.argc() > 3) return ReplyArity(ctx);
  Db db = ctx.db();
  BloomInfo info;
  BfStatus status = OpBfInfo(db, ctx.arg(1), &info);
  if (status != BfStatus::kOk) return ctx.reply.Error(BfErrorText(status));

  if (ctx.argc() == 3) {
    // One field: a one-element array, as RedisBloom replies.
    std::string_view field = ctx.arg(2);
    auto one = [&ctx](uint64_t v) {
      ctx.reply.Array(1);
      ctx.reply.Integer(static_cast<int64_t>(v));
    };
    if (server::EqualsIgnoreCase(field, "capacity")) return one(info.capacity);
    if (server::EqualsIgnoreCase(field, "size")) return one(info.size);
    if (server::EqualsIgnoreCase(field, "filters")) return one(info.filters);
    if (server::EqualsIgnoreCase(field, "items")) return one(info.items);
    if (server::EqualsIgnoreCase(field, "expansion")) {
      ctx.reply.Array(1);
      return ReplyExpansion(ctx, info);
    }
    // RedisBloom replies this one without the ERR prefix.
    return ctx.reply.Error("Invalid information value");
  }

  // RESP2: the flat name/value array RedisBloom 2.x sends; RESP3: a map of the same pairs.
  ctx.reply.Map(5);
  ctx.reply.SimpleString("Capacity");
  ctx.reply.Integer(static_cast<int64_t>(info.capacity));
  ctx.reply.SimpleString("Size");
  ctx.reply.Integer(static_cast<int64_t>(info.size));
  ctx.reply.SimpleString("Number of filters");
  ctx.reply.Integer(static_cast<int64_t>(info.filters));
  ctx.reply.SimpleString("Number of items inserted");
  ctx.reply.Integer(static_cast<int64_t>(info.items));
  ctx.reply.SimpleString("Expansion rate");
  ReplyExpansion(ctx, info);
}

}  // namespace

void RegisterBloomFamily(server::Registry& registry) {
  // Arities: RedisBloom checks them in each command; the lower bounds go in the table, the upper
  // ones (BF.RESERVE 7, BF.INFO 3) in the Cmd functions.
  static constexpr server::CommandRow kCommands[] = {
      {"bf.reserve", server::kWrite | server::kDenyOom, -4, 1, 1, 1, CmdReserve},
      {"bf.add", server::kWrite | server::kDenyOom, 3, 1, 1, 1, CmdAdd},
      {"bf.madd", server::kWrite | server::kDenyOom, -3, 1, 1, 1, CmdMAdd},
      {"bf.exists", server::kReadOnly | server::kFast, 3, 1, 1, 1, CmdExists},
      {"bf.mexists", server::kReadOnly | server::kFast, -3, 1, 1, 1, CmdMExists},
      {"bf.info", server::kReadOnly | server::kFast, -2, 1, 1, 1, CmdInfo},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::middleware
