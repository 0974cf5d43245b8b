#include "queues/queues.h"

#include <blockingconcurrentqueue.h>
#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <unordered_map>

namespace rowcached::queues {

std::uint64_t KeyHash(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  return h;
}

namespace {

// Ticket value of the item Stop() pushes to wake a sleeping worker; it is outside the ticket
// sequence and ignored for ordering.
constexpr std::uint64_t kWakeSeq = ~std::uint64_t{0};
// Set in Queue::next_seq by Stop(): no ticket is handed out afterwards.
constexpr std::uint64_t kClosedBit = std::uint64_t{1} << 63;
constexpr std::uint64_t kNotStopping = ~std::uint64_t{0};

// The worker does its own adaptive spinning (Options::max_spin) before it sleeps, so the
// semaphore inside the queue must not spin again: its fixed 10,000 spins per wait burn the CPU of
// many mostly idle workers sharing few cores, which delays the workers that have work.
struct QueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static const int MAX_SEMA_SPINS = 0;
};

// A sleep shorter than this means work was arriving faster than a sleep/wake cycle costs, so
// spinning next time would have been cheaper.
constexpr std::size_t kPausesPerYield = 64;  // a power of two

constexpr auto kShortSleep = std::chrono::microseconds(50);

inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

struct Item {
  std::uint64_t seq = 0;
  Clock::time_point enqueued{};
  Op op;
};

// Min-heap on seq for tickets that came out of the queue before an earlier one.
struct LaterSeq {
  bool operator()(const Item& a, const Item& b) const noexcept { return a.seq > b.seq; }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Single-writer counter (only the worker increments): a relaxed load + store is enough and
// avoids a locked instruction; readers see a recent value.
inline void BumpOwned(std::atomic<std::uint64_t>& c) noexcept {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

[[noreturn]] void FatalEnqueueFailure() {
  // moodycamel only fails an enqueue when it cannot allocate a block. A ticket has been taken,
  // so continuing would stall the queue for ever; out of memory is not recoverable here.
  std::fputs("rowcached queues: out of memory enqueueing an operation\n", stderr);
  std::abort();
}

}  // namespace

struct KeyQueues::Queue {
  explicit Queue(std::size_t i) : index(i) {}

  const std::size_t index;
  moodycamel::BlockingConcurrentQueue<Item, QueueTraits> items;

  // Next ticket; kClosedBit once Stop() began. Its low bits count accepted operations.
  alignas(64) std::atomic<std::uint64_t> next_seq{0};
  std::atomic<std::uint64_t> max_depth{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> merged{0};
  std::atomic<std::uint64_t> timed_out{0};

  // Written by the worker only.
  // Tickets started so far: depth = (next_seq & ~kClosedBit) - started, no counter to decrement.
  alignas(64) std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> executed{0};
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::uint64_t> dropped{0};
  LatencyHistogram wait;

  // Set by Stop(): the worker exits once every ticket below final_seq has been handled.
  std::atomic<std::uint64_t> final_seq{kNotStopping};
  std::atomic<bool> cancel{false};

  // Pending refreshes of this queue's keys, by key. Guards the map and every group's `open`
  // and `waiters`. Held briefly (lookup, enqueue, open/close a group); never while fetching.
  std::mutex refresh_mu;
  std::unordered_map<std::string, std::shared_ptr<RefreshGroup>, StringHash, std::equal_to<>>
      pending;

  std::thread worker;
};

// All the waiters of one refresh execution. Owned by shared_ptr: by the queued operation and,
// while open, by Queue::pending.
class KeyQueues::RefreshGroup {
 public:
  RefreshGroup(Queue* q, std::string_view key, std::uint64_t generation, const void* type_tag,
               detail::ErasedFetch fetch, std::shared_ptr<detail::WaiterBase> first)
      : q_(q), key_(key), generation_(generation), type_tag_(type_tag), fetch_(std::move(fetch)) {
    waiters_.push_back(std::move(first));
  }

  // REQUIRES: q_->refresh_mu held.
  [[nodiscard]] bool JoinableLocked(std::uint64_t generation, const void* type_tag) const {
    return open_ && generation == generation_ && type_tag == type_tag_;
  }
  // REQUIRES: q_->refresh_mu held and JoinableLocked(...).
  void JoinLocked(std::shared_ptr<detail::WaiterBase> w) { waiters_.push_back(std::move(w)); }

  // The group's queued operation; runs on the worker (status kOk or kShutdown).
  void Run(Status status) {
    if (status != Status::kOk) {
      Finish(status, nullptr);
      return;
    }
    {
      std::lock_guard lock(q_->refresh_mu);
      const bool anyone_waiting =
          std::any_of(waiters_.begin(), waiters_.end(), [](const auto& w) { return !w->done(); });
      if (!anyone_waiting) {  // the deadline rule: nobody to serve, shed the fetch
        CloseLocked();
        waiters_.clear();
        BumpOwned(q_->dropped);
        return;
      }
    }
    detail::ErasedResult result = fetch_();
    fetch_.Reset();
    Finish(Status::kOk, result);
  }

 private:
  void CloseLocked() {
    open_ = false;
    auto it = q_->pending.find(std::string_view(key_));
    if (it != q_->pending.end() && it->second.get() == this) q_->pending.erase(it);
  }

  void Finish(Status status, const detail::ErasedResult& result) {
    std::vector<std::shared_ptr<detail::WaiterBase>> waiters;
    {
      std::lock_guard lock(q_->refresh_mu);
      CloseLocked();
      waiters.swap(waiters_);
    }
    for (const auto& w : waiters) w->Complete(status, result);
  }

  Queue* const q_;
  const std::string key_;
  const std::uint64_t generation_;
  const void* const type_tag_;
  detail::ErasedFetch fetch_;                                 // worker only, once queued
  bool open_ = true;                                          // guarded by q_->refresh_mu
  std::vector<std::shared_ptr<detail::WaiterBase>> waiters_;  // guarded by q_->refresh_mu
};

// Completes waiters with kTimeout when their deadlines pass. One thread per KeyQueues.
class KeyQueues::DeadlineThread {
 public:
  DeadlineThread() : thread_([this] { Loop(); }) {
    pthread_setname_np(thread_.native_handle(), "rc-deadlines");
  }
  ~DeadlineThread() { Stop(); }

  // Any thread. `timed_out` is the waiter's queue counter.
  void Add(std::shared_ptr<detail::WaiterBase> waiter, std::atomic<std::uint64_t>* timed_out) {
    bool earliest;
    {
      std::lock_guard lock(mu_);
      const Deadline at = waiter->deadline();
      earliest = heap_.empty() || at < heap_.front().at;  // else the thread wakes soon enough
      heap_.push_back(Entry{at, std::move(waiter), timed_out});
      std::push_heap(heap_.begin(), heap_.end(), Later{});
    }
    if (earliest) cv_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    heap_.clear();  // every waiter left here has been completed by its worker
  }

 private:
  struct Entry {
    Deadline at;
    std::shared_ptr<detail::WaiterBase> waiter;
    std::atomic<std::uint64_t>* timed_out;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const noexcept { return a.at > b.at; }
  };

  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (heap_.empty()) {
        cv_.wait(lock);
        continue;
      }
      if (const Deadline next = heap_.front().at; next > Clock::now()) {
        // By value: wait_until reads its argument again after waking, when Add() may have
        // reallocated the heap.
        cv_.wait_until(lock, next);
        continue;
      }
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      Entry e = std::move(heap_.back());
      heap_.pop_back();
      lock.unlock();  // never call back with the lock held
      e.waiter->Complete(Status::kTimeout, nullptr, e.timed_out);
      e.waiter.reset();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> heap_;  // guarded by mu_
  bool stop_ = false;        // guarded by mu_
  std::thread thread_;
};

KeyQueues::KeyQueues(Options options)
    : options_([&] {
        options.queues = std::max<std::size_t>(options.queues, 1);
        options.max_depth = std::max<std::size_t>(options.max_depth, 1);
        options.dequeue_batch = std::max<std::size_t>(options.dequeue_batch, 1);
        return options;
      }()) {
  deadlines_ = std::make_unique<DeadlineThread>();
  queues_.reserve(options_.queues);
  for (std::size_t i = 0; i < options_.queues; ++i) {
    queues_.push_back(std::make_unique<Queue>(i));
  }
  for (auto& q : queues_) {
    Queue* raw = q.get();
    q->worker = std::thread([this, raw] { WorkerLoop(*raw); });
    const std::string name =
        (options_.thread_name_prefix + "-" + std::to_string(q->index)).substr(0, 15);
    pthread_setname_np(q->worker.native_handle(), name.c_str());
  }
}

KeyQueues::~KeyQueues() { Stop(StopMode::kCancel); }

Status KeyQueues::Enqueue(Queue& q, Op& op) {
  // Admission, the closed check and the ticket are one compare-and-swap. Tickets follow the
  // modification order of next_seq, which extends happens-before: a submission that returned
  // before another began holds the smaller ticket. `started` may be stale (smaller), which can
  // only refuse early, never exceed max_depth.
  std::uint64_t ticket = q.next_seq.load(std::memory_order_relaxed);
  std::uint64_t depth;
  do {
    if (ticket & kClosedBit) return Status::kShutdown;
    const std::uint64_t started = q.started.load(std::memory_order_relaxed);
    depth = ticket > started ? ticket - started : 0;  // a stale `ticket` fails the CAS below
    if (depth >= options_.max_depth) {
      q.rejected.fetch_add(1, std::memory_order_relaxed);
      return Status::kQueueFull;
    }
  } while (!q.next_seq.compare_exchange_weak(ticket, ticket + 1, std::memory_order_relaxed));
  std::uint64_t seen = q.max_depth.load(std::memory_order_relaxed);
  while (depth + 1 > seen &&
         !q.max_depth.compare_exchange_weak(seen, depth + 1, std::memory_order_relaxed)) {
  }
  if (!q.items.enqueue(Item{ticket, Clock::now(), std::move(op)})) FatalEnqueueFailure();
  return Status::kOk;
}

Status KeyQueues::Submit(std::string_view key, Op op) {
  Status status = Status::kShutdown;
  if (!stopping_.load(std::memory_order_acquire)) {
    status = Enqueue(*queues_[QueueOf(key)], op);
  }
  if (status != Status::kOk) op(status);
  return status;
}

Status KeyQueues::SubmitRefreshErased(std::string_view key, std::uint64_t generation,
                                      const void* type_tag, detail::ErasedFetch fetch,
                                      std::shared_ptr<detail::WaiterBase> waiter) {
  if (stopping_.load(std::memory_order_acquire)) {
    waiter->Complete(Status::kShutdown, nullptr);
    return Status::kShutdown;
  }
  Queue& q = *queues_[QueueOf(key)];
  Status status;
  {
    std::lock_guard lock(q.refresh_mu);
    auto it = q.pending.find(key);
    if (it != q.pending.end() && it->second->JoinableLocked(generation, type_tag)) {
      it->second->JoinLocked(waiter);
      q.merged.fetch_add(1, std::memory_order_relaxed);
      status = Status::kOk;
    } else {
      // Enqueue under the lock, so a concurrent refresh of the same key and generation either
      // sees this group or runs after it has been refused: never two queued groups that could
      // have been one.
      auto group =
          std::make_shared<RefreshGroup>(&q, key, generation, type_tag, std::move(fetch), waiter);
      Op op = [group](Status s) { group->Run(s); };
      status = Enqueue(q, op);
      if (status == Status::kOk) {
        if (it != q.pending.end()) {
          it->second = std::move(group);  // a newer generation supersedes the older group
        } else {
          q.pending.emplace(std::string(key), std::move(group));
        }
      }
    }
  }
  if (status != Status::kOk) {
    waiter->Complete(status, nullptr);
    return status;
  }
  if (waiter->deadline() != kNoDeadline) deadlines_->Add(std::move(waiter), &q.timed_out);
  return Status::kOk;
}

void KeyQueues::WorkerLoop(Queue& q) {
  std::vector<Item> batch(options_.dequeue_batch);
  std::vector<Item> early;  // heap (LaterSeq) of tickets that overtook an earlier one
  std::uint64_t expected = 0;

  auto run = [&q](Item& item) {
    q.started.store(item.seq + 1, std::memory_order_relaxed);  // the worker is the only writer
    const auto start = Clock::now();
    q.wait.Record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(start - item.enqueued).count()));
    Op op = std::move(item.op);
    if (q.cancel.load(std::memory_order_relaxed)) {
      BumpOwned(q.cancelled);
      op(Status::kShutdown);
    } else {
      BumpOwned(q.executed);
      op(Status::kOk);
    }
  };

  // Adaptive spin budget: doubles while work keeps arriving during a spin or just after a sleep,
  // halves whenever a spin finds nothing. Busy queues skip the sleep/wake cost; idle ones give
  // their CPU away at once.
  const std::size_t max_spin = options_.max_spin;
  std::size_t spin = 0;
  for (;;) {
    std::size_t n = q.items.try_dequeue_bulk(batch.begin(), batch.size());
    if (n == 0 && spin > 0) {
      std::size_t i = 0;
      while (i < spin && q.items.size_approx() == 0) {
        // With more threads than cores the submitter may need this very core: give it up now
        // and then instead of only pausing, which also beats a futex sleep/wake pair.
        if ((++i & (kPausesPerYield - 1)) == 0) {
          std::this_thread::yield();
        } else {
          CpuRelax();
        }
      }
      if (i < spin) {
        spin = std::min(max_spin, spin * 2);
        continue;
      }
      spin /= 2;
    }
    if (n == 0) {
      const auto slept_at = Clock::now();
      n = q.items.wait_dequeue_bulk(batch.begin(), batch.size());
      if (max_spin > 0 && Clock::now() - slept_at < kShortSleep) {
        spin = std::min(max_spin, std::max<std::size_t>(spin * 2, 16));
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      Item& item = batch[i];
      if (item.seq == kWakeSeq) continue;
      if (item.seq != expected) {
        early.push_back(std::move(item));
        std::push_heap(early.begin(), early.end(), LaterSeq{});
        continue;
      }
      run(item);
      ++expected;
      while (!early.empty() && early.front().seq == expected) {
        std::pop_heap(early.begin(), early.end(), LaterSeq{});
        run(early.back());
        early.pop_back();
        ++expected;
      }
    }
    const std::uint64_t final_seq = q.final_seq.load(std::memory_order_acquire);
    if (final_seq != kNotStopping && expected == final_seq) return;
  }
}

void KeyQueues::Stop(StopMode mode) {
  std::lock_guard lock(stop_mu_);
  if (stopped_) return;
  // The cancel flags are published by the release store of stopping_: an operation that sees
  // stopping() also sees every later queued operation cancelled.
  for (auto& q : queues_) q->cancel.store(mode == StopMode::kCancel, std::memory_order_relaxed);
  stopping_.store(true, std::memory_order_release);
  for (auto& q : queues_) {
    const std::uint64_t final_seq =
        q->next_seq.fetch_or(kClosedBit, std::memory_order_acq_rel) & ~kClosedBit;
    q->final_seq.store(final_seq, std::memory_order_release);
    if (!q->items.enqueue(Item{kWakeSeq, {}, {}})) FatalEnqueueFailure();
  }
  for (auto& q : queues_) q->worker.join();
  // Every group has now been completed, so no deadline is still needed.
  deadlines_->Stop();
  stopped_ = true;
}

MetricsSnapshot KeyQueues::Metrics() const {
  MetricsSnapshot snap;
  snap.queues.reserve(queues_.size());
  LatencyHistogram::Counts all{};
  std::uint64_t all_max = 0;
  QueueMetrics& t = snap.total;
  for (const auto& q : queues_) {
    QueueMetrics m;
    const std::uint64_t started = q->started.load(std::memory_order_relaxed);
    m.submitted = q->next_seq.load(std::memory_order_relaxed) & ~kClosedBit;
    m.depth = m.submitted > started ? m.submitted - started : 0;
    m.max_depth = q->max_depth.load(std::memory_order_relaxed);
    m.executed = q->executed.load(std::memory_order_relaxed);
    m.cancelled = q->cancelled.load(std::memory_order_relaxed);
    m.merged = q->merged.load(std::memory_order_relaxed);
    m.timed_out = q->timed_out.load(std::memory_order_relaxed);
    m.rejected = q->rejected.load(std::memory_order_relaxed);
    m.dropped = q->dropped.load(std::memory_order_relaxed);
    m.wait = q->wait.Summary();
    q->wait.AddTo(all, &all_max);

    t.depth += m.depth;
    t.max_depth = std::max(t.max_depth, m.max_depth);
    t.submitted += m.submitted;
    t.executed += m.executed;
    t.cancelled += m.cancelled;
    t.merged += m.merged;
    t.timed_out += m.timed_out;
    t.rejected += m.rejected;
    t.dropped += m.dropped;
    snap.queues.push_back(m);
  }
  t.wait = LatencyHistogram::Summarize(all, all_max);
  return snap;
}

}  // namespace rowcached::queues
