#include "server/util.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace rowcached::server {

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *out = 0;
    return true;
  }
  size_t i = 0;
  if (s[0] == '-') i = 1;
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParseLongDouble(std::string_view s, long double* out) {
  // Redis' string2ld, exactly: at most 5119 bytes, no leading space, strtold must stop at the
  // end or at a NUL (Redis parses a C-string copy), no NaN, and a literal that overflows to
  // infinity or underflows to zero is refused (denormals are accepted).
  if (s.empty() || s.size() >= 5 * 1024) return false;
  std::string buf(s);
  if (std::isspace(static_cast<unsigned char>(buf[0]))) return false;
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(buf.c_str(), &end);
  if (*end != '\0' || std::isnan(v)) return false;
  if (errno == ERANGE && (std::isinf(v) || v == 0)) return false;
  *out = v;
  return true;
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty() || s.size() > 5 * 1024) return false;
  if (std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  std::string buf(s);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || std::isnan(v)) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) {
    // Redis accepts "inf" but refuses overflow of a finite literal.
    if (!(buf.find("inf") != std::string::npos || buf.find("INF") != std::string::npos ||
          buf.find("Inf") != std::string::npos)) {
      return false;
    }
  }
  *out = v;
  return true;
}

namespace {

bool Match(const char* p, size_t plen, const char* s, size_t slen, bool nocase, int nesting) {
  // Guard against pathological patterns like Redis does (stringmatchlen_impl nesting limit).
  if (nesting > 1000) return false;
  while (plen && slen) {
    switch (p[0]) {
      case '*':
        while (plen > 1 && p[1] == '*') {
          ++p;
          --plen;
        }
        if (plen == 1) return true;
        while (slen) {
          if (Match(p + 1, plen - 1, s, slen, nocase, nesting + 1)) return true;
          ++s;
          --slen;
        }
        return false;
      case '?':
        ++s;
        --slen;
        break;
      case '[': {
        ++p;
        --plen;
        bool negate = plen && p[0] == '^';
        if (negate) {
          ++p;
          --plen;
        }
        bool matched = false;
        while (plen) {
          if (p[0] == '\\' && plen >= 2) {
            ++p;
            --plen;
            if (p[0] == s[0]) matched = true;
          } else if (p[0] == ']') {
            break;
          } else if (plen >= 3 && p[1] == '-') {
            int start = static_cast<unsigned char>(p[0]);
            int end = static_cast<unsigned char>(p[2]);
            int c = static_cast<unsigned char>(s[0]);
            if (start > end) std::swap(start, end);
            if (nocase) {
              start = std::tolower(start);
              end = std::tolower(end);
              c = std::tolower(c);
            }
            p += 2;
            plen -= 2;
            if (c >= start && c <= end) matched = true;
          } else {
            if (nocase ? std::tolower(static_cast<unsigned char>(p[0])) ==
                             std::tolower(static_cast<unsigned char>(s[0]))
                       : p[0] == s[0]) {
              matched = true;
            }
          }
          ++p;
          --plen;
        }
        if (plen == 0) {  // unterminated class: treat ']' as implied at end
          ++plen;
          --p;
        }
        if (negate) matched = !matched;
        if (!matched) return false;
        ++s;
        --slen;
        break;
      }
      case '\\':
        if (plen >= 2) {
          ++p;
          --plen;
        }
        [[fallthrough]];
      default:
        if (nocase ? std::tolower(static_cast<unsigned char>(p[0])) !=
                         std::tolower(static_cast<unsigned char>(s[0]))
                   : p[0] != s[0]) {
          return false;
        }
        ++s;
        --slen;
        break;
    }
    ++p;
    --plen;
    if (slen == 0) {
      while (plen && *p == '*') {
        ++p;
        --plen;
      }
      break;
    }
  }
  return plen == 0 && slen == 0;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase) {
  return Match(pattern.data(), pattern.size(), str.data(), str.size(), nocase, 0);
}

uint64_t NextScanCursor(uint64_t cursor, uint64_t mask) {
  auto reverse = [](uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
  };
  cursor |= ~mask;
  cursor = reverse(cursor);
  ++cursor;
  return reverse(cursor);
}

bool ParseScanCursor(std::string_view s, uint64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    i = 1;
    if (i == s.size()) return false;  // a sign alone converts nothing
  }
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;  // ERANGE
    v = v * 10 + digit;
  }
  *out = negative ? ~v + 1 : v;
  return true;
}

namespace {
// `word` equals the lower-case `keyword` ignoring ASCII case.
bool IsKeyword(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(word[i])) != keyword[i]) return false;
  }
  return true;
}
}  // namespace

ScanOptions ParseScanOptions(const std::vector<std::string_view>& args, size_t first) {
  ScanOptions options;
  for (size_t i = first; i < args.size(); i += 2) {
    std::string_view opt = args[i];
    bool has_value = i + 1 < args.size();
    if (has_value && IsKeyword(opt, "count")) {
      if (!ParseInt64(args[i + 1], &options.count)) {
        options.error = Status::kNotInteger;
        return options;
      }
      if (options.count < 1) {
        options.error = Status::kSyntax;
        return options;
      }
    } else if (has_value && IsKeyword(opt, "match")) {
      options.pattern = args[i + 1];
    } else {
      options.error = Status::kSyntax;
      return options;
    }
  }
  return options;
}

std::string_view ParseRandomCount(const std::vector<std::string_view>& args,
                                  std::string_view with_keyword, int64_t* count, bool* with) {
  if (!ParseInt64(args[2], count)) return "ERR value is not an integer or out of range";
  if (*count == INT64_MIN) {
    return "ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807";
  }
  if (args.size() > 4 || (args.size() == 4 && !IsKeyword(args[3], with_keyword))) {
    return "ERR syntax error";
  }
  *with = args.size() == 4;
  if (*with && (*count < -INT64_MAX / 2 || *count > INT64_MAX / 2)) {
    return "ERR value is out of range";
  }
  return {};
}

std::string Int64ToString(int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  return std::string(buf, end);
}

}  // namespace rowcached::server

namespace rowcached::server {

bool ParseMemory(std::string_view s, int64_t* bytes) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  int64_t n;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, n);
  if (ec != std::errc()) return false;
  std::string unit;
  for (char c : s.substr(i)) unit.push_back(static_cast<char>(std::tolower(c)));
  int64_t mul;
  if (unit.empty() || unit == "b")
    mul = 1;
  else if (unit == "k")
    mul = 1000;
  else if (unit == "kb")
    mul = 1024;
  else if (unit == "m")
    mul = 1000 * 1000;
  else if (unit == "mb")
    mul = 1024 * 1024;
  else if (unit == "g")
    mul = 1000LL * 1000 * 1000;
  else if (unit == "gb")
    mul = 1024LL * 1024 * 1024;
  else
    return false;
  if (n > INT64_MAX / mul) return false;
  *bytes = n * mul;
  return true;
}

std::string HumanBytes(int64_t bytes) {
  char buf[64];
  double d = static_cast<double>(bytes);
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%lldB", static_cast<long long>(bytes));
  } else if (bytes < 1024LL * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fK", d / 1024);
  } else if (bytes < 1024LL * 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.2fM", d / (1024 * 1024));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fG", d / (1024.0 * 1024 * 1024));
  }
  return buf;
}

}  // namespace rowcached::server
