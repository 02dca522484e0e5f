// cf/thread_pool/internal/worker_pool.h — the threads and the queue behind ThreadPoolExecutor.
//
// Not part of the public API: use cf/thread_pool/thread_pool_executor.h.
//
// WorkerPool runs Tasks (cf/thread_pool/internal/task.h) on up to max_workers threads:
//
//   * One FIFO queue, an intrusive list of tasks under one mutex: pushing or popping a task
//     allocates nothing.
//   * Batches: when the queue is long, a worker moves up to kMaxBatch tasks into its own slot
//     with one lock acquisition and claims them one by one without the lock (an atomic
//     counter). A worker whose batch is used up first takes the older half of another
//     worker's unclaimed batch (work stealing), and only then the queue: parked tasks are older
//     than queued ones and their worker may be stuck in a long task, so tasks still start in
//     submission order, as with Python's FIFO. Shutdown(cancel_futures) / Break claim every
//     unclaimed task, so nothing parked in a slot escapes cancellation or hides from idle
//     workers.
//   * Threads start lazily: Push() starts a thread only when more tasks are queued than there
//     are idle workers, and never more than max_workers (Python's _adjust_thread_count).
//   * Wake-ups only when needed: a worker that finds the queue empty first polls it for a few
//     tens of microseconds, yielding the CPU between looks (at most one such spinner at a
//     time), then sleeps on a condition variable. Push() signals a sleeper only when more tasks
//     are queued than workers already on their way (the spinner, workers signalled but not yet
//     running, threads starting), and a worker that takes a task passes the signal on under the
//     same rule. A steady stream of submissions is thus served by awake workers without a
//     system call per task, while a burst of long tasks still wakes every worker.
//   * Initializer failure (Break): the pool becomes broken; every unclaimed task fails with
//     its own BrokenThreadPool, and Push() throws BrokenThreadPool from then on.
//   * Shutdown(request): Push() throws ShutdownError from then on; queued tasks still run
//     unless cancel_futures cancels every unclaimed one; workers exit once the queue and their
//     batches are empty. request_stop (or a stop_at_deadline that passes) sets stop_all_ and
//     signals the stop source each worker's sink publishes for its running call; a stoppable
//     call that starts later sees stop_all_ and is signalled as it starts. AwaitTermination
//     is the wait part (worker_pool_shutdown.cc).
//   * Counting (stats()): Push() counts `submitted` under mu_ (which it holds anyway); each
//     task reports its outcome to current_task_sink (task.h) — its worker's sink, one writer
//     per sink, on its own cache line — or, when Shutdown/Break drop it, to a sink on their
//     stack whose counts they add to dropped_* under mu_. stats() sums them under mu_, which
//     no thread holds while user code runs.
//   * WaitIdle: the queue, the batches and every worker are checked under mu_, which each worker
//     takes when it looks for its next task — so the hot path (claiming batched tasks) pays
//     nothing for it, and the last task's end wakes the waiters through mu_.
//
// State machine: open ──Shutdown()──► shut down (workers drain the queue and exit) ──► joined
//                 └──initializer failure──► broken (queue failed; Shutdown() still required)
//
// Thread safety: every method may be called from any thread, including the pool's own workers
// (a task may Push to its own pool, or call Shutdown on it: a worker never joins itself).
// Workers keep the pool alive through a shared_ptr, so the owner may drop its reference while
// a worker is still returning from a task.
#ifndef CF_THREAD_POOL_INTERNAL_WORKER_POOL_H_
#define CF_THREAD_POOL_INTERNAL_WORKER_POOL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/executor_control.h"
#include "cf/thread_pool/internal/task.h"

namespace cf::internal {

// Python's message for a pool whose initializer failed.
inline constexpr char kBrokenThreadPoolMessage[] =
    "A thread initializer failed, the thread pool is not usable anymore";

// "<prefix>_<index>" cut to Linux's 15-character thread names: the prefix is shortened so the
// index always survives ("ThreadPoolExe_12").
std::string WorkerThreadName(const std::string& prefix, int index);

// Python's default max_workers: min(32, CPUs in this process's affinity mask + 4).
int DefaultMaxWorkers();

// The next "ThreadPoolExecutor-<k>" prefix (k counts executors created without a prefix).
std::string NextDefaultThreadNamePrefix();

class WorkerPool : public std::enable_shared_from_this<WorkerPool> {
 public:
  struct Config {
    int max_workers = 1;             // > 0
    std::string thread_name_prefix;  // non-empty
    std::function<void()> initializer;
  };

  explicit WorkerPool(Config config);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();

  // Queues `task` (taking the queue's reference) and starts or wakes a worker if needed.
  // Throws BrokenThreadPool or ShutdownError (after discarding the task) when the pool cannot
  // take work. Never blocks on running tasks. counted: whether the task is a call that stats()
  // counts (it then reports its outcome to current_task_sink); continuations are not.
  void Push(Task* task, bool counted = true);

  struct ShutdownRequest {
    bool wait = true;
    bool cancel_futures = false;
    bool request_stop = false;
    absl::Time deadline = absl::InfiniteFuture();  // of the wait
    bool stop_at_deadline = false;  // ask every call to stop if the deadline passes
  };
  // Python's shutdown(wait, cancel_futures), with ShutdownOptions' extras: see the file
  // comment. With wait, AwaitTermination(deadline, stop_at_deadline) and its result; without,
  // whether nothing was queued or running any more (IdleLocked).
  bool Shutdown(const ShutdownRequest& request);
  void Shutdown(bool wait, bool cancel_futures) {
    ShutdownRequest request;
    request.wait = wait;
    request.cancel_futures = cancel_futures;
    Shutdown(request);
  }
  // Blocks until the pool is shut down and every worker has exited, then joins them and
  // returns true; or returns false at `deadline` (after asking every call to stop if
  // stop_at_deadline). From a worker: until every other worker has exited or is itself blocked
  // here or in Shutdown(wait), joining nothing.
  bool AwaitTermination(absl::Time deadline, bool stop_at_deadline);

  // A snapshot of the counters and gauges (see the file comment). Never blocks on tasks.
  ExecutorStats stats() const;

  int max_workers() const { return config_.max_workers; }

  // Blocks until nothing is queued or running, or `timeout` passes (zero or negative: checks);
  // returns whether the pool is idle. "Running" covers a task from its claim until it has
  // returned (callbacks and the destruction of its call included), a worker's initializer, and
  // tasks that Shutdown(cancel_futures) or Break are still cancelling or failing. Called from a
  // worker, tasks blocked in WaitIdle or Shutdown(wait) — its own included — count as idle, and
  // the tasks parked in its own batch go back to the front of the queue (for other workers).
  bool WaitIdle(absl::Duration timeout);

  // The owning executor is gone (its destructor ran): pending Map() iterations stop pulling
  // inputs. Set once, read from any thread.
  void Orphan() { orphaned_.store(true, std::memory_order_release); }
  bool orphaned() const { return orphaned_.load(std::memory_order_acquire); }

  // For tests (Python's len(executor._threads)): threads started so far.
  int threads_started() const;
  // For tests: blocks until at least `n` workers wait for work, or `timeout` passes; returns
  // whether they do.
  bool AwaitIdleWorkers(int n, absl::Duration timeout) const;

 private:
  // A worker's batch: tasks[0, count) were moved out of the queue together; `next` is the
  // index of the first unclaimed one. tasks and count are written only by the owning worker,
  // under mu_; any thread claims an index by incrementing `next` (the owner without mu_,
  // everyone else under mu_), so each task is claimed exactly once.
  static constexpr int kMaxBatch = 16;
  // The worker's TaskSink is on its own cache lines: its owner writes it for every task,
  // while other workers touch `next` when they steal.
  struct alignas(64) Slot {
    explicit Slot(const std::atomic<bool>* stop_all) : sink(stop_all) {}
    static constexpr uint32_t kEmptied = 1u << 30;  // `next` after Shutdown/Break took the rest
    std::atomic<uint32_t> next{0};
    uint32_t count = 0;
    Task* tasks[kMaxBatch] = {};
    alignas(64) TaskSink sink;
  };

  void SpawnLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeWakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Task* PopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the older half of another worker's unclaimed batch into `slot` (whose batch is used
  // up) and returns its first task, or nullptr if no batch has unclaimed tasks.
  Task* StealLocked(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Every task not yet claimed — queued or parked in a batch — as a list linked by next_task.
  Task* TakeAllUnclaimedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WorkerMain(int index, Slot* slot);
  // The next task for a worker whose batch is used up (refilling the batch from the queue when
  // it is long), or nullptr when the worker should exit.
  Task* NextTask(Slot& slot);
  void Spin() const;
  // An initializer threw: fail every unclaimed task, refuse new ones.
  void Break();
  // WaitIdle's condition; from_worker as WaitIdle describes.
  bool IdleLocked(bool from_worker) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the unclaimed tasks of `slot` (the calling worker's) to the front of the queue.
  void UnparkLocked(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ExecutorStats StatsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets stop_all_ and signals the stoppable calls running now (outside mu_).
  void RequestStopAll();
  // Cancels (or, with fail, fails with BrokenThreadPool) a list linked by next_task, outside
  // mu_; then adds what the tasks reported to dropped_* and ends the settling (--settling_)
  // that the caller began under mu_.
  void DropTasks(Task* tasks, bool fail);

  // The pool whose worker is the current thread (nullptr outside workers): Shutdown(wait) and
  // WaitIdle from a task must not wait for their own thread. And that worker's batch.
  static thread_local const WorkerPool* current_pool_;
  static thread_local Slot* current_slot_;

  const Config config_;

  mutable absl::Mutex mu_;
  absl::CondVar work_cv_;  // sleeping workers wait here
  Task* head_ ABSL_GUARDED_BY(mu_) = nullptr;
  Task* tail_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  // Mirrors queued_ > 0 (and shutdown) for the spinning worker, which reads it without mu_.
  std::atomic<bool> work_hint_{false};
  std::atomic<bool> orphaned_{false};
  std::atomic<bool> stop_all_{false};  // every call is asked to stop (request_stop, deadline)
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);  // one per started thread
  int started_ ABSL_GUARDED_BY(mu_) = 0;   // threads started (never decreases)
  int starting_ ABSL_GUARDED_BY(mu_) = 0;  // started, not yet asked for a task
  int live_ ABSL_GUARDED_BY(mu_) = 0;      // started and not yet exited
  // Inside NextTask() (spinning, sleeping or checking), or on the way out after NextTask()
  // returned nullptr at shutdown.
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  int spinning_ ABSL_GUARDED_BY(mu_) = 0;
  int sleeping_ ABSL_GUARDED_BY(mu_) = 0;
  int wakeups_ ABSL_GUARDED_BY(mu_) = 0;              // signals sent to sleepers not yet awake
  int workers_in_shutdown_ ABSL_GUARDED_BY(mu_) = 0;  // workers blocked in Shutdown(wait)
  int workers_in_wait_idle_ ABSL_GUARDED_BY(mu_) = 0;  // workers blocked in WaitIdle
  int settling_ ABSL_GUARDED_BY(mu_) = 0;  // threads cancelling/failing tasks taken from the queue
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  int64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;          // counted calls Push() accepted
  int64_t dropped_cancelled_ ABSL_GUARDED_BY(mu_) = 0;  // cancelled by Shutdown(cancel_futures)
  int64_t dropped_failed_ ABSL_GUARDED_BY(mu_) = 0;     // failed by Break
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cf::internal

#endif  // CF_THREAD_POOL_INTERNAL_WORKER_POOL_H_
