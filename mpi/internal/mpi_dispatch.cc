// MpiCore's sending side (see mpi_core.h): each taken call to the least loaded worker rank as
// one MPI_Isend, and the completion of those sends. Manager thread, under MpiLock().
#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cf/core/errors.h"
#include "cf/mpi/internal/mpi_core.h"
#include "cf/mpi/internal/mpi_protocol.h"
#include "cf/serialization/task.h"

namespace cf::internal {
namespace {

// Task ids are unique in this process, so a reply can never be taken for another's.
std::atomic<std::uint64_t> next_task_id{1};

}  // namespace

void MpiCore::Dispatch(std::deque<std::unique_ptr<PoolTask>>& taken,
                       std::vector<Delivery>& deliveries) {
  for (std::unique_ptr<PoolTask>& task : taken) {
    if (!task->Start()) continue;  // cancelled while queued
    if (config_.route == MpiPoolConfig::kLocal) {
      TaskOutcome outcome = RunTaskCall(task->call().payload());
      Delivery d{.task = std::move(task), .kind = outcome.kind};
      EncodeMpiFrame(outcome.kind, 0, outcome.payload, &d.message);
      deliveries.push_back(std::move(d));
      continue;
    }
    // The least loaded worker; ties go round, so a burst spreads over every rank.
    Worker* target = nullptr;
    {
      absl::MutexLock flight(&flight_mu_);
      const std::size_t n = workers_.size();
      std::size_t best = next_worker_ % n;
      for (std::size_t k = 1; k < n; ++k) {
        const std::size_t i = (next_worker_ + k) % n;
        if (workers_[i].in_flight.size() < workers_[best].in_flight.size()) best = i;
      }
      next_worker_ = (best + 1) % n;
      target = &workers_[best];
    }
    const std::uint64_t id = next_task_id.fetch_add(1, std::memory_order_relaxed);
    Send send{.request = MPI_REQUEST_NULL, .bytes = {}};
    if (!spare_buffers_.empty()) {
      send.bytes = std::move(spare_buffers_.back());
      spare_buffers_.pop_back();
    }
    EncodeMpiFrame(FrameKind::kCall, id, task->call().payload(), &send.bytes);
    const int rc = MPI_Isend(send.bytes.data(), static_cast<int>(send.bytes.size()), MPI_BYTE,
                             target->info.rank, kCallTag, comm_, &send.request);
    if (rc != MPI_SUCCESS) {
      deliveries.push_back(Delivery{
          .task = std::move(task),
          .error = std::make_exception_ptr(BrokenProcessPool(absl::StrCat(
              "cannot send a call to MPI rank ", target->info.rank, ": ", MpiErrorText(rc))))});
      continue;
    }
    sends_.push_back(std::move(send));
    absl::MutexLock flight(&flight_mu_);
    if (flight_broken_) {  // the watchdog broke the pool meanwhile
      deliveries.push_back(Delivery{
          .task = std::move(task),
          .error = std::make_exception_ptr(BrokenProcessPool("the MPI pool is broken"))});
      continue;
    }
    target->in_flight.emplace_back(id, std::move(task));
    in_flight_.fetch_add(1);
  }
}

void MpiCore::TestSends() {
  if (sends_.empty()) return;
  // One MPI_Testsome (one pass of Open MPI's progress engine) for all of them.
  requests_.clear();
  for (const Send& send : sends_) requests_.push_back(send.request);
  int completed = 0;
  indices_.resize(requests_.size());
  MPI_Testsome(static_cast<int>(requests_.size()), requests_.data(), &completed,
               indices_.data(), MPI_STATUSES_IGNORE);
  if (completed <= 0) return;  // none, or MPI_UNDEFINED
  std::size_t kept = 0;
  for (std::size_t i = 0; i < sends_.size(); ++i) {
    if (requests_[i] == MPI_REQUEST_NULL) {
      // Keep small buffers for the next calls; let big ones go.
      if (spare_buffers_.size() < 128 && sends_[i].bytes.capacity() <= (1 << 16)) {
        spare_buffers_.push_back(std::move(sends_[i].bytes));
      }
      continue;
    }
    if (kept != i) sends_[kept] = std::move(sends_[i]);
    ++kept;
  }
  sends_.resize(kept);
}

}  // namespace cf::internal
