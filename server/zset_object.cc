#include "server/zset_object.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <new>

#include "server/util.h"

namespace rowcached::server {

namespace {
constexpr size_t kMinBuckets = 4;
}  // namespace

namespace zset_internal {
uint64_t NextCursor(uint64_t cursor, uint64_t mask) { return NextScanCursor(cursor, mask); }
}  // namespace zset_internal

// ---------------------------------------------------------------------------------------------
// Lex ranges

namespace {
// Whether `member` is above (or at, when inclusive) the bound taken as a minimum.
bool AboveLexMin(const LexBound& b, std::string_view member) {
  switch (b.kind) {
    case LexBound::kMinusInf:
      return true;
    case LexBound::kPlusInf:
      return false;
    case LexBound::kValue:
      break;
  }
  int c = member.compare(b.value);
  return b.exclusive ? c > 0 : c >= 0;
}
bool BelowLexMax(const LexBound& b, std::string_view member) {
  switch (b.kind) {
    case LexBound::kMinusInf:
      return false;
    case LexBound::kPlusInf:
      return true;
    case LexBound::kValue:
      break;
  }
  int c = member.compare(b.value);
  return b.exclusive ? c < 0 : c <= 0;
}
}  // namespace

bool LexRange::AboveMin(std::string_view member) const { return AboveLexMin(min, member); }
bool LexRange::BelowMax(std::string_view member) const { return BelowLexMax(max, member); }

bool LexRange::Empty() const {
  // Redis' zslIsInLexRange shortcut: "+" as min or "-" as max matches nothing, as does
  // min > max or min == max with an exclusive end.
  if (min.kind == LexBound::kPlusInf || max.kind == LexBound::kMinusInf) return true;
  if (min.kind != LexBound::kValue || max.kind != LexBound::kValue) return false;
  int c = min.value.compare(max.value);
  return c > 0 || (c == 0 && (min.exclusive || max.exclusive));
}

// ---------------------------------------------------------------------------------------------
// Nodes

ZSetObject::Node* ZSetObject::NewNode(int height, double score, std::string_view member) {
  const size_t levels_bytes = static_cast<size_t>(height) * sizeof(Node::Level);
  void* mem = ::operator new(levels_bytes + sizeof(Node));
  Node* n = reinterpret_cast<Node*>(static_cast<char*>(mem) + levels_bytes);
  new (&n->member_) std::string(member);
  n->score_ = score;
  n->backward_ = nullptr;
  n->hash_next_ = nullptr;
  n->hash_ = 0;
  n->height_ = height;
  for (int i = 0; i < height; ++i) n->levels()[i] = {nullptr, 0};
  return n;
}

void ZSetObject::FreeNode(Node* node) {
  const size_t levels_bytes = static_cast<size_t>(node->height_) * sizeof(Node::Level);
  node->member_.~basic_string();
  ::operator delete(reinterpret_cast<char*>(node) - levels_bytes);
}

// The header starts one level high and grows with the tallest node: a small set does not pay for
// 32 empty levels. Nothing links to the header, so replacing it is safe.
ZSetObject::ZSetObject(bool listpack) : header_(NewNode(1, 0, {})), listpack_(listpack) {}

void ZSetObject::GrowHeader(int height) {
  Node* grown = NewNode(height, 0, {});
  for (int i = 0; i < header_->height_; ++i) grown->levels()[i] = header_->levels()[i];
  FreeNode(header_);
  header_ = grown;
}

ZSetObject::~ZSetObject() {
  Node* n = header_->levels()[0].forward;
  while (n != nullptr) {
    Node* next = n->levels()[0].forward;
    FreeNode(n);
    n = next;
  }
  FreeNode(header_);
}

uint64_t ZSetObject::Hash(std::string_view member) { return std::hash<std::string_view>{}(member); }

size_t ZSetObject::MemoryUsage() const {
  size_t bytes = sizeof(*this) + sizeof(Node) + header_->height_ * sizeof(Node::Level);
  bytes += buckets_.capacity() * sizeof(Node*);
  for (const Node* n = First(); n != nullptr; n = n->next()) {
    bytes += sizeof(Node) + static_cast<size_t>(n->height_) * sizeof(Node::Level);
    if (n->member_.capacity() > 15) bytes += n->member_.capacity() + 1;  // beyond SSO
  }
  return bytes;
}

std::unique_ptr<Object> ZSetObject::Clone() const {
  auto copy = std::make_unique<ZSetObject>();
  copy->Rehash(buckets_.size());
  // Appending in order: every insert lands at the tail, so the copy costs O(N log N) at most.
  for (const Node* n = First(); n != nullptr; n = n->next()) copy->LinkNew(n->member_, n->score_);
  copy->listpack_ = listpack_;
  return copy;
}

bool ZSetObject::Less(double score, std::string_view member, const Node* node) {
  return node->score_ < score || (node->score_ == score && node->member_.compare(member) < 0);
}

int ZSetObject::RandomLevel() {
  // Redis' zslRandomLevel: each further level with probability 1/4.
  int level = 1;
  while (level < kMaxLevel) {
    level_rng_ ^= level_rng_ << 13;
    level_rng_ ^= level_rng_ >> 7;
    level_rng_ ^= level_rng_ << 17;
    if ((level_rng_ & 3) != 0) break;
    ++level;
  }
  return level;
}

// ---------------------------------------------------------------------------------------------
// Hash table

ZSetObject::Node* ZSetObject::FindNode(std::string_view member, uint64_t hash) const {
  if (buckets_.empty()) return nullptr;
  for (Node* n = buckets_[hash & (buckets_.size() - 1)]; n != nullptr; n = n->hash_next_) {
    if (n->hash_ == hash && n->member_ == member) return n;
  }
  return nullptr;
}

const ZSetObject::Node* ZSetObject::Find(std::string_view member) const {
  return FindNode(member, Hash(member));
}

void ZSetObject::HashInsert(Node* node) {
  if (size_ > buckets_.size()) Rehash(std::max(kMinBuckets, buckets_.size() * 2));
  Node*& head = buckets_[node->hash_ & (buckets_.size() - 1)];
  node->hash_next_ = head;
  head = node;
}

void ZSetObject::HashRemove(Node* node) {
  for (Node** link = &buckets_[node->hash_ & (buckets_.size() - 1)]; *link != nullptr;
       link = &(*link)->hash_next_) {
    if (*link == node) {
      *link = node->hash_next_;
      break;
    }
  }
  if (size_ == 0) {
    buckets_.clear();
    buckets_.shrink_to_fit();
  } else if (buckets_.size() > kMinBuckets && size_ * 8 < buckets_.size()) {
    Rehash(std::max(kMinBuckets, std::bit_ceil(size_)));
  }
}

void ZSetObject::Rehash(size_t buckets) {
  std::vector<Node*> fresh(buckets, nullptr);
  for (Node* head : buckets_) {
    for (Node* n = head; n != nullptr;) {
      Node* next = n->hash_next_;
      Node*& slot = fresh[n->hash_ & (buckets - 1)];
      n->hash_next_ = slot;
      slot = n;
      n = next;
    }
  }
  buckets_.swap(fresh);
}

// ---------------------------------------------------------------------------------------------
// Skiplist

ZSetObject::Node* ZSetObject::LinkNew(std::string_view member, double score) {
  // Redis' zslInsert.
  // The new node's height first: growing the header must happen before `update` points at it.
  int level = RandomLevel();
  if (level > header_->height_) GrowHeader(level);
  Node* update[kMaxLevel];
  size_t rank[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (x->levels()[i].forward != nullptr && Less(score, member, x->levels()[i].forward)) {
      rank[i] += x->levels()[i].span;
      x = x->levels()[i].forward;
    }
    update[i] = x;
  }
  if (level > level_) {
    for (int i = level_; i < level; ++i) {
      rank[i] = 0;
      update[i] = header_;
      update[i]->levels()[i].span = size_;
    }
    level_ = level;
  }
  Node* node = NewNode(level, score, member);
  for (int i = 0; i < level; ++i) {
    node->levels()[i].forward = update[i]->levels()[i].forward;
    update[i]->levels()[i].forward = node;
    node->levels()[i].span = update[i]->levels()[i].span - (rank[0] - rank[i]);
    update[i]->levels()[i].span = (rank[0] - rank[i]) + 1;
  }
  for (int i = level; i < level_; ++i) update[i]->levels()[i].span++;
  node->backward_ = update[0] == header_ ? nullptr : update[0];
  if (node->levels()[0].forward != nullptr) {
    node->levels()[0].forward->backward_ = node;
  } else {
    tail_ = node;
  }
  ++size_;
  node->hash_ = Hash(member);
  HashInsert(node);
  return node;
}

void ZSetObject::Unlink(Node* node) {
  // Redis' zslDelete / zslDeleteNode: find the update vector by descending to the node.
  Node* update[kMaxLevel];
  Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && x->levels()[i].forward != node &&
           Less(node->score_, node->member_, x->levels()[i].forward)) {
      x = x->levels()[i].forward;
    }
    update[i] = x;
  }
  for (int i = 0; i < level_; ++i) {
    if (update[i]->levels()[i].forward == node) {
      update[i]->levels()[i].span += node->levels()[i].span - 1;
      update[i]->levels()[i].forward = node->levels()[i].forward;
    } else {
      update[i]->levels()[i].span -= 1;
    }
  }
  if (node->levels()[0].forward != nullptr) {
    node->levels()[0].forward->backward_ = node->backward_;
  } else {
    tail_ = node->backward_;
  }
  while (level_ > 1 && header_->levels()[level_ - 1].forward == nullptr) --level_;
  --size_;
}

const ZSetObject::Node* ZSetObject::Insert(std::string_view member, double score) {
  if (listpack_ && (member.size() > kMaxListpackValue || size_ + 1 > kMaxListpackEntries)) {
    listpack_ = false;
  }
  if (listpack_ && score == 0) score = 0;  // the listpack's text form has no -0
  return LinkNew(member, score);
}

const ZSetObject::Node* ZSetObject::UpdateScore(const Node* cnode, double score) {
  Node* node = const_cast<Node*>(cnode);
  if (listpack_ && score == 0) score = 0;
  // Redis' zslUpdateScore fast path: the node stays where it is when its neighbours allow.
  Node* next = node->levels()[0].forward;
  if ((node->backward_ == nullptr || Less(score, node->member_, node->backward_)) &&
      (next == nullptr || !Less(score, node->member_, next))) {
    node->score_ = score;
    return node;
  }
  Unlink(node);
  HashRemove(node);
  std::string member = std::move(node->member_);
  FreeNode(node);
  return LinkNew(member, score);
}

bool ZSetObject::Erase(std::string_view member) {
  Node* node = FindNode(member, Hash(member));
  if (node == nullptr) return false;
  Unlink(node);
  HashRemove(node);
  FreeNode(node);
  return true;
}

size_t ZSetObject::RankOf(const Node* node) const {
  // Redis' zslGetRank, 0-based.
  size_t rank = 0;
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr &&
           (x->levels()[i].forward == node ||
            Less(node->score_, node->member_, x->levels()[i].forward))) {
      rank += x->levels()[i].span;
      x = x->levels()[i].forward;
      if (x == node) return rank - 1;
    }
  }
  return rank - 1;  // not reached for a node of this set
}

const ZSetObject::Node* ZSetObject::AtRank(size_t rank) const {
  // Redis' zslGetElementByRank with a 1-based rank.
  size_t target = rank + 1;
  size_t traversed = 0;
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && traversed + x->levels()[i].span <= target) {
      traversed += x->levels()[i].span;
      x = x->levels()[i].forward;
    }
    if (traversed == target) return x;
  }
  return nullptr;
}

const ZSetObject::Node* ZSetObject::FirstInRange(const ScoreRange& range) const {
  if (range.Empty() || tail_ == nullptr || !range.AboveMin(tail_->score_)) return nullptr;
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && !range.AboveMin(x->levels()[i].forward->score_)) {
      x = x->levels()[i].forward;
    }
  }
  x = x->levels()[0].forward;
  return x != nullptr && range.BelowMax(x->score_) ? x : nullptr;
}

const ZSetObject::Node* ZSetObject::LastInRange(const ScoreRange& range) const {
  const Node* first = First();
  if (range.Empty() || first == nullptr || !range.BelowMax(first->score_)) return nullptr;
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && range.BelowMax(x->levels()[i].forward->score_)) {
      x = x->levels()[i].forward;
    }
  }
  return x != header_ && range.AboveMin(x->score_) ? x : nullptr;
}

// The lex bounds assume every score is equal. When they are not, Redis' answers depend on the
// encoding: a listpack is scanned linearly from the end nearest the bound, a skiplist is
// descended. Both are kept so that either encoding answers as Redis' does.
const ZSetObject::Node* ZSetObject::FirstInRange(const LexRange& range) const {
  if (range.Empty() || tail_ == nullptr || !range.AboveMin(tail_->member_)) return nullptr;
  if (listpack_) {
    // zzlFirstInLexRange: the first member at or above min decides.
    for (const Node* n = First(); n != nullptr; n = n->next()) {
      if (range.AboveMin(n->member_)) return range.BelowMax(n->member_) ? n : nullptr;
    }
    return nullptr;
  }
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && !range.AboveMin(x->levels()[i].forward->member_)) {
      x = x->levels()[i].forward;
    }
  }
  x = x->levels()[0].forward;
  return x != nullptr && range.BelowMax(x->member_) ? x : nullptr;
}

const ZSetObject::Node* ZSetObject::LastInRange(const LexRange& range) const {
  const Node* first = First();
  if (range.Empty() || first == nullptr || !range.BelowMax(first->member_)) return nullptr;
  if (listpack_) {
    // zzlLastInLexRange: the last member at or below max decides.
    for (const Node* n = Last(); n != nullptr; n = n->prev()) {
      if (range.BelowMax(n->member_)) return range.AboveMin(n->member_) ? n : nullptr;
    }
    return nullptr;
  }
  const Node* x = header_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && range.BelowMax(x->levels()[i].forward->member_)) {
      x = x->levels()[i].forward;
    }
  }
  return x != header_ && range.AboveMin(x->member_) ? x : nullptr;
}

}  // namespace rowcached::server
