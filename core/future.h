// cf/core/future.h — Future<T>, Promise<T> and AnyFuture (cf/core/any_future.h, included here):
// Python's concurrent.futures.Future.
//
// A Promise<T> is the producer side (what an executor holds); a Future<T> is a copyable handle
// to the same shared state, held by whoever wants the result. Both point at one heap object
// (one allocation per future), freed when the last handle goes. Handles compare, hash and order
// by that object's identity, so they key hash maps, std::map and std::set.
//
// State machine (FutureState; Python's names in brackets):
//
//   kPending ─SetRunningOrNotifyCancel()─► kRunning ─SetResult/SetException─► kFinished
//     │ └───────────────────────────SetResult/SetException──────────────────► kFinished
//     └─Cancel()─► kCancelled   (SetRunningOrNotifyCancel() then returns false, once)
//
// Done() is true in kCancelled and kFinished; both are final. Cancel() succeeds only while
// pending, so a task that an executor has started runs to completion.
//
// Deliberate differences from CPython (see docs/semantics.md §1 and §6):
//   * Cancel() wakes every waiter at once: cancelled futures are done for Wait() and
//     AsCompleted() too (CPython waits for set_running_or_notify_cancel; gh-92001;
//     docs/semantics.md deviation 1).
//   * Exceptions are std::exception_ptr. Result() rethrows the stored exception object itself.
//   * A Promise destroyed before it completes fails its future with cf::BrokenPromise.
//   * Result() on an rvalue (a temporary future) returns the value by value, moved out when the
//     handle is the last one; on an lvalue, a const reference into the shared state.
//
// Thread safety: every method of Future, AnyFuture and Promise may be called from any thread
// concurrently (a Promise object itself is not meant to be shared without synchronisation, but
// its methods are safe against concurrent use of its futures; Result() on an rvalue consumes
// its handle object, which no other thread may use meanwhile). Happens-before: everything the
// producer did before SetResult/SetException happens-before Result()/Exception()/Done() returning
// in a consumer that observes the completion, and before every done-callback runs; every read
// of the value through a handle since destroyed, and every done-callback, happens-before an
// rvalue Result() moving it out.
//
// Timeouts: every timeout parameter is a cf::Timeout (cf/core/timeout.h): an absl::Duration or
// any std::chrono::duration; absl::InfiniteDuration() (the default) waits forever.
//
// Callbacks: AddDoneCallback(fn) runs fn(future) once the future is done — immediately, in the
// calling thread, if it already is; otherwise in the thread that completes or cancels it, after
// the state changed and waiters were woken, in registration order. An exception escaping a
// callback is caught and passed to the process-wide handler (SetCallbackExceptionHandler), whose
// default prints "exception calling callback for <Future ...>: <what>" to stderr; the remaining
// callbacks still run.
//
// Example:
//   cf::Promise<int> promise;
//   cf::Future<int> future = promise.GetFuture();
//   std::thread producer([p = std::move(promise)]() mutable { p.SetResult(42); });
//   int v = future.Result(absl::Seconds(5));   // 42, or cf::TimeoutError
//   producer.join();
#ifndef CF_CORE_FUTURE_H_
#define CF_CORE_FUTURE_H_

#include <compare>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "cf/core/any_future.h"
#include "cf/core/errors.h"
#include "cf/core/internal/shared_state.h"
#include "cf/core/timeout.h"

namespace cf {

namespace internal {
template <typename T>
struct ResultRef {
  using type = const T&;
};
template <>
struct ResultRef<void> {
  using type = void;
};
struct FutureAccess;
}  // namespace internal

template <typename T>
class Future {
 public:
  using value_type = T;

  // An invalid handle (valid() == false); every other method throws std::logic_error on it.
  Future() = default;
  Future(const Future& other) : state_(other.state_) {
    if (state_ != nullptr) state_->RefHandle();
  }
  Future(Future&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  Future& operator=(Future other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~Future() {
    if (state_ != nullptr) state_->UnrefHandle();
  }

  bool valid() const { return state_ != nullptr; }

  // Python's done(), running(), cancelled(). Never block.
  bool Done() const { return checked("Done")->done(); }
  bool Running() const { return checked("Running")->running(); }
  bool Cancelled() const { return checked("Cancelled")->cancelled(); }
  FutureState state() const { return checked("state")->public_state(); }

  // Python's cancel(): true iff the future is now cancelled (it was pending, or already
  // cancelled). False once running or finished. Wakes waiters and runs callbacks.
  bool Cancel() const { return checked("Cancel")->Cancel(); }

  // Cooperative cancellation: a pending future is cancelled, as by Cancel() (true); a running
  // one whose work takes a std::stop_token (a ThreadPoolExecutor task whose first parameter is
  // std::stop_token) has that token signalled (true; the work decides when to stop, and may
  // finish first); otherwise false: done, or running without a token. Runs the token's
  // std::stop_callbacks in the calling thread.
  bool RequestStop() const { return checked("RequestStop")->RequestStop(); }

  // Blocks until done or `timeout` passes (negative or zero: just checks). Returns the value
  // (nothing for Future<void>), rethrows the task's exception, or throws CancelledError /
  // TimeoutError.
  //
  // On an lvalue handle (f.Result()): a const reference into the shared state, valid as long as
  // some handle to this future exists. On an rvalue handle (a temporary, as in
  // pool.Submit(fn).Result(), or std::move(f).Result()): the value itself, so it outlives the
  // future — moved out of the shared state when this handle is the last one (promises and
  // executors do not count), copied otherwise. A value moved out is gone for good: a later
  // Result() through any handle throws InvalidStateError. Done-callbacks queued before
  // completion count as handles until they return, so they always read the value: while one
  // still runs, a copyable value is copied. The handle itself stays valid; on a timeout
  // nothing is taken. A move-only T (std::unique_ptr) cannot be copied: an rvalue Result()
  // first waits for those callbacks to return (unless called from one of them), then, with
  // other handles left, throws InvalidStateError saying how many, and takes nothing.
  // An rvalue Result() is a consuming use of its handle object: do not use that same object
  // from another thread meanwhile.
  typename internal::ResultRef<T>::type Result(Timeout timeout = absl::InfiniteDuration()) const& {
    internal::SharedState<T>* s = checked("Result");
    if (s->code() != internal::StateCode::kFinished || s->error() != nullptr) {
      s->WaitForValue(timeout.duration());
    }
    if constexpr (!std::is_void_v<T>) return s->ValueForRead();
  }
  T Result(Timeout timeout = absl::InfiniteDuration()) &&
    requires(!std::is_void_v<T> && std::is_move_constructible_v<T>)
  {
    internal::SharedState<T>* s = checked("Result");
    if (s->code() != internal::StateCode::kFinished || s->error() != nullptr) {
      s->WaitForValue(timeout.duration());
    }
    return s->TakeValue();
  }

  // Like Result() but returns the stored exception (nullptr on success) instead of rethrowing.
  std::exception_ptr Exception(Timeout timeout = absl::InfiniteDuration()) const {
    internal::SharedState<T>* s = checked("Exception");
    if (!s->WaitFor(timeout.duration())) throw TimeoutError();
    if (s->cancelled()) throw CancelledError();
    return s->error();
  }

  // Blocks until done or the timeout passes; returns Done(). Never throws on timeout.
  bool Wait(Timeout timeout = absl::InfiniteDuration()) const {
    return checked("Wait")->WaitFor(timeout.duration());
  }

  // See "Callbacks" above. fn (callable as fn(const Future<T>&)) is decay-copied into the
  // callback's node: one allocation.
  template <typename F>
  void AddDoneCallback(F&& fn) const {
    static_assert(std::is_invocable_v<std::decay_t<F>&, const Future<T>&>,
                  "AddDoneCallback(fn): fn must be callable with a const cf::Future<T>&");
    checked("AddDoneCallback")->AddCallback(std::forward<F>(fn));
  }

  // Continuations (docs/semantics.md §1.9). Then(fn): fn(const Future<T>&) once done, whatever
  // the outcome. ThenValue(fn): fn(const T&) (fn() for void) on a value; an exception passes
  // through to the result, a cancellation fails it with cf::CancelledError; fn is not called.
  // fn returns U or Future<U> (flattened: the result gets its outcome, the value copied); the
  // result is a Future<U>, completed by what fn throws too. It goes running only when fn
  // starts: cancelled before, fn never runs. Inline forms run fn in the thread that completes
  // this future, or at once in the caller if done — but inside another continuation of the
  // same thread, fn is queued to run right after it (a trampoline: chains of any length keep
  // the stack flat and free each link as it completes). Executor forms run fn on `executor`
  // (with Post(callable), else Submit(callable)), taken by reference: it must outlive this
  // future's completion; a refusal (cf::ShutdownError) fails the result with that error.
  // Happens-before: this future's completion → fn → the result seen done.
  template <typename F>
  auto Then(F&& fn) const;
  template <typename F>
  auto ThenValue(F&& fn) const;
  template <typename E, typename F>
  auto Then(E& executor, F&& fn) const;
  template <typename E, typename F>
  auto ThenValue(E& executor, F&& fn) const;

  // Python's repr: "<Future at 0x55d0c2a0 state=finished returned int>".
  std::string DebugString() const {
    return state_ == nullptr ? "<Future invalid>" : state_->DebugString();
  }

  // Identity: copies of one future compare equal and hash alike, and order alike — a strict
  // total order by the shared state's identity (invalid handles first), so futures key
  // std::map and std::set too. An AnyFuture of the same future compares equal (any_future.h).
  friend bool operator==(const Future& a, const Future& b) { return a.state_ == b.state_; }
  friend std::strong_ordering operator<=>(const Future& a, const Future& b) {
    return internal::CompareStates(a.state_, b.state_);
  }
  template <typename H>
  friend H AbslHashValue(H h, const Future& f) {
    return H::combine(std::move(h), static_cast<const void*>(f.state_));
  }

 private:
  friend class AnyFuture;
  friend class internal::SharedState<T>;
  template <typename U>
  friend class Promise;
  friend struct internal::FutureAccess;

  explicit Future(internal::SharedState<T>* state) : state_(state) { state_->RefHandle(); }
  struct Adopt {};
  Future(internal::SharedState<T>* state, Adopt) : state_(state) {}
  internal::SharedState<T>* checked(const char* method) const {
    if (state_ == nullptr) internal::ThrowInvalidFuture(method);
    return state_;
  }

  internal::SharedState<T>* state_ = nullptr;
};

// The producer side. Move-only; destroying it before SetResult/SetException fails the future
// with BrokenPromise (a cancelled future stays cancelled).
template <typename T>
class Promise {
 public:
  Promise() : state_(new internal::SharedState<T>()) {}
  Promise(Promise&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  Promise& operator=(Promise&& other) noexcept {
    if (this != &other) {
      Abandon();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;
  ~Promise() { Abandon(); }

  // Another handle to the shared state; may be called any number of times.
  Future<T> GetFuture() const { return Future<T>(checked("GetFuture")); }

  // What an executor calls before running the task: true → now running (Cancel() will fail);
  // false → the future was cancelled, skip the task. InvalidStateError if already running or
  // finished (a second call).
  bool SetRunningOrNotifyCancel() {
    return checked("SetRunningOrNotifyCancel")->SetRunningOrNotifyCancel();
  }

  // Completes the future with a value (no argument for Promise<void>). InvalidStateError
  // ("FINISHED: <Future ...>") when it is already finished or cancelled.
  template <typename U = T>
    requires(!std::is_void_v<U>)
  void SetResult(std::type_identity_t<U> value) {
    checked("SetResult")->SetValue(std::move(value));
  }
  template <typename U = T>
    requires std::is_void_v<U>
  void SetResult() {
    checked("SetResult")->SetValue();
  }
  // Completes the future with an exception (non-null). InvalidStateError as for SetResult.
  void SetException(std::exception_ptr error) {
    checked("SetException")->SetError(std::move(error));
  }

  // Variants that return false instead of throwing when the future is already done (for
  // executors that race with Cancel()).
  template <typename... A>
  bool TrySetResult(A&&... args) {
    return checked("TrySetResult")->TrySetValue(std::forward<A>(args)...);
  }
  bool TrySetException(std::exception_ptr error) {
    return checked("TrySetException")->TrySetError(std::move(error));
  }

  bool valid() const { return state_ != nullptr; }

 private:
  void Abandon() {
    if (state_ == nullptr) return;
    if (!state_->done()) state_->TrySetError(std::make_exception_ptr(BrokenPromise()));
    state_->Unref();
    state_ = nullptr;
  }
  internal::SharedState<T>* checked(const char* method) const {
    if (state_ == nullptr) internal::ThrowInvalidFuture(method);
    return state_;
  }

  internal::SharedState<T>* state_;
};

// Replaces the process-wide handler for exceptions escaping done-callbacks; returns the previous
// one. nullptr restores the default, which prints
// "exception calling callback for <Future at 0x... state=...>: <what>" to stderr. Work that has
// no future reports here too, with an invalid AnyFuture (valid() == false): an exception
// escaping a ThreadPoolExecutor::Post call (the default prints "exception in a task run by
// cf::ThreadPoolExecutor::Post: <what>"). The handler runs in the thread that caught the
// exception, and may be called from several threads at once.
using CallbackExceptionHandler = std::function<void(const AnyFuture&, std::exception_ptr)>;
CallbackExceptionHandler SetCallbackExceptionHandler(CallbackExceptionHandler handler);

}  // namespace cf

#include "cf/core/internal/future_access.h"  // IWYU pragma: export

namespace cf {

// Convenience: a future that is already finished with `value` / `error`.
template <typename T, typename... A>
Future<T> MakeReadyFuture(A&&... value) {
  auto* state = new internal::SharedState<T>(typename internal::SharedState<T>::ReadyValue{},
                                             std::forward<A>(value)...);
  return internal::FutureAccess::OnlyHandle(state);
}
template <typename T>
Future<T> MakeExceptionalFuture(std::exception_ptr error) {
  if (error == nullptr) {
    throw std::invalid_argument(
        "MakeExceptionalFuture needs an exception: pass std::current_exception() or "
        "std::make_exception_ptr(...), not a null std::exception_ptr");
  }
  auto* state = new internal::SharedState<T>(typename internal::SharedState<T>::ReadyError{},
                                             std::move(error));
  return internal::FutureAccess::OnlyHandle(state);
}

}  // namespace cf

// std::hash so futures key std::unordered_map too (absl containers use AbslHashValue).
template <typename T>
struct std::hash<cf::Future<T>> {
  size_t operator()(const cf::Future<T>& f) const {
    return std::hash<const void*>()(cf::internal::FutureAccess::State(f));
  }
};
template <>
struct std::hash<cf::AnyFuture> {
  size_t operator()(const cf::AnyFuture& f) const {
    return std::hash<const void*>()(cf::internal::FutureAccess::State(f));
  }
};

#include "cf/core/internal/then.h"  // IWYU pragma: export (Then/ThenValue definitions)

#endif  // CF_CORE_FUTURE_H_
