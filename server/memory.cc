// The counting global operator new/delete behind UsedMemory() (see memory.h).
//
// The replacement operators are defined here, in the server library: any program that links
// the server gets them (the linker pulls this file in for UsedMemory, which INFO needs).
#include "server/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace rowcached::server {
namespace {

std::atomic<int64_t> published_bytes{0};

// Per-thread batch. Plain thread_locals: they need no construction, so the allocator can use
// them at any point of a thread's life, including while its thread_local destructors run.
thread_local int64_t pending_bytes = 0;
thread_local bool flusher_registered = false;
thread_local bool thread_exiting = false;

// Publishes what the thread still holds when it exits, so short-lived threads leave no drift.
struct ThreadFlusher {
  ~ThreadFlusher() {
    published_bytes.fetch_add(pending_bytes, std::memory_order_relaxed);
    pending_bytes = 0;
    thread_exiting = true;
  }
};

// glibc keeps an 8-byte size header before each chunk: real memory the block costs.
constexpr int64_t kChunkHeader = sizeof(size_t);

void Account(int64_t delta) {
  if (thread_exiting) {
    published_bytes.fetch_add(delta, std::memory_order_relaxed);
    return;
  }
  if (!flusher_registered) {
    // Registering the destructor allocates with calloc, not operator new: no recursion.
    flusher_registered = true;
    static thread_local ThreadFlusher flusher;
    (void)flusher;
  }
  pending_bytes += delta;
  if (pending_bytes > kMemoryFlushBytes || pending_bytes < -kMemoryFlushBytes) {
    published_bytes.fetch_add(pending_bytes, std::memory_order_relaxed);
    pending_bytes = 0;
  }
}

int64_t BlockBytes(void* ptr) {
  return static_cast<int64_t>(malloc_usable_size(ptr)) + kChunkHeader;
}

void* Allocate(size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p != nullptr) Account(BlockBytes(p));
  return p;
}

void* AllocateAligned(size_t size, size_t alignment) {
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  void* p = nullptr;
  if (posix_memalign(&p, alignment, size == 0 ? 1 : size) != 0) return nullptr;
  Account(BlockBytes(p));
  return p;
}

void Release(void* ptr) {
  if (ptr == nullptr) return;
  Account(-BlockBytes(ptr));
  std::free(ptr);
}

// operator new's contract: retry through the new-handler, then throw.
template <typename Alloc>
void* AllocateOrThrow(Alloc alloc) {
  while (true) {
    if (void* p = alloc()) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

int64_t UsedMemory() {
  int64_t own = thread_exiting ? 0 : pending_bytes;
  return published_bytes.load(std::memory_order_relaxed) + own;
}

int64_t ResidentMemory() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

void* CountedMalloc(size_t size) { return Allocate(size); }
void CountedFree(void* ptr) { Release(ptr); }

}  // namespace rowcached::server

// ---------------------------------------------------------------------------------------------
// The replaceable global allocation functions ([new.delete]), every form.

namespace counted = rowcached::server;

void* operator new(size_t size) {
  return counted::AllocateOrThrow([&] { return counted::Allocate(size); });
}
void* operator new[](size_t size) {
  return counted::AllocateOrThrow([&] { return counted::Allocate(size); });
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return operator new(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  try {
    return operator new[](size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(size_t size, std::align_val_t al) {
  return counted::AllocateOrThrow(
      [&] { return counted::AllocateAligned(size, static_cast<size_t>(al)); });
}
void* operator new[](size_t size, std::align_val_t al) { return operator new(size, al); }
void* operator new(size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return operator new(size, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return operator new(size, al);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { counted::Release(p); }
void operator delete[](void* p) noexcept { counted::Release(p); }
void operator delete(void* p, size_t) noexcept { counted::Release(p); }
void operator delete[](void* p, size_t) noexcept { counted::Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted::Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted::Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted::Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted::Release(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { counted::Release(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { counted::Release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted::Release(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted::Release(p);
}
