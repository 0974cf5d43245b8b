// Key-local operations of the set commands (SADD, SREM, SPOP, SINTER, SUNIONSTORE, SSCAN, ...),
// apart from their parsing, replies and notifications (set_family.cc). The middleware and tests
// use them to read and write sets with Redis' semantics without going through RESP.
//
// Thread-safety: none of their own. Every function REQUIRES the caller to hold the shard locks
// of every key it passes (the dispatcher does for commands). A SetMember returned by an Op may
// view a member inside the keyspace: it stays valid only while those locks are held and until
// the next change to that set.
//
// Common rules: an absent key reads as an empty set; a key of another type gives kWrongType
// (and nothing changes; the multi-key Ops check every key's type before anything else, as
// Redis 7.0 does); a set whose last member is removed is deleted from the keyspace; a write
// keeps the key's TTL except a *STORE, which replaces its destination. The read Ops count
// keyspace hits and misses (Redis' lookupKeyRead); the write Ops do not (lookupKeyWrite).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/keyspace.h"
#include "server/set_object.h"
#include "server/status.h"

namespace rowcached::server {

// A set Op's outcome: `value` is meaningful only when `status` is kOk.
template <typename T>
struct SetResult {
  Status status = Status::kOk;
  T value{};

  bool ok() const { return status == Status::kOk; }
};

// The set stored at `key`: nullptr when absent, kWrongType for another type.
SetResult<SetObject*> FindSet(Db& db, std::string_view key, bool count_stats);

// SADD: how many of `members` were new (a repeated member counts once); creates the set.
SetResult<int64_t> OpSAdd(Db& db, std::string_view key,
                          const std::vector<std::string_view>& members);

struct SetRemoval {
  int64_t removed = 0;
  bool key_deleted = false;  // the last member went: the key is gone
};
// SREM: how many of `members` were there (a repeated member counts once).
SetResult<SetRemoval> OpSRem(Db& db, std::string_view key,
                             const std::vector<std::string_view>& members);

// SMEMBERS: every member, in the set's iteration order (ascending for an intset).
SetResult<std::vector<SetMember>> OpSMembers(Db& db, std::string_view key);
// SISMEMBER.
SetResult<bool> OpSIsMember(Db& db, std::string_view key, std::string_view member);
// SMISMEMBER: one flag per member.
SetResult<std::vector<bool>> OpSMIsMember(Db& db, std::string_view key,
                                          const std::vector<std::string_view>& members);
// SCARD: the number of members, 0 when absent.
SetResult<int64_t> OpSCard(Db& db, std::string_view key);

struct SetPop {
  std::vector<std::string> members;  // owned: they are no longer in the keyspace
  bool key_deleted = false;
};
// SPOP key count: min(count, SCARD) distinct random members, removed. count >= SCARD takes the
// whole set (in its iteration order) and deletes the key. Absent key or count 0: nothing.
SetResult<SetPop> OpSPop(Db& db, std::string_view key, uint64_t count);
// SPOP key: one random member, removed; members is empty when the key is absent.
SetResult<SetPop> OpSPopOne(Db& db, std::string_view key);

// SRANDMEMBER key count: count >= 0 gives min(count, SCARD) distinct members (the whole set in
// its iteration order when count >= SCARD, else in random order); count < 0 gives -count
// members drawn independently (repeats possible). Empty when the key is absent.
// REQUIRES: count > INT64_MIN. Nothing but the caller bounds -count (see set_family.cc).
SetResult<std::vector<SetMember>> OpSRandMember(Db& db, std::string_view key, int64_t count);
// SRANDMEMBER key: one random member, nullopt when the key is absent.
SetResult<std::optional<SetMember>> OpSRandOne(Db& db, std::string_view key);

struct SetMove {
  bool moved = false;           // the reply: 1 when `member` was in the source
  bool source_changed = false;  // false when the source and destination are the same key
  bool source_deleted = false;  // the source's last member went
  bool added = false;           // the destination did not have it before
};
// SMOVE: moves `member` from `source` to `destination` (created when absent). Both keys must be
// sets (or absent); an absent source moves nothing (whatever the destination holds, as Redis).
SetResult<SetMove> OpSMove(Db& db, std::string_view source, std::string_view destination,
                           std::string_view member);

// SINTER: the members of every set at `keys`, in the iteration order of the smallest set.
// Empty when any key is absent. `count_stats`: false for a write (SINTERSTORE's lookups).
SetResult<std::vector<SetMember>> OpSInter(Db& db, const std::vector<std::string_view>& keys,
                                           bool count_stats = true);
// SINTERCARD: the size of the intersection, counting stops at `limit` (0 = no limit).
SetResult<int64_t> OpSInterCard(Db& db, const std::vector<std::string_view>& keys, uint64_t limit);

enum class SetAlgebra { kInter, kUnion, kDiff };
// SUNION / SDIFF (and SINTER) as a new set built as Redis builds it (so an all-integer result
// of at most 512 members is an intset and iterates in ascending order).
SetResult<std::unique_ptr<SetObject>> OpSetAlgebra(Db& db, SetAlgebra op,
                                                   const std::vector<std::string_view>& keys,
                                                   bool count_stats = true);

struct SetStore {
  int64_t size = 0;           // members stored; 0 = the destination was deleted (or absent)
  bool dest_deleted = false;  // the destination existed and the result was empty
  bool sources_found = true;  // false: SINTERSTORE met an absent source (Redis' early path)
};
// SINTERSTORE / SUNIONSTORE / SDIFFSTORE: computes over `keys` first, then replaces
// `destination` (any type; its TTL goes) with the result, or deletes it when the result is
// empty. The destination may be one of the sources.
SetResult<SetStore> OpSetStore(Db& db, SetAlgebra op, std::string_view destination,
                               const std::vector<std::string_view>& keys);

struct SetScanPage {
  uint64_t cursor = 0;  // next cursor; 0 when the scan is complete
  std::vector<SetMember> members;
};
// SSCAN step over a set already looked up. An intset is returned whole with cursor 0
// (whatever the cursor), as Redis does. For a hashtable, visits buckets until it has collected
// `count` members or visited 10 * count buckets; every member present for the whole scan is
// returned at least once. Members not matching the glob `pattern` are left out (an empty
// pattern matches everything). REQUIRES: count >= 1.
SetScanPage ScanSet(const SetObject& set, uint64_t cursor, size_t count, std::string_view pattern);
// SSCAN: the same on the set at `key`; absent key: cursor 0, empty.
SetResult<SetScanPage> OpSScan(Db& db, std::string_view key, uint64_t cursor, size_t count,
                               std::string_view pattern);

}  // namespace rowcached::server
