// Runs commands through the real dispatcher against a ServerContext with a manual clock, no
// sockets: the reply is the exact RESP bytes a client would receive.
#pragma once

#include <chrono>
#include <future>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/clock.h"
#include "server/dispatch.h"
#include "server/server_context.h"

namespace rowcached::server::testing {

class CommandHarness {
 public:
  explicit CommandHarness(Options options = {}) : server_(std::move(options), &clock_) {
    client_.id = server_.NextClientId();
    client_.authenticated = server_.options().requirepass.empty();
    client_.push = [this](std::string bytes) {
      std::lock_guard l(pushed_mu_);
      pushed_ += bytes;
    };
  }
  ~CommandHarness() { server_.ReleaseClient(client_); }
  CommandHarness(const CommandHarness&) = delete;
  CommandHarness& operator=(const CommandHarness&) = delete;

  // The pub/sub messages delivered to client() since the last call.
  std::string TakePushed() {
    std::lock_guard l(pushed_mu_);
    return std::exchange(pushed_, std::string());
  }

  // Runs one command; returns the RESP reply bytes.
  std::string Run(std::initializer_list<std::string_view> args) {
    return Run(std::vector<std::string_view>(args));
  }
  std::string Run(const std::vector<std::string_view>& args) {
    std::string out;
    ReplyBuilder reply(&out, client_.resp.load() == 3);
    Dispatch(server_, client_, args, reply);
    return out;
  }
  std::string Run(const std::vector<std::string>& args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    return Run(views);
  }

  // Runs a command that may park its reply (a table-key read waiting for the database) and
  // returns the reply bytes when they come. Each call acts as its own connection, so calls from
  // several threads may be in flight at once.
  std::future<std::string> Start(std::vector<std::string> args) {
    struct PromiseReply final : DeferredReply {
      std::promise<std::string> promise;
      void Complete(const std::function<void(ReplyBuilder&)>& write) override {
        std::string out;
        ReplyBuilder b(&out);
        write(b);
        promise.set_value(std::move(out));
      }
    };
    ClientState client;
    client.id = server_.NextClientId();
    client.authenticated = true;
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyBuilder reply(&out);
    std::shared_ptr<PromiseReply> parked;
    DeferFn defer = [&parked]() -> std::shared_ptr<DeferredReply> {
      parked = std::make_shared<PromiseReply>();
      return parked;
    };
    Dispatch(server_, client, views, reply, defer);
    if (parked) return parked->promise.get_future();
    std::promise<std::string> done;
    done.set_value(out);
    return done.get_future();
  }

  // Start() and wait for the reply; throws (failing the test) if none comes within 30 s.
  std::string RunWait(std::vector<std::string> args) {
    auto f = Start(std::move(args));
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      throw std::runtime_error("no reply within 30 s");
    }
    return f.get();
  }

  ManualClock& clock() { return clock_; }
  ServerContext& server() { return server_; }
  ClientState& client() { return client_; }

 private:
  ManualClock clock_;
  ServerContext server_;
  ClientState client_;
  std::mutex pushed_mu_;
  std::string pushed_;
};

// RESP encoders for expected replies.
inline std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string Int(long long v) { return ":" + std::to_string(v) + "\r\n"; }
inline std::string Simple(std::string_view s) { return "+" + std::string(s) + "\r\n"; }
inline std::string Err(std::string_view s) { return "-" + std::string(s) + "\r\n"; }
inline const std::string kNil = "$-1\r\n";
inline const std::string kOk = "+OK\r\n";
inline std::string Arr(std::initializer_list<std::string> items) {
  std::string r = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) r += i;
  return r;
}

}  // namespace rowcached::server::testing
