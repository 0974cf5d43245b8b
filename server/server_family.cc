// Connection and server commands: PING ECHO QUIT RESET HELLO AUTH SELECT DBSIZE FLUSHDB
// FLUSHALL INFO TIME CONFIG COMMAND SHUTDOWN.
#include "server/server_context.h"

namespace rowcached::server {
namespace {

void CmdPing(CommandContext& ctx) {
  if (ctx.argc() > 2) {
    ctx.reply.Error("ERR wrong number of arguments for 'ping' command");
    return;
  }
  if (ctx.argc() == 2) {
    ctx.reply.Bulk(ctx.arg(1));
  } else {
    ctx.reply.SimpleString("PONG");
  }
}

}  // namespace

void RegisterServerFamily(Registry& registry) {
  registry.Add({.name = "ping", .flags = kFast | kStale, .arity = -1, .handler = CmdPing});
}

}  // namespace rowcached::server
