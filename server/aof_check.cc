#include "server/aof_check.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "server/aof_files.h"
#include "server/aof_format.h"
#include "server/clock.h"
#include "server/keyspace.h"
#include "server/rdb.h"

namespace rowcached::server {

namespace {

std::string Format(const char* fmt, auto... args) {
  char buf[1024];
  std::snprintf(buf, sizeof(buf), fmt, args...);
  return buf;
}

// Checks one file; `last`: it may be fixed by truncation. Returns true when valid or fixed.
bool CheckFile(const std::string& path, bool last, bool fix, std::string* report) {
  std::string data, error;
  if (!aof_files::ReadFile(path, &data, &error)) {
    *report += "Cannot check " + path + ": " + error + "\n";
    return false;
  }
  if (data.compare(0, 5, "REDIS") == 0) {
    // An RDB base: the codec checks it whole (its CRC64 included).
    Keyspace ks(16, SystemClock::Instance());
    RdbLoadResult loaded;
    if (!LoadRdbBytes(ks, data, path, &loaded, &error)) {
      *report += "RDB base file " + path + " is not valid: " + error + "\n";
      return false;
    }
    *report += "RDB base file " + path + " is valid\n";
    return true;
  }
  aof::ScanResult scan =
      aof::ScanCommands(data, [](const std::vector<std::string_view>&, size_t) { return true; });
  const uint64_t diff = data.size() - scan.valid_up_to;
  if (scan.status != aof::ScanResult::kOk) {
    *report += Format("0x%16" PRIx64 ": %s\n", static_cast<uint64_t>(scan.error_offset),
                      scan.error.c_str());
  }
  *report += Format(
      "AOF analyzed: filename=%s, size=%zu, ok_up_to=%zu, ok_up_to_line=%zu, "
      "diff=%" PRIu64 "\n",
      path.c_str(), data.size(), scan.valid_up_to, aof::LineOf(data, scan.valid_up_to), diff);
  if (diff == 0) {
    *report += "AOF " + path + " is valid\n";
    return true;
  }
  if (!fix) {
    *report += "AOF " + path + " is not valid. Use the --fix option to try fixing it.\n";
    return false;
  }
  if (!last) {
    *report += "AOF " + path +
               " is not the last file of the AOF: truncating it would drop the files after "
               "it. Restore it from a backup.\n";
    return false;
  }
  if (scan.status == aof::ScanResult::kCorrupt) {
    *report += Format("Warning: %" PRIu64
                      " bytes after the first invalid command are dropped, "
                      "valid commands among them included.\n",
                      diff);
  }
  if (::truncate(path.c_str(), static_cast<off_t>(scan.valid_up_to)) != 0) {
    *report += "Failed to truncate AOF " + path + ": " + std::strerror(errno) + "\n";
    return false;
  }
  *report += "Successfully truncated AOF " + path + "\n";
  return true;
}

}  // namespace

int CheckAppendOnlyFile(const std::string& path, bool fix, std::string* report) {
  const bool is_manifest = path.size() >= 9 && path.compare(path.size() - 9, 9, ".manifest") == 0;
  if (!is_manifest) return CheckFile(path, true, fix, report) ? 0 : 1;
  aof::Manifest manifest;
  bool exists = false;
  std::string error;
  if (!aof_files::ReadManifest(path, &manifest, &exists, &error) || !exists) {
    *report += "Invalid AOF manifest " + path + ": " + (exists ? error : "not found") + "\n";
    return 1;
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::vector<aof::ManifestFile> files;
  if (manifest.base) files.push_back(*manifest.base);
  files.insert(files.end(), manifest.incrs.begin(), manifest.incrs.end());
  bool ok = true;
  for (size_t i = 0; i < files.size(); ++i) {
    ok = CheckFile(dir + "/" + files[i].name, i + 1 == files.size(), fix, report) && ok;
  }
  *report += ok ? "All AOF files and manifest are valid\n" : "AOF is not valid\n";
  return ok ? 0 : 1;
}

}  // namespace rowcached::server
