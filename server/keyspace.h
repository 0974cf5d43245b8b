// The keyspace: `databases` logical databases (SELECT 0..15), each split over kShards shards by
// key hash. A shard holds the slice of every database for its hashes, so a key lives in the same
// shard in every database (MOVE, SWAPDB and COPY ... DB stay within one shard's lock).
//
// Concurrency: every shard has one mutex, the only lock on the data path. A command locks the
// shards of its keys (in ascending index order, so multi-key commands never deadlock) for its
// whole execution, which makes every command atomic, as in Redis. Commands over the whole
// keyspace (KEYS, FLUSHALL, DBSIZE, SWAPDB) lock all shards. I/O threads, the expiry cycle and
// the middleware's queue workers all go through the same locks.
//
// Expiry: lazy (a lookup of an expired key deletes it and misses) and active (ActiveExpireCycle,
// Redis' sampling loop, bounded in time). Both report each deleted key to the expired hook.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "server/clock.h"
#include "server/entry.h"
#include "server/eviction_policy.h"
#include "server/status.h"
#include "server/striped_counter.h"
#include "server/table.h"

namespace rowcached::server {

struct KeyspaceStats {
  StripedCounter keyspace_hits;
  StripedCounter keyspace_misses;
  std::atomic<uint64_t> expired_keys{0};
  std::atomic<uint64_t> evicted_keys{0};
};

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer's deadlock detector tracks at most 64 mutexes held by one thread and aborts
// beyond. A whole-keyspace command holds all 64 shard locks and may then take another lock (a
// FLUSHALL telling WATCH, an EXEC running CONFIG SET after FLUSHDB), so under ThreadSanitizer
// the shard lock is a plain atomic lock: its acquire/release still order the data for the race
// detector, only the deadlock detector does not see it (the shards' ascending lock order is
// kept by ShardLocks by construction).
class ShardMutex {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
  }
  bool try_lock() { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};
#else
// A shard is held for one command, a microsecond or a few. Two I/O threads that want the same
// shard (a hot key, or multi-key commands whose shards overlap) would otherwise put the loser to
// sleep in the kernel and pay a wake-up on every collision, which costs more than the command
// itself: the waiter spins for about as long as a command takes (server/spin.h) before it parks
// on a futex (Drepper's "Futexes Are Tricky", mutex 2: 0 free, 1 held, 2 held with sleepers).
class ShardMutex {
 public:
  void lock() {
    int c = 0;
    if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    LockSlow();
  }
  bool try_lock() {
    int c = 0;
    return state_.compare_exchange_strong(c, 1, std::memory_order_acquire);
  }
  void unlock() {
    if (state_.exchange(0, std::memory_order_release) == 2) Wake();
  }

 private:
  void LockSlow();
  void Wake();

  std::atomic<int> state_{0};
};
#endif

class Keyspace {
 public:
  static constexpr size_t kShards = 64;

  struct Shard {
    ShardMutex mu;
    std::vector<Table> dbs;  // one per database
    std::mt19937_64 rng{0x5eed};
  };

  Keyspace(int databases, const Clock* clock);
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  int databases() const { return databases_; }
  const Clock& clock() const { return *clock_; }
  KeyspaceStats& stats() { return stats_; }
  // maxmemory settings and how key accesses are stamped (LRU clock or LFU counter).
  EvictionConfig& eviction_config() { return eviction_config_; }
  const EvictionConfig& eviction_config() const { return eviction_config_; }

  static size_t ShardOf(uint64_t hash) { return hash >> 58; }  // top 6 bits: 64 shards
  static_assert(kShards == 64);
  Shard& shard(size_t i) { return shards_[i]; }

  // Runs one bounded active-expiry pass over every shard: samples keys with a TTL and deletes
  // the expired ones, like Redis' activeExpireCycle. Returns how many keys it deleted.
  // Locks each shard in turn. Call from one thread (the server's cron).
  size_t ActiveExpireCycle(int64_t time_budget_us);

  // Removes every key of database `db`, or of all when db < 0. Locks all shards itself.
  void Flush(int db);

  // Called for every key deleted because its TTL passed (lazy or active expiry), after it left
  // its table and before it is freed, with its shard lock held: Redis' "expired" event and
  // signalModifiedKey. Install before serving (the ServerContext does).
  using ExpiredHook = std::function<void(int db, std::string_view key)>;
  void set_expired_hook(ExpiredHook hook) { expired_hook_ = std::move(hook); }
  // While loading the append-only file, nothing expires, as in Redis (keyIsExpired and
  // checkAlreadyExpired): the file replays commands in their order, and a key whose absolute
  // expiry passed between then and now must still be there for the commands after it (a
  // PERSIST, a RENAME); an expiry already past sets the TTL instead of deleting. The keys left
  // expired go at the next lookup or active expiry cycle once loading ends. Set by the loader.
  void set_loading(bool loading) { loading_.store(loading, std::memory_order_relaxed); }
  bool loading() const { return loading_.load(std::memory_order_relaxed); }
  // Whether an expiry at `at_ms` is already past, for a command setting it (false while loading).
  bool AlreadyExpired(int64_t at_ms) const { return at_ms <= clock_->NowMs() && !loading(); }

  // Unlinks an expired entry from `table` (database `db`), reports it and frees it.
  void RemoveExpired(Table& table, int db, std::string_view key, uint64_t hash);

 private:
  int databases_;
  const Clock* clock_;
  KeyspaceStats stats_;
  EvictionConfig eviction_config_;
  std::array<Shard, kShards> shards_;
  ExpiredHook expired_hook_;
  std::atomic<bool> loading_{false};
  size_t expire_cursor_ = 0;  // shard where the next active expiry pass starts
};

// Holds the locks of a set of shards for the duration of one command.
//
// Re-entrant per thread: a shard already held by another ShardLocks of the same thread (EXEC
// holds the shards of every queued command while each runs and takes its own ShardLocks) is
// neither locked again nor released by the inner one. An inner ShardLocks must only ask for
// shards the outer one holds (or lock nothing the outer one does not hold below it): the global
// ascending order is kept by the outer one locking the union first. A ShardLocks must lock and
// unlock on one thread (the per-thread record of held shards would be wrong otherwise).
class ShardLocks {
 public:
  ShardLocks() = default;
  ShardLocks(const ShardLocks&) = delete;
  ShardLocks& operator=(const ShardLocks&) = delete;
  ~ShardLocks() { Unlock(); }

  // Locks the shards of `keys` (deduplicated, in ascending order).
  void LockKeys(Keyspace& ks, const std::vector<std::string_view>& keys);
  void LockOne(Keyspace& ks, std::string_view key);
  void LockAll(Keyspace& ks);
  void Unlock();

  // True while the calling thread holds shard locks through some ShardLocks: code that locks
  // shards itself (eviction) must not run then, as a shard's mutex is not recursive.
  static bool HeldByThisThread();

 private:
  void Acquire(Keyspace& ks, uint64_t want);

  Keyspace* ks_ = nullptr;
  uint64_t mask_ = 0;  // bit i set = shard i locked by this object
};

// Key-level operations on one database. Not a lock: REQUIRES the caller holds the shard lock of
// every key it passes (ShardLocks), or all shards for whole-database calls.
class Db {
 public:
  Db(Keyspace* ks, int index) : ks_(ks), index_(index) {}

  int index() const { return index_; }
  Keyspace& keyspace() const { return *ks_; }
  int64_t NowMs() const { return ks_->clock().NowMs(); }

  // Finds a live key; an expired one is deleted and reported absent. Counts hits and misses
  // when `count_stats`, and records the access (LRU clock, or LFU counter under an LFU policy)
  // unless `touch` is false (Redis' LOOKUP_NOTOUCH: TYPE, TTL, OBJECT).
  Entry* Find(std::string_view key, bool count_stats = false, bool touch = true);
  // Finds a live key of `type`. Returns nullptr with *status = kOk when absent, kWrongType when
  // present with another type.
  Entry* FindTyped(std::string_view key, ValueType type, Status* status, bool count_stats = false,
                   bool touch = true);
  // The `T` (an Object of `type`) at `key` for a write, created empty when absent. nullptr with
  // *status = kWrongType when the key holds another type.
  template <typename T>
  T* FindOrCreate(std::string_view key, ValueType type, Status* status) {
    Entry* e = FindTyped(key, type, status);
    if (*status != Status::kOk) return nullptr;
    if (e == nullptr) e = SetObject(key, type, std::make_unique<T>());
    return static_cast<T*>(e->object());
  }
  // The random generator of the key's shard (SPOP, SRANDMEMBER, ...): guarded by the shard lock
  // the caller holds, so no other lock is needed.
  std::mt19937_64& RngOf(std::string_view key) const {
    return ks_->shard(Keyspace::ShardOf(Table::Hash(key))).rng;
  }

  // Sets a string value. `keep_ttl` keeps an existing TTL (SET KEEPTTL, SETRANGE, APPEND,
  // INCR); otherwise any TTL is cleared. Returns the (possibly new) entry.
  Entry* SetString(std::string_view key, std::string_view value, bool keep_ttl);
  // Inserts or replaces the key with an object value; clears the TTL.
  Entry* SetObject(std::string_view key, ValueType type, std::unique_ptr<Object> object);
  // Inserts or replaces with a prepared entry; keeps the TTL only if `keep_ttl`. A new key gets
  // a fresh access stamp; under an LFU policy a replaced key keeps its counter (Redis'
  // dbSetValue).
  Entry* Put(Entry* fresh, bool keep_ttl);

  bool Delete(std::string_view key);
  // Takes the entry out (the caller owns it; free with Entry::Free), with its expiry.
  Entry* Take(std::string_view key, int64_t* expire_at_ms);

  int64_t ExpireAt(const Entry* entry) const;  // -1 = none
  void SetExpireAt(Entry* entry, int64_t expire_at_ms);
  void Persist(Entry* entry);

  // Whole database. REQUIRES all shards locked.
  size_t Size() const;
  size_t VolatileCount() const;
  // SCAN over the whole database: cursor = (table cursor << 6) | shard.
  uint64_t Scan(uint64_t cursor, size_t count, const std::function<void(Entry*)>& fn);
  void ForEach(const std::function<void(Entry*)>& fn);
  Entry* RandomKey();

  Table& TableOf(uint64_t hash) const { return ks_->shard(Keyspace::ShardOf(hash)).dbs[index_]; }

 private:
  bool Expired(Table& table, Entry* e, uint64_t hash);
  void Touch(Entry* e, uint64_t hash);

  Keyspace* ks_;
  int index_;
};

}  // namespace rowcached::server
