// Key-local operations of the HyperLogLog commands (PFADD, PFCOUNT, PFMERGE), apart from their
// parsing and replies (hyperloglog_family.cc). The representation is hyperloglog.h's.
//
// Thread-safety: none of their own. Every function REQUIRES the caller to hold the shard lock of
// each key it passes (the dispatcher does for commands).
//
// Errors: kWrongType for a key of another type, kInvalidHll for a string that is not a
// HyperLogLog, kCorruptHll for one whose sparse opcodes are damaged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "server/keyspace.h"
#include "server/status.h"
#include "server/string_ops.h"

namespace rowcached::server {

// PFADD: adds the elements, creating the key when absent. True when the key was created or a
// register changed (the cached estimate is then stale).
OpResult<bool> OpPfAdd(Db& db, std::string_view key, const std::vector<std::string_view>& elements,
                       size_t sparse_max_bytes);

struct PfCountOutcome {
  uint64_t count = 0;
  bool cache_updated = false;  // one key: the estimate was computed and stored in its header
};

// PFCOUNT: one key's estimate (cached in the value), or the estimate of the union of several
// keys (computed on the fly; nothing is stored). Absent keys count as empty. REQUIRES: keys is
// not empty.
OpResult<PfCountOutcome> OpPfCount(Db& db, const std::vector<std::string_view>& keys);

// PFMERGE: `dest` becomes the union of itself and the sources (created when absent), dense when
// any input is dense. The value is true on success.
OpResult<bool> OpPfMerge(Db& db, std::string_view dest,
                         const std::vector<std::string_view>& sources, size_t sparse_max_bytes);

}  // namespace rowcached::server
