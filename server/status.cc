#include "server/status.h"

namespace rowcached::server {

std::string_view ErrorText(Status status) {
  switch (status) {
    case Status::kWrongType:
      return "WRONGTYPE Operation against a key holding the wrong kind of value";
    case Status::kNotInteger:
      return "ERR value is not an integer or out of range";
    case Status::kNotFloat:
      return "ERR value is not a valid float";
    case Status::kSyntax:
      return "ERR syntax error";
    case Status::kOverflow:
      return "ERR increment or decrement would overflow";
    case Status::kNanOrInfinity:
      return "ERR increment would produce NaN or Infinity";
    case Status::kNoSuchKey:
      return "ERR no such key";
    case Status::kOffsetOutOfRange:
      return "ERR offset is out of range";
    case Status::kStringTooLong:
      return "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    case Status::kDbIndexOutOfRange:
      return "ERR DB index is out of range";
    case Status::kSameObject:
      return "ERR source and destination objects are the same";
    case Status::kInvalidHll:
      return "WRONGTYPE Key is not a valid HyperLogLog string value.";
    case Status::kCorruptHll:
      return "INVALIDOBJ Corrupted HLL object detected";
    case Status::kOk:
    case Status::kNotAllowed:
    case Status::kNotFound:
      break;
  }
  return "ERR internal error";
}

}  // namespace rowcached::server
