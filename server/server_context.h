// Everything commands see of the server beyond their own client: the keyspace, the command
// registry, the live configuration, counters, the other clients, INFO sections, shutdown.
// No sockets here: a ServerContext can run commands without a network (see dispatch.h), which
// is how command tests and Op tests run.
//
// Thread-safety: shared by every I/O thread. Counters are atomics; the configuration and the
// client list each have one mutex (marked below); the keyspace has its shard locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/clock.h"
#include "server/command.h"
#include "server/eviction.h"
#include "server/keyspace.h"
#include "server/options.h"
#include "server/pubsub.h"
#include "server/striped_counter.h"
#include "server/watch.h"

namespace rowcached::server {

inline constexpr const char* kRedisCompatVersion = "7.0.15";
extern const char* const kRowcachedVersion;

struct ServerStats {
  StripedCounter total_commands_processed;
  std::atomic<uint64_t> total_connections_received{0};
  std::atomic<uint64_t> rejected_connections{0};
  StripedCounter total_net_input_bytes;
  StripedCounter total_net_output_bytes;
  std::atomic<int64_t> connected_clients{0};
  std::atomic<uint64_t> instantaneous_ops_per_sec{0};
};

// A connected client, as other clients see it (CLIENT LIST / KILL).
class ClientHandle {
 public:
  virtual ~ClientHandle() = default;
  virtual const ClientState& state() const = 0;
  // Closes the connection from any thread (CLIENT KILL, SHUTDOWN).
  virtual void Kill() = 0;
};

// The extension point for keys owned by something other than the keyspace (the middleware's
// table keys, "<table>:<pk>"). When any key of a command is owned, the dispatcher calls
// Handle() instead of the command's handler, with no shard locks held; Handle() may answer
// itself, defer, or call RunBuiltin(ctx) to run the ordinary command.
// Thread-safety: Owns() and Handle() are called concurrently from every I/O thread.
class KeyInterceptor {
 public:
  virtual ~KeyInterceptor() = default;
  // Must be fast: it runs for every key of every command while an interceptor is installed.
  virtual bool Owns(std::string_view key) const = 0;
  virtual void Handle(CommandContext& ctx) = 0;
};

class Blocking;
class CommandLog;
class Persistence;

class ServerContext {
 public:
  ServerContext(Options options, const Clock* clock = SystemClock::Instance());
  ~ServerContext();

  Keyspace& keyspace() { return keyspace_; }
  Registry& registry() { return registry_; }
  // Clients blocked on keys (BLPOP, ...): see blocking.h.
  Blocking& blocking() { return *blocking_; }
  ServerStats& stats() { return stats_; }
  // Changes to the keyspace since start (Redis' server.dirty): every KeyModified counts one
  // (notify.h). Monotonic; what the `save` rules compare against.
  uint64_t dirty() const { return dirty_.Load(); }
  void AddDirty(uint64_t n) { dirty_.Add(n); }
  const Clock& clock() const { return *clock_; }
  int64_t start_ms() const { return start_ms_; }

  // Live configuration. Guarded by config_mu_; read a copy.
  Options options() const {
    std::lock_guard l(config_mu_);
    return options_;
  }
  // Settings the command path reads lock-free (maxmemory, the policy) are mirrored into the
  // keyspace's EvictionConfig here, so a change takes effect with the next command.
  void UpdateOptions(const std::function<void(Options&)>& fn) {
    std::lock_guard l(config_mu_);
    fn(options_);
    keyspace_.eviction_config().Load(options_);
    notify_flags_.store(options_.notify_keyspace_events, std::memory_order_relaxed);
    proto_max_bulk_len_.store(options_.proto_max_bulk_len, std::memory_order_relaxed);
    hll_sparse_max_bytes_.store(options_.hll_sparse_max_bytes, std::memory_order_relaxed);
  }
  // Options read by commands on the request path, without the configuration mutex and the copy
  // of options().
  uint32_t notify_flags() const { return notify_flags_.load(std::memory_order_relaxed); }
  int64_t proto_max_bulk_len() const { return proto_max_bulk_len_.load(std::memory_order_relaxed); }
  int64_t hll_sparse_max_bytes() const {
    return hll_sparse_max_bytes_.load(std::memory_order_relaxed);
  }

  // Pub/sub channels and patterns; WATCHed keys.
  PubSub& pubsub() { return pubsub_; }
  WatchRegistry& watches() { return watches_; }
  // Drops a client's transaction, WATCHes and subscriptions: on disconnect and RESET. Call on
  // the client's owning thread before its ClientState goes away.
  void ReleaseClient(ClientState& client);

  // Eviction under maxmemory (eviction.h). Call PerformEvictions with no shard lock held.
  Evictor& evictor() { return evictor_; }

  // Clients. Guarded by clients_mu_.
  uint64_t NextClientId() { return next_client_id_.fetch_add(1) + 1; }
  void AddClient(std::shared_ptr<ClientHandle> client);
  void RemoveClient(uint64_t id);
  std::vector<std::shared_ptr<ClientHandle>> Clients() const;

  // INFO sections added by extensions (the middleware's "rowcache"). `fn` appends
  // "name:value\r\n" lines. Call before serving.
  using InfoSection = std::function<void(std::string* out)>;
  void AddInfoSection(std::string name, InfoSection fn) {
    extra_info_.emplace_back(std::move(name), std::move(fn));
  }
  const std::vector<std::pair<std::string, InfoSection>>& extra_info() const { return extra_info_; }

  // Installs the interceptor for owned keys. Call before serving; null removes it.
  void SetKeyInterceptor(std::shared_ptr<KeyInterceptor> interceptor) {
    interceptor_ = std::move(interceptor);
  }
  KeyInterceptor* key_interceptor() const { return interceptor_.get(); }

  // RDB snapshots, the `save` schedule and loading at start-up (persistence.h).
  Persistence& persistence() { return *persistence_; }

  // The append-only file, when `appendonly` is on (command_log.h); null otherwise. The
  // dispatcher appends to it (propagate.h). Install or remove it while holding every shard
  // lock (see propagate.h), or before serving.
  void set_command_log(CommandLog* log) { command_log_.store(log, std::memory_order_release); }
  // Removes `log` if it is still the one installed (CONFIG SET appendonly no). Removing needs no
  // shard lock: a thread that loaded the pointer before may still append to `log`, which then
  // decides whether that append counts (AppendOnlyFile::Retire).
  void RemoveCommandLog(CommandLog* log) {
    command_log_.compare_exchange_strong(log, nullptr, std::memory_order_acq_rel);
  }
  CommandLog* command_log() const { return command_log_.load(std::memory_order_acquire); }

  // SHUTDOWN: the network layer installs the hook; commands call RequestShutdown().
  void set_shutdown_hook(std::function<void()> hook) { shutdown_hook_ = std::move(hook); }
  void RequestShutdown() {
    if (shutdown_hook_) shutdown_hook_();
  }

  // CONFIG RESETSTAT.
  void ResetStats();

 private:
  const Clock* clock_;
  int64_t start_ms_;
  mutable std::mutex config_mu_;
  Options options_;
  Keyspace keyspace_;
  Registry registry_;
  ServerStats stats_;
  StripedCounter dirty_;
  Evictor evictor_;
  std::atomic<uint32_t> notify_flags_{0};
  std::atomic<int64_t> proto_max_bulk_len_{0};
  std::atomic<int64_t> hll_sparse_max_bytes_{0};
  PubSub pubsub_;
  WatchRegistry watches_;
  std::atomic<uint64_t> next_client_id_{0};
  mutable std::mutex clients_mu_;
  std::map<uint64_t, std::shared_ptr<ClientHandle>> clients_;
  std::vector<std::pair<std::string, InfoSection>> extra_info_;
  std::function<void()> shutdown_hook_;
  std::shared_ptr<KeyInterceptor> interceptor_;
  std::atomic<CommandLog*> command_log_{nullptr};
  std::unique_ptr<Blocking> blocking_;
  std::unique_ptr<Persistence> persistence_;
};

// Registers every built-in command family.
void RegisterAllFamilies(Registry& registry);
void RegisterStringFamily(Registry& registry);
void RegisterKeysFamily(Registry& registry);
void RegisterHashFamily(Registry& registry);
void RegisterBitmapFamily(Registry& registry);
void RegisterHyperLogLogFamily(Registry& registry);
void RegisterSetFamily(Registry& registry);
void RegisterZSetFamily(Registry& registry);
void RegisterListFamily(Registry& registry);
void RegisterServerFamily(Registry& registry);
void RegisterClientFamily(Registry& registry);
void RegisterMultiFamily(Registry& registry);
void RegisterPubSubFamily(Registry& registry);
void RegisterPersistenceFamily(Registry& registry);
void RegisterAofFamily(Registry& registry);
// Leaves MULTI and forgets the watched keys (Redis' discardTransaction; multi_family.cc).
void DiscardTransaction(ServerContext& server, ClientState& client);
// Parts of the server family kept in their own files.
void RegisterConfigCommands(Registry& registry);
void RegisterCommandCommands(Registry& registry);

}  // namespace rowcached::server
