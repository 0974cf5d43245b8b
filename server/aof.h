// The append-only file (Redis 7.0's multi-part AOF, see aof_format.h for the layout): the
// CommandLog the dispatcher appends every write command to, its rewrite (BGREWRITEAOF and the
// automatic one) and its loading at start-up.
//
// Appending and durability. Append() copies the command into an in-memory buffer under a mutex
// (SELECT first when the database changes) and records, per thread, the offset its command
// ends at. AwaitDurable() is group commit: the first caller that finds its bytes not yet
// written becomes the writer, takes the whole buffer, write()s it (and fdatasync()s it under
// appendfsync always) with the mutex released, while the callers that arrive meanwhile wait
// for it, then check whether their own bytes were covered. So N clients cost one write+fsync
// per round, as Redis' beforeSleep does for all its clients. Under `everysec` every write()
// happens before the reply (a kill -9 of the process loses nothing acknowledged) and a
// background thread fdatasync()s once a second; under `no` nothing fsyncs.
//
// Write errors, as Redis: under `always` a failed write or fsync is fatal (the process exits
// rather than acknowledge writes it could not persist); under `everysec`/`no` the unwritten
// bytes stay buffered, aof_last_write_status turns "err", the cron retries, and WriteError()
// tells the dispatcher to refuse write commands with -MISCONF until a write succeeds.
//
// Rewrite: BackgroundChild forks with every shard locked; at that point (at_fork) appends
// switch to a new increment file, listed in the manifest at once, so the old base + old
// increments + the new increment always reload to the live data. The child writes a new base
// (an RDB file under aof-use-rdb-preamble, else commands); when it succeeds the parent renames
// it into place, writes the manifest (new base + the increments since the fork) and deletes the
// old files. A failed or killed child leaves the manifest as it was.
//
// Turned on at run time (CONFIG SET appendonly yes, OpenAtRunTime), the AOF writes nothing at
// once: its first rewrite writes the base. At that rewrite's fork, with every shard locked, the
// AOF opens its first increment and installs itself as the server's command log, so every
// change is either in the child's snapshot or in the increment. Until the rewrite completes the
// manifest on disk is left as it was (an earlier run's, or none), as in Redis 7.0; its files are
// never appended to, the new files take sequence numbers after every file it names, and the
// manifest written at completion (the new base and the increments since the fork) drops them.
// A first rewrite that fails or is killed is started again by the cron.
//
// Turned off (Retire), the AOF writes and fsyncs what was appended, removes itself as the
// command log, kills its rewrite child and closes its file; appends that still reach it (from a
// thread that loaded the command log pointer just before) are dropped, as the AOF is off. The
// object stays valid (Persistence keeps it until shutdown) and every method stays safe to call.
//
// Thread-safety: Append/AwaitDurable from any thread; Cron, StartRewrite, AppendInfo and
// WriteError from any thread too (the server cron, command handlers). Internally `mu_` guards
// the buffer and the current increment file; `manifest_mu_` the manifest and rewrite state.
// Lock order: shard locks (held across the fork), then mu_, then manifest_mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/aof_format.h"
#include "server/background_child.h"
#include "server/command_log.h"
#include "server/rdb.h"
#include "server/server_context.h"

namespace rowcached::server {

// What LoadAppendOnlyFile found, for the start-up log and INFO.
struct AofLoadResult {
  bool found = false;              // a manifest existed
  uint64_t files_loaded = 0;       // base + increments
  uint64_t commands = 0;           // commands replayed (SELECT, MULTI and EXEC included)
  uint64_t base_keys = 0;          // keys loaded from an RDB base
  bool truncated_dropped = false;  // a truncated tail was dropped (aof-load-truncated yes)
};

// True when `options` point at an existing AOF (its manifest): start-up then loads it instead
// of the RDB file, as Redis does.
bool AppendOnlyFileExists(const Options& options);

// Loads the AOF of `options` (dir/appenddirname/appendfilename.manifest) into the server's
// keyspace, which must be empty and not yet served. No manifest and no AOF files: true with
// result->found false. Replays through the dispatcher's ExecuteQueued with a loading client;
// the server's command log is detached meanwhile, so nothing is appended. On failure returns
// false with `*error` naming the file and byte offset (and a hint to run rowcached-check-aof).
bool LoadAppendOnlyFile(ServerContext& server, const Options& options, std::string* error,
                        AofLoadResult* result = nullptr);

// Writes every key of `ks` as commands (SELECT, SET/RPUSH/SADD/ZADD/HSET, PEXPIREAT) to `fd`:
// the base file of a rewrite without the RDB preamble. Keys already expired are skipped. Rows
// (ValueType::kRow) become HSETs through `row_fields` when set; BF.* filters are not written.
// REQUIRES nothing mutates `ks` (a forked child, or all shards locked).
bool WriteAofBase(Keyspace& ks, int fd, const RdbSaveOptions& options, std::string* error);

class AppendOnlyFile final : public CommandLog {
 public:
  // Opens the AOF of the server's options for appending: the manifest's last increment file,
  // or, with no manifest yet, a new AOF whose base is the current keyspace (Redis' "Creating
  // AOF base file on server start"). `child` is the server's one background child, shared with
  // BGSAVE; both must outlive the object. `base_options.row_fields` is passed to the base
  // writers. Call after LoadAppendOnlyFile (or the RDB load), before serving, then install it
  // with ServerContext::set_command_log.
  static std::unique_ptr<AppendOnlyFile> Open(ServerContext& server, BackgroundChild& child,
                                              std::string* error, RdbSaveOptions base_options = {});
  // CONFIG SET appendonly yes (see above): reads the manifest found on disk, if any, and
  // prepares the directory; writes nothing. The caller then calls StartRewrite, whose fork
  // installs the AOF as the command log (or, scheduled, the cron's later fork does).
  static std::unique_ptr<AppendOnlyFile> OpenAtRunTime(ServerContext& server,
                                                       BackgroundChild& child, std::string* error,
                                                       RdbSaveOptions base_options = {});
  // Writes and fsyncs what is buffered; kills its rewrite child if one is still running.
  ~AppendOnlyFile() override;
  AppendOnlyFile(const AppendOnlyFile&) = delete;
  AppendOnlyFile& operator=(const AppendOnlyFile&) = delete;

  // CONFIG SET appendonly no (see above). Idempotent. REQUIRES the calling thread holds no
  // shard lock, or every one (a rewrite child is reaped here).
  void Retire();
  bool retired() const { return retired_.load(std::memory_order_acquire); }
  // True while the first rewrite of an AOF turned on at run time runs: until it completes, no
  // file holds the data (SHUTDOWN refuses then, as Redis does, unless FORCE).
  bool WritingInitialBase() const;

  void Append(int db, const std::vector<std::string_view>& args) override;
  void AppendBatch(const std::vector<std::pair<int, std::vector<std::string>>>& commands) override;
  void AwaitDurable() override;
  void AwaitAllDurable() override;
  // The logical offset (bytes appended since open) fsynced so far, and the fsyncs made for
  // waiters under always: for tests of the group commit.
  uint64_t synced_offset() const { return synced_.load(std::memory_order_acquire); }
  uint64_t fsyncs() const { return fsyncs_.load(std::memory_order_relaxed); }
  // Writes and fsyncs everything buffered (SHUTDOWN). False with `*error` on failure.
  bool Flush(std::string* error);

  // The server cron, `hz` times a second: refreshes appendfsync from the live configuration,
  // retries a failed write, reaps a finished rewrite child, starts a scheduled or automatic
  // rewrite.
  void Cron();

  enum class RewriteStart { kStarted, kScheduled, kInProgress, kFailed };
  // BGREWRITEAOF. With a BGSAVE child running (or another AOF's rewrite child, of an AOF
  // turned off), the rewrite is scheduled for when it ends; inside EXEC, for the next cron tick.
  // kFailed on a retired AOF.
  RewriteStart StartRewrite(std::string* error);
  // The same reply texts as Redis for each outcome.
  static std::string_view RewriteReply(RewriteStart start);

  // While the last write failed: true with Redis' MISCONF message for refused writes.
  bool WriteError(std::string* message) const override;

  // INFO persistence's aof_* lines ("name:value\r\n").
  void AppendInfo(std::string* out) const;

  // Directory and current file names, for tests and logs.
  std::string directory() const { return dir_; }
  aof::Manifest manifest() const;

 private:
  struct File;
  enum class Fsync { kAlways, kEverysec, kNo };

  AppendOnlyFile(ServerContext& server, BackgroundChild& child, RdbSaveOptions base_options);
  // What both openings do first: names, fsync policy, the directory, leftover temporary files.
  bool PrepareDirectory(std::string* error);
  bool Init(std::string* error);
  bool InitAtRunTime(std::string* error);
  static Fsync ParseFsync(std::string_view name);
  // Writes buf_ out as the writer (writing_ set by the caller); `l` is released during I/O.
  // Returns false on a write error (handled by HandleWriteError).
  bool WriteBufferLocked(std::unique_lock<std::mutex>& l, bool sync);
  // `fatal`: the failed write ran under appendfsync always (Redis exits then).
  void HandleWriteError(const std::string& what, bool fatal);
  // Returns once logical offset `target` is written (fsynced under always); AwaitDurable's work.
  void AwaitOffset(uint64_t target);
  void FsyncLoop();
  void StopFsyncThread();
  // Opens increment file `seq` for appending.
  // `fresh`: truncate whatever a crashed predecessor left under that name.
  bool OpenIncr(int64_t seq, bool fresh, std::shared_ptr<File>* out, std::string* error);
  bool WriteManifest(const aof::Manifest& manifest, std::string* error, bool* renamed = nullptr);
  // at_fork: flushes the buffer into the current increment and starts the next one.
  void SwitchIncrAtFork();
  void RewriteDone(bool ok, int64_t new_base_seq, const std::string& new_base_name,
                   const std::string& temp_path);
  std::string PathOf(const std::string& name) const { return dir_ + "/" + name; }
  bool AutoRewriteDue() const;
  // True while the cron must not start a rewrite after repeated failures (see aof.cc).
  bool RewriteLimitedLocked(int64_t now_ms);  // REQUIRES manifest_mu_
  // True while a rewrite child of this AOF runs (not one of another AOF, turned off).
  bool OwnRewriteRunning() const;

  ServerContext& server_;
  BackgroundChild& child_;
  const RdbSaveOptions base_options_;
  const uint64_t instance_id_;  // tells this AOF's appends from another's in tl_pending
  std::string dir_;
  std::string appendfilename_;
  std::atomic<int> fsync_{static_cast<int>(Fsync::kEverysec)};

  // Guards the buffer, the current file and the offsets' writers.
  mutable std::mutex mu_;
  std::condition_variable cv_;         // a writer finished
  std::string buf_;                    // appended, not yet handed to write()
  std::string spare_;                  // the writer's buffer, kept for its capacity
  uint64_t buf_start_ = 0;             // logical offset of buf_[0] (bytes appended since open)
  int selected_db_ = -1;               // the database of the current file's last command
  std::atomic<bool> writing_{false};   // a writer is doing I/O with mu_ released (set under mu_)
  std::shared_ptr<File> file_;         // the current increment file
  std::atomic<uint64_t> written_{0};   // logical offset handed to the kernel
  std::atomic<uint64_t> synced_{0};    // logical offset fsynced
  std::atomic<uint64_t> appended_{0};  // logical offset appended (buf_start_ + buf_.size())
  std::atomic<uint64_t> fsyncs_{0};    // fdatasync calls of AwaitDurable's writers
  std::string write_error_;            // last write's error; empty = ok
  std::atomic<bool> write_failed_{false};

  // Guards the manifest and the rewrite bookkeeping.
  mutable std::mutex manifest_mu_;
  aof::Manifest manifest_;
  bool rewrite_scheduled_ = false;
  int64_t rewrite_started_ms_ = -1;
  int64_t last_rewrite_time_sec_ = -1;
  bool last_rewrite_ok_ = true;
  uint64_t rewrites_ = 0;
  std::atomic<uint64_t> base_size_{0};     // aof_base_size: the size after the last rewrite
  std::atomic<uint64_t> current_size_{0};  // base + increments on disk
  int64_t incr_seq_at_fork_ = 0;           // the first increment of the running rewrite
  // Opened at run time and no rewrite completed yet: manifest_ is the one found on disk (or
  // empty) plus the increments opened since, and is not written out.
  bool first_rewrite_pending_ = false;
  // The highest sequence number the manifest found on disk names: new files come after it.
  int64_t seq_floor_ = 0;
  uint64_t consecutive_failures_ = 0;  // rewrites failed since the last success
  int64_t retry_delay_minutes_ = 0;    // the limit's current delay; 0 = not limited
  int64_t retry_at_ms_ = 0;            // limited until then; 0 = the delay is still to start
  // Set by Retire, under mu_ and manifest_mu_ both.
  std::atomic<bool> retired_{false};

  void AppendLocked(int db, const std::vector<std::string_view>& args);

  // The everysec fsync thread.
  std::mutex fsync_mu_;
  std::condition_variable fsync_cv_;
  bool stop_ = false;
  std::thread fsync_thread_;
};

}  // namespace rowcached::server
