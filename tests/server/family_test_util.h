// What the command-family tests share: Redis' common error replies, running a function under
// the shard locks a handler would hold, and splitting a reply of bulk strings.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "command_harness.h"

namespace rowcached::server::testing {

inline const std::string kWrongType =
    Err("WRONGTYPE Operation against a key holding the wrong kind of value");
inline const std::string kNotInteger = Err("ERR value is not an integer or out of range");
inline const std::string kSyntax = Err("ERR syntax error");
// The last page of a scan that found nothing.
inline const std::string kEmptyScan = "*2\r\n$1\r\n0\r\n*0\r\n";

// Runs `fn(db)` on database 0 under the shard locks of `keys`, as the dispatcher would.
template <typename Fn>
auto WithKeys(CommandHarness& h, const std::vector<std::string_view>& keys, Fn fn) {
  ShardLocks locks;
  locks.LockKeys(h.server().keyspace(), keys);
  Db db(&h.server().keyspace(), 0);
  return fn(db);
}
template <typename Fn>
auto WithKey(CommandHarness& h, std::string_view key, Fn fn) {
  return WithKeys(h, {key}, fn);
}

// Whether `key` is live in database 0, looked up as a command would (expired keys are absent).
inline bool Exists(CommandHarness& h, std::string_view key) {
  return WithKey(h, key, [&](Db& db) { return db.Find(key) != nullptr; });
}

// The elements of an aggregate of bulk strings whose header byte is `type` ('*' array, '~'
// RESP3 set) starting at *pos; *pos moves past it.
inline std::vector<std::string> ParseBulkArray(const std::string& resp, size_t* pos,
                                               char type = '*') {
  std::vector<std::string> out;
  REQUIRE(*pos < resp.size());
  REQUIRE(resp[*pos] == type);
  size_t eol = resp.find("\r\n", *pos);
  long n = std::stol(resp.substr(*pos + 1, eol - *pos - 1));
  *pos = eol + 2;
  for (long i = 0; i < n; ++i) {
    REQUIRE(resp[*pos] == '$');
    eol = resp.find("\r\n", *pos);
    size_t len = std::stoul(resp.substr(*pos + 1, eol - *pos - 1));
    out.push_back(resp.substr(eol + 2, len));
    *pos = eol + 2 + len + 2;
  }
  return out;
}
// The same for a whole reply.
inline std::vector<std::string> BulkArray(const std::string& resp, char type = '*') {
  size_t pos = 0;
  auto v = ParseBulkArray(resp, &pos, type);
  REQUIRE(pos == resp.size());
  return v;
}

}  // namespace rowcached::server::testing
