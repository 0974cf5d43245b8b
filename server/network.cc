#include "server/network.h"

// <utility> must precede Boost.Asio (environment.md: awaitable.hpp fails under C++20 with GCC 12
// otherwise); its own block keeps the include sorter from moving it.
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <utility>

#include "server/command_log.h"
#include "server/dispatch.h"
#include "server/persistence.h"
#include "server/resp_parser.h"

namespace rowcached::server {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Reads at least this much at a time; also the buffer's initial size.
constexpr size_t kReadChunk = 16 * 1024;
// Stop reading from a client whose unsent replies exceed this, until they drain.
constexpr size_t kOutputHighWater = 64 * 1024 * 1024;

std::string Endpoint(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

class Connection;

// The io_context this I/O thread runs; null on other threads.
thread_local asio::io_context* tl_io = nullptr;

// Replies that acknowledge appended commands wait until the append-only file has those commands
// (CommandLog::AwaitDurable). Per I/O thread, as Redis does per event-loop iteration: each
// connection whose batch ran registers here, and once the handlers ready on the thread have run,
// before it waits for more events (RunIoThread), one write (+ fsync) makes everything this
// thread appended durable and all of their replies go. Used only while a command log exists.
struct DurableRound {
  std::vector<std::shared_ptr<Connection>> connections;  // replies held back
  // Replies for blocked clients served by this thread's writes, and their connections.
  std::vector<std::pair<std::shared_ptr<Connection>, std::string>> deferred;
  bool pending = false;  // something above waits

  void Run(ServerContext& server);
};
thread_local DurableRound tl_round;

class DeferredSlot final : public DeferredReply {
 public:
  explicit DeferredSlot(std::shared_ptr<Connection> conn) : conn_(std::move(conn)) {}
  void Complete(const std::function<void(ReplyBuilder&)>& write) override;
  void SetOnCancel(std::function<void()> on_cancel) override {
    std::lock_guard l(mu_);
    on_cancel_ = std::move(on_cancel);
  }
  // The connection closed while the reply was pending: runs the cancel hook once. Does not
  // mark the slot done: the hook itself decides against a racing Complete().
  void Cancel() {
    std::function<void()> fn;
    {
      std::lock_guard l(mu_);
      fn.swap(on_cancel_);
    }
    if (fn) fn();
  }

 private:
  std::shared_ptr<Connection> conn_;
  std::atomic<bool> done_{false};
  std::mutex mu_;  // guards on_cancel_
  std::function<void()> on_cancel_;
};

class Connection final : public ClientHandle, public std::enable_shared_from_this<Connection> {
 public:
  // `io` is the context `socket` was made on: the connection's I/O thread's.
  Connection(ServerContext& server, asio::io_context& io, tcp::socket socket)
      : server_(server), io_(io), socket_(std::move(socket)) {
    Options o = server_.options();
    ParserLimits limits;
    limits.max_bulk_len = o.proto_max_bulk_len;
    parser_ = RespParser(limits);
    query_limit_ = static_cast<size_t>(o.client_query_buffer_limit);
    state_.id = server_.NextClientId();
    state_.fd = socket_.native_handle();
    state_.authenticated = o.requirepass.empty();
    state_.created_ms = server_.clock().NowMs();
    state_.last_interaction_ms = state_.created_ms;
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    if (!ec) state_.addr = Endpoint(remote);
    auto local = socket_.local_endpoint(ec);
    if (!ec) state_.laddr = Endpoint(local);
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.non_blocking(true, ec);
    in_.resize(kReadChunk);
  }

  const ClientState& state() const override { return state_; }

  void Kill() override {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Close(); });
  }

  void Start() {
    defer_ = [this]() -> std::shared_ptr<DeferredReply> {
      paused_ = true;
      auto slot = std::make_shared<DeferredSlot>(shared_from_this());
      pending_ = slot;
      return slot;
    };
    state_.push = [weak = weak_from_this()](std::string bytes) {
      if (auto self = weak.lock()) self->Push(std::move(bytes));
    };
    ReadMore();
  }

  tcp::socket::executor_type executor() { return socket_.get_executor(); }

  // Runs on this connection's thread (posted by DeferredSlot).
  void CompleteDeferred(const std::string& reply_bytes) {
    if (closed_) return;
    out_.append(reply_bytes);
    paused_ = false;
    pending_.reset();
    ProcessInput();
  }

  // A pub/sub message, from any thread, with the publisher holding the pub/sub registry's lock:
  // never flushes or closes here. During this client's own command (it published or notified
  // itself) the message goes straight after the replies already written, as in Redis; otherwise
  // it is posted to this connection's thread, which keeps it after every earlier reply and, with
  // an append-only file, sends it once what was appended before is durable (as a reply).
  void Push(std::string bytes) {
    // tl_io, not the executor's running_in_this_thread(): the durable round runs commands
    // outside any asio handler (RunIoThread). Other threads never read processing_.
    if (tl_io == &io_ && processing_) {
      out_.append(bytes);  // ProcessInput flushes when it ends
      return;
    }
    asio::post(executor(), [self = shared_from_this(), bytes = std::move(bytes)] {
      if (self->closed_) return;
      self->out_.append(bytes);
      // The message may tell of a write (the publisher's, or the one a keyspace event names)
      // that is applied but not yet durable: like a reply, it waits for this thread's round.
      self->unacked_ = true;
      if (!self->processing_) self->FlushWhenDurable();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    server_.ReleaseClient(state_);
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    out_.clear();  // nobody to send it to: nothing may hold the connection in a round for it
    unacked_ = false;
    server_.stats().connected_clients.fetch_sub(1, std::memory_order_relaxed);
    server_.RemoveClient(state_.id);
    // A client blocked on keys stops waiting at once, so it cannot take an element later.
    if (auto slot = pending_.lock()) slot->Cancel();
    pending_.reset();
  }

 private:
  // Reads go on while a deferred reply is pending (the bytes wait in in_, as Redis keeps a
  // blocked client's query buffer), so a disconnect is seen at once and cancels the wait.
  void ReadMore() {
    if (reading_ || closed_ || closing_) return;
    if (out_.size() + wbuf_.size() > kOutputHighWater) return;  // resumed by OnWrite
    // Compact, then make room for at least one chunk (or the rest of a known big bulk).
    if (in_start_ > 0 && (in_start_ == in_len_ || in_start_ > in_.size() / 2)) {
      std::memmove(in_.data(), in_.data() + in_start_, in_len_ - in_start_);
      in_len_ -= in_start_;
      in_start_ = 0;
    }
    size_t want = std::max(kReadChunk, parser_.bytes_expected() > in_len_ - in_start_
                                           ? parser_.bytes_expected() - (in_len_ - in_start_)
                                           : size_t{0});
    want = std::min<size_t>(want, 64 * 1024 * 1024);  // grow big bulks in steps
    if (in_.size() - in_len_ < want) in_.resize(in_len_ + std::max(want, in_.size() / 2));
    reading_ = true;
    socket_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    reading_ = false;
    if (ec || closed_) {
      Close();
      return;
    }
    in_len_ += n;
    server_.stats().total_net_input_bytes.Add(n);
    if (in_len_ - in_start_ > query_limit_) {
      spdlog::warn("closing client {} that reached max query buffer length", state_.addr);
      Close();
      return;
    }
    ProcessInput();
  }

  void ProcessInput() {
    processing_ = true;
    // While its replies wait for the AOF, a connection runs no further command: a reply to a
    // later one must not leave with them before that command is durable too.
    while (!paused_ && !awaiting_durable_ && !closing_ && !closed_) {
      std::string_view pending(in_.data() + in_start_, in_len_ - in_start_);
      if (pending.empty()) break;
      auto result = parser_.Parse(pending);
      if (result == RespParser::Result::kNeedMore) break;
      if (result == RespParser::Result::kError) {
        ReplyBuilder(&out_).Error("ERR " + parser_.error());
        spdlog::debug("protocol error from client {}: {}", state_.addr, parser_.error());
        closing_ = true;
        break;
      }
      if (result == RespParser::Result::kCommand) {
        state_.last_interaction_ms.store(server_.clock().NowMs(), std::memory_order_relaxed);
        ReplyBuilder reply(&out_, state_.resp.load(std::memory_order_relaxed) == 3);
        Dispatch(server_, state_, parser_.args(), reply, defer_);
        unacked_ = true;
        if (state_.close_after_reply) closing_ = true;
      }
      in_start_ += parser_.consumed();
    }
    // Not while a read is in flight: it writes at the old in_len_ (ProcessInput also runs from
    // DurableNow and CompleteDeferred, with a read pending).
    if (in_start_ == in_len_ && !reading_) in_start_ = in_len_ = 0;
    processing_ = false;
    FlushWhenDurable();
    ReadMore();
  }

  // Sends the replies, or, while a command log exists, has the thread's durable round send them
  // once the commands they answer are in the log.
  void FlushWhenDurable() {
    if (closed_) return;
    // Only replies to commands run since the last round are held: the rest (still being
    // written, or pushed messages) goes as it would without a log. Holding a connection whose
    // bytes cannot leave yet (a large reply being written) would bring it back to every round.
    if (server_.command_log() == nullptr || tl_io == nullptr || out_.empty() || !unacked_) {
      Flush();
      return;
    }
    if (awaiting_durable_) return;
    awaiting_durable_ = true;
    tl_round.connections.push_back(shared_from_this());
    tl_round.pending = true;
  }

 public:
  // Called by the durable round: the replies held back may go.
  void DurableNow() {
    awaiting_durable_ = false;
    unacked_ = false;
    Flush();
    ProcessInput();  // the commands that arrived meanwhile; reads more (it may have stopped at
                     // the output high-water mark)
  }
  ServerContext& server() { return server_; }

 private:
  void Flush() {
    if (writing_ || closed_ || awaiting_durable_) return;
    if (out_.empty()) {
      if (closing_) Close();
      return;
    }
    // Try to write at once: most replies fit the socket buffer, which saves a trip through
    // the reactor.
    boost::system::error_code ec;
    size_t n = socket_.write_some(asio::buffer(out_), ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      Close();
      return;
    }
    server_.stats().total_net_output_bytes.Add(n);
    if (n == out_.size()) {
      out_.clear();
      if (out_.capacity() > 1024 * 1024) out_.shrink_to_fit();
      if (closing_) Close();
      return;
    }
    wbuf_.assign(out_, n);
    out_.clear();
    writing_ = true;
    asio::async_write(socket_, asio::buffer(wbuf_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                        self->OnWrite(ec, n);
                      });
  }

  void OnWrite(const boost::system::error_code& ec, size_t n) {
    writing_ = false;
    server_.stats().total_net_output_bytes.Add(n);
    wbuf_.clear();
    if (wbuf_.capacity() > 1024 * 1024) wbuf_.shrink_to_fit();
    if (ec) {
      Close();
      return;
    }
    Flush();
    ReadMore();
  }

  ServerContext& server_;
  asio::io_context& io_;
  tcp::socket socket_;
  ClientState state_;
  RespParser parser_;
  size_t query_limit_;
  std::string in_;
  size_t in_start_ = 0;  // first byte of the request being parsed
  size_t in_len_ = 0;    // bytes of in_ that hold data
  std::string out_;      // replies not yet handed to the socket
  std::string wbuf_;     // replies being written asynchronously
  DeferFn defer_;
  std::weak_ptr<DeferredSlot> pending_;  // the deferred reply being waited for, if any
  bool reading_ = false;
  bool writing_ = false;
  bool paused_ = false;      // a deferred reply is pending
  bool processing_ = false;  // inside ProcessInput, which flushes when it ends
  bool closing_ = false;     // close once the replies are written
  bool closed_ = false;
  bool awaiting_durable_ = false;  // replies wait for the thread's durable round
  bool unacked_ = false;           // a command ran since the last round released the replies
};

void DurableRound::Run(ServerContext& server) {
  pending = false;
  auto held = std::move(connections);
  auto served = std::move(deferred);
  connections.clear();
  deferred.clear();
  // Under appendfsync always this thread waits for the fsync, as Redis' event loop does: the
  // requests that arrive meanwhile wait in their sockets and make the next batch, so the next
  // fsync, bigger. Another I/O thread's fsync under way covers this thread's bytes too when
  // they were appended before it started (group commit, aof.h).
  if (CommandLog* log = server.command_log()) log->AwaitAllDurable();
  for (auto& conn : held) conn->DurableNow();
  for (auto& [conn, bytes] : served) {
    asio::post(conn->executor(),
               [conn = conn, bytes = std::move(bytes)] { conn->CompleteDeferred(bytes); });
  }
}

// An I/O thread's event loop: io.run(), except that once a handler has left replies waiting for
// the durable round, the handlers ready without waiting run too (up to kMaxBatch), and then,
// before the thread waits for more events, the round (Redis' beforeSleep). asio's io_context::run()
// has no such point: a handler posted for the round would run after the reactor's next poll,
// splitting every batch in two.
constexpr int kMaxBatch = 1024;

void RunIoThread(asio::io_context& io, ServerContext& server) {
  tl_io = &io;
  while (io.run_one() > 0) {
    if (!tl_round.pending) continue;  // as io.run(): no poll of the reactor per handler
    for (int i = 0; i < kMaxBatch && io.poll_one() > 0; ++i) {
    }
    // DurableNow runs the commands that arrived meanwhile, which may hold replies again.
    while (tl_round.pending) tl_round.Run(server);
  }
  tl_io = nullptr;
}

void DeferredSlot::Complete(const std::function<void(ReplyBuilder&)>& write) {
  if (done_.exchange(true)) return;  // exactly once
  // Render now on the caller's thread into a buffer, then hand the bytes to the connection.
  auto conn = conn_;
  bool resp3 = conn->state().resp.load(std::memory_order_relaxed) == 3;
  std::string bytes;
  ReplyBuilder builder(&bytes, resp3);
  write(builder);
  // A blocked client served by another client's write (blocking.h) is answered only once that
  // write, appended on this thread, is durable.
  if (CommandLog* log = conn->server().command_log()) {
    if (tl_io != nullptr) {
      tl_round.deferred.emplace_back(conn, std::move(bytes));
      tl_round.pending = true;
      return;
    }
    log->AwaitDurable();  // a thread that is not an I/O thread: its own appends, now
  }
  asio::post(conn->executor(), [conn, bytes = std::move(bytes)] { conn->CompleteDeferred(bytes); });
}

}  // namespace

struct NetworkServer::Impl {
  explicit Impl(ServerContext& ctx) : context(ctx) {}

  ServerContext& context;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<tcp::acceptor> acceptor;
  size_t next_io = 0;
  std::thread cron;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  // Set by Wait() on ios[0]'s thread, where every accept handler runs too: after it, no
  // connection is accepted (one could otherwise miss the shutdown's kill and keep its I/O
  // thread, and so Wait(), from ever returning) and the acceptor is not re-armed.
  bool accepting_stopped = false;

  void Accept() {
    asio::io_context& target = *ios[next_io++ % ios.size()];
    acceptor->async_accept(target,
                           [this, &target](const boost::system::error_code& ec, tcp::socket s) {
                             if (accepting_stopped)
                               return;  // `s`, if any, is closed by its destructor
                             if (ec) {
                               if (ec == asio::error::operation_aborted) return;
                               spdlog::warn("accept failed: {}", ec.message());
                             } else {
                               OnAccept(target, std::move(s));
                             }
                             Accept();
                           });
  }

  void OnAccept(asio::io_context& io, tcp::socket socket) {
    auto& stats = context.stats();
    stats.total_connections_received.fetch_add(1, std::memory_order_relaxed);
    if (stats.connected_clients.load() >= context.options().maxclients) {
      stats.rejected_connections.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code ec;
      static constexpr std::string_view kMsg = "-ERR max number of clients reached\r\n";
      asio::write(socket, asio::buffer(kMsg), ec);
      socket.close(ec);
      return;
    }
    stats.connected_clients.fetch_add(1, std::memory_order_relaxed);
    auto conn = std::make_shared<Connection>(context, io, std::move(socket));
    context.AddClient(conn);
    asio::post(conn->executor(), [conn] { conn->Start(); });
  }

  void Cron() {
    // Redis' cron: `hz` times a second; active expiry gets 25% of each period.
    std::array<std::pair<int64_t, uint64_t>, 16> samples{};
    size_t sample_i = 0;
    std::unique_lock lock(mu);
    while (!stop) {
      int hz = std::clamp(context.options().hz, 1, 500);
      auto period = std::chrono::milliseconds(1000 / hz);
      cv.wait_for(lock, period, [this] { return stop; });
      if (stop) break;
      lock.unlock();
      context.keyspace().ActiveExpireCycle(1000 * 1000 / hz / 4);
      context.persistence().Cron();
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now().time_since_epoch())
                     .count();
      samples[sample_i % samples.size()] = {now, context.stats().total_commands_processed.Load()};
      ++sample_i;
      if (sample_i > 1) {
        auto newest = samples[(sample_i - 1) % samples.size()];
        auto oldest = samples[sample_i >= samples.size() ? sample_i % samples.size() : 0];
        if (newest.first > oldest.first) {
          context.stats().instantaneous_ops_per_sec.store((newest.second - oldest.second) * 1000 /
                                                          (newest.first - oldest.first));
        }
      }
      lock.lock();
    }
  }
};

NetworkServer::NetworkServer(ServerContext& context) : impl_(std::make_unique<Impl>(context)) {}

NetworkServer::~NetworkServer() {
  RequestStop();
  Wait();
}

bool NetworkServer::Start(std::string* error) {
  Options o = impl_->context.options();
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  for (int i = 0; i < threads; ++i) {
    impl_->ios.push_back(std::make_unique<asio::io_context>(1));
    impl_->guards.push_back(asio::make_work_guard(*impl_->ios.back()));
  }
  try {
    auto address = asio::ip::make_address(o.bind);
    tcp::endpoint ep(address, static_cast<uint16_t>(o.port));
    impl_->acceptor = std::make_unique<tcp::acceptor>(*impl_->ios[0]);
    impl_->acceptor->open(ep.protocol());
    impl_->acceptor->set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor->bind(ep);
    impl_->acceptor->listen(511);  // Redis' tcp-backlog
    port_ = impl_->acceptor->local_endpoint().port();
    // INFO and CONFIG GET report the port actually bound (it differs when asked for port 0).
    impl_->context.UpdateOptions([this](Options& opts) { opts.port = port_; });
  } catch (const boost::system::system_error& e) {
    *error = "cannot listen on " + o.bind + ":" + std::to_string(o.port) + ": " + e.what();
    impl_->guards.clear();
    impl_->ios.clear();
    return false;
  }
  impl_->context.set_shutdown_hook([this] { RequestStop(); });
  impl_->Accept();
  for (auto& io : impl_->ios) {
    impl_->threads.emplace_back(
        [io = io.get(), &server = impl_->context] { RunIoThread(*io, server); });
  }
  impl_->cron = std::thread([this] { impl_->Cron(); });
  spdlog::info("ready to accept connections on {}:{} with {} I/O threads", o.bind, port_, threads);
  return true;
}

void NetworkServer::RequestStop() {
  std::lock_guard l(impl_->mu);
  impl_->stop = true;
  impl_->cv.notify_all();
}

void NetworkServer::Wait() {
  {
    std::unique_lock l(impl_->mu);
    impl_->cv.wait(l, [this] { return impl_->stop; });
  }
  if (impl_->cron.joinable()) impl_->cron.join();
  if (impl_->threads.empty()) return;
  // Stop accepting and kill the clients on the acceptor's thread, so that a connection accepted
  // concurrently is either in the client list (and killed) or refused. Only then let the I/O
  // threads run out of work: released earlier, an I/O thread could exit before a connection
  // just accepted for it was started or killed, leaving it in the client list past the
  // io_context's life (use after free when the ServerContext drops it).
  asio::post(*impl_->ios[0], [this] {
    impl_->accepting_stopped = true;
    boost::system::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    for (auto& c : impl_->context.Clients()) c->Kill();
    for (auto& g : impl_->guards) g.reset();
  });
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->guards.clear();
  impl_->context.set_shutdown_hook(nullptr);
  spdlog::info("server stopped");
}

}  // namespace rowcached::server
