// A small blocking RESP client for protocol tests: one TCP connection to 127.0.0.1:port, raw
// bytes out, exactly one complete reply in (any RESP2/RESP3 type, nested aggregates included).
//
// Every read waits at most `timeout` for the next bytes and FAILS the running Catch2 test when
// nothing arrives, so a server that stops answering fails the test instead of hanging it.
// Connection close (EOF or reset) is a state the tests can ask for (ExpectClosed), and is a
// test failure anywhere a reply is expected.
//
// Thread-safety: one client per thread; Catch2 assertions are only made from the test's thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace rowcached::protocol_test {

// One reply. `type` is the RESP type byte: + - : $ * % ~ > _ , # ( = |.
// Null bulk/array (RESP2 `$-1`, `*-1`) keep their type with `null` set; RESP3 `_` has type '_'.
struct Reply {
  char type = 0;
  std::string str;      // simple string, error, bulk, verbatim (without "txt:"), double, bignum
  int64_t integer = 0;  // integer; boolean as 1/0
  bool null = false;
  std::string format;        // verbatim string format ("txt")
  std::vector<Reply> elems;  // array, set, push; map/attribute: key, value, key, value...
  std::string raw;           // the exact bytes of this reply

  bool IsError() const { return type == '-'; }
  bool IsAggregate() const { return type == '*' || type == '%' || type == '~' || type == '>'; }
  std::string ToString() const { return raw; }
};

// Multibulk encoding of a command.
inline std::string EncodeCommand(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

class RespClient {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RespClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // one write = one segment
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // a stuck send fails too
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int err = errno;
      ::close(fd_);
      fd_ = -1;
      FAIL("connect to 127.0.0.1:" << port << " failed: " << std::strerror(err));
    }
  }
  ~RespClient() { Close(); }
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Returns once bytes are waiting to be read, without reading them (the server has begun a
  // reply); FAILS on timeout.
  void WaitReadable() {
    if (!buf_.empty()) return;
    pollfd p{fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    REQUIRE(pr == 1);
  }

  // Sends all of `bytes`; FAILS on error.
  void Send(std::string_view bytes) { REQUIRE(TrySend(bytes)); }

  // Sends as much of `bytes` as the peer takes; false once the connection is closed or reset
  // (used where the server is expected to hang up mid-request).
  bool TrySend(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        last_send_errno_ = errno;
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  int last_send_errno() const { return last_send_errno_; }

  // Sends one command (multibulk) and reads its reply.
  Reply Command(const std::vector<std::string>& args) {
    Send(EncodeCommand(args));
    return Read();
  }

  // Reads exactly one complete reply. FAILS on timeout, on EOF and on malformed RESP.
  Reply Read() {
    size_t pos = 0;
    Reply r = ParseOne(&pos);
    buf_.erase(0, pos);
    return r;
  }

  // Waits for the server to close the connection: true on EOF or reset with no bytes pending.
  // FAILS if the server sends more bytes (they are reported) or nothing happens in time.
  void ExpectClosed() {
    if (!buf_.empty()) FAIL("expected the connection to close, but got: " << Printable(buf_));
    while (true) {
      int r = Fill();
      if (r == 0) return;
      FAIL("expected the connection to close, but got: " << Printable(buf_));
    }
  }

  // Bytes received but not yet consumed by Read().
  const std::string& pending() const { return buf_; }

  static std::string Printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 400)) {
      if (c == '\r') {
        out += "\\r";
      } else if (c == '\n') {
        out += "\\n";
      } else if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) {
        char b[8];
        std::snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned char>(c));
        out += b;
      } else {
        out += c;
      }
    }
    if (s.size() > 400) out += "...(" + std::to_string(s.size()) + " bytes)";
    return out;
  }

 private:
  // Reads more bytes into buf_: 1 = got bytes, 0 = EOF or reset. FAILS on timeout.
  int Fill() {
    auto deadline = Clock::now() + timeout_;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        FAIL("no reply from the server within " << timeout_.count()
                                                << " ms; bytes so far: " << Printable(buf_));
      }
      pollfd p{fd_, POLLIN, 0};
      int pr = ::poll(&p, 1, static_cast<int>(left.count()));
      if (pr < 0 && errno == EINTR) continue;
      REQUIRE(pr >= 0);
      if (pr == 0) continue;  // re-checks the deadline
      char chunk[64 * 1024];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) return 0;
      if (n < 0) FAIL("recv failed: " << std::strerror(errno));
      if (n == 0) return 0;
      buf_.append(chunk, static_cast<size_t>(n));
      return 1;
    }
  }

  // Makes sure buf_ holds at least `n` bytes from `pos`.
  void Need(size_t pos, size_t n) {
    while (buf_.size() < pos + n) {
      if (Fill() == 0) {
        FAIL("connection closed in the middle of a reply; bytes so far: " << Printable(buf_));
      }
    }
  }

  // One CRLF-terminated line from `*pos` (without the CRLF); advances *pos past it.
  std::string Line(size_t* pos) {
    size_t from = *pos;
    while (true) {
      size_t nl = buf_.find("\r\n", from);
      if (nl != std::string::npos) {
        std::string line = buf_.substr(*pos, nl - *pos);
        *pos = nl + 2;
        return line;
      }
      from = buf_.size() > *pos ? buf_.size() - 1 : *pos;
      if (Fill() == 0) {
        if (buf_.size() == *pos) FAIL("connection closed while waiting for a reply");
        FAIL("connection closed in the middle of a reply; bytes so far: " << Printable(buf_));
      }
    }
  }

  static int64_t ToInt(const std::string& s) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (...) {
      used = 0;
    }
    if (used != s.size() || s.empty()) FAIL("malformed RESP integer: '" << s << "'");
    return v;
  }

  Reply ParseOne(size_t* pos) {
    size_t start = *pos;
    Need(*pos, 1);
    Reply r;
    r.type = buf_[*pos];
    ++*pos;
    std::string line = Line(pos);
    switch (r.type) {
      case '+':
      case '-':
      case ',':
      case '(':
        r.str = line;
        break;
      case ':':
        r.integer = ToInt(line);
        break;
      case '#':
        if (line != "t" && line != "f") FAIL("malformed RESP3 boolean: '" << line << "'");
        r.integer = line == "t";
        break;
      case '_':
        if (!line.empty()) FAIL("malformed RESP3 null: '" << line << "'");
        r.null = true;
        break;
      case '$':
      case '=':
      case '!': {
        int64_t len = ToInt(line);
        if (len == -1 && r.type == '$') {
          r.null = true;
          break;
        }
        if (len < 0) FAIL("malformed bulk length " << len);
        Need(*pos, static_cast<size_t>(len) + 2);
        r.str = buf_.substr(*pos, static_cast<size_t>(len));
        if (buf_.compare(*pos + static_cast<size_t>(len), 2, "\r\n") != 0) {
          FAIL("bulk string not terminated by CRLF: " << Printable(buf_.substr(start)));
        }
        *pos += static_cast<size_t>(len) + 2;
        if (r.type == '=') {
          if (r.str.size() < 4 || r.str[3] != ':') FAIL("malformed verbatim string");
          r.format = r.str.substr(0, 3);
          r.str = r.str.substr(4);
        }
        if (r.type == '!') r.type = '-';  // blob error: an error like any other
        break;
      }
      case '*':
      case '~':
      case '>':
      case '%':
      case '|': {
        int64_t n = ToInt(line);
        if (n == -1 && r.type == '*') {
          r.null = true;
          break;
        }
        if (n < 0) FAIL("malformed aggregate length " << n);
        size_t items = static_cast<size_t>(n) * ((r.type == '%' || r.type == '|') ? 2 : 1);
        for (size_t i = 0; i < items; ++i) r.elems.push_back(ParseOne(pos));
        if (r.type == '|') {  // an attribute precedes the actual reply: keep the reply
          Reply actual = ParseOne(pos);
          actual.raw = buf_.substr(start, *pos - start);
          return actual;
        }
        break;
      }
      default:
        FAIL("unknown RESP type byte in: " << Printable(buf_.substr(start)));
    }
    r.raw = buf_.substr(start, *pos - start);
    return r;
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buf_;
  int last_send_errno_ = 0;
};

}  // namespace rowcached::protocol_test
