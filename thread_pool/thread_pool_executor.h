// cf/thread_pool/thread_pool_executor.h — cf::ThreadPoolExecutor, Python's
// concurrent.futures.ThreadPoolExecutor.
//
// Runs calls on a pool of at most max_workers threads and hands back a cf::Future for each:
//
//   * Submit(fn, args...) copies fn and args (decayed, as std::thread does), queues the call and
//     returns a Future<R>, R being what fn returns (void and move-only types work; a returned
//     reference is stored as a copy). An exception thrown by the call is stored in the future;
//     it never escapes a worker. One heap allocation per Submit: the call lives inside the
//     future's shared state, and is destroyed before the future completes.
//   * Map(fn, inputs, MapOptions) calls fn on every element of `inputs` (a std::tuple / std::pair
//     element is spread into several arguments) and returns a cf::MapResults range yielding the
//     results in input order; see cf/core/executor.h for timeout, chunksize and buffersize.
//     Map(fn, a, b, ..., MapOptions) is Python's map(fn, a, b): fn(a[i], b[i], ...), ending
//     with the shortest range. fn is copied once and called concurrently from the workers, as
//     an lvalue.
//   * Threads start lazily, one per Submit that finds no idle worker, up to max_workers; idle
//     threads are reused first. They are named "<prefix>_<n>" (n = 0, 1, ...), cut to Linux's
//     15 characters keeping "_<n>"; the default prefix is "ThreadPoolExecutor-<k>", k counting
//     the executors created without a prefix.
//   * initializer runs once in each worker thread before its first task. If it throws, the
//     error is printed to stderr and the pool is broken: every queued future fails with its own
//     cf::BrokenThreadPool("A thread initializer failed, the thread pool is not usable
//     anymore"), and every later Submit/Map throws it.
//
// State machine:
//
//   running ──Shutdown(wait, cancel_futures)──► shut down ──(queue drained, workers exit)──►
//     │            Submit/Map throw cf::ShutdownError("cannot schedule new futures after
//     │            shutdown"); queued calls still run unless cancel_futures, which cancels them
//     │            (their waiters wake at once, docs/semantics.md deviation 1)
//     └──initializer throws──► broken: Submit/Map throw cf::BrokenThreadPool
//
// Shutdown is idempotent; the destructor is Shutdown(/*wait=*/true).
//
// Waiting for the pool to go idle: WaitIdle(timeout) returns true once nothing is queued or
// running. Post(fn, args...) is Submit without a future, for calls whose result nobody reads.
//
// Thread safety: every method may be called from any thread concurrently, including from tasks
// running on this executor and from done-callbacks: a task may Submit to its own executor, and
// Shutdown(true) called from a task waits for every other worker but never for its own thread,
// nor for other tasks that are themselves in Shutdown (the destructor joins the threads later). A
// task may even drop the last reference to its executor: the destructor then runs on that worker
// and leaves the worker's own thread to exit by itself. Happens-before: everything before Submit()
// happens-before the call runs; the call and the destruction of its copied arguments happen-before
// any observation of its completion (Result(), Done(), Wait(), done-callbacks). Everything a
// task did — a submitted, posted or mapped call, its done-callbacks and the destruction of its
// copies — happens-before WaitIdle() returning true. Shutdown(true) returning (from outside the
// executor's workers) happens-after every task that ran on the executor.
//
// Differences from CPython (see docs/semantics.md §4 and §6): no keyword arguments, no initargs
// (bind them into the initializer), futures cancelled by Shutdown(cancel_futures=true) are done
// for cf::Wait/cf::AsCompleted too, and a failed initializer is reported on stderr instead of
// the "concurrent.futures" logger.
//
// Example:
//   cf::ThreadPoolExecutor pool({.max_workers = 4, .thread_name_prefix = "io"});
//   cf::Future<int> f = pool.Submit([](int a, int b) { return a * b; }, 6, 7);
//   int product = f.Result(absl::Seconds(5));            // 42, or throws what the call threw
//   for (std::string& s : pool.Map([](int i) { return std::to_string(i); },
//                                  std::views::iota(0, 10))) {
//     std::cout << s << "\n";
//   }
//   pool.Shutdown();  // or let the destructor do it
#ifndef CF_THREAD_POOL_THREAD_POOL_EXECUTOR_H_
#define CF_THREAD_POOL_THREAD_POOL_EXECUTOR_H_

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/future.h"
#include "cf/core/internal/map.h"
#include "cf/core/timeout.h"
#include "cf/thread_pool/internal/task.h"
#include "cf/thread_pool/internal/worker_pool.h"

namespace cf {

namespace internal {
class ThreadPoolExecutorPeer;
}  // namespace internal

class ThreadPoolExecutor {
 public:
  struct Options {
    // At most this many threads. 0: Python's default, min(32, CPUs of this process + 4).
    // Negative: std::invalid_argument("max_workers must be greater than 0").
    int max_workers = 0;
    // Thread names "<thread_name_prefix>_<n>"; empty: "ThreadPoolExecutor-<k>".
    std::string thread_name_prefix{};
    // Runs once in each worker before its first task; if it throws, the pool is broken.
    std::function<void()> initializer{};
  };

  // Default options.
  ThreadPoolExecutor();
  // At most max_workers threads; std::invalid_argument("max_workers must be greater than 0")
  // unless max_workers > 0 (Python's ThreadPoolExecutor(max_workers=0) is an error too).
  explicit ThreadPoolExecutor(int max_workers);
  explicit ThreadPoolExecutor(Options options);

  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  // Shutdown(/*wait=*/true): queued calls run, then every worker is joined.
  ~ThreadPoolExecutor();

  // Schedules fn(args...) — on decayed copies, as std::thread does — and returns its future.
  // When fn can take a std::stop_token first (as std::jthread decides), it is called as
  // fn(token, args...) with a token tied to the future: future.RequestStop() signals it while
  // the call runs (and cancels the call while it is queued). Never blocks on running tasks. Throws cf::ShutdownError after Shutdown(),
  // cf::BrokenThreadPool once an initializer failed, and whatever copying fn or args throws.
  template <typename F, typename... Args>
  auto Submit(F&& fn, Args&&... args) {
    static_assert(internal::kSubmittable<F, Args...>,
                  "cf::ThreadPoolExecutor::Submit(fn, args...): fn cannot be called with (copies "
                  "of) these arguments as rvalues; check the argument types, or wrap fn in a "
                  "lambda");
    using T = internal::SubmitResultOf<F, Args...>;
    auto* task = new internal::TaskState<T, std::decay_t<F>, std::decay_t<Args>...>(
        std::forward<F>(fn), std::forward<Args>(args)...);
    Future<T> future = internal::FutureAccess::FirstHandle<T>(task);
    pool_->Push(task);
    return future;
  }

  // Fire-and-forget: schedules fn(args...) like Submit but returns nothing and allocates no
  // future (one heap allocation: the decayed copies of fn and args); fn's result is discarded.
  // An exception escaping the call goes to the callback-exception handler
  // (cf::SetCallbackExceptionHandler, with an invalid AnyFuture; the default prints
  // "exception in a task run by cf::ThreadPoolExecutor::Post: <what>"), and so does the pool's
  // BrokenThreadPool for a posted call that a failed initializer kept from running; nothing is
  // lost silently, except calls dropped by Shutdown(cancel_futures=true) on purpose. Throws as
  // Submit: cf::ShutdownError after Shutdown(), cf::BrokenThreadPool once an initializer failed.
  template <typename F, typename... Args>
  void Post(F&& fn, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                  "cf::ThreadPoolExecutor::Post(fn, args...): fn cannot be called with (copies "
                  "of) these arguments as rvalues; check the argument types, or wrap fn in a "
                  "lambda");
    pool_->Push(new internal::PostedTask<std::decay_t<F>, std::decay_t<Args>...>(
        std::forward<F>(fn), std::forward<Args>(args)...));
  }

  // Blocks until nothing is queued or running on this executor — every call submitted, posted
  // or mapped so far has returned, done-callbacks included — or until `timeout` passes (an
  // absl::Duration or a std::chrono duration; zero or negative: just checks). Returns true once
  // idle, false at the timeout. Calls submitted meanwhile count too, so with a steady stream of
  // work it may never be idle. From one of this executor's tasks (or callbacks) it waits for
  // everything else: its own task, and tasks blocked in WaitIdle or Shutdown(wait) themselves,
  // count as idle (calls queued behind it go to other workers, or to a new thread if
  // max_workers allows; when every worker is blocked, queued calls cannot run and it returns
  // false at the timeout). Never throws; works after Shutdown() too.
  bool WaitIdle(Timeout timeout = absl::InfiniteDuration()) const;

  // Calls fn on every element of `inputs` (see the file comment and cf/core/executor.h) and
  // returns the results as a MapResults range, in input order. An lvalue range is referenced
  // and must outlive the results while inputs remain to be pulled (buffersize > 0); an rvalue
  // range is moved in. Throws std::invalid_argument for bad options, and what Submit throws
  // for the chunks submitted at the call.
  template <typename F, typename Range>
    requires std::ranges::input_range<Range>
  auto Map(F&& fn, Range&& inputs, MapOptions options = {}) {
    return MapRanges(std::forward<F>(fn), options, std::forward<Range>(inputs));
  }
  // Python's map(fn, a, b, ...): fn(a[i], b[i], ...) for each i, ending with the shortest
  // range; each range is held and pulled as above (unbounded ones work). Options, if any, come
  // last: pool.Map(fn, a, b, {.chunksize = 10}) (a braced list needs the type name,
  // cf::MapOptions{...}, after three or more ranges).
  template <typename F, typename R1, typename R2, typename... More>
    requires internal::kSeveralMapRanges<R1, R2, More...>
  auto Map(F&& fn, R1&& a, R2&& b, More&&... more) {
    return internal::CallWithMapArgs(
        [&](const MapOptions& options, auto&&... ranges) {
          return MapRanges(std::forward<F>(fn), options, std::forward<decltype(ranges)>(ranges)...);
        },
        std::forward<R1>(a), std::forward<R2>(b), std::forward<More>(more)...);
  }
  template <typename F, typename R1, typename R2>
    requires std::ranges::input_range<R1> && std::ranges::input_range<R2>
  auto Map(F&& fn, R1&& a, R2&& b, MapOptions options) {
    return MapRanges(std::forward<F>(fn), options, std::forward<R1>(a), std::forward<R2>(b));
  }
  // Map over a braced list: pool.Map(fn, {1, 2, 3}).
  template <typename F, typename T>
  auto Map(F&& fn, std::initializer_list<T> inputs, MapOptions options = {}) {
    return Map(std::forward<F>(fn), std::vector<T>(inputs), options);
  }

  // Python's shutdown(wait=True, *, cancel_futures=False); idempotent. After it, Submit and Map
  // throw cf::ShutdownError. cancel_futures cancels every queued call that has not started.
  // wait blocks until every queued call ran and every worker exited (when called from one of
  // this executor's tasks: every other worker).
  void Shutdown(bool wait = true, bool cancel_futures = false);

  // The most threads this executor runs.
  int max_workers() const;

 private:
  friend class internal::ThreadPoolExecutorPeer;
  friend struct internal::TaskPusher<ThreadPoolExecutor>;

  // Map over one range or several zipped (cf/core/internal/map.h).
  template <typename F, typename... Ranges>
  auto MapRanges(F&& fn, const MapOptions& options, Ranges&&... inputs) {
    ValidateMapOptions(options);
    using Fn = std::decay_t<F>;
    using Item = internal::MapItemOf<Ranges...>;
    static_assert(internal::kMapCallable<Fn, Ranges...>,
                  "cf::ThreadPoolExecutor::Map(fn, inputs...): fn cannot be called with an element "
                  "of inputs (nor with the elements of a tuple/pair element as separate "
                  "arguments), or, over several ranges, with one element of each");
    using R = internal::MapResultOf<Fn, Item>;
    auto shared_fn = std::make_shared<Fn>(std::forward<F>(fn));
    auto submit =
        [shared_fn = std::move(shared_fn), pool = pool_](
            internal::MapItems<Item>&& items) -> std::optional<Future<internal::MapChunk<R>>> {
      // Like Python's map holding only a weakref to its executor: once the executor is
      // destroyed, no more inputs are submitted and the iteration ends after those in flight.
      if (pool->orphaned()) return std::nullopt;
      using Chunk = internal::MapChunk<R>;
      auto run = [](std::shared_ptr<Fn>&& f, internal::MapItems<Item>&& chunk) -> Chunk {
        return internal::RunMapChunk<R>(*f, chunk);
      };
      auto* task =
          new internal::TaskState<Chunk, decltype(run), std::shared_ptr<Fn>,
                                  internal::MapItems<Item>>(run, shared_fn, std::move(items));
      Future<Chunk> future = internal::FutureAccess::FirstHandle<Chunk>(task);
      pool->Push(task);
      return future;
    };
    return internal::MakeMapResults<R>(options, std::move(submit), std::forward<Ranges>(inputs)...);
  }

  std::shared_ptr<internal::WorkerPool> pool_;
};

namespace internal {
// Continuations on a thread pool (Future<T>::Then(pool, fn)) are queued as they are.
template <>
struct TaskPusher<ThreadPoolExecutor> {
  static void Push(ThreadPoolExecutor& executor, Task* task) { executor.pool_->Push(task); }
};
}  // namespace internal

}  // namespace cf

#endif  // CF_THREAD_POOL_THREAD_POOL_EXECUTOR_H_
