// Unit tests of queues/: ordering, merging, deadlines, backpressure, shutdown, metrics.
// Also run under ThreadSanitizer (label "tsan"). No test uses a sleep for synchronisation: a
// worker is held busy by a Gate operation that reports it started and waits to be released.
#include "queues/queues.h"

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace q = rowcached::queues;
using q::Clock;
using q::KeyQueues;
using q::Status;
using namespace std::chrono_literals;

#ifndef ROWCACHED_QUEUES_FIFO_OPS
#define ROWCACHED_QUEUES_FIFO_OPS 1000000
#endif

namespace {

// Safety net only: a broken queue would otherwise hang the test run instead of failing it.
constexpr auto kHang = 60s;

// Holds a worker inside one operation until Release(); AwaitStarted() proves the worker is in it.
// The operation shares the gate's state, so a Gate may be destroyed before the worker has left.
class Gate {
 public:
  q::Op Op() {
    return [state = state_](Status s) {
      if (s != Status::kOk) return;
      state->started.set_value();
      state->release.wait();
      state->returned.store(true);
    };
  }
  void AwaitStarted() {
    REQUIRE(state_->started_future.wait_for(kHang) == std::future_status::ready);
  }
  void Release() { state_->release_promise.set_value(); }
  bool returned() const { return state_->returned.load(); }

 private:
  struct State {
    std::promise<void> started;
    std::future<void> started_future = started.get_future();
    std::promise<void> release_promise;
    std::shared_future<void> release = release_promise.get_future().share();
    std::atomic<bool> returned{false};
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Submits an operation behind everything queued for `key` and waits until it has run.
void Barrier(KeyQueues& queues, const std::string& key) {
  std::promise<void> ran;
  auto ran_future = ran.get_future();
  REQUIRE(queues.Submit(key, [&ran](Status) { ran.set_value(); }) == Status::kOk);
  REQUIRE(ran_future.wait_for(kHang) == std::future_status::ready);
}

// Two keys that map to different queues.
std::pair<std::string, std::string> KeysOnDifferentQueues(const KeyQueues& queues) {
  const std::string a = "k:0";
  for (int i = 1;; ++i) {
    std::string b = "k:" + std::to_string(i);
    if (queues.QueueOf(b) != queues.QueueOf(a)) return {a, b};
  }
}

// Records every completion of one refresh waiter.
struct Outcome {
  std::atomic<int> calls{0};
  Status status = Status::kOk;  // written once, by the first call
  std::shared_ptr<const std::string> result;
  Clock::time_point at{};
  std::promise<void> done;
  std::future<void> done_future = done.get_future();

  q::Waiter<std::string> Waiter(q::Deadline deadline = q::kNoDeadline) {
    return {deadline, [this](Status s, std::shared_ptr<const std::string> r) {
              if (calls.fetch_add(1) == 0) {
                status = s;
                result = std::move(r);
                at = Clock::now();
                done.set_value();
              }
            }};
  }
  void Await() { REQUIRE(done_future.wait_for(kHang) == std::future_status::ready); }
};

std::size_t ThreadCount() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

// The kernel lists an exited thread in /proc/self/task for a moment after pthread_join returned,
// so thread counts are waited for, not sampled once.
std::size_t AwaitThreadCount(std::size_t expect) {
  const auto give_up = Clock::now() + kHang;
  std::size_t n = ThreadCount();
  while (n != expect && Clock::now() < give_up) {
    std::this_thread::yield();
    n = ThreadCount();
  }
  return n;
}

// Threads now, after letting the runtime start any helper thread of its own (ThreadSanitizer
// adds one on the first thread creation) and waiting for the probe thread to be gone.
std::size_t BaselineThreadCount() {
  pid_t probe = 0;
  std::thread([&probe] { probe = gettid(); }).join();
  const std::string path = "/proc/self/task/" + std::to_string(probe);
  const auto give_up = Clock::now() + kHang;
  while (access(path.c_str(), F_OK) == 0 && Clock::now() < give_up) std::this_thread::yield();
  return ThreadCount();
}
}  // namespace

TEST_CASE("StatusText names every status", "[queues]") {
  CHECK(q::StatusText(Status::kOk) == "ok");
  CHECK(q::StatusText(Status::kQueueFull) == "queue full");
  CHECK(q::StatusText(Status::kTimeout) == "timed out in queue");
  CHECK(q::StatusText(Status::kShutdown) == "shutting down");
}

TEST_CASE("KeyHash is FNV-1a 64 and the key to queue map is stable", "[queues]") {
  CHECK(q::KeyHash("") == 0xcbf29ce484222325ULL);
  CHECK(q::KeyHash("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(q::KeyHash("foobar") == 0x85944171f73967e8ULL);
  KeyQueues one({.queues = 7});
  KeyQueues two({.queues = 7});
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "products:" + std::to_string(i);
    REQUIRE(one.QueueOf(key) == two.QueueOf(key));
    REQUIRE(one.QueueOf(key) == q::KeyHash(key) % 7);
  }
}

TEST_CASE("UniqueFunction holds move-only and large callables and destroys them once", "[queues]") {
  auto token = std::make_shared<int>(5);
  {
    q::UniqueFunction<int(int)> small = [p = std::make_unique<int>(3)](int x) { return *p + x; };
    CHECK(small(4) == 7);
    std::array<char, 200> big{};
    big[0] = 2;
    q::UniqueFunction<int(int)> large = [big, token](int x) { return big[0] * x + *token; };
    q::UniqueFunction<int(int)> moved = std::move(large);
    CHECK(!large);  // NOLINT: testing the moved-from state
    CHECK(moved(10) == 25);
    CHECK(token.use_count() == 2);
    moved = std::move(small);
    CHECK(token.use_count() == 1);  // the large callable was destroyed by the assignment
    CHECK(moved(1) == 4);
  }
  CHECK(token.use_count() == 1);
}

TEST_CASE("Per-key FIFO and no overlap under 8 producer threads", "[queues][fifo]") {
  constexpr int kProducers = 8;
  constexpr int kKeys = 64;
  constexpr int kOps = ROWCACHED_QUEUES_FIFO_OPS;  // 1,000,000; smaller under TSan (CMake)
  constexpr int kPerProducer = kOps / kProducers;
  KeyQueues queues({.queues = 16, .max_depth = 1 << 16});

  std::vector<std::string> keys;
  for (int k = 0; k < kKeys; ++k) keys.push_back("orders:" + std::to_string(k));
  // last[k][p]: last sequence number of producer p seen for key k. Touched only by key k's
  // worker: if two workers ran one key, ThreadSanitizer would report it.
  std::vector<std::array<int, kProducers>> last(kKeys);
  for (auto& l : last) l.fill(-1);
  std::vector<std::atomic<int>> key_running(kKeys);
  std::vector<std::atomic<int>> queue_running(queues.size());
  std::atomic<long> order_errors{0}, overlap_errors{0}, completed{0}, unexpected_status{0};
  std::promise<void> all_done;

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int s = 0; s < kPerProducer; ++s) {
        const int k = (s * 7 + p) % kKeys;
        const std::size_t qi = queues.QueueOf(keys[k]);
        for (;;) {
          Status st = queues.Submit(keys[k], [&, k, p, s, qi](Status status) {
            if (status != Status::kOk) return;
            if (key_running[k].fetch_add(1) != 0) overlap_errors.fetch_add(1);
            if (queue_running[qi].fetch_add(1) != 0) overlap_errors.fetch_add(1);
            if (last[k][p] >= s) order_errors.fetch_add(1);
            last[k][p] = s;
            queue_running[qi].fetch_sub(1);
            key_running[k].fetch_sub(1);
            if (completed.fetch_add(1) + 1 == long{kPerProducer} * kProducers) {
              all_done.set_value();
            }
          });
          if (st == Status::kOk) break;
          if (st != Status::kQueueFull) unexpected_status.fetch_add(1);
          std::this_thread::yield();  // backpressure: retry the same operation
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  REQUIRE(all_done.get_future().wait_for(kHang) == std::future_status::ready);
  CHECK(unexpected_status.load() == 0);
  CHECK(order_errors.load() == 0);
  CHECK(overlap_errors.load() == 0);
  // Every operation ran exactly once: each (key, producer) stream ends at its last number.
  std::vector<std::array<int, kProducers>> expect(kKeys);
  for (auto& e : expect) e.fill(-1);
  for (int p = 0; p < kProducers; ++p) {
    for (int s = 0; s < kPerProducer; ++s) expect[(s * 7 + p) % kKeys][p] = s;
  }
  CHECK(last == expect);
  const auto m = queues.Metrics();
  CHECK(m.total.executed == static_cast<std::uint64_t>(kPerProducer) * kProducers);
  CHECK(m.total.submitted == m.total.executed);
  CHECK(m.total.depth == 0);
}

TEST_CASE("Submission order across producer threads is kept", "[queues][fifo]") {
  // moodycamel alone only orders per producer; here one thread submits first and another,
  // strictly later, submits more: the later thread's operations must not overtake.
  KeyQueues queues({.queues = 1});
  for (int round = 0; round < 20; ++round) {
    Gate gate;
    REQUIRE(queues.Submit("hold", gate.Op()) == Status::kOk);
    gate.AwaitStarted();
    std::vector<int> order;  // written by the worker only
    const int first_count = 1 + round % 3;
    const int second_count = 10 + round;
    int next = 0;
    std::atomic<int> refused{0};
    auto submit_n = [&](int n) {
      for (int i = 0; i < n; ++i) {
        const int id = next++;
        if (queues.Submit("k", [&order, id](Status) { order.push_back(id); }) != Status::kOk) {
          refused.fetch_add(1);  // Catch2 assertions are not thread-safe: count, check later
        }
      }
    };
    // Three live threads (so three distinct moodycamel producers), taking turns: each submits
    // only after the previous one's Submit calls have returned.
    const std::array<int, 3> counts = {first_count, second_count, 3};
    std::array<std::promise<void>, 4> turn;
    turn[0].set_value();
    std::promise<void> finish;
    std::shared_future<void> finished = finish.get_future().share();
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        turn[t].get_future().wait();
        submit_n(counts[t]);
        turn[t + 1].set_value();
        finished.wait();  // stay alive: a joined thread's id (and producer) may be reused
      });
    }
    turn[3].get_future().wait();
    finish.set_value();
    for (auto& t : threads) t.join();
    REQUIRE(refused.load() == 0);
    gate.Release();
    Barrier(queues, "k");
    std::vector<int> expect;
    for (int i = 0; i < first_count + second_count + 3; ++i) expect.push_back(i);
    REQUIRE(order == expect);
  }
}

TEST_CASE("Different keys on different queues run in parallel", "[queues]") {
  KeyQueues queues({.queues = 4});
  auto [a, b] = KeysOnDifferentQueues(queues);
  std::promise<void> a_started, b_started;
  auto a_future = a_started.get_future().share();
  auto b_future = b_started.get_future().share();
  std::promise<bool> a_saw_b, b_saw_a;
  // Each operation waits, inside its worker, for the other to have started: only possible if
  // both run at the same time.
  REQUIRE(queues.Submit(a, [&](Status) {
    a_started.set_value();
    a_saw_b.set_value(b_future.wait_for(kHang) == std::future_status::ready);
  }) == Status::kOk);
  REQUIRE(queues.Submit(b, [&](Status) {
    b_started.set_value();
    b_saw_a.set_value(a_future.wait_for(kHang) == std::future_status::ready);
  }) == Status::kOk);
  CHECK(a_saw_b.get_future().get());
  CHECK(b_saw_a.get_future().get());
}

TEST_CASE("Concurrent refreshes of a pending key merge into one execution", "[queues][merge]") {
  constexpr int kWaiters = 1000;
  constexpr int kThreads = 8;
  KeyQueues queues({.queues = 4});
  const std::string key = "products:42";
  Gate gate;
  REQUIRE(queues.Submit(key, gate.Op()) == Status::kOk);
  gate.AwaitStarted();

  std::atomic<int> fetches{0};
  auto fetch = [&fetches] {
    fetches.fetch_add(1);
    return std::string("row 42");
  };
  std::vector<Outcome> outcomes(kWaiters);
  REQUIRE(queues.SubmitRefresh(key, 7, fetch, outcomes[0].Waiter()) == Status::kOk);
  std::atomic<int> next{1}, not_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = next.fetch_add(1); i < kWaiters; i = next.fetch_add(1)) {
        if (queues.SubmitRefresh(key, 7, fetch, outcomes[i].Waiter()) != Status::kOk) {
          not_ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(not_ok.load() == 0);
  CHECK(queues.Metrics().total.merged == kWaiters - 1);
  CHECK(fetches.load() == 0);  // still held behind the gate
  gate.Release();
  for (auto& o : outcomes) o.Await();
  CHECK(fetches.load() == 1);
  const std::string* shared = outcomes[0].result.get();
  for (auto& o : outcomes) {
    REQUIRE(o.calls.load() == 1);
    REQUIRE(o.status == Status::kOk);
    REQUIRE(o.result.get() == shared);  // one result object, shared by every waiter
    REQUIRE(*o.result == "row 42");
  }
  const auto m = queues.Metrics();
  CHECK(m.total.submitted == 2);  // the gate and one refresh
  CHECK(m.total.executed == 2);

  // Once completed, the refresh is gone: a later miss fetches again.
  Outcome again;
  REQUIRE(queues.SubmitRefresh(key, 7, fetch, again.Waiter()) == Status::kOk);
  again.Await();
  CHECK(fetches.load() == 2);
  CHECK(again.calls.load() == 1);
}

TEST_CASE("A refresh after a generation bump does not join the older one", "[queues][merge]") {
  KeyQueues queues({.queues = 2});
  const std::string key = "products:7";
  Gate gate;
  REQUIRE(queues.Submit(key, gate.Op()) == Status::kOk);
  gate.AwaitStarted();

  std::vector<std::string> log;  // written by the key's worker only
  auto fetch_gen = [&log](std::string row) {
    return [&log, row] {
      log.push_back("fetch " + row);
      return row;
    };
  };
  Outcome old1, old2, new1, new2;
  REQUIRE(queues.SubmitRefresh(key, 1, fetch_gen("gen1"), old1.Waiter()) == Status::kOk);
  REQUIRE(queues.SubmitRefresh(key, 1, fetch_gen("unused"), old2.Waiter()) == Status::kOk);
  // A write: the middleware bumps the generation to 2, then queues the write.
  REQUIRE(queues.Submit(key, [&log](Status) { log.push_back("write"); }) == Status::kOk);
  REQUIRE(queues.SubmitRefresh(key, 2, fetch_gen("gen2"), new1.Waiter()) == Status::kOk);
  REQUIRE(queues.SubmitRefresh(key, 2, fetch_gen("unused"), new2.Waiter()) == Status::kOk);
  CHECK(queues.Metrics().total.merged == 2);
  gate.Release();
  for (Outcome* o : {&old1, &old2, &new1, &new2}) o->Await();
  CHECK(log == std::vector<std::string>{"fetch gen1", "write", "fetch gen2"});
  CHECK(*old1.result == "gen1");
  CHECK(*old2.result == "gen1");
  CHECK(*new1.result == "gen2");  // never the row read before the write
  CHECK(*new2.result == "gen2");
  for (Outcome* o : {&old1, &old2, &new1, &new2}) CHECK(o->calls.load() == 1);
}

TEST_CASE("Refreshes of different result types never merge", "[queues][merge]") {
  KeyQueues queues({.queues = 1});
  Gate gate;
  REQUIRE(queues.Submit("k", gate.Op()) == Status::kOk);
  gate.AwaitStarted();
  Outcome s;
  std::promise<int> i;
  REQUIRE(queues.SubmitRefresh(
              "k", 1, [] { return std::string("s"); }, s.Waiter()) == Status::kOk);
  REQUIRE(queues.SubmitRefresh(
              "k", 1, [] { return 5; },
              q::Waiter<int>{q::kNoDeadline, [&i](Status, std::shared_ptr<const int> r) {
                               i.set_value(*r);
                             }}) == Status::kOk);
  CHECK(queues.Metrics().total.merged == 0);
  gate.Release();
  s.Await();
  CHECK(*s.result == "s");
  CHECK(i.get_future().get() == 5);
}

TEST_CASE("A deadline fires with kTimeout while the worker is busy", "[queues][deadline]") {
  KeyQueues queues({.queues = 2});
  const std::string key = "products:1";
  Gate gate;
  REQUIRE(queues.Submit(key, gate.Op()) == Status::kOk);
  gate.AwaitStarted();

  std::atomic<int> fetches{0};
  auto fetch = [&fetches] {
    fetches.fetch_add(1);
    return std::string("row");
  };
  Outcome o;
  const auto deadline = Clock::now() + 30ms;
  REQUIRE(queues.SubmitRefresh(key, 1, fetch, o.Waiter(deadline)) == Status::kOk);
  o.Await();
  // Delivered while the worker is provably still inside the gate operation.
  CHECK_FALSE(gate.returned());
  CHECK(o.status == Status::kTimeout);
  CHECK(o.result == nullptr);
  const double late_ms = std::chrono::duration<double, std::milli>(o.at - deadline).count();
  INFO("timeout delivered " << late_ms << " ms after the deadline");
  CHECK(o.at >= deadline);  // never early
  CHECK(fetches.load() == 0);
  CHECK(queues.Metrics().total.timed_out == 1);

  gate.Release();
  Barrier(queues, key);
  // Documented rule: every waiter had timed out, so the refresh was dropped unrun.
  CHECK(fetches.load() == 0);
  CHECK(o.calls.load() == 1);
  const auto m = queues.Metrics();
  CHECK(m.total.dropped == 1);
  CHECK(m.total.timed_out == 1);
}

TEST_CASE("A late result is not delivered to a timed-out waiter", "[queues][deadline]") {
  KeyQueues queues({.queues = 1});
  const std::string key = "products:2";
  Gate gate;
  REQUIRE(queues.Submit(key, gate.Op()) == Status::kOk);
  gate.AwaitStarted();
  std::atomic<int> fetches{0};
  auto fetch = [&fetches] {
    fetches.fetch_add(1);
    return std::string("row");
  };
  Outcome impatient, patient;
  REQUIRE(queues.SubmitRefresh(key, 3, fetch, impatient.Waiter(Clock::now() + 10ms)) ==
          Status::kOk);
  REQUIRE(queues.SubmitRefresh(key, 3, fetch, patient.Waiter()) == Status::kOk);
  impatient.Await();
  CHECK_FALSE(gate.returned());
  CHECK(impatient.status == Status::kTimeout);
  gate.Release();
  patient.Await();
  CHECK(patient.status == Status::kOk);
  CHECK(*patient.result == "row");
  CHECK(fetches.load() == 1);  // someone still waited, so the refresh ran
  Barrier(queues, key);
  CHECK(impatient.calls.load() == 1);
  CHECK(patient.calls.load() == 1);
}

TEST_CASE("A deadline already past at submission times out at once", "[queues][deadline]") {
  KeyQueues queues({.queues = 1});
  Gate gate;
  REQUIRE(queues.Submit("k", gate.Op()) == Status::kOk);
  gate.AwaitStarted();
  Outcome o;
  REQUIRE(queues.SubmitRefresh(
              "k", 1, [] { return std::string("x"); }, o.Waiter(Clock::now() - 1ms)) ==
          Status::kOk);
  o.Await();
  CHECK(o.status == Status::kTimeout);
  CHECK_FALSE(gate.returned());
  gate.Release();
}

TEST_CASE("Many waiters with their own deadlines each complete exactly once",
          "[queues][deadline]") {
  KeyQueues queues({.queues = 1});
  Gate gate;
  REQUIRE(queues.Submit("k", gate.Op()) == Status::kOk);
  gate.AwaitStarted();
  constexpr int kWaiters = 200;
  std::vector<Outcome> outcomes(kWaiters);
  const auto now = Clock::now();
  for (int i = 0; i < kWaiters; ++i) {
    // Even waiters: short deadlines, expiring while the gate holds the worker.
    const auto deadline = i % 2 == 0 ? now + std::chrono::microseconds(100 * i) : q::kNoDeadline;
    REQUIRE(queues.SubmitRefresh(
                "k", 1, [] { return std::string("v"); }, outcomes[i].Waiter(deadline)) ==
            Status::kOk);
  }
  for (int i = 0; i < kWaiters; i += 2) outcomes[i].Await();
  CHECK_FALSE(gate.returned());
  gate.Release();
  for (auto& o : outcomes) o.Await();
  Barrier(queues, "k");
  for (int i = 0; i < kWaiters; ++i) {
    REQUIRE(outcomes[i].calls.load() == 1);
    REQUIRE(outcomes[i].status == (i % 2 == 0 ? Status::kTimeout : Status::kOk));
  }
  CHECK(queues.Metrics().total.timed_out == kWaiters / 2);
}

TEST_CASE("A full queue rejects at once and loses nothing it accepted", "[queues][backpressure]") {
  KeyQueues queues({.queues = 1, .max_depth = 4});
  Gate gate;
  REQUIRE(queues.Submit("k", gate.Op()) == Status::kOk);
  gate.AwaitStarted();  // running, so no longer counted in the depth

  std::array<std::atomic<int>, 3> ran{};
  for (int i = 0; i < 3; ++i) {
    REQUIRE(queues.Submit("k", [&ran, i](Status s) {
      if (s == Status::kOk) ran[i].fetch_add(1);
    }) == Status::kOk);
  }
  Outcome pending;
  REQUIRE(queues.SubmitRefresh(
              "r", 1, [] { return std::string("r"); }, pending.Waiter()) == Status::kOk);
  CHECK(queues.Metrics().total.depth == 4);

  // Full: a plain operation is refused and told so inline, before Submit returns.
  Status told = Status::kOk;
  CHECK(queues.Submit("k", [&told](Status s) { told = s; }) == Status::kQueueFull);
  CHECK(told == Status::kQueueFull);
  // A refresh needing a new slot is refused the same way...
  Outcome refused;
  CHECK(queues.SubmitRefresh(
            "other", 1, [] { return std::string("x"); }, refused.Waiter()) == Status::kQueueFull);
  CHECK(refused.calls.load() == 1);
  CHECK(refused.status == Status::kQueueFull);
  // ...but joining the pending refresh needs no slot.
  Outcome joined;
  CHECK(queues.SubmitRefresh(
            "r", 1, [] { return std::string("x"); }, joined.Waiter()) == Status::kOk);
  auto m = queues.Metrics();
  CHECK(m.total.rejected == 2);
  CHECK(m.total.max_depth == 4);

  gate.Release();
  pending.Await();
  joined.Await();
  Barrier(queues, "k");
  for (auto& r : ran) CHECK(r.load() == 1);
  CHECK(*pending.result == "r");
  CHECK(*joined.result == "r");
  CHECK(refused.calls.load() == 1);
}

TEST_CASE("Under sustained backpressure every accepted operation runs once",
          "[queues][backpressure]") {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20000;
  KeyQueues queues({.queues = 2, .max_depth = 8});
  std::atomic<long> accepted{0}, refused_inline{0}, ran{0}, refused_returned{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        const Status st = queues.Submit("k" + std::to_string((p + i) % 5), [&](Status s) {
          if (s == Status::kOk) {
            ran.fetch_add(1);
          } else if (s == Status::kQueueFull) {
            refused_inline.fetch_add(1);
          }
        });
        if (st == Status::kOk) {
          accepted.fetch_add(1);
        } else if (st == Status::kQueueFull) {
          refused_returned.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  queues.Stop(q::StopMode::kDrain);
  CHECK(accepted.load() + refused_returned.load() == long{kProducers} * kPerProducer);
  CHECK(ran.load() == accepted.load());
  CHECK(refused_inline.load() == refused_returned.load());
  const auto m = queues.Metrics();
  CHECK(static_cast<long>(m.total.rejected) == refused_returned.load());
  CHECK(static_cast<long>(m.total.executed) == accepted.load());
  CHECK(m.total.max_depth <= 8);
}

namespace {

// Queues work on two queues behind a gate, stops with `mode` while it is queued, and checks that
// every operation and waiter was completed exactly once with `expect`.
void StopWithWorkQueued(q::StopMode mode, Status expect) {
  const std::size_t threads_before = BaselineThreadCount();
  {
    KeyQueues queues({.queues = 2});
    auto [a, b] = KeysOnDifferentQueues(queues);
    Gate gate_a, gate_b;
    REQUIRE(queues.Submit(a, gate_a.Op()) == Status::kOk);
    REQUIRE(queues.Submit(b, gate_b.Op()) == Status::kOk);
    gate_a.AwaitStarted();
    gate_b.AwaitStarted();
    CHECK(AwaitThreadCount(threads_before + 3) == threads_before + 3);  // 2 workers, 1 timer

    constexpr int kOps = 50;
    std::array<std::atomic<int>, kOps> calls{};
    std::array<Status, kOps> statuses{};
    for (int i = 0; i < kOps; ++i) {
      REQUIRE(queues.Submit(i % 2 ? a : b, [&calls, &statuses, i](Status s) {
        statuses[i] = s;
        calls[i].fetch_add(1);
      }) == Status::kOk);
    }
    std::vector<Outcome> waiters(20);
    for (int i = 0; i < 20; ++i) {
      // Two refresh groups per queue; some waiters with a deadline far away.
      const std::string& key = i % 2 ? a : b;
      const auto deadline = i % 3 == 0 ? Clock::now() + 1h : q::kNoDeadline;
      REQUIRE(queues.SubmitRefresh(
                  key, i < 10 ? 1 : 2, [] { return std::string("v"); },
                  waiters[i].Waiter(deadline)) == Status::kOk);
    }

    std::thread stopper([&queues, mode] { queues.Stop(mode); });
    while (!queues.stopping()) std::this_thread::yield();
    // Refused once stopping, and told so inline.
    Status told = Status::kOk;
    CHECK(queues.Submit(a, [&told](Status s) { told = s; }) == Status::kShutdown);
    CHECK(told == Status::kShutdown);
    Outcome late;
    CHECK(queues.SubmitRefresh(
              a, 9, [] { return std::string("v"); }, late.Waiter()) == Status::kShutdown);
    CHECK(late.calls.load() == 1);
    CHECK(late.status == Status::kShutdown);

    gate_a.Release();
    gate_b.Release();
    stopper.join();
    CHECK(gate_a.returned());  // a running operation is always finished
    CHECK(gate_b.returned());
    for (int i = 0; i < kOps; ++i) {
      REQUIRE(calls[i].load() == 1);
      REQUIRE(statuses[i] == expect);
    }
    for (auto& w : waiters) {
      REQUIRE(w.calls.load() == 1);
      REQUIRE(w.status == expect);
      REQUIRE((w.result != nullptr) == (expect == Status::kOk));
    }
    const auto m = queues.Metrics();
    if (mode == q::StopMode::kCancel) {
      CHECK(m.total.cancelled == kOps + 4);  // the operations and the four refresh groups
    } else {
      CHECK(m.total.cancelled == 0);
      CHECK(m.total.executed == 2 + kOps + 4);
    }
    CHECK(m.total.depth == 0);
    queues.Stop(mode);                                          // idempotent
    CHECK(AwaitThreadCount(threads_before) == threads_before);  // no thread left running
  }
}

}  // namespace

TEST_CASE("Stop with drain runs everything queued, then joins", "[queues][shutdown]") {
  StopWithWorkQueued(q::StopMode::kDrain, Status::kOk);
}

TEST_CASE("Stop with cancel completes everything queued with kShutdown", "[queues][shutdown]") {
  StopWithWorkQueued(q::StopMode::kCancel, Status::kShutdown);
}

TEST_CASE("The destructor cancels what is still queued", "[queues][shutdown]") {
  std::atomic<int> cancelled{0};
  Outcome waiter;
  {
    KeyQueues queues({.queues = 1});
    // The first operation keeps the worker busy until the destructor has begun stopping, so
    // everything after it is still queued when the queues are destroyed.
    REQUIRE(queues.Submit("k", [&queues](Status) {
      while (!queues.stopping()) std::this_thread::yield();
    }) == Status::kOk);
    for (int i = 0; i < 10; ++i) {
      REQUIRE(queues.Submit("k", [&cancelled](Status s) {
        if (s == Status::kShutdown) cancelled.fetch_add(1);
      }) == Status::kOk);
    }
    REQUIRE(queues.SubmitRefresh(
                "k", 1, [] { return std::string("v"); }, waiter.Waiter()) == Status::kOk);
  }
  CHECK(cancelled.load() == 10);
  CHECK(waiter.calls.load() == 1);
  CHECK(waiter.status == Status::kShutdown);
}

TEST_CASE("Metrics count submissions and queue wait time", "[queues][metrics]") {
  KeyQueues queues({.queues = 3});
  for (int i = 0; i < 300; ++i) {
    REQUIRE(queues.Submit("key" + std::to_string(i), [](Status) {}) == Status::kOk);
  }
  for (int i = 0; i < 300; ++i) Barrier(queues, "key" + std::to_string(i));
  const auto m = queues.Metrics();
  REQUIRE(m.queues.size() == 3);
  CHECK(m.total.submitted == 600);
  CHECK(m.total.executed == 600);
  CHECK(m.total.wait.count == 600);
  CHECK(m.total.wait.p50_ns <= m.total.wait.p99_ns);
  CHECK(m.total.wait.p99_ns <= m.total.wait.p999_ns);
  CHECK(m.total.wait.p999_ns <= m.total.wait.max_ns);
  std::uint64_t sum = 0;
  for (const auto& qm : m.queues) {
    sum += qm.executed;
    CHECK(qm.wait.count == qm.executed);
  }
  CHECK(sum == 600);
}

TEST_CASE("LatencyHistogram percentiles stay within one bucket", "[queues][metrics]") {
  q::LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v) h.Record(v * 1000);  // 1 us .. 10 ms
  const auto s = h.Summary();
  CHECK(s.count == 10000);
  CHECK(s.max_ns == 10'000'000);
  CHECK(s.p50_ns >= 5'000'000);
  CHECK(s.p50_ns <= 5'000'000 * 17 / 16);
  CHECK(s.p99_ns >= 9'900'000);
  CHECK(s.p99_ns <= 9'900'000 * 17 / 16);
  CHECK(s.p999_ns >= 9'990'000);
  for (std::uint64_t v : {0ULL, 1ULL, 15ULL, 16ULL, 17ULL, 1000ULL, 123456789ULL, ~0ULL}) {
    const auto b = q::LatencyHistogram::BucketOf(v);
    CHECK(b < q::LatencyHistogram::kBuckets);
    CHECK(q::LatencyHistogram::BucketUpper(b) >= v);
    if (b > 0) CHECK(q::LatencyHistogram::BucketUpper(b - 1) < v);
  }
}
