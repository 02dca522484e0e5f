// cf/core/internal/future_access.h — the library's own access to futures: the shared state
// behind a handle, handles made from states, and the node of a done-callback.
//
// Not part of the public API: included from cf/core/future.h (after Future and Promise), for
// Wait, AsCompleted, Then, the executors and MapResults.
#ifndef CF_CORE_INTERNAL_FUTURE_ACCESS_H_
#define CF_CORE_INTERNAL_FUTURE_ACCESS_H_

#include <exception>
#include <type_traits>
#include <utility>

#include "cf/core/internal/callback_node.h"
#include "cf/core/internal/shared_state.h"

namespace cf::internal {

// Library-internal access (Wait, AsCompleted, MapResults, executors): the shared state behind a
// handle, and handles made from states.
struct FutureAccess {
  template <typename T>
  static SharedState<T>* State(const Future<T>& f) {
    return f.state_;
  }
  static StateBase* State(const AnyFuture& f) { return f.state_; }
  static AnyFuture FromState(StateBase* s) { return AnyFuture(s); }
  // A handle made of a handle reference the caller owns (a callback node's, see
  // callback_node.h): no atomic operation.
  static AnyFuture AdoptState(StateBase* s) { return AnyFuture(s, AnyFuture::Adopt{}); }
  template <typename T>
  static Future<T> AdoptTypedState(SharedState<T>* s) {
    return Future<T>(s, typename Future<T>::Adopt{});
  }
  // A new handle to `s` (takes a reference); for executors that allocate their own states.
  template <typename T>
  static Future<T> FromTypedState(SharedState<T>* s) {
    return Future<T>(s);
  }
  // The only handle of a state finished at construction (MakeReadyFuture): no atomic operation.
  template <typename T>
  static Future<T> OnlyHandle(SharedState<T>* s) {
    s->BecomeOnlyHandle();
    return Future<T>(s, typename Future<T>::Adopt{});
  }
  // The same for a new state that no other thread can reach yet: no atomic operation.
  template <typename T>
  static Future<T> FirstHandle(SharedState<T>* s) {
    s->RefFirstHandle();
    return Future<T>(s, typename Future<T>::Adopt{});
  }
};

// A done-callback's node: the decayed callable, called with a handle to the future.
template <typename T, typename F>
class FnCallback final : public CallbackNode {
 public:
  template <typename FF>
  explicit FnCallback(FF&& fn) : fn_(std::forward<FF>(fn)) {}

  void OnDone(StateBase* state) noexcept override {
    {
      const Future<T> self = FutureAccess::AdoptTypedState(static_cast<SharedState<T>*>(state));
      try {
        fn_(self);
      } catch (...) {
        ReportCallbackException(AnyFuture(self), std::current_exception());
      }
    }
    delete this;
  }
  void Drop() noexcept override { delete this; }

 private:
  F fn_;
};

template <typename T>
template <typename F>
void SharedState<T>::AddCallback(F&& fn) {
  AddCallbackNode(new FnCallback<T, std::decay_t<F>>(std::forward<F>(fn)));
}

}  // namespace cf::internal

#endif  // CF_CORE_INTERNAL_FUTURE_ACCESS_H_
