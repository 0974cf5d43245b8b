// queues_bench: submit -> execute -> complete throughput and enqueue-to-start latency of
// rowcached::queues::KeyQueues, side by side with a baseline of std::deque + mutex + condition
// variable with the same semantics (one worker per queue, key -> queue by the same hash, bounded
// depth with inline rejection, FIFO), measured in the same run.
//
//   queues_bench [--ops N] [--repeat R] [--rate OPS_PER_S] [--seconds S]
//                [--max-spin N] [--batch N] [--queues N]     (tuning: KeyQueues Options)
//
// Per configuration (1, 4, 16 queues; 2 producer threads):
//   saturation: the producers submit N operations as fast as they can (retrying on kQueueFull);
//               throughput = N / time until the last operation completed; median of R runs.
//   paced:      the producers submit at RATE ops/s in total for S seconds; enqueue-to-start
//               latency p50/p99 (time from just before Submit to the operation starting).
//   idle:       CPU the process burns in the second after a saturation burst (spinning must stop).
// Completion = the operation records its latency and bumps its queue's completion counter.
// Last line: "queues: <ratio> ops/s ratio vs mutex-deque (16 queues)".
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "queues/queues.h"

namespace {

namespace q = rowcached::queues;
using q::Clock;
using q::Status;

constexpr std::size_t kMaxDepth = 4096;  // the library default, for both implementations
constexpr int kProducers = 2;

// The baseline: textbook bounded blocking queue per worker.
class MutexDequeQueues {
 public:
  explicit MutexDequeQueues(std::size_t n) : queues_(n) {
    for (auto& q : queues_) {
      q = std::make_unique<Queue>();
      Queue* raw = q.get();
      raw->worker = std::thread([raw] { Loop(*raw); });
    }
  }
  ~MutexDequeQueues() {
    for (auto& q : queues_) {
      {
        std::lock_guard lock(q->mu);
        q->stop = true;
      }
      q->cv.notify_one();
    }
    for (auto& q : queues_) q->worker.join();
  }

  [[nodiscard]] Status Submit(std::string_view key, q::Op op) {
    Queue& q = *queues_[q::KeyHash(key) % queues_.size()];
    {
      std::unique_lock lock(q.mu);
      if (q.stop) {
        lock.unlock();
        op(Status::kShutdown);
        return Status::kShutdown;
      }
      if (q.items.size() >= kMaxDepth) {
        lock.unlock();
        op(Status::kQueueFull);
        return Status::kQueueFull;
      }
      q.items.push_back(std::move(op));
    }
    q.cv.notify_one();
    return Status::kOk;
  }

 private:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<q::Op> items;  // guarded by mu
    bool stop = false;        // guarded by mu; the worker drains before exiting
    std::thread worker;
  };

  static void Loop(Queue& q) {
    for (;;) {
      q::Op op;
      {
        std::unique_lock lock(q.mu);
        q.cv.wait(lock, [&q] { return q.stop || !q.items.empty(); });
        if (q.items.empty()) return;
        op = std::move(q.items.front());
        q.items.pop_front();
      }
      op(Status::kOk);
    }
  }

  std::vector<std::unique_ptr<Queue>> queues_;
};

struct alignas(64) PerQueue {
  q::LatencyHistogram latency;
  alignas(64) std::atomic<std::uint64_t> completed{0};
};

struct Result {
  double ops_per_s = 0;
  q::LatencySummary latency;
};

std::vector<std::string> MakeKeys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back("products:" + std::to_string(i));
  return keys;
}

// One run against `impl`: total `ops` operations from kProducers threads; if `rate` > 0 they are
// paced at `rate` ops/s in total, else submitted as fast as accepted.
template <class Impl>
Result Run(Impl& impl, std::size_t nqueues, std::uint64_t ops, double rate) {
  static const std::vector<std::string> keys = MakeKeys();
  std::vector<PerQueue> per_queue(nqueues);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  const std::uint64_t per_producer = ops / kProducers;
  const std::uint64_t total = per_producer * kProducers;

  auto producer = [&](int p) {
    ready.fetch_add(1);
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    const auto start = Clock::now();
    const double my_rate = rate / kProducers;
    std::uint64_t sent = 0;
    std::size_t k = static_cast<std::size_t>(p);
    while (sent < per_producer) {
      std::uint64_t due = per_producer;
      if (rate > 0) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        due = std::min<std::uint64_t>(per_producer, static_cast<std::uint64_t>(elapsed * my_rate));
        if (due <= sent) {
          std::this_thread::sleep_for(std::chrono::microseconds(100));
          continue;
        }
      }
      for (; sent < due; ++sent) {
        const std::string& key = keys[k % keys.size()];
        k += kProducers;
        PerQueue* pq = &per_queue[q::KeyHash(key) % nqueues];
        for (;;) {
          const auto t0 = Clock::now();
          const Status st = impl.Submit(key, [t0, pq](Status s) {
            if (s != Status::kOk) return;
            pq->latency.Record(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
            pq->completed.fetch_add(1, std::memory_order_release);
          });
          if (st == Status::kOk) break;
          std::this_thread::yield();  // backpressure: retry
        }
      }
    }
  };

  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) threads.emplace_back(producer, p);
  while (ready.load() < kProducers) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (;;) {
    std::uint64_t done = 0;
    for (auto& pq : per_queue) done += pq.completed.load(std::memory_order_acquire);
    if (done >= total) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& t : threads) t.join();

  q::LatencyHistogram::Counts counts{};
  std::uint64_t max_ns = 0;
  for (auto& pq : per_queue) pq.latency.AddTo(counts, &max_ns);
  return {static_cast<double>(total) / secs, q::LatencyHistogram::Summarize(counts, max_ns)};
}

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

// CPU the workers burn once work stops: the adaptive spin must decay to sleeping at once.
double IdleCpuShare(q::Options options, std::uint64_t ops) {
  q::KeyQueues impl(options);
  Run(impl, options.queues, ops, 0);
  const double cpu0 = ProcessCpuSeconds();
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  return (ProcessCpuSeconds() - cpu0) / wall;
}

std::string Us(std::uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(ns) / 1000.0);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t ops = 1'000'000;
  int repeat = 3;
  double rate = 100'000;
  double seconds = 1.0;
  q::Options tuned{.max_depth = kMaxDepth};
  std::vector<std::size_t> sizes = {1, 4, 16};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--ops")) {
      ops = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--repeat")) {
      repeat = std::max(1, std::atoi(argv[i + 1]));
    } else if (!std::strcmp(argv[i], "--rate")) {
      rate = std::strtod(argv[i + 1], nullptr);
    } else if (!std::strcmp(argv[i], "--seconds")) {
      seconds = std::strtod(argv[i + 1], nullptr);
    } else if (!std::strcmp(argv[i], "--max-spin")) {
      tuned.max_spin = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--batch")) {
      tuned.dequeue_batch = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--queues")) {
      sizes = {std::strtoull(argv[i + 1], nullptr, 10)};
    } else {
      std::fprintf(stderr,
                   "usage: %s [--ops N] [--repeat R] [--rate OPS_PER_S] [--seconds S] "
                   "[--max-spin N] [--batch N] [--queues N]\n",
                   argv[0]);
      return 2;
    }
  }
  const auto paced_ops = static_cast<std::uint64_t>(rate * seconds);
  std::printf(
      "queues_bench: %d producers, %llu ops per saturation run (median of %d), "
      "paced at %.0f ops/s for %.1f s; %u hardware threads\n",
      kProducers, static_cast<unsigned long long>(ops), repeat, rate, seconds,
      std::thread::hardware_concurrency());
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {  // this machine is shared: say how busy
    char load[64] = {};
    if (std::fgets(load, sizeof load, f)) std::printf("load average at start: %s", load);
    std::fclose(f);
  }
  std::printf("%-12s %6s %12s %10s %10s %12s %12s %12s\n", "impl", "queues", "ops/s", "sat p50us",
              "sat p99us", "paced p50us", "paced p99us", "paced p999us");

  double ratio16 = 0;
  for (std::size_t n : sizes) {
    q::Options options = tuned;
    options.queues = n;
    std::vector<double> ours, base;
    Result ours_sat, base_sat;
    for (int r = 0; r < repeat; ++r) {  // interleaved, so drift hits both alike
      {
        q::KeyQueues impl(options);
        ours_sat = Run(impl, n, ops, 0);
        ours.push_back(ours_sat.ops_per_s);
        impl.Stop(q::StopMode::kDrain);
      }
      {
        MutexDequeQueues impl(n);
        base_sat = Run(impl, n, ops, 0);
        base.push_back(base_sat.ops_per_s);
      }
    }
    std::sort(ours.begin(), ours.end());
    std::sort(base.begin(), base.end());
    const double ours_med = ours[ours.size() / 2];
    const double base_med = base[base.size() / 2];

    Result ours_paced, base_paced;
    {
      q::KeyQueues impl(options);
      ours_paced = Run(impl, n, paced_ops, rate);
    }
    {
      MutexDequeQueues impl(n);
      base_paced = Run(impl, n, paced_ops, rate);
    }
    auto row = [&](const char* name, double tput, const Result& sat, const Result& paced) {
      std::printf("%-12s %6zu %12.0f %10s %10s %12s %12s %12s\n", name, n, tput,
                  Us(sat.latency.p50_ns).c_str(), Us(sat.latency.p99_ns).c_str(),
                  Us(paced.latency.p50_ns).c_str(), Us(paced.latency.p99_ns).c_str(),
                  Us(paced.latency.p999_ns).c_str());
    };
    row("queues", ours_med, ours_sat, ours_paced);
    row("mutex-deque", base_med, base_sat, base_paced);
    std::printf("%-12s %6zu %12.2f\n", "ratio", n, ours_med / base_med);
    if (n == 16) ratio16 = ours_med / base_med;
  }
  {
    q::Options options = tuned;
    options.queues = sizes.back();
    std::printf("idle after a burst (%zu queues): %.3f cores busy\n", options.queues,
                IdleCpuShare(options, ops));
  }
  std::printf("queues: %.2f ops/s ratio vs mutex-deque (16 queues)\n", ratio16);
  return 0;
}
