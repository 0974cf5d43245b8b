#include "server/hash_object.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <unordered_set>

#include "server/util.h"

namespace rowcached::server {

namespace {
constexpr size_t kMinBuckets = 4;

}  // namespace

namespace hash_internal {
uint64_t NextCursor(uint64_t cursor, uint64_t mask) { return NextScanCursor(cursor, mask); }
}  // namespace hash_internal

HashObject::~HashObject() { FreeNodes(); }

uint64_t HashObject::Hash(std::string_view field) { return std::hash<std::string_view>{}(field); }

size_t HashObject::MemoryUsage() const {
  size_t bytes = sizeof(*this);
  if (listpack()) {
    bytes += pairs_.capacity() * sizeof(pairs_[0]);
    for (const auto& [f, v] : pairs_) {
      // Heap bytes only: SSO strings live in the pair itself.
      if (f.capacity() > 15) bytes += f.capacity() + 1;
      if (v.capacity() > 15) bytes += v.capacity() + 1;
    }
    return bytes;
  }
  bytes += buckets_.capacity() * sizeof(Node*);
  ForEach([&](std::string_view f, std::string_view v) {
    bytes += sizeof(Node);
    if (f.size() > 15) bytes += f.size() + 1;
    if (v.size() > 15) bytes += v.size() + 1;
  });
  return bytes;
}

std::unique_ptr<Object> HashObject::Clone() const {
  auto copy = std::make_unique<HashObject>();
  if (listpack()) {
    copy->pairs_ = pairs_;
    copy->size_ = size_;
    return copy;
  }
  copy->hashtable_ = true;
  copy->Rehash(buckets_.size());
  ForEach([&](std::string_view f, std::string_view v) {
    uint64_t h = Hash(f);
    Node*& head = copy->buckets_[h & (copy->buckets_.size() - 1)];
    head = new Node{head, h, std::string(f), std::string(v)};
    ++copy->size_;
  });
  return copy;
}

HashObject::Node* HashObject::FindNode(std::string_view field, uint64_t hash) const {
  if (buckets_.empty()) return nullptr;
  for (Node* n = buckets_[hash & (buckets_.size() - 1)]; n != nullptr; n = n->next) {
    if (n->hash == hash && n->field == field) return n;
  }
  return nullptr;
}

const std::string* HashObject::Find(std::string_view field) const {
  if (listpack()) {
    for (const auto& [f, v] : pairs_) {
      if (f == field) return &v;
    }
    return nullptr;
  }
  Node* n = FindNode(field, Hash(field));
  return n == nullptr ? nullptr : &n->value;
}

bool HashObject::Set(std::string_view field, std::string_view value) {
  if (listpack() && (field.size() > kMaxListpackValue || value.size() > kMaxListpackValue)) {
    ConvertToHashtable();
  }
  if (listpack()) {
    for (auto& [f, v] : pairs_) {
      if (f == field) {
        v.assign(value);
        return false;
      }
    }
    pairs_.emplace_back(std::string(field), std::string(value));
    ++size_;
    if (size_ > kMaxListpackEntries) ConvertToHashtable();
    return true;
  }
  uint64_t h = Hash(field);
  if (Node* n = FindNode(field, h)) {
    n->value.assign(value);
    return false;
  }
  if (size_ + 1 > buckets_.size()) Rehash(std::max(kMinBuckets, buckets_.size() * 2));
  Node*& head = buckets_[h & (buckets_.size() - 1)];
  head = new Node{head, h, std::string(field), std::string(value)};
  ++size_;
  return true;
}

bool HashObject::Erase(std::string_view field) {
  if (listpack()) {
    auto it =
        std::find_if(pairs_.begin(), pairs_.end(), [&](const auto& p) { return p.first == field; });
    if (it == pairs_.end()) return false;
    pairs_.erase(it);  // keeps the order of the rest, as a listpack delete does
    --size_;
    return true;
  }
  if (buckets_.empty()) return false;
  uint64_t h = Hash(field);
  for (Node** link = &buckets_[h & (buckets_.size() - 1)]; *link != nullptr;
       link = &(*link)->next) {
    Node* n = *link;
    if (n->hash == h && n->field == field) {
      *link = n->next;
      delete n;
      --size_;
      if (size_ == 0) {
        buckets_.clear();
        buckets_.shrink_to_fit();
      } else if (buckets_.size() > kMinBuckets && size_ * 8 < buckets_.size()) {
        Rehash(std::max(kMinBuckets, std::bit_ceil(size_)));
      }
      return true;
    }
  }
  return false;
}

FieldValue HashObject::Random(std::mt19937_64& rng) const {
  if (listpack()) {
    const auto& p = pairs_[rng() % pairs_.size()];
    return {p.first, p.second};
  }
  // The load factor stays between 1/8 and 1, so a non-empty bucket is found in a few tries.
  while (true) {
    const Node* head = buckets_[rng() & (buckets_.size() - 1)];
    if (head == nullptr) continue;
    size_t len = 0;
    for (const Node* n = head; n != nullptr; n = n->next) ++len;
    size_t pick = rng() % len;
    const Node* n = head;
    while (pick--) n = n->next;
    return {n->field, n->value};
  }
}

std::vector<FieldValue> HashObject::RandomDistinct(size_t count, std::mt19937_64& rng) const {
  std::vector<FieldValue> out;
  out.reserve(count);
  if (listpack() || count * 3 > size_) {
    // A large share of the hash (Redis' "case 3"): a partial Fisher-Yates shuffle of all of it.
    ForEach([&](std::string_view f, std::string_view v) { out.push_back({f, v}); });
    for (size_t i = 0; i < count; ++i) {
      size_t j = i + rng() % (out.size() - i);
      std::swap(out[i], out[j]);
    }
    out.resize(count);
    return out;
  }
  // A small share of a big hash (Redis' "case 4"): draw until `count` distinct fields. Fewer
  // than a third are wanted, so each draw is new with probability above 2/3.
  std::unordered_set<const char*> seen;
  while (out.size() < count) {
    FieldValue fv = Random(rng);
    if (seen.insert(fv.field.data()).second) out.push_back(fv);
  }
  return out;
}

void HashObject::ConvertToHashtable() {
  hashtable_ = true;
  size_ = 0;
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.swap(pairs_);
  Rehash(std::max(kMinBuckets, std::bit_ceil(pairs.size())));
  for (auto& [f, v] : pairs) {
    uint64_t h = Hash(f);
    Node*& head = buckets_[h & (buckets_.size() - 1)];
    head = new Node{head, h, std::move(f), std::move(v)};
    ++size_;
  }
}

void HashObject::Rehash(size_t buckets) {
  std::vector<Node*> fresh(buckets, nullptr);
  for (Node* head : buckets_) {
    for (Node* n = head; n != nullptr;) {
      Node* next = n->next;
      Node*& slot = fresh[n->hash & (buckets - 1)];
      n->next = slot;
      slot = n;
      n = next;
    }
  }
  buckets_.swap(fresh);
}

void HashObject::FreeNodes() {
  for (Node* head : buckets_) {
    for (Node* n = head; n != nullptr;) {
      Node* next = n->next;
      delete n;
      n = next;
    }
  }
  buckets_.clear();
}

}  // namespace rowcached::server
