// WorkerPool's end and its counters (declared in worker_pool.h): Shutdown with a deadline,
// AwaitTermination, asking every call to stop, dropping queued tasks, stats(); and TaskSink
// (task.h), where tasks report their outcomes and publish their stop sources.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <stop_token>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor_control.h"
#include "cf/thread_pool/internal/task.h"
#include "cf/thread_pool/internal/worker_pool.h"

namespace cf::internal {

constinit thread_local TaskSink* current_task_sink = nullptr;

void TaskSink::Started(const std::stop_source& source) noexcept {
  {
    absl::MutexLock lock(&mu_);
    running_ = source;
  }
  // After publishing: either RequestStopAll() finds the source published, or it had set the
  // flag before taking mu_ (the lock orders the two), and the load below sees it.
  if (stop_all_ != nullptr && stop_all_->load(std::memory_order_acquire)) {
    std::stop_source(source).request_stop();  // no stop_callback is registered yet
  }
}

void TaskSink::Ended() noexcept {
  std::stop_source none(std::nostopstate);
  absl::MutexLock lock(&mu_);
  running_.swap(none);  // the old one is released after the lock: `none` dies last
}

void TaskSink::RequestStopRunning() noexcept {
  std::stop_source source(std::nostopstate);
  {
    absl::MutexLock lock(&mu_);
    source = running_;
  }
  // A copy shares the call's stop state, which outlives the call if need be. The call's
  // std::stop_callbacks run here, with no lock held.
  if (source.stop_possible()) source.request_stop();
}

bool WorkerPool::Shutdown(const ShutdownRequest& request) {
  Task* cancelled = nullptr;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (request.cancel_futures) {
      cancelled = TakeAllUnclaimedLocked();
      ++settling_;
    }
    work_hint_.store(true, std::memory_order_relaxed);  // stop the spinner
    work_cv_.SignalAll();
  }
  if (request.request_stop) RequestStopAll();
  // Outside mu_: cancelling runs the futures' callbacks, which may call back into the pool.
  if (request.cancel_futures) DropTasks(cancelled, /*fail=*/false);
  if (request.wait) return AwaitTermination(request.deadline, request.stop_at_deadline);
  const bool from_worker = current_pool_ == this;
  absl::MutexLock lock(&mu_);
  // From a task, its own call (and calls blocked in Shutdown/WaitIdle) count as finished, as
  // for Shutdown(wait) from a task. Elsewhere: every call has ended (been counted) — true as
  // soon as the last future is done, without waiting for the workers to go back to the queue.
  if (from_worker) return IdleLocked(/*from_worker=*/true);
  const ExecutorStats stats = StatsLocked();
  return stats.queued == 0 && settling_ == 0 &&
         stats.completed + stats.failed + stats.cancelled == stats.submitted;
}

bool WorkerPool::AwaitTermination(absl::Time deadline, bool stop_at_deadline) {
  bool terminated = false;
  if (current_pool_ == this) {
    // Called from one of our tasks (or a callback it ran): wait for every other worker to
    // exit, except those that are themselves waiting here (two tasks calling Shutdown(true) at
    // once would otherwise wait for each other). Nothing is joined from a worker: a worker
    // still inside a task cannot be joined yet; a later Shutdown from outside, or the
    // destructor, joins them all.
    absl::MutexLock lock(&mu_);
    ++workers_in_shutdown_;
    auto others_exited = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return shutdown_ && live_ <= workers_in_shutdown_;
    };
    terminated = mu_.AwaitWithDeadline(absl::Condition(&others_exited), deadline);
    --workers_in_shutdown_;
  } else {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      auto all_exited = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return shutdown_ && live_ == 0;
      };
      terminated = mu_.AwaitWithDeadline(absl::Condition(&all_exited), deadline);
      if (terminated) threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();  // each has left WorkerMain: returns at once
  }
  if (!terminated && stop_at_deadline) RequestStopAll();
  return terminated;
}

void WorkerPool::RequestStopAll() {
  // First the flag, for the calls that start from now on (TaskSink::Started), then the calls
  // running now. Slots are never removed, so their addresses stay valid without mu_.
  stop_all_.store(true, std::memory_order_release);
  std::vector<Slot*> slots;
  {
    absl::MutexLock lock(&mu_);
    slots.reserve(slots_.size());
    for (const std::unique_ptr<Slot>& slot : slots_) slots.push_back(slot.get());
  }
  for (Slot* slot : slots) slot->sink.RequestStopRunning();
}

void WorkerPool::DropTasks(Task* tasks, bool fail) {
  TaskSink sink;  // what the tasks report, added to the pool's counts below
  {
    ScopedTaskSink scope(&sink);
    while (tasks != nullptr) {
      Task* next = tasks->next_task;
      if (fail) {
        // Each future gets its own exception object (docs/semantics.md §4.3, deviation 3).
        tasks->FailTask(std::make_exception_ptr(BrokenThreadPool(kBrokenThreadPoolMessage)));
      } else {
        tasks->CancelTask();
      }
      tasks = next;
    }
  }
  absl::MutexLock lock(&mu_);
  dropped_cancelled_ += sink.count(TaskSink::kCancelled);
  dropped_failed_ += sink.count(TaskSink::kFailed);
  --settling_;
}

ExecutorStats WorkerPool::stats() const {
  absl::MutexLock lock(&mu_);
  return StatsLocked();
}

ExecutorStats WorkerPool::StatsLocked() const {
  ExecutorStats stats;
  stats.workers = live_;
  stats.idle_workers = std::min(idle_, live_);
  stats.busy_workers = live_ - stats.idle_workers;  // in a call, or running the initializer
  stats.queued = queued_;
  stats.submitted = submitted_;
  stats.cancelled = dropped_cancelled_;
  stats.failed = dropped_failed_;
  for (const std::unique_ptr<Slot>& slot : slots_) {
    const uint32_t next = slot->next.load(std::memory_order_relaxed);
    if (next < slot->count) stats.queued += slot->count - next;  // parked in its batch
    stats.completed += slot->sink.count(TaskSink::kCompleted);
    stats.failed += slot->sink.count(TaskSink::kFailed);
    stats.cancelled += slot->sink.count(TaskSink::kCancelled);
  }
  return stats;
}

}  // namespace cf::internal
