// Runs one parsed command for one client: the path every request takes after the parser.
// Checks the command exists, its arity, authentication; makes room under maxmemory (refusing
// "denyoom" commands when it cannot, see eviction.h); locks the shards of its keys; calls the
// handler; counts it. Knows nothing of sockets, so tests drive it directly.
//
// Thread-safety: call from the thread that owns `client`.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "server/command.h"
#include "server/server_context.h"

namespace rowcached::server {

using DeferFn = std::function<std::shared_ptr<DeferredReply>()>;

void Dispatch(ServerContext& server, ClientState& client, const std::vector<std::string_view>& args,
              ReplyBuilder& reply, const DeferFn& defer = nullptr);

// Finds the spec of `args` (the subcommand's for a container command). On an unknown command or
// subcommand or a wrong arity, replies Redis' error and returns nullptr.
const CommandSpec* ResolveCommand(ServerContext& server, const std::vector<std::string_view>& args,
                                  ReplyBuilder& reply);

// Runs one command queued by MULTI, inside EXEC: no MULTI/subscription/auth checks (done when it
// was queued), no interceptor (table keys are refused when queueing) and no `defer`. The
// caller holds the shard locks of the command's keys (ShardLocks is re-entrant per thread).
void ExecuteQueued(ServerContext& server, ClientState& client,
                   const std::vector<std::string_view>& args, ReplyBuilder& reply);

// Runs the command's own handler with the shard locks its spec asks for. For interceptors that
// pass a command through to the keyspace.
void RunBuiltin(CommandContext& ctx);

// Redis' reply for an unknown command.
void ReplyUnknownCommand(ReplyBuilder& reply, const std::vector<std::string_view>& args);

}  // namespace rowcached::server
