// Test helper: runs functions on their own threads and returns their futures, standing in for
// an executor in the core tests (which must not depend on the executors). Joins every thread
// when destroyed.
#ifndef CF_TESTS_CORE_TASK_RUNNER_H_
#define CF_TESTS_CORE_TASK_RUNNER_H_

#include <exception>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/future.h"

namespace cf::testing {

class TaskRunner {
 public:
  TaskRunner() = default;
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;
  ~TaskRunner() {
    for (std::thread& t : threads_) t.join();
  }

  template <typename F>
  auto Run(F fn) {
    using R = std::invoke_result_t<F&>;
    Promise<R> promise;
    Future<R> future = promise.GetFuture();
    threads_.emplace_back([p = std::move(promise), fn = std::move(fn)]() mutable {
      if (!p.SetRunningOrNotifyCancel()) return;
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
          p.SetResult();
        } else {
          p.SetResult(fn());
        }
      } catch (...) {
        p.SetException(std::current_exception());
      }
    });
    return future;
  }

  // A task that blocks until `release` is notified (at most 30 s, so a broken test fails rather
  // than hangs), then returns `value`. `release` must outlive the runner.
  Future<int> RunBlocked(const absl::Notification& release, int value = 0) {
    return Run([&release, value] {
      release.WaitForNotificationWithTimeout(absl::Seconds(30));
      return value;
    });
  }

 private:
  std::vector<std::thread> threads_;
};

}  // namespace cf::testing

#endif  // CF_TESTS_CORE_TASK_RUNNER_H_
