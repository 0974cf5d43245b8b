#include "server/dispatch.h"

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

}  // namespace

void Dispatch(ServerContext& server, ClientState& client, const std::vector<std::string_view>& args,
              ReplyBuilder& reply, const DeferFn& defer) {
  const CommandSpec* spec = server.registry().Find(args[0]);
  if (spec == nullptr) {
    ReplyUnknownCommand(reply, args);
    return;
  }
  if (!spec->ArityOk(args.size())) {
    ReplyArity(reply, spec->name);
    return;
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
      return;
    }
    if (!sub->ArityOk(args.size())) {
      ReplyArity(reply, sub->name);
      return;
    }
    spec = sub;
  }
  if (!client.authenticated && !(spec->flags & kNoAuth)) {
    reply.Error("NOAUTH Authentication required.");
    return;
  }

  client.last_command.store(spec->name.c_str(), std::memory_order_relaxed);
  server.stats().total_commands_processed.fetch_add(1, std::memory_order_relaxed);

  ShardLocks locks;
  if (spec->flags & kAllShards) {
    locks.LockAll(server.keyspace());
  } else if (!(spec->flags & kNoShardLock) && spec->first_key > 0) {
    if (spec->last_key == spec->first_key) {
      locks.LockOne(server.keyspace(), args[spec->first_key]);
    } else {
      std::vector<std::string_view> keys;
      spec->CollectKeys(args, &keys);
      locks.LockKeys(server.keyspace(), keys);
    }
  }
  CommandContext ctx{args, reply, client, server, *spec, locks, defer};
  spec->handler(ctx);
}

}  // namespace rowcached::server
