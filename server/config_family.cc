// CONFIG GET / SET / RESETSTAT / HELP over a table of parameters (Redis' names).
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "server/notify.h"
#include "server/persistence.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

// One CONFIG parameter: how to read it and (unless immutable) how to set it.
// A setter returns an empty string on success, otherwise the reason Redis would give.
struct ConfigParam {
  const char* name;
  std::function<std::string(const Options&)> get;
  std::function<std::string(Options&, std::string_view)> set;  // null = immutable
};

std::string SetInt(int64_t* field, std::string_view v, int64_t min, int64_t max) {
  int64_t n;
  if (!ParseInt64(v, &n)) return "argument couldn't be parsed into an integer";
  if (n < min || n > max)
    return "argument must be between " + Int64ToString(min) + " and " + Int64ToString(max) +
           " inclusive";
  *field = n;
  return "";
}

std::string SetMemory(int64_t* field, std::string_view v) {
  int64_t n;
  if (!ParseMemory(v, &n)) return "argument must be a memory value";
  *field = n;
  return "";
}

std::string SetEnum(std::string* field, std::string_view v,
                    std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (EqualsIgnoreCase(a, v)) {
      *field = std::string(a);
      return "";
    }
  }
  return "argument(s) must be one of the following: " + [&] {
    std::string s;
    for (auto a : allowed) s += (s.empty() ? "" : ", ") + std::string(a);
    return s;
  }();
}

std::string YesNo(bool b) { return b ? "yes" : "no"; }

std::string SetBool(bool* field, std::string_view v) {
  if (EqualsIgnoreCase(v, "yes")) {
    *field = true;
  } else if (EqualsIgnoreCase(v, "no")) {
    *field = false;
  } else {
    return "argument must be 'yes' or 'no'";
  }
  return "";
}

// CONFIG SET save "3600 1 300 100": pairs of positive integers, or "" for no snapshots.
std::string SetSave(std::vector<std::string>* rules, std::string_view v) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && v[i] == ' ') ++i;
    size_t j = i;
    while (j < v.size() && v[j] != ' ') ++j;
    if (j > i) words.push_back(v.substr(i, j - i));
    i = j;
  }
  if (words.size() % 2 != 0) return "Invalid save parameters";
  std::vector<std::string> parsed;
  for (size_t k = 0; k < words.size(); k += 2) {
    int64_t secs, changes;
    if (!ParseInt64(words[k], &secs) || !ParseInt64(words[k + 1], &changes) || secs < 1 ||
        changes < 0) {
      return "Invalid save parameters";
    }
    parsed.push_back(std::string(words[k]) + " " + std::string(words[k + 1]));
  }
  *rules = std::move(parsed);
  return "";
}

std::string JoinSave(const std::vector<std::string>& rules) {
  std::string s;
  for (const auto& r : rules) s += (s.empty() ? "" : " ") + r;
  return s;
}

const std::vector<ConfigParam>& Params() {
  static const std::vector<ConfigParam> params = {
      {"bind", [](const Options& o) { return o.bind; }, nullptr},
      {"port", [](const Options& o) { return Int64ToString(o.port); }, nullptr},
      {"databases", [](const Options& o) { return Int64ToString(o.databases); }, nullptr},
      {"io-threads", [](const Options& o) { return Int64ToString(o.threads); }, nullptr},
      {"requirepass", [](const Options& o) { return o.requirepass; },
       [](Options& o, std::string_view v) {
         o.requirepass = std::string(v);
         return std::string();
       }},
      {"maxclients", [](const Options& o) { return Int64ToString(o.maxclients); },
       [](Options& o, std::string_view v) { return SetInt(&o.maxclients, v, 1, 1000000); }},
      {"maxmemory", [](const Options& o) { return Int64ToString(o.maxmemory); },
       [](Options& o, std::string_view v) { return SetMemory(&o.maxmemory, v); }},
      {"maxmemory-policy", [](const Options& o) { return o.maxmemory_policy; },
       [](Options& o, std::string_view v) {
         return SetEnum(&o.maxmemory_policy, v,
                        {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                         "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"});
       }},
      {"maxmemory-samples", [](const Options& o) { return Int64ToString(o.maxmemory_samples); },
       [](Options& o, std::string_view v) {
         return SetInt(&o.maxmemory_samples, v, 1, INT32_MAX);
       }},
      {"lfu-log-factor", [](const Options& o) { return Int64ToString(o.lfu_log_factor); },
       [](Options& o, std::string_view v) { return SetInt(&o.lfu_log_factor, v, 0, INT32_MAX); }},
      {"lfu-decay-time", [](const Options& o) { return Int64ToString(o.lfu_decay_time); },
       [](Options& o, std::string_view v) { return SetInt(&o.lfu_decay_time, v, 0, INT32_MAX); }},
      {"notify-keyspace-events",
       [](const Options& o) { return FormatNotifyFlags(o.notify_keyspace_events); },
       [](Options& o, std::string_view v) {
         if (!ParseNotifyFlags(v, &o.notify_keyspace_events)) {
           return std::string("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
         }
         return std::string();
       }},
      {"proto-max-bulk-len", [](const Options& o) { return Int64ToString(o.proto_max_bulk_len); },
       [](Options& o, std::string_view v) {
         std::string err = SetMemory(&o.proto_max_bulk_len, v);
         if (err.empty() && o.proto_max_bulk_len < 1024 * 1024) {
           return std::string(  // Redis' text for this bound
               "argument must be between 1048576 and 9223372036854775807 inclusive");
         }
         return err;
       }},
      {"client-query-buffer-limit",
       [](const Options& o) { return Int64ToString(o.client_query_buffer_limit); },
       [](Options& o, std::string_view v) { return SetMemory(&o.client_query_buffer_limit, v); }},
      {"hll-sparse-max-bytes",
       [](const Options& o) { return Int64ToString(o.hll_sparse_max_bytes); },
       [](Options& o, std::string_view v) { return SetMemory(&o.hll_sparse_max_bytes, v); }},
      {"hz", [](const Options& o) { return Int64ToString(o.hz); },
       [](Options& o, std::string_view v) {
         int64_t hz = o.hz;
         std::string err = SetInt(&hz, v, 1, 500);
         o.hz = static_cast<int>(hz);
         return err;
       }},
      {"timeout", [](const Options& o) { return Int64ToString(o.timeout); },
       [](Options& o, std::string_view v) { return SetInt(&o.timeout, v, 0, INT32_MAX); }},
      {"dir", [](const Options& o) { return o.dir; }, nullptr},
      // Applied by CmdConfigSet (Persistence::SetAppendOnly) once the value is set.
      {"appendonly", [](const Options& o) { return YesNo(o.appendonly); },
       [](Options& o, std::string_view v) { return SetBool(&o.appendonly, v); }},
      {"appendfsync", [](const Options& o) { return o.appendfsync; },
       [](Options& o, std::string_view v) {
         return SetEnum(&o.appendfsync, v, {"always", "everysec", "no"});
       }},
      {"save", [](const Options& o) { return JoinSave(o.save); },
       [](Options& o, std::string_view v) { return SetSave(&o.save, v); }},
      {"dbfilename", [](const Options& o) { return o.dbfilename; }, nullptr},
      {"rdbcompression", [](const Options& o) { return YesNo(o.rdbcompression); },
       [](Options& o, std::string_view v) { return SetBool(&o.rdbcompression, v); }},
      {"appendfilename", [](const Options& o) { return o.appendfilename; }, nullptr},
      {"appenddirname", [](const Options& o) { return o.appenddirname; }, nullptr},
      {"aof-load-truncated", [](const Options& o) { return YesNo(o.aof_load_truncated); },
       [](Options& o, std::string_view v) { return SetBool(&o.aof_load_truncated, v); }},
      {"aof-use-rdb-preamble", [](const Options& o) { return YesNo(o.aof_use_rdb_preamble); },
       [](Options& o, std::string_view v) { return SetBool(&o.aof_use_rdb_preamble, v); }},
      {"auto-aof-rewrite-percentage",
       [](const Options& o) { return Int64ToString(o.auto_aof_rewrite_percentage); },
       [](Options& o, std::string_view v) {
         return SetInt(&o.auto_aof_rewrite_percentage, v, 0, INT32_MAX);
       }},
      {"auto-aof-rewrite-min-size",
       [](const Options& o) { return Int64ToString(o.auto_aof_rewrite_min_size); },
       [](Options& o, std::string_view v) { return SetMemory(&o.auto_aof_rewrite_min_size, v); }},
  };
  return params;
}

void CmdConfigGet(CommandContext& ctx) {
  Options o = ctx.server.options();
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& p : Params()) {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      if (GlobMatch(ctx.arg(i), p.name, true)) {
        found.emplace_back(p.name, p.get(o));
        break;
      }
    }
  }
  ctx.reply.Map(found.size());
  for (const auto& [k, v] : found) {
    ctx.reply.Bulk(k);
    ctx.reply.Bulk(v);
  }
}

void CmdConfigSet(CommandContext& ctx) {
  if (ctx.argc() % 2 != 0) {
    ctx.reply.Error("ERR wrong number of arguments for 'config|set' command");
    return;
  }
  // All or nothing, like Redis 7: validate every pair on a copy, then apply.
  Options copy = ctx.server.options();
  std::vector<std::pair<const ConfigParam*, std::string_view>> values;  // validated, in order
  bool sets_appendonly = false;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    const ConfigParam* param = nullptr;
    for (const auto& p : Params()) {
      if (EqualsIgnoreCase(p.name, ctx.arg(i))) param = &p;
    }
    if (param == nullptr) {
      ctx.reply.Error("ERR Unknown option or number of arguments for CONFIG SET - '" +
                      std::string(ctx.arg(i)) + "'");
      return;
    }
    if (!param->set) {
      ctx.reply.Error("ERR CONFIG SET failed (possibly related to argument '" +
                      std::string(ctx.arg(i)) + "') - can't set immutable config");
      return;
    }
    std::string err = param->set(copy, ctx.arg(i + 1));
    if (!err.empty()) {
      ctx.reply.Error("ERR CONFIG SET failed (possibly related to argument '" +
                      std::string(ctx.arg(i)) + "') - " + err);
      return;
    }
    if (EqualsIgnoreCase(param->name, "appendonly")) {
      sets_appendonly = true;
    } else {
      values.emplace_back(param, ctx.arg(i + 1));
    }
  }
  // Value by value onto the live options rather than the whole copy, so that a concurrent
  // CONFIG SET of other parameters keeps its values.
  const Options old = ctx.server.options();
  ctx.server.UpdateOptions([&](Options& o) {
    for (const auto& [param, value] : values) param->set(o, value);
  });
  // As Redis' apply functions, after every value is set (a new AOF takes the appendfsync of the
  // same command); when it fails, the command's other values are restored. Persistence sets
  // `appendonly` itself, one switch at a time, to the state it leaves.
  std::string apply_error;
  if (sets_appendonly && !ctx.server.persistence().SetAppendOnly(copy.appendonly, &apply_error)) {
    ctx.server.UpdateOptions([&](Options& o) {
      for (const auto& [param, value] : values) param->set(o, param->get(old));
    });
    ctx.reply.Error("ERR CONFIG SET failed (possibly related to argument 'appendonly') - " +
                    apply_error);
    return;
  }
  // Like Redis' updateMaxmemory: a lower limit is enforced at once, not at the next write.
  if (copy.maxmemory != old.maxmemory) (void)ctx.server.evictor().PerformEvictions(ctx.server);
  ctx.reply.Ok();
}

void CmdConfigResetStat(CommandContext& ctx) {
  ctx.server.ResetStats();
  ctx.reply.Ok();
}

void CmdConfigHelp(CommandContext& ctx) {
  static constexpr const char* kLines[] = {
      "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET <pattern>",
      "    Return parameters matching the glob-like <pattern> and their values.",
      "SET <directive> <value>",
      "    Set the configuration <directive> to <value>.",
      "RESETSTAT",
      "    Reset statistics reported by the INFO command.",
      "HELP",
      "    Print this help.",
  };
  ctx.reply.Array(std::size(kLines));
  for (const char* l : kLines) ctx.reply.SimpleString(l);
}

}  // namespace

void RegisterConfigCommands(Registry& registry) {
  registry.Add({.name = "config",
                .arity = -2,
                .subcommands = {
                    {.name = "config|get",
                     .flags = kAdmin | kNoShardLock,
                     .arity = -3,
                     .handler = CmdConfigGet},
                    {.name = "config|set",
                     .flags = kAdmin | kNoShardLock,
                     .arity = -4,
                     .handler = CmdConfigSet},
                    {.name = "config|resetstat",
                     .flags = kAdmin | kNoShardLock,
                     .arity = 2,
                     .handler = CmdConfigResetStat},
                    {.name = "config|help",
                     .flags = kLoading | kStale,
                     .arity = 2,
                     .handler = CmdConfigHelp},
                }});
}

}  // namespace rowcached::server
