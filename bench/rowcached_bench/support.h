// bench/rowcached_bench/support.h — processes the bench starts (redis-server, rowcached), the
// delaying TCP proxy of the slow-database scenario, latency percentiles and the progress line.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace rcbench {

// Set by SIGINT/SIGTERM: every loop of the bench checks it and winds down, so that what the
// bench started is stopped by the normal path.
extern std::atomic<bool> g_interrupted;
void InstallSignalHandlers();

// A free loopback TCP port (bound and released; a start that loses the race retries).
int FreePort();

// A child process with its output in a log file. Killed by the kernel if the bench dies
// (PR_SET_PDEATHSIG); REQUIRES: started from the main thread, which lives until the end (the
// death signal follows the thread that forked).
class Child {
 public:
  Child(std::string name, std::vector<std::string> argv, std::string log, std::string cwd = "");
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool Alive();
  // SIGTERM, then SIGKILL after 5 s. Idempotent.
  void Stop();
  std::string LogTail(int lines = 20) const;
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }

 private:
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
};

// Waits until a Redis-protocol server on 127.0.0.1:port answers PING, or the child dies, or
// `timeout` passes. Throws std::runtime_error with the child's log tail on failure.
void WaitPing(Child& child, int port, std::chrono::milliseconds timeout);

// A TCP proxy on 127.0.0.1:port() to 127.0.0.1:target that holds every chunk coming back from
// the target for delay_ms before forwarding it (so each database round trip takes delay_ms
// longer). Runs on its own thread; stopped by the destructor.
class DelayProxy {
 public:
  explicit DelayProxy(int target_port);
  ~DelayProxy();
  int port() const { return port_; }
  void set_delay_ms(int ms) { delay_ms_.store(ms); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::atomic<int> delay_ms_{0};
  std::thread thread_;
};

// Latencies in microseconds; percentiles by sorting (the bench keeps at most a few million).
struct Latencies {
  std::vector<uint32_t> us;
  void Add(std::chrono::nanoseconds d) {
    us.push_back(static_cast<uint32_t>(std::min<int64_t>(d.count() / 1000, UINT32_MAX)));
  }
  void Merge(const Latencies& o) { us.insert(us.end(), o.us.begin(), o.us.end()); }
  // q in [0,1], milliseconds; 0 if empty. Sorts on first use.
  double PercentileMs(double q);

 private:
  bool sorted_ = false;
};

// One progress line on stderr: a bar redrawn in place on a terminal, a plain line every 2 s
// otherwise. `counter` (may be null) is shown with its rate.
class Progress {
 public:
  Progress(std::string label, double seconds, const std::atomic<uint64_t>* counter,
           std::string unit = "reads");
  ~Progress();  // finishes the line

 private:
  void Loop();
  std::string label_;
  double seconds_;
  const std::atomic<uint64_t>* counter_;
  std::string unit_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

std::string WithCommas(uint64_t n);

}  // namespace rcbench
