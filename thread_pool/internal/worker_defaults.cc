// The pool's defaults: worker thread names and the default number of workers (declared in
// worker_pool.h).
#include "cf/thread_pool/internal/worker_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"

namespace cf::internal {

std::string WorkerThreadName(const std::string& prefix, int index) {
  constexpr size_t kMaxLinuxThreadName = 15;
  const std::string suffix = absl::StrCat("_", index);
  const size_t keep =
      suffix.size() >= kMaxLinuxThreadName ? 0 : kMaxLinuxThreadName - suffix.size();
  return absl::StrCat(prefix.substr(0, keep), suffix);
}

int DefaultMaxWorkers() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(std::thread::hardware_concurrency());
  if (cpus <= 0) cpus = 1;
  return std::min(32, cpus + 4);
}

std::string NextDefaultThreadNamePrefix() {
  static std::atomic<int> counter{0};
  return absl::StrCat("ThreadPoolExecutor-", counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace cf::internal
