// cf/process_pool/internal/pool_config.h — a pool's settings, resolved from
// ProcessPoolExecutor::Options (never kAuto, never 0 workers).
//
// Not part of the public API. Immutable once the pool exists.
#ifndef CF_PROCESS_POOL_INTERNAL_POOL_CONFIG_H_
#define CF_PROCESS_POOL_INTERNAL_POOL_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "cf/process_pool/start_method.h"
#include "cf/process_pool/worker_death.h"
#include "cf/serialization/task.h"

namespace cf::internal {

struct PoolConfig {
  int max_workers = 1;
  StartMethod start_method = StartMethod::kFork;  // resolved: never kAuto
  int max_tasks_per_child = 0;                    // 0: unlimited
  TaskCall initializer;
  std::string worker_binary;                      // empty: this program
  std::uint64_t max_payload_size = 0;             // bytes per frame, either way
  absl::Duration start_timeout = absl::Seconds(20);
  // How long a worker told to exit (shutdown, TerminateWorkers) has before it is SIGKILLed.
  absl::Duration exit_grace = absl::Seconds(5);
  // How long a worker the pool SIGTERMed for a task timeout has before SIGKILL.
  absl::Duration kill_grace = absl::Seconds(1);
  WorkerDeath on_worker_death = WorkerDeath::kBreakPool;
  int max_retries = 0;  // kRetryTask: runs again per call after its first
};

}  // namespace cf::internal

#endif  // CF_PROCESS_POOL_INTERNAL_POOL_CONFIG_H_
