// Everything observable about the keys of a keyspace, in a form two keyspaces (or a keyspace and
// a redis-server's replies) can be compared with: per (database, key) the type, OBJECT ENCODING,
// value in a canonical order and absolute expiry. Used by the RDB tests.
//
// Header-only (tests of several binaries include it). KeyspaceImage locks every shard itself:
// call it with no shard locks held.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "server/hash_object.h"
#include "server/keyspace.h"
#include "server/list_object.h"
#include "server/set_object.h"
#include "server/zset_object.h"

namespace rowcached::testing {

struct KeyImage {
  std::string type;      // as TYPE answers
  std::string encoding;  // as OBJECT ENCODING answers; empty for strings (derived from the value)
  // Strings: the value. Lists: the elements in order. Sets: the members, sorted. Sorted sets:
  // "member=score" in rank order. Hashes: "field=value", sorted.
  std::vector<std::string> value;
  int64_t expire_at = -1;  // absolute milliseconds, -1 for none
  bool operator==(const KeyImage&) const = default;
};
using Image = std::map<std::pair<int, std::string>, KeyImage>;

inline std::ostream& operator<<(std::ostream& os, const KeyImage& k) {
  os << k.type << "/" << k.encoding << " expire " << k.expire_at << " [";
  for (const auto& v : k.value) os << v.substr(0, 80) << " ";
  return os << "]";
}

// A score as text that tells every double apart (-0 prints "-0"; redis-server's "inf" and
// "-inf" parse back to the infinities that print the same).
inline std::string ScoreText(double score) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", score);
  return buf;
}

inline Image KeyspaceImage(server::Keyspace& ks) {
  using server::ValueType;
  Image image;
  server::ShardLocks locks;
  locks.LockAll(ks);
  for (int d = 0; d < ks.databases(); ++d) {
    server::Db db(&ks, d);
    db.ForEach([&](server::Entry* e) {
      KeyImage k;
      k.type = std::string(server::TypeName(e->type()));
      k.expire_at = db.ExpireAt(e);
      if (e->type() != ValueType::kString) k.encoding = std::string(e->object()->Encoding());
      switch (e->type()) {
        case ValueType::kString:
          k.value = {std::string(e->str())};
          break;
        case ValueType::kList: {
          auto* l = static_cast<server::ListObject*>(e->object());
          for (size_t i = 0; i < l->size(); ++i) k.value.push_back(l->at(i));
          break;
        }
        case ValueType::kSet:
          static_cast<server::SetObject*>(e->object())->ForEach([&](const server::SetMember& m) {
            k.value.emplace_back(m.view());
          });
          std::sort(k.value.begin(), k.value.end());
          break;
        case ValueType::kZSet: {
          auto* z = static_cast<server::ZSetObject*>(e->object());
          for (auto* n = z->First(); n != nullptr; n = n->next()) {
            k.value.push_back(std::string(n->member()) + "=" + ScoreText(n->score()));
          }
          break;
        }
        case ValueType::kHash:
          static_cast<server::HashObject*>(e->object())
              ->ForEach([&](std::string_view f, std::string_view v) {
                k.value.push_back(std::string(f) + "=" + std::string(v));
              });
          std::sort(k.value.begin(), k.value.end());
          break;
        default:
          k.value = {"(not compared)"};
      }
      image[{d, std::string(e->key())}] = k;
    });
  }
  return image;
}

}  // namespace rowcached::testing
