#include "server/aof_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace rowcached::server::aof_files {

namespace {

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

}  // namespace

bool WriteAll(int fd, std::string_view data, std::string* error) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = std::string("write: ") + std::strerror(n < 0 ? errno : ENOSPC);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool MakeDirs(const std::string& path, std::string* error) {
  for (size_t p = 1; p <= path.size(); ++p) {
    if (p != path.size() && path[p] != '/') continue;
    std::string prefix = path.substr(0, p);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      *error = Errno("cannot create directory", prefix);
      return false;
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "not a directory: " + path;
    return false;
  }
  return true;
}

namespace {
std::atomic<FsyncDirFault> fsync_dir_fault{nullptr};
}  // namespace

void SetFsyncDirFaultForTesting(FsyncDirFault fault) { fsync_dir_fault.store(fault); }

bool FsyncDir(const std::string& dir, std::string* error) {
  if (FsyncDirFault fault = fsync_dir_fault.load(std::memory_order_acquire);
      fault != nullptr && fault(dir)) {
    *error = "cannot fsync directory " + dir + ": Input/output error (injected)";
    return false;
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *error = Errno("cannot open directory", dir);
    return false;
  }
  bool ok = ::fsync(fd) == 0;
  if (!ok) *error = Errno("cannot fsync directory", dir);
  ::close(fd);
  return ok;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::vector<std::string> FilesWithPrefix(const std::string& dir, std::string_view prefix) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.substr(0, prefix.size()) == prefix) names.emplace_back(name);
  }
  ::closedir(d);
  return names;
}

bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = Errno("cannot open", path);
    return false;
  }
  out->clear();
  out->resize(FileSize(path));
  size_t got = 0;
  while (true) {
    if (got == out->size()) out->resize(got + 64 * 1024);
    ssize_t n = ::read(fd, out->data() + got, out->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = Errno("cannot read", path);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out->resize(got);
  ::close(fd);
  return true;
}

bool WriteFileUnder(const std::string& path, const WriteFn& write, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = Errno("cannot create", path);
    return false;
  }
  bool ok = write(fd, error);
  if (ok && ::fsync(fd) != 0) {
    *error = Errno("cannot fsync", path);
    ok = false;
  }
  if (::close(fd) != 0 && ok) {
    *error = Errno("cannot close", path);
    ok = false;
  }
  return ok;
}

bool WriteFileDurably(const std::string& path, const WriteFn& write, std::string* error,
                      bool* renamed) {
  if (renamed != nullptr) *renamed = false;
  const std::string dir = DirOf(path);
  const std::string temp = dir + "/temp-" + path.substr(path.rfind('/') + 1);
  if (!WriteFileUnder(temp, write, error)) {
    ::unlink(temp.c_str());
    return false;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    *error = Errno("cannot rename into", path);
    ::unlink(temp.c_str());
    return false;
  }
  if (renamed != nullptr) *renamed = true;
  return FsyncDir(dir, error);
}

bool ReadManifest(const std::string& path, aof::Manifest* out, bool* exists, std::string* error) {
  *exists = false;
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return true;
    *error = Errno("cannot access", path);
    return false;
  }
  std::string text;
  if (!ReadFile(path, &text, error)) return false;
  *exists = true;
  std::string parse_error;
  if (!aof::Manifest::Parse(text, out, &parse_error)) {
    *error = path + ": " + parse_error;
    return false;
  }
  return true;
}

}  // namespace rowcached::server::aof_files
