// WATCH: which clients watch which keys, and marking their transactions dirty when a watched
// key changes (Redis 7.0's multi.c: watchForKey, touchWatchedKey, touchAllWatchedKeysInDb,
// isWatchedKeyExpired).
//
// Expiry follows Redis 7.0: a key already logically expired when WATCHed is remembered as such;
// its deletion by expiry is no logical change, but anything that brings it back is. A key that
// expires after WATCH counts as modified (EXEC checks the watched keys it still finds).
//
// Thread-safety: any thread. One mutex, a leaf lock taken under shard locks. Every method that
// looks at the keyspace REQUIRES the caller to hold the shard locks of the keys involved (all
// shards for TouchDb). Watch/UnwatchAll/AnyExpired run on the client's owning thread (they use
// its `watched` list).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/command.h"
#include "server/keyspace.h"

namespace rowcached::server {

class WatchRegistry {
 public:
  explicit WatchRegistry(int databases) : dbs_(databases) {}

  void Watch(Keyspace& ks, ClientState& client, int db, std::string_view key);
  void UnwatchAll(ClientState& client);
  // signalModifiedKey: marks the watchers of `key` in `db` dirty.
  void Touch(Keyspace& ks, int db, std::string_view key);
  // A database is emptied (FLUSHDB/FLUSHALL, replaced_with < 0) or swapped with `replaced_with`
  // (SWAPDB): marks the watchers of keys that existed in either. Call before the change.
  void TouchDb(Keyspace& ks, int emptied, int replaced_with);
  // Whether a key the client watched while it was live has logically expired since.
  bool AnyExpired(Keyspace& ks, const ClientState& client) const;

 private:
  struct Watcher {
    ClientState* client;
    bool expired;  // the key was logically expired when WATCHed
  };
  using Watchers = std::unordered_map<std::string, std::vector<Watcher>>;

  mutable std::mutex mu_;
  std::vector<Watchers> dbs_;            // per database: key -> its watchers
  std::atomic<size_t> watched_keys_{0};  // lets Touch skip the mutex when nobody watches
};

}  // namespace rowcached::server
