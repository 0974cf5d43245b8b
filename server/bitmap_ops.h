// Key-local operations of the bit commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD),
// apart from their parsing and replies (bitmap_family.cc), plus the pure bit arithmetic they
// share. Bitmaps are plain string values: bit 0 is the most significant bit of byte 0, and a
// string reads as if followed by infinitely many zero bytes.
//
// Thread-safety: none of their own. Every function taking a Db REQUIRES the caller to hold the
// shard lock of each key it passes (the dispatcher does for commands). The reads count keyspace
// hits and misses (Redis' lookupKeyRead); SETBIT and writing BITFIELDs do not (lookupKeyWrite).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/keyspace.h"
#include "server/status.h"
#include "server/string_ops.h"

namespace rowcached::server {

// Redis' getBitOffsetFromArgument: a non-negative integer whose byte (offset / 8) is below
// `max_bytes` (proto-max-bulk-len). With `field_bits` > 0 (BITFIELD), "#n" means n * field_bits.
bool ParseBitOffset(std::string_view arg, int field_bits, int64_t max_bytes, uint64_t* offset);

struct SetBitOutcome {
  int old_bit = 0;
  bool changed = false;  // the key was created or grew, or the bit flipped
};

// SETBIT: writes one bit, creating or zero-extending the string as needed; the key keeps its TTL.
// REQUIRES: offset / 8 fits in memory (the caller bounds it by proto-max-bulk-len).
OpResult<SetBitOutcome> OpSetBit(Db& db, std::string_view key, uint64_t offset, bool on);

// GETBIT: the bit, 0 past the end or for an absent key.
OpResult<int> OpGetBit(Db& db, std::string_view key, uint64_t offset);

// A BITCOUNT / BITPOS range as given: byte indexes, or bit indexes with `in_bits` (BIT), both
// inclusive, negative counting from the end. No range = the whole string.
struct BitRange {
  int64_t start = 0;
  std::optional<int64_t> end;  // BITPOS may give only a start
  bool in_bits = false;
};

// BITCOUNT over `s` (Redis 7.0's index rules).
int64_t CountBits(std::string_view s, const std::optional<BitRange>& range);

// BITPOS over `s`: the first bit equal to `bit` in the range, or -1. Looking for a 0 without an
// explicit end finds the first bit past the string when the range is all ones, as Redis does.
int64_t FindBit(std::string_view s, int bit, const std::optional<BitRange>& range);

enum class BitOp : uint8_t { kAnd, kOr, kXor, kNot };

// BITOP: combines the sources (an absent key reads as the empty string, shorter strings are
// zero-padded) into `dest`; returns the result's length. An empty result deletes `dest`;
// otherwise `dest` is replaced and loses its TTL. kWrongType when a source is not a string.
// REQUIRES: sources is not empty; kNot has exactly one source.
struct BitOpOutcome {
  int64_t length = 0;
  bool deleted = false;  // an empty result removed an existing `dest`
};
OpResult<BitOpOutcome> OpBitOp(Db& db, BitOp op, std::string_view dest,
                               const std::vector<std::string_view>& sources);

// One BITFIELD subcommand.
struct BitFieldOp {
  enum class Kind : uint8_t { kGet, kSet, kIncrBy };
  enum class Overflow : uint8_t { kWrap, kSat, kFail };
  Kind kind = Kind::kGet;
  Overflow overflow = Overflow::kWrap;
  bool is_signed = false;
  int bits = 0;         // 1..64 signed, 1..63 unsigned
  uint64_t offset = 0;  // in bits
  int64_t value = 0;    // SET's value or INCRBY's increment
};

struct BitFieldOutcome {
  std::vector<std::optional<int64_t>> replies;  // nullopt = OVERFLOW FAIL refused the write
  bool changed = false;
};

// BITFIELD / BITFIELD_RO: runs `ops` in order. Only GETs: the key is read, never created.
// With a SET or INCRBY, the string is created or zero-extended to cover the farthest field
// written, once, before any op runs (so GETs past the old end then read zeros), as Redis does.
OpResult<BitFieldOutcome> OpBitField(Db& db, std::string_view key,
                                     const std::vector<BitFieldOp>& ops);

// The overflow arithmetic of BITFIELD, on a field of `bits` bits: `*result` = value + incr
// within the field per `overflow`. Returns 0 when it fits, else 1 (above the range) or -1
// (below); with kFail the result is then meaningless. Exposed for tests.
int SignedFieldAdd(int64_t value, int64_t incr, int bits, BitFieldOp::Overflow overflow,
                   int64_t* result);
int UnsignedFieldAdd(uint64_t value, int64_t incr, int bits, BitFieldOp::Overflow overflow,
                     uint64_t* result);

}  // namespace rowcached::server
