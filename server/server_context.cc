#include "server/server_context.h"

#include "server/blocking.h"
#include "server/notify.h"
#include "server/persistence.h"
#include "server/version.h"

namespace rowcached::server {

const char* const kRowcachedVersion = ROWCACHED_VERSION;

ServerContext::ServerContext(Options options, const Clock* clock)
    : clock_(clock),
      start_ms_(clock->NowMs()),
      options_(std::move(options)),
      keyspace_(options_.databases, clock),
      notify_flags_(options_.notify_keyspace_events),
      proto_max_bulk_len_(options_.proto_max_bulk_len),
      hll_sparse_max_bytes_(options_.hll_sparse_max_bytes),
      watches_(options_.databases),
      blocking_(std::make_unique<Blocking>(*this)),
      persistence_(std::make_unique<Persistence>(*this)) {
  keyspace_.eviction_config().Load(options_);
  RegisterAllFamilies(registry_);
  keyspace_.set_expired_hook([this](int db, std::string_view key) {
    KeyDeletedByServer(*this, db, key);
    NotifyKeyspaceEvent(*this, kNotifyExpired, "expired", key, db);
  });
}

void ServerContext::ReleaseClient(ClientState& client) {
  DiscardTransaction(*this, client);
  pubsub_.RemoveClient(client);
}

ServerContext::~ServerContext() = default;

void ServerContext::AddClient(std::shared_ptr<ClientHandle> client) {
  std::lock_guard l(clients_mu_);
  uint64_t id = client->state().id;
  clients_.emplace(id, std::move(client));
}

void ServerContext::RemoveClient(uint64_t id) {
  std::lock_guard l(clients_mu_);
  clients_.erase(id);
}

std::vector<std::shared_ptr<ClientHandle>> ServerContext::Clients() const {
  std::lock_guard l(clients_mu_);
  std::vector<std::shared_ptr<ClientHandle>> out;
  out.reserve(clients_.size());
  for (auto& [id, c] : clients_) out.push_back(c);
  return out;
}

void ServerContext::ResetStats() {
  stats_.total_commands_processed.Reset();
  stats_.total_connections_received = 0;
  stats_.rejected_connections = 0;
  stats_.total_net_input_bytes.Reset();
  stats_.total_net_output_bytes.Reset();
  keyspace_.stats().keyspace_hits.Reset();
  keyspace_.stats().keyspace_misses.Reset();
  keyspace_.stats().expired_keys = 0;
  keyspace_.stats().evicted_keys = 0;
}

void RegisterAllFamilies(Registry& registry) {
  RegisterServerFamily(registry);
  RegisterClientFamily(registry);
  RegisterStringFamily(registry);
  RegisterKeysFamily(registry);
  RegisterHashFamily(registry);
  RegisterBitmapFamily(registry);
  RegisterHyperLogLogFamily(registry);
  RegisterSetFamily(registry);
  RegisterZSetFamily(registry);
  RegisterMultiFamily(registry);
  RegisterPubSubFamily(registry);
  RegisterPersistenceFamily(registry);
  RegisterListFamily(registry);
  RegisterAofFamily(registry);
}

}  // namespace rowcached::server
