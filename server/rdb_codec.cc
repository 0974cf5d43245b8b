#include "server/rdb_codec.h"

#include <lzf.h>

#include <array>
#include <charconv>
#include <cstring>
#include <limits>

#include "server/util.h"

namespace rowcached::server::rdb {
namespace {

// Slice-by-8 tables: table[0] is the classic byte-at-a-time table of the reflected polynomial,
// table[k] advances a byte through k further zero bytes. Loading a dump checks the CRC of the
// whole file, so this runs at memory speed rather than a byte per loop.
struct Crc64Tables {
  std::array<std::array<uint64_t, 256>, 8> t{};
  Crc64Tables() {
    constexpr uint64_t kReflectedPoly = 0x95AC9329AC4BC9B5ull;  // 0xad93d23594c935a9 reflected
    for (uint64_t n = 0; n < 256; ++n) {
      uint64_t c = n;
      for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ kReflectedPoly : c >> 1;
      t[0][n] = c;
    }
    for (size_t k = 1; k < 8; ++k) {
      for (size_t n = 0; n < 256; ++n) t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xFF];
    }
  }
};

uint64_t LoadLe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Sign-extends the low `bits` bits of `v`.
int64_t SignExtend(uint64_t v, int bits) {
  uint64_t sign = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((v ^ sign) - sign);
}

// Bytes of a listpack entry's trailing back-length for an entry of `len` bytes (lpEncodeBacklen).
size_t ListpackBacklenSize(size_t len) {
  if (len <= 127) return 1;
  if (len < 16383) return 2;
  if (len < 2097151) return 3;
  if (len < 268435455) return 4;
  return 5;
}

// A listpack or ziplist: `header` bytes starting with its total size (u32), which must be the
// blob's, then entries up to a 0xFF terminator. Sets *p to the first entry and *end past the
// blob.
bool OpenPacked(std::string_view blob, size_t header, const uint8_t** p, const uint8_t** end) {
  const auto* begin = reinterpret_cast<const uint8_t*>(blob.data());
  if (blob.size() < header + 1 || LoadLe(begin, 4) != blob.size()) return false;
  *p = begin + header;
  *end = begin + blob.size();
  return true;
}

}  // namespace

uint64_t Crc64(uint64_t crc, const void* data, size_t len) {
  static const Crc64Tables tables;
  const auto& t = tables.t;
  const auto* p = static_cast<const uint8_t*>(data);
  while (len >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // little-endian host (x86-64, arm64)
    crc ^= word;
    crc = t[7][crc & 0xFF] ^ t[6][(crc >> 8) & 0xFF] ^ t[5][(crc >> 16) & 0xFF] ^
          t[4][(crc >> 24) & 0xFF] ^ t[3][(crc >> 32) & 0xFF] ^ t[2][(crc >> 40) & 0xFF] ^
          t[1][(crc >> 48) & 0xFF] ^ t[0][crc >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return crc;
}

size_t LzfCompress(std::string_view in, char* out, size_t out_capacity) {
  if (in.size() > std::numeric_limits<unsigned>::max() ||
      out_capacity > std::numeric_limits<unsigned>::max()) {
    return 0;
  }
  return lzf_compress(in.data(), static_cast<unsigned>(in.size()), out,
                      static_cast<unsigned>(out_capacity));
}

bool LzfDecompress(std::string_view in, char* out, size_t out_len) {
  if (in.size() > std::numeric_limits<unsigned>::max() ||
      out_len > std::numeric_limits<unsigned>::max()) {
    return false;
  }
  if (out_len == 0) return false;  // Redis never compresses an empty string
  return lzf_decompress(in.data(), static_cast<unsigned>(in.size()), out,
                        static_cast<unsigned>(out_len)) == out_len;
}

std::string_view PackedElement::Text(char (&buf)[24]) const {
  if (!is_int) return str;
  auto r = std::to_chars(buf, buf + sizeof buf, integer);
  return {buf, static_cast<size_t>(r.ptr - buf)};
}

bool DecodeListpack(std::string_view blob, const PackedVisitor& visit) {
  const uint8_t *p, *end;  // header: total bytes (u32), element count (u16)
  if (!OpenPacked(blob, 6, &p, &end)) return false;
  while (true) {
    if (p >= end) return false;
    uint8_t b = *p;
    if (b == 0xFF) return p + 1 == end;
    PackedElement e;
    size_t header = 1;  // encoding bytes
    size_t data = 0;    // string bytes or integer bytes after the encoding
    auto need = [&](size_t n) { return static_cast<size_t>(end - p) >= n; };
    if ((b & 0x80) == 0) {
      e.is_int = true;
      e.integer = b & 0x7F;
    } else if ((b & 0xC0) == 0x80) {
      data = b & 0x3F;
    } else if ((b & 0xE0) == 0xC0) {
      if (!need(2)) return false;
      header = 2;
      e.is_int = true;
      e.integer = SignExtend((uint64_t{b & 0x1Fu} << 8) | p[1], 13);
    } else if ((b & 0xF0) == 0xE0) {
      if (!need(2)) return false;
      header = 2;
      data = (size_t{b & 0x0Fu} << 8) | p[1];
    } else if (b == 0xF0) {
      if (!need(5)) return false;
      header = 5;
      data = LoadLe(p + 1, 4);
    } else {
      int bytes = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : b == 0xF4 ? 8 : 0;
      if (bytes == 0) return false;
      if (!need(1 + bytes)) return false;
      e.is_int = true;
      e.integer = SignExtend(LoadLe(p + 1, bytes), bytes * 8);
      header = 1 + bytes;
    }
    size_t entry = header + (e.is_int ? 0 : data);
    size_t total = entry + ListpackBacklenSize(entry);
    if (total < entry || !need(total)) return false;
    if (!e.is_int) e.str = {reinterpret_cast<const char*>(p + header), data};
    if (!visit(e)) return false;
    p += total;
  }
}

bool DecodeZiplist(std::string_view blob, const PackedVisitor& visit) {
  const uint8_t *p, *end;  // header: total bytes (u32), tail offset (u32), count (u16)
  if (!OpenPacked(blob, 10, &p, &end)) return false;
  while (true) {
    if (p >= end) return false;
    if (*p == 0xFF) return p + 1 == end;
    auto need = [&](size_t n) { return static_cast<size_t>(end - p) >= n; };
    // The previous entry's length: one byte, or 0xFE and four bytes.
    size_t prevlen_size = *p < 0xFE ? 1 : 5;
    if (!need(prevlen_size + 1)) return false;
    p += prevlen_size;
    uint8_t b = *p;
    PackedElement e;
    size_t header = 1;
    size_t data = 0;
    switch (b & 0xC0) {
      case 0x00:
        data = b & 0x3F;
        break;
      case 0x40:
        if (!need(2)) return false;
        header = 2;
        data = (size_t{b & 0x3Fu} << 8) | p[1];
        break;
      case 0x80:
        if (!need(5)) return false;
        header = 5;
        data = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
        break;
      default: {
        e.is_int = true;
        int bytes = 0;
        if (b == 0xC0) {
          bytes = 2;
        } else if (b == 0xD0) {
          bytes = 4;
        } else if (b == 0xE0) {
          bytes = 8;
        } else if (b == 0xF0) {
          bytes = 3;
        } else if (b == 0xFE) {
          bytes = 1;
        } else if (b >= 0xF1 && b <= 0xFD) {
          e.integer = (b & 0x0F) - 1;  // 4-bit immediate 0..12
        } else {
          return false;
        }
        if (!need(1 + bytes)) return false;
        if (bytes > 0) e.integer = SignExtend(LoadLe(p + 1, bytes), bytes * 8);
        header = 1 + bytes;
      }
    }
    if (!need(header + data)) return false;
    if (!e.is_int) e.str = {reinterpret_cast<const char*>(p + header), data};
    if (!visit(e)) return false;
    p += header + data;
  }
}

bool DecodeIntset(std::string_view blob, const std::function<bool(int64_t)>& visit) {
  const auto* p = reinterpret_cast<const uint8_t*>(blob.data());
  if (blob.size() < 8) return false;
  uint64_t width = LoadLe(p, 4);
  uint64_t count = LoadLe(p + 4, 4);
  if (width != 2 && width != 4 && width != 8) return false;
  if (blob.size() != 8 + width * count) return false;
  for (uint64_t i = 0; i < count; ++i) {
    int bytes = static_cast<int>(width);
    if (!visit(SignExtend(LoadLe(p + 8 + i * width, bytes), bytes * 8))) return false;
  }
  return true;
}

bool DecodeZipmap(std::string_view blob,
                  const std::function<bool(std::string_view, std::string_view)>& visit) {
  const auto* p = reinterpret_cast<const uint8_t*>(blob.data());
  const uint8_t* end = p + blob.size();
  if (blob.empty()) return false;
  ++p;  // element count (saturates at 254: not trusted)
  // One length: a byte below 254, or 254 and a 4-byte little-endian length. 255 ends the map.
  auto read_len = [&](size_t* len) {
    if (p >= end) return false;
    if (*p < 254) {
      *len = *p++;
      return true;
    }
    if (*p == 255 || end - p < 5) return false;
    *len = LoadLe(p + 1, 4);
    p += 5;
    return true;
  };
  while (true) {
    if (p >= end) return false;
    if (*p == 255) return p + 1 == end;
    size_t field_len, value_len;
    if (!read_len(&field_len) || static_cast<size_t>(end - p) < field_len) return false;
    std::string_view field(reinterpret_cast<const char*>(p), field_len);
    p += field_len;
    if (!read_len(&value_len) || p >= end) return false;
    size_t free_bytes = *p++;
    if (static_cast<size_t>(end - p) < value_len + free_bytes) return false;
    std::string_view value(reinterpret_cast<const char*>(p), value_len);
    p += value_len + free_bytes;
    if (!visit(field, value)) return false;
  }
}

void ListpackBuilder::Clear() {
  body_.assign(6, '\0');  // total bytes and element count, filled in by Finish
  count_ = 0;
}

void ListpackBuilder::Append(std::string_view element) {
  size_t start = body_.size();
  auto put_le = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) body_.push_back(static_cast<char>(v >> (8 * i)));
  };
  int64_t v;
  if (element.size() <= 20 && ParseInt64(element, &v)) {
    auto u = static_cast<uint64_t>(v);
    if (v >= 0 && v <= 127) {
      body_.push_back(static_cast<char>(v));
    } else if (v >= -4096 && v <= 4095) {
      uint64_t bits = u & 0x1FFF;  // 13-bit two's complement
      body_.push_back(static_cast<char>(0xC0 | (bits >> 8)));
      body_.push_back(static_cast<char>(bits & 0xFF));
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      body_.push_back('\xF1');
      put_le(u, 2);
    } else if (v >= -(1 << 23) && v < (1 << 23)) {
      body_.push_back('\xF2');
      put_le(u, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      body_.push_back('\xF3');
      put_le(u, 4);
    } else {
      body_.push_back('\xF4');
      put_le(u, 8);
    }
  } else if (element.size() < 64) {
    body_.push_back(static_cast<char>(0x80 | element.size()));
    body_.append(element);
  } else if (element.size() < 4096) {
    body_.push_back(static_cast<char>(0xE0 | (element.size() >> 8)));
    body_.push_back(static_cast<char>(element.size() & 0xFF));
    body_.append(element);
  } else {
    body_.push_back('\xF0');
    put_le(element.size(), 4);
    body_.append(element);
  }
  // The back-length: the entry's size, 7 bits a byte, most significant first, every byte but
  // the first flagged with the top bit (lpEncodeBacklen).
  size_t len = body_.size() - start;
  size_t n = ListpackBacklenSize(len);
  for (size_t i = 0; i < n; ++i) {
    auto byte = static_cast<uint8_t>((len >> (7 * (n - 1 - i))) & 127);
    if (i > 0) byte |= 128;
    body_.push_back(static_cast<char>(byte));
  }
  ++count_;
}

std::string ListpackBuilder::Finish() {
  std::string out = std::move(body_);
  out.push_back('\xFF');
  auto total = static_cast<uint32_t>(out.size());
  // Redis' LP_HDR_NUMELE_UNKNOWN (65535) when the count does not fit in 16 bits.
  auto count = static_cast<uint16_t>(count_ < 65535 ? count_ : 65535);
  std::memcpy(out.data(), &total, 4);  // little-endian host
  std::memcpy(out.data() + 4, &count, 2);
  Clear();
  return out;
}

std::string EncodeIntset(const std::vector<int64_t>& sorted) {
  uint32_t width = 2;
  for (int64_t v : sorted) {
    if (v < INT32_MIN || v > INT32_MAX) {
      width = 8;
      break;
    }
    if (v < INT16_MIN || v > INT16_MAX) width = 4;
  }
  std::string out(8 + width * sorted.size(), '\0');
  uint32_t count = static_cast<uint32_t>(sorted.size());
  std::memcpy(out.data(), &width, 4);  // little-endian host
  std::memcpy(out.data() + 4, &count, 4);
  char* p = out.data() + 8;
  for (int64_t v : sorted) {
    std::memcpy(p, &v, width);  // the low `width` bytes of a little-endian int64
    p += width;
  }
  return out;
}

}  // namespace rowcached::server::rdb
