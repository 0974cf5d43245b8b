#include "server/persistence.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <system_error>

#include "server/aof.h"
#include "server/info.h"
#include "server/server_context.h"

namespace rowcached::server {
namespace {

// Redis' CONFIG_BGSAVE_RETRY_DELAY: after a failed BGSAVE, scheduled saves wait this long.
constexpr int64_t kBackgroundSaveRetryDelaySeconds = 5;

std::string TempPathOf(const std::string& path, pid_t pid) {
  return path + ".tmp-" + std::to_string(pid);
}

struct SaveRule {
  int64_t seconds = 0;
  int64_t changes = 0;
};

std::vector<SaveRule> ParseSaveRules(const std::vector<std::string>& rules) {
  std::vector<SaveRule> out;
  for (const auto& r : rules) {
    std::istringstream in(r);
    SaveRule rule;
    if (in >> rule.seconds >> rule.changes) out.push_back(rule);
  }
  return out;
}

}  // namespace

Persistence::Persistence(ServerContext& server)
    : server_(server), lastsave_s_(server.clock().NowMs() / 1000) {}

Persistence::~Persistence() {
  // A child still running is killed while what its on_done refers to (this object, the AOFs)
  // is alive.
  child_.Kill();
}

std::shared_ptr<AppendOnlyFile> Persistence::aof() const {
  std::lock_guard l(aof_mu_);
  return aof_;
}

void Persistence::UseAppendOnlyFile(std::shared_ptr<AppendOnlyFile> aof) {
  server_.set_command_log(aof.get());
  std::lock_guard l(aof_mu_);
  aof_ = std::move(aof);
}

bool Persistence::WritingInitialAof() const {
  std::shared_ptr<AppendOnlyFile> aof = this->aof();
  return aof && aof->WritingInitialBase();
}

// Redis' reply when the AOF cannot be turned on; the reason goes to the log.
constexpr const char* kCannotTurnOnAof = "Unable to turn on AOF. Check server logs.";

bool Persistence::SetAppendOnly(bool on, std::string* error) {
  std::shared_ptr<AppendOnlyFile> aof;
  {
    // One switch at a time: a `yes` must not open files while a `no` still retires the AOF
    // whose increments it would reuse, and `appendonly` must end up saying what is so.
    std::lock_guard s(switch_mu_);
    if (!on) {
      StopAppendOnlyLocked();
      return true;
    }
    if (this->aof()) return true;  // already on
    aof = OpenAppendOnlyLocked(error);
    if (!aof) return false;
  }
  // Outside switch_mu_: forking takes every shard lock, and a CONFIG SET inside EXEC holds them
  // while it waits for switch_mu_.
  std::string why;
  const AppendOnlyFile::RewriteStart start = aof->StartRewrite(&why);
  if (start == AppendOnlyFile::RewriteStart::kScheduled) {
    spdlog::warn(
        "AOF was enabled but there is already another background operation. An AOF background "
        "was scheduled to start when possible.");
  }
  if (start != AppendOnlyFile::RewriteStart::kFailed) return true;
  std::lock_guard s(switch_mu_);
  // Turned off by another client since switch_mu_ was released: this `yes` took effect first.
  if (aof->retired()) return true;
  spdlog::warn("cannot turn on the AOF: its first rewrite could not start: {}", why);
  StopAppendOnlyLocked();
  *error = kCannotTurnOnAof;
  return false;
}

std::shared_ptr<AppendOnlyFile> Persistence::OpenAppendOnlyLocked(std::string* error) {
  std::string why;
  std::shared_ptr<AppendOnlyFile> aof =
      AppendOnlyFile::OpenAtRunTime(server_, child_, &why, SaveOptions());
  if (!aof) {
    spdlog::warn("cannot turn on the AOF: {}", why);
    *error = kCannotTurnOnAof;
    return nullptr;
  }
  {
    std::lock_guard l(aof_mu_);
    aof_ = aof;
  }
  server_.UpdateOptions([](Options& o) { o.appendonly = true; });
  return aof;
}

void Persistence::StopAppendOnlyLocked() {
  server_.UpdateOptions([](Options& o) { o.appendonly = false; });
  std::shared_ptr<AppendOnlyFile> aof = this->aof();
  if (!aof) return;
  // Still the AOF in use while it retires: a concurrent `yes` waits on switch_mu_, and readers
  // (cron, INFO) find it turned off.
  aof->Retire();
  std::lock_guard l(aof_mu_);
  aof_.reset();
  retired_aofs_.push_back(std::move(aof));
}

std::string Persistence::rdb_path() const {
  Options o = server_.options();
  return (std::filesystem::path(o.dir) / o.dbfilename).string();
}

void Persistence::set_row_fields(decltype(RdbSaveOptions::row_fields) fn) {
  std::lock_guard l(mu_);
  row_fields_ = std::move(fn);
}

RdbSaveOptions Persistence::SaveOptions() const {
  RdbSaveOptions opts;
  opts.compress = server_.options().rdbcompression;
  std::lock_guard l(mu_);
  opts.row_fields = row_fields_;
  return opts;
}

bool Persistence::Load(std::string* error) {
  Options o = server_.options();
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) {
    *error = "cannot create the persistence directory " + o.dir + ": " + ec.message();
    return false;
  }
  int64_t started = server_.clock().NowMs();
  auto seconds = [&] { return static_cast<double>(server_.clock().NowMs() - started) / 1000.0; };
  std::string path = rdb_path();
  if (o.appendonly && AppendOnlyFileExists(o)) {
    AofLoadResult result;
    if (!LoadAppendOnlyFile(server_, o, error, &result)) return false;
    spdlog::info("DB loaded from append only file: {:.3f} seconds ({} files, {} commands)",
                 seconds(), result.files_loaded, result.commands);
  } else if (std::filesystem::exists(path, ec)) {
    RdbLoadResult result;
    if (!LoadRdbFile(server_.keyspace(), path, &result, error)) return false;
    {
      std::lock_guard l(mu_);
      last_load_keys_loaded_ = result.keys_loaded;
      last_load_keys_expired_ = result.expired_skipped;
    }
    spdlog::info("DB loaded from {}: {} keys ({} expired skipped) in {:.3f} seconds", path,
                 result.keys_loaded, result.expired_skipped, seconds());
  } else {
    spdlog::info("no saved data in {}: starting empty", o.dir);
  }
  // Replayed commands are not the clients' commands, nor changes still to save.
  server_.stats().total_commands_processed.Reset();
  {
    std::lock_guard l(mu_);
    dirty_at_last_save_ = server_.dirty();
  }
  if (o.appendonly) {
    std::shared_ptr<AppendOnlyFile> aof =
        AppendOnlyFile::Open(server_, child_, error, SaveOptions());
    if (!aof) return false;
    UseAppendOnlyFile(std::move(aof));
  }
  return true;
}

void Persistence::SaveSucceeded(uint64_t dirty_at_start) {
  std::lock_guard l(mu_);
  lastsave_s_ = server_.clock().NowMs() / 1000;
  dirty_at_last_save_ = dirty_at_start;
  ++rdb_saves_;
}

bool Persistence::Save(std::string* error) {
  if (child_.running() == BackgroundChild::Kind::kRdb) {
    *error = "Background save already in progress";
    return false;
  }
  uint64_t dirty = server_.dirty();
  std::string path = rdb_path();
  if (!SaveRdbFile(server_.keyspace(), path, SaveOptions(), error)) {
    spdlog::error("error saving the snapshot {}: {}", path, *error);
    return false;
  }
  SaveSucceeded(dirty);
  spdlog::info("DB saved on disk");
  return true;
}

Persistence::BackgroundResult Persistence::BackgroundSave(bool schedule, std::string* error) {
  BackgroundChild::Kind running = child_.running();
  if (running == BackgroundChild::Kind::kRdb) return BackgroundResult::kInProgress;
  if (running != BackgroundChild::Kind::kNone || ShardLocks::HeldByThisThread()) {
    if (!schedule && running != BackgroundChild::Kind::kNone) return BackgroundResult::kInProgress;
    std::lock_guard l(mu_);
    bgsave_scheduled_ = true;
    return BackgroundResult::kScheduled;
  }
  // Everything the child needs is captured here: it must not read the live configuration.
  const std::string path = rdb_path();
  const RdbSaveOptions options = SaveOptions();
  Keyspace* ks = &server_.keyspace();
  const uint64_t dirty = server_.dirty();
  const int64_t started = server_.clock().NowMs();
  auto work = [ks, path, options] {
    std::string child_error;
    return SaveRdbFile(*ks, path, options, &child_error) ? 0 : 1;
  };
  {
    std::lock_guard l(mu_);
    last_bgsave_try_s_ = started / 1000;
    bgsave_started_ms_ = started;
    bgsave_scheduled_ = false;
  }
  // The child's pid names its temporary file.
  auto done = [this, dirty, started](bool ok, pid_t pid) {
    BackgroundSaveDone(ok, pid, dirty, started);
  };
  if (!child_.Start(*ks, BackgroundChild::Kind::kRdb, nullptr, work, done, error)) {
    std::lock_guard l(mu_);
    bgsave_started_ms_ = -1;
    if (child_.running() != BackgroundChild::Kind::kNone) return BackgroundResult::kInProgress;
    last_bgsave_ok_ = false;
    spdlog::error("cannot start a background save: {}", *error);
    return BackgroundResult::kFailed;
  }
  spdlog::info("background saving started by pid {}", child_.pid());
  return BackgroundResult::kStarted;
}

void Persistence::BackgroundSaveDone(bool ok, pid_t pid, uint64_t dirty_at_fork,
                                     int64_t started_ms) {
  int64_t now = server_.clock().NowMs();
  if (ok) {
    SaveSucceeded(dirty_at_fork);
    spdlog::info("background saving terminated with success");
  } else {
    // A killed or failed child leaves at most its temporary file: the snapshot is untouched.
    std::error_code ec;
    std::filesystem::remove(TempPathOf(rdb_path(), pid), ec);
    spdlog::warn("background saving failed");
  }
  std::lock_guard l(mu_);
  last_bgsave_ok_ = ok;
  last_bgsave_time_sec_ = (now - started_ms) / 1000;
  bgsave_started_ms_ = -1;
}

bool Persistence::PrepareShutdown(bool force_save, bool no_save, std::string* error) {
  if (child_.running() != BackgroundChild::Kind::kNone) {
    spdlog::info("there is a child saving an .rdb or rewriting the AOF: killing it");
    child_.Kill();
  }
  {
    std::lock_guard l(mu_);
    shutdown_prepared_ = true;
    shutdown_force_save_ = force_save;
    shutdown_no_save_ = no_save;
  }
  std::shared_ptr<AppendOnlyFile> aof = this->aof();
  if (aof && !aof->Flush(error)) {
    spdlog::error("error writing the append only file at shutdown: {}", *error);
    return false;
  }
  bool rules = !server_.options().save.empty();
  if (no_save || !(rules || force_save)) return true;
  spdlog::info("saving the final RDB snapshot before exiting");
  return Save(error);
}

bool Persistence::FinishShutdown(std::string* error) {
  bool prepared, force_save, no_save, unchanged;
  {
    std::lock_guard l(mu_);
    prepared = shutdown_prepared_;
    force_save = shutdown_force_save_;
    no_save = shutdown_no_save_;
    unchanged = server_.dirty() == dirty_at_last_save_;
  }
  bool ok = true;
  {
    ShardLocks locks;
    locks.LockAll(server_.keyspace());
    if (!prepared || !(no_save || unchanged)) ok = PrepareShutdown(force_save, no_save, error);
    // Taken out of the dispatcher's hands with every shard locked (propagate.h).
    server_.set_command_log(nullptr);
  }
  std::shared_ptr<AppendOnlyFile> aof;
  std::vector<std::shared_ptr<AppendOnlyFile>> retired;
  {
    std::lock_guard l(aof_mu_);
    aof = std::move(aof_);
    aof_.reset();
    retired.swap(retired_aofs_);
  }
  if (aof) {
    std::string aof_error;
    if (!aof->Flush(&aof_error)) {
      ok = false;
      *error = aof_error;
    }
  }
  return ok;
}

void Persistence::Cron() {
  if (std::shared_ptr<AppendOnlyFile> aof = this->aof()) aof->Cron();
  child_.Poll();
  if (child_.running() != BackgroundChild::Kind::kNone) return;
  int64_t now_s = server_.clock().NowMs() / 1000;
  bool start = false;
  {
    std::lock_guard l(mu_);
    if (bgsave_scheduled_) {
      start = true;
    } else {
      uint64_t changes = server_.dirty() - dirty_at_last_save_;
      bool may_retry =
          last_bgsave_ok_ || now_s - last_bgsave_try_s_ > kBackgroundSaveRetryDelaySeconds;
      for (const SaveRule& rule : ParseSaveRules(server_.options().save)) {
        if (changes >= static_cast<uint64_t>(rule.changes) && now_s - lastsave_s_ > rule.seconds &&
            may_retry) {
          spdlog::info("{} changes in {} seconds. Saving...", rule.changes, rule.seconds);
          start = true;
          break;
        }
      }
    }
  }
  if (start) {
    std::string error;
    BackgroundSave(false, &error);
  }
}

int64_t Persistence::lastsave_seconds() const {
  std::lock_guard l(mu_);
  return lastsave_s_;
}

void Persistence::AppendInfo(std::string* out) const {
  std::shared_ptr<AppendOnlyFile> aof = this->aof();
  int64_t now = server_.clock().NowMs();
  std::unique_lock l(mu_);
  bool in_progress = bgsave_started_ms_ >= 0;
  InfoLine(out, "rdb_changes_since_last_save", server_.dirty() - dirty_at_last_save_);
  InfoLine(out, "rdb_bgsave_in_progress", in_progress ? 1 : 0);
  InfoLine(out, "rdb_last_save_time", lastsave_s_);
  InfoLine(out, "rdb_last_bgsave_status", last_bgsave_ok_ ? "ok" : "err");
  InfoLine(out, "rdb_last_bgsave_time_sec", last_bgsave_time_sec_);
  InfoLine(out, "rdb_current_bgsave_time_sec",
           in_progress ? (now - bgsave_started_ms_) / 1000 : int64_t{-1});
  InfoLine(out, "rdb_saves", rdb_saves_);
  InfoLine(out, "rdb_last_load_keys_expired", last_load_keys_expired_);
  InfoLine(out, "rdb_last_load_keys_loaded", last_load_keys_loaded_);
  l.unlock();
  if (aof) {
    aof->AppendInfo(out);
  } else {
    InfoLine(out, "aof_enabled", 0);
    InfoLine(out, "aof_rewrite_in_progress", 0);
    InfoLine(out, "aof_rewrite_scheduled", 0);
    InfoLine(out, "aof_last_rewrite_time_sec", -1);
    InfoLine(out, "aof_current_rewrite_time_sec", -1);
    InfoLine(out, "aof_last_bgrewrite_status", "ok");
    InfoLine(out, "aof_rewrites", 0);
    InfoLine(out, "aof_last_write_status", "ok");
  }
}

}  // namespace rowcached::server
