// queues/ — per-key single-worker queues: the ordering heart of rowcached's coherency design.
//
// Every operation on one key (a read-refill, a write, an invalidation) runs in that key's queue,
// one at a time, in submission order. The library knows nothing of RESP or SQL: an operation is a
// callable, a refresh result is a value of the caller's type R.
//
// DESIGN
//
//   Ordering. `options.queues` workers, each = one moodycamel::BlockingConcurrentQueue + exactly
//   one thread. key -> queue is fixed for the life of the process:
//       QueueOf(key) = KeyHash(key) % queues,   KeyHash = 64-bit FNV-1a over the key's bytes.
//   moodycamel only keeps FIFO per producer thread, so each submission also takes a ticket from
//   its queue's counter; the worker runs tickets strictly in order (an early ticket waits in a
//   small heap for the missing earlier one, whose submitter is mid-enqueue). Hence: if Submit(a)
//   returns before Submit(b) is called (by any threads), a runs before b starts, and two
//   operations of one queue never overlap.
//       Submit(key, op):  admit (depth < max_depth) -> ticket -> enqueue        never blocks
//       worker:           loop { take batch; run ops in ticket order; op(kOk) }
//
//   Merging. SubmitRefresh(key, gen, fetch, waiter):
//       lock queue's refresh table
//       if table[key] is open and table[key].gen == gen:  add waiter to it     (merged, no slot)
//       else: new group {gen, fetch, [waiter]} -> Submit; table[key] = group   (needs a slot)
//       worker runs group: result = fetch(); close group; every waiter <- (kOk, result)
//   A group stays open (joinable) until its result is published, also while fetch() runs. The
//   caller bumps the key's generation before acknowledging any write or invalidation, so a read
//   that starts after such an acknowledgement carries a new generation and never joins a refresh
//   that may have read the database before it; a refresh of an older generation is also never
//   joined by a newer one, nor the other way round.
//
//   Deadlines. Each waiter has its own deadline. One deadline thread completes a waiter with
//   kTimeout the moment its deadline passes, even while the worker is busy; every waiter is
//   completed exactly once (first of worker / deadline thread / shutdown wins an atomic flag), so
//   a late result is never delivered to a timed-out waiter. Rule for the operation itself: a
//   refresh whose waiters have *all* been completed when its turn comes is dropped (fetch never
//   runs: no one waits, and shedding it lets a backlogged queue catch up); otherwise it runs and
//   serves the waiters still waiting. Plain operations have no deadline.
//
//   Backpressure. At most options.max_depth operations accepted and not yet started per queue.
//   Beyond that, Submit / a non-merging SubmitRefresh fail at once with kQueueFull (the server's
//   `-TRYAGAIN`); nothing accepted is ever dropped silently.
//
//   Shutdown. Stop(mode): refuse new submissions (kShutdown); operations already accepted are
//   run normally (kDrain) or handed kShutdown without running (kCancel); then the workers and
//   the deadline thread are joined. Every operation and waiter is completed exactly once.
//
// USE (the middleware, on an I/O thread; Row is its own type, unknown to this library)
//   Status s = queues.SubmitRefresh(key, generation,
//       [db, key] { return db->ReadRow(key); },                 // on the worker, once per group
//       Waiter<Row>{Clock::now() + read_timeout,
//                   [ex, reply](Status st, std::shared_ptr<const Row> row) {
//                     asio::post(ex, [=] { reply(st, row); });   // back to the connection
//                   }});
//   Status w = queues.Submit(key, [..](Status st) {            // a write: ordered, no merging
//     if (st == Status::kOk) WriteRow(..);  reply(st);          // kOk: our turn on the worker
//   });
//
// THREADS AND OWNERSHIP
//   Submit, SubmitRefresh, QueueOf, Metrics: any thread, concurrently; never wait on a queue
//   (SubmitRefresh takes the queue's refresh-table mutex for a hash lookup and an enqueue only;
//   the worker holds it only to open/close a group, never while running fetch()).
//   Stop and the destructor: one owner thread, not a worker, callback or operation.
//   An operation runs on its queue's worker and owns its captures; it must not block for long on
//   anything but its own database work, and must not throw (a throw terminates the process).
//   Completion callbacks run on the worker (kOk, kShutdown), the deadline thread (kTimeout) or the
//   submitting thread (kQueueFull / kShutdown refused at submission, before Submit returns):
//   they must be short and non-blocking, e.g. post to the connection's Asio executor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "queues/metrics.h"
#include "queues/status.h"
#include "queues/unique_function.h"

namespace rowcached::queues {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
inline constexpr Deadline kNoDeadline = Deadline::max();

// A plain ordered operation (write, invalidation, ...). Called exactly once:
//   kOk        on the worker, when it is this operation's turn: do the work now;
//   kQueueFull / kShutdown  inline on the submitting thread if refused (the work must not run);
//   kShutdown  on the worker if Stop(kCancel) cancelled it before its turn.
using Op = UniqueFunction<void(Status)>;

// A refresh: `Fetch<R>` runs once on the worker and produces the value delivered, shared and
// immutable, to every merged waiter. `Completion<R>` is called exactly once per waiter, with
// (kOk, non-null result) or (kTimeout | kQueueFull | kShutdown, nullptr).
template <class R>
using Fetch = UniqueFunction<R()>;
template <class R>
using Completion = UniqueFunction<void(Status, std::shared_ptr<const R>)>;

template <class R>
struct Waiter {
  Deadline deadline = kNoDeadline;  // this waiter's own deadline; kNoDeadline = wait for ever
  Completion<R> done;               // REQUIRES: non-empty
};

enum class StopMode : std::uint8_t {
  kDrain,   // run every accepted operation and refresh, then stop
  kCancel,  // complete every accepted, not yet started operation with kShutdown, then stop
};

struct Options {
  // Number of queues, each with one worker thread (config `database.queues`). Each worker will
  // own one database connection. 0 is treated as 1.
  std::size_t queues = 16;
  // Per-queue bound on operations accepted and not yet started. 4096: at a typical 0.1-1 ms
  // per database round trip that is already 0.4-4 s of work, far beyond any sensible
  // read_timeout; failing fast with TRYAGAIN beats queueing work that will time out. 0 -> 1.
  std::size_t max_depth = 4096;
  // Most operations a worker takes from its queue in one dequeue (amortises the wake-up).
  std::size_t dequeue_batch = 64;
  // Most polls for work (a pause instruction each, ~10-40 ns, and a yield of the CPU every 64)
  // a worker makes before it sleeps on its queue. The yields matter with more threads than
  // cores: the submitter may be waiting for this very core, and a yield is far cheaper than a
  // futex sleep/wake pair (measured: 16 queues on 2 cores, 1.4M -> 7M ops/s). The spin actually
  // used adapts between 0 and this: it grows while work arrives within a spin or soon after a
  // sleep, and halves each time a spin finds nothing, so idle workers sleep at once and busy ones
  // avoid a futex wake-up per operation. 0 = never spin.
  std::size_t max_spin = 2048;
  // Worker threads are named "<prefix>-<index>" (truncated to 15 characters) for debuggers.
  std::string thread_name_prefix = "rc-queue";
};

// The stable key hash: 64-bit FNV-1a over the key's bytes (same on every platform and run).
[[nodiscard]] std::uint64_t KeyHash(std::string_view key) noexcept;

namespace detail {

using ErasedResult = std::shared_ptr<const void>;
using ErasedFetch = UniqueFunction<ErasedResult()>;

// Identifies the result type R of a refresh, so refreshes of different types never merge.
template <class R>
inline constexpr char kTypeTag = 0;

// A refresh waiter, shared by its group (worker) and the deadline thread; whoever first calls
// Complete delivers, all later calls are no-ops.
class WaiterBase {
 public:
  explicit WaiterBase(Deadline deadline) : deadline_(deadline) {}
  virtual ~WaiterBase() = default;
  WaiterBase(const WaiterBase&) = delete;
  WaiterBase& operator=(const WaiterBase&) = delete;

  [[nodiscard]] Deadline deadline() const noexcept { return deadline_; }
  [[nodiscard]] bool done() const noexcept { return done_.load(std::memory_order_acquire); }

  // Returns true if this call completed the waiter (and so delivered `status`). `count`, if
  // given, is bumped before the delivery, so a callback never runs ahead of its metric.
  bool Complete(Status status, const ErasedResult& result,
                std::atomic<std::uint64_t>* count = nullptr) {
    if (done_.exchange(true, std::memory_order_acq_rel)) return false;
    if (count != nullptr) count->fetch_add(1, std::memory_order_relaxed);
    Deliver(status, result);
    return true;
  }

 protected:
  // Called at most once, by the winner of `done_`.
  virtual void Deliver(Status status, const ErasedResult& result) = 0;

 private:
  const Deadline deadline_;
  std::atomic<bool> done_{false};
};

template <class R>
class TypedWaiter final : public WaiterBase {
 public:
  TypedWaiter(Deadline deadline, Completion<R> done)
      : WaiterBase(deadline), done_fn_(std::move(done)) {}

 private:
  void Deliver(Status status, const ErasedResult& result) override {
    Completion<R> fn = std::move(done_fn_);  // release the captures once delivered
    fn(status, std::static_pointer_cast<const R>(result));
  }
  Completion<R> done_fn_;
};

}  // namespace detail

// The set of per-key queues. Same queue == sequential and FIFO (see DESIGN above).
class KeyQueues {
 public:
  // Starts options.queues worker threads and one deadline thread.
  explicit KeyQueues(Options options = {});
  // Stop(StopMode::kCancel) unless already stopped. Call Stop(StopMode::kDrain) first for a
  // graceful shutdown.
  ~KeyQueues();
  KeyQueues(const KeyQueues&) = delete;
  KeyQueues& operator=(const KeyQueues&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return queues_.size(); }
  [[nodiscard]] std::size_t QueueOf(std::string_view key) const noexcept {
    return static_cast<std::size_t>(KeyHash(key) % queues_.size());
  }

  // Queues `op` behind every operation already accepted for the key's queue.
  // Returns kOk (op will be called later, on the worker), or kQueueFull / kShutdown (op has
  // already been called with that status, on this thread). Never blocks. Any thread.
  [[nodiscard]] Status Submit(std::string_view key, Op op);

  // Asks for `fetch` (R() or convertible) to run on the key's worker, merged with a pending
  // refresh of the same key, generation and R if there is one (then this `fetch` is discarded
  // unrun). `waiter.done` is called exactly once (see Completion). Returns kOk if the waiter is
  // now parked (joined or new), else kQueueFull / kShutdown, in which case waiter.done has
  // already been called with it on this thread. Never blocks on the queue. Any thread.
  template <class R, class F>
  [[nodiscard]] Status SubmitRefresh(std::string_view key, std::uint64_t generation, F&& fetch,
                                     Waiter<R> waiter) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_r_v<R, Fn&>, "fetch must be callable as R()");
    detail::ErasedFetch erased = [fn = Fn(std::forward<F>(fetch))]() mutable {
      return detail::ErasedResult(std::make_shared<R>(fn()));
    };
    return SubmitRefreshErased(
        key, generation, &detail::kTypeTag<R>, std::move(erased),
        std::make_shared<detail::TypedWaiter<R>>(waiter.deadline, std::move(waiter.done)));
  }

  // Stops accepting, drains or cancels what is queued, joins every thread. Idempotent.
  // REQUIRES: not called from an operation, a fetch or a completion callback.
  void Stop(StopMode mode);
  // True once Stop has begun. Any thread.
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

  // A snapshot of every queue's counters and wait-time percentiles. Any thread.
  [[nodiscard]] MetricsSnapshot Metrics() const;

 private:
  struct Queue;
  class RefreshGroup;
  class DeadlineThread;

  [[nodiscard]] Status Enqueue(Queue& q, Op& op);  // moves from `op` only on kOk
  [[nodiscard]] Status SubmitRefreshErased(std::string_view key, std::uint64_t generation,
                                           const void* type_tag, detail::ErasedFetch fetch,
                                           std::shared_ptr<detail::WaiterBase> waiter);
  void WorkerLoop(Queue& q);

  const Options options_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::unique_ptr<DeadlineThread> deadlines_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;    // serialises Stop
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace rowcached::queues
