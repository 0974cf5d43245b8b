// Generic key commands. (Filled in by the keys family work.)
#include "server/server_context.h"

namespace rowcached::server {
void RegisterKeysFamily(Registry&) {}
}  // namespace rowcached::server
