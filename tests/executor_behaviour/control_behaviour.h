// The executor control suite: Shutdown(cf::ShutdownOptions) with a deadline, AwaitTermination
// and stats() (cf/core/executor_control.h, issue 14), as a type-parameterised GoogleTest suite
// that runs against any cf executor — only behaviour every executor shares (no request_stop,
// no kTerminate/kKill: those are executor-specific and tested beside each executor).
//
// Same traits as the executor behaviour suite (executor_behaviour.h): Executor, Gate,
// kWorkers, kPassGate, Make(max_workers), Name(). Everything submitted is a plain function
// (tasks.h, or the traits' gate function), so a process pool can run the suite too.
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(ThreadPool, ControlBehaviourTest,
//                                  ::testing::Types<MyTraits, ...>, TraitsNames);
//
// Every blocking wait is bounded (kBound); nothing sleeps for correctness: tasks block on gates,
// and the only timed waits are the ones under test (a Shutdown or AwaitTermination that must
// time out while a gate holds a task).
#ifndef CF_TESTS_EXECUTOR_BEHAVIOUR_CONTROL_BEHAVIOUR_H_
#define CF_TESTS_EXECUTOR_BEHAVIOUR_CONTROL_BEHAVIOUR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/executor_fixture.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/executor_behaviour/test_util.h"

namespace cf::testing {

// The timeout of the Shutdown/AwaitTermination calls that must run out, and how late they may
// return (generous: sanitizers and a loaded 2-core machine).
inline constexpr absl::Duration kShortTimeout = absl::Milliseconds(150);
inline constexpr absl::Duration kLateness = absl::Seconds(5);

// ShutdownOptions without designated initializers (-Wmissing-field-initializers).
inline ShutdownOptions ShutdownWith(bool wait, absl::Duration timeout = absl::InfiniteDuration(),
                                    bool cancel_futures = false) {
  ShutdownOptions options;
  options.wait = wait;
  options.timeout = timeout;
  options.cancel_futures = cancel_futures;
  return options;
}

// submitted == completed + failed + cancelled, with the numbers in the failure message.
inline ::testing::AssertionResult AtRest(const ExecutorStats& s) {
  if (s.submitted == s.completed + s.failed + s.cancelled && s.queued == 0 &&
      s.busy_workers == 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "not at rest: submitted=" << s.submitted << " completed=" << s.completed
         << " failed=" << s.failed << " cancelled=" << s.cancelled << " queued=" << s.queued
         << " busy=" << s.busy_workers;
}

template <typename Traits>
class ControlBehaviourTest : public ExecutorFixture<Traits> {};

TYPED_TEST_SUITE_P(ControlBehaviourTest);

// ---- Shutdown(options) and AwaitTermination ----------------------------------------------------

TYPED_TEST_P(ControlBehaviourTest, ShutdownWithTimeoutReturnsFalseWhileATaskIsBlocked) {
  typename TypeParam::Gate gate;
  std::vector<Future<int>> blockers = this->BlockWorkers(gate);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(this->executor().Shutdown(ShutdownWith(/*wait=*/true, kShortTimeout)));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, kShortTimeout);
  EXPECT_LT(took, kShortTimeout + kLateness);
  // kReturn: the tasks go on running, the executor refuses new work.
  for (const Future<int>& f : blockers) EXPECT_FALSE(f.Done());
  EXPECT_THROW(this->executor().Submit(&Mul, 2, 3), ShutdownError);
  gate.Open();
  EXPECT_TRUE(this->executor().AwaitTermination(kBound));
  for (int i = 0; i < this->kWorkers; ++i) EXPECT_EQ(blockers[i].Result(kBound), -1 - i);
  // Idempotent: everything has ended.
  EXPECT_TRUE(this->executor().Shutdown(ShutdownWith(/*wait=*/true, absl::ZeroDuration())));
}

TYPED_TEST_P(ControlBehaviourTest, ShutdownWithTimeoutReturnsTrueWhenEverythingEnds) {
  std::vector<Future<int>> results;
  for (int i = 0; i < 20; ++i) results.push_back(this->executor().Submit(&Mul, i, 2));
  EXPECT_TRUE(this->executor().Shutdown(ShutdownWith(/*wait=*/true, kBound)));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(results[i].Done());
    EXPECT_EQ(results[i].Result(), 2 * i);
  }
  EXPECT_TRUE(this->executor().AwaitTermination(absl::ZeroDuration()));
}

TYPED_TEST_P(ControlBehaviourTest, CancelFuturesCancelsQueuedCalls) {
  typename TypeParam::Gate gate;
  std::vector<Future<int>> blockers = this->BlockWorkers(gate);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(this->executor().Submit(&Mul, i, 3));
  // The blockers still run: not everything has finished.
  EXPECT_FALSE(this->executor().Shutdown(
      ShutdownWith(/*wait=*/false, absl::InfiniteDuration(), /*cancel_futures=*/true)));
  for (const Future<int>& f : queued) {
    EXPECT_TRUE(f.Cancelled());
    EXPECT_THROW(f.Result(kBound), CancelledError);
  }
  gate.Open();
  EXPECT_TRUE(this->executor().AwaitTermination(kBound));
  for (int i = 0; i < this->kWorkers; ++i) EXPECT_EQ(blockers[i].Result(kBound), -1 - i);
  const ExecutorStats s = this->executor().stats();
  EXPECT_TRUE(AtRest(s));
  EXPECT_EQ(s.cancelled, 5);
  EXPECT_EQ(s.completed, this->kWorkers);
}

TYPED_TEST_P(ControlBehaviourTest, ShutdownWithoutWaitThenAwaitTermination) {
  typename TypeParam::Gate gate;
  std::vector<Future<int>> blockers = this->BlockWorkers(gate);
  Future<int> queued = this->executor().Submit(&Add, 40, 2);
  EXPECT_FALSE(this->executor().Shutdown(ShutdownWith(/*wait=*/false)));
  EXPECT_THROW(this->executor().Submit(&Mul, 2, 3), ShutdownError);
  // Still running: AwaitTermination times out.
  const absl::Time start = absl::Now();
  EXPECT_FALSE(this->executor().AwaitTermination(kShortTimeout));
  EXPECT_GE(absl::Now() - start, kShortTimeout);
  gate.Open();
  EXPECT_TRUE(this->executor().AwaitTermination(kBound));
  EXPECT_EQ(queued.Result(kBound), 42);  // queued calls still run without cancel_futures
  EXPECT_TRUE(this->executor().AwaitTermination(absl::ZeroDuration()));
}

TYPED_TEST_P(ControlBehaviourTest, ShutdownWithoutWaitReportsWhetherEverythingHadFinished) {
  EXPECT_EQ(this->executor().Submit(&Mul, 6, 7).Result(kBound), 42);
  // The call has returned its result: nothing is left to finish.
  EXPECT_TRUE(this->executor().Shutdown(ShutdownWith(/*wait=*/false)));
  EXPECT_TRUE(this->executor().AwaitTermination(kBound));
}

TYPED_TEST_P(ControlBehaviourTest, AwaitTerminationBeforeShutdownTimesOut) {
  const absl::Time start = absl::Now();
  EXPECT_FALSE(this->executor().AwaitTermination(kShortTimeout));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, kShortTimeout);
  EXPECT_LT(took, kShortTimeout + kLateness);
  EXPECT_FALSE(this->executor().AwaitTermination(absl::ZeroDuration()));
  // Nothing changed: the executor still works, and terminates once shut down.
  EXPECT_EQ(this->executor().Submit(&Mul, 6, 7).Result(kBound), 42);
  this->executor().Shutdown(ShutdownWith(/*wait=*/false));
  EXPECT_TRUE(this->executor().AwaitTermination(kBound));
}

TYPED_TEST_P(ControlBehaviourTest, AwaitTerminationWakesWhenAnotherThreadShutsDown) {
  bool terminated = false;
  std::thread waiter([this, &terminated] { terminated = this->executor().AwaitTermination(kBound); });
  EXPECT_EQ(this->executor().Submit(&Mul, 6, 7).Result(kBound), 42);
  this->executor().Shutdown(ShutdownWith(/*wait=*/false));
  waiter.join();
  EXPECT_TRUE(terminated);
}

// ---- stats() ------------------------------------------------------------------------------------

TYPED_TEST_P(ControlBehaviourTest, StatsOfANewExecutor) {
  const ExecutorStats s = this->executor().stats();
  EXPECT_EQ(s.submitted, 0);
  EXPECT_EQ(s.completed, 0);
  EXPECT_EQ(s.failed, 0);
  EXPECT_EQ(s.cancelled, 0);
  EXPECT_EQ(s.queued, 0);
  EXPECT_EQ(s.busy_workers, 0);
  EXPECT_EQ(s.task_timeouts, 0);
  EXPECT_TRUE(AtRest(s));
}

TYPED_TEST_P(ControlBehaviourTest, StatsCountEveryOutcomeOnce) {
  typename TypeParam::Gate gate;
  std::vector<Future<int>> blockers = this->BlockWorkers(gate);
  // Queued behind the gate, then cancelled through their futures (counted once, as cancelled,
  // whenever the executor drops them).
  std::vector<Future<int>> cancelled;
  for (int i = 0; i < 4; ++i) cancelled.push_back(this->executor().Submit(&Mul, i, i));
  for (Future<int>& f : cancelled) EXPECT_TRUE(f.Cancel());
  std::vector<Future<int>> ok;
  for (int i = 0; i < 6; ++i) ok.push_back(this->executor().Submit(&Mul, i, 2));
  std::vector<Future<int>> failing;
  for (int i = 0; i < 3; ++i) {
    failing.push_back(this->executor().Submit(&ThrowRuntimeError, std::string("boom")));
  }
  // Map: one chunk is one call. 10 inputs in chunks of 3: 4 calls, all completed; 2 inputs in
  // chunks of 1, the second dividing by zero: 1 completed, 1 failed.
  std::vector<std::pair<int, int>> pow_inputs;
  for (int i = 0; i < 10; ++i) pow_inputs.emplace_back(i, 2);
  auto pows = this->executor().Map(&Pow, std::move(pow_inputs), WithChunksize(3));
  auto divs = this->executor().Map(&DivMod, std::vector<std::pair<int, int>>{{1, 2}, {1, 0}});
  const int64_t submitted = this->kWorkers + 4 + 6 + 3 + 4 + 2;
  EXPECT_EQ(this->executor().stats().submitted, submitted);
  gate.Open();
  EXPECT_TRUE(this->executor().Shutdown(ShutdownWith(/*wait=*/true, kBound)));
  const ExecutorStats s = this->executor().stats();
  EXPECT_TRUE(AtRest(s));
  EXPECT_EQ(s.submitted, submitted);
  EXPECT_EQ(s.completed, this->kWorkers + 6 + 4 + 1);
  EXPECT_EQ(s.failed, 3 + 1);
  EXPECT_EQ(s.cancelled, 4);
  EXPECT_EQ(s.workers, 0);
  EXPECT_EQ(s.idle_workers, 0);
  EXPECT_EQ(s.task_timeouts, 0);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ok[i].Result(kBound), 2 * i);
  for (Future<int>& f : failing) EXPECT_THROW(f.Result(kBound), std::runtime_error);
}

TYPED_TEST_P(ControlBehaviourTest, StatsCountACallBeforeItsResultIsSeen) {
  Future<int> f = this->executor().Submit(&Mul, 6, 7);
  EXPECT_EQ(f.Result(kBound), 42);
  EXPECT_EQ(this->executor().stats().completed, 1);
  Future<int> g = this->executor().Submit(&ThrowRuntimeError, std::string("boom"));
  EXPECT_NE(g.Exception(kBound), nullptr);
  const ExecutorStats s = this->executor().stats();
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.submitted, 2);
}

TYPED_TEST_P(ControlBehaviourTest, StatsShowQueuedAndBusyWhileGated) {
  typename TypeParam::Gate gate;
  std::vector<Future<int>> blockers = this->BlockWorkers(gate);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(this->executor().Submit(&Mul, i, 5));
  ExecutorStats s = this->executor().stats();
  EXPECT_EQ(s.busy_workers, this->kWorkers);
  EXPECT_EQ(s.idle_workers, 0);
  EXPECT_EQ(s.workers, this->kWorkers);
  EXPECT_EQ(s.queued, 3);
  EXPECT_EQ(s.submitted, this->kWorkers + 3);
  EXPECT_EQ(s.completed + s.failed + s.cancelled, 0);
  gate.Open();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(queued[i].Result(kBound), 5 * i);
  EXPECT_TRUE(this->executor().Shutdown(ShutdownWith(/*wait=*/true, kBound)));
  s = this->executor().stats();
  EXPECT_TRUE(AtRest(s));
  EXPECT_EQ(s.completed, this->kWorkers + 3);
}

// A poller takes snapshots while a burst of calls (some failing, some cancelled) runs: no
// counter ever decreases and every snapshot is consistent.
TYPED_TEST_P(ControlBehaviourTest, StatsNeverDecreaseDuringABurst) {
  std::atomic<bool> stop{false};
  std::atomic<int> snapshots{0};
  std::vector<std::string> problems;
  std::thread poller([&] {
    ExecutorStats last;
    while (!stop.load(std::memory_order_acquire) || snapshots.load() == 0) {
      const ExecutorStats s = this->executor().stats();
      snapshots.fetch_add(1);
      if (s.submitted < last.submitted || s.completed < last.completed ||
          s.failed < last.failed || s.cancelled < last.cancelled ||
          s.worker_restarts < last.worker_restarts || s.task_timeouts < last.task_timeouts) {
        problems.push_back("a counter decreased");
      }
      if (s.completed + s.failed + s.cancelled > s.submitted) {
        problems.push_back("more calls ended than were submitted");
      }
      if (s.idle_workers + s.busy_workers != s.workers || s.workers > this->kWorkers ||
          s.queued < 0 || s.idle_workers < 0 || s.busy_workers < 0) {
        problems.push_back("inconsistent gauges");
      }
      if (problems.size() > 10) break;
      last = s;
    }
  });
  constexpr int kCalls = 3000;
  std::vector<Future<int>> futures;
  futures.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    if (i % 7 == 0) {
      futures.push_back(this->executor().Submit(&ThrowRuntimeError, std::string("x")));
    } else {
      futures.push_back(this->executor().Submit(&Add, i, 1));
    }
    if (i % 11 == 0) futures[i / 2].Cancel();  // queued or not: either outcome is fine
  }
  EXPECT_TRUE(this->executor().Shutdown(ShutdownWith(/*wait=*/true, kBound)));
  stop.store(true, std::memory_order_release);
  poller.join();
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_GT(snapshots.load(), 0);
  const ExecutorStats s = this->executor().stats();
  EXPECT_TRUE(AtRest(s));
  EXPECT_EQ(s.submitted, kCalls);
  // Each call counted exactly once, as its future ended.
  int64_t completed = 0, failed = 0, cancelled = 0;
  for (const Future<int>& f : futures) {
    ASSERT_TRUE(f.Done());
    if (f.Cancelled()) {
      ++cancelled;
    } else if (f.Exception() != nullptr) {
      ++failed;
    } else {
      ++completed;
    }
  }
  EXPECT_EQ(s.completed, completed);
  EXPECT_EQ(s.failed, failed);
  EXPECT_EQ(s.cancelled, cancelled);
}

TYPED_TEST_P(ControlBehaviourTest, StatsFromDoneCallbacks) {
  typename TypeParam::Gate gate;
  std::vector<Future<int>> blockers = this->BlockWorkers(gate);
  Future<int> queued = this->executor().Submit(&Mul, 2, 2);
  ExecutorStats seen_by_blocker, seen_by_cancelled;
  absl::Notification blocker_done, cancelled_done;
  blockers[0].AddDoneCallback([&](const Future<int>&) {
    seen_by_blocker = this->executor().stats();
    blocker_done.Notify();
  });
  // This one runs while Shutdown(cancel_futures) cancels the queued call.
  queued.AddDoneCallback([&](const Future<int>&) {
    seen_by_cancelled = this->executor().stats();
    cancelled_done.Notify();
  });
  EXPECT_FALSE(this->executor().Shutdown(
      ShutdownWith(/*wait=*/false, absl::InfiniteDuration(), /*cancel_futures=*/true)));
  ASSERT_TRUE(cancelled_done.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(seen_by_cancelled.submitted, this->kWorkers + 1);
  gate.Open();
  ASSERT_TRUE(blocker_done.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(seen_by_blocker.submitted, this->kWorkers + 1);
  EXPECT_GE(seen_by_blocker.completed, 1);  // its own call is counted before its callbacks
  EXPECT_TRUE(this->executor().AwaitTermination(kBound));
  EXPECT_TRUE(AtRest(this->executor().stats()));
}

REGISTER_TYPED_TEST_SUITE_P(ControlBehaviourTest,
                            ShutdownWithTimeoutReturnsFalseWhileATaskIsBlocked,
                            ShutdownWithTimeoutReturnsTrueWhenEverythingEnds,
                            CancelFuturesCancelsQueuedCalls,
                            ShutdownWithoutWaitThenAwaitTermination,
                            ShutdownWithoutWaitReportsWhetherEverythingHadFinished,
                            AwaitTerminationBeforeShutdownTimesOut,
                            AwaitTerminationWakesWhenAnotherThreadShutsDown,
                            StatsOfANewExecutor, StatsCountEveryOutcomeOnce,
                            StatsCountACallBeforeItsResultIsSeen,
                            StatsShowQueuedAndBusyWhileGated, StatsNeverDecreaseDuringABurst,
                            StatsFromDoneCallbacks);

}  // namespace cf::testing

#endif  // CF_TESTS_EXECUTOR_BEHAVIOUR_CONTROL_BEHAVIOUR_H_
