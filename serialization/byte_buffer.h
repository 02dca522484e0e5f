// cf/serialization/byte_buffer.h — ByteBuffer: a growable byte array that can grow without
// initialising its new bytes.
//
// Frames, encoded values and task calls all live in ByteBuffers. Unlike std::vector<char> or
// std::string, ResizeUninitialized() and AppendUninitialized() do not zero the bytes they add, so
// a 16 MB payload can be read from a pipe or encoded straight into place without an extra pass
// over memory. clear() keeps the capacity, so a buffer reused frame after frame allocates once.
//
// Where the bytes live: on the heap (new[]), unless the buffer was made with a
// ByteBuffer::Allocator — the process pool's workers encode big results straight into shared
// memory that way. A copy-constructed buffer is on the heap; a move takes the allocator along.
//
// Thread safety: thread-compatible, like std::vector (const methods may run concurrently; any
// mutation needs exclusive access).
//
// Example:
//   cf::ByteBuffer buffer;
//   buffer.Append("head", 4);
//   char* body = buffer.AppendUninitialized(n);   // fill body[0..n) yourself
//   absl::Span<const char> bytes = buffer;         // 4 + n bytes
#ifndef CF_SERIALIZATION_BYTE_BUFFER_H_
#define CF_SERIALIZATION_BYTE_BUFFER_H_

#include <cstddef>
#include <cstring>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace cf {

class ByteBuffer {
 public:
  // Storage other than the heap. The allocator outlives every buffer made with it.
  class Allocator {
   public:
    virtual ~Allocator() = default;
    // At least `capacity` bytes whose first `keep` bytes equal old[0, keep); `old` (nullptr, or
    // what this allocator returned with `old_capacity`) is released by the call unless the
    // result is the same pointer. Throws std::bad_alloc when there is no memory, leaving `old`
    // as it was.
    virtual char* Reallocate(char* old, size_t old_capacity, size_t keep, size_t capacity) = 0;
    // Releases what Reallocate returned.
    virtual void Free(char* data, size_t capacity) = 0;
  };

  ByteBuffer() = default;
  // An empty buffer whose bytes will come from `allocator` (nullptr: the heap).
  explicit ByteBuffer(Allocator* allocator) : allocator_(allocator) {}
  ~ByteBuffer() { ReleaseMemory(); }
  // A buffer holding a copy of `bytes`.
  explicit ByteBuffer(absl::Span<const char> bytes) { Append(bytes.data(), bytes.size()); }

  ByteBuffer(const ByteBuffer& other) { Append(other.data(), other.size()); }
  ByteBuffer& operator=(const ByteBuffer& other) {
    if (this != &other) {
      clear();
      Append(other.data(), other.size());
    }
    return *this;
  }
  ByteBuffer(ByteBuffer&& other) noexcept
      : data_(other.data_),
        size_(other.size_),
        capacity_(other.capacity_),
        allocator_(other.allocator_) {
    other.data_ = nullptr;
    other.size_ = 0;
    other.capacity_ = 0;
  }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    if (this != &other) {
      ReleaseMemory();
      data_ = other.data_;
      size_ = other.size_;
      capacity_ = other.capacity_;
      allocator_ = other.allocator_;
      other.data_ = nullptr;
      other.size_ = 0;
      other.capacity_ = 0;
    }
    return *this;
  }

  char* data() { return data_; }
  const char* data() const { return data_; }
  Allocator* allocator() const { return allocator_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  absl::Span<const char> span() const { return absl::Span<const char>(data(), size_); }
  absl::Span<char> mutable_span() { return absl::Span<char>(data(), size_); }
  absl::string_view view() const { return absl::string_view(data(), size_); }
  operator absl::Span<const char>() const { return span(); }  // NOLINT: a view of the bytes

  // Size 0; the capacity stays.
  void clear() { size_ = 0; }

  // Capacity at least `n`; keeps the bytes.
  void reserve(size_t n) {
    if (n > capacity_) Reallocate(n);
  }

  // Size `n`. Bytes below the old size keep their values; new bytes are uninitialised.
  void ResizeUninitialized(size_t n) {
    reserve(n);
    size_ = n;
  }

  // Grows the buffer by `n` uninitialised bytes and returns a pointer to the first of them.
  char* AppendUninitialized(size_t n) {
    const size_t old_size = size_;
    if (n > capacity_ - size_) Grow(n);
    size_ += n;
    return data() + old_size;
  }

  void Append(const void* bytes, size_t n) {
    if (n == 0) return;
    std::memcpy(AppendUninitialized(n), bytes, n);
  }
  void Append(absl::Span<const char> bytes) { Append(bytes.data(), bytes.size()); }

  // Frees the storage (the allocator stays).
  void ReleaseMemory() {
    if (data_ != nullptr) {
      if (allocator_ == nullptr) {
        delete[] data_;
      } else {
        allocator_->Free(data_, capacity_);
      }
    }
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
  }

  friend bool operator==(const ByteBuffer& a, const ByteBuffer& b) { return a.view() == b.view(); }
  friend bool operator!=(const ByteBuffer& a, const ByteBuffer& b) { return !(a == b); }

 private:
  void Grow(size_t extra) {
    const size_t needed = size_ + extra;
    const size_t doubled = capacity_ * 2;
    Reallocate(needed > doubled ? needed : doubled);
  }
  void Reallocate(size_t new_capacity) {
    if (allocator_ != nullptr) {
      data_ = allocator_->Reallocate(data_, capacity_, size_, new_capacity);
      capacity_ = new_capacity;
      return;
    }
    char* fresh = new char[new_capacity];  // default-initialised: no zeroing
    if (size_ > 0) std::memcpy(fresh, data_, size_);
    delete[] data_;
    data_ = fresh;
    capacity_ = new_capacity;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  Allocator* allocator_ = nullptr;
};

}  // namespace cf

#endif  // CF_SERIALIZATION_BYTE_BUFFER_H_
