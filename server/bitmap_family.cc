// Bit commands on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO, with
// Redis 7.0's semantics, replies and error texts (checked against redis-server 7.0.15). Cmd
// functions parse and reply; the key-local work is in the Op functions of bitmap_ops.h.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "server/bitmap_ops.h"
#include "server/notify.h"
#include "server/server_context.h"
#include "server/util.h"
#include "server/writable_string.h"

namespace rowcached::server {

// ---------------------------------------------------------------------------------------------
// Bit arithmetic

namespace {

const uint8_t* Bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

int64_t Popcount(const uint8_t* p, size_t n) {
  int64_t count = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    count += std::popcount(word);
  }
  for (; i < n; ++i) count += std::popcount(p[i]);
  return count;
}

// Bit `i` of a byte counts from the most significant bit. Masks of the bits before / after it.
uint8_t BitsBefore(int64_t bit) { return static_cast<uint8_t>(~(0xFF >> (bit & 7))); }
uint8_t BitsAfter(int64_t bit) { return static_cast<uint8_t>(0xFF >> ((bit & 7) + 1)); }

// Redis' range arithmetic of BITCOUNT and BITPOS: negative indexes count from the end of a
// `total`-long sequence, then both ends are clamped into it. start > end afterwards = empty.
void ClampRange(int64_t total, int64_t* start, int64_t* end) {
  if (*start < 0) *start += total;
  if (*end < 0) *end += total;
  if (*start < 0) *start = 0;
  if (*end < 0) *end = 0;
  if (*end >= total) *end = total - 1;
}

// Bit `offset` of `s`, zero past its end.
int BitAt(std::string_view s, uint64_t offset) {
  uint64_t byte = offset >> 3;
  if (byte >= s.size()) return 0;
  return (Bytes(s)[byte] >> (7 - (offset & 7))) & 1;
}

void SetBitAt(std::string* s, uint64_t offset, int bit) {
  uint8_t& byte = reinterpret_cast<uint8_t*>(s->data())[offset >> 3];
  uint8_t mask = static_cast<uint8_t>(0x80 >> (offset & 7));
  byte = bit ? (byte | mask) : (byte & ~mask);
}

// A BITFIELD field: `bits` bits from `offset`, most significant first, zero past the end.
uint64_t GetField(std::string_view s, uint64_t offset, int bits) {
  uint64_t v = 0;
  for (int i = 0; i < bits; ++i) v = (v << 1) | BitAt(s, offset + i);
  return v;
}

int64_t GetSignedField(std::string_view s, uint64_t offset, int bits) {
  uint64_t v = GetField(s, offset, bits);
  if (bits < 64 && (v >> (bits - 1)) & 1) v |= ~uint64_t{0} << bits;  // sign-extend
  return static_cast<int64_t>(v);
}

// REQUIRES: the string covers the field.
void SetField(std::string* s, uint64_t offset, int bits, uint64_t value) {
  for (int i = 0; i < bits; ++i) SetBitAt(s, offset + i, (value >> (bits - 1 - i)) & 1);
}

}  // namespace

bool ParseBitOffset(std::string_view arg, int field_bits, int64_t max_bytes, uint64_t* offset) {
  const bool times_bits = field_bits > 0 && !arg.empty() && arg[0] == '#';
  int64_t v = 0;
  if (!ParseInt64(times_bits ? arg.substr(1) : arg, &v)) return false;
  // "#n" wraps on overflow as Redis' signed multiply does on every platform it runs on.
  if (times_bits) v = static_cast<int64_t>(static_cast<uint64_t>(v) * field_bits);
  if (v < 0 || (v >> 3) >= max_bytes) return false;
  *offset = static_cast<uint64_t>(v);
  return true;
}

int64_t CountBits(std::string_view s, const std::optional<BitRange>& range) {
  const int64_t len = static_cast<int64_t>(s.size());
  int64_t start = 0, end = len - 1;
  bool in_bits = false;
  if (range) {
    start = range->start;
    end = range->end.value_or(-1);
    // Both negative and reversed: empty before any clamping (Redis' special case).
    if (start < 0 && end < 0 && start > end) return 0;
    in_bits = range->in_bits;
    ClampRange(in_bits ? len * 8 : len, &start, &end);
  }
  if (start > end) return 0;
  if (!in_bits) return Popcount(Bytes(s) + start, static_cast<size_t>(end - start + 1));
  const int64_t first = start >> 3, last = end >> 3;
  int64_t count = Popcount(Bytes(s) + first, static_cast<size_t>(last - first + 1));
  count -= std::popcount(static_cast<uint8_t>(Bytes(s)[first] & BitsBefore(start)));
  count -= std::popcount(static_cast<uint8_t>(Bytes(s)[last] & BitsAfter(end)));
  return count;
}

int64_t FindBit(std::string_view s, int bit, const std::optional<BitRange>& range) {
  const int64_t len = static_cast<int64_t>(s.size());
  int64_t first_bit = 0, last_bit = len * 8 - 1;
  if (range) {
    const int64_t total = range->in_bits ? len * 8 : len;
    int64_t start = range->start;
    int64_t end = range->end.value_or(total - 1);
    ClampRange(total, &start, &end);
    if (start > end) return -1;
    first_bit = range->in_bits ? start : start * 8;
    last_bit = range->in_bits ? end : end * 8 + 7;
  }
  if (first_bit > last_bit) return -1;
  // Looking for a 0 is looking for a 1 in the complement.
  const uint8_t flip = bit ? 0 : 0xFF;
  const int64_t first_byte = first_bit >> 3, last_byte = last_bit >> 3;
  for (int64_t i = first_byte; i <= last_byte; ++i) {
    uint8_t v = Bytes(s)[i] ^ flip;
    if (i == first_byte) v &= static_cast<uint8_t>(~BitsBefore(first_bit));
    if (i == last_byte) v &= static_cast<uint8_t>(~BitsAfter(last_bit));
    if (v != 0) return i * 8 + std::countl_zero(v);
  }
  // No 1 anywhere; no 0 in the range: a string is followed by zeros, unless the caller fixed
  // the end of the range.
  if (bit == 1 || (range && range->end)) return -1;
  return last_bit + 1;
}

int SignedFieldAdd(int64_t value, int64_t incr, int bits, BitFieldOp::Overflow overflow,
                   int64_t* result) {
  const int64_t max = bits == 64 ? std::numeric_limits<int64_t>::max()
                                 : static_cast<int64_t>((uint64_t{1} << (bits - 1)) - 1);
  const int64_t min = -max - 1;
  // The room left above and below `value`, in two's complement: Redis computes them with
  // wrapping arithmetic and the comparisons below depend on that for out-of-range SET values.
  const int64_t up =
      static_cast<int64_t>(static_cast<uint64_t>(max) - static_cast<uint64_t>(value));
  const int64_t down =
      static_cast<int64_t>(static_cast<uint64_t>(min) - static_cast<uint64_t>(value));
  int direction = 0;
  if (value > max || (bits != 64 && incr > up) || (value >= 0 && incr > 0 && incr > up)) {
    direction = 1;
  } else if (value < min || (bits != 64 && incr < down) || (value < 0 && incr < 0 && incr < down)) {
    direction = -1;
  }
  uint64_t sum = static_cast<uint64_t>(value) + static_cast<uint64_t>(incr);
  if (direction == 0) {
    *result = static_cast<int64_t>(sum);
    return 0;
  }
  if (overflow == BitFieldOp::Overflow::kSat) {
    *result = direction > 0 ? max : min;
  } else if (overflow == BitFieldOp::Overflow::kWrap) {
    if (bits < 64) {
      const uint64_t high = ~uint64_t{0} << bits;
      sum = (sum >> (bits - 1)) & 1 ? (sum | high) : (sum & ~high);
    }
    *result = static_cast<int64_t>(sum);
  }
  return direction;
}

int UnsignedFieldAdd(uint64_t value, int64_t incr, int bits, BitFieldOp::Overflow overflow,
                     uint64_t* result) {
  const uint64_t max = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const int64_t up = static_cast<int64_t>(max - value);
  const int64_t down = static_cast<int64_t>(uint64_t{0} - value);
  int direction = 0;
  if (value > max || (incr > 0 && incr > up)) {
    direction = 1;
  } else if (incr < 0 && incr < down) {
    direction = -1;
  }
  uint64_t sum = value + static_cast<uint64_t>(incr);
  if (direction == 0) {
    *result = sum;
    return 0;
  }
  if (overflow == BitFieldOp::Overflow::kSat) {
    *result = direction > 0 ? max : 0;
  } else if (overflow == BitFieldOp::Overflow::kWrap) {
    *result = bits == 64 ? sum : sum & max;
  }
  return direction;
}

// ---------------------------------------------------------------------------------------------
// Ops

namespace {

// Redis' lookupStringForBitCommand: the string at `key`, writable, created or zero-extended to
// at least `min_len` bytes. *grown says whether it was created or extended.
std::string* StringForBitWrite(Db& db, std::string_view key, size_t min_len, Status* status,
                               bool* grown) {
  Entry* e = db.FindTyped(key, ValueType::kString, status);
  if (*status != Status::kOk) return nullptr;
  if (e == nullptr) {
    *grown = true;
    return NewWritableString(db, key, std::string(min_len, '\0'));
  }
  std::string* s = WritableString(db, e);
  *grown = s->size() < min_len;
  if (*grown) s->resize(min_len, '\0');  // geometric capacity growth: amortised O(1) per byte
  return s;
}

}  // namespace

OpResult<SetBitOutcome> OpSetBit(Db& db, std::string_view key, uint64_t offset, bool on) {
  OpResult<SetBitOutcome> r;
  bool grown = false;
  std::string* s = StringForBitWrite(db, key, (offset >> 3) + 1, &r.status, &grown);
  if (s == nullptr) return r;
  r.value.old_bit = BitAt(*s, offset);
  r.value.changed = grown || r.value.old_bit != static_cast<int>(on);
  if (r.value.changed) SetBitAt(s, offset, on);
  return r;
}

OpResult<int> OpGetBit(Db& db, std::string_view key, uint64_t offset) {
  OpResult<int> r;
  Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
  if (e != nullptr) r.value = BitAt(e->str(), offset);
  return r;
}

OpResult<BitOpOutcome> OpBitOp(Db& db, BitOp op, std::string_view dest,
                               const std::vector<std::string_view>& sources) {
  OpResult<BitOpOutcome> r;
  std::vector<std::string_view> values(sources.size());
  size_t max_len = 0;
  for (size_t i = 0; i < sources.size(); ++i) {
    Entry* e = db.FindTyped(sources[i], ValueType::kString, &r.status, /*count_stats=*/true);
    if (!r.ok()) return r;
    if (e != nullptr) values[i] = e->str();
    max_len = std::max(max_len, values[i].size());
  }
  if (max_len == 0) {
    r.value.deleted = db.Delete(dest);
    return r;
  }
  // Built apart from the sources: `dest` may be one of them.
  std::string result(max_len, '\0');
  auto byte_of = [](std::string_view v, size_t i) -> uint8_t {
    return i < v.size() ? static_cast<uint8_t>(v[i]) : 0;
  };
  for (size_t i = 0; i < max_len; ++i) {
    uint8_t acc = byte_of(values[0], i);
    if (op == BitOp::kNot) acc = static_cast<uint8_t>(~acc);
    for (size_t j = 1; j < values.size(); ++j) {
      const uint8_t b = byte_of(values[j], i);
      if (op == BitOp::kAnd) acc &= b;
      if (op == BitOp::kOr) acc |= b;
      if (op == BitOp::kXor) acc ^= b;
    }
    result[i] = static_cast<char>(acc);
  }
  // A long result moves into the keyspace rather than being copied once more.
  if (max_len > Entry::kMaxInlineString) {
    NewWritableString(db, dest, std::move(result));
  } else {
    db.SetString(dest, result, /*keep_ttl=*/false);
  }
  r.value.length = static_cast<int64_t>(max_len);
  return r;
}

OpResult<BitFieldOutcome> OpBitField(Db& db, std::string_view key,
                                     const std::vector<BitFieldOp>& ops) {
  OpResult<BitFieldOutcome> r;
  uint64_t highest_bit = 0;
  bool writes = false;
  for (const BitFieldOp& op : ops) {
    if (op.kind == BitFieldOp::Kind::kGet) continue;
    writes = true;
    highest_bit = std::max(highest_bit, op.offset + op.bits - 1);
  }
  std::string* target = nullptr;
  std::string_view read_only;
  bool grown = false;
  if (writes) {
    target = StringForBitWrite(db, key, (highest_bit >> 3) + 1, &r.status, &grown);
    if (target == nullptr) return r;
  } else {
    Entry* e = db.FindTyped(key, ValueType::kString, &r.status, /*count_stats=*/true);
    if (!r.ok()) return r;
    if (e != nullptr) read_only = e->str();
  }
  r.value.replies.reserve(ops.size());
  for (const BitFieldOp& op : ops) {
    std::string_view s = target != nullptr ? std::string_view(*target) : read_only;
    if (op.kind == BitFieldOp::Kind::kGet) {
      r.value.replies.emplace_back(op.is_signed
                                       ? GetSignedField(s, op.offset, op.bits)
                                       : static_cast<int64_t>(GetField(s, op.offset, op.bits)));
      continue;
    }
    const bool incr = op.kind == BitFieldOp::Kind::kIncrBy;
    uint64_t old_bits, new_bits;
    int64_t reply;
    int overflowed;
    if (op.is_signed) {
      const int64_t old = GetSignedField(s, op.offset, op.bits);
      int64_t updated = 0;
      overflowed = incr ? SignedFieldAdd(old, op.value, op.bits, op.overflow, &updated)
                        : SignedFieldAdd(op.value, 0, op.bits, op.overflow, &updated);
      reply = incr ? updated : old;
      old_bits = static_cast<uint64_t>(old);
      new_bits = static_cast<uint64_t>(updated);
    } else {
      const uint64_t old = GetField(s, op.offset, op.bits);
      uint64_t updated = 0;
      overflowed = incr ? UnsignedFieldAdd(old, op.value, op.bits, op.overflow, &updated)
                        : UnsignedFieldAdd(static_cast<uint64_t>(op.value), 0, op.bits, op.overflow,
                                           &updated);
      reply = static_cast<int64_t>(incr ? updated : old);
      old_bits = old;
      new_bits = updated;
    }
    if (overflowed != 0 && op.overflow == BitFieldOp::Overflow::kFail) {
      r.value.replies.emplace_back(std::nullopt);
      continue;
    }
    r.value.replies.emplace_back(reply);
    SetField(target, op.offset, op.bits, new_bits);
    if (grown || old_bits != new_bits) r.value.changed = true;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

constexpr std::string_view kBitOffsetError = "ERR bit offset is not an integer or out of range";

bool ParseOffsetOrReply(CommandContext& ctx, std::string_view arg, int field_bits,
                        uint64_t* offset) {
  if (ParseBitOffset(arg, field_bits, ctx.server.proto_max_bulk_len(), offset)) {
    return true;
  }
  ctx.reply.Error(kBitOffsetError);
  return false;
}

void CmdSetBit(CommandContext& ctx) {
  uint64_t offset = 0;
  if (!ParseOffsetOrReply(ctx, ctx.arg(2), 0, &offset)) return;
  int64_t on = 0;
  if (!ParseInt64(ctx.arg(3), &on) || (on & ~int64_t{1}) != 0) {
    return ctx.reply.Error("ERR bit is not an integer or out of range");
  }
  Db db = ctx.db();
  auto r = OpSetBit(db, ctx.arg(1), offset, on != 0);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value.changed) {
    KeyModified(ctx, ctx.arg(1));
    NotifyKeyspaceEvent(ctx, kNotifyString, "setbit", ctx.arg(1));
  }
  ctx.reply.Integer(r.value.old_bit);
}

void CmdGetBit(CommandContext& ctx) {
  uint64_t offset = 0;
  if (!ParseOffsetOrReply(ctx, ctx.arg(2), 0, &offset)) return;
  Db db = ctx.db();
  auto r = OpGetBit(db, ctx.arg(1), offset);
  if (!r.ok()) return ctx.reply.Error(r.status);
  ctx.reply.Integer(r.value);
}

// BYTE | BIT as the last argument of BITCOUNT / BITPOS.
bool ParseRangeUnit(std::string_view arg, bool* in_bits) {
  if (EqualsIgnoreCase(arg, "bit")) {
    *in_bits = true;
  } else if (EqualsIgnoreCase(arg, "byte")) {
    *in_bits = false;
  } else {
    return false;
  }
  return true;
}

// BITCOUNT key [start end [BYTE|BIT]]. Redis reads the key before its arguments: an absent key
// answers 0 whatever follows.
void CmdBitCount(CommandContext& ctx) {
  Db db = ctx.db();
  auto value = OpGet(db, ctx.arg(1));
  if (!value.ok()) return ctx.reply.Error(value.status);
  if (!value.value) return ctx.reply.Integer(0);
  std::optional<BitRange> range;
  if (ctx.argc() == 4 || ctx.argc() == 5) {
    BitRange& r = range.emplace();
    int64_t end = 0;
    if (!ParseInt64(ctx.arg(2), &r.start) || !ParseInt64(ctx.arg(3), &end)) {
      return ctx.reply.Error(Status::kNotInteger);
    }
    r.end = end;
    if (r.start < 0 && end < 0 && r.start > end) return ctx.reply.Integer(0);
    if (ctx.argc() == 5 && !ParseRangeUnit(ctx.arg(4), &r.in_bits)) {
      return ctx.reply.Error(Status::kSyntax);
    }
  } else if (ctx.argc() != 2) {
    return ctx.reply.Error(Status::kSyntax);
  }
  ctx.reply.Integer(CountBits(*value.value, range));
}

// BITPOS key bit [start [end [BYTE|BIT]]].
void CmdBitPos(CommandContext& ctx) {
  int64_t bit = 0;
  if (!ParseInt64(ctx.arg(2), &bit)) return ctx.reply.Error(Status::kNotInteger);
  if (bit != 0 && bit != 1) return ctx.reply.Error("ERR The bit argument must be 1 or 0.");
  Db db = ctx.db();
  auto value = OpGet(db, ctx.arg(1));
  if (!value.ok()) return ctx.reply.Error(value.status);
  // An absent key is an infinite run of zeros.
  if (!value.value) return ctx.reply.Integer(bit ? -1 : 0);
  std::optional<BitRange> range;
  if (ctx.argc() >= 4 && ctx.argc() <= 6) {
    BitRange& r = range.emplace();
    if (!ParseInt64(ctx.arg(3), &r.start)) return ctx.reply.Error(Status::kNotInteger);
    if (ctx.argc() == 6 && !ParseRangeUnit(ctx.arg(5), &r.in_bits)) {
      return ctx.reply.Error(Status::kSyntax);
    }
    if (ctx.argc() >= 5) {
      int64_t end = 0;
      if (!ParseInt64(ctx.arg(4), &end)) return ctx.reply.Error(Status::kNotInteger);
      r.end = end;
    }
  } else if (ctx.argc() != 3) {
    return ctx.reply.Error(Status::kSyntax);
  }
  ctx.reply.Integer(FindBit(*value.value, static_cast<int>(bit), range));
}

// BITOP AND|OR|XOR|NOT destkey key [key ...]
void CmdBitOp(CommandContext& ctx) {
  std::string_view name = ctx.arg(1);
  BitOp op;
  if (EqualsIgnoreCase(name, "and")) {
    op = BitOp::kAnd;
  } else if (EqualsIgnoreCase(name, "or")) {
    op = BitOp::kOr;
  } else if (EqualsIgnoreCase(name, "xor")) {
    op = BitOp::kXor;
  } else if (EqualsIgnoreCase(name, "not")) {
    op = BitOp::kNot;
  } else {
    return ctx.reply.Error(Status::kSyntax);
  }
  if (op == BitOp::kNot && ctx.argc() != 4) {
    return ctx.reply.Error("ERR BITOP NOT must be called with a single source key.");
  }
  Db db = ctx.db();
  std::string_view dest = ctx.arg(2);
  auto r =
      OpBitOp(db, op, dest, std::vector<std::string_view>(ctx.args.begin() + 3, ctx.args.end()));
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value.length > 0) {
    KeyModified(ctx, dest);
    NotifyKeyspaceEvent(ctx, kNotifyString, "set", dest);
  } else if (r.value.deleted) {
    KeyModified(ctx, dest);
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", dest);
  }
  ctx.reply.Integer(r.value.length);
}

// Redis' getBitfieldTypeFromArgument: i1..i64 or u1..u63.
bool ParseFieldType(std::string_view arg, bool* is_signed, int* bits) {
  if (arg.empty() || (arg[0] != 'i' && arg[0] != 'u')) return false;
  *is_signed = arg[0] == 'i';
  int64_t n = 0;
  if (!ParseInt64(arg.substr(1), &n) || n < 1 || n > (*is_signed ? 64 : 63)) return false;
  *bits = static_cast<int>(n);
  return true;
}

// BITFIELD and BITFIELD_RO. Every subcommand is parsed (and any error answered) before the key
// is touched, as Redis does.
template <bool kReadOnlyCommand>
void CmdBitField(CommandContext& ctx) {
  std::vector<BitFieldOp> ops;
  BitFieldOp::Overflow overflow = BitFieldOp::Overflow::kWrap;
  bool writes = false;
  for (size_t j = 2; j < ctx.argc(); ++j) {
    const size_t remaining = ctx.argc() - j - 1;
    std::string_view sub = ctx.arg(j);
    BitFieldOp op;
    if (EqualsIgnoreCase(sub, "get") && remaining >= 2) {
      op.kind = BitFieldOp::Kind::kGet;
    } else if (EqualsIgnoreCase(sub, "set") && remaining >= 3) {
      op.kind = BitFieldOp::Kind::kSet;
    } else if (EqualsIgnoreCase(sub, "incrby") && remaining >= 3) {
      op.kind = BitFieldOp::Kind::kIncrBy;
    } else if (EqualsIgnoreCase(sub, "overflow") && remaining >= 1) {
      std::string_view mode = ctx.arg(++j);
      if (EqualsIgnoreCase(mode, "wrap")) {
        overflow = BitFieldOp::Overflow::kWrap;
      } else if (EqualsIgnoreCase(mode, "sat")) {
        overflow = BitFieldOp::Overflow::kSat;
      } else if (EqualsIgnoreCase(mode, "fail")) {
        overflow = BitFieldOp::Overflow::kFail;
      } else {
        return ctx.reply.Error("ERR Invalid OVERFLOW type specified");
      }
      continue;
    } else {
      return ctx.reply.Error(Status::kSyntax);
    }
    if (!ParseFieldType(ctx.arg(j + 1), &op.is_signed, &op.bits)) {
      return ctx.reply.Error(
          "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "
          "but i64 is.");
    }
    if (!ParseOffsetOrReply(ctx, ctx.arg(j + 2), op.bits, &op.offset)) return;
    if (op.kind != BitFieldOp::Kind::kGet) {
      writes = true;
      if (!ParseInt64(ctx.arg(j + 3), &op.value)) return ctx.reply.Error(Status::kNotInteger);
    }
    op.overflow = overflow;
    ops.push_back(op);
    j += op.kind == BitFieldOp::Kind::kGet ? 2 : 3;
  }
  if (kReadOnlyCommand && writes) {
    return ctx.reply.Error("ERR BITFIELD_RO only supports the GET subcommand");
  }
  Db db = ctx.db();
  auto r = OpBitField(db, ctx.arg(1), ops);
  if (!r.ok()) return ctx.reply.Error(r.status);
  if (r.value.changed) {
    KeyModified(ctx, ctx.arg(1));
    NotifyKeyspaceEvent(ctx, kNotifyString, "setbit", ctx.arg(1));
  }
  ctx.reply.Array(r.value.replies.size());
  for (const auto& v : r.value.replies) {
    if (v) {
      ctx.reply.Integer(*v);
    } else {
      ctx.reply.Null();
    }
  }
}

}  // namespace

// Flags, arities and key positions as Redis 7.0's command table (COMMAND INFO).
void RegisterBitmapFamily(Registry& registry) {
  constexpr uint32_t kWriteM = kWrite | kDenyOom;
  static constexpr CommandRow kCommands[] = {
      {"setbit", kWriteM, 4, 1, 1, 1, CmdSetBit},
      {"getbit", kReadOnly | kFast, 3, 1, 1, 1, CmdGetBit},
      {"bitcount", kReadOnly, -2, 1, 1, 1, CmdBitCount},
      {"bitpos", kReadOnly, -3, 1, 1, 1, CmdBitPos},
      {"bitop", kWriteM, -4, 2, -1, 1, CmdBitOp},
      {"bitfield", kWriteM, -2, 1, 1, 1, CmdBitField<false>},
      {"bitfield_ro", kReadOnly | kFast, -2, 1, 1, 1, CmdBitField<true>},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
