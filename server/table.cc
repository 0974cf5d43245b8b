#include "server/table.h"

#include <bit>

#include "server/util.h"

namespace rowcached::server {
namespace {
constexpr size_t kMinBuckets = 4;

}  // namespace

uint64_t Table::Hash(std::string_view key) {
  // libstdc++'s std::hash<string_view> is MurmurHash64A: fast and well mixed. The keyspace uses
  // the top bits for the shard and the table the low bits for the bucket.
  return std::hash<std::string_view>{}(key);
}

Entry* Table::Find(std::string_view key, uint64_t hash) const {
  if (size_ == 0) return nullptr;
  for (Entry* e = buckets_[hash & (buckets_.size() - 1)]; e != nullptr; e = e->next) {
    if (e->key() == key) return e;
  }
  return nullptr;
}

void Table::Insert(Entry* entry, uint64_t hash) {
  if (size_ + 1 > buckets_.size()) Resize(std::max(kMinBuckets, buckets_.size() * 2));
  Entry*& head = buckets_[hash & (buckets_.size() - 1)];
  entry->next = head;
  head = entry;
  ++size_;
}

void Table::Replace(Entry* old, Entry* fresh, uint64_t hash, bool keep_ttl) {
  Entry** link = &buckets_[hash & (buckets_.size() - 1)];
  while (*link != old) link = &(*link)->next;
  fresh->next = old->next;
  *link = fresh;
  if (old->volatile_index != Entry::kNoExpire) {
    if (keep_ttl) {
      fresh->volatile_index = old->volatile_index;
      volatile_[fresh->volatile_index].entry = fresh;
      old->volatile_index = Entry::kNoExpire;
    } else {
      ClearExpire(old);
    }
  }
  Entry::Free(old);
}

Entry* Table::Remove(std::string_view key, uint64_t hash) {
  if (size_ == 0) return nullptr;
  Entry** link = &buckets_[hash & (buckets_.size() - 1)];
  for (; *link != nullptr; link = &(*link)->next) {
    Entry* e = *link;
    if (e->key() == key) {
      *link = e->next;
      e->next = nullptr;
      ClearExpire(e);
      --size_;
      MaybeShrink();
      return e;
    }
  }
  return nullptr;
}

void Table::SetExpire(Entry* entry, int64_t expire_at_ms) {
  if (entry->volatile_index == Entry::kNoExpire) {
    entry->volatile_index = static_cast<uint32_t>(volatile_.size());
    volatile_.push_back({entry, expire_at_ms});
  } else {
    volatile_[entry->volatile_index].expire_at_ms = expire_at_ms;
  }
}

void Table::ClearExpire(Entry* entry) {
  uint32_t i = entry->volatile_index;
  if (i == Entry::kNoExpire) return;
  volatile_[i] = volatile_.back();
  volatile_[i].entry->volatile_index = i;
  volatile_.pop_back();
  entry->volatile_index = Entry::kNoExpire;
}

uint64_t Table::Scan(uint64_t cursor, const std::function<void(Entry*)>& fn) const {
  if (size_ == 0) return 0;
  uint64_t mask = buckets_.size() - 1;
  for (Entry* e = buckets_[cursor & mask]; e != nullptr; e = e->next) fn(e);
  return NextScanCursor(cursor, mask);
}

void Table::ForEach(const std::function<void(Entry*)>& fn) const {
  for (Entry* head : buckets_) {
    for (Entry* e = head; e != nullptr;) {
      Entry* next = e->next;  // fn may not unlink, but be safe with reads
      fn(e);
      e = next;
    }
  }
}

Entry* Table::RandomEntry(std::mt19937_64& rng) const {
  if (size_ == 0) return nullptr;
  // Pick a random non-empty bucket, then a random element of its chain (chains are short).
  while (true) {
    Entry* head = buckets_[rng() & (buckets_.size() - 1)];
    if (head == nullptr) continue;
    size_t len = 0;
    for (Entry* e = head; e != nullptr; e = e->next) ++len;
    size_t pick = rng() % len;
    Entry* e = head;
    while (pick--) e = e->next;
    return e;
  }
}

const Table::VolatileSlot* Table::RandomVolatile(std::mt19937_64& rng) const {
  if (volatile_.empty()) return nullptr;
  return &volatile_[rng() % volatile_.size()];
}

void Table::Clear() {
  for (Entry*& head : buckets_) {
    for (Entry* e = head; e != nullptr;) {
      Entry* next = e->next;
      Entry::Free(e);
      e = next;
    }
    head = nullptr;
  }
  buckets_.clear();
  buckets_.shrink_to_fit();
  volatile_.clear();
  volatile_.shrink_to_fit();
  size_ = 0;
}

void Table::Swap(Table& other) noexcept {
  buckets_.swap(other.buckets_);
  std::swap(size_, other.size_);
  volatile_.swap(other.volatile_);
}

void Table::Resize(size_t buckets) {
  std::vector<Entry*> fresh(buckets, nullptr);
  for (Entry* head : buckets_) {
    for (Entry* e = head; e != nullptr;) {
      Entry* next = e->next;
      Entry*& slot = fresh[Hash(e->key()) & (buckets - 1)];
      e->next = slot;
      slot = e;
      e = next;
    }
  }
  buckets_.swap(fresh);
}

void Table::Reserve(size_t keys) {
  size_t want = std::max(kMinBuckets, std::bit_ceil(keys));
  if (want > buckets_.size()) Resize(want);
}

void Table::MaybeShrink() {
  if (size_ == 0) {
    buckets_.clear();
    buckets_.shrink_to_fit();
    return;
  }
  if (buckets_.size() > kMinBuckets && size_ * 8 < buckets_.size()) {
    Resize(std::max(kMinBuckets, std::bit_ceil(size_)));
  }
}

}  // namespace rowcached::server
