// What reaches the command log (command_log.h), Redis' propagate()/alsoPropagate() for the
// append-only file:
//
//   - The dispatcher (RunBuiltin) logs a command that changed something (a KeyModified call
//     while it ran), with its shard locks still held: as received, or as its handler asked
//     (CommandContext::PropagateAs). A command that changed nothing is not logged.
//   - EXEC frames what its commands log with MULTI ... EXEC (TransactionLogFrame); MULTI is
//     appended before the first change only, so a transaction that changed nothing logs
//     nothing.
//   - A blocked client served later (blocking.h) logs the non-blocking form of what it took,
//     after the command whose push made it ready.
//   - A key deleted by the server itself, by expiry or eviction, logs DEL key
//     (PropagateDeletion): not a change of the command that happened to find it expired.
//
// Whether the log is on is read while the shard locks of the change are held, so whoever
// installs a log (ServerContext::set_command_log) must do it while holding every shard lock,
// with the keyspace snapshot that the log continues: a change is then either in the snapshot
// or in the log, never in both or neither.
//
// Thread-safety: any thread; the transaction framing is per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rowcached::server {

class CommandLog;
class ServerContext;
struct CommandContext;

// KeyModified calls made by the calling thread so far (notify.cc). The dispatcher compares it
// before and after a handler: Redis' per-call server.dirty check, without a shared counter.
uint64_t ThreadChangeCount();

// Appends one command for database `db`, after MULTI when the calling thread is inside a
// TransactionLogFrame that has not logged anything yet.
void AppendToLog(CommandLog& log, int db, const std::vector<std::string_view>& args);
void AppendToLog(CommandLog& log, int db, const std::vector<std::string>& args);

// Logs ctx's command (or what its handler asked for) if it changed something since
// `changes_before` (a ThreadChangeCount()). Call right after the handler, locks still held.
void PropagateCommand(CommandContext& ctx, uint64_t changes_before);

// Logs DEL key for a key the server deleted itself (expiry, eviction), unless the key belongs
// to the key interceptor (the middleware's table keys are a cache of a database, not data to
// replay). REQUIRES the key's shard lock.
void PropagateDeletion(ServerContext& server, int db, std::string_view key);

// While alive, the commands the calling thread logs are one transaction: collected, and
// appended when the frame ends as MULTI ... EXEC in one CommandLog::AppendBatch, so no other
// thread's command lands inside it (which would make the file unloadable, or let a cut-off
// transaction take an acknowledged command of another client with it); nothing when none was
// logged. Not nestable. The frame must end while the transaction's shard locks are held.
class TransactionLogFrame {
 public:
  TransactionLogFrame();
  ~TransactionLogFrame();
  TransactionLogFrame(const TransactionLogFrame&) = delete;
  TransactionLogFrame& operator=(const TransactionLogFrame&) = delete;

  // Called by AppendToLog instead of appending each command of the frame.
  void Collect(CommandLog& log, int db, const std::vector<std::string_view>& args);

 private:
  CommandLog* log_ = nullptr;  // set by the first command collected
  std::vector<std::pair<int, std::vector<std::string>>> commands_;  // MULTI first
};

}  // namespace rowcached::server
