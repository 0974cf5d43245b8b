#include "server/keyspace.h"

#include <algorithm>
#include <bit>
#include <chrono>
#if !defined(__SANITIZE_THREAD__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "server/spin.h"

namespace rowcached::server {
namespace {

// The shards the current thread holds through any ShardLocks, and of which keyspace (one at a
// time: a thread holding shards of two keyspaces at once only happens in tests, which then
// just lose the re-entrancy).
thread_local const Keyspace* t_held_keyspace = nullptr;
thread_local uint64_t t_held_mask = 0;

}  // namespace

Keyspace::Keyspace(int databases, const Clock* clock) : databases_(databases), clock_(clock) {
  for (auto& s : shards_) s.dbs.resize(databases);
}

void Keyspace::Flush(int db) {
  ShardLocks locks;
  locks.LockAll(*this);
  for (auto& s : shards_) {
    if (db < 0) {
      for (auto& t : s.dbs) t.Clear();
    } else {
      s.dbs[db].Clear();
    }
  }
}

size_t Keyspace::ActiveExpireCycle(int64_t time_budget_us) {
  // Redis' defaults: 20 keys per sample, repeat while more than 10% of a sample was expired.
  constexpr int kSample = 20;
  constexpr int kRepeatPercent = 10;
  if (loading()) return 0;
  auto start = std::chrono::steady_clock::now();
  size_t deleted = 0;
  int64_t now = clock_->NowMs();
  for (size_t n = 0; n < kShards; ++n) {
    Shard& s = shards_[(expire_cursor_ + n) % kShards];
    std::lock_guard lock(s.mu);
    for (auto& table : s.dbs) {
      while (table.volatile_count() > 0) {
        int expired = 0;
        int sampled = std::min<int>(kSample, static_cast<int>(table.volatile_count()));
        for (int i = 0; i < sampled && table.volatile_count() > 0; ++i) {
          const Table::VolatileSlot* slot = table.RandomVolatile(s.rng);
          if (slot->expire_at_ms <= now) {
            std::string_view key = slot->entry->key();
            RemoveExpired(table, static_cast<int>(&table - s.dbs.data()), key, Table::Hash(key));
            ++expired;
          }
        }
        deleted += expired;
        if (expired * 100 <= sampled * kRepeatPercent) break;
        auto spent = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
        if (spent > time_budget_us) break;
      }
    }
    auto spent = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
    if (spent > time_budget_us) {
      expire_cursor_ = (expire_cursor_ + n + 1) % kShards;
      break;
    }
  }
  stats_.expired_keys.fetch_add(deleted, std::memory_order_relaxed);
  return deleted;
}

void Keyspace::RemoveExpired(Table& table, int db, std::string_view key, uint64_t hash) {
  Entry* gone = table.Remove(key, hash);
  if (expired_hook_) expired_hook_(db, gone->key());
  Entry::Free(gone);
}

#if !defined(__SANITIZE_THREAD__)
namespace {
int* FutexWord(std::atomic<int>& a) { return reinterpret_cast<int*>(&a); }
}  // namespace

void ShardMutex::LockSlow() {
  int c = 0;
  for (int i = 0; i < kShortWaitSpins; ++i) {
    CpuRelax();
    c = state_.load(std::memory_order_relaxed);
    if (c == 0 && state_.compare_exchange_weak(c, 1, std::memory_order_acquire)) return;
  }
  // Park: mark the lock contended (2) so that its holder wakes a sleeper when it unlocks.
  c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    syscall(SYS_futex, FutexWord(state_), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
    c = state_.exchange(2, std::memory_order_acquire);
  }
}

void ShardMutex::Wake() {
  syscall(SYS_futex, FutexWord(state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}
#endif

void ShardLocks::Acquire(Keyspace& ks, uint64_t want) {
  ks_ = &ks;
  want &= ~mask_;
  bool reentrant = t_held_mask == 0 || t_held_keyspace == &ks;
  if (reentrant) want &= ~t_held_mask;
  uint64_t taken = want;
  // Ascending order: the global lock order.
  while (want) {
    int i = std::countr_zero(want);
    ks.shard(i).mu.lock();
    want &= want - 1;
  }
  mask_ |= taken;
  if (reentrant && taken != 0) {
    t_held_keyspace = &ks;
    t_held_mask |= taken;
  }
}

bool ShardLocks::HeldByThisThread() { return t_held_mask != 0; }

void ShardLocks::LockKeys(Keyspace& ks, const std::vector<std::string_view>& keys) {
  uint64_t want = 0;
  for (auto k : keys) want |= uint64_t{1} << Keyspace::ShardOf(Table::Hash(k));
  Acquire(ks, want);
}

void ShardLocks::LockOne(Keyspace& ks, std::string_view key) {
  Acquire(ks, uint64_t{1} << Keyspace::ShardOf(Table::Hash(key)));
}

void ShardLocks::LockAll(Keyspace& ks) { Acquire(ks, ~uint64_t{0}); }

void ShardLocks::Unlock() {
  if (mask_ != 0 && t_held_keyspace == ks_) t_held_mask &= ~mask_;
  while (mask_) {
    int i = std::countr_zero(mask_);
    ks_->shard(i).mu.unlock();
    mask_ &= mask_ - 1;
  }
}

bool Db::Expired(Table& table, Entry* e, uint64_t hash) {
  int64_t at = table.ExpireAt(e);
  if (at < 0 || at > NowMs() || ks_->loading()) return false;
  ks_->RemoveExpired(table, index_, e->key(), hash);
  ks_->stats().expired_keys.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Db::Touch(Entry* e, uint64_t hash) {
  // The shard's generator: its lock is held, and LFU increments stay reproducible in tests.
  e->set_lru(AccessedStamp(e->lru(), NowMs(), ks_->eviction_config(),
                           ks_->shard(Keyspace::ShardOf(hash)).rng));
}

Entry* Db::Find(std::string_view key, bool count_stats, bool touch) {
  uint64_t h = Table::Hash(key);
  Table& t = TableOf(h);
  Entry* e = t.Find(key, h);
  if (e != nullptr && Expired(t, e, h)) e = nullptr;
  if (count_stats) {
    (e ? ks_->stats().keyspace_hits : ks_->stats().keyspace_misses).Add();
  }
  if (e != nullptr && touch) Touch(e, h);
  return e;
}

Entry* Db::FindTyped(std::string_view key, ValueType type, Status* status, bool count_stats,
                     bool touch) {
  Entry* e = Find(key, count_stats, touch);
  if (e != nullptr && e->type() != type) {
    *status = Status::kWrongType;
    return nullptr;
  }
  *status = Status::kOk;
  return e;
}

Entry* Db::Put(Entry* fresh, bool keep_ttl) {
  std::string_view key = fresh->key();
  uint64_t h = Table::Hash(key);
  Table& t = TableOf(h);
  MaxMemoryPolicy policy = ks_->eviction_config().policy.load(std::memory_order_relaxed);
  fresh->set_lru(InitialAccessStamp(policy, NowMs()));
  Entry* old = t.Find(key, h);
  if (old != nullptr) {
    if (IsLfu(policy)) fresh->set_lru(old->lru());
    if (keep_ttl && Expired(t, old, h)) {
      t.Insert(fresh, h);
    } else {
      t.Replace(old, fresh, h, keep_ttl);
    }
  } else {
    t.Insert(fresh, h);
  }
  return fresh;
}

Entry* Db::SetString(std::string_view key, std::string_view value, bool keep_ttl) {
  uint64_t h = Table::Hash(key);
  Table& t = TableOf(h);
  Entry* old = t.Find(key, h);
  // Grow a heap string in place when it stays a heap string: APPEND and SETRANGE stay O(1)
  // amortised per byte.
  if (old != nullptr && old->type() == ValueType::kString && !old->inline_string() &&
      value.size() > Entry::kMaxInlineString && !(keep_ttl && Expired(t, old, h))) {
    if (!keep_ttl) t.ClearExpire(old);
    static_cast<StringObject*>(old->object())->value.assign(value);
    // The command's own lookup counted the access; only the LRU clock is refreshed here.
    if (!IsLfu(ks_->eviction_config().policy.load(std::memory_order_relaxed))) {
      old->set_lru(LruClock(NowMs()));
    }
    return old;
  }
  return Put(Entry::NewString(key, value), keep_ttl);
}

Entry* Db::SetObject(std::string_view key, ValueType type, std::unique_ptr<Object> object) {
  return Put(Entry::NewObject(key, type, std::move(object)), false);
}

bool Db::Delete(std::string_view key) {
  uint64_t h = Table::Hash(key);
  Table& t = TableOf(h);
  Entry* e = t.Find(key, h);
  if (e == nullptr) return false;
  if (Expired(t, e, h)) return false;
  Entry::Free(t.Remove(key, h));
  return true;
}

Entry* Db::Take(std::string_view key, int64_t* expire_at_ms) {
  uint64_t h = Table::Hash(key);
  Table& t = TableOf(h);
  Entry* e = t.Find(key, h);
  if (e == nullptr || Expired(t, e, h)) return nullptr;
  *expire_at_ms = t.ExpireAt(e);
  return t.Remove(key, h);
}

int64_t Db::ExpireAt(const Entry* entry) const {
  return TableOf(Table::Hash(entry->key())).ExpireAt(entry);
}

void Db::SetExpireAt(Entry* entry, int64_t expire_at_ms) {
  TableOf(Table::Hash(entry->key())).SetExpire(entry, expire_at_ms);
}

void Db::Persist(Entry* entry) { TableOf(Table::Hash(entry->key())).ClearExpire(entry); }

size_t Db::Size() const {
  size_t n = 0;
  for (size_t i = 0; i < Keyspace::kShards; ++i) n += ks_->shard(i).dbs[index_].size();
  return n;
}

size_t Db::VolatileCount() const {
  size_t n = 0;
  for (size_t i = 0; i < Keyspace::kShards; ++i) n += ks_->shard(i).dbs[index_].volatile_count();
  return n;
}

uint64_t Db::Scan(uint64_t cursor, size_t count, const std::function<void(Entry*)>& fn) {
  size_t shard = cursor & (Keyspace::kShards - 1);
  uint64_t table_cursor = cursor >> 6;
  size_t visited = 0;
  int64_t now = NowMs();
  while (shard < Keyspace::kShards) {
    Table& t = ks_->shard(shard).dbs[index_];
    do {
      table_cursor = t.Scan(table_cursor, [&](Entry* e) {
        int64_t at = t.ExpireAt(e);
        if (at >= 0 && at <= now) return;
        fn(e);
        ++visited;
      });
    } while (table_cursor != 0 && visited < count);
    if (table_cursor == 0) {
      ++shard;
      if (visited >= count) break;
    } else {
      break;
    }
  }
  if (shard >= Keyspace::kShards) return 0;
  return (table_cursor << 6) | shard;
}

void Db::ForEach(const std::function<void(Entry*)>& fn) {
  int64_t now = NowMs();
  for (size_t i = 0; i < Keyspace::kShards; ++i) {
    Table& t = ks_->shard(i).dbs[index_];
    t.ForEach([&](Entry* e) {
      int64_t at = t.ExpireAt(e);
      if (at >= 0 && at <= now) return;
      fn(e);
    });
  }
}

Entry* Db::RandomKey() {
  size_t total = Size();
  if (total == 0) return nullptr;
  auto& rng = ks_->shard(0).rng;
  // Several tries so that a database full of expired keys still terminates (Redis does the same).
  for (int tries = 0; tries < 100; ++tries) {
    size_t pick = rng() % total;
    for (size_t i = 0; i < Keyspace::kShards; ++i) {
      Table& t = ks_->shard(i).dbs[index_];
      if (pick < t.size()) {
        Entry* e = t.RandomEntry(rng);
        if (!Expired(t, e, Table::Hash(e->key()))) return e;
        total = Size();
        if (total == 0) return nullptr;
        break;
      }
      pick -= t.size();
    }
  }
  return nullptr;
}

}  // namespace rowcached::server
