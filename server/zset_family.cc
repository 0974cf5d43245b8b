// Sorted set commands: ZADD ZINCRBY ZREM ZCARD ZCOUNT ZLEXCOUNT ZSCORE ZMSCORE ZRANK ZREVRANK
// ZRANGE ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
// ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER ZUNION
// ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZSCAN and the blocking BZPOPMIN
// BZPOPMAX BZMPOP (server/blocking.h; every command that can give a key members calls KeyReady).
// Redis 7.0 semantics, replies and error texts (checked against redis-server 7.0.15). Cmd functions
// parse and reply; the key-local work is in the Op functions of zset_ops.h, on the ZSetObject of
// zset_object.h.
//
// Locking: the single-key commands let the dispatcher lock their key. The commands whose keys
// follow a numkeys argument (ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD, [B]ZMPOP) are
// registered kNoShardLock and lock every key they name with ShardLocks::LockKeys once they have
// parsed numkeys; ZRANGESTORE names its two keys in its spec (first 1, last 2).
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/blocking.h"
#include "server/notify.h"
#include "server/scan_command.h"
#include "server/server_context.h"
#include "server/set_object.h"
#include "server/util.h"
#include "server/zset_ops.h"

namespace rowcached::server {

namespace {

// Deletes the set at `key` when it has no members left; true when it did.
bool DeleteIfEmpty(Db& db, std::string_view key, const ZSetObject* zset) {
  if (!zset->empty()) return false;
  (void)db.Delete(key);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Ops

ZSetResult<ZSetObject*> FindZSet(Db& db, std::string_view key, bool count_stats) {
  ZSetResult<ZSetObject*> r;
  Entry* e = db.FindTyped(key, ValueType::kZSet, &r.status, count_stats);
  if (e != nullptr) r.value = static_cast<ZSetObject*>(e->object());
  return r;
}

ZSetResult<ZAddOutcome> OpZAdd(Db& db, std::string_view key, const ZAddOptions& options,
                               const std::vector<std::pair<double, std::string_view>>& pairs) {
  ZSetResult<ZAddOutcome> r;
  ZSetResult<ZSetObject*> found = FindZSet(db, key, false);
  if (!found.ok()) return {found.status, {}};
  ZSetObject* zset = found.value;
  if (zset == nullptr) {
    if (options.xx) return r;
    zset = db.FindOrCreate<ZSetObject>(key, ValueType::kZSet, &r.status);
  }
  // Redis' zsetAdd, pair by pair.
  for (const auto& [input_score, member] : pairs) {
    double score = input_score;
    const ZSetObject::Node* node = zset->Find(member);
    if (node != nullptr) {
      if (options.nx) continue;
      double current = node->score();
      if (options.incr) {
        score += current;
        if (std::isnan(score)) {
          r.status = Status::kNanOrInfinity;
          break;
        }
      }
      if ((options.lt && score >= current) || (options.gt && score <= current)) continue;
      if (score != current) {
        zset->UpdateScore(node, score);
        ++r.value.updated;
      }
      // The computed score, as Redis replies it (a listpack stores -0 as 0, the reply keeps -0).
      r.value.incr_score = score;
    } else if (!options.xx) {
      zset->Insert(member, score);
      ++r.value.added;
      r.value.incr_score = score;
    }
  }
  if (!options.incr) r.value.incr_score.reset();
  return r;
}

ZSetResult<int64_t> OpZRem(Db& db, std::string_view key,
                           const std::vector<std::string_view>& members, bool* deleted_key) {
  *deleted_key = false;
  ZSetResult<ZSetObject*> found = FindZSet(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  int64_t removed = 0;
  for (std::string_view m : members) {
    if (found.value->Erase(m)) ++removed;
    if (found.value->empty()) break;  // Redis stops here and deletes the key
  }
  *deleted_key = DeleteIfEmpty(db, key, found.value);
  return {Status::kOk, removed};
}

ZSetResult<int64_t> OpZCard(Db& db, std::string_view key) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  return {Status::kOk, static_cast<int64_t>(found.value->size())};
}

ZSetResult<std::optional<double>> OpZScore(Db& db, std::string_view key, std::string_view member) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, std::nullopt};
  const ZSetObject::Node* n = found.value->Find(member);
  if (n == nullptr) return {Status::kOk, std::nullopt};
  return {Status::kOk, n->score()};
}

ZSetResult<std::vector<std::optional<double>>> OpZMScore(
    Db& db, std::string_view key, const std::vector<std::string_view>& members) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok()) return {found.status, {}};
  ZSetResult<std::vector<std::optional<double>>> r;
  for (std::string_view m : members) {
    const ZSetObject::Node* n = found.value == nullptr ? nullptr : found.value->Find(m);
    r.value.push_back(n == nullptr ? std::nullopt : std::optional<double>(n->score()));
  }
  return r;
}

ZSetResult<std::optional<int64_t>> OpZRank(Db& db, std::string_view key, std::string_view member,
                                           bool reverse) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, std::nullopt};
  const ZSetObject::Node* n = found.value->Find(member);
  if (n == nullptr) return {Status::kOk, std::nullopt};
  size_t rank = found.value->RankOf(n);
  if (reverse) rank = found.value->size() - 1 - rank;
  return {Status::kOk, static_cast<int64_t>(rank)};
}

namespace {
// How many nodes lie between `first` and `last` inclusive (0 when either is missing).
template <typename Range>
int64_t CountInRange(const ZSetObject& zset, const Range& range) {
  const ZSetObject::Node* first = zset.FirstInRange(range);
  if (first == nullptr) return 0;
  const ZSetObject::Node* last = zset.LastInRange(range);
  return static_cast<int64_t>(zset.RankOf(last) - zset.RankOf(first) + 1);
}
}  // namespace

ZSetResult<int64_t> OpZCount(Db& db, std::string_view key, const ScoreRange& range) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  return {Status::kOk, CountInRange(*found.value, range)};
}

ZSetResult<int64_t> OpZLexCount(Db& db, std::string_view key, const LexRange& range) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  const ZSetObject& zset = *found.value;
  if (!zset.listpack()) return {Status::kOk, CountInRange(zset, range)};
  // A listpack counts by walking from the first member in range while members stay below max;
  // with unequal scores that differs from the skiplist's rank difference, as in Redis.
  int64_t n = 0;
  for (const ZSetObject::Node* x = zset.FirstInRange(range);
       x != nullptr && range.BelowMax(x->member()); x = x->next()) {
    ++n;
  }
  return {Status::kOk, n};
}

namespace {

// The 0-based ascending rank interval [first, last] of a rank range, after Redis' clamping of
// negative and out-of-range indexes; false when empty. With `reverse` the indexes count from
// the highest member.
bool ClampRanks(const ZRangeSpec& spec, size_t size, size_t* first, size_t* last) {
  int64_t len = static_cast<int64_t>(size);
  int64_t start = spec.start;
  int64_t stop = spec.stop;
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return false;
  if (stop >= len) stop = len - 1;
  if (spec.reverse) {
    *first = static_cast<size_t>(len - 1 - stop);
    *last = static_cast<size_t>(len - 1 - start);
  } else {
    *first = static_cast<size_t>(start);
    *last = static_cast<size_t>(stop);
  }
  return true;
}

// Walks from the first node of `range` in the spec's direction while nodes stay inside,
// skipping LIMIT's offset and stopping after its count.
template <typename Range, typename Inside>
void SelectByRange(const ZSetObject& zset, const ZRangeSpec& spec, const Range& range,
                   Inside inside, std::vector<ScoredMember>* out) {
  if (spec.offset < 0 || spec.count == 0) return;
  const ZSetObject::Node* n = spec.reverse ? zset.LastInRange(range) : zset.FirstInRange(range);
  if (n == nullptr) return;
  // The offset moves by rank, not node by node: O(log N) whatever its size.
  size_t rank = zset.RankOf(n);
  if (static_cast<uint64_t>(spec.offset) >= zset.size()) return;
  size_t offset = static_cast<size_t>(spec.offset);
  if (spec.reverse) {
    if (offset > rank) return;
    n = zset.AtRank(rank - offset);
  } else {
    if (rank + offset >= zset.size()) return;
    n = zset.AtRank(rank + offset);
  }
  uint64_t left = spec.count < 0 ? UINT64_MAX : static_cast<uint64_t>(spec.count);
  while (n != nullptr && left > 0 && inside(n)) {
    out->push_back({n->member(), n->score()});
    --left;
    n = spec.reverse ? n->prev() : n->next();
  }
}

}  // namespace

std::vector<ScoredMember> SelectRange(const ZSetObject& zset, const ZRangeSpec& spec) {
  std::vector<ScoredMember> out;
  switch (spec.by) {
    case ZRangeSpec::By::kRank: {
      size_t first, last;
      if (!ClampRanks(spec, zset.size(), &first, &last)) break;
      out.reserve(last - first + 1);
      const ZSetObject::Node* n = zset.AtRank(spec.reverse ? last : first);
      for (size_t i = first; i <= last; ++i) {
        out.push_back({n->member(), n->score()});
        n = spec.reverse ? n->prev() : n->next();
      }
      break;
    }
    case ZRangeSpec::By::kScore:
      SelectByRange(
          zset, spec, spec.score,
          [&](const ZSetObject::Node* n) {
            return spec.reverse ? spec.score.AboveMin(n->score()) : spec.score.BelowMax(n->score());
          },
          &out);
      break;
    case ZRangeSpec::By::kLex:
      SelectByRange(
          zset, spec, spec.lex,
          [&](const ZSetObject::Node* n) {
            return spec.reverse ? spec.lex.AboveMin(n->member()) : spec.lex.BelowMax(n->member());
          },
          &out);
      break;
  }
  return out;
}

ZSetResult<std::vector<ScoredMember>> OpZRange(Db& db, std::string_view key,
                                               const ZRangeSpec& spec) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  return {Status::kOk, SelectRange(*found.value, spec)};
}

namespace {
// Builds a fresh set from `members` (each once, in order) and puts it at `dst`, or deletes `dst`
// when there are none. Returns whether `dst` existed before. `skiplist` starts the set in that
// encoding, as Redis builds it when it knows the result will be large; otherwise it starts as a
// listpack and converts when it grows (which decides whether a -0 score survives).
bool ReplaceWithZSet(Db& db, std::string_view dst, const std::vector<OwnedScoredMember>& members,
                     bool skiplist) {
  if (members.empty()) return db.Delete(dst);
  bool existed = db.Find(dst) != nullptr;
  auto zset = std::make_unique<ZSetObject>(!skiplist);
  for (const auto& m : members) zset->Insert(m.member, m.score);
  db.SetObject(dst, ValueType::kZSet, std::move(zset));
  return existed;
}
}  // namespace

ZSetResult<int64_t> OpZRangeStore(Db& db, std::string_view dst, std::string_view src,
                                  const ZRangeSpec& spec, bool* dst_changed) {
  *dst_changed = false;
  ZSetResult<ZSetObject*> found = FindZSet(db, src, false);
  if (!found.ok()) return {found.status, 0};
  std::vector<OwnedScoredMember> selected;
  if (found.value != nullptr) {
    // Copied out first: `dst` may be `src`.
    for (const ScoredMember& m : SelectRange(*found.value, spec)) {
      selected.push_back({std::string(m.member), m.score});
    }
  }
  // Redis sizes a rank range's destination up front (a skiplist past the listpack limit); score
  // and lex ranges start as a listpack.
  bool skiplist =
      spec.by == ZRangeSpec::By::kRank && selected.size() > ZSetObject::kMaxListpackEntries;
  bool existed = ReplaceWithZSet(db, dst, selected, skiplist);
  *dst_changed = !selected.empty() || existed;
  return {Status::kOk, static_cast<int64_t>(selected.size())};
}

ZSetResult<int64_t> OpZRemRange(Db& db, std::string_view key, const ZRangeSpec& spec,
                                bool* deleted_key) {
  *deleted_key = false;
  ZSetResult<ZSetObject*> found = FindZSet(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, 0};
  ZRangeSpec forward = spec;
  forward.reverse = false;
  forward.offset = 0;
  forward.count = -1;
  std::vector<std::string> doomed;
  for (const ScoredMember& m : SelectRange(*found.value, forward)) doomed.emplace_back(m.member);
  for (const std::string& m : doomed) (void)found.value->Erase(m);
  *deleted_key = DeleteIfEmpty(db, key, found.value);
  return {Status::kOk, static_cast<int64_t>(doomed.size())};
}

ZSetResult<std::vector<OwnedScoredMember>> OpZPop(Db& db, std::string_view key, bool max,
                                                  int64_t count, bool* deleted_key) {
  *deleted_key = false;
  ZSetResult<ZSetObject*> found = FindZSet(db, key, false);
  if (!found.ok() || found.value == nullptr) return {found.status, {}};
  ZSetObject* zset = found.value;
  ZSetResult<std::vector<OwnedScoredMember>> r;
  while (count-- > 0 && !zset->empty()) {
    const ZSetObject::Node* n = max ? zset->Last() : zset->First();
    r.value.push_back({std::string(n->member()), n->score()});
    (void)zset->Erase(r.value.back().member);
  }
  *deleted_key = DeleteIfEmpty(db, key, zset);
  return r;
}

ZSetResult<std::vector<ScoredMember>> OpZRandMember(Db& db, std::string_view key, int64_t count) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr || count == 0) return {found.status, {}};
  const ZSetObject& zset = *found.value;
  std::mt19937_64& rng = db.RngOf(key);
  ZSetResult<std::vector<ScoredMember>> r;
  auto at = [&](size_t rank) {
    const ZSetObject::Node* n = zset.AtRank(rank);
    return ScoredMember{n->member(), n->score()};
  };
  if (count < 0) {
    uint64_t n = static_cast<uint64_t>(-count);
    r.value.reserve(std::min<uint64_t>(n, 1 << 16));  // Redis bounds -count only by LONG_MAX
    for (uint64_t i = 0; i < n; ++i) r.value.push_back(at(rng() % zset.size()));
    return r;
  }
  size_t size = zset.size();
  if (static_cast<uint64_t>(count) >= size) {
    // The whole set, highest first: Redis walks it from the tail here.
    r.value.reserve(size);
    for (const ZSetObject::Node* n = zset.Last(); n != nullptr; n = n->prev()) {
      r.value.push_back({n->member(), n->score()});
    }
    return r;
  }
  // Distinct ranks by a partial Fisher-Yates over [0, size) kept sparse in a map, so a small
  // sample of a big set costs O(count log N).
  std::unordered_map<size_t, size_t> swapped;
  auto slot = [&](size_t i) {
    auto it = swapped.find(i);
    return it == swapped.end() ? i : it->second;
  };
  for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
    size_t j = i + rng() % (size - i);
    size_t pick = slot(j);
    swapped[j] = slot(i);
    r.value.push_back(at(pick));
  }
  return r;
}

ZSetResult<std::optional<std::string_view>> OpZRandOne(Db& db, std::string_view key) {
  ZSetResult<ZSetObject*> found = FindZSet(db, key, true);
  if (!found.ok() || found.value == nullptr) return {found.status, std::nullopt};
  return {Status::kOk, found.value->Random(db.RngOf(key))->member()};
}

ZSetScanPage ScanZSet(const ZSetObject& zset, uint64_t cursor, size_t count,
                      std::string_view pattern) {
  ZSetScanPage page;
  bool all = pattern.empty() || pattern == "*";
  auto collect = [&](const ZSetObject::Node* n) {
    if (all || GlobMatch(pattern, n->member())) page.members.push_back({n->member(), n->score()});
  };
  if (zset.listpack()) {
    for (const ZSetObject::Node* n = zset.First(); n != nullptr; n = n->next()) collect(n);
    return page;
  }
  // Redis' loop: stop at `count` reply items collected before filtering (two per member), or
  // after 10 * count more buckets, whichever comes first.
  size_t collected = 0;
  auto counting = [&](const ZSetObject::Node* n) {
    collected += 2;
    collect(n);
  };
  uint64_t max_steps = static_cast<uint64_t>(count) * 10;
  do {
    cursor = zset.ScanStep(cursor, counting);
  } while (cursor != 0 && max_steps-- > 0 && collected < count);
  page.cursor = cursor;
  return page;
}

std::vector<std::string> SetMembersForZSetAlgebra(const Entry& set_entry) {
  std::vector<std::string> members;
  const auto& set = *static_cast<const SetObject*>(set_entry.object());
  members.reserve(set.size());
  set.ForEach([&](const SetMember& m) { members.emplace_back(m.view()); });
  return members;
}

namespace {

// One input of the algebra commands: a sorted set, a plain set (members scoring 1), or nothing.
struct AlgebraInput {
  const ZSetObject* zset = nullptr;
  // A plain set's members (owned, so an input can move while the inputs are sorted).
  std::unordered_set<std::string> set_members;
  double weight = 1;

  size_t size() const { return zset != nullptr ? zset->size() : set_members.size(); }
  // The member's unweighted score, nullopt when absent.
  std::optional<double> Score(std::string_view member) const {
    if (zset != nullptr) {
      const ZSetObject::Node* n = zset->Find(member);
      return n == nullptr ? std::nullopt : std::optional<double>(n->score());
    }
    return set_members.count(std::string(member)) != 0 ? std::optional<double>(1.0) : std::nullopt;
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (zset != nullptr) {
      for (const ZSetObject::Node* n = zset->First(); n != nullptr; n = n->next()) {
        fn(n->member(), n->score());
      }
      return;
    }
    for (const std::string& m : set_members) fn(std::string_view(m), 1.0);
  }
};

void Aggregate(double* target, double value, ZAggregate aggregate) {
  switch (aggregate) {
    case ZAggregate::kSum:
      *target += value;
      if (std::isnan(*target)) *target = 0;  // inf + -inf: Redis' convention is 0
      break;
    case ZAggregate::kMin:
      *target = std::min(*target, value);
      break;
    case ZAggregate::kMax:
      *target = std::max(*target, value);
      break;
  }
}

double Weighted(double score, double weight) {
  double v = score * weight;
  return std::isnan(v) ? 0 : v;  // 0 * inf
}

// Looks every key up (all are checked for their type before anything is computed, as Redis).
Status LoadInputs(Db& db, const std::vector<std::string_view>& keys, bool count_stats,
                  std::vector<AlgebraInput>* inputs) {
  inputs->resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    Entry* e = db.Find(keys[i], count_stats);
    if (e == nullptr) continue;
    if (e->type() == ValueType::kZSet) {
      (*inputs)[i].zset = static_cast<const ZSetObject*>(e->object());
    } else if (e->type() == ValueType::kSet) {
      for (std::string& m : SetMembersForZSetAlgebra(*e)) {
        (*inputs)[i].set_members.insert(std::move(m));
      }
    } else {
      return Status::kWrongType;
    }
  }
  return Status::kOk;
}

// Smallest input first, as Redis orders the inputs of a union or intersection (glibc's qsort is
// a stable merge sort): the scores aggregate in that order, which decides the inf + -inf cases
// (a NaN sum counts as 0 where it arises).
void SortBySize(std::vector<AlgebraInput>* inputs) {
  std::stable_sort(
      inputs->begin(), inputs->end(),
      [](const AlgebraInput& a, const AlgebraInput& b) { return a.size() < b.size(); });
}

void SortByScore(std::vector<OwnedScoredMember>* v) {
  std::sort(v->begin(), v->end(), [](const OwnedScoredMember& a, const OwnedScoredMember& b) {
    return a.score < b.score || (a.score == b.score && a.member < b.member);
  });
}

}  // namespace

ZSetResult<std::vector<OwnedScoredMember>> OpZSetAlgebra(Db& db, ZSetAlgebra op,
                                                         const std::vector<std::string_view>& keys,
                                                         const std::vector<double>& weights,
                                                         ZAggregate aggregate) {
  std::vector<AlgebraInput> inputs;
  if (Status s = LoadInputs(db, keys, true, &inputs); s != Status::kOk) return {s, {}};
  for (size_t i = 0; i < inputs.size(); ++i) inputs[i].weight = weights[i];
  ZSetResult<std::vector<OwnedScoredMember>> r;
  if (op != ZSetAlgebra::kDiff) SortBySize(&inputs);
  switch (op) {
    case ZSetAlgebra::kInter: {
      if (inputs[0].size() == 0) break;
      inputs[0].ForEach([&](std::string_view member, double score) {
        double acc = Weighted(score, inputs[0].weight);
        for (size_t j = 1; j < inputs.size(); ++j) {
          std::optional<double> s = inputs[j].Score(member);
          if (!s) return;
          Aggregate(&acc, *s * inputs[j].weight, aggregate);
        }
        r.value.push_back({std::string(member), acc});
      });
      break;
    }
    case ZSetAlgebra::kUnion: {
      std::unordered_map<std::string, double> acc;
      for (const AlgebraInput& in : inputs) {
        in.ForEach([&](std::string_view member, double score) {
          double v = Weighted(score, in.weight);
          auto [it, fresh] = acc.try_emplace(std::string(member), v);
          if (!fresh) Aggregate(&it->second, v, aggregate);
        });
      }
      r.value.reserve(acc.size());
      for (auto& [m, s] : acc) r.value.push_back({m, s});
      break;
    }
    case ZSetAlgebra::kDiff:
      inputs[0].ForEach([&](std::string_view member, double score) {
        for (size_t j = 1; j < inputs.size(); ++j) {
          if (inputs[j].Score(member)) return;
        }
        r.value.push_back({std::string(member), score});
      });
      break;
  }
  SortByScore(&r.value);
  return r;
}

bool StoreZSet(Db& db, std::string_view dst, const std::vector<OwnedScoredMember>& members) {
  // Redis builds the result as a skiplist and converts it to a listpack only when it is small
  // enough; a listpack has no -0, a skiplist keeps it.
  bool skiplist = members.size() > ZSetObject::kMaxListpackEntries ||
                  std::any_of(members.begin(), members.end(), [](const OwnedScoredMember& m) {
                    return m.member.size() > ZSetObject::kMaxListpackValue;
                  });
  return ReplaceWithZSet(db, dst, members, skiplist);
}

ZSetResult<int64_t> OpZInterCard(Db& db, const std::vector<std::string_view>& keys, int64_t limit) {
  std::vector<AlgebraInput> inputs;
  if (Status s = LoadInputs(db, keys, true, &inputs); s != Status::kOk) return {s, 0};
  SortBySize(&inputs);
  int64_t n = 0;
  bool done = false;
  inputs[0].ForEach([&](std::string_view member, double) {
    if (done) return;
    for (size_t j = 1; j < inputs.size(); ++j) {
      if (!inputs[j].Score(member)) return;
    }
    ++n;
    if (limit > 0 && n >= limit) done = true;
  });
  return {Status::kOk, n};
}

// ---------------------------------------------------------------------------------------------
// Commands

namespace {

constexpr std::string_view kNotFloatRange = "ERR min or max is not a float";
constexpr std::string_view kNotLexRange = "ERR min or max not valid string range item";

void ReplyZSetError(CommandContext& ctx, Status s) {
  if (s == Status::kNanOrInfinity) {
    ctx.reply.Error("ERR resulting score is not a number (NaN)");
  } else {
    ctx.reply.Error(s);
  }
}

std::vector<std::string_view> ArgsFrom(CommandContext& ctx, size_t first, size_t end) {
  return std::vector<std::string_view>(ctx.args.begin() + static_cast<ptrdiff_t>(first),
                                       ctx.args.begin() + static_cast<ptrdiff_t>(end));
}

// Redis' zslParseRange item: strtod over the whole text after an optional "(" (so leading
// spaces, "" and "(" pass, as in Redis), no NaN.
bool ParseScoreBound(std::string_view text, double* value, bool* exclusive) {
  *exclusive = !text.empty() && text[0] == '(';
  if (*exclusive) text.remove_prefix(1);
  std::string buf(text);
  char* end = nullptr;
  double v = std::strtod(buf.c_str(), &end);
  if (*end != '\0' || std::isnan(v)) return false;
  *value = v;
  return true;
}

bool ParseScoreRange(std::string_view min, std::string_view max, ScoreRange* range) {
  return ParseScoreBound(min, &range->min, &range->min_exclusive) &&
         ParseScoreBound(max, &range->max, &range->max_exclusive);
}

// Redis' zslParseLexRangeItem.
bool ParseLexBound(std::string_view text, LexBound* bound) {
  if (text.empty()) return false;
  switch (text[0]) {
    case '+':
    case '-':
      if (text.size() != 1) return false;
      bound->kind = text[0] == '+' ? LexBound::kPlusInf : LexBound::kMinusInf;
      bound->exclusive = true;
      return true;
    case '(':
    case '[':
      bound->kind = LexBound::kValue;
      bound->exclusive = text[0] == '(';
      bound->value.assign(text.substr(1));
      return true;
    default:
      return false;
  }
}

bool ParseLexRange(std::string_view min, std::string_view max, LexRange* range) {
  return ParseLexBound(min, &range->min) && ParseLexBound(max, &range->max);
}

// Member/score pairs: RESP3 gives each pair its own two-element array with a double; RESP2 a
// flat array with the score as a bulk string.
template <typename Items>
void ReplyScored(CommandContext& ctx, const Items& items, bool with_scores) {
  bool pairs = with_scores && ctx.reply.resp3();
  ctx.reply.Array(with_scores && !pairs ? items.size() * 2 : items.size());
  for (const auto& m : items) {
    if (pairs) ctx.reply.Array(2);
    ctx.reply.Bulk(m.member);
    if (with_scores) ctx.reply.Double(m.score);
  }
}

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ... and ZINCRBY key increment member.
void ZAddGeneric(CommandContext& ctx, bool incr_command) {
  ZAddOptions options;
  options.incr = incr_command;
  bool ch = false;
  size_t i = 2;
  for (; i < ctx.argc(); ++i) {
    std::string_view opt = ctx.arg(i);
    if (EqualsIgnoreCase(opt, "nx")) {
      options.nx = true;
    } else if (EqualsIgnoreCase(opt, "xx")) {
      options.xx = true;
    } else if (EqualsIgnoreCase(opt, "ch")) {
      ch = true;
    } else if (EqualsIgnoreCase(opt, "incr")) {
      options.incr = true;
    } else if (EqualsIgnoreCase(opt, "gt")) {
      options.gt = true;
    } else if (EqualsIgnoreCase(opt, "lt")) {
      options.lt = true;
    } else {
      break;
    }
  }
  size_t elements = ctx.argc() - i;
  if (elements == 0 || elements % 2 != 0) {
    ctx.reply.Error(Status::kSyntax);
    return;
  }
  elements /= 2;
  if (options.nx && options.xx) {
    ctx.reply.Error("ERR XX and NX options at the same time are not compatible");
    return;
  }
  if ((options.gt && options.nx) || (options.lt && options.nx) || (options.gt && options.lt)) {
    ctx.reply.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
    return;
  }
  if (options.incr && elements > 1) {
    ctx.reply.Error("ERR INCR option supports a single increment-element pair");
    return;
  }
  std::vector<std::pair<double, std::string_view>> pairs;
  pairs.reserve(elements);
  for (size_t j = 0; j < elements; ++j) {
    double score;
    if (!ParseDouble(ctx.arg(i + 2 * j), &score)) {
      ctx.reply.Error(Status::kNotFloat);
      return;
    }
    pairs.emplace_back(score, ctx.arg(i + 2 * j + 1));
  }
  Db db = ctx.db();
  std::string_view key = ctx.arg(1);
  ZSetResult<ZAddOutcome> r = OpZAdd(db, key, options, pairs);
  if (r.value.added > 0 || r.value.updated > 0) {
    KeyModified(ctx, key);
    NotifyKeyspaceEvent(ctx, kNotifyZSet, options.incr ? "zincr" : "zadd", key);
  }
  // Only a set created here can have clients blocked on it (Redis signals in dbAdd).
  if (r.value.added > 0) KeyReady(ctx, key);
  if (!r.ok()) {
    ReplyZSetError(ctx, r.status);
  } else if (options.incr) {
    if (r.value.incr_score) {
      ctx.reply.Double(*r.value.incr_score);
    } else {
      ctx.reply.Null();
    }
  } else {
    ctx.reply.Integer(ch ? r.value.added + r.value.updated : r.value.added);
  }
}

void CmdZAdd(CommandContext& ctx) { ZAddGeneric(ctx, false); }
void CmdZIncrBy(CommandContext& ctx) { ZAddGeneric(ctx, true); }

// After a removal: the command's event, then "del" when the set went away.
void NotifyRemoval(ServerContext& server, int db, std::string_view event, std::string_view key,
                   bool deleted_key) {
  KeyModified(server, db, key);
  NotifyKeyspaceEvent(server, kNotifyZSet, event, key, db);
  if (deleted_key) NotifyKeyspaceEvent(server, kNotifyGeneric, "del", key, db);
}

void NotifyRemoval(CommandContext& ctx, std::string_view event, std::string_view key,
                   bool deleted_key) {
  NotifyRemoval(ctx.server, ctx.db().index(), event, key, deleted_key);
}

void CmdZRem(CommandContext& ctx) {
  Db db = ctx.db();
  bool deleted_key;
  auto r = OpZRem(db, ctx.arg(1), ArgsFrom(ctx, 2, ctx.argc()), &deleted_key);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (r.value > 0) NotifyRemoval(ctx, "zrem", ctx.arg(1), deleted_key);
  ctx.reply.Integer(r.value);
}

void CmdZCard(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpZCard(db, ctx.arg(1));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value);
}

void CmdZCount(CommandContext& ctx) {
  ScoreRange range;
  if (!ParseScoreRange(ctx.arg(2), ctx.arg(3), &range)) {
    ctx.reply.Error(kNotFloatRange);
    return;
  }
  Db db = ctx.db();
  auto r = OpZCount(db, ctx.arg(1), range);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value);
}

void CmdZLexCount(CommandContext& ctx) {
  LexRange range;
  if (!ParseLexRange(ctx.arg(2), ctx.arg(3), &range)) {
    ctx.reply.Error(kNotLexRange);
    return;
  }
  Db db = ctx.db();
  auto r = OpZLexCount(db, ctx.arg(1), range);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Integer(r.value);
}

void CmdZScore(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpZScore(db, ctx.arg(1), ctx.arg(2));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
  } else if (r.value) {
    ctx.reply.Double(*r.value);
  } else {
    ctx.reply.Null();
  }
}

void CmdZMScore(CommandContext& ctx) {
  Db db = ctx.db();
  auto r = OpZMScore(db, ctx.arg(1), ArgsFrom(ctx, 2, ctx.argc()));
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ctx.reply.Array(r.value.size());
  for (const auto& s : r.value) {
    if (s) {
      ctx.reply.Double(*s);
    } else {
      ctx.reply.Null();
    }
  }
}

void RankGeneric(CommandContext& ctx, bool reverse) {
  Db db = ctx.db();
  auto r = OpZRank(db, ctx.arg(1), ctx.arg(2), reverse);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
  } else if (r.value) {
    ctx.reply.Integer(*r.value);
  } else {
    ctx.reply.Null();
  }
}

void CmdZRank(CommandContext& ctx) { RankGeneric(ctx, false); }
void CmdZRevRank(CommandContext& ctx) { RankGeneric(ctx, true); }

// Redis' zrangeGenericCommand. `first` is the index of the source key; a preset `by` or
// direction (the older ZRANGEBYSCORE, ZREVRANGE, ...) makes the matching keyword a syntax
// error, as in Redis. `dst` is set for ZRANGESTORE.
enum class Direction { kAuto, kForward, kReverse };
struct RangeCommand {
  size_t first;
  std::optional<ZRangeSpec::By> by;
  Direction direction;
  bool store;
};

void RangeGeneric(CommandContext& ctx, const RangeCommand& cmd) {
  std::optional<ZRangeSpec::By> by = cmd.by;
  Direction direction = cmd.direction;
  bool with_scores = false;
  bool has_limit = false;
  ZRangeSpec spec;
  for (size_t j = cmd.first + 3; j < ctx.argc(); ++j) {
    size_t left = ctx.argc() - j - 1;
    std::string_view opt = ctx.arg(j);
    if (!cmd.store && EqualsIgnoreCase(opt, "withscores")) {
      with_scores = true;
    } else if (EqualsIgnoreCase(opt, "limit") && left >= 2) {
      if (!ParseInt64(ctx.arg(j + 1), &spec.offset) || !ParseInt64(ctx.arg(j + 2), &spec.count)) {
        ctx.reply.Error(Status::kNotInteger);
        return;
      }
      has_limit = true;
      j += 2;
    } else if (direction == Direction::kAuto && EqualsIgnoreCase(opt, "rev")) {
      direction = Direction::kReverse;
    } else if (!by && EqualsIgnoreCase(opt, "bylex")) {
      by = ZRangeSpec::By::kLex;
    } else if (!by && EqualsIgnoreCase(opt, "byscore")) {
      by = ZRangeSpec::By::kScore;
    } else {
      ctx.reply.Error(Status::kSyntax);
      return;
    }
  }
  spec.by = by.value_or(ZRangeSpec::By::kRank);
  spec.reverse = direction == Direction::kReverse;
  // Redis checks "LIMIT given" as a count other than -1.
  if (has_limit && spec.count != -1 && spec.by == ZRangeSpec::By::kRank) {
    ctx.reply.Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return;
  }
  if (with_scores && spec.by == ZRangeSpec::By::kLex) {
    ctx.reply.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    return;
  }
  std::string_view min = ctx.arg(cmd.first + 1);
  std::string_view max = ctx.arg(cmd.first + 2);
  // Reversed score and lex ranges are given as max, min.
  if (spec.reverse && spec.by != ZRangeSpec::By::kRank) std::swap(min, max);
  switch (spec.by) {
    case ZRangeSpec::By::kRank:
      if (!ParseInt64(min, &spec.start) || !ParseInt64(max, &spec.stop)) {
        ctx.reply.Error(Status::kNotInteger);
        return;
      }
      break;
    case ZRangeSpec::By::kScore:
      if (!ParseScoreRange(min, max, &spec.score)) {
        ctx.reply.Error(kNotFloatRange);
        return;
      }
      break;
    case ZRangeSpec::By::kLex:
      if (!ParseLexRange(min, max, &spec.lex)) {
        ctx.reply.Error(kNotLexRange);
        return;
      }
      break;
  }
  Db db = ctx.db();
  if (cmd.store) {
    std::string_view dst = ctx.arg(1);
    bool dst_changed;
    auto r = OpZRangeStore(db, dst, ctx.arg(cmd.first), spec, &dst_changed);
    if (!r.ok()) {
      ctx.reply.Error(r.status);
      return;
    }
    if (dst_changed) {
      KeyModified(ctx, dst);
      if (r.value > 0) {
        NotifyKeyspaceEvent(ctx, kNotifyZSet, "zrangestore", dst);
        KeyReady(ctx, dst);
      } else {
        NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", dst);
      }
    }
    ctx.reply.Integer(r.value);
    return;
  }
  auto r = OpZRange(db, ctx.arg(cmd.first), spec);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ReplyScored(ctx, r.value, with_scores);
}

using By = ZRangeSpec::By;
void CmdZRange(CommandContext& ctx) {
  RangeGeneric(ctx, {1, std::nullopt, Direction::kAuto, false});
}
void CmdZRangeStore(CommandContext& ctx) {
  RangeGeneric(ctx, {2, std::nullopt, Direction::kAuto, true});
}
void CmdZRevRange(CommandContext& ctx) {
  RangeGeneric(ctx, {1, By::kRank, Direction::kReverse, false});
}
void CmdZRangeByScore(CommandContext& ctx) {
  RangeGeneric(ctx, {1, By::kScore, Direction::kForward, false});
}
void CmdZRevRangeByScore(CommandContext& ctx) {
  RangeGeneric(ctx, {1, By::kScore, Direction::kReverse, false});
}
void CmdZRangeByLex(CommandContext& ctx) {
  RangeGeneric(ctx, {1, By::kLex, Direction::kForward, false});
}
void CmdZRevRangeByLex(CommandContext& ctx) {
  RangeGeneric(ctx, {1, By::kLex, Direction::kReverse, false});
}

void RemRangeGeneric(CommandContext& ctx, ZRangeSpec::By by, std::string_view event) {
  ZRangeSpec spec;
  spec.by = by;
  bool parsed = true;
  switch (by) {
    case By::kRank:
      if (!ParseInt64(ctx.arg(2), &spec.start) || !ParseInt64(ctx.arg(3), &spec.stop)) {
        ctx.reply.Error(Status::kNotInteger);
        parsed = false;
      }
      break;
    case By::kScore:
      if (!ParseScoreRange(ctx.arg(2), ctx.arg(3), &spec.score)) {
        ctx.reply.Error(kNotFloatRange);
        parsed = false;
      }
      break;
    case By::kLex:
      if (!ParseLexRange(ctx.arg(2), ctx.arg(3), &spec.lex)) {
        ctx.reply.Error(kNotLexRange);
        parsed = false;
      }
      break;
  }
  if (!parsed) return;
  Db db = ctx.db();
  bool deleted_key;
  auto r = OpZRemRange(db, ctx.arg(1), spec, &deleted_key);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (r.value > 0) NotifyRemoval(ctx, event, ctx.arg(1), deleted_key);
  ctx.reply.Integer(r.value);
}

void CmdZRemRangeByRank(CommandContext& ctx) { RemRangeGeneric(ctx, By::kRank, "zremrangebyrank"); }
void CmdZRemRangeByScore(CommandContext& ctx) {
  RemRangeGeneric(ctx, By::kScore, "zremrangebyscore");
}
void CmdZRemRangeByLex(CommandContext& ctx) { RemRangeGeneric(ctx, By::kLex, "zremrangebylex"); }

// ZPOPMIN/ZPOPMAX's count, as Redis' getPositiveLongFromObjectOrReply with its message: every
// failure, a non-integer included, answers "out of range, must be positive".
bool ParsePopCount(CommandContext& ctx, std::string_view text, int64_t* out) {
  if (!ParseInt64(text, out) || *out < 0) {
    ctx.reply.Error("ERR value is out of range, must be positive");
    return false;
  }
  return true;
}

// The shape of a pop's reply.
enum class PopReply {
  kPop,          // ZPOPMIN/ZPOPMAX: [member, score, ...] (RESP3 with COUNT: [[member, score], ...])
  kBlockingPop,  // BZPOPMIN/BZPOPMAX: [key, member, score]
  kMPop,         // [B]ZMPOP: [key, [[member, score], ...]]
};

// Pops up to `count` members (`count` < 0: no count given, one member) from the first existing
// key of `keys` and replies in `shape`, signalling and notifying as Redis' genericZpopCommand.
// False, with nothing written, when every key is absent; true after a reply, WRONGTYPE
// included (the first key of another type stops the search, as in Redis).
bool TryPopFirst(ServerContext& server, Db& db, const std::vector<std::string_view>& keys, bool max,
                 int64_t count, PopReply shape, ReplyBuilder& reply,
                 std::vector<std::string>* log_as = nullptr) {
  std::string_view key;
  for (std::string_view k : keys) {
    ZSetResult<ZSetObject*> found = FindZSet(db, k, false);
    if (!found.ok()) {
      reply.Error(found.status);
      return true;
    }
    if (found.value != nullptr) {
      key = k;
      break;
    }
  }
  if (key.data() == nullptr) return false;
  if (count == 0) {
    reply.Array(0);
    return true;
  }
  bool count_given = count > 0;
  bool deleted_key;
  auto r = OpZPop(db, key, max, count_given ? count : 1, &deleted_key);
  NotifyRemoval(server, db.index(), max ? "zpopmax" : "zpopmin", key, deleted_key);
  if (log_as != nullptr) {
    // The pop of [B]ZMPOP and BZPOPMIN/MAX, served at once or later, is logged as the ZPOPMIN or
    // ZPOPMAX of the key it took from, with the count it took for [B]ZMPOP, as Redis 7.0.
    *log_as = {max ? "ZPOPMAX" : "ZPOPMIN", std::string(key)};
    if (shape == PopReply::kMPop) {
      log_as->push_back(Int64ToString(static_cast<int64_t>(r.value.size())));
    }
  }
  if (shape == PopReply::kBlockingPop) {
    reply.Array(3);
    reply.Bulk(key);
    reply.Bulk(r.value.front().member);
    reply.Double(r.value.front().score);
    return true;
  }
  if (shape == PopReply::kMPop) {
    reply.Array(2);
    reply.Bulk(key);
  }
  bool nested = shape == PopReply::kMPop || (count_given && reply.resp3());
  reply.Array(nested ? r.value.size() : r.value.size() * 2);
  for (const OwnedScoredMember& m : r.value) {
    if (nested) reply.Array(2);
    reply.Bulk(m.member);
    reply.Double(m.score);
  }
  return true;
}

void PopCommand(CommandContext& ctx, bool max) {
  if (ctx.argc() > 3) {
    ctx.reply.Error(Status::kSyntax);
    return;
  }
  int64_t count = -1;
  if (ctx.argc() == 3 && !ParsePopCount(ctx, ctx.arg(2), &count)) return;
  Db db = ctx.db();
  if (!TryPopFirst(ctx.server, db, {ctx.arg(1)}, max, count, PopReply::kPop, ctx.reply)) {
    ctx.reply.Array(0);
  }
}

void CmdZPopMin(CommandContext& ctx) { PopCommand(ctx, false); }
void CmdZPopMax(CommandContext& ctx) { PopCommand(ctx, true); }

// numkeys for the numkeys commands: false (after replying) when it is not a positive integer
// that the arguments can hold. `at_least_one` is the "at least 1 input key" text or empty for
// ZMPOP's own.
bool ParseNumKeys(CommandContext& ctx, size_t index, bool zmpop, int64_t* numkeys) {
  bool integer = ParseInt64(ctx.arg(index), numkeys);
  if (zmpop) {
    if (!integer || *numkeys < 1) {
      ctx.reply.Error("ERR numkeys should be greater than 0");
      return false;
    }
  } else {
    if (!integer) {
      ctx.reply.Error(Status::kNotInteger);
      return false;
    }
    if (*numkeys < 1) {
      ctx.reply.Error("ERR at least 1 input key is needed for '" + ctx.spec.name + "' command");
      return false;
    }
  }
  if (static_cast<uint64_t>(*numkeys) > ctx.argc() - index - 1) {
    ctx.reply.Error(Status::kSyntax);
    return false;
  }
  return true;
}

// Locks `keys` plus `extra` (a destination), as the numkeys commands do for themselves.
void LockKeys(CommandContext& ctx, std::vector<std::string_view> keys,
              std::optional<std::string_view> extra = std::nullopt) {
  if (extra) keys.push_back(*extra);
  ctx.locks.LockKeys(ctx.server.keyspace(), keys);
}

// [B]ZMPOP's "numkeys key [key ...] MIN|MAX [COUNT count]" from args[numkeys_index], as Redis'
// zmpopGenericCommand; locks the keys (the spec cannot name them). False after replying an
// error.
bool ParseZMPop(CommandContext& ctx, size_t numkeys_index, std::vector<std::string_view>* keys,
                bool* max, int64_t* count) {
  int64_t numkeys;
  if (!ParseNumKeys(ctx, numkeys_index, true, &numkeys)) return false;
  size_t where = numkeys_index + 1 + static_cast<size_t>(numkeys);
  if (where >= ctx.argc()) {
    ctx.reply.Error(Status::kSyntax);
    return false;
  }
  if (EqualsIgnoreCase(ctx.arg(where), "min")) {
    *max = false;
  } else if (EqualsIgnoreCase(ctx.arg(where), "max")) {
    *max = true;
  } else {
    ctx.reply.Error(Status::kSyntax);
    return false;
  }
  *count = -1;
  for (size_t j = where + 1; j < ctx.argc(); ++j) {
    if (*count == -1 && EqualsIgnoreCase(ctx.arg(j), "count") && j + 1 < ctx.argc()) {
      ++j;
      if (!ParseInt64(ctx.arg(j), count) || *count < 1) {
        ctx.reply.Error("ERR count should be greater than 0");
        return false;
      }
    } else {
      ctx.reply.Error(Status::kSyntax);
      return false;
    }
  }
  if (*count == -1) *count = 1;
  *keys = ArgsFrom(ctx, numkeys_index + 1, where);
  LockKeys(ctx, *keys);
  return true;
}

// ZMPOP, BZPOPMIN/MAX and BZMPOP run now: TryPopFirst, logged as it says.
bool PopNow(CommandContext& ctx, const std::vector<std::string_view>& keys, bool max, int64_t count,
            PopReply shape) {
  Db db = ctx.db();
  std::vector<std::string> log_as;
  bool replied = TryPopFirst(ctx.server, db, keys, max, count, shape, ctx.reply,
                             ctx.logging() ? &log_as : nullptr);
  if (!log_as.empty()) ctx.PropagateAs(std::move(log_as));
  return replied;
}

void CmdZMPop(CommandContext& ctx) {
  std::vector<std::string_view> keys;
  bool max;
  int64_t count;
  if (!ParseZMPop(ctx, 1, &keys, &max, &count)) return;
  if (!PopNow(ctx, keys, max, count, PopReply::kMPop)) ctx.reply.NullArray();
}

// BZPOPMIN / BZPOPMAX / BZMPOP after parsing, as Redis' blockingGenericZpopCommand: pops now,
// or blocks (or, unable to block, answers the timeout reply at once, as Redis does inside
// MULTI). A blocked client is served only by a sorted set: a key that became another type
// leaves it waiting.
void BlockingPop(CommandContext& ctx, const std::vector<std::string_view>& keys, bool max,
                 int64_t count, PopReply shape, int64_t timeout_ms) {
  if (PopNow(ctx, keys, max, count, shape)) return;
  if (!ctx.defer) return ctx.reply.NullArray();
  BlockRequest block;
  block.keys.assign(keys.begin(), keys.end());
  block.lock_keys = block.keys;
  block.timeout_ms = timeout_ms;
  block.serve = [max, count, shape](ServeContext& sc) {
    ZSetResult<ZSetObject*> found = FindZSet(sc.db, sc.key, false);
    if (!found.ok() || found.value == nullptr) return false;
    std::vector<std::string> log_as;
    bool served = TryPopFirst(sc.server, sc.db, {sc.key}, max, count, shape, sc.reply,
                              sc.logging() ? &log_as : nullptr);
    if (!log_as.empty()) sc.Propagate(log_as);
    return served;
  };
  ctx.server.blocking().Block(ctx, std::move(block));
}

// BZPOPMIN key [key ...] timeout
void BlockingPopCommand(CommandContext& ctx, bool max) {
  int64_t timeout_ms = 0;
  if (!ParseBlockTimeout(ctx.args.back(), &timeout_ms, ctx.reply)) return;
  BlockingPop(ctx, ArgsFrom(ctx, 1, ctx.argc() - 1), max, -1, PopReply::kBlockingPop, timeout_ms);
}

void CmdBZPopMin(CommandContext& ctx) { BlockingPopCommand(ctx, false); }
void CmdBZPopMax(CommandContext& ctx) { BlockingPopCommand(ctx, true); }

// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: the numkeys, MIN|MAX and COUNT
// errors come before the timeout's, as in Redis.
void CmdBZMPop(CommandContext& ctx) {
  std::vector<std::string_view> keys;
  bool max;
  int64_t count;
  if (!ParseZMPop(ctx, 2, &keys, &max, &count)) return;
  int64_t timeout_ms = 0;
  if (!ParseBlockTimeout(ctx.arg(1), &timeout_ms, ctx.reply)) return;
  BlockingPop(ctx, keys, max, count, PopReply::kMPop, timeout_ms);
}

void CmdZRandMember(CommandContext& ctx) {
  Db db = ctx.db();
  if (ctx.argc() == 2) {
    auto r = OpZRandOne(db, ctx.arg(1));
    if (!r.ok()) {
      ctx.reply.Error(r.status);
    } else if (r.value) {
      ctx.reply.Bulk(*r.value);
    } else {
      ctx.reply.Null();
    }
    return;
  }
  int64_t count;
  bool with_scores;
  if (std::string_view error = ParseRandomCount(ctx.args, "withscores", &count, &with_scores);
      !error.empty()) {
    ctx.reply.Error(error);
    return;
  }
  auto r = OpZRandMember(db, ctx.arg(1), count);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  ReplyScored(ctx, r.value, with_scores);
}

// ZUNION/ZINTER/ZDIFF (dst_index 0), their STORE forms (dst_index 1) and ZINTERCARD.
void AlgebraGeneric(CommandContext& ctx, ZSetAlgebra op, bool store, bool cardinality_only) {
  size_t numkeys_index = store ? 2 : 1;
  int64_t numkeys;
  if (!ParseNumKeys(ctx, numkeys_index, false, &numkeys)) return;
  size_t first = numkeys_index + 1;
  size_t end = first + static_cast<size_t>(numkeys);
  std::vector<std::string_view> keys = ArgsFrom(ctx, first, end);
  std::optional<std::string_view> dst;
  if (store) dst = ctx.arg(1);
  LockKeys(ctx, keys, dst);
  Db db = ctx.db();
  // Redis checks the inputs' types before it reads the options.
  for (std::string_view k : keys) {
    Entry* e = db.Find(k);
    if (e != nullptr && e->type() != ValueType::kZSet && e->type() != ValueType::kSet) {
      ctx.reply.Error(Status::kWrongType);
      return;
    }
  }
  std::vector<double> weights(keys.size(), 1.0);
  ZAggregate aggregate = ZAggregate::kSum;
  bool with_scores = false;
  int64_t limit = 0;
  for (size_t j = end; j < ctx.argc();) {
    size_t remaining = ctx.argc() - j;
    std::string_view opt = ctx.arg(j);
    bool weighted = op != ZSetAlgebra::kDiff && !cardinality_only;
    if (weighted && remaining >= keys.size() + 1 && EqualsIgnoreCase(opt, "weights")) {
      ++j;
      for (size_t i = 0; i < keys.size(); ++i, ++j) {
        if (!ParseDouble(ctx.arg(j), &weights[i])) {
          ctx.reply.Error("ERR weight value is not a float");
          return;
        }
      }
    } else if (weighted && remaining >= 2 && EqualsIgnoreCase(opt, "aggregate")) {
      std::string_view how = ctx.arg(j + 1);
      if (EqualsIgnoreCase(how, "sum")) {
        aggregate = ZAggregate::kSum;
      } else if (EqualsIgnoreCase(how, "min")) {
        aggregate = ZAggregate::kMin;
      } else if (EqualsIgnoreCase(how, "max")) {
        aggregate = ZAggregate::kMax;
      } else {
        ctx.reply.Error(Status::kSyntax);
        return;
      }
      j += 2;
    } else if (!store && !cardinality_only && EqualsIgnoreCase(opt, "withscores")) {
      with_scores = true;
      ++j;
    } else if (cardinality_only && remaining >= 2 && EqualsIgnoreCase(opt, "limit")) {
      if (!ParseInt64(ctx.arg(j + 1), &limit) || limit < 0) {
        ctx.reply.Error("ERR LIMIT can't be negative");
        return;
      }
      j += 2;
    } else {
      ctx.reply.Error(Status::kSyntax);
      return;
    }
  }
  if (cardinality_only) {
    auto r = OpZInterCard(db, keys, limit);
    if (!r.ok()) {
      ctx.reply.Error(r.status);
      return;
    }
    ctx.reply.Integer(r.value);
    return;
  }
  auto r = OpZSetAlgebra(db, op, keys, weights, aggregate);
  if (!r.ok()) {
    ctx.reply.Error(r.status);
    return;
  }
  if (!store) {
    ReplyScored(ctx, r.value, with_scores);
    return;
  }
  bool existed = StoreZSet(db, *dst, r.value);
  if (!r.value.empty()) {
    KeyModified(ctx, *dst);
    static constexpr std::string_view kEvents[] = {"zunionstore", "zinterstore", "zdiffstore"};
    NotifyKeyspaceEvent(ctx, kNotifyZSet, kEvents[static_cast<int>(op)], *dst);
    KeyReady(ctx, *dst);
  } else if (existed) {
    KeyModified(ctx, *dst);
    NotifyKeyspaceEvent(ctx, kNotifyGeneric, "del", *dst);
  }
  ctx.reply.Integer(static_cast<int64_t>(r.value.size()));
}

void CmdZUnion(CommandContext& ctx) { AlgebraGeneric(ctx, ZSetAlgebra::kUnion, false, false); }
void CmdZInter(CommandContext& ctx) { AlgebraGeneric(ctx, ZSetAlgebra::kInter, false, false); }
void CmdZDiff(CommandContext& ctx) { AlgebraGeneric(ctx, ZSetAlgebra::kDiff, false, false); }
void CmdZUnionStore(CommandContext& ctx) { AlgebraGeneric(ctx, ZSetAlgebra::kUnion, true, false); }
void CmdZInterStore(CommandContext& ctx) { AlgebraGeneric(ctx, ZSetAlgebra::kInter, true, false); }
void CmdZDiffStore(CommandContext& ctx) { AlgebraGeneric(ctx, ZSetAlgebra::kDiff, true, false); }
void CmdZInterCard(CommandContext& ctx) { AlgebraGeneric(ctx, ZSetAlgebra::kInter, false, true); }

void CmdZScan(CommandContext& ctx) {
  ElementScanCommand(
      ctx, [](Db& db, std::string_view key) { return FindZSet(db, key, true); },
      [](const ZSetObject& zset, uint64_t cursor, size_t count, std::string_view pattern,
         std::vector<std::string>* items) {
        ZSetScanPage page = ScanZSet(zset, cursor, count, pattern);
        for (const ScoredMember& m : page.members) {
          items->emplace_back(m.member);
          items->push_back(FormatDouble(m.score));  // strings in RESP3 too, as Redis sends them
        }
        return page.cursor;
      });
}

}  // namespace

void RegisterZSetFamily(Registry& registry) {
  // Flags, arities and key positions as in Redis 7.0's command table. The numkeys commands
  // carry Redis' legacy (first, last, step) and kNoShardLock: they lock their keys themselves.
  static constexpr CommandRow kCommands[] = {
      {"zadd", kWrite | kDenyOom | kFast, -4, 1, 1, 1, CmdZAdd},
      {"zincrby", kWrite | kDenyOom | kFast, 4, 1, 1, 1, CmdZIncrBy},
      {"zrem", kWrite | kFast, -3, 1, 1, 1, CmdZRem},
      {"zcard", kReadOnly | kFast, 2, 1, 1, 1, CmdZCard},
      {"zcount", kReadOnly | kFast, 4, 1, 1, 1, CmdZCount},
      {"zlexcount", kReadOnly | kFast, 4, 1, 1, 1, CmdZLexCount},
      {"zscore", kReadOnly | kFast, 3, 1, 1, 1, CmdZScore},
      {"zmscore", kReadOnly | kFast, -3, 1, 1, 1, CmdZMScore},
      {"zrank", kReadOnly | kFast, 3, 1, 1, 1, CmdZRank},
      {"zrevrank", kReadOnly | kFast, 3, 1, 1, 1, CmdZRevRank},
      {"zrange", kReadOnly, -4, 1, 1, 1, CmdZRange},
      {"zrangestore", kWrite | kDenyOom, -5, 1, 2, 1, CmdZRangeStore},
      {"zrevrange", kReadOnly, -4, 1, 1, 1, CmdZRevRange},
      {"zrangebyscore", kReadOnly, -4, 1, 1, 1, CmdZRangeByScore},
      {"zrevrangebyscore", kReadOnly, -4, 1, 1, 1, CmdZRevRangeByScore},
      {"zrangebylex", kReadOnly, -4, 1, 1, 1, CmdZRangeByLex},
      {"zrevrangebylex", kReadOnly, -4, 1, 1, 1, CmdZRevRangeByLex},
      {"zremrangebyrank", kWrite, 4, 1, 1, 1, CmdZRemRangeByRank},
      {"zremrangebyscore", kWrite, 4, 1, 1, 1, CmdZRemRangeByScore},
      {"zremrangebylex", kWrite, 4, 1, 1, 1, CmdZRemRangeByLex},
      {"zpopmin", kWrite | kFast, -2, 1, 1, 1, CmdZPopMin},
      {"zpopmax", kWrite | kFast, -2, 1, 1, 1, CmdZPopMax},
      {"zmpop", kWrite | kNoShardLock, -4, 0, 0, 0, CmdZMPop},
      // Keys from 1 to the one before the timeout.
      {"bzpopmin", kWrite | kNoScript | kFast, -3, 1, -2, 1, CmdBZPopMin},
      {"bzpopmax", kWrite | kNoScript | kFast, -3, 1, -2, 1, CmdBZPopMax},
      {"bzmpop", kWrite | kNoShardLock, -5, 0, 0, 0, CmdBZMPop},
      {"zrandmember", kReadOnly, -2, 1, 1, 1, CmdZRandMember},
      {"zunion", kReadOnly | kNoShardLock, -3, 0, 0, 0, CmdZUnion},
      {"zinter", kReadOnly | kNoShardLock, -3, 0, 0, 0, CmdZInter},
      {"zdiff", kReadOnly | kNoShardLock, -3, 0, 0, 0, CmdZDiff},
      {"zunionstore", kWrite | kDenyOom | kNoShardLock, -4, 1, 1, 1, CmdZUnionStore},
      {"zinterstore", kWrite | kDenyOom | kNoShardLock, -4, 1, 1, 1, CmdZInterStore},
      {"zdiffstore", kWrite | kDenyOom | kNoShardLock, -4, 1, 1, 1, CmdZDiffStore},
      {"zintercard", kReadOnly | kNoShardLock, -3, 0, 0, 0, CmdZInterCard},
      {"zscan", kReadOnly, -3, 1, 1, 1, CmdZScan},
  };
  registry.AddAll(kCommands);
}

}  // namespace rowcached::server
