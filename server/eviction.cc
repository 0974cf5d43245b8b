#include "server/eviction.h"

#include <algorithm>

#include "server/memory.h"
#include "server/notify.h"
#include "server/server_context.h"

namespace rowcached::server {
namespace {

// How good a key is to evict under `policy`: Redis' "idle" of the eviction pool.
uint64_t EvictionScore(const Entry& e, const Table& table, MaxMemoryPolicy policy, int64_t now_ms,
                       const EvictionConfig& config) {
  if (IsLfu(policy)) {
    return 255 - LfuDecayedCounter(e.lru(), now_ms,
                                   config.lfu_decay_time.load(std::memory_order_relaxed));
  }
  if (policy == MaxMemoryPolicy::kVolatileTtl) {
    return UINT64_MAX - static_cast<uint64_t>(table.ExpireAt(&e));
  }
  return static_cast<uint64_t>(LruIdleSeconds(e.lru(), now_ms));
}

}  // namespace

void DeleteEvictedKey(ServerContext& server, int db, Entry* entry) {
  std::string key(entry->key());
  uint64_t hash = Table::Hash(key);
  Keyspace& ks = server.keyspace();
  Entry::Free(ks.shard(Keyspace::ShardOf(hash)).dbs[db].Remove(key, hash));
  ks.stats().evicted_keys.fetch_add(1, std::memory_order_relaxed);
  KeyDeletedByServer(server, db, key);
  NotifyKeyspaceEvent(server, kNotifyEvicted, "evicted", key, db);
}

Evictor::Result Evictor::PerformEvictions(ServerContext& server) {
  const EvictionConfig& config = server.keyspace().eviction_config();
  int64_t maxmemory = config.maxmemory.load(std::memory_order_relaxed);
  if (maxmemory <= 0 || UsedMemory() <= maxmemory) return Result::kOk;
  // A command run under shard locks already held (a transaction's) is not checked: Redis
  // checks a transaction when it is queued and at EXEC, not command by command.
  if (ShardLocks::HeldByThisThread()) return Result::kOk;
  MaxMemoryPolicy policy = config.policy.load(std::memory_order_relaxed);
  if (policy == MaxMemoryPolicy::kNoEviction) return Result::kFail;

  std::lock_guard lock(mu_);
  if (policy != pool_policy_) {  // scores of another policy do not compare
    pool_.clear();
    pool_policy_ = policy;
  }
  // Keys deleted by other threads between sampling and eviction leave ghosts in the pool; a
  // few fresh rounds in a row that find nothing to evict mean there is nothing.
  constexpr int kMaxEmptyRounds = 3;
  int empty_rounds = 0;
  while (UsedMemory() > maxmemory) {
    bool evicted;
    if (IsRandom(policy)) {
      evicted = EvictRandom(server, policy);
      if (!evicted) return Result::kFail;
    } else {
      bool sampled = Populate(server, policy);
      evicted = EvictFromPool(server, policy);
      if (!evicted && (!sampled || ++empty_rounds >= kMaxEmptyRounds)) return Result::kFail;
    }
    if (evicted) empty_rounds = 0;
  }
  return Result::kOk;
}

void Evictor::Insert(Candidate candidate) {
  if (pool_.size() == kPoolSize && candidate.score <= pool_.front().score) return;
  auto same = std::find_if(pool_.begin(), pool_.end(), [&](const Candidate& c) {
    return c.db == candidate.db && c.key == candidate.key;
  });
  if (same != pool_.end()) pool_.erase(same);
  auto at = std::upper_bound(pool_.begin(), pool_.end(), candidate.score,
                             [](uint64_t score, const Candidate& c) { return score < c.score; });
  pool_.insert(at, std::move(candidate));
  if (pool_.size() > kPoolSize) pool_.erase(pool_.begin());
}

bool Evictor::Populate(ServerContext& server, MaxMemoryPolicy policy) {
  Keyspace& ks = server.keyspace();
  const EvictionConfig& config = ks.eviction_config();
  const size_t samples = static_cast<size_t>(config.samples.load(std::memory_order_relaxed));
  const size_t wanted = samples * kSamplesPerRoundFactor;
  const bool volatile_only = IsVolatileOnly(policy);
  const int64_t now = ks.clock().NowMs();
  size_t seen = 0;
  size_t visited = 0;
  while (visited < Keyspace::kShards && seen < wanted) {
    Keyspace::Shard& shard = ks.shard((shard_cursor_ + visited) % Keyspace::kShards);
    ++visited;
    std::lock_guard lock(shard.mu);
    for (int db = 0; db < ks.databases(); ++db) {
      const Table& table = shard.dbs[db];
      auto consider = [&](const Entry* e) {
        ++seen;
        uint64_t score = EvictionScore(*e, table, policy, now, config);
        if (pool_.size() == kPoolSize && score <= pool_.front().score) return;
        Insert({score, db, std::string(e->key())});
      };
      // A table no larger than the sample is taken whole (Redis' dictGetSomeKeys returns
      // distinct keys; drawing with replacement would miss some).
      if (volatile_only) {
        size_t n = table.volatile_count();
        if (n <= samples) {
          for (size_t i = 0; i < n; ++i) consider(table.volatile_slot(i).entry);
        } else {
          for (size_t i = 0; i < samples; ++i) consider(table.RandomVolatile(shard.rng)->entry);
        }
      } else if (table.size() <= samples) {
        table.ForEach(consider);
      } else {
        for (size_t i = 0; i < samples; ++i) consider(table.RandomEntry(shard.rng));
      }
    }
  }
  shard_cursor_ = (shard_cursor_ + visited) % Keyspace::kShards;
  return seen > 0;
}

bool Evictor::EvictFromPool(ServerContext& server, MaxMemoryPolicy policy) {
  Keyspace& ks = server.keyspace();
  while (!pool_.empty()) {
    Candidate best = std::move(pool_.back());
    pool_.pop_back();
    uint64_t hash = Table::Hash(best.key);
    Keyspace::Shard& shard = ks.shard(Keyspace::ShardOf(hash));
    std::unique_lock lock(shard.mu);
    Table& table = shard.dbs[best.db];
    Entry* e = table.Find(best.key, hash);
    if (e == nullptr) continue;  // a ghost: deleted since it was sampled
    if (IsVolatileOnly(policy) && table.ExpireAt(e) < 0) continue;  // persisted since
    uint64_t score = EvictionScore(*e, table, policy, ks.clock().NowMs(), ks.eviction_config());
    if (score < best.score) {  // accessed since it was sampled: rank it again
      lock.unlock();
      best.score = score;
      Insert(std::move(best));
      continue;
    }
    DeleteEvictedKey(server, best.db, e);
    return true;
  }
  return false;
}

bool Evictor::EvictRandom(ServerContext& server, MaxMemoryPolicy policy) {
  Keyspace& ks = server.keyspace();
  const bool volatile_only = IsVolatileOnly(policy);
  const size_t first_shard = rng_() % Keyspace::kShards;
  const int databases = ks.databases();
  const int first_db = static_cast<int>(rng_() % static_cast<uint64_t>(databases));
  for (size_t n = 0; n < Keyspace::kShards; ++n) {
    Keyspace::Shard& shard = ks.shard((first_shard + n) % Keyspace::kShards);
    std::lock_guard lock(shard.mu);
    for (int d = 0; d < databases; ++d) {
      int db = (first_db + d) % databases;
      Table& table = shard.dbs[db];
      Entry* e = nullptr;
      if (volatile_only) {
        if (table.volatile_count() > 0) e = table.RandomVolatile(shard.rng)->entry;
      } else {
        e = table.RandomEntry(shard.rng);
      }
      if (e != nullptr) {
        DeleteEvictedKey(server, db, e);
        return true;
      }
    }
  }
  return false;
}

}  // namespace rowcached::server
