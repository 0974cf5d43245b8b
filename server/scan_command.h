// The command shape shared by HSCAN, SSCAN and ZSCAN: key cursor [MATCH pattern] [COUNT count].
//
// Thread-safety: as any command handler (the dispatcher holds the key's shard lock).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/command.h"
#include "server/util.h"

namespace rowcached::server {

// Runs an element SCAN with Redis' order of checks: the cursor, then the key (absent: an empty
// page whatever the options; another type: WRONGTYPE), then the options' error.
//   find(db, key) -> a lookup result with `ok()`, `status` and `value` (a pointer, null when the
//                    key is absent), as FindHash / FindZSet return;
//   scan(value, cursor, count, pattern, &items) -> the next cursor (0: done), appending the
//                    page's reply items (field and value, member and score, ...) to `items`.
template <typename Find, typename Scan>
void ElementScanCommand(CommandContext& ctx, Find&& find, Scan&& scan) {
  uint64_t cursor;
  if (!ParseScanCursor(ctx.arg(2), &cursor)) {
    ctx.reply.Error("ERR invalid cursor");
    return;
  }
  ScanOptions options = ParseScanOptions(ctx.args, 3);
  Db db = ctx.db();
  auto found = find(db, ctx.arg(1));
  if (!found.ok()) {
    ctx.reply.Error(found.status);
    return;
  }
  uint64_t next = 0;
  std::vector<std::string> items;
  if (found.value != nullptr) {
    if (options.error != Status::kOk) {
      ctx.reply.Error(options.error);
      return;
    }
    next = scan(*found.value, cursor, static_cast<size_t>(options.count), options.pattern, &items);
  }
  ctx.reply.Array(2);
  ctx.reply.Bulk(std::to_string(next));
  ctx.reply.Array(items.size());
  for (const std::string& item : items) ctx.reply.Bulk(item);
}

}  // namespace rowcached::server
