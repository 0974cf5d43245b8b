// bench/rowcached_bench/resp.h — the bench's RESP2 client side: an incremental reply parser, a
// command encoder, a blocking client (one socket, optional pipelining) and an asynchronous load
// driver (many connections on one io_context, each keeping `pipeline` requests in flight).
//
// Threads: a SyncClient belongs to one thread. AsyncLoad runs every connection on the thread
// that calls Run(); its callbacks run there too, so per-connection state needs no locks.
#pragma once

// clang-format off
#include <utility>  // before asio (environment.md)
#include <boost/asio.hpp>
// clang-format on
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rcbench {

using Clock = std::chrono::steady_clock;

struct Reply {
  char type = 0;  // '+', '-', ':', '$', '*'
  bool nil = false;
  std::string str;  // simple string, error text (without '-'), bulk string
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool error() const { return type == '-'; }
  // Human-readable form for messages.
  std::string Describe() const;
};

// Appends one command in RESP form.
void Encode(std::string* out, std::initializer_list<std::string_view> args);
void Encode(std::string* out, const std::vector<std::string>& args);

// Parses one complete reply starting at *pos. Returns false (pos unchanged) if more bytes are
// needed. Throws std::runtime_error on a protocol error.
bool ParseReply(std::string_view in, size_t* pos, Reply* out);

// Blocking client. Throws std::runtime_error on connection or protocol errors.
class SyncClient {
 public:
  SyncClient(const std::string& host, int port);
  // One request, one reply.
  Reply Call(std::initializer_list<std::string_view> args);
  Reply Call(const std::vector<std::string>& args);
  // Pipelining: Send() queues bytes (RESP-encoded commands), Flush() writes them, Read() reads
  // the next reply.
  void SendRaw(std::string_view bytes);
  void Flush();
  Reply Read();

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string out_;
  std::string in_;
  size_t pos_ = 0;
};

// Many connections driven from one thread. For each connection, Run() repeatedly asks `make`
// for `pipeline` commands (each with a caller-chosen token), writes them in one go, and hands
// every reply to `done` with the token and the time the batch was written. A connection stops
// when `make` returns false or `stop()` turns true (checked before each batch).
class AsyncLoad {
 public:
  // Appends one command to *out and sets *token; false = this connection is done.
  using MakeFn = std::function<bool(int conn, std::string* out, uint64_t* token)>;
  using DoneFn =
      std::function<void(int conn, uint64_t token, const Reply& reply, Clock::time_point sent)>;
  using StopFn = std::function<bool()>;

  AsyncLoad(std::string host, int port, int connections, int pipeline);
  // Connects every connection (throws on failure), then drives them until all are done.
  // Returns the number of replies. Throws on a connection or protocol error.
  uint64_t Run(const MakeFn& make, const DoneFn& done, const StopFn& stop);

 private:
  std::string host_;
  int port_;
  int connections_;
  int pipeline_;
};

}  // namespace rcbench
