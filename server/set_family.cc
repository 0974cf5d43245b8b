// Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER
// SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN. Redis 7.0 semantics, replies,
// error texts and keyspace events (checked against redis-server 7.0.15). Cmd functions parse,
// reply and notify; the key-local work is in the Op functions of set_ops.h, on the SetObject of
// set_object.h.
#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "server/notify.h"
#include "server/scan_command.h"
#include "server/server_context.h"
#include "server/set_ops.h"
#include "server/util.h"

namespace rowcached::server {

namespace {

// The sets at `keys` (nullptr where absent), after checking every key's type.
Status FindSets(Db& db, const std::vector<std::string_view>& keys, bool count_stats,
                std::vector<const SetObject*>* sets) {
  sets->reserve(keys.size());
  for (std::string_view key : keys) {
    SetResult<SetObject*> found = FindSet(db, key, count_stats);
    if (!found.ok()) return found.status;
    sets->push_back(found.value);
  }
  return Status::kOk;
}

// Calls fn(member) for each member of the intersection of `sets`, in the iteration order of the
// smallest one, until fn returns false. REQUIRES: no null in `sets`.
template <typename Fn>
void ForEachInIntersection(std::vector<const SetObject*> sets, Fn&& fn) {
  std::stable_sort(sets.begin(), sets.end(),
                   [](const SetObject* a, const SetObject* b) { return a->size() < b->size(); });
  sets[0]->ForEachWhile([&](const SetMember& m) {
    for (size_t j = 1; j < sets.size(); ++j) {
      if (sets[j] != sets[0] && !sets[j]->Contains(m.view())) return true;
    }
    return fn(m);
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Ops

SetResult<SetObject*> FindSet(Db& db, std::string_view key, bool count_stats) {
  SetResult<SetObject*> r;
  Entry* e = db.FindTyped(key, ValueType::kSet, &r.status, count_stats);
  if (e != nullptr) r.value = static_cast<SetObject*>(e->object());
  return r;
}

SetResult<int64_t> OpSAdd(Db& db, std::string_view key,
                          const std::vector<std::string_view>& members) {
  SetResult<int64_t> r;
  SetObject* set = db.FindOrCreate<SetObject>(key, ValueType::kSet, &r.status);
  if (set == nullptr) return r;
  for (std::string_view m : members) {
    if (set->Add(m)) ++r.value;
  }
  return r;
}

SetResult<SetRemoval> OpSRem(Db& db, std::string_view key,
                             const std::vector<std::string_view>& members) {
  SetResult<SetRemoval> r;
  SetResult<SetObject*> found = FindSet(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  for (std::string_view m : members) {
    if (!found.value->Remove(m)) continue;
    ++r.value.removed;
    if (found.value->empty()) {
      // Redis removes an empty set at once (and stops looking at the remaining members).
      (void)db.Delete(key);
      r.value.key_deleted = true;
      break;
    }
  }
  return r;
}

SetResult<std::vector<SetMember>> OpSMembers(Db& db, std::string_view key) {
  SetResult<std::vector<SetMember>> r;
  SetResult<SetObject*> found = FindSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  r.value.reserve(found.value->size());
  found.value->ForEach([&](const SetMember& m) { r.value.push_back(m); });
  return r;
}

SetResult<bool> OpSIsMember(Db& db, std::string_view key, std::string_view member) {
  SetResult<SetObject*> found = FindSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, false};
  return {Status::kOk, found.value->Contains(member)};
}

SetResult<std::vector<bool>> OpSMIsMember(Db& db, std::string_view key,
                                          const std::vector<std::string_view>& members) {
  SetResult<SetObject*> found = FindSet(db, key, true);
  if (!found.ok()) return {found.status, {}};
  SetResult<std::vector<bool>> r;
  r.value.reserve(members.size());
  for (std::string_view m : members) {
    r.value.push_back(found.value != nullptr && found.value->Contains(m));
  }
  return r;
}

SetResult<int64_t> OpSCard(Db& db, std::string_view key) {
  SetResult<SetObject*> found = FindSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  return {Status::kOk, static_cast<int64_t>(found.value->size())};
}

SetResult<SetPop> OpSPop(Db& db, std::string_view key, uint64_t count) {
  SetResult<SetPop> r;
  SetResult<SetObject*> found = FindSet(db, key, false);
  if (!found.ok() || found.value == nullptr || count == 0) return {found.status, {}};
  SetObject& set = *found.value;
  if (count >= set.size()) {
    r.value.members.reserve(set.size());
    set.ForEach([&](const SetMember& m) { r.value.members.emplace_back(m.view()); });
    (void)db.Delete(key);
    r.value.key_deleted = true;
    return r;
  }
  std::mt19937_64& rng = db.RngOf(key);
  uint64_t remaining = set.size() - count;
  r.value.members.reserve(count);
  if (remaining * 5 <= count) {
    // Most of the set goes (Redis' "case 3"): the few members that stay move to a new set, which
    // is an intset again when they allow it (as redis-server's OBJECT ENCODING then says), and
    // the old set's other members are the reply. The key keeps its TTL (Redis' dbOverwrite).
    auto kept = std::make_unique<SetObject>();
    for (const SetMember& m : set.RandomDistinct(remaining, rng)) kept->Add(m.view());
    set.ForEach([&](const SetMember& m) {
      if (!kept->Contains(m.view())) r.value.members.emplace_back(m.view());
    });
    db.Put(Entry::NewObject(key, ValueType::kSet, std::move(kept)), /*keep_ttl=*/true);
    return r;
  }
  // A small share goes: pop one at a time. Each pop is O(1) expected on a hashtable (the load
  // factor stays above 1/8 as it shrinks) and O(size) on an intset of at most 512 members.
  for (uint64_t i = 0; i < count; ++i) {
    std::string member(set.Random(rng).view());
    set.Remove(member);
    r.value.members.push_back(std::move(member));
  }
  return r;
}

SetResult<SetPop> OpSPopOne(Db& db, std::string_view key) {
  SetResult<SetPop> r;
  SetResult<SetObject*> found = FindSet(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  std::string member(found.value->Random(db.RngOf(key)).view());
  found.value->Remove(member);
  r.value.members.push_back(std::move(member));
  if (found.value->empty()) {
    (void)db.Delete(key);
    r.value.key_deleted = true;
  }
  return r;
}

SetResult<std::vector<SetMember>> OpSRandMember(Db& db, std::string_view key, int64_t count) {
  SetResult<std::vector<SetMember>> r;
  SetResult<SetObject*> found = FindSet(db, key, true);
  if (!found.ok() || found.value == nullptr || count == 0) return {found.status, {}};
  const SetObject& set = *found.value;
  std::mt19937_64& rng = db.RngOf(key);
  if (count < 0) {
    uint64_t n = static_cast<uint64_t>(-count);
    // Reserve a sane amount and let the vector grow: only the caller bounds -count.
    r.value.reserve(std::min<uint64_t>(n, 1 << 16));
    for (uint64_t i = 0; i < n; ++i) r.value.push_back(set.Random(rng));
    return r;
  }
  if (static_cast<uint64_t>(count) >= set.size()) {
    r.value.reserve(set.size());
    set.ForEach([&](const SetMember& m) { r.value.push_back(m); });
    return r;
  }
  r.value = set.RandomDistinct(static_cast<size_t>(count), rng);
  return r;
}

SetResult<std::optional<SetMember>> OpSRandOne(Db& db, std::string_view key) {
  SetResult<SetObject*> found = FindSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, std::nullopt};
  return {Status::kOk, found.value->Random(db.RngOf(key))};
}

SetResult<SetMove> OpSMove(Db& db, std::string_view source, std::string_view destination,
                           std::string_view member) {
  SetResult<SetMove> r;
  SetResult<SetObject*> src = FindSet(db, source, false);
  if (src.ok() && src.value == nullptr) return r;  // an absent source: 0, whatever dst holds
  if (!src.ok()) return {src.status, {}};
  SetResult<SetObject*> dst = FindSet(db, destination, false);
  if (!dst.ok()) return {dst.status, {}};
  if (src.value == dst.value) {
    r.value.moved = src.value->Contains(member);
    return r;
  }
  if (!src.value->Remove(member)) return r;
  r.value.moved = true;
  r.value.source_changed = true;
  if (src.value->empty()) {
    (void)db.Delete(source);
    r.value.source_deleted = true;
  }
  SetObject* to = db.FindOrCreate<SetObject>(destination, ValueType::kSet, &r.status);
  r.value.added = to->Add(member);
  return r;
}

SetResult<std::vector<SetMember>> OpSInter(Db& db, const std::vector<std::string_view>& keys,
                                           bool count_stats) {
  SetResult<std::vector<SetMember>> r;
  std::vector<const SetObject*> sets;
  r.status = FindSets(db, keys, count_stats, &sets);
  if (!r.ok() || std::find(sets.begin(), sets.end(), nullptr) != sets.end()) return r;
  ForEachInIntersection(sets, [&](const SetMember& m) {
    r.value.push_back(m);
    return true;
  });
  return r;
}

SetResult<int64_t> OpSInterCard(Db& db, const std::vector<std::string_view>& keys, uint64_t limit) {
  SetResult<int64_t> r;
  std::vector<const SetObject*> sets;
  r.status = FindSets(db, keys, true, &sets);
  if (!r.ok() || std::find(sets.begin(), sets.end(), nullptr) != sets.end()) return r;
  ForEachInIntersection(sets, [&](const SetMember&) {
    ++r.value;
    return limit == 0 || static_cast<uint64_t>(r.value) < limit;
  });
  return r;
}

SetResult<std::unique_ptr<SetObject>> OpSetAlgebra(Db& db, SetAlgebra op,
                                                   const std::vector<std::string_view>& keys,
                                                   bool count_stats) {
  SetResult<std::unique_ptr<SetObject>> r;
  std::vector<const SetObject*> sets;
  r.status = FindSets(db, keys, count_stats, &sets);
  if (!r.ok()) return r;
  auto result = std::make_unique<SetObject>();
  auto add = [&](const SetMember& m) { result->Add(m.view()); };
  switch (op) {
    case SetAlgebra::kInter:
      if (std::find(sets.begin(), sets.end(), nullptr) == sets.end()) {
        ForEachInIntersection(sets, [&](const SetMember& m) {
          add(m);
          return true;
        });
      }
      break;
    case SetAlgebra::kUnion:
      for (const SetObject* s : sets) {
        if (s != nullptr) s->ForEach(add);
      }
      break;
    case SetAlgebra::kDiff: {
      const SetObject* first = sets[0];
      if (first == nullptr) break;
      // Redis' choice of algorithm (the result is the same): test each member of the first set
      // against the others (work ~ |first| * sets, halved for its better constants), or copy
      // the first set and remove the others' members (work ~ the sum of the sizes).
      size_t per_member_work = 0, remove_work = 0;
      for (const SetObject* s : sets) {
        if (s == nullptr) continue;
        per_member_work += first->size();
        remove_work += s->size();
      }
      if (per_member_work / 2 <= remove_work) {
        first->ForEach([&](const SetMember& m) {
          for (size_t j = 1; j < sets.size(); ++j) {
            if (sets[j] == first || (sets[j] != nullptr && sets[j]->Contains(m.view()))) return;
          }
          add(m);
        });
      } else {
        first->ForEach(add);
        for (size_t j = 1; j < sets.size() && !result->empty(); ++j) {
          if (sets[j] == nullptr) continue;
          sets[j]->ForEach([&](const SetMember& m) { result->Remove(m.view()); });
        }
      }
      break;
    }
  }
  r.value = std::move(result);
  return r;
}

SetResult<SetStore> OpSetStore(Db& db, SetAlgebra op, std::string_view destination,
                               const std::vector<std::string_view>& keys) {
  SetResult<SetStore> r;
  SetResult<std::unique_ptr<SetObject>> computed = OpSetAlgebra(db, op, keys, false);
  if (!computed.ok()) return {computed.status, {}};
  if (op == SetAlgebra::kInter) {
    for (std::string_view key : keys) {
      if (db.Find(key) == nullptr) r.value.sources_found = false;
    }
  }
  if (computed.value->empty()) {
    r.value.dest_deleted = db.Delete(destination);
    return r;
  }
  r.value.size = static_cast<int64_t>(computed.value->size());
  db.SetObject(destination, ValueType::kSet, std::move(computed.value));
  return r;
}

SetScanPage ScanSet(const SetObject& set, uint64_t cursor, size_t count, std::string_view pattern) {
  SetScanPage page;
  bool all = pattern.empty() || pattern == "*";
  auto collect = [&](const SetMember& m) {
    if (all || GlobMatch(pattern, m.view())) page.members.push_back(m);
  };
  if (set.intset()) {
    set.ForEach(collect);
    return page;
  }
  // Redis' loop: stop at `count` members collected before filtering, or after 10 * count more
  // buckets, whichever comes first.
  size_t collected = 0;
  auto counting = [&](const SetMember& m) {
    ++collected;
    collect(m);
  };
  uint64_t max_steps = static_cast<uint64_t>(count) * 10;
  do {
    cursor = set.ScanStep(cursor, counting);
  } while (cursor != 0 && max_steps-- > 0 && collected < count);
  page.cursor = cursor;
  return page;
}

SetResult<SetScanPage> OpSScan(Db& db, std::string_view key, uint64_t cursor, size_t count,
                               std::string_view pattern) {
  SetResult<SetObject*> found = FindSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  return {Status::kOk, ScanSet(*found.value, cursor, count, pattern)};
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

std::vector<std::string_view> ArgsFrom(CommandContext& ctx, size_t first) {
  return std::vector<std::string_view>(ctx.args.begin() + static_cast<ptrdiff_t>(first),
                                       ctx.args.end());
}

// Members as a RESP3 set (`~`; an array in RESP2), as SMEMBERS, SINTER, SPOP with a count do.
template <typename Members>
void ReplyMemberSet(CommandContext& ctx, const Members& members) {
  ctx.reply.Set(members.size());
  for (const auto& m : members) ctx.reply.Bulk(std::string_view(m));
}

void ReplyMemberSet(CommandContext& ctx, const std::vector<SetMember>& members) {
  ctx.reply.Set(members.size());
  for (const SetMember& m : members) ctx.reply.Bulk(m.view());
}

void ReplySetObject(CommandContext& ctx, const SetObject& set) {
  ctx.reply.Set(set.size());
  set.ForEach([&](const SetMember& m) { ctx.reply.Bulk(m.view()); });
}

void CmdSAdd(CommandContext& ctx) {
  Db db = ctx.db();
  SetResult<int64_t> r = OpSAdd(db, ctx.arg(1), ArgsFrom(ctx, 2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (r.value > 0) {
    KeyModified(ctx, ctx.arg(1));
    NotifyKeyspaceEvent(ctx, kNotifySet, "sadd", ctx.arg(1));
  }
  ctx.reply.Integer(r.value);
}

void CmdSRem(CommandContext& ctx) {
  Db db = ctx.db();
  SetResult<SetRemoval> r = OpSRem(db, ctx.arg(1), ArgsFrom(ctx, 2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (r.value.removed > 0) {
    KeyModified(ctx, ctx.arg(1));
    NotifyKeyspaceEvent(ctx, kNotifySet, "srem", ctx.arg(1));
    if (r.value.key_deleted) NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", ctx.arg(1));
  }
  ctx.reply.Integer(r.value.removed);
}

void CmdSMembers(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpSMembers(db, ctx.arg(1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ReplyMemberSet(ctx, r.value);
}

void CmdSIsMember(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpSIsMember(db, ctx.arg(1), ctx.arg(2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value ? 1 : 0);
}

void CmdSMIsMember(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpSMIsMember(db, ctx.arg(1), ArgsFrom(ctx, 2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Array(r.value.size());
  for (bool present : r.value) ctx.reply.Integer(present ? 1 : 0);
}

void CmdSCard(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpSCard(db, ctx.arg(1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value);
}

void NotifyPop(CommandContext& ctx, const SetPop& pop) {
  KeyModified(ctx, ctx.arg(1));
  NotifyKeyspaceEvent(ctx, kNotifySet, "spop", ctx.arg(1));
  if (pop.key_deleted) NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", ctx.arg(1));
}

// SPOP takes random members: it is logged as the SREM of the members it took (several SREMs of
// at most 1024 members for a large count, as Redis 7.2 batches them), or as DEL when it took the
// whole set through a count, as Redis does.
void PropagatePop(CommandContext& ctx, const SetPop& pop, bool with_count) {
  constexpr size_t kMembersPerSRem = 1024;
  std::string key(ctx.arg(1));
  if (with_count && pop.key_deleted) return ctx.PropagateAs({"DEL", key});
  for (size_t first = 0; first < pop.members.size(); first += kMembersPerSRem) {
    size_t last = std::min(pop.members.size(), first + kMembersPerSRem);
    std::vector<std::string> command = {"SREM", key};
    command.insert(command.end(), pop.members.begin() + static_cast<std::ptrdiff_t>(first),
                   pop.members.begin() + static_cast<std::ptrdiff_t>(last));
    ctx.PropagateAs(std::move(command));
  }
}

void CmdSPop(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(Status::kSyntax);
    return;
  }
  Db db = ctx.db();
  if (ctx.argc() == 2) {
    SetResult<SetPop> r = OpSPopOne(db, ctx.arg(1));
    if (!r.ok()) {
      ctx.reply.Error(r.status);
    } else if (r.value.members.empty()) {
      ctx.reply.Null();
    } else {
      NotifyPop(ctx, r.value);
      if (ctx.logging()) PropagatePop(ctx, r.value, /*with_count=*/false);
      ctx.reply.Bulk(r.value.members[0]);
    }
    return;
  }
  // The count first (Redis' getPositiveLongFromObjectOrReply: one text for both failures),
  // then the key.
  int64_t count;
  if (!ParseInt64(ctx.arg(2), &count) || count < 0) {
    ctx.reply.Error("ERR value is out of range, must be positive");
    return;
  }
  SetResult<SetPop> r = OpSPop(db, ctx.arg(1), static_cast<uint64_t>(count));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (!r.value.members.empty()) {
    NotifyPop(ctx, r.value);
    if (ctx.logging()) PropagatePop(ctx, r.value, /*with_count=*/true);
  }
  ReplyMemberSet(ctx, r.value.members);
}

// SRANDMEMBER key -count: -count independent draws. Redis streams them into the client's output
// buffer with nothing bounding the total but memory; here the reply is built in one buffer, so
// a reply that would pass proto-max-bulk-len is refused instead: at once when even the smallest
// members ("$0\r\n\r\n", 6 bytes each) could not fit, else as soon as the buffer passes the
// bound (what was written is dropped), so the buffer never holds much more than the bound.
void ReplyRandomDraws(CommandContext& ctx, const SetObject& set, uint64_t draws,
                      std::mt19937_64& rng) {
  const uint64_t max_bytes = static_cast<uint64_t>(ctx.server.proto_max_bulk_len());
  const char* const kTooLarge = "ERR reply would exceed proto-max-bulk-len: count is too large";
  if (draws > max_bytes / 6) {
    ctx.reply.Error(kTooLarge);
    return;
  }
  std::string* out = ctx.reply.buffer();
  size_t start = out->size();
  ctx.reply.Array(draws);
  for (uint64_t i = 0; i < draws; ++i) {
    ctx.reply.Bulk(set.Random(rng).view());
    if (out->size() - start > max_bytes) {
      out->resize(start);
      out->shrink_to_fit();
      ctx.reply.Error(kTooLarge);
      return;
    }
  }
}

void CmdSRandMember(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(Status::kSyntax);
    return;
  }
  Db db = ctx.db();
  if (ctx.argc() == 2) {
    auto r = OpSRandOne(db, ctx.arg(1));
    if (!r.ok()) {
      ctx.reply.Error(r.status);
    } else if (r.value) {
      ctx.reply.Bulk(r.value->view());
    } else {
      ctx.reply.Null();
    }
    return;
  }
  // Redis' order: the count (over -LONG_MAX..LONG_MAX), then the key.
  int64_t count;
  if (!ParseInt64(ctx.arg(2), &count)) {
    ctx.reply.Error(Status::kNotInteger);
    return;
  }
  if (count == INT64_MIN) {
    ctx.reply.Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
    return;
  }
  if (count < 0) {
    SetResult<SetObject*> found = FindSet(db, ctx.arg(1), true);
    if (!found.ok()) {
      ctx.reply.Error(found.status);
    } else if (found.value == nullptr) {
      ctx.reply.Array(0);
    } else {
      ReplyRandomDraws(ctx, *found.value, static_cast<uint64_t>(-count), db.RngOf(ctx.arg(1)));
    }
    return;
  }
  auto r = OpSRandMember(db, ctx.arg(1), count);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  // An array, not a set, in RESP3 too (Redis 7.0: negative counts repeat members).
  ctx.reply.Array(r.value.size());
  for (const SetMember& m : r.value) ctx.reply.Bulk(m.view());
}

void CmdSMove(CommandContext& ctx) {
  Db db = ctx.db();
  std::string_view source = ctx.arg(1), destination = ctx.arg(2);
  SetResult<SetMove> r = OpSMove(db, source, destination, ctx.arg(3));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (r.value.source_changed) {
    NotifyKeyspaceEvent(ctx, kNotifySet, "srem", source);
    if (r.value.source_deleted) NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", source);
    KeyModified(ctx, source);
    KeyModified(ctx, destination);
    if (r.value.added) NotifyKeyspaceEvent(ctx, kNotifySet, "sadd", destination);
  }
  ctx.reply.Integer(r.value.moved ? 1 : 0);
}

void CmdSInter(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpSInter(db, ArgsFrom(ctx, 1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ReplyMemberSet(ctx, r.value);
}

// SUNION and SDIFF.
void UnionDiffGeneric(CommandContext& ctx, SetAlgebra op) {
  Db db = ctx.db();
  auto r = OpSetAlgebra(db, op, ArgsFrom(ctx, 1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ReplySetObject(ctx, *r.value);
}

void CmdSUnion(CommandContext& ctx) { UnionDiffGeneric(ctx, SetAlgebra::kUnion); }
void CmdSDiff(CommandContext& ctx) { UnionDiffGeneric(ctx, SetAlgebra::kDiff); }

// SINTERSTORE, SUNIONSTORE, SDIFFSTORE destination key [key ...].
void StoreGeneric(CommandContext& ctx, SetAlgebra op, std::string_view event) {
  Db db = ctx.db();
  std::string_view destination = ctx.arg(1);
  SetResult<SetStore> r = OpSetStore(db, op, destination, ArgsFrom(ctx, 2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  // Redis signals the destination whenever it computed a result, but SINTERSTORE's early
  // return on an absent source only when it deleted something.
  if (r.value.sources_found || r.value.dest_deleted) KeyModified(ctx, destination);
  if (r.value.size > 0) {
    NotifyKeyspaceEvent(ctx, kNotifySet, event, destination);
  } else if (r.value.dest_deleted) {
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", destination);
  }
  ctx.reply.Integer(r.value.size);
}

void CmdSInterStore(CommandContext& ctx) { StoreGeneric(ctx, SetAlgebra::kInter, "sinterstore"); }
void CmdSUnionStore(CommandContext& ctx) { StoreGeneric(ctx, SetAlgebra::kUnion, "sunionstore"); }
void CmdSDiffStore(CommandContext& ctx) { StoreGeneric(ctx, SetAlgebra::kDiff, "sdiffstore"); }

// SINTERCARD numkeys key [key ...] [LIMIT limit]. Its keys move with numkeys (COMMAND INFO
// says "movablekeys", first/last/step 0), so the spec has no key positions and the handler locks
// the keys itself (kNoShardLock) once it knows them.
void CmdSInterCard(CommandContext& ctx) {
  int64_t numkeys;
  if (!ParseInt64(ctx.arg(1), &numkeys) || numkeys <= 0) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return;
  }
  if (static_cast<uint64_t>(numkeys) > ctx.argc() - 2) {
    ctx.reply.Error("ERR Number of keys can't be greater than number of args");
    return;
  }
  size_t options = 2 + static_cast<size_t>(numkeys);
  int64_t limit = 0;
  for (size_t i = options; i < ctx.argc(); i += 2) {
    if (EqualsIgnoreCase(ctx.arg(i), "limit") && i + 1 < ctx.argc()) {
      if (!ParseInt64(ctx.arg(i + 1), &limit) || limit < 0) {
        ctx.reply.Error("ERR LIMIT can't be negative");
        return;
      }
    } else {
      ctx.reply.Error(Status::kSyntax);
      return;
    }
  }
  std::vector<std::string_view> keys(ctx.args.begin() + 2,
                                     ctx.args.begin() + static_cast<ptrdiff_t>(options));
  ctx.locks.LockKeys(ctx.server.keyspace(), keys);
  Db db = ctx.db();
  auto r = OpSInterCard(db, keys, static_cast<uint64_t>(limit));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value);
}

void CmdSScan(CommandContext& ctx) {
  ElementScanCommand(
      ctx, [](Db& db, std::string_view key) { return FindSet(db, key, true); },
      [](const SetObject& set, uint64_t cursor, size_t count, std::string_view pattern,
         std::vector<std::string>* items) {
        SetScanPage page = ScanSet(set, cursor, count, pattern);
        for (const SetMember& m : page.members) items->emplace_back(m.view());
        return page.cursor;
      });
}

}  // namespace

void RegisterSetFamily(Registry& registry) {
  // Flags, arities and key positions as in Redis 7.0's command table: the dispatcher locks the
  // shards of the keys these positions name (all of them for the multi-key commands, which may
  // span shards), and the middleware's KeyInterceptor finds table keys by them.
  static constexpr CommandRow kCommands[] = {
      {"sadd", kWrite | kDenyOom | kFast, -3, 1, 1, 1, CmdSAdd},
      {"srem", kWrite | kFast, -3, 1, 1, 1, CmdSRem},
      {"smove", kWrite | kFast, 4, 1, 2, 1, CmdSMove},
      {"sismember", kReadOnly | kFast, 3, 1, 1, 1, CmdSIsMember},
      {"smismember", kReadOnly | kFast, -3, 1, 1, 1, CmdSMIsMember},
      {"scard", kReadOnly | kFast, 2, 1, 1, 1, CmdSCard},
      {"spop", kWrite | kFast, -2, 1, 1, 1, CmdSPop},
      {"srandmember", kReadOnly, -2, 1, 1, 1, CmdSRandMember},
      {"sinter", kReadOnly, -2, 1, -1, 1, CmdSInter},
      {"sintercard", kReadOnly | kNoShardLock, -3, 0, 0, 0, CmdSInterCard},
      {"sinterstore", kWrite | kDenyOom, -3, 1, -1, 1, CmdSInterStore},
      {"sunion", kReadOnly, -2, 1, -1, 1, CmdSUnion},
      {"sunionstore", kWrite | kDenyOom, -3, 1, -1, 1, CmdSUnionStore},
      {"sdiff", kReadOnly, -2, 1, -1, 1, CmdSDiff},
      {"sdiffstore", kWrite | kDenyOom, -3, 1, -1, 1, CmdSDiffStore},
      {"smembers", kReadOnly, 2, 1, 1, 1, CmdSMembers},
      {"sscan", kReadOnly, -3, 1, 1, 1, CmdSScan},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
