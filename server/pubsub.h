// The pub/sub registry: which clients listen to which channels and patterns, and delivery of
// PUBLISH and keyspace-notification messages to them.
//
// A message is rendered once per subscriber in that subscriber's protocol (RESP2 array or RESP3
// push) and handed to its ClientState::push, which never blocks. A client's own sets
// (ClientState::channels/patterns) mirror its registrations.
//
// Thread-safety: every method may be called from any thread; one mutex guards the registry and
// is a leaf lock (taken under shard locks by keyspace notifications, never the other way round).
// Subscribe/Unsubscribe/RemoveClient must be called on the client's owning thread (they update
// its own sets).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/command.h"

namespace rowcached::server {

class PubSub {
 public:
  // Each returns whether the client's subscriptions changed (false: already subscribed / not
  // subscribed).
  bool Subscribe(ClientState& client, std::string_view channel);
  bool Unsubscribe(ClientState& client, std::string_view channel);
  bool PSubscribe(ClientState& client, std::string_view pattern);
  bool PUnsubscribe(ClientState& client, std::string_view pattern);
  // Drops every subscription of the client (disconnect, RESET).
  void RemoveClient(ClientState& client);

  // Delivers `message` to the subscribers of `channel` and of every matching pattern; returns
  // how many deliveries that made (a client matching twice counts twice, as in Redis).
  size_t Publish(std::string_view channel, std::string_view message);

  // PUBSUB CHANNELS [pattern] (empty pattern = all), NUMSUB, NUMPAT.
  std::vector<std::string> Channels(std::string_view pattern, bool all) const;
  size_t NumSub(std::string_view channel) const;
  size_t NumPat() const;

 private:
  mutable std::mutex mu_;
  // Subscribers in subscription order, as Redis delivers them.
  std::unordered_map<std::string, std::vector<ClientState*>> channels_;
  std::map<std::string, std::vector<ClientState*>, std::less<>> patterns_;
};

}  // namespace rowcached::server
