// HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG, with Redis 7.0's semantics, replies and
// error texts (checked against redis-server 7.0.15). Values are strings in Redis' own HLL
// representation (hyperloglog.h), byte for byte, so GET/SET/DUMP move them between servers.
// Cmd functions parse and reply; the key-local work is in the Op functions below.
#include <array>
#include <string>
#include <vector>

#include "server/hyperloglog.h"
#include "server/hyperloglog_ops.h"
#include "server/notify.h"
#include "server/server_context.h"
#include "server/writable_string.h"

namespace rowcached::server {

// ---------------------------------------------------------------------------------------------
// Ops

namespace {

// The HLL at `key` for a change: nullptr when absent; kInvalidHll / kWrongType otherwise.
std::string* FindHllForWrite(Db& db, std::string_view key, Status* status) {
  Entry* e = db.FindTyped(key, ValueType::kString, status);
  if (e == nullptr) return nullptr;
  if (!hll::IsHll(e->str())) {
    *status = Status::kInvalidHll;
    return nullptr;
  }
  return WritableString(db, e);
}

// Folds the HyperLogLog at `key` into `registers` (register-wise maximum); an absent key is an
// empty one. Counts the lookup (Redis' lookupKeyRead). *dense is set when the value is dense.
Status MergeKeyInto(Db& db, std::string_view key, uint8_t* registers, bool* dense) {
  Status status = Status::kOk;
  Entry* e = db.FindTyped(key, ValueType::kString, &status, /*count_stats=*/true);
  if (e == nullptr) return status;
  std::string_view value = e->str();
  if (!hll::IsHll(value)) return Status::kInvalidHll;
  if (hll::IsDense(value)) *dense = true;
  return hll::MergeRegisters(value, registers) ? Status::kOk : Status::kCorruptHll;
}

}  // namespace

OpResult<bool> OpPfAdd(Db& db, std::string_view key, const std::vector<std::string_view>& elements,
                       size_t sparse_max_bytes) {
  OpResult<bool> r;
  std::string* value = FindHllForWrite(db, key, &r.status);
  if (!r.ok()) return r;
  bool updated = false;
  if (value == nullptr) {
    value = NewWritableString(db, key, hll::NewHll());
    updated = true;
  }
  for (std::string_view element : elements) {
    const int changed = hll::Add(value, element, sparse_max_bytes);
    if (changed < 0) {
      // Registers already raised stay raised, as in Redis.
      r.status = Status::kCorruptHll;
      return r;
    }
    if (changed > 0) updated = true;
  }
  if (updated) hll::InvalidateCache(value);
  r.value = updated;
  return r;
}

OpResult<PfCountOutcome> OpPfCount(Db& db, const std::vector<std::string_view>& keys) {
  OpResult<PfCountOutcome> r;
  if (keys.size() == 1) {
    std::string* value = FindHllForWrite(db, keys[0], &r.status);
    if (value == nullptr) return r;
    if (hll::CachedCardinality(*value, &r.value.count)) return r;
    if (!hll::Estimate(*value, &r.value.count)) {
      r.status = Status::kCorruptHll;
      return r;
    }
    hll::SetCachedCardinality(value, r.value.count);
    r.value.cache_updated = true;
    return r;
  }
  // Several keys: the estimate of their union, from the register-wise maximum.
  std::vector<uint8_t> registers(hll::kRegisters, 0);
  bool dense = false;
  for (std::string_view key : keys) {
    r.status = MergeKeyInto(db, key, registers.data(), &dense);
    if (!r.ok()) return r;
  }
  r.value.count = hll::EstimateRegisters(registers.data());
  return r;
}

OpResult<bool> OpPfMerge(Db& db, std::string_view dest,
                         const std::vector<std::string_view>& sources, size_t sparse_max_bytes) {
  OpResult<bool> r;
  std::vector<uint8_t> registers(hll::kRegisters, 0);
  bool any_dense = false;
  // The destination's own registers are part of the union.
  std::vector<std::string_view> inputs = {dest};
  inputs.insert(inputs.end(), sources.begin(), sources.end());
  for (std::string_view key : inputs) {
    r.status = MergeKeyInto(db, key, registers.data(), &any_dense);
    if (!r.ok()) return r;
  }
  Entry* e = db.Find(dest);
  std::string* target =
      e != nullptr ? WritableString(db, e) : NewWritableString(db, dest, hll::NewHll());
  // The result is dense when any input was; otherwise it stays sparse while it fits.
  if (any_dense && !hll::ToDense(target)) {
    r.status = Status::kCorruptHll;
    return r;
  }
  for (int i = 0; i < hll::kRegisters; ++i) {
    if (registers[i] == 0) continue;
    (void)hll::SetRegister(target, i, registers[i], sparse_max_bytes);
  }
  hll::InvalidateCache(target);
  r.value = true;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

size_t SparseMaxBytes(const CommandContext& ctx) {
  return static_cast<size_t>(ctx.server.hll_sparse_max_bytes());
}

void CmdPfAdd(CommandContext& ctx) {
  Db db = ctx.db();
  std::string_view key = ctx.arg(1);
  auto r = OpPfAdd(db, key, std::vector<std::string_view>(ctx.args.begin() + 2, ctx.args.end()),
                   SparseMaxBytes(ctx));
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value) {
    KeyModified(ctx, key);
    NotifyKeyspaceEvent(ctx, kNotifyString, "pfadd", key);
  }
  ctx.reply.Integer(r.value ? 1 : 0);
}

void CmdPfCount(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpPfCount(db, std::vector<std::string_view>(ctx.args.begin() + 1, ctx.args.end()));
  if (!r.ok()) return ctx.reply.Error(r.status);
  // Storing the estimate in the header changes the value (Redis signals it, no event).
  if (r.value.cache_updated) KeyModified(ctx, ctx.arg(1));
  ctx.reply.Integer(static_cast<int64_t>(r.value.count));
}

void CmdPfMerge(CommandContext& ctx) {
  Db db = ctx.db();
  std::string_view dest = ctx.arg(1);
  auto r = OpPfMerge(db, dest, std::vector<std::string_view>(ctx.args.begin() + 2, ctx.args.end()),
                     SparseMaxBytes(ctx));
  if (!r.ok()) return ctx.reply.Error(r.status);
  KeyModified(ctx, dest);
  // Redis announces a merge as "pfadd": it is a mass-add of elements.
  NotifyKeyspaceEvent(ctx, kNotifyString, "pfadd", dest);
  ctx.reply.Ok();
}

// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key: Redis' internal introspection, kept for tools and
// tests that compare representations.
void CmdPfDebug(CommandContext& ctx) {
  std::string_view sub = ctx.arg(1);
  std::string_view key = ctx.arg(2);
  Db db = ctx.db();
  Status status = Status::kOk;
  std::string* value = FindHllForWrite(db, key, &status);
  if (status != Status::kOk) return ctx.reply.Error(status);
  if (value == nullptr) return ctx.reply.Error("ERR The specified key does not exist");
  const bool sparse = !hll::IsDense(*value);
  if (EqualsIgnoreCase(sub, "getreg")) {
    if (sparse) {
      if (!hll::ToDense(value)) return ctx.reply.Error(Status::kCorruptHll);
      KeyModified(ctx, key);
    }
    ctx.reply.Array(hll::kRegisters);
    for (int i = 0; i < hll::kRegisters; ++i) ctx.reply.Integer(hll::DenseRegister(*value, i));
  } else if (EqualsIgnoreCase(sub, "decode")) {
    if (!sparse) return ctx.reply.Error("ERR HLL encoding is not sparse");
    ctx.reply.Bulk(hll::DescribeSparse(*value));
  } else if (EqualsIgnoreCase(sub, "encoding")) {
    ctx.reply.SimpleString(sparse ? "sparse" : "dense");
  } else if (EqualsIgnoreCase(sub, "todense")) {
    if (sparse) {
      if (!hll::ToDense(value)) return ctx.reply.Error(Status::kCorruptHll);
      KeyModified(ctx, key);
    }
    ctx.reply.Integer(sparse ? 1 : 0);
  } else {
    ctx.reply.Error("ERR Unknown PFDEBUG subcommand '" + std::string(sub) + "'");
  }
}

}  // namespace

// Flags, arities and key positions as Redis 7.0's command table (COMMAND INFO).
void RegisterHyperLogLogFamily(Registry& registry) {
  static constexpr CommandRow kCommands[] = {
      {"pfadd", kWrite | kDenyOom | kFast, -2, 1, 1, 1, CmdPfAdd},
      // Read-only for Redis though it may store the estimate: it still runs under the key locks.
      {"pfcount", kReadOnly, -2, 1, -1, 1, CmdPfCount},
      {"pfmerge", kWrite | kDenyOom, -2, 1, -1, 1, CmdPfMerge},
      {"pfdebug", kWrite | kDenyOom | kAdmin, 3, 2, 2, 1, CmdPfDebug},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
