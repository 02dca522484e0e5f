// MpiCore's end and its report (see mpi_core.h): Shutdown with or without a deadline,
// AwaitTermination, and stats(). Any thread; MPI calls stay on the manager thread.
#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/executor_control.h"
#include "cf/mpi/internal/mpi_core.h"

namespace cf::internal {

void MpiCore::Shutdown(bool wait, bool cancel_futures) {
  std::deque<std::unique_ptr<PoolTask>> cancelled;
  std::thread manager;
  std::thread watchdog;
  bool manager_done = false;
  const std::thread::id me = std::this_thread::get_id();
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (cancel_futures) cancelled.swap(pending_);
    if (me == manager_id_ || me == watchdog_id_) {
      // From a done-callback: the threads end by themselves.
      if (me == manager_id_ && manager_.joinable()) manager = std::move(manager_);
      if (me == watchdog_id_ && watchdog_.joinable()) watchdog = std::move(watchdog_);
    } else if (wait && manager_.joinable()) {
      // A broken pool's manager may be stuck inside Open MPI for good: wait for it a while.
      mu_.Await(absl::Condition(
          +[](MpiCore* c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return c->manager_done_ || c->broken_;
          },
          this));
      mu_.AwaitWithTimeout(absl::Condition(&manager_done_), kStuckManagerGrace);
      manager_done = manager_done_;
      manager = std::move(manager_);
      watchdog = std::move(watchdog_);
    }
  }
  for (auto& task : cancelled) task->Cancel();  // outside mu_: done-callbacks run here
  cancelled.clear();
  if (manager.joinable()) {
    if (manager.get_id() == me) {
      manager.detach();
    } else if (manager_done) {
      manager.join();
    } else {
      std::fputs("cf::MpiPoolExecutor: the pool's manager thread is stuck inside Open MPI after "
                 "a worker died; leaving it behind\n",
                 stderr);
      manager.detach();
    }
  }
  if (watchdog.joinable()) {
    if (watchdog.get_id() == me) {
      watchdog.detach();
    } else {
      watchdog.join();
    }
  }
}

bool MpiCore::Shutdown(const ShutdownOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout.duration();
  Shutdown(/*wait=*/false, options.cancel_futures);
  const std::thread::id me = std::this_thread::get_id();
  bool ended;
  {
    absl::MutexLock lock(&mu_);
    // From a done-callback (manager or watchdog thread) nothing can end while it runs.
    if (!options.wait || me == manager_id_ || me == watchdog_id_) return AllCallsEnded();
    ended = mu_.AwaitWithDeadline(absl::Condition(this, &MpiCore::TerminatedLocked), deadline);
  }
  if (!ended && options.on_timeout != ShutdownTimeoutAction::kReturn &&
      config_.route == MpiPoolConfig::kSpawn) {
    // Spawned workers on this host can be ended (world ranks cannot, without the job): the
    // watchdog sees them go and fails their futures with BrokenProcessPool.
    const bool kill_now = options.on_timeout == ShutdownTimeoutAction::kKill;
    SignalLocalWorkers(kill_now ? SIGKILL : SIGTERM);
    bool gone = kill_now;
    if (!gone) {
      absl::MutexLock lock(&mu_);
      gone = mu_.AwaitWithTimeout(absl::Condition(this, &MpiCore::TerminatedLocked), kKillGrace);
    }
    if (!gone) SignalLocalWorkers(SIGKILL);  // it ignored SIGTERM
  }
  Shutdown(/*wait=*/true, /*cancel_futures=*/false);
  return ended;
}

void MpiCore::SignalLocalWorkers(int sig) {
  for (const Worker& w : workers_) {
    if (w.local_host && w.info.pid > 0) kill(w.info.pid, sig);
  }
}

bool MpiCore::AllCallsEnded() const { return counters_->AllEnded(); }

bool MpiCore::AwaitTermination(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const std::thread::id me = std::this_thread::get_id();
  if (me == manager_id_ || me == watchdog_id_) return TerminatedLocked();
  return mu_.AwaitWithTimeout(absl::Condition(this, &MpiCore::TerminatedLocked), timeout);
}

ExecutorStats MpiCore::stats() const {
  ExecutorStats s;
  // Outcomes first, then the ranks, then submissions (as the process pool counts them).
  counters_->CopyOutcomesTo(&s);
  {
    absl::MutexLock flight(&flight_mu_);
    if (!flight_broken_) {
      for (const Worker& w : workers_) {
        ++s.workers;
        ++(w.in_flight.empty() ? s.idle_workers : s.busy_workers);
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    s.queued = static_cast<std::int64_t>(pending_.size());
  }
  s.submitted = counters_->submitted.load(std::memory_order_acquire);
  return s;
}

}  // namespace cf::internal
