#include "server/pubsub.h"

#include <algorithm>

#include "server/reply.h"
#include "server/util.h"

namespace rowcached::server {
namespace {

template <typename Map>
bool AddSubscriber(Map& map, std::string_view name, ClientState* client) {
  auto it = map.find(std::string(name));
  if (it == map.end()) it = map.emplace(std::string(name), std::vector<ClientState*>{}).first;
  auto& subs = it->second;
  if (std::find(subs.begin(), subs.end(), client) != subs.end()) return false;
  subs.push_back(client);
  return true;
}

template <typename Map>
void RemoveSubscriber(Map& map, std::string_view name, ClientState* client) {
  auto it = map.find(std::string(name));
  if (it == map.end()) return;
  auto& subs = it->second;
  subs.erase(std::remove(subs.begin(), subs.end(), client), subs.end());
  if (subs.empty()) map.erase(it);
}

// Renders ["message", channel, payload], or ["pmessage", pattern, channel, payload] when
// `pattern` is set.
void Deliver(ClientState* client, const std::string* pattern, std::string_view channel,
             std::string_view message) {
  if (!client->push) return;
  std::string bytes;
  ReplyBuilder b(&bytes, client->resp.load(std::memory_order_relaxed) == 3);
  if (pattern == nullptr) {
    b.Push(3);
    b.Bulk("message");
  } else {
    b.Push(4);
    b.Bulk("pmessage");
    b.Bulk(*pattern);
  }
  b.Bulk(channel);
  b.Bulk(message);
  client->push(std::move(bytes));
}

}  // namespace

namespace {

// Adds `name` to a client's own set and to the registry map; false when already there.
template <typename Map>
bool Add(std::mutex& mu, Map& registry, std::set<std::string, std::less<>>& mine,
         std::atomic<int>& count, ClientState& client, std::string_view name) {
  if (!mine.emplace(name).second) return false;
  count.store(static_cast<int>(mine.size()));
  std::lock_guard l(mu);
  AddSubscriber(registry, name, &client);
  return true;
}

template <typename Map>
bool Remove(std::mutex& mu, Map& registry, std::set<std::string, std::less<>>& mine,
            std::atomic<int>& count, ClientState& client, std::string_view name) {
  auto it = mine.find(name);
  if (it == mine.end()) return false;
  {
    std::lock_guard l(mu);
    RemoveSubscriber(registry, name, &client);
  }
  mine.erase(it);
  count.store(static_cast<int>(mine.size()));
  return true;
}

}  // namespace

bool PubSub::Subscribe(ClientState& client, std::string_view channel) {
  return Add(mu_, channels_, client.channels, client.channel_count, client, channel);
}

bool PubSub::Unsubscribe(ClientState& client, std::string_view channel) {
  return Remove(mu_, channels_, client.channels, client.channel_count, client, channel);
}

bool PubSub::PSubscribe(ClientState& client, std::string_view pattern) {
  return Add(mu_, patterns_, client.patterns, client.pattern_count, client, pattern);
}

bool PubSub::PUnsubscribe(ClientState& client, std::string_view pattern) {
  return Remove(mu_, patterns_, client.patterns, client.pattern_count, client, pattern);
}

void PubSub::RemoveClient(ClientState& client) {
  if (client.channels.empty() && client.patterns.empty()) return;
  {
    std::lock_guard l(mu_);
    for (const auto& c : client.channels) RemoveSubscriber(channels_, c, &client);
    for (const auto& p : client.patterns) RemoveSubscriber(patterns_, p, &client);
  }
  client.channels.clear();
  client.patterns.clear();
  client.channel_count.store(0);
  client.pattern_count.store(0);
}

size_t PubSub::Publish(std::string_view channel, std::string_view message) {
  size_t receivers = 0;
  std::lock_guard l(mu_);
  if (auto it = channels_.find(std::string(channel)); it != channels_.end()) {
    for (ClientState* c : it->second) Deliver(c, nullptr, channel, message);
    receivers += it->second.size();
  }
  for (const auto& [pattern, subs] : patterns_) {
    if (!GlobMatch(pattern, channel)) continue;
    for (ClientState* c : subs) Deliver(c, &pattern, channel, message);
    receivers += subs.size();
  }
  return receivers;
}

std::vector<std::string> PubSub::Channels(std::string_view pattern, bool all) const {
  std::vector<std::string> out;
  std::lock_guard l(mu_);
  for (const auto& [name, subs] : channels_) {
    if (all || GlobMatch(pattern, name)) out.push_back(name);
  }
  return out;
}

size_t PubSub::NumSub(std::string_view channel) const {
  std::lock_guard l(mu_);
  auto it = channels_.find(std::string(channel));
  return it == channels_.end() ? 0 : it->second.size();
}

size_t PubSub::NumPat() const {
  std::lock_guard l(mu_);
  return patterns_.size();
}

}  // namespace rowcached::server
