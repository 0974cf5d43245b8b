// CLIENT SETNAME / GETNAME / ID / LIST / KILL / UNBLOCK / INFO / HELP.
#include <fmt/format.h>

#include "server/blocking.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

// One CLIENT LIST line, with Redis 7.0's fields (buffer figures are not tracked: reported 0).
// `blocked`: waiting in a blocking command (flags=b).
std::string ClientLine(const ClientState& c, int64_t now_ms, bool blocked) {
  const char* cmd = c.last_command.load(std::memory_order_relaxed);
  int sub = c.channel_count.load(std::memory_order_relaxed);
  int psub = c.pattern_count.load(std::memory_order_relaxed);
  return fmt::format(
      "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 "
      "multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
      "tot-mem=0 events=r cmd={} user=default redir=-1 resp={}\n",
      c.id, c.addr, c.laddr, c.fd, c.Name(), (now_ms - c.created_ms) / 1000,
      (now_ms - c.last_interaction_ms.load(std::memory_order_relaxed)) / 1000,
      blocked ? "b" : (sub + psub > 0 ? "P" : "N"), c.db.load(std::memory_order_relaxed), sub, psub,
      cmd, c.resp.load(std::memory_order_relaxed));
}

bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void CmdClientSetName(CommandContext& ctx) {
  if (!ValidClientName(ctx.arg(2))) {
    ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
    return;
  }
  std::lock_guard l(ctx.client.mu);
  ctx.client.name = std::string(ctx.arg(2));
  ctx.reply.Ok();
}

void CmdClientGetName(CommandContext& ctx) {
  std::string name = ctx.client.Name();
  if (name.empty()) {
    ctx.reply.Null();
  } else {
    ctx.reply.Bulk(name);
  }
}

void CmdClientId(CommandContext& ctx) { ctx.reply.Integer(static_cast<int64_t>(ctx.client.id)); }

void CmdClientInfo(CommandContext& ctx) {
  ctx.reply.Verbatim(ClientLine(ctx.client, ctx.server.clock().NowMs(), false));
}

void CmdClientList(CommandContext& ctx) {
  std::vector<uint64_t> ids;
  for (size_t i = 2; i < ctx.argc(); ++i) {
    if (EqualsIgnoreCase(ctx.arg(i), "TYPE") && i + 1 < ctx.argc()) {
      auto t = ctx.arg(++i);
      if (!EqualsIgnoreCase(t, "normal") && !EqualsIgnoreCase(t, "master") &&
          !EqualsIgnoreCase(t, "replica") && !EqualsIgnoreCase(t, "pubsub")) {
        ctx.reply.Error("ERR Unknown client type '" + std::string(t) + "'");
        return;
      }
      if (!EqualsIgnoreCase(t, "normal")) ids.push_back(0);  // matches nobody
    } else if (EqualsIgnoreCase(ctx.arg(i), "ID") && i + 1 < ctx.argc()) {
      for (++i; i < ctx.argc(); ++i) {
        int64_t id;
        if (!ParseInt64(ctx.arg(i), &id) || id <= 0) {
          ctx.reply.Error("ERR Invalid client ID");
          return;
        }
        ids.push_back(static_cast<uint64_t>(id));
      }
    } else {
      ctx.reply.Error(ErrorText(Status::kSyntax));
      return;
    }
  }
  int64_t now = ctx.server.clock().NowMs();
  std::string out;
  for (const auto& c : ctx.server.Clients()) {
    if (!ids.empty() && std::find(ids.begin(), ids.end(), c->state().id) == ids.end()) continue;
    out += ClientLine(c->state(), now, ctx.server.blocking().IsBlocked(c->state().id));
  }
  ctx.reply.Verbatim(out);
}

// CLIENT KILL addr:port (old form: +OK or error) or CLIENT KILL <filter> <value> ... (count).
void CmdClientKill(CommandContext& ctx) {
  struct Filter {
    std::string addr, laddr;
    int64_t id = 0;
    bool skipme = true;
    bool type_other = false;
  } f;
  bool old_form = ctx.argc() == 3;
  if (old_form) {
    f.addr = std::string(ctx.arg(2));
    f.skipme = false;
  } else {
    if ((ctx.argc() - 2) % 2 != 0) {
      ctx.reply.Error(ErrorText(Status::kSyntax));
      return;
    }
    for (size_t i = 2; i + 1 < ctx.argc(); i += 2) {
      auto key = ctx.arg(i), value = ctx.arg(i + 1);
      if (EqualsIgnoreCase(key, "ID")) {
        if (!ParseInt64(value, &f.id) || f.id <= 0) {
          ctx.reply.Error("ERR client-id should be greater than 0");
          return;
        }
      } else if (EqualsIgnoreCase(key, "ADDR")) {
        f.addr = std::string(value);
      } else if (EqualsIgnoreCase(key, "LADDR")) {
        f.laddr = std::string(value);
      } else if (EqualsIgnoreCase(key, "TYPE")) {
        if (EqualsIgnoreCase(value, "normal")) {
        } else if (EqualsIgnoreCase(value, "master") || EqualsIgnoreCase(value, "replica") ||
                   EqualsIgnoreCase(value, "slave") || EqualsIgnoreCase(value, "pubsub")) {
          f.type_other = true;
        } else {
          ctx.reply.Error("ERR Unknown client type '" + std::string(value) + "'");
          return;
        }
      } else if (EqualsIgnoreCase(key, "USER")) {
        if (value != "default") {
          ctx.reply.Error("ERR No such user '" + std::string(value) + "'");
          return;
        }
      } else if (EqualsIgnoreCase(key, "SKIPME")) {
        if (EqualsIgnoreCase(value, "yes")) {
          f.skipme = true;
        } else if (EqualsIgnoreCase(value, "no")) {
          f.skipme = false;
        } else {
          ctx.reply.Error(ErrorText(Status::kSyntax));
          return;
        }
      } else {
        ctx.reply.Error(ErrorText(Status::kSyntax));
        return;
      }
    }
  }
  int64_t killed = 0;
  for (const auto& c : ctx.server.Clients()) {
    const ClientState& s = c->state();
    if (f.type_other) continue;
    if (!f.addr.empty() && s.addr != f.addr) continue;
    if (!f.laddr.empty() && s.laddr != f.laddr) continue;
    if (f.id != 0 && s.id != static_cast<uint64_t>(f.id)) continue;
    if (s.id == ctx.client.id) {
      if (f.skipme) continue;
      ctx.client.close_after_reply = true;  // reply first, then close, like Redis
    } else {
      c->Kill();
    }
    ++killed;
  }
  if (old_form) {
    if (killed == 0) {
      ctx.reply.Error("ERR No such client");
    } else {
      ctx.reply.Ok();
    }
  } else {
    ctx.reply.Integer(killed);
  }
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR]: answers a client blocked on keys as if it timed out, or
// with the UNBLOCKED error.
void CmdClientUnblock(CommandContext& ctx) {
  if (ctx.argc() > 4) {
    return ctx.reply.Error(
        "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.");
  }
  bool error = false;
  if (ctx.argc() == 4) {
    if (EqualsIgnoreCase(ctx.arg(3), "error")) {
      error = true;
    } else if (!EqualsIgnoreCase(ctx.arg(3), "timeout")) {
      return ctx.reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    }
  }
  int64_t id = 0;
  if (!ParseInt64(ctx.arg(2), &id)) return ctx.reply.Error(Status::kNotInteger);
  ctx.reply.Integer(ctx.server.blocking().Unblock(static_cast<uint64_t>(id), error) ? 1 : 0);
}

void CmdClientHelp(CommandContext& ctx) {
  static constexpr const char* kLines[] = {
      "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "KILL <ip:port>",
      "    Kill connection made from <ip:port>.",
      "KILL <option> <value> [<option> <value> [...]]",
      "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
      "LIST [options ...]",
      "    Return information about client connections. Options: TYPE, ID.",
      "UNBLOCK <clientid> [TIMEOUT|ERROR]",
      "    Unblock the specified blocked client.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "HELP",
      "    Print this help.",
  };
  ctx.reply.Array(std::size(kLines));
  for (const char* l : kLines) ctx.reply.SimpleString(l);
}

}  // namespace

void RegisterClientFamily(Registry& registry) {
  constexpr uint32_t kConn = kLoading | kStale | kNoScript;
  registry.Add(
      {.name = "client",
       .arity = -2,
       .subcommands = {
           {.name = "client|setname", .flags = kConn, .arity = 3, .handler = CmdClientSetName},
           {.name = "client|getname", .flags = kConn, .arity = 2, .handler = CmdClientGetName},
           {.name = "client|id", .flags = kConn, .arity = 2, .handler = CmdClientId},
           {.name = "client|info", .flags = kConn, .arity = 2, .handler = CmdClientInfo},
           {.name = "client|list", .flags = kConn | kAdmin, .arity = -2, .handler = CmdClientList},
           {.name = "client|kill", .flags = kConn | kAdmin, .arity = -3, .handler = CmdClientKill},
           {.name = "client|unblock",
            .flags = kConn | kAdmin,
            .arity = -3,
            .handler = CmdClientUnblock},
           {.name = "client|help", .flags = kConn, .arity = 2, .handler = CmdClientHelp},
       }});
}

}  // namespace rowcached::server
