#include "server/list_object.h"

#include <algorithm>

namespace rowcached::server {

namespace {
// libstdc++'s deque allocates 512-byte blocks plus a map of block pointers.
constexpr size_t kDequeBlockBytes = 512;
constexpr size_t kSlotsPerBlock = kDequeBlockBytes / sizeof(std::string);
}  // namespace

size_t ListObject::HeapBytes(const std::string& s) {
  // Strings beyond the small-string buffer own an allocation of capacity() + 1 bytes.
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

size_t ListObject::MemoryUsage() const {
  size_t blocks = items_.size() / kSlotsPerBlock + 1;
  // Blocks, the map of block pointers (at least 8 slots), and the strings' own allocations.
  return sizeof(*this) + blocks * kDequeBlockBytes + std::max<size_t>(8, blocks + 2) * 8 +
         heap_bytes_;
}

std::unique_ptr<Object> ListObject::Clone() const {
  auto copy = std::make_unique<ListObject>();
  copy->items_ = items_;
  copy->heap_bytes_ = 0;
  for (const auto& s : copy->items_) copy->heap_bytes_ += HeapBytes(s);
  return copy;
}

void ListObject::Push(ListEnd end, std::string_view value) {
  if (end == ListEnd::kLeft) {
    items_.emplace_front(value);
    heap_bytes_ += HeapBytes(items_.front());
  } else {
    items_.emplace_back(value);
    heap_bytes_ += HeapBytes(items_.back());
  }
}

std::string ListObject::Pop(ListEnd end) {
  std::string& slot = end == ListEnd::kLeft ? items_.front() : items_.back();
  heap_bytes_ -= HeapBytes(slot);
  std::string value = std::move(slot);
  if (end == ListEnd::kLeft) {
    items_.pop_front();
  } else {
    items_.pop_back();
  }
  return value;
}

void ListObject::Set(size_t index, std::string_view value) {
  std::string& slot = items_[index];
  heap_bytes_ -= HeapBytes(slot);
  slot.assign(value);
  heap_bytes_ += HeapBytes(slot);
}

void ListObject::Insert(size_t index, std::string_view value) {
  auto it = items_.emplace(items_.begin() + static_cast<std::ptrdiff_t>(index), value);
  heap_bytes_ += HeapBytes(*it);
}

void ListObject::Erase(size_t index) {
  auto it = items_.begin() + static_cast<std::ptrdiff_t>(index);
  heap_bytes_ -= HeapBytes(*it);
  items_.erase(it);
}

void ListObject::Trim(size_t first, size_t last) {
  for (size_t i = 0; i < first; ++i) heap_bytes_ -= HeapBytes(items_[i]);
  for (size_t i = last + 1; i < items_.size(); ++i) heap_bytes_ -= HeapBytes(items_[i]);
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(last) + 1, items_.end());
  items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(first));
}

}  // namespace rowcached::server
