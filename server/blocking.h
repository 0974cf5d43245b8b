// Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BLMPOP, BRPOPLPUSH; reusable as is for
// BZPOPMIN, BZPOPMAX, BZMPOP): Redis' blockForKeys / signalKeyAsReady /
// handleClientsBlockedOnKeys, for a multi-threaded server.
//
// The protocol:
//   1. A blocking command finds nothing to take. Holding the shard locks of its keys (the
//      dispatcher's), it calls Blocking::Block with the keys it waits on, the keys serving it
//      needs locked, a timeout and a serve function. Block parks the client's reply
//      (ctx.defer): the connection runs none of the client's later commands until it completes.
//      Commands without ctx.defer (inside MULTI/EXEC, plain harness runs) must not block: they
//      reply as the non-blocking form does, as Redis does for CLIENT_DENY_BLOCKING.
//   2. A command that may have made a key servable (a push) calls KeyReady(ctx, key) while it
//      still holds the key's shard lock. It only records the key, and costs one atomic load when
//      no client is blocked anywhere.
//   3. After the top-level command returns and has released its shard locks, the dispatcher
//      calls ServeReadyKeys(): for each ready key, the clients blocked on it are tried in the
//      order they blocked (first blocked, first served): for each, the shards of its lock keys
//      are locked and its serve function runs with the ready key. It returns true when it took
//      something and wrote the reply (which completes the parked reply), false when the key has
//      nothing for it (then the key's later waiters are not tried either). A serve function may
//      call KeyReady itself (BLMOVE's destination): those keys are served in the same call, so
//      chains of BLMOVEs resolve at once.
//
// Exactly once: each waiter has a mutex and a state. Serving, timing out (a timer thread of
// this object), CLIENT UNBLOCK and disconnection (the parked reply's cancel hook) each take the
// waiter's mutex and act only if it is still waiting, so a waiter is served or answered once
// and a client that disconnected or timed out never takes an element.
//
// A timeout (or CLIENT UNBLOCK ... TIMEOUT) answers the null array (RESP2 `*-1`, RESP3 `_`), as
// Redis does for every key-blocking command; CLIENT UNBLOCK ... ERROR answers
// "-UNBLOCKED client unblocked via CLIENT UNBLOCK".
//
// Lock order: shard locks -> a waiter's mutex -> the registry mutex. Serve functions run with
// the shard locks of the waiter's lock keys and its mutex held: they must not block, nor lock
// anything but through KeyReady.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/keyspace.h"
#include "server/reply.h"

namespace rowcached::server {

class CommandLog;
class ServerContext;
struct CommandContext;

// What a serve function gets: the server, the blocked client's database, the key that became
// ready (one of the keys it waits on), and a builder in the client's protocol for its reply.
// What it took is logged (propagate.h) as the non-blocking command that takes the same: the
// serve function calls Propagate with it after a change (BLPOP's LPOP key, BLMOVE's LMOVE ...).
struct ServeContext {
  ServerContext& server;
  Db db;
  std::string_view key;
  ReplyBuilder& reply;
  CommandLog* log = nullptr;  // null when the append-only file is off

  bool logging() const { return log != nullptr; }
  void Propagate(const std::vector<std::string>& command);
};

// Takes what the blocked command waits for from ctx.key and writes the reply; returns false,
// writing nothing and changing nothing, when the key has nothing for it now.
using ServeFn = std::function<bool(ServeContext& ctx)>;

struct BlockRequest {
  std::vector<std::string> keys;       // the keys it waits on, in the command's order
  std::vector<std::string> lock_keys;  // every key serving touches (keys + e.g. a destination)
  int64_t timeout_ms = 0;              // 0 = wait forever
  ServeFn serve;
};

class Blocking {
 public:
  explicit Blocking(ServerContext& server);
  ~Blocking();
  Blocking(const Blocking&) = delete;
  Blocking& operator=(const Blocking&) = delete;

  // Blocks ctx's client. REQUIRES: ctx.defer is set; the caller holds the shard locks of
  // request.keys; the command has written no reply.
  void Block(CommandContext& ctx, BlockRequest request);

  // Records that `key` of database `db` may now serve blocked clients. REQUIRES: the key's
  // shard lock is held (so a client blocking on it concurrently is either seen or sees the
  // change).
  void KeyReady(int db, std::string_view key);

  // KeyReady for every key clients wait on in database `db` (SWAPDB, as Redis'
  // scanDatabaseForReadyKeys). For callers holding every shard lock: takes no lock.
  void DatabaseReady(int db);

  // Serves the blocked clients of the keys made ready so far. REQUIRES: no shard lock held by
  // the calling thread. Cheap when nothing is ready.
  void ServeReadyKeys();

  // CLIENT UNBLOCK: answers a blocked client with the timeout reply (or, with `error`, the
  // UNBLOCKED error). False when the client is not blocked.
  bool Unblock(uint64_t client_id, bool error);

  // Whether the client waits in a blocking command (CLIENT LIST's flag b).
  bool IsBlocked(uint64_t client_id) const;

  // INFO's blocked_clients.
  size_t blocked_clients() const { return blocked_.load(std::memory_order_relaxed); }

 private:
  struct Waiter;
  using WaiterPtr = std::shared_ptr<Waiter>;
  using KeyId = std::pair<int, std::string>;  // (db, key)
  struct KeyIdHash {
    size_t operator()(const KeyId& k) const {
      return std::hash<std::string>()(k.second) * 31 + static_cast<size_t>(k.first);
    }
  };

  enum class Outcome { kTimeout, kError };
  // Answers a waiter that was not served (timeout, CLIENT UNBLOCK). Returns false when it was
  // no longer waiting.
  bool Answer(const WaiterPtr& w, Outcome outcome);
  // Cancels a waiter whose client disconnected.
  void Cancel(const WaiterPtr& w);
  // Takes `w` out of every queue and table. REQUIRES: w->mu held, mu_ not held.
  void Forget(const WaiterPtr& w);
  void ServeKey(const KeyId& key);
  void TimerLoop();

  ServerContext& server_;
  std::atomic<size_t> blocked_{0};
  std::atomic<bool> has_ready_{false};
  std::atomic<uint64_t> ready_dbs_{0};  // DatabaseReady's flags: bit db % 64

  mutable std::mutex mu_;                                                 // guards everything below
  std::unordered_map<KeyId, std::vector<WaiterPtr>, KeyIdHash> waiting_;  // FIFO per key
  std::unordered_map<uint64_t, WaiterPtr> by_client_;
  std::multimap<std::chrono::steady_clock::time_point, WaiterPtr> deadlines_;
  std::vector<KeyId> ready_;
  std::condition_variable timer_cv_;
  std::thread timer_;
  bool stopping_ = false;
};

// KeyReady for the command's own database, and for any database.
void KeyReady(CommandContext& ctx, std::string_view key);
void KeyReady(ServerContext& server, int db, std::string_view key);

// Parses a blocking command's timeout (seconds, fractional allowed) as Redis 7.0's
// getTimeoutFromObjectOrReply: "ERR timeout is not a float or out of range",
// "ERR timeout is negative" (which, as in Redis, is also what a value too large to hold in
// milliseconds gives). On error writes it to `reply` and returns false. 0 = forever.
bool ParseBlockTimeout(std::string_view arg, int64_t* timeout_ms, ReplyBuilder& reply);

}  // namespace rowcached::server
