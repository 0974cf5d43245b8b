// INFO: the sections Redis prints, with Redis' field names, plus extension sections.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/memory.h"  // UsedMemory, ResidentMemory
#include "server/server_context.h"

namespace rowcached::server {

// `sections` lower-case; empty = "default". Understands "all", "everything", "default".
// Locks all shards briefly for the keyspace section.
std::string RenderInfo(ServerContext& server, const std::vector<std::string>& sections);

// One "name:value\r\n" line, for sections written elsewhere (persistence, the AOF).
void InfoLine(std::string* out, std::string_view name, std::string_view value);
void InfoLine(std::string* out, std::string_view name, int64_t value);

}  // namespace rowcached::server
