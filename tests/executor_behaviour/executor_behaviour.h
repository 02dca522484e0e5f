// The executor behaviour suite: CPython's ExecutorTest, the executor parts of WaitTests and
// AsCompletedTests, and ExecutorShutdownTest (docs/semantics.md §2, §3; map in §8), as a
// type-parameterised GoogleTest suite that runs against any cf executor.
//
// Everything submitted is a plain function (tasks.h, or the traits' gate function) with
// serializable arguments, so a process pool can register them (CF_TASK) and run the suite too.
//
// Use: define a traits type per (executor, worker count) and instantiate in one test .cc:
//
//   struct MyTraits {
//     using Executor = cf::ThreadPoolExecutor;
//     using Gate = ...;  // default-constructible; int64_t id(); void Open();
//                        // int arrivals(); bool AwaitArrivals(int n, absl::Duration bound);
//                        // destroying it opens it (see InProcessGate)
//     static constexpr int kWorkers = 2;  // max_workers of the executor most tests use
//     // A task runnable on Executor: blocks until gate `id` opens, then returns `value`.
//     static constexpr int (*kPassGate)(int64_t id, int value) = &...;
//     static std::unique_ptr<Executor> Make(int max_workers);  // Executor(max_workers)
//     static int WorkersStarted(const Executor& e);           // Python's len(e._threads)
//     static std::string Name();                              // for test names
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(ThreadPool, ExecutorBehaviourTest,
//                                  ::testing::Types<MyTraits, ...>, TraitsNames);
//
// Every blocking wait is bounded (kBound), so a deadlock fails the test instead of hanging it;
// nothing sleeps for correctness (gates and bounded waits only).
#ifndef CF_TESTS_EXECUTOR_BEHAVIOUR_EXECUTOR_BEHAVIOUR_H_
#define CF_TESTS_EXECUTOR_BEHAVIOUR_EXECUTOR_BEHAVIOUR_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/canned_futures.h"
#include "tests/executor_behaviour/executor_fixture.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/executor_behaviour/test_util.h"

namespace cf::testing {

inline std::vector<std::pair<int, int>> PowInputs() {
  std::vector<std::pair<int, int>> inputs;
  for (int i = 0; i < 10; ++i) inputs.emplace_back(i, i);
  return inputs;
}

template <typename Traits>
class ExecutorBehaviourTest : public ExecutorFixture<Traits> {};

TYPED_TEST_SUITE_P(ExecutorBehaviourTest);

// ---- ExecutorTest (docs/semantics.md §3) ------------------------------------------------------

TYPED_TEST_P(ExecutorBehaviourTest, Submit) {
  EXPECT_EQ(this->executor().Submit(&Pow, 2, 8).Result(kBound), 256);
}

TYPED_TEST_P(ExecutorBehaviourTest, SubmitPassesEveryArgument) {
  EXPECT_EQ(this->executor().Submit(&Mul, 2, 8).Result(kBound), 16);
  EXPECT_EQ(this->executor().Submit(&ToString, 42).Result(kBound), "42");
}

TYPED_TEST_P(ExecutorBehaviourTest, TaskExceptionIsStoredAndTheWorkerSurvives) {
  Future<int> f = this->executor().Submit(&ThrowRuntimeError, std::string("boom"));
  try {
    f.Result(kBound);
    ADD_FAILURE() << "Result() should rethrow the task's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_NE(f.Exception(kBound), nullptr);
  EXPECT_EQ(this->executor().Submit(&Mul, 3, 4).Result(kBound), 12);
}

TYPED_TEST_P(ExecutorBehaviourTest, Map) {
  std::vector<int64_t> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(Pow(i, i));
  EXPECT_EQ(Collect(this->executor().Map(&Pow, PowInputs())), expected);
  EXPECT_EQ(Collect(this->executor().Map(&Pow, PowInputs(), WithChunksize(3))), expected);
  EXPECT_EQ(Collect(this->executor().Map(&Pow, PowInputs(), WithChunksize(50))), expected);
}

TYPED_TEST_P(ExecutorBehaviourTest, MapException) {
  auto results = this->executor().Map(
      &DivMod, std::vector<std::pair<int, int>>{{1, 2}, {1, 3}, {1, 0}, {1, 5}});
  auto it = results.begin();
  EXPECT_EQ(*it, std::make_pair(0, 1));
  ++it;
  EXPECT_EQ(*it, std::make_pair(0, 1));
  EXPECT_THROW(++it, std::domain_error);
  // The exception ended the iteration (Python: StopIteration afterwards).
  EXPECT_TRUE(it == results.end());
  EXPECT_TRUE(results.begin() == results.end());
}

TYPED_TEST_P(ExecutorBehaviourTest, MapExceptionFailsItsWholeChunk) {
  auto results = this->executor().Map(
      &DivMod, std::vector<std::pair<int, int>>{{1, 2}, {1, 3}, {1, 0}, {1, 5}}, WithChunksize(3));
  EXPECT_THROW(results.begin(), std::domain_error);
  EXPECT_TRUE(results.begin() == results.end());
}

TYPED_TEST_P(ExecutorBehaviourTest, MapTimeout) {
  typename TestFixture::Gate open;
  open.Open();
  typename TestFixture::Gate closed;
  auto results = this->executor().Map(
      TypeParam::kPassGate,
      std::vector<std::pair<int64_t, int>>{{open.id(), 0}, {open.id(), 1}, {closed.id(), 2}},
      WithTimeout(absl::Milliseconds(200)));
  std::vector<int> gathered;
  EXPECT_THROW(
      {
        for (int value : results) gathered.push_back(value);
      },
      TimeoutError);
  // Python 3.13+ accepts [0, 1], [0] or [] here (the first two may be slow to start).
  EXPECT_LE(gathered.size(), 2u);
  for (size_t i = 0; i < gathered.size(); ++i) EXPECT_EQ(gathered[i], static_cast<int>(i));
  EXPECT_TRUE(results.begin() == results.end());
  closed.Open();
}

// test_executor_map_current_future_cancel: the future waited on when the timeout hits is
// cancelled, and so are the ones after it when the results are dropped.
TYPED_TEST_P(ExecutorBehaviourTest, MapTimeoutCancelsWhatHasNotStarted) {
  auto executor = TypeParam::Make(1);
  typename TestFixture::Gate first;
  Future<int> busy = executor->Submit(TypeParam::kPassGate, first.id(), 1);
  typename TestFixture::Gate later;
  {
    auto results =
        executor->Map(TypeParam::kPassGate,
                      std::vector<std::pair<int64_t, int>>{{later.id(), 2}, {later.id(), 3}},
                      WithTimeout(absl::ZeroDuration()));
    EXPECT_THROW(results.begin(), TimeoutError);
  }
  later.Open();
  first.Open();
  EXPECT_EQ(busy.Result(kBound), 1);
  executor->Shutdown(/*wait=*/true);
  EXPECT_EQ(first.arrivals(), 1);
  EXPECT_EQ(later.arrivals(), 0) << "a cancelled map task ran";
}

TYPED_TEST_P(ExecutorBehaviourTest, DestroyingMapResultsCancelsWhatHasNotStarted) {
  typename TestFixture::Gate gate;
  auto blockers = this->BlockWorkers(this->executor(), gate, TestFixture::kWorkers);
  typename TestFixture::Gate later;
  later.Open();
  {
    auto results = this->executor().Map(TypeParam::kPassGate,
                                        std::vector<std::pair<int64_t, int>>(20, {later.id(), 0}));
  }
  gate.Open();
  this->executor().Shutdown(/*wait=*/true);
  EXPECT_EQ(later.arrivals(), 0) << "a map task ran after its results were destroyed";
}

TYPED_TEST_P(ExecutorBehaviourTest, MapOptionsAreValidatedAtTheCall) {
  try {
    this->executor().Map(&ToString, std::vector<int>{1}, WithBuffersize(-1));
    ADD_FAILURE() << "buffersize -1 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "buffersize must be >= 0");
  }
  for (int chunksize : {0, -1}) {
    try {
      this->executor().Map(&ToString, std::vector<int>{1}, WithChunksize(chunksize));
      ADD_FAILURE() << "chunksize " << chunksize << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "chunksize must be >= 1");
    }
  }
}

TYPED_TEST_P(ExecutorBehaviourTest, MapBuffersize) {
  for (int buffersize : {1, 2, 4, 8}) {
    EXPECT_THAT(Collect(this->executor().Map(&ToString, std::views::iota(0, 4),
                                             WithBuffersize(buffersize))),
                ::testing::ElementsAre("0", "1", "2", "3"))
        << "buffersize " << buffersize;
  }
}

TYPED_TEST_P(ExecutorBehaviourTest, MapBuffersizeOnMultipleIterables) {
  std::vector<std::pair<int, int>> inputs{{0, 0}, {1, 1}, {2, 2}, {3, 3}};
  for (int buffersize : {1, 2, 4, 8}) {
    EXPECT_THAT(Collect(this->executor().Map(&Add, inputs, WithBuffersize(buffersize))),
                ::testing::ElementsAre(0, 2, 4, 6))
        << "buffersize " << buffersize;
  }
}

TYPED_TEST_P(ExecutorBehaviourTest, MapBuffersizeOnInfiniteIterable) {
  auto results = this->executor().Map(&ToString, std::views::iota(0), WithBuffersize(2));
  auto it = results.begin();
  EXPECT_EQ(*it, "0");
  ++it;
  EXPECT_EQ(*it, "1");
  ++it;
  EXPECT_EQ(*it, "2");
}

TYPED_TEST_P(ExecutorBehaviourTest, MapBuffersizeOnMultipleInfiniteIterables) {
  auto pairs = std::views::iota(0) | std::views::transform([](int i) { return std::pair(i, i); });
  auto results = this->executor().Map(&Add, pairs, WithBuffersize(2));
  auto it = results.begin();
  EXPECT_EQ(*it, 0);
  ++it;
  EXPECT_EQ(*it, 2);
  ++it;
  EXPECT_EQ(*it, 4);
}

TYPED_TEST_P(ExecutorBehaviourTest, MapBuffersizeOnEmptyIterable) {
  auto results = this->executor().Map(&ToString, std::vector<int>{}, WithBuffersize(2));
  EXPECT_TRUE(results.begin() == results.end());
}

// Exactly buffersize chunks are pulled while nobody iterates (Python: next(ints) == 2).
TYPED_TEST_P(ExecutorBehaviourTest, MapBuffersizeWhenBufferIsFull) {
  int pulled = 0;
  auto counted = std::views::iota(0, 4) | std::views::transform([&pulled](int x) {
                   ++pulled;
                   return x;
                 });
  auto results = this->executor().Map(&ToString, counted, WithBuffersize(2));
  this->executor().Shutdown(/*wait=*/true);
  EXPECT_EQ(pulled, 2);
}

// buffersize counts chunks: buffersize=2 with chunksize=4 pulls 8 inputs.
TYPED_TEST_P(ExecutorBehaviourTest, MapBuffersizeCountsChunks) {
  int pulled = 0;
  auto counted = std::views::iota(0) | std::views::transform([&pulled](int x) {
                   ++pulled;
                   return x;
                 });
  auto results = this->executor().Map(&Identity, counted, WithBuffersize(2, /*chunksize=*/4));
  EXPECT_EQ(pulled, 8);
  auto it = results.begin();  // moving to the first chunk submits a third one
  EXPECT_EQ(pulled, 12);
  for (int i = 0; i < 4; ++i, ++it) EXPECT_EQ(*it, i);
  EXPECT_EQ(*it, 4);  // the second chunk; a fourth one was submitted before waiting for it
  EXPECT_EQ(pulled, 16);
}

TYPED_TEST_P(ExecutorBehaviourTest, MapResultsOfManyInputsKeepInputOrder) {
  std::vector<int> inputs(2000);
  for (int i = 0; i < 2000; ++i) inputs[i] = i;
  std::vector<int> results = Collect(this->executor().Map(&Identity, inputs, WithChunksize(7)));
  EXPECT_EQ(results, inputs);
  results = Collect(this->executor().Map(&Identity, inputs, WithBuffersize(3, 5)));
  EXPECT_EQ(results, inputs);
}

TYPED_TEST_P(ExecutorBehaviourTest, ShutdownRaceIssue12456) {
  auto results = this->executor().Map(&ToString, std::vector<int>(TestFixture::kWorkers + 1, 2));
  this->executor().Shutdown(/*wait=*/true);
  EXPECT_THAT(Collect(results), ::testing::Each("2"));
}

TYPED_TEST_P(ExecutorBehaviourTest, MaxWorkersMustBePositive) {
  for (int max_workers : {0, -1}) {
    try {
      TypeParam::Make(max_workers);
      ADD_FAILURE() << "max_workers " << max_workers << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "max_workers must be greater than 0");
    }
  }
}

// ---- ThreadPoolExecutorTest / ProcessPoolExecutorTest parts that hold for both (§4.1, §5.3) ---

// test_saturation: never more workers than max_workers, however much work is queued.
TYPED_TEST_P(ExecutorBehaviourTest, Saturation) {
  typename TestFixture::Gate gate;
  std::vector<Future<int>> futures;
  for (int i = 0; i < 15 * TestFixture::kWorkers; ++i) {
    futures.push_back(this->executor().Submit(TypeParam::kPassGate, gate.id(), i));
  }
  EXPECT_EQ(TypeParam::WorkersStarted(this->executor()), TestFixture::kWorkers);
  gate.Open();
  for (int i = 0; i < static_cast<int>(futures.size()); ++i) {
    EXPECT_EQ(futures[i].Result(kBound), i);
  }
  EXPECT_EQ(TypeParam::WorkersStarted(this->executor()), TestFixture::kWorkers);
}

// ---- ExecutorShutdownTest (§3.3) --------------------------------------------------------------

TYPED_TEST_P(ExecutorBehaviourTest, RunAfterShutdown) {
  this->executor().Shutdown();
  try {
    this->executor().Submit(&Pow, 2, 5);
    ADD_FAILURE() << "Submit after Shutdown accepted";
  } catch (const ShutdownError& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
  EXPECT_THROW(this->executor().Map(&ToString, std::vector<int>{1}), ShutdownError);
  // Like Python, a Map with nothing to submit does not fail.
  EXPECT_TRUE(this->executor().Map(&ToString, std::vector<int>{}).begin() == std::default_sentinel);
}

// test_interpreter_shutdown: destroying the executor runs the work still queued.
TYPED_TEST_P(ExecutorBehaviourTest, DestructorRunsQueuedWork) {
  auto executor = TypeParam::Make(TestFixture::kWorkers);
  typename TestFixture::Gate gate;
  auto blockers = this->BlockWorkers(*executor, gate, TestFixture::kWorkers);
  Future<int> queued = executor->Submit(&Mul, 6, 7);
  gate.Open();
  executor.reset();
  ASSERT_TRUE(queued.Done());
  EXPECT_EQ(queued.Result(), 42);
  for (Future<int>& f : blockers) EXPECT_TRUE(f.Done());
}

// test_hang_issue12364: Shutdown(wait) returns once every queued call ran.
TYPED_TEST_P(ExecutorBehaviourTest, ShutdownWaitsForQueuedWork) {
  typename TestFixture::Gate gate;
  auto blockers = this->BlockWorkers(this->executor(), gate, TestFixture::kWorkers);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(this->executor().Submit(&Identity, i));
  gate.Open();
  this->executor().Shutdown(/*wait=*/true);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(futures[i].Done());
    EXPECT_EQ(futures[i].Result(), i);
  }
}

// test_cancel_futures: queued calls are cancelled, running ones finish; cancelled futures are done
// for cf::Wait at once (docs/semantics.md deviation 1).
TYPED_TEST_P(ExecutorBehaviourTest, ShutdownCancelFutures) {
  typename TestFixture::Gate gate;
  auto blockers = this->BlockWorkers(this->executor(), gate, TestFixture::kWorkers);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(this->executor().Submit(&Identity, i));
  this->executor().Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  for (const Future<int>& f : futures) EXPECT_TRUE(f.Cancelled());
  auto [done, not_done] = Wait(futures, absl::ZeroDuration());
  EXPECT_EQ(done.size(), 50u);
  EXPECT_TRUE(not_done.empty());
  gate.Open();
  this->executor().Shutdown(/*wait=*/true);
  for (const Future<int>& f : blockers) {
    ASSERT_TRUE(f.Done());
    EXPECT_FALSE(f.Cancelled());
    EXPECT_EQ(f.Exception(), nullptr);
  }
}

// A thread blocked in Result() on a queued future wakes when Shutdown cancels it.
TYPED_TEST_P(ExecutorBehaviourTest, ShutdownCancelFuturesWakesWaiters) {
  typename TestFixture::Gate gate;
  auto blockers = this->BlockWorkers(this->executor(), gate, TestFixture::kWorkers);
  Future<int> queued = this->executor().Submit(&Identity, 1);
  std::thread waiter([&] { EXPECT_THROW(queued.Result(kBound), CancelledError); });
  this->executor().Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  waiter.join();
  gate.Open();
}

TYPED_TEST_P(ExecutorBehaviourTest, ShutdownWithoutWaitThenDestroy) {
  auto executor = TypeParam::Make(3);
  Future<int> f = executor->Submit(&Identity, 5);
  executor->Shutdown(/*wait=*/false);
  executor.reset();
  EXPECT_EQ(f.Result(kBound), 5);
}

// test_hang_gh94440: a cancelled future left in the queue does not hang Shutdown.
TYPED_TEST_P(ExecutorBehaviourTest, ShutdownWithCancelledFutureInQueue) {
  auto executor = TypeParam::Make(1);
  EXPECT_EQ(executor->Submit(&Identity, 1).Result(kBound), 1);
  typename TestFixture::Gate gate;
  Future<int> busy = executor->Submit(TypeParam::kPassGate, gate.id(), 2);
  Future<int> cancelled = executor->Submit(&Identity, 3);
  EXPECT_TRUE(cancelled.Cancel());
  gate.Open();
  executor->Shutdown(/*wait=*/true);
  EXPECT_EQ(busy.Result(), 2);
  EXPECT_TRUE(cancelled.Cancelled());
}

// test_threads_terminate / test_processes_terminate.
TYPED_TEST_P(ExecutorBehaviourTest, WorkersStartOnDemandAndShutdownJoinsThem) {
  typename TestFixture::Gate gate;
  std::vector<Future<int>> futures;
  for (int i = 0; i < 3; ++i) {
    futures.push_back(this->executor().Submit(TypeParam::kPassGate, gate.id(), i));
  }
  EXPECT_EQ(TypeParam::WorkersStarted(this->executor()), std::min(3, TestFixture::kWorkers));
  gate.Open();
  this->executor().Shutdown(/*wait=*/true);
  for (const Future<int>& f : futures) EXPECT_TRUE(f.Done());
}

// test_context_manager_shutdown.
TYPED_TEST_P(ExecutorBehaviourTest, ScopedExecutor) {
  std::vector<int> results;
  {
    auto executor = TypeParam::Make(5);
    results = Collect(executor->Map(&Abs, std::views::iota(-5, 5)));
  }
  EXPECT_THAT(results, ::testing::ElementsAre(5, 4, 3, 2, 1, 0, 1, 2, 3, 4));
}

// test_del_shutdown: the results outlive the executor.
TYPED_TEST_P(ExecutorBehaviourTest, MapResultsOutliveTheExecutor) {
  auto executor = TypeParam::Make(TestFixture::kWorkers);
  auto results = executor->Map(&Abs, std::views::iota(-5, 5));
  executor.reset();
  EXPECT_THAT(Collect(results), ::testing::ElementsAre(5, 4, 3, 2, 1, 0, 1, 2, 3, 4));
}

// A buffered Map whose executor is destroyed ends quietly after the chunks in flight (Python's
// map holds only a weak reference to its executor).
TYPED_TEST_P(ExecutorBehaviourTest, BufferedMapEndsQuietlyWhenTheExecutorIsDestroyed) {
  auto executor = TypeParam::Make(TestFixture::kWorkers);
  auto results = executor->Map(&Identity, std::views::iota(0), WithBuffersize(3));
  executor.reset();
  EXPECT_THAT(Collect(results), ::testing::ElementsAre(0, 1, 2));
}

// test_shutdown_no_wait.
TYPED_TEST_P(ExecutorBehaviourTest, ShutdownNoWait) {
  auto results = this->executor().Map(&Abs, std::views::iota(-5, 5));
  this->executor().Shutdown(/*wait=*/false);
  EXPECT_THAT(Collect(results), ::testing::ElementsAre(5, 4, 3, 2, 1, 0, 1, 2, 3, 4));
}

TYPED_TEST_P(ExecutorBehaviourTest, ShutdownIsIdempotent) {
  Future<int> f = this->executor().Submit(&Identity, 1);
  this->executor().Shutdown();
  this->executor().Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  this->executor().Shutdown();
  EXPECT_EQ(f.Result(), 1);
}

// test_cancel_futures_wait_false: either outcome, never a crash or a hang.
TYPED_TEST_P(ExecutorBehaviourTest, CancelFuturesWithoutWait) {
  Future<int> f = this->executor().Submit(&Identity, 5);
  this->executor().Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  ASSERT_TRUE(f.Wait(kBound));
  if (!f.Cancelled()) {
    EXPECT_EQ(f.Result(), 5);
  }
}

// ---- WaitTests and AsCompletedTests with executor futures (§2.1, §2.2) ------------------------

TYPED_TEST_P(ExecutorBehaviourTest, WaitCollapsesDuplicates) {  // test_20369
  Future<int> f = this->executor().Submit(&Mul, 1, 2);
  auto [done, not_done] = Wait({f, f}, kBound);
  EXPECT_THAT(done, ::testing::ElementsAre(f));
  EXPECT_TRUE(not_done.empty());
}

TYPED_TEST_P(ExecutorBehaviourTest, WaitFirstCompleted) {
  typename TestFixture::Gate gate;
  Future<int> f1 = this->executor().Submit(&Mul, 21, 2);
  Future<int> f2 = this->executor().Submit(TypeParam::kPassGate, gate.id(), 0);
  auto [done, not_done] = Wait({f1, f2}, kBound, ReturnWhen::kFirstCompleted);
  EXPECT_THAT(done, ::testing::ElementsAre(f1));
  EXPECT_THAT(not_done, ::testing::ElementsAre(f2));
  gate.Open();
}

TYPED_TEST_P(ExecutorBehaviourTest, WaitFirstCompletedSomeAlreadyCompleted) {
  CannedFutures canned;
  typename TestFixture::Gate gate;
  Future<int> blocked = this->executor().Submit(TypeParam::kPassGate, gate.id(), 0);
  auto [done, not_done] = Wait({canned.cancelled_and_notified, canned.successful, blocked}, kBound,
                               ReturnWhen::kFirstCompleted);
  EXPECT_THAT(done, ::testing::ElementsAre(canned.cancelled_and_notified, canned.successful));
  EXPECT_THAT(not_done, ::testing::ElementsAre(blocked));
  gate.Open();
}

TYPED_TEST_P(ExecutorBehaviourTest, WaitFirstException) {
  typename TestFixture::Gate gate;
  Future<int> f1 = this->executor().Submit(&Mul, 2, 21);
  ASSERT_EQ(f1.Result(kBound), 42);
  Future<int> f2 = this->executor().Submit(&ThrowRuntimeError, std::string("this is an exception"));
  Future<int> f3 = this->executor().Submit(TypeParam::kPassGate, gate.id(), 0);
  auto [done, not_done] = Wait({f1, f2, f3}, kBound, ReturnWhen::kFirstException);
  EXPECT_THAT(done, ::testing::ElementsAre(f1, f2));
  EXPECT_THAT(not_done, ::testing::ElementsAre(f3));
  gate.Open();
}

TYPED_TEST_P(ExecutorBehaviourTest, WaitFirstExceptionSomeAlreadyComplete) {
  CannedFutures canned;
  typename TestFixture::Gate gate;
  Future<std::pair<int, int>> f1 = this->executor().Submit(&DivMod, 21, 0);
  Future<int> f2 = this->executor().Submit(TypeParam::kPassGate, gate.id(), 0);
  std::vector<AnyFuture> all{canned.successful, canned.cancelled_and_notified, f1, f2};
  auto [done, not_done] = Wait(all, kBound, ReturnWhen::kFirstException);
  EXPECT_THAT(done,
              ::testing::ElementsAre(AnyFuture(canned.successful),
                                     AnyFuture(canned.cancelled_and_notified), AnyFuture(f1)));
  EXPECT_THAT(not_done, ::testing::ElementsAre(AnyFuture(f2)));
  gate.Open();
}

TYPED_TEST_P(ExecutorBehaviourTest, WaitAllCompleted) {
  CannedFutures canned;
  Future<std::pair<int, int>> f1 = this->executor().Submit(&DivMod, 2, 0);
  Future<int> f2 = this->executor().Submit(&Mul, 2, 21);
  std::vector<AnyFuture> all{canned.successful, canned.cancelled_and_notified, canned.exception, f1,
                             f2};
  auto [done, not_done] = Wait(all, kBound, ReturnWhen::kAllCompleted);
  EXPECT_EQ(done.size(), 5u);
  EXPECT_TRUE(not_done.empty());
}

TYPED_TEST_P(ExecutorBehaviourTest, WaitTimeout) {
  CannedFutures canned;
  typename TestFixture::Gate gate;
  Future<int> blocked = this->executor().Submit(TypeParam::kPassGate, gate.id(), 0);
  auto [done, not_done] =
      Wait({canned.cancelled_and_notified, canned.exception, canned.successful, blocked},
           absl::Milliseconds(50), ReturnWhen::kAllCompleted);
  EXPECT_THAT(done, ::testing::ElementsAre(canned.cancelled_and_notified, canned.exception,
                                           canned.successful));
  EXPECT_THAT(not_done, ::testing::ElementsAre(blocked));
  gate.Open();
}

// ThreadPoolWaitTests.test_pending_calls_race.
TYPED_TEST_P(ExecutorBehaviourTest, WaitPendingCallsRace) {
  typename TestFixture::Gate gate;
  std::vector<Future<int>> futures;
  for (int i = 0; i < 100; ++i) {
    futures.push_back(this->executor().Submit(TypeParam::kPassGate, gate.id(), i));
  }
  gate.Open();
  auto [done, not_done] = Wait(futures, kBound, ReturnWhen::kAllCompleted);
  EXPECT_EQ(done.size(), 100u);
  EXPECT_TRUE(not_done.empty());
}

TYPED_TEST_P(ExecutorBehaviourTest, AsCompletedNoTimeout) {
  CannedFutures canned;
  Future<int> f1 = this->executor().Submit(&Mul, 2, 21);
  Future<int> f2 = this->executor().Submit(&Mul, 7, 6);
  std::vector<Future<int>> all{canned.cancelled_and_notified, canned.exception, canned.successful,
                               f1, f2};
  std::vector<Future<int>> yielded;
  for (const Future<int>& f : AsCompleted(all, kBound)) yielded.push_back(f);
  EXPECT_THAT(yielded, ::testing::UnorderedElementsAreArray(all));
}

TYPED_TEST_P(ExecutorBehaviourTest, AsCompletedFutureTimesOut) {
  for (absl::Duration timeout : {absl::ZeroDuration(), absl::Milliseconds(100)}) {
    CannedFutures canned;
    typename TestFixture::Gate gate;
    Future<int> blocked = this->executor().Submit(TypeParam::kPassGate, gate.id(), 0);
    std::vector<Future<int>> yielded;
    EXPECT_THROW(
        {
          for (const Future<int>& f : AsCompleted(
                   {canned.cancelled_and_notified, canned.exception, canned.successful, blocked},
                   timeout)) {
            yielded.push_back(f);
          }
        },
        TimeoutError);
    EXPECT_THAT(yielded, ::testing::UnorderedElementsAre(canned.cancelled_and_notified,
                                                         canned.exception, canned.successful));
    gate.Open();
  }
}

TYPED_TEST_P(ExecutorBehaviourTest, AsCompletedDuplicateFutures) {
  Future<int> f = this->executor().Submit(&Mul, 2, 3);
  int count = 0;
  for (const Future<int>& g : AsCompleted(std::vector<Future<int>>{f, f, f}, kBound)) {
    EXPECT_EQ(g.Result(), 6);
    ++count;
  }
  EXPECT_EQ(count, 1);
}

REGISTER_TYPED_TEST_SUITE_P(
    ExecutorBehaviourTest, Submit, SubmitPassesEveryArgument,
    TaskExceptionIsStoredAndTheWorkerSurvives, Map, MapException, MapExceptionFailsItsWholeChunk,
    MapTimeout, MapTimeoutCancelsWhatHasNotStarted, DestroyingMapResultsCancelsWhatHasNotStarted,
    MapOptionsAreValidatedAtTheCall, MapBuffersize, MapBuffersizeOnMultipleIterables,
    MapBuffersizeOnInfiniteIterable, MapBuffersizeOnMultipleInfiniteIterables,
    MapBuffersizeOnEmptyIterable, MapBuffersizeWhenBufferIsFull, MapBuffersizeCountsChunks,
    MapResultsOfManyInputsKeepInputOrder, ShutdownRaceIssue12456, MaxWorkersMustBePositive,
    Saturation, RunAfterShutdown, DestructorRunsQueuedWork, ShutdownWaitsForQueuedWork,
    ShutdownCancelFutures, ShutdownCancelFuturesWakesWaiters, ShutdownWithoutWaitThenDestroy,
    ShutdownWithCancelledFutureInQueue, WorkersStartOnDemandAndShutdownJoinsThem, ScopedExecutor,
    MapResultsOutliveTheExecutor, BufferedMapEndsQuietlyWhenTheExecutorIsDestroyed, ShutdownNoWait,
    ShutdownIsIdempotent, CancelFuturesWithoutWait, WaitCollapsesDuplicates, WaitFirstCompleted,
    WaitFirstCompletedSomeAlreadyCompleted, WaitFirstException,
    WaitFirstExceptionSomeAlreadyComplete, WaitAllCompleted, WaitTimeout, WaitPendingCallsRace,
    AsCompletedNoTimeout, AsCompletedFutureTimesOut, AsCompletedDuplicateFutures);

}  // namespace cf::testing

#endif  // CF_TESTS_EXECUTOR_BEHAVIOUR_EXECUTOR_BEHAVIOUR_H_
