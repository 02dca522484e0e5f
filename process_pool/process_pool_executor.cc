#include "cf/process_pool/process_pool_executor.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cf/core/errors.h"
#include "cf/process_pool/internal/failure_policy.h"
#include "cf/process_pool/internal/launcher.h"
#include "cf/process_pool/internal/pool_core.h"
#include "cf/process_pool/internal/spare_fork_server.h"
#include "cf/process_pool/internal/worker_loop.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "cf/serialization/task.h"

namespace cf {
namespace {

std::atomic<bool> init_process_pool_called{false};

int DefaultMaxWorkers() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
}

std::uint64_t PhysicalMemory() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return std::uint64_t{1} << 40;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

// A program started as a worker reached a ProcessPoolExecutor: its main() does not call
// cf::InitProcessPool. Starting pools of its own would be a fork bomb; the parent reports why.
void RefuseToNestInUninitializedWorker() {
  if (!internal::SpawnedByProcessPool() || init_process_pool_called.load()) return;
  std::fputs(
      "cf: this program was started as a process-pool worker, but main() does not call "
      "cf::InitProcessPool(argc, argv) first; exiting instead of starting another pool\n",
      stderr);
  _exit(internal::kMissingInitExitCode);
}

}  // namespace

const char* StartMethodName(StartMethod method) {
  switch (method) {
    case StartMethod::kAuto:
      return "auto";
    case StartMethod::kFork:
      return "fork";
    case StartMethod::kSpawn:
      return "spawn";
    case StartMethod::kForkServer:
      break;
  }
  return "forkserver";
}

internal::PoolConfig ProcessPoolExecutor::MakeConfig(Options options) {
  RefuseToNestInUninitializedWorker();
  if (options.max_workers < 0) {
    throw std::invalid_argument("max_workers must be greater than 0");
  }
  if (options.max_tasks_per_child < 0) {
    throw std::invalid_argument("max_tasks_per_child must be >= 1 (or 0 for no limit)");
  }
  if (absl::Status s = CheckTaskRegistry(); !s.ok()) {
    throw std::logic_error(absl::StrCat("cf::ProcessPoolExecutor: ", s.message()));
  }
  internal::PoolConfig config;
  config.max_workers = options.max_workers == 0 ? DefaultMaxWorkers() : options.max_workers;
  config.start_method = options.start_method;
  if (config.start_method == StartMethod::kAuto) {
    config.start_method =
        init_process_pool_called.load() ? StartMethod::kForkServer : StartMethod::kFork;
  }
  if (options.max_retries < 0) throw std::invalid_argument("max_retries must be >= 0");
  if (options.kill_grace <= absl::ZeroDuration()) {
    throw std::invalid_argument("kill_grace must be greater than 0");
  }
  config.on_worker_death = options.on_worker_death;
  config.max_retries = options.max_retries;
  config.kill_grace = options.kill_grace;
  config.max_tasks_per_child = options.max_tasks_per_child;
  config.initializer = std::move(options.initializer);
  config.worker_binary = std::move(options.worker_binary);
  config.max_payload_size =
      options.max_payload_size != 0 ? options.max_payload_size : PhysicalMemory();
  if (config.initializer && config.initializer.payload().size() > config.max_payload_size) {
    throw std::invalid_argument(internal::OversizeArgumentMessage(
        config.initializer.task_name(), config.initializer.payload().size(),
        config.max_payload_size));
  }
  return config;
}

ProcessPoolExecutor::ProcessPoolExecutor() : ProcessPoolExecutor(Options()) {}

ProcessPoolExecutor::ProcessPoolExecutor(int max_workers)
    : ProcessPoolExecutor([max_workers] {
        if (max_workers <= 0) throw std::invalid_argument("max_workers must be greater than 0");
        Options options;
        options.max_workers = max_workers;
        return options;
      }()) {}

ProcessPoolExecutor::ProcessPoolExecutor(Options options) {
  internal::PoolConfig config = MakeConfig(std::move(options));
  start_method_ = config.start_method;
  core_ = std::make_shared<internal::PoolCore>(std::move(config));
}

ProcessPoolExecutor::~ProcessPoolExecutor() {
  core_->Shutdown(/*wait=*/true, /*cancel_futures=*/false);
}

void ProcessPoolExecutor::Shutdown(bool wait, bool cancel_futures) {
  core_->Shutdown(wait, cancel_futures);
}

bool ProcessPoolExecutor::Shutdown(const ShutdownOptions& options) {
  return core_->Shutdown(options);
}

bool ProcessPoolExecutor::AwaitTermination(Timeout timeout) const {
  return core_->AwaitTermination(timeout);
}

ExecutorStats ProcessPoolExecutor::stats() const { return core_->stats(); }

absl::Duration ProcessPoolExecutor::CheckedTimeout(Timeout timeout, const char* what) {
  if (timeout.duration() <= absl::ZeroDuration()) {
    throw std::invalid_argument(absl::StrCat(
        what, " must be greater than 0 (absl::InfiniteDuration() for no timeout), got ",
        absl::FormatDuration(timeout.duration())));
  }
  return timeout.duration();
}

void ProcessPoolExecutor::TerminateWorkers() { core_->SignalWorkers(SIGTERM); }

void ProcessPoolExecutor::KillWorkers() { core_->SignalWorkers(SIGKILL); }

std::vector<pid_t> ProcessPoolExecutor::worker_pids() const { return core_->worker_pids(); }

int ProcessPoolExecutor::max_workers() const { return core_->max_workers(); }

StartMethod ProcessPoolExecutor::start_method() const { return start_method_; }

void InitProcessPool(int argc, char** argv) {
  (void)argc;
  (void)argv;
  init_process_pool_called.store(true);
  absl::StatusOr<internal::Role> role = internal::TakeRoleFromEnvironment();
  if (!role.ok()) {
    std::fprintf(stderr, "%s\n", std::string(role.status().message()).c_str());
    _exit(2);
  }
  switch (role->kind) {
    case internal::Role::kNone:
      // The program's call slots (payload_allocator.h) now, so that they are there before any
      // pool, as the program's for its life, rather than appearing with the first one.
      (void)internal::CallPayloadAllocator::Get()->SlotFds();
      internal::PrestartForkServer();  // spare_fork_server.h; returns without waiting for it
      return;
    case internal::Role::kWorker:
      internal::DieWithParent(role->parent);
      _exit(internal::RunWorker(internal::kWorkerInFd, internal::kWorkerOutFd,
                                internal::kWorkerChannelFd));
    case internal::Role::kForkServer:
      internal::RunForkServer(internal::kForkServerFd, role->parent, &internal::RunWorker);
  }
}

}  // namespace cf
