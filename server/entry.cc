#include "server/entry.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "server/memory.h"

namespace rowcached::server {

std::string_view TypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
    case ValueType::kHash:
      return "hash";
    case ValueType::kStream:
      return "stream";
    case ValueType::kRow:
      return "hash";
    case ValueType::kBloom:
      return "MBbloom--";
  }
  return "none";
}

Entry* Entry::Allocate(std::string_view key, size_t value_bytes) {
  void* mem = CountedMalloc(sizeof(Entry) + key.size() + value_bytes);
  if (mem == nullptr) throw std::bad_alloc();
  Entry* e = new (mem) Entry();
  e->key_len_ = static_cast<uint32_t>(key.size());
  if (!key.empty()) std::memcpy(e->payload(), key.data(), key.size());
  return e;
}

Entry* Entry::NewString(std::string_view key, std::string_view value) {
  if (value.size() > kMaxInlineString) {
    return NewObject(key, ValueType::kString, std::make_unique<StringObject>(std::string(value)));
  }
  Entry* e = Allocate(key, value.size());
  e->type_ = static_cast<uint8_t>(ValueType::kString);
  e->flags_ = kInlineString;
  e->val_len_ = static_cast<uint32_t>(value.size());
  if (!value.empty()) std::memcpy(e->payload() + key.size(), value.data(), value.size());
  return e;
}

Entry* Entry::NewObject(std::string_view key, ValueType type, std::unique_ptr<Object> object) {
  Entry* e = Allocate(key, sizeof(Object*));
  e->type_ = static_cast<uint8_t>(type);
  e->val_len_ = sizeof(Object*);
  Object* raw = object.release();
  std::memcpy(e->payload() + key.size(), &raw, sizeof(raw));
  return e;
}

std::unique_ptr<Object> Entry::ReleaseObject() {
  if (inline_string()) return nullptr;
  std::unique_ptr<Object> o(object());
  Object* null = nullptr;
  std::memcpy(payload() + key_len_, &null, sizeof(null));
  return o;
}

size_t Entry::MemoryUsage() const {
  size_t n = malloc_usable_size(const_cast<Entry*>(this)) + 8;  // + glibc chunk header
  if (!inline_string() && object() != nullptr) n += object()->MemoryUsage();
  return n;
}

void Entry::Free(Entry* entry) {
  if (entry == nullptr) return;
  if (!entry->inline_string()) delete entry->object();
  entry->~Entry();
  CountedFree(entry);
}

}  // namespace rowcached::server
