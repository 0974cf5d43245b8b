// The value of a sorted set key (ValueType::kZSet): unique binary-safe members, each with a
// double score, ordered by (score, member) with members compared bytewise as memcmp does.
//
// One structure at every size: a skiplist with spans (Redis' zskiplist: every forward link
// records how many elements it jumps, so rank lookups, element-at-rank and range bounds are
// O(log N)) plus a member -> node hash table with a power-of-two bucket array chained through
// the nodes themselves (so ZSCAN can use Redis' reverse-binary cursor and return every member
// present for a whole scan at least once, across resizes).
//
// OBJECT ENCODING answers as redis-server 7.0 would for the same history: "listpack" until the
// set first gets more than kMaxListpackEntries members or a member longer than
// kMaxListpackValue bytes, "skiplist" from then on (removals never convert back). While
// "listpack", a score of -0 is stored as 0, as Redis' listpack text form of a score loses the
// sign of zero; a "skiplist" keeps -0 as Redis does.
//
// Ownership: the keyspace entry owns the object; the object owns its nodes.
// Thread-safety: none; the key's shard lock guards every call (see keyspace.h). Node pointers
// and member views stay valid until that node is removed or the object destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "server/entry.h"

namespace rowcached::server {

// A score interval, as ZRANGEBYSCORE's min/max with "(" for exclusive bounds.
struct ScoreRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool max_exclusive = false;

  bool AboveMin(double score) const { return min_exclusive ? score > min : score >= min; }
  bool BelowMax(double score) const { return max_exclusive ? score < max : score <= max; }
  bool Contains(double score) const { return AboveMin(score) && BelowMax(score); }
  // Whether no score can be inside (min > max, or min == max with an exclusive end).
  bool Empty() const { return min > max || (min == max && (min_exclusive || max_exclusive)); }
};

// One end of a ZRANGEBYLEX interval: "-" (below everything), "+" (above everything), "[x"
// (inclusive) or "(x" (exclusive).
struct LexBound {
  enum Kind : uint8_t { kMinusInf, kPlusInf, kValue };
  Kind kind = kValue;
  bool exclusive = false;
  std::string value;
};

struct LexRange {
  LexBound min;
  LexBound max;

  bool AboveMin(std::string_view member) const;
  bool BelowMax(std::string_view member) const;
  bool Contains(std::string_view member) const { return AboveMin(member) && BelowMax(member); }
  bool Empty() const;
};

class ZSetObject final : public Object {
 public:
  // Redis 7.0's defaults for zset-max-listpack-entries and zset-max-listpack-value.
  static constexpr size_t kMaxListpackEntries = 128;
  static constexpr size_t kMaxListpackValue = 64;
  static constexpr int kMaxLevel = 32;  // ZSKIPLIST_MAXLEVEL

  class Node {
   public:
    std::string_view member() const { return member_; }
    double score() const { return score_; }
    // The next node in ascending order (nullptr after the last) and the previous one.
    const Node* next() const { return levels()[0].forward; }
    const Node* prev() const { return backward_; }

   private:
    friend class ZSetObject;
    struct Level {
      Node* forward;
      size_t span;  // elements the link jumps over, counting its target
    };
    // The levels lie in memory just before the node, level 0 nearest: a search step reads the
    // next node's score and then its link at the same level, and for the low levels, where most
    // steps are, both are in one cache line.
    template <typename L>
    struct LevelsBefore {
      L* end;
      L& operator[](int i) const { return end[-1 - i]; }
    };
    LevelsBefore<Level> levels() { return {reinterpret_cast<Level*>(this)}; }
    LevelsBefore<const Level> levels() const { return {reinterpret_cast<const Level*>(this)}; }

    double score_;
    Node* backward_;
    Node* hash_next_;  // chain of the member's hash bucket
    uint64_t hash_;
    std::string member_;
    int height_;
  };

  // A set starts as a "listpack" (a ZADD) or, when the caller knows it will be large, as a
  // "skiplist" (Redis' createZsetObject for big store results).
  explicit ZSetObject(bool listpack = true);
  ZSetObject(const ZSetObject&) = delete;
  ZSetObject& operator=(const ZSetObject&) = delete;
  ~ZSetObject() override;

  size_t MemoryUsage() const override;
  std::unique_ptr<Object> Clone() const override;
  std::string_view Encoding() const override {
    return listpack_ ? std::string_view("listpack") : std::string_view("skiplist");
  }

  bool listpack() const { return listpack_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The node of `member`, or nullptr.
  const Node* Find(std::string_view member) const;
  // Adds a member that is not present. REQUIRES: Find(member) == nullptr, score not NaN.
  const Node* Insert(std::string_view member, double score);
  // Changes the score of a present member (the node may move). REQUIRES: node of this set.
  const Node* UpdateScore(const Node* node, double score);
  // Removes `member`; true when it was there.
  bool Erase(std::string_view member);

  // Lowest and highest nodes; nullptr when empty.
  const Node* First() const { return header_->levels()[0].forward; }
  const Node* Last() const { return tail_; }
  // 0-based rank of `node` in ascending order. REQUIRES: node of this set.
  size_t RankOf(const Node* node) const;
  // The node at 0-based ascending `rank`. REQUIRES: rank < size().
  const Node* AtRank(size_t rank) const;

  // First / last node inside the range, nullptr when none.
  const Node* FirstInRange(const ScoreRange& range) const;
  const Node* LastInRange(const ScoreRange& range) const;
  const Node* FirstInRange(const LexRange& range) const;
  const Node* LastInRange(const LexRange& range) const;

  // A uniformly chosen node. REQUIRES: !empty().
  const Node* Random(std::mt19937_64& rng) const { return AtRank(rng() % size_); }

  // Calls fn(node) for the members of one hash bucket (and, after a shrink, of the buckets
  // folded into it) and returns the next reverse-binary cursor; 0 when the scan is complete.
  template <typename Fn>
  uint64_t ScanStep(uint64_t cursor, Fn&& fn) const;

 private:
  static uint64_t Hash(std::string_view member);
  static Node* NewNode(int height, double score, std::string_view member);
  static void FreeNode(Node* node);
  static bool Less(double score, std::string_view member, const Node* node);
  int RandomLevel();
  // Replaces the header by one `height` levels high with the same links.
  void GrowHeader(int height);
  Node* FindNode(std::string_view member, uint64_t hash) const;
  void HashInsert(Node* node);
  void HashRemove(Node* node);
  void Rehash(size_t buckets);
  // Unlinks `node` from the skiplist (not the hash table) and frees nothing.
  void Unlink(Node* node);
  Node* LinkNew(std::string_view member, double score);

  Node* header_;
  Node* tail_ = nullptr;
  int level_ = 1;
  size_t size_ = 0;
  bool listpack_ = true;
  uint64_t level_rng_ = 0x9E3779B97F4A7C15ull;  // xorshift state for node heights
  std::vector<Node*> buckets_;                  // power of two in size, or empty
};

namespace zset_internal {
uint64_t NextCursor(uint64_t cursor, uint64_t mask);
}  // namespace zset_internal

template <typename Fn>
uint64_t ZSetObject::ScanStep(uint64_t cursor, Fn&& fn) const {
  if (buckets_.empty()) return 0;
  uint64_t mask = buckets_.size() - 1;
  for (const Node* n = buckets_[cursor & mask]; n != nullptr; n = n->hash_next_) fn(n);
  return zset_internal::NextCursor(cursor, mask);
}

}  // namespace rowcached::server
