// The value of a set key (ValueType::kSet): distinct binary-safe strings.
//
// Two encodings, as Redis 7.0 keeps them and OBJECT ENCODING names them (7.0 has no listpack
// sets):
//  - "intset": a sorted array of integers, while every member is an integer in Redis' canonical
//    form (string2ll: no '+', no leading zeros, no "-0") and there are at most
//    kMaxIntsetEntries members. Like Redis' intset, every integer takes the width (2, 4 or 8
//    bytes) of the widest one, so small integers cost 2 bytes. Lookups are binary searches;
//    members iterate in ascending order, so SMEMBERS answers in redis-server's order.
//  - "hashtable": a chained hash table with a power-of-two bucket array (grown at load factor 1,
//    shrunk below 1/8), whose nodes hold the member bytes inline (one allocation per member,
//    12 bytes of header; the hash is recomputed when the table resizes, as Redis' dict does).
//    The bounded load factor makes a uniform random bucket non-empty with probability at least
//    1/8, so picking a random member (SPOP, SRANDMEMBER) costs O(1) expected, and SSCAN uses
//    Redis' reverse-binary cursor (every member present for a whole scan is returned at least
//    once, across resizes).
// A set converts from intset to hashtable once and for good, when a non-integer member is added
// or it grows past kMaxIntsetEntries; removing members never converts back, as in Redis.
//
// Ownership: the keyspace entry owns the object. Thread-safety: none; the key's shard lock
// guards every call (see keyspace.h). A SetMember taken from a hashtable set views its node: it
// stays valid until that member is removed or the set is freed (a resize keeps the nodes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "server/entry.h"
#include "server/util.h"

namespace rowcached::server {

// One member as the caller reads it: a view into a hashtable node, or an intset integer
// formatted into the SetMember itself (so copies stay valid on their own).
class SetMember {
 public:
  SetMember() = default;
  static SetMember View(std::string_view bytes);
  static SetMember Integer(int64_t value);

  std::string_view view() const {
    return external_ != nullptr ? std::string_view(external_, len_)
                                : std::string_view(digits_, len_);
  }

 private:
  const char* external_ = nullptr;  // nullptr: the member is in digits_
  uint32_t len_ = 0;
  char digits_[20] = {};  // "-9223372036854775808" is the longest int64
};

class SetObject final : public Object {
 public:
  // Redis 7.0's default set-max-intset-entries.
  static constexpr size_t kMaxIntsetEntries = 512;

  SetObject() = default;  // an empty intset, as Redis' createIntsetObject
  SetObject(const SetObject&) = delete;
  SetObject& operator=(const SetObject&) = delete;
  ~SetObject() override;

  size_t MemoryUsage() const override;
  std::unique_ptr<Object> Clone() const override;
  std::string_view Encoding() const override {
    return intset() ? std::string_view("intset") : std::string_view("hashtable");
  }

  bool intset() const { return !hashtable_; }
  size_t size() const { return hashtable_ ? size_ : packed_.size() / width_; }
  bool empty() const { return size() == 0; }

  bool Contains(std::string_view member) const;
  // Adds `member`, converting to a hashtable when the limits say so. True when it is new.
  bool Add(std::string_view member);
  // Removes `member`; true when it was there.
  bool Remove(std::string_view member);

  // Calls fn(SetMember) for every member: ascending for an intset, bucket order for a
  // hashtable. `fn` must not change the set.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    ForEachWhile([&](const SetMember& m) {
      fn(m);
      return true;
    });
  }
  // The same, stopping early when fn returns false.
  template <typename Fn>
  void ForEachWhile(Fn&& fn) const;

  // A uniformly chosen member of an intset; for a hashtable a random non-empty bucket, then a
  // random member of its chain (chains are short: close to uniform, as Redis'
  // dictGetFairRandomKey). REQUIRES: !empty().
  SetMember Random(std::mt19937_64& rng) const;
  // `count` distinct members chosen at random, in random order. REQUIRES: count <= size().
  std::vector<SetMember> RandomDistinct(size_t count, std::mt19937_64& rng) const;

  // One step of SSCAN over a hashtable: calls fn(SetMember) for the members of one bucket (and,
  // after a shrink, of the buckets folded into it) and returns the next cursor, 0 when the scan
  // is complete. REQUIRES: !intset() (an intset is returned whole, cursor 0).
  template <typename Fn>
  uint64_t ScanStep(uint64_t cursor, Fn&& fn) const;

 private:
  // A hashtable member: `next` and `len`, then `len` bytes from offset kNodeHeader (no padding
  // between). Allocated with ::operator new.
  struct Node {
    Node* next;
    uint32_t len;
    const char* data() const { return reinterpret_cast<const char*>(this) + kNodeHeader; }
    std::string_view member() const { return {data(), len}; }
  };
  static constexpr size_t kNodeHeader = sizeof(Node*) + sizeof(uint32_t);

  static uint64_t Hash(std::string_view member);
  static Node* NewNode(std::string_view member, Node* next);
  static void FreeNode(Node* node);
  static size_t NodeBytes(size_t len);
  void ConvertToHashtable();
  const Node* FindNode(std::string_view member, uint64_t hash) const;
  void InsertNew(std::string_view member, uint64_t hash);
  void Rehash(size_t buckets);
  void FreeNodes();

  // Intset form.
  int64_t IntAt(size_t i) const;
  void StoreInt(size_t i, int64_t value);
  // Binary search: true when found; *pos = its index or where it would go.
  bool FindInt(int64_t value, size_t* pos) const;
  void Widen(uint8_t width);

  bool hashtable_ = false;
  uint8_t width_ = 2;           // intset form: bytes per integer (2, 4 or 8)
  size_t size_ = 0;             // hashtable form's member count
  std::vector<char> packed_;    // intset form: ascending integers, width_ bytes each
  std::vector<Node*> buckets_;  // hashtable form: owned chains; a power of two, or empty
};

template <typename Fn>
void SetObject::ForEachWhile(Fn&& fn) const {
  if (intset()) {
    for (size_t i = 0, n = size(); i < n; ++i) {
      if (!fn(SetMember::Integer(IntAt(i)))) return;
    }
    return;
  }
  for (const Node* head : buckets_) {
    for (const Node* n = head; n != nullptr; n = n->next) {
      if (!fn(SetMember::View(n->member()))) return;
    }
  }
}

template <typename Fn>
uint64_t SetObject::ScanStep(uint64_t cursor, Fn&& fn) const {
  if (buckets_.empty()) return 0;
  uint64_t mask = buckets_.size() - 1;
  for (const Node* n = buckets_[cursor & mask]; n != nullptr; n = n->next) {
    fn(SetMember::View(n->member()));
  }
  return NextScanCursor(cursor, mask);
}

}  // namespace rowcached::server
