// Test support for cf::ThreadPoolExecutor: the peer that reads its internals (Python's tests
// look at executor._threads) and the traits that run the executor behaviour suite on it.
#ifndef CF_TESTS_THREAD_POOL_THREAD_POOL_TRAITS_H_
#define CF_TESTS_THREAD_POOL_THREAD_POOL_TRAITS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cf/thread_pool/internal/worker_pool.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "tests/executor_behaviour/in_process_gate.h"

namespace cf::internal {

class ThreadPoolExecutorPeer {
 public:
  // Threads started so far (Python's len(executor._threads)).
  static int ThreadsStarted(const ThreadPoolExecutor& executor) {
    return executor.pool_->threads_started();
  }
  // Blocks until at least n workers wait for work (bounded); returns whether they do.
  static bool AwaitIdleWorkers(const ThreadPoolExecutor& executor, int n, absl::Duration timeout) {
    return executor.pool_->AwaitIdleWorkers(n, timeout);
  }
};

}  // namespace cf::internal

namespace cf::testing {

template <int kMaxWorkers>
struct ThreadPoolTraits {
  using Executor = ThreadPoolExecutor;
  using Gate = InProcessGate;
  static constexpr int kWorkers = kMaxWorkers;
  static constexpr int (*kPassGate)(int64_t, int) = &InProcessGate::Pass;
  static std::unique_ptr<Executor> Make(int max_workers) {
    return std::make_unique<Executor>(max_workers);
  }
  static int WorkersStarted(const Executor& executor) {
    return internal::ThreadPoolExecutorPeer::ThreadsStarted(executor);
  }
  static std::string Name() { return absl::StrCat("ThreadPool", kMaxWorkers, "Workers"); }
};

}  // namespace cf::testing

#endif  // CF_TESTS_THREAD_POOL_THREAD_POOL_TRAITS_H_
