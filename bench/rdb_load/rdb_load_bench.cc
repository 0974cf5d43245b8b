// Loads a dump.rdb into a fresh 16-database keyspace a few times and prints the wall time of
// each load (file mapping, parsing, CRC64 check, building every key), its CPU time, and the
// best wall time; optionally writes the keyspace back with SaveRdbFile and times that.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "server/clock.h"
#include "server/keyspace.h"
#include "server/rdb.h"

namespace {
// User + system CPU seconds of this process so far: on a shared machine the CPU time of a load
// is steadier than its wall time.
double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace rowcached::server;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s dump.rdb [runs [save-to.rdb]]\n", argv[0]);
    return 2;
  }
  int runs = argc > 2 ? std::stoi(argv[2]) : 3;
  double best = 1e9;
  for (int i = 0; i < runs; ++i) {
    Keyspace ks(16, SystemClock::Instance());
    RdbLoadResult result;
    std::string error;
    double cpu_start = CpuSeconds();
    auto start = std::chrono::steady_clock::now();
    bool ok = LoadRdbFile(ks, argv[1], &result, &error);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu = CpuSeconds() - cpu_start;
    if (!ok) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    std::printf("run %d: %llu keys (%llu expired skipped) in %.3f s (%.3f s CPU)\n", i + 1,
                static_cast<unsigned long long>(result.keys_loaded),
                static_cast<unsigned long long>(result.expired_skipped), seconds, cpu);
    if (seconds < best) best = seconds;
    if (argc > 3 && i == runs - 1) {
      // The same keyspace written back (SaveRdbFile: write, fsync, rename), timed too.
      start = std::chrono::steady_clock::now();
      if (!SaveRdbFile(ks, argv[3], {}, &error)) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
      }
      std::printf("rdb-save: %.3f s to %s\n",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                  argv[3]);
    }
  }
  std::printf("rdb-load: best of %d: %.3f s\n", runs, best);
  return 0;
}
