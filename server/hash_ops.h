// Key-local operations of the hash commands (HSET, HGET, HDEL, HINCRBY, HRANDFIELD, HSCAN, ...),
// apart from their parsing and replies (hash_family.cc). The middleware and tests use them to
// read and write hashes with Redis' semantics without going through RESP.
//
// Thread-safety: none of their own. Every function REQUIRES the caller to hold the shard lock
// of the key it passes (the dispatcher does for commands). A std::string_view returned by an Op
// points into the keyspace: it stays valid only while that lock is held and until the next
// change to the hash.
//
// Common rules: an absent key reads as an empty hash; a key of another type gives kWrongType
// (and nothing changes); a hash whose last field is deleted is removed from the keyspace; a
// write keeps the key's TTL. The read Ops count keyspace hits and misses (Redis'
// lookupKeyRead); the write Ops do not (lookupKeyWrite).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/hash_object.h"
#include "server/keyspace.h"
#include "server/status.h"

namespace rowcached::server {

// A hash Op's outcome: `value` is meaningful only when `status` is kOk.
template <typename T>
struct HashResult {
  Status status = Status::kOk;
  T value{};

  bool ok() const { return status == Status::kOk; }
};

// The hash stored at `key`: nullptr when absent, kWrongType for another type.
HashResult<HashObject*> FindHash(Db& db, std::string_view key, bool count_stats);

// HSET / HMSET: sets each (field, value) pair in order (a repeated field keeps the last value),
// creating the hash. Returns how many fields are new. REQUIRES: field_values.size() is even.
HashResult<int64_t> OpHSet(Db& db, std::string_view key,
                           const std::vector<std::string_view>& field_values);
// HSETNX: sets the field only when absent; true when it did.
HashResult<bool> OpHSetNx(Db& db, std::string_view key, std::string_view field,
                          std::string_view value);

// HGET: the value, nullopt when the key or field is absent.
HashResult<std::optional<std::string_view>> OpHGet(Db& db, std::string_view key,
                                                   std::string_view field);
// HMGET: one slot per field, nullopt where absent.
HashResult<std::vector<std::optional<std::string_view>>> OpHMGet(
    Db& db, std::string_view key, const std::vector<std::string_view>& fields);
// HGETALL / HKEYS / HVALS: every pair, in the hash's iteration order.
HashResult<std::vector<FieldValue>> OpHGetAll(Db& db, std::string_view key);

// HDEL: how many of `fields` were there (a repeated field counts once).
HashResult<int64_t> OpHDel(Db& db, std::string_view key,
                           const std::vector<std::string_view>& fields);
// HEXISTS.
HashResult<bool> OpHExists(Db& db, std::string_view key, std::string_view field);
// HLEN: the number of fields, 0 when absent.
HashResult<int64_t> OpHLen(Db& db, std::string_view key);
// HSTRLEN: the length of the field's value, 0 when absent.
HashResult<int64_t> OpHStrLen(Db& db, std::string_view key, std::string_view field);

// HINCRBY: the new value; an absent field counts as 0. kNotInteger when the stored value is not
// an integer by Redis' strict rules (Redis' text: "hash value is not an integer"), kOverflow
// when the result leaves int64.
HashResult<int64_t> OpHIncrBy(Db& db, std::string_view key, std::string_view field, int64_t delta);
// HINCRBYFLOAT: the new value as stored (Redis' %.17Lf form without trailing zeros); an absent
// field counts as 0. kNotFloat when the stored value is not a float (Redis: "hash value is not
// a float"), kNanOrInfinity when the sum is not finite.
// REQUIRES: `delta` is finite (Redis refuses NaN and infinite increments before the lookup).
HashResult<std::string> OpHIncrByFloat(Db& db, std::string_view key, std::string_view field,
                                       long double delta);

// HRANDFIELD key count: count >= 0 gives min(count, HLEN) distinct fields (the whole hash in its
// iteration order when count >= HLEN, else in random order); count < 0 gives -count fields
// drawn independently (repeats possible). Empty when the key is absent.
// REQUIRES: count > INT64_MIN. Like Redis, nothing bounds -count but the caller.
HashResult<std::vector<FieldValue>> OpHRandField(Db& db, std::string_view key, int64_t count);
// HRANDFIELD key: one random field, nullopt when the key is absent.
HashResult<std::optional<FieldValue>> OpHRandOne(Db& db, std::string_view key);

struct HashScanPage {
  uint64_t cursor = 0;  // next cursor; 0 when the scan is complete
  std::vector<FieldValue> fields;
};
// HSCAN: one step from `cursor` over the hash at `key`. A listpack hash is returned whole with
// cursor 0 (whatever the cursor), as Redis does. For a hashtable, visits buckets until it has
// collected `count` reply items (a field and its value count as two, as in Redis) or visited 10 *
// count buckets; every field present for the whole scan is returned at least once. Fields not
// matching the glob `pattern` are left out (an empty pattern matches everything). Absent key:
// cursor 0, empty. REQUIRES: count >= 1.
HashResult<HashScanPage> OpHScan(Db& db, std::string_view key, uint64_t cursor, size_t count,
                                 std::string_view pattern);
// The same step on a hash already looked up (HSCAN checks its options after the lookup).
HashScanPage ScanHash(const HashObject& hash, uint64_t cursor, size_t count,
                      std::string_view pattern);

}  // namespace rowcached::server
