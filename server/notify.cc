#include "server/notify.h"

#include <string>

#include "server/command.h"
#include "server/propagate.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

// The letters of the single classes, in the order Redis prints them.
constexpr std::pair<char, uint32_t> kClassLetters[] = {
    {'g', kNotifyGeneric}, {'$', kNotifyString}, {'l', kNotifyList},    {'s', kNotifySet},
    {'h', kNotifyHash},    {'z', kNotifyZSet},   {'x', kNotifyExpired}, {'e', kNotifyEvicted},
    {'t', kNotifyStream},  {'d', kNotifyModule}, {'n', kNotifyNew},
};

}  // namespace

bool ParseNotifyFlags(std::string_view letters, uint32_t* flags) {
  uint32_t out = 0;
  for (char c : letters) {
    if (c == 'A') {
      out |= kNotifyAll;
    } else if (c == 'K') {
      out |= kNotifyKeyspace;
    } else if (c == 'E') {
      out |= kNotifyKeyevent;
    } else if (c == 'm') {
      out |= kNotifyKeyMiss;
    } else {
      uint32_t found = 0;
      for (auto [letter, cls] : kClassLetters) {
        if (letter == c) found = cls;
      }
      if (found == 0) return false;
      out |= found;
    }
  }
  *flags = out;
  return true;
}

std::string FormatNotifyFlags(uint32_t flags) {
  std::string out;
  if ((flags & kNotifyAll) == kNotifyAll) {
    out.push_back('A');  // Redis then omits 'n' even when set
  } else {
    for (auto [letter, cls] : kClassLetters) {
      if (flags & cls) out.push_back(letter);
    }
  }
  if (flags & kNotifyKeyspace) out.push_back('K');
  if (flags & kNotifyKeyevent) out.push_back('E');
  if (flags & kNotifyKeyMiss) out.push_back('m');
  return out;
}

namespace {

// This thread's changes: read by the dispatcher around each handler (propagate.h).
thread_local uint64_t t_changes = 0;

}  // namespace

uint64_t ThreadChangeCount() { return t_changes; }

void CountChanges(ServerContext& server, uint64_t n) {
  t_changes += n;
  server.AddDirty(n);
}

void KeyModified(ServerContext& server, int db, std::string_view key) {
  CountChanges(server, 1);
  server.watches().Touch(server.keyspace(), db, key);
}

void KeyDeletedByServer(ServerContext& server, int db, std::string_view key) {
  server.watches().Touch(server.keyspace(), db, key);
  PropagateDeletion(server, db, key);
}

// Redis' notifyKeyspaceEvent: "__keyspace@<db>__:<key>" carries the event name,
// "__keyevent@<db>__:<event>" carries the key.
void NotifyKeyspaceEvent(ServerContext& server, NotifyClass cls, std::string_view event,
                         std::string_view key, int db) {
  uint32_t flags = server.notify_flags();
  if (!(flags & cls)) return;
  if (flags & kNotifyKeyspace) {
    std::string channel = "__keyspace@" + Int64ToString(db) + "__:";
    channel.append(key);
    server.pubsub().Publish(channel, event);
  }
  if (flags & kNotifyKeyevent) {
    std::string channel = "__keyevent@" + Int64ToString(db) + "__:";
    channel.append(event);
    server.pubsub().Publish(channel, key);
  }
}

void KeyModified(CommandContext& ctx, std::string_view key) {
  KeyModified(ctx.server, ctx.client.db.load(std::memory_order_relaxed), key);
}
void NotifyKeyspaceEvent(CommandContext& ctx, NotifyClass cls, std::string_view event,
                         std::string_view key) {
  NotifyKeyspaceEvent(ctx.server, cls, event, key, ctx.client.db.load(std::memory_order_relaxed));
}

void KeyChanged(CommandContext& ctx, NotifyClass cls, std::string_view event,
                std::string_view key) {
  KeyModified(ctx, key);
  NotifyKeyspaceEvent(ctx, cls, event, key);
}

}  // namespace rowcached::server
