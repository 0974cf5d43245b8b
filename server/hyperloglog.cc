#include "server/hyperloglog.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace rowcached::server::hll {

namespace {

constexpr int kQ = 64 - kPrecision;  // hash bits left for the run of zeros
constexpr uint64_t kIndexMask = kRegisters - 1;
constexpr uint64_t kHashSeed = 0xadc83b19;
constexpr size_t kEncodingOffset = 4;
constexpr size_t kCardOffset = 8;
constexpr uint8_t kCacheStale = 0x80;  // in the cardinality's last byte
constexpr uint8_t kRegisterMask = 63;

// Sparse opcodes (see the header comment).
constexpr int kZeroMaxLen = 64;
constexpr int kXZeroMaxLen = 16384;
constexpr int kValMaxValue = 32;
constexpr int kValMaxLen = 4;

bool IsZero(uint8_t op) { return (op & 0xc0) == 0x00; }
bool IsXZero(uint8_t op) { return (op & 0xc0) == 0x40; }
int ZeroLen(uint8_t op) { return (op & 0x3f) + 1; }
int XZeroLen(const uint8_t* op) { return (((op[0] & 0x3f) << 8) | op[1]) + 1; }
int ValValue(uint8_t op) { return ((op >> 2) & 0x1f) + 1; }
int ValLen(uint8_t op) { return (op & 0x3) + 1; }
uint8_t ZeroOp(int len) { return static_cast<uint8_t>(len - 1); }
uint8_t ValOp(int value, int len) {
  return static_cast<uint8_t>(0x80 | ((value - 1) << 2) | (len - 1));
}
// Writes a run of `len` zero registers as ZERO or, above ZERO's reach, XZERO. Returns the bytes.
int PutZeroRun(uint8_t* out, int len) {
  if (len <= kZeroMaxLen) {
    out[0] = ZeroOp(len);
    return 1;
  }
  out[0] = static_cast<uint8_t>(0x40 | ((len - 1) >> 8));
  out[1] = static_cast<uint8_t>((len - 1) & 0xff);
  return 2;
}

uint8_t* Bytes(std::string* s) { return reinterpret_cast<uint8_t*>(s->data()); }
const uint8_t* Bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Dense registers: register i occupies bits [6i, 6i+6) of the array, least significant first.
// The last register ends exactly at the array's end, so the second byte is read only when the
// register spans two bytes.
uint8_t GetDense(const uint8_t* regs, int index) {
  size_t bit = static_cast<size_t>(index) * 6;
  size_t byte = bit / 8;
  unsigned shift = bit % 8;
  unsigned v = regs[byte] >> shift;
  if (shift > 2) v |= static_cast<unsigned>(regs[byte + 1]) << (8 - shift);
  return static_cast<uint8_t>(v & kRegisterMask);
}

void SetDense(uint8_t* regs, int index, uint8_t value) {
  size_t bit = static_cast<size_t>(index) * 6;
  size_t byte = bit / 8;
  unsigned shift = bit % 8;
  regs[byte] = static_cast<uint8_t>((regs[byte] & ~(kRegisterMask << shift)) | (value << shift));
  if (shift > 2) {
    unsigned high = 8 - shift;
    regs[byte + 1] =
        static_cast<uint8_t>((regs[byte + 1] & ~(kRegisterMask >> high)) | (value >> high));
  }
}

// The register an element lands in and the value it offers: 1 + the number of trailing zeros
// of the hash bits above the index, a sentinel bit bounding it at kQ + 1.
int RegisterOf(std::string_view element, uint8_t* value) {
  uint64_t hash = MurmurHash64A(element, kHashSeed);
  int index = static_cast<int>(hash & kIndexMask);
  hash >>= kPrecision;
  hash |= uint64_t{1} << kQ;
  *value = static_cast<uint8_t>(std::countr_zero(hash) + 1);
  return index;
}

int DenseSet(std::string* hll, int index, uint8_t value) {
  uint8_t* regs = Bytes(hll) + kHeaderSize;
  if (GetDense(regs, index) >= value) return 0;
  SetDense(regs, index, value);
  return 1;
}

// The general sparse update: raise register `index` to `value`, splitting the opcode that
// covers it and merging equal neighbours afterwards. Mirrors the order of Redis' hllSparseSet
// step by step, since the resulting bytes must be the same.
int SparseSet(std::string* hll, int index, uint8_t value, size_t sparse_max_bytes) {
  if (value > kValMaxValue) {
    if (!ToDense(hll)) return -1;
    return DenseSet(hll, index, value);
  }
  uint8_t* base = Bytes(hll);
  const size_t size = hll->size();
  const size_t start = kHeaderSize;
  const size_t end = size;

  // Find the opcode covering `index`: it spans registers [first, first + span).
  size_t pos = start;
  size_t prev = SIZE_MAX;  // the opcode before it, where merging starts
  long first = 0;
  long span = 0;
  while (pos < end) {
    size_t oplen = 1;
    if (IsZero(base[pos])) {
      span = ZeroLen(base[pos]);
    } else if (IsXZero(base[pos])) {
      if (pos + 1 >= end) return -1;
      span = XZeroLen(base + pos);
      oplen = 2;
    } else {
      span = ValLen(base[pos]);
    }
    if (index <= first + span - 1) break;
    prev = pos;
    pos += oplen;
    first += span;
  }
  if (span == 0 || pos >= end) return -1;

  const uint8_t op = base[pos];
  const bool is_zero = IsZero(op);
  const bool is_xzero = IsXZero(op);
  const bool is_val = !is_zero && !is_xzero;
  const size_t oplen = is_xzero ? 2 : 1;
  const size_t next = pos + oplen < end ? pos + oplen : SIZE_MAX;

  bool rewritten_in_place = false;
  if (is_val) {
    if (ValValue(op) >= value) return 0;
    if (span == 1) {
      base[pos] = ValOp(value, 1);
      rewritten_in_place = true;
    }
  } else if (is_zero && span == 1) {
    base[pos] = ValOp(value, 1);
    rewritten_in_place = true;
  }

  if (!rewritten_in_place) {
    // Replace the opcode by up to three: the run before `index`, the new value, the run after.
    uint8_t seq[5];
    int n = 0;
    const long last = first + span - 1;
    if (is_val) {
      const int old = ValValue(op);
      if (index != first) seq[n++] = ValOp(old, static_cast<int>(index - first));
      seq[n++] = ValOp(value, 1);
      if (index != last) seq[n++] = ValOp(old, static_cast<int>(last - index));
    } else {
      if (index != first) n += PutZeroRun(seq + n, static_cast<int>(index - first));
      seq[n++] = ValOp(value, 1);
      if (index != last) n += PutZeroRun(seq + n, static_cast<int>(last - index));
    }
    const long delta = n - static_cast<long>(oplen);
    if (delta > 0 && size + delta > sparse_max_bytes) {
      if (!ToDense(hll)) return -1;
      return DenseSet(hll, index, value);
    }
    if (delta > 0) {
      hll->resize(size + delta);
      base = Bytes(hll);
    }
    if (delta != 0 && next != SIZE_MAX) std::memmove(base + next + delta, base + next, end - next);
    if (delta < 0) hll->resize(size + delta);
    base = Bytes(hll);
    std::memcpy(base + pos, seq, n);
  }

  // Merge adjacent VAL opcodes of equal value around the change, scanning up to five opcodes
  // from the one before it (Redis' bound; the result depends on it).
  size_t p = prev != SIZE_MAX ? prev : start;
  size_t stop = hll->size();
  int scan = 5;
  while (p < stop && scan-- > 0) {
    if (IsXZero(base[p])) {
      p += 2;
      continue;
    }
    if (IsZero(base[p])) {
      ++p;
      continue;
    }
    if (p + 1 < stop && !IsZero(base[p + 1]) && !IsXZero(base[p + 1])) {
      const int v = ValValue(base[p]);
      const int len = ValLen(base[p]) + ValLen(base[p + 1]);
      if (v == ValValue(base[p + 1]) && len <= kValMaxLen) {
        base[p + 1] = ValOp(v, len);
        std::memmove(base + p, base + p + 1, stop - p - 1);
        hll->resize(--stop);
        base = Bytes(hll);
        continue;  // the merged opcode may merge again with the next one
      }
    }
    ++p;
  }
  InvalidateCache(hll);
  return 1;
}

// Ertl's sigma and tau series of the improved raw estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017), iterated until the double stops changing.
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  double previous;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (previous != z);
  return z;
}

double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  double previous;
  do {
    x = std::sqrt(x);
    previous = z;
    y *= 0.5;
    z -= std::pow(1.0 - x, 2) * y;
  } while (previous != z);
  return z / 3.0;
}

// histogram[v] = number of registers holding v.
using Histogram = int[64];

uint64_t EstimateHistogram(const Histogram& histogram) {
  constexpr double kAlphaInf = 0.721347520444481703680;  // 1 / (2 ln 2)
  const double m = kRegisters;
  double z = m * Tau((m - histogram[kQ + 1]) / m);
  for (int j = kQ; j >= 1; --j) {
    z += histogram[j];
    z *= 0.5;
  }
  z += m * Sigma(histogram[0] / m);
  return static_cast<uint64_t>(std::llroundl(kAlphaInf * m * m / z));
}

// Calls fn(first_register, run_length, value) for each sparse opcode; false when an opcode is
// cut short. Does not check the total.
template <typename Fn>
bool ForEachSparseRun(std::string_view hll, Fn fn) {
  const uint8_t* p = Bytes(hll) + kHeaderSize;
  const uint8_t* end = Bytes(hll) + hll.size();
  long index = 0;
  while (p < end) {
    int len, value = 0;
    if (IsZero(*p)) {
      len = ZeroLen(*p);
      ++p;
    } else if (IsXZero(*p)) {
      if (p + 1 >= end) return false;
      len = XZeroLen(p);
      p += 2;
    } else {
      len = ValLen(*p);
      value = ValValue(*p);
      ++p;
    }
    if (!fn(index, len, value)) return false;
    index += len;
  }
  return true;
}

}  // namespace

uint64_t MurmurHash64A(std::string_view data, uint64_t seed) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  const uint8_t* p = Bytes(data);
  const size_t len = data.size();
  uint64_t h = seed ^ (len * m);
  const uint8_t* words_end = p + (len & ~size_t{7});
  for (; p != words_end; p += 8) {
    uint64_t k = 0;
    for (int i = 7; i >= 0; --i) k = (k << 8) | p[i];
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const size_t tail = len & 7;
  if (tail != 0) {
    for (size_t i = tail; i-- > 0;) h ^= static_cast<uint64_t>(p[i]) << (8 * i);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

bool IsHll(std::string_view s) {
  if (s.size() < kHeaderSize || s.substr(0, 4) != "HYLL") return false;
  const uint8_t encoding = static_cast<uint8_t>(s[kEncodingOffset]);
  if (encoding > kEncodingSparse) return false;
  return encoding != kEncodingDense || s.size() == kDenseSize;
}

bool IsDense(std::string_view hll) {
  return static_cast<uint8_t>(hll[kEncodingOffset]) == kEncodingDense;
}

std::string NewHll() {
  std::string s(kHeaderSize + 2, '\0');
  std::memcpy(s.data(), "HYLL", 4);
  s[kEncodingOffset] = static_cast<char>(kEncodingSparse);
  PutZeroRun(Bytes(&s) + kHeaderSize, kXZeroMaxLen);
  return s;
}

bool CachedCardinality(std::string_view hll, uint64_t* card) {
  const uint8_t* c = Bytes(hll) + kCardOffset;
  if (c[7] & kCacheStale) return false;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | c[i];
  *card = v;
  return true;
}

void SetCachedCardinality(std::string* hll, uint64_t card) {
  uint8_t* c = Bytes(hll) + kCardOffset;
  for (int i = 0; i < 8; ++i) c[i] = static_cast<uint8_t>(card >> (8 * i));
}

void InvalidateCache(std::string* hll) { Bytes(hll)[kCardOffset + 7] |= kCacheStale; }

int SetRegister(std::string* hll, int index, uint8_t value, size_t sparse_max_bytes) {
  if (IsDense(*hll)) return DenseSet(hll, index, value);
  return SparseSet(hll, index, value, sparse_max_bytes);
}

int Add(std::string* hll, std::string_view element, size_t sparse_max_bytes) {
  uint8_t value;
  int index = RegisterOf(element, &value);
  return SetRegister(hll, index, value, sparse_max_bytes);
}

bool ToDense(std::string* hll) {
  if (IsDense(*hll)) return true;
  std::string dense(kDenseSize, '\0');
  std::memcpy(dense.data(), hll->data(), kHeaderSize);
  dense[kEncodingOffset] = static_cast<char>(kEncodingDense);
  uint8_t* regs = Bytes(&dense) + kHeaderSize;
  long covered = 0;
  bool ok = ForEachSparseRun(*hll, [&](long first, int len, int value) {
    covered = first + len;
    if (value == 0) return true;
    if (covered > kRegisters) return false;
    for (long i = first; i < covered; ++i) SetDense(regs, static_cast<int>(i), value);
    return true;
  });
  if (!ok || covered != kRegisters) return false;
  *hll = std::move(dense);
  return true;
}

bool Estimate(std::string_view hll, uint64_t* card) {
  Histogram histogram = {};
  if (IsDense(hll)) {
    const uint8_t* regs = Bytes(hll) + kHeaderSize;
    for (int i = 0; i < kRegisters; ++i) ++histogram[GetDense(regs, i)];
  } else {
    long covered = 0;
    bool ok = ForEachSparseRun(hll, [&](long first, int len, int value) {
      histogram[value] += len;
      covered = first + len;
      return true;
    });
    if (!ok || covered != kRegisters) return false;
  }
  *card = EstimateHistogram(histogram);
  return true;
}

uint64_t EstimateRegisters(const uint8_t* registers) {
  Histogram histogram = {};
  for (int i = 0; i < kRegisters; ++i) ++histogram[registers[i] & kRegisterMask];
  return EstimateHistogram(histogram);
}

bool MergeRegisters(std::string_view hll, uint8_t* registers) {
  if (IsDense(hll)) {
    const uint8_t* regs = Bytes(hll) + kHeaderSize;
    for (int i = 0; i < kRegisters; ++i) {
      uint8_t v = GetDense(regs, i);
      if (v > registers[i]) registers[i] = v;
    }
    return true;
  }
  long covered = 0;
  bool ok = ForEachSparseRun(hll, [&](long first, int len, int value) {
    covered = first + len;
    if (value == 0) return true;
    if (covered > kRegisters) return false;
    for (long i = first; i < covered; ++i) {
      if (value > registers[i]) registers[i] = static_cast<uint8_t>(value);
    }
    return true;
  });
  return ok && covered == kRegisters;
}

uint8_t DenseRegister(std::string_view hll, int index) {
  return GetDense(Bytes(hll) + kHeaderSize, index);
}

std::string DescribeSparse(std::string_view hll) {
  std::string out;
  const uint8_t* p = Bytes(hll) + kHeaderSize;
  const uint8_t* end = Bytes(hll) + hll.size();
  while (p < end) {
    if (IsZero(*p)) {
      out += "z:" + std::to_string(ZeroLen(*p)) + " ";
      ++p;
    } else if (IsXZero(*p)) {
      if (p + 1 >= end) break;
      out += "Z:" + std::to_string(XZeroLen(p)) + " ";
      p += 2;
    } else {
      out += "v:" + std::to_string(ValValue(*p)) + "," + std::to_string(ValLen(*p)) + " ";
      ++p;
    }
  }
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace rowcached::server::hll
