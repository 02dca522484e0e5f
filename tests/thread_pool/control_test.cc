// Shutdown(cf::ShutdownOptions), AwaitTermination and stats() on cf::ThreadPoolExecutor: the
// shared control suite (tests/executor_behaviour/control_behaviour.h) at 1, 2 and 5 workers,
// and what only a thread pool does — request_stop and kTerminate/kKill signalling stop tokens,
// the chunk_timeout refusal, calls from inside a task, Post and continuations in the counts,
// the destructor after a Shutdown whose deadline passed.
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/control_behaviour.h"
#include "tests/executor_behaviour/in_process_gate.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/executor_behaviour/test_util.h"
#include "tests/thread_pool/thread_pool_traits.h"

namespace cf::testing {
namespace {

using ThreadPools = ::testing::Types<ThreadPoolTraits<1>, ThreadPoolTraits<2>, ThreadPoolTraits<5>>;
INSTANTIATE_TYPED_TEST_SUITE_P(ThreadPoolExecutor, ControlBehaviourTest, ThreadPools, TraitsNames);

// Blocks until the token is signalled or `limit` passes; returns whether it was signalled.
bool WaitForStop(const std::stop_token& st, absl::Duration limit) {
  absl::Notification stop;
  std::stop_callback cb(st, [&stop] { stop.Notify(); });
  return stop.WaitForNotificationWithTimeout(limit);
}

// A running task that waits (bounded) for its stop token; returns whether it was signalled.
Future<bool> RunningTaskAwaitingStop(ThreadPoolExecutor& pool) {
  auto started = std::make_shared<absl::Notification>();
  Future<bool> f = pool.Submit([started](std::stop_token st) {
    started->Notify();
    return WaitForStop(st, kBound);
  });
  EXPECT_TRUE(started->WaitForNotificationWithTimeout(kBound)) << "the task did not start";
  return f;
}

ShutdownOptions StopOptions(bool wait, bool request_stop, absl::Duration timeout,
                            ShutdownTimeoutAction on_timeout = ShutdownTimeoutAction::kReturn) {
  ShutdownOptions options;
  options.wait = wait;
  options.request_stop = request_stop;
  options.timeout = timeout;
  options.on_timeout = on_timeout;
  return options;
}

TEST(ThreadPoolControlTest, RequestStopSignalsRunningTasksThatTakeAToken) {
  ThreadPoolExecutor pool(2);
  Future<bool> stoppable = RunningTaskAwaitingStop(pool);
  // As the header's example writes it.
  EXPECT_TRUE(pool.Shutdown({.timeout = kBound, .request_stop = true}));
  EXPECT_TRUE(stoppable.Result(kBound));
  EXPECT_FALSE(stoppable.Cancelled());
}

TEST(ThreadPoolControlTest, RequestStopSignalsQueuedTasksThatStillRun) {
  ThreadPoolExecutor pool(1);
  InProcessGate gate;
  Future<int> blocker = pool.Submit(&InProcessGate::Pass, gate.id(), 1);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  Future<bool> queued = pool.Submit([](std::stop_token st) { return st.stop_requested(); });
  EXPECT_FALSE(pool.Shutdown(StopOptions(/*wait=*/false, /*request_stop=*/true, kBound)));
  gate.Open();
  EXPECT_TRUE(queued.Result(kBound));  // it started with its stop already requested
  EXPECT_EQ(blocker.Result(kBound), 1);
  EXPECT_TRUE(pool.AwaitTermination(kBound));
}

TEST(ThreadPoolControlTest, WithoutRequestStopTokensAreLeftAlone) {
  ThreadPoolExecutor pool(1);
  Future<bool> stoppable = RunningTaskAwaitingStop(pool);
  EXPECT_FALSE(pool.Shutdown(StopOptions(/*wait=*/true, /*request_stop=*/false, kShortTimeout)));
  EXPECT_FALSE(stoppable.Done());  // kReturn: still running, its token not signalled
  EXPECT_TRUE(stoppable.RequestStop());
  EXPECT_TRUE(stoppable.Result(kBound));
  EXPECT_TRUE(pool.AwaitTermination(kBound));
}

class OnTimeoutTest : public ::testing::TestWithParam<ShutdownTimeoutAction> {};

// The thread pool cannot end a thread: kTerminate and kKill ask the running calls to stop at
// the deadline, and Shutdown still returns false (they had not finished by then).
TEST_P(OnTimeoutTest, RequestsStopAtTheDeadline) {
  ThreadPoolExecutor pool(2);
  auto stopped_at = std::make_shared<std::atomic<int64_t>>(0);
  auto started = std::make_shared<absl::Notification>();
  Future<bool> stoppable = pool.Submit([stopped_at, started](std::stop_token st) {
    started->Notify();
    const bool stopped = WaitForStop(st, kBound);
    stopped_at->store(absl::ToUnixNanos(absl::Now()));
    return stopped;
  });
  ASSERT_TRUE(started->WaitForNotificationWithTimeout(kBound));
  const absl::Time start = absl::Now();
  EXPECT_FALSE(
      pool.Shutdown(StopOptions(/*wait=*/true, /*request_stop=*/false, kShortTimeout, GetParam())));
  EXPECT_GE(absl::Now() - start, kShortTimeout);
  EXPECT_TRUE(stoppable.Result(kBound));
  EXPECT_GE(absl::FromUnixNanos(stopped_at->load()) - start, kShortTimeout);
  EXPECT_TRUE(pool.AwaitTermination(kBound));
}

INSTANTIATE_TEST_SUITE_P(ThreadPool, OnTimeoutTest,
                         ::testing::Values(ShutdownTimeoutAction::kTerminate,
                                           ShutdownTimeoutAction::kKill));

TEST(ThreadPoolControlTest, ChunkTimeoutIsAProcessPoolOption) {
  ThreadPoolExecutor pool(2);
  MapOptions options;
  options.chunk_timeout = absl::Seconds(1);
  try {
    pool.Map(&Identity, std::vector<int>{1, 2, 3}, options);
    ADD_FAILURE() << "Map with chunk_timeout should throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("process-pool option"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.stats().submitted, 0);
  EXPECT_EQ(Collect(pool.Map(&Identity, std::vector<int>{1, 2, 3})), (std::vector<int>{1, 2, 3}));
}

TEST(ThreadPoolControlTest, ShutdownFromATaskDoesNotWaitForItself) {
  ThreadPoolExecutor pool(2);
  Future<bool> f = pool.Submit([&pool] {
    ShutdownOptions options;
    options.timeout = kBound;
    return pool.Shutdown(options);
  });
  EXPECT_TRUE(f.Result(kBound));
  EXPECT_TRUE(pool.AwaitTermination(kBound));
}

TEST(ThreadPoolControlTest, ShutdownFromATaskTimesOutOnAnotherBlockedTask) {
  ThreadPoolExecutor pool(2);
  InProcessGate gate;
  Future<int> blocker = pool.Submit(&InProcessGate::Pass, gate.id(), 1);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  Future<bool> f = pool.Submit([&pool] {
    ShutdownOptions options;
    options.timeout = kShortTimeout;
    return pool.Shutdown(options);
  });
  EXPECT_FALSE(f.Result(kBound));
  gate.Open();
  EXPECT_TRUE(pool.AwaitTermination(kBound));
  EXPECT_EQ(blocker.Result(kBound), 1);
}

TEST(ThreadPoolControlTest, AwaitTerminationFromATask) {
  ThreadPoolExecutor pool(2);
  // Before any Shutdown it times out, from a task too.
  EXPECT_FALSE(pool.Submit([&pool] { return pool.AwaitTermination(kShortTimeout); }).Result(kBound));
  // After one, it waits for the other workers, not for its own.
  EXPECT_TRUE(pool.Submit([&pool] {
                    pool.Shutdown(/*wait=*/false);
                    return pool.AwaitTermination(kBound);
                  })
                  .Result(kBound));
  EXPECT_TRUE(pool.AwaitTermination(kBound));
}

TEST(ThreadPoolControlTest, StatsFromATask) {
  ThreadPoolExecutor pool(2);
  ExecutorStats s = pool.Submit([&pool] { return pool.stats(); }).Result(kBound);
  EXPECT_EQ(s.submitted, 1);
  EXPECT_EQ(s.busy_workers, 1);  // the task calling it
  EXPECT_EQ(s.completed, 0);
}

TEST(ThreadPoolControlTest, PostedCallsCount) {
  ThreadPoolExecutor pool(2);
  std::atomic<int> reported{0};
  CallbackExceptionHandler previous = SetCallbackExceptionHandler(
      [&reported](const AnyFuture&, std::exception_ptr) { reported.fetch_add(1); });
  pool.Post([] {});
  pool.Post([] { throw std::runtime_error("posted"); });
  ASSERT_TRUE(pool.WaitIdle(kBound));
  SetCallbackExceptionHandler(previous);
  const ExecutorStats s = pool.stats();
  EXPECT_EQ(s.submitted, 2);
  EXPECT_EQ(s.completed, 1);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(reported.load(), 1);
  EXPECT_TRUE(AtRest(s));
}

// Then(pool, fn) continuations run on the pool but are not calls of stats().
TEST(ThreadPoolControlTest, ContinuationsAreNotCounted) {
  ThreadPoolExecutor pool(2);
  Future<int> f = pool.Submit(&Mul, 6, 7).Then(pool, [](const Future<int>& g) {
    return g.Result() + 1;
  });
  EXPECT_EQ(f.Result(kBound), 43);
  ASSERT_TRUE(pool.WaitIdle(kBound));
  const ExecutorStats s = pool.stats();
  EXPECT_EQ(s.submitted, 1);
  EXPECT_EQ(s.completed, 1);
  EXPECT_TRUE(AtRest(s));
}

// Calls cancelled through their futures while workers race to take them: each counts once.
TEST(ThreadPoolControlTest, CancelRacingWorkersCountsEachCallOnce) {
  for (int round = 0; round < 20; ++round) {
    ThreadPoolExecutor pool(2);
    std::vector<Future<int>> futures;
    for (int i = 0; i < 200; ++i) futures.push_back(pool.Submit(&Add, i, 1));
    std::thread canceller([&futures] {
      for (Future<int>& f : futures) f.Cancel();
    });
    canceller.join();
    ASSERT_TRUE(pool.WaitIdle(kBound));
    const ExecutorStats s = pool.stats();
    int64_t cancelled = 0;
    for (const Future<int>& f : futures) cancelled += f.Cancelled() ? 1 : 0;
    EXPECT_TRUE(AtRest(s));
    EXPECT_EQ(s.cancelled, cancelled);
    EXPECT_EQ(s.completed, 200 - cancelled);
  }
}

TEST(ThreadPoolControlTest, QueuedIncludesBatchedCalls) {
  ThreadPoolExecutor pool(1);
  InProcessGate gate;
  std::vector<Future<int>> futures;
  futures.push_back(pool.Submit(&InProcessGate::Pass, gate.id(), 0));
  for (int i = 1; i < 100; ++i) futures.push_back(pool.Submit(&Add, i, 0));
  // Whether the worker moved part of the queue into its batch or not, the count is the same.
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  EXPECT_EQ(pool.stats().queued, 99);
  gate.Open();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(futures[i].Result(kBound), i);
}

// The destructor is Shutdown(true): after a Shutdown whose deadline passed it still joins the
// threads, so it blocks until the running call returns.
TEST(ThreadPoolControlTest, DestructorAfterATimedOutShutdownWaitsForTheCall) {
  auto pool = std::make_unique<ThreadPoolExecutor>(1);
  InProcessGate gate;
  Future<int> blocker = pool->Submit(&InProcessGate::Pass, gate.id(), 7);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  EXPECT_FALSE(pool->Shutdown(StopOptions(/*wait=*/true, /*request_stop=*/false, kShortTimeout)));
  absl::Notification destroyed;
  std::thread destroyer([&] {
    pool.reset();
    destroyed.Notify();
  });
  EXPECT_FALSE(destroyed.WaitForNotificationWithTimeout(kShortTimeout));
  EXPECT_FALSE(blocker.Done());
  gate.Open();
  EXPECT_TRUE(destroyed.WaitForNotificationWithTimeout(kBound));
  destroyer.join();
  EXPECT_EQ(blocker.Result(kBound), 7);
}

}  // namespace
}  // namespace cf::testing
