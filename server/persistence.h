// Persistence as Redis users know it: RDB snapshots (SAVE, BGSAVE, the `save` schedule,
// LASTSAVE, a snapshot at SHUTDOWN), the append-only file's life (aof.h does its work) and
// loading at start-up.
//
// Start-up. With `appendonly` on and an AOF present, the AOF is loaded (it is the more recent
// record); otherwise <dir>/<dbfilename> when present. Then, with `appendonly` on, the AOF is
// opened for appending (a new one takes the loaded data as its base, so turning the AOF on
// keeps a snapshot's data) and installed as the server's command log.
//
// Snapshots. SAVE writes <dir>/<dbfilename> with every shard locked (serving stops, as in
// Redis). BGSAVE forks (background_child.h): the child writes the copy-on-write image of the
// keyspace frozen at the fork while the parent keeps serving. Either way the file is written
// to a temporary name, fsynced and renamed, so a crash never damages the previous snapshot; a
// child killed half-way leaves only its temporary file, which the parent removes.
//
// The schedule. Cron() runs `hz` times a second: it reaps a finished child, and starts a BGSAVE
// when a `save` rule ("seconds changes") holds: at least `changes` changes (dirty()) since the
// last successful save and `seconds` since it. After a failed BGSAVE, the next try waits 5
// seconds (Redis' CONFIG_BGSAVE_RETRY_DELAY).
//
// The AOF at run time (CONFIG SET appendonly, SetAppendOnly). Turned on, a new AOF starts with
// a rewrite whose fork installs it as the command log (aof.h); turned off, it is retired: it
// writes and fsyncs what it holds, stops logging and kills its rewrite child. A retired AOF is
// kept until shutdown, as an I/O thread may still hold the CommandLog pointer it loaded.
//
// Thread-safety: every method may be called from any thread. Save() REQUIRES the caller holds
// every shard lock (the SAVE command locks them all); Load() runs before serving. The AOF in
// use is a shared_ptr guarded by aof_mu_, which is held only to read or swap the pointers:
// never across I/O, a fork or a shard lock, so any thread may take it, one holding shard locks
// included. Whoever uses the AOF works on its own copy of the pointer (aof()), which stays
// valid, and safe to call, if the AOF is turned off meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/background_child.h"
#include "server/rdb.h"

namespace rowcached::server {

class AppendOnlyFile;
class ServerContext;

class Persistence {
 public:
  explicit Persistence(ServerContext& server);
  ~Persistence();

  // Start-up, before serving (see above). Creates `dir` if missing. False with *error (naming
  // the file, the offset and what was wrong) when a file exists but cannot be loaded, or the AOF
  // cannot be opened: the caller stops start-up rather than serve a partial dataset.
  bool Load(std::string* error);

  // SAVE. REQUIRES every shard locked by the caller.
  bool Save(std::string* error);

  enum class BackgroundResult { kStarted, kScheduled, kInProgress, kFailed };
  // BGSAVE [SCHEDULE]: forks a snapshot child. With a child of another kind running (an AOF
  // rewrite), `schedule` queues the save for when it ends (kScheduled), otherwise kInProgress.
  // Called with shard locks already held by this thread (inside EXEC), the save is scheduled
  // for the next cron tick instead (a fork takes every shard lock in order).
  BackgroundResult BackgroundSave(bool schedule, std::string* error);

  // What SHUTDOWN does before the process stops: kills a running child (removing its temporary
  // file), writes and fsyncs the AOF, and writes a snapshot when `save` rules exist (or
  // `force_save`), unless `no_save`.
  // REQUIRES every shard locked by the caller, or no server thread running. False with *error
  // when the snapshot failed (SHUTDOWN then refuses, unless FORCE).
  bool PrepareShutdown(bool force_save, bool no_save, std::string* error);
  // The last step once no server thread runs any more: what PrepareShutdown did (or, after a
  // SIGTERM, would do) again, for the changes made since it ran; nothing when nothing changed
  // since its snapshot or it was told not to save. Then closes the AOF (written and fsynced).
  bool FinishShutdown(std::string* error);

  // Called `hz` times a second by the server's cron thread.
  void Cron();

  // CONFIG SET appendonly yes|no (Redis 7.0's startAppendOnly/stopAppendOnly); nothing when
  // the AOF already is in that state. Turning on forks the first rewrite (or schedules it
  // behind a BGSAVE child, or for the cron inside EXEC); false with Redis' *error when it
  // cannot start (the fork failed), the AOF then stays off. REQUIRES the calling thread holds
  // no shard lock, or every one (inside EXEC).
  bool SetAppendOnly(bool on, std::string* error);
  // Installs `aof` (opened by the caller) as the AOF in use and the command log: what Load()
  // does; tests with files of their own. Before serving.
  void UseAppendOnlyFile(std::shared_ptr<AppendOnlyFile> aof);
  // True while the first rewrite of an AOF turned on at run time writes its base.
  bool WritingInitialAof() const;

  int64_t lastsave_seconds() const;
  // INFO persistence's RDB lines.
  void AppendInfo(std::string* out) const;

  // The columns of a cached row, to write it into snapshots (set by the middleware).
  void set_row_fields(decltype(RdbSaveOptions::row_fields) fn);

  BackgroundChild& child() { return child_; }
  // The append-only file, null when `appendonly` is off.
  std::shared_ptr<AppendOnlyFile> aof() const;
  std::string rdb_path() const;

 private:
  // REQUIRE switch_mu_: open a new AOF and make it the one in use; retire the one in use.
  // Both keep `appendonly` in the options equal to the state they leave.
  std::shared_ptr<AppendOnlyFile> OpenAppendOnlyLocked(std::string* error);
  void StopAppendOnlyLocked();

  RdbSaveOptions SaveOptions() const;
  void BackgroundSaveDone(bool ok, pid_t pid, uint64_t dirty_at_fork, int64_t started_ms);
  void SaveSucceeded(uint64_t dirty_at_start);

  ServerContext& server_;
  BackgroundChild child_;
  // Guards aof_ and retired_aofs_ only (see the thread-safety note above). The AOFs are
  // destroyed before child_ (whose on_done may refer to them; the destructor kills the child
  // first).
  // Serializes SetAppendOnly's switches; taken before aof_mu_ and the AOF's own locks, never
  // held while taking a shard lock (a CONFIG SET inside EXEC holds them all and then takes it).
  std::mutex switch_mu_;
  mutable std::mutex aof_mu_;
  std::shared_ptr<AppendOnlyFile> aof_;
  std::vector<std::shared_ptr<AppendOnlyFile>> retired_aofs_;
  mutable std::mutex mu_;
  int64_t lastsave_s_ = 0;           // time of the last successful save (or start-up)
  uint64_t dirty_at_last_save_ = 0;  // dirty() when the last successful save began
  bool last_bgsave_ok_ = true;
  int64_t last_bgsave_try_s_ = 0;
  int64_t last_bgsave_time_sec_ = -1;
  int64_t bgsave_started_ms_ = -1;  // -1 = none running
  bool bgsave_scheduled_ = false;
  uint64_t rdb_saves_ = 0;
  uint64_t last_load_keys_loaded_ = 0;
  uint64_t last_load_keys_expired_ = 0;
  decltype(RdbSaveOptions::row_fields) row_fields_;
  bool shutdown_prepared_ = false;
  bool shutdown_force_save_ = false;
  bool shutdown_no_save_ = false;
};

}  // namespace rowcached::server
