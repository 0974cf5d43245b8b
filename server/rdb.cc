#include "server/rdb.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <new>

#include "server/eviction_policy.h"
#include "server/hash_object.h"
#include "server/list_object.h"
#include "server/memory.h"
#include "server/rdb_codec.h"
#include "server/set_object.h"
#include "server/util.h"
#include "server/version.h"
#include "server/zset_object.h"

namespace rowcached::server {
namespace {

// Value types and opcodes of Redis 7.0's rdb.h.
enum RdbType : uint8_t {
  kTypeString = 0,
  kTypeList = 1,
  kTypeSet = 2,
  kTypeZSet = 3,
  kTypeHash = 4,
  kTypeZSet2 = 5,
  kTypeModulePreGa = 6,
  kTypeModule2 = 7,
  kTypeHashZipmap = 9,
  kTypeListZiplist = 10,
  kTypeSetIntset = 11,
  kTypeZSetZiplist = 12,
  kTypeHashZiplist = 13,
  kTypeListQuicklist = 14,
  kTypeStreamListpacks = 15,
  kTypeHashListpack = 16,
  kTypeZSetListpack = 17,
  kTypeListQuicklist2 = 18,
  kTypeStreamListpacks2 = 19,
};
enum RdbOpcode : uint8_t {
  kOpFunction2 = 245,
  kOpFunctionPreGa = 246,
  kOpModuleAux = 247,
  kOpIdle = 248,
  kOpFreq = 249,
  kOpAux = 250,
  kOpResizeDb = 251,
  kOpExpireTimeMs = 252,
  kOpExpireTime = 253,
  kOpSelectDb = 254,
  kOpEof = 255,
};
// Length prefixes: the top two bits of the first byte.
constexpr uint8_t kLen6 = 0;
constexpr uint8_t kLen14 = 1;
constexpr uint8_t kLen32 = 0x80;
constexpr uint8_t kLen64 = 0x81;
constexpr uint8_t kLenEncoded = 3;  // a special string encoding follows in the low 6 bits
constexpr uint8_t kEncInt8 = 0;
constexpr uint8_t kEncInt16 = 1;
constexpr uint8_t kEncInt32 = 2;
constexpr uint8_t kEncLzf = 3;
// Quicklist 2 node containers.
constexpr uint64_t kQuicklistPlain = 1;
constexpr uint64_t kQuicklistPacked = 2;

constexpr int kRdbVersion = 10;
constexpr char kMagic[] = "REDIS";

// ---------------------------------------------------------------------------------------------
// Writing

// Buffers the file in large chunks (few write(2) calls) and keeps the running CRC64.
class RdbWriter {
 public:
  RdbWriter(int fd, bool compress) : fd_(fd), compress_(compress) { buf_.reserve(kBufferSize); }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  uint64_t crc() const { return crc_; }

  void Byte(uint8_t b) {
    buf_.push_back(static_cast<char>(b));
    MaybeFlush();
  }
  void Raw(const void* data, size_t n) {
    buf_.append(static_cast<const char*>(data), n);
    MaybeFlush();
  }
  void Le64(uint64_t v) { Raw(&v, 8); }  // little-endian host

  void Len(uint64_t len) {
    if (len < (1 << 6)) {
      Byte(static_cast<uint8_t>(len) | (kLen6 << 6));
    } else if (len < (1 << 14)) {
      uint8_t b[2] = {static_cast<uint8_t>((len >> 8) | (kLen14 << 6)),
                      static_cast<uint8_t>(len & 0xFF)};
      Raw(b, 2);
    } else if (len <= UINT32_MAX) {
      Byte(kLen32);
      uint8_t b[4] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                      static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
      Raw(b, 4);
    } else {
      Byte(kLen64);
      uint8_t b[8];
      for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(len >> (56 - 8 * i));
      Raw(b, 8);
    }
  }

  // A string as Redis' rdbSaveRawString writes it: an integer in canonical form that fits in
  // 32 bits as int8/16/32, a string longer than 20 bytes LZF-compressed when that saves space
  // and compression is on, otherwise length and bytes.
  void String(std::string_view s) {
    int64_t v;
    if (s.size() <= 11 && ParseInt64(s, &v) && WriteEncodedInt(v)) return;
    if (compress_ && s.size() > 20 && WriteLzf(s)) return;
    Len(s.size());
    Raw(s.data(), s.size());
  }
  void IntString(int64_t v) {
    if (!WriteEncodedInt(v)) String(Int64ToString(v));
  }

  // Writes out what is buffered.
  void Flush() {
    if (buf_.empty() || !ok()) return;
    crc_ = rdb::Crc64(crc_, buf_.data(), buf_.size());
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        error_ = std::string("write failed: ") + std::strerror(errno);
        return;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    buf_.clear();
  }

 private:
  static constexpr size_t kBufferSize = 1 << 20;

  void MaybeFlush() {
    if (buf_.size() >= kBufferSize) Flush();
  }

  bool WriteEncodedInt(int64_t v) {
    uint8_t b[5];
    size_t n;
    if (v >= INT8_MIN && v <= INT8_MAX) {
      b[0] = (kLenEncoded << 6) | kEncInt8;
      b[1] = static_cast<uint8_t>(v);
      n = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      b[0] = (kLenEncoded << 6) | kEncInt16;
      b[1] = static_cast<uint8_t>(v);
      b[2] = static_cast<uint8_t>(v >> 8);
      n = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      b[0] = (kLenEncoded << 6) | kEncInt32;
      for (int i = 0; i < 4; ++i) b[1 + i] = static_cast<uint8_t>(v >> (8 * i));
      n = 5;
    } else {
      return false;
    }
    Raw(b, n);
    return true;
  }

  bool WriteLzf(std::string_view s) {
    // As rdbSaveLzfStringObject: keep it only when it saves more than 4 bytes.
    size_t capacity = s.size() - 4;
    if (lzf_scratch_.size() < capacity) lzf_scratch_.resize(capacity);
    size_t compressed = rdb::LzfCompress(s, lzf_scratch_.data(), capacity);
    if (compressed == 0) return false;
    Byte((kLenEncoded << 6) | kEncLzf);
    Len(compressed);
    Len(s.size());
    Raw(lzf_scratch_.data(), compressed);
    return true;
  }

  int fd_;
  bool compress_;
  std::string buf_;
  std::string lzf_scratch_;
  uint64_t crc_ = 0;
  std::string error_;
};

// Whether WriteRdb writes `e` (BF.* filters are not; rows only with a way to read them).
bool Writable(const Entry& e, const RdbSaveOptions& options) {
  switch (e.type()) {
    case ValueType::kBloom:
    case ValueType::kStream:
      return false;
    case ValueType::kRow:
      return static_cast<bool>(options.row_fields);
    default:
      return true;
  }
}

void WriteAux(RdbWriter& w, std::string_view key, std::string_view value) {
  w.Byte(kOpAux);
  w.String(key);
  w.String(value);
}
void WriteAuxInt(RdbWriter& w, std::string_view key, int64_t value) {
  w.Byte(kOpAux);
  w.String(key);
  w.IntString(value);
}

// The start of an aggregate: its type, key and element count.
void WriteAggregateHeader(RdbWriter& w, RdbType type, const Entry& e, size_t count) {
  w.Byte(type);
  w.String(e.key());
  w.Len(count);
}

void WriteValue(RdbWriter& w, const Entry& e, const RdbSaveOptions& options,
                std::vector<std::pair<std::string, std::string>>* row_scratch) {
  switch (e.type()) {
    case ValueType::kString:
      w.Byte(kTypeString);
      w.String(e.key());
      w.String(e.str());
      return;
    case ValueType::kList: {
      // RDB_TYPE_LIST_QUICKLIST_2, as redis-server 7.0 writes lists: listpack nodes of up to
      // 8 KB each (list-max-listpack-size -2; a larger element gets a node of its own).
      constexpr size_t kMaxNodeBytes = 8192;
      constexpr size_t kMaxNodeCount = 65535;  // a quicklist node counts in 16 bits
      const auto& list = *static_cast<const ListObject*>(e.object());
      std::vector<std::string> nodes;
      rdb::ListpackBuilder node;
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string& element = list.at(i);
        if (node.count() > 0 &&
            (node.bytes() + element.size() + 8 > kMaxNodeBytes || node.count() >= kMaxNodeCount)) {
          nodes.push_back(node.Finish());
        }
        node.Append(element);
      }
      if (node.count() > 0) nodes.push_back(node.Finish());
      WriteAggregateHeader(w, kTypeListQuicklist2, e, nodes.size());
      for (const std::string& packed : nodes) {
        w.Len(kQuicklistPacked);
        w.String(packed);
      }
      return;
    }
    case ValueType::kSet: {
      const auto& set = *static_cast<const SetObject*>(e.object());
      if (set.intset()) {
        std::vector<int64_t> ints;
        ints.reserve(set.size());
        set.ForEach([&](const SetMember& m) {
          int64_t v = 0;
          ParseInt64(m.view(), &v);  // an intset member is an integer in canonical form
          ints.push_back(v);
        });
        w.Byte(kTypeSetIntset);
        w.String(e.key());
        std::string blob = rdb::EncodeIntset(ints);
        w.Len(blob.size());  // never compressed: Redis writes intsets as plain blobs too
        w.Raw(blob.data(), blob.size());
        return;
      }
      WriteAggregateHeader(w, kTypeSet, e, set.size());
      set.ForEach([&](const SetMember& m) { w.String(m.view()); });
      return;
    }
    case ValueType::kZSet: {
      // Highest first, as Redis writes a skiplist (its loader then inserts at the head).
      const auto& zset = *static_cast<const ZSetObject*>(e.object());
      WriteAggregateHeader(w, kTypeZSet2, e, zset.size());
      for (const ZSetObject::Node* n = zset.Last(); n != nullptr; n = n->prev()) {
        w.String(n->member());
        double score = n->score();
        w.Raw(&score, 8);  // IEEE 754 little-endian, as rdbSaveBinaryDoubleValue
      }
      return;
    }
    case ValueType::kHash: {
      const auto& hash = *static_cast<const HashObject*>(e.object());
      WriteAggregateHeader(w, kTypeHash, e, hash.size());
      hash.ForEach([&](std::string_view field, std::string_view value) {
        w.String(field);
        w.String(value);
      });
      return;
    }
    case ValueType::kRow: {
      row_scratch->clear();
      options.row_fields(e, row_scratch);
      WriteAggregateHeader(w, kTypeHash, e, row_scratch->size());
      for (const auto& [field, value] : *row_scratch) {
        w.String(field);
        w.String(value);
      }
      return;
    }
    case ValueType::kStream:
    case ValueType::kBloom:
      return;  // filtered out by Writable
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

// Reads an RDB image held in memory. Every read checks the bounds; the first failure records
// a message naming the byte offset and makes every later read fail too.
class RdbReader {
 public:
  RdbReader(std::string_view bytes, std::string_view name)
      : begin_(reinterpret_cast<const uint8_t*>(bytes.data())),
        p_(begin_),
        end_(begin_ + bytes.size()),
        name_(name) {}

  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  size_t size() const { return static_cast<size_t>(end_ - begin_); }
  const uint8_t* begin() const { return begin_; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  bool Fail(const std::string& what) { return FailAt(what, offset()); }
  bool FailAt(const std::string& what, size_t at) {
    if (error_.empty())
      error_ = std::string(name_) + ": " + what + " at byte " + std::to_string(at);
    return false;
  }
  bool Truncated() {
    if (error_.empty())
      error_ = std::string(name_) + ": truncated at byte " + std::to_string(offset());
    return false;
  }

  bool Need(size_t n) { return static_cast<size_t>(end_ - p_) >= n || Truncated(); }

  bool Byte(uint8_t* b) {
    if (!Need(1)) return false;
    *b = *p_++;
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (!Need(n)) return false;
    *out = {reinterpret_cast<const char*>(p_), n};
    p_ += n;
    return true;
  }
  bool Le(int bytes, uint64_t* out) {
    if (!Need(static_cast<size_t>(bytes))) return false;
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p_[i];
    p_ += bytes;
    *out = v;
    return true;
  }

  // A length, or (with *encoded set) the special string encoding in the low bits.
  bool Len(uint64_t* len, bool* encoded = nullptr) {
    uint8_t b;
    if (!Byte(&b)) return false;
    if (encoded != nullptr) *encoded = false;
    switch (b >> 6) {
      case kLen6:
        *len = b & 0x3F;
        return true;
      case kLen14: {
        uint8_t lo;
        if (!Byte(&lo)) return false;
        *len = (uint64_t{b & 0x3Fu} << 8) | lo;
        return true;
      }
      case kLenEncoded:
        if (encoded == nullptr) return FailAt("unexpected string encoding", offset() - 1);
        *encoded = true;
        *len = b & 0x3F;
        return true;
      default:
        break;
    }
    int bytes = b == kLen32 ? 4 : b == kLen64 ? 8 : 0;
    if (bytes == 0) return FailAt("unknown length encoding " + std::to_string(b), offset() - 1);
    if (!Need(static_cast<size_t>(bytes))) return false;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | *p_++;
    *len = v;
    return true;
  }

  // A string: a view of the image when stored raw, otherwise decoded into `scratch`.
  bool String(std::string_view* out, std::string* scratch) {
    size_t at = offset();
    uint64_t len = 0;
    bool encoded = false;
    if (!Len(&len, &encoded)) return false;
    if (!encoded) return Bytes(len, out);
    uint64_t v;
    switch (len) {
      case kEncInt8:
      case kEncInt16:
      case kEncInt32: {
        int bytes = len == kEncInt8 ? 1 : len == kEncInt16 ? 2 : 4;
        if (!Le(bytes, &v)) return false;
        uint64_t sign = uint64_t{1} << (bytes * 8 - 1);
        int64_t value = static_cast<int64_t>(((v & ((sign << 1) - 1)) ^ sign) - sign);
        *scratch = Int64ToString(value);
        *out = *scratch;
        return true;
      }
      case kEncLzf: {
        uint64_t compressed_len, plain_len;
        std::string_view compressed;
        if (!Len(&compressed_len) || !Len(&plain_len) || !Bytes(compressed_len, &compressed)) {
          return false;
        }
        // LZF expands at most ~132x (a 3-byte back reference yields 264 bytes): a larger claim
        // is corruption, refused before it allocates.
        if (plain_len == 0 || plain_len > compressed_len * 132 + 64) {
          return FailAt("corrupt LZF string", at);
        }
        scratch->resize(plain_len);
        if (!rdb::LzfDecompress(compressed, scratch->data(), plain_len)) {
          return FailAt("corrupt LZF string", at);
        }
        *out = *scratch;
        return true;
      }
      default:
        return FailAt("unknown string encoding " + std::to_string(len), at);
    }
  }

  // RDB_TYPE_ZSET's scores: a length byte, then the number in text; 253/254/255 are NaN, +inf
  // and -inf.
  bool TextDouble(double* out) {
    uint8_t len;
    if (!Byte(&len)) return false;
    if (len == 253) {
      *out = NAN;
      return true;
    }
    if (len == 254 || len == 255) {
      *out = len == 254 ? INFINITY : -INFINITY;
      return true;
    }
    std::string_view text;
    if (!Bytes(len, &text)) return false;
    char buf[256];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    char* end = nullptr;
    *out = std::strtod(buf, &end);
    if (end != buf + text.size()) return FailAt("bad score", offset() - len);
    return true;
  }
  bool BinaryDouble(double* out) {
    std::string_view b;
    if (!Bytes(8, &b)) return false;
    std::memcpy(out, b.data(), 8);  // little-endian host
    return true;
  }

 private:
  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
  std::string_view name_;
  std::string error_;
};

// Builds one value from the reader; every failure is recorded in the reader.
class ValueLoader {
 public:
  explicit ValueLoader(RdbReader& r) : r_(r) {}

  // Reads a value of `type` for `key`. Returns nullptr on failure, and also (with *empty set)
  // for an empty aggregate, which Redis skips.
  Entry* Load(uint8_t type, std::string_view key, bool* empty) {
    *empty = false;
    switch (type) {
      case kTypeString: {
        std::string_view value;
        if (!r_.String(&value, &value_scratch_)) return nullptr;
        return Entry::NewString(key, value);
      }
      case kTypeList:
      case kTypeListZiplist:
      case kTypeListQuicklist:
      case kTypeListQuicklist2:
        return Finish(key, ValueType::kList, LoadList(type), empty);
      case kTypeSet:
      case kTypeSetIntset:
        return Finish(key, ValueType::kSet, LoadSet(type), empty);
      case kTypeZSet:
      case kTypeZSet2:
      case kTypeZSetZiplist:
      case kTypeZSetListpack:
        return Finish(key, ValueType::kZSet, LoadZSet(type), empty);
      case kTypeHash:
      case kTypeHashZipmap:
      case kTypeHashZiplist:
      case kTypeHashListpack:
        return Finish(key, ValueType::kHash, LoadHash(type), empty);
      default:
        return nullptr;  // the caller checked the type
    }
  }

  static bool KnownType(uint8_t type) {
    return type <= kTypeZSet2 ||
           (type >= kTypeHashZipmap && type <= kTypeListQuicklist2 && type != kTypeStreamListpacks);
  }

 private:
  template <typename T>
  Entry* Finish(std::string_view key, ValueType vt, std::unique_ptr<T> object, bool* empty) {
    if (object == nullptr) return nullptr;
    if (object->empty()) {
      *empty = true;
      return nullptr;
    }
    return Entry::NewObject(key, vt, std::move(object));
  }

  // A container blob (listpack, ziplist, intset, zipmap) and where it starts, for messages.
  bool Blob(std::string_view* blob, size_t* at) {
    *at = r_.offset();
    return r_.String(blob, &blob_scratch_);
  }

  bool Walk(bool listpack, std::string_view blob, size_t at, const rdb::PackedVisitor& visit) {
    bool ok = listpack ? rdb::DecodeListpack(blob, visit) : rdb::DecodeZiplist(blob, visit);
    if (!ok && !r_.failed()) r_.FailAt(listpack ? "corrupt listpack" : "corrupt ziplist", at);
    return ok;
  }

  // Walks a container of alternating elements (field, value / member, score): fn(first as
  // text, second) per pair. An odd element count is corruption (`what` names the container).
  template <typename Fn>
  bool WalkPairs(bool listpack, std::string_view blob, size_t at, const char* what, Fn&& fn) {
    std::string first;
    bool want_first = true;
    bool ok = Walk(listpack, blob, at, [&](const rdb::PackedElement& e) {
      want_first = !want_first;
      if (!want_first) {
        first.assign(e.Text(int_buf_));
        return true;
      }
      return fn(std::string_view(first), e);
    });
    if (ok && !want_first) return r_.FailAt(what, at);
    return ok;
  }

  std::unique_ptr<ListObject> LoadList(uint8_t type) {
    auto list = std::make_unique<ListObject>();
    auto push = [&](const rdb::PackedElement& e) {
      list->Push(ListEnd::kRight, e.Text(int_buf_));
      return true;
    };
    std::string_view blob;
    size_t at;
    if (type == kTypeListZiplist) {
      if (!Blob(&blob, &at) || !Walk(false, blob, at, push)) return nullptr;
      return list;
    }
    uint64_t count;
    if (!r_.Len(&count)) return nullptr;
    for (uint64_t i = 0; i < count; ++i) {
      if (type == kTypeList) {
        std::string_view element;
        if (!r_.String(&element, &value_scratch_)) return nullptr;
        list->Push(ListEnd::kRight, element);
        continue;
      }
      uint64_t container = kQuicklistPacked;
      size_t container_at = r_.offset();
      if (type == kTypeListQuicklist2 && !r_.Len(&container)) return nullptr;
      if (container != kQuicklistPlain && container != kQuicklistPacked) {
        r_.FailAt("unknown quicklist container " + std::to_string(container), container_at);
        return nullptr;
      }
      if (!Blob(&blob, &at)) return nullptr;
      if (container == kQuicklistPlain) {
        list->Push(ListEnd::kRight, blob);
      } else if (!Walk(type == kTypeListQuicklist2, blob, at, push)) {
        return nullptr;
      }
    }
    return list;
  }

  std::unique_ptr<SetObject> LoadSet(uint8_t type) {
    auto set = std::make_unique<SetObject>();
    size_t at = r_.offset();
    if (type == kTypeSetIntset) {
      std::string_view blob;
      if (!Blob(&blob, &at)) return nullptr;
      bool ok = rdb::DecodeIntset(blob, [&](int64_t v) {
        rdb::PackedElement e{true, v, {}};
        return set->Add(e.Text(int_buf_));
      });
      if (!ok) {
        r_.FailAt("corrupt intset", at);
        return nullptr;
      }
      return set;
    }
    uint64_t count;
    if (!r_.Len(&count)) return nullptr;
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view member;
      at = r_.offset();
      if (!r_.String(&member, &value_scratch_)) return nullptr;
      if (!set->Add(member)) {
        r_.FailAt("duplicate set member", at);
        return nullptr;
      }
    }
    return set;
  }

  bool AddScored(ZSetObject& zset, std::string_view member, double score, size_t at) {
    if (std::isnan(score)) return r_.FailAt("NaN score", at);
    if (zset.Find(member) != nullptr) return r_.FailAt("duplicate sorted set member", at);
    zset.Insert(member, score);
    return true;
  }

  std::unique_ptr<ZSetObject> LoadZSet(uint8_t type) {
    if (type == kTypeZSetZiplist || type == kTypeZSetListpack) {
      auto zset = std::make_unique<ZSetObject>();
      std::string_view blob;
      size_t at;
      if (!Blob(&blob, &at)) return nullptr;
      // A score stored as text is parsed as Redis' zzlGetScore does.
      bool ok = WalkPairs(type == kTypeZSetListpack, blob, at, "odd element count in a sorted set",
                          [&](std::string_view member, const rdb::PackedElement& e) {
                            double score = static_cast<double>(e.integer);
                            if (!e.is_int) {
                              std::string text(e.str);
                              char* end = nullptr;
                              score = std::strtod(text.c_str(), &end);
                              if (end != text.c_str() + text.size()) {
                                return r_.FailAt("bad score", at);
                              }
                            }
                            return AddScored(*zset, member, score, at);
                          });
      return ok ? std::move(zset) : nullptr;
    }
    uint64_t count;
    if (!r_.Len(&count)) return nullptr;
    // A set too large for a listpack starts as a skiplist, as Redis loads it (so a -0 score
    // keeps its sign whatever the order of the members).
    auto zset = std::make_unique<ZSetObject>(count <= ZSetObject::kMaxListpackEntries);
    for (uint64_t i = 0; i < count; ++i) {
      size_t at = r_.offset();
      std::string_view member;
      double score;
      if (!r_.String(&member, &value_scratch_)) return nullptr;
      if (!(type == kTypeZSet2 ? r_.BinaryDouble(&score) : r_.TextDouble(&score))) return nullptr;
      if (!AddScored(*zset, member, score, at)) return nullptr;
    }
    return zset;
  }

  bool AddField(HashObject& hash, std::string_view field, std::string_view value, size_t at) {
    return hash.Set(field, value) || r_.FailAt("duplicate hash field", at);
  }

  std::unique_ptr<HashObject> LoadHash(uint8_t type) {
    auto hash = std::make_unique<HashObject>();
    if (type == kTypeHash) {
      uint64_t count;
      if (!r_.Len(&count)) return nullptr;
      std::string field_scratch;
      for (uint64_t i = 0; i < count; ++i) {
        size_t at = r_.offset();
        std::string_view field, value;
        if (!r_.String(&field, &field_scratch) || !r_.String(&value, &value_scratch_)) {
          return nullptr;
        }
        if (!AddField(*hash, field, value, at)) return nullptr;
      }
      return hash;
    }
    std::string_view blob;
    size_t at;
    if (!Blob(&blob, &at)) return nullptr;
    if (type == kTypeHashZipmap) {
      bool ok = rdb::DecodeZipmap(blob, [&](std::string_view field, std::string_view value) {
        return AddField(*hash, field, value, at);
      });
      if (!ok) {
        r_.FailAt("corrupt zipmap", at);
        return nullptr;
      }
      return hash;
    }
    char value_buf[24];
    bool ok = WalkPairs(type == kTypeHashListpack, blob, at, "odd element count in a hash",
                        [&](std::string_view field, const rdb::PackedElement& e) {
                          return AddField(*hash, field, e.Text(value_buf), at);
                        });
    return ok ? std::move(hash) : nullptr;
  }

  RdbReader& r_;
  std::string value_scratch_;
  std::string blob_scratch_;
  char int_buf_[24];
};

// Inserts loaded entries into their tables a batch at a time. A large load is bound by cache
// misses (the bucket, then the chain's first entry, of a random table slot per key): prefetching
// every bucket of a batch as it is queued, then every chain head, overlaps those misses instead
// of taking them one after another.
class BatchInserter {
 public:
  BatchInserter(Keyspace& ks, RdbReader& r) : ks_(ks), r_(r) {}
  BatchInserter(const BatchInserter&) = delete;
  BatchInserter& operator=(const BatchInserter&) = delete;
  ~BatchInserter() {
    for (size_t i = 0; i < count_; ++i) Entry::Free(pending_[i].entry);
  }

  // Queues `entry` (owned from here on) for database `db`; `at` is its offset for messages.
  bool Add(Entry* entry, int db, int64_t expire_at, size_t at) {
    uint64_t hash = Table::Hash(entry->key());
    Table* table = &ks_.shard(Keyspace::ShardOf(hash)).dbs[db];
    table->PrefetchBucket(hash);
    pending_[count_++] = {entry, table, hash, expire_at, at};
    return count_ < kBatch || Flush();
  }

  // Inserts what is queued. False (the rest freed) on a key already present.
  bool Flush() {
    for (size_t i = 0; i < count_; ++i) pending_[i].table->PrefetchChain(pending_[i].hash);
    size_t n = count_;
    count_ = 0;
    for (size_t i = 0; i < n; ++i) {
      Pending& p = pending_[i];
      if (p.table->Find(p.entry->key(), p.hash) != nullptr) {
        for (size_t j = i; j < n; ++j) Entry::Free(pending_[j].entry);
        return r_.FailAt("duplicate key", p.at);
      }
      p.table->Insert(p.entry, p.hash);
      if (p.expire_at >= 0) p.table->SetExpire(p.entry, p.expire_at);
    }
    return true;
  }

 private:
  static constexpr size_t kBatch = 32;
  struct Pending {
    Entry* entry;
    Table* table;
    uint64_t hash;
    int64_t expire_at;
    size_t at;
  };
  Keyspace& ks_;
  RdbReader& r_;
  Pending pending_[kBatch];
  size_t count_ = 0;
};

bool LoadImage(Keyspace& ks, RdbReader& r, RdbLoadResult* result) {
  std::string_view magic;
  if (!r.Bytes(9, &magic)) return false;
  if (magic.substr(0, 5) != kMagic) return r.FailAt("not an RDB file (bad magic)", 0);
  int version = 0;
  for (char c : magic.substr(5)) {
    if (c < '0' || c > '9') return r.FailAt("not an RDB file (bad version)", 5);
    version = version * 10 + (c - '0');
  }
  if (version < 1 || version > kRdbVersion) {
    return r.FailAt("RDB version " + std::to_string(version) + " is not supported", 5);
  }
  result->rdb_version = version;

  const int64_t now_ms = ks.clock().NowMs();
  const uint32_t stamp =
      InitialAccessStamp(ks.eviction_config().policy.load(std::memory_order_relaxed), now_ms);
  ValueLoader values(r);
  BatchInserter inserter(ks, r);
  std::string key_scratch, aux_scratch;
  int db = 0;
  int64_t expire_at = -1;
  while (true) {
    size_t at = r.offset();
    uint8_t type;
    if (!r.Byte(&type)) return false;
    uint64_t len, len2;
    switch (type) {
      case kOpExpireTime:
        if (!r.Le(4, &len)) return false;
        expire_at = static_cast<int64_t>(static_cast<int32_t>(len)) * 1000;
        continue;
      case kOpExpireTimeMs:
        if (!r.Le(8, &len)) return false;
        expire_at = static_cast<int64_t>(len);
        continue;
      case kOpFreq:  // LFU counter and idle time: access stamps start fresh here
        if (!r.Le(1, &len)) return false;
        continue;
      case kOpIdle:
        if (!r.Len(&len)) return false;
        continue;
      case kOpSelectDb:
        if (!r.Len(&len)) return false;
        if (len >= static_cast<uint64_t>(ks.databases())) {
          return r.FailAt("database " + std::to_string(len) + " is beyond the " +
                              std::to_string(ks.databases()) + " configured",
                          at);
        }
        db = static_cast<int>(len);
        continue;
      case kOpResizeDb:
        // The database's key count: size every shard's table for its share up front, so
        // loading never rehashes. Capped so a corrupt count cannot allocate unboundedly.
        if (!r.Len(&len) || !r.Len(&len2)) return false;
        if (len <= r.size()) {
          size_t share = static_cast<size_t>(len / Keyspace::kShards + len / Keyspace::kShards / 8);
          for (size_t s = 0; s < Keyspace::kShards; ++s) ks.shard(s).dbs[db].Reserve(share);
        }
        continue;
      case kOpAux: {
        std::string_view key, value;
        if (!r.String(&key, &key_scratch) || !r.String(&value, &aux_scratch)) return false;
        if (key == "redis-ver") result->redis_ver = std::string(value);
        continue;
      }
      case kOpModuleAux:
        return r.FailAt("module data is not supported by rowcached", at);
      case kOpFunction2:
      case kOpFunctionPreGa:
        return r.FailAt("functions are not supported by rowcached", at);
      case kOpEof:
        break;
      default: {
        if (type == kTypeStreamListpacks || type == kTypeStreamListpacks2) {
          return r.FailAt(
              "streams are not supported by rowcached (key type " + std::to_string(type) + ")", at);
        }
        if (type == kTypeModulePreGa || type == kTypeModule2) {
          return r.FailAt("module values are not supported by rowcached (key type " +
                              std::to_string(type) + ")",
                          at);
        }
        if (!ValueLoader::KnownType(type)) {
          return r.FailAt("unknown value type " + std::to_string(type), at);
        }
        std::string_view key;
        if (!r.String(&key, &key_scratch)) return false;
        bool empty;
        Entry* e = values.Load(type, key, &empty);
        if (e == nullptr) {
          if (r.failed()) return false;
          expire_at = -1;  // an empty aggregate: skipped, as Redis does
          continue;
        }
        // Kept while the keyspace loads an AOF base: a later command of the AOF may still
        // make the key persistent (Redis keeps them too).
        if (expire_at >= 0 && expire_at < now_ms && !ks.loading()) {
          Entry::Free(e);
          ++result->expired_skipped;
          expire_at = -1;
          continue;
        }
        e->set_lru(stamp);
        if (!inserter.Add(e, db, expire_at, at)) return false;
        ++result->keys_loaded;
        expire_at = -1;
        continue;
      }
    }
    break;  // EOF
  }
  if (!inserter.Flush()) return false;
  // Version 5 on: a CRC64 of everything before it; zero when the writer had rdbchecksum off.
  if (version >= 5) {
    size_t covered = r.offset();
    uint64_t expected;
    if (!r.Le(8, &expected)) return false;
    if (expected != 0) {
      uint64_t actual = rdb::Crc64(0, r.begin(), covered);
      if (actual != expected) {
        return r.FailAt("checksum mismatch (file says " + std::to_string(expected) +
                            ", contents give " + std::to_string(actual) + ")",
                        covered);
      }
    }
  }
  return true;
}

}  // namespace

bool WriteRdb(Keyspace& ks, int fd, const RdbSaveOptions& options, std::string* error) {
  RdbWriter w(fd, options.compress);
  char header[16];
  std::snprintf(header, sizeof header, "%s%04d", kMagic, kRdbVersion);
  w.Raw(header, 9);
  WriteAux(w, "redis-ver", ROWCACHED_VERSION);
  WriteAuxInt(w, "redis-bits", sizeof(void*) * 8);
  WriteAuxInt(w, "ctime", static_cast<int64_t>(std::time(nullptr)));
  WriteAuxInt(w, "used-mem", UsedMemory());
  WriteAuxInt(w, "aof-base", options.aof_base ? 1 : 0);

  std::vector<std::pair<std::string, std::string>> row_scratch;
  for (int db = 0; db < ks.databases() && w.ok(); ++db) {
    uint64_t keys = 0, expires = 0;
    for (size_t s = 0; s < Keyspace::kShards; ++s) {
      const Table& t = ks.shard(s).dbs[db];
      t.ForEach([&](Entry* e) {
        if (!Writable(*e, options)) return;
        ++keys;
        if (t.ExpireAt(e) >= 0) ++expires;
      });
    }
    if (keys == 0) continue;
    w.Byte(kOpSelectDb);
    w.Len(static_cast<uint64_t>(db));
    w.Byte(kOpResizeDb);
    w.Len(keys);
    w.Len(expires);
    for (size_t s = 0; s < Keyspace::kShards && w.ok(); ++s) {
      const Table& t = ks.shard(s).dbs[db];
      t.ForEach([&](Entry* e) {
        if (!Writable(*e, options)) return;
        int64_t expire_at = t.ExpireAt(e);
        if (expire_at >= 0) {
          w.Byte(kOpExpireTimeMs);
          w.Le64(static_cast<uint64_t>(expire_at));
        }
        WriteValue(w, *e, options, &row_scratch);
      });
    }
  }
  w.Byte(kOpEof);
  w.Flush();
  if (w.ok()) {
    uint64_t crc = w.crc();
    w.Le64(crc);
    w.Flush();
  }
  if (!w.ok()) {
    *error = w.error();
    return false;
  }
  return true;
}

bool SaveRdbFile(Keyspace& ks, const std::string& path, const RdbSaveOptions& options,
                 std::string* error) {
  std::string temp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot create " + temp + ": " + std::strerror(errno);
    return false;
  }
  auto fail = [&](const std::string& what) {
    *error = what;
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    return false;
  };
  if (!WriteRdb(ks, fd, options, error)) return fail(temp + ": " + *error);
  if (::fsync(fd) != 0) return fail("fsync " + temp + ": " + std::strerror(errno));
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) return fail("close " + temp + ": " + std::strerror(errno));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail("rename " + temp + " to " + path + ": " + std::strerror(errno));
  }
  // The rename is durable only once the directory is.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    *error = "fsync directory " + dir + ": " + std::strerror(errno);
    if (dfd >= 0) ::close(dfd);
    return false;
  }
  ::close(dfd);
  return true;
}

bool LoadRdbBytes(Keyspace& ks, std::string_view bytes, std::string_view name,
                  RdbLoadResult* result, std::string* error) {
  *result = RdbLoadResult{};
  RdbReader reader(bytes, name);
  bool ok;
  try {
    ok = LoadImage(ks, reader, result);
  } catch (const std::bad_alloc&) {
    reader.Fail("out of memory");
    ok = false;
  }
  if (!ok) {
    *error = reader.error();
    ks.Flush(-1);
    *result = RdbLoadResult{};
  }
  return ok;
}

bool LoadRdbFile(Keyspace& ks, const std::string& path, RdbLoadResult* result, std::string* error) {
  std::string name = std::filesystem::path(path).filename().string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    *error = "cannot stat " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return LoadRdbBytes(ks, {}, name, result, error);
  }
  // One mapping of the whole file: strings are read in place, and the kernel reads ahead.
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    *error = "cannot map " + path + ": " + std::strerror(errno);
    return false;
  }
  ::madvise(map, size, MADV_SEQUENTIAL);
  bool ok = LoadRdbBytes(ks, {static_cast<const char*>(map), size}, name, result, error);
  ::munmap(map, size);
  return ok;
}

}  // namespace rowcached::server
