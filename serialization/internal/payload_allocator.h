// Internal: the ByteBuffer::Allocator every TaskCall encodes its arguments with, and the shared
// memory it puts big ones in.
//
// Small payloads come from the heap as usual. A payload that outgrows kSmallBytes moves into
// one of this process's kSlots *call slots* if one is free: a memfd (shared memory, nothing to
// unlink) that keeps its pages between calls, so a 16 MiB Submit after another writes into
// pages already there, and a process pool whose workers were given the slots' descriptors
// (SlotFds(); a worker maps them read-only) hands such a call over by naming the slot instead
// of copying its bytes (process_pool/internal/worker_channel.cc, kSlot records). With every
// slot in use, a big payload goes to the heap (and a pool copies it into its worker's arena).
//
// A slot is held from the moment a payload moves in until its TaskCall is destroyed: a pool
// keeps a call's TaskCall until the call has ended, so no worker reads a slot that is being
// rewritten (except one the pool is killing for a timeout, which it no longer listens to). A
// slot grown over kKeepBytes is shrunk back when it is let go. At most kSlots × kKeepBytes stay.
//
// Lending: a pool may let the worker that runs a call write the call's outcome over its
// arguments in the call's slot (Lend; the worker has decoded them by then), so that a big
// result comes back through pages already there. While a slot is lent it stays held even after
// its payload is let go, until EndLend: the pool calls it once the worker is done with the slot
// (its outcome was read, it skipped the call) or has exited — never while a worker the pool
// gave up on (a timeout) may still be writing.
//
// fork(): a child inherits the slots' mappings (shared, not copied) and never takes a slot (its
// writes would land in its parent's memory); it may still read and let go of payloads it
// inherited.
//
// Thread-safe: any thread may allocate and free; taking, lending and letting go of a slot is
// one atomic operation on a bit mask (no lock, so a fork() child before exec may use it too).
#ifndef CF_SERIALIZATION_INTERNAL_PAYLOAD_ALLOCATOR_H_
#define CF_SERIALIZATION_INTERNAL_PAYLOAD_ALLOCATOR_H_

#include <cstddef>

#include "absl/types/span.h"
#include "cf/serialization/byte_buffer.h"

namespace cf::internal {

class CallPayloadAllocator final : public ByteBuffer::Allocator {
 public:
  static constexpr std::size_t kSmallBytes = std::size_t{256} << 10;
  static constexpr std::size_t kKeepBytes = std::size_t{64} << 20;
  static constexpr int kSlots = 2;

  // The process's instance (never destroyed).
  static CallPayloadAllocator* Get();

  char* Reallocate(char* old, std::size_t old_capacity, std::size_t keep,
                   std::size_t capacity) override;
  void Free(char* data, std::size_t capacity) override;

  // The slots' memfds (kSlots of them, CLOEXEC, made on the first call), for the processes
  // that are to read them; empty if they could not be made (no slots then), if another thread
  // is making them at this moment (it does not wait), or in a fork() child of their maker.
  absl::Span<const int> SlotFds();
  // Lets a worker write in slot `slot`, which holds a live payload: the bytes it may write
  // (what this process maps of the slot), or 0 if it cannot be lent (not held, lent already, or
  // this process is a fork() child of the slots' maker). Until EndLend(slot), letting the
  // payload go does not free the slot.
  std::size_t Lend(int slot);
  // The worker is done writing in `slot` (or dead): the slot is free if its payload was let go.
  void EndLend(int slot);
  bool IsLent(int slot) const;
  bool IsHeld(int slot) const;
  // The slot holding `data` (the bytes of a live payload made by this allocator), or -1.
  int SlotOf(const char* data) const;

 private:
  CallPayloadAllocator() = default;
};

// Before `n` bytes are copied to `destination`: if n is big (≥ 1 MiB) and the destination's
// pages have not been touched yet (a fresh allocation; mincore() on two of them) or are shared
// copy-on-write with another process (after a fork(); /proc/self/pagemap), asks the kernel for
// all of them at once (MADV_POPULATE_WRITE, Linux 5.14+), which costs about half of faulting
// them in one by one during the copy. Pages already this process's own cost two mincore()
// calls and a read of pagemap. Never fails: without the kernel's support (or /proc), the copy
// faults them in as before.
void PrefaultForWrite(void* destination, std::size_t n);

}  // namespace cf::internal

#endif  // CF_SERIALIZATION_INTERNAL_PAYLOAD_ALLOCATOR_H_
