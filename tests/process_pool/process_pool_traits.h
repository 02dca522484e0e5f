// Test support for cf::ProcessPoolExecutor: a peer into its manager, and the traits that run the
// executor behaviour suite on it with each start method.
#ifndef CF_TESTS_PROCESS_POOL_PROCESS_POOL_TRAITS_H_
#define CF_TESTS_PROCESS_POOL_PROCESS_POOL_TRAITS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cf/process_pool/process_pool_executor.h"
#include "tests/process_pool/socket_gate.h"

// Whether the tests run StartMethod::kFork. Not under GCC 12's AddressSanitizer or
// ThreadSanitizer: neither runtime holds its allocator's locks across fork() (libasan does not
// intercept fork at all), so a forked child of a multi-threaded process can block forever in its
// first allocation, on a region mutex another parent thread held at the fork. Seen with gdb on
// stuck kFork workers under both (__sanitizer::SizeClassAllocator64::GetFromAllocator); it is
// also what hung ProcessPoolFork5Workers.WaitPendingCallsRace under ASan before. Every
// allocation goes through that allocator and a worker must allocate, so nothing in cf can avoid
// it. The default build (and UBSan) run kFork.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CF_TEST_KFORK 0
#else
#define CF_TEST_KFORK 1
#endif

namespace cf::internal {

class ProcessPoolExecutorPeer {
 public:
  // Workers alive once the manager has acted on the queued work (Python's len(_processes)).
  static int WorkersStarted(const ProcessPoolExecutor& executor) {
    executor.core_->AwaitSettledForTesting(absl::Seconds(60));
    return static_cast<int>(executor.worker_pids().size());
  }
  // Blocks until exactly n workers are alive; false after `timeout`.
  static bool AwaitLiveWorkers(const ProcessPoolExecutor& executor, int n,
                               absl::Duration timeout) {
    return executor.core_->AwaitLiveWorkersForTesting(n, timeout);
  }
  // Blocks until the workers hold at least n calls (handed over, maybe not started yet).
  static bool AwaitCallsHanded(const ProcessPoolExecutor& executor, std::size_t n,
                               absl::Duration timeout) {
    return executor.core_->AwaitCallsInFlightForTesting(n, timeout);
  }
};

}  // namespace cf::internal

namespace cf::testing {

inline std::string MethodName(StartMethod method) {
  switch (method) {
    case StartMethod::kFork:
      return "Fork";
    case StartMethod::kSpawn:
      return "Spawn";
    case StartMethod::kForkServer:
      return "ForkServer";
    case StartMethod::kAuto:
      break;
  }
  return "Auto";
}

inline std::unique_ptr<ProcessPoolExecutor> MakeProcessPool(StartMethod method, int max_workers,
                                                            int max_tasks_per_child = 0) {
  if (max_workers <= 0) return std::make_unique<ProcessPoolExecutor>(max_workers);  // throws
  ProcessPoolExecutor::Options options;
  options.max_workers = max_workers;
  options.start_method = method;
  options.max_tasks_per_child = max_tasks_per_child;
  return std::make_unique<ProcessPoolExecutor>(std::move(options));
}

template <StartMethod kMethod, int kMaxWorkers>
struct ProcessPoolTraits {
  using Executor = ProcessPoolExecutor;
  using Gate = SocketGate;
  static constexpr int kWorkers = kMaxWorkers;
  static constexpr int (*kPassGate)(int64_t, int) = &SocketGate::Pass;
  static std::unique_ptr<Executor> Make(int max_workers) {
    return MakeProcessPool(kMethod, max_workers);
  }
  static int WorkersStarted(const Executor& executor) {
    return internal::ProcessPoolExecutorPeer::WorkersStarted(executor);
  }
  static std::string Name() {
    return absl::StrCat("ProcessPool", MethodName(kMethod), kMaxWorkers, "Workers");
  }
};

}  // namespace cf::testing

#endif  // CF_TESTS_PROCESS_POOL_PROCESS_POOL_TRAITS_H_
