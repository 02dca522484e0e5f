#include "cf/thread_pool/internal/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/internal/shared_state.h"
#include "cf/thread_pool/internal/task.h"

namespace cf::internal {
namespace {

// How long an idle worker polls for new work before it sleeps: kSpinRounds rounds of
// sched_yield(), a few tens of microseconds in all. Yielding rather than busy-waiting matters on
// a machine with few cores: when the submitter (or the thread waiting for a result) shares this
// CPU it runs at once, whereas a pause loop would hold the CPU until its budget ran out (the
// scheduler does not preempt a thread that has just started running), adding that budget to the
// round trip. Measured on the 2-core machine: submit->Result p90 1.7 us with yields, 8.7 us
// with a 256-pause spin, 2.6 us without any polling.
constexpr int kSpinRounds = 64;

void LogInitializerFailure(const std::string& thread_name, const std::exception_ptr& error) {
  const std::string line = absl::StrCat(
      "cf::ThreadPoolExecutor: Exception in initializer (thread ", thread_name,
      "): ", ExceptionTypeName(error), ": ", ExceptionMessage(error),
      "\ncf::ThreadPoolExecutor: the pool is broken; pending and future Submit() calls fail "
      "with cf::BrokenThreadPool\n");
  std::fputs(line.c_str(), stderr);
}

}  // namespace

thread_local const WorkerPool* WorkerPool::current_pool_ = nullptr;
thread_local WorkerPool::Slot* WorkerPool::current_slot_ = nullptr;

WorkerPool::WorkerPool(Config config) : config_(std::move(config)) {}

WorkerPool::~WorkerPool() {
  // Normally a Shutdown(wait=true) from outside the workers has joined them all. When a worker
  // held the last reference (a task destroyed the executor), the workers were waited for but
  // not joined: join them now, except the one running this destructor, which cannot join
  // itself and is detached (it is on its way out).
  std::vector<std::thread> threads;
  Task* leftover = nullptr;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(threads_);
    leftover = TakeAllUnclaimedLocked();
  }
  for (std::thread& t : threads) {
    if (!t.joinable()) continue;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else {
      t.join();
    }
  }
  TaskSink discarded;  // nobody reads the counts of a pool being destroyed
  ScopedTaskSink scope(&discarded);
  while (leftover != nullptr) {
    Task* next = leftover->next_task;
    leftover->CancelTask();
    leftover = next;
  }
}

void WorkerPool::Push(Task* task, bool counted) {
  std::exception_ptr refused;
  {
    absl::MutexLock lock(&mu_);
    if (broken_) {
      refused = std::make_exception_ptr(BrokenThreadPool(kBrokenThreadPoolMessage));
    } else if (shutdown_) {
      refused = std::make_exception_ptr(ShutdownError());
    } else {
      // Python's _adjust_thread_count: a new thread only when no idle one can take the task.
      if (queued_ + 1 > idle_ + starting_ && started_ < config_.max_workers) {
        try {
          SpawnLocked();
        } catch (...) {
          // Without any worker the task would never run; otherwise the others will run it.
          if (live_ == 0) refused = std::current_exception();
        }
      }
      if (refused == nullptr) {
        task->next_task = nullptr;
        if (tail_ == nullptr) {
          head_ = task;
        } else {
          tail_->next_task = task;
        }
        tail_ = task;
        if (queued_++ == 0) work_hint_.store(true, std::memory_order_relaxed);
        if (counted) ++submitted_;
        MaybeWakeLocked();
        return;
      }
    }
  }
  task->DiscardTask();  // outside mu_: this destroys the user's callable
  std::rethrow_exception(refused);
}

void WorkerPool::SpawnLocked() {
  const int index = started_;
  slots_.push_back(std::make_unique<Slot>(&stop_all_));
  Slot* slot = slots_.back().get();
  threads_.emplace_back(
      [self = shared_from_this(), index, slot] { self->WorkerMain(index, slot); });
  ++started_;
  ++starting_;
  ++live_;
}

void WorkerPool::MaybeWakeLocked() {
  // Wake a sleeper only for work that no worker already on its way will take.
  if (sleeping_ > wakeups_ && queued_ > spinning_ + wakeups_ + starting_) {
    ++wakeups_;
    work_cv_.Signal();
  }
}

void WorkerPool::WorkerMain(int index, Slot* slot) {
  const std::string name = WorkerThreadName(config_.thread_name_prefix, index);
  pthread_setname_np(pthread_self(), name.c_str());  // best effort
  current_pool_ = this;
  current_slot_ = slot;
  current_task_sink = &slot->sink;  // where this worker's tasks count their outcomes
  bool initialized = true;
  if (config_.initializer) {
    try {
      config_.initializer();
    } catch (...) {
      LogInitializerFailure(name, std::current_exception());
      initialized = false;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    --starting_;
  }
  if (initialized) {
    for (;;) {
      // Claim the next task of this worker's batch; when it is used up, ask the pool.
      const uint32_t i = slot->next.fetch_add(1, std::memory_order_relaxed);
      Task* task = i < slot->count ? slot->tasks[i] : NextTask(*slot);
      if (task == nullptr) break;
      task->RunTask();
    }
  } else {
    Break();
  }
  current_pool_ = nullptr;
  current_slot_ = nullptr;
  current_task_sink = nullptr;
  absl::MutexLock lock(&mu_);
  if (initialized) --idle_;  // idle since NextTask() returned nullptr (see idle_)
  --live_;
}

Task* WorkerPool::PopLocked() {
  Task* task = head_;
  head_ = task->next_task;
  if (head_ == nullptr) tail_ = nullptr;
  task->next_task = nullptr;
  if (--queued_ == 0 && !shutdown_) work_hint_.store(false, std::memory_order_relaxed);
  return task;
}

Task* WorkerPool::StealLocked(Slot& slot) {
  for (const std::unique_ptr<Slot>& other : slots_) {
    if (other.get() == &slot) continue;
    const uint32_t seen = other->next.load(std::memory_order_relaxed);
    if (seen >= other->count) continue;
    // Claim the older half of what is left (at least one) with one increment; the owner goes on
    // from the index after it, so the two do not hand the rest back and forth one at a time.
    const uint32_t want = (other->count - seen + 1) / 2;
    const uint32_t first = other->next.fetch_add(want, std::memory_order_relaxed);
    if (first >= other->count) continue;  // the owner claimed them meanwhile
    const uint32_t n = std::min(want, other->count - first);
    for (uint32_t i = 0; i < n; ++i) slot.tasks[i] = other->tasks[first + i];
    slot.count = n;
    slot.next.store(1, std::memory_order_relaxed);  // tasks[0] is returned now
    return slot.tasks[0];
  }
  return nullptr;
}

Task* WorkerPool::TakeAllUnclaimedLocked() {
  Task* all = std::exchange(head_, nullptr);
  Task* last = tail_;
  tail_ = nullptr;
  queued_ = 0;
  if (!shutdown_) work_hint_.store(false, std::memory_order_relaxed);
  for (const std::unique_ptr<Slot>& slot : slots_) {
    const uint32_t first = slot->next.exchange(Slot::kEmptied, std::memory_order_relaxed);
    for (uint32_t i = first; i < slot->count; ++i) {
      Task* task = slot->tasks[i];
      task->next_task = nullptr;
      if (last == nullptr) {
        all = task;
      } else {
        last->next_task = task;
      }
      last = task;
    }
  }
  return all;
}

Task* WorkerPool::NextTask(Slot& slot) {
  mu_.Lock();
  ++idle_;
  for (;;) {
    // Tasks parked in another worker's batch were queued before anything still in the queue,
    // and that worker may be busy with a long task: they go first, so that tasks start in
    // submission order (Python's FIFO) and none waits behind a long one while others run.
    if (Task* stolen = StealLocked(slot)) {
      --idle_;
      mu_.Unlock();
      return stolen;
    }
    if (head_ != nullptr) {
      // A long queue is shared out in batches: this worker takes its part (at most kMaxBatch,
      // leaving enough for the others) with this one lock acquisition.
      const int64_t share = queued_ / (2 * static_cast<int64_t>(std::max(live_, 1)));
      const uint32_t n = static_cast<uint32_t>(std::clamp<int64_t>(share, 1, kMaxBatch));
      for (uint32_t i = 0; i < n; ++i) slot.tasks[i] = PopLocked();
      slot.count = n;
      slot.next.store(1, std::memory_order_relaxed);  // tasks[0] is returned now
      --idle_;
      MaybeWakeLocked();  // pass the wake-up on if more work is waiting than takers
      mu_.Unlock();
      return slot.tasks[0];
    }
    if (shutdown_) {
      mu_.Unlock();  // still idle_ until WorkerMain's exit: no call runs here any more
      return nullptr;
    }
    if (spinning_ == 0) {
      ++spinning_;
      mu_.Unlock();
      Spin();
      mu_.Lock();
      --spinning_;
      if (head_ != nullptr || shutdown_) continue;
    }
    ++sleeping_;
    work_cv_.Wait(&mu_);
    --sleeping_;
    if (wakeups_ > 0) --wakeups_;
  }
}

void WorkerPool::Spin() const {
  for (int i = 0; i < kSpinRounds; ++i) {
    if (work_hint_.load(std::memory_order_relaxed)) return;
    std::this_thread::yield();
  }
}

void WorkerPool::Break() {
  Task* failed = nullptr;
  {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    failed = TakeAllUnclaimedLocked();
    ++settling_;
  }
  DropTasks(failed, /*fail=*/true);
}

int WorkerPool::threads_started() const {
  absl::MutexLock lock(&mu_);
  return started_;
}

bool WorkerPool::AwaitIdleWorkers(int n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto idle = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return idle_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

}  // namespace cf::internal
