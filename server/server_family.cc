// Connection and server commands: PING ECHO QUIT RESET HELLO AUTH SELECT DBSIZE FLUSHDB
// FLUSHALL INFO TIME CONFIG COMMAND SHUTDOWN.
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "server/info.h"
#include "server/notify.h"
#include "server/persistence.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

void CmdPing(CommandContext& ctx) {
  if (ctx.argc() > 2) {
    ctx.reply.Error("ERR wrong number of arguments for 'ping' command");
    return;
  }
  if (ctx.client.subscribed() && !ctx.reply.resp3()) {
    // RESP2's subscribed mode can only carry arrays: ["pong", argument or ""].
    ctx.reply.Array(2);
    ctx.reply.Bulk("pong");
    ctx.reply.Bulk(ctx.argc() == 2 ? ctx.arg(1) : std::string_view());
  } else if (ctx.argc() == 2) {
    ctx.reply.Bulk(ctx.arg(1));
  } else {
    ctx.reply.SimpleString("PONG");
  }
}

void CmdEcho(CommandContext& ctx) { ctx.reply.Bulk(ctx.arg(1)); }

void CmdQuit(CommandContext& ctx) {
  ctx.reply.Ok();
  ctx.client.close_after_reply = true;
}

void CmdReset(CommandContext& ctx) {
  ctx.server.ReleaseClient(ctx.client);
  ctx.client.db = 0;
  ctx.client.resp = 2;
  ctx.reply.set_resp3(false);
  ctx.client.authenticated = ctx.server.options().requirepass.empty();
  {
    std::lock_guard l(ctx.client.mu);
    ctx.client.name.clear();
  }
  ctx.reply.SimpleString("RESET");
}

// Checks a user/password pair against requirepass (the only user is "default").
bool CheckPassword(ServerContext& server, std::string_view user, std::string_view pass) {
  std::string required = server.options().requirepass;
  return user == "default" && !required.empty() && pass == required;
}

constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";

void CmdAuth(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(ErrorText(Status::kSyntax));
    return;
  }
  std::string_view user = ctx.argc() == 3 ? ctx.arg(1) : "default";
  std::string_view pass = ctx.argc() == 3 ? ctx.arg(2) : ctx.arg(1);
  if (ctx.argc() == 2 && ctx.server.options().requirepass.empty()) {
    ctx.reply.Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
    return;
  }
  if (!CheckPassword(ctx.server, user, pass)) {
    ctx.reply.Error(kWrongPass);
    return;
  }
  ctx.client.authenticated = true;
  ctx.reply.Ok();
}

void CmdHello(CommandContext& ctx) {
  int64_t version = ctx.client.resp;
  size_t i = 1;
  if (ctx.argc() >= 2) {
    if (!ParseInt64(ctx.arg(1), &version)) {
      ctx.reply.Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    i = 2;
    if (version < 2 || version > 3) {
      ctx.reply.Error("NOPROTO unsupported protocol version");
      return;
    }
  }
  std::string_view setname;
  bool has_setname = false;
  for (; i < ctx.argc(); ++i) {
    bool more = i + 1 < ctx.argc();
    if (EqualsIgnoreCase(ctx.arg(i), "AUTH") && i + 2 < ctx.argc()) {
      if (!CheckPassword(ctx.server, ctx.arg(i + 1), ctx.arg(i + 2))) {
        ctx.reply.Error(kWrongPass);
        return;
      }
      ctx.client.authenticated = true;
      i += 2;
    } else if (EqualsIgnoreCase(ctx.arg(i), "SETNAME") && more) {
      setname = ctx.arg(++i);
      has_setname = true;
    } else {
      ctx.reply.Error("ERR Syntax error in HELLO option '" + std::string(ctx.arg(i)) + "'");
      return;
    }
  }
  if (!ctx.client.authenticated) {
    ctx.reply.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
    return;
  }
  if (has_setname) {
    for (char c : setname) {
      if (c < '!' || c > '~') {
        ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    }
    std::lock_guard l(ctx.client.mu);
    ctx.client.name = std::string(setname);
  }
  ctx.client.resp = static_cast<int>(version);
  ctx.reply.set_resp3(version == 3);
  auto& r = ctx.reply;
  r.Map(7);
  r.Bulk("server");
  r.Bulk("redis");
  r.Bulk("version");
  r.Bulk(kRedisCompatVersion);
  r.Bulk("proto");
  r.Integer(version);
  r.Bulk("id");
  r.Integer(static_cast<int64_t>(ctx.client.id));
  r.Bulk("mode");
  r.Bulk("standalone");
  r.Bulk("role");
  r.Bulk("master");
  r.Bulk("modules");
  r.Array(0);
}

void CmdSelect(CommandContext& ctx) {
  int64_t index;
  if (!ParseInt64(ctx.arg(1), &index)) {
    ctx.reply.Error(ErrorText(Status::kNotInteger));
    return;
  }
  if (index < 0 || index >= ctx.server.keyspace().databases()) {
    ctx.reply.Error(ErrorText(Status::kDbIndexOutOfRange));
    return;
  }
  ctx.client.db = static_cast<int>(index);
  ctx.reply.Ok();
}

void CmdDbSize(CommandContext& ctx) { ctx.reply.Integer(static_cast<int64_t>(ctx.db().Size())); }

// FLUSHDB / FLUSHALL [ASYNC|SYNC]. Both modes free synchronously: the visible effect is the same.
bool ParseFlushMode(CommandContext& ctx) {
  if (ctx.argc() == 1) return true;
  if (ctx.argc() == 2 &&
      (EqualsIgnoreCase(ctx.arg(1), "ASYNC") || EqualsIgnoreCase(ctx.arg(1), "SYNC"))) {
    return true;
  }
  ctx.reply.Error(ErrorText(Status::kSyntax));
  return false;
}

// Empties database `db` (all when db < 0), first marking the transactions watching its keys.
void FlushAndTouch(CommandContext& ctx, int db) {
  Keyspace& ks = ctx.server.keyspace();
  ctx.locks.LockAll(ks);
  uint64_t removed = 0;
  for (int i = 0; i < ks.databases(); ++i) {
    if (db < 0 || db == i) {
      ctx.server.watches().TouchDb(ks, i, -1);
      removed += Db(&ks, i).Size();
    }
  }
  ks.Flush(db);  // re-entrant: the shards are already ours
  // Redis counts the keys removed, plus one so that even an empty flush is logged.
  CountChanges(ctx.server, removed + 1);
}

void CmdFlushDb(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  FlushAndTouch(ctx, ctx.client.db);
  ctx.reply.Ok();
}

void CmdFlushAll(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  FlushAndTouch(ctx, -1);
  ctx.reply.Ok();
}

void CmdTime(CommandContext& ctx) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  ctx.reply.Array(2);
  ctx.reply.Bulk(Int64ToString(us / 1000000));
  ctx.reply.Bulk(Int64ToString(us % 1000000));
}

void CmdInfo(CommandContext& ctx) {
  std::vector<std::string> sections;
  for (size_t i = 1; i < ctx.argc(); ++i) sections.push_back(ToLower(ctx.arg(i)));
  ctx.reply.Verbatim(RenderInfo(ctx.server, sections));
}

void CmdShutdown(CommandContext& ctx) {
  bool no_save = false, save = false, force = false;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    auto a = ctx.arg(i);
    if (EqualsIgnoreCase(a, "ABORT")) {
      ctx.reply.Error("ERR No shutdown in progress.");
      return;
    }
    if (EqualsIgnoreCase(a, "NOSAVE")) {
      no_save = true;
    } else if (EqualsIgnoreCase(a, "SAVE")) {
      save = true;
    } else if (EqualsIgnoreCase(a, "FORCE")) {
      force = true;
    } else if (!EqualsIgnoreCase(a, "NOW")) {
      ctx.reply.Error(ErrorText(Status::kSyntax));
      return;
    }
  }
  if (no_save && save) {
    ctx.reply.Error(ErrorText(Status::kSyntax));
    return;
  }
  // Redis' prepareForShutdown: killing the first rewrite of an AOF just turned on would leave
  // no file with the data (an earlier AOF's manifest, stale, is still the one on disk).
  if (!force && ctx.server.persistence().WritingInitialAof()) {
    spdlog::warn("Writing initial AOF, can't exit.");
    ctx.reply.Error("ERR Errors trying to SHUTDOWN. Check logs.");
    return;
  }
  // The final snapshot is written here, with every shard locked, so a failure can be answered;
  // the process writes one more after the I/O threads stopped if anything changed meanwhile.
  std::string error;
  if (!ctx.server.persistence().PrepareShutdown(save, no_save, &error) && !force) {
    ctx.reply.Error("ERR Errors trying to SHUTDOWN. Check logs.");
    return;
  }
  // Like Redis, a successful SHUTDOWN gets no reply: the connection just closes.
  ctx.client.close_after_reply = true;
  ctx.server.RequestShutdown();
}

}  // namespace

void RegisterServerFamily(Registry& registry) {
  static constexpr CommandRow kCommands[] = {
      {"ping", kFast | kStale, -1, 0, 0, 0, CmdPing},
      {"echo", kFast, 2, 0, 0, 0, CmdEcho},
      {"quit", kNoAuth | kFast | kLoading | kStale, -1, 0, 0, 0, CmdQuit},
      {"reset", kNoAuth | kFast | kLoading | kStale, 1, 0, 0, 0, CmdReset},
      {"auth", kNoAuth | kFast | kLoading | kStale, -2, 0, 0, 0, CmdAuth},
      {"hello", kNoAuth | kFast | kLoading | kStale, -1, 0, 0, 0, CmdHello},
      {"select", kFast | kLoading | kStale, 2, 0, 0, 0, CmdSelect},
      {"dbsize", kReadOnly | kFast | kAllShards, 1, 0, 0, 0, CmdDbSize},
      {"flushdb", kWrite | kNoShardLock, -1, 0, 0, 0, CmdFlushDb},
      {"flushall", kWrite | kNoShardLock, -1, 0, 0, 0, CmdFlushAll},
      {"time", kFast | kLoading | kStale, 1, 0, 0, 0, CmdTime},
      {"info", kLoading | kStale | kNoShardLock, -1, 0, 0, 0, CmdInfo},
      {"shutdown", kAdmin | kLoading | kStale | kNoScript | kAllShards, -1, 0, 0, 0, CmdShutdown},
  };
  registry.AddAll(kCommands);
  RegisterConfigCommands(registry);
  RegisterCommandCommands(registry);
}

}  // namespace rowcached::server
