// BGREWRITEAOF (Redis 7.0's aof.c bgrewriteaofCommand).
#include "server/aof.h"
#include "server/persistence.h"
#include "server/server_context.h"

namespace rowcached::server {

namespace {

void CmdBgRewriteAof(CommandContext& ctx) {
  std::shared_ptr<AppendOnlyFile> aof = ctx.server.persistence().aof();
  if (aof == nullptr) {
    ctx.reply.Error("ERR Background append only file rewriting needs appendonly yes");
    return;
  }
  std::string error;
  AppendOnlyFile::RewriteStart start = aof->StartRewrite(&error);
  std::string_view text = AppendOnlyFile::RewriteReply(start);
  if (start == AppendOnlyFile::RewriteStart::kStarted ||
      start == AppendOnlyFile::RewriteStart::kScheduled) {
    ctx.reply.SimpleString(text);
  } else {
    ctx.reply.Error(text);
  }
}

}  // namespace

void RegisterAofFamily(Registry& registry) {
  // No keys: the dispatcher takes no shard lock, which StartRewrite requires (the fork takes
  // them all).
  registry.Add({.name = "bgrewriteaof",
                .flags = kAdmin | kNoScript,
                .arity = 1,
                .handler = CmdBgRewriteAof});
}

}  // namespace rowcached::server
