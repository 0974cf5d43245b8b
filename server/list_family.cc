// List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM
// LPOS LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP. Redis 7.0
// semantics, replies and error texts (checked against redis-server 7.0.15). Cmd functions parse
// and reply; the key-local work is in the Op functions of list_ops.h, on the ListObject of
// list_object.h; blocking goes through blocking.h.
#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "server/blocking.h"
#include "server/list_ops.h"
#include "server/notify.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {

namespace {

ListObject* AsList(Entry* e) { return static_cast<ListObject*>(e->object()); }

// An index as Redis resolves it (negative from the tail); -1 when outside the list.
int64_t ResolveIndex(int64_t index, size_t size) {
  int64_t n = static_cast<int64_t>(size);
  if (index < 0) index += n;
  return index < 0 || index >= n ? -1 : index;
}

// [first, last] of Redis' LRANGE/LTRIM clamping; false when the range is empty.
bool ResolveRange(int64_t start, int64_t stop, size_t size, size_t* first, size_t* last) {
  int64_t n = static_cast<int64_t>(size);
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return false;
  if (stop >= n) stop = n - 1;
  *first = static_cast<size_t>(start);
  *last = static_cast<size_t>(stop);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Ops

ListResult<ListObject*> FindList(Db& db, std::string_view key, bool count_stats) {
  ListResult<ListObject*> r;
  Entry* e = db.FindTyped(key, ValueType::kList, &r.status, count_stats);
  if (e != nullptr) r.value = AsList(e);
  return r;
}

ListResult<int64_t> OpPush(Db& db, std::string_view key,
                           const std::vector<std::string_view>& values, ListEnd end,
                           bool only_if_exists) {
  ListResult<ListObject*> found = FindList(db, key, false);
  if (!found.ok()) return {found.status, 0};
  ListObject* list = found.value;
  if (list == nullptr) {
    if (only_if_exists) return {};
    list = AsList(db.SetObject(key, ValueType::kList, std::make_unique<ListObject>()));
  }
  for (std::string_view v : values) list->Push(end, v);
  return {Status::kOk, static_cast<int64_t>(list->size())};
}

ListResult<Popped> OpPop(Db& db, std::string_view key, ListEnd end, uint64_t count) {
  ListResult<Popped> r;
  ListResult<ListObject*> found = FindList(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  ListObject* list = found.value;
  uint64_t n = std::min<uint64_t>(count, list->size());
  r.value.values.reserve(n);
  for (uint64_t i = 0; i < n; ++i) r.value.values.push_back(list->Pop(end));
  if (list->empty()) {
    (void)db.Delete(key);
    r.value.key_deleted = true;
  }
  return r;
}

ListResult<int64_t> OpLen(Db& db, std::string_view key) {
  ListResult<ListObject*> found = FindList(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  return {Status::kOk, static_cast<int64_t>(found.value->size())};
}

ListResult<std::vector<std::string_view>> OpRange(Db& db, std::string_view key, int64_t start,
                                                  int64_t stop) {
  ListResult<std::vector<std::string_view>> r;
  ListResult<ListObject*> found = FindList(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  size_t first = 0;
  size_t last = 0;
  if (!ResolveRange(start, stop, found.value->size(), &first, &last)) return r;
  r.value.reserve(last - first + 1);
  for (size_t i = first; i <= last; ++i) r.value.emplace_back(found.value->at(i));
  return r;
}

ListResult<std::optional<std::string_view>> OpIndex(Db& db, std::string_view key, int64_t index) {
  ListResult<ListObject*> found = FindList(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, std::nullopt};
  int64_t i = ResolveIndex(index, found.value->size());
  if (i < 0) return {};
  return {Status::kOk, std::string_view(found.value->at(static_cast<size_t>(i)))};
}

ListResult<bool> OpSet(Db& db, std::string_view key, int64_t index, std::string_view value) {
  ListResult<ListObject*> found = FindList(db, key, false);
  if (!found.ok()) return {found.status, false};
  if (found.value == nullptr) return {Status::kNoSuchKey, false};
  int64_t i = ResolveIndex(index, found.value->size());
  if (i < 0) return {Status::kOk, false};
  found.value->Set(static_cast<size_t>(i), value);
  return {Status::kOk, true};
}

ListResult<int64_t> OpInsert(Db& db, std::string_view key, bool before, std::string_view pivot,
                             std::string_view value) {
  ListResult<ListObject*> found = FindList(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  ListObject* list = found.value;
  for (size_t i = 0; i < list->size(); ++i) {
    if (list->at(i) == pivot) {
      list->Insert(before ? i : i + 1, value);
      return {Status::kOk, static_cast<int64_t>(list->size())};
    }
  }
  return {Status::kOk, -1};
}

ListResult<int64_t> OpRem(Db& db, std::string_view key, int64_t count, std::string_view value,
                          bool* key_deleted) {
  *key_deleted = false;
  ListResult<ListObject*> found = FindList(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  ListObject* list = found.value;
  // |count| without overflow for INT64_MIN.
  uint64_t limit = count < 0 ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
  auto removed = static_cast<int64_t>(
      list->Remove(value, limit, count < 0 ? ListEnd::kRight : ListEnd::kLeft));
  if (list->empty()) {
    (void)db.Delete(key);
    *key_deleted = true;
  }
  return {Status::kOk, removed};
}

ListResult<bool> OpTrim(Db& db, std::string_view key, int64_t start, int64_t stop,
                        bool* key_deleted) {
  *key_deleted = false;
  ListResult<ListObject*> found = FindList(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, false};
  ListObject* list = found.value;
  size_t first = 0;
  size_t last = 0;
  if (ResolveRange(start, stop, list->size(), &first, &last)) {
    list->Trim(first, last);
  } else {
    (void)db.Delete(key);
    *key_deleted = true;
  }
  return {Status::kOk, true};
}

ListResult<std::vector<int64_t>> OpPos(Db& db, std::string_view key, std::string_view element,
                                       const PosOptions& options) {
  ListResult<std::vector<int64_t>> r;
  ListResult<ListObject*> found = FindList(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  const ListObject* list = found.value;
  // Redis negates a negative rank in a long (INT64_MIN stays INT64_MIN, so every match ranks);
  // the arithmetic is done modulo 2^64 to reproduce that without overflow.
  bool from_tail = options.rank < 0;
  auto rank = static_cast<int64_t>(from_tail ? 0 - static_cast<uint64_t>(options.rank)
                                             : static_cast<uint64_t>(options.rank));
  int64_t n = static_cast<int64_t>(list->size());
  int64_t matches = 0;
  for (int64_t scanned = 0; scanned < n && (options.maxlen == 0 || scanned < options.maxlen);
       ++scanned) {
    int64_t index = from_tail ? n - 1 - scanned : scanned;
    if (list->at(static_cast<size_t>(index)) != element) continue;
    ++matches;
    if (matches < rank) continue;
    r.value.push_back(index);
    if (options.count < 0) break;
    auto taken =
        static_cast<int64_t>(static_cast<uint64_t>(matches) - static_cast<uint64_t>(rank) + 1);
    if (options.count > 0 && taken >= options.count) break;
  }
  return r;
}

ListResult<Moved> OpMove(Db& db, std::string_view src, std::string_view dst, ListEnd from,
                         ListEnd to) {
  ListResult<Moved> r;
  ListResult<ListObject*> source = FindList(db, src, false);
  if (!source.ok() || source.value == nullptr) return {source.status, {}};
  ListResult<ListObject*> target = FindList(db, dst, false);
  if (!target.ok()) return {target.status, {}};
  std::string value = source.value->Pop(from);
  if (source.value->empty() && src != dst) {
    (void)db.Delete(src);
    r.value.src_deleted = true;
  }
  ListObject* list = target.value;
  if (list == nullptr) {
    list = AsList(db.SetObject(dst, ValueType::kList, std::make_unique<ListObject>()));
  }
  list->Push(to, value);
  r.value.value = std::move(value);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

const char* PushEvent(ListEnd end) { return end == ListEnd::kLeft ? "lpush" : "rpush"; }
const char* PopEvent(ListEnd end) { return end == ListEnd::kLeft ? "lpop" : "rpop"; }

// The hooks after a push: WATCH, keyspace events, and the clients blocked on the key.
void AfterPush(ServerContext& server, int db, std::string_view key, ListEnd end) {
  KeyModified(server, db, key);
  NotifyKeyspaceEvent(server, kNotifyList, PushEvent(end), key, db);
  KeyReady(server, db, key);
}

// The hooks after elements were removed by `event` ("lpop", "lrem", "ltrim", ...); "del" too
// when the list went with its last element.
void AfterRemove(ServerContext& server, int db, std::string_view key, const char* event,
                 bool deleted) {
  NotifyKeyspaceEvent(server, kNotifyList, event, key, db);
  if (deleted) NotifyKeyspaceEvent(server, kNotifyGeneric, "del", key, db);
  KeyModified(server, db, key);
}

void AfterPop(ServerContext& server, int db, std::string_view key, ListEnd end, bool deleted) {
  AfterRemove(server, db, key, PopEvent(end), deleted);
}

int DbIndex(const CommandContext& ctx) { return ctx.client.db.load(std::memory_order_relaxed); }

// "LEFT" / "RIGHT", case-insensitively.
bool ParseEnd(std::string_view arg, ListEnd* end) {
  if (EqualsIgnoreCase(arg, "left")) {
    *end = ListEnd::kLeft;
  } else if (EqualsIgnoreCase(arg, "right")) {
    *end = ListEnd::kRight;
  } else {
    return false;
  }
  return true;
}

bool ParseIntArg(CommandContext& ctx, size_t i, int64_t* out) {
  if (ParseInt64(ctx.arg(i), out)) return true;
  ctx.reply.Error(Status::kNotInteger);
  return false;
}

// Redis' getRangeLongFromObjectOrReply(1, LONG_MAX) with a message for both failures.
bool ParsePositive(std::string_view arg, int64_t* out) { return ParseInt64(arg, out) && *out >= 1; }

void ReplyBulks(ReplyBuilder& reply, const std::vector<std::string>& values) {
  reply.Array(values.size());
  for (const auto& v : values) reply.Bulk(v);
}

// LMPOP / BLMPOP's reply: [key, [elements]].
void ReplyKeyAndValues(ReplyBuilder& reply, std::string_view key,
                       const std::vector<std::string>& values) {
  reply.Array(2);
  reply.Bulk(key);
  ReplyBulks(reply, values);
}

// Pops `count` from the list at `key` and notifies; the values, or an error status.
ListResult<Popped> PopAndNotify(ServerContext& server, Db& db, std::string_view key, ListEnd end,
                                uint64_t count) {
  ListResult<Popped> r = OpPop(db, key, end, count);
  if (r.ok() && !r.value.values.empty()) {
    AfterPop(server, db.index(), key, end, r.value.key_deleted);
  }
  return r;
}

// Moves one element and notifies; the reply of LMOVE (bulk or null) unless an error.
ListResult<Moved> MoveAndNotify(ServerContext& server, Db& db, std::string_view src,
                                std::string_view dst, ListEnd from, ListEnd to) {
  ListResult<Moved> r = OpMove(db, src, dst, from, to);
  if (r.ok() && r.value.value) {
    AfterPush(server, db.index(), dst, to);
    AfterPop(server, db.index(), src, from, r.value.src_deleted);
  }
  return r;
}

void PushGeneric(CommandContext& ctx, ListEnd end, bool only_if_exists) {
  Db db = ctx.db();
  std::vector<std::string_view> values(ctx.args.begin() + 2, ctx.args.end());
  ListResult<int64_t> r = OpPush(db, ctx.arg(1), values, end, only_if_exists);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value > 0) AfterPush(ctx.server, DbIndex(ctx), ctx.arg(1), end);
  ctx.reply.Integer(r.value);
}

void CmdLPush(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kLeft, false); }
void CmdRPush(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kRight, false); }
void CmdLPushX(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kLeft, true); }
void CmdRPushX(CommandContext& ctx) { PushGeneric(ctx, ListEnd::kRight, true); }

void PopGeneric(CommandContext& ctx, ListEnd end) {
  if (ctx.argc() > 3) {
    return ctx.reply.Error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
  }
  bool has_count = ctx.argc() == 3;
  int64_t count = 1;
  if (has_count) {
    if (!ParseInt64(ctx.arg(2), &count)) return ctx.reply.Error(Status::kNotInteger);
    if (count < 0) return ctx.reply.Error("ERR value is out of range, must be positive");
  }
  Db db = ctx.db();
  ListResult<Popped> r =
      PopAndNotify(ctx.server, db, ctx.arg(1), end, static_cast<uint64_t>(count));
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (!has_count) {
    if (r.value.values.empty()) return ctx.reply.Null();
    return ctx.reply.Bulk(r.value.values.front());
  }
  // An absent key answers a null array; an existing one an array, empty for COUNT 0.
  ListResult<ListObject*> still = FindList(db, ctx.arg(1), false);
  if (r.value.values.empty() && still.value == nullptr) return ctx.reply.NullArray();
  ReplyBulks(ctx.reply, r.value.values);
}

void CmdLPop(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kLeft); }
void CmdRPop(CommandContext& ctx) { PopGeneric(ctx, ListEnd::kRight); }

void CmdLLen(CommandContext& ctx) {
  Db db = ctx.db();
  ListResult<int64_t> r = OpLen(db, ctx.arg(1));
  if (!r.ok()) return ctx.reply.Error(r.status);
  ctx.reply.Integer(r.value);
}

void CmdLRange(CommandContext& ctx) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseIntArg(ctx, 2, &start) || !ParseIntArg(ctx, 3, &stop)) return;
  Db db = ctx.db();
  auto r = OpRange(db, ctx.arg(1), start, stop);
  if (!r.ok()) return ctx.reply.Error(r.status);
  ctx.reply.Array(r.value.size());
  for (std::string_view v : r.value) ctx.reply.Bulk(v);
}

void CmdLIndex(CommandContext& ctx) {
  // Redis looks the key up before it parses the index.
  Db db = ctx.db();
  ListResult<ListObject*> found = FindList(db, ctx.arg(1), true);
  if (!found.ok()) return ctx.reply.Error(found.status);
  if (found.value == nullptr) return ctx.reply.Null();
  int64_t index = 0;
  if (!ParseIntArg(ctx, 2, &index)) return;
  int64_t i = ResolveIndex(index, found.value->size());
  if (i < 0) return ctx.reply.Null();
  ctx.reply.Bulk(found.value->at(static_cast<size_t>(i)));
}

void CmdLSet(CommandContext& ctx) {
  Db db = ctx.db();
  ListResult<ListObject*> found = FindList(db, ctx.arg(1), false);
  if (!found.ok()) return ctx.reply.Error(found.status);
  if (found.value == nullptr) return ctx.reply.Error(Status::kNoSuchKey);
  int64_t index = 0;
  if (!ParseIntArg(ctx, 2, &index)) return;
  ListResult<bool> r = OpSet(db, ctx.arg(1), index, ctx.arg(3));
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (!r.value) return ctx.reply.Error("ERR index out of range");
  KeyModified(ctx, ctx.arg(1));
  NotifyKeyspaceEvent(ctx, kNotifyList, "lset", ctx.arg(1));
  ctx.reply.Ok();
}

void CmdLInsert(CommandContext& ctx) {
  bool before = false;
  if (EqualsIgnoreCase(ctx.arg(2), "before")) {
    before = true;
  } else if (!EqualsIgnoreCase(ctx.arg(2), "after")) {
    return ctx.reply.Error(Status::kSyntax);
  }
  Db db = ctx.db();
  ListResult<int64_t> r = OpInsert(db, ctx.arg(1), before, ctx.arg(3), ctx.arg(4));
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value > 0) {
    KeyModified(ctx, ctx.arg(1));
    NotifyKeyspaceEvent(ctx, kNotifyList, "linsert", ctx.arg(1));
  }
  ctx.reply.Integer(r.value);
}

void CmdLRem(CommandContext& ctx) {
  int64_t count = 0;
  if (!ParseIntArg(ctx, 2, &count)) return;
  Db db = ctx.db();
  bool deleted = false;
  ListResult<int64_t> r = OpRem(db, ctx.arg(1), count, ctx.arg(3), &deleted);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value > 0) AfterRemove(ctx.server, DbIndex(ctx), ctx.arg(1), "lrem", deleted);
  ctx.reply.Integer(r.value);
}

void CmdLTrim(CommandContext& ctx) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseIntArg(ctx, 2, &start) || !ParseIntArg(ctx, 3, &stop)) return;
  Db db = ctx.db();
  bool deleted = false;
  ListResult<bool> r = OpTrim(db, ctx.arg(1), start, stop, &deleted);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value) AfterRemove(ctx.server, DbIndex(ctx), ctx.arg(1), "ltrim", deleted);
  ctx.reply.Ok();
}

void CmdLPos(CommandContext& ctx) {
  PosOptions options;
  for (size_t i = 3; i < ctx.argc(); i += 2) {
    std::string_view opt = ctx.arg(i);
    bool has_value = i + 1 < ctx.argc();
    if (EqualsIgnoreCase(opt, "rank") && has_value) {
      if (!ParseIntArg(ctx, i + 1, &options.rank)) return;
      if (options.rank == 0) {
        return ctx.reply.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
      }
    } else if (EqualsIgnoreCase(opt, "count") && has_value) {
      if (!ParseInt64(ctx.arg(i + 1), &options.count) || options.count < 0) {
        return ctx.reply.Error("ERR COUNT can't be negative");
      }
    } else if (EqualsIgnoreCase(opt, "maxlen") && has_value) {
      if (!ParseInt64(ctx.arg(i + 1), &options.maxlen) || options.maxlen < 0) {
        return ctx.reply.Error("ERR MAXLEN can't be negative");
      }
    } else {
      return ctx.reply.Error(Status::kSyntax);
    }
  }
  Db db = ctx.db();
  auto r = OpPos(db, ctx.arg(1), ctx.arg(2), options);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (options.count < 0) {
    if (r.value.empty()) return ctx.reply.Null();
    return ctx.reply.Integer(r.value.front());
  }
  ctx.reply.Array(r.value.size());
  for (int64_t i : r.value) ctx.reply.Integer(i);
}

void MoveGeneric(CommandContext& ctx, ListEnd from, ListEnd to) {
  Db db = ctx.db();
  ListResult<Moved> r = MoveAndNotify(ctx.server, db, ctx.arg(1), ctx.arg(2), from, to);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (!r.value.value) return ctx.reply.Null();
  ctx.reply.Bulk(*r.value.value);
}

// LMOVE src dst LEFT|RIGHT LEFT|RIGHT; the ends at args[3], args[4].
bool ParseMoveEnds(CommandContext& ctx, ListEnd* from, ListEnd* to) {
  if (ParseEnd(ctx.arg(3), from) && ParseEnd(ctx.arg(4), to)) return true;
  ctx.reply.Error(Status::kSyntax);
  return false;
}

void CmdLMove(CommandContext& ctx) {
  ListEnd from;
  ListEnd to;
  if (!ParseMoveEnds(ctx, &from, &to)) return;
  MoveGeneric(ctx, from, to);
}

void CmdRPopLPush(CommandContext& ctx) { MoveGeneric(ctx, ListEnd::kRight, ListEnd::kLeft); }

// ---------------------------------------------------------------------------------------------
// Multi-key pops, blocking or not

// A pop request of BLPOP/BRPOP (count unset: reply [key, value]) or [B]LMPOP (reply [key,
// [values]]).
struct PopRequest {
  std::vector<std::string_view> keys;
  ListEnd end = ListEnd::kLeft;
  std::optional<uint64_t> mpop_count;
};

// What a pop of BLPOP/BRPOP/[B]LMPOP is logged as, whether it was served at once or later:
// the LPOP/RPOP of the key it took from (with the count it took for [B]LMPOP), as Redis 7.0.
std::vector<std::string> PopCommand(const PopRequest& request, std::string_view key,
                                    size_t popped) {
  std::vector<std::string> command = {request.end == ListEnd::kLeft ? "LPOP" : "RPOP",
                                      std::string(key)};
  if (request.mpop_count) command.push_back(Int64ToString(static_cast<int64_t>(popped)));
  return command;
}

// Pops from the first non-empty list of `keys` and replies. False (nothing written) when every
// key is absent; true after a reply, a WRONGTYPE error included (the first key of another type
// stops the search, as in Redis). After a pop, when `log_as` is given, sets it to the command
// to log (PopCommand).
bool TryPopFirst(ServerContext& server, Db& db, const PopRequest& request, ReplyBuilder& reply,
                 std::vector<std::string>* log_as) {
  for (std::string_view key : request.keys) {
    ListResult<Popped> r =
        PopAndNotify(server, db, key, request.end, request.mpop_count.value_or(1));
    if (!r.ok()) {
      reply.Error(r.status);
      return true;
    }
    if (r.value.values.empty()) continue;
    if (log_as != nullptr) *log_as = PopCommand(request, key, r.value.values.size());
    if (request.mpop_count) {
      ReplyKeyAndValues(reply, key, r.value.values);
    } else {
      reply.Array(2);
      reply.Bulk(key);
      reply.Bulk(r.value.values.front());
    }
    return true;
  }
  return false;
}

// The serve function of a blocked pop: takes from the key that became ready.
ServeFn PopServer(ListEnd end, std::optional<uint64_t> mpop_count) {
  return [end, mpop_count](ServeContext& ctx) {
    ListResult<ListObject*> found = FindList(ctx.db, ctx.key, false);
    if (!found.ok() || found.value == nullptr) return false;
    PopRequest one{{ctx.key}, end, mpop_count};
    std::vector<std::string> log_as;
    bool served =
        TryPopFirst(ctx.server, ctx.db, one, ctx.reply, ctx.logging() ? &log_as : nullptr);
    if (!log_as.empty()) ctx.Propagate(log_as);
    return served;
  };
}

// [B]LMPOP, BLPOP, BRPOP run now: pops from the first non-empty list, logged as PopCommand.
bool PopNow(CommandContext& ctx, const PopRequest& request) {
  Db db = ctx.db();
  std::vector<std::string> log_as;
  bool replied = TryPopFirst(ctx.server, db, request, ctx.reply, ctx.logging() ? &log_as : nullptr);
  if (!log_as.empty()) ctx.PropagateAs(std::move(log_as));
  return replied;
}

// BLPOP / BRPOP / BLMPOP after parsing: pops now, or blocks (or, unable to block, answers the
// timeout reply at once, as Redis does inside MULTI).
void BlockingPop(CommandContext& ctx, const PopRequest& request, int64_t timeout_ms) {
  if (PopNow(ctx, request)) return;
  if (!ctx.defer) return ctx.reply.NullArray();
  BlockRequest block;
  block.keys.assign(request.keys.begin(), request.keys.end());
  block.lock_keys = block.keys;
  block.timeout_ms = timeout_ms;
  block.serve = PopServer(request.end, request.mpop_count);
  ctx.server.blocking().Block(ctx, std::move(block));
}

void BlockingPopGeneric(CommandContext& ctx, ListEnd end) {
  int64_t timeout_ms = 0;
  if (!ParseBlockTimeout(ctx.args.back(), &timeout_ms, ctx.reply)) return;
  PopRequest request;
  request.keys.assign(ctx.args.begin() + 1, ctx.args.end() - 1);
  request.end = end;
  BlockingPop(ctx, request, timeout_ms);
}

void CmdBLPop(CommandContext& ctx) { BlockingPopGeneric(ctx, ListEnd::kLeft); }
void CmdBRPop(CommandContext& ctx) { BlockingPopGeneric(ctx, ListEnd::kRight); }

// [B]LMPOP's "numkeys key [key ...] LEFT|RIGHT [COUNT count]" from args[first]; locks the keys
// (the spec cannot name them). False after replying an error.
bool ParseMPop(CommandContext& ctx, size_t first, PopRequest* request) {
  int64_t numkeys = 0;
  if (!ParsePositive(ctx.arg(first), &numkeys)) {
    ctx.reply.Error("ERR numkeys should be greater than 0");
    return false;
  }
  size_t where = first + 1 + static_cast<size_t>(numkeys);
  if (numkeys >= static_cast<int64_t>(ctx.argc()) || where >= ctx.argc()) {
    ctx.reply.Error(Status::kSyntax);
    return false;
  }
  if (!ParseEnd(ctx.arg(where), &request->end)) {
    ctx.reply.Error(Status::kSyntax);
    return false;
  }
  uint64_t count = 0;
  for (size_t i = where + 1; i < ctx.argc(); ++i) {
    if (count == 0 && EqualsIgnoreCase(ctx.arg(i), "count") && i + 1 < ctx.argc()) {
      int64_t c = 0;
      if (!ParsePositive(ctx.arg(++i), &c)) {
        ctx.reply.Error("ERR count should be greater than 0");
        return false;
      }
      count = static_cast<uint64_t>(c);
    } else {
      ctx.reply.Error(Status::kSyntax);
      return false;
    }
  }
  request->mpop_count = count == 0 ? 1 : count;
  request->keys.assign(ctx.args.begin() + static_cast<std::ptrdiff_t>(first) + 1,
                       ctx.args.begin() + static_cast<std::ptrdiff_t>(where));
  ctx.locks.LockKeys(ctx.server.keyspace(), request->keys);
  return true;
}

void CmdLMPop(CommandContext& ctx) {
  PopRequest request;
  if (!ParseMPop(ctx, 1, &request)) return;
  if (!PopNow(ctx, request)) ctx.reply.NullArray();
}

void CmdBLMPop(CommandContext& ctx) {
  // Redis' order: numkeys, the direction and COUNT, then the timeout.
  PopRequest request;
  if (!ParseMPop(ctx, 2, &request)) return;
  int64_t timeout_ms = 0;
  if (!ParseBlockTimeout(ctx.arg(1), &timeout_ms, ctx.reply)) return;
  BlockingPop(ctx, request, timeout_ms);
}

// What BLMOVE / BRPOPLPUSH are logged as, served at once or later: LMOVE / RPOPLPUSH, as
// Redis 7.0.
std::vector<std::string> MoveCommand(bool rpoplpush, std::string_view src, std::string_view dst,
                                     ListEnd from, ListEnd to) {
  if (rpoplpush) return {"RPOPLPUSH", std::string(src), std::string(dst)};
  auto name = [](ListEnd end) { return end == ListEnd::kLeft ? "LEFT" : "RIGHT"; };
  return {"LMOVE", std::string(src), std::string(dst), name(from), name(to)};
}

// BLMOVE / BRPOPLPUSH after parsing.
void BlockingMove(CommandContext& ctx, ListEnd from, ListEnd to, int64_t timeout_ms) {
  Db db = ctx.db();
  std::string_view src = ctx.arg(1);
  ListResult<ListObject*> found = FindList(db, src, false);
  if (!found.ok()) return ctx.reply.Error(found.status);
  const bool rpoplpush = ctx.spec.name == "brpoplpush";
  if (found.value != nullptr) {
    MoveGeneric(ctx, from, to);
    if (ctx.logging()) ctx.PropagateAs(MoveCommand(rpoplpush, src, ctx.arg(2), from, to));
    return;
  }
  // Inside MULTI Redis answers a null bulk here, not the null array of a timeout.
  if (!ctx.defer) return ctx.reply.Null();
  BlockRequest block;
  block.keys = {std::string(src)};
  block.lock_keys = {std::string(src), std::string(ctx.arg(2))};
  block.timeout_ms = timeout_ms;
  block.serve = [dst = std::string(ctx.arg(2)), from, to, rpoplpush](ServeContext& sc) {
    ListResult<ListObject*> source = FindList(sc.db, sc.key, false);
    if (!source.ok() || source.value == nullptr) return false;
    // A destination of another type answers WRONGTYPE and ends the wait; the element stays.
    ListResult<Moved> r = MoveAndNotify(sc.server, sc.db, sc.key, dst, from, to);
    if (!r.ok()) {
      sc.reply.Error(r.status);
    } else {
      sc.reply.Bulk(*r.value.value);
      if (sc.logging()) sc.Propagate(MoveCommand(rpoplpush, sc.key, dst, from, to));
    }
    return true;
  };
  ctx.server.blocking().Block(ctx, std::move(block));
}

void CmdBLMove(CommandContext& ctx) {
  ListEnd from;
  ListEnd to;
  if (!ParseMoveEnds(ctx, &from, &to)) return;
  int64_t timeout_ms = 0;
  if (!ParseBlockTimeout(ctx.arg(5), &timeout_ms, ctx.reply)) return;
  BlockingMove(ctx, from, to, timeout_ms);
}

void CmdBRPopLPush(CommandContext& ctx) {
  int64_t timeout_ms = 0;
  if (!ParseBlockTimeout(ctx.arg(3), &timeout_ms, ctx.reply)) return;
  BlockingMove(ctx, ListEnd::kRight, ListEnd::kLeft, timeout_ms);
}

}  // namespace

void RegisterListFamily(Registry& registry) {
  constexpr uint32_t kW = kWrite | kDenyOom | kFast;
  static constexpr CommandRow kCommands[] = {
      {"lpush", kW, -3, 1, 1, 1, CmdLPush},
      {"rpush", kW, -3, 1, 1, 1, CmdRPush},
      {"lpushx", kW, -3, 1, 1, 1, CmdLPushX},
      {"rpushx", kW, -3, 1, 1, 1, CmdRPushX},
      {"lpop", kWrite | kFast, -2, 1, 1, 1, CmdLPop},
      {"rpop", kWrite | kFast, -2, 1, 1, 1, CmdRPop},
      {"llen", kReadOnly | kFast, 2, 1, 1, 1, CmdLLen},
      {"lrange", kReadOnly, 4, 1, 1, 1, CmdLRange},
      {"lindex", kReadOnly, 3, 1, 1, 1, CmdLIndex},
      {"lset", kWrite | kDenyOom, 4, 1, 1, 1, CmdLSet},
      {"linsert", kWrite | kDenyOom, 5, 1, 1, 1, CmdLInsert},
      {"lrem", kWrite, 4, 1, 1, 1, CmdLRem},
      {"ltrim", kWrite, 4, 1, 1, 1, CmdLTrim},
      {"lpos", kReadOnly, -3, 1, 1, 1, CmdLPos},
      {"lmove", kWrite | kDenyOom, 5, 1, 2, 1, CmdLMove},
      {"rpoplpush", kWrite | kDenyOom, 3, 1, 2, 1, CmdRPopLPush},
      {"blmove", kWrite | kDenyOom | kNoScript, 6, 1, 2, 1, CmdBLMove},
      {"brpoplpush", kWrite | kDenyOom | kNoScript, 4, 1, 2, 1, CmdBRPopLPush},
      // Keys from 1 to the one before the timeout.
      {"blpop", kWrite | kNoScript, -3, 1, -2, 1, CmdBLPop},
      {"brpop", kWrite | kNoScript, -3, 1, -2, 1, CmdBRPop},
      // The keys follow numkeys: the handlers lock them.
      {"lmpop", kWrite | kNoShardLock, -4, 0, 0, 0, CmdLMPop},
      {"blmpop", kWrite | kNoShardLock, -5, 0, 0, 0, CmdBLMPop},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
