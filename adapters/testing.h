// adapters/testing.h — test-only hooks. Production code must not include this header.
//
// Tests need a few things the interface deliberately does not offer: run a raw `SELECT SLEEP(5)`
// to provoke a statement timeout, learn the session id to KILL it, hold a lock. This hook runs
// SQL text verbatim, so it exists only here, never on the Connection interface.
#pragma once

#include <string_view>
#include <vector>

#include "adapters/database.h"

namespace rowcached::adapters {

// Runs `sql` verbatim on the connection's session (opening or reopening it like any call) and
// returns every row it produced, values rendered as FetchRow renders them. Same thread rules as
// the connection. Statuses as for any call (kTimeout for a statement timeout, ...).
Result<std::vector<std::vector<Value>>> RunSqlForTesting(Connection& connection,
                                                         std::string_view sql);

}  // namespace rowcached::adapters
