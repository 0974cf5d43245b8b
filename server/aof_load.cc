// Loading the append-only file at start-up, and writing a rewrite's base as commands.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "server/aof.h"
#include "server/aof_files.h"
#include "server/dispatch.h"
#include "server/hash_object.h"
#include "server/list_object.h"
#include "server/reply.h"
#include "server/set_object.h"
#include "server/zset_object.h"

namespace rowcached::server {

namespace {

std::string AofDir(const Options& o) { return o.dir + "/" + o.appenddirname; }

std::string FixHint(const std::string& path) {
  return "; make a backup of it, then run rowcached-check-aof --fix " + path;
}

// Replays one file of commands. MULTI ... EXEC is held back and applied whole at its EXEC.
class Replayer {
 public:
  Replayer(ServerContext& server, AofLoadResult* result)
      : server_(server), result_(result), reply_(&sink_) {
    client_.authenticated = true;
    client_.addr = "aof-loading";
  }

  bool ReplayFile(const std::string& path, bool last, bool load_truncated, std::string* error) {
    std::string data;
    if (!aof_files::ReadFile(path, &data, error)) return false;
    std::string stop_error;
    aof::ScanResult scan = aof::ScanCommands(data, [&](const std::vector<std::string_view>& args,
                                                       size_t) { return Run(args, &stop_error); });
    queued_.clear();  // an unterminated MULTI is dropped with the rest of a truncated tail
    in_multi_ = false;
    ++result_->files_loaded;
    switch (scan.status) {
      case aof::ScanResult::kOk:
        return true;
      case aof::ScanResult::kStopped:
        *error = stop_error + " at offset " + std::to_string(scan.error_offset) + " of " + path;
        return false;
      case aof::ScanResult::kTruncated:
        if (!last) {
          *error = "The AOF file " + path + " is truncated at offset " +
                   std::to_string(scan.error_offset) + " but is not the last file of the AOF" +
                   FixHint(path);
          return false;
        }
        if (!load_truncated) {
          *error = "Unexpected end of file reading the append only file " + path + " at offset " +
                   std::to_string(scan.error_offset) + " (" + scan.error +
                   "). You can: 1) make a backup of your AOF file, then use "
                   "rowcached-check-aof --fix " +
                   path +
                   ". 2) Alternatively you can set the 'aof-load-truncated' configuration "
                   "option to yes and restart the server.";
          return false;
        }
        spdlog::warn(
            "!!! Warning: short read while loading the AOF file {}!!! ({} at offset {}; {} "
            "bytes dropped) AOF loaded anyway because aof-load-truncated is enabled",
            path, scan.error, scan.error_offset, data.size() - scan.valid_up_to);
        if (::truncate(path.c_str(), static_cast<off_t>(scan.valid_up_to)) != 0) {
          *error =
              "cannot truncate " + path + " after its last valid command: " + std::strerror(errno);
          return false;
        }
        result_->truncated_dropped = true;
        return true;
      case aof::ScanResult::kCorrupt:
        break;
    }
    *error = "Bad file format reading the append only file " + path + " at offset " +
             std::to_string(scan.error_offset) + " (" + scan.error + ")" + FixHint(path);
    return false;
  }

 private:
  bool Run(const std::vector<std::string_view>& args, std::string* error) {
    ++result_->commands;
    if (server_.registry().Find(args[0]) == nullptr) {
      *error = "Unknown command '" + std::string(args[0].substr(0, 128)) +
               "' reading the append only file";
      return false;
    }
    if (aof::IsCommand(args[0], "multi")) {
      in_multi_ = true;
      queued_.clear();
      return true;
    }
    if (aof::IsCommand(args[0], "exec")) {
      in_multi_ = false;
      for (const auto& command : queued_) {
        Execute(std::vector<std::string_view>(command.begin(), command.end()));
      }
      queued_.clear();
      return true;
    }
    if (in_multi_) {
      queued_.emplace_back(args.begin(), args.end());
      return true;
    }
    Execute(args);
    return true;
  }

  void Execute(const std::vector<std::string_view>& args) {
    // Replies (and the errors of commands that failed when first run too) are discarded.
    ExecuteQueued(server_, client_, args, reply_);
    if (sink_.size() > 1024 * 1024) sink_.clear();
  }

  ServerContext& server_;
  AofLoadResult* result_;
  ClientState client_;
  std::string sink_;
  ReplyBuilder reply_;
  bool in_multi_ = false;
  std::vector<std::vector<std::string>> queued_;
};

// Detaches the server's command log while loading, so replayed commands are not appended.
class DetachedLog {
 public:
  explicit DetachedLog(ServerContext& server) : server_(server), log_(server.command_log()) {
    server_.set_command_log(nullptr);
  }
  ~DetachedLog() { server_.set_command_log(log_); }

 private:
  ServerContext& server_;
  CommandLog* log_;
};

// Nothing expires while the AOF replays (Keyspace::set_loading): a key whose TTL passed while
// the server was down may still be made persistent by a later command of the file.
class LoadingKeyspace {
 public:
  explicit LoadingKeyspace(Keyspace& ks) : ks_(ks) { ks_.set_loading(true); }
  ~LoadingKeyspace() { ks_.set_loading(false); }
  LoadingKeyspace(const LoadingKeyspace&) = delete;
  LoadingKeyspace& operator=(const LoadingKeyspace&) = delete;

 private:
  Keyspace& ks_;
};

}  // namespace

bool AppendOnlyFileExists(const Options& options) {
  const std::string path = AofDir(options) + "/" + aof::ManifestName(options.appendfilename);
  return ::access(path.c_str(), F_OK) == 0;
}

bool LoadAppendOnlyFile(ServerContext& server, const Options& options, std::string* error,
                        AofLoadResult* result) {
  AofLoadResult local;
  if (result == nullptr) result = &local;
  *result = AofLoadResult();
  const std::string dir = AofDir(options);
  const std::string manifest_path = dir + "/" + aof::ManifestName(options.appendfilename);
  aof::Manifest manifest;
  bool exists = false;
  if (!aof_files::ReadManifest(manifest_path, &manifest, &exists, error)) return false;
  if (!exists) {
    std::vector<std::string> stray = aof_files::FilesWithPrefix(dir, options.appendfilename);
    if (!stray.empty()) {
      *error = "the AOF directory " + dir + " holds " + stray.front() + " but no manifest " +
               manifest_path + ": restore the manifest (or move the files away) before starting";
      return false;
    }
    return true;
  }
  result->found = true;
  DetachedLog detached(server);
  LoadingKeyspace loading(server.keyspace());
  Replayer replayer(server, result);
  const bool truncated_ok = options.aof_load_truncated;
  if (manifest.base) {
    const std::string path = dir + "/" + manifest.base->name;
    std::string head;
    if (::access(path.c_str(), R_OK) != 0) {
      *error = "The AOF base file " + path + " listed in " + manifest_path + " is missing";
      return false;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char magic[5] = {};
    ssize_t n = fd >= 0 ? ::read(fd, magic, sizeof(magic)) : -1;
    if (fd >= 0) ::close(fd);
    if (n == 5 && std::string_view(magic, 5) == "REDIS") {
      RdbLoadResult rdb;
      if (!LoadRdbFile(server.keyspace(), path, &rdb, error)) {
        *error = "cannot load the AOF base " + path + ": " + *error;
        return false;
      }
      result->base_keys = rdb.keys_loaded;
      ++result->files_loaded;
    } else if (!replayer.ReplayFile(path, manifest.incrs.empty(), truncated_ok, error)) {
      return false;
    }
  }
  for (size_t i = 0; i < manifest.incrs.size(); ++i) {
    const std::string path = dir + "/" + manifest.incrs[i].name;
    if (::access(path.c_str(), R_OK) != 0) {
      *error = "The AOF file " + path + " listed in " + manifest_path + " is missing";
      return false;
    }
    if (!replayer.ReplayFile(path, i + 1 == manifest.incrs.size(), truncated_ok, error)) {
      return false;
    }
  }
  return true;
}

namespace {

// Redis' AOF_REWRITE_ITEMS_PER_CMD: variadic commands of a rewrite carry at most this many
// elements each.
constexpr size_t kItemsPerCommand = 64;

// Collects one key's elements into commands of at most kItemsPerCommand items.
class BatchedCommand {
 public:
  BatchedCommand(std::string* out, std::string_view name, std::string_view key)
      : out_(out), name_(name), key_(key) {}
  ~BatchedCommand() { Emit(); }
  void Add(std::string_view a) {
    storage_.emplace_back(a);
    if (++items_ == kItemsPerCommand) Emit();
  }
  void Add(std::string_view a, std::string_view b) {
    storage_.emplace_back(a);
    storage_.emplace_back(b);
    if (++items_ == kItemsPerCommand) Emit();
  }

 private:
  void Emit() {
    if (items_ == 0) return;
    std::vector<std::string_view> args{name_, key_};
    for (const auto& s : storage_) args.push_back(s);
    aof::AppendCommand(out_, args);
    storage_.clear();
    items_ = 0;
  }
  std::string* out_;
  std::string_view name_;
  std::string_view key_;
  std::vector<std::string> storage_;
  size_t items_ = 0;
};

void AppendKey(std::string* out, const Entry& e, const RdbSaveOptions& options) {
  const std::string_view key = e.key();
  switch (e.type()) {
    case ValueType::kString:
      aof::AppendCommand(out, {"SET", key, e.str()});
      break;
    case ValueType::kList: {
      const auto* list = static_cast<const ListObject*>(e.object());
      BatchedCommand cmd(out, "RPUSH", key);
      for (size_t i = 0; i < list->size(); ++i) cmd.Add(list->at(i));
      break;
    }
    case ValueType::kSet: {
      BatchedCommand cmd(out, "SADD", key);
      static_cast<const SetObject*>(e.object())->ForEach([&](const SetMember& m) {
        cmd.Add(m.view());
      });
      break;
    }
    case ValueType::kZSet: {
      BatchedCommand cmd(out, "ZADD", key);
      const auto* zset = static_cast<const ZSetObject*>(e.object());
      for (const auto* n = zset->First(); n != nullptr; n = n->next()) {
        cmd.Add(FormatDouble(n->score()), n->member());
      }
      break;
    }
    case ValueType::kHash: {
      BatchedCommand cmd(out, "HSET", key);
      static_cast<const HashObject*>(e.object())
          ->ForEach([&](std::string_view f, std::string_view v) { cmd.Add(f, v); });
      break;
    }
    case ValueType::kRow: {
      if (!options.row_fields) break;
      std::vector<std::pair<std::string, std::string>> fields;
      options.row_fields(e, &fields);
      BatchedCommand cmd(out, "HSET", key);
      for (const auto& [f, v] : fields) cmd.Add(f, v);
      break;
    }
    case ValueType::kStream:
    case ValueType::kBloom:
      break;  // not written (rdb.h does the same)
  }
}

}  // namespace

bool WriteAofBase(Keyspace& ks, int fd, const RdbSaveOptions& options, std::string* error) {
  const int64_t now = ks.clock().NowMs();
  std::string out;
  bool ok = true;
  for (int db = 0; db < ks.databases() && ok; ++db) {
    bool selected = false;
    for (size_t s = 0; s < Keyspace::kShards && ok; ++s) {
      const Table& table = ks.shard(s).dbs[db];
      table.ForEach([&](Entry* e) {
        if (!ok) return;
        const int64_t expire_at = table.ExpireAt(e);
        if (expire_at >= 0 && expire_at <= now) return;  // expired: as Redis' rewrite skips it
        if (e->type() == ValueType::kStream || e->type() == ValueType::kBloom ||
            (e->type() == ValueType::kRow && !options.row_fields)) {
          return;
        }
        if (!selected) {
          aof::AppendSelect(&out, db);
          selected = true;
        }
        AppendKey(&out, *e, options);
        if (expire_at >= 0) {
          aof::AppendCommand(&out, {"PEXPIREAT", e->key(), std::to_string(expire_at)});
        }
        if (out.size() >= 64 * 1024) {
          ok = aof_files::WriteAll(fd, out, error);
          out.clear();
        }
      });
    }
  }
  return ok && aof_files::WriteAll(fd, out, error);
}

}  // namespace rowcached::server
