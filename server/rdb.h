// RDB snapshots in Redis 7.0's file format (RDB version 10), so a dump.rdb moves both ways
// between rowcached and redis-server 7.0.
//
// Writing: every database of a keyspace, with expiries (absolute milliseconds), aux fields
// (redis-ver, redis-bits, ctime, used-mem, aof-base) and the CRC64 trailer. Values are written
// in the generic encodings every Redis 7.0 loads (integer or LZF strings as Redis writes them,
// RDB_TYPE_LIST_QUICKLIST_2 with listpack nodes, RDB_TYPE_SET / SET_INTSET, RDB_TYPE_ZSET_2,
// RDB_TYPE_HASH). Rows cached by the middleware (ValueType::kRow) are written as hashes of their
// columns through RdbSaveOptions::row_fields; BF.* filters (ValueType::kBloom) are not written.
//
// Loading: every encoding redis-server 7.0 writes or still reads (integer and LZF strings,
// ziplist/listpack/intset/zipmap/quicklist forms), expiries in seconds and milliseconds, the
// SELECTDB/RESIZEDB/AUX/IDLE/FREQ opcodes (IDLE and FREQ are read and dropped: loaded keys start
// with a fresh access stamp). The CRC64 is checked (a zero checksum, rdbchecksum no, is not).
// Objects get the encoding redis-server 7.0 would give them after loading (OBJECT ENCODING
// agrees), and RESIZEDB pre-sizes the tables. A truncated or corrupt file, or
// a type rowcached does not have (streams, modules, functions), fails the whole load with a
// message naming the byte offset: the caller stops start-up rather than serve half a dataset.
// Keys already expired are skipped, as a Redis master does.
//
// Thread-safety: WriteRdb reads the keyspace without locking; REQUIRES nothing mutates it
// meanwhile (a forked child, or all shards locked). LoadRdbFile REQUIRES the keyspace is not
// being served (start-up).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/keyspace.h"

namespace rowcached::server {

struct RdbSaveOptions {
  // Compress strings longer than 20 bytes with LZF (Redis' rdbcompression, default yes).
  bool compress = true;
  // "aof-base" aux field: 1 when the file is the base of an append-only file.
  bool aof_base = false;
  // The field/value pairs of a cached row (ValueType::kRow), written as a hash. Unset: rows are
  // not written.
  std::function<void(const Entry& row, std::vector<std::pair<std::string, std::string>>* fields)>
      row_fields;
};

struct RdbLoadResult {
  uint64_t keys_loaded = 0;
  uint64_t expired_skipped = 0;  // keys whose TTL had passed
  int rdb_version = 0;
  std::string redis_ver;  // the writer's "redis-ver" aux field, if any
};

// Writes an RDB file of every database of `ks` to `fd` (open for writing; neither fsynced nor
// closed here). Returns false with `*error` set on a write error.
bool WriteRdb(Keyspace& ks, int fd, const RdbSaveOptions& options, std::string* error);

// Writes `path` crash-safely: into "<path>.tmp-<pid>" in the same directory, fsync, rename over
// `path`, fsync the directory. A crash at any point leaves the previous `path` intact.
bool SaveRdbFile(Keyspace& ks, const std::string& path, const RdbSaveOptions& options,
                 std::string* error);

// Loads `path` into `ks`, which must be empty. On failure returns false with `*error` saying
// what was wrong and at which byte offset, and leaves `ks` empty.
bool LoadRdbFile(Keyspace& ks, const std::string& path, RdbLoadResult* result, std::string* error);
// The same for bytes already in memory (`name` is used in messages).
bool LoadRdbBytes(Keyspace& ks, std::string_view bytes, std::string_view name,
                  RdbLoadResult* result, std::string* error);

}  // namespace rowcached::server
