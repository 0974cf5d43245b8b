// The byte-level pieces of Redis' RDB format that are not the file's own structure: the CRC64
// trailer, LZF string compression, and the packed containers Redis embeds in a dump as opaque
// strings (listpack, ziplist, intset, zipmap).
//
// The decoders check every length against the blob before reading (a dump is untrusted input):
// a malformed blob makes them return false, never read out of bounds.
//
// Thread-safety: every function is pure (the CRC tables are built once, thread-safely).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace rowcached::server::rdb {

// Redis' crc64 (the "Jones" polynomial, reflected, no final xor): crc64(0, "123456789") is
// 0xe9c6d914c4b8d9ca. Chain calls by passing the previous result as `crc`.
uint64_t Crc64(uint64_t crc, const void* data, size_t len);

// LZF (liblzf 3.6, the format Redis embeds). Compress returns the compressed size, or 0 when
// the result would not fit in `out_capacity` bytes (Redis then stores the string raw).
size_t LzfCompress(std::string_view in, char* out, size_t out_capacity);
// True when `in` decompresses to exactly `out_len` bytes.
bool LzfDecompress(std::string_view in, char* out, size_t out_len);

// One element of a listpack or ziplist: a string, or an integer the container stored as such.
struct PackedElement {
  bool is_int = false;
  int64_t integer = 0;
  std::string_view str;

  // The element as Redis returns it: `str`, or `integer` in decimal written into `buf`.
  std::string_view Text(char (&buf)[24]) const;
};

// Visitors return false to stop the walk; the decoder then returns false too.
using PackedVisitor = std::function<bool(const PackedElement&)>;

// Walks every element of a listpack (Redis 7 lists, hashes, sorted sets) or a ziplist (the
// same containers in RDB files of Redis 2.6 to 6.2). False when the blob is malformed.
bool DecodeListpack(std::string_view blob, const PackedVisitor& visit);
bool DecodeZiplist(std::string_view blob, const PackedVisitor& visit);
// An intset (integer-only sets): every integer in stored (ascending) order.
bool DecodeIntset(std::string_view blob, const std::function<bool(int64_t)>& visit);
// A zipmap (hashes in RDB files of Redis before 2.6): every field and value.
bool DecodeZipmap(std::string_view blob,
                  const std::function<bool(std::string_view, std::string_view)>& visit);

// Builds one listpack (Redis 7 quicklist nodes): elements that are integers in canonical form
// are stored as integers, the rest as strings, as Redis' lpAppend does.
class ListpackBuilder {
 public:
  ListpackBuilder() { Clear(); }
  // The listpack's size once Finish adds its terminator.
  size_t bytes() const { return body_.size() + 1; }
  size_t count() const { return count_; }
  void Append(std::string_view element);
  // The finished listpack; the builder is left empty for the next one.
  std::string Finish();
  void Clear();

 private:
  std::string body_;  // header and entries, no terminator yet
  size_t count_ = 0;
};

// An intset of `sorted` (ascending, distinct), each stored in the narrowest width (2, 4 or 8
// bytes) that holds them all, as Redis' intset does.
std::string EncodeIntset(const std::vector<int64_t>& sorted);

}  // namespace rowcached::server::rdb
