// cf/core/executor_control.h — what both executors take to end on a deadline and what they
// report while they run: cf::ShutdownOptions, cf::ExecutorStats, cf::TaskOptions.
//
//   if (!pool.Shutdown({.wait = true, .timeout = absl::Seconds(5),
//                       .on_timeout = cf::ShutdownOptions::kKill})) {
//     // something was still running at the deadline (and, for kKill, its worker was killed)
//   }
//   cf::ExecutorStats s = pool.stats();   // a snapshot; cheap enough to poll for a progress bar
//
// ShutdownOptions (every field has Python's meaning where Python has one):
//   wait            block until everything has finished (Python's shutdown(wait=True)).
//   cancel_futures  cancel every call that has not started (Python 3.9+).
//   timeout         how long `wait` may block, from the call; InfiniteDuration(): no bound.
//   on_timeout      what happens to calls still running when the timeout runs out:
//                     kReturn     leave them running and return false (both executors);
//                     kTerminate  process pool: SIGTERM the workers (SIGKILL after the pool's
//                                 kill grace), their futures fail with cf::BrokenProcessPool;
//                     kKill       process pool: SIGKILL them at once, the same failure.
//                   The thread pool cannot end a thread: it treats kTerminate and kKill as
//                   kReturn after request_stop (see thread_pool_executor.h).
//   request_stop    thread pool: signal the std::stop_token of every running task (tasks that
//                   take one) when Shutdown is called; queued ones are cancelled or run as
//                   cancel_futures says. The process pool ignores it.
// Shutdown(options) returns true when every call had finished (and, with wait, every worker
// had ended) by the deadline; with wait=false, whether every call had already finished (the
// workers may still be leaving). Both executors also
// have AwaitTermination(timeout): the wait of a Shutdown that did not wait, same result.
//
// ExecutorStats: a snapshot, taken without blocking on running tasks (callable from tasks and
// callbacks). Counters never decrease. At rest (nothing queued or running),
// submitted == completed + failed + cancelled. One Map chunk counts as one call.
//
// TaskOptions: per-call options of ProcessPoolExecutor::SubmitWith(options, &fn, args...).
//   timeout  how long the call may run, counted from when its future turns running (a worker
//            took it), not from submission; then the future fails with cf::TaskTimeoutError
//            and the worker (and what it started) is ended and replaced.
//
// Thread safety: plain values; copy them freely.
#ifndef CF_CORE_EXECUTOR_CONTROL_H_
#define CF_CORE_EXECUTOR_CONTROL_H_

#include <cstdint>

#include "absl/time/time.h"
#include "cf/core/timeout.h"

namespace cf {

// What Shutdown does with calls still running when its timeout runs out.
enum class ShutdownTimeoutAction {
  kReturn,     // leave them running; Shutdown returns false
  kTerminate,  // process pool: SIGTERM, then SIGKILL after the grace period
  kKill,       // process pool: SIGKILL
};

struct ShutdownOptions {
  using OnTimeout = ShutdownTimeoutAction;
  static constexpr ShutdownTimeoutAction kReturn = ShutdownTimeoutAction::kReturn;
  static constexpr ShutdownTimeoutAction kTerminate = ShutdownTimeoutAction::kTerminate;
  static constexpr ShutdownTimeoutAction kKill = ShutdownTimeoutAction::kKill;

  bool wait = true;
  bool cancel_futures = false;
  Timeout timeout = absl::InfiniteDuration();
  ShutdownTimeoutAction on_timeout = ShutdownTimeoutAction::kReturn;
  bool request_stop = false;
};

struct ExecutorStats {
  std::int64_t workers = 0;          // worker threads or processes alive now
  std::int64_t idle_workers = 0;     // of those, waiting for work
  std::int64_t busy_workers = 0;     // of those, running a call
  std::int64_t queued = 0;           // calls submitted and not yet started
  std::int64_t submitted = 0;        // calls accepted by Submit/Map since construction
  std::int64_t completed = 0;        // calls that returned a value
  std::int64_t failed = 0;           // calls that ended with an exception (timeouts included)
  std::int64_t cancelled = 0;        // calls cancelled before they started
  std::int64_t worker_restarts = 0;  // workers started to replace one that ended
  std::int64_t task_timeouts = 0;    // calls failed with cf::TaskTimeoutError
};

struct TaskOptions {
  Timeout timeout = absl::InfiniteDuration();
};

}  // namespace cf

#endif  // CF_CORE_EXECUTOR_CONTROL_H_
