// Eviction under `maxmemory`, as Redis 7.0's performEvictions does it.
//
// Before a command runs (dispatch.cc), with no shard lock held:
//
//   while UsedMemory() > maxmemory:
//     noeviction                  -> fail
//     *-random                    -> delete a random key (volatile-*: one with a TTL)
//     *-lru, *-lfu, volatile-ttl  -> sample maxmemory-samples keys from each (shard, database)
//                                    of a round into the pool of the 16 best candidates
//                                    (highest idle time / lowest decayed LFU counter / soonest
//                                    expiry), delete the best one still present
//     nothing left to evict       -> fail
//
// A failed eviction makes the dispatcher refuse "denyoom" commands with Redis' OOM error; other
// commands (reads, DEL) still run. Each evicted key counts in INFO's evicted_keys and fires the
// "evicted" keyspace event and KeyModified, as Redis' deleteEvictedKeyAndPropagate.
//
// Differences from Redis, and why:
// - Redis samples every database per evicted key; here a database is split over 64 shards, so
//   a round samples shards from a rotating cursor until it has seen 8 x samples keys (or every
//   shard), and the pool carries good candidates across rounds. A small keyspace is thus sampled
//   whole, a large one costs a bounded number of samples per eviction.
// - A pooled key's score is checked again before it is evicted: a key read since it was
//   sampled goes back into the pool with its new score instead of being evicted.
// - No time limit per call (Redis' maxmemory-eviction-tenacity): a call evicts until memory is
//   under the limit, so a large CONFIG SET maxmemory drop is paid by that command.
//
// Thread-safety: PerformEvictions may be called from any thread holding no shard lock; calls are
// serialised by the evictor's own mutex, which is taken before shard locks, never after.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "server/entry.h"
#include "server/eviction_policy.h"

namespace rowcached::server {

class ServerContext;

class Evictor {
 public:
  // Redis' EVPOOL_SIZE.
  static constexpr size_t kPoolSize = 16;
  // A round samples shards until it has seen this many times maxmemory-samples keys.
  static constexpr int kSamplesPerRoundFactor = 8;

  enum class Result { kOk, kFail };

  // Evicts keys until used memory is at or under maxmemory. kOk when it is (or maxmemory is 0),
  // kFail when the policy is noeviction or nothing evictable is left. Does nothing (kOk) when
  // the calling thread holds shard locks through a ShardLocks.
  Result PerformEvictions(ServerContext& server);

 private:
  struct Candidate {
    uint64_t score;  // higher = better to evict
    int db;
    std::string key;
  };

  // Samples one round of shards into the pool. Returns false when no shard had a candidate.
  bool Populate(ServerContext& server, MaxMemoryPolicy policy);
  void Insert(Candidate candidate);
  // Deletes the best pooled key still present. False when the pool ran dry first.
  bool EvictFromPool(ServerContext& server, MaxMemoryPolicy policy);
  // Deletes a random key (with a TTL for volatile-random). False when there is none.
  bool EvictRandom(ServerContext& server, MaxMemoryPolicy policy);

  std::mutex mu_;                // guards everything below; taken before any shard lock
  std::vector<Candidate> pool_;  // ascending score, at most kPoolSize
  MaxMemoryPolicy pool_policy_ = MaxMemoryPolicy::kNoEviction;
  size_t shard_cursor_ = 0;
  std::mt19937_64 rng_{0xe51c7};
};

// Deletes one key chosen by eviction: frees it, counts evicted_keys, fires "evicted".
// REQUIRES: the key's shard lock is held and `entry` is the live entry of `key` in `db`.
void DeleteEvictedKey(ServerContext& server, int db, Entry* entry);

}  // namespace rowcached::server
