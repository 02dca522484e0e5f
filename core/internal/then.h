// cf/core/internal/then.h — the templates behind Future<T>::Then and Future<T>::ThenValue.
//
// Not part of the public API: included at the end of cf/core/future.h, which documents the
// members. Each continuation is a done-callback on the source future (AddDoneCallback) that
// owns the Promise<U> of the result and the decayed copy of fn.
//
// Trampoline: a continuation that runs inline completes its result, which runs the result's
// own callbacks (the next link of a chain) in the same thread. To keep the stack flat for long
// chains, RunContinuation runs its work at once only when this thread is not already running
// one; otherwise it queues the work in a thread_local FIFO that the outermost call drains before
// it returns. Each queued item owns its link (promise, fn, a handle to the source), and is
// destroyed as soon as it ran, so a chain frees each link as it completes. The queue is
// per-thread, so it needs no synchronisation.
#ifndef CF_CORE_INTERNAL_THEN_H_
#define CF_CORE_INTERNAL_THEN_H_

#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "cf/core/errors.h"

namespace cf {
namespace internal {

// This thread's trampoline (core/internal/then.cc): one per thread, shared by every
// continuation type.
struct ContinuationTrampoline {
  bool active = false;
  std::deque<absl::AnyInvocable<void() &&>> queue;
};
ContinuationTrampoline& ThisThreadTrampoline();
// Runs the queued work until none is left, then marks the trampoline inactive.
void DrainContinuations(ContinuationTrampoline& t) noexcept;

// Runs work() (which must not throw) now, or after the continuation this thread is running.
template <typename W>
void RunContinuation(W&& work) {
  ContinuationTrampoline& t = ThisThreadTrampoline();
  if (t.active) {
    t.queue.emplace_back(std::forward<W>(work));
    return;
  }
  t.active = true;
  std::forward<W>(work)();
  DrainContinuations(t);
}

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

// The outcome of a done future `g` onto p (whose future is running or pending): the value
// (copied), the exception, or cf::CancelledError for a cancelled g.
template <typename U>
void ForwardOutcome(Promise<U>& p, const Future<U>& g) noexcept {
  try {
    if (g.Cancelled()) {
      p.TrySetException(std::make_exception_ptr(CancelledError()));
    } else if (std::exception_ptr e = g.Exception(); e != nullptr) {
      p.TrySetException(std::move(e));
    } else if constexpr (std::is_void_v<U>) {
      p.TrySetResult();
    } else {
      p.TrySetResult(g.Result());
    }
  } catch (...) {
    p.TrySetException(std::current_exception());
  }
}

// Calls call() and completes p with what it returns (or, for a future, with that future's
// outcome once it is done) or with what it throws.
template <typename U, typename Call>
void CompleteWith(Promise<U>& p, Call&& call) noexcept {
  using R = decltype(std::forward<Call>(call)());
  try {
    if constexpr (ThenResultOf<std::remove_cvref_t<R>>::kFlatten) {
      std::remove_cvref_t<R> inner = std::forward<Call>(call)();
      if (!inner.valid()) {
        throw std::invalid_argument("a Then continuation returned an invalid cf::Future");
      }
      inner.AddDoneCallback(
          [q = std::move(p)](const Future<U>& g) mutable { ForwardOutcome(q, g); });
    } else if constexpr (std::is_void_v<R>) {
      std::forward<Call>(call)();
      p.TrySetResult();
    } else {
      p.TrySetResult(std::forward<Call>(call)());
    }
  } catch (...) {
    if (p.valid()) p.TrySetException(std::current_exception());
  }
}

// Then: fn(f) unless the result was cancelled first.
template <typename U, typename T, typename Fn>
void RunThen(Promise<U>& p, Fn& fn, const Future<T>& f) noexcept {
  try {
    if (!p.SetRunningOrNotifyCancel()) return;  // the result was cancelled: fn never runs
  } catch (...) {
    return;  // not pending (cannot happen: only this continuation completes p)
  }
  CompleteWith(p, [&]() -> decltype(auto) { return std::invoke(std::move(fn), f); });
}

// ThenValue: f's exception or cancellation passes through; otherwise fn(value) unless the
// result was cancelled first.
template <typename U, typename T, typename Fn>
void RunThenValue(Promise<U>& p, Fn& fn, const Future<T>& f) noexcept {
  try {
    if (f.Cancelled()) {
      p.TrySetException(std::make_exception_ptr(CancelledError()));
      return;
    }
    if (std::exception_ptr e = f.Exception(); e != nullptr) {
      p.TrySetException(std::move(e));
      return;
    }
    if (!p.SetRunningOrNotifyCancel()) return;
  } catch (...) {
    if (!p.GetFuture().Done()) p.TrySetException(std::current_exception());
    return;
  }
  CompleteWith(p, [&]() -> decltype(auto) {
    if constexpr (std::is_void_v<T>) {
      return std::invoke(std::move(fn));
    } else {
      return std::invoke(std::move(fn), f.Result());
    }
  });
}

template <typename Fn, typename T>
struct ThenValueInvokedOf : std::invoke_result<Fn, const T&> {};
template <typename Fn>
struct ThenValueInvokedOf<Fn, void> : std::invoke_result<Fn> {};
template <typename Fn, typename T>
using ThenValueInvoked = typename ThenValueInvokedOf<Fn, T>::type;

// One continuation's state, shared between the executor variant's callback and the task it
// posts, so that a refused Post/Submit can still fail the result with the executor's error.
template <typename T, typename U, typename Fn>
struct ThenLink {
  Promise<U> promise;
  Fn fn;
  Future<T> source;
};

// Hands run() to `executor`: Post when it has one (no future), else Submit.
template <typename E, typename Run>
void Dispatch(E& executor, Run&& run) {
  if constexpr (requires { executor.Post(std::forward<Run>(run)); }) {
    executor.Post(std::forward<Run>(run));
  } else {
    static_assert(requires { executor.Submit(std::forward<Run>(run)); },
                  "Then(executor, fn): the executor needs a Submit(callable) or Post(callable)");
    executor.Submit(std::forward<Run>(run));
  }
}

template <bool kValue, typename U, typename T, typename Fn, typename E>
void ScheduleOn(E& executor, Promise<U>&& p, Fn&& fn, const Future<T>& f) noexcept {
  std::shared_ptr<ThenLink<T, U, Fn>> link;
  try {
    link = std::make_shared<ThenLink<T, U, Fn>>(
        ThenLink<T, U, Fn>{std::move(p), std::move(fn), f});
  } catch (...) {
    if (p.valid()) p.TrySetException(std::current_exception());
    return;
  }
  try {
    Dispatch(executor, [link]() noexcept {
      RunContinuation([link]() noexcept {
        if constexpr (kValue) {
          RunThenValue(link->promise, link->fn, link->source);
        } else {
          RunThen(link->promise, link->fn, link->source);
        }
      });
    });
  } catch (...) {
    link->promise.TrySetException(std::current_exception());  // e.g. cf::ShutdownError
  }
}

}  // namespace internal

template <typename T>
template <typename F>
auto Future<T>::Then(F&& fn) const {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn, const Future<T>&>,
                "Future<T>::Then(fn): fn must be callable with a const cf::Future<T>&");
  using U = internal::ThenResult<std::invoke_result_t<Fn, const Future<T>&>>;
  Promise<U> p;
  Future<U> result = p.GetFuture();
  AddDoneCallback([p = std::move(p), fn = Fn(std::forward<F>(fn))](const Future<T>& f) mutable {
    // The work owns the link: it may run after this callback object is gone (trampoline).
    internal::RunContinuation([p = std::move(p), fn = std::move(fn), f]() mutable noexcept {
      internal::RunThen(p, fn, f);
    });
  });
  return result;
}

template <typename T>
template <typename F>
auto Future<T>::ThenValue(F&& fn) const {
  using Fn = std::decay_t<F>;
  using U = internal::ThenResult<internal::ThenValueInvoked<Fn, T>>;
  Promise<U> p;
  Future<U> result = p.GetFuture();
  AddDoneCallback([p = std::move(p), fn = Fn(std::forward<F>(fn))](const Future<T>& f) mutable {
    internal::RunContinuation([p = std::move(p), fn = std::move(fn), f]() mutable noexcept {
      internal::RunThenValue(p, fn, f);
    });
  });
  return result;
}

template <typename T>
template <typename E, typename F>
auto Future<T>::Then(E& executor, F&& fn) const {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn, const Future<T>&>,
                "Future<T>::Then(executor, fn): fn must be callable with a const cf::Future<T>&");
  using U = internal::ThenResult<std::invoke_result_t<Fn, const Future<T>&>>;
  Promise<U> p;
  Future<U> result = p.GetFuture();
  AddDoneCallback([&executor, p = std::move(p),
                   fn = Fn(std::forward<F>(fn))](const Future<T>& f) mutable {
    // Through the trampoline too: a refused dispatch completes the result at once.
    internal::RunContinuation([&executor, p = std::move(p), fn = std::move(fn), f]() mutable {
      internal::ScheduleOn<false>(executor, std::move(p), std::move(fn), f);
    });
  });
  return result;
}

template <typename T>
template <typename E, typename F>
auto Future<T>::ThenValue(E& executor, F&& fn) const {
  using Fn = std::decay_t<F>;
  using U = internal::ThenResult<internal::ThenValueInvoked<Fn, T>>;
  Promise<U> p;
  Future<U> result = p.GetFuture();
  AddDoneCallback([&executor, p = std::move(p),
                   fn = Fn(std::forward<F>(fn))](const Future<T>& f) mutable {
    // Through the trampoline too: a refused dispatch completes the result at once.
    internal::RunContinuation([&executor, p = std::move(p), fn = std::move(fn), f]() mutable {
      internal::ScheduleOn<true>(executor, std::move(p), std::move(fn), f);
    });
  });
  return result;
}

}  // namespace cf

#endif  // CF_CORE_INTERNAL_THEN_H_
