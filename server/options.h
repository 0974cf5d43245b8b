// The embedded server's options, with Redis' defaults unless stated. Filled from the [server]
// and [cache] config sections and the command line; some are changeable by CONFIG SET.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rowcached::server {

struct Options {
  std::string bind = "127.0.0.1";  // loopback by default, like Redis' protected mode
  int port = 6379;                 // 0 = any free port (tests)
  int threads = 0;                 // I/O threads; 0 = one per core
  std::string requirepass;         // empty = no AUTH needed
  int64_t maxclients = 10000;
  int64_t proto_max_bulk_len = 512LL * 1024 * 1024;
  int64_t client_query_buffer_limit = 1024LL * 1024 * 1024;
  int databases = 16;
  // A sparse HyperLogLog that would grow past this many bytes turns dense (hll-sparse-max-bytes).
  int64_t hll_sparse_max_bytes = 3000;
  int hz = 10;            // cron frequency: active expiry, ops/sec sampling
  int64_t timeout = 0;    // close clients idle this many seconds; 0 = never
  int64_t maxmemory = 0;  // bytes; 0 = unlimited
  std::string maxmemory_policy = "noeviction";
  int64_t maxmemory_samples = 5;
  int64_t lfu_log_factor = 10;          // LFU counter growth: higher = more hits per step
  int64_t lfu_decay_time = 1;           // minutes per LFU counter decrement; 0 = never decay
  uint32_t notify_keyspace_events = 0;  // NotifyClass bits (notify.h); CONFIG SET takes letters
  // Persistence settings, reported by CONFIG GET / INFO persistence.
  std::string dir = "./data";
  bool appendonly = false;
  std::string appendfsync = "everysec";
  std::vector<std::string> save = {"3600 1", "300 100", "60 10000"};
  std::string dbfilename = "dump.rdb";
  bool rdbcompression = true;  // LZF-compress strings longer than 20 bytes in RDB files
  std::string appendfilename = "appendonly.aof";  // base name of the AOF's parts
  std::string appenddirname = "appendonlydir";    // the AOF's directory, under `dir`
  bool aof_load_truncated = true;             // a truncated last AOF command is dropped, not fatal
  bool aof_use_rdb_preamble = true;           // an AOF rewrite writes its base as an RDB file
  int64_t auto_aof_rewrite_percentage = 100;  // rewrite when the AOF grew this % since the last
  int64_t auto_aof_rewrite_min_size = 64LL * 1024 * 1024;  // ... and is at least this big
};

}  // namespace rowcached::server
