// Stress: 4 submitter threads put 1,000,000 tasks on one ThreadPoolExecutor while randomly
// cancelling them, waiting for them with short Result() timeouts and adding done-callbacks.
// Checked at the end: every future is done; a future is cancelled exactly when a Cancel() on it
// returned true; every other task ran exactly once and its result (or exception) is the right
// one; every callback ran exactly once.
//
// Scale: 1,000,000 tasks (~2 s), also under AddressSanitizer; 250,000 under ThreadSanitizer
// (detected with __SANITIZE_THREAD__; a million take ~12 s there on 2 idle cores), so the
// sanitizer runs stay well under a minute on a loaded machine. The environment variable
// CF_STRESS_TASKS overrides the count.
//
// abseil's debug-build deadlock detector keeps a graph node for every mutex it has seen, and
// every future has a mutex: with a million futures the detector's lookups dominate the run
// (quadratic). It is switched off for this test only; the other tests keep it.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

constexpr int kSubmitters = 4;
constexpr absl::Duration kBound = absl::Seconds(120);

int TaskCount() {
  if (const char* env = std::getenv("CF_STRESS_TASKS"); env != nullptr && *env != '\0') {
    return std::max(kSubmitters, std::atoi(env));
  }
#if defined(__SANITIZE_THREAD__)
  return 250'000;
#else
  return 1'000'000;
#endif
}

struct Failure : std::runtime_error {
  explicit Failure(int id) : std::runtime_error(std::to_string(id)), id(id) {}
  int id;
};

TEST(ThreadPoolStressTest, SubmitCancelAndWaitFromFourThreads) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int tasks = TaskCount();
  ThreadPoolExecutor pool(4);
  std::vector<Future<int64_t>> futures(tasks);
  std::vector<std::atomic<uint8_t>> runs(tasks);
  std::vector<uint8_t> cancel_succeeded(tasks, 0);  // each index written by one submitter
  std::vector<uint8_t> has_callback(tasks, 0);
  std::vector<std::atomic<uint8_t>> callback_runs(tasks);
  std::atomic<int64_t> timeouts{0};

  absl::Notification start;
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&, s] {
      std::mt19937 rng(1234 + s);
      start.WaitForNotificationWithTimeout(kBound);
      for (int id = s; id < tasks; id += kSubmitters) {
        const bool fails = rng() % 64 == 0;
        futures[id] = pool.Submit(
            [&runs, fails](int i) -> int64_t {
              runs[i].fetch_add(1, std::memory_order_relaxed);
              if (fails) throw Failure(i);
              return int64_t{i} * 3 + 1;
            },
            id);
        const uint32_t dice = rng() % 32;
        if (dice < 4) {
          cancel_succeeded[id] = futures[id].Cancel() ? 1 : 0;
        } else if (dice < 6) {
          try {
            futures[id].Result(absl::Microseconds(rng() % 50));
          } catch (const TimeoutError&) {
            timeouts.fetch_add(1, std::memory_order_relaxed);
          } catch (const Failure&) {
          }
        } else if (dice < 8) {
          has_callback[id] = 1;
          futures[id].AddDoneCallback([&callback_runs, id](const Future<int64_t>& f) {
            EXPECT_TRUE(f.Done());
            callback_runs[id].fetch_add(1, std::memory_order_relaxed);
          });
        }
      }
    });
  }
  start.Notify();
  for (std::thread& t : submitters) t.join();

  auto [done, not_done] = Wait(futures, kBound);
  ASSERT_TRUE(not_done.empty()) << not_done.size() << " futures never completed";
  pool.Shutdown(/*wait=*/true);

  int64_t cancelled = 0;
  int64_t failed = 0;
  for (int id = 0; id < tasks; ++id) {
    const Future<int64_t>& f = futures[id];
    ASSERT_TRUE(f.Done()) << id;
    if (f.Cancelled()) {
      ++cancelled;
      ASSERT_EQ(cancel_succeeded[id], 1) << "task " << id << " cancelled without Cancel()";
      ASSERT_EQ(runs[id].load(), 0) << "cancelled task " << id << " ran";
      continue;
    }
    ASSERT_EQ(cancel_succeeded[id], 0) << "Cancel() returned true but task " << id << " ran";
    ASSERT_EQ(runs[id].load(), 1) << "task " << id << " ran " << int{runs[id].load()} << " times";
    try {
      ASSERT_EQ(f.Result(), int64_t{id} * 3 + 1) << id;
    } catch (const Failure& e) {
      ASSERT_EQ(e.id, id);
      ++failed;
    }
  }
  for (int id = 0; id < tasks; ++id) {
    ASSERT_EQ(callback_runs[id].load(), has_callback[id]) << "callbacks of task " << id;
  }
  // The random choices really exercised every path.
  EXPECT_GT(cancelled, 0);
  EXPECT_GT(failed, 0);
  RecordProperty("tasks", tasks);
  RecordProperty("cancelled", static_cast<int>(cancelled));
  RecordProperty("result_timeouts", static_cast<int>(timeouts.load()));
}

}  // namespace
}  // namespace cf
