// The options of the per-key scans (HSCAN, SSCAN, ZSCAN): [MATCH pattern] [COUNT count], read
// as Redis' scanGenericCommand reads them.
//
// Redis looks the key up before it reads these options, so an absent key answers an empty page
// whatever they say and a key of another type answers WRONGTYPE: the parse error is therefore
// held in the result for the command to reply only once it has found the key.
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "server/status.h"

namespace rowcached::server {

struct KeyScanOptions {
  size_t count = 10;           // >= 1
  std::string_view pattern;    // empty: every element
  Status error = Status::kOk;  // kNotInteger (COUNT not a number) or kSyntax
};

// Reads args[first..]: MATCH and COUNT pairs, case-insensitive, the last one of each winning;
// stops at the first error.
KeyScanOptions ParseKeyScanOptions(const std::vector<std::string_view>& args, size_t first);

}  // namespace rowcached::server
