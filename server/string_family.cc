// String commands. (Filled in by the string family work.)
#include "server/server_context.h"

namespace rowcached::server {
void RegisterStringFamily(Registry&) {}
}  // namespace rowcached::server
