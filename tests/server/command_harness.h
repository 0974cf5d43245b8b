// Runs commands through the real dispatcher against a ServerContext with a manual clock, no
// sockets: the reply is the exact RESP bytes a client would receive.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
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

  ManualClock& clock() { return clock_; }
  ServerContext& server() { return server_; }
  ClientState& client() { return client_; }

 private:
  ManualClock clock_;
  ServerContext server_;
  ClientState client_;
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
