// Memory accounting for `maxmemory` and INFO's used_memory, done the way Redis' zmalloc does it:
// every allocation made through global operator new/delete (and through CountedMalloc /
// CountedFree, which the keyspace's entry blocks use) adds or subtracts its real size,
// malloc_usable_size() plus glibc's 8-byte chunk header, to one process-wide counter.
//
// Why this and not per-shard byte counters kept by the keyspace: values grow in place (HSET on
// an existing hash, APPEND), so a keyspace counter would need every Op of every family to report
// its growth, and would still miss the tables' bucket arrays, the expiry arrays and client
// buffers. Counting at the allocator sees all of it, as Redis' used_memory does, and costs one
// thread-local add per allocation.
//
// Cost: each thread batches its changes and publishes them to the global atomic once they
// exceed kFlushBytes in either direction, so allocations do not contend on one cache line.
// UsedMemory() is one relaxed atomic load plus the calling thread's own unpublished delta, so
// it is exact for the calling thread and off by at most kFlushBytes per other thread. That is
// cheap enough to call before every command.
//
// Not counted: memory that C libraries take with malloc directly (database drivers), thread
// stacks, and the program's code and static data; RSS includes those.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rowcached::server {

// Bytes a thread may accumulate before publishing them to the global counter.
inline constexpr int64_t kMemoryFlushBytes = 64 * 1024;

// Heap bytes in use by counted allocations: Redis' used_memory.
int64_t UsedMemory();
// Resident set size of the process (from /proc/self/statm).
int64_t ResidentMemory();

// malloc/free that count, for blocks that are not allocated with new (Entry).
void* CountedMalloc(size_t size);
void CountedFree(void* ptr);

}  // namespace rowcached::server
