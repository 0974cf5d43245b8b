#include "server/dispatch.h"

#include "server/blocking.h"
#include "server/command_log.h"
#include "server/propagate.h"

namespace rowcached::server {

void ReplyUnknownCommand(ReplyBuilder& reply, const std::vector<std::string_view>& args) {
  // Same text as Redis 7.0's processCommand, including its truncation rules.
  std::string tail;
  for (size_t i = 1; i < args.size() && tail.size() < 128; ++i) {
    tail.push_back('\'');
    tail.append(args[i].substr(0, 128 - tail.size()));
    tail.append("' ");
  }
  std::string msg = "ERR unknown command '";
  msg.append(args[0].substr(0, 128));
  msg.append("', with args beginning with: ");
  msg.append(tail);
  reply.Error(msg);
}

namespace {

void ReplyArity(ReplyBuilder& reply, const std::string& name) {
  reply.Error("ERR wrong number of arguments for '" + name + "' command");
}

bool OwnsAnyKey(const KeyInterceptor& interceptor, const CommandSpec& spec,
                const std::vector<std::string_view>& args) {
  int last = spec.last_key < 0 ? static_cast<int>(args.size()) + spec.last_key : spec.last_key;
  int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last && i < static_cast<int>(args.size()); i += step) {
    if (interceptor.Owns(args[i])) return true;
  }
  return false;
}

}  // namespace

const CommandSpec* ResolveCommand(ServerContext& server, const std::vector<std::string_view>& args,
                                  ReplyBuilder& reply) {
  const CommandSpec* spec = server.registry().Find(args[0]);
  if (spec == nullptr) {
    ReplyUnknownCommand(reply, args);
    return nullptr;
  }
  if (!spec->ArityOk(args.size())) {
    ReplyArity(reply, spec->name);
    return nullptr;
  }
  if (!spec->subcommands.empty() && spec->handler == nullptr) {
    const CommandSpec* sub = nullptr;
    std::string wanted = spec->name + "|" + ToLower(args[1]);
    for (const auto& s : spec->subcommands) {
      if (s.name == wanted) sub = &s;
    }
    if (sub == nullptr) {
      reply.Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) + "'. Try " +
                  ToUpper(spec->name) + " HELP.");
      return nullptr;
    }
    if (!sub->ArityOk(args.size())) {
      ReplyArity(reply, sub->name);
      return nullptr;
    }
    spec = sub;
  }
  return spec;
}

namespace {

// The top-level name of a command or subcommand ("config|get" -> "config").
std::string_view TopName(const CommandSpec& spec) {
  return std::string_view(spec.name).substr(0, spec.name.find('|'));
}

// Redis' processCommand runs these at once inside MULTI instead of queueing them.
bool RunsInsideMulti(const CommandSpec& spec) {
  std::string_view n = TopName(spec);
  return n == "exec" || n == "discard" || n == "multi" || n == "watch" || n == "quit" ||
         n == "reset";
}

// What a RESP2 client may run while subscribed.
bool AllowedWhileSubscribed(const CommandSpec& spec) {
  std::string_view n = TopName(spec);
  return n == "subscribe" || n == "unsubscribe" || n == "psubscribe" || n == "punsubscribe" ||
         n == "ssubscribe" || n == "sunsubscribe" || n == "ping" || n == "quit" || n == "reset";
}

// Queues a command inside MULTI, or refuses it (which aborts the transaction at EXEC).
void QueueCommand(ServerContext& server, ClientState& client, const CommandSpec& spec,
                  const std::vector<std::string_view>& args, ReplyBuilder& reply) {
  // A table key's reply may wait for the database: it cannot run inside EXEC's locks.
  if (KeyInterceptor* interceptor = server.key_interceptor();
      interceptor != nullptr && spec.first_key > 0) {
    std::vector<std::string_view> keys;
    spec.CollectKeys(args, &keys);
    for (std::string_view key : keys) {
      if (interceptor->Owns(key)) {
        reply.Error("ERR " + std::string(key) +
                    " is a table key managed by rowcached; table keys cannot be used inside MULTI");
        client.multi_failed = true;
        return;
      }
    }
  }
  client.queued.emplace_back(args.begin(), args.end());
  reply.SimpleString("QUEUED");
}

}  // namespace

void Dispatch(ServerContext& server, ClientState& client, const std::vector<std::string_view>& args,
              ReplyBuilder& reply, const DeferFn& defer) {
  const CommandSpec* spec = ResolveCommand(server, args, reply);
  // Any command refused before it could be queued aborts the transaction (Redis'
  // flagTransaction).
  auto refuse = [&](std::string_view error) {
    reply.Error(error);
    if (client.in_multi) client.multi_failed = true;
  };
  if (spec == nullptr) {
    if (client.in_multi) client.multi_failed = true;
    return;
  }
  if (!client.authenticated && !(spec->flags & kNoAuth)) {
    refuse("NOAUTH Authentication required.");
    return;
  }
  if (client.subscribed() && client.resp.load(std::memory_order_relaxed) == 2 &&
      !AllowedWhileSubscribed(*spec)) {
    refuse("ERR Can't execute '" + spec->name +
           "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
           "context");
    return;
  }
  // Redis' processCommand: make room under maxmemory before any command, with no shard lock
  // held yet (eviction locks one shard at a time); if no room can be made, refuse the commands
  // that may grow memory and let the others (reads, DEL) run. Checked before queueing, as Redis
  // does: a refused command in MULTI aborts the transaction.
  if (server.evictor().PerformEvictions(server) == Evictor::Result::kFail &&
      (spec->flags & kDenyOom)) {
    refuse("OOM command not allowed when used memory > 'maxmemory'.");
    return;
  }
  // Redis' processCommand: with the append-only file failing, writes are refused (MISCONF).
  if (spec->flags & kWrite) {
    if (CommandLog* log = server.command_log(); log != nullptr) {
      std::string message;
      if (log->WriteError(&message)) {
        refuse(message);
        return;
      }
    }
  }
  if (client.in_multi && !RunsInsideMulti(*spec)) {
    QueueCommand(server, client, *spec, args, reply);
    return;
  }

  client.last_command.store(spec->name.c_str(), std::memory_order_relaxed);
  server.stats().total_commands_processed.Add();

  // Commands that run commands (EXEC) dispatch them while holding shard locks: only the
  // outermost Dispatch serves blocked clients, once its locks are released.
  thread_local int depth = 0;
  {
    ++depth;
    ShardLocks locks;
    CommandContext ctx{args, reply, client, server, *spec, locks, defer};
    if (KeyInterceptor* interceptor = server.key_interceptor();
        interceptor != nullptr && spec->first_key > 0 && OwnsAnyKey(*interceptor, *spec, args)) {
      interceptor->Handle(ctx);
    } else {
      RunBuiltin(ctx);
    }
    --depth;
  }
  // Redis' handleClientsBlockedOnKeys: the keys this command made ready serve their blocked
  // clients now, after the command (and its reply) and outside its shard locks.
  if (depth == 0) server.blocking().ServeReadyKeys();
}

void ExecuteQueued(ServerContext& server, ClientState& client,
                   const std::vector<std::string_view>& args, ReplyBuilder& reply) {
  const CommandSpec* spec = ResolveCommand(server, args, reply);
  if (spec == nullptr) return;
  client.last_command.store(spec->name.c_str(), std::memory_order_relaxed);
  server.stats().total_commands_processed.Add();
  ShardLocks locks;
  CommandContext ctx{args, reply, client, server, *spec, locks, nullptr};
  RunBuiltin(ctx);
}

void RunBuiltin(CommandContext& ctx) {
  const CommandSpec& spec = ctx.spec;
  Keyspace& ks = ctx.server.keyspace();
  if (spec.flags & kAllShards) {
    ctx.locks.LockAll(ks);
  } else if (!(spec.flags & kNoShardLock) && spec.first_key > 0 &&
             static_cast<size_t>(spec.first_key) < ctx.args.size()) {
    if (spec.last_key == spec.first_key) {
      ctx.locks.LockOne(ks, ctx.args[spec.first_key]);
    } else {
      std::vector<std::string_view> keys;
      spec.CollectKeys(ctx.args, &keys);
      ctx.locks.LockKeys(ks, keys);
    }
  }
  uint64_t changes_before = ThreadChangeCount();
  spec.handler(ctx);
  PropagateCommand(ctx, changes_before);
}

}  // namespace rowcached::server
