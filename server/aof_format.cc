#include "server/aof_format.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace rowcached::server::aof {

namespace {

void AppendLength(std::string* out, char prefix, size_t n) {
  char buf[24];
  buf[0] = prefix;
  auto r = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  *r.ptr++ = '\r';
  *r.ptr++ = '\n';
  out->append(buf, r.ptr);
}

// Reads "<prefix><digits>\r\n" at data[*pos].
ParseStatus ParseLength(std::string_view data, size_t* pos, char prefix, int64_t* n,
                        std::string* error) {
  if (*pos >= data.size()) return ParseStatus::kTruncated;
  if (data[*pos] != prefix) {
    *error = std::string("Expected prefix '") + prefix + "', got: '" + data[*pos] + "'";
    return ParseStatus::kCorrupt;
  }
  size_t eol = data.find("\r\n", *pos + 1);
  if (eol == std::string_view::npos) {
    // A line cut short by the end of the file: only digits (or nothing, or a lone '\r') so far.
    size_t i = *pos + 1;
    while (i < data.size() && data[i] >= '0' && data[i] <= '9' && i - *pos < 20) ++i;
    if (i == data.size() || (i + 1 == data.size() && data[i] == '\r')) {
      return ParseStatus::kTruncated;
    }
    *error = "Expected a number followed by \\r\\n";
    return ParseStatus::kCorrupt;
  }
  const char* first = data.data() + *pos + 1;
  const char* last = data.data() + eol;
  auto r = std::from_chars(first, last, *n);
  if (r.ec != std::errc() || r.ptr != last || first == last || *n < 0) {
    *error = "Invalid length '" + std::string(first, last) + "'";
    return ParseStatus::kCorrupt;
  }
  *pos = eol + 2;
  return ParseStatus::kCommand;
}

}  // namespace

void AppendCommand(std::string* out, const std::vector<std::string_view>& args) {
  AppendLength(out, '*', args.size());
  for (std::string_view arg : args) {
    AppendLength(out, '$', arg.size());
    out->append(arg);
    out->append("\r\n");
  }
}

void AppendSelect(std::string* out, int db) {
  std::string digits = std::to_string(db);
  AppendCommand(out, {"SELECT", digits});
}

ParseStatus ParseCommand(std::string_view data, size_t* pos, std::vector<std::string_view>* args,
                         std::string* error) {
  args->clear();
  if (*pos >= data.size()) return ParseStatus::kEnd;
  size_t p = *pos;
  int64_t argc = 0;
  if (auto s = ParseLength(data, &p, '*', &argc, error); s != ParseStatus::kCommand) return s;
  if (argc < 1) {
    *error = "Invalid number of arguments " + std::to_string(argc);
    return ParseStatus::kCorrupt;
  }
  for (int64_t i = 0; i < argc; ++i) {
    int64_t len = 0;
    if (auto s = ParseLength(data, &p, '$', &len, error); s != ParseStatus::kCommand) return s;
    if (static_cast<uint64_t>(len) + 2 > data.size() - p) return ParseStatus::kTruncated;
    if (data[p + len] != '\r' || data[p + len + 1] != '\n') {
      *error = "Expected \\r\\n after a bulk of " + std::to_string(len) + " bytes";
      return ParseStatus::kCorrupt;
    }
    args->push_back(data.substr(p, len));
    p += len + 2;
  }
  *pos = p;
  return ParseStatus::kCommand;
}

bool IsCommand(std::string_view arg, std::string_view name) {
  return arg.size() == name.size() &&
         std::equal(arg.begin(), arg.end(), name.begin(),
                    [](char a, char b) { return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b; });
}

ScanResult ScanCommands(std::string_view data,
                        const std::function<bool(const std::vector<std::string_view>& args,
                                                 size_t offset)>& on_command) {
  ScanResult result;
  std::vector<std::string_view> args;
  size_t multi_at = SIZE_MAX;  // offset of an open MULTI; SIZE_MAX: none
  // Ends the scan at `offset`: whole commands stand before it, or before an open MULTI.
  auto end = [&](ScanResult::Status status, size_t offset, std::string error) {
    result.status = status;
    result.error_offset = offset;
    result.valid_up_to = std::min(offset, multi_at);
    result.error = std::move(error);
    return result;
  };
  const char* kEofInMulti = "Unexpected end of file inside MULTI";
  size_t pos = 0;
  while (true) {
    size_t start = pos;
    std::string error;
    ParseStatus s = ParseCommand(data, &pos, &args, &error);
    if (s == ParseStatus::kEnd) break;
    if (s == ParseStatus::kTruncated) {
      return end(ScanResult::kTruncated, std::min(start, multi_at),
                 multi_at != SIZE_MAX ? kEofInMulti : "Unexpected end of file");
    }
    if (s == ParseStatus::kCorrupt) return end(ScanResult::kCorrupt, start, error);
    if (IsCommand(args[0], "multi")) {
      if (multi_at != SIZE_MAX) return end(ScanResult::kCorrupt, start, "Unexpected MULTI");
      multi_at = start;
    } else if (IsCommand(args[0], "exec")) {
      if (multi_at == SIZE_MAX) return end(ScanResult::kCorrupt, start, "Unexpected EXEC");
      multi_at = SIZE_MAX;
    }
    if (!on_command(args, start)) return end(ScanResult::kStopped, start, "");
  }
  if (multi_at != SIZE_MAX) return end(ScanResult::kTruncated, multi_at, kEofInMulti);
  result.valid_up_to = data.size();
  return result;
}

size_t LineOf(std::string_view data, size_t offset) {
  offset = std::min(offset, data.size());
  return 1 + static_cast<size_t>(std::count(data.begin(), data.begin() + offset, '\n'));
}

std::string Manifest::Render() const {
  std::string out;
  auto line = [&](const ManifestFile& f, char type) {
    out += "file " + f.name + " seq " + std::to_string(f.seq) + " type " + type + "\n";
  };
  if (base) line(*base, 'b');
  for (const auto& f : history) line(f, 'h');
  for (const auto& f : incrs) line(f, 'i');
  return out;
}

bool Manifest::Parse(std::string_view text, Manifest* out, std::string* error) {
  *out = Manifest();
  size_t line_no = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string_view> words;
    for (size_t p = 0; p < line.size();) {
      size_t q = line.find(' ', p);
      if (q == std::string_view::npos) q = line.size();
      if (q > p) words.push_back(line.substr(p, q - p));
      p = q + 1;
    }
    ManifestFile f;
    bool have_name = false, have_seq = false, have_type = false;
    for (size_t i = 0; i + 1 < words.size(); i += 2) {
      if (words[i] == "file") {
        f.name = std::string(words[i + 1]);
        have_name = true;
      } else if (words[i] == "seq") {
        auto r =
            std::from_chars(words[i + 1].data(), words[i + 1].data() + words[i + 1].size(), f.seq);
        have_seq = r.ec == std::errc() && r.ptr == words[i + 1].data() + words[i + 1].size();
      } else if (words[i] == "type") {
        have_type = words[i + 1].size() == 1;
        f.type = words[i + 1][0];
      }  // other keys: a later version's additions, ignored as Redis does
    }
    if (words.size() % 2 != 0 || !have_name || !have_seq || !have_type ||
        f.name.find('/') != std::string::npos) {
      *error =
          "invalid AOF manifest line " + std::to_string(line_no) + ": '" + std::string(line) + "'";
      return false;
    }
    if (f.type == 'b') {
      if (out->base) {
        *error =
            "AOF manifest lists more than one base file (line " + std::to_string(line_no) + ")";
        return false;
      }
      out->base = f;
    } else if (f.type == 'h') {
      out->history.push_back(f);
    } else if (f.type == 'i') {
      if (!out->incrs.empty() && out->incrs.back().seq >= f.seq) {
        *error = "AOF manifest lists increment files out of order (line " +
                 std::to_string(line_no) + ")";
        return false;
      }
      out->incrs.push_back(f);
    } else {
      *error = "unknown AOF file type '" + std::string(1, f.type) + "' in the manifest (line " +
               std::to_string(line_no) + ")";
      return false;
    }
  }
  return true;
}

std::string ManifestName(std::string_view appendfilename) {
  return std::string(appendfilename) + ".manifest";
}

std::string BaseName(std::string_view appendfilename, int64_t seq, bool rdb) {
  return std::string(appendfilename) + "." + std::to_string(seq) + ".base." + (rdb ? "rdb" : "aof");
}

std::string IncrName(std::string_view appendfilename, int64_t seq) {
  return std::string(appendfilename) + "." + std::to_string(seq) + ".incr.aof";
}

}  // namespace rowcached::server::aof
