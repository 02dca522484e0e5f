#include "cf/process_pool/internal/payload_arena.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cf/process_pool/internal/process_util.h"

namespace cf::internal {
namespace {

constexpr std::size_t kGrain = std::size_t{1} << 20;  // sizes in whole MiB

std::size_t RoundUp(std::size_t n) { return (n + kGrain - 1) / kGrain * kGrain; }

absl::StatusOr<std::size_t> FileSize(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("fstat (a payload arena)");
  return static_cast<std::size_t>(st.st_size);
}

}  // namespace

PayloadArena::PayloadArena(PayloadArena&& other) noexcept
    : fd_(std::move(other.fd_)),
      base_(std::exchange(other.base_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

PayloadArena& PayloadArena::operator=(PayloadArena&& other) noexcept {
  if (this != &other) {
    Unmap();
    fd_ = std::move(other.fd_);
    base_ = std::exchange(other.base_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

PayloadArena::~PayloadArena() { Unmap(); }

void PayloadArena::Unmap() {
  if (base_ != nullptr) munmap(base_, mapped_);
  base_ = nullptr;
  mapped_ = 0;
}

absl::StatusOr<PayloadArena> PayloadArena::Create() {
  const int raw = memfd_create("cf-process-pool-payloads", MFD_CLOEXEC);
  if (raw < 0) return ErrnoStatus("memfd_create (a payload arena)");
  absl::StatusOr<UniqueFd> fd = MoveHigh(raw);
  if (!fd.ok()) return fd.status();
  return PayloadArena(*std::move(fd));
}

absl::Status PayloadArena::MapAtLeast(std::size_t n, std::size_t file_size) {
  if (base_ != nullptr && mapped_ >= n && mapped_ <= file_size) return absl::OkStatus();
  Unmap();
  if (file_size == 0) return absl::OkStatus();
  // MAP_POPULATE: the pages are mapped in one go (the writer allocated them, see PrepareWrite),
  // which costs a fraction of a page fault per 4 KiB on first touch.
  void* base = mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                    fd_.get(), 0);
  if (base == MAP_FAILED) {
    return ErrnoStatus(absl::StrCat("mmap of ", file_size, " bytes (a payload arena)"));
  }
  base_ = static_cast<char*>(base);
  mapped_ = file_size;
  return absl::OkStatus();
}

absl::StatusOr<char*> PayloadArena::PrepareWrite(std::size_t n) {
  absl::StatusOr<std::size_t> size = FileSize(fd_.get());
  if (!size.ok()) return size.status();
  const std::size_t want = std::max(RoundUp(n), std::min(*size, kKeepBytes));
  if (want != *size) {
    // Shrinking drops the pages past `want`; the reader only reads the current payload.
    if (want < *size) Unmap();
    if (ftruncate(fd_.get(), static_cast<off_t>(want)) != 0) {
      return ErrnoStatus(absl::StrCat("ftruncate to ", want, " bytes (a payload arena)"));
    }
    // Allocate the pages now: no memory is an error here rather than a SIGBUS while copying,
    // and the mapping below can map them all at once.
    if (want > *size) {
      const int rc = fallocate(fd_.get(), 0, static_cast<off_t>(*size),
                               static_cast<off_t>(want - *size));
      if (rc != 0 && errno != EOPNOTSUPP) {
        return ErrnoStatus(absl::StrCat("fallocate of ", want, " bytes (a payload arena)"));
      }
    }
  }
  if (absl::Status s = MapAtLeast(n, want); !s.ok()) return s;
  return base_;
}

absl::StatusOr<char*> PayloadArena::Reserve(std::size_t n) {
  if (base_ != nullptr && mapped_ >= n) return base_;
  absl::StatusOr<std::size_t> size = FileSize(fd_.get());
  if (!size.ok()) return size.status();
  const std::size_t want = std::max(RoundUp(n), *size);
  if (want > *size) {
    if (ftruncate(fd_.get(), static_cast<off_t>(want)) != 0) {
      return ErrnoStatus(absl::StrCat("ftruncate to ", want, " bytes (a payload arena)"));
    }
    const int rc = fallocate(fd_.get(), 0, static_cast<off_t>(*size),
                             static_cast<off_t>(want - *size));
    if (rc != 0 && errno != EOPNOTSUPP) {
      const absl::Status status =
          ErrnoStatus(absl::StrCat("fallocate of ", want, " bytes (a payload arena)"));
      (void)!ftruncate(fd_.get(), static_cast<off_t>(*size));
      return status;
    }
  }
  // The new mapping first, so that a failure leaves the old one (and the bytes the writer is
  // keeping) in place; the file holds those bytes, so the new mapping shows them too.
  void* base = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_.get(), 0);
  if (base == MAP_FAILED) {
    return ErrnoStatus(absl::StrCat("mmap of ", want, " bytes (a payload arena)"));
  }
  Unmap();
  base_ = static_cast<char*>(base);
  mapped_ = want;
  return base_;
}

void PayloadArena::Trim() {
  absl::StatusOr<std::size_t> size = FileSize(fd_.get());
  if (!size.ok() || *size <= kKeepBytes) return;
  Unmap();
  (void)!ftruncate(fd_.get(), static_cast<off_t>(kKeepBytes));
}

char* ResultArenaAllocator::HeapCopy(char* old, std::size_t keep, std::size_t capacity) {
  char* fresh = new char[capacity];  // may throw std::bad_alloc: `old` is untouched then
  if (keep > 0) std::memcpy(fresh, old, keep);
  if (old != nullptr && old != in_arena_) delete[] old;
  in_arena_ = nullptr;
  return fresh;
}

char* ResultArenaAllocator::Reallocate(char* old, std::size_t /*old_capacity*/, std::size_t keep,
                                       std::size_t capacity) {
  const bool was_in_arena = Holds(old);
  if ((capacity <= heap_limit_ && !was_in_arena) || capacity > arena_limit_) {
    return HeapCopy(old, keep, capacity);
  }
  absl::StatusOr<char*> room = arena_->Reserve(capacity);
  if (!room.ok()) return HeapCopy(old, keep, capacity);  // the caller copies it later, or fails
  if (!was_in_arena && old != nullptr) {
    if (keep > 0) std::memcpy(*room, old, keep);
    delete[] old;
  }
  in_arena_ = *room;
  return *room;
}

void ResultArenaAllocator::Free(char* data, std::size_t /*capacity*/) {
  if (Holds(data)) {
    in_arena_ = nullptr;  // the arena keeps its pages for the next result
  } else {
    delete[] data;
  }
}

absl::StatusOr<absl::Span<const char>> PayloadArena::Read(std::size_t n) {
  if (base_ == nullptr || mapped_ < n) {
    absl::StatusOr<std::size_t> size = FileSize(fd_.get());
    if (!size.ok()) return size.status();
    if (*size < n) {
      return absl::DataLossError(absl::StrCat("a payload of ", n, " bytes announced in an arena of ",
                                              *size, " bytes"));
    }
    if (absl::Status s = MapAtLeast(n, *size); !s.ok()) return s;
  }
  return absl::MakeConstSpan(base_, n);
}

}  // namespace cf::internal
