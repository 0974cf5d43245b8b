// String values changed in place by the bit and HyperLogLog commands (SETBIT, BITFIELD, PFADD,
// PFMERGE, PFCOUNT's cached cardinality). Such values live in a heap StringObject, whose
// std::string grows geometrically, so a run of SETBITs that extends a bitmap costs amortised
// O(1) per byte instead of a copy of the whole value per call (Redis' dbUnshareStringValue +
// sdsgrowzero).
//
// Thread-safety: none of their own; REQUIRES the caller to hold the key's shard lock. A returned
// pointer stays valid while that lock is held and until the key is next replaced or deleted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "server/keyspace.h"

namespace rowcached::server {

// The value of the live string entry `e` of `db`, writable in place. An inline value moves to
// the heap once (the key keeps its TTL). REQUIRES: e was just found in `db`, e->type() is kString.
std::string* WritableString(Db& db, Entry* e);

// Stores `value` under `key` as a writable heap string (replacing any value, clearing any TTL)
// and returns it.
std::string* NewWritableString(Db& db, std::string_view key, std::string value);

}  // namespace rowcached::server
