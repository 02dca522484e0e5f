// WorkerPool::WaitIdle (declared in worker_pool.h): waiting until nothing is queued or running.
#include "cf/thread_pool/internal/worker_pool.h"

#include <cstdint>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/thread_pool/internal/task.h"

namespace cf::internal {

bool WorkerPool::WaitIdle(absl::Duration timeout) {
  const bool from_worker = current_pool_ == this;
  absl::MutexLock lock(&mu_);
  if (from_worker) {
    ++workers_in_wait_idle_;
    // Tasks parked behind this one would wait for it: the other workers take them instead, and
    // a thread starts for them if none is idle (this worker is not available any more).
    UnparkLocked(*current_slot_);
    if (queued_ > idle_ + starting_ && started_ < config_.max_workers && !shutdown_) {
      try {
        SpawnLocked();
      } catch (...) {
        // No thread: the workers there are will run them.
      }
    }
    MaybeWakeLocked();
  }
  auto idle = [this, from_worker]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return IdleLocked(from_worker);
  };
  bool result = true;
  if (timeout == absl::InfiniteDuration()) {
    mu_.Await(absl::Condition(&idle));
  } else {
    result = mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
  }
  if (from_worker) --workers_in_wait_idle_;
  return result;
}

bool WorkerPool::IdleLocked(bool from_worker) const {
  if (head_ != nullptr || settling_ > 0) return false;
  const int waiting = from_worker ? workers_in_wait_idle_ + workers_in_shutdown_ : 0;
  if (idle_ + waiting < live_) return false;
  for (const std::unique_ptr<Slot>& slot : slots_) {
    if (slot->next.load(std::memory_order_relaxed) < slot->count) return false;
  }
  return true;
}

void WorkerPool::UnparkLocked(Slot& slot) {
  // Only this worker claims from its batch without mu_, and it is here; others claim under mu_.
  const uint32_t first = slot.next.load(std::memory_order_relaxed);
  if (first >= slot.count) return;
  for (uint32_t i = slot.count; i-- > first;) {
    Task* task = slot.tasks[i];
    task->next_task = head_;
    head_ = task;
    if (tail_ == nullptr) tail_ = task;
    ++queued_;
  }
  slot.next.store(slot.count, std::memory_order_relaxed);
  work_hint_.store(true, std::memory_order_relaxed);
}

}  // namespace cf::internal
