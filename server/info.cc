#include "server/info.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "server/blocking.h"
#include "server/persistence.h"
#include "server/util.h"

namespace rowcached::server {

void InfoLine(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->push_back(':');
  out->append(value);
  out->append("\r\n");
}
void InfoLine(std::string* out, std::string_view name, int64_t value) {
  InfoLine(out, name, Int64ToString(value));
}

namespace {

std::atomic<int64_t> peak_memory{0};

void ServerSection(ServerContext& s, std::string* out) {
  Options o = s.options();
  utsname u{};
  uname(&u);
  int64_t uptime = (s.clock().NowMs() - s.start_ms()) / 1000;
  InfoLine(out, "redis_version", kRedisCompatVersion);
  InfoLine(out, "rowcached_version", kRowcachedVersion);
  InfoLine(out, "redis_git_sha1", "00000000");
  InfoLine(out, "redis_git_dirty", "0");
  InfoLine(out, "redis_build_id", "0");
  InfoLine(out, "redis_mode", "standalone");
  InfoLine(out, "os", fmt::format("{} {} {}", u.sysname, u.release, u.machine));
  InfoLine(out, "arch_bits", sizeof(void*) * 8);
  InfoLine(out, "multiplexing_api", "epoll");
  InfoLine(out, "gcc_version",
           fmt::format("{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__));
  InfoLine(out, "process_id", getpid());
  InfoLine(out, "run_id", fmt::format("{:040x}", static_cast<uint64_t>(s.start_ms())));
  InfoLine(out, "tcp_port", o.port);
  InfoLine(out, "server_time_usec", s.clock().NowMs() * 1000);
  InfoLine(out, "uptime_in_seconds", uptime);
  InfoLine(out, "uptime_in_days", uptime / 86400);
  InfoLine(out, "hz", o.hz);
  InfoLine(out, "configured_hz", o.hz);
  InfoLine(out, "lru_clock", LruClock(s.clock().NowMs()));
  InfoLine(out, "io_threads_active", 0);
}

void ClientsSection(ServerContext& s, std::string* out) {
  InfoLine(out, "connected_clients", s.stats().connected_clients.load());
  InfoLine(out, "cluster_connections", 0);
  InfoLine(out, "maxclients", s.options().maxclients);
  InfoLine(out, "client_recent_max_input_buffer", 0);
  InfoLine(out, "client_recent_max_output_buffer", 0);
  InfoLine(out, "blocked_clients", s.blocking().blocked_clients());
  InfoLine(out, "tracking_clients", 0);
  InfoLine(out, "clients_in_timeout_table", 0);
}

void MemorySection(ServerContext& s, std::string* out) {
  Options o = s.options();
  int64_t used = UsedMemory();
  int64_t rss = ResidentMemory();
  int64_t peak = std::max(peak_memory.load(), used);
  peak_memory.store(peak);
  InfoLine(out, "used_memory", used);
  InfoLine(out, "used_memory_human", HumanBytes(used));
  InfoLine(out, "used_memory_rss", rss);
  InfoLine(out, "used_memory_rss_human", HumanBytes(rss));
  InfoLine(out, "used_memory_peak", peak);
  InfoLine(out, "used_memory_peak_human", HumanBytes(peak));
  InfoLine(out, "maxmemory", o.maxmemory);
  InfoLine(out, "maxmemory_human", HumanBytes(o.maxmemory));
  InfoLine(out, "maxmemory_policy", o.maxmemory_policy);
  InfoLine(out, "mem_fragmentation_ratio",
           fmt::format("{:.2f}", used > 0 ? static_cast<double>(rss) / used : 0.0));
  InfoLine(out, "mem_allocator", "libc");
}

void PersistenceSection(ServerContext& s, std::string* out) {
  InfoLine(out, "loading", 0);
  InfoLine(out, "async_loading", 0);
  s.persistence().AppendInfo(out);
}

void StatsSection(ServerContext& s, std::string* out) {
  auto& st = s.stats();
  auto& ks = s.keyspace().stats();
  InfoLine(out, "total_connections_received", st.total_connections_received.load());
  InfoLine(out, "total_commands_processed", st.total_commands_processed.Load());
  InfoLine(out, "instantaneous_ops_per_sec", st.instantaneous_ops_per_sec.load());
  InfoLine(out, "total_net_input_bytes", st.total_net_input_bytes.Load());
  InfoLine(out, "total_net_output_bytes", st.total_net_output_bytes.Load());
  InfoLine(out, "rejected_connections", st.rejected_connections.load());
  InfoLine(out, "expired_keys", ks.expired_keys.load());
  InfoLine(out, "evicted_keys", ks.evicted_keys.load());
  InfoLine(out, "keyspace_hits", ks.keyspace_hits.Load());
  InfoLine(out, "keyspace_misses", ks.keyspace_misses.Load());
  InfoLine(out, "pubsub_channels", 0);
  InfoLine(out, "pubsub_patterns", 0);
}

void ReplicationSection(ServerContext&, std::string* out) {
  InfoLine(out, "role", "master");
  InfoLine(out, "connected_slaves", 0);
  InfoLine(out, "master_failover_state", "no-failover");
  InfoLine(out, "master_replid", std::string(40, '0'));
  InfoLine(out, "master_repl_offset", 0);
}

void CpuSection(ServerContext&, std::string* out) {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  auto secs = [](timeval tv) { return fmt::format("{}.{:06}", tv.tv_sec, tv.tv_usec); };
  InfoLine(out, "used_cpu_sys", secs(self.ru_stime));
  InfoLine(out, "used_cpu_user", secs(self.ru_utime));
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
