// Pub/sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB (Redis 7.0's pubsub.c).
// The registry and delivery are in pubsub.h; RESP2's subscribed mode is enforced by the
// dispatcher.
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

int SubscriptionCount(const ClientState& client) {
  return static_cast<int>(client.channels.size() + client.patterns.size());
}

// One confirmation per channel: [kind, channel or null, subscriptions left], a push in RESP3.
void Confirm(CommandContext& ctx, std::string_view kind, const std::string_view* name) {
  ctx.reply.Push(3);
  ctx.reply.Bulk(kind);
  if (name != nullptr) {
    ctx.reply.Bulk(*name);
  } else {
    ctx.reply.Null();
  }
  ctx.reply.Integer(SubscriptionCount(ctx.client));
}

void CmdSubscribe(CommandContext& ctx) {
  for (size_t i = 1; i < ctx.argc(); ++i) {
    ctx.server.pubsub().Subscribe(ctx.client, ctx.arg(i));
    Confirm(ctx, "subscribe", &ctx.arg(i));
  }
}

void CmdPSubscribe(CommandContext& ctx) {
  for (size_t i = 1; i < ctx.argc(); ++i) {
    ctx.server.pubsub().PSubscribe(ctx.client, ctx.arg(i));
    Confirm(ctx, "psubscribe", &ctx.arg(i));
  }
}

// UNSUBSCRIBE / PUNSUBSCRIBE: the named ones, or all of them (one null confirmation when none).
void Unsubscribe(CommandContext& ctx, std::set<std::string, std::less<>>& current,
                 std::string_view kind, bool (PubSub::*remove)(ClientState&, std::string_view)) {
  PubSub& pubsub = ctx.server.pubsub();
  if (ctx.argc() > 1) {
    for (size_t i = 1; i < ctx.argc(); ++i) {
      (pubsub.*remove)(ctx.client, ctx.arg(i));
      Confirm(ctx, kind, &ctx.arg(i));
    }
    return;
  }
  if (current.empty()) {
    Confirm(ctx, kind, nullptr);
    return;
  }
  std::vector<std::string> names(current.begin(), current.end());
  for (const auto& name : names) {
    (pubsub.*remove)(ctx.client, name);
    std::string_view view = name;
    Confirm(ctx, kind, &view);
  }
}

void CmdUnsubscribe(CommandContext& ctx) {
  Unsubscribe(ctx, ctx.client.channels, "unsubscribe", &PubSub::Unsubscribe);
}

void CmdPUnsubscribe(CommandContext& ctx) {
  Unsubscribe(ctx, ctx.client.patterns, "punsubscribe", &PubSub::PUnsubscribe);
}

void CmdPublish(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.server.pubsub().Publish(ctx.arg(1), ctx.arg(2))));
}

void CmdPubSubChannels(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.");
    return;
  }
  bool all = ctx.argc() == 2;
  auto channels = ctx.server.pubsub().Channels(all ? std::string_view() : ctx.arg(2), all);
  ctx.reply.Array(channels.size());
  for (const auto& c : channels) ctx.reply.Bulk(c);
}

void CmdPubSubNumSub(CommandContext& ctx) {
  ctx.reply.Array((ctx.argc() - 2) * 2);
  for (size_t i = 2; i < ctx.argc(); ++i) {
    ctx.reply.Bulk(ctx.arg(i));
    ctx.reply.Integer(static_cast<int64_t>(ctx.server.pubsub().NumSub(ctx.arg(i))));
  }
}

void CmdPubSubNumPat(CommandContext& ctx) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.server.pubsub().NumPat()));
}

void CmdPubSubHelp(CommandContext& ctx) {
  static constexpr const char* kLines[] = {
      "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CHANNELS [<pattern>]",
      "    Return the currently active channels matching a <pattern> (default: '*').",
      "NUMPAT",
      "    Return number of subscriptions to patterns.",
      "NUMSUB [<channel> ...]",
      "    Return the number of subscribers for the specified channels, excluding",
      "    pattern subscriptions(default: no channels).",
      "SHARDCHANNELS [<pattern>]",
      "    Return the currently active shard level channels matching a <pattern> (default: '*').",
      "SHARDNUMSUB [<shardchannel> ...]",
      "    Return the number of subscribers for the specified shard level channel(s)",
      "HELP",
      "    Prints this help.",
  };
  ctx.reply.Array(std::size(kLines));
  for (const char* l : kLines) ctx.reply.SimpleString(l);
}

}  // namespace

void RegisterPubSubFamily(Registry& registry) {
  constexpr uint32_t kPubSubFlags = kLoading | kStale | kNoScript;
  static constexpr CommandRow kCommands[] = {
      {"subscribe", kPubSubFlags, -2, 0, 0, 0, CmdSubscribe},
      {"unsubscribe", kPubSubFlags, -1, 0, 0, 0, CmdUnsubscribe},
      {"psubscribe", kPubSubFlags, -2, 0, 0, 0, CmdPSubscribe},
      {"punsubscribe", kPubSubFlags, -1, 0, 0, 0, CmdPUnsubscribe},
      {"publish", kLoading | kStale | kFast, 3, 0, 0, 0, CmdPublish},
  };
  registry.AddAll(kCommands);
  registry.Add({.name = "pubsub",
                .arity = -2,
                .subcommands = {
                    {.name = "pubsub|channels",
                     .flags = kLoading | kStale,
                     .arity = -2,
                     .handler = CmdPubSubChannels},
                    {.name = "pubsub|numsub",
                     .flags = kLoading | kStale,
                     .arity = -2,
                     .handler = CmdPubSubNumSub},
                    {.name = "pubsub|numpat",
                     .flags = kLoading | kStale,
                     .arity = 2,
                     .handler = CmdPubSubNumPat},
                    {.name = "pubsub|help",
                     .flags = kLoading | kStale,
                     .arity = 2,
                     .handler = CmdPubSubHelp},
                }});
}

}  // namespace rowcached::server
