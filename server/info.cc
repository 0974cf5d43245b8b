#include "server/info.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "server/blocking.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

std::atomic<int64_t> peak_memory{0};

void Line(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->push_back(':');
  out->append(value);
  out->append("\r\n");
}
void Line(std::string* out, std::string_view name, int64_t value) {
  Line(out, name, Int64ToString(value));
}

void ServerSection(ServerContext& s, std::string* out) {
  Options o = s.options();
  utsname u{};
  uname(&u);
  int64_t uptime = (s.clock().NowMs() - s.start_ms()) / 1000;
  Line(out, "redis_version", kRedisCompatVersion);
  Line(out, "rowcached_version", kRowcachedVersion);
  Line(out, "redis_git_sha1", "00000000");
  Line(out, "redis_git_dirty", "0");
  Line(out, "redis_build_id", "0");
  Line(out, "redis_mode", "standalone");
  Line(out, "os", fmt::format("{} {} {}", u.sysname, u.release, u.machine));
  Line(out, "arch_bits", sizeof(void*) * 8);
  Line(out, "multiplexing_api", "epoll");
  Line(out, "gcc_version", fmt::format("{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__));
  Line(out, "process_id", getpid());
  Line(out, "run_id", fmt::format("{:040x}", static_cast<uint64_t>(s.start_ms())));
  Line(out, "tcp_port", o.port);
  Line(out, "server_time_usec", s.clock().NowMs() * 1000);
  Line(out, "uptime_in_seconds", uptime);
  Line(out, "uptime_in_days", uptime / 86400);
  Line(out, "hz", o.hz);
  Line(out, "configured_hz", o.hz);
  Line(out, "lru_clock", LruClock(s.clock().NowMs()));
  Line(out, "io_threads_active", 0);
}

void ClientsSection(ServerContext& s, std::string* out) {
  Line(out, "connected_clients", s.stats().connected_clients.load());
  Line(out, "cluster_connections", 0);
  Line(out, "maxclients", s.options().maxclients);
  Line(out, "client_recent_max_input_buffer", 0);
  Line(out, "client_recent_max_output_buffer", 0);
  Line(out, "blocked_clients", s.blocking().blocked_clients());
  Line(out, "tracking_clients", 0);
  Line(out, "clients_in_timeout_table", 0);
}

void MemorySection(ServerContext& s, std::string* out) {
  Options o = s.options();
  int64_t used = UsedMemory();
  int64_t rss = ResidentMemory();
  int64_t peak = std::max(peak_memory.load(), used);
  peak_memory.store(peak);
  Line(out, "used_memory", used);
  Line(out, "used_memory_human", HumanBytes(used));
  Line(out, "used_memory_rss", rss);
  Line(out, "used_memory_rss_human", HumanBytes(rss));
  Line(out, "used_memory_peak", peak);
  Line(out, "used_memory_peak_human", HumanBytes(peak));
  Line(out, "maxmemory", o.maxmemory);
  Line(out, "maxmemory_human", HumanBytes(o.maxmemory));
  Line(out, "maxmemory_policy", o.maxmemory_policy);
  Line(out, "mem_fragmentation_ratio",
       fmt::format("{:.2f}", used > 0 ? static_cast<double>(rss) / used : 0.0));
  Line(out, "mem_allocator", "libc");
}

void PersistenceSection(ServerContext& s, std::string* out) {
  Options o = s.options();
  Line(out, "loading", 0);
  Line(out, "async_loading", 0);
  Line(out, "rdb_changes_since_last_save", 0);
  Line(out, "rdb_bgsave_in_progress", 0);
  Line(out, "rdb_last_save_time", s.start_ms() / 1000);
  Line(out, "rdb_last_bgsave_status", "ok");
  Line(out, "aof_enabled", o.appendonly ? 1 : 0);
  Line(out, "aof_rewrite_in_progress", 0);
  Line(out, "aof_last_write_status", "ok");
}

void StatsSection(ServerContext& s, std::string* out) {
  auto& st = s.stats();
  auto& ks = s.keyspace().stats();
  Line(out, "total_connections_received", st.total_connections_received.load());
  Line(out, "total_commands_processed", st.total_commands_processed.load());
  Line(out, "instantaneous_ops_per_sec", st.instantaneous_ops_per_sec.load());
  Line(out, "total_net_input_bytes", st.total_net_input_bytes.load());
  Line(out, "total_net_output_bytes", st.total_net_output_bytes.load());
  Line(out, "rejected_connections", st.rejected_connections.load());
  Line(out, "expired_keys", ks.expired_keys.load());
  Line(out, "evicted_keys", ks.evicted_keys.load());
  Line(out, "keyspace_hits", ks.keyspace_hits.load());
  Line(out, "keyspace_misses", ks.keyspace_misses.load());
  Line(out, "pubsub_channels", 0);
  Line(out, "pubsub_patterns", 0);
}

void ReplicationSection(ServerContext&, std::string* out) {
  Line(out, "role", "master");
  Line(out, "connected_slaves", 0);
  Line(out, "master_failover_state", "no-failover");
  Line(out, "master_replid", std::string(40, '0'));
  Line(out, "master_repl_offset", 0);
}

void CpuSection(ServerContext&, std::string* out) {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  auto secs = [](timeval tv) { return fmt::format("{}.{:06}", tv.tv_sec, tv.tv_usec); };
  Line(out, "used_cpu_sys", secs(self.ru_stime));
  Line(out, "used_cpu_user", secs(self.ru_utime));
}

void KeyspaceSection(ServerContext& s, std::string* out) {
  Keyspace& ks = s.keyspace();
  ShardLocks locks;
  locks.LockAll(ks);
  int64_t now = s.clock().NowMs();
  for (int db = 0; db < ks.databases(); ++db) {
    size_t keys = 0, expires = 0;
    int64_t ttl_sum = 0, ttl_n = 0;
    for (size_t i = 0; i < Keyspace::kShards; ++i) {
      Table& t = ks.shard(i).dbs[db];
      keys += t.size();
      expires += t.volatile_count();
      // Average TTL estimated from a sample per shard, as Redis estimates it.
      for (int k = 0; k < 8 && t.volatile_count() > 0; ++k) {
        const Table::VolatileSlot* slot = t.RandomVolatile(ks.shard(i).rng);
        if (slot->expire_at_ms > now) {
          ttl_sum += slot->expire_at_ms - now;
          ++ttl_n;
        }
      }
    }
    if (keys == 0) continue;
    out->append(fmt::format("db{}:keys={},expires={},avg_ttl={}\r\n", db, keys, expires,
                            ttl_n ? ttl_sum / ttl_n : 0));
  }
}

struct SectionDef {
  const char* name;
  const char* title;  // as Redis prints it ("# CPU", not "# Cpu"): parsers match it exactly
  void (*render)(ServerContext&, std::string*);
  bool in_default;
};

constexpr SectionDef kSections[] = {
    {"server", "Server", ServerSection, true},
    {"clients", "Clients", ClientsSection, true},
    {"memory", "Memory", MemorySection, true},
    {"persistence", "Persistence", PersistenceSection, true},
    {"stats", "Stats", StatsSection, true},
    {"replication", "Replication", ReplicationSection, true},
    {"cpu", "CPU", CpuSection, true},
    {"keyspace", "Keyspace", KeyspaceSection, true},
};

std::string Title(std::string_view name) {
  std::string t(name);
  if (!t.empty()) t[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(t[0])));
  return t;
}

}  // namespace

std::string RenderInfo(ServerContext& server, const std::vector<std::string>& requested) {
  auto wants = [&](std::string_view name, bool in_default) {
    if (requested.empty()) return in_default;
    for (const auto& r : requested) {
      if (r == name || r == "all" || r == "everything" || (r == "default" && in_default)) {
        return true;
      }
    }
    return false;
  };
  std::string out;
  for (const auto& s : kSections) {
    if (!wants(s.name, s.in_default)) continue;
    if (!out.empty()) out.append("\r\n");
    out.append("# " + std::string(s.title) + "\r\n");
    s.render(server, &out);
  }
  for (const auto& [name, fn] : server.extra_info()) {
    if (!wants(name, true)) continue;
    if (!out.empty()) out.append("\r\n");
    out.append("# " + Title(name) + "\r\n");
    fn(&out);
  }
  return out;
}

}  // namespace rowcached::server
