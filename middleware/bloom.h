// Bloom filters: a plain one (BloomFilter), RedisBloom's scalable chain of them (ScalableBloom,
// behind the BF.* commands) and a lock-free fixed-size one for the row cache (ConcurrentBloom).
//
// Sizing (as RedisBloom's bloom_init with NOROUND): for `capacity` items at false-positive rate
// `error`, bits per entry bpe = -ln(error) / ln(2)^2, bits = capacity * bpe rounded up to whole
// 64-bit words, hash functions k = ceil(ln(2) * bpe). 1% gives 9.6 bits/item and 7 hashes; 0.1%
// gives 14.4 bits/item and 10 hashes.
//
// Hashing: one MurmurHash64A of the item (Appleby's public-domain function, shared with the
// HyperLogLog code in server/hyperloglog.h; the seed RedisBloom uses) gives h1, a second
// MurmurHash64A seeded with h1 gives h2; probe i is h1 + i*h2 (Kirsch-Mitzenmacher double
// hashing), mapped onto [0, bits) by a multiply-shift ((x * bits) >> 64, Lemire) instead of a
// division. Two 64-bit hashes per item, whatever k is.
// Hashing is deterministic (no per-process seed) so filters compare across runs and tests.
//
// Scaling (ScalableBloom, as RedisBloom's SBChain): when the newest sub-filter holds `capacity`
// items a new one is appended with capacity * expansion^i and a tighter error rate. Sub-filter i
// of a scaling chain gets error * 0.5^(i+1) (RedisBloom tightens the first one too), so the
// compound false-positive rate, at most the sum over the chain, stays below `error` however far
// the chain grows. A NONSCALING chain has one sub-filter at `error` and refuses new items once
// full. Lookups check every sub-filter, newest first: a long chain costs lookup time, so reserve
// the right capacity when it is known.
//
// Thread-safety: BloomFilter and ScalableBloom are plain values, not synchronised (BF.* keys are
// used under their shard lock). ConcurrentBloom may be read and added to from any number of
// threads at once: bits live in std::atomic<uint64_t> words, an add is a relaxed fetch_or per
// probe and a lookup a relaxed load per probe, no locks anywhere. Relaxed suffices: fetch_or
// never loses another thread's bits, and any reader whose lookup happens-after an Add returned
// (through whatever synchronisation told it about the key) sees those bits by coherence.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace rowcached::middleware {

// The two hashes of an item that drive every probe (see the design comment).
struct BloomHash {
  uint64_t h1;
  uint64_t h2;
};
BloomHash HashItem(std::string_view item);

struct BloomSizing {
  uint64_t bits = 0;  // a multiple of 64
  uint32_t hashes = 0;
  double bits_per_entry = 0;
};

// Bytes of bit array one BF.* sub-filter may take: 512 MiB, Redis' default proto-max-bulk-len,
// so a mistyped capacity cannot take the server's memory and a filter stays dumpable as one bulk.
inline constexpr uint64_t kMaxBloomFilterBytes = 512ull << 20;

// Sizes a filter for `capacity` items at `error_rate`. nullopt when capacity == 0, error_rate is
// outside (0, 1), or the bit array would exceed `max_bytes`.
std::optional<BloomSizing> SizeBloom(uint64_t capacity, double error_rate,
                                     uint64_t max_bytes = kMaxBloomFilterBytes);

// One fixed-size filter. Not thread-safe.
class BloomFilter {
 public:
  // REQUIRES: `sizing` comes from SizeBloom(capacity, error_rate).
  BloomFilter(uint64_t capacity, double error_rate, const BloomSizing& sizing);

  // Sets the item's bits. Returns true if at least one was unset, i.e. the item was new (a
  // false positive reports an item as already present). Counts new items in items().
  bool Add(std::string_view item) { return AddHash(HashItem(item)); }
  bool AddHash(const BloomHash& hash);
  // False means never added; true means added or a false positive (rate about error_rate()
  // while items() <= capacity()).
  bool MightContain(std::string_view item) const { return MightContainHash(HashItem(item)); }
  bool MightContainHash(const BloomHash& hash) const;

  uint64_t capacity() const { return capacity_; }
  double error_rate() const { return error_rate_; }
  uint64_t bits() const { return bits_; }
  uint32_t hashes() const { return hashes_; }
  uint64_t items() const { return items_; }
  size_t bytes() const { return words_.size() * sizeof(uint64_t); }
  size_t MemoryUsage() const { return sizeof(*this) + bytes(); }

 private:
  uint64_t capacity_;
  double error_rate_;
  uint64_t bits_;
  uint32_t hashes_;
  uint64_t items_ = 0;
  std::vector<uint64_t> words_;
};

// A ScalableBloom's parameters; the defaults are those BF.ADD uses when it creates a filter.
struct ScalableBloomOptions {
  uint64_t capacity = 100;   // items in the first sub-filter; >= 1
  double error_rate = 0.01;  // compound bound, in (0, 1)
  uint32_t expansion = 2;    // growth factor of each new sub-filter; >= 1 (ignored if !scaling)
  bool scaling = true;       // false = NONSCALING: refuse new items once capacity is reached
};

enum class BloomAddResult {
  kAdded,      // new item (some bit was unset)
  kExists,     // already present, or a false positive
  kFull,       // NONSCALING filter at capacity; nothing changed
  kCannotGrow  // the next sub-filter would exceed kMaxBloomFilterBytes or its error rate
               // underflowed; nothing changed
};

// RedisBloom's scalable Bloom filter (see the design comment). Not thread-safe; copyable.
class ScalableBloom {
 public:
  // nullopt if the options are out of range or the first sub-filter is too large.
  static std::optional<ScalableBloom> Create(const ScalableBloomOptions& options);

  BloomAddResult Add(std::string_view item);
  bool MightContain(std::string_view item) const;

  // Sum of the sub-filters' capacities (BF.INFO Capacity).
  uint64_t capacity() const;
  // New items added over all sub-filters (BF.INFO Number of items inserted).
  uint64_t items() const { return items_; }
  size_t num_filters() const { return filters_.size(); }
  const BloomFilter& filter(size_t i) const { return filters_[i]; }
  const ScalableBloomOptions& options() const { return options_; }

  // Real heap footprint, for the keyspace's memory accounting.
  size_t MemoryUsage() const;
  // BF.INFO Size as RedisBloom 2.x computes it: its 32-byte chain header plus, per sub-filter,
  // its 64-byte link struct and the bit array. Kept apart from MemoryUsage() so replies match
  // RedisBloom's (240 for a default filter).
  uint64_t InfoSize() const;

 private:
  explicit ScalableBloom(const ScalableBloomOptions& options) : options_(options) {}
  bool Grow();

  ScalableBloomOptions options_;
  std::vector<BloomFilter> filters_;
  uint64_t items_ = 0;
};

// A fixed-size filter for the row cache: one per configured table, sized once at start-up from
// bloom_capacity and bloom_error_rate, read from every I/O thread and added to from the queue
// workers concurrently (see the design comment; no locks, reads and adds are wait-free).
//
// It never scales: if more than capacity() distinct keys are added it keeps working, never
// forgets a key, but its false-positive rate rises above error_rate() (about 1.3% at 1.5x capacity
// for a 0.1% filter). items() and over_capacity() let stats report that; rebuild a larger filter
// to recover.
class ConcurrentBloom {
 public:
  // nullptr if capacity == 0, error_rate is outside (0, 1) or the array exceeds `max_bytes`.
  static std::unique_ptr<ConcurrentBloom> Create(uint64_t capacity, double error_rate,
                                                 uint64_t max_bytes = uint64_t{1} << 40);

  ConcurrentBloom(const ConcurrentBloom&) = delete;
  ConcurrentBloom& operator=(const ConcurrentBloom&) = delete;

  // Thread-safe. Returns true if the item was new. Two threads adding the same new item at once
  // may both get true (and both count it in items()).
  bool Add(std::string_view item) { return AddHash(HashItem(item)); }
  bool AddHash(const BloomHash& hash);
  // Thread-safe, lock-free. False means no Add of the item happened-before this call.
  bool MightContain(std::string_view item) const { return MightContainHash(HashItem(item)); }
  bool MightContainHash(const BloomHash& hash) const;

  uint64_t capacity() const { return capacity_; }
  double error_rate() const { return error_rate_; }
  uint64_t bits() const { return bits_; }
  uint32_t hashes() const { return hashes_; }
  // Approximate count of new items added (see Add). Thread-safe.
  uint64_t items() const { return items_.load(std::memory_order_relaxed); }
  bool over_capacity() const { return items() > capacity_; }
  size_t MemoryUsage() const { return sizeof(*this) + bits_ / 8; }

 private:
  ConcurrentBloom(uint64_t capacity, double error_rate, const BloomSizing& sizing);

  const uint64_t capacity_;
  const double error_rate_;
  const uint64_t bits_;
  const uint32_t hashes_;
  std::atomic<uint64_t> items_{0};
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace rowcached::middleware
