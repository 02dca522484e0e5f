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
//   running ──Shutdown(...)──► shut down ──(queue drained, workers exit)──► terminated
//     │          Submit/Map/Post throw cf::ShutdownError("cannot schedule new futures after
//     │          shutdown"); queued calls still run unless cancel_futures, which cancels them
//     │          (their waiters wake at once, docs/semantics.md deviation 1); request_stop
//     │          signals the stop tokens of running calls and of queued ones as they start
//     └──initializer throws──► broken: Submit/Map/Post throw cf::BrokenThreadPool (still
//                              needs a Shutdown to terminate)
//
// Shutdown is idempotent (a later call may add cancel_futures or request_stop, or wait again);
// AwaitTermination(timeout) waits for "terminated" (Java's awaitTermination: before any
// Shutdown it just times out). The destructor is Shutdown(/*wait=*/true) whatever happened
// before: after a Shutdown whose deadline passed (it returned false, calls still running),
// the destructor still waits for those calls and joins every thread — a call that never
// returns blocks the destructor forever. A thread cannot be killed: to bound the end, give
// long calls a std::stop_token and use request_stop (or on_timeout = kTerminate/kKill, which
// here request stop at the deadline), or keep the executor alive (e.g. leak it) past a
// timed-out Shutdown.
//
// Who may call what: every method, from any thread — including this executor's own tasks and
// done-callbacks. From a task, Shutdown(wait) and AwaitTermination wait for every other worker
// but never for the calling task's own thread (nor for tasks that are themselves blocked in
// Shutdown, AwaitTermination or WaitIdle); they return true once the others have exited.
// stats() never blocks on running calls (it takes one short internal lock, never held while
// user code runs), so progress displays, tasks and callbacks may poll it freely.
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
//
//   // Or end within a deadline, asking calls that take a std::stop_token to stop:
//   if (!pool.Shutdown({.timeout = absl::Seconds(5), .request_stop = true})) {
//     cf::ExecutorStats s = pool.stats();  // s.busy_workers calls still running
//   }
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
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "cf/core/internal/map.h"
#include "cf/core/timeout.h"
#include "cf/thread_pool/internal/task.h"
#include "cf/thread_pool/internal/worker_pool.h"

namespace cf {

namespace internal {
class ThreadPoolExecutorPeer;
// Throws std::invalid_argument when MapOptions::chunk_timeout is set (process pool only).
void RejectChunkTimeout(const MapOptions& options);
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

  // Shutdown(/*wait=*/true): queued calls run, then every worker is joined — also after a
  // Shutdown whose deadline passed, so a call that never returns blocks the destructor.
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
  // range is moved in. Throws std::invalid_argument for bad options — among them a finite
  // MapOptions::chunk_timeout, a process-pool option (a thread cannot be stopped) — and what
  // Submit throws for the chunks submitted at the call.
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
  // this executor's tasks: every other worker), without a deadline. See Shutdown(options).
  void Shutdown(bool wait = true, bool cancel_futures = false);

  // Shutdown with a deadline (cf/core/executor_control.h); Shutdown(wait, cancel_futures) is
  // Shutdown({.wait = wait, .cancel_futures = cancel_futures}). In order: stops accepting work;
  // with request_stop, signals the std::stop_token of every running call that takes one and
  // marks the queued calls so that each is signalled as it starts (before its first line:
  // st.stop_requested() is already true); with cancel_futures, cancels every queued call
  // (their callbacks run in this thread). Then:
  //   * wait: blocks until every call has ended and every worker thread has been joined, or
  //     until `timeout` (counted from this call) runs out. Returns true iff all ended in time.
  //     At the deadline the calls are left running (kReturn). kTerminate and kKill cannot end a
  //     thread here: they act as kReturn, but first request stop as request_stop does (a call
  //     without a std::stop_token is not affected); Shutdown still returns false. Nothing is
  //     joined then: AwaitTermination or the destructor does it later.
  //   * !wait: returns at once, true iff every call had already ended (from a task: every call
  //     but its own and those blocked in Shutdown/AwaitTermination/WaitIdle).
  // From a task, "every worker" means every other worker (see the file comment). Throws
  // nothing. Shutdown(wait) returning true happens-after every call and its callbacks.
  bool Shutdown(const ShutdownOptions& options);

  // Java's awaitTermination: blocks until the executor is shut down and every call has ended
  // and every worker has exited (joining them), or until `timeout` passes (an absl::Duration
  // or std::chrono duration; zero: just checks). Returns whether it terminated. Before any
  // Shutdown it returns false once the timeout passes (unless another thread shuts the
  // executor down meanwhile and everything ends in time). For a Shutdown(wait=false), or one
  // whose deadline passed. From a task: as Shutdown(wait) from a task. Never throws.
  bool AwaitTermination(Timeout timeout);

  // A snapshot of the executor's counters (cf::ExecutorStats), cheap enough to poll: one
  // short lock shared with Submit's, no allocation, never blocked by running calls; callable
  // from tasks and done-callbacks. What counts as a call: each Submit, each Post and each Map
  // chunk (not each element); a Then(pool, fn) continuation runs on the pool (it shows in
  // queued and busy_workers) but is not counted. Outcomes:
  //   completed  the call returned (a Post call too);
  //   failed     it threw, or a broken pool failed it unrun (Post: the handler saw it);
  //   cancelled  it was cancelled before it started — by Shutdown(cancel_futures), or through
  //              its future while queued (then counted when a worker reaches it or the queue
  //              is dropped; until then it is still in `queued`).
  // Each call is counted once, and a Submit or Map call before its future completes (after,
  // only when storing its result may throw), so once Result() returned, stats() includes it.
  // Counters never decrease; completed + failed + cancelled <= submitted in every snapshot,
  // and at rest (nothing queued or running) they are equal. Gauges: workers (threads alive),
  // idle_workers (waiting for work, or leaving after Shutdown), busy_workers (in a call or in
  // the initializer), queued (accepted, not yet started). worker_restarts and task_timeouts
  // stay 0: threads are never replaced and calls have no timeout.
  ExecutorStats stats() const;

  // The most threads this executor runs.
  int max_workers() const;

 private:
  friend class internal::ThreadPoolExecutorPeer;
  friend struct internal::TaskPusher<ThreadPoolExecutor>;

  // Map over one range or several zipped (cf/core/internal/map.h).
  template <typename F, typename... Ranges>
  auto MapRanges(F&& fn, const MapOptions& options, Ranges&&... inputs) {
    ValidateMapOptions(options);
    internal::RejectChunkTimeout(options);
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
  static void Push(ThreadPoolExecutor& executor, Task* task) {
    executor.pool_->Push(task, /*counted=*/false);  // not a call of stats()
  }
};
}  // namespace internal

}  // namespace cf

#endif  // CF_THREAD_POOL_THREAD_POOL_EXECUTOR_H_
