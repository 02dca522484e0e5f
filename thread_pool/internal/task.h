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
// Counting (ThreadPoolExecutor::stats()): each task reports how its call ended — completed,
// failed or cancelled, exactly once, in whichever of RunTask/CancelTask/FailTask ends it — to
// the TaskSink of the thread doing so (current_task_sink: a worker's own sink, or the sink a
// Shutdown/Break installs while it drops tasks). A Submit call is counted before its future
// completes (after, when storing its result may throw: it then failed), so a thread that saw
// the future done sees the count. A call whose future was cancelled while queued is counted
// as cancelled when a worker reaches it. DiscardTask (refused at Push) counts nothing.
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

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cf/core/internal/shared_state.h"
#include "cf/core/internal/task.h"

namespace cf::internal {

// Where tasks report how their calls ended, and where a running call that takes a
// std::stop_token publishes its stop source so that the pool can signal it (Shutdown with
// request_stop). One per worker (in its batch slot), plus short-lived ones that Shutdown and
// Break install while they cancel or fail queued tasks. Counts have one writer at a time (the
// thread whose sink it is: plain relaxed load+store, no read-modify-write on the hot path) and
// any number of readers (stats()).
class TaskSink {
 public:
  enum Outcome { kCompleted = 0, kFailed = 1, kCancelled = 2 };

  TaskSink() = default;
  // stop_all: the pool's "every call is asked to stop" flag, checked as a stoppable call starts.
  explicit TaskSink(const std::atomic<bool>* stop_all) : stop_all_(stop_all) {}
  TaskSink(const TaskSink&) = delete;
  TaskSink& operator=(const TaskSink&) = delete;

  void Count(Outcome outcome) noexcept {
    std::atomic<int64_t>& c = counts_[outcome];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  int64_t count(Outcome outcome) const noexcept {
    return counts_[outcome].load(std::memory_order_relaxed);
  }

  // A call taking a std::stop_token starts / ends on this sink's worker
  // (worker_pool_shutdown.cc).
  // Started signals `source` at once when the pool already asked every call to stop.
  void Started(const std::stop_source& source) noexcept;
  void Ended() noexcept;
  // Signals the stop source of the stoppable call running on this sink's worker, if any.
  // Runs the call's std::stop_callbacks in this thread; holds no lock meanwhile.
  void RequestStopRunning() noexcept;

 private:
  std::atomic<int64_t> counts_[3] = {};
  const std::atomic<bool>* const stop_all_ = nullptr;
  absl::Mutex mu_;  // held only to copy running_, never while user code runs
  std::stop_source running_ ABSL_GUARDED_BY(mu_){std::nostopstate};
};

// The sink of the thread that runs or drops tasks now; nullptr elsewhere
// (worker_pool_shutdown.cc).
extern constinit thread_local TaskSink* current_task_sink;

// Installs `sink` as this thread's current_task_sink for its lifetime (restoring the outer
// one: a Shutdown called from a task of another pool must not count into that task's worker).
class ScopedTaskSink {
 public:
  explicit ScopedTaskSink(TaskSink* sink) noexcept : outer_(current_task_sink) {
    current_task_sink = sink;
  }
  ~ScopedTaskSink() { current_task_sink = outer_; }
  ScopedTaskSink(const ScopedTaskSink&) = delete;
  ScopedTaskSink& operator=(const ScopedTaskSink&) = delete;

 private:
  TaskSink* const outer_;
};

inline void CountTask(TaskSink* sink, TaskSink::Outcome outcome) noexcept {
  if (sink != nullptr) sink->Count(outcome);
}

// Publishes a running call's stop source on its worker's sink for as long as the call runs.
class StoppableScope {
 public:
  StoppableScope(TaskSink* sink, const std::stop_source& source) noexcept : sink_(sink) {
    if (sink_ != nullptr) sink_->Started(source);
  }
  ~StoppableScope() {
    if (sink_ != nullptr) sink_->Ended();
  }
  StoppableScope(const StoppableScope&) = delete;
  StoppableScope& operator=(const StoppableScope&) = delete;

 private:
  TaskSink* const sink_;
};

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
    TaskSink* const sink = current_task_sink;  // the worker's
    bool counted = false;
    try {
      // Once running, this task is its future's only completer (SetValueWhileRunning).
      if (!this->SetRunningOrNotifyCancel()) {
        call_.reset();
        counted = true;
        CountTask(sink, TaskSink::kCancelled);  // cancelled through its future while queued
      } else if constexpr (std::is_void_v<T>) {
        Invoke(sink);
        call_.reset();
        counted = true;
        CountTask(sink, TaskSink::kCompleted);
        this->SetValueWhileRunning();
      } else if constexpr (std::is_reference_v<Invoked>) {
        // The reference may point into the call's own state: copy it out first.
        counted = Complete(sink, Invoke(sink));
        call_.reset();
      } else {
        T value = Invoke(sink);
        call_.reset();
        counted = Complete(sink, std::move(value));
      }
    } catch (...) {
      call_.reset();
      if (!counted) CountTask(sink, TaskSink::kFailed);
      this->TrySetError(std::current_exception());
    }
    this->Unref();
  }

  void CancelTask() noexcept override {
    call_.reset();
    CountTask(current_task_sink, TaskSink::kCancelled);
    this->Cancel();
    this->Unref();
  }

  void FailTask(std::exception_ptr error) noexcept override {
    call_.reset();
    CountTask(current_task_sink, TaskSink::kFailed);
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

  // Stores the value and counts the call as completed: first the count when storing cannot
  // throw (so whoever sees the future done sees the count), else after the store succeeded
  // (a throwing store makes the call a failure, counted by RunTask's catch). Returns true.
  template <typename V>
  bool Complete(TaskSink* sink, V&& value) {
    if constexpr (std::is_nothrow_constructible_v<T, V&&>) {
      CountTask(sink, TaskSink::kCompleted);
      this->SetValueWhileRunning(std::forward<V>(value));
    } else {
      this->SetValueWhileRunning(std::forward<V>(value));
      CountTask(sink, TaskSink::kCompleted);
    }
    return true;
  }

  Invoked Invoke([[maybe_unused]] TaskSink* sink) {
    return std::apply(
        [&](F& fn, Args&... args) -> Invoked {
          if constexpr (kStop) {
            StoppableScope scope(sink, stop_.source);  // Shutdown(request_stop) can signal it
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
    TaskSink* const sink = current_task_sink;
    try {
      std::apply([](F& fn, Args&... args) { std::invoke(std::move(fn), std::move(args)...); },
                 call_);
      CountTask(sink, TaskSink::kCompleted);
    } catch (...) {
      CountTask(sink, TaskSink::kFailed);
      ReportDetachedException(std::current_exception(), kPostOrigin);
    }
    delete this;
  }
  void CancelTask() noexcept override {
    CountTask(current_task_sink, TaskSink::kCancelled);
    delete this;
  }
  void FailTask(std::exception_ptr error) noexcept override {
    CountTask(current_task_sink, TaskSink::kFailed);
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
