#include "server/blocking.h"

#include <algorithm>
#include <cmath>

#include "server/command.h"
#include "server/propagate.h"
#include "server/server_context.h"
#include "server/util.h"

namespace rowcached::server {

struct Blocking::Waiter {
  std::mutex mu;  // guards `waiting`; held while serving
  bool waiting = true;
  uint64_t client_id = 0;
  int db = 0;
  bool resp3 = false;
  std::vector<std::string> keys;  // deduplicated
  std::vector<std::string> lock_keys;
  ServeFn serve;
  std::shared_ptr<DeferredReply> reply;
  bool has_deadline = false;
  std::chrono::steady_clock::time_point deadline;
};

Blocking::Blocking(ServerContext& server) : server_(server) {}

Blocking::~Blocking() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void Blocking::Block(CommandContext& ctx, BlockRequest request) {
  auto w = std::make_shared<Waiter>();
  w->client_id = ctx.client.id;
  w->db = ctx.client.db.load(std::memory_order_relaxed);
  w->resp3 = ctx.client.resp.load(std::memory_order_relaxed) == 3;
  for (auto& k : request.keys) {
    if (std::find(w->keys.begin(), w->keys.end(), k) == w->keys.end()) w->keys.push_back(k);
  }
  w->lock_keys = std::move(request.lock_keys);
  w->serve = std::move(request.serve);
  if (request.timeout_ms > 0) {
    // A timeout past the clock's range (Redis accepts up to ~292 million years) never fires.
    auto now = std::chrono::steady_clock::now();
    auto room = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::time_point::max() - now);
    if (request.timeout_ms < room.count()) {
      w->has_deadline = true;
      w->deadline = now + std::chrono::milliseconds(request.timeout_ms);
    }
  }
  w->reply = ctx.defer();
  std::weak_ptr<Waiter> weak = w;
  w->reply->SetOnCancel([this, weak] {
    if (WaiterPtr waiter = weak.lock()) Cancel(waiter);
  });

  std::lock_guard wl(w->mu);  // a cancellation from now on waits until the waiter is registered
  std::lock_guard l(mu_);
  for (const auto& k : w->keys) waiting_[KeyId(w->db, k)].push_back(w);
  by_client_[w->client_id] = w;
  if (w->has_deadline) {
    bool earliest = deadlines_.empty() || w->deadline < deadlines_.begin()->first;
    deadlines_.emplace(w->deadline, w);
    if (!timer_.joinable()) timer_ = std::thread([this] { TimerLoop(); });
    if (earliest) timer_cv_.notify_all();
  }
  blocked_.fetch_add(1, std::memory_order_relaxed);
}

void Blocking::KeyReady(int db, std::string_view key) {
  // Block() counts a waiter while holding the shard lock of each of its keys, and our caller
  // holds this key's shard lock, so a waiter on this key is visible here.
  if (blocked_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard l(mu_);
  KeyId id(db, std::string(key));
  if (waiting_.find(id) == waiting_.end()) return;
  if (std::find(ready_.begin(), ready_.end(), id) != ready_.end()) return;
  ready_.push_back(std::move(id));
  has_ready_.store(true, std::memory_order_release);
}

void Blocking::DatabaseReady(int db) {
  // Only flags the database: the caller holds every shard lock, and taking mu_ on top of 64
  // shard mutexes is more than ThreadSanitizer's deadlock detector tracks. ServeReadyKeys
  // turns the flag into the database's waited keys.
  if (blocked_.load(std::memory_order_relaxed) == 0) return;
  ready_dbs_.fetch_or(uint64_t{1} << (static_cast<unsigned>(db) % 64), std::memory_order_relaxed);
  has_ready_.store(true, std::memory_order_release);
}

void Blocking::ServeReadyKeys() {
  while (has_ready_.load(std::memory_order_acquire)) {
    std::vector<KeyId> batch;
    {
      std::lock_guard l(mu_);
      if (uint64_t dbs = ready_dbs_.exchange(0, std::memory_order_relaxed); dbs != 0) {
        for (const auto& [id, queue] : waiting_) {
          bool flagged = dbs & (uint64_t{1} << (static_cast<unsigned>(id.first) % 64));
          if (flagged && std::find(ready_.begin(), ready_.end(), id) == ready_.end()) {
            ready_.push_back(id);
          }
        }
      }
      batch.swap(ready_);
      has_ready_.store(false, std::memory_order_relaxed);
    }
    for (const auto& key : batch) ServeKey(key);
  }
}

void Blocking::ServeKey(const KeyId& key) {
  Keyspace& ks = server_.keyspace();
  for (;;) {
    WaiterPtr w;
    {
      std::lock_guard l(mu_);
      auto it = waiting_.find(key);
      if (it == waiting_.end() || it->second.empty()) return;
      w = it->second.front();
    }
    ShardLocks locks;
    std::vector<std::string_view> lock_keys(w->lock_keys.begin(), w->lock_keys.end());
    locks.LockKeys(ks, lock_keys);
    std::unique_lock wl(w->mu);
    if (!w->waiting) continue;  // answered meanwhile, and already out of the queue
    std::string bytes;
    ReplyBuilder builder(&bytes, w->resp3);
    // Read under the shard locks, as the dispatcher does (propagate.h).
    ServeContext ctx{server_, Db(&ks, w->db), key.second, builder, server_.command_log()};
    if (!w->serve(ctx)) return;  // nothing for the first in line: nothing for the others
    w->waiting = false;
    Forget(w);
    wl.unlock();
    locks.Unlock();
    w->reply->Complete([&bytes](ReplyBuilder& reply) { reply.Raw(bytes); });
  }
}

void Blocking::Forget(const WaiterPtr& w) {
  std::lock_guard l(mu_);
  for (const auto& k : w->keys) {
    auto it = waiting_.find(KeyId(w->db, k));
    if (it == waiting_.end()) continue;
    auto& queue = it->second;
    queue.erase(std::remove(queue.begin(), queue.end(), w), queue.end());
    if (queue.empty()) waiting_.erase(it);
  }
  auto c = by_client_.find(w->client_id);
  if (c != by_client_.end() && c->second == w) by_client_.erase(c);
  if (w->has_deadline) {
    auto [first, last] = deadlines_.equal_range(w->deadline);
    for (auto it = first; it != last; ++it) {
      if (it->second == w) {
        deadlines_.erase(it);
        break;
      }
    }
  }
  blocked_.fetch_sub(1, std::memory_order_relaxed);
}

bool Blocking::Answer(const WaiterPtr& w, Outcome outcome) {
  {
    std::lock_guard wl(w->mu);
    if (!w->waiting) return false;
    w->waiting = false;
    Forget(w);
  }
  w->reply->Complete([outcome](ReplyBuilder& reply) {
    if (outcome == Outcome::kError) {
      reply.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
      reply.NullArray();
    }
  });
  return true;
}

void Blocking::Cancel(const WaiterPtr& w) {
  std::lock_guard wl(w->mu);
  if (!w->waiting) return;
  w->waiting = false;
  Forget(w);
}

bool Blocking::Unblock(uint64_t client_id, bool error) {
  WaiterPtr w;
  {
    std::lock_guard l(mu_);
    auto it = by_client_.find(client_id);
    if (it == by_client_.end()) return false;
    w = it->second;
  }
  return Answer(w, error ? Outcome::kError : Outcome::kTimeout);
}

bool Blocking::IsBlocked(uint64_t client_id) const {
  if (blocked_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard l(mu_);
  return by_client_.count(client_id) > 0;
}

void Blocking::TimerLoop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      timer_cv_.wait(l);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (deadlines_.begin()->first > now) {
      timer_cv_.wait_until(l, deadlines_.begin()->first);
      continue;
    }
    std::vector<WaiterPtr> due;
    for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now; ++it) {
      due.push_back(it->second);
    }
    l.unlock();  // lock order: a waiter's mutex before mu_
    for (const auto& w : due) Answer(w, Outcome::kTimeout);
    l.lock();
  }
}

void ServeContext::Propagate(const std::vector<std::string>& command) {
  if (log != nullptr) AppendToLog(*log, db.index(), command);
}

void KeyReady(CommandContext& ctx, std::string_view key) {
  ctx.server.blocking().KeyReady(ctx.client.db.load(std::memory_order_relaxed), key);
}

void KeyReady(ServerContext& server, int db, std::string_view key) {
  server.blocking().KeyReady(db, key);
}

bool ParseBlockTimeout(std::string_view arg, int64_t* timeout_ms, ReplyBuilder& reply) {
  long double seconds = 0;
  if (!ParseLongDouble(arg, &seconds)) {
    reply.Error("ERR timeout is not a float or out of range");
    return false;
  }
  // Redis converts with a plain (long long) cast of seconds * 1000: fractions of a millisecond
  // truncate toward zero (so 0.0001 and -0.0001 mean "forever"), and values that do not fit
  // come out as LLONG_MIN on x86, which Redis then reports as negative.
  long double ms = seconds * 1000.0L;
  if (std::isnan(ms) || ms <= -9223372036854775808.0L || ms >= 9223372036854775808.0L) {
    reply.Error("ERR timeout is negative");
    return false;
  }
  auto value = static_cast<int64_t>(ms);
  if (value < 0) {
    reply.Error("ERR timeout is negative");
    return false;
  }
  *timeout_ms = value;
  return true;
}

}  // namespace rowcached::server
