// A chained hash table of Entry blocks: one per (shard, database).
//
// Power-of-two bucket array, grown at load factor 1 and shrunk below 1/8 in one step (a table
// holds 1/64 of the keys, so a resize is short). SCAN uses Redis' reverse-binary cursor, which
// returns every element present for the whole scan at least once across resizes.
// Expiry times live in `volatile_`, a dense array that also makes sampling keys with a TTL
// O(1) for the active expiry cycle; each entry remembers its slot.
//
// Thread-safety: none; the owning shard's mutex guards every call.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string_view>
#include <vector>

#include "server/entry.h"

namespace rowcached::server {

class Table {
 public:
  struct VolatileSlot {
    Entry* entry;
    int64_t expire_at_ms;
  };

  Table() = default;
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  Table(Table&& other) noexcept { Swap(other); }
  Table& operator=(Table&& other) noexcept {
    Swap(other);
    return *this;
  }
  ~Table() { Clear(); }

  size_t size() const { return size_; }
  size_t volatile_count() const { return volatile_.size(); }
  size_t bucket_count() const { return buckets_.size(); }

  Entry* Find(std::string_view key, uint64_t hash) const;
  // REQUIRES: no entry with the same key.
  void Insert(Entry* entry, uint64_t hash);
  // Puts `fresh` where `old` was (same key) and frees `old`. The expiry moves to `fresh` unless
  // `keep_ttl` is false, in which case it is cleared.
  void Replace(Entry* old, Entry* fresh, uint64_t hash, bool keep_ttl);
  // Grows the bucket array for `keys` entries at once (loading a snapshot whose size is known),
  // so inserting them never rehashes. Never shrinks.
  void Reserve(size_t keys);
  // Cache hints for a batch of lookups (loading a snapshot): fetch the bucket of `hash`, then,
  // once that has arrived, the first entry of its chain, so the batch's misses overlap.
  void PrefetchBucket(uint64_t hash) const {
    if (!buckets_.empty()) __builtin_prefetch(&buckets_[hash & (buckets_.size() - 1)]);
  }
  void PrefetchChain(uint64_t hash) const {
    if (!buckets_.empty()) __builtin_prefetch(buckets_[hash & (buckets_.size() - 1)]);
  }
  // Unlinks the entry with `key` and returns it (the caller frees it), or nullptr.
  Entry* Remove(std::string_view key, uint64_t hash);

  // Expiry: absolute milliseconds since the epoch; -1 when the entry has none.
  int64_t ExpireAt(const Entry* entry) const {
    return entry->volatile_index == Entry::kNoExpire
               ? -1
               : volatile_[entry->volatile_index].expire_at_ms;
  }
  void SetExpire(Entry* entry, int64_t expire_at_ms);
  void ClearExpire(Entry* entry);

  // One step of SCAN: calls `fn` for every entry of one bucket chain (and, after a shrink, of
  // the buckets folded into it) and returns the next cursor; 0 means done.
  uint64_t Scan(uint64_t cursor, const std::function<void(Entry*)>& fn) const;
  void ForEach(const std::function<void(Entry*)>& fn) const;

  // A random entry, or nullptr when empty. Fair enough for RANDOMKEY and eviction sampling.
  Entry* RandomEntry(std::mt19937_64& rng) const;
  // A random slot of the keys with a TTL, or nullptr when none.
  const VolatileSlot* RandomVolatile(std::mt19937_64& rng) const;
  // Slot i of the keys with a TTL. REQUIRES: i < volatile_count().
  const VolatileSlot& volatile_slot(size_t i) const { return volatile_[i]; }

  // Frees every entry.
  void Clear();
  void Swap(Table& other) noexcept;

  static uint64_t Hash(std::string_view key);

 private:
  void Resize(size_t buckets);
  void MaybeShrink();

  std::vector<Entry*> buckets_;
  size_t size_ = 0;
  std::vector<VolatileSlot> volatile_;
};

}  // namespace rowcached::server
