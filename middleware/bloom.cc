#include "middleware/bloom.h"

#include <cmath>
#include <cstring>

#include "server/hyperloglog.h"

namespace rowcached::middleware {

namespace {

// The constants of RedisBloom's bloom.c, so the hash counts it derives match exactly.
constexpr double kLn2 = 0.693147180559945;
constexpr double kLn2Squared = 0.480453013918201;

// Seed of the first hash: MurmurHash64A's own multiplier, as RedisBloom's bloom_calc_hash64.
constexpr uint64_t kSeed = 0xc6a4a7935bd1e995ull;

// RedisBloom's ERROR_TIGHTENING_RATIO: each sub-filter has half its predecessor's error rate.
constexpr double kTightening = 0.5;

// Maps a 64-bit value onto [0, n) by a multiply-shift (Lemire's fastrange): uniform for uniform
// input and cheaper than a division.
inline uint64_t Reduce(uint64_t x, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
}

}  // namespace

BloomHash HashItem(std::string_view item) {
  uint64_t h1 = server::hll::MurmurHash64A(item, kSeed);
  uint64_t h2 = server::hll::MurmurHash64A(item, h1);
  return {h1, h2};
}

std::optional<BloomSizing> SizeBloom(uint64_t capacity, double error_rate, uint64_t max_bytes) {
  if (capacity == 0 || !(error_rate > 0 && error_rate < 1)) return std::nullopt;
  BloomSizing s;
  s.bits_per_entry = -std::log(error_rate) / kLn2Squared;
  double raw_bits = static_cast<double>(capacity) * s.bits_per_entry;
  // Compare in double first: the product may not fit in 64 bits.
  if (!(raw_bits < static_cast<double>(max_bytes) * 8)) return std::nullopt;
  uint64_t bits = static_cast<uint64_t>(raw_bits);
  if (bits == 0) bits = 1;  // a tiny capacity at a loose error rate still gets one word
  s.bits = (bits + 63) / 64 * 64;
  if (s.bits / 8 > max_bytes) return std::nullopt;
  s.hashes = static_cast<uint32_t>(std::ceil(kLn2 * s.bits_per_entry));
  return s;
}

// ---------------------------------------------------------------------------------------------
// BloomFilter

BloomFilter::BloomFilter(uint64_t capacity, double error_rate, const BloomSizing& sizing)
    : capacity_(capacity),
      error_rate_(error_rate),
      bits_(sizing.bits),
      hashes_(sizing.hashes),
      words_(sizing.bits / 64, 0) {}

bool BloomFilter::AddHash(const BloomHash& hash) {
  bool fresh = false;
  uint64_t x = hash.h1;
  for (uint32_t i = 0; i < hashes_; ++i, x += hash.h2) {
    uint64_t bit = Reduce(x, bits_);
    uint64_t mask = uint64_t{1} << (bit & 63);
    uint64_t& word = words_[bit >> 6];
    fresh |= (word & mask) == 0;
    word |= mask;
  }
  if (fresh) ++items_;
  return fresh;
}

bool BloomFilter::MightContainHash(const BloomHash& hash) const {
  uint64_t x = hash.h1;
  for (uint32_t i = 0; i < hashes_; ++i, x += hash.h2) {
    uint64_t bit = Reduce(x, bits_);
    if ((words_[bit >> 6] & (uint64_t{1} << (bit & 63))) == 0) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// ScalableBloom

std::optional<ScalableBloom> ScalableBloom::Create(const ScalableBloomOptions& options) {
  // Checked here, not only by SizeBloom: a scaling chain's first rate is halved, which would
  // let an error_rate of 1 (or up to 2) through.
  if (!(options.error_rate > 0 && options.error_rate < 1)) return std::nullopt;
  if (options.scaling && options.expansion < 1) return std::nullopt;
  // A scaling chain starts tightened so the whole chain stays within error_rate.
  double error = options.scaling ? options.error_rate * kTightening : options.error_rate;
  std::optional<BloomSizing> sizing = SizeBloom(options.capacity, error);
  if (!sizing) return std::nullopt;
  ScalableBloom chain(options);
  chain.filters_.emplace_back(options.capacity, error, *sizing);
  return chain;
}

bool ScalableBloom::Grow() {
  const BloomFilter& last = filters_.back();
  uint64_t expansion = options_.expansion;
  if (last.capacity() > UINT64_MAX / expansion) return false;
  uint64_t capacity = last.capacity() * expansion;
  double error = last.error_rate() * kTightening;
  std::optional<BloomSizing> sizing = SizeBloom(capacity, error);  // nullopt once error hits 0
  if (!sizing) return false;
  filters_.emplace_back(capacity, error, *sizing);
  return true;
}

BloomAddResult ScalableBloom::Add(std::string_view item) {
  BloomHash hash = HashItem(item);
  for (size_t i = filters_.size(); i-- > 0;) {
    if (filters_[i].MightContainHash(hash)) return BloomAddResult::kExists;
  }
  if (filters_.back().items() >= filters_.back().capacity()) {
    if (!options_.scaling) return BloomAddResult::kFull;
    if (!Grow()) return BloomAddResult::kCannotGrow;
  }
  // No sub-filter holds all the item's bits, so the newest one sets at least one: it is new.
  (void)filters_.back().AddHash(hash);
  ++items_;
  return BloomAddResult::kAdded;
}

bool ScalableBloom::MightContain(std::string_view item) const {
  BloomHash hash = HashItem(item);
  // Newest first: it is the largest, so most members are found there.
  for (size_t i = filters_.size(); i-- > 0;) {
    if (filters_[i].MightContainHash(hash)) return true;
  }
  return false;
}

uint64_t ScalableBloom::capacity() const {
  uint64_t total = 0;
  for (const BloomFilter& f : filters_) total += f.capacity();
  return total;
}

size_t ScalableBloom::MemoryUsage() const {
  size_t total = sizeof(*this) + (filters_.capacity() - filters_.size()) * sizeof(BloomFilter);
  for (const BloomFilter& f : filters_) total += f.MemoryUsage();
  return total;
}

uint64_t ScalableBloom::InfoSize() const {
  constexpr uint64_t kChainHeader = 32;  // sizeof(SBChain) in RedisBloom 2.x
  constexpr uint64_t kLink = 64;         // sizeof(SBLink)
  uint64_t total = kChainHeader;
  for (const BloomFilter& f : filters_) total += kLink + f.bytes();
  return total;
}

// ---------------------------------------------------------------------------------------------
// ConcurrentBloom

std::unique_ptr<ConcurrentBloom> ConcurrentBloom::Create(uint64_t capacity, double error_rate,
                                                         uint64_t max_bytes) {
  std::optional<BloomSizing> sizing = SizeBloom(capacity, error_rate, max_bytes);
  if (!sizing) return nullptr;
  return std::unique_ptr<ConcurrentBloom>(new ConcurrentBloom(capacity, error_rate, *sizing));
}

ConcurrentBloom::ConcurrentBloom(uint64_t capacity, double error_rate, const BloomSizing& sizing)
    : capacity_(capacity),
      error_rate_(error_rate),
      bits_(sizing.bits),
      hashes_(sizing.hashes),
      // Value-initialised: every word starts at 0.
      words_(std::make_unique<std::atomic<uint64_t>[]>(sizing.bits / 64)) {}

bool ConcurrentBloom::AddHash(const BloomHash& hash) {
  bool fresh = false;
  uint64_t x = hash.h1;
  for (uint32_t i = 0; i < hashes_; ++i, x += hash.h2) {
    uint64_t bit = Reduce(x, bits_);
    uint64_t mask = uint64_t{1} << (bit & 63);
    std::atomic<uint64_t>& word = words_[bit >> 6];
    // Load first: re-adding a present key (the common case on invalidation) then writes nothing
    // and does not pull the cache line away from the readers.
    if (word.load(std::memory_order_relaxed) & mask) continue;
    fresh |= (word.fetch_or(mask, std::memory_order_relaxed) & mask) == 0;
  }
  if (fresh) items_.fetch_add(1, std::memory_order_relaxed);
  return fresh;
}

bool ConcurrentBloom::MightContainHash(const BloomHash& hash) const {
  uint64_t x = hash.h1;
  for (uint32_t i = 0; i < hashes_; ++i, x += hash.h2) {
    uint64_t bit = Reduce(x, bits_);
    if ((words_[bit >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (bit & 63))) == 0) {
      return false;
    }
  }
  return true;
}

}  // namespace rowcached::middleware
