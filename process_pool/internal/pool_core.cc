// PoolCore's side that any thread calls: Submit, Shutdown, signals, lifetime. The manager
// thread's loop is in manager.cc.
#include "cf/process_pool/internal/pool_core.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/process_util.h"
#include "cf/serialization/errors.h"

namespace cf::internal {
namespace {

// Counts fork()s of this process: a child sees a different value than its parent saw.
std::atomic<std::uint64_t> fork_generation{0};

void CountFork() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

std::uint64_t CurrentForkGeneration() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, &CountFork);
    return true;
  }();
  (void)registered;
  return fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

PoolCore::PoolCore(PoolConfig config)
    : config_(std::move(config)),
      owner_pid_(getpid()),
      owner_fork_generation_(CurrentForkGeneration()),
      start_cap_(config_.max_workers) {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cf process pool: eventfd");
  wakeup_ = UniqueFd(fd);
}

bool PoolCore::InForeignProcess() const {
  return fork_generation.load(std::memory_order_relaxed) != owner_fork_generation_;
}

PoolCore::~PoolCore() {
  if (InForeignProcess()) {
    // A fork() copy: the manager thread, the workers and the fork server are the parent's.
    // Touch nothing (mu_ may have been held by a parent thread at the fork): leak them.
    new std::thread(std::move(manager_));  // NOLINT: deliberately leaked, never joined
    for (auto& w : workers_) (void)w.release();
    (void)launcher_.release();
    for (auto& task : pending_) (void)task.release();
    (void)wakeup_.Release();
    return;
  }
  Shutdown(/*wait=*/true, /*cancel_futures=*/false);
  std::thread manager;
  {
    absl::MutexLock lock(&mu_);
    manager = std::move(manager_);
  }
  if (manager.joinable()) {
    if (manager.get_id() == std::this_thread::get_id()) {
      manager.detach();  // the manager's own last reference: Run() has returned
    } else {
      manager.join();
    }
  }
}

void PoolCore::Submit(std::unique_ptr<PoolTask> task) {
  if (InForeignProcess()) throw BrokenProcessPool(ForeignProcessMessage(owner_pid_));
  if (task->call().payload().size() > config_.max_payload_size) {
    throw SerializationError(OversizeArgumentMessage(
        task->call().task_name(), task->call().payload().size(), config_.max_payload_size));
  }
  absl::MutexLock lock(&mu_);
  if (broken_) std::rethrow_exception(BrokenSubmitError(breakage_));
  if (shutdown_) throw ShutdownError();
  task->CountIn(counters_);
  counters_->submitted.fetch_add(1, std::memory_order_relaxed);
  pending_.push_back(std::move(task));
  submissions_.fetch_add(1, std::memory_order_release);
  EnsureManagerLocked();
  Wake();
}

void PoolCore::EnsureManagerLocked() {
  if (manager_.joinable() || manager_done_) return;
  manager_ = std::thread([self = shared_from_this()] { self->Run(); });
  manager_id_ = manager_.get_id();
}

void PoolCore::Wake() {
  if (wake_pending_) return;
  wake_pending_ = true;
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = write(wakeup_.get(), &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
}

void PoolCore::Shutdown(bool wait, bool cancel_futures) {
  if (InForeignProcess()) return;
  std::vector<AnyFuture> to_cancel;
  std::thread manager;
  bool join = false;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (cancel_futures) {
      to_cancel.reserve(pending_.size());
      for (const auto& task : pending_) to_cancel.push_back(task->future());
    }
    if (manager_.joinable()) {
      Wake();
      join = wait && manager_id_ != std::this_thread::get_id();
    }
  }
  if (cancel_futures) {
    // And the calls waiting in the workers' rings that no worker has claimed (Cancel()
    // revokes their claims; the workers skip them).
    {
      absl::MutexLock lock(&rings_mu_);
      for (const auto& w : workers_) w->CollectRingFutures(to_cancel);
    }
    // Outside every lock: a cancellation runs the future's done-callbacks, which may use the
    // pool (stats(), Submit). (A call taken back from a worker that could not start, or waiting
    // for a retry, may be running already: Cancel() leaves it.)
    for (const AnyFuture& f : to_cancel) f.Cancel();
    // The cancelled calls leave the queue now, not when the manager next dispatches.
    std::deque<std::unique_ptr<PoolTask>> cancelled;
    {
      absl::MutexLock lock(&mu_);
      std::deque<std::unique_ptr<PoolTask>> kept;
      for (auto& task : pending_) (task->done() ? cancelled : kept).push_back(std::move(task));
      pending_.swap(kept);
    }
  }
  if (!join) return;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&manager_done_));
    manager = std::move(manager_);  // one joiner; a second Shutdown finds it gone
  }
  if (manager.joinable()) manager.join();
}

void PoolCore::JoinManager() {
  std::thread manager;
  {
    absl::MutexLock lock(&mu_);
    if (!manager_done_ || manager_id_ == std::this_thread::get_id()) return;
    manager = std::move(manager_);
  }
  if (manager.joinable()) manager.join();
}

bool PoolCore::Shutdown(const ShutdownOptions& options) {
  if (InForeignProcess()) return true;  // nothing of the parent's is ours to end
  const absl::Time deadline = absl::Now() + options.timeout.duration();
  Shutdown(/*wait=*/false, options.cancel_futures);
  bool ended;
  {
    absl::MutexLock lock(&mu_);
    const bool on_manager = manager_.joinable() && manager_id_ == std::this_thread::get_id();
    if (!options.wait || on_manager) return AllCallsEnded();
    ended = mu_.AwaitWithDeadline(absl::Condition(this, &PoolCore::TerminatedLocked), deadline);
  }
  if (!ended) {
    if (options.on_timeout == ShutdownTimeoutAction::kReturn) return false;
    // End the workers still running calls; the manager fails their futures and ends.
    SignalWorkers(options.on_timeout == ShutdownTimeoutAction::kKill ? SIGKILL : SIGTERM);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &PoolCore::TerminatedLocked));
  }
  JoinManager();
  return ended;
}

bool PoolCore::AllCallsEnded() const { return counters_->AllEnded(); }

bool PoolCore::AwaitTermination(absl::Duration timeout) const {
  if (InForeignProcess()) return true;
  absl::MutexLock lock(&mu_);
  // The manager cannot end while it runs this caller's done-callback: no point waiting.
  if (manager_.joinable() && manager_id_ == std::this_thread::get_id()) return TerminatedLocked();
  return mu_.AwaitWithTimeout(absl::Condition(this, &PoolCore::TerminatedLocked), timeout);
}

ExecutorStats PoolCore::stats() const {
  ExecutorStats s;
  // Outcomes first, then the workers, then submissions: a call counted ended is no longer
  // queued or running, and every call not ended is either (queued = the rest), so the snapshot
  // costs O(workers) whatever the backlog.
  counters_->CopyOutcomesTo(&s);
  if (!InForeignProcess()) {
    absl::MutexLock rings(&rings_mu_);
    for (const auto& w : workers_) {
      if (w->exited() || w->eof() || w->ended_by_pool()) continue;
      ++s.workers;
      ++(w->running_a_call() ? s.busy_workers : s.idle_workers);
    }
  }
  s.submitted = counters_->submitted.load(std::memory_order_acquire);
  s.queued = std::max<std::int64_t>(
      0, s.submitted - s.completed - s.failed - s.cancelled - s.busy_workers);
  return s;
}

void PoolCore::SignalWorkers(int sig) {
  if (InForeignProcess()) return;
  Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  absl::MutexLock lock(&mu_);
  for (const auto& [pid, pidfd] : live_) {
    PidfdSignal(pidfd, sig);
    if (sig != SIGKILL) PidfdSignal(pidfd, SIGCONT);  // a stopped worker acts on it too
  }
  terminate_requested_ = true;
  if (manager_.joinable()) Wake();
}

std::vector<pid_t> PoolCore::worker_pids() const {
  if (InForeignProcess()) return {};
  absl::MutexLock lock(&mu_);
  std::vector<pid_t> pids;
  for (const auto& [pid, pidfd] : live_) pids.push_back(pid);
  return pids;
}

bool PoolCore::AwaitSettledForTesting(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return broken_ || pending_.empty() || static_cast<int>(live_.size()) >= start_cap_;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&settled), timeout);
}

bool PoolCore::AwaitCallsInFlightForTesting(std::size_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&rings_mu_);
  auto held = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rings_mu_) {
    std::size_t calls = 0;
    for (const auto& w : workers_) calls += w->load();
    return calls >= n;
  };
  return rings_mu_.AwaitWithTimeout(absl::Condition(&held), timeout);
}

bool PoolCore::AwaitLiveWorkersForTesting(int n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto alive = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(live_.size()) == n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&alive), timeout);
}

}  // namespace cf::internal
