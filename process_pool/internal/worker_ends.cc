// PoolCore's manager thread, when a worker ends: what its end means (the failure policy's
// verdict), what becomes of the calls it held, and taking workers down (see pool_core.h and
// failure_policy.h).
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/pool_core.h"
#include "cf/process_pool/internal/process_util.h"

namespace cf::internal {

void PoolCore::HandleExit(WorkerChannel& w, std::vector<Delivery>& deliveries) {
  WorkerEnd end;
  end.pid = w.pid();
  // Its pidfd fired, so the status is there (or, for the fork server's workers, on its way:
  // a loaded machine can delay the server's report well past 100 ms).
  end.wait_status = launcher_->ExitStatus(w.process(), absl::Seconds(2));
  end.said_hello = w.hello();
  end.said_goodbye = w.goodbye() || (w.told_to_exit() && !w.holds_calls());
  end.held_calls = w.holds_calls();
  end.pool_has_work = HasWork();
  end.init_error = w.init_error();
  end.other_live_workers = static_cast<int>(workers_.size()) - 1;
  end.ended_by_pool = w.ended_by_pool();
  end.start_failures = start_failures_;
  {
    absl::MutexLock lock(&mu_);
    end.terminating = terminate_requested_;
  }
  std::string note;
  const Decision d = DecideOnExit(end, config_, &note);
  if (d.verdict == Decision::kBreakPool) {
    Break(d.breakage, deliveries);
    return;
  }
  if (d.verdict == Decision::kSettleCalls) SettleCallsOfDeadWorker(w, end.wait_status, deliveries);
  if (d.start_failure) ++start_failures_;
  if (!note.empty()) {
    // It could not start: what it held never ran, and the pool stops growing for now.
    for (auto& task : w.TakeCalls()) requeued_.push_back(std::move(task));
    std::fprintf(stderr, "%s\n", note.c_str());
    RemoveWorker(w);
    SetStartCap(static_cast<int>(workers_.size()));
    return;
  }
  if (!w.ended_by_pool()) ++ended_workers_;  // the next start replaces it (else: counted already)
  RemoveWorker(w);
  // A lowered start cap is tried again: the replacement may start now.
  SetStartCap(config_.max_workers);
}

void PoolCore::SettleCallsOfDeadWorker(WorkerChannel& w, const absl::StatusOr<int>& wait_status,
                                       std::vector<Delivery>& deliveries) {
  std::vector<std::unique_ptr<PoolTask>> started;
  for (auto& task : w.TakeCalls(&started)) requeued_.push_back(std::move(task));
  for (auto& task : started) {
    task->add_death();
    if (config_.on_worker_death == WorkerDeath::kRetryTask &&
        task->deaths() <= config_.max_retries) {
      requeued_.push_front(std::move(task));  // runs again first
      continue;
    }
    std::exception_ptr error = WorkerDiedException(task->call().task_name(), w.pid(), wait_status,
                                                   task->deaths(), config_);
    deliveries.push_back(Delivery::Failed(std::move(task), std::move(error)));
  }
}

void PoolCore::RemoveWorker(WorkerChannel& w) {
  auto it = std::find_if(workers_.begin(), workers_.end(),
                         [&](const std::unique_ptr<WorkerChannel>& p) { return p.get() == &w; });
  std::unique_ptr<WorkerChannel> owned = std::move(*it);
  workers_.erase(it);
  {
    absl::MutexLock lock(&mu_);
    std::erase_if(live_, [&](const std::pair<pid_t, int>& p) { return p.first == owned->pid(); });
  }
  owned->Kill();
  launcher_->Release(owned->process());
}

void PoolCore::Break(const Breakage& breakage, std::vector<Delivery>& deliveries) {
  broken_local_ = true;
  std::deque<std::unique_ptr<PoolTask>> pending;
  {
    absl::MutexLock lock(&mu_);
    if (!broken_) {
      broken_ = true;
      breakage_ = breakage;
    }
    pending.swap(pending_);
  }
  for (auto& w : workers_) {
    for (auto& task : w->TakeCalls()) {
      deliveries.push_back(Delivery::Failed(std::move(task), BrokenFutureError(breakage)));
    }
  }
  for (auto& task : requeued_) {
    deliveries.push_back(Delivery::Failed(std::move(task), BrokenFutureError(breakage)));
  }
  requeued_.clear();
  for (auto& task : pending) {
    deliveries.push_back(Delivery::Failed(std::move(task), BrokenFutureError(breakage)));
  }
  StopWorkers();
}

void PoolCore::StopWorkers() {
  for (auto& w : workers_) w->Kill();
  while (!workers_.empty()) RemoveWorker(*workers_.back());
}

}  // namespace cf::internal
