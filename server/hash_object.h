// The value of a hash key (ValueType::kHash): field -> value, both binary-safe strings.
//
// Two encodings, as Redis keeps them and OBJECT ENCODING names them:
//  - "listpack": a vector of pairs in insertion order, searched linearly. Small hashes are the
//    common case and a flat vector is both the smallest and, at these sizes, the fastest form.
//  - "hashtable": a chained hash table with a power-of-two bucket array (grown at load factor 1,
//    shrunk below 1/8, like server/table.h), so HSCAN can use Redis' reverse-binary cursor and
//    return every field present for a whole scan at least once, across resizes.
// A hash starts as a listpack and converts, once and for good, when it gets more than
// kMaxListpackEntries fields or a field or value longer than kMaxListpackValue bytes (Redis'
// hash-max-listpack-entries / hash-max-listpack-value). Deleting fields never converts back,
// as in Redis.
//
// Ownership: the keyspace entry owns the object. Thread-safety: none; the key's shard lock
// guards every call (see keyspace.h). Views returned by lookups stay valid until the next
// change to the hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/entry.h"

namespace rowcached::server {

// One field and its value, as views into a HashObject.
struct FieldValue {
  std::string_view field;
  std::string_view value;
};

class HashObject final : public Object {
 public:
  // Redis 7.0's defaults for hash-max-listpack-entries and hash-max-listpack-value, so OBJECT
  // ENCODING answers what redis-server 7.0 answers for the same commands.
  static constexpr size_t kMaxListpackEntries = 512;
  static constexpr size_t kMaxListpackValue = 64;

  HashObject() = default;
  HashObject(const HashObject&) = delete;
  HashObject& operator=(const HashObject&) = delete;
  ~HashObject() override;

  size_t MemoryUsage() const override;
  std::unique_ptr<Object> Clone() const override;
  std::string_view Encoding() const override {
    return listpack() ? std::string_view("listpack") : std::string_view("hashtable");
  }

  bool listpack() const { return !hashtable_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The value of `field`, or nullptr when absent.
  const std::string* Find(std::string_view field) const;
  // Sets `field` to `value`, converting to a hashtable when the limits say so. Returns true when
  // the field is new. An existing field keeps its place in a listpack (as Redis' lpReplace).
  bool Set(std::string_view field, std::string_view value);
  // Removes `field`; true when it was there.
  bool Erase(std::string_view field);

  // Calls fn(field, value) for every field: insertion order for a listpack, bucket order for a
  // hashtable. `fn` must not change the hash.
  template <typename Fn>
  void ForEach(Fn&& fn) const;

  // A uniformly chosen field of a listpack; for a hashtable a random non-empty bucket, then a
  // random member of its chain (chains are short: close enough, as Redis' dictGetFairRandomKey).
  // REQUIRES: !empty().
  FieldValue Random(std::mt19937_64& rng) const;
  // `count` distinct fields chosen at random, in random order. REQUIRES: count <= size().
  std::vector<FieldValue> RandomDistinct(size_t count, std::mt19937_64& rng) const;

  // One step of HSCAN over a hashtable: calls fn(field, value) for the fields of one bucket
  // (and, after a shrink, of the buckets folded into it) and returns the next cursor, 0 when
  // the scan is complete. REQUIRES: !listpack() (a listpack is returned whole, cursor 0).
  template <typename Fn>
  uint64_t ScanStep(uint64_t cursor, Fn&& fn) const;

 private:
  struct Node {
    Node* next;
    uint64_t hash;
    std::string field;
    std::string value;
  };

  static uint64_t Hash(std::string_view field);
  void ConvertToHashtable();
  Node* FindNode(std::string_view field, uint64_t hash) const;
  void Rehash(size_t buckets);
  void FreeNodes();

  size_t size_ = 0;
  bool hashtable_ = false;
  std::vector<std::pair<std::string, std::string>> pairs_;  // listpack form
  // Hashtable form: owned chains; a power of two in size, or empty when the hash is.
  std::vector<Node*> buckets_;
};

template <typename Fn>
void HashObject::ForEach(Fn&& fn) const {
  if (listpack()) {
    for (const auto& [f, v] : pairs_) fn(std::string_view(f), std::string_view(v));
    return;
  }
  for (const Node* head : buckets_) {
    for (const Node* n = head; n != nullptr; n = n->next) {
      fn(std::string_view(n->field), std::string_view(n->value));
    }
  }
}

namespace hash_internal {
// Redis' reverse-binary cursor increment over a table of `mask + 1` buckets.
uint64_t NextCursor(uint64_t cursor, uint64_t mask);
}  // namespace hash_internal

template <typename Fn>
uint64_t HashObject::ScanStep(uint64_t cursor, Fn&& fn) const {
  if (buckets_.empty()) return 0;
  uint64_t mask = buckets_.size() - 1;
  for (const Node* n = buckets_[cursor & mask]; n != nullptr; n = n->next) {
    fn(std::string_view(n->field), std::string_view(n->value));
  }
  return hash_internal::NextCursor(cursor, mask);
}

}  // namespace rowcached::server
