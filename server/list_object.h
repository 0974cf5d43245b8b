// The value of a list key (ValueType::kList): a sequence of binary-safe strings.
//
// Stored as a std::deque<std::string>: O(1) push and pop at both ends and O(1) access by index
// (LINDEX, LSET, LRANGE's start), which are the list commands' hot paths; inserting or
// removing in the middle (LINSERT, LREM) is O(N), as in Redis. Strings of up to 15 bytes live
// inside the deque's slots (the small-string buffer), so short elements cost no extra
// allocation.
//
// OBJECT ENCODING answers "quicklist" at every size, as redis-server 7.0 does (7.0 keeps every
// list in a quicklist; the small-list "listpack" answer came with 7.2).
//
// Ownership: the keyspace entry owns the object. Thread-safety: none; the key's shard lock
// guards every call (see keyspace.h). References returned stay valid until the next change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "server/entry.h"

namespace rowcached::server {

// Which end of a list: Redis' LIST_HEAD ("LEFT") and LIST_TAIL ("RIGHT").
enum class ListEnd : uint8_t { kLeft, kRight };

class ListObject final : public Object {
 public:
  ListObject() = default;

  size_t MemoryUsage() const override;
  std::unique_ptr<Object> Clone() const override;
  std::string_view Encoding() const override { return "quicklist"; }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  // REQUIRES: index < size().
  const std::string& at(size_t index) const { return items_[index]; }

  void Push(ListEnd end, std::string_view value);
  // REQUIRES: !empty().
  std::string Pop(ListEnd end);
  // REQUIRES: index < size().
  void Set(size_t index, std::string_view value);
  // Inserts before position `index` (index == size() appends).
  void Insert(size_t index, std::string_view value);
  // Removes the element at `index`. REQUIRES: index < size().
  void Erase(size_t index);
  // Removes up to `limit` elements equal to `value` (0 = all), the first ones met from `from`.
  // Returns how many.
  uint64_t Remove(std::string_view value, uint64_t limit, ListEnd from);
  // Keeps [first, last] only. REQUIRES: first <= last < size().
  void Trim(size_t first, size_t last);

 private:
  // Heap bytes held by the strings themselves (beyond their slots in the deque).
  static size_t HeapBytes(const std::string& s);
  void RecountHeapBytes();

  std::deque<std::string> items_;
  size_t heap_bytes_ = 0;
};

}  // namespace rowcached::server
