#include "server/scan_options.h"

#include <cstdint>

#include "server/command.h"
#include "server/util.h"

namespace rowcached::server {

KeyScanOptions ParseKeyScanOptions(const std::vector<std::string_view>& args, size_t first) {
  KeyScanOptions options;
  for (size_t i = first; i < args.size(); i += 2) {
    bool has_value = i + 1 < args.size();
    if (EqualsIgnoreCase(args[i], "count") && has_value) {
      int64_t count;
      if (!ParseInt64(args[i + 1], &count)) {
        options.error = Status::kNotInteger;
        return options;
      }
      if (count < 1) {
        options.error = Status::kSyntax;
        return options;
      }
      options.count = static_cast<size_t>(count);
    } else if (EqualsIgnoreCase(args[i], "match") && has_value) {
      options.pattern = args[i + 1];
    } else {
      options.error = Status::kSyntax;
      return options;
    }
  }
  return options;
}

}  // namespace rowcached::server
