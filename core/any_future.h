// cf/core/any_future.h — cf::AnyFuture, the type-erased future handle. Part of
// cf/core/future.h (target //core:future), which includes it: include that one, which also
// defines what As<T>() returns.
//
// Any Future<T> converts to an AnyFuture implicitly, so futures of different result types can be
// waited on together (cf::Wait, cf::AsCompleted) or kept in one container; As<T>() recovers the
// typed handle. An AnyFuture has Future<T>'s non-typed methods (Done, Running, Cancelled, state,
// Cancel, Exception, Wait, AddDoneCallback, DebugString) with the same semantics, and no
// Result(): the value's type is not known here.
//
// Identity: == compares the shared state, and so do the hash and the order (<=>, a strict total
// order with invalid handles first); an AnyFuture and a Future<T> of the same future compare
// equal, so AnyFuture keys absl and std hash maps, std::map and std::set alike.
//
// Thread safety: as Future<T> — every method may be called from any thread concurrently, and
// everything the producer did before completing the future happens-before Exception()/Wait()/
// Done() observing the completion and before every done-callback runs.
#ifndef CF_CORE_ANY_FUTURE_H_
#define CF_CORE_ANY_FUTURE_H_

#include <compare>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cf/core/internal/shared_state.h"
#include "cf/core/timeout.h"

namespace cf {

namespace internal {
struct FutureAccess;
[[noreturn]] void ThrowInvalidFuture(const char* method);

// The order of handles: by the identity of their shared state, invalid (null) ones first.
inline std::strong_ordering CompareStates(const StateBase* a, const StateBase* b) {
  if (a == nullptr || b == nullptr) return (a != nullptr) <=> (b != nullptr);
  return std::compare_three_way()(a, b);
}
}  // namespace internal

// See the file comment.
class AnyFuture {
 public:
  AnyFuture() = default;
  template <typename T>
  AnyFuture(const Future<T>& f)  // NOLINT(google-explicit-constructor): like Python, any future
      : state_(f.state_) {
    if (state_ != nullptr) state_->RefHandle();
  }
  AnyFuture(const AnyFuture& other) : state_(other.state_) {
    if (state_ != nullptr) state_->RefHandle();
  }
  AnyFuture(AnyFuture&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  AnyFuture& operator=(AnyFuture other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~AnyFuture() {
    if (state_ != nullptr) state_->UnrefHandle();
  }

  bool valid() const { return state_ != nullptr; }
  bool Done() const { return checked("Done")->done(); }
  bool Running() const { return checked("Running")->running(); }
  bool Cancelled() const { return checked("Cancelled")->cancelled(); }
  FutureState state() const { return checked("state")->public_state(); }
  bool Cancel() const { return checked("Cancel")->Cancel(); }
  // As Future<T>::RequestStop().
  bool RequestStop() const { return checked("RequestStop")->RequestStop(); }
  std::exception_ptr Exception(Timeout timeout = absl::InfiniteDuration()) const;
  bool Wait(Timeout timeout = absl::InfiniteDuration()) const {
    return checked("Wait")->WaitFor(timeout.duration());
  }
  void AddDoneCallback(absl::AnyInvocable<void(const AnyFuture&)> fn) const {
    checked("AddDoneCallback")->AddAnyCallback(std::move(fn));
  }
  std::string DebugString() const {
    return state_ == nullptr ? "<Future invalid>" : state_->DebugString();
  }

  // The typed handle; std::invalid_argument when T is not the result type.
  template <typename T>
  Future<T> As() const {
    internal::StateBase* s = checked("As");
    if (s->result_type() != typeid(T)) {
      throw std::invalid_argument(absl::StrCat(
          "AnyFuture::As<", internal::DemangledName(typeid(T)), ">: this future's result type is ",
          internal::DemangledName(s->result_type())));
    }
    return Future<T>(static_cast<internal::SharedState<T>*>(s));
  }

  // Identity (see the file comment); the Future<T> overloads spare a conversion.
  friend bool operator==(const AnyFuture& a, const AnyFuture& b) { return a.state_ == b.state_; }
  friend std::strong_ordering operator<=>(const AnyFuture& a, const AnyFuture& b) {
    return internal::CompareStates(a.state_, b.state_);
  }
  template <typename T>
  friend bool operator==(const AnyFuture& a, const Future<T>& b) {
    return a.state_ == StateOf(b);
  }
  template <typename T>
  friend std::strong_ordering operator<=>(const AnyFuture& a, const Future<T>& b) {
    return internal::CompareStates(a.state_, StateOf(b));
  }
  template <typename H>
  friend H AbslHashValue(H h, const AnyFuture& f) {
    return H::combine(std::move(h), static_cast<const void*>(f.state_));
  }

 private:
  friend struct internal::FutureAccess;
  explicit AnyFuture(internal::StateBase* state) : state_(state) {
    if (state_ != nullptr) state_->RefHandle();
  }
  struct Adopt {};
  AnyFuture(internal::StateBase* state, Adopt) : state_(state) {}
  template <typename T>
  static const internal::StateBase* StateOf(const Future<T>& f) {
    return f.state_;
  }
  internal::StateBase* checked(const char* method) const {
    if (state_ == nullptr) internal::ThrowInvalidFuture(method);
    return state_;
  }

  internal::StateBase* state_ = nullptr;
};

}  // namespace cf

#endif  // CF_CORE_ANY_FUTURE_H_
