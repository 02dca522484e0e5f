// cf/core/internal/then_parts.h — the pieces a continuation link (cf/core/internal/then.h) is
// made of: its result type, where it keeps fn and its executor, and how a flattened result
// gets the inner future's outcome.
//
// Not part of the public API: included by cf/core/internal/then.h.
#ifndef CF_CORE_INTERNAL_THEN_PARTS_H_
#define CF_CORE_INTERNAL_THEN_PARTS_H_

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "cf/core/errors.h"
#include "cf/core/internal/task.h"

namespace cf::internal {

// The result type of a continuation returning R: Future<V> is flattened to V.
template <typename R>
struct ThenResultOf {
  using type = std::remove_cvref_t<R>;
  static constexpr bool kFlatten = false;
};
template <typename V>
struct ThenResultOf<Future<V>> {
  using type = V;
  static constexpr bool kFlatten = true;
};
template <typename R>
using ThenResult = typename ThenResultOf<std::remove_cvref_t<R>>::type;

template <typename Fn, typename T>
struct ThenValueInvokedOf : std::invoke_result<Fn, const T&> {};
template <typename Fn>
struct ThenValueInvokedOf<Fn, void> : std::invoke_result<Fn> {};
template <typename Fn, typename T>
using ThenValueInvoked = typename ThenValueInvokedOf<Fn, T>::type;

// The outcome of a done future `g` onto `s`: the value (copied), the exception, or
// cf::CancelledError for a cancelled g.
template <typename U>
void ForwardOutcome(SharedState<U>& s, const Future<U>& g) noexcept {
  try {
    if (g.Cancelled()) {
      s.TrySetError(std::make_exception_ptr(CancelledError()));
    } else if (std::exception_ptr e = g.Exception(); e != nullptr) {
      s.TrySetError(std::move(e));
    } else if constexpr (std::is_void_v<U>) {
      s.TrySetValue();
    } else {
      s.TrySetValue(g.Result());
    }
  } catch (...) {
    s.TrySetError(std::current_exception());
  }
}

// A reference to a link's result that must complete it: a flattened continuation's callback on
// the inner future holds one. Destroyed with the result still pending: cf::BrokenPromise.
template <typename U>
class CompletingRef {
 public:
  explicit CompletingRef(SharedState<U>* s) : s_(s) { s_->Ref(); }
  CompletingRef(CompletingRef&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  CompletingRef& operator=(CompletingRef&&) = delete;
  ~CompletingRef() {
    if (s_ == nullptr) return;
    if (!s_->done()) s_->TrySetError(std::make_exception_ptr(BrokenPromise()));
    s_->Unref();
  }
  SharedState<U>& operator*() const { return *s_; }

 private:
  SharedState<U>* s_;
};

// No executor: the inline forms.
struct Inline {};

// A link's fn until it has run: an empty, trivially destructible one (a lambda without
// captures) takes no room and needs no destruction.
template <typename Fn, bool kPlain = std::is_empty_v<Fn> && std::is_trivially_destructible_v<Fn>>
class FnSlot {
 public:
  template <typename F>
  explicit FnSlot(F&& fn) : fn_(std::in_place, std::forward<F>(fn)) {}
  Fn& get() { return *fn_; }
  void reset() { fn_.reset(); }

 private:
  std::optional<Fn> fn_;
};
template <typename Fn>
class FnSlot<Fn, true> {
 public:
  template <typename F>
  explicit FnSlot(F&& fn) : fn_(std::forward<F>(fn)) {}
  Fn& get() { return fn_; }
  void reset() {}

 private:
  [[no_unique_address]] Fn fn_;
};

// The executor of a link, and whether it was handed over already; nothing for Inline.
template <typename E>
struct ExecutorSlot {
  explicit ExecutorSlot(E* e) : executor(e) {}
  E* const executor;
  bool dispatched = false;  // written before the executor may run the link
};
template <>
struct ExecutorSlot<Inline> {
  explicit ExecutorSlot(Inline*) {}
};

// A link bound to an executor that queues Tasks is one (no allocation at the hand-off).
struct NotATask {};
template <typename E>
using TaskBaseFor = std::conditional_t<PushesTasks<E>, Task, NotATask>;

}  // namespace cf::internal

#endif  // CF_CORE_INTERNAL_THEN_PARTS_H_
