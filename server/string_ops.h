// Key-local operations of the string commands (GET, SET, INCR, APPEND, SETRANGE, LCS, ...),
// apart from their parsing and replies (string_family.cc). The middleware and tests use them to
// read and write string values with Redis' semantics without going through RESP.
//
// Thread-safety: none of their own. Every function taking a Db REQUIRES the caller to hold the
// shard lock of each key it passes (the dispatcher does for commands). A std::string_view
// returned by an Op points into the keyspace: it stays valid only while those locks are held
// and until the next change to the database. Ops that change or delete the value they return
// return a std::string copy instead.
//
// Keyspace statistics: the Ops that stand for Redis' read lookups (GET, MGET, GETRANGE, STRLEN,
// GETEX, GETDEL, GETSET and SET ... GET, LCS) count keyspace hits and misses; the pure write
// paths (SET without GET, SETNX, INCR*, APPEND, SETRANGE, MSET*) do not, as in Redis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/keyspace.h"
#include "server/status.h"

namespace rowcached::server {

// An Op's outcome: `value` is meaningful only when `status` is kOk.
template <typename T>
struct OpResult {
  Status status = Status::kOk;
  T value{};

  bool ok() const { return status == Status::kOk; }
};

// GET: the value, nullopt when absent, kWrongType for another type.
OpResult<std::optional<std::string_view>> OpGet(Db& db, std::string_view key);

// MGET: one slot per key; absent keys and keys of another type are nullopt.
std::vector<std::optional<std::string_view>> OpMGet(Db& db,
                                                    const std::vector<std::string_view>& keys);

struct SetParams {
  enum class When : uint8_t {
    kAlways,
    kIfAbsent,   // NX
    kIfPresent,  // XX
  };
  When when = When::kAlways;
  // KEEPTTL: a replaced value keeps the key's TTL. Otherwise the TTL is cleared (or set below).
  bool keep_ttl = false;
  // Absolute expiry in ms since the epoch; -1 = none. A time not after now still stores the
  // value, which then reads as expired (Redis 7.0 does the same).
  int64_t expire_at_ms = -1;
  // GET: read the old value first (a counted read that fails with kWrongType on a non-string).
  bool get_old = false;
};

struct SetOutcome {
  bool applied = false;                  // false when NX/XX refused the write
  std::optional<std::string> old_value;  // with get_old: the previous value, if any
};

// SET, SETNX, SETEX, PSETEX, GETSET. The condition counts any live key, of any type, as
// present; without get_old a value of another type is simply replaced.
OpResult<SetOutcome> OpSet(Db& db, std::string_view key, std::string_view value,
                           const SetParams& params);

// GETDEL: the value (removed from the keyspace), nullopt when absent.
OpResult<std::optional<std::string>> OpGetDel(Db& db, std::string_view key);

struct GetExParams {
  enum class Ttl : uint8_t { kKeep, kPersist, kExpireAt };
  Ttl ttl = Ttl::kKeep;
  int64_t expire_at_ms = 0;  // with kExpireAt; a time not after now deletes the key
};

// GETEX: the value, then the TTL change; nullopt when absent. `*event` (when given) names the
// change made for keyspace notifications: "expire", "persist", "del", or nullptr for none.
OpResult<std::optional<std::string>> OpGetEx(Db& db, std::string_view key,
                                             const GetExParams& params,
                                             const char** event = nullptr);

// MSET: sets every (key, value) pair in order, clearing TTLs; a repeated key keeps the last.
// REQUIRES: kv.size() is even.
void OpMSet(Db& db, const std::vector<std::string_view>& kv);
// MSETNX: as OpMSet when none of the keys exists (any type); returns whether it set them.
bool OpMSetNx(Db& db, const std::vector<std::string_view>& kv);

// INCRBY (and INCR, DECR, DECRBY with the delta negated by the caller): the new value.
// kNotInteger when the value is not a 64-bit integer in Redis' strict form, kOverflow when the
// result leaves int64. The key keeps its TTL.
OpResult<int64_t> OpIncrBy(Db& db, std::string_view key, int64_t delta);

// INCRBYFLOAT: the new value as stored (Redis' human-friendly %.17Lf form). The increment is
// given as text because Redis validates it after the key's type and value: kWrongType, then
// kNotFloat (value or increment), then kNanOrInfinity. The key keeps its TTL.
OpResult<std::string> OpIncrByFloat(Db& db, std::string_view key, std::string_view increment);

// APPEND: the new length; kStringTooLong when it would exceed `max_len`.
OpResult<int64_t> OpAppend(Db& db, std::string_view key, std::string_view suffix, int64_t max_len);

// SETRANGE: overwrites at `offset`, zero-padding as needed; the new length. An empty `value`
// changes nothing (and creates no key). kStringTooLong when offset + size exceeds `max_len`.
// REQUIRES: offset >= 0.
OpResult<int64_t> OpSetRange(Db& db, std::string_view key, int64_t offset, std::string_view value,
                             int64_t max_len);

// STRLEN: the length, 0 when absent.
OpResult<int64_t> OpStrLen(Db& db, std::string_view key);

// GETRANGE / SUBSTR with Redis' index rules (negative = from the end, clamped); empty when
// absent or the range is empty.
OpResult<std::string_view> OpGetRange(Db& db, std::string_view key, int64_t start, int64_t end);
// The same range arithmetic on a plain string.
std::string_view StringRange(std::string_view s, int64_t start, int64_t end);

// LCS inputs: the values of both keys (an absent key reads as ""); kWrongType when either holds
// another type. Both lookups count hits and misses, as Redis' two lookupKeyRead calls.
OpResult<std::pair<std::string_view, std::string_view>> OpLcsInputs(Db& db, std::string_view a,
                                                                    std::string_view b);

struct LcsMatch {
  uint32_t a_start, a_end;  // inclusive byte ranges
  uint32_t b_start, b_end;
  uint32_t length;
};

struct LcsResult {
  uint32_t length = 0;
  std::string lcs;                // filled when asked for
  std::vector<LcsMatch> matches;  // filled when asked for; from the end of the strings backward
};

// The longest common subsequence, by Redis' dynamic program and backtracking (so ties break
// and matches split exactly as Redis reports them). Matches shorter than `min_match_len` are
// left out. Uses (|a|+1)*(|b|+1) 32-bit cells of transient memory; the caller bounds that.
// Returns false when that memory cannot be allocated.
// REQUIRES: a.size() and b.size() < UINT32_MAX - 1.
bool ComputeLcs(std::string_view a, std::string_view b, bool want_string, bool want_matches,
                int64_t min_match_len, LcsResult* out);

// Redis' string2ld for INCRBYFLOAT: no leading space, the whole input consumed, no NaN, and
// overflow to infinity or underflow to zero refused (denormals accepted; "inf" literal too).
bool ParseIncrFloat(std::string_view s, long double* out);

}  // namespace rowcached::server
