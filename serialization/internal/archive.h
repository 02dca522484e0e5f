// Internal: cf's cereal archives. WireOutputArchive appends to a ByteBuffer; WireInputArchive
// reads from a span and treats it as untrusted.
//
// The byte format is exactly cereal's BinaryArchive (native endianness, u64 size tags), but:
//   * writing goes straight into the ByteBuffer (no std::ostream, no extra copy);
//   * reading never runs past the end of the input, and every failure is a
//     cf::SerializationError;
//   * a container may not declare more elements than there are bytes left, so a corrupted size
//     cannot make the decoder allocate far more memory than the payload is long;
//   * a bool byte other than 0 or 1 is rejected (loading it would be undefined behaviour);
//   * nesting deeper than kMaxNestingDepth values is rejected instead of overflowing the stack,
//     by both archives: they count levels the same way and throw the same SerializationError, so
//     a value the encoder accepts is not too deep for the decoder (given a load() that mirrors
//     its save()), and a save() that recurses without end is an error, not a crash;
//   * std::shared_ptr back-references are checked against the type they were first loaded as
//     (cereal's own InputArchive would static_pointer_cast them blindly).
// Containers of types that encode to zero bytes (empty structs) are therefore limited to as many
// elements as there are bytes left; nothing in cf needs them.
//
// Thread safety: an archive object belongs to one thread at a time.
#ifndef CF_SERIALIZATION_INTERNAL_ARCHIVE_H_
#define CF_SERIALIZATION_INTERNAL_ARCHIVE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "cereal/cereal.hpp"
#include "cereal/types/memory.hpp"
#include "cf/serialization/byte_buffer.h"
#include "cf/serialization/errors.h"

namespace cf::internal {

// The deepest nesting of values either archive accepts: deep enough for any sane value, shallow
// enough for an 8 MiB stack even under ASan.
inline constexpr int kMaxNestingDepth = 1000;

// How many values an archive is inside of. Every class-type value counts (see prologue() below),
// in the encoder exactly as in the decoder.
class NestingDepth {
 public:
  // Entering one more value; throws SerializationError beyond kMaxNestingDepth.
  void Enter() {
    if (depth_ >= kMaxNestingDepth) {
      throw SerializationError(
          absl::StrCat("payload nests values deeper than ", kMaxNestingDepth, " levels"));
    }
    ++depth_;
  }
  void Leave() { --depth_; }

 private:
  int depth_ = 0;
};

class WireOutputArchive
    : public cereal::OutputArchive<WireOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  // `attachments`, if not null, collects what the encoding refers to without containing it (see
  // Attach()); the encoder keeps them alive until the receiver has decoded the bytes.
  explicit WireOutputArchive(ByteBuffer* out,
                             std::vector<std::shared_ptr<const void>>* attachments = nullptr)
      : cereal::OutputArchive<WireOutputArchive, cereal::AllowEmptyClassElision>(this),
        out_(out),
        attachments_(attachments) {}

  // cereal's name for the primitive write.
  void saveBinary(const void* data, std::size_t size) { out_->Append(data, size); }

  ByteBuffer* buffer() const { return out_; }

  // Called by a save() whose bytes only refer to `attachment` (a cf::SharedBuffer's memory):
  // adds it to the collector, if this encoding has one (a repeat of the last one is not added
  // again: a Map chunk passing one buffer to every call keeps one reference). False if there is
  // no collector: then whoever encodes keeps the value alive.
  bool Attach(std::shared_ptr<const void> attachment) {
    if (attachments_ == nullptr) return false;
    if (attachments_->empty() || attachments_->back() != attachment) {
      attachments_->push_back(std::move(attachment));
    }
    return true;
  }

  static constexpr int kMaxDepth = kMaxNestingDepth;
  void Enter() { depth_.Enter(); }
  void Leave() { depth_.Leave(); }

 private:
  ByteBuffer* out_;
  std::vector<std::shared_ptr<const void>>* attachments_;
  NestingDepth depth_;
};

class WireInputArchive
    : public cereal::InputArchive<WireInputArchive, cereal::AllowEmptyClassElision> {
 public:
  static constexpr int kMaxDepth = kMaxNestingDepth;

  explicit WireInputArchive(absl::Span<const char> input)
      : cereal::InputArchive<WireInputArchive, cereal::AllowEmptyClassElision>(this),
        next_(input.data()),
        remaining_(input.size()) {}

  // cereal's name for the primitive read.
  void loadBinary(void* data, std::size_t size) {
    if (size > remaining_) {
      throw SerializationError(absl::StrCat("payload ends early: needed ", size,
                                            " more bytes, only ", remaining_, " left"));
    }
    if (size == 0) return;
    std::memcpy(data, Take(size), size);
  }
  // The next `size` bytes, in place (they stay valid as long as the input); SerializationError
  // if fewer are left. For loaders that construct straight from the bytes.
  const char* Take(std::size_t size) {
    if (size > remaining_) {
      throw SerializationError(absl::StrCat("payload ends early: needed ", size,
                                            " more bytes, only ", remaining_, " left"));
    }
    const char* bytes = next_;
    next_ += size;
    remaining_ -= size;
    return bytes;
  }

  // The bytes not read yet.
  size_t remaining() const { return remaining_; }
  const char* next() const { return next_; }

  // Fails unless every byte was read.
  void ExpectEnd() const {
    if (remaining_ != 0) {
      throw SerializationError(
          absl::StrCat("payload has ", remaining_, " unexpected bytes after its last value"));
    }
  }

  // A container size just read: every element takes at least one byte.
  void CheckContainerSize(std::uint64_t count) const {
    if (count > remaining_) {
      throw SerializationError(absl::StrCat("payload declares a container of ", count,
                                            " elements with only ", remaining_, " bytes left"));
    }
  }

  void Enter() { depth_.Enter(); }
  void Leave() { depth_.Leave(); }

  // std::shared_ptr identity tracking, type-checked.
  template <typename T>
  void RegisterShared(std::uint32_t id, const std::shared_ptr<T>& ptr) {
    auto [it, inserted] = shared_.try_emplace(id);
    if (!inserted) throw SerializationError("payload defines a shared pointer id twice");
    it->second.type = &typeid(T);
    it->second.ptr = std::static_pointer_cast<void>(std::const_pointer_cast<
                                                    std::remove_const_t<T>>(ptr));
  }
  template <typename T>
  std::shared_ptr<T> LookupShared(std::uint32_t id) const {
    auto it = shared_.find(id);
    if (it == shared_.end()) {
      throw SerializationError("payload refers to an undefined shared pointer id");
    }
    if (*it->second.type != typeid(T)) {
      throw SerializationError("payload refers to a shared pointer of another type");
    }
    return std::static_pointer_cast<T>(it->second.ptr);
  }

 private:
  struct SharedEntry {
    const std::type_info* type = nullptr;
    std::shared_ptr<void> ptr;
  };

  const char* next_;
  size_t remaining_;
  NestingDepth depth_;
  absl::flat_hash_map<std::uint32_t, SharedEntry> shared_;
};

// --- The primitives cereal needs for an archive (see cereal/archives/binary.hpp). ---

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar,
                                                                    const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(t));
}

template <class T>
std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>> CEREAL_LOAD_FUNCTION_NAME(
    WireInputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}

inline void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, bool& b) {
  unsigned char byte = 0;
  ar.loadBinary(&byte, 1);
  if (byte > 1) throw SerializationError(absl::StrCat("payload holds an invalid bool ", byte));
  b = byte == 1;
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(WireOutputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(WireInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(WireOutputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(WireInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  ar.CheckContainerSize(static_cast<std::uint64_t>(t.size));
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar, const cereal::BinaryData<T>& bd) {
  ar.saveBinary(bd.data, static_cast<std::size_t>(bd.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

// Depth accounting: cereal calls prologue/epilogue around every value it processes. Only class
// types can nest; arithmetic values keep cereal's empty default (and GCC's uninitialised-read
// analysis quiet, since cereal passes some of them before loading them). Both archives count
// alike, so the encoder refuses exactly the values the decoder would.
template <class T>
std::enable_if_t<std::is_class_v<T>> prologue(WireOutputArchive& ar, const T& /*value*/) {
  ar.Enter();
}
template <class T>
std::enable_if_t<std::is_class_v<T>> epilogue(WireOutputArchive& ar, const T& /*value*/) {
  ar.Leave();
}
template <class T>
std::enable_if_t<std::is_class_v<T>> prologue(WireInputArchive& ar, const T& /*value*/) {
  ar.Enter();
}
template <class T>
std::enable_if_t<std::is_class_v<T>> epilogue(WireInputArchive& ar, const T& /*value*/) {
  ar.Leave();
}

// std::shared_ptr saving; replaces cereal's version for this archive. The bytes are the same,
// but cereal's wraps the pointee in one more NameValuePair, a level the depth count would see;
// this one nests exactly as the load below, so both archives count a pointer alike.
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(
    WireOutputArchive& ar,
    const cereal::memory_detail::PtrWrapper<const std::shared_ptr<T>&>& wrapper) {
  const std::shared_ptr<T>& ptr = wrapper.ptr;
  const std::uint32_t id = ar.registerSharedPointer(ptr);
  ar(id);
  if (id & cereal::detail::msb_32bit) ar(*ptr);
}

// Type-checked std::shared_ptr loading; replaces cereal's version for this archive.
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar,
                               cereal::memory_detail::PtrWrapper<std::shared_ptr<T>&>& wrapper) {
  using NonConstT = std::remove_const_t<T>;
  static_assert(!cereal::traits::has_load_and_construct<T, WireInputArchive>::value,
                "cf: std::shared_ptr to a type with load_and_construct is not supported; "
                "give the type a default constructor and serialize()");
  std::uint32_t id = 0;
  ar(id);
  if (id & cereal::detail::msb_32bit) {
    std::shared_ptr<NonConstT> ptr(
        cereal::detail::Construct<NonConstT, WireInputArchive>::load_andor_construct());
    ar.RegisterShared<NonConstT>(id & ~cereal::detail::msb_32bit, ptr);
    ar(*ptr);
    wrapper.ptr = std::move(ptr);
  } else if (id == 0) {
    wrapper.ptr.reset();
  } else {
    wrapper.ptr = ar.LookupShared<NonConstT>(id);
  }
}

// --- Compile-time serializability. ---

template <typename T>
inline constexpr bool kIsWireSerializable =
    cereal::traits::is_output_serializable<T, WireOutputArchive>::value &&
    cereal::traits::is_input_serializable<T, WireInputArchive>::value;

}  // namespace cf::internal

CEREAL_REGISTER_ARCHIVE(cf::internal::WireOutputArchive)
CEREAL_REGISTER_ARCHIVE(cf::internal::WireInputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(cf::internal::WireInputArchive, cf::internal::WireOutputArchive)

#endif  // CF_SERIALIZATION_INTERNAL_ARCHIVE_H_
