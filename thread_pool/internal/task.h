// cf/thread_pool/internal/task.h — a submitted call and its future's state in one allocation.
//
// Not part of the public API: use cf::ThreadPoolExecutor::Submit.
//
// TaskState<T, Call> derives from the future's SharedState<T> and adds the decay-copied callable
// with its arguments, plus the Task interface the worker pool queues (cf/core/internal/task.h:
// an intrusive `next` link, so queueing allocates nothing). One Submit() is therefore exactly
// one heap allocation (two when the call takes a std::stop_token: its std::stop_source; no
// other task pays for it).
//
// PostedTask<F, Args...> is what Post() queues instead: the call without a future.
//
// Ownership: a new TaskState has one reference, owned by the queue. Submit() takes a second one
// for the Future it returns. Exactly one of RunTask(), CancelTask(), FailTask() or DiscardTask() is
// called per task, by whoever holds the queue's reference, and it drops that reference.
//
// The callable and its arguments are destroyed before the future completes (on success, on an
// exception, when cancelled or failed), so nothing the task captured outlives the point where a
// waiter sees the result — unlike Python, which drops the work item a moment later.
//
// Thread safety: RunTask/CancelTask/FailTask/DiscardTask are called from one thread (the one that
// dequeued the task); the future side may be used concurrently from any thread (see
// cf/core/future.h).
#ifndef CF_THREAD_POOL_INTERNAL_TASK_H_
#define CF_THREAD_POOL_INTERNAL_TASK_H_

#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cf/core/internal/shared_state.h"
#include "cf/core/internal/task.h"

namespace cf::internal {

// Whether a call takes a std::stop_token before its arguments (as std::jthread decides): the
// task then owns a std::stop_source that Future::RequestStop() signals. F and Args decayed.
template <typename F, typename... Args>
inline constexpr bool kTakesStopToken = std::is_invocable_v<F, std::stop_token, Args...>;

template <typename F, typename... Args>
struct TaskInvokeResult : std::invoke_result<F, Args...> {};
template <typename F, typename... Args>
  requires kTakesStopToken<F, Args...>
struct TaskInvokeResult<F, Args...> : std::invoke_result<F, std::stop_token, Args...> {};

// Whether Submit(fn, args...) can call fn, with or without a leading std::stop_token.
template <typename F, typename... Args>
inline constexpr bool kSubmittable =
    std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...> ||
    kTakesStopToken<std::decay_t<F>, std::decay_t<Args>...>;

// The result type of a Submit(fn, args...) as std::thread would call it: decayed copies, called
// as rvalues (after a std::stop_token if fn takes one). References are stored as values.
template <typename F, typename... Args>
using SubmitResultOf = std::remove_cvref_t<
    typename TaskInvokeResult<std::decay_t<F>, std::decay_t<Args>...>::type>;

// A task's stop source: only tasks whose call takes a std::stop_token have one (it allocates
// its shared state); for the others it is empty and takes no room.
template <bool kHas>
struct StopSlot {};
template <>
struct StopSlot<true> {
  std::stop_source source;
};

template <typename T, typename F, typename... Args>
class TaskState final : public SharedState<T>, public Task {
 public:
  template <typename FF, typename... AA>
  explicit TaskState(FF&& fn, AA&&... args)
      : call_(std::in_place, std::forward<FF>(fn), std::forward<AA>(args)...) {}

  void RunTask() noexcept override {
    try {
      // Once running, this task is its future's only completer (SetValueWhileRunning).
      if (!this->SetRunningOrNotifyCancel()) {
        call_.reset();
      } else if constexpr (std::is_void_v<T>) {
        Invoke();
        call_.reset();
        this->SetValueWhileRunning();
      } else if constexpr (std::is_reference_v<Invoked>) {
        // The reference may point into the call's own state: copy it out first.
        this->SetValueWhileRunning(Invoke());
        call_.reset();
      } else {
        T value = Invoke();
        call_.reset();
        this->SetValueWhileRunning(std::move(value));
      }
    } catch (...) {
      call_.reset();
      this->TrySetError(std::current_exception());
    }
    this->Unref();
  }

  void CancelTask() noexcept override {
    call_.reset();
    this->Cancel();
    this->Unref();
  }

  void FailTask(std::exception_ptr error) noexcept override {
    call_.reset();
    this->TrySetError(std::move(error));
    this->Unref();
  }

  void DiscardTask() noexcept override { this->Unref(); }

 protected:
  // Future::RequestStop() on the running task (any thread; the state is alive meanwhile).
  bool RequestStopRunning() override {
    if constexpr (kStop) {
      stop_.source.request_stop();
      return true;
    } else {
      return false;
    }
  }

 private:
  static constexpr bool kStop = kTakesStopToken<F, Args...>;
  using Call = std::tuple<F, Args...>;
  using Invoked = typename TaskInvokeResult<F, Args...>::type;

  Invoked Invoke() {
    return std::apply(
        [this](F& fn, Args&... args) -> Invoked {
          if constexpr (kStop) {
            return std::invoke(std::move(fn), stop_.source.get_token(), std::move(args)...);
          } else {
            return std::invoke(std::move(fn), std::move(args)...);
          }
        },
        *call_);
  }

  std::optional<Call> call_;
  [[no_unique_address]] StopSlot<kStop> stop_;
};

// What Post() queues: the decay-copied call alone, no future (one allocation, freed once the
// call ran or was dropped). An exception escaping the call, or the pool's error when a broken
// pool fails it unrun, goes to the callback-exception handler (ReportDetachedException); a call
// dropped by Shutdown(cancel_futures) or refused by Push is dropped silently.
template <typename F, typename... Args>
class PostedTask final : public Task {
 public:
  template <typename FF, typename... AA>
  explicit PostedTask(FF&& fn, AA&&... args)
      : call_(std::forward<FF>(fn), std::forward<AA>(args)...) {}

  void RunTask() noexcept override {
    try {
      std::apply([](F& fn, Args&... args) { std::invoke(std::move(fn), std::move(args)...); },
                 call_);
    } catch (...) {
      ReportDetachedException(std::current_exception(), kPostOrigin);
    }
    delete this;
  }
  void CancelTask() noexcept override { delete this; }
  void FailTask(std::exception_ptr error) noexcept override {
    ReportDetachedException(std::move(error), kPostOrigin);
    delete this;
  }
  void DiscardTask() noexcept override { delete this; }

 private:
  static constexpr char kPostOrigin[] = "a task run by cf::ThreadPoolExecutor::Post";
  std::tuple<F, Args...> call_;
};

}  // namespace cf::internal

#endif  // CF_THREAD_POOL_INTERNAL_TASK_H_
