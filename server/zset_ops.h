// Key-local operations of the sorted set commands (ZADD, ZRANGE, ZPOPMIN, ZUNIONSTORE, ...),
// apart from their parsing and replies (zset_family.cc). The blocking commands (BZPOPMIN,
// BZPOPMAX, BZMPOP) call OpZPop under the key's shard lock once a key has members.
//
// Thread-safety: none of their own. Every function REQUIRES the caller to hold the shard lock
// of every key it passes (the dispatcher does for single-key commands; the multi-key commands
// lock their keys themselves). A std::string_view returned by an Op points into the keyspace:
// it stays valid only while that lock is held and until the next change to the set.
//
// Common rules: an absent key reads as an empty set; a key of another type gives kWrongType
// (and nothing changes); a set whose last member is removed is deleted from the keyspace; a
// write keeps the key's TTL. Read Ops count keyspace hits and misses (Redis' lookupKeyRead);
// write Ops do not. Ops do not signal modified keys or keyspace events: the commands do, with
// Redis' event names, since only they know which command ran.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/keyspace.h"
#include "server/status.h"
#include "server/zset_object.h"

namespace rowcached::server {

// A zset Op's outcome: `value` is meaningful only when `status` is kOk. kNanOrInfinity stands
// for Redis' "resulting score is not a number (NaN)".
template <typename T>
struct ZSetResult {
  Status status = Status::kOk;
  T value{};

  bool ok() const { return status == Status::kOk; }
};

// A member and its score as views into a set (valid under the lock, until the next change).
struct ScoredMember {
  std::string_view member;
  double score;
};
// The same, owning its member: for members removed from the set (pops) or computed (ZUNION).
struct OwnedScoredMember {
  std::string member;
  double score;
};

// The sorted set at `key`: nullptr when absent, kWrongType for another type.
ZSetResult<ZSetObject*> FindZSet(Db& db, std::string_view key, bool count_stats);

// ZADD's options (Redis' ZADD_IN_* flags).
struct ZAddOptions {
  bool nx = false;    // only add new members
  bool xx = false;    // only update existing members
  bool gt = false;    // update only when the new score is greater
  bool lt = false;    // update only when the new score is less
  bool incr = false;  // the score is an increment (ZINCRBY; one pair only)
};
struct ZAddOutcome {
  int64_t added = 0;
  int64_t updated = 0;  // existing members whose score changed
  // With incr: the member's score after the command, nullopt when NX/XX/GT/LT stopped it.
  std::optional<double> incr_score;
};
// ZADD / ZINCRBY: applies each (score, member) pair in order, creating the set unless `xx`.
// A NaN sum (inf + -inf with incr) gives kNanOrInfinity; pairs before it stay applied, as in
// Redis. REQUIRES: option combinations Redis refuses were refused; no NaN score.
ZSetResult<ZAddOutcome> OpZAdd(Db& db, std::string_view key, const ZAddOptions& options,
                               const std::vector<std::pair<double, std::string_view>>& pairs);

// ZREM: how many of `members` were there (a repeated member counts once). *deleted_key tells
// whether the set is gone.
ZSetResult<int64_t> OpZRem(Db& db, std::string_view key,
                           const std::vector<std::string_view>& members, bool* deleted_key);
ZSetResult<int64_t> OpZCard(Db& db, std::string_view key);
ZSetResult<std::optional<double>> OpZScore(Db& db, std::string_view key, std::string_view member);
ZSetResult<std::vector<std::optional<double>>> OpZMScore(
    Db& db, std::string_view key, const std::vector<std::string_view>& members);
// ZRANK / ZREVRANK: the 0-based rank, nullopt when the key or member is absent.
ZSetResult<std::optional<int64_t>> OpZRank(Db& db, std::string_view key, std::string_view member,
                                           bool reverse);
ZSetResult<int64_t> OpZCount(Db& db, std::string_view key, const ScoreRange& range);
ZSetResult<int64_t> OpZLexCount(Db& db, std::string_view key, const LexRange& range);

// What ZRANGE (and its older forms, ZRANGESTORE, ZREMRANGEBY*) selects.
struct ZRangeSpec {
  enum class By { kRank, kScore, kLex };
  By by = By::kRank;
  bool reverse = false;  // REV: from the highest; for kScore/kLex the range's max comes first
  int64_t start = 0;     // kRank: indexes, negative from the end
  int64_t stop = -1;
  ScoreRange score;    // kScore
  LexRange lex;        // kLex
  int64_t offset = 0;  // LIMIT offset (kScore, kLex); negative = empty
  int64_t count = -1;  // LIMIT count; negative = all
};
// The members the spec selects, in reply order.
std::vector<ScoredMember> SelectRange(const ZSetObject& zset, const ZRangeSpec& spec);
ZSetResult<std::vector<ScoredMember>> OpZRange(Db& db, std::string_view key,
                                               const ZRangeSpec& spec);
// ZRANGESTORE: stores the selection at `dst` (replacing it, whatever its type; deleting it when
// the selection is empty). Returns the stored size; *dst_changed tells whether `dst` was
// written or deleted. REQUIRES: the locks of both keys.
ZSetResult<int64_t> OpZRangeStore(Db& db, std::string_view dst, std::string_view src,
                                  const ZRangeSpec& spec, bool* dst_changed);
// ZREMRANGEBYRANK / BYSCORE / BYLEX (spec.reverse and LIMIT unused): how many were removed.
ZSetResult<int64_t> OpZRemRange(Db& db, std::string_view key, const ZRangeSpec& spec,
                                bool* deleted_key);

// ZPOPMIN / ZPOPMAX / ZMPOP and the blocking forms: removes up to `count` members from the
// low (or, with `max`, the high) end and returns them in pop order. Empty when the key is
// absent. *deleted_key tells whether the set is gone. REQUIRES: count >= 0.
ZSetResult<std::vector<OwnedScoredMember>> OpZPop(Db& db, std::string_view key, bool max,
                                                  int64_t count, bool* deleted_key);

// ZRANDMEMBER key count: count >= 0 gives min(count, ZCARD) distinct members (the whole set from
// the highest member down when count >= ZCARD, as Redis, else in random order); count < 0 gives
// -count members drawn independently. REQUIRES: count > INT64_MIN.
ZSetResult<std::vector<ScoredMember>> OpZRandMember(Db& db, std::string_view key, int64_t count);
// ZRANDMEMBER key: one member, nullopt when the key is absent.
ZSetResult<std::optional<std::string_view>> OpZRandOne(Db& db, std::string_view key);

struct ZSetScanPage {
  uint64_t cursor = 0;
  std::vector<ScoredMember> members;
};
// ZSCAN: a "listpack" set is returned whole with cursor 0, as Redis does; otherwise buckets are
// visited until `count` reply items (two per member) or 10 * count buckets. Members not
// matching the glob `pattern` are left out. REQUIRES: count >= 1.
ZSetScanPage ScanZSet(const ZSetObject& zset, uint64_t cursor, size_t count,
                      std::string_view pattern);

// ZUNION / ZINTER / ZDIFF and their STORE forms.
enum class ZSetAlgebra { kUnion, kInter, kDiff };
enum class ZAggregate { kSum, kMin, kMax };
// Combines the sets (or plain sets, members scoring 1) at `keys`, each score multiplied by its
// weight (a NaN product counts as 0). The result is in ascending (score, member) order.
// kWrongType when a key holds anything else. REQUIRES: weights.size() == keys.size().
ZSetResult<std::vector<OwnedScoredMember>> OpZSetAlgebra(Db& db, ZSetAlgebra op,
                                                         const std::vector<std::string_view>& keys,
                                                         const std::vector<double>& weights,
                                                         ZAggregate aggregate);
// Replaces `dst` with a set of `members` (deleting it when empty). Returns whether `dst`
// existed before (for the "del" event of an empty result).
bool StoreZSet(Db& db, std::string_view dst, const std::vector<OwnedScoredMember>& members);
// ZINTERCARD: the size of the intersection, stopping at `limit` when limit > 0.
ZSetResult<int64_t> OpZInterCard(Db& db, const std::vector<std::string_view>& keys, int64_t limit);

// The members of a plain set (ValueType::kSet) entry, for the algebra commands' set inputs.
// Kept apart so the set type's object is reached in one place.
std::vector<std::string> SetMembersForZSetAlgebra(const Entry& set_entry);

}  // namespace rowcached::server
