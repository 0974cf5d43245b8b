// Where the commands that changed the keyspace go to be made durable: the append-only file
// (aof.h). The dispatcher appends each write command that changed something, once it ran and
// while it still holds its shard locks, so the log's order is the order in which the keys were
// changed; commands on different keys of different shards may interleave in any order, which is
// fine, as they commute.
//
// What is appended is the command as it must be replayed, deterministic whatever the time and
// the random state at replay: relative expiries become absolute (EXPIRE -> PEXPIREAT, SET EX ->
// SET PXAT), SPOP becomes SREM of the members it took, INCRBYFLOAT becomes SET with KEEPTTL, a
// blocking pop served later becomes its non-blocking form; keys deleted by expiry or eviction
// become DEL; a transaction is framed by MULTI and EXEC.
//
// Thread-safety: Append and AwaitDurable are called from I/O threads (and any thread that
// changes the keyspace: the cron's expiry, eviction) concurrently; implementations lock.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rowcached::server {

class CommandLog {
 public:
  virtual ~CommandLog() = default;
  // One command to replay in database `db`. Cheap: copies the bytes into a buffer.
  virtual void Append(int db, const std::vector<std::string_view>& args) = 0;
  // Several commands appended as one unit: no other thread's command comes between them (a
  // transaction's MULTI ... EXEC).
  virtual void AppendBatch(const std::vector<std::pair<int, std::vector<std::string>>>& commands) {
    for (const auto& [db, args] : commands) {
      Append(db, std::vector<std::string_view>(args.begin(), args.end()));
    }
  }
  // Returns once every command this thread appended is as durable as `appendfsync` asks
  // (handed to the kernel; fsynced too under "always"). The network layer calls it before it
  // sends the replies of those commands, so no reply acknowledges a write that could be lost:
  // once per I/O thread after each batch of requests, as Redis' beforeSleep does, so that one
  // write (+ fsync) covers the whole batch.
  virtual void AwaitDurable() = 0;
  // The same for every command any thread has appended so far. A reply to a read may show
  // another client's write as soon as it is applied, before that write is durable; waiting for
  // everything appended before the reply leaves keeps a crash from taking back a value a client
  // has seen (Redis sends every reply of an event-loop iteration after its fsync).
  virtual void AwaitAllDurable() { AwaitDurable(); }
  // True while the log cannot be written (a full disk): the dispatcher then refuses write
  // commands with `*message` (Redis' "MISCONF ..."), so no write is acknowledged that the log
  // does not hold.
  virtual bool WriteError(std::string* message) const {
    (void)message;
    return false;
  }
};

}  // namespace rowcached::server
