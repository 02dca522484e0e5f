// Future<T>::RequestStop() and std::stop_token for cf::ThreadPoolExecutor tasks.
#include <atomic>
#include <memory>
#include <stop_token>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

// Blocks until the token is signalled or `limit` passes; returns whether it was signalled.
bool WaitForStop(const std::stop_token& st, absl::Duration limit) {
  absl::Notification stop;
  std::stop_callback cb(st, [&stop] { stop.Notify(); });
  return stop.WaitForNotificationWithTimeout(limit);
}

TEST(StopTokenTest, TaskReceivesTokenAndOtherArguments) {
  ThreadPoolExecutor pool(1);
  Future<int> f = pool.Submit(
      [](std::stop_token st, int n) { return st.stop_possible() && !st.stop_requested() ? n : -1; },
      10);
  EXPECT_EQ(f.Result(kWait), 10);
}

// Submits a task that takes a token and returns whether it was signalled within kWait; returns
// its future once the task is running (a test failure if it does not start within kWait).
Future<bool> RunningTaskAwaitingStop(ThreadPoolExecutor& pool) {
  auto started = std::make_shared<absl::Notification>();
  Future<bool> f = pool.Submit([started](std::stop_token st) {
    started->Notify();
    return WaitForStop(st, kWait);
  });
  EXPECT_TRUE(started->WaitForNotificationWithTimeout(kWait)) << "the task did not start";
  return f;
}

TEST(StopTokenTest, RequestStopSignalsRunningTaskWithToken) {
  ThreadPoolExecutor pool(1);
  Future<bool> f = RunningTaskAwaitingStop(pool);
  EXPECT_TRUE(f.Running());
  EXPECT_FALSE(f.Cancel());  // Python's meaning: a running future is not cancelled
  EXPECT_TRUE(f.RequestStop());
  EXPECT_TRUE(f.Result(kWait));
  EXPECT_FALSE(f.Cancelled());
}

TEST(StopTokenTest, RequestStopThroughAnyFuture) {
  ThreadPoolExecutor pool(1);
  Future<bool> f = RunningTaskAwaitingStop(pool);
  const AnyFuture any = f;
  EXPECT_TRUE(any.RequestStop());
  EXPECT_TRUE(f.Result(kWait));
  EXPECT_FALSE(any.RequestStop());  // done: nothing to stop
}

TEST(StopTokenTest, StopCallbackRunsInRequestingThread) {
  ThreadPoolExecutor pool(1);
  absl::Notification registered;
  absl::Notification stopped;
  std::atomic<std::thread::id> callback_thread{};
  Future<void> f = pool.Submit([&](std::stop_token st) {
    std::stop_callback cb(st, [&] {
      callback_thread = std::this_thread::get_id();
      stopped.Notify();
    });
    registered.Notify();
    stopped.WaitForNotificationWithTimeout(kWait);
  });
  ASSERT_TRUE(registered.WaitForNotificationWithTimeout(kWait));
  EXPECT_TRUE(f.RequestStop());
  f.Result(kWait);
  EXPECT_EQ(callback_thread.load(), std::this_thread::get_id());
}

TEST(StopTokenTest, RequestStopOnRunningTaskWithoutTokenReturnsFalse) {
  ThreadPoolExecutor pool(1);
  absl::Notification started;
  absl::Notification release;
  Future<int> f = pool.Submit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
    return 1;
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  EXPECT_FALSE(f.RequestStop());
  release.Notify();
  EXPECT_EQ(f.Result(kWait), 1);
}

TEST(StopTokenTest, RequestStopCancelsPendingTask) {
  ThreadPoolExecutor pool(1);
  absl::Notification started;
  absl::Notification release;
  Future<void> blocker = pool.Submit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  std::atomic<bool> ran{false};
  Future<void> queued = pool.Submit([&ran](std::stop_token) { ran = true; });
  Future<void> queued_plain = pool.Submit([&ran] { ran = true; });
  EXPECT_TRUE(queued.RequestStop());
  EXPECT_TRUE(queued_plain.RequestStop());
  EXPECT_TRUE(queued.Cancelled());
  EXPECT_TRUE(queued_plain.Cancelled());
  EXPECT_FALSE(queued.RequestStop());  // already done: nothing to stop
  release.Notify();
  blocker.Result(kWait);
  EXPECT_TRUE(pool.WaitIdle(kWait));
  EXPECT_FALSE(ran.load());
}

TEST(StopTokenTest, RequestStopOnDoneFutureReturnsFalse) {
  ThreadPoolExecutor pool(1);
  Future<int> f = pool.Submit([](std::stop_token, int n) { return n; }, 3);
  EXPECT_EQ(f.Result(kWait), 3);
  EXPECT_FALSE(f.RequestStop());
  EXPECT_FALSE(MakeReadyFuture<int>(1).RequestStop());
  Promise<int> p;  // a promise's future: pending → cancelled
  EXPECT_TRUE(p.GetFuture().RequestStop());
  EXPECT_TRUE(p.GetFuture().Cancelled());
}

TEST(StopTokenTest, RaceRequestStopAgainstCompletion) {
  ThreadPoolExecutor pool(2);
  for (int round = 0; round < 300; ++round) {
    Future<int> f = pool.Submit(
        [](std::stop_token st, int n) { return st.stop_requested() ? -n : n; }, round + 1);
    Future<int> g = pool.Submit([](int n) { return n; }, round);
    const bool stopped = f.RequestStop();
    const bool stopped_plain = g.RequestStop();
    ASSERT_TRUE(f.Wait(kWait));
    ASSERT_TRUE(g.Wait(kWait));
    if (f.Cancelled()) {
      EXPECT_TRUE(stopped);
    } else {
      const int v = f.Result(kWait);
      EXPECT_TRUE(v == round + 1 || (v == -(round + 1) && stopped));
    }
    if (g.Cancelled()) {
      EXPECT_TRUE(stopped_plain);
    }
    EXPECT_FALSE(f.RequestStop());
  }
}

TEST(StopTokenTest, MoveOnlyAndVoidTasksWithToken) {
  ThreadPoolExecutor pool(1);
  auto f = pool.Submit([](std::stop_token, std::unique_ptr<int> p) { return p; },
                       std::make_unique<int>(4));
  EXPECT_EQ(*std::move(f).Result(kWait), 4);
}

}  // namespace
}  // namespace cf
