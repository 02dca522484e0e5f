// PoolCore's manager thread: the poll() loop that starts workers, hands them calls, reads their
// replies, notices their ends (worker_ends.cc says what they mean) and delivers outcomes (see
// pool_core.h and README.md).
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/pool_core.h"
#include "cf/process_pool/internal/process_util.h"
#include "cf/process_pool/internal/shared_region.h"
#include "cf/serialization/exception.h"

namespace cf::internal {
namespace {

constexpr size_t kMaxSparePayload = 64 << 20;
// How long the manager watches the rings before it sleeps in poll().
constexpr absl::Duration kManagerSpin = absl::Microseconds(50);

int PollTimeoutMs(absl::Time now, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  if (deadline <= now) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(deadline - now) + 1,
                                            60'000));
}

}  // namespace

void PoolCore::Delivery::Run() {
  PoolTask& task = *reply.task;
  const absl::Span<const char> payload =
      reply.arena.data() != nullptr ? reply.arena : reply.frame.payload.span();
  if (error != nullptr) {
    task.Fail(error);
  } else if (reply.frame.kind == FrameKind::kResult) {
    task.Succeed(payload);
  } else {
    absl::StatusOr<std::exception_ptr> e = DecodeException(payload);
    task.Fail(e.ok() ? *e
                     : std::make_exception_ptr(BrokenProcessPool(absl::StrCat(
                           "the exception of task '", task.call().task_name(),
                           "' could not be decoded: ", e.status().message()))));
  }
  reply.task.reset();
  WorkerChannel::ReleaseResult(reply);
}

bool PoolCore::HasWork() const {
  if (!requeued_.empty()) return true;
  for (const auto& w : workers_) {
    if (w->holds_calls()) return true;
  }
  absl::MutexLock lock(&mu_);
  return !pending_.empty();
}

void PoolCore::Run() {
  // Writes to a dead worker must fail with EPIPE, not kill the process.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  launcher_ = MakeLauncher(config_.start_method, config_.worker_binary, config_.start_timeout);

  std::vector<Delivery> deliveries;
  std::vector<pollfd> fds;
  bool terminating = false;
  absl::Time task_deadline = absl::InfiniteFuture();
  for (;;) {
    {
      absl::MutexLock rings(&rings_mu_);
      Dispatch();
      task_deadline = CheckTaskDeadlines(absl::Now(), deliveries);
    }
    bool start_worker = false;
    bool stop = false;
    bool retire_all = false;

    {
      absl::MutexLock lock(&mu_);
      if (terminate_requested_ && !terminating) {
        terminating = true;
        for (auto& w : workers_) w->MarkTerminated(absl::Now());
      }

      if (broken_local_) {
        stop = true;
      } else if (!pending_.empty() || !requeued_.empty()) {
        bool idle = false;
        int serving = 0;  // a worker the pool is ending does not count: it is being replaced
        for (const auto& w : workers_) {
          idle = idle || w->idle();
          serving += w->ended_by_pool() ? 0 : 1;
        }
        start_worker = !idle && serving < start_cap_;
      } else if (shutdown_) {
        bool busy = false;
        for (const auto& w : workers_) busy = busy || w->holds_calls();
        retire_all = !busy;
        if (!busy && workers_.empty()) stop = true;
      }
    }
    if (retire_all) {
      absl::MutexLock rings(&rings_mu_);
      for (auto& w : workers_) w->Retire();
    }
    if (!deliveries.empty()) {
      for (Delivery& d : deliveries) {
        d.Run();
        ByteBuffer& buffer = d.reply.frame.payload;
        if (buffer.capacity() > spare_payload_.capacity() &&
            buffer.capacity() <= kMaxSparePayload) {
          spare_payload_ = std::move(buffer);
        }
      }
      deliveries.clear();
      for (auto& w : workers_) w->WakeIfWaiting();  // a freed result arena
      continue;  // a callback may have submitted or shut down
    }
    if (stop) break;
    if (start_worker) {
      absl::MutexLock rings(&rings_mu_);
      StartWorker(deliveries);
      continue;
    }

    {
      absl::MutexLock rings(&rings_mu_);
      if (ReadRings(deliveries)) continue;
    }
    if (!PrepareToSleep()) continue;

    // Wait for the workers, the launcher, a submitter, or the next deadline.
    fds.clear();
    fds.push_back({wakeup_.get(), POLLIN, 0});
    const int launcher_fd = launcher_->poll_fd();
    fds.push_back({launcher_fd, POLLIN, 0});  // poll() ignores -1
    absl::Time deadline = task_deadline;
    for (const auto& w : workers_) {
      fds.push_back({w->eof() ? -1 : w->read_fd(), POLLIN, 0});
      fds.push_back({w->wants_write() && !w->eof() ? w->write_fd() : -1, POLLOUT, 0});
      fds.push_back({w->exited() ? -1 : w->pidfd(), POLLIN, 0});
      deadline = std::min(deadline, w->kill_deadline());
    }
    const int rc = poll(fds.data(), fds.size(), PollTimeoutMs(absl::Now(), deadline));
    for (auto& w : workers_) w->SetManagerAsleep(false);
    if (rc < 0 && errno != EINTR) break;  // cannot happen with valid arguments
    absl::MutexLock rings(&rings_mu_);
    if (fds[0].revents != 0) {
      uint64_t count;
      while (read(wakeup_.get(), &count, sizeof(count)) > 0) {
      }
      absl::MutexLock lock(&mu_);
      wake_pending_ = false;
    }
    if (launcher_fd >= 0 && fds[1].revents != 0) {
      if (absl::Status s = launcher_->Poll(); !s.ok()) {
        Break(ProtocolBreakage(s.message()), deliveries);
        continue;
      }
    }
    const absl::Time now = absl::Now();
    for (size_t i = 0; i < workers_.size() && !broken_local_; ++i) {
      WorkerChannel& w = *workers_[i];
      ServiceWorker(w, fds[2 + 3 * i].revents, fds[3 + 3 * i].revents, deliveries);
      if (broken_local_) break;
      if (fds[4 + 3 * i].revents != 0) w.set_exited();
      if (w.exited()) continue;
      if (w.late_to_start(now)) {
        w.Kill();
        Break(StartTimeout(w.pid(), config_), deliveries);
        break;
      }
      if (now >= w.kill_deadline()) w.Kill();  // late to exit
    }
    // Exits last, after every byte the dead worker wrote was read.
    for (size_t i = 0; i < workers_.size() && !broken_local_;) {
      WorkerChannel& w = *workers_[i];
      if (!w.exited()) {
        ++i;
        continue;
      }
      ServiceWorker(w, POLLIN, 0, deliveries);
      if (broken_local_) break;
      const size_t before = workers_.size();
      HandleExit(w, deliveries);
      if (workers_.size() == before) ++i;  // else: the same index is the next worker
    }
  }

  {
    absl::MutexLock rings(&rings_mu_);
    StopWorkers();
  }
  launcher_.reset();
  absl::MutexLock lock(&mu_);
  manager_done_ = true;
}

void PoolCore::ServiceWorker(WorkerChannel& w, short read_events, short write_events,
                             std::vector<Delivery>& deliveries) {
  if (read_events != 0) {
    w.Recycle(spare_payload_);
    absl::Status s = w.Read([&](WorkerChannel::Reply& reply) {
      deliveries.push_back(Delivery{std::move(reply), nullptr});
      start_failures_ = 0;
    });
    if (!s.ok()) {
      Break(ProtocolBreakage(s.message()), deliveries);
      return;
    }
  }
  if (write_events != 0) w.Flush().IgnoreError();  // a dead pipe: the pidfd reports the end
}

bool PoolCore::ReadRings(std::vector<Delivery>& deliveries) {
  bool read = false;
  for (auto& w : workers_) {
    if (!w->results_waiting()) continue;
    // Anything read counts, a kSkipped too: it may have been the last call in flight, which
    // changes what the loop decides (retiring the workers at shutdown).
    read = true;
    absl::Status s = w->ReadRing([&](WorkerChannel::Reply& reply) {
      deliveries.push_back(Delivery{std::move(reply), nullptr});
      start_failures_ = 0;  // a worker that answers was ready
    });
    if (!s.ok()) {
      Break(ProtocolBreakage(s.message()), deliveries);
      return true;
    }
  }
  return read;
}

bool PoolCore::PrepareToSleep() {
  bool busy = false;
  for (const auto& w : workers_) busy = busy || w->holds_calls();
  if (busy) {
    const std::uint64_t seen = submissions_.load(std::memory_order_acquire);
    auto arrived = [&] {
      if (submissions_.load(std::memory_order_acquire) != seen) return true;
      for (const auto& w : workers_) {
        if (w->results_waiting()) return true;
      }
      return false;
    };
    static const absl::Duration spin = SpinBudget(kManagerSpin);
    if (SpinUntil(arrived, spin)) return false;
  }
  bool waiting = false;
  for (auto& w : workers_) waiting = w->SetManagerAsleep(true) || waiting;
  if (!waiting) return true;
  for (auto& w : workers_) w->SetManagerAsleep(false);
  return false;
}

void PoolCore::StartWorker(std::vector<Delivery>& deliveries) {
  absl::StatusOr<std::shared_ptr<SharedRegion>> region = SharedRegion::Create();
  absl::StatusOr<WorkerProcess> proc =
      region.ok() ? launcher_->Start((*region)->WorkerFds()) : region.status();
  if (proc.ok()) (*region)->CloseRingFd();
  if (!proc.ok()) {
    std::string note;
    const Decision d = DecideOnStartFailure(proc.status(), static_cast<int>(workers_.size()),
                                            config_, &note);
    if (d.verdict == Decision::kBreakPool) {
      Break(d.breakage, deliveries);
    } else {
      SetStartCap(static_cast<int>(workers_.size()));
      std::fprintf(stderr, "%s\n", note.c_str());
    }
    return;
  }
  if (ended_workers_ > 0) {
    --ended_workers_;
    counters_->worker_restarts.fetch_add(1, std::memory_order_relaxed);
  }
  workers_.push_back(
      std::make_unique<WorkerChannel>(*std::move(proc), *std::move(region), config_, absl::Now()));
  WorkerChannel& w = *workers_.back();
  w.Flush().IgnoreError();
  absl::MutexLock lock(&mu_);
  live_.emplace_back(w.pid(), w.pidfd());
  if (terminate_requested_) w.MarkTerminated(absl::Now());
}

void PoolCore::SetStartCap(int cap) {
  absl::MutexLock lock(&mu_);
  start_cap_ = cap;
}

}  // namespace cf::internal
