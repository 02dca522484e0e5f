#include "cf/serialization/internal/payload_allocator.h"

#include <pthread.h>
#include <sys/mman.h>

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace cf::internal {
namespace {

// A big block is a mapping of its own, not malloc's: freeing one returns it to the kernel at
// once instead of leaving glibc's heaps grown (and every later fork() copying their page
// tables). Its size is in front of the bytes, so that Free needs nothing else; the bytes start
// 64 bytes in (cache-line aligned, as new[] of a big array is).
constexpr std::size_t kHeader = 64;

struct alignas(64) BlockHeader {
  std::size_t capacity;
};
static_assert(sizeof(BlockHeader) == kHeader);

std::atomic<char*> warm_block{nullptr};  // the bytes of the kept block, or null

std::size_t CapacityOf(const char* bytes) {
  return reinterpret_cast<const BlockHeader*>(bytes - kHeader)->capacity;
}

void DeleteBlock(char* bytes) {
  munmap(bytes - kHeader, kHeader + CapacityOf(bytes));
}

// A block of at least `capacity` bytes: the warm one if it is big enough, else a new one.
// The kept block is left out of fork() children (MADV_DONTFORK: fork need not copy its page
// tables, nor the child's exit free them); whoever takes it puts it back in first, so a block
// in use is always inherited. A child's slot is emptied (ForgetInChild).
void SetInherited(char* bytes, bool inherited) {
  (void)madvise(bytes - kHeader, kHeader + CapacityOf(bytes),
                inherited ? MADV_DOFORK : MADV_DONTFORK);
}

void ForgetInChild() { warm_block.store(nullptr, std::memory_order_relaxed); }

char* TakeBlock(std::size_t capacity) {
  char* warm = warm_block.exchange(nullptr, std::memory_order_acquire);
  if (warm != nullptr) {
    SetInherited(warm, true);
    if (CapacityOf(warm) >= capacity) return warm;
    DeleteBlock(warm);  // too small for what comes now; the new one replaces it when freed
  }
  // MAP_POPULATE: the pages in one go rather than a fault per 4 KiB while encoding.
  void* raw = mmap(nullptr, kHeader + capacity, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  static_cast<BlockHeader*>(raw)->capacity = capacity;
  return static_cast<char*>(raw) + kHeader;
}

void GiveBlock(char* bytes) {
  if (CapacityOf(bytes) > WarmBlockAllocator::kKeepBytes) {
    DeleteBlock(bytes);
    return;
  }
  SetInherited(bytes, false);
  char* previous = warm_block.exchange(bytes, std::memory_order_acq_rel);
  if (previous != nullptr) DeleteBlock(previous);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL
#endif

std::atomic<bool> populate_unsupported{false};

bool Resident(const char* page) {
  unsigned char resident = 0;
  if (mincore(const_cast<char*>(page), 1, &resident) != 0) return true;  // then do nothing
  return (resident & 1) != 0;
}

}  // namespace

void PrefaultForWrite(void* destination, std::size_t n) {
  constexpr std::size_t kMinBytes = std::size_t{1} << 20;
  if (n < kMinBytes || populate_unsupported.load(std::memory_order_relaxed)) return;
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(destination);
  const std::uintptr_t first = (start + page - 1) / page * page;
  const std::uintptr_t end = (start + n) / page * page;
  if (end <= first) return;
  const char* middle = reinterpret_cast<const char*>(first + (end - first) / 2 / page * page);
  if (Resident(reinterpret_cast<const char*>(first)) && Resident(middle)) return;
  if (madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_WRITE) != 0 &&
      errno == EINVAL) {
    populate_unsupported.store(true, std::memory_order_relaxed);
  }
}

WarmBlockAllocator* WarmBlockAllocator::Get() {
  static WarmBlockAllocator* const allocator = [] {
    pthread_atfork(nullptr, nullptr, &ForgetInChild);
    return new WarmBlockAllocator();
  }();
  return allocator;
}

char* WarmBlockAllocator::Reallocate(char* old, std::size_t old_capacity, std::size_t keep,
                                     std::size_t capacity) {
  char* fresh = capacity <= kSmallBytes ? new char[capacity] : TakeBlock(capacity);
  if (keep > 0) std::memcpy(fresh, old, keep);
  if (old != nullptr) Free(old, old_capacity);
  return fresh;
}

void WarmBlockAllocator::Free(char* data, std::size_t capacity) {
  if (capacity <= kSmallBytes) {
    delete[] data;
  } else {
    GiveBlock(data);
  }
}

}  // namespace cf::internal
