// cf/serialization/shared_buffer.h — cf::SharedBuffer: a block of bytes made once by a caller and
// passed to process-pool tasks without being copied through the pool's pipes (what mpi4py's pkl5
// buffers and Ray's object store give Python users). Linux only: it is a sealed memfd.
//
// State machine (one per buffer; every copy of a handle shares it):
//
//   Create(n) ──► writable ──Seal()──► sealed (immutable, for ever)
//                 mutable_data()        data(), and it may be sent to other processes
//   Copy(bytes) = Create + memcpy + Seal;  SharedBuffer() = an empty sealed buffer.
//
// Seal() makes the memory read-only for everyone: the writable mapping goes away, the memfd gets
// F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, and the bytes are mapped read-only.
// Its address may change: spans that mutable_data() or data() returned before Seal() are invalid
// after it. A fork() child does not inherit an unsealed buffer's writable mapping (else Seal()
// would fail with EBUSY while the child lives, e.g. a kFork pool's worker started meanwhile):
// a child gets a sealed buffer's bytes, and must not touch an unsealed one's.
//
// Across processes: as an argument of a CF_TASK function (by value or const&) or as its result,
// a SharedBuffer encodes to 36 bytes — the sender's pid and descriptor, the size and the memfd's
// identity (st_dev, st_ino) — never its bytes. The receiver opens /proc/<pid>/fd/<fd> read-only,
// checks that it is that very file, sealed and of that size, and maps it read-only: it reads the
// sender's pages, and a write through a const_cast dies of SIGSEGV. A process that already holds
// the buffer (the caller, when a task returns the buffer it was given) shares its own mapping.
// Only a sealed buffer can be encoded: encoding an unsealed one throws cf::SerializationError,
// so Submit() fails at once. Every failure to decode — the sender has exited or closed the buffer,
// /proc is not mounted or not accessible (another user, a non-dumpable process), the descriptor
// is another file, the file is not sealed or has another size — is a cf::SerializationError whose
// message names the cause; the call's future fails with it (decoding an argument) or with the
// pool's error for an undecodable result.
//
// Lifetime: the encoder of a payload keeps its attachments alive until the receiver has decoded
// it (value.h). Encoding a SharedBuffer as part of a TaskCall keeps the buffer's memfd open for
// as long as that TaskCall lives; the process pool keeps it until the call's result is decoded,
// so the caller may drop its SharedBuffer as soon as Submit() returns. The memory is freed when
// the last handle, in any process, is gone. cf::Encode() alone keeps nothing: hold the buffer
// until the bytes are decoded, or use cf::EncodeWithAttachments().
//
// Thread safety: a handle is a value (like std::shared_ptr): distinct handles may be used
// concurrently. A sealed buffer is immutable, so its data() may be read from any number of
// threads and processes. Before Seal(), the buffer belongs to its creator: mutable_data(),
// data() and Seal() must not race with each other or with another thread's use. Hand a buffer
// to other threads after Seal(), through something that synchronizes (a mutex, a queue,
// Submit()): the writes before Seal() then happen-before their reads, in this process and in a
// worker (which maps the file only after Submit() encoded the sealed buffer).
//
// Costs: Create() allocates and zeroes every page up front (like a std::vector; memfd_create,
// ftruncate, fallocate, mmap); Seal() is an mmap, an munmap and an fcntl; a receiver pays a
// stat, an open and an mmap, whatever the size, then a page fault per few pages it reads. Each
// live buffer holds one descriptor in each process that holds it.
//
// Example:
//   cf::SharedBuffer buf = cf::SharedBuffer::Create(n);
//   Fill(buf.mutable_data());
//   buf.Seal();
//   cf::Future<uint64_t> f = pool.Submit(&Checksum, buf);   // no copy of the n bytes
//   // with  uint64_t Checksum(const cf::SharedBuffer& b);  CF_TASK(Checksum);  reading b.data()
#ifndef CF_SERIALIZATION_SHARED_BUFFER_H_
#define CF_SERIALIZATION_SHARED_BUFFER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/types/span.h"
#include "cf/serialization/errors.h"
#include "cf/serialization/internal/archive.h"

namespace cf {
namespace internal {
struct SharedBufferState;  // shared_buffer.cc
}  // namespace internal

class SharedBuffer {
 public:
  // An empty, sealed buffer (size 0). What a moved-from handle holds too.
  SharedBuffer() = default;

  // A writable buffer of `size` zero bytes, allocated now. Throws SharedBufferError if it cannot
  // be made: larger than the machine's memory and swap, no memory (ENOMEM, ENOSPC), no
  // descriptor left (EMFILE), ... — the message says what to do.
  static SharedBuffer Create(std::size_t size);
  // A sealed buffer holding a copy of `bytes`. Throws like Create() and Seal().
  static SharedBuffer Copy(absl::Span<const char> bytes);

  // The writable bytes, for the creator to fill before Seal(). Throws cf::InvalidStateError once
  // the buffer is sealed.
  absl::Span<char> mutable_data();

  // Makes the buffer immutable and sendable (see the header comment). Invalidates the spans
  // returned so far. Sealing a sealed buffer does nothing. Throws SharedBufferError if the system
  // refuses (ENOMEM); the buffer is then still writable, with its bytes.
  void Seal();
  bool sealed() const;

  // The bytes. Before Seal() this is the creator's writable memory seen as const (allowed, for
  // the creator only); after it, the read-only mapping.
  absl::Span<const char> data() const;
  std::string_view view() const {
    const absl::Span<const char> bytes = data();
    return std::string_view(bytes.data(), bytes.size());
  }
  std::size_t size() const;
  bool empty() const { return size() == 0; }

  // cereal, for cf's archives only (the bytes are not copied: see the header comment). save()
  // throws cf::SerializationError for an unsealed buffer; load() for any reference it cannot
  // map. A load() replaces this handle; the buffer it held is not changed.
  void save(internal::WireOutputArchive& archive) const;
  void load(internal::WireInputArchive& archive);

 private:
  explicit SharedBuffer(std::shared_ptr<internal::SharedBufferState> state)
      : state_(std::move(state)) {}

  std::shared_ptr<internal::SharedBufferState> state_;  // null: empty and sealed
};

}  // namespace cf

#endif  // CF_SERIALIZATION_SHARED_BUFFER_H_
