// SAVE BGSAVE LASTSAVE: RDB snapshots on demand (persistence.h does the work).
#include "server/persistence.h"
#include "server/server_context.h"

namespace rowcached::server {
namespace {

void CmdSave(CommandContext& ctx) {
  std::string error;
  if (!ctx.server.persistence().Save(&error)) {
    ctx.reply.Error(error == "Background save already in progress" ? "ERR " + error : "ERR");
    return;
  }
  ctx.reply.Ok();
}

void CmdBgsave(CommandContext& ctx) {
  bool schedule = false;
  if (ctx.argc() > 1) {
    if (ctx.argc() > 2 || !EqualsIgnoreCase(ctx.arg(1), "SCHEDULE")) {
      ctx.reply.Error(ErrorText(Status::kSyntax));
      return;
    }
    schedule = true;
  }
  std::string error;
  switch (ctx.server.persistence().BackgroundSave(schedule, &error)) {
    case Persistence::BackgroundResult::kStarted:
      ctx.reply.SimpleString("Background saving started");
      return;
    case Persistence::BackgroundResult::kScheduled:
      ctx.reply.SimpleString("Background saving scheduled");
      return;
    case Persistence::BackgroundResult::kInProgress:
      if (ctx.server.persistence().child().running() == BackgroundChild::Kind::kRdb) {
        ctx.reply.Error("ERR Background save already in progress");
      } else {
        ctx.reply.Error(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
            "SCHEDULE in order to schedule a BGSAVE whenever possible.");
      }
      return;
    case Persistence::BackgroundResult::kFailed:
      ctx.reply.Error("ERR " + error);
      return;
  }
}

void CmdLastsave(CommandContext& ctx) {
  ctx.reply.Integer(ctx.server.persistence().lastsave_seconds());
}

}  // namespace

void RegisterPersistenceFamily(Registry& registry) {
  static constexpr CommandRow kCommands[] = {
      // SAVE holds every shard lock while it writes, as Redis' SAVE blocks its only thread.
      {"save", kAdmin | kNoScript | kAllShards, 1, 0, 0, 0, CmdSave},
      {"bgsave", kAdmin | kNoScript, -1, 0, 0, 0, CmdBgsave},
      {"lastsave", kFast | kLoading | kStale, 1, 0, 0, 0, CmdLastsave},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
