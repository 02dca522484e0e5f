// Internal: the ByteBuffer::Allocator every TaskCall encodes its arguments with. Small payloads
// come from the heap as usual; a payload that outgrows kSmallBytes takes the one warm block this
// process keeps (if it is big enough) instead of fresh memory, and a freed block of at most
// kKeepBytes becomes the warm one. A 16 MiB Submit after another then writes into pages that
// are already mapped, instead of page-faulting 4,096 fresh ones in (glibc hands big blocks back
// to the kernel, or trims the heap, when they are freed).
//
// At most one block (≤ kKeepBytes) stays after the last big call; nothing else is kept. Big
// blocks are mappings of their own (not malloc's), and the kept one is left out of fork()
// children (MADV_DONTFORK, and a pthread_atfork child handler empties the child's slot), so
// keeping it costs a kFork pool's start nothing.
//
// Thread-safe and lock-free (one atomic slot): any thread may allocate and free, including a
// fork() child before exec (no lock is taken). A child made by a raw fork system call (no
// pthread_atfork handlers) must not encode big payloads.
#ifndef CF_SERIALIZATION_INTERNAL_PAYLOAD_ALLOCATOR_H_
#define CF_SERIALIZATION_INTERNAL_PAYLOAD_ALLOCATOR_H_

#include <cstddef>

#include "cf/serialization/byte_buffer.h"

namespace cf::internal {

class WarmBlockAllocator final : public ByteBuffer::Allocator {
 public:
  static constexpr std::size_t kSmallBytes = std::size_t{256} << 10;
  static constexpr std::size_t kKeepBytes = std::size_t{64} << 20;

  // The process's instance (never destroyed).
  static WarmBlockAllocator* Get();

  char* Reallocate(char* old, std::size_t old_capacity, std::size_t keep,
                   std::size_t capacity) override;
  void Free(char* data, std::size_t capacity) override;

 private:
  WarmBlockAllocator() = default;
};

// Before `n` bytes are copied to `destination`: if n is big (≥ 1 MiB) and the destination's
// pages have not been touched yet (a fresh allocation; mincore() on two of them), asks the
// kernel for all of them at once (MADV_POPULATE_WRITE, Linux 5.14+), which costs about half of
// faulting them in one by one during the copy. Pages already there cost one mincore() call.
// Never fails: without the kernel's support, the copy faults them in as before.
void PrefaultForWrite(void* destination, std::size_t n);

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_PAYLOAD_ALLOCATOR_H_
