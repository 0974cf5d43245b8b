// One background child process at a time, as Redis keeps for BGSAVE and BGREWRITEAOF.
//
// Start() takes every shard lock, so no command is half-way through, runs `at_fork` (still under
// the locks: the append-only file switches to a new increment file at exactly this point),
// forks, and lets go of the locks in the parent. The child owns a copy-on-write image of the
// keyspace frozen between two commands; it runs `work` and leaves with _exit(work()), so no
// destructor or atexit handler of the parent's state runs in it. `work` must only read the
// keyspace and write files: other threads' locks (configuration, pub/sub, logging) may be held
// forever in the child, so it must not log or read the live configuration (capture what it
// needs before Start).
//
// The parent learns of the child's end from Poll() (the cron calls it), which reaps it and runs
// `on_done(ok, pid)` there, ok = exit status 0. The child counts as running until on_done has
// returned, so nothing can start another child over what on_done still cleans up. The child
// dies with the thread that forked it (PR_SET_PDEATHSIG): a kill -9 of the server does not
// leave it holding the listening socket.
//
// Thread-safety: every method may be called from any thread, with shard locks held or not
// (the object's lock is never held while waiting for shard locks); `on_done` runs on the thread
// that calls Poll(), Wait() or Kill(), without the object's lock held. Start() REQUIRES the
// calling thread holds no shard lock (it takes them all in order).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "server/keyspace.h"

namespace rowcached::server {

class BackgroundChild {
 public:
  enum class Kind { kNone, kRdb, kAof };

  BackgroundChild() = default;
  BackgroundChild(const BackgroundChild&) = delete;
  BackgroundChild& operator=(const BackgroundChild&) = delete;
  ~BackgroundChild();  // kills a child still running

  // Forks a child of `kind`. False with `*error` set when a child is already running or fork
  // failed ("Background save already in progress" is the caller's wording to choose).
  using DoneFn = std::function<void(bool ok, pid_t pid)>;
  bool Start(Keyspace& ks, Kind kind, const std::function<void()>& at_fork,
             std::function<int()> work, DoneFn on_done, std::string* error);

  Kind running() const;
  pid_t pid() const;
  // Reaps a finished child without waiting and runs its on_done. True if one was reaped.
  bool Poll();
  // Waits for the running child to end and runs its on_done.
  void Wait();
  // Kills the running child (SIGUSR1, as Redis does, so it is not mistaken for a crash in the
  // logs), reaps it and runs on_done(false).
  void Kill();

  // Tests: the next Start fails as a failed fork() does (EAGAIN), after running its at_fork.
  void FailNextForkForTesting() { fail_next_fork_ = true; }

 private:
  bool Reap(bool block);

  mutable std::mutex mu_;
  Kind kind_ = Kind::kNone;  // set from the start of Start() to the end of on_done
  pid_t pid_ = -1;           // -1 while starting or finishing
  DoneFn on_done_;
  std::atomic<bool> fail_next_fork_{false};
};

}  // namespace rowcached::server
