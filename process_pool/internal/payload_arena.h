// cf/process_pool/internal/payload_arena.h — the shared memory that carries one direction's
// payloads too big for a ring record (calls' arguments, or results), one at a time.
//
// Not part of the public API. A PayloadArena is a memfd that both the pool and one worker map.
// The writer sizes it (PrepareWrite: grows it to fit, shrinks one left over kKeepBytes by an
// earlier giant) and copies the payload in; a ring record (shared_region.h, kArena) tells the
// reader its size; the reader maps what it needs (Read) and decodes straight from the shared
// pages. Whose turn it is comes from outside: the pool sends an arena call only to a worker
// whose call arena is free (its previous arena call has been answered), and a worker writes an
// arena result only when the pool has said it is done with the previous one (arena_busy in the
// result ring's control block). A memfd has no name to unlink: the pages go when the last
// process holding it does, however it ends.
//
// A worker encodes a big result straight into its result arena through a ResultArenaAllocator
// (a ByteBuffer::Allocator: small buffers on the heap, a buffer that outgrows the ring moves into
// the arena), when the pool is done with the previous one; otherwise it encodes on the heap and
// copies (PrepareWrite) once the arena is free.
//
// Thread-compatible: each process's PayloadArena is used by one thread at a time.
#ifndef CF_PROCESS_POOL_INTERNAL_PAYLOAD_ARENA_H_
#define CF_PROCESS_POOL_INTERNAL_PAYLOAD_ARENA_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/unique_fd.h"
#include "cf/serialization/byte_buffer.h"

namespace cf::internal {

class PayloadArena {
 public:
  // Kept mapped between payloads (so that the next one costs no page faults); an arena that a
  // bigger payload grew is shrunk back to this much once a smaller one comes.
  static constexpr std::size_t kKeepBytes = std::size_t{64} << 20;

  PayloadArena() = default;
  explicit PayloadArena(UniqueFd fd) : fd_(std::move(fd)) {}
  PayloadArena(const PayloadArena&) = delete;
  PayloadArena& operator=(const PayloadArena&) = delete;
  PayloadArena(PayloadArena&& other) noexcept;
  PayloadArena& operator=(PayloadArena&& other) noexcept;
  ~PayloadArena();

  // A new, empty memfd (CLOEXEC, above the low descriptor numbers).
  static absl::StatusOr<PayloadArena> Create();

  int fd() const { return fd_.get(); }
  // Writer: `n` writable bytes at the start of the arena (sized and mapped here).
  absl::StatusOr<char*> PrepareWrite(std::size_t n);
  // Writer: at least `n` writable bytes at the start of the arena, keeping what is written there
  // (never shrinks). On an error the arena is as it was, its old mapping included.
  absl::StatusOr<char*> Reserve(std::size_t n);
  // Writer: gives back what an earlier giant left over kKeepBytes. Invalidates base().
  void Trim();
  // Reader: the first `n` bytes, which the writer has written. DataLoss if the memfd is smaller
  // (a peer that cannot be trusted).
  absl::StatusOr<absl::Span<const char>> Read(std::size_t n);

  char* base() const { return base_; }
  std::size_t mapped() const { return mapped_; }

 private:
  // Maps the whole memfd (its current size) if fewer than `n` bytes are mapped.
  absl::Status MapAtLeast(std::size_t n, std::size_t file_size);
  void Unmap();

  UniqueFd fd_;
  char* base_ = nullptr;
  std::size_t mapped_ = 0;
};

// The worker's result buffer allocator: capacities up to `heap_limit` come from the heap; a
// bigger one (up to `arena_limit`) moves the buffer into `arena` (its bytes copied over once)
// and it grows there. If the arena cannot grow (or may not: over `arena_limit`), the buffer
// goes (back) to the heap, so encoding only fails when the heap is out of memory too.
// Holds(p): the buffer at p is in the arena. The worker makes a buffer with this allocator
// only while the pool is done with the arena's previous payload (or, for a call slot the pool
// lent it, after decoding the call that was there).
class ResultArenaAllocator : public ByteBuffer::Allocator {
 public:
  ResultArenaAllocator(PayloadArena* arena, std::size_t heap_limit,
                       std::size_t arena_limit = ~std::size_t{0})
      : arena_(arena), heap_limit_(heap_limit), arena_limit_(arena_limit) {}

  // Another arena from now on (no buffer may be in the old one).
  void Use(PayloadArena* arena, std::size_t arena_limit) {
    arena_ = arena;
    arena_limit_ = arena_limit;
  }

  char* Reallocate(char* old, std::size_t old_capacity, std::size_t keep,
                   std::size_t capacity) override;
  void Free(char* data, std::size_t capacity) override;
  bool Holds(const char* data) const { return data != nullptr && data == in_arena_; }

 private:
  char* HeapCopy(char* old, std::size_t keep, std::size_t capacity);

  PayloadArena* arena_;
  const std::size_t heap_limit_;
  std::size_t arena_limit_;
  char* in_arena_ = nullptr;  // the buffer's bytes, when they are in the arena
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_PAYLOAD_ARENA_H_
