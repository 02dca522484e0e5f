// cf/core/coroutine.h — C++20 coroutines over cf::Future: `co_await f`, `co_await
// cf::ResumeOn(executor, f)`, and cf::Future<T> as a coroutine's return type.
//
// Awaiting (in any C++20 coroutine whose promise type has no await_transform):
//
//   * `co_await f` for a cf::Future<T> gives a copy of f's value (nothing for Future<void>), or
//     rethrows its exception; a cancelled f throws cf::CancelledError. A done f does not suspend
//     at all, so a loop awaiting done futures uses no stack per iteration. Otherwise the
//     coroutine suspends and is resumed from a done-callback of f: in the thread that completes
//     or cancels f (if f completes while the coroutine is suspending, the coroutine just goes on
//     in its own thread). T must be copyable: the coroutine resumes inside one of f's
//     done-callbacks, where moving the value out would take it from the callbacks after it, so
//     the value is copied; awaiting a future of a move-only T is a compile error. Await its
//     completion instead and take the value with an rvalue Result(), which waits for f's
//     callbacks first: `auto all = cf::WhenAll({f}); co_await all; T v = std::move(f).Result();`
//     (GCC 12 rejects a braced list inside a co_await expression, "array used as initializer":
//     build it before).
//   * `co_await cf::ResumeOn(executor, f)` gives the same, but the coroutine always goes on in a
//     task submitted to `executor` (any type with a Submit(fn) accepting a void() callable, such
//     as cf::ThreadPoolExecutor), even when f is already done. If Submit throws when f completes
//     (cf::ShutdownError after Shutdown(), cf::BrokenThreadPool), the coroutine goes on in the
//     completing thread and the co_await throws that exception; the same holds, with a
//     cf::ShutdownError, when Submit returned a cf::Future that gets cancelled before it runs
//     (Shutdown(cancel_futures=true)). The executor must outlive the suspension.
//
// A coroutine returning cf::Future<T> (Future<void>: `co_return;`):
//
//   * starts at once, in the caller's thread, and runs until its first real suspension; the
//     caller then gets its future. Its future is running from the start, so Cancel() on it
//     returns false and changes nothing (a started task runs to completion, as in Python).
//   * `co_return v` finishes the future with v; an exception escaping the body fails it with
//     that exception (even before the first suspension: the caller gets a failed future, not an
//     exception).
//   * the coroutine frame is destroyed before the future is completed, so the future's
//     callbacks (and coroutines awaiting it, resumed inline) run after the frame is gone.
//   * parameters are used after the caller has returned: take them by value, or make sure what
//     they refer to outlives the coroutine.
//
// A coroutine suspended on a future that never completes stays suspended, and its frame lives,
// until the future completes (a future always completes once its Promise goes: BrokenPromise).
//
// Thread safety: a coroutine runs in one thread at a time, in the threads named above; any
// thread may call a Future coroutine or complete what it awaits. Happens-before: everything before the completion of f happens-before the code after
// `co_await f`; everything the coroutine did happens-before its future's completion is observed.
// Awaiting a chain of coroutines that each complete in the previous one's completing thread
// resumes them recursively in that thread (a chain of n costs n stack frames there); use
// ResumeOn to break very long chains.
//
// Example:
//   cf::Future<int> Total(cf::ThreadPoolExecutor& pool) {
//     int a = co_await pool.Submit(Slow, 1);  // goes on in the worker that ran Slow (or here,
//                                              // if it had finished already)
//     int b = co_await cf::ResumeOn(pool, pool.Submit(Slow, 2));  // in a task on the pool
//     co_return a + b;
//   }
//   int total = Total(pool).Result();
#ifndef CF_CORE_COROUTINE_H_
#define CF_CORE_COROUTINE_H_

#include <atomic>
#include <concepts>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "cf/core/errors.h"
#include "cf/core/future.h"

namespace cf {

namespace internal {

// What an awaiter hands back: a copy of the value, or nothing for void.
template <typename T>
T AwaitedValue(const Future<T>& future) {
  static_assert(std::is_void_v<T> || std::is_copy_constructible_v<T>,
                "co_await on a cf::Future<T> copies the value; a move-only T cannot be awaited: "
                "await cf::WhenAll({f}) and take it with std::move(f).Result() (cf/core/"
                "coroutine.h)");
  return future.Result();  // rethrows the task's exception, or CancelledError
}

// `co_await future`. The coroutine is resumed by whichever of two parties comes second: the
// registering await_suspend or the done-callback. If the callback runs first (the future
// completed while registering), await_suspend returns false and the coroutine goes on without
// suspending, instead of being resumed recursively from inside await_suspend.
template <typename T>
class FutureAwaiter {
 public:
  explicit FutureAwaiter(Future<T> future) : future_(std::move(future)) {}

  bool await_ready() const { return future_.Done(); }

  bool await_suspend(std::coroutine_handle<> coroutine) {
    // A handle of our own keeps the state alive while registering, even if the coroutine is
    // resumed elsewhere and destroys this awaiter meanwhile.
    const Future<T> keep = future_;
    keep.AddDoneCallback([this, coroutine](const Future<T>&) {
      if (arrived_.exchange(true, std::memory_order_acq_rel)) coroutine.resume();
    });
    // After this exchange, `this` may already be gone (when the callback comes second).
    return !arrived_.exchange(true, std::memory_order_acq_rel);
  }

  T await_resume() const { return AwaitedValue(future_); }

 private:
  Future<T> future_;
  std::atomic<bool> arrived_{false};
};

// The task ResumeOn submits: resume the coroutine on the executor's thread.
struct ResumeTask {
  std::coroutine_handle<> coroutine;
  void operator()() const { coroutine.resume(); }
};

template <typename R>
struct IsFuture : std::false_type {};
template <typename T>
struct IsFuture<Future<T>> : std::true_type {};

template <typename E>
concept ResumeExecutor = requires(E& executor, ResumeTask task) { executor.Submit(task); };

// `co_await ResumeOn(executor, future)`. await_suspend never touches the awaiter once the
// callback is registered: the coroutine may already be running on the executor.
template <ResumeExecutor E, typename T>
class ResumeOnAwaiter {
 public:
  ResumeOnAwaiter(E& executor, Future<T> future)
      : executor_(&executor), future_(std::move(future)) {}

  bool await_ready() const { return false; }  // always go to the executor

  void await_suspend(std::coroutine_handle<> coroutine) {
    const Future<T> keep = future_;
    keep.AddDoneCallback([this, coroutine](const Future<T>&) { Submit(coroutine); });
  }

  T await_resume() const {
    if (error_ != nullptr) std::rethrow_exception(error_);
    return AwaitedValue(future_);
  }

 private:
  // In the thread that completed future_. Touches `this` only when it resumes the coroutine
  // itself, that is, when the executor will not.
  void Submit(std::coroutine_handle<> coroutine) {
    using Job = decltype(executor_->Submit(ResumeTask{coroutine}));
    if constexpr (IsFuture<Job>::value) {
      Job job;
      try {
        job = executor_->Submit(ResumeTask{coroutine});
      } catch (...) {
        Refused(coroutine, std::current_exception());
        return;
      }
      job.AddDoneCallback([this, coroutine](const Job& ran) {
        if (!ran.Cancelled()) return;  // it ran: the coroutine is (or was) on the executor
        Refused(coroutine, std::make_exception_ptr(ShutdownError(
                               "the executor was shut down before the coroutine could resume "
                               "on it")));
      });
    } else {
      try {
        executor_->Submit(ResumeTask{coroutine});
      } catch (...) {
        Refused(coroutine, std::current_exception());
      }
    }
  }

  // Nothing will resume the coroutine on the executor: resume it here, to throw `error`.
  void Refused(std::coroutine_handle<> coroutine, std::exception_ptr error) {
    error_ = std::move(error);
    coroutine.resume();
  }

  E* executor_;
  Future<T> future_;
  std::exception_ptr error_;
};

// The outcome a Future<T> coroutine stores until its frame is gone: return_value or
// return_void, whichever the coroutine's type calls for. Stored is what the final awaiter moves
// out of the frame; Deliver completes the future with it.
template <typename T>
class CoroutineOutcome {
 public:
  template <typename U = T>
    requires std::is_constructible_v<T, U&&>
  void return_value(U&& value) {
    stored_.emplace(std::forward<U>(value));
  }

 protected:
  using Stored = std::optional<T>;
  static void Deliver(Promise<T>& promise, Stored& stored) {
    if (stored.has_value()) promise.TrySetResult(std::move(*stored));
  }
  Stored stored_;
};

template <>
class CoroutineOutcome<void> {
 public:
  void return_void() { stored_ = true; }

 protected:
  using Stored = bool;
  static void Deliver(Promise<void>& promise, Stored stored) {
    if (stored) promise.TrySetResult();
  }
  Stored stored_ = false;
};

// The promise type of a coroutine returning Future<T>: eager start, no final suspension. The
// final awaiter moves the outcome out of the frame, destroys the frame, then completes the
// future, so the future's callbacks never run with the frame alive.
template <typename T>
class FutureCoroutinePromise : public CoroutineOutcome<T> {
  using Base = CoroutineOutcome<T>;

 public:
  Future<T> get_return_object() {
    Future<T> future = promise_.GetFuture();
    promise_.SetRunningOrNotifyCancel();  // nobody else has the future yet: always true
    return future;
  }
  std::suspend_never initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<FutureCoroutinePromise> coroutine) noexcept {
      FutureCoroutinePromise& self = coroutine.promise();
      Promise<T> promise = std::move(self.promise_);
      std::exception_ptr error = std::move(self.error_);
      typename Base::Stored stored{};
      try {
        stored = std::move(self.stored_);
      } catch (...) {  // moving the value threw
        error = std::current_exception();
      }
      coroutine.destroy();
      try {
        if (error == nullptr) Base::Deliver(promise, stored);
      } catch (...) {  // moving the value into the future threw
        error = std::current_exception();
      }
      if (error != nullptr) promise.TrySetException(std::move(error));
      // A promise still not complete fails its future with BrokenPromise as it goes.
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() { error_ = std::current_exception(); }

 private:
  Promise<T> promise_;
  std::exception_ptr error_;
};

}  // namespace internal

// `co_await future`: see the file comment.
template <typename T>
internal::FutureAwaiter<T> operator co_await(Future<T> future) {
  return internal::FutureAwaiter<T>(std::move(future));
}

// `co_await cf::ResumeOn(executor, future)`: like `co_await future`, but the coroutine goes on
// in a task submitted to `executor`. Throws from the co_await what Submit threw.
template <internal::ResumeExecutor E, typename T>
internal::ResumeOnAwaiter<E, T> ResumeOn(E& executor, Future<T> future) {
  return internal::ResumeOnAwaiter<E, T>(executor, std::move(future));
}

}  // namespace cf

// cf::Future<T> as a coroutine return type, for free functions and member functions alike.
template <typename T, typename... Args>
struct std::coroutine_traits<cf::Future<T>, Args...> {
  using promise_type = cf::internal::FutureCoroutinePromise<T>;
};

#endif  // CF_CORE_COROUTINE_H_
