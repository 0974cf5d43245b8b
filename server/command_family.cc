// COMMAND [COUNT | INFO | DOCS | LIST | HELP]: the registry described to clients.
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

std::vector<std::string_view> FlagNames(uint32_t flags) {
  static constexpr std::pair<CommandFlag, std::string_view> kNames[] = {
      {kWrite, "write"}, {kReadOnly, "readonly"}, {kDenyOom, "denyoom"},
      {kAdmin, "admin"}, {kNoAuth, "no_auth"},    {kLoading, "loading"},
      {kStale, "stale"}, {kNoScript, "noscript"}, {kFast, "fast"},
  };
  std::vector<std::string_view> out;
  for (auto [f, n] : kNames) {
    if (flags & f) out.push_back(n);
  }
  return out;
}

void ReplyCommandInfo(ReplyBuilder& r, const CommandSpec& spec) {
  r.Array(10);
  r.Bulk(spec.name);
  r.Integer(spec.arity);
  auto flags = FlagNames(spec.flags);
  r.Set(flags.size());
  for (auto f : flags) r.SimpleString(f);
  r.Integer(spec.first_key);
  r.Integer(spec.last_key);
  r.Integer(spec.key_step);
  r.Set(0);    // ACL categories
  r.Set(0);    // tips
  r.Array(0);  // key specifications
  r.Array(spec.subcommands.size());
  for (const auto& sub : spec.subcommands) ReplyCommandInfo(r, sub);
}

void CmdCommand(CommandContext& ctx) {
  const auto& all = ctx.server.registry().all();
  ctx.reply.Array(all.size());
  for (const auto& spec : all) ReplyCommandInfo(ctx.reply, *spec);
}

void CmdCommandCount(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.server.registry().all().size()));
}

void CmdCommandInfo(CommandContext& ctx) {
  if (ctx.argc() == 2) {
    CmdCommand(ctx);
    return;
  }
  ctx.reply.Array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); ++i) {
    const CommandSpec* spec = ctx.server.registry().Find(ctx.arg(i));
    if (spec == nullptr) {
      ctx.reply.Null();  // Redis 7.0: `$-1` in RESP2, not `*-1`
    } else {
      ReplyCommandInfo(ctx.reply, *spec);
    }
  }
}

// Documentation is not shipped; each command gets the fields clients look for, empty.
void ReplyDocs(ReplyBuilder& r, const CommandSpec& spec) {
  r.Bulk(spec.name);
  r.Map(3);
  r.Bulk("summary");
  r.Bulk("");
  r.Bulk("since");
  r.Bulk("");
  r.Bulk("group");
  r.Bulk("generic");
}

void CmdCommandDocs(CommandContext& ctx) {
  std::vector<const CommandSpec*> specs;
  if (ctx.argc() == 2) {
    for (const auto& spec : ctx.server.registry().all()) specs.push_back(spec.get());
  } else {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      if (const CommandSpec* spec = ctx.server.registry().Find(ctx.arg(i))) specs.push_back(spec);
    }
  }
  ctx.reply.Map(specs.size());
  for (const auto* spec : specs) ReplyDocs(ctx.reply, *spec);
}

void CmdCommandList(CommandContext& ctx) {
  std::string_view pattern = "*";
  if (ctx.argc() == 5 && EqualsIgnoreCase(ctx.arg(2), "FILTERBY") &&
      EqualsIgnoreCase(ctx.arg(3), "PATTERN")) {
    pattern = ctx.arg(4);
  } else if (ctx.argc() != 2) {
    ctx.reply.Error(ErrorText(Status::kSyntax));
    return;
  }
  std::vector<std::string_view> names;
  for (const auto& spec : ctx.server.registry().all()) {
    if (GlobMatch(pattern, spec->name, true)) names.push_back(spec->name);
  }
  ctx.reply.Array(names.size());
  for (auto n : names) ctx.reply.Bulk(n);
}

void CmdCommandHelp(CommandContext& ctx) {
  static constexpr const char* kLines[] = {
      "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "(no subcommand)",
      "    Return details about all Redis commands.",
      "COUNT",
      "    Return the total number of commands in this Redis server.",
      "LIST",
      "    Return a list of all commands in this Redis server.",
      "INFO [<command-name> ...]",
      "    Return details about multiple Redis commands.",
      "DOCS [<command-name> ...]",
      "    Return documentation details about multiple Redis commands.",
      "HELP",
      "    Print this help.",
  };
  ctx.reply.Array(std::size(kLines));
  for (const char* l : kLines) ctx.reply.SimpleString(l);
}

// COMMAND with no argument lists everything; with one, it is a container command.
void CmdCommandDispatch(CommandContext& ctx) {
  if (ctx.argc() == 1) {
    CmdCommand(ctx);
    return;
  }
  std::string sub = ToLower(ctx.arg(1));
  struct Sub {
    const char* name;
    int arity;
    void (*fn)(CommandContext&);
  };
  static constexpr Sub kSubs[] = {
      {"count", 2, CmdCommandCount}, {"info", -2, CmdCommandInfo}, {"docs", -2, CmdCommandDocs},
      {"list", -2, CmdCommandList},  {"help", 2, CmdCommandHelp},
  };
  for (const auto& s : kSubs) {
    if (sub != s.name) continue;
    bool ok = s.arity >= 0 ? ctx.argc() == static_cast<size_t>(s.arity)
                           : ctx.argc() >= static_cast<size_t>(-s.arity);
    if (!ok) {
      ctx.reply.Error("ERR wrong number of arguments for 'command|" + sub + "' command");
      return;
    }
    s.fn(ctx);
    return;
  }
  ctx.reply.Error("ERR unknown subcommand '" + std::string(ctx.arg(1)) + "'. Try COMMAND HELP.");
}

}  // namespace

void RegisterCommandCommands(Registry& registry) {
  registry.Add({.name = "command",
                .flags = kLoading | kStale | kNoShardLock,
                .arity = -1,
                .handler = CmdCommandDispatch});
}

}  // namespace rowcached::server
