// cf/process_pool/internal/pool_core.h — the type-erased engine of ProcessPoolExecutor.
//
// Not part of the public API. See process_pool/README.md for one call's trip through it.
//
// One manager thread per pool (manager.cc) owns every worker: it starts them through the
// Launcher (so PR_SET_PDEATHSIG binds them to a thread that lives as long as they do), writes
// calls and reads replies through each WorkerChannel in one poll() loop, watches their pidfds,
// asks the failure policy what a worker's end means, and delivers outcomes to the futures.
// Submitters (pool_core.cc) only append to the pending queue and wake the manager.
//
// A task's life:
//   pending (in pending_, cancellable)
//     ──handed to a worker's ring (AttachClaim)──► still pending, in that worker's in-flight
//       list: Cancel() revokes its claim and the worker skips it
//     ──the worker claims it (shared memory)──► running (Running() says so; no longer
//       cancellable: docs/semantics.md deviation 2)
//     ──kResult / kException──► Succeed(payload) / Fail(exception)
//   A call too big for the ring goes through the pipe to a worker holding nothing else, marked
//   running (Start()) as it is written. A cancelled task is dropped when its turn comes.
// Calls per worker: the backlog spread over max_workers (at most 64), so a long queue flows
// without a sleep or a wake-up per call, and a short one is shared out fairly; a worker left
// with nothing takes back a call still unclaimed behind a busy worker's running one.
//
// Lifetime: the manager thread holds a shared_ptr to the core while it runs, so the executor
// may be destroyed anywhere, including from a done-callback on the manager thread; the core
// then finishes its work and ends. Shutdown(wait=true) from another thread waits for the
// manager to end and joins it. Once the manager ended, nothing is left: no child, descriptor or
// thread.
//
// fork(): a copy of the pool in a child of the owning process has no manager and no workers.
// There Submit throws BrokenProcessPool saying so, and Shutdown, SignalWorkers and destruction
// return at once touching nothing (no lock, no signal, no descriptor of the parent's workers).
//
// Thread safety: Submit, Shutdown, SignalWorkers, worker_pids and the testing waits may be
// called from any thread, including from done-callbacks (which run on the manager thread).
#ifndef CF_PROCESS_POOL_INTERNAL_POOL_CORE_H_
#define CF_PROCESS_POOL_INTERNAL_POOL_CORE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/executor_control.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/pool_config.h"
#include "cf/process_pool/internal/pool_task.h"
#include "cf/process_pool/internal/unique_fd.h"
#include "cf/process_pool/internal/worker_channel.h"

namespace cf::internal {

class PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  // Always held by a shared_ptr (std::make_shared).
  explicit PoolCore(PoolConfig config);
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  ~PoolCore();

  // Queues the task. Throws BrokenProcessPool if the pool is broken (or this process is a
  // fork() copy of the owner), ShutdownError after Shutdown(), SerializationError if the call's
  // payload is over the frame limit.
  void Submit(std::unique_ptr<PoolTask> task);
  // Python's shutdown(wait, cancel_futures). Idempotent. wait=true from the manager thread (a
  // done-callback) does not wait.
  void Shutdown(bool wait, bool cancel_futures);
  // Python 3.14's terminate_workers()/kill_workers(): Shutdown(false, true), then `sig` to every
  // live worker (SIGTERM also gets SIGCONT, so a stopped worker ends too); a worker still alive
  // exit_grace later is SIGKILLed.
  void SignalWorkers(int sig);
  // ProcessPoolExecutor::Shutdown(ShutdownOptions), AwaitTermination and stats().
  bool Shutdown(const ShutdownOptions& options);
  bool AwaitTermination(absl::Duration timeout) const;
  ExecutorStats stats() const;
  std::vector<pid_t> worker_pids() const;
  int max_workers() const { return config_.max_workers; }
  // Tests: blocks until the manager has started every worker the queued work calls for (the
  // queue is empty, or max_workers are alive, or as many as could be started), or `timeout`
  // passes; returns whether it has.
  bool AwaitSettledForTesting(absl::Duration timeout) const;
  // Tests: blocks until exactly n workers are alive, or `timeout` passes.
  bool AwaitLiveWorkersForTesting(int n, absl::Duration timeout) const;
  // Tests: blocks until the workers hold at least n calls (in their rings or pipes), or
  // `timeout` passes.
  bool AwaitCallsInFlightForTesting(std::size_t n, absl::Duration timeout) const;

 private:
  // One outcome to hand to a future, outside the lock and after the loop's bookkeeping.
  struct Delivery {
    WorkerChannel::Reply reply;  // the task, and the worker's kResult or kException
    std::exception_ptr error;    // or this, when set
    static Delivery Failed(std::unique_ptr<PoolTask> task, std::exception_ptr error) {
      Delivery d;
      d.reply.task = std::move(task);
      d.error = std::move(error);
      return d;
    }
    void Run();  // manager.cc
  };

  // True in a process that fork() copied this pool into.
  bool InForeignProcess() const;
  // Shut down, and the manager has ended (or never started).
  bool TerminatedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ && (manager_done_ || !manager_.joinable());
  }
  // Every call accepted has ended (completed, failed or cancelled).
  bool AllCallsEnded() const;
  // Joins the manager once it has ended, unless called on it.
  void JoinManager();
  void EnsureManagerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Manager thread: anything pending or in flight.
  bool HasWork() const;

  // The manager thread (manager.cc); these own workers_ and the launcher.
  void Run();
  void StartWorker(std::vector<Delivery>& deliveries);
  void Dispatch();
  void ServiceWorker(WorkerChannel& w, short read_events, short write_events,
                     std::vector<Delivery>& deliveries);
  // Reads every worker's result ring; true if it read anything (then the loop decides again
  // before it sleeps).
  bool ReadRings(std::vector<Delivery>& deliveries);
  // Before poll(): spins briefly for results or a submission, then tells the workers it sleeps.
  // False: something arrived, do not sleep.
  bool PrepareToSleep();
  // Gives a worker left with nothing a call still unclaimed behind a busy worker's.
  void Rebalance();
  void HandleExit(WorkerChannel& w, std::vector<Delivery>& deliveries);
  // The calls of a worker that died while the pool goes on (WorkerDeath::kFailTask and
  // kRetryTask): those it had not started run elsewhere; the one it ran fails or runs again.
  void SettleCallsOfDeadWorker(WorkerChannel& w, const absl::StatusOr<int>& wait_status,
                               std::vector<Delivery>& deliveries);
  // Task timeouts (task_deadlines.cc): fails each call past its deadline with TaskTimeoutError
  // and ends its worker; returns when to look next (InfiniteFuture: no timed call in flight).
  absl::Time CheckTaskDeadlines(absl::Time now, std::vector<Delivery>& deliveries);
  void Break(const Breakage& breakage, std::vector<Delivery>& deliveries);
  void RemoveWorker(WorkerChannel& w);
  void StopWorkers();
  void SetStartCap(int cap);

  const PoolConfig config_;
  const pid_t owner_pid_;
  const std::uint64_t owner_fork_generation_;

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<PoolTask>> pending_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  Breakage breakage_ ABSL_GUARDED_BY(mu_);
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool manager_done_ ABSL_GUARDED_BY(mu_) = false;
  // Set by SignalWorkers(SIGTERM/SIGKILL); the manager starts the workers' exit clocks.
  bool terminate_requested_ ABSL_GUARDED_BY(mu_) = false;
  // max_workers, lowered (by the manager) while a worker cannot be started.
  int start_cap_ ABSL_GUARDED_BY(mu_);
  // Live workers as other threads see them: pid and pidfd (owned by the WorkerChannel).
  std::vector<std::pair<pid_t, int>> live_ ABSL_GUARDED_BY(mu_);
  std::thread manager_ ABSL_GUARDED_BY(mu_);
  std::thread::id manager_id_ ABSL_GUARDED_BY(mu_);
  UniqueFd wakeup_;  // eventfd
  // Counts Submit()s, so that the spinning manager notices one without a system call.
  std::atomic<std::uint64_t> submissions_{0};
  // ExecutorStats counters, shared with the accepted calls' futures.
  const std::shared_ptr<PoolCounters> counters_ = std::make_shared<PoolCounters>();
  // Workers that ended while the pool went on: the next starts are restarts. Manager thread.
  int ended_workers_ = 0;
  // Workers that ended before they were ready, in a row (failure_policy.h). Manager thread.
  int start_failures_ = 0;
  // Held by the manager while it changes workers_ or the calls they hold (never while user
  // code runs), so that Shutdown(cancel_futures) can find the calls waiting in rings. Taken
  // before mu_, never after.
  mutable absl::Mutex rings_mu_;

  // Manager-thread state (workers_ also read by Shutdown under rings_mu_).
  std::vector<std::unique_ptr<WorkerChannel>> workers_;
  std::unique_ptr<Launcher> launcher_;
  // Calls whose worker ended before starting them (or, kRetryTask, while running them):
  // dispatched first. Changed under rings_mu_ (stats() counts them).
  std::deque<std::unique_ptr<PoolTask>> requeued_;
  std::uint64_t next_task_id_ = 1;
  ByteBuffer spare_payload_;  // a delivered frame's buffer, reused for the next big frame
  bool broken_local_ = false;
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_POOL_CORE_H_
