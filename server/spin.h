// Waiting without sleeping, for the short waits of the data path: a shard held for one command,
// the append-only file's buffer held for one memcpy or one write(). Parking a thread in the
// kernel and waking it costs two context switches, more than such a wait; spinning a bounded
// while first and parking only then keeps the threads of a 2-core machine off the scheduler.
#pragma once

namespace rowcached::server {

// A hint to the core that this is a spin-wait loop (x86 PAUSE, Arm YIELD).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// About as long as a write command holds its shards or a write() of a round's commands takes:
// a few microseconds.
inline constexpr int kShortWaitSpins = 200;

// Locks `mu` (any Lockable), trying for kShortWaitSpins rounds before blocking in lock().
template <typename Mutex>
void LockSpinning(Mutex& mu) {
  for (int i = 0; i < kShortWaitSpins; ++i) {
    if (mu.try_lock()) return;
    CpuRelax();
  }
  mu.lock();
}

}  // namespace rowcached::server
