// Key-local operations of the list commands (LPUSH, LPOP, LRANGE, LSET, LINSERT, LREM, LTRIM,
// LPOS, LMOVE, ...), apart from their parsing and replies (list_family.cc).
//
// Thread-safety: none of their own. Every function REQUIRES the caller to hold the shard lock
// of each key it passes (the dispatcher does for commands). A std::string_view returned by an
// Op points into the keyspace: valid only while that lock is held and the list is unchanged.
//
// Common rules: an absent key reads as an empty list; a key of another type gives kWrongType
// (and nothing changes); a list whose last element is removed is deleted from the keyspace
// (`key_deleted` tells); a write keeps the key's TTL. Indexes are Redis': negative counts from
// the tail (-1 = last). Read Ops count keyspace hits and misses, write Ops do not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/keyspace.h"
#include "server/list_object.h"
#include "server/status.h"

namespace rowcached::server {

// A list Op's outcome: `value` is meaningful only when `status` is kOk.
template <typename T>
struct ListResult {
  Status status = Status::kOk;
  T value{};

  bool ok() const { return status == Status::kOk; }
};

// What a pop took.
struct Popped {
  std::vector<std::string> values;
  bool key_deleted = false;  // the list became empty and was removed
};

// The list stored at `key`: nullptr when absent, kWrongType for another type.
ListResult<ListObject*> FindList(Db& db, std::string_view key, bool count_stats);

// LPUSH / RPUSH (each value in turn at `end`) and, with `only_if_exists`, LPUSHX / RPUSHX
// (nothing happens when the key is absent). Returns the new length (0 when nothing happened).
ListResult<int64_t> OpPush(Db& db, std::string_view key,
                           const std::vector<std::string_view>& values, ListEnd end,
                           bool only_if_exists);
// LPOP / RPOP / LMPOP: up to `count` elements from `end`.
ListResult<Popped> OpPop(Db& db, std::string_view key, ListEnd end, uint64_t count);
// LLEN.
ListResult<int64_t> OpLen(Db& db, std::string_view key);
// LRANGE: the elements from `start` to `stop` inclusive.
ListResult<std::vector<std::string_view>> OpRange(Db& db, std::string_view key, int64_t start,
                                                  int64_t stop);
// LINDEX: nullopt when the key is absent or the index out of range.
ListResult<std::optional<std::string_view>> OpIndex(Db& db, std::string_view key, int64_t index);
// LSET: kNoSuchKey when absent; value false when the index is out of range.
ListResult<bool> OpSet(Db& db, std::string_view key, int64_t index, std::string_view value);
// LINSERT: the new length, -1 when `pivot` is not found, 0 when the key is absent.
ListResult<int64_t> OpInsert(Db& db, std::string_view key, bool before, std::string_view pivot,
                             std::string_view value);
// LREM: removes up to |count| elements equal to `value` (count > 0 from the head, < 0 from the
// tail, 0 all). Returns how many.
ListResult<int64_t> OpRem(Db& db, std::string_view key, int64_t count, std::string_view value,
                          bool* key_deleted);
// LTRIM: keeps [start, stop]. Value: whether the key existed (and so was trimmed).
ListResult<bool> OpTrim(Db& db, std::string_view key, int64_t start, int64_t stop,
                        bool* key_deleted);

struct PosOptions {
  int64_t rank = 1;    // the rank-th match; negative searches from the tail. REQUIRES != 0
  int64_t count = -1;  // -1: no COUNT option (one index); 0: every match
  int64_t maxlen = 0;  // compare at most this many elements; 0 = all
};
// LPOS: the indexes of the matches of `element`.
ListResult<std::vector<int64_t>> OpPos(Db& db, std::string_view key, std::string_view element,
                                       const PosOptions& options);

// LMOVE / RPOPLPUSH: pops from `src`'s `from` end and pushes to `dst`'s `to` end (src may equal
// dst: a rotation). nullopt when `src` is absent. kWrongType when either key holds another type
// (then nothing moves).
struct Moved {
  std::optional<std::string> value;
  bool src_deleted = false;
};
ListResult<Moved> OpMove(Db& db, std::string_view src, std::string_view dst, ListEnd from,
                         ListEnd to);

}  // namespace rowcached::server
