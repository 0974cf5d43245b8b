#include "server/set_object.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <climits>
#include <cstring>
#include <functional>
#include <new>
#include <unordered_set>

#include "server/util.h"

namespace rowcached::server {

namespace {
constexpr size_t kMinBuckets = 4;

// glibc malloc's chunk for a request: 8 bytes of header, 16-byte granularity, 32 at least.
size_t MallocChunk(size_t request) {
  return std::max<size_t>(32, (request + 8 + 15) & ~size_t{15});
}
}  // namespace

SetMember SetMember::View(std::string_view bytes) {
  SetMember m;
  m.external_ = bytes.data();
  m.len_ = static_cast<uint32_t>(bytes.size());
  return m;
}

SetMember SetMember::Integer(int64_t value) {
  SetMember m;
  auto [end, ec] = std::to_chars(m.digits_, m.digits_ + sizeof(m.digits_), value);
  (void)ec;  // 20 bytes hold every int64
  m.len_ = static_cast<uint32_t>(end - m.digits_);
  return m;
}

SetObject::~SetObject() { FreeNodes(); }

uint64_t SetObject::Hash(std::string_view member) { return std::hash<std::string_view>{}(member); }

size_t SetObject::NodeBytes(size_t len) { return std::max(sizeof(Node), kNodeHeader + len); }

SetObject::Node* SetObject::NewNode(std::string_view member, Node* next) {
  void* block = ::operator new(NodeBytes(member.size()));
  Node* n = new (block) Node{next, static_cast<uint32_t>(member.size())};
  if (!member.empty())
    std::memcpy(reinterpret_cast<char*>(n) + kNodeHeader, member.data(), member.size());
  return n;
}

void SetObject::FreeNode(Node* node) {
  node->~Node();
  ::operator delete(node);
}

int64_t SetObject::IntAt(size_t i) const {
  const char* p = packed_.data() + i * width_;
  switch (width_) {
    case 2: {
      int16_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    case 4: {
      int32_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    default: {
      int64_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
  }
}

void SetObject::StoreInt(size_t i, int64_t value) {
  char* p = packed_.data() + i * width_;
  if (width_ == 2) {
    auto v = static_cast<int16_t>(value);
    std::memcpy(p, &v, sizeof(v));
  } else if (width_ == 4) {
    auto v = static_cast<int32_t>(value);
    std::memcpy(p, &v, sizeof(v));
  } else {
    std::memcpy(p, &value, sizeof(value));
  }
}

bool SetObject::FindInt(int64_t value, size_t* pos) const {
  size_t lo = 0, hi = size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (IntAt(mid) < value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *pos = lo;
  return lo < size() && IntAt(lo) == value;
}

void SetObject::Widen(uint8_t width) {
  size_t n = size();
  std::vector<int64_t> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = IntAt(i);
  width_ = width;
  packed_.assign(n * width_, 0);
  for (size_t i = 0; i < n; ++i) StoreInt(i, values[i]);
}

size_t SetObject::MemoryUsage() const {
  size_t bytes = sizeof(*this);
  if (intset()) return bytes + packed_.capacity();
  bytes += buckets_.capacity() * sizeof(Node*);
  for (const Node* head : buckets_) {
    for (const Node* n = head; n != nullptr; n = n->next) bytes += MallocChunk(NodeBytes(n->len));
  }
  return bytes;
}

std::unique_ptr<Object> SetObject::Clone() const {
  auto copy = std::make_unique<SetObject>();
  if (intset()) {
    copy->width_ = width_;
    copy->packed_ = packed_;
    return copy;
  }
  copy->hashtable_ = true;
  copy->Rehash(buckets_.size());
  ForEach([&](const SetMember& m) { copy->InsertNew(m.view(), Hash(m.view())); });
  return copy;
}

const SetObject::Node* SetObject::FindNode(std::string_view member, uint64_t hash) const {
  if (buckets_.empty()) return nullptr;
  for (const Node* n = buckets_[hash & (buckets_.size() - 1)]; n != nullptr; n = n->next) {
    if (n->member() == member) return n;
  }
  return nullptr;
}

bool SetObject::Contains(std::string_view member) const {
  if (intset()) {
    int64_t v;
    size_t pos;
    return ParseInt64(member, &v) && FindInt(v, &pos);
  }
  return FindNode(member, Hash(member)) != nullptr;
}

void SetObject::InsertNew(std::string_view member, uint64_t hash) {
  if (size_ + 1 > buckets_.size()) Rehash(std::max(kMinBuckets, buckets_.size() * 2));
  Node*& head = buckets_[hash & (buckets_.size() - 1)];
  head = NewNode(member, head);
  ++size_;
}

bool SetObject::Add(std::string_view member) {
  if (intset()) {
    int64_t v;
    if (ParseInt64(member, &v)) {
      size_t pos;
      if (FindInt(v, &pos)) return false;
      uint8_t width = v >= INT16_MIN && v <= INT16_MAX   ? 2
                      : v >= INT32_MIN && v <= INT32_MAX ? 4
                                                         : 8;
      if (width > width_) {
        Widen(width);
        FindInt(v, &pos);
      }
      packed_.insert(packed_.begin() + static_cast<ptrdiff_t>(pos * width_), width_, 0);
      StoreInt(pos, v);
      if (size() > kMaxIntsetEntries) ConvertToHashtable();
      return true;
    }
    // Not an integer: it cannot be in the intset, and the set cannot stay one.
    ConvertToHashtable();
  }
  uint64_t h = Hash(member);
  if (FindNode(member, h) != nullptr) return false;
  InsertNew(member, h);
  return true;
}

bool SetObject::Remove(std::string_view member) {
  if (intset()) {
    int64_t v;
    size_t pos;
    if (!ParseInt64(member, &v) || !FindInt(v, &pos)) return false;
    auto at = packed_.begin() + static_cast<ptrdiff_t>(pos * width_);
    packed_.erase(at, at + width_);
    return true;
  }
  if (buckets_.empty()) return false;
  uint64_t h = Hash(member);
  for (Node** link = &buckets_[h & (buckets_.size() - 1)]; *link != nullptr;
       link = &(*link)->next) {
    Node* n = *link;
    if (n->member() != member) continue;
    *link = n->next;
    FreeNode(n);
    --size_;
    if (size_ == 0) {
      buckets_.clear();
      buckets_.shrink_to_fit();
    } else if (buckets_.size() > kMinBuckets && size_ * 8 < buckets_.size()) {
      Rehash(std::max(kMinBuckets, std::bit_ceil(size_)));
    }
    return true;
  }
  return false;
}

SetMember SetObject::Random(std::mt19937_64& rng) const {
  if (intset()) return SetMember::Integer(IntAt(rng() % size()));
  // The load factor stays between 1/8 and 1, so a non-empty bucket is found in a few tries.
  while (true) {
    const Node* head = buckets_[rng() & (buckets_.size() - 1)];
    if (head == nullptr) continue;
    size_t len = 0;
    for (const Node* n = head; n != nullptr; n = n->next) ++len;
    size_t pick = rng() % len;
    const Node* n = head;
    while (pick--) n = n->next;
    return SetMember::View(n->member());
  }
}

std::vector<SetMember> SetObject::RandomDistinct(size_t count, std::mt19937_64& rng) const {
  std::vector<SetMember> out;
  out.reserve(count);
  if (intset() || count * 3 > size()) {
    // A large share of the set (Redis' "case 3"), or a small intset: a partial Fisher-Yates
    // shuffle of all of it.
    ForEach([&](const SetMember& m) { out.push_back(m); });
    for (size_t i = 0; i < count; ++i) {
      size_t j = i + rng() % (out.size() - i);
      std::swap(out[i], out[j]);
    }
    out.resize(count);
    return out;
  }
  // A small share of a big set (Redis' "case 4"): draw until `count` distinct members. Fewer
  // than a third are wanted, so each draw is new with probability above 2/3. Hashtable members
  // are told apart by their node's address.
  std::unordered_set<const char*> seen;
  while (out.size() < count) {
    SetMember m = Random(rng);
    if (seen.insert(m.view().data()).second) out.push_back(m);
  }
  return out;
}

void SetObject::ConvertToHashtable() {
  std::vector<SetMember> members;
  members.reserve(size());
  ForEach([&](const SetMember& m) { members.push_back(m); });
  packed_.clear();
  packed_.shrink_to_fit();
  hashtable_ = true;
  size_ = 0;
  Rehash(std::max(kMinBuckets, std::bit_ceil(members.size())));
  for (const SetMember& m : members) InsertNew(m.view(), Hash(m.view()));
}

void SetObject::Rehash(size_t buckets) {
  std::vector<Node*> fresh(buckets, nullptr);
  for (Node* head : buckets_) {
    for (Node* n = head; n != nullptr;) {
      Node* next = n->next;
      Node*& slot = fresh[Hash(n->member()) & (buckets - 1)];
      n->next = slot;
      slot = n;
      n = next;
    }
  }
  buckets_.swap(fresh);
}

void SetObject::FreeNodes() {
  for (Node* head : buckets_) {
    for (Node* n = head; n != nullptr;) {
      Node* next = n->next;
      FreeNode(n);
      n = next;
    }
  }
  buckets_.clear();
  size_ = 0;
}

}  // namespace rowcached::server
