// cf/core/internal/value_slot.h — where a future's value lives inside its shared state.
//
// Not part of the public API. Written once, by the completion that claimed the state, before it
// publishes the state code; read only after that publication (cf/core/internal/shared_state.h).
#ifndef CF_CORE_INTERNAL_VALUE_SLOT_H_
#define CF_CORE_INTERNAL_VALUE_SLOT_H_

#include <new>
#include <utility>

namespace cf::internal {

// The value slot: raw storage so T needs no default constructor; void has none.
template <typename T>
class ValueSlot {
 public:
  ~ValueSlot() {
    if (engaged_) value().~T();
  }
  template <typename... A>
  void Emplace(A&&... args) {
    ::new (static_cast<void*>(storage_)) T(std::forward<A>(args)...);
    engaged_ = true;
  }
  T& value() { return *std::launder(reinterpret_cast<T*>(storage_)); }
  const T& value() const { return *std::launder(reinterpret_cast<const T*>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
  bool engaged_ = false;
};

template <>
class ValueSlot<void> {
 public:
  void Emplace() {}
};

}  // namespace cf::internal

#endif  // CF_CORE_INTERNAL_VALUE_SLOT_H_
