// The append-only file's on-disk formats, shared by the server (aof.h) and the repair tool
// (app/check_aof.cc): commands in RESP multi-bulk form, and Redis 7.0's multi-part manifest.
//
// A Redis 7.0 AOF is a directory `<dir>/<appenddirname>/` holding one base file (an RDB file,
// "<appendfilename>.<seq>.base.rdb", or commands, ".base.aof"), increment files of commands
// ("<appendfilename>.<seq>.incr.aof", appended to in order) and the manifest
// "<appendfilename>.manifest" listing them:
//   file appendonly.aof.1.base.rdb seq 1 type b
//   file appendonly.aof.1.incr.aof seq 1 type i
// ('h' marks history files a rewrite left behind; they are not loaded).
//
// Thread-safety: free functions on caller-owned data.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rowcached::server::aof {

// Appends `args` as "*<n>\r\n$<len>\r\n<arg>\r\n..." to `out`.
void AppendCommand(std::string* out, const std::vector<std::string_view>& args);
// Appends "SELECT <db>".
void AppendSelect(std::string* out, int db);

// True when command name `arg` is `name` (lower case) in any case.
bool IsCommand(std::string_view arg, std::string_view name);

enum class ParseStatus { kCommand, kEnd, kTruncated, kCorrupt };

// Parses the command starting at data[*pos]. kCommand: `*args` views into `data` and `*pos` is
// past the command. kEnd: *pos == data.size(). kTruncated: the data ends inside the command.
// kCorrupt: the bytes are not a command; `*error` says what (Redis' wording where it has one).
ParseStatus ParseCommand(std::string_view data, size_t* pos, std::vector<std::string_view>* args,
                         std::string* error);

// The result of reading a whole file of commands.
struct ScanResult {
  enum Status { kOk, kTruncated, kCorrupt, kStopped } status = kOk;
  // Every byte before this offset is whole commands (and complete MULTI...EXEC blocks): the
  // point to truncate to.
  size_t valid_up_to = 0;
  // Where the fault is (kCorrupt: the bad byte's command; kTruncated: the cut command or the
  // unterminated MULTI).
  size_t error_offset = 0;
  std::string error;
};

// Calls `on_command(args, offset)` for each command of `data` in order, MULTI and EXEC
// included; a false return stops the scan (kStopped). A file ending inside a command or inside
// a MULTI with no EXEC is kTruncated, with valid_up_to before the cut command or the MULTI.
ScanResult ScanCommands(std::string_view data,
                        const std::function<bool(const std::vector<std::string_view>& args,
                                                 size_t offset)>& on_command);

// 1-based line number of `offset` in `data`, as redis-check-aof counts ("ok_up_to_line").
size_t LineOf(std::string_view data, size_t offset);

struct ManifestFile {
  std::string name;
  int64_t seq = 0;
  char type = 'i';  // 'b' base, 'h' history, 'i' increment
};

struct Manifest {
  std::optional<ManifestFile> base;
  std::vector<ManifestFile> history;
  std::vector<ManifestFile> incrs;  // in seq order: the order they are replayed

  // Redis 7.0's text: base first, then history, then increments, one "file ... seq ... type"
  // line each.
  std::string Render() const;
  // Parses a manifest (comment lines starting with '#' and blank lines are skipped). False
  // with `*error` on a malformed line or more than one base.
  static bool Parse(std::string_view text, Manifest* out, std::string* error);
};

// File names of the parts, as Redis 7.0 names them.
std::string ManifestName(std::string_view appendfilename);
std::string BaseName(std::string_view appendfilename, int64_t seq, bool rdb);
std::string IncrName(std::string_view appendfilename, int64_t seq);

}  // namespace rowcached::server::aof
