#include "server/background_child.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rowcached::server {

BackgroundChild::~BackgroundChild() { Kill(); }

bool BackgroundChild::Start(Keyspace& ks, Kind kind, const std::function<void()>& at_fork,
                            std::function<int()> work, DoneFn on_done, std::string* error) {
  {
    std::lock_guard l(mu_);
    if (kind_ != Kind::kNone) {
      *error = "a background child is already running";
      return false;
    }
    kind_ = kind;  // reserved: pid_ stays -1 until the fork is done
  }
  pid_t pid;
  {
    ShardLocks locks;
    locks.LockAll(ks);
    if (at_fork) at_fork();
    if (fail_next_fork_.exchange(false)) {
      errno = EAGAIN;
      pid = -1;
    } else {
      pid = fork();
    }
    if (pid == 0) {
      // The child: single-threaded from here on. The shard locks it "holds" are copies; nothing
      // in it will take them again.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      _exit(work());
    }
  }
  std::lock_guard l(mu_);
  if (pid < 0) {
    *error = std::string("fork failed: ") + std::strerror(errno);
    kind_ = Kind::kNone;
    return false;
  }
  pid_ = pid;
  on_done_ = std::move(on_done);
  return true;
}

BackgroundChild::Kind BackgroundChild::running() const {
  std::lock_guard l(mu_);
  return kind_;
}

pid_t BackgroundChild::pid() const {
  std::lock_guard l(mu_);
  return pid_;
}

bool BackgroundChild::Reap(bool block) {
  DoneFn done;
  bool ok = false;
  pid_t pid;
  {
    std::lock_guard l(mu_);
    if (kind_ == Kind::kNone || pid_ <= 0) return false;  // none, or still starting
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;  // still running
    ok = r == pid_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    pid = pid_;
    pid_ = -1;  // reaped: no second Reap, no kill of a recycled pid
    done = std::move(on_done_);
    on_done_ = nullptr;
  }
  if (done) done(ok, pid);
  std::lock_guard l(mu_);
  kind_ = Kind::kNone;
  return true;
}

bool BackgroundChild::Poll() { return Reap(false); }

void BackgroundChild::Wait() { Reap(true); }

void BackgroundChild::Kill() {
  {
    std::lock_guard l(mu_);
    if (kind_ == Kind::kNone || pid_ <= 0) return;
    kill(pid_, SIGUSR1);
  }
  Reap(true);
}

}  // namespace rowcached::server
