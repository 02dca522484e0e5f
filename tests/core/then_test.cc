// Tests of Future<T>::Then / ThenValue, inline and on an executor (docs/semantics.md §1.9).
#include <atomic>
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
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gtest/gtest.h"

namespace cf {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

TEST(ThenTest, ThenSeesValueAndRunsInCompletingThread) {
  Promise<int> p;
  std::thread::id ran_in;
  Future<std::string> r = p.GetFuture().Then([&](const Future<int>& f) {
    ran_in = std::this_thread::get_id();
    return std::to_string(f.Result() + 1);
  });
  EXPECT_FALSE(r.Done());
  std::thread::id producer_id;
  std::thread producer([&] {
    producer_id = std::this_thread::get_id();
    p.SetResult(41);
  });
  producer.join();
  EXPECT_EQ(r.Result(kWait), "42");
  EXPECT_EQ(ran_in, producer_id);
}

TEST(ThenTest, AlreadyDoneRunsInCallingThread) {
  std::thread::id ran_in;
  Future<void> r = MakeReadyFuture<int>(1).ThenValue([&](const int& v) {
    EXPECT_EQ(v, 1);
    ran_in = std::this_thread::get_id();
  });
  EXPECT_TRUE(r.Done());
  EXPECT_EQ(ran_in, std::this_thread::get_id());
  r.Result(kWait);
}

TEST(ThenTest, ThenSeesExceptionAndCancellation) {
  auto err = MakeExceptionalFuture<int>(std::make_exception_ptr(std::runtime_error("boom")));
  Future<bool> r = err.Then([](const Future<int>& f) { return f.Exception() != nullptr; });
  EXPECT_TRUE(r.Result(kWait));
  Promise<int> p;
  Future<int> f = p.GetFuture();
  Future<bool> c = f.Then([](const Future<int>& g) { return g.Cancelled(); });
  ASSERT_TRUE(f.Cancel());
  EXPECT_TRUE(c.Result(kWait));
}

TEST(ThenTest, ThenValuePassesExceptionThroughWithoutCallingFn) {
  bool called = false;
  auto err = MakeExceptionalFuture<int>(std::make_exception_ptr(std::runtime_error("boom")));
  Future<int> r = err.ThenValue([&](int v) {
    called = true;
    return v;
  });
  EXPECT_THROW(
      {
        try {
          r.Result(kWait);
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_FALSE(called);
}

TEST(ThenTest, ThenValueCancellationFailsResultWithCancelledError) {
  bool called = false;
  Promise<int> p;
  Future<int> f = p.GetFuture();
  Future<void> r = f.ThenValue([&](int) { called = true; });
  ASSERT_TRUE(f.Cancel());
  ASSERT_TRUE(r.Wait(kWait));
  EXPECT_FALSE(r.Cancelled());
  EXPECT_THROW(r.Result(kWait), CancelledError);
  EXPECT_FALSE(called);
}

TEST(ThenTest, ExceptionThrownByFnCompletesResult) {
  Future<int> r = MakeReadyFuture<void>().ThenValue([]() -> int {
    throw std::logic_error("fn failed");
  });
  EXPECT_THROW(r.Result(kWait), std::logic_error);
}

TEST(ThenTest, FlattensReturnedFuture) {
  Promise<int> inner;
  Future<int> inner_future = inner.GetFuture();
  Promise<int> outer;
  Future<int> r = outer.GetFuture().ThenValue([&](int v) {
    EXPECT_EQ(v, 1);
    return inner_future;
  });
  outer.SetResult(1);
  EXPECT_FALSE(r.Done());  // waits for the inner future
  EXPECT_TRUE(r.Running());
  inner.SetResult(7);
  EXPECT_EQ(r.Result(kWait), 7);

  Future<void> failed = MakeReadyFuture<int>(0).Then([](const Future<int>&) {
    return MakeExceptionalFuture<void>(std::make_exception_ptr(std::out_of_range("inner")));
  });
  EXPECT_THROW(failed.Result(kWait), std::out_of_range);
}

TEST(ThenTest, CancellingResultBeforeFnStartsMeansFnNeverRuns) {
  bool called = false;
  Promise<int> p;
  Future<int> r = p.GetFuture().Then([&](const Future<int>&) {
    called = true;
    return 1;
  });
  EXPECT_TRUE(r.Cancel());
  p.SetResult(1);
  EXPECT_FALSE(called);
  EXPECT_TRUE(r.Cancelled());
}

TEST(ThenTest, ResultIsRunningWhileFnRunsAndCannotBeCancelled) {
  Future<int> r;
  bool was_running = false;
  Promise<int> p;
  Future<int> f = p.GetFuture();
  r = f.ThenValue([&](int v) {
    was_running = r.Running() && !r.Cancel();
    return v;
  });
  p.SetResult(3);
  EXPECT_TRUE(was_running);
  EXPECT_EQ(r.Result(kWait), 3);
}

TEST(ThenTest, LongChainDoesNotOverflowAndFreesLinks) {
  constexpr int kLinks = 100000;
  Promise<int> head;
  Future<int> tail = head.GetFuture();
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> first_link_capture = alive;
  tail = tail.ThenValue([keep = std::move(alive)](int v) { return v + 1; });
  for (int i = 1; i < kLinks; ++i) {
    // Mixed continuation types share one trampoline.
    if (i % 2 == 0) {
      tail = tail.ThenValue([](int v) { return v + 1; });
    } else {
      tail = tail.Then([](const Future<int>& f) { return f.Result() + 1; });
    }
  }
  EXPECT_FALSE(first_link_capture.expired());
  head.SetResult(0);
  EXPECT_EQ(tail.Result(kWait), kLinks);
  EXPECT_TRUE(first_link_capture.expired());  // the first link was freed
}

TEST(ThenTest, LongChainOfThenWithFlatteningAndBrokenHead) {
  constexpr int kLinks = 100000;
  auto head = std::make_unique<Promise<void>>();
  Future<void> tail = head->GetFuture();
  for (int i = 0; i < kLinks; ++i) {
    tail = tail.Then([](const Future<void>& f) { return f; });
  }
  head.reset();  // BrokenPromise runs down the whole chain
  EXPECT_THROW(tail.Result(kWait), BrokenPromise);
}

TEST(ThenTest, ExecutorVariantRunsOnPoolThread) {
  ThreadPoolExecutor pool(1);  // one worker: its thread is the one that runs fn
  std::thread::id pool_thread = pool.Submit([] { return std::this_thread::get_id(); })
                                    .Result(kWait);
  Promise<int> p;
  Future<std::thread::id> r = p.GetFuture().ThenValue(pool, [](int) {
    return std::this_thread::get_id();
  });
  Future<bool> r2 =
      p.GetFuture().Then(pool, [](const Future<int>& f) { return f.Result() == 5; });
  p.SetResult(5);
  EXPECT_EQ(r.Result(kWait), pool_thread);
  EXPECT_TRUE(r2.Result(kWait));
}

TEST(ThenTest, ExecutorVariantPassesExceptionThrough) {
  ThreadPoolExecutor pool(1);
  auto err = MakeExceptionalFuture<int>(std::make_exception_ptr(std::runtime_error("x")));
  EXPECT_THROW(err.ThenValue(pool, [](int v) { return v; }).Result(kWait), std::runtime_error);
}

TEST(ThenTest, ShutDownExecutorFailsResultWithShutdownError) {
  ThreadPoolExecutor pool(1);
  Promise<int> p;
  Future<int> r = p.GetFuture().ThenValue(pool, [](int v) { return v; });
  pool.Shutdown();
  p.SetResult(1);
  EXPECT_THROW(r.Result(kWait), ShutdownError);
  EXPECT_THROW(MakeReadyFuture<int>(1).Then(pool, [](const Future<int>&) {}).Result(kWait),
               ShutdownError);
}

TEST(ThenTest, LongChainOnShutDownExecutorFailsEveryLink) {
  constexpr int kLinks = 100000;
  ThreadPoolExecutor pool(1);
  Promise<int> head;
  Future<int> tail = head.GetFuture();
  for (int i = 0; i < kLinks; ++i) {
    tail = tail.ThenValue(pool, [](int v) { return v + 1; });
  }
  pool.Shutdown();
  head.SetResult(0);  // every refusal runs down the chain through the trampoline
  EXPECT_THROW(tail.Result(kWait), ShutdownError);
}

TEST(ThenTest, ChainOnExecutorRunsEveryLinkOnThePool) {
  ThreadPoolExecutor pool(2);
  Promise<int> head;
  Future<int> tail = head.GetFuture();
  std::atomic<int> off_pool{0};
  const std::thread::id main_thread = std::this_thread::get_id();
  for (int i = 0; i < 1000; ++i) {
    tail = tail.ThenValue(pool, [&off_pool, main_thread](int v) {
      if (std::this_thread::get_id() == main_thread) ++off_pool;
      return v + 1;
    });
  }
  head.SetResult(0);
  EXPECT_EQ(tail.Result(kWait), 1000);
  EXPECT_EQ(off_pool.load(), 0);
}

TEST(ThenTest, FlattenedCancelledInnerFailsWithCancelledError) {
  Promise<int> inner;
  Future<int> inner_future = inner.GetFuture();
  Future<int> r = MakeReadyFuture<void>().ThenValue([&] { return inner_future; });
  ASSERT_TRUE(inner_future.Cancel());
  EXPECT_THROW(r.Result(kWait), CancelledError);
  EXPECT_THROW(MakeReadyFuture<void>().ThenValue([] { return Future<int>(); }).Result(kWait),
               std::invalid_argument);
}

TEST(ThenTest, ContinuationDueInsideAnotherRunsRightAfterItInTheSameThread) {
  std::vector<int> order;
  std::thread::id inner_thread;
  Future<void> inner;
  Future<void> outer = MakeReadyFuture<void>().ThenValue([&] {
    order.push_back(1);
    inner = MakeReadyFuture<void>().ThenValue([&] {
      inner_thread = std::this_thread::get_id();
      order.push_back(2);
    });
    order.push_back(3);  // the inner one was queued, not run
  });
  EXPECT_EQ(order, (std::vector<int>{1, 3, 2}));
  EXPECT_EQ(inner_thread, std::this_thread::get_id());
  EXPECT_TRUE(inner.Done());
}

// An executor with only Submit.
struct SubmitOnly {
  ThreadPoolExecutor* pool;
  template <typename F>
  auto Submit(F&& fn) {
    return pool->Submit(std::forward<F>(fn));
  }
};

TEST(ThenTest, ExecutorWithSubmitOnly) {
  ThreadPoolExecutor pool(1);
  SubmitOnly exec{&pool};
  EXPECT_EQ(MakeReadyFuture<int>(2).ThenValue(exec, [](int v) { return v * 2; }).Result(kWait),
            4);
}

TEST(ThenTest, RaceThenAgainstCompletion) {
  ThreadPoolExecutor pool(2);
  for (int round = 0; round < 300; ++round) {
    Promise<int> p;
    Future<int> f = p.GetFuture();
    absl::Notification go;
    std::thread producer([&] {
      go.WaitForNotificationWithTimeout(kWait);
      p.SetResult(round);
    });
    go.Notify();
    Future<int> a = f.ThenValue([](int v) { return v + 1; });
    Future<int> b = f.ThenValue(pool, [](int v) { return v + 2; });
    Future<int> c = a.Then([](const Future<int>& g) { return g.Result() + 1; });
    producer.join();
    EXPECT_EQ(a.Result(kWait), round + 1);
    EXPECT_EQ(b.Result(kWait), round + 2);
    EXPECT_EQ(c.Result(kWait), round + 2);
  }
}

TEST(ThenTest, RaceCancelResultAgainstCompletion) {
  for (int round = 0; round < 300; ++round) {
    Promise<int> p;
    std::atomic<bool> called{false};
    Future<int> r = p.GetFuture().ThenValue([&](int v) {
      called = true;
      return v;
    });
    std::thread producer([&] { p.SetResult(1); });
    const bool cancelled = r.Cancel();
    producer.join();
    ASSERT_TRUE(r.Wait(kWait));
    EXPECT_EQ(cancelled, !called.load());
    EXPECT_EQ(r.Cancelled(), cancelled);
  }
}

// Shutdown(cancel_futures) drops a continuation queued on the pool unrun: its result fails with
// cf::BrokenPromise (and nothing leaks: ASan).
TEST(ThenTest, ContinuationDroppedByShutdownCancelFuturesFailsWithBrokenPromise) {
  ThreadPoolExecutor pool(1);
  absl::Notification started, release;
  Future<void> blocker = pool.Submit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(kWait);
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kWait));
  std::atomic<bool> called{false};
  Future<int> r = MakeReadyFuture<int>(1).ThenValue(pool, [&](int v) {
    called = true;
    return v;
  });
  pool.Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  EXPECT_THROW(r.Result(kWait), BrokenPromise);
  release.Notify();
  blocker.Result(kWait);
  EXPECT_FALSE(called.load());
}

// An executor that keeps the callables it is given, to run or drop them later.
template <typename Callable>
struct HoldingExecutor {
  std::vector<Callable> held;
  void RunAll() {
    std::vector<Callable> now = std::move(held);
    for (Callable& c : now) c();
  }
};
struct PostHolder : HoldingExecutor<std::function<void()>> {
  // Post takes any callable; a move-only one is wrapped so std::function can hold it.
  template <typename F>
  void Post(F&& fn) {
    auto box = std::make_shared<std::decay_t<F>>(std::forward<F>(fn));
    held.push_back([box] { (*box)(); });
  }
};
struct FunctionSubmitter : HoldingExecutor<std::function<void()>> {
  void Submit(std::function<void()> fn) { held.push_back(std::move(fn)); }  // copyable only
};

TEST(ThenTest, ExecutorThatRunsTheWorkLaterRunsFnThere) {
  PostHolder post;
  FunctionSubmitter submit;
  Future<int> a = MakeReadyFuture<int>(1).ThenValue(post, [](int v) { return v + 1; });
  Future<int> b = MakeReadyFuture<int>(1).ThenValue(submit, [](int v) { return v + 2; });
  EXPECT_FALSE(a.Done());
  EXPECT_FALSE(b.Done());
  post.RunAll();
  submit.RunAll();
  EXPECT_EQ(a.Result(kWait), 2);
  EXPECT_EQ(b.Result(kWait), 3);
}

TEST(ThenTest, ExecutorThatDropsTheWorkUnrunFailsTheResultWithBrokenPromise) {
  std::atomic<int> calls{0};
  Future<int> a, b;
  {
    PostHolder post;
    FunctionSubmitter submit;
    a = MakeReadyFuture<int>(1).ThenValue(post, [&](int v) { return ++calls + v; });
    b = MakeReadyFuture<int>(1).ThenValue(submit, [&](int v) { return ++calls + v; });
  }  // both executors go, with the work they hold
  EXPECT_THROW(a.Result(kWait), BrokenPromise);
  EXPECT_THROW(b.Result(kWait), BrokenPromise);
  EXPECT_EQ(calls.load(), 0);
}

// Refusals: the result fails with what the executor threw, whether it destroyed the callable
// before throwing or never took it.
struct DestroyThenThrow {
  template <typename F>
  void Post(F&& fn) {
    { std::decay_t<F> taken = std::forward<F>(fn); }  // destroyed unrun, inside the call
    throw std::runtime_error("refused after taking it");
  }
};
struct ThrowWithoutTaking {
  template <typename F>
  void Post(F&&) {
    throw std::runtime_error("refused without taking it");
  }
};

TEST(ThenTest, RefusingExecutorFailsTheResultWithItsException) {
  DestroyThenThrow destroy;
  ThrowWithoutTaking untaken;
  Promise<int> p;
  Future<int> a = p.GetFuture().ThenValue(destroy, [](int v) { return v; });
  Future<int> b = p.GetFuture().Then(untaken, [](const Future<int>& f) { return f.Result(); });
  p.SetResult(1);
  try {
    a.Result(kWait);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "refused after taking it");
  }
  try {
    b.Result(kWait);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "refused without taking it");
  }
}

// An executor that runs the work at once, inside Post: fn runs in the completing thread, right
// after the hand-off returns.
struct RunAtOnce {
  template <typename F>
  void Post(F&& fn) {
    fn();
  }
};

TEST(ThenTest, ExecutorThatRunsTheWorkInsidePostCompletesTheResult) {
  RunAtOnce now;
  Promise<int> p;
  std::thread::id ran_in;
  Future<int> r = p.GetFuture().ThenValue(now, [&](int v) {
    ran_in = std::this_thread::get_id();
    return v * 3;
  });
  p.SetResult(2);
  EXPECT_TRUE(r.Done());
  EXPECT_EQ(r.Result(kWait), 6);
  EXPECT_EQ(ran_in, std::this_thread::get_id());
}

// Callbacks and continuations registered while another thread completes the future all run
// exactly once. Those queued before the completion run in its thread, in registration order;
// later ones run at once in the registering thread (so the two groups may overlap in time).
struct RunLog {
  absl::Mutex mu;
  std::vector<std::pair<std::thread::id, int>> runs ABSL_GUARDED_BY(mu);
  void Add(int i) {
    absl::MutexLock lock(&mu);
    runs.emplace_back(std::this_thread::get_id(), i);
  }
  // Every index once, and increasing within each thread.
  void Check(int n, int round) {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(runs.size(), static_cast<size_t>(n)) << "round " << round;
    std::vector<int> seen(n, 0);
    std::vector<std::pair<std::thread::id, int>> last;
    for (const auto& [thread, i] : runs) {
      ++seen[i];
      for (auto& [t, prev] : last) {
        if (t == thread) {
          ASSERT_LT(prev, i) << "round " << round;
          prev = i;
          goto next;
        }
      }
      last.emplace_back(thread, i);
    next:;
    }
    for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "index " << i << " round " << round;
  }
};

TEST(ThenTest, RegistrationsRacingCompletionRunOnceInOrder) {
  constexpr int kPerThread = 200;
  for (int round = 0; round < 200; ++round) {
    Promise<int> p;
    Future<int> f = p.GetFuture();
    RunLog callbacks, continuations;
    std::vector<Future<int>> links;
    links.reserve(kPerThread);
    absl::Notification go;
    std::thread a([&] {
      go.WaitForNotificationWithTimeout(kWait);
      for (int i = 0; i < kPerThread; ++i) {
        f.AddDoneCallback([&callbacks, i](const Future<int>&) { callbacks.Add(i); });
      }
    });
    std::thread b([&] {
      go.WaitForNotificationWithTimeout(kWait);
      for (int i = 0; i < kPerThread; ++i) {
        links.push_back(f.ThenValue([&continuations, i](int v) {
          continuations.Add(i);
          return v + i;
        }));
      }
    });
    go.Notify();
    p.SetResult(round);
    a.join();
    b.join();
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(links[i].Result(kWait), round + i);
    callbacks.Check(kPerThread, round);
    continuations.Check(kPerThread, round);
  }
}

}  // namespace
}  // namespace cf
