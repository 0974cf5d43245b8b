// Writes RESP replies into an output buffer, in the client's protocol version.
//
// RESP3 types degrade to their RESP2 forms exactly as Redis does: maps become flat arrays,
// sets become arrays, doubles become bulk strings, booleans become integers 1/0, null becomes
// `$-1` (or `*-1` for a null array).
//
// Thread-safety: a ReplyBuilder writes to one buffer owned by one connection; not shared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/status.h"

namespace rowcached::server {

class ReplyBuilder {
 public:
  // `out` must outlive the builder. `resp3` selects the protocol version.
  explicit ReplyBuilder(std::string* out, bool resp3 = false) : out_(out), resp3_(resp3) {}

  bool resp3() const { return resp3_; }
  void set_resp3(bool resp3) { resp3_ = resp3; }
  std::string* buffer() { return out_; }

  void SimpleString(std::string_view s);  // +OK
  void Ok() { out_->append("+OK\r\n"); }
  // `message` without '-' and CRLF, e.g. "ERR syntax error". CR/LF inside are replaced by spaces.
  void Error(std::string_view message);
  void Error(Status status) { Error(ErrorText(status)); }
  void Integer(int64_t value);
  void Bulk(std::string_view s);
  void Null();       // RESP2 `$-1`, RESP3 `_`
  void NullArray();  // RESP2 `*-1`, RESP3 `_`
  void Array(size_t n);
  void Map(size_t pairs);     // RESP2: array of 2*pairs
  void Set(size_t n);         // RESP2: array
  void Push(size_t n);        // RESP3 push `>`; RESP2: array
  void Double(double value);  // RESP3 `,`; RESP2 bulk string, formatted as Redis does
  void Bool(bool value);      // RESP3 `#t`; RESP2 integer
  // RESP3 verbatim string (`=`, format "txt"); RESP2 bulk string.
  void Verbatim(std::string_view s);
  // Bytes already in RESP form (e.g. a cached reply).
  void Raw(std::string_view resp) { out_->append(resp); }

 private:
  void Header(char type, int64_t n);

  std::string* out_;
  bool resp3_;
};

// Formats a double as Redis replies it (%.17g, "inf"/"-inf", integers without exponent).
std::string FormatDouble(double value);
// Formats a long double the way INCRBYFLOAT stores it (%.17Lf with trailing zeros removed).
std::string FormatLongDouble(long double value);

}  // namespace rowcached::server
