#include "server/resp_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace rowcached::server {
namespace {

// Parses a whole decimal integer (optional '-') the way Redis' string2ll does for headers.
bool ParseHeaderInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !(s.size() > 1 && s[0] == '0');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void RespParser::Reset() {
  pos_ = 0;
  bulks_left_ = -1;
  bulk_len_ = -1;
  spans_.clear();
  expected_ = 0;
}

RespParser::Result RespParser::Fail(std::string message) {
  error_ = "Protocol error: " + std::move(message);
  return Result::kError;
}

RespParser::Result RespParser::Parse(std::string_view buf) {
  if (buf.empty()) return Result::kNeedMore;
  return buf[0] == '*' ? ParseMultibulk(buf) : ParseInline(buf);
}

RespParser::Result RespParser::ParseMultibulk(std::string_view buf) {
  if (bulks_left_ < 0) {
    size_t nl = buf.find('\r', 0);
    if (nl == std::string_view::npos || nl + 1 >= buf.size()) {
      if (buf.size() > limits_.max_inline_len) return Fail("too big mbulk count string");
      return Result::kNeedMore;
    }
    if (nl > limits_.max_inline_len) return Fail("too big mbulk count string");
    int64_t count;
    if (!ParseHeaderInt(buf.substr(1, nl - 1), &count) || count > limits_.max_multibulk_len) {
      return Fail("invalid multibulk length");
    }
    pos_ = nl + 2;
    if (count <= 0) {
      consumed_ = pos_;
      Reset();
      return Result::kEmpty;
    }
    bulks_left_ = count;
    // Don't trust a huge declared count with a huge reservation.
    spans_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }
  while (bulks_left_ > 0) {
    if (bulk_len_ < 0) {
      if (pos_ >= buf.size()) return Result::kNeedMore;
      if (buf[pos_] != '$') {
        return Fail(std::string("expected '$', got '") + buf[pos_] + "'");
      }
      size_t nl = buf.find('\r', pos_);
      if (nl == std::string_view::npos || nl + 1 >= buf.size()) {
        if (buf.size() - pos_ > limits_.max_inline_len) return Fail("too big bulk count string");
        return Result::kNeedMore;
      }
      if (nl - pos_ > limits_.max_inline_len) return Fail("too big bulk count string");
      int64_t len;
      if (!ParseHeaderInt(buf.substr(pos_ + 1, nl - pos_ - 1), &len) || len < 0 ||
          len > limits_.max_bulk_len) {
        return Fail("invalid bulk length");
      }
      bulk_len_ = len;
      pos_ = nl + 2;
    }
    size_t need = pos_ + static_cast<size_t>(bulk_len_) + 2;
    if (buf.size() < need) {
      expected_ = need;
      return Result::kNeedMore;
    }
    spans_.emplace_back(pos_, static_cast<size_t>(bulk_len_));
    pos_ = need;
    bulk_len_ = -1;
    --bulks_left_;
  }
  args_.clear();
  for (auto [off, len] : spans_) args_.emplace_back(buf.data() + off, len);
  consumed_ = pos_;
  Reset();
  return Result::kCommand;
}

RespParser::Result RespParser::ParseInline(std::string_view buf) {
  size_t nl = buf.find('\n', pos_);
  if (nl == std::string_view::npos) {
    if (buf.size() > limits_.max_inline_len) return Fail("too big inline request");
    pos_ = buf.size();  // nothing before here can hold the newline
    return Result::kNeedMore;
  }
  if (nl > limits_.max_inline_len) return Fail("too big inline request");
  std::string_view line = buf.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  consumed_ = nl + 1;
  Reset();
  inline_args_.clear();
  if (!SplitInlineArgs(line, &inline_args_)) return Fail("unbalanced quotes in request");
  if (inline_args_.empty()) return Result::kEmpty;
  args_.clear();
  for (const auto& a : inline_args_) args_.emplace_back(a);
  return Result::kCommand;
}

bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out) {
  size_t i = 0, n = line.size();
  while (true) {
    while (i < n && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= n) return true;
    std::string cur;
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
      if (in_dq) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && HexValue(line[i + 2]) >= 0 &&
            HexValue(line[i + 3]) >= 0) {
          cur.push_back(static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          ++i;
          switch (line[i]) {
            case 'n':
              cur.push_back('\n');
              break;
            case 'r':
              cur.push_back('\r');
              break;
            case 't':
              cur.push_back('\t');
              break;
            case 'b':
              cur.push_back('\b');
              break;
            case 'a':
              cur.push_back('\a');
              break;
            default:
              cur.push_back(line[i]);
              break;
          }
        } else if (line[i] == '"') {
          // The closing quote must be followed by a space or nothing.
          if (i + 1 < n && !std::isspace(static_cast<unsigned char>(line[i + 1]))) return false;
          done = true;
        } else {
          cur.push_back(line[i]);
        }
      } else if (in_sq) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          cur.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !std::isspace(static_cast<unsigned char>(line[i + 1]))) return false;
          done = true;
        } else {
          cur.push_back(line[i]);
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        char c = line[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') {
          done = true;
        } else if (c == '"') {
          in_dq = true;
        } else if (c == '\'') {
          in_sq = true;
        } else {
          cur.push_back(c);
        }
      }
      if (i < n) ++i;
    }
    out->push_back(std::move(cur));
  }
}

}  // namespace rowcached::server
