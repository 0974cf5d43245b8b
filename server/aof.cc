#include "server/aof.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "server/aof_files.h"
#include "server/info.h"
#include "server/spin.h"

namespace rowcached::server {

namespace {

// The end offset of this thread's last append, and to which AOF: by a number never reused, as
// an address may be (tests open several, one after the other).
struct PendingAppend {
  uint64_t owner = 0;
  uint64_t end = 0;
};
thread_local PendingAppend tl_pending;
std::atomic<uint64_t> next_instance_id{1};

// Redis 7.0's aofRewriteLimited: once this many rewrites failed in a row, the cron's next tries
// (scheduled or automatic, not BGREWRITEAOF) wait 1, 2, 4 ... minutes, at most an hour. Without
// it, an AOF turned on at run time whose first rewrite cannot succeed (a full disk) would fork
// at every cron tick.
constexpr uint64_t kRewriteFailuresBeforeDelay = 3;
constexpr int64_t kRewriteMaxDelayMinutes = 60;

// The base a rewrite child writes, renamed into place when it succeeds (Redis' name).
const std::string kRewriteTempPrefix = "temp-rewriteaof-bg-";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// An open increment file. Shared with the fsync thread, so a switch to the next increment
// never closes a descriptor that is being fsynced.
struct AppendOnlyFile::File {
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  int fd = -1;
  int64_t seq = 0;
  uint64_t size = 0;  // bytes in the file; changed only by the writer
};

AppendOnlyFile::AppendOnlyFile(ServerContext& server, BackgroundChild& child,
                               RdbSaveOptions base_options)
    : server_(server),
      child_(child),
      base_options_(std::move(base_options)),
      instance_id_(next_instance_id.fetch_add(1)) {}

AppendOnlyFile::Fsync AppendOnlyFile::ParseFsync(std::string_view name) {
  if (name == "always") return Fsync::kAlways;
  if (name == "no") return Fsync::kNo;
  return Fsync::kEverysec;
}

std::unique_ptr<AppendOnlyFile> AppendOnlyFile::Open(ServerContext& server, BackgroundChild& child,
                                                     std::string* error,
                                                     RdbSaveOptions base_options) {
  std::unique_ptr<AppendOnlyFile> aof(new AppendOnlyFile(server, child, std::move(base_options)));
  if (!aof->Init(error)) return nullptr;
  return aof;
}

std::unique_ptr<AppendOnlyFile> AppendOnlyFile::OpenAtRunTime(ServerContext& server,
                                                              BackgroundChild& child,
                                                              std::string* error,
                                                              RdbSaveOptions base_options) {
  std::unique_ptr<AppendOnlyFile> aof(new AppendOnlyFile(server, child, std::move(base_options)));
  if (!aof->InitAtRunTime(error)) return nullptr;
  return aof;
}

bool AppendOnlyFile::PrepareDirectory(std::string* error) {
  Options o = server_.options();
  dir_ = o.dir + "/" + o.appenddirname;
  appendfilename_ = o.appendfilename;
  fsync_ = static_cast<int>(ParseFsync(o.appendfsync));
  if (!aof_files::MakeDirs(dir_, error)) return false;
  // A rewrite child outlives a crashed parent; what it wrote was never renamed into place.
  for (const auto& name : aof_files::FilesWithPrefix(dir_, kRewriteTempPrefix)) {
    ::unlink(PathOf(name).c_str());
  }
  return true;
}

bool AppendOnlyFile::InitAtRunTime(std::string* error) {
  if (!PrepareDirectory(error)) return false;
  aof::Manifest found;
  bool exists = false;
  if (!aof_files::ReadManifest(PathOf(aof::ManifestName(appendfilename_)), &found, &exists,
                               error)) {
    return false;
  }
  int64_t floor = 0;
  if (found.base) floor = found.base->seq;
  for (const auto& f : found.history) floor = std::max(floor, f.seq);
  for (const auto& f : found.incrs) floor = std::max(floor, f.seq);
  if (exists) {
    spdlog::info("AOF enabled at run time: the files of {} are replaced by the first rewrite",
                 aof::ManifestName(appendfilename_));
  }
  {
    std::lock_guard l(manifest_mu_);
    manifest_ = std::move(found);
    seq_floor_ = floor;
    first_rewrite_pending_ = true;
  }
  fsync_thread_ = std::thread([this] { FsyncLoop(); });
  return true;
}

bool AppendOnlyFile::Init(std::string* error) {
  Options o = server_.options();
  if (!PrepareDirectory(error)) return false;

  aof::Manifest manifest;
  const std::string manifest_path = PathOf(aof::ManifestName(appendfilename_));
  bool exists = false;
  if (!aof_files::ReadManifest(manifest_path, &manifest, &exists, error)) return false;
  if (!exists) {
    // A new AOF starts from the data already loaded (an RDB file, or nothing).
    RdbSaveOptions so = base_options_;
    so.compress = o.rdbcompression;
    so.aof_base = true;
    const bool rdb = o.aof_use_rdb_preamble;
    aof::ManifestFile base{aof::BaseName(appendfilename_, 1, rdb), 1, 'b'};
    Keyspace& ks = server_.keyspace();
    if (!aof_files::WriteFileDurably(
            PathOf(base.name),
            [&](int fd, std::string* err) {
              return rdb ? WriteRdb(ks, fd, so, err) : WriteAofBase(ks, fd, so, err);
            },
            error)) {
      return false;
    }
    manifest.base = base;
    spdlog::info("Creating AOF base file {} on server start", base.name);
  }
  std::shared_ptr<File> file;
  if (manifest.incrs.empty()) {
    int64_t seq = 1;
    for (const auto& f : manifest.history) seq = std::max(seq, f.seq + 1);
    if (!OpenIncr(seq, /*fresh=*/true, &file, error)) return false;
    manifest.incrs.push_back({aof::IncrName(appendfilename_, seq), seq, 'i'});
    if (!WriteManifest(manifest, error)) return false;
    spdlog::info("Creating AOF incr file {} on server start", manifest.incrs.back().name);
  } else if (!OpenIncr(manifest.incrs.back().seq, /*fresh=*/false, &file, error)) {
    return false;
  }
  uint64_t size = 0;
  if (manifest.base) size += aof_files::FileSize(PathOf(manifest.base->name));
  for (const auto& f : manifest.incrs) size += aof_files::FileSize(PathOf(f.name));
  current_size_ = size;
  base_size_ = size;  // Redis' aof_rewrite_base_size after loading
  manifest_ = std::move(manifest);
  file_ = std::move(file);
  fsync_thread_ = std::thread([this] { FsyncLoop(); });
  return true;
}

AppendOnlyFile::~AppendOnlyFile() {
  if (OwnRewriteRunning()) child_.Kill();
  std::string error;
  if (!Flush(&error)) spdlog::error("AOF: final write failed: {}", error);
  StopFsyncThread();
}

void AppendOnlyFile::StopFsyncThread() {
  {
    std::lock_guard l(fsync_mu_);
    stop_ = true;
  }
  fsync_cv_.notify_all();
  if (fsync_thread_.joinable()) fsync_thread_.join();
}

bool AppendOnlyFile::OwnRewriteRunning() const {
  {
    std::lock_guard l(manifest_mu_);
    if (rewrite_started_ms_ < 0) return false;
  }
  return child_.running() == BackgroundChild::Kind::kAof;
}

bool AppendOnlyFile::WritingInitialBase() const {
  {
    std::lock_guard l(manifest_mu_);
    if (!first_rewrite_pending_) return false;
  }
  return OwnRewriteRunning();
}

void AppendOnlyFile::Retire() {
  std::vector<std::string> unreachable;  // increments no manifest names
  {
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return !writing_; });
    {
      std::lock_guard ml(manifest_mu_);
      if (retired_) return;
      retired_ = true;  // appends from now on are dropped
      rewrite_scheduled_ = false;
      server_.RemoveCommandLog(this);
      if (first_rewrite_pending_) {
        for (const auto& f : manifest_.incrs) {
          if (f.seq > seq_floor_) unreachable.push_back(PathOf(f.name));
        }
      }
    }
    // What was appended before is written and fsynced, as Redis' stopAppendOnly does.
    if (!WriteBufferLocked(l, true)) spdlog::warn("AOF: the last write before turning off failed");
    file_.reset();
  }
  if (OwnRewriteRunning()) {
    spdlog::info("Killing running AOF rewrite child: {}", child_.pid());
    child_.Kill();
  }
  StopFsyncThread();
  for (const auto& path : unreachable) ::unlink(path.c_str());
  spdlog::info("AOF turned off");
}

bool AppendOnlyFile::OpenIncr(int64_t seq, bool fresh, std::shared_ptr<File>* out,
                              std::string* error) {
  const std::string path = PathOf(aof::IncrName(appendfilename_, seq));
  int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (fresh ? O_TRUNC : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    *error = "cannot open the AOF file " + path + ": " + std::strerror(errno);
    return false;
  }
  auto file = std::make_shared<File>();
  file->fd = fd;
  file->seq = seq;
  file->size = aof_files::FileSize(path);
  *out = std::move(file);
  return true;
}

bool AppendOnlyFile::WriteManifest(const aof::Manifest& manifest, std::string* error,
                                   bool* renamed) {
  const std::string text = manifest.Render();
  return aof_files::WriteFileDurably(
      PathOf(aof::ManifestName(appendfilename_)),
      [&](int fd, std::string* err) { return aof_files::WriteAll(fd, text, err); }, error, renamed);
}

void AppendOnlyFile::AppendLocked(int db, const std::vector<std::string_view>& args) {
  if (db != selected_db_) {
    aof::AppendSelect(&buf_, db);
    selected_db_ = db;
  }
  aof::AppendCommand(&buf_, args);
}

void AppendOnlyFile::Append(int db, const std::vector<std::string_view>& args) {
  LockSpinning(mu_);
  std::lock_guard l(mu_, std::adopt_lock);
  if (retired_.load(std::memory_order_relaxed)) return;  // turned off
  AppendLocked(db, args);
  tl_pending = {instance_id_, buf_start_ + buf_.size()};
  appended_.store(tl_pending.end, std::memory_order_release);
}

void AppendOnlyFile::AppendBatch(
    const std::vector<std::pair<int, std::vector<std::string>>>& commands) {
  LockSpinning(mu_);
  std::lock_guard l(mu_, std::adopt_lock);
  if (retired_.load(std::memory_order_relaxed)) return;  // turned off
  for (const auto& [db, args] : commands) {
    AppendLocked(db, std::vector<std::string_view>(args.begin(), args.end()));
  }
  tl_pending = {instance_id_, buf_start_ + buf_.size()};
  appended_.store(tl_pending.end, std::memory_order_release);
}

void AppendOnlyFile::AwaitDurable() {
  if (tl_pending.owner == instance_id_) AwaitOffset(tl_pending.end);
}

void AppendOnlyFile::AwaitAllDurable() { AwaitOffset(appended_.load(std::memory_order_acquire)); }

void AppendOnlyFile::AwaitOffset(uint64_t target) {
  const bool sync = static_cast<Fsync>(fsync_.load(std::memory_order_relaxed)) == Fsync::kAlways;
  auto covered = [&] {
    return (sync ? synced_ : written_).load(std::memory_order_acquire) >= target;
  };
  if (covered()) return;
  std::unique_lock l(mu_, std::defer_lock);
  LockSpinning(l);
  bool spun = false;
  while (!covered()) {
    if (writing_) {
      // Another thread's write() is under way (a few microseconds; an fsync takes far longer):
      // wait for it spinning rather than asleep, once, then write what it did not cover.
      if (!sync && !spun) {
        spun = true;
        l.unlock();
        for (int i = 0; i < kShortWaitSpins * 4 && writing_.load(std::memory_order_acquire); ++i) {
          CpuRelax();
        }
        LockSpinning(l);
        continue;
      }
      cv_.wait(l);
      continue;
    }
    // Turned off: what was appended before was written then; nothing is left to wait for.
    if (retired_.load(std::memory_order_relaxed)) return;
    // Nothing is written for us: become the writer for everybody's bytes.
    if (!WriteBufferLocked(l, sync)) return;  // the error is recorded; everysec/no go on
  }
}

bool AppendOnlyFile::WriteBufferLocked(std::unique_lock<std::mutex>& l, bool sync) {
  // No increment yet (opened at run time, before its first fork) or none any more (retired):
  // nothing can have been appended.
  if (!file_) return true;
  // Whether a failure ends the process is decided by the policy this write runs under, not
  // the one in force when it fails: a CONFIG SET appendfsync landing meanwhile must not let a
  // reply promise an fsync that failed. The last write of an AOF being turned off only warns,
  // as Redis' stopAppendOnly does.
  const bool fatal = static_cast<Fsync>(fsync_.load(std::memory_order_relaxed)) == Fsync::kAlways &&
                     !retired_.load(std::memory_order_relaxed);
  writing_ = true;
  spare_.clear();
  spare_.swap(buf_);
  const uint64_t end = buf_start_ + spare_.size();
  buf_start_ = end;
  std::shared_ptr<File> file = file_;
  l.unlock();
  size_t done = 0;
  int write_errno = 0;
  while (done < spare_.size()) {
    ssize_t n = ::write(file->fd, spare_.data() + done, spare_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      write_errno = errno;
      break;
    }
    if (n == 0) {
      write_errno = ENOSPC;
      break;
    }
    done += static_cast<size_t>(n);
  }
  int sync_errno = 0;
  if (write_errno == 0 && sync) {
    if (::fdatasync(file->fd) != 0) sync_errno = errno;
    fsyncs_.fetch_add(1, std::memory_order_relaxed);
  }
  l.lock();
  writing_ = false;
  bool ok = true;
  if (write_errno == 0) {
    file->size += spare_.size();
    current_size_.fetch_add(spare_.size(), std::memory_order_relaxed);
    written_.store(end, std::memory_order_release);
    if (sync && sync_errno == 0) synced_.store(end, std::memory_order_release);
    if (sync_errno != 0) {
      HandleWriteError(std::string("fsync: ") + std::strerror(sync_errno), fatal);
      ok = false;
    } else if (write_failed_.load(std::memory_order_relaxed)) {
      spdlog::warn("AOF write error looks solved. Redis can write again.");
      write_error_.clear();
      write_failed_ = false;
    }
  } else {
    // As Redis: cut a partial write off so the file ends with a whole command; if that fails
    // too, the written part stays and only the rest is retried.
    if (done > 0 && ::ftruncate(file->fd, static_cast<off_t>(file->size)) != 0) {
      file->size += done;
      current_size_.fetch_add(done, std::memory_order_relaxed);
    } else {
      done = 0;
    }
    std::string rest = spare_.substr(done);
    rest.append(buf_);
    buf_.swap(rest);
    buf_start_ = end - (spare_.size() - done);
    written_.store(buf_start_, std::memory_order_release);
    HandleWriteError(std::strerror(write_errno), fatal);
    ok = false;
  }
  cv_.notify_all();
  return ok;
}

void AppendOnlyFile::HandleWriteError(const std::string& what, bool fatal) {
  if (fatal) {
    // Redis' behaviour: replies may already promise these writes to clients of other rounds'
    // retries; the only safe answer is to stop before acknowledging anything more.
    spdlog::critical(
        "Can't recover from AOF write error when the AOF fsync policy is 'always' "
        "({}). Exiting...",
        what);
    spdlog::shutdown();
    _exit(1);
  }
  if (!write_failed_.load(std::memory_order_relaxed)) {
    spdlog::warn("Error writing to the AOF file: {}", what);
  }
  write_error_ = what;
  write_failed_ = true;
}

bool AppendOnlyFile::Flush(std::string* error) {
  std::unique_lock l(mu_);
  cv_.wait(l, [this] { return !writing_; });
  bool ok = WriteBufferLocked(l, true);
  if (!ok) *error = write_error_;
  return ok;
}

bool AppendOnlyFile::WriteError(std::string* message) const {
  if (!write_failed_.load(std::memory_order_relaxed) || retired()) return false;
  std::lock_guard l(mu_);
  *message = "MISCONF Errors writing to the AOF file: " + write_error_;
  return true;
}

void AppendOnlyFile::FsyncLoop() {
  std::unique_lock fl(fsync_mu_);
  while (!stop_) {
    fsync_cv_.wait_for(fl, std::chrono::seconds(1), [this] { return stop_; });
    if (stop_) break;
    if (static_cast<Fsync>(fsync_.load()) != Fsync::kEverysec) continue;
    std::shared_ptr<File> file;
    uint64_t target;
    {
      std::lock_guard l(mu_);
      file = file_;
      target = written_.load();
    }
    if (!file || synced_.load() >= target) continue;
    fl.unlock();
    int rc = ::fdatasync(file->fd);
    int err = errno;
    fl.lock();
    if (rc != 0) {
      std::lock_guard l(mu_);
      HandleWriteError(std::string("fsync: ") + std::strerror(err), /*fatal=*/false);
      continue;
    }
    uint64_t cur = synced_.load();
    while (cur < target && !synced_.compare_exchange_weak(cur, target)) {
    }
  }
}

void AppendOnlyFile::Cron() {
  if (retired()) return;
  fsync_ = static_cast<int>(ParseFsync(server_.options().appendfsync));
  if (write_failed_.load(std::memory_order_relaxed)) {
    // Retry what a failed write left buffered (Redis' flushAppendOnlyFile from serverCron), or,
    // when it was an fsync that failed, the fsync: its success clears the error.
    std::unique_lock l(mu_);
    if (!writing_) WriteBufferLocked(l, buf_.empty());
  }
  child_.Poll();
  if (child_.running() != BackgroundChild::Kind::kNone) return;
  bool first_pending;
  {
    std::lock_guard l(manifest_mu_);
    first_pending = first_rewrite_pending_;
  }
  const bool due = !first_pending && AutoRewriteDue();
  bool scheduled;
  {
    std::lock_guard l(manifest_mu_);
    scheduled = rewrite_scheduled_;
    // Limited, a scheduled rewrite stays scheduled.
    if ((!scheduled && !due) || RewriteLimitedLocked(NowMs())) return;
    rewrite_scheduled_ = false;
  }
  if (!scheduled) {
    spdlog::info("Starting automatic rewriting of AOF on {}% growth",
                 current_size_.load() * 100 / std::max<uint64_t>(base_size_.load(), 1) - 100);
  }
  std::string error;
  if (StartRewrite(&error) == RewriteStart::kFailed) {
    spdlog::warn("AOF rewrite could not start: {}", error);
  }
}

bool AppendOnlyFile::RewriteLimitedLocked(int64_t now_ms) {
  if (consecutive_failures_ < kRewriteFailuresBeforeDelay) {
    retry_delay_minutes_ = 0;
    retry_at_ms_ = 0;
    return false;
  }
  if (retry_at_ms_ != 0) {
    if (now_ms < retry_at_ms_) return true;
    retry_at_ms_ = 0;
    return false;
  }
  retry_delay_minutes_ =
      retry_delay_minutes_ == 0 ? 1 : std::min(retry_delay_minutes_ * 2, kRewriteMaxDelayMinutes);
  retry_at_ms_ = now_ms + retry_delay_minutes_ * 60 * 1000;
  spdlog::warn(
      "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} "
      "minutes",
      retry_delay_minutes_);
  return true;
}

bool AppendOnlyFile::AutoRewriteDue() const {
  Options o = server_.options();
  if (o.auto_aof_rewrite_percentage <= 0) return false;
  const uint64_t current = current_size_.load();
  if (current < static_cast<uint64_t>(std::max<int64_t>(o.auto_aof_rewrite_min_size, 0))) {
    return false;
  }
  const uint64_t base = std::max<uint64_t>(base_size_.load(), 1);
  const int64_t growth = static_cast<int64_t>(current * 100 / base) - 100;
  return growth >= o.auto_aof_rewrite_percentage;
}

std::string_view AppendOnlyFile::RewriteReply(RewriteStart start) {
  switch (start) {
    case RewriteStart::kStarted:
      return "Background append only file rewriting started";
    case RewriteStart::kScheduled:
      return "Background append only file rewriting scheduled";
    case RewriteStart::kInProgress:
      return "ERR Background append only file rewriting already in progress";
    case RewriteStart::kFailed:
      break;
  }
  return "ERR Can't execute an AOF background rewriting. Please check the server logs for more "
         "information.";
}

AppendOnlyFile::RewriteStart AppendOnlyFile::StartRewrite(std::string* error) {
  if (retired()) {
    *error = "the append only file is turned off";
    return RewriteStart::kFailed;
  }
  auto busy = [this]() -> std::optional<RewriteStart> {
    switch (child_.running()) {
      case BackgroundChild::Kind::kAof: {
        std::lock_guard l(manifest_mu_);
        if (rewrite_started_ms_ >= 0) return RewriteStart::kInProgress;
        // The child of an AOF turned off (not yet reaped): ours starts after it.
        rewrite_scheduled_ = true;
        return RewriteStart::kScheduled;
      }
      case BackgroundChild::Kind::kRdb: {
        std::lock_guard l(manifest_mu_);
        rewrite_scheduled_ = true;
        return RewriteStart::kScheduled;
      }
      case BackgroundChild::Kind::kNone:
        break;
    }
    return std::nullopt;
  };
  if (auto b = busy()) return *b;
  if (ShardLocks::HeldByThisThread()) {
    // Inside EXEC: forking takes every shard lock in order, and the transaction's own commands
    // must not straddle two increment files. The cron starts it.
    std::lock_guard l(manifest_mu_);
    rewrite_scheduled_ = true;
    return RewriteStart::kScheduled;
  }
  Options o = server_.options();
  const bool rdb = o.aof_use_rdb_preamble;
  int64_t new_base_seq;
  {
    std::lock_guard l(manifest_mu_);
    new_base_seq = std::max(seq_floor_, manifest_.base ? manifest_.base->seq : 0) + 1;
  }
  const std::string base_name = aof::BaseName(appendfilename_, new_base_seq, rdb);
  const std::string temp_path = PathOf(kRewriteTempPrefix + std::to_string(::getpid()) + ".aof");
  RdbSaveOptions so = base_options_;
  so.compress = o.rdbcompression;
  so.aof_base = true;
  Keyspace& ks = server_.keyspace();
  // The child only reads its copy of the keyspace and writes one file (background_child.h).
  auto work = [&ks, temp_path, so, rdb]() -> int {
    std::string err;
    return aof_files::WriteFileUnder(
               temp_path,
               [&](int fd, std::string* e) {
                 return rdb ? WriteRdb(ks, fd, so, e) : WriteAofBase(ks, fd, so, e);
               },
               &err)
               ? 0
               : 1;
  };
  auto on_done = [this, new_base_seq, base_name, temp_path](bool ok, pid_t) {
    RewriteDone(ok, new_base_seq, base_name, temp_path);
  };
  bool switched = false;  // at_fork ran: the fork itself failed
  auto at_fork = [this, &switched] {
    switched = true;
    SwitchIncrAtFork();
  };
  if (!child_.Start(ks, BackgroundChild::Kind::kAof, at_fork, work, on_done, error)) {
    std::unique_lock l(manifest_mu_);
    if (switched) {
      rewrite_started_ms_ = -1;  // no child runs
      incr_seq_at_fork_ = 0;
    }
    l.unlock();
    if (auto b = busy()) return *b;
    spdlog::warn("Can't rewrite append only file in background: {}", *error);
    l.lock();
    last_rewrite_ok_ = false;
    ++consecutive_failures_;
    // An AOF turned on at run time has no base yet: the cron tries again (Redis keeps
    // aof_rewrite_scheduled set until a fork succeeds).
    if (first_rewrite_pending_) rewrite_scheduled_ = true;
    return RewriteStart::kFailed;
  }
  {
    std::lock_guard l(manifest_mu_);
    rewrite_scheduled_ = false;  // this one is it (Redis clears aof_rewrite_scheduled too)
  }
  spdlog::info("Background append only file rewriting started by pid {}", child_.pid());
  return RewriteStart::kStarted;
}

void AppendOnlyFile::SwitchIncrAtFork() {
  // Every shard is locked: no command is between its change and its Append.
  std::unique_lock l(mu_);
  cv_.wait(l, [this] { return !writing_; });
  // Everything appended before the fork belongs to the old increment: the new base will
  // contain its effects, so none of it may land in the new increment.
  const bool sync = static_cast<Fsync>(fsync_.load()) != Fsync::kNo;
  const bool flushed =
      (buf_.empty() && (!sync || synced_.load() >= written_.load())) || WriteBufferLocked(l, sync);
  std::lock_guard ml(manifest_mu_);
  rewrite_started_ms_ = NowMs();
  incr_seq_at_fork_ = 0;
  // Not flushed, or turned off meanwhile: the rewrite will be discarded (incr_seq_at_fork_ 0).
  if (!flushed || retired()) return;
  if (sync) synced_.store(written_.load());
  int64_t seq = seq_floor_ + 1;
  if (!manifest_.incrs.empty()) seq = std::max(seq, manifest_.incrs.back().seq + 1);
  std::shared_ptr<File> next;
  std::string error;
  aof::Manifest manifest = manifest_;
  manifest.incrs.push_back({aof::IncrName(appendfilename_, seq), seq, 'i'});
  // Before the first rewrite completes, the manifest on disk stays the one found there: the
  // new increment is listed only with the base this fork's child writes.
  if (!OpenIncr(seq, /*fresh=*/true, &next, &error) ||
      (!first_rewrite_pending_ && !WriteManifest(manifest, &error))) {
    spdlog::warn("AOF rewrite: cannot start the next increment file: {}", error);
    if (next) ::unlink(PathOf(manifest.incrs.back().name).c_str());
    return;
  }
  manifest_ = std::move(manifest);
  file_ = std::move(next);
  selected_db_ = -1;
  incr_seq_at_fork_ = seq;
  // Turned on at run time: from this point, with every shard locked, each change goes to the
  // new increment; the child's snapshot holds every earlier one.
  if (first_rewrite_pending_) server_.set_command_log(this);
}

void AppendOnlyFile::RewriteDone(bool ok, int64_t new_base_seq, const std::string& new_base_name,
                                 const std::string& temp_path) {
  std::lock_guard l(manifest_mu_);
  const int64_t first_incr = incr_seq_at_fork_;
  incr_seq_at_fork_ = 0;
  if (rewrite_started_ms_ >= 0) last_rewrite_time_sec_ = (NowMs() - rewrite_started_ms_) / 1000;
  rewrite_started_ms_ = -1;
  if (retired()) {
    // Turned off while the child ran (a finished child not yet reaped when Retire killed it):
    // the manifest on disk stays as the AOF left it.
    spdlog::info("Background AOF rewrite discarded: the AOF was turned off");
    ::unlink(temp_path.c_str());
    return;
  }
  auto fail = [&](const std::string& why) {
    spdlog::warn("Background AOF rewrite failed: {}", why);
    ::unlink(temp_path.c_str());
    last_rewrite_ok_ = false;
    ++consecutive_failures_;
    // Turned on at run time, the AOF has no base until a rewrite succeeds (Redis schedules
    // another one while in AOF_WAIT_REWRITE).
    if (first_rewrite_pending_) rewrite_scheduled_ = true;
  };
  if (!ok) return fail("the child did not finish (killed, or an error writing the base)");
  if (first_incr == 0) return fail("the increment file could not be switched at the fork");
  std::string error;
  const std::string base_path = PathOf(new_base_name);
  if (::rename(temp_path.c_str(), base_path.c_str()) != 0 || !aof_files::FsyncDir(dir_, &error)) {
    return fail("cannot rename the new base into place: " +
                (error.empty() ? std::string(std::strerror(errno)) : error));
  }
  aof::Manifest next;
  next.base = aof::ManifestFile{new_base_name, new_base_seq, 'b'};
  // History files are kept files of an earlier rewrite: no longer counted in current_size_.
  std::vector<aof::ManifestFile> obsolete = manifest_.history;
  const size_t history_files = obsolete.size();
  if (manifest_.base && manifest_.base->name != new_base_name) obsolete.push_back(*manifest_.base);
  for (const auto& f : manifest_.incrs) {
    (f.seq >= first_incr ? next.incrs : obsolete).push_back(f);
  }
  // The old base and increments leave the count now, whether deleted or kept as history. (The
  // files of a manifest found at a run-time start were never counted: only our increments.)
  uint64_t removed = 0;
  for (size_t i = history_files; i < obsolete.size(); ++i) {
    if (first_rewrite_pending_ && obsolete[i].seq <= seq_floor_) continue;
    removed += aof_files::FileSize(PathOf(obsolete[i].name));
  }
  bool renamed = false;
  if (!WriteManifest(next, &error, &renamed)) {
    if (!renamed) {
      ::unlink(base_path.c_str());
      return fail("cannot write the manifest: " + error);
    }
    // The new manifest is in place and is what a restart reads now, but a crash could still
    // bring back the old one: keep every file that one lists, as history files the next
    // rewrite deletes (Redis' 'h' entries).
    spdlog::warn("AOF rewrite: {}; the previous files are kept until the next rewrite", error);
    // (Files of an older history are listed by neither manifest: they go now.)
    next.history.assign(obsolete.begin() + static_cast<std::ptrdiff_t>(history_files),
                        obsolete.end());
    obsolete.resize(history_files);
    // Best effort: list them on disk too, so that a restart before the next rewrite still
    // knows to delete them.
    std::string again;
    if (!WriteManifest(next, &again)) spdlog::warn("AOF rewrite: {}", again);
  }
  manifest_ = std::move(next);
  first_rewrite_pending_ = false;
  for (const auto& f : obsolete) ::unlink(PathOf(f.name).c_str());
  const uint64_t base_bytes = aof_files::FileSize(base_path);
  current_size_.fetch_add(base_bytes, std::memory_order_relaxed);
  current_size_.fetch_sub(std::min(removed, current_size_.load()), std::memory_order_relaxed);
  base_size_ = current_size_.load();
  ++rewrites_;
  last_rewrite_ok_ = true;
  consecutive_failures_ = 0;
  spdlog::info("Background AOF rewrite finished successfully: base {}", new_base_name);
}

aof::Manifest AppendOnlyFile::manifest() const {
  std::lock_guard l(manifest_mu_);
  return manifest_;
}

void AppendOnlyFile::AppendInfo(std::string* out) const {
  auto line = [out](std::string_view name, const std::string& value) {
    InfoLine(out, name, value);
  };
  const bool rewriting = child_.running() == BackgroundChild::Kind::kAof;
  size_t buffered;
  bool write_ok;
  {
    std::lock_guard l(mu_);
    buffered = buf_.size();
    write_ok = write_error_.empty();
  }
  std::lock_guard l(manifest_mu_);
  line("aof_enabled", retired() ? "0" : "1");
  line("aof_rewrite_in_progress", rewriting ? "1" : "0");
  line("aof_rewrite_scheduled", rewrite_scheduled_ ? "1" : "0");
  line("aof_last_rewrite_time_sec", std::to_string(last_rewrite_time_sec_));
  line("aof_current_rewrite_time_sec",
       std::to_string(rewriting && rewrite_started_ms_ >= 0 ? (NowMs() - rewrite_started_ms_) / 1000
                                                            : -1));
  line("aof_last_bgrewrite_status", last_rewrite_ok_ ? "ok" : "err");
  line("aof_rewrites", std::to_string(rewrites_));
  line("aof_last_write_status", write_ok ? "ok" : "err");
  line("aof_current_size", std::to_string(current_size_.load()));
  line("aof_base_size", std::to_string(base_size_.load()));
  line("aof_buffer_length", std::to_string(buffered));
}

}  // namespace rowcached::server
