#include "queues/metrics.h"

#include <algorithm>

namespace rowcached::queues {

std::uint64_t LatencyHistogram::BucketUpper(std::size_t b) noexcept {
  if (b < kSub) return b;
  const std::size_t e = (b - kSub) / kSub + kSubBits;
  const std::uint64_t sub = (b - kSub) % kSub;
  const std::uint64_t width = std::uint64_t{1} << (e - kSubBits);
  const std::uint64_t lower = (kSub + sub) * width;
  return lower + (width - 1);
}

void LatencyHistogram::AddTo(Counts& counts, std::uint64_t* max_ns) const noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    counts[i] += buckets_[i].load(std::memory_order_relaxed);
  }
  *max_ns = std::max(*max_ns, max_.load(std::memory_order_relaxed));
}

LatencySummary LatencyHistogram::Summary() const noexcept {
  Counts counts{};
  std::uint64_t max_ns = 0;
  AddTo(counts, &max_ns);
  return Summarize(counts, max_ns);
}

LatencySummary LatencyHistogram::Summarize(const Counts& counts, std::uint64_t max_ns) noexcept {
  LatencySummary s;
  for (std::uint64_t c : counts) s.count += c;
  s.max_ns = max_ns;
  if (s.count == 0) return s;
  // Rank of quantile q: the smallest value with at least ceil(q * count) samples at or below it.
  auto at = [&](double q) {
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(q * static_cast<double>(s.count) + 0.999999));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      seen += counts[b];
      if (seen >= rank) return std::min(BucketUpper(b), max_ns);
    }
    return max_ns;
  };
  s.p50_ns = at(0.50);
  s.p99_ns = at(0.99);
  s.p999_ns = at(0.999);
  return s;
}

}  // namespace rowcached::queues
