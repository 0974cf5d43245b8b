// File-system steps of the append-only file: crash-safe replacement (temp file, fsync, rename,
// fsync the directory), whole writes, sizes. Used by aof.cc, the loader and the repair tool.
//
// Thread-safety: free functions; each touches only the paths it is given. WriteFileUnder is
// safe in a forked child (no locks, no logging).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/aof_format.h"

namespace rowcached::server::aof_files {

using WriteFn = std::function<bool(int fd, std::string* error)>;

// Writes all of `data` to `fd`, retrying short writes and EINTR.
bool WriteAll(int fd, std::string_view data, std::string* error);
// Creates `path` and its missing parents.
bool MakeDirs(const std::string& path, std::string* error);
bool FsyncDir(const std::string& dir, std::string* error);
// Fault injection for tests: while a fault is set, FsyncDir fails (as an EIO from the file
// system would) for each directory it returns true for. nullptr removes it.
using FsyncDirFault = bool (*)(const std::string& dir);
void SetFsyncDirFaultForTesting(FsyncDirFault fault);
// The size of `path`, 0 when it does not exist.
uint64_t FileSize(const std::string& path);
// The names of the files in `dir` starting with `prefix` (none when `dir` cannot be read).
std::vector<std::string> FilesWithPrefix(const std::string& dir, std::string_view prefix);
// Reads the whole file.
bool ReadFile(const std::string& path, std::string* out, std::string* error);

// Creates or truncates `path`, lets `write` fill it, fsyncs and closes it.
bool WriteFileUnder(const std::string& path, const WriteFn& write, std::string* error);
// Replaces `path` crash-safely: writes "temp-<name>" beside it, fsyncs, renames over `path`,
// fsyncs the directory. A crash at any point leaves the old `path` or the new one, whole.
// `*renamed` (when given) tells a failure after the rename, when `path` already is the new file
// but its directory entry may not be on disk: a crash could still bring back the old one.
bool WriteFileDurably(const std::string& path, const WriteFn& write, std::string* error,
                      bool* renamed = nullptr);

// Reads and parses the manifest at `path`. A missing file: true with *exists false.
bool ReadManifest(const std::string& path, aof::Manifest* out, bool* exists, std::string* error);

}  // namespace rowcached::server::aof_files
