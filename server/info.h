// INFO: the sections Redis prints, with Redis' field names, plus extension sections.
#pragma once

#include <string>
#include <vector>

#include "server/memory.h"  // UsedMemory, ResidentMemory
#include "server/server_context.h"

namespace rowcached::server {

// `sections` lower-case; empty = "default". Understands "all", "everything", "default".
// Locks all shards briefly for the keyspace section.
std::string RenderInfo(ServerContext& server, const std::vector<std::string>& sections);

}  // namespace rowcached::server
