// Per-call timeouts (TaskOptions::timeout, MapOptions::chunk_timeout), on the manager thread:
// when a timed call's clock starts, what happens when it runs out, and how its worker ends.
//
//   worker claims call ──manager sees the claim──► started = now ──started + timeout──►
//     its results already in the ring are delivered first (a result that made it wins);
//     otherwise the call fails with TaskTimeoutError, the calls queued behind it go back to
//     the queue, and the worker is ended by the pool: SIGTERM (+ SIGCONT) to its process group
//     (the worker and what its task started), SIGKILL kill_grace later. Nothing more is read
//     from it; its exit is planned (failure_policy.h), and a new worker replaces it.
//
// While a timed call waits unclaimed in a ring, the manager looks at its claim every kTick at
// least, so a call's clock starts at most kTick after its future turned running.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/pool_core.h"
#include "cf/process_pool/internal/process_util.h"
#include "cf/process_pool/internal/worker_channel.h"

namespace cf::internal {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(2);

bool Claimed(std::uint64_t word, std::uint64_t seq) {
  return word != ClaimWord(seq, kClaimQueued) && word != ClaimWord(seq, kClaimRevoked);
}

}  // namespace

absl::Time WorkerChannel::TaskDeadline(absl::Time now, absl::Duration tick) {
  if (timed_calls_ == 0 || ended_by_pool_) return absl::InfiniteFuture();
  absl::Time deadline = absl::InfiniteFuture();
  for (InFlight& call : in_flight_) {
    const absl::Duration timeout = call.task->timeout();
    if (timeout == absl::InfiniteDuration()) continue;
    if (call.started == absl::InfiniteFuture() &&
        Claimed(region_->claim(call.seq).load(std::memory_order_acquire), call.seq)) {
      call.started = now;
    }
    deadline = std::min(deadline, call.started == absl::InfiniteFuture() ? now + tick
                                                                         : call.started + timeout);
  }
  return deadline;
}

std::unique_ptr<PoolTask> WorkerChannel::TakeExpired(absl::Time now) {
  for (InFlight& call : in_flight_) {
    if (call.started != absl::InfiniteFuture() && call.started + call.task->timeout() <= now) {
      // Claimed: the worker may still write its outcome in a slot lent with the call.
      std::unique_ptr<PoolTask> task = TakeCall(call.seq, /*worker_done=*/false);
      task->DetachClaim();  // claimed: it stays running
      return task;
    }
  }
  return nullptr;
}

void WorkerChannel::EndByPool(absl::Time now) {
  ended_by_pool_ = true;
  retiring_ = true;
  told_to_exit_ = true;
  exit_deadline_ = std::min(exit_deadline_, now + config_.kill_grace);
  channel_.DropOutput();
  if (exited_) return;
  // Its own group (worker_loop.cc), so its task's children end with it. The worker is not
  // reaped before its pidfd fires, so its pid, the group's id, names nobody else.
  kill(-proc_.pid, SIGTERM);
  PidfdSignal(proc_.pidfd.get(), SIGTERM);
  kill(-proc_.pid, SIGCONT);  // a stopped worker acts on it too
  PidfdSignal(proc_.pidfd.get(), SIGCONT);
}

void WorkerChannel::Kill() {
  if (ended_by_pool_) kill(-proc_.pid, SIGKILL);  // what its task started, even once it exited
  if (!exited_) PidfdSignal(proc_.pidfd.get(), SIGKILL);
}

absl::Time PoolCore::CheckTaskDeadlines(absl::Time now, std::vector<Delivery>& deliveries) {
  absl::Time next = absl::InfiniteFuture();
  for (auto& worker : workers_) {
    WorkerChannel& w = *worker;
    if (!w.holds_timed_calls() || w.ended_by_pool() || broken_local_) continue;
    absl::Time deadline = w.TaskDeadline(now, kTick);
    if (deadline > now) {
      next = std::min(next, deadline);
      continue;
    }
    // A result the worker published before the deadline was seen wins.
    if (absl::Status s = w.ReadRing([&](WorkerChannel::Reply& reply) {
          deliveries.push_back(Delivery{std::move(reply), nullptr});
        });
        !s.ok()) {
      Break(ProtocolBreakage(s.message()), deliveries);
      return absl::InfiniteFuture();
    }
    std::unique_ptr<PoolTask> expired = w.TakeExpired(now);
    if (expired == nullptr) {
      next = std::min(next, w.TaskDeadline(now, kTick));
      continue;
    }
    counters_->task_timeouts.fetch_add(1, std::memory_order_relaxed);
    std::exception_ptr error = TaskTimeoutException(expired->call().task_name(),
                                                    expired->timeout(), w.pid(), config_);
    deliveries.push_back(Delivery::Failed(std::move(expired), std::move(error)));
    // The calls behind it never ran (one the worker claimed after the deadline was seen will
    // not finish either: it runs again elsewhere).
    std::vector<std::unique_ptr<PoolTask>> started;
    for (auto& task : w.TakeCalls(&started)) requeued_.push_back(std::move(task));
    for (auto& task : started) requeued_.push_front(std::move(task));
    w.EndByPool(now);
    ++ended_workers_;  // a replacement may start before it has exited: it does not count
  }
  return next;
}

}  // namespace cf::internal
