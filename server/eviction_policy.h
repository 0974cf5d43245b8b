// The maxmemory policy and the per-key access data eviction ranks keys by, as Redis 7.0 keeps
// them in robj->lru (24 bits, Entry::lru()):
//
//   *-lru and the others: the LRU clock, seconds since the epoch modulo 2^24.
//   *-lfu:                16 bits of minutes (when the counter last decayed) << 8 | an 8-bit
//                         logarithmic access counter. A new key starts at kLfuInitVal so that it
//                         is not evicted before it had a chance to be read; each access first
//                         decays the counter by one per `lfu-decay-time` minutes elapsed, then
//                         increments it with probability 1 / ((counter - kLfuInitVal) *
//                         lfu-log-factor + 1).
//
// Thread-safety: EvictionConfig is atomics, read on every command and written by CONFIG SET;
// the functions are pure.
#pragma once

#include <atomic>
#include <cstdint>
#include <random>
#include <string_view>

#include "server/options.h"

namespace rowcached::server {

enum class MaxMemoryPolicy : uint8_t {
  kNoEviction,
  kAllKeysLru,
  kAllKeysLfu,
  kAllKeysRandom,
  kVolatileLru,
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,
};

// Redis' names ("allkeys-lru", ...), case-insensitive. False when unknown.
bool ParseMaxMemoryPolicy(std::string_view name, MaxMemoryPolicy* policy);
inline bool IsLfu(MaxMemoryPolicy p) {
  return p == MaxMemoryPolicy::kAllKeysLfu || p == MaxMemoryPolicy::kVolatileLfu;
}
inline bool IsLru(MaxMemoryPolicy p) {
  return p == MaxMemoryPolicy::kAllKeysLru || p == MaxMemoryPolicy::kVolatileLru;
}
inline bool IsVolatileOnly(MaxMemoryPolicy p) {
  return p == MaxMemoryPolicy::kVolatileLru || p == MaxMemoryPolicy::kVolatileLfu ||
         p == MaxMemoryPolicy::kVolatileRandom || p == MaxMemoryPolicy::kVolatileTtl;
}
inline bool IsRandom(MaxMemoryPolicy p) {
  return p == MaxMemoryPolicy::kAllKeysRandom || p == MaxMemoryPolicy::kVolatileRandom;
}

// The live eviction settings, mirrored from Options whenever they change (ServerContext::
// UpdateOptions), so the command path reads them without copying Options under its mutex.
struct EvictionConfig {
  std::atomic<int64_t> maxmemory{0};  // bytes; 0 = unlimited
  std::atomic<MaxMemoryPolicy> policy{MaxMemoryPolicy::kNoEviction};
  std::atomic<int> samples{5};
  std::atomic<int> lfu_log_factor{10};
  std::atomic<int> lfu_decay_time{1};  // minutes; 0 = never decay

  void Load(const Options& options);
};

inline constexpr uint32_t kLfuInitVal = 5;  // Redis' LFU_INIT_VAL

// LRU clock in seconds, 24 bits, as Redis' LRU_CLOCK().
uint32_t LruClock(int64_t now_ms);
// Seconds since the access recorded in `lru`, wrapping as Redis' estimateObjectIdleTime.
int64_t LruIdleSeconds(uint32_t lru, int64_t now_ms);

// LFUGetTimeInMinutes: minutes since the epoch modulo 2^16.
uint32_t LfuTimeMinutes(int64_t now_ms);
// LFUDecrAndReturn: the counter of `lru` decayed to now (not stored).
uint32_t LfuDecayedCounter(uint32_t lru, int64_t now_ms, int64_t decay_minutes);
// LFULogIncr with a uniform random `r` in [0, 1).
uint32_t LfuLogIncr(uint32_t counter, int64_t log_factor, double r);

// The lru field of a newly created key.
uint32_t InitialAccessStamp(MaxMemoryPolicy policy, int64_t now_ms);
// The lru field after one access (Redis' lookupKey: updateLFU or LRU_CLOCK()).
uint32_t AccessedStamp(uint32_t lru, int64_t now_ms, const EvictionConfig& config,
                       std::mt19937_64& rng);

}  // namespace rowcached::server
