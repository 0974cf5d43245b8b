// HyperLogLog in Redis' own string representation, so that a value written by PFADD here and one
// written by redis-server for the same elements are the same bytes (RDB/AOF and replication move
// them between the two servers unchanged).
//
// Layout (little endian where multi-byte):
//
//   +------+-----+-------+------------------+----------------------------------+
//   | HYLL | enc | 0 0 0 | cardinality (8)  | registers (dense) / opcodes      |
//   +------+-----+-------+------------------+----------------------------------+
//    4 bytes 1 byte 3 bytes  bit 63 set = stale   (sparse)
//
// 16384 registers (P = 14) of 6 bits, indexed by the low 14 bits of MurmurHash64A(element, seed
// 0xadc83b19); a register holds the position of the first set bit of the remaining 50 bits
// (1..51). The dense encoding packs the registers LSB first into 12288 bytes. The sparse
// encoding is a run-length code of opcodes:
//   ZERO   00xxxxxx            xxxxxx+1 (1..64) registers at 0
//   XZERO  01xxxxxx yyyyyyyy   the 14-bit run + 1 (1..16384) registers at 0
//   VAL    1vvvvvxx            xx+1 (1..4) registers at vvvvv+1 (1..32)
// A sparse value turns dense when a register needs a value above 32 or when a change would
// grow it past `sparse_max_bytes` (Redis' hll-sparse-max-bytes, Options::hll_sparse_max_bytes).
//
// The estimate is Ertl's improved raw estimator over the register histogram, as Redis 7.0
// computes it; the last estimate is cached in the header until the next change.
//
// Thread-safety: pure functions on caller-owned strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rowcached::server::hll {

inline constexpr int kPrecision = 14;
inline constexpr int kRegisters = 1 << kPrecision;
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kDenseSize = kHeaderSize + (kRegisters * 6 + 7) / 8;
inline constexpr uint8_t kEncodingDense = 0;
inline constexpr uint8_t kEncodingSparse = 1;

// MurmurHash64A (the 64-bit MurmurHash2) as Redis and RedisBloom compute it, reading the input as
// little endian words on every host. Redis seeds HyperLogLog hashes with 0xadc83b19.
uint64_t MurmurHash64A(std::string_view data, uint64_t seed);

// Whether `s` is a HyperLogLog as Redis' isHLLObjectOrReply accepts it: the magic, a known
// encoding, and the exact size when dense. The sparse opcodes are checked only when used.
bool IsHll(std::string_view s);

// Whether a HyperLogLog uses the dense encoding. REQUIRES: IsHll(hll).
bool IsDense(std::string_view hll);

// A new empty HyperLogLog: sparse, one XZERO opcode, cardinality 0 (18 bytes).
std::string NewHll();

// Whether the cached cardinality is current, and its value.
bool CachedCardinality(std::string_view hll, uint64_t* card);
void SetCachedCardinality(std::string* hll, uint64_t card);
void InvalidateCache(std::string* hll);

// The outcome of a register change: 1 = a register grew, 0 = nothing changed, -1 = the sparse
// opcodes are corrupt (as Redis' hllAdd).
// Adds `element`. REQUIRES: IsHll(*hll). The string may grow or turn dense.
int Add(std::string* hll, std::string_view element, size_t sparse_max_bytes);
// Raises register `index` to at least `value` (1..63). REQUIRES: IsHll(*hll).
int SetRegister(std::string* hll, int index, uint8_t value, size_t sparse_max_bytes);

// Turns a sparse value dense (the header, cache flag included, carried over); a dense one is
// left as is. False when the sparse opcodes are corrupt (the value is then unchanged).
bool ToDense(std::string* hll);

// The estimate of a HyperLogLog. False when its sparse opcodes are corrupt.
bool Estimate(std::string_view hll, uint64_t* card);
// The estimate of a plain array of kRegisters registers, one byte each (the union of several
// HyperLogLogs, see MergeRegisters).
uint64_t EstimateRegisters(const uint8_t* registers);

// registers[i] = max(registers[i], register i of `hll`), for kRegisters one-byte registers.
// False when the sparse opcodes are corrupt or do not cover exactly kRegisters registers.
bool MergeRegisters(std::string_view hll, uint8_t* registers);

// Register `index` of a dense HyperLogLog. REQUIRES: IsHll(hll) and IsDense(hll).
uint8_t DenseRegister(std::string_view hll, int index);

// PFDEBUG DECODE's text of a sparse value ("Z:16384", "z:3 v:2,1 ...").
std::string DescribeSparse(std::string_view hll);

}  // namespace rowcached::server::hll
