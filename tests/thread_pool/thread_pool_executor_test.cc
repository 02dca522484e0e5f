// cf::ThreadPoolExecutor behaviour that only a thread pool has (docs/semantics.md §4, and the
// thread-pool parts of §3.3): any callable with decay-copied arguments, move-only values, lambdas
// in Map, thread names and counts, initializers, and re-entrancy (Submit and Shutdown from
// tasks and callbacks). The executor-independent behaviour is in executor_behaviour_test.cc.
#include "cf/thread_pool/thread_pool_executor.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "cf/thread_pool/internal/worker_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/in_process_gate.h"
#include "tests/executor_behaviour/test_util.h"
#include "tests/thread_pool/thread_pool_traits.h"

namespace cf {
namespace {

using ::cf::internal::ThreadPoolExecutorPeer;
using ::cf::testing::Collect;
using ::cf::testing::kBound;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// A countdown whose wait is bounded (absl::BlockingCounter's is not).
class Latch {
 public:
  explicit Latch(int count) : count_(count) {}
  void CountDown() {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  bool Wait(absl::Duration timeout = kBound) {
    absl::MutexLock lock(&mu_);
    auto reached = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ <= 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_);
};

std::string CurrentThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

ThreadPoolExecutor::Options WithWorkers(int max_workers) {
  ThreadPoolExecutor::Options options;
  options.max_workers = max_workers;
  return options;
}

// ---- Submit --------------------------------------------------------------------------------

struct Accumulator {
  int base = 0;
  int Add(int x) const { return base + x; }
};

int Triple(int x) { return 3 * x; }

TEST(ThreadPoolExecutorTest, SubmitAcceptsAnyCallable) {
  ThreadPoolExecutor pool(2);
  EXPECT_EQ(pool.Submit([] { return 1; }).Result(kBound), 1);
  EXPECT_EQ(pool.Submit(&Triple, 5).Result(kBound), 15);
  EXPECT_EQ(pool.Submit(Triple, 6).Result(kBound), 18);
  std::function<int(int, int)> sub = [](int a, int b) { return a - b; };
  EXPECT_EQ(pool.Submit(sub, 9, 4).Result(kBound), 5);
  Accumulator acc{.base = 10};
  EXPECT_EQ(pool.Submit(&Accumulator::Add, acc, 5).Result(kBound), 15);
  EXPECT_EQ(pool.Submit(&Accumulator::Add, &acc, 6).Result(kBound), 16);
  int calls = 0;
  auto counter = [calls]() mutable { return ++calls; };  // a mutable (non-const) call operator
  EXPECT_EQ(pool.Submit(counter).Result(kBound), 1);
  EXPECT_EQ(pool.Submit(counter).Result(kBound), 1);  // each Submit has its own copy
}

TEST(ThreadPoolExecutorTest, ArgumentsAreCopiedWhenSubmitted) {
  ThreadPoolExecutor pool(1);
  testing::InProcessGate gate;
  Future<int> busy = pool.Submit(&testing::InProcessGate::Pass, gate.id(), 0);
  std::string text = "before";
  Future<std::string> f = pool.Submit([](const std::string& s) { return s; }, text);
  text = "after";
  gate.Open();
  EXPECT_EQ(f.Result(kBound), "before");
  // std::ref passes a reference, as with std::thread.
  int target = 0;
  pool.Submit([](int& x) { x = 5; }, std::ref(target)).Result(kBound);
  EXPECT_EQ(target, 5);
}

TEST(ThreadPoolExecutorTest, MoveOnlyArgumentsAndResults) {
  ThreadPoolExecutor pool(2);
  Future<std::unique_ptr<int>> f =
      pool.Submit([](std::unique_ptr<int> p) { return p; }, std::make_unique<int>(7));
  ASSERT_NE(f.Result(kBound), nullptr);
  EXPECT_EQ(*f.Result(), 7);
  auto owner = std::make_unique<int>(8);
  Future<int> g = pool.Submit([p = std::move(owner)] { return *p; });
  EXPECT_EQ(g.Result(kBound), 8);
}

TEST(ThreadPoolExecutorTest, VoidAndReferenceResults) {
  ThreadPoolExecutor pool(2);
  std::atomic<bool> ran{false};
  Future<void> v = pool.Submit([&ran] { ran = true; });
  v.Result(kBound);
  EXPECT_TRUE(ran);
  static const std::string kStored = "stored";
  Future<std::string> r = pool.Submit([]() -> const std::string& { return kStored; });
  EXPECT_EQ(r.Result(kBound), "stored");
  // A reference into the call's own copy is copied out before the copy is destroyed.
  struct Holder {
    std::string value = "own";
    const std::string& operator()() const { return value; }
  };
  EXPECT_EQ(pool.Submit(Holder()).Result(kBound), "own");
}

TEST(ThreadPoolExecutorTest, AnyExceptionIsStored) {
  ThreadPoolExecutor pool(2);
  Future<int> f = pool.Submit([]() -> int { throw 42; });
  try {
    f.Result(kBound);
    ADD_FAILURE() << "no exception";
  } catch (int value) {
    EXPECT_EQ(value, 42);
  }
  struct Custom {
    std::string why;
  };
  Future<void> g = pool.Submit([] { throw Custom{"custom"}; });
  try {
    g.Result(kBound);
    ADD_FAILURE() << "no exception";
  } catch (const Custom& c) {
    EXPECT_EQ(c.why, "custom");
  }
  EXPECT_THAT(g.DebugString(), HasSubstr("raised"));
}

// test_no_stale_references, made deterministic: the call and its arguments are destroyed
// before the result becomes visible.
TEST(ThreadPoolExecutorTest, CallAndArgumentsAreReleasedBeforeTheResultIsVisible) {
  ThreadPoolExecutor pool(2);
  auto captured = std::make_shared<int>(1);
  auto argument = std::make_shared<int>(2);
  std::weak_ptr<int> weak_captured = captured;
  std::weak_ptr<int> weak_argument = argument;
  Future<int> f = pool.Submit([c = std::move(captured)](std::shared_ptr<int> a) { return *c + *a; },
                              std::move(argument));
  EXPECT_EQ(f.Result(kBound), 3);
  EXPECT_TRUE(weak_captured.expired());
  EXPECT_TRUE(weak_argument.expired());

  auto thrower = std::make_shared<int>(3);
  std::weak_ptr<int> weak_thrower = thrower;
  Future<int> g = pool.Submit([t = std::move(thrower)]() -> int { throw std::logic_error("x"); });
  EXPECT_THROW(g.Result(kBound), std::logic_error);
  EXPECT_TRUE(weak_thrower.expired());
}

TEST(ThreadPoolExecutorTest, CancelledCallIsReleasedWithoutRunning) {
  ThreadPoolExecutor pool(1);
  testing::InProcessGate gate;
  Future<int> busy = pool.Submit(&testing::InProcessGate::Pass, gate.id(), 0);
  auto captured = std::make_shared<int>(1);
  std::weak_ptr<int> weak = captured;
  std::atomic<bool> ran{false};
  Future<void> f = pool.Submit([c = std::move(captured), &ran] { ran = true; });
  EXPECT_TRUE(f.Cancel());
  gate.Open();
  pool.Shutdown();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(weak.expired());
}

// ---- Re-entrancy ---------------------------------------------------------------------------

TEST(ThreadPoolExecutorTest, TaskCanSubmitToItsOwnExecutor) {
  ThreadPoolExecutor pool(1);
  Future<Future<int>> outer = pool.Submit([&pool] { return pool.Submit([] { return 2; }); });
  EXPECT_EQ(outer.Result(kBound).Result(kBound), 2);

  // A chain of 200 tasks, each submitting the next from its worker.
  std::atomic<int> steps{0};
  absl::Notification finished;
  std::function<void(int)> step = [&](int left) {
    steps.fetch_add(1);
    if (left == 0) {
      finished.Notify();
    } else {
      pool.Submit(step, left - 1);
    }
  };
  pool.Submit(step, 199);
  ASSERT_TRUE(finished.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(steps.load(), 200);
}

TEST(ThreadPoolExecutorTest, ShutdownFromATaskDoesNotDeadlock) {
  for (int workers : {1, 2, 5}) {
    ThreadPoolExecutor pool(workers);
    std::vector<Future<int>> others;
    for (int i = 0; i < 10; ++i) others.push_back(pool.Submit([i] { return i; }));
    Future<int> f = pool.Submit([&pool] {
      pool.Shutdown(/*wait=*/true);
      return 1;
    });
    EXPECT_EQ(f.Result(kBound), 1) << workers << " workers";
    EXPECT_THROW(pool.Submit([] {}), ShutdownError);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(others[i].Result(kBound), i);
  }
}

TEST(ThreadPoolExecutorTest, ShutdownFromTwoTasksAtOnceDoesNotDeadlock) {
  ThreadPoolExecutor pool(2);
  Latch both_running(2);
  auto task = [&] {
    both_running.CountDown();
    EXPECT_TRUE(both_running.Wait());
    pool.Shutdown(/*wait=*/true);
    return 1;
  };
  Future<int> a = pool.Submit(task);
  Future<int> b = pool.Submit(task);
  EXPECT_EQ(a.Result(kBound), 1);
  EXPECT_EQ(b.Result(kBound), 1);
}

TEST(ThreadPoolExecutorTest, ShutdownFromADoneCallbackDoesNotDeadlock) {
  ThreadPoolExecutor pool(2);
  absl::Notification called;
  Future<int> f = pool.Submit([] { return 1; });
  f.AddDoneCallback([&](const Future<int>&) {
    pool.Shutdown(/*wait=*/true);
    called.Notify();
  });
  ASSERT_TRUE(called.WaitForNotificationWithTimeout(kBound));
  EXPECT_THROW(pool.Submit([] {}), ShutdownError);
}

TEST(ThreadPoolExecutorTest, SubmitFromADoneCallback) {
  ThreadPoolExecutor pool(2);
  Future<int> second;
  absl::Notification submitted;
  Future<int> first = pool.Submit([] { return 1; });
  first.AddDoneCallback([&](const Future<int>& f) {
    second = pool.Submit([v = f.Result()] { return v + 1; });
    submitted.Notify();
  });
  ASSERT_TRUE(submitted.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(second.Result(kBound), 2);
}

TEST(ThreadPoolExecutorTest, SubmitFromATaskAfterShutdownThrowsInsideTheTask) {
  ThreadPoolExecutor pool(1);
  testing::InProcessGate gate;
  Future<void> f = pool.Submit([&] {
    testing::InProcessGate::Pass(gate.id(), 0);
    pool.Submit([] {});
  });
  pool.Shutdown(/*wait=*/false);
  gate.Open();
  EXPECT_THROW(f.Result(kBound), ShutdownError);
}

TEST(ThreadPoolExecutorTest, ConcurrentShutdownsAllWait) {
  ThreadPoolExecutor pool(2);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 1000; ++i) futures.push_back(pool.Submit([i] { return i; }));
  std::vector<std::thread> closers;
  for (int t = 0; t < 4; ++t) {
    closers.emplace_back([&] {
      pool.Shutdown(/*wait=*/true);
      for (const Future<int>& f : futures) EXPECT_TRUE(f.Done());
    });
  }
  for (std::thread& t : closers) t.join();
}

TEST(ThreadPoolExecutorTest, ShutdownCancelRunsCallbacksOfCancelledFutures) {
  ThreadPoolExecutor pool(1);
  testing::InProcessGate gate;
  Future<int> busy = pool.Submit(&testing::InProcessGate::Pass, gate.id(), 0);
  Future<int> queued = pool.Submit([] { return 1; });
  std::atomic<int> callbacks{0};
  queued.AddDoneCallback([&](const Future<int>& f) {
    EXPECT_TRUE(f.Cancelled());
    callbacks.fetch_add(1);
  });
  pool.Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  EXPECT_EQ(callbacks.load(), 1);  // ran in Shutdown's thread, before it returned
  gate.Open();
}

// A worker that finds a long queue takes a batch of tasks at once (worker_pool.h). Tasks parked
// in a batch behind a blocked task are still cancelled by Shutdown(cancel_futures), at once.
TEST(ThreadPoolExecutorTest, ShutdownCancelsTasksParkedInABatch) {
  ThreadPoolExecutor pool(1);
  testing::InProcessGate first;
  testing::InProcessGate second;
  Future<int> f1 = pool.Submit(&testing::InProcessGate::Pass, first.id(), 1);
  ASSERT_TRUE(first.AwaitArrivals(1, kBound));
  Future<int> f2 = pool.Submit(&testing::InProcessGate::Pass, second.id(), 2);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 39; ++i) queued.push_back(pool.Submit([i] { return i; }));
  first.Open();  // the worker now takes f2 and a batch of the tasks behind it, and blocks on f2
  ASSERT_TRUE(second.AwaitArrivals(1, kBound));
  pool.Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  for (const Future<int>& f : queued) EXPECT_TRUE(f.Cancelled());
  second.Open();
  EXPECT_EQ(f2.Result(kBound), 2);
}

// An idle worker takes the tasks parked in another worker's batch while that worker is blocked,
// and takes them before newer queued tasks: tasks start in submission order (Python's FIFO
// queue). Before the second part was so, the tour's cancel section showed task 8 starting while
// task 9 waited behind 10.
TEST(ThreadPoolExecutorTest, IdleWorkerStealsParkedTasksInSubmissionOrder) {
  ThreadPoolExecutor pool(2);
  testing::InProcessGate a;
  testing::InProcessGate b;
  testing::InProcessGate c;
  Future<int> fa = pool.Submit(&testing::InProcessGate::Pass, a.id(), 0);
  Future<int> fb = pool.Submit(&testing::InProcessGate::Pass, b.id(), 0);
  ASSERT_TRUE(a.AwaitArrivals(1, kBound));
  ASSERT_TRUE(b.AwaitArrivals(1, kBound));  // both workers are blocked
  Future<int> fc = pool.Submit(&testing::InProcessGate::Pass, c.id(), 0);
  absl::Mutex mu;
  std::vector<int> started;
  std::vector<Future<void>> queued;
  for (int i = 0; i < 39; ++i) {
    queued.push_back(pool.Submit([i, &mu, &started] {
      absl::MutexLock lock(&mu);
      started.push_back(i);
    }));
  }
  a.Open();  // that worker takes fc with a batch behind it and blocks on c
  ASSERT_TRUE(c.AwaitArrivals(1, kBound));
  b.Open();  // the other worker runs all 39: first those parked behind fc, then the queue
  for (Future<void>& f : queued) f.Result(kBound);
  EXPECT_FALSE(fc.Done());
  std::vector<int> expected(39);
  std::iota(expected.begin(), expected.end(), 0);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(started, expected);
  c.Open();
  EXPECT_EQ(fc.Result(kBound), 0);
}

// The last reference to the executor may be dropped by one of its own tasks: the destructor then
// runs on a worker, which does not wait for itself.
TEST(ThreadPoolExecutorTest, ExecutorDestroyedByItsOwnTask) {
  auto pool = std::make_shared<ThreadPoolExecutor>(2);
  std::weak_ptr<ThreadPoolExecutor> weak = pool;
  Future<int> f = pool->Submit([keep = pool]() mutable { return 7; });
  pool.reset();  // the task's copy may now be the last one
  EXPECT_EQ(f.Result(kBound), 7);
  EXPECT_TRUE(weak.expired());
}

// ---- Threads -------------------------------------------------------------------------------

TEST(ThreadPoolExecutorTest, DefaultMaxWorkers) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int expected = std::min(32, CPU_COUNT(&set) + 4);
  EXPECT_EQ(ThreadPoolExecutor().max_workers(), expected);
  EXPECT_EQ(ThreadPoolExecutor(WithWorkers(0)).max_workers(), expected);
  EXPECT_EQ(ThreadPoolExecutor(WithWorkers(3)).max_workers(), 3);
  EXPECT_EQ(ThreadPoolExecutor(7).max_workers(), 7);
  EXPECT_EQ(internal::DefaultMaxWorkers(), expected);
  try {
    ThreadPoolExecutor executor(WithWorkers(-2));
    ADD_FAILURE() << "negative max_workers accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "max_workers must be greater than 0");
  }
}

TEST(ThreadPoolExecutorTest, ThreadsStartLazily) {
  ThreadPoolExecutor pool(4);
  EXPECT_EQ(ThreadPoolExecutorPeer::ThreadsStarted(pool), 0);
  pool.Submit([] {}).Result(kBound);
  EXPECT_EQ(ThreadPoolExecutorPeer::ThreadsStarted(pool), 1);
}

// test_idle_thread_reuse: an idle thread is reused instead of starting a new one.
TEST(ThreadPoolExecutorTest, IdleThreadReuse) {
  ThreadPoolExecutor pool;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pool.Submit([i] { return i; }).Result(kBound), i);
    // Python's worker marks itself idle after set_result; wait for that moment explicitly.
    ASSERT_TRUE(ThreadPoolExecutorPeer::AwaitIdleWorkers(pool, 1, kBound));
  }
  EXPECT_EQ(ThreadPoolExecutorPeer::ThreadsStarted(pool), 1);
}

// ThreadPoolExecutor(4) with 60 blocked tasks has exactly 4 threads.
TEST(ThreadPoolExecutorTest, SaturationAtFour) {
  ThreadPoolExecutor pool(4);
  testing::InProcessGate gate;
  std::vector<Future<int>> futures;
  for (int i = 0; i < 60; ++i) {
    futures.push_back(pool.Submit(&testing::InProcessGate::Pass, gate.id(), i));
  }
  EXPECT_EQ(ThreadPoolExecutorPeer::ThreadsStarted(pool), 4);
  gate.Open();
  for (int i = 0; i < 60; ++i) EXPECT_EQ(futures[i].Result(kBound), i);
}

// Runs `workers` tasks that are all running at once and returns their thread names.
std::vector<std::string> NamesOfAllWorkers(ThreadPoolExecutor& pool, int workers) {
  Latch arrived(workers);
  absl::Notification release;
  std::vector<Future<std::string>> names;
  for (int i = 0; i < workers; ++i) {
    names.push_back(pool.Submit([&] {
      arrived.CountDown();
      release.WaitForNotificationWithTimeout(kBound);
      return CurrentThreadName();
    }));
  }
  EXPECT_TRUE(arrived.Wait());
  release.Notify();
  std::vector<std::string> out;
  for (Future<std::string>& f : names) out.push_back(f.Result(kBound));
  return out;
}

TEST(ThreadPoolExecutorTest, ThreadNamesAssigned) {
  ThreadPoolExecutor::Options options;
  options.max_workers = 5;
  options.thread_name_prefix = "SpecialPool";
  ThreadPoolExecutor pool(std::move(options));
  std::vector<std::string> names = NamesOfAllWorkers(pool, 5);
  for (const std::string& name : names) EXPECT_THAT(name, MatchesRegex("SpecialPool_[0-4]"));
  EXPECT_EQ(absl::flat_hash_set<std::string>(names.begin(), names.end()).size(), 5u);
}

TEST(ThreadPoolExecutorTest, ThreadNamesDefault) {
  ThreadPoolExecutor pool(5);
  // "ThreadPoolExecutor-<k>_<n>" cut to Linux's 15 characters, keeping "_<n>".
  for (const std::string& name : NamesOfAllWorkers(pool, 5)) {
    EXPECT_THAT(name, MatchesRegex("ThreadPoolExe_[0-4]"));
  }
  EXPECT_THAT(internal::NextDefaultThreadNamePrefix(), MatchesRegex("ThreadPoolExecutor-[0-9]+"));
}

TEST(ThreadPoolExecutorTest, WorkerThreadNameKeepsTheIndex) {
  EXPECT_EQ(internal::WorkerThreadName("SpecialPool", 3), "SpecialPool_3");
  EXPECT_EQ(internal::WorkerThreadName("ThreadPoolExecutor-12", 7), "ThreadPoolExe_7");
  EXPECT_EQ(internal::WorkerThreadName("ThreadPoolExecutor-12", 31), "ThreadPoolEx_31");
  EXPECT_EQ(internal::WorkerThreadName("p", 123), "p_123");
  EXPECT_EQ(internal::WorkerThreadName("abcdefghijklmnop", 12345), "abcdefghi_12345");
  EXPECT_EQ(internal::WorkerThreadName("exactly_12chr", 0), "exactly_12chr_0");
}

// ---- Initializer (docs/semantics.md §4.3) --------------------------------------------------

thread_local std::string init_status = "uninitialized";

TEST(ThreadPoolExecutorTest, InitializerRunsOnceInEachWorkerBeforeItsTasks) {
  std::atomic<int> runs{0};
  ThreadPoolExecutor::Options options;
  options.max_workers = 2;
  options.initializer = [&runs] {
    init_status = "initialized";
    runs.fetch_add(1);
  };
  ThreadPoolExecutor pool(std::move(options));
  testing::InProcessGate gate;
  std::vector<Future<std::string>> statuses;
  for (int i = 0; i < 20; ++i) {
    statuses.push_back(pool.Submit([&gate] {
      testing::InProcessGate::Pass(gate.id(), 0);
      return init_status;
    }));
  }
  gate.Open();
  for (Future<std::string>& f : statuses) EXPECT_EQ(f.Result(kBound), "initialized");
  pool.Shutdown();
  EXPECT_EQ(runs.load(), ThreadPoolExecutorPeer::ThreadsStarted(pool));
  EXPECT_EQ(runs.load(), 2);
}

TEST(ThreadPoolExecutorTest, FailingInitializerBreaksThePool) {
  testing::InProcessGate gate;
  ThreadPoolExecutor::Options options;
  options.max_workers = 1;
  options.initializer = [&gate] {
    testing::InProcessGate::Pass(gate.id(), 0);
    throw std::invalid_argument("error in initializer");
  };
  ThreadPoolExecutor pool(std::move(options));
  ::testing::internal::CaptureStderr();
  std::vector<Future<int>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(pool.Submit([i] { return i; }));
  gate.Open();  // the one worker now fails its initializer with all 5 tasks queued
  std::vector<const void*> exception_objects;
  for (Future<int>& f : futures) {
    try {
      f.Result(kBound);
      ADD_FAILURE() << "a task ran on a broken pool";
    } catch (const BrokenThreadPool& e) {
      EXPECT_STREQ(e.what(), "A thread initializer failed, the thread pool is not usable anymore");
      exception_objects.push_back(&e);
    }
  }
  // Each future has its own exception object (docs/semantics.md §4.3).
  EXPECT_EQ(
      absl::flat_hash_set<const void*>(exception_objects.begin(), exception_objects.end()).size(),
      futures.size());
  try {
    pool.Submit([] { return 0; });
    ADD_FAILURE() << "Submit accepted by a broken pool";
  } catch (const BrokenExecutor& e) {
    EXPECT_STREQ(e.what(), "A thread initializer failed, the thread pool is not usable anymore");
    EXPECT_NE(dynamic_cast<const BrokenThreadPool*>(&e), nullptr);
  }
  EXPECT_THROW(pool.Map([](int x) { return x; }, std::vector<int>{1}), BrokenThreadPool);
  pool.Shutdown();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("Exception in initializer"));
  EXPECT_THAT(log, HasSubstr("error in initializer"));
}

// ---- Map with lambdas ----------------------------------------------------------------------

TEST(ThreadPoolExecutorTest, MapSubmitsWithoutIteration) {
  absl::Mutex mu;
  std::vector<int> finished;
  ThreadPoolExecutor pool(5);
  auto results = pool.Map(
      [&](int i) {
        absl::MutexLock lock(&mu);
        finished.push_back(i);
      },
      std::views::iota(0, 10));
  pool.Shutdown(/*wait=*/true);
  absl::MutexLock lock(&mu);
  std::sort(finished.begin(), finished.end());
  EXPECT_THAT(finished, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST(ThreadPoolExecutorTest, MapSpreadsTuplesAndPairs) {
  ThreadPoolExecutor pool(2);
  std::vector<std::tuple<int, std::string, double>> triples{{1, "a", 0.5}, {2, "b", 1.5}};
  auto describe = [](int n, const std::string& s, double d) {
    return s + std::to_string(n) + (d > 1 ? "+" : "-");
  };
  EXPECT_THAT(Collect(pool.Map(describe, triples)), ElementsAre("a1-", "b2+"));
  // A function taking the pair itself gets it whole.
  std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}};
  EXPECT_THAT(Collect(pool.Map([](std::pair<int, int> p) { return p.first * p.second; }, pairs)),
              ElementsAre(2, 12));
  EXPECT_THAT(Collect(pool.Map([](int a, int b) { return a - b; }, pairs)), ElementsAre(-1, -1));
}

TEST(ThreadPoolExecutorTest, MapMoveOnlyInputsAndResults) {
  ThreadPoolExecutor pool(2);
  std::vector<std::unique_ptr<int>> inputs;
  for (int i = 0; i < 5; ++i) inputs.push_back(std::make_unique<int>(i));
  auto results = pool.Map([](std::unique_ptr<int> p) { return std::make_unique<int>(*p * 2); },
                          std::move(inputs), testing::WithChunksize(2));
  std::vector<std::unique_ptr<int>> out;
  for (std::unique_ptr<int>& p : results) out.push_back(std::move(p));
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*out[i], 2 * i);
}

TEST(ThreadPoolExecutorTest, MapLeavesAnLvalueRangeUntouched) {
  ThreadPoolExecutor pool(2);
  const std::vector<std::string> words{"a", "bb", "ccc"};
  EXPECT_THAT(Collect(pool.Map([](std::string s) { return s.size(); }, words)),
              ElementsAre(1u, 2u, 3u));
  EXPECT_THAT(words, ElementsAre("a", "bb", "ccc"));
}

TEST(ThreadPoolExecutorTest, MapOfAVoidFunction) {
  ThreadPoolExecutor pool(2);
  std::atomic<int> sum{0};
  auto results = pool.Map([&sum](int i) { sum.fetch_add(i); }, std::views::iota(0, 100),
                          testing::WithChunksize(7));
  int count = 0;
  for (std::monostate& unit : results) {
    (void)unit;
    ++count;
  }
  EXPECT_EQ(count, 100);
  EXPECT_EQ(sum.load(), 4950);
  auto failing = pool.Map(
      [](int i) {
        if (i == 3) throw std::out_of_range("three");
      },
      std::views::iota(0, 5));
  EXPECT_THROW(Collect(failing), std::out_of_range);
}

TEST(ThreadPoolExecutorTest, MapOverABracedList) {
  ThreadPoolExecutor pool(2);
  EXPECT_THAT(Collect(pool.Map([](int x) { return x * x; }, {1, 2, 3})), ElementsAre(1, 4, 9));
}

// fn is copied once for the whole Map, not per item or per chunk.
TEST(ThreadPoolExecutorTest, MapCopiesTheFunctionOnce) {
  struct Counted {
    std::shared_ptr<std::atomic<int>> copies = std::make_shared<std::atomic<int>>(0);
    Counted() = default;
    Counted(const Counted& other) : copies(other.copies) { copies->fetch_add(1); }
    Counted(Counted&&) = default;
    int operator()(int x) const { return x + 1; }
  };
  ThreadPoolExecutor pool(2);
  Counted fn;
  EXPECT_EQ(Collect(pool.Map(fn, std::views::iota(0, 1000))).size(), 1000u);
  EXPECT_EQ(fn.copies->load(), 1);
}

TEST(ThreadPoolExecutorTest, MapResultsCloseAndMove) {
  ThreadPoolExecutor pool(1);
  testing::InProcessGate gate;
  Future<int> busy = pool.Submit(&testing::InProcessGate::Pass, gate.id(), 0);
  std::atomic<int> ran{0};
  auto results = pool.Map([&ran](int x) { return ran.fetch_add(1) + x; }, std::views::iota(0, 10));
  MapResults<int> moved = std::move(results);
  EXPECT_TRUE(results.begin() == results.end());  // NOLINT(bugprone-use-after-move): moved-from
  moved.Close();
  EXPECT_TRUE(moved.begin() == moved.end());
  gate.Open();
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 0);

  ThreadPoolExecutor other(2);
  MapResults<int> assigned = other.Map([](int x) { return x; }, std::views::iota(0, 3));
  assigned = other.Map([](int x) { return -x; }, std::views::iota(0, 3));
  EXPECT_THAT(Collect(assigned), ElementsAre(0, -1, -2));
}

// A Map waits for the chunk at the front only: later chunks completing first do not reorder.
TEST(ThreadPoolExecutorTest, MapKeepsInputOrderWhenLaterItemsFinishFirst) {
  ThreadPoolExecutor pool(4);
  testing::InProcessGate gate;
  Latch others(7);
  auto results = pool.Map(
      [&](int i) {
        if (i == 0) return testing::InProcessGate::Pass(gate.id(), 0);
        others.CountDown();
        return i;
      },
      std::views::iota(0, 8));
  ASSERT_TRUE(others.Wait());  // items 1..7 are done while item 0 still blocks
  gate.Open();
  EXPECT_THAT(Collect(results), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
}

// Users write Options with designated initializers; leaving fields out must compile cleanly
// under -Wall -Wextra -Werror (GCC 12 warns about omitted class-type members without a
// default member initializer).
TEST(ThreadPoolExecutorOptionsTest, DesignatedInitializersLeaveFieldsOut) {
  ThreadPoolExecutor a({.max_workers = 2});
  ThreadPoolExecutor b({.max_workers = 1, .thread_name_prefix = "io"});
  EXPECT_EQ(a.max_workers(), 2);
  EXPECT_EQ(b.max_workers(), 1);
  EXPECT_EQ(b.Submit([] { return 5; }).Result(absl::Seconds(30)), 5);
}

}  // namespace
}  // namespace cf
