// What a command tells the rest of the server after it changes a key, as Redis' hooks do:
//
//   KeyModified          Redis' signalModifiedKey: a WATCHed key changed, so the transactions
//                        of the clients watching it must abort at EXEC.
//   NotifyKeyspaceEvent  Redis' notifyKeyspaceEvent: publishes __keyspace@<db>__:<key> and
//                        __keyevent@<db>__:<event> when `notify-keyspace-events` enables the class.
//
// Commands call both after a successful change, with the event names Redis uses for the same
// command (e.g. "lpush", "hset", "del", "expire", "expired", "evicted"), never when nothing
// changed. Called with the key's shard lock held: implementations must not block or take a
// shard lock.
//
// Thread-safety: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rowcached::server {

class ServerContext;
struct CommandContext;

// Event classes, the letters of `notify-keyspace-events`.
enum NotifyClass : uint32_t {
  kNotifyKeyspace = 1u << 0,  // K
  kNotifyKeyevent = 1u << 1,  // E
  kNotifyGeneric = 1u << 2,   // g: DEL, EXPIRE, RENAME, ...
  kNotifyString = 1u << 3,    // $
  kNotifyList = 1u << 4,      // l
  kNotifySet = 1u << 5,       // s
  kNotifyHash = 1u << 6,      // h
  kNotifyZSet = 1u << 7,      // z
  kNotifyExpired = 1u << 8,   // x
  kNotifyEvicted = 1u << 9,   // e
  kNotifyStream = 1u << 10,   // t
  kNotifyKeyMiss = 1u << 11,  // m (not part of A)
  kNotifyLoaded = 1u << 12,   // internal
  kNotifyModule = 1u << 13,   // d
  kNotifyNew = 1u << 14,      // n (not part of A)
};

// Redis' "A": every class but key-miss and new-key.
inline constexpr uint32_t kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet |
                                       kNotifyHash | kNotifyZSet | kNotifyExpired | kNotifyEvicted |
                                       kNotifyStream | kNotifyModule;

// `notify-keyspace-events` letters <-> classes, as Redis' keyspaceEventsStringToFlags (false on
// an unknown letter) and keyspaceEventsFlagsToString.
bool ParseNotifyFlags(std::string_view letters, uint32_t* flags);
std::string FormatNotifyFlags(uint32_t flags);

// Also counts the change: in ServerContext::dirty() and in this thread's ThreadChangeCount(),
// which makes the running command logged (propagate.h).
void KeyModified(ServerContext& server, int db, std::string_view key);
// Counts `n` changes that no single key stands for (FLUSHALL, SWAPDB), as KeyModified does.
void CountChanges(ServerContext& server, uint64_t n);
// For a key the server deleted by itself, by expiry or eviction: tells WATCH and logs DEL key.
// Not a change of the command running (Redis counts neither in server.dirty).
void KeyDeletedByServer(ServerContext& server, int db, std::string_view key);
void NotifyKeyspaceEvent(ServerContext& server, NotifyClass cls, std::string_view event,
                         std::string_view key, int db);

// The same for the command's own database.
void KeyModified(CommandContext& ctx, std::string_view key);
void NotifyKeyspaceEvent(CommandContext& ctx, NotifyClass cls, std::string_view event,
                         std::string_view key);
// Both: the usual pair after one successful change.
void KeyChanged(CommandContext& ctx, NotifyClass cls, std::string_view event, std::string_view key);

}  // namespace rowcached::server
