#include "server/eviction_policy.h"

#include "server/command.h"  // EqualsIgnoreCase

namespace rowcached::server {
namespace {

constexpr std::pair<std::string_view, MaxMemoryPolicy> kPolicyNames[] = {
    {"noeviction", MaxMemoryPolicy::kNoEviction},
    {"allkeys-lru", MaxMemoryPolicy::kAllKeysLru},
    {"allkeys-lfu", MaxMemoryPolicy::kAllKeysLfu},
    {"allkeys-random", MaxMemoryPolicy::kAllKeysRandom},
    {"volatile-lru", MaxMemoryPolicy::kVolatileLru},
    {"volatile-lfu", MaxMemoryPolicy::kVolatileLfu},
    {"volatile-random", MaxMemoryPolicy::kVolatileRandom},
    {"volatile-ttl", MaxMemoryPolicy::kVolatileTtl},
};

constexpr uint32_t kLruClockMax = (1u << 24) - 1;

}  // namespace

bool ParseMaxMemoryPolicy(std::string_view name, MaxMemoryPolicy* policy) {
  for (const auto& [n, p] : kPolicyNames) {
    if (EqualsIgnoreCase(n, name)) {
      *policy = p;
      return true;
    }
  }
  return false;
}

void EvictionConfig::Load(const Options& options) {
  MaxMemoryPolicy p = MaxMemoryPolicy::kNoEviction;
  if (!ParseMaxMemoryPolicy(options.maxmemory_policy, &p)) p = MaxMemoryPolicy::kNoEviction;
  maxmemory.store(options.maxmemory, std::memory_order_relaxed);
  policy.store(p, std::memory_order_relaxed);
  samples.store(static_cast<int>(options.maxmemory_samples), std::memory_order_relaxed);
  lfu_log_factor.store(static_cast<int>(options.lfu_log_factor), std::memory_order_relaxed);
  lfu_decay_time.store(static_cast<int>(options.lfu_decay_time), std::memory_order_relaxed);
}

uint32_t LruClock(int64_t now_ms) { return static_cast<uint32_t>(now_ms / 1000) & kLruClockMax; }

int64_t LruIdleSeconds(uint32_t lru, int64_t now_ms) {
  int64_t clock = LruClock(now_ms);
  if (clock >= lru) return clock - lru;
  return clock + (kLruClockMax - lru);
}

uint32_t LfuTimeMinutes(int64_t now_ms) { return static_cast<uint32_t>(now_ms / 60000) & 65535; }

uint32_t LfuDecayedCounter(uint32_t lru, int64_t now_ms, int64_t decay_minutes) {
  uint32_t ldt = lru >> 8;
  uint32_t counter = lru & 255;
  uint32_t now = LfuTimeMinutes(now_ms);
  uint32_t elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
  uint32_t periods = decay_minutes > 0 ? static_cast<uint32_t>(elapsed / decay_minutes) : 0;
  return periods > counter ? 0 : counter - periods;
}

uint32_t LfuLogIncr(uint32_t counter, int64_t log_factor, double r) {
  if (counter == 255) return 255;
  double base = counter > kLfuInitVal ? counter - kLfuInitVal : 0;
  double p = 1.0 / (base * static_cast<double>(log_factor) + 1);
  return r < p ? counter + 1 : counter;
}

uint32_t InitialAccessStamp(MaxMemoryPolicy policy, int64_t now_ms) {
  if (IsLfu(policy)) return (LfuTimeMinutes(now_ms) << 8) | kLfuInitVal;
  return LruClock(now_ms);
}

uint32_t AccessedStamp(uint32_t lru, int64_t now_ms, const EvictionConfig& config,
                       std::mt19937_64& rng) {
  if (!IsLfu(config.policy.load(std::memory_order_relaxed))) return LruClock(now_ms);
  uint32_t counter =
      LfuDecayedCounter(lru, now_ms, config.lfu_decay_time.load(std::memory_order_relaxed));
  double r = std::generate_canonical<double, 53>(rng);
  counter = LfuLogIncr(counter, config.lfu_log_factor.load(std::memory_order_relaxed), r);
  return (LfuTimeMinutes(now_ms) << 8) | counter;
}

}  // namespace rowcached::server
