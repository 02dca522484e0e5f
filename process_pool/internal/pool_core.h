// cf/process_pool/internal/pool_core.h — the type-erased engine of ProcessPoolExecutor.
//
// Not part of the public API.
//
// One manager thread per pool owns every worker: it starts them (so PR_SET_PDEATHSIG binds them
// to a thread that lives as long as they do), writes calls to them and reads their replies with
// non-blocking I/O in one poll() loop, watches their pidfds, and delivers outcomes to the tasks'
// futures. Submitters only append to the pending queue and wake the manager.
//
// A task's life:
//   pending (in pending_, cancellable)
//     ──handed to a worker: Start() = SetRunningOrNotifyCancel()──► running (in the worker's
//       in-flight list; no longer cancellable; deviation 2)
//     ──kResult / kException──► Succeed(payload) / Fail(exception)
//   A cancelled task is dropped when its turn comes (Start() returns false).
//
// Dispatch: an idle worker (nothing in flight) gets the next task; when every worker is busy and
// fewer than max_workers exist, a new worker is started; otherwise the task waits in pending_,
// cancellable, until a worker is free. A worker holds at most kWindow calls (1: a call sitting
// in a worker's pipe would be "running" yet not started, which SEMANTICS deviation 2 rules out).
//
// The pool breaks (Python's BrokenProcessPool) when a worker dies while work is pending or in
// flight, when a worker fails to start or its initializer throws, when a worker's stream is
// malformed, or when the fork server dies. Every pending and running task then fails with its
// own BrokenProcessPool naming the worker's pid and its signal or exit code, the other workers
// are killed and reaped, and Submit throws BrokenProcessPool from then on. A worker that dies
// while the pool has no work at all is simply replaced on demand.
//
// Shutdown: queued work still runs (unless cancel_futures), then every worker gets kShutdown,
// says goodbye and is reaped; then the manager thread ends. Nothing is left behind: no child,
// no descriptor, no thread.
//
// Thread safety: Submit, Shutdown, SignalWorkers and worker_pids may be called from any thread,
// including from done-callbacks, which run on the manager thread (Shutdown(wait=true) there does
// not join itself).
#ifndef CF_PROCESS_POOL_INTERNAL_POOL_CORE_H_
#define CF_PROCESS_POOL_INTERNAL_POOL_CORE_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/start_method.h"
#include "cf/serialization/task.h"

namespace cf::internal {

// One submitted call (a single Submit, or one chunk of a Map).
class PoolTask {
 public:
  explicit PoolTask(TaskCall call) : call_(std::move(call)) {}
  virtual ~PoolTask() = default;

  // SetRunningOrNotifyCancel() on the future: false means it was cancelled (drop the task).
  virtual bool Start() = 0;
  // Cancel() on the future; true if it is now cancelled.
  virtual bool Cancel() = 0;
  // The worker's kResult payload: decode it and complete the future.
  virtual void Succeed(absl::Span<const char> payload) = 0;
  // Complete the future with an exception (the task's own, or BrokenProcessPool).
  virtual void Fail(std::exception_ptr error) = 0;

  const TaskCall& call() const { return call_; }

 private:
  TaskCall call_;
};

struct PoolConfig {
  int max_workers = 1;
  StartMethod start_method = StartMethod::kFork;  // resolved: never kAuto
  int max_tasks_per_child = 0;                    // 0: unlimited
  TaskCall initializer;
  std::string worker_binary;                      // empty: this program
  absl::Duration start_timeout = absl::Seconds(20);
};

class PoolCore {
 public:
  // Calls in flight per worker.
  static constexpr int kWindow = 1;

  explicit PoolCore(PoolConfig config);
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  // Shutdown(wait=true).
  ~PoolCore();

  // Queues the task. Throws BrokenProcessPool if the pool is broken, ShutdownError after
  // Shutdown().
  void Submit(std::unique_ptr<PoolTask> task);
  // See the file comment. Idempotent.
  void Shutdown(bool wait, bool cancel_futures);
  // Python 3.14's terminate_workers()/kill_workers(): Shutdown(false, true), then send `sig`
  // to every live worker.
  void SignalWorkers(int sig);
  std::vector<pid_t> worker_pids() const;
  int max_workers() const { return config_.max_workers; }
  // Tests: blocks until the manager has started every worker the queued work calls for (the
  // queue is empty, or max_workers are alive), or `timeout` passes; returns whether it has.
  bool AwaitSettledForTesting(absl::Duration timeout) const;
  // Tests: blocks until exactly n workers are alive (e.g. after a death was noticed), or
  // `timeout` passes; returns whether they are.
  bool AwaitLiveWorkersForTesting(int n, absl::Duration timeout) const;

 private:
  struct Worker;
  struct Delivery;

  void EnsureManagerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();
  // Manager-thread helpers (they own workers_ and its I/O state).
  void StartWorker();
  void Dispatch();
  void QueueFrame(Worker& w, FrameKind kind, std::uint64_t id, absl::Span<const char> payload);
  void FlushOutput(Worker& w);
  void ReadInput(Worker& w, std::vector<Delivery>& deliveries);
  void HandleFrame(Worker& w, Frame& frame, std::vector<Delivery>& deliveries);
  void HandleExit(Worker& w, std::vector<Delivery>& deliveries);
  void Break(const std::string& detail, std::vector<Delivery>& deliveries);
  void StopWorkers();
  void RemoveWorker(size_t index);
  int WaitStatusOf(Worker& w, absl::Duration timeout);
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PoolConfig config_;

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<PoolTask>> pending_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::string broken_ ABSL_GUARDED_BY(mu_);  // non-empty once broken: the detail
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool manager_done_ ABSL_GUARDED_BY(mu_) = false;
  // Live workers as other threads may see them: pid and pidfd (owned by the manager's Worker).
  std::vector<std::pair<pid_t, int>> live_ ABSL_GUARDED_BY(mu_);
  int in_flight_total_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread manager_ ABSL_GUARDED_BY(mu_);
  std::thread::id manager_id_ ABSL_GUARDED_BY(mu_);
  UniqueFd wakeup_;  // eventfd

  // Manager-thread state.
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<ForkServer> fork_server_;
  std::uint64_t next_task_id_ = 1;
  ByteBuffer spare_payload_;  // a delivered frame's buffer, reused for the next big frame
  bool broken_local_ = false;
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_POOL_CORE_H_
