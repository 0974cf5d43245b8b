#include "server/notify.h"

#include "server/command.h"
#include "server/server_context.h"

namespace rowcached::server {

// WATCH and keyspace notifications are not built yet: nobody is told.
void KeyModified(ServerContext&, int, std::string_view) {}
void NotifyKeyspaceEvent(ServerContext&, NotifyClass, std::string_view, std::string_view, int) {}

void KeyModified(CommandContext& ctx, std::string_view key) {
  KeyModified(ctx.server, ctx.client.db.load(std::memory_order_relaxed), key);
}
void NotifyKeyspaceEvent(CommandContext& ctx, NotifyClass cls, std::string_view event,
                         std::string_view key) {
  NotifyKeyspaceEvent(ctx.server, cls, event, key, ctx.client.db.load(std::memory_order_relaxed));
}

}  // namespace rowcached::server
