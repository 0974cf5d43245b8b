// Placeholders for the RDB codec (rdb.h) until it is merged: weak, so the real definitions in
// rdb.cc replace them. Delete this file when rdb.cc lands.
#include "server/rdb.h"

namespace rowcached::server {

[[gnu::weak]] bool WriteRdb(Keyspace&, int, const RdbSaveOptions&, std::string* error) {
  *error = "the RDB codec is not built in";
  return false;
}

[[gnu::weak]] bool LoadRdbFile(Keyspace&, const std::string& path, RdbLoadResult*,
                               std::string* error) {
  *error = "the RDB codec is not built in: cannot load " + path;
  return false;
}

[[gnu::weak]] bool LoadRdbBytes(Keyspace&, std::string_view, std::string_view name, RdbLoadResult*,
                                std::string* error) {
  *error = "the RDB codec is not built in: cannot load " + std::string(name);
  return false;
}

}  // namespace rowcached::server
