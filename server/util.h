// Small pure helpers shared by command families, with Redis' exact parsing rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/status.h"

namespace rowcached::server {

// Redis' string2ll: optional '-', no '+', no spaces, no leading zeros; fits in int64.
bool ParseInt64(std::string_view s, int64_t* out);
// Redis' string2d / strtod rules for scores and INCRBYFLOAT: no spaces, no NaN; "inf" allowed.
bool ParseDouble(std::string_view s, double* out);
// Redis' string2ld (INCRBYFLOAT, HINCRBYFLOAT).
bool ParseLongDouble(std::string_view s, long double* out);
// Glob-style match as Redis' stringmatchlen (*, ?, [abc], [^a], [a-z], \x), optional nocase.
bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase = false);
// The next cursor of Redis' reverse-binary SCAN over a power-of-two bucket array with `mask`
// (buckets - 1): the high bits of the bucket index move first, so a table that doubled or halved
// between two steps neither skips buckets nor (when growing) repeats them. 0 = done.
uint64_t NextScanCursor(uint64_t cursor, uint64_t mask);
// A SCAN cursor as Redis' parseScanCursorOrReply reads it with strtoul: an optional sign (a '-'
// negates modulo 2^64), decimal digits, no spaces; the empty string is 0.
bool ParseScanCursor(std::string_view s, uint64_t* out);
// The options after the cursor of HSCAN / SSCAN / ZSCAN (args[first..]): COUNT n (n >= 1) and
// MATCH pattern, as Redis' scanGenericCommand reads them. Redis reports their errors only after
// the key lookup (an absent key answers an empty page whatever the options), so the first error
// is returned in `error` (kNotInteger or kSyntax) for the caller to reply at that point.
struct ScanOptions {
  int64_t count = 10;
  std::string_view pattern;  // empty: every element
  Status error = Status::kOk;
};
ScanOptions ParseScanOptions(const std::vector<std::string_view>& args, size_t first);
// The arguments after the key of HRANDFIELD / ZRANDMEMBER: count [<with_keyword>], checked in
// Redis' order: the count (over -LONG_MAX..LONG_MAX), the syntax, the keyword's own range
// (count * 2 must not overflow). Returns the error line to reply, empty when they are fine.
// REQUIRES: args.size() >= 3 (args[0] the command, args[1] the key); `with_keyword` lower case.
std::string_view ParseRandomCount(const std::vector<std::string_view>& args,
                                  std::string_view with_keyword, int64_t* count, bool* with);
// Integer to decimal text.
std::string Int64ToString(int64_t v);

}  // namespace rowcached::server

namespace rowcached::server {
// A memory size as Redis' config accepts it: "1gb", "100mb", "512k", "4096" (bytes).
// k/kb/m/mb/g/gb, case-insensitive; "k" = 1000 and "kb" = 1024 as in Redis' memtoull.
bool ParseMemory(std::string_view s, int64_t* bytes);
// "1.50M" style, as INFO's *_human fields.
std::string HumanBytes(int64_t bytes);
}  // namespace rowcached::server
