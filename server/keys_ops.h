// Key-local operations of the generic key commands (DEL, EXPIRE, TTL, RENAME, COPY, MOVE,
// SWAPDB, OBJECT, ...), apart from their parsing and replies (keys_family.cc). Other families and
// the middleware use them to delete, expire and rename keys with Redis' semantics.
//
// Thread-safety: none of their own. Every function REQUIRES the caller to hold the shard lock
// of each key it passes (a shard holds a key in every database, so one lock also covers the
// key's copy in another database for COPY ... DB and MOVE), or all shards where stated.
// Times are milliseconds since the epoch, compared with db.NowMs().
#pragma once

#include <cstdint>
#include <string_view>

#include "server/entry.h"
#include "server/keyspace.h"
#include "server/status.h"

namespace rowcached::server {

// Finds a live key like Db::Find (an expired key is deleted and missed) but leaves its LRU
// clock alone, as Redis' LOOKUP_NOTOUCH: EXISTS, TYPE, TTL and OBJECT must not change what
// OBJECT IDLETIME reports.
Entry* FindNoTouch(Db& db, std::string_view key, bool count_stats);

// DEL / UNLINK of one key. True when a live key was deleted.
bool OpDelete(Db& db, std::string_view key);
// EXISTS of one key (no LRU touch; counts keyspace hits and misses).
bool OpExists(Db& db, std::string_view key);
// TOUCH of one key: true when it exists; refreshes its LRU clock.
bool OpTouch(Db& db, std::string_view key);

// Conditions of EXPIRE ... [NX | XX | GT | LT], as bits.
enum ExpireFlag : unsigned {
  kExpireNx = 1u << 0,  // only when the key has no TTL
  kExpireXx = 1u << 1,  // only when the key has a TTL
  kExpireGt = 1u << 2,  // only when the new expiry is later (no TTL counts as infinite)
  kExpireLt = 1u << 3,  // only when the new expiry is earlier (no TTL counts as infinite)
};

// The absolute expiry `when * unit_ms + base_ms` of EXPIRE (unit 1000, base now), PEXPIRE
// (1, now), EXPIREAT (1000, 0) and PEXPIREAT (1, 0). False when it overflows int64, which Redis
// answers with "invalid expire time in '<command>' command". Negative results are valid (they
// delete the key).
bool AbsoluteExpireMs(int64_t when, int64_t unit_ms, int64_t base_ms, int64_t* at_ms);

// Sets the expiry of `key` to `at_ms` when `flags` (ExpireFlag bits) allow it; an `at_ms` not
// after now deletes the key instead. Returns kOk when the TTL was set or the key deleted,
// kNotFound when the key is absent, kNotAllowed when a condition failed.
// REQUIRES: flags is a compatible combination (NX alone, GT and LT not together).
Status OpExpire(Db& db, std::string_view key, int64_t at_ms, unsigned flags,
                bool* deleted = nullptr);

// PTTL: remaining milliseconds (>= 0), -1 when the key has no TTL, -2 when it is absent.
int64_t OpTtl(Db& db, std::string_view key);
// PEXPIRETIME: absolute expiry in milliseconds, -1 when no TTL, -2 when absent.
int64_t OpExpireTime(Db& db, std::string_view key);
// PERSIST: true when the key existed and had a TTL, which is now removed.
bool OpPersist(Db& db, std::string_view key);
// TYPE's answer: the type name, "none" when absent.
std::string_view OpType(Db& db, std::string_view key);

// RENAME (nx = false) and RENAMENX (nx = true). The value and its TTL move to `dst`, replacing
// any value there. Returns kOk, kNoSuchKey when `src` is absent, kNotAllowed when `nx` and
// `dst` exists (including dst == src).
Status OpRename(Db& db, std::string_view src, std::string_view dst, bool nx);

// COPY src (in `db`) to dst in database `dst_db`: a deep copy with the TTL. Returns kOk,
// kDbIndexOutOfRange, kSameObject (same database and same key), kNotFound when `src` is
// absent, kNotAllowed when `dst` exists and not `replace`.
Status OpCopy(Db& db, std::string_view src, std::string_view dst, int dst_db, bool replace);

// MOVE key from `db` to database `dst_db`, with its TTL. Returns kOk, kDbIndexOutOfRange,
// kSameObject (dst_db is db), kNotFound when absent, kNotAllowed when the key exists there.
Status OpMove(Db& db, std::string_view key, int dst_db);

// SWAPDB: swaps databases a and b in every shard. Returns kOk or kDbIndexOutOfRange.
// REQUIRES: all shards locked.
Status OpSwapDb(Keyspace& ks, int a, int b);

// OBJECT ENCODING of a string value, as Redis' SET stores it: "int" for an integer of at most
// 20 characters that round-trips (no sign '+', no leading zeros), "embstr" up to 44 bytes,
// "raw" beyond.
std::string_view StringEncoding(std::string_view value);
// OBJECT ENCODING of any entry: strings per StringEncoding, objects per Object::Encoding().
std::string_view EntryEncoding(const Entry& entry);
// OBJECT REFCOUNT: Redis shares the integers 0..9999 (refcount INT_MAX) unless maxmemory is
// set with an LRU or LFU policy; every other value has one reference.
int64_t EntryRefCount(const Entry& entry, bool shared_integers);
// OBJECT IDLETIME in seconds from an entry's 24-bit LRU clock, wrapping as Redis'
// estimateObjectIdleTime does.
int64_t IdleSeconds(uint32_t lru, int64_t now_ms);
// OBJECT FREQ: the LFU counter of an entry's lru field in Redis' layout (16-bit minutes of the
// last decrement, 8-bit logarithmic counter), decayed by one per `decay_minutes` elapsed.
int64_t LfuFrequency(uint32_t lru, int64_t now_ms, int64_t decay_minutes);

}  // namespace rowcached::server
