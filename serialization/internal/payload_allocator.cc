#include "cf/serialization/internal/payload_allocator.h"

#include <atomic>
#include <cstring>
#include <new>

namespace cf::internal {
namespace {

// A big block: its capacity in front of the bytes, so that Free needs nothing else. The bytes
// start 64 bytes in (cache-line aligned, as new[] of a big array is).
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
  ::operator delete[](bytes - kHeader, std::align_val_t{kHeader});
}

// A block of at least `capacity` bytes: the warm one if it is big enough, else a new one.
char* TakeBlock(std::size_t capacity) {
  char* warm = warm_block.exchange(nullptr, std::memory_order_acquire);
  if (warm != nullptr) {
    if (CapacityOf(warm) >= capacity) return warm;
    DeleteBlock(warm);  // too small for what comes now; the new one replaces it when freed
  }
  void* raw = ::operator new[](kHeader + capacity, std::align_val_t{kHeader});
  static_cast<BlockHeader*>(raw)->capacity = capacity;
  return static_cast<char*>(raw) + kHeader;
}

void GiveBlock(char* bytes) {
  if (CapacityOf(bytes) > WarmBlockAllocator::kKeepBytes) {
    DeleteBlock(bytes);
    return;
  }
  char* previous = warm_block.exchange(bytes, std::memory_order_acq_rel);
  if (previous != nullptr) DeleteBlock(previous);
}

}  // namespace

WarmBlockAllocator* WarmBlockAllocator::Get() {
  static WarmBlockAllocator* const allocator = new WarmBlockAllocator();
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
