// middleware/ — the coherent row cache: table keys "<table>:<pk>" served from the embedded
// cache and kept coherent with the database.
//
// DESIGN
//
//   Where things live. A cached row is a keyspace entry of database 0 (type kRow, TYPE "hash")
//   holding a RowValue: the columns as the database rendered them, or "no such row" (the
//   negative cache). Every database call for a key runs on that key's single-worker queue
//   (queues/), whose worker owns one database connection.
//
//   The generation guard. A fixed table of generation slots, slot = hash(key) % kSlots, each
//   bumped (to a fresh, process-wide increasing number) by every write and invalidation of a key
//   hashing there, always while holding the key's shard lock. A refill remembers the slot's value
//   before it reads the database and installs its row only if the slot still holds that value,
//   checked under the same shard lock. Two keys sharing a slot can only make an install give way
//   (a wasted refill), never let a stale one through. Memory is fixed whatever the key count.
//
//   Read (HGETALL/HGET/HMGET/GET/EXISTS/ROW.GET), on the I/O thread:
//     lock shard: row = cached fresh entry?  -> reply now (hit; a negative entry is "no row")
//                 stale = last row if on_timeout = stale
//     bloom loaded and !bloom.MightContain(pk)  -> reply "no row" (database never touched)
//     breaker open                              -> stale row, or -TRYAGAIN database unavailable
//     park the reply; gen = slot(key)  (taken after the read arrived: anything acknowledged
//     before is older); queues.SubmitRefresh(key, gen, fetch, deadline = now + read_timeout)
//       worker, once per merged group: row already installed for gen? -> that row (no database)
//                                         else row = FetchRow(pk)
//           lock shard: if slot(key) == gen: install row (ttl +- jitter) or negative (negative_ttl)
//       every waiter: reply from row
//       deadline passed first: on_timeout = db: FetchRow on the fallback pool (never installed),
//                                            shared by the key's timed-out reads that arrived
//                                            before it was sent
//                                            stale: last row (kept 1 h past its ttl), else
//                                                   -TRYAGAIN read timed out
//                                            error: -TRYAGAIN read timed out
//   Write (HSET/ROW.SET), ordered on the key's queue; replies only after the database committed:
//       Upsert(pk, values); gen = slot(key); row = FetchRow(pk)       (the row as stored)
//       lock shard: bump slot; write-through and slot was gen: install row, else drop the entry
//       bloom.Add(pk); reply
//     On a database error: lock shard, bump, drop; reply the error (the cache never keeps a value
//     the database does not have).
//   ROW.DEL: DeleteRow(pk) on the queue, then as a write that drops the entry.
//   Invalidation (DEL/UNLINK/ROW.INVALIDATE) is immediate, not queued: lock shard, bump slot,
//     drop entry, bloom.Add(pk), reply. A refill already past its database read cannot install
//     (guard), a read starting afterwards carries the new generation so never joins an older
//     refresh (queues/ merges by generation) and reads the database behind it: guarantees 2, 3.
//
//   Spellings of one row. Under a case- or accent-insensitive MySQL collation the database
//   finds row 'alice' under users:alice, users:ALICE and "users:Alice " (PAD SPACE) alike;
//   under a PAD SPACE binary one, under users:alice and "users:alice ". Each spelling is cached
//   under the key the client used, but everything above that says "key" for ordering and
//   guarding means the key's form there (adapters::Connection::KeyForm, equal for exactly the
//   spellings the database equates): the collation's weight string, asked of the database, or
//   for a binary collation the key without its trailing spaces. The queue and the generation slot are the form's, the Bloom
//   filter holds forms, and a write or invalidation through any spelling bumps the form's
//   generation and drops every spelling installed under it (the list of installed spellings
//   and the installs themselves are serialised by one mutex, taken before the shard lock; the
//   background thread sweeps out spellings whose entries were evicted or expired). A spelling's
//   form is remembered, for as long as it is cached and for a while after; a miss, write or
//   invalidation of a spelling whose form is not known first looks it up (one SELECT that reads
//   no table, on a queue of its own; a read's lookup is merged with concurrent ones and bounded
//   by its read_timeout), then goes on as above; DEL and ROW.INVALIDATE then wait for it, and
//   answer an error if the database cannot tell. So under such a collation a key that does not
//   exist costs that SELECT before the Bloom filter turns it away. Rows of such tables loaded
//   from a snapshot are dropped rather than re-validated: which spellings shared a row is not
//   saved. A collation whose forms fail two probes at start-up (one that weighs on several
//   levels) leaves its table's spellings cached one by one and its Bloom filter off, with a
//   warning in the log.
//
//   Failure policy. Connection failures count per database; after `breaker_failures` in a row
//   the breaker opens: misses fail fast (-TRYAGAIN database unavailable: <reason>, or stale rows
//   where configured), hits keep being served, and a probe thread pings with backoff until the
//   database answers, then closes it. An unreachable database at start-up does not stop
//   rowcached: tables are checked in the background with backoff, and their keys answer
//   -TRYAGAIN until then. A configuration that the database refutes (unknown table or column,
//   wrong key) stops start-up when the database is reachable then.
//
// THREADS
//   Handle() runs on I/O threads and never blocks on the database: it touches only the keyspace
//   (under the key's shard lock), the Bloom filter (lock-free) and the queues (non-blocking).
//   Database calls run on queue workers, the fallback pool (on_timeout = db), the start-up
//   thread (Describe, Bloom loading) and the breaker probe, each with its own connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/database.h"
#include "middleware/bloom.h"
#include "queues/queues.h"
#include "server/server_context.h"

namespace rowcached::middleware {

enum class Mode : uint8_t { kWriteThrough, kCacheAside };
enum class OnTimeout : uint8_t { kDb, kStale, kError };

// One [[tables]] entry. Defaults as in the contract.
struct TableOptions {
  std::string name;
  std::string key = "id";
  std::vector<std::string> columns;  // empty = every column
  Mode mode = Mode::kWriteThrough;
  std::chrono::milliseconds ttl{std::chrono::minutes(10)};  // 0 = no expiry
  double ttl_jitter = 0.10;
  std::chrono::milliseconds read_timeout{200};
  OnTimeout on_timeout = OnTimeout::kDb;
  std::chrono::milliseconds negative_ttl{std::chrono::seconds(30)};
  bool bloom = true;
  uint64_t bloom_capacity = 1000000;
  double bloom_error_rate = 0.001;
};

struct Options {
  adapters::Options database;  // url, timeouts
  size_t queues = 16;          // database.queues
  size_t max_queue_depth = 4096;
  std::vector<TableOptions> tables;
  // Consecutive connection failures that open the breaker.
  int breaker_failures = 3;
  // Probe / start-up retry backoff: first delay, doubled up to the maximum.
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{std::chrono::seconds(5)};
  // Threads (each with a connection) for on_timeout = db reads.
  size_t fallback_threads = 2;
};

// Per-table counters (ROW.STATS, INFO rowcache). Relaxed atomics: monotonic counters.
struct TableStats {
  std::atomic<uint64_t> hits{0};            // served from the cache
  std::atomic<uint64_t> negative_hits{0};   // served "no row" from the negative cache
  std::atomic<uint64_t> misses{0};          // reads that went to the queue
  std::atomic<uint64_t> refreshes{0};       // database reads by refills
  std::atomic<uint64_t> merged{0};          // reads answered by another read's database read
  std::atomic<uint64_t> timeouts_db{0};     // timed out, answered from the database directly
  std::atomic<uint64_t> timeouts_stale{0};  // timed out, answered with the last known row
  std::atomic<uint64_t> timeouts_error{0};  // timed out, answered -TRYAGAIN
  std::atomic<uint64_t> bloom_rejections{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> invalidations{0};
  std::atomic<uint64_t> db_errors{0};
  std::atomic<uint64_t> rejected{0};  // queue full / breaker open
};

class RowCache;

// Creates the row cache for `options` and plugs it into `server` (key interceptor, ROW.*, BF.*,
// INFO rowcache). Checks the tables against the database if it is reachable now: a table the
// database refutes is a start-up error (returned as nullptr with *error set). If the database
// is unreachable, the checks continue in the background.
// The returned object must outlive serving; destroy it after the network server stopped.
std::shared_ptr<RowCache> StartRowCache(server::ServerContext& server, Options options,
                                        std::string* error);

// Only for tests: a database of the test's making (e.g. wrapped with fault injection).
std::shared_ptr<RowCache> StartRowCache(server::ServerContext& server, Options options,
                                        std::unique_ptr<adapters::Database> database,
                                        std::string* error);

// Makes RDB snapshots and AOF bases keep cached rows, as hashes of their columns. StartRowCache
// calls it; call it earlier when something may write a snapshot before the cache starts (the
// AOF's first base is written at start-up, before the database is reachable perhaps). After a
// restart the saved rows are re-validated against the database before being served.
void KeepRowsInSnapshots(server::ServerContext& server);

// Stops the queues (completing parked replies) and background threads. Idempotent.
void StopRowCache(RowCache& cache);

// Counters for tests and benchmarks.
const TableStats* FindTableStats(const RowCache& cache, std::string_view table);

}  // namespace rowcached::middleware
