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
  copy->RecountHeapBytes();
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

// Inserting or erasing inside the deque shifts elements by move assignment, which can leave a
// short string in a slot that keeps a long string's buffer: the strings' heap bytes are counted
// again (the shift was O(N) already).
void ListObject::Insert(size_t index, std::string_view value) {
  items_.emplace(items_.begin() + static_cast<std::ptrdiff_t>(index), value);
  RecountHeapBytes();
}

void ListObject::Erase(size_t index) {
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(index));
  RecountHeapBytes();
}

uint64_t ListObject::Remove(std::string_view value, uint64_t limit, ListEnd from) {
  // One compacting pass from the `from` end, keeping the order of the rest.
  uint64_t removed = 0;
  size_t n = items_.size();
  auto take = [&](size_t i) {
    if ((limit == 0 || removed < limit) && items_[i] == value) {
      ++removed;
      return true;
    }
    return false;
  };
  if (from == ListEnd::kLeft) {
    size_t out = 0;
    for (size_t i = 0; i < n; ++i) {
      if (take(i)) continue;
      if (out != i) items_[out] = std::move(items_[i]);
      ++out;
    }
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(out), items_.end());
  } else {
    size_t out = n;
    for (size_t i = n; i-- > 0;) {
      if (take(i)) continue;
      --out;
      if (out != i) items_[out] = std::move(items_[i]);
    }
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(out));
  }
  if (removed > 0) RecountHeapBytes();
  return removed;
}

void ListObject::RecountHeapBytes() {
  heap_bytes_ = 0;
  for (const auto& s : items_) heap_bytes_ += HeapBytes(s);
}

void ListObject::Trim(size_t first, size_t last) {
  for (size_t i = 0; i < first; ++i) heap_bytes_ -= HeapBytes(items_[i]);
  for (size_t i = last + 1; i < items_.size(); ++i) heap_bytes_ -= HeapBytes(items_[i]);
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(last) + 1, items_.end());
  items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(first));
}

}  // namespace rowcached::server
