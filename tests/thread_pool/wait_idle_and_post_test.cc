// ThreadPoolExecutor::WaitIdle (nothing queued or running) and Post (fire-and-forget, no
// future; an escaping exception goes to the callback-exception handler) — docs/semantics.md §4.5.
#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kBound = absl::Seconds(60);

std::string WhatOf(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

// Records what the process-wide callback-exception handler receives during a test.
class HandlerRecorder {
 public:
  struct Call {
    bool future_valid;
    std::string what;
  };
  HandlerRecorder() {
    previous_ = SetCallbackExceptionHandler([this](const AnyFuture& f, std::exception_ptr e) {
      absl::MutexLock lock(&mu_);
      calls_.push_back({f.valid(), WhatOf(e)});
    });
  }
  ~HandlerRecorder() { SetCallbackExceptionHandler(previous_); }
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  CallbackExceptionHandler previous_;
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

TEST(WaitIdleTest, AFreshPoolIsIdle) {
  ThreadPoolExecutor pool(2);
  EXPECT_TRUE(pool.WaitIdle());
  EXPECT_TRUE(pool.WaitIdle(absl::ZeroDuration()));
  EXPECT_TRUE(pool.WaitIdle(std::chrono::milliseconds(1)));
}

// Everything the tasks did happens-before WaitIdle returns true: the results are read without
// any other synchronisation (TSan checks it).
TEST(WaitIdleTest, WaitsForEveryQueuedAndRunningTask) {
  ThreadPoolExecutor pool(3);
  std::vector<int> squares(200, -1);
  for (int i = 0; i < 200; ++i) {
    if (i % 2 == 0) {
      pool.Post([&squares, i] { squares[i] = i * i; });
    } else {
      pool.Submit([&squares, i] { squares[i] = i * i; });
    }
  }
  ASSERT_TRUE(pool.WaitIdle(kBound));
  for (int i = 0; i < 200; ++i) EXPECT_EQ(squares[i], i * i);
}

TEST(WaitIdleTest, FalseAtTheTimeoutWhileATaskRuns) {
  ThreadPoolExecutor pool(1);
  absl::Notification started;
  absl::Notification release;
  bool finished = false;
  pool.Post([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kBound);
    finished = true;
  });
  pool.Post([] {});  // queued behind it
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kBound));
  EXPECT_FALSE(pool.WaitIdle(absl::Milliseconds(10)));
  EXPECT_FALSE(pool.WaitIdle(std::chrono::milliseconds(10)));
  EXPECT_FALSE(pool.WaitIdle(absl::ZeroDuration()));
  release.Notify();
  ASSERT_TRUE(pool.WaitIdle(std::chrono::seconds(60)));
  EXPECT_TRUE(finished);
}

// Called from a task, it waits for everything else, its own task aside, even when another task
// waits the same way.
TEST(WaitIdleTest, FromTasksWaitsForTheOthers) {
  ThreadPoolExecutor pool(3);
  absl::Notification release;
  bool slow_done = false;
  pool.Post([&] {
    release.WaitForNotificationWithTimeout(kBound);
    slow_done = true;
  });
  absl::Notification a_started;
  absl::Notification b_started;
  Future<bool> a = pool.Submit([&] {
    a_started.Notify();
    b_started.WaitForNotificationWithTimeout(kBound);
    release.Notify();
    return pool.WaitIdle(kBound) && slow_done;
  });
  Future<bool> b = pool.Submit([&] {
    b_started.Notify();
    a_started.WaitForNotificationWithTimeout(kBound);
    return pool.WaitIdle(kBound);
  });
  EXPECT_TRUE(a.Result(kBound));
  EXPECT_TRUE(b.Result(kBound));
  EXPECT_TRUE(pool.WaitIdle(kBound));
}

TEST(WaitIdleTest, AfterShutdown) {
  ThreadPoolExecutor pool(2);
  absl::Notification release;
  pool.Post([&] { release.WaitForNotificationWithTimeout(kBound); });
  pool.Shutdown(/*wait=*/false);
  EXPECT_FALSE(pool.WaitIdle(absl::ZeroDuration()));
  release.Notify();
  EXPECT_TRUE(pool.WaitIdle(kBound));
  pool.Shutdown();
  EXPECT_TRUE(pool.WaitIdle());
}

TEST(PostTest, RunsTheCallOnCopiesOfItsArgumentsAndReturnsNothing) {
  ThreadPoolExecutor pool(2);
  static_assert(std::is_void_v<decltype(pool.Post([] { return 1; }))>);
  std::string joined;
  std::string word = "moved";
  pool.Post([&joined](const std::string& a, int n, std::unique_ptr<int> p) {
    joined = a + std::to_string(n) + std::to_string(*p);
  }, std::move(word), 4, std::make_unique<int>(2));
  ASSERT_TRUE(pool.WaitIdle(kBound));
  EXPECT_EQ(joined, "moved42");
}

// An exception escaping a posted task is never lost: the callback-exception handler gets it,
// with an invalid AnyFuture (there is no future); the default handler prints it.
TEST(PostTest, ExceptionsGoToTheCallbackExceptionHandler) {
  ThreadPoolExecutor pool(2);
  {
    HandlerRecorder recorder;
    pool.Post([] { throw std::runtime_error("posted boom"); });
    pool.Post([] {});
    ASSERT_TRUE(pool.WaitIdle(kBound));
    const std::vector<HandlerRecorder::Call> calls = recorder.calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_FALSE(calls[0].future_valid);
    EXPECT_EQ(calls[0].what, "posted boom");
  }
  ::testing::internal::CaptureStderr();
  pool.Post([] { throw std::out_of_range("to stderr"); });
  ASSERT_TRUE(pool.WaitIdle(kBound));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "exception in a task run by cf::ThreadPoolExecutor::Post: to stderr\n");
}

TEST(PostTest, RefusedAfterShutdownAndOnABrokenPool) {
  ThreadPoolExecutor pool(1);
  pool.Shutdown();
  EXPECT_THROW(pool.Post([] {}), ShutdownError);

  HandlerRecorder recorder;
  absl::Notification release_initializer;
  ThreadPoolExecutor broken({.max_workers = 1, .initializer = [&release_initializer] {
                               release_initializer.WaitForNotificationWithTimeout(kBound);
                               throw std::runtime_error("initializer fails");
                             }});
  bool ran = false;
  ::testing::internal::CaptureStderr();  // the initializer's failure is printed
  broken.Post([&ran] { ran = true; });   // starts the worker, whose initializer then fails
  release_initializer.Notify();
  ASSERT_TRUE(broken.WaitIdle(kBound));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("initializer fails"));
  EXPECT_FALSE(ran);
  // The posted task that never ran is reported, with the pool's error.
  const std::vector<HandlerRecorder::Call> calls = recorder.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(calls[0].future_valid);
  EXPECT_THAT(calls[0].what, HasSubstr("A thread initializer failed"));
  EXPECT_THROW(broken.Post([] {}), BrokenThreadPool);
}

// Shutdown(cancel_futures=true) drops posted tasks that have not started, silently: cancelling
// them is what the caller asked for.
TEST(PostTest, CancelFuturesDropsQueuedPostedTasks) {
  HandlerRecorder recorder;
  ThreadPoolExecutor pool(1);
  absl::Notification started;
  absl::Notification release;
  bool second_ran = false;
  pool.Post([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kBound);
  });
  pool.Post([&second_ran] { second_ran = true; });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kBound));
  pool.Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  release.Notify();
  pool.Shutdown();
  EXPECT_FALSE(second_ran);
  EXPECT_TRUE(recorder.calls().empty());
}

}  // namespace
}  // namespace cf
