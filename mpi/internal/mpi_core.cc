// MpiCore: starting, queueing, the manager loop and replies (see mpi_core.h). Sending calls is
// in mpi_dispatch.cc; spawning and the watchdog in mpi_spawn.cc; shutting down, its deadline and
// stats() in mpi_control.cc; the initializer in mpi_initializer.cc.
#include "cf/mpi/internal/mpi_core.h"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/mpi/internal/mpi_protocol.h"
#include "cf/mpi/internal/mpi_runtime.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/serialization/exception.h"
#include "cf/serialization/task.h"

namespace cf::internal {
namespace {

// How long the manager probes for replies before it naps, and its longest nap, while calls
// are out (a Submit or Shutdown ends a nap at once).
constexpr absl::Duration kManagerSpin = absl::Microseconds(50);
constexpr absl::Duration kManagerMaxNap = absl::Microseconds(500);

}  // namespace

void MpiCore::Delivery::Run() {
  if (error != nullptr) {
    task->Fail(error);
    return;
  }
  const absl::Span<const char> payload =
      message.span().subspan(std::min(message.size(), kFrameHeaderSize));
  if (kind == FrameKind::kResult) {
    task->Succeed(payload);
    return;
  }
  absl::StatusOr<std::exception_ptr> e = DecodeException(payload);
  task->Fail(e.ok() ? *e
                    : std::make_exception_ptr(BrokenProcessPool(absl::StrCat(
                          "the exception of task '", task->call().task_name(),
                          "' could not be decoded: ", e.status().message()))));
}

MpiCore::MpiCore(MpiPoolConfig config) : config_(std::move(config)) {}

std::shared_ptr<MpiCore> MpiCore::Start(MpiPoolConfig config) {
  if (config.route != MpiPoolConfig::kLocal && MpiWedged()) {
    throw BrokenProcessPool(
        "cf::MpiPoolExecutor: an earlier MPI_Comm_spawn in this process never returned and "
        "holds Open MPI for good; no executor can use MPI in this process any more (restart the "
        "program)");
  }
  auto core = std::make_shared<MpiCore>(std::move(config));
  switch (core->config_.route) {
    case MpiPoolConfig::kWorld:
      AcquireWorld();
      core->world_held_ = true;
      core->comm_ = MPI_COMM_WORLD;
      for (int rank = 1; rank <= core->config_.max_workers; ++rank) {
        core->workers_.push_back(Worker{.info = {.rank = rank}});
      }
      break;
    case MpiPoolConfig::kSpawn:
      core->SpawnWorkers();  // throws
      break;
    case MpiPoolConfig::kLocal:
      core->workers_.push_back(Worker{.info = {.rank = 0, .pid = 0, .host = "local"}});
      break;
  }
  core->RunInitializer();
  absl::MutexLock lock(&core->mu_);
  core->manager_ = std::thread([core] { core->Run(); });
  core->manager_id_ = core->manager_.get_id();
  if (core->config_.route == MpiPoolConfig::kSpawn) {
    core->watchdog_ = std::thread([core] { core->Watch(); });
    core->watchdog_id_ = core->watchdog_.get_id();
  }
  return core;
}

std::vector<MpiCore::WorkerInfo> MpiCore::workers() const {
  std::vector<WorkerInfo> out;
  for (const Worker& w : workers_) out.push_back(w.info);
  return out;
}

void MpiCore::Submit(std::unique_ptr<PoolTask> task) {
  const TaskCall& call = task->call();
  if (!call.attachments().empty()) {
    throw std::invalid_argument(absl::StrCat(
        "cf::MpiPoolExecutor: task '", call.task_name(),
        "' has a cf::SharedBuffer argument; shared memory cannot cross MPI ranks (pass the "
        "bytes as a std::string or std::vector instead)"));
  }
  if (call.payload().size() > config_.max_payload_size) {
    throw SerializationError(OversizeArgumentMessage(call.task_name(), call.payload().size(),
                                                     config_.max_payload_size));
  }
  absl::MutexLock lock(&mu_);
  if (broken_) {
    std::rethrow_exception(BrokenSubmitError(Breakage{Breakage::kAbrupt, broken_detail_}));
  }
  if (shutdown_) throw ShutdownError("cannot schedule new futures after shutdown");
  task->CountIn(counters_);
  counters_->submitted.fetch_add(1, std::memory_order_relaxed);
  pending_.push_back(std::move(task));
  ++submissions_;
}

int MpiCore::FreeSlots() const {
  const std::size_t capacity =
      workers_.size() * static_cast<std::size_t>(config_.calls_per_worker);
  const std::size_t used = in_flight_.load();
  return used >= capacity ? 0 : static_cast<int>(capacity - used);
}

void MpiCore::Run() {
  BlockSigpipeInThisThread();  // its MPI calls may write to a dead worker's socket
  std::shared_ptr<MpiCore> self = shared_from_this();  // lives as long as the manager runs
  std::vector<Delivery> deliveries;
  std::deque<std::unique_ptr<PoolTask>> taken;
  absl::Time idle_since = absl::InfiniteFuture();
  absl::Duration nap = absl::Microseconds(5);
  for (;;) {
    std::uint64_t seen = 0;
    bool seen_shutdown = false;
    {
      absl::MutexLock lock(&mu_);
      if (in_flight_.load() == 0 && pending_.empty()) {
        if (shutdown_) break;
        mu_.Await(absl::Condition(
            +[](MpiCore* c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return c->shutdown_ || !c->pending_.empty();
            },
            this));
        if (pending_.empty()) continue;
      }
      const int free = config_.route == MpiPoolConfig::kLocal ? 1 : FreeSlots();
      for (int i = 0; i < free && !pending_.empty(); ++i) {
        taken.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      seen = submissions_;
      seen_shutdown = shutdown_;
    }
    bool progress = !taken.empty();
    if (config_.route == MpiPoolConfig::kLocal) {
      Dispatch(taken, deliveries);
    } else {
      absl::MutexLock mpi(&MpiLock());
      Dispatch(taken, deliveries);
      TestSends();
      progress |= ReceiveReplies(deliveries);
    }
    taken.clear();  // cancelled tasks, dropped
    for (Delivery& d : deliveries) {
      d.Run();
      d.task.reset();
      // The reply's buffer serves a later reply (small ones only).
      if (spare_buffers_.size() < 128 && d.message.capacity() != 0 &&
          d.message.capacity() <= (1 << 16)) {
        spare_buffers_.push_back(std::move(d.message));
      }
    }
    deliveries.clear();
    if (progress) {
      idle_since = absl::InfiniteFuture();
      nap = absl::Microseconds(5);
      continue;
    }
    const absl::Time now = absl::Now();
    if (idle_since == absl::InfiniteFuture()) idle_since = now;
    if (now - idle_since < kManagerSpin) continue;
    // Calls are out and nothing came back for a while: nap, unless work arrives.
    absl::MutexLock lock(&mu_);
    struct Args {
      MpiCore* core;
      std::uint64_t seen;
      bool seen_shutdown;
    } args{this, seen, seen_shutdown};
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                               return a->core->submissions_ != a->seen ||
                                      a->core->shutdown_ != a->seen_shutdown;
                             },
                             &args),
                         nap);
    nap = std::min(nap * 2, kManagerMaxNap);
  }
  if (config_.route == MpiPoolConfig::kSpawn) {
    {
      absl::MutexLock lock(&mu_);
      releasing_workers_ = true;
    }
    absl::MutexLock mpi(&MpiLock());
    StopSpawnedWorkers();
  }
  if (world_held_) {
    world_held_ = false;
    ReleaseWorld();
  }
  absl::MutexLock lock(&mu_);
  manager_done_ = true;
}

bool MpiCore::broken() const {
  absl::MutexLock lock(&mu_);
  return broken_;
}

bool MpiCore::ReceiveReplies(std::vector<Delivery>& deliveries) {
  bool any = false;
  for (;;) {
    int flag = 0;
    MPI_Status probed;
    MPI_Iprobe(MPI_ANY_SOURCE, kReplyTag, comm_, &flag, &probed);
    if (!flag) return any;
    any = true;
    FrameHeader header;
    absl::Span<const char> payload;
    const absl::Status s = ReceiveMpiFrame(comm_, probed, &message_, &header, &payload);
    Worker* from = nullptr;
    for (Worker& w : workers_) {
      if (w.info.rank == probed.MPI_SOURCE) from = &w;
    }
    bool bad = false;
    {
      absl::MutexLock flight(&flight_mu_);
      if (flight_broken_) continue;  // its task was failed already
      bad = !s.ok() || from == nullptr || from->in_flight.empty() ||
            from->in_flight.front().first != header.task_id ||
            (header.kind != FrameKind::kResult && header.kind != FrameKind::kException);
      if (!bad) {
        Delivery d{.task = std::move(from->in_flight.front().second), .kind = header.kind};
        from->in_flight.pop_front();
        in_flight_.fetch_sub(1);
        d.message = std::move(message_);
        message_ = ByteBuffer();
        if (!spare_buffers_.empty()) {
          message_ = std::move(spare_buffers_.back());
          spare_buffers_.pop_back();
        }
        deliveries.push_back(std::move(d));
      }
    }
    if (bad) {
      Break(absl::StrCat("MPI rank ", probed.MPI_SOURCE, " broke the protocol: ",
                         s.ok() ? "an unexpected reply" : s.message()),
            deliveries);
      return true;
    }
  }
}

void MpiCore::Break(const std::string& detail, std::vector<Delivery>& deliveries) {
  std::deque<std::unique_ptr<PoolTask>> pending;
  {
    absl::MutexLock lock(&mu_);
    if (broken_) return;
    broken_ = true;
    broken_detail_ = detail;
    pending.swap(pending_);
  }
  const Breakage breakage{Breakage::kAbrupt, detail};
  {
    absl::MutexLock flight(&flight_mu_);
    flight_broken_ = true;
    for (Worker& w : workers_) {
      for (auto& [id, task] : w.in_flight) {
        deliveries.push_back(
            Delivery{.task = std::move(task), .error = BrokenFutureError(breakage)});
      }
      w.in_flight.clear();
    }
    in_flight_.store(0);
  }
  for (auto& task : pending) {
    deliveries.push_back(Delivery{.task = std::move(task), .error = BrokenFutureError(breakage)});
  }
}

}  // namespace cf::internal
