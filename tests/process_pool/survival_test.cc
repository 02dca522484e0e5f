// A process pool that survives (issue 14): per-call timeouts that end and replace the worker,
// what a worker's death means (WorkerDeath), Shutdown with a deadline, statistics — for every
// start method. Every wait is bounded; gates coordinate, nothing sleeps for correctness (the
// few polls below watch other processes' ends, which nothing notifies).
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/executor_control.h"
#include "cf/core/future.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/internal/payload_allocator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/process_pool/process_pool_traits.h"
#include "tests/process_pool/process_tasks.h"
#include "tests/process_pool/socket_gate.h"

namespace cf::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kBound = absl::Seconds(60);

// Polls `done` until it holds or `bound` passes (for other processes' ends).
bool PollUntil(const std::function<bool()>& done, absl::Duration bound = kBound) {
  const absl::Time deadline = absl::Now() + bound;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Gone, or a zombie nobody reaped yet.
bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return true;
  return state == "Z" || state == "X";
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name, "_", getpid(), "_",
                      absl::ToUnixNanos(absl::Now()));
}

template <typename T>
std::exception_ptr ErrorOf(const Future<T>& f) {
  return f.Exception(kBound);
}

class SurvivalTest : public ::testing::TestWithParam<StartMethod> {
 protected:
  ProcessPoolExecutor::Options Options(int max_workers,
                                       WorkerDeath death = WorkerDeath::kBreakPool) const {
    ProcessPoolExecutor::Options options;
    options.max_workers = max_workers;
    options.start_method = GetParam();
    options.on_worker_death = death;
    options.kill_grace = absl::Milliseconds(300);
    return options;
  }
};

std::string Name(const ::testing::TestParamInfo<StartMethod>& info) {
  return MethodName(info.param);
}

#if !CF_TEST_KFORK
INSTANTIATE_TEST_SUITE_P(StartMethods, SurvivalTest,
                         ::testing::Values(StartMethod::kSpawn, StartMethod::kForkServer), Name);
#else
INSTANTIATE_TEST_SUITE_P(StartMethods, SurvivalTest,
                         ::testing::Values(StartMethod::kFork, StartMethod::kSpawn,
                                           StartMethod::kForkServer),
                         Name);
#endif

// --- Per-call timeouts ---

TEST_P(SurvivalTest, ATimeoutFailsTheCallEndsItsWorkerAndTheNextCallRuns) {
  ProcessPoolExecutor pool(Options(1));
  const pid_t first = pool.Submit(&GetPid).Result(kBound);
  Future<int> hung = pool.SubmitWith({.timeout = absl::Milliseconds(200)}, &HangForever, 0);
  std::exception_ptr e = ErrorOf(hung);
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const TaskTimeoutError& error) {
    EXPECT_THAT(error.what(), HasSubstr("HangForever"));
    EXPECT_THAT(error.what(), HasSubstr("200ms"));
    EXPECT_THAT(error.what(), HasSubstr(absl::StrCat(first)));
    EXPECT_EQ(error.pid(), first);
  } catch (const std::exception& other) {
    FAIL() << "not a TaskTimeoutError: " << other.what();
  }
  // A TimeoutError too, for code that catches that.
  EXPECT_THROW(std::rethrow_exception(e), TimeoutError);
  EXPECT_EQ(pool.Submit(&Identity, 5).Result(kBound), 5);
  EXPECT_NE(pool.Submit(&GetPid).Result(kBound), first);
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(first); }));
  const ExecutorStats stats = pool.stats();
  EXPECT_EQ(stats.task_timeouts, 1);
  EXPECT_GE(stats.worker_restarts, 1);
  EXPECT_EQ(stats.failed, 1);
}

TEST_P(SurvivalTest, ATaskThatIgnoresSigtermIsKilledAfterTheGrace) {
  ProcessPoolExecutor pool(Options(1));
  const pid_t worker = pool.Submit(&GetPid).Result(kBound);
  Future<int> f = pool.SubmitWith({.timeout = absl::Milliseconds(100)}, &IgnoreSigtermAndHang, 0);
  EXPECT_THROW(f.Result(kBound), TaskTimeoutError);
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(worker); }));
  EXPECT_EQ(pool.Submit(&Identity, 9).Result(kBound), 9);
}

TEST_P(SurvivalTest, AProcessTheTaskStartedEndsWithIt) {
  ProcessPoolExecutor pool(Options(1));
  const std::string path = TempPath("grandchild");
  Future<int> f = pool.SubmitWith({.timeout = absl::Milliseconds(300)}, &ForkChildAndHang, path);
  EXPECT_THROW(f.Result(kBound), TaskTimeoutError);
  pid_t grandchild = 0;
  ASSERT_TRUE(PollUntil([&] {
    std::ifstream in(path);
    return static_cast<bool>(in >> grandchild);
  }));
  ASSERT_GT(grandchild, 0);
  // It ignores SIGTERM: the SIGKILL after the grace ends it.
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(grandchild); }));
  std::remove(path.c_str());
}

TEST_P(SurvivalTest, TheClockStartsWhenTheCallRuns) {
  ProcessPoolExecutor pool(Options(1));
  SocketGate gate;
  Future<int> first = pool.Submit(&SocketGate::Pass, gate.id(), 1);
  Future<int> timed = pool.SubmitWith({.timeout = absl::Seconds(2)}, &SleepMs, 20);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  // Queued behind the gated call for longer than its own timeout: not counted.
  EXPECT_THROW(timed.Exception(absl::Milliseconds(2500)), TimeoutError);  // not done
  EXPECT_FALSE(timed.Running());
  gate.Open();
  EXPECT_EQ(first.Result(kBound), 1);
  EXPECT_EQ(timed.Result(kBound), 20);
  EXPECT_EQ(pool.stats().task_timeouts, 0);
}

TEST_P(SurvivalTest, ACallThatFinishesInTimeKeepsItsResult) {
  ProcessPoolExecutor pool(Options(2));
  std::vector<Future<int>> futures;
  for (int i = 0; i < 50; ++i) {
    futures.push_back(pool.SubmitWith({.timeout = absl::Seconds(30)}, &Identity, i));
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(futures[i].Result(kBound), i);
  EXPECT_EQ(pool.stats().task_timeouts, 0);
}

TEST_P(SurvivalTest, TimeoutsWorkWithMaxTasksPerChild) {
  ProcessPoolExecutor::Options options = Options(1);
  options.max_tasks_per_child = 1;
  ProcessPoolExecutor pool(options);
  Future<int> hung = pool.SubmitWith({.timeout = absl::Milliseconds(100)}, &HangForever, 0);
  Future<int> next = pool.SubmitWith({.timeout = absl::Seconds(30)}, &Identity, 3);
  EXPECT_THROW(hung.Result(kBound), TaskTimeoutError);
  EXPECT_EQ(next.Result(kBound), 3);
  EXPECT_EQ(pool.Submit(&Identity, 4).Result(kBound), 4);
}

TEST_P(SurvivalTest, AMapChunkTimesOut) {
  ProcessPoolExecutor pool(Options(2));
  std::vector<int> ms = {1, 1, 1, 60'000, 1, 1};
  std::vector<int> seen;
  auto results = pool.Map(&SleepMs, ms,
                          {.timeout = kBound, .chunksize = 2, .chunk_timeout = absl::Seconds(1)});
  EXPECT_THROW(
      {
        for (int v : results) seen.push_back(v);
      },
      TaskTimeoutError);
  EXPECT_EQ(seen, (std::vector<int>{1, 1}));  // the chunk {1, 60000} timed out as a whole
  EXPECT_EQ(pool.stats().task_timeouts, 1);
}

TEST_P(SurvivalTest, ATimeoutMustBePositive) {
  ProcessPoolExecutor pool(Options(1));
  EXPECT_THROW(pool.SubmitWith({.timeout = absl::ZeroDuration()}, &Identity, 1),
               std::invalid_argument);
  EXPECT_THROW(pool.Map(&Identity, std::vector<int>{1}, {.chunk_timeout = absl::Seconds(-1)}),
               std::invalid_argument);
}

TEST_P(SurvivalTest, OptionsAreChecked) {
  ProcessPoolExecutor::Options options = Options(1, WorkerDeath::kRetryTask);
  options.max_retries = -1;
  EXPECT_THROW(ProcessPoolExecutor{options}, std::invalid_argument);
  options = Options(1);
  options.kill_grace = absl::ZeroDuration();
  EXPECT_THROW(ProcessPoolExecutor{options}, std::invalid_argument);
}

// --- What a worker's death means ---

TEST_P(SurvivalTest, FailTaskFailsOnlyTheCallItsWorkerWasRunning) {
  ProcessPoolExecutor pool(Options(2, WorkerDeath::kFailTask));
  SocketGate gate;
  Future<int> victim = pool.Submit(&GetPidAfterGate, gate.id(), 0);
  Future<int> other = pool.Submit(&SocketGate::Pass, gate.id(), 7);
  ASSERT_TRUE(gate.AwaitArrivals(2, kBound));
  std::vector<pid_t> pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 2u);
  // Which worker runs which call is not known: kill one, and see which future fails.
  const pid_t killed = pids[0];
  ASSERT_EQ(kill(killed, SIGKILL), 0);
  gate.Open();
  const bool victim_failed = ErrorOf(victim) != nullptr;
  Future<int>& dead = victim_failed ? victim : other;
  Future<int>& alive = victim_failed ? other : victim;
  std::exception_ptr e = ErrorOf(dead);
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const WorkerDiedError& error) {
    EXPECT_EQ(error.pid(), killed);
    EXPECT_EQ(error.signal(), SIGKILL);
    EXPECT_THAT(error.what(), HasSubstr("SIGKILL"));
  } catch (const std::exception& other_error) {
    FAIL() << "not a WorkerDiedError: " << other_error.what();
  }
  EXPECT_EQ(ErrorOf(alive), nullptr);
  EXPECT_EQ(pool.Submit(&Identity, 11).Result(kBound), 11);
}

TEST_P(SurvivalTest, FailTaskWhenATaskKillsItsWorker) {
  ProcessPoolExecutor pool(Options(1, WorkerDeath::kFailTask));
  Future<int> dead = pool.Submit(&KillOwnWorker, 0);
  Future<int> next = pool.Submit(&Identity, 2);
  EXPECT_THROW(dead.Result(kBound), WorkerDiedError);
  EXPECT_THROW(dead.Result(kBound), BrokenProcessPool);
  EXPECT_EQ(next.Result(kBound), 2);
  const ExecutorStats stats = pool.stats();
  EXPECT_EQ(stats.failed, 1);
  EXPECT_EQ(stats.completed, 1);
  EXPECT_GE(stats.worker_restarts, 1);
}

TEST_P(SurvivalTest, ARetryThatSucceeds) {
  ProcessPoolExecutor pool(Options(1, WorkerDeath::kRetryTask));
  const std::string path = TempPath("retry_once");
  EXPECT_EQ(pool.Submit(&KillWorkerOnce, path, 42).Result(kBound), 42);
  EXPECT_GE(pool.stats().worker_restarts, 1);
  std::remove(path.c_str());
}

// A big call's arguments (in a call slot, read in place) are still there for its retry.
TEST_P(SurvivalTest, ARetriedBigCallGetsItsArgumentsAgain) {
  ProcessPoolExecutor pool(Options(1, WorkerDeath::kRetryTask));
  const std::string path = TempPath("retry_big");
  const std::vector<std::uint8_t> data = PatternBytes(2 << 20, 1);
  EXPECT_EQ(pool.Submit(&KillWorkerOnceThenSum, path, data).Result(kBound), SumOf(data));
  EXPECT_GE(pool.stats().worker_restarts, 1);
  std::remove(path.c_str());
}

// A big call that times out gives its call slot back; the calls after it get theirs whole.
TEST_P(SurvivalTest, BigCallsAfterOneThatTimedOut) {
  ProcessPoolExecutor pool(Options(1));
  Future<std::int64_t> slow =
      pool.SubmitWith({.timeout = absl::Milliseconds(200)}, &SleepThenSum, 60'000,
                      PatternBytes(2 << 20, 2));
  EXPECT_THROW(slow.Result(kBound), TaskTimeoutError);
  for (int i = 0; i < 4; ++i) {
    const std::vector<std::uint8_t> data = PatternBytes((1 << 20) + i, 3 + i);
    EXPECT_EQ(pool.Submit(&SumBytes, data).Result(kBound), SumOf(data)) << i;
  }
}

// The worker running a big call may write its result over the call's arguments in the call's
// slot. One that the pool gave up on (a timeout) but that is still alive may still do that, so
// the slot is not given to another call until the worker has exited: a call queued meanwhile
// keeps its arguments whole, and the slot is free again once the worker is gone.
TEST_P(SurvivalTest, AWorkerThatTimedOutNeverWritesOverALaterCall) {
  ProcessPoolExecutor::Options options = Options(1);
  options.kill_grace = absl::Seconds(60);  // it lives on until the test kills it
  ProcessPoolExecutor pool(options);
  const std::string release = TempPath("release"), mark = TempPath("mark"), go = TempPath("go");
  Future<MarkedBytes> slow = pool.SubmitWith({.timeout = absl::Milliseconds(200)},
                                             &IgnoreSigtermThenEcho, release, mark,
                                             PatternBytes(2 << 20, 5));
  pid_t slow_pid = 0;
  try {
    slow.Result(kBound);
    FAIL() << "no timeout";
  } catch (const TaskTimeoutError& error) {
    slow_pid = error.pid();
  }
  struct KillOnExit {  // on every way out
    pid_t pid;
    ~KillOnExit() {
      if (pid > 0) kill(pid, SIGKILL);
    }
  } end_slow{slow_pid};
  // The replacement worker waits for `go`; the big calls wait behind it, their arguments in
  // call slots (and on the heap once both are taken).
  Future<int> gate = pool.Submit(&WaitForFile, go, 1);
  std::vector<std::vector<std::uint8_t>> inputs;
  std::vector<Future<std::int64_t>> sums;
  for (int i = 0; i < 2; ++i) {
    inputs.push_back(PatternBytes((2 << 20) + 8 * i, 11 + i));
    sums.push_back(pool.Submit(&SumBytes, inputs.back()));
  }
  // The timed-out worker writes its 2 MiB result now, then says so.
  MarkedBytes::CreateMark(release);
  for (int i = 0; i < 6000 && access(mark.c_str(), F_OK) != 0; ++i) usleep(10'000);
  ASSERT_EQ(access(mark.c_str(), F_OK), 0) << "the timed-out worker did not write its result";
  MarkedBytes::CreateMark(go);
  EXPECT_EQ(gate.Result(kBound), 1);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(sums[i].Exception(kBound), nullptr) << i;
    if (sums[i].Exception(kBound) == nullptr) {
      EXPECT_EQ(sums[i].Result(kBound), SumOf(inputs[i])) << i;
    }
  }
  kill(slow_pid, SIGKILL);
  bool all_free = false;
  for (int i = 0; i < 1000 && !all_free; ++i) {
    all_free = true;
    for (int slot = 0; slot < internal::CallPayloadAllocator::kSlots; ++slot) {
      all_free = all_free && !internal::CallPayloadAllocator::Get()->IsLent(slot);
    }
    if (!all_free) usleep(10'000);
  }
  EXPECT_TRUE(all_free) << "a call slot stayed lent after its worker died";
  const std::vector<std::uint8_t> after = PatternBytes(3 << 20, 17);
  EXPECT_EQ(pool.Submit(&SumBytes, after).Result(kBound), SumOf(after));
  for (const std::string& path : {release, mark, go}) std::remove(path.c_str());
}

// The fork server dies (a task kills it; its workers die with it): under kFailTask the running
// call fails with WorkerDiedError, the calls waiting behind it run, and the pool starts a new
// server for its next workers. Python's pool also starts a new fork server when its old one
// is gone.
TEST_P(SurvivalTest, ADeadForkServerIsReplaced) {
  if (GetParam() != StartMethod::kForkServer) GTEST_SKIP() << "fork server only";
  ProcessPoolExecutor pool(Options(1, WorkerDeath::kFailTask));
  const pid_t first = pool.Submit(&GetPid).Result(kBound);
  Future<int> killer = pool.Submit(&KillParentProcess, 0);
  std::vector<Future<int>> after;
  for (int i = 0; i < 4; ++i) after.push_back(pool.Submit(&Identity, i));
  std::exception_ptr e = ErrorOf(killer);
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const WorkerDiedError& error) {
    EXPECT_EQ(error.pid(), first);
    EXPECT_THAT(error.what(), HasSubstr("fork server"));
  } catch (const std::exception& other) {
    FAIL() << "not a WorkerDiedError: " << other.what();
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(after[i].Result(kBound), i);
  EXPECT_NE(pool.Submit(&GetPid).Result(kBound), first);
  EXPECT_GE(pool.stats().worker_restarts, 1);
}

// Under kBreakPool the same death breaks the pool, saying the fork server died.
TEST_P(SurvivalTest, ADeadForkServerBreaksAPoolThatBreaksOnDeaths) {
  if (GetParam() != StartMethod::kForkServer) GTEST_SKIP() << "fork server only";
  ProcessPoolExecutor pool(Options(1));
  std::exception_ptr e = ErrorOf(pool.Submit(&KillParentProcess, 0));
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const BrokenProcessPool& error) {
    EXPECT_THAT(error.what(), HasSubstr("fork server"));
  } catch (const std::exception& other) {
    FAIL() << "not a BrokenProcessPool: " << other.what();
  }
  EXPECT_THROW(pool.Submit(&Identity, 1), BrokenProcessPool);
}

TEST_P(SurvivalTest, RetriesRunOut) {
  ProcessPoolExecutor::Options options = Options(1, WorkerDeath::kRetryTask);
  options.max_retries = 2;
  ProcessPoolExecutor pool(options);
  Future<int> f = pool.Submit(&KillOwnWorker, 0);
  std::exception_ptr e = ErrorOf(f);
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const WorkerDiedError& error) {
    EXPECT_EQ(error.deaths(), 3);
    EXPECT_EQ(error.signal(), SIGKILL);
    EXPECT_THAT(error.what(), HasSubstr("3 times"));
  } catch (const std::exception& other) {
    FAIL() << "not a WorkerDiedError: " << other.what();
  }
  EXPECT_EQ(pool.Submit(&Identity, 1).Result(kBound), 1);
}

TEST_P(SurvivalTest, AnExceptionIsNeverRetried) {
  ProcessPoolExecutor pool(Options(1, WorkerDeath::kRetryTask));
  const pid_t worker = pool.Submit(&GetPid).Result(kBound);
  EXPECT_THROW(pool.Submit(&ThrowRuntimeError, std::string("once")).Result(kBound),
               std::runtime_error);
  EXPECT_EQ(pool.Submit(&GetPid).Result(kBound), worker);  // the same worker: nothing died
  EXPECT_EQ(pool.stats().worker_restarts, 0);
}

TEST_P(SurvivalTest, ACrashInsideAMapChunkFailsThatChunk) {
  ProcessPoolExecutor pool(Options(2, WorkerDeath::kFailTask));
  std::vector<int> inputs;
  for (int i = 0; i < 20; ++i) inputs.push_back(i);
  std::vector<int> seen;
  auto results = pool.Map(&KillWorkerOnSeven, inputs, {.timeout = kBound, .chunksize = 5});
  EXPECT_THROW(
      {
        for (int v : results) seen.push_back(v);
      },
      WorkerDiedError);
  EXPECT_EQ(seen, (std::vector<int>{0, 10, 20, 30, 40}));
  EXPECT_EQ(pool.Submit(&Identity, 8).Result(kBound), 8);
}

TEST_P(SurvivalTest, AFailingInitializerBreaksThePoolWhateverThePolicy) {
  ProcessPoolExecutor::Options options = Options(2, WorkerDeath::kRetryTask);
  options.initializer = TaskCall(&FailingInitializer, std::string("no luck"));
  ProcessPoolExecutor pool(options);
  Future<int> f = pool.Submit(&Identity, 1);
  EXPECT_THROW(f.Result(kBound), BrokenProcessPool);
  EXPECT_THROW(pool.Submit(&Identity, 2), BrokenProcessPool);
  EXPECT_LE(pool.stats().worker_restarts, 2);
}

TEST_P(SurvivalTest, BreakPoolStaysTheDefault) {
  ProcessPoolExecutor pool(Options(1));
  Future<int> f = pool.Submit(&KillOwnWorker, 0);
  std::exception_ptr e = ErrorOf(f);
  ASSERT_NE(e, nullptr);
  EXPECT_THROW(std::rethrow_exception(e), BrokenProcessPool);
  try {
    std::rethrow_exception(e);
  } catch (const WorkerDiedError&) {
    FAIL() << "kBreakPool fails futures with plain BrokenProcessPool";
  } catch (...) {
  }
  EXPECT_THROW(pool.Submit(&Identity, 1), BrokenProcessPool);
}

// --- Shutdown with a deadline ---

TEST_P(SurvivalTest, ShutdownDeadlineWithAHungTask) {
  ProcessPoolExecutor pool(Options(1));
  SocketGate gate;
  Future<int> hung = pool.Submit(&SocketGate::Pass, gate.id(), 1);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  const absl::Time start = absl::Now();
  EXPECT_FALSE(pool.Shutdown({.wait = true, .timeout = absl::Milliseconds(200)}));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(190));
  EXPECT_FALSE(hung.Done());
  EXPECT_FALSE(pool.AwaitTermination(absl::Milliseconds(50)));
  EXPECT_FALSE(pool.Shutdown(
      {.timeout = absl::Milliseconds(50), .on_timeout = ShutdownTimeoutAction::kKill}));
  EXPECT_THROW(hung.Result(kBound), BrokenProcessPool);
  EXPECT_TRUE(pool.AwaitTermination(absl::ZeroDuration()));
  EXPECT_TRUE(pool.worker_pids().empty());
}

TEST_P(SurvivalTest, ShutdownDeadlineWithAStoppedWorker) {
  ProcessPoolExecutor pool(Options(1, WorkerDeath::kRetryTask));
  SocketGate gate;
  Future<int> f = pool.Submit(&GetPidAfterGate, gate.id(), 0);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  const pid_t worker = pool.worker_pids().at(0);
  ASSERT_EQ(kill(worker, SIGSTOP), 0);
  gate.Open();
  EXPECT_FALSE(pool.Shutdown({.wait = true,
                              .timeout = absl::Milliseconds(200),
                              .on_timeout = ShutdownOptions::kTerminate}));
  // Ended by Shutdown: a broken pool's error, never a retry.
  EXPECT_THROW(f.Result(kBound), BrokenProcessPool);
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(worker); }));
}

TEST_P(SurvivalTest, ShutdownWithoutWaitingThenAwaitTermination) {
  ProcessPoolExecutor pool(Options(2));
  Future<int> f = pool.Submit(&SleepMs, 100);
  EXPECT_FALSE(pool.Shutdown({.wait = false}));
  EXPECT_TRUE(pool.AwaitTermination(kBound));
  EXPECT_EQ(f.Result(absl::ZeroDuration()), 100);
  EXPECT_TRUE(pool.Shutdown({.wait = true, .timeout = absl::ZeroDuration()}));
}

TEST_P(SurvivalTest, AwaitTerminationBeforeShutdownTimesOut) {
  ProcessPoolExecutor pool(Options(1));
  EXPECT_EQ(pool.Submit(&Identity, 1).Result(kBound), 1);
  EXPECT_FALSE(pool.AwaitTermination(absl::Milliseconds(20)));
  EXPECT_TRUE(pool.Shutdown({.timeout = kBound}));
  EXPECT_TRUE(pool.AwaitTermination(absl::ZeroDuration()));
}

// --- Statistics ---

TEST_P(SurvivalTest, StatsAddUpAtRest) {
  ProcessPoolExecutor pool(Options(1, WorkerDeath::kFailTask));
  SocketGate gate;
  Future<int> blocker = pool.Submit(&SocketGate::Pass, gate.id(), 1);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  std::vector<Future<int>> queued;
  for (int i = 0; i < 200; ++i) queued.push_back(pool.Submit(&Identity, i));
  ExecutorStats busy = pool.stats();
  EXPECT_EQ(busy.submitted, 201);
  EXPECT_EQ(busy.workers, 1);
  EXPECT_EQ(busy.busy_workers, 1);
  EXPECT_EQ(busy.idle_workers, 0);
  EXPECT_EQ(busy.queued, 200);
  int cancelled = 0;
  for (int i = 100; i < 200; ++i) cancelled += queued[i].Cancel() ? 1 : 0;
  EXPECT_EQ(pool.stats().cancelled, cancelled);
  gate.Open();
  Future<int> failing = pool.Submit(&ThrowRuntimeError, std::string("x"));
  Future<int> dying = pool.Submit(&KillOwnWorker, 0);
  EXPECT_THROW(failing.Result(kBound), std::runtime_error);
  EXPECT_THROW(dying.Result(kBound), WorkerDiedError);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(queued[i].Result(kBound), i);
  const ExecutorStats rest = pool.stats();
  EXPECT_EQ(rest.submitted, 203);
  EXPECT_EQ(rest.submitted, rest.completed + rest.failed + rest.cancelled);
  EXPECT_EQ(rest.completed, 101);
  EXPECT_EQ(rest.failed, 2);
  EXPECT_EQ(rest.queued, 0);
  EXPECT_EQ(rest.busy_workers, 0);
}

// Shutdown(cancel_futures) cancels queued calls outside its locks: their done-callbacks may use
// the pool. (It used to cancel under the submit lock: a callback calling Submit deadlocked.)
TEST_P(SurvivalTest, CallbacksOfCallsCancelledByShutdownMayUseThePool) {
  ProcessPoolExecutor pool(Options(1));
  SocketGate gate;
  Future<int> blocker = pool.Submit(&SocketGate::Pass, gate.id(), 1);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  std::vector<Future<int>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(pool.Submit(&Identity, i));
  std::atomic<int> refused{0};
  std::atomic<int64_t> cancelled_seen{0};
  for (Future<int>& f : queued) {
    f.AddDoneCallback([&](const Future<int>&) {
      cancelled_seen.store(pool.stats().cancelled);
      try {
        pool.Submit(&Identity, 0);
      } catch (const ShutdownError&) {
        refused.fetch_add(1);
      }
    });
  }
  pool.Shutdown(/*wait=*/false, /*cancel_futures=*/true);
  EXPECT_EQ(refused.load(), 3);
  EXPECT_GE(cancelled_seen.load(), 1);
  for (Future<int>& f : queued) EXPECT_TRUE(f.Cancelled());
  gate.Open();
  EXPECT_EQ(blocker.Result(kBound), 1);
}

// A done-callback runs on the manager's thread, which cannot end while it runs: waiting there
// would only run out the timeout. Both answer at once.
TEST_P(SurvivalTest, ShutdownAndAwaitTerminationFromADoneCallbackDoNotWait) {
  ProcessPoolExecutor pool(Options(1));
  absl::Duration took = absl::InfiniteDuration();
  bool awaited = true;
  bool shut_down = true;
  Future<int> f = pool.Submit(&Identity, 1);
  Future<int> g = f.Then([&](const Future<int>&) {
    const absl::Time start = absl::Now();
    awaited = pool.AwaitTermination(kBound);
    shut_down = pool.Shutdown({.wait = true, .timeout = kBound});
    took = absl::Now() - start;
    return 0;
  });
  EXPECT_EQ(g.Result(kBound), 0);
  EXPECT_LT(took, absl::Seconds(10));
  EXPECT_FALSE(awaited);  // not even shut down then
  EXPECT_TRUE(shut_down);  // every call had ended: the callback's own is counted first
  EXPECT_TRUE(pool.AwaitTermination(kBound));
}

TEST_P(SurvivalTest, StatsFromADoneCallback) {
  ProcessPoolExecutor pool(Options(1));
  Future<int> f = pool.Submit(&Identity, 1);
  Future<int64_t> seen = f.Then([&pool](const Future<int>&) { return pool.stats().submitted; });
  EXPECT_EQ(seen.Result(kBound), 1);
}

}  // namespace
}  // namespace cf::testing
