// Incremental RESP request parser: a pure state machine with no I/O.
//
// The caller keeps the bytes of the request being parsed in one buffer that starts at the first
// byte of that request, appends bytes as they arrive, and calls Parse() again. Parse() never
// re-reads what it has already accepted, so a request split at any byte costs no more than a
// whole one. Both the multibulk form (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and the inline form
// (`GET k\r\n`, what telnet sends) are accepted, with Redis' limits and error texts.
//
// Thread-safety: one parser per connection; not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rowcached::server {

struct ParserLimits {
  // Largest bulk string accepted (Redis' proto-max-bulk-len, default 512 MB).
  int64_t max_bulk_len = 512LL * 1024 * 1024;
  // Largest multibulk count accepted (Redis: 1024*1024 elements is its sanity bound for INT_MAX;
  // we use INT32_MAX like Redis).
  int64_t max_multibulk_len = INT32_MAX;
  // Longest inline request or `*`/`$` header line (Redis' PROTO_INLINE_MAX_SIZE, 64 KB).
  size_t max_inline_len = 64 * 1024;
};

class RespParser {
 public:
  enum class Result {
    kNeedMore,  // no complete request yet; append bytes and call again
    kCommand,   // one request parsed: args() and consumed() are valid
    kEmpty,     // an empty request (blank inline line, `*0`): consumed() bytes to drop, no command
    kError,     // protocol error: error() holds Redis' text; the connection must be closed
  };

  explicit RespParser(ParserLimits limits = {}) : limits_(limits) {}

  // REQUIRES: `buf` starts at the first byte of the current request, and holds at least the
  // bytes passed to the previous call since the last kCommand/kEmpty.
  Result Parse(std::string_view buf);

  // After kCommand: the arguments, views into the buffer passed to Parse() (or into the parser
  // for inline requests). Valid until the next Parse() or Reset().
  const std::vector<std::string_view>& args() const { return args_; }
  // After kCommand/kEmpty: how many bytes of the buffer the request used.
  size_t consumed() const { return consumed_; }
  // After kError: e.g. "Protocol error: invalid bulk length".
  const std::string& error() const { return error_; }
  // While kNeedMore inside a bulk string: how many bytes the whole request will need at least,
  // so the caller can reserve once instead of growing a huge buffer step by step.
  size_t bytes_expected() const { return expected_; }

  // Forgets any partial request. Called automatically after kCommand/kEmpty.
  void Reset();

 private:
  Result ParseMultibulk(std::string_view buf);
  Result ParseInline(std::string_view buf);
  Result Fail(std::string message);

  ParserLimits limits_;
  // Multibulk progress: where to continue, how many bulks remain, the pending bulk's length
  // (-1 = reading the `$` header next).
  size_t pos_ = 0;
  int64_t bulks_left_ = -1;  // -1 = `*` header not read yet
  int64_t bulk_len_ = -1;
  std::vector<std::pair<size_t, size_t>> spans_;  // (offset, length) of each arg in the buffer
  std::vector<std::string> inline_args_;
  std::vector<std::string_view> args_;
  size_t consumed_ = 0;
  size_t expected_ = 0;
  std::string error_;
};

// Splits an inline request line the way redis-cli and Redis do (sdssplitargs): spaces separate
// arguments, "double quotes" with \n \t \xHH escapes, 'single quotes' with \' only.
// Returns false on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out);

}  // namespace rowcached::server
