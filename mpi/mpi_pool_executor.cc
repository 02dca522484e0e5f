#include "cf/mpi/mpi_pool_executor.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cf/mpi/internal/mpi_core.h"
#include "cf/mpi/internal/mpi_protocol.h"
#include "cf/mpi/internal/mpi_runtime.h"
#include "cf/serialization/task.h"

namespace cf {
namespace {

int HostCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

internal::MpiPoolConfig MakeConfig(const MpiPoolExecutor::Options& options) {
  if (!internal::MpiPoolReady()) {
    throw std::logic_error(
        "cf::MpiPoolExecutor: call cf::InitMpiPool(&argc, &argv) first in main()");
  }
  if (options.max_workers < 0) {
    throw std::invalid_argument("max_workers must be greater than 0");
  }
  if (options.calls_per_worker < 1) {
    throw std::invalid_argument("calls_per_worker must be >= 1");
  }
  if (const absl::Status s = CheckTaskRegistry(); !s.ok()) {
    throw std::invalid_argument(std::string(s.message()));
  }
  internal::MpiPoolConfig config;
  config.calls_per_worker = options.calls_per_worker;
  config.initializer = options.initializer;
  config.max_payload_size =
      options.max_payload_size == 0
          ? kDefaultMaxFramePayload
          : std::min<std::uint64_t>(options.max_payload_size, internal::kMaxMpiPayload);
  MpiWorkers route = options.workers;
  if (route == MpiWorkers::kAuto) {
    route = internal::MpiWorldSize() > 1 ? MpiWorkers::kWorld : MpiWorkers::kSpawn;
  }
  if (route == MpiWorkers::kWorld) {
    const int others = internal::MpiWorldSize() - 1;
    if (options.max_workers > others && others > 0) {
      throw std::invalid_argument(absl::StrCat("max_workers is ", options.max_workers,
                                               " but the MPI job has only ", others,
                                               " ranks besides rank 0"));
    }
    if (others == 0) {
      config.route = internal::MpiPoolConfig::kLocal;
      config.max_workers = 1;
    } else {
      config.route = internal::MpiPoolConfig::kWorld;
      config.max_workers = options.max_workers == 0 ? others : options.max_workers;
    }
  } else {
    config.route = internal::MpiPoolConfig::kSpawn;
    config.max_workers = options.max_workers == 0 ? HostCpus() : options.max_workers;
    config.worker_binary = options.worker_binary;
    config.worker_args = options.worker_args;
    config.hostfile = options.hostfile;
  }
  return config;
}

}  // namespace

MpiPoolExecutor::MpiPoolExecutor() : MpiPoolExecutor(Options{}) {}

MpiPoolExecutor::MpiPoolExecutor(int max_workers)
    : MpiPoolExecutor([max_workers] {
        if (max_workers <= 0) throw std::invalid_argument("max_workers must be greater than 0");
        return Options{.max_workers = max_workers};
      }()) {}

MpiPoolExecutor::MpiPoolExecutor(Options options) {
  internal::MpiPoolConfig config = MakeConfig(options);
  workers_ = config.route == internal::MpiPoolConfig::kSpawn ? MpiWorkers::kSpawn
                                                             : MpiWorkers::kWorld;
  core_ = internal::MpiCore::Start(std::move(config));
}

MpiPoolExecutor::~MpiPoolExecutor() { Shutdown(true); }

void MpiPoolExecutor::Shutdown(bool wait, bool cancel_futures) {
  core_->Shutdown(wait, cancel_futures);
}

bool MpiPoolExecutor::Shutdown(const ShutdownOptions& options) {
  return core_->Shutdown(options);
}

bool MpiPoolExecutor::AwaitTermination(Timeout timeout) const {
  return core_->AwaitTermination(timeout.duration());
}

ExecutorStats MpiPoolExecutor::stats() const { return core_->stats(); }

int MpiPoolExecutor::max_workers() const { return core_->max_workers(); }

MpiWorkers MpiPoolExecutor::workers() const { return workers_; }

std::vector<pid_t> MpiPoolExecutor::worker_pids() const {
  std::vector<pid_t> pids;
  for (const auto& w : core_->workers()) {
    if (w.pid > 0) pids.push_back(w.pid);
  }
  return pids;
}

void MpiPoolExecutor::RejectChunkTimeout(const MapOptions& options) {
  if (options.chunk_timeout.duration() != absl::InfiniteDuration()) {
    throw std::invalid_argument(
        "MapOptions::chunk_timeout is not supported by cf::MpiPoolExecutor: a call running on "
        "another MPI rank cannot be stopped");
  }
}

void MpiPoolExecutor::SubmitTask(std::unique_ptr<internal::PoolTask> task) {
  core_->Submit(std::move(task));
}

void MpiPoolExecutor::SubmitTo(internal::MpiCore& core, std::unique_ptr<internal::PoolTask> task) {
  core.Submit(std::move(task));
}

void InitMpiPool(int* argc, char*** argv) { internal::InitMpiRuntime(argc, argv); }

}  // namespace cf
