// Internal: the ByteBuffer::Allocator every TaskCall encodes its arguments with. Small payloads
// come from the heap as usual; a payload that outgrows kSmallBytes takes the one warm block this
// process keeps (if it is big enough) instead of fresh memory, and a freed block of at most
// kKeepBytes becomes the warm one. A 16 MiB Submit after another then writes into pages that
// are already mapped, instead of page-faulting 4,096 fresh ones in (glibc hands big blocks back
// to the kernel, or trims the heap, when they are freed).
//
// At most one block (≤ kKeepBytes) stays after the last big call; nothing else is kept.
//
// Thread-safe and lock-free (one atomic slot): any thread may allocate and free, including a
// fork() child before exec (no lock to inherit held; a child may at worst not find the block).
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

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_PAYLOAD_ALLOCATOR_H_
