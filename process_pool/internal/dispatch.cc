// PoolCore's dispatch, on the manager thread: which worker gets which queued call, how many
// calls each may hold, and taking calls back for a worker left with nothing (see pool_core.h).
#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "cf/process_pool/internal/pool_core.h"
#include "cf/process_pool/internal/pool_task.h"
#include "cf/process_pool/internal/worker_channel.h"

namespace cf::internal {
namespace {

// Calls a worker may hold at once (see pool_core.h).
constexpr size_t kMaxDepth = 64;

}  // namespace

void PoolCore::Dispatch() {
  if (broken_local_) return;
  size_t in_flight = 0;
  size_t accepting = 0;
  for (const auto& w : workers_) {
    in_flight += w->load();
    if (w->accepting()) ++accepting;
  }
  if (accepting == 0) return;
  // Calls per worker: the backlog spread over max_workers (workers still to start count).
  size_t depth;
  {
    absl::MutexLock lock(&mu_);
    const size_t work = pending_.size() + requeued_.size() + in_flight;
    const size_t workers = static_cast<size_t>(config_.max_workers);
    depth = std::clamp<size_t>((work + workers - 1) / workers, 1, kMaxDepth);
    // Take as many as the workers have room for now, in one go: the submitters share mu_.
    size_t room = 0;
    for (const auto& w : workers_) {
      if (w->accepting() && w->load() < depth) room += depth - w->load();
    }
    room = room > requeued_.size() ? room - requeued_.size() : 0;
    while (room-- > 0 && !pending_.empty()) {
      requeued_.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
  }
  while (!requeued_.empty()) {
    std::unique_ptr<PoolTask>& task = requeued_.front();
    if (task->done()) {  // cancelled while queued: dropped
      requeued_.pop_front();
      continue;
    }
    const absl::Span<const char> payload = task->call().payload();
    // The least loaded worker that can take it; one that said hello first.
    WorkerChannel* target = nullptr;
    for (auto& w : workers_) {
      if (!w->CanTake(payload, depth)) continue;
      if (target == nullptr || w->load() < target->load() ||
          (w->load() == target->load() && w->hello() && !target->hello())) {
        target = w.get();
      }
    }
    if (target == nullptr) break;
    std::unique_ptr<PoolTask> next = std::move(task);
    requeued_.pop_front();
    target->SendCall(std::move(next));
  }
  if (!requeued_.empty()) {
    // Left over (a big call waits for a worker with nothing in flight, or a ring is full):
    // back to the queue, where Shutdown(cancel_futures) can still cancel them.
    absl::MutexLock lock(&mu_);
    while (!requeued_.empty()) {
      pending_.push_front(std::move(requeued_.back()));
      requeued_.pop_back();
    }
  }
  Rebalance();
}

void PoolCore::Rebalance() {
  for (auto& idle : workers_) {
    if (!idle->idle()) continue;
    WorkerChannel* busiest = nullptr;
    for (auto& w : workers_) {
      if (w->load() >= 2 && (busiest == nullptr || w->load() > busiest->load())) {
        busiest = w.get();
      }
    }
    if (busiest == nullptr) return;
    std::unique_ptr<PoolTask> task = busiest->TakeBackUnclaimed();
    if (task == nullptr) continue;
    if (idle->CanTake(task->call().payload(), kMaxDepth)) {
      idle->SendCall(std::move(task));
    } else {
      absl::MutexLock lock(&mu_);
      pending_.push_front(std::move(task));
    }
  }
}

}  // namespace cf::internal
