// One key and its value, in one heap block.
//
// Layout: a 24-byte header, then the key bytes, then the value. Short strings (the common
// case: most cache values) live inline in the block, so a key with a small string value costs
// one allocation. Longer strings and every other type live behind a pointer to an Object.
// Expiry lives beside the table (Table::Volatile), not in the block, so setting or clearing a
// TTL never reallocates the entry.
//
// Ownership: a Table owns its entries; Entry::Free releases the block and its object.
// Thread-safety: an entry is touched only under its shard's lock (see keyspace.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace rowcached::server {

// kRow: a database row cached by the middleware (TYPE says "hash"). kBloom: a BF.* filter.
enum class ValueType : uint8_t { kString = 0, kList, kSet, kZSet, kHash, kStream, kRow, kBloom };

// Name as TYPE replies it.
std::string_view TypeName(ValueType type);

// Any non-inline value. Families subclass it (HashObject, ListObject, ...).
class Object {
 public:
  virtual ~Object() = default;
  // Approximate heap bytes held, for memory accounting and eviction.
  virtual size_t MemoryUsage() const = 0;
  // Deep copy, for COPY.
  virtual std::unique_ptr<Object> Clone() const = 0;
  // OBJECT ENCODING's answer, with Redis' names ("raw", "listpack", "hashtable", ...).
  virtual std::string_view Encoding() const = 0;
};

// A string too long to live inline (and so able to grow in place: APPEND, SETRANGE).
class StringObject final : public Object {
 public:
  explicit StringObject(std::string value) : value(std::move(value)) {}
  size_t MemoryUsage() const override { return sizeof(*this) + value.capacity(); }
  std::unique_ptr<Object> Clone() const override { return std::make_unique<StringObject>(value); }
  std::string_view Encoding() const override { return "raw"; }
  std::string value;
};

class Entry {
 public:
  // Strings up to this length are stored inline. Redis' embstr limit is 44; ours is larger
  // because the inline form is the cheaper one here.
  static constexpr size_t kMaxInlineString = 64;
  static constexpr uint32_t kNoExpire = UINT32_MAX;

  static Entry* NewString(std::string_view key, std::string_view value);
  static Entry* NewObject(std::string_view key, ValueType type, std::unique_ptr<Object> object);
  static void Free(Entry* entry);

  std::string_view key() const { return {payload(), key_len_}; }
  ValueType type() const { return static_cast<ValueType>(type_); }
  bool inline_string() const { return flags_ & kInlineString; }

  // REQUIRES: type() == kString.
  std::string_view str() const {
    if (inline_string()) return {payload() + key_len_, val_len_};
    return static_cast<const StringObject*>(object())->value;
  }
  // REQUIRES: !inline_string().
  Object* object() const {
    Object* o;
    std::memcpy(&o, payload() + key_len_, sizeof(o));
    return o;
  }
  // Takes the object out, leaving the entry without a value (it must then be freed or refilled).
  std::unique_ptr<Object> ReleaseObject();

  // Heap bytes held: the block plus the object.
  size_t MemoryUsage() const;

  // LRU clock (seconds, 24 bits) or LFU counter, as Redis keeps in robj->lru.
  uint32_t lru() const { return lru_; }
  void set_lru(uint32_t v) { lru_ = v & 0xFFFFFF; }

  // Chain link and expiry slot, managed by Table.
  Entry* next = nullptr;
  uint32_t volatile_index = kNoExpire;

 private:
  enum : uint8_t { kInlineString = 1 };
  static Entry* Allocate(std::string_view key, size_t value_bytes);
  char* payload() { return reinterpret_cast<char*>(this + 1); }
  const char* payload() const { return reinterpret_cast<const char*>(this + 1); }

  uint32_t key_len_ = 0;
  uint32_t val_len_ = 0;  // inline string length, or sizeof(Object*)
  uint32_t lru_ : 24 = 0;
  uint32_t type_ : 4 = 0;
  uint32_t flags_ : 4 = 0;
};
static_assert(sizeof(Entry) == 24, "entry header must stay compact");

}  // namespace rowcached::server
