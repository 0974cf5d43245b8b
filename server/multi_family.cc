// Transactions: MULTI EXEC DISCARD WATCH UNWATCH (Redis 7.0's multi.c).
//
// The dispatcher queues commands while the client is in MULTI (dispatch.cc). EXEC locks the
// shards of every key of the queued commands and of the watched keys (all shards when a command
// works on the whole keyspace or locks for itself) for the whole transaction, so no other client
// on any I/O thread sees it half done; each command then takes its own ShardLocks, which find
// their shards already held by the thread and lock nothing more.
#include "server/dispatch.h"
#include "server/propagate.h"
#include "server/server_context.h"

namespace rowcached::server {

void DiscardTransaction(ServerContext& server, ClientState& client) {
  client.in_multi = false;
  client.multi_failed = false;
  client.queued.clear();
  server.watches().UnwatchAll(client);
  client.watch_dirty.store(false, std::memory_order_relaxed);
}

namespace {

void CmdMulti(CommandContext& ctx) {
  if (ctx.client.in_multi) {
    ctx.reply.Error("ERR MULTI calls can not be nested");
    return;
  }
  ctx.client.in_multi = true;
  ctx.client.multi_failed = false;
  ctx.client.queued.clear();
  ctx.reply.Ok();
}

void CmdDiscard(CommandContext& ctx) {
  if (!ctx.client.in_multi) {
    ctx.reply.Error("ERR DISCARD without MULTI");
    return;
  }
  DiscardTransaction(ctx.server, ctx.client);
  ctx.reply.Ok();
}

// Locks what the queued commands and the WATCH check need, in one ascending pass.
void LockTransaction(ServerContext& server, const ClientState& client, ShardLocks* locks) {
  Keyspace& ks = server.keyspace();
  std::vector<std::string_view> keys;
  for (const auto& [db, key] : client.watched) keys.push_back(key);
  std::string discard_errors;
  ReplyBuilder no_reply(&discard_errors);
  for (const auto& queued : client.queued) {
    std::vector<std::string_view> args(queued.begin(), queued.end());
    const CommandSpec* spec = ResolveCommand(server, args, no_reply);
    if (spec == nullptr) continue;  // it will reply its own error
    if (spec->flags & (kAllShards | kNoShardLock)) {
      locks->LockAll(ks);
      return;
    }
    if (spec->first_key > 0) {
      std::vector<std::string_view> command_keys;
      spec->CollectKeys(args, &command_keys);
      // The views point into client.queued, which outlives the locking.
      keys.insert(keys.end(), command_keys.begin(), command_keys.end());
    }
  }
  locks->LockKeys(ks, keys);
}

void CmdExec(CommandContext& ctx) {
  ClientState& client = ctx.client;
  if (!client.in_multi) {
    ctx.reply.Error("ERR EXEC without MULTI");
    return;
  }
  if (client.multi_failed) {
    ctx.reply.Error("EXECABORT Transaction discarded because of previous errors.");
    DiscardTransaction(ctx.server, client);
    return;
  }
  ShardLocks locks;
  LockTransaction(ctx.server, client, &locks);
  if (client.watch_dirty.load(std::memory_order_relaxed) ||
      ctx.server.watches().AnyExpired(ctx.server.keyspace(), client)) {
    ctx.reply.NullArray();
    DiscardTransaction(ctx.server, client);
    return;
  }
  // The transaction's own writes must not mark it dirty, and it leaves MULTI before running so
  // that its commands execute instead of being queued again.
  std::vector<std::vector<std::string>> queued = std::move(client.queued);
  DiscardTransaction(ctx.server, client);
  // Each command logs its own changes; the frame wraps them in MULTI ... EXEC, appended while
  // the transaction's locks are held (the frame ends before `locks`).
  ctx.PropagateNothing();
  TransactionLogFrame log_frame;
  ctx.reply.Array(queued.size());
  for (const auto& command : queued) {
    std::vector<std::string_view> args(command.begin(), command.end());
    ExecuteQueued(ctx.server, client, args, ctx.reply);
  }
}

void CmdWatch(CommandContext& ctx) {
  if (ctx.client.in_multi) {
    ctx.reply.Error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  int db = ctx.client.db.load(std::memory_order_relaxed);
  for (size_t i = 1; i < ctx.argc(); ++i) {
    ctx.server.watches().Watch(ctx.server.keyspace(), ctx.client, db, ctx.arg(i));
  }
  ctx.reply.Ok();
}

void CmdUnwatch(CommandContext& ctx) {
  ctx.server.watches().UnwatchAll(ctx.client);
  ctx.client.watch_dirty.store(false, std::memory_order_relaxed);
  ctx.reply.Ok();
}

}  // namespace

void RegisterMultiFamily(Registry& registry) {
  static constexpr CommandRow kCommands[] = {
      {"multi", kFast | kLoading | kStale | kNoScript, 1, 0, 0, 0, CmdMulti},
      {"exec", kLoading | kStale | kNoScript | kNoShardLock, 1, 0, 0, 0, CmdExec},
      {"discard", kFast | kLoading | kStale | kNoScript, 1, 0, 0, 0, CmdDiscard},
      {"watch", kFast | kLoading | kStale | kNoScript, -2, 1, -1, 1, CmdWatch},
      {"unwatch", kFast | kLoading | kStale | kNoScript, 1, 0, 0, 0, CmdUnwatch},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
