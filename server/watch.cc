#include "server/watch.h"

#include <algorithm>

namespace rowcached::server {
namespace {

// The entry of `key` in database `db` as stored, logically expired or not (Redis' dictFind).
Entry* RawFind(Keyspace& ks, int db, std::string_view key) {
  uint64_t h = Table::Hash(key);
  return ks.shard(Keyspace::ShardOf(h)).dbs[db].Find(key, h);
}

// Redis' keyIsExpired: present with a TTL that has passed.
bool RawExpired(Keyspace& ks, int db, std::string_view key) {
  uint64_t h = Table::Hash(key);
  Table& t = ks.shard(Keyspace::ShardOf(h)).dbs[db];
  Entry* e = t.Find(key, h);
  if (e == nullptr) return false;
  int64_t at = t.ExpireAt(e);
  return at >= 0 && at <= ks.clock().NowMs();
}

void MarkDirty(ClientState* client) { client->watch_dirty.store(true, std::memory_order_relaxed); }

}  // namespace

void WatchRegistry::Watch(Keyspace& ks, ClientState& client, int db, std::string_view key) {
  for (const auto& [wdb, wkey] : client.watched) {
    if (wdb == db && wkey == key) return;
  }
  bool expired = RawExpired(ks, db, key);
  client.watched.emplace_back(db, std::string(key));
  std::lock_guard l(mu_);
  dbs_[db][std::string(key)].push_back({&client, expired});
  watched_keys_.fetch_add(1, std::memory_order_relaxed);
}

void WatchRegistry::UnwatchAll(ClientState& client) {
  if (client.watched.empty()) return;
  std::lock_guard l(mu_);
  for (const auto& [db, key] : client.watched) {
    auto it = dbs_[db].find(key);
    if (it == dbs_[db].end()) continue;
    auto& ws = it->second;
    ws.erase(
        std::remove_if(ws.begin(), ws.end(), [&](const Watcher& w) { return w.client == &client; }),
        ws.end());
    if (ws.empty()) dbs_[db].erase(it);
    watched_keys_.fetch_sub(1, std::memory_order_relaxed);
  }
  client.watched.clear();
}

void WatchRegistry::Touch(Keyspace& ks, int db, std::string_view key) {
  if (watched_keys_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard l(mu_);
  auto it = dbs_[db].find(std::string(key));
  if (it == dbs_[db].end()) return;
  for (Watcher& w : it->second) {
    if (w.expired) {
      // Watched while already expired: its deletion is no logical change.
      if (RawFind(ks, db, key) == nullptr) {
        w.expired = false;
        continue;
      }
    }
    MarkDirty(w.client);
  }
}

void WatchRegistry::TouchDb(Keyspace& ks, int emptied, int replaced_with) {
  if (watched_keys_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard l(mu_);
  for (auto& [key, watchers] : dbs_[emptied]) {
    bool in_emptied = RawFind(ks, emptied, key) != nullptr;
    bool in_replacement = replaced_with >= 0 && RawFind(ks, replaced_with, key) != nullptr;
    if (!in_emptied && !in_replacement) continue;
    for (Watcher& w : watchers) {
      if (w.expired) {
        if (!in_replacement) {
          w.expired = false;  // the expired key is deleted: no logical change
          continue;
        }
        if (RawExpired(ks, replaced_with, key)) continue;  // still expired
      } else if (!in_emptied && RawExpired(ks, replaced_with, key)) {
        w.expired = true;  // a missing key replaced by an expired one
        continue;
      }
      MarkDirty(w.client);
    }
  }
}

bool WatchRegistry::AnyExpired(Keyspace& ks, const ClientState& client) const {
  if (client.watched.empty()) return false;
  std::lock_guard l(mu_);
  for (const auto& [db, key] : client.watched) {
    auto it = dbs_[db].find(key);
    if (it == dbs_[db].end()) continue;
    for (const Watcher& w : it->second) {
      if (w.client == &client && !w.expired && RawExpired(ks, db, key)) return true;
    }
  }
  return false;
}

}  // namespace rowcached::server
