// Metrics of the queues: per-queue counters and a histogram of queue wait time (enqueue -> start),
// read as plain-struct snapshots by INFO / ROW.STATS.
//
// Thread-safety: LatencyHistogram::Record may be called from any thread (relaxed atomics; in
// practice only the queue's worker records). Snapshots may be taken from any thread at any time;
// they are not atomic across counters (each counter is exact, their sum may be mid-update).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace rowcached::queues {

// Percentiles of a latency distribution, in nanoseconds. A percentile is reported as the upper
// edge of its histogram bucket (never under-reports), capped at max_ns; relative error <= 1/16.
struct LatencySummary {
  std::uint64_t count = 0;
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t p999_ns = 0;
  std::uint64_t max_ns = 0;
};

// Log-linear histogram (HdrHistogram-style): exact below 16 ns, then 16 sub-buckets per power of
// two, covering the full uint64 range in 976 buckets (~7.6 KiB).
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 4;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr std::size_t kBuckets = kSub + (64 - kSubBits) * kSub;
  using Counts = std::array<std::uint64_t, kBuckets>;

  void Record(std::uint64_t ns) noexcept {
    buckets_[BucketOf(ns)].fetch_add(1, std::memory_order_relaxed);
    std::uint64_t seen = max_.load(std::memory_order_relaxed);
    while (ns > seen && !max_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
    }
  }

  // Adds this histogram's counts into `counts` and raises `*max_ns` (for merging queues).
  void AddTo(Counts& counts, std::uint64_t* max_ns) const noexcept;
  [[nodiscard]] LatencySummary Summary() const noexcept;
  [[nodiscard]] static LatencySummary Summarize(const Counts& counts,
                                                std::uint64_t max_ns) noexcept;

  [[nodiscard]] static std::size_t BucketOf(std::uint64_t ns) noexcept {
    if (ns < kSub) return static_cast<std::size_t>(ns);
    const int e = 63 - __builtin_clzll(ns);  // e >= kSubBits
    const std::uint64_t sub = (ns >> (e - kSubBits)) - kSub;
    return kSub + static_cast<std::size_t>(e - kSubBits) * kSub + static_cast<std::size_t>(sub);
  }
  // Largest value that falls in bucket `b`.
  [[nodiscard]] static std::uint64_t BucketUpper(std::size_t b) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> max_{0};
};

// One queue's counters. All counts are since construction.
struct QueueMetrics {
  std::uint64_t depth = 0;      // operations accepted and not yet started, now
  std::uint64_t max_depth = 0;  // highest `depth` ever seen
  std::uint64_t submitted = 0;  // operations accepted (a merged refresh waiter is not one)
  std::uint64_t executed = 0;   // operations started with Status::kOk (incl. dropped refreshes)
  std::uint64_t cancelled = 0;  // operations completed with kShutdown by Stop(kCancel)
  std::uint64_t merged = 0;     // refresh waiters that joined a pending refresh
  std::uint64_t timed_out = 0;  // refresh waiters completed with kTimeout
  std::uint64_t rejected = 0;   // submissions refused with kQueueFull
  std::uint64_t dropped = 0;    // refreshes not fetched because every waiter had timed out
  LatencySummary wait;          // enqueue -> start, per started operation
};

struct MetricsSnapshot {
  std::vector<QueueMetrics> queues;  // indexed by queue (see KeyQueues::QueueOf)
  QueueMetrics total;  // sums; max_depth is the largest per-queue max; wait merges all queues
};

}  // namespace rowcached::queues
