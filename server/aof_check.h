// The repair tool's logic (rowcached-check-aof, app/check_aof.cc), as redis-check-aof: checks a
// multi-part AOF (given its manifest) or one AOF file, reports per file the first invalid
// offset, and optionally truncates there.
//
// Thread-safety: touches only the files it is given.
#pragma once

#include <string>

namespace rowcached::server {

// Checks `path` (a manifest, or one file of commands or RDB base) and appends to `*report`, per
// file, redis-check-aof's line "AOF analyzed: filename=..., size=..., ok_up_to=...,
// ok_up_to_line=..., diff=..." and the verdict. With `fix`, a file whose tail is invalid (cut
// short, an unterminated MULTI, or garbage) is truncated at its last whole command; only the
// last file of a manifest can be fixed this way (an earlier one would drop the commands after
// it). Returns the exit status: 0 valid (or fixed), 1 invalid.
int CheckAppendOnlyFile(const std::string& path, bool fix, std::string* report);

}  // namespace rowcached::server
