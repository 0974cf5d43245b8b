// rowcached's configuration: the TOML file of the contract plus `--section.key=value`
// overrides, checked strictly. Unknown keys and bad values stop start-up with one message that
// names the file (or "command line"), the key and the reason.
//
// Thread-safety: loaded once on the main thread before anything starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "middleware/row_cache.h"
#include "server/options.h"

namespace rowcached::app {

// One [[tables]] entry. Defaults as documented in the contract.
struct TableConfig {
  std::string name;
  std::string key = "id";              // primary-key column
  std::vector<std::string> columns;    // empty = all columns
  std::string mode = "write-through";  // write-through | cache-aside
  int64_t ttl_ms = 10 * 60 * 1000;     // 0 = no expiry
  double ttl_jitter = 0.10;
  int64_t read_timeout_ms = 200;
  std::string on_timeout = "db";  // db | stale | error
  int64_t negative_ttl_ms = 30 * 1000;
  bool bloom = true;
  int64_t bloom_capacity = 1000000;
  double bloom_error_rate = 0.001;
};

struct DatabaseConfig {
  std::string url = "sqlite:./data/rowcached.db";  // embedded default
  int64_t queues = 16;
};

struct Config {
  std::string config_file;        // empty = defaults only
  std::string loglevel = "info";  // trace | debug | info | warn | error
  server::Options server;
  DatabaseConfig database;
  std::vector<TableConfig> tables;
};

enum class LoadResult { kOk, kExit, kError };

// Parses argv (--config FILE, --help, --version, --section.key=value ...).
// kExit: --help/--version printed, exit 0. kError: *error holds the message.
LoadResult LoadConfig(int argc, char** argv, Config* config, std::string* error);

// The row cache's options from the [database] and [[tables]] sections.
middleware::Options RowCacheOptions(const Config& config);

// Parses "10m", "200ms", "30s", "1h", "0" into milliseconds.
bool ParseDuration(std::string_view text, int64_t* ms);

}  // namespace rowcached::app
