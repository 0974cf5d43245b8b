// The server's one error vocabulary. Op functions return a Status (or a value plus a Status);
// Cmd functions turn a non-ok Status into Redis' own error text with ErrorText().
//
// Thread-safety: plain values, no shared state.
#pragma once

#include <string>
#include <string_view>

namespace rowcached::server {

enum class [[nodiscard]] Status{
    kOk,
    kNotFound,           // key absent (for ops where that is an error)
    kWrongType,          // -WRONGTYPE ...
    kNotInteger,         // -ERR value is not an integer or out of range
    kNotFloat,           // -ERR value is not a valid float
    kSyntax,             // -ERR syntax error
    kOverflow,           // -ERR increment or decrement would overflow
    kNanOrInfinity,      // -ERR increment would produce NaN or Infinity
    kNoSuchKey,          // -ERR no such key
    kOffsetOutOfRange,   // -ERR offset is out of range
    kStringTooLong,      // -ERR string exceeds maximum allowed size (proto-max-bulk-len)
    kDbIndexOutOfRange,  // -ERR DB index is out of range
    kSameObject,         // -ERR source and destination objects are the same
    kNotAllowed,         // condition not met (NX/XX): not an error, a nil reply
    kInvalidHll,         // -WRONGTYPE Key is not a valid HyperLogLog string value.
    kCorruptHll,         // -INVALIDOBJ Corrupted HLL object detected
};

// The RESP error line for `status` without the leading '-' and trailing CRLF.
// REQUIRES: status != kOk && status != kNotAllowed && status != kNotFound.
std::string_view ErrorText(Status status);

}  // namespace rowcached::server
