#include "server/server_context.h"

namespace rowcached::server {
void RegisterClientFamily(Registry&) {}
}  // namespace rowcached::server
