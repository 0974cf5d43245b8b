// A monotonic counter that every I/O thread bumps on every request (commands processed, bytes
// in and out, keyspace hits, changes since the last save). One shared atomic would move its
// cache line between the cores on each request, a cost that grows with the threads; here each
// thread adds to a cache line of its own and the rare readers (INFO, the cron) sum the lines.
//
// Thread-safety: Add and Load from any thread. Reset is for CONFIG RESETSTAT and start-up: adds
// racing with it may survive it, as a Redis reset racing with commands may count them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace rowcached::server {

class StripedCounter {
 public:
  void Add(uint64_t n = 1) { lines_[ThreadLine()].value.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Load() const {
    uint64_t sum = 0;
    for (const Line& l : lines_) sum += l.value.load(std::memory_order_relaxed);
    return sum;
  }
  void Reset() {
    for (Line& l : lines_) l.value.store(0, std::memory_order_relaxed);
  }

 private:
  // Threads share a line only beyond kLines of them (queue workers, mostly idle on this path).
  static constexpr size_t kLines = 16;
  struct alignas(64) Line {
    std::atomic<uint64_t> value{0};
  };
  // The calling thread's line, handed out in the order threads first count.
  static size_t ThreadLine() {
    static std::atomic<size_t> next{0};
    thread_local const size_t line = next.fetch_add(1, std::memory_order_relaxed) % kLines;
    return line;
  }

  std::array<Line, kLines> lines_;
};

}  // namespace rowcached::server
