// cf::WhenAll, cf::WhenAny and cf::Collect (docs/semantics.md §1.9): order, done-ness, which
// input decides, first exception, cancellation of what is pending, empty inputs, void,
// duplicates, the completing thread, thread-pool futures, and concurrent completions (for TSan).
#include "cf/core/compose.h"

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/canned_futures.h"

namespace cf {
namespace {

using ::cf::testing::CannedFutures;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::Duration kTimeout = absl::Seconds(30);

std::string WhatOf(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

std::exception_ptr Error(const char* what) {
  return std::make_exception_ptr(std::runtime_error(what));
}

// n promises and their futures.
struct Promises {
  explicit Promises(int n) : promises(n) {
    for (Promise<int>& p : promises) futures.push_back(p.GetFuture());
  }
  std::vector<Promise<int>> promises;
  std::vector<Future<int>> futures;
};

// ---- WhenAll -----------------------------------------------------------------------------

TEST(WhenAllTest, SameFuturesInInputOrderOnceAllAreDone) {
  Promises in(3);
  Future<std::vector<Future<int>>> all = WhenAll(in.futures);
  in.promises[2].SetResult(2);
  in.promises[0].SetResult(0);
  EXPECT_FALSE(all.Done());
  in.promises[1].SetResult(1);
  ASSERT_TRUE(all.Done());
  const std::vector<Future<int>>& out = all.Result();
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(out[i] == in.futures[i]);
    EXPECT_TRUE(out[i].Done());
    EXPECT_EQ(out[i].Result(), i);
  }
}

TEST(WhenAllTest, NeverFailsAndCountsCancelledAsDone) {
  CannedFutures canned;
  Promises in(1);
  Future<std::vector<Future<int>>> all =
      WhenAll({canned.exception, canned.cancelled, canned.successful, in.futures[0]});
  EXPECT_FALSE(all.Done());
  EXPECT_TRUE(in.futures[0].Cancel());
  ASSERT_TRUE(all.Done());
  EXPECT_EQ(all.Exception(), nullptr);
  const std::vector<Future<int>>& out = all.Result();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_NE(out[0].Exception(), nullptr);
  EXPECT_TRUE(out[1].Cancelled());
  EXPECT_EQ(out[2].Result(), 42);
  EXPECT_TRUE(out[3].Cancelled());
}

TEST(WhenAllTest, AlreadyDoneInputsCompleteAtOnce) {
  CannedFutures canned;
  EXPECT_TRUE(WhenAll({canned.successful, canned.cancelled_and_notified}).Done());
}

TEST(WhenAllTest, EmptyInputCompletesAtOnceWithNothing) {
  Future<std::vector<Future<int>>> all = WhenAll(std::vector<Future<int>>{});
  ASSERT_TRUE(all.Done());
  EXPECT_THAT(all.Result(), IsEmpty());
  Future<std::vector<AnyFuture>> any_all = WhenAll(std::vector<AnyFuture>{});
  ASSERT_TRUE(any_all.Done());
  EXPECT_THAT(any_all.Result(), IsEmpty());
}

TEST(WhenAllTest, AnyFuturesOfDifferentTypes) {
  Promise<int> pi;
  Promise<std::string> ps;
  Promise<void> pv;
  Future<std::vector<AnyFuture>> all =
      WhenAll(std::vector<AnyFuture>{pi.GetFuture(), ps.GetFuture(), pv.GetFuture()});
  ps.SetResult("s");
  pv.SetResult();
  EXPECT_FALSE(all.Done());
  pi.SetResult(1);
  ASSERT_TRUE(all.Done());
  const std::vector<AnyFuture>& out = all.Result();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].As<int>().Result(), 1);
  EXPECT_EQ(out[1].As<std::string>().Result(), "s");
  EXPECT_TRUE(out[2] == AnyFuture(pv.GetFuture()));
}

TEST(WhenAllTest, DuplicatesKeepEveryPosition) {
  Promises in(2);
  Future<std::vector<Future<int>>> all =
      WhenAll({in.futures[0], in.futures[1], in.futures[0]});
  in.promises[0].SetResult(7);
  EXPECT_FALSE(all.Done());
  in.promises[1].SetResult(8);
  ASSERT_TRUE(all.Done());
  const std::vector<Future<int>>& out = all.Result();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0] == out[2]);
}

TEST(WhenAllTest, CompletesInTheThreadOfTheLastInput) {
  Promises in(2);
  in.promises[0].SetResult(0);
  std::thread::id callback_thread;
  WhenAll(in.futures).AddDoneCallback(
      [&](const Future<std::vector<Future<int>>>&) { callback_thread = std::this_thread::get_id(); });
  std::thread::id completer;
  std::thread t([&, p = std::move(in.promises[1])]() mutable {
    completer = std::this_thread::get_id();
    p.SetResult(1);
  });
  t.join();
  EXPECT_EQ(callback_thread, completer);
}

TEST(WhenAllTest, StaysPendingWhileAnInputIsPendingAndFreesWhenItCompletes) {
  auto in = std::make_unique<Promises>(2);
  in->promises[0].SetResult(0);
  Future<std::vector<Future<int>>> all = WhenAll(in->futures);
  EXPECT_FALSE(all.Wait(absl::ZeroDuration()));
  in.reset();  // the last promise goes: its future fails with BrokenPromise, which completes it
  ASSERT_TRUE(all.Done());
  EXPECT_THROW(all.Result()[1].Result(), BrokenPromise);
}

TEST(WhenAllTest, InvalidInputThrowsBeforeRegistering) {
  Promises in(1);
  EXPECT_THROW(WhenAll({in.futures[0], Future<int>()}), std::invalid_argument);
  EXPECT_THROW(WhenAll(std::vector<AnyFuture>{AnyFuture()}), std::invalid_argument);
}

// ---- WhenAny -----------------------------------------------------------------------------

TEST(WhenAnyTest, IndexOfTheFutureCompletedFirstByAnotherThread) {
  Promises in(3);
  Future<std::size_t> any = WhenAny(in.futures);
  EXPECT_FALSE(any.Done());
  std::thread::id callback_thread;
  any.AddDoneCallback([&](const Future<std::size_t>&) {
    callback_thread = std::this_thread::get_id();
  });
  std::thread::id completer;
  std::thread t([&, p = std::move(in.promises[1])]() mutable {
    completer = std::this_thread::get_id();
    p.SetResult(1);
  });
  EXPECT_EQ(any.Result(kTimeout), 1u);
  t.join();
  EXPECT_EQ(callback_thread, completer);
  in.promises[0].SetResult(0);  // later completions change nothing
  EXPECT_EQ(any.Result(), 1u);
}

TEST(WhenAnyTest, AlreadyDoneInputsGiveTheLowestPosition) {
  CannedFutures canned;
  Future<std::size_t> any = WhenAny({canned.pending, canned.exception, canned.successful});
  ASSERT_TRUE(any.Done());
  EXPECT_EQ(any.Result(), 1u);
}

TEST(WhenAnyTest, FailureAndCancellationCountAsCompletion) {
  Promises in(3);
  Future<std::size_t> failed = WhenAny(in.futures);
  in.promises[2].SetException(Error("boom"));
  EXPECT_EQ(failed.Result(absl::ZeroDuration()), 2u);

  Promises in2(3);
  Future<std::size_t> cancelled = WhenAny(in2.futures);
  EXPECT_TRUE(in2.futures[1].Cancel());
  EXPECT_EQ(cancelled.Result(absl::ZeroDuration()), 1u);
}

TEST(WhenAnyTest, EmptyInputFailsWithInvalidArgument) {
  Future<std::size_t> any = WhenAny(std::vector<Future<int>>{});
  ASSERT_TRUE(any.Done());
  EXPECT_THROW(any.Result(), std::invalid_argument);
  EXPECT_EQ(WhatOf(any.Exception()), "cf::WhenAny of no futures");
  EXPECT_THROW(WhenAny(std::vector<AnyFuture>{}).Result(), std::invalid_argument);
}

TEST(WhenAnyTest, AnyFuturesOfDifferentTypes) {
  Promise<int> pi;
  Promise<std::string> ps;
  Future<std::size_t> any = WhenAny(std::vector<AnyFuture>{pi.GetFuture(), ps.GetFuture()});
  ps.SetResult("first");
  EXPECT_EQ(any.Result(absl::ZeroDuration()), 1u);
}

TEST(WhenAnyTest, DuplicatesGiveTheFirstPosition) {
  Promises in(2);
  Future<std::size_t> any = WhenAny({in.futures[1], in.futures[0], in.futures[1]});
  in.promises[1].SetResult(1);
  EXPECT_EQ(any.Result(absl::ZeroDuration()), 0u);
}

TEST(WhenAnyTest, InvalidInputThrows) {
  EXPECT_THROW(WhenAny({Future<int>()}), std::invalid_argument);
}

// ---- Collect -----------------------------------------------------------------------------

TEST(CollectTest, ValuesInInputOrderWhateverTheCompletionOrder) {
  Promises in(3);
  Future<std::vector<int>> values = Collect(in.futures);
  in.promises[2].SetResult(30);
  in.promises[0].SetResult(10);
  EXPECT_FALSE(values.Done());
  std::thread t([p = std::move(in.promises[1])]() mutable { p.SetResult(20); });
  EXPECT_THAT(values.Result(kTimeout), ElementsAre(10, 20, 30));
  t.join();
}

TEST(CollectTest, FirstExceptionInCompletionOrderWinsAndPendingInputsAreCancelled) {
  Promises in(4);
  in.promises[0].SetRunningOrNotifyCancel();
  in.promises[1].SetRunningOrNotifyCancel();
  Future<std::vector<int>> values = Collect(in.futures);
  in.promises[1].SetException(Error("first"));
  ASSERT_TRUE(values.Done());
  EXPECT_EQ(WhatOf(values.Exception()), "first");
  // Pending inputs are cancelled; the running one runs on.
  EXPECT_TRUE(in.futures[2].Cancelled());
  EXPECT_TRUE(in.futures[3].Cancelled());
  EXPECT_TRUE(in.futures[0].Running());
  in.promises[0].SetException(Error("second"));
  EXPECT_EQ(WhatOf(values.Exception()), "first");
}

TEST(CollectTest, TheExceptionObjectIsTheInputsOwn) {
  Promises in(1);
  Future<std::vector<int>> values = Collect(in.futures);
  in.promises[0].SetException(Error("mine"));
  const std::runtime_error* from_input = nullptr;
  const std::runtime_error* from_collect = nullptr;
  try {
    in.futures[0].Result();
  } catch (const std::runtime_error& e) {
    from_input = &e;
  }
  try {
    values.Result();
  } catch (const std::runtime_error& e) {
    from_collect = &e;
  }
  EXPECT_EQ(from_input, from_collect);
}

TEST(CollectTest, CancelledInputFailsWithCancelledError) {
  Promises in(3);
  in.promises[0].SetResult(0);
  Future<std::vector<int>> values = Collect(in.futures);
  EXPECT_TRUE(in.futures[1].Cancel());
  ASSERT_TRUE(values.Done());
  EXPECT_THROW(values.Result(), CancelledError);
  EXPECT_TRUE(in.futures[2].Cancelled());

  CannedFutures canned;
  EXPECT_THROW(Collect({canned.successful, canned.cancelled}).Result(absl::ZeroDuration()),
               CancelledError);
}

TEST(CollectTest, AlreadyFailedInputFailsAtOnceAndCancelsTheRest) {
  CannedFutures canned;
  Future<std::vector<int>> values = Collect({canned.pending, canned.exception, canned.running});
  ASSERT_TRUE(values.Done());
  EXPECT_THROW(values.Result(), std::system_error);
  EXPECT_TRUE(canned.pending.Cancelled());
  EXPECT_TRUE(canned.running.Running());
}

TEST(CollectTest, EmptyInputCompletesAtOnceWithNothing) {
  Future<std::vector<int>> values = Collect(std::vector<Future<int>>{});
  ASSERT_TRUE(values.Done());
  EXPECT_THAT(values.Result(), IsEmpty());
  Future<void> none = Collect(std::vector<Future<void>>{});
  ASSERT_TRUE(none.Done());
  EXPECT_NO_THROW(none.Result());
}

TEST(CollectTest, VoidInputsGiveAVoidFuture) {
  std::vector<Promise<void>> promises(2);
  Future<void> all = Collect({promises[0].GetFuture(), promises[1].GetFuture()});
  promises[1].SetResult();
  EXPECT_FALSE(all.Done());
  promises[0].SetResult();
  ASSERT_TRUE(all.Done());
  EXPECT_NO_THROW(all.Result());

  std::vector<Promise<void>> failing(2);
  Future<void> failed = Collect({failing[0].GetFuture(), failing[1].GetFuture()});
  failing[0].SetException(Error("void failure"));
  EXPECT_EQ(WhatOf(failed.Exception(absl::ZeroDuration())), "void failure");
  EXPECT_TRUE(failing[1].GetFuture().Cancelled());
}

TEST(CollectTest, DuplicatesGiveTheValueAtEveryPosition) {
  Promises in(2);
  Future<std::vector<int>> values = Collect({in.futures[0], in.futures[1], in.futures[0]});
  in.promises[0].SetResult(1);
  in.promises[1].SetResult(2);
  EXPECT_THAT(values.Result(absl::ZeroDuration()), ElementsAre(1, 2, 1));
}

TEST(CollectTest, CopiesTheValues) {
  Promise<std::string> p;
  Future<std::vector<std::string>> values = Collect({p.GetFuture()});
  p.SetResult("kept");
  EXPECT_THAT(values.Result(), ElementsAre("kept"));
  EXPECT_EQ(p.GetFuture().Result(), "kept");
}

TEST(CollectTest, InvalidInputThrows) {
  EXPECT_THROW(Collect({Future<int>()}), std::invalid_argument);
}

// ---- Thread-pool futures -----------------------------------------------------------------

TEST(ComposeThreadPoolTest, CollectWhenAllAndWhenAnyOverSubmittedTasks) {
  ThreadPoolExecutor pool(2);
  std::vector<Future<int>> squares;
  for (int i = 0; i < 8; ++i) squares.push_back(pool.Submit([](int x) { return x * x; }, i));
  EXPECT_THAT(Collect(squares).Result(kTimeout), ElementsAre(0, 1, 4, 9, 16, 25, 36, 49));
  const Future<std::vector<Future<int>>> all = WhenAll(squares);
  for (const Future<int>& f : all.Result(kTimeout)) EXPECT_TRUE(f.Done());

  absl::Notification release;
  Future<int> blocked = pool.Submit([&release] {
    release.WaitForNotificationWithTimeout(kTimeout);
    return 0;
  });
  Future<int> quick = pool.Submit([] { return 1; });
  EXPECT_EQ(WhenAny({blocked, quick}).Result(kTimeout), 1u);
  release.Notify();
  EXPECT_EQ(blocked.Result(kTimeout), 0);
}

TEST(ComposeThreadPoolTest, CollectFailureCancelsQueuedTasks) {
  ThreadPoolExecutor pool(1);
  absl::Notification release;
  Future<int> failing = pool.Submit([&release]() -> int {
    release.WaitForNotificationWithTimeout(kTimeout);
    throw std::runtime_error("task failed");
  });
  Future<int> queued = pool.Submit([] { return 1; });
  Future<std::vector<int>> values = Collect({failing, queued});
  release.Notify();
  EXPECT_EQ(WhatOf(values.Exception(kTimeout)), "task failed");
  EXPECT_TRUE(queued.Cancelled());
}

// ---- Concurrent completions (meant for --config=tsan) ------------------------------------

// Completes in.promises from `threads` threads at once (thread t takes every t-th promise, in
// the order `order` gives), all released by one gate.
template <typename Complete>
void CompleteConcurrently(Promises& in, int threads, Complete complete) {
  absl::Notification start;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    std::vector<std::pair<int, Promise<int>>> mine;
    for (size_t i = t; i < in.promises.size(); i += threads) {
      mine.emplace_back(static_cast<int>(i), std::move(in.promises[i]));
    }
    workers.emplace_back([&start, &complete, mine = std::move(mine)]() mutable {
      start.WaitForNotificationWithTimeout(kTimeout);
      for (auto& [i, p] : mine) complete(i, p);
    });
  }
  start.Notify();
  for (std::thread& w : workers) w.join();
}

constexpr int kRounds = 300;
constexpr int kInputs = 8;
constexpr int kThreads = 4;

TEST(ComposeRaceTest, ConcurrentCompletionsDecideOnce) {
  for (int round = 0; round < kRounds; ++round) {
    Promises in(kInputs);
    Future<std::size_t> any = WhenAny(in.futures);
    Future<std::vector<int>> values = Collect(in.futures);
    Future<std::vector<Future<int>>> all = WhenAll(in.futures);
    CompleteConcurrently(in, kThreads, [](int i, Promise<int>& p) { p.SetResult(i); });
    const std::size_t first = any.Result(kTimeout);
    ASSERT_LT(first, static_cast<std::size_t>(kInputs));
    EXPECT_TRUE(in.futures[first].Done());
    EXPECT_THAT(values.Result(kTimeout), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
    EXPECT_EQ(all.Result(kTimeout).size(), static_cast<std::size_t>(kInputs));
  }
}

TEST(ComposeRaceTest, ConcurrentFailuresAndCancellationsFailCollectOnce) {
  for (int round = 0; round < kRounds; ++round) {
    Promises in(kInputs);
    Future<std::vector<int>> values = Collect(in.futures);
    Future<std::size_t> any = WhenAny(in.futures);
    std::atomic<int> failures{0};
    // Odd positions fail, even ones succeed; each thread also tries to cancel a neighbour.
    CompleteConcurrently(in, kThreads, [&](int i, Promise<int>& p) {
      in.futures[(i + 1) % kInputs].Cancel();
      if (i % 2 == 1) {
        if (p.TrySetException(Error("odd"))) failures.fetch_add(1);
      } else {
        p.TrySetResult(i);
      }
    });
    const std::exception_ptr error = values.Exception(kTimeout);
    ASSERT_NE(error, nullptr);
    if (failures.load() > 0) {
      // Either an odd input's exception or a cancellation came first.
      try {
        std::rethrow_exception(error);
      } catch (const CancelledError&) {
      } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "odd");
      }
    } else {
      EXPECT_THROW(std::rethrow_exception(error), CancelledError);
    }
    for (const Future<int>& f : in.futures) EXPECT_TRUE(f.Done());
    EXPECT_LT(any.Result(kTimeout), static_cast<std::size_t>(kInputs));
  }
}

}  // namespace
}  // namespace cf
