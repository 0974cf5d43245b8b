// The network side of the server: Boost.Asio, `threads` I/O threads each running its own
// io_context, one acceptor, and a cron thread (active expiry, ops/sec sampling).
//
// A connection lives on one I/O thread for its whole life and does socket I/O only: bytes in ->
// RespParser -> Dispatch -> bytes out. Pipelined requests are executed in order and their replies
// written in one batch. A deferred reply (a cache miss waiting for the database) pauses the
// connection's execution until it completes, so replies keep request order.
//
// Thread-safety: Start/Wait/Shutdown from the owning (main) thread; Shutdown may be requested
// from any thread through ServerContext::RequestShutdown().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/server_context.h"

namespace rowcached::server {

class NetworkServer {
 public:
  // `context` must outlive the server.
  explicit NetworkServer(ServerContext& context);
  ~NetworkServer();
  NetworkServer(const NetworkServer&) = delete;
  NetworkServer& operator=(const NetworkServer&) = delete;

  // Binds, listens and starts the threads. On failure returns false with a message.
  bool Start(std::string* error);
  // Blocks until a shutdown is requested, then stops everything.
  void Wait();
  // Requests a stop; safe from any thread, including an I/O thread.
  void RequestStop();
  // The bound port (useful with port 0).
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace rowcached::server
