// C++20 coroutines over cf::Future (docs/semantics.md §1.9): co_await of done and pending
// futures, the thread a coroutine resumes in, cf::ResumeOn, exceptions in both directions,
// Future<T> and Future<void> as coroutine return types, cancellation, frame lifetime, deep
// loops, and a race between suspending and completing (for TSan).
#include "cf/core/coroutine.h"

#include <atomic>
#include <coroutine>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/compose.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

using ::testing::ElementsAre;

constexpr absl::Duration kTimeout = absl::Seconds(30);

std::string WhatOf(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

// Completes `promise` with `value` in a new thread; returns that thread's id once joined.
std::thread::id CompleteInNewThread(Promise<int>& promise, int value) {
  std::thread::id id;
  std::thread t([&] {
    id = std::this_thread::get_id();
    promise.SetResult(value);
  });
  t.join();
  return id;
}

Future<int> AddOne(Future<int> f) { co_return co_await f + 1; }

TEST(CoroutineTest, ReadyFutureDoesNotSuspend) {
  // The awaiter says so before any suspension is attempted...
  EXPECT_TRUE(operator co_await(MakeReadyFuture<int>(1)).await_ready());
  EXPECT_TRUE(operator co_await(MakeExceptionalFuture<int>(
                  std::make_exception_ptr(std::runtime_error("e")))).await_ready());
  Promise<int> pending;
  EXPECT_FALSE(operator co_await(pending.GetFuture()).await_ready());
  // ...and a coroutine awaiting a done future finishes before the call returns.
  Future<int> result = AddOne(MakeReadyFuture<int>(41));
  ASSERT_TRUE(result.Done());
  EXPECT_EQ(result.Result(), 42);
}

TEST(CoroutineTest, StartsEagerlyInTheCallersThread) {
  std::thread::id started;
  Promise<int> p;
  auto body = [&](Future<int> f) -> Future<int> {
    started = std::this_thread::get_id();
    co_return co_await f;
  };
  Future<int> result = body(p.GetFuture());
  EXPECT_EQ(started, std::this_thread::get_id());
  EXPECT_FALSE(result.Done());
  p.SetResult(3);
  EXPECT_EQ(result.Result(absl::ZeroDuration()), 3);
}

TEST(CoroutineTest, PendingFutureResumesInTheCompletingThread) {
  std::thread::id resumed;
  Promise<int> p;
  auto body = [&](Future<int> f) -> Future<int> {
    const int v = co_await f;
    resumed = std::this_thread::get_id();
    co_return v * 2;
  };
  Future<int> result = body(p.GetFuture());
  EXPECT_FALSE(result.Done());
  const std::thread::id completer = CompleteInNewThread(p, 21);
  EXPECT_EQ(resumed, completer);
  EXPECT_NE(resumed, std::this_thread::get_id());
  EXPECT_EQ(result.Result(absl::ZeroDuration()), 42);
}

TEST(CoroutineTest, CoAwaitGivesACopy) {
  Future<std::string> source = MakeReadyFuture<std::string>("value");
  auto body = [](Future<std::string> f) -> Future<std::string> {
    std::string s = co_await f;
    s += " changed";
    co_return s;
  };
  EXPECT_EQ(body(source).Result(), "value changed");
  EXPECT_EQ(source.Result(), "value");
}

TEST(CoroutineTest, ExceptionPropagatesThroughCoAwaitAsTheSameObject) {
  Promise<int> p;
  const std::runtime_error* seen = nullptr;
  auto body = [&](Future<int> f) -> Future<std::string> {
    try {
      co_await f;
    } catch (const std::runtime_error& e) {
      seen = &e;
      co_return std::string("caught ") + e.what();
    }
    co_return "not caught";
  };
  Future<std::string> result = body(p.GetFuture());
  p.SetException(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_EQ(result.Result(absl::ZeroDuration()), "caught boom");
  try {
    p.GetFuture().Result();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(seen, &e);
  }
}

TEST(CoroutineTest, UncaughtExceptionFailsTheCoroutinesFuture) {
  Promise<int> p;
  Future<int> result = AddOne(p.GetFuture());
  p.SetException(std::make_exception_ptr(std::out_of_range("range")));
  EXPECT_THROW(result.Result(absl::ZeroDuration()), std::out_of_range);
}

TEST(CoroutineTest, ExceptionBeforeTheFirstSuspensionGivesAFailedFuture) {
  auto body = [](bool fail) -> Future<int> {
    if (fail) throw std::invalid_argument("early");
    co_return 1;
  };
  Future<int> result = body(true);  // does not throw here
  ASSERT_TRUE(result.Done());
  EXPECT_EQ(WhatOf(result.Exception()), "early");
}

TEST(CoroutineTest, CancelledFutureThrowsCancelledErrorInTheCancellingThread) {
  Promise<int> p;
  std::thread::id resumed;
  auto body = [&](Future<int> f) -> Future<std::string> {
    try {
      co_await f;
    } catch (const CancelledError&) {
      resumed = std::this_thread::get_id();
      co_return "cancelled";
    }
    co_return "not cancelled";
  };
  Future<int> input = p.GetFuture();
  Future<std::string> result = body(input);
  std::thread::id canceller;
  std::thread t([&] {
    canceller = std::this_thread::get_id();
    input.Cancel();
  });
  t.join();
  EXPECT_EQ(resumed, canceller);
  EXPECT_EQ(result.Result(absl::ZeroDuration()), "cancelled");
}

TEST(CoroutineTest, VoidFuturesAndVoidCoroutines) {
  Promise<void> p;
  int steps = 0;
  auto body = [&](Future<void> f) -> Future<void> {
    ++steps;
    co_await f;
    ++steps;
    co_return;
  };
  Future<void> result = body(p.GetFuture());
  EXPECT_FALSE(result.Done());
  p.SetResult();
  ASSERT_TRUE(result.Done());
  EXPECT_NO_THROW(result.Result());
  EXPECT_EQ(steps, 2);

  auto falls_off_the_end = []() -> Future<void> { co_await MakeReadyFuture<void>(); };
  EXPECT_TRUE(falls_off_the_end().Done());

  auto throws = []() -> Future<void> {
    co_await MakeExceptionalFuture<void>(std::make_exception_ptr(std::logic_error("void")));
  };
  EXPECT_THROW(throws().Result(), std::logic_error);
}

TEST(CoroutineTest, CoroutineFutureIsRunningAndCannotBeCancelled) {
  Promise<int> p;
  Future<int> result = AddOne(p.GetFuture());
  EXPECT_TRUE(result.Running());
  EXPECT_FALSE(result.Cancel());
  EXPECT_FALSE(result.Cancelled());
  p.SetResult(1);
  EXPECT_EQ(result.Result(absl::ZeroDuration()), 2);
}

// Sets *destroyed when the coroutine frame that holds it goes.
struct FrameMarker {
  explicit FrameMarker(bool* destroyed) : destroyed(destroyed) {}
  ~FrameMarker() { *destroyed = true; }
  bool* destroyed;
};

TEST(CoroutineTest, FrameIsDestroyedBeforeTheFutureCompletes) {
  bool destroyed = false;
  bool destroyed_when_completed = false;
  Promise<int> p;
  auto body = [](bool* flag, Future<int> f) -> Future<int> {
    FrameMarker marker(flag);
    co_return co_await f;
  };
  Future<int> result = body(&destroyed, p.GetFuture());
  result.AddDoneCallback([&](const Future<int>&) { destroyed_when_completed = destroyed; });
  EXPECT_FALSE(destroyed);
  p.SetResult(5);
  EXPECT_TRUE(destroyed_when_completed);
}

TEST(CoroutineTest, MoveOnlyResultsCanBeReturned) {
  auto body = [](Future<int> f) -> Future<std::unique_ptr<int>> {
    co_return std::make_unique<int>(co_await f);
  };
  Future<std::unique_ptr<int>> result = body(MakeReadyFuture<int>(9));
  EXPECT_EQ(*result.Result(), 9);
}

TEST(CoroutineTest, MoveOnlyResultsAreReadInPlaceAfterAwaitingCompletion) {
  // co_await on a Future<std::unique_ptr<int>> does not compile (the value would have to be
  // copied); the header's workaround awaits completion and reads the value by reference. The
  // braced list stays outside the co_await expression, which GCC 12 cannot compile.
  Promise<std::unique_ptr<int>> p;
  auto body = [](Future<std::unique_ptr<int>> f) -> Future<int> {
    auto all = WhenAll({f});
    co_await all;
    const std::unique_ptr<int>& v = f.Result();
    co_return *v;
  };
  Future<int> result = body(p.GetFuture());
  p.SetResult(std::make_unique<int>(6));
  EXPECT_EQ(result.Result(absl::ZeroDuration()), 6);
}

TEST(CoroutineTest, LongLoopOverDoneFuturesUsesNoStack) {
  auto body = []() -> Future<long> {
    long sum = 0;
    for (int i = 0; i < 100000; ++i) sum += co_await MakeReadyFuture<int>(1);
    for (int i = 0; i < 100000; ++i) sum += co_await AddOne(MakeReadyFuture<int>(0));
    co_return sum;
  };
  EXPECT_EQ(body().Result(), 200000);
}

struct Counter {
  Future<int> Next(Future<int> step) { co_return value += co_await step; }
  int value = 0;
};

TEST(CoroutineTest, MemberFunctionsCanBeCoroutines) {
  Counter c;
  EXPECT_EQ(c.Next(MakeReadyFuture<int>(4)).Result(), 4);
  EXPECT_EQ(c.Next(MakeReadyFuture<int>(3)).Result(), 7);
}

// A coroutine type that is not cf's: co_await works in any coroutine.
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

TEST(CoroutineTest, AwaitableFromAnyCoroutine) {
  Promise<int> p;
  std::atomic<int> seen{0};
  auto body = [](Future<int> f, std::atomic<int>* out) -> Detached { out->store(co_await f); };
  body(p.GetFuture(), &seen);
  EXPECT_EQ(seen.load(), 0);
  p.SetResult(12);
  EXPECT_EQ(seen.load(), 12);
}

TEST(CoroutineTest, AwaitsComposedFutures) {
  std::vector<Promise<int>> promises(3);
  std::vector<Future<int>> futures;
  for (Promise<int>& p : promises) futures.push_back(p.GetFuture());
  auto body = [](std::vector<Future<int>> fs) -> Future<int> {
    const std::size_t first = co_await WhenAny(fs);
    const std::vector<int> all = co_await Collect(fs);
    co_return static_cast<int>(first) * 100 + all[0] + all[1] + all[2];
  };
  Future<int> result = body(futures);
  promises[2].SetResult(3);
  promises[0].SetResult(1);
  promises[1].SetResult(2);
  EXPECT_EQ(result.Result(absl::ZeroDuration()), 206);
}

// ---- Thread pool and ResumeOn ------------------------------------------------------------

int Slow(int x) { return x * 10; }

Future<int> Total(ThreadPoolExecutor& pool) {
  int a = co_await pool.Submit(Slow, 1);
  int b = co_await pool.Submit(Slow, 2);
  co_return a + b;
}

TEST(CoroutineThreadPoolTest, AwaitsSubmittedTasks) {
  ThreadPoolExecutor pool(2);
  EXPECT_EQ(Total(pool).Result(kTimeout), 30);
}

// The README's "Composing futures" example.
Future<int> ReadmeTotal(ThreadPoolExecutor& pool) {
  std::vector<Future<int>> parts;
  for (int i = 1; i <= 3; ++i) parts.push_back(pool.Submit([](int x) { return x * x; }, i));
  std::vector<int> squares = co_await Collect(parts);
  int more = co_await ResumeOn(pool, pool.Submit([] { return 16; }));
  co_return squares[0] + squares[1] + squares[2] + more;
}

TEST(CoroutineThreadPoolTest, ReadmeExample) {
  ThreadPoolExecutor pool(2);
  EXPECT_EQ(ReadmeTotal(pool).Result(kTimeout), 30);
}

std::thread::id PoolThreadId(ThreadPoolExecutor& single_worker_pool) {
  return single_worker_pool.Submit([] { return std::this_thread::get_id(); }).Result(kTimeout);
}

TEST(CoroutineThreadPoolTest, ResumeOnGoesOnInAPoolThread) {
  ThreadPoolExecutor pool(1);
  const std::thread::id worker = PoolThreadId(pool);
  Promise<int> p;
  std::thread::id resumed;
  auto body = [&](Future<int> f) -> Future<int> {
    const int v = co_await ResumeOn(pool, f);
    resumed = std::this_thread::get_id();
    co_return v;
  };
  Future<int> result = body(p.GetFuture());
  const std::thread::id completer = CompleteInNewThread(p, 8);
  EXPECT_EQ(result.Result(kTimeout), 8);
  EXPECT_EQ(resumed, worker);
  EXPECT_NE(resumed, completer);
}

TEST(CoroutineThreadPoolTest, ResumeOnGoesToThePoolEvenWhenTheFutureIsDone) {
  ThreadPoolExecutor pool(1);
  const std::thread::id worker = PoolThreadId(pool);
  auto body = [&]() -> Future<std::thread::id> {
    co_await ResumeOn(pool, MakeReadyFuture<void>());
    co_return std::this_thread::get_id();
  };
  EXPECT_EQ(body().Result(kTimeout), worker);
}

TEST(CoroutineThreadPoolTest, ResumeOnRethrowsTheFuturesException) {
  ThreadPoolExecutor pool(1);
  auto body = [&]() -> Future<int> {
    co_return co_await ResumeOn(
        pool, MakeExceptionalFuture<int>(std::make_exception_ptr(std::runtime_error("inner"))));
  };
  EXPECT_EQ(WhatOf(body().Exception(kTimeout)), "inner");
}

TEST(CoroutineThreadPoolTest, ResumeOnAShutDownPoolThrowsShutdownErrorInTheCompletingThread) {
  ThreadPoolExecutor pool(1);
  pool.Shutdown();
  Promise<int> p;
  std::thread::id resumed;
  auto body = [&](Future<int> f) -> Future<std::string> {
    try {
      co_await ResumeOn(pool, f);
    } catch (const ShutdownError& e) {
      resumed = std::this_thread::get_id();
      co_return e.what();
    }
    co_return "resumed on the pool";
  };
  Future<std::string> result = body(p.GetFuture());
  const std::thread::id completer = CompleteInNewThread(p, 1);
  EXPECT_EQ(result.Result(absl::ZeroDuration()), "cannot schedule new futures after shutdown");
  EXPECT_EQ(resumed, completer);
}

TEST(CoroutineThreadPoolTest, ResumeOnThrowsShutdownErrorWhenItsTaskIsCancelled) {
  ThreadPoolExecutor pool(1);
  absl::Notification started;
  absl::Notification release;
  Future<void> busy = pool.Submit([&started, &release] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kTimeout);
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kTimeout));
  auto body = [&]() -> Future<int> { co_return co_await ResumeOn(pool, MakeReadyFuture<int>(1)); };
  Future<int> result = body();  // its resumption task waits behind `busy`
  pool.Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  EXPECT_THROW(result.Result(kTimeout), ShutdownError);
  release.Notify();
  busy.Result(kTimeout);
}

// An executor of our own: Submit queues, RunAll runs what was queued in the calling thread.
class ManualExecutor {
 public:
  void Submit(std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(fn));
  }
  int RunAll() {
    int ran = 0;
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        if (queue_.empty()) return ran;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
      ++ran;
    }
  }

 private:
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
};

TEST(CoroutineTest, ResumeOnAnyExecutorWithSubmit) {
  ManualExecutor executor;
  auto body = [&]() -> Future<int> { co_return co_await ResumeOn(executor, MakeReadyFuture<int>(5)); };
  Future<int> result = body();
  EXPECT_FALSE(result.Done());  // waiting in the executor's queue
  EXPECT_EQ(executor.RunAll(), 1);
  EXPECT_EQ(result.Result(absl::ZeroDuration()), 5);
}

// ---- Races (meant for --config=tsan) -----------------------------------------------------

TEST(CoroutineRaceTest, CompletionRacesWithSuspension) {
  for (int round = 0; round < 300; ++round) {
    Promise<int> p;
    Future<int> input = p.GetFuture();
    absl::Notification start;
    std::thread completer([&] {
      start.WaitForNotificationWithTimeout(kTimeout);
      p.SetResult(round);
    });
    auto body = [](Future<int> f, absl::Notification* go) -> Future<int> {
      go->Notify();  // the completer may now race with the suspension below
      co_return co_await f;
    };
    Future<int> result = body(input, &start);
    ASSERT_EQ(result.Result(kTimeout), round);
    completer.join();
  }
}

TEST(CoroutineRaceTest, ChainsThroughThePoolAndConcurrentCompleters) {
  ThreadPoolExecutor pool(2);
  for (int round = 0; round < 100; ++round) {
    std::vector<Promise<int>> promises(4);
    std::vector<Future<int>> futures;
    for (Promise<int>& p : promises) futures.push_back(p.GetFuture());
    auto body = [&pool](std::vector<Future<int>> fs) -> Future<int> {
      int sum = 0;
      for (const Future<int>& f : fs) sum += co_await ResumeOn(pool, f);
      co_return sum;
    };
    Future<int> result = body(futures);
    absl::Notification start;
    std::vector<std::thread> completers;
    for (int i = 0; i < 4; ++i) {
      completers.emplace_back([&, i] {
        start.WaitForNotificationWithTimeout(kTimeout);
        promises[i].SetResult(i);
      });
    }
    start.Notify();
    ASSERT_EQ(result.Result(kTimeout), 6);
    for (std::thread& t : completers) t.join();
  }
}

}  // namespace
}  // namespace cf
