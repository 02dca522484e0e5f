// MpiPoolExecutor's tests. One binary, run three ways by tests/mpi/BUILD.bazel (each through
// run_mpi.sh, which bounds it in time):
//   World*    mpirun --oversubscribe -np 3: rank 0 runs the tests, ranks 1 and 2 serve
//   OneRank*  mpirun -np 1: a job of one rank, whose calls run on rank 0 itself
//   Spawn*    no mpirun (a singleton): the dynamic route, spawning 2 workers
// main() calls cf::InitMpiPool first, so only rank 0 runs GoogleTest (and writes its output
// and XML); the other ranks serve calls and exit when rank 0 exits. Every wait is bounded.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "cf/mpi/mpi_pool_executor.h"
#include "gtest/gtest.h"
#include "tests/mpi/mpi_tasks.h"

namespace cf {
namespace {

using mpi_test::Echo;
using mpi_test::FailInit;
using mpi_test::ForkAndReturn;
using mpi_test::Greeting;
using mpi_test::KillSelf;
using mpi_test::Noop;
using mpi_test::Pid;
using mpi_test::PidAtRendezvous;
using mpi_test::SetGreeting;
using mpi_test::SleepMs;
using mpi_test::Square;
using mpi_test::ThrowOutOfRange;
using mpi_test::ThrowUnregistered;

constexpr absl::Duration kBound = absl::Seconds(60);

// A new empty folder for PidAtRendezvous / Greeting (every rank runs on this host).
std::string RendezvousFolder() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/cf-rendezvous.XXXXXX");
  return mkdtemp(path.data()) != nullptr ? path : std::string("/nonexistent");
}

std::vector<int> Iota(int n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// The threads of this process, other than the calling one, with SIGPIPE not blocked, as
// "tid name" (from /proc/self/task/*/status). cf's MPI threads block it, and Open MPI's own
// threads inherit that (mpi_runtime.h): a write to a dead worker's socket must not end the
// program.
std::vector<std::string> OtherThreadsWithSigpipeUnblocked() {
  std::vector<std::string> open;
  const std::string me = std::to_string(gettid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    const std::string tid = entry.path().filename();
    if (tid == me) continue;
    std::ifstream status(entry.path() / "status");
    std::string line, name;
    bool blocked = true;  // a thread that ended meanwhile has no status left to read
    while (std::getline(status, line)) {
      if (line.rfind("Name:", 0) == 0) name = line.substr(5);
      if (line.rfind("SigBlk:", 0) == 0) {
        blocked = (std::stoull(line.substr(7), nullptr, 16) >> (SIGPIPE - 1)) & 1;
      }
    }
    if (!blocked) open.push_back(tid + name);
  }
  return open;
}

bool SigpipeBlockedInThisThread() {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, SIGPIPE) == 1;
}

// Submit, Map and exceptions: the same checks for every route.
void CheckBasics(MpiPoolExecutor& pool) {
  EXPECT_EQ(pool.Submit(&Square, 7).Result(kBound), 49);
  EXPECT_EQ(pool.Submit(&Echo, std::string("héllo")).Result(kBound), "héllo");
  pool.Submit(&Noop).Result(kBound);
  std::vector<int> got;
  for (int v : pool.Map(&Square, Iota(1000), {.timeout = kBound, .chunksize = 7})) {
    got.push_back(v);
  }
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(got[i], i * i) << i;
  EXPECT_THROW(pool.Submit(&ThrowOutOfRange, 3).Result(kBound), std::out_of_range);
  try {
    pool.Submit(&ThrowUnregistered, 4).Result(kBound);
    ADD_FAILURE() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.type_name()).find("ParseTrouble"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad input 4"), std::string::npos);
  }
}

TEST(WorldTest, SubmitMapAndExceptionsCrossRanks) {
  MpiPoolExecutor pool;
  EXPECT_EQ(pool.workers(), MpiWorkers::kWorld);
  EXPECT_EQ(pool.max_workers(), 2);
  CheckBasics(pool);
}

TEST(WorldTest, CallsRunOnTheOtherRanks) {
  MpiPoolExecutor pool({.calls_per_worker = 1});
  // Two calls that only return together, one call per rank at a time: one on each rank.
  const std::string rendezvous = RendezvousFolder();
  std::vector<Future<std::int64_t>> pids;
  for (int i = 0; i < 2; ++i) pids.push_back(pool.Submit(&PidAtRendezvous, rendezvous));
  std::set<std::int64_t> seen;
  for (auto& f : pids) seen.insert(f.Result(kBound));
  EXPECT_EQ(seen.count(getpid()), 0u);
  EXPECT_EQ(seen.size(), 2u);
}

TEST(WorldTest, MapKeepsOrderWithBigChunksAndBuffersize) {
  MpiPoolExecutor pool;
  std::int64_t sum = 0;
  int count = 0;
  for (int v : pool.Map(&Square, Iota(10000),
                        {.timeout = kBound, .chunksize = 1000, .buffersize = 2})) {
    EXPECT_EQ(v, count * count);
    sum += v;
    ++count;
  }
  EXPECT_EQ(count, 10000);
  // Chunks that do not divide the input.
  std::vector<int> odd;
  for (int v : pool.Map(&Square, Iota(10), {.timeout = kBound, .chunksize = 3})) odd.push_back(v);
  EXPECT_EQ(odd, (std::vector<int>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81}));
  // Python's map(fn, a, b): zipped, up to the shortest.
  std::vector<int> products;
  for (int v : pool.Map(&mpi_test::Mul, Iota(5), std::vector<int>{10, 20, 30},
                        MapOptions{.timeout = kBound})) {
    products.push_back(v);
  }
  EXPECT_EQ(products, (std::vector<int>{0, 20, 60}));
}

TEST(WorldTest, MapTimeoutThrowsAndCancelsTheRest) {
  MpiPoolExecutor pool({.calls_per_worker = 1});
  const absl::Time start = absl::Now();
  auto results = pool.Map(&SleepMs, std::vector<int>(6, 400),
                          {.timeout = absl::Milliseconds(100)});
  EXPECT_THROW(
      {
        for (int v : results) (void)v;
      },
      TimeoutError);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(WorldTest, MapExceptionAtItsPosition) {
  MpiPoolExecutor pool;
  auto results = pool.Map(&ThrowOutOfRange, Iota(3), {.timeout = kBound});
  EXPECT_THROW(results.begin(), std::out_of_range);
}

TEST(WorldTest, QueuedCallsCanBeCancelled) {
  MpiPoolExecutor pool({.calls_per_worker = 1});
  auto a = pool.Submit(&SleepMs, 500);
  auto b = pool.Submit(&SleepMs, 500);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(pool.Submit(&Square, i));
  for (auto& f : queued) EXPECT_TRUE(f.Cancel());
  EXPECT_EQ(a.Result(kBound), 500);
  EXPECT_EQ(b.Result(kBound), 500);
  for (auto& f : queued) {
    EXPECT_TRUE(f.Cancelled());
    EXPECT_THROW(f.Result(kBound), CancelledError);
  }
  // The ranks still serve after the cancelled calls.
  EXPECT_EQ(pool.Submit(&Square, 5).Result(kBound), 25);
}

TEST(WorldTest, ShutdownCancelFuturesCancelsTheQueue) {
  MpiPoolExecutor pool({.calls_per_worker = 1});
  auto a = pool.Submit(&SleepMs, 300);
  auto b = pool.Submit(&SleepMs, 300);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(pool.Submit(&Square, i));
  pool.Shutdown(/*wait=*/true, /*cancel_futures=*/true);
  EXPECT_TRUE(a.Done());
  EXPECT_TRUE(b.Done());
  for (auto& f : queued) EXPECT_TRUE(f.Cancelled());
  EXPECT_THROW(pool.Submit(&Square, 1), ShutdownError);
}

// Polls stats() until ready(s) holds (bounded).
template <typename Ready>
ExecutorStats AwaitStats(const MpiPoolExecutor& pool, Ready ready) {
  const absl::Time deadline = absl::Now() + kBound;
  ExecutorStats s = pool.stats();
  while (!ready(s) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
    s = pool.stats();
  }
  return s;
}

TEST(WorldTest, StatsCountCallsAndShutdownHasADeadline) {
  MpiPoolExecutor pool({.calls_per_worker = 1});
  ExecutorStats s = pool.stats();
  EXPECT_EQ(s.workers, 2);
  EXPECT_EQ(s.idle_workers, 2);
  EXPECT_EQ(s.submitted, 0);
  auto a = pool.Submit(&SleepMs, 400);
  auto b = pool.Submit(&SleepMs, 400);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(pool.Submit(&Square, i));
  s = AwaitStats(pool, [](const ExecutorStats& s) { return s.busy_workers == 2; });
  EXPECT_EQ(s.busy_workers, 2);
  EXPECT_EQ(s.idle_workers, 0);
  EXPECT_EQ(s.queued, 3);  // one call per rank at a time: the rest wait on rank 0
  EXPECT_EQ(s.submitted, 5);
  // The calls outlast the deadline: false, and (kReturn) they go on.
  EXPECT_FALSE(pool.Shutdown({.wait = true, .timeout = absl::Milliseconds(20)}));
  EXPECT_THROW(pool.Submit(&Square, 1), ShutdownError);
  EXPECT_TRUE(pool.AwaitTermination(kBound));
  EXPECT_EQ(a.Result(absl::ZeroDuration()), 400);
  EXPECT_EQ(b.Result(absl::ZeroDuration()), 400);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(queued[i].Result(absl::ZeroDuration()), i * i);
  s = pool.stats();
  EXPECT_EQ(s.submitted, 5);
  EXPECT_EQ(s.completed, 5);
  EXPECT_EQ(s.failed + s.cancelled + s.queued, 0);
  EXPECT_TRUE(pool.Shutdown({.wait = true, .timeout = kBound}));
}

TEST(WorldTest, StatsCountFailuresAndCancellations) {
  MpiPoolExecutor pool({.calls_per_worker = 1});
  auto a = pool.Submit(&SleepMs, 200);
  auto b = pool.Submit(&SleepMs, 200);
  auto c = pool.Submit(&Square, 3);
  EXPECT_TRUE(c.Cancel());
  EXPECT_THROW(pool.Submit(&ThrowOutOfRange, 1).Result(kBound), std::out_of_range);
  EXPECT_TRUE(pool.Shutdown({.wait = true, .timeout = kBound}));
  const ExecutorStats s = pool.stats();
  EXPECT_EQ(s.submitted, 4);
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.cancelled, 1);
}

// The greetings the pool's two workers answer with ("<greeting>@<pid>"), each expected to be
// `want`: two calls that only return together, so one on each worker.
void ExpectEveryWorkerGreets(MpiPoolExecutor& pool, const std::string& want) {
  const std::string rendezvous = RendezvousFolder();
  std::vector<Future<std::string>> greetings;
  for (int i = 0; i < 2; ++i) greetings.push_back(pool.Submit(&Greeting, rendezvous));
  std::set<std::string> seen;
  for (auto& g : greetings) seen.insert(g.Result(kBound));
  EXPECT_EQ(seen.size(), 2u);
  for (const std::string& g : seen) EXPECT_EQ(g.substr(0, g.find('@')), want) << g;
}

TEST(WorldTest, AnInitializerRunsOnEveryRankFirst) {
  {
    MpiPoolExecutor pool(
        {.calls_per_worker = 1, .initializer = TaskCall(&SetGreeting, std::string("hi"))});
    ExpectEveryWorkerGreets(pool, "hi");
  }
  // The next executor's initializer runs again on the same ranks.
  MpiPoolExecutor pool(
      {.calls_per_worker = 1, .initializer = TaskCall(&SetGreeting, std::string("again"))});
  ExpectEveryWorkerGreets(pool, "again");
}

TEST(WorldTest, AFailingInitializerBreaksThatExecutorOnly) {
  {
    MpiPoolExecutor pool({.initializer = TaskCall(&FailInit, std::string("no config"))});
    try {
      pool.Submit(&Square, 2);
      ADD_FAILURE() << "Submit on a pool whose initializer failed";
    } catch (const BrokenProcessPool& e) {
      EXPECT_NE(std::string(e.what()).find("initializer failed on MPI rank"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("no config"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(pool.Shutdown({.wait = true, .timeout = kBound}));
  }
  MpiPoolExecutor next;  // the ranks were released in step
  EXPECT_EQ(next.Submit(&Square, 3).Result(kBound), 9);
}

TEST(WorldTest, ATaskThatForksAndReturnsTwiceIsAnsweredOnce) {
  MpiPoolExecutor pool;
  std::vector<Future<int>> forked;
  for (int i = 0; i < 4; ++i) forked.push_back(pool.Submit(&ForkAndReturn, i));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(forked[i].Result(kBound), i);
  CheckBasics(pool);  // the children took no call and sent nothing
}

TEST(WorldTest, MpiThreadsBlockSigpipeAndTheCallerKeepsItsMask) {
  MpiPoolExecutor pool;
  EXPECT_EQ(pool.Submit(&Square, 3).Result(kBound), 9);
  EXPECT_FALSE(SigpipeBlockedInThisThread()) << "InitMpiPool's caller must get its mask back";
  const std::vector<std::string> open = OtherThreadsWithSigpipeUnblocked();
  EXPECT_TRUE(open.empty()) << "SIGPIPE not blocked in: " << absl::StrJoin(open, ", ");
}

TEST(WorldTest, ShutdownWaitsForEveryCall) {
  std::vector<Future<int>> futures;
  {
    MpiPoolExecutor pool;
    for (int i = 0; i < 20; ++i) futures.push_back(pool.Submit(&SleepMs, 10));
  }  // the destructor is Shutdown(true)
  for (auto& f : futures) {
    EXPECT_TRUE(f.Done());
    EXPECT_EQ(f.Result(absl::ZeroDuration()), 10);
  }
}

TEST(WorldTest, ExecutorsTakeTurnsOnTheRanks) {
  for (int round = 0; round < 3; ++round) {
    MpiPoolExecutor pool(round + 1 > 2 ? 2 : round + 1);
    EXPECT_EQ(pool.Submit(&Square, round).Result(kBound), round * round);
  }
}

TEST(WorldTest, FuturesComposeWithWaitAndCallbacks) {
  MpiPoolExecutor pool;
  std::vector<Future<int>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(pool.Submit(&Square, i));
  auto done = Wait(futures, kBound);
  EXPECT_EQ(done.done.size(), 10u);
  absl::Notification called;
  futures[3].AddDoneCallback([&](const Future<int>& f) {
    EXPECT_EQ(f.Result(absl::ZeroDuration()), 9);
    called.Notify();
  });
  EXPECT_TRUE(called.WaitForNotificationWithTimeout(kBound));
}

TEST(WorldTest, BadUsesFailClearly) {
  EXPECT_THROW(MpiPoolExecutor(5), std::invalid_argument);  // only 2 other ranks
  MpiPoolExecutor pool;
  EXPECT_THROW(pool.Submit(&mpi_test::NotRegistered, 1), std::invalid_argument);
  EXPECT_THROW(pool.Map(&Square, Iota(3), {.chunk_timeout = absl::Seconds(1)}),
               std::invalid_argument);
}

TEST(OneRankTest, CallsRunLocally) {
  MpiPoolExecutor pool;
  EXPECT_EQ(pool.workers(), MpiWorkers::kSpawn);  // kAuto in a job of one rank: spawn
  pool.Shutdown();
  MpiPoolExecutor local({.workers = MpiWorkers::kWorld});
  EXPECT_EQ(local.max_workers(), 1);
  EXPECT_EQ(local.Submit(&Pid).Result(kBound), getpid());
  CheckBasics(local);
}

TEST(OneRankTest, AnInitializerRunsOnRankZero) {
  MpiPoolExecutor pool({.workers = MpiWorkers::kWorld,
                        .initializer = TaskCall(&SetGreeting, std::string("local"))});
  EXPECT_EQ(pool.Submit(&Greeting, std::string()).Result(kBound),
            absl::StrCat("local@", getpid()));
  MpiPoolExecutor failing(
      {.workers = MpiWorkers::kWorld, .initializer = TaskCall(&FailInit, std::string("bad"))});
  EXPECT_THROW(failing.Submit(&Square, 1), BrokenProcessPool);
}

// Run only by mpi_job_test, under mpirun: a worker rank dies; Open MPI aborts the job.

TEST(WorldKillTest, AKilledRankAbortsTheJob) {
  MpiPoolExecutor pool;
  auto slow = pool.Submit(&SleepMs, 30000);
  auto killed = pool.Submit(&KillSelf, 1);
  killed.Wait(kBound);  // mpirun ends this process first
  ADD_FAILURE() << "still running after a worker rank died";
}

bool Gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

// Every one of `pids` ends within 20 s.
void ExpectGone(const std::vector<pid_t>& pids) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (pid_t pid : pids) {
    while (!Gone(pid) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
    EXPECT_TRUE(Gone(pid)) << pid;
  }
}

// Spawning is slow and, with Debian's Open MPI 4.1.4 and PMIx 4, now and then hangs inside
// MPI_Comm_spawn (docs/mpi.md): these tests spawn as few times as they can.
TEST(SpawnTest, SpawnsTwoWorkersAndEndsThem) {
  std::vector<pid_t> pids;
  {
    MpiPoolExecutor pool({.max_workers = 2,
                          .workers = MpiWorkers::kSpawn,
                          .calls_per_worker = 1,
                          .initializer = TaskCall(&SetGreeting, std::string("spawned"))});
    ExpectEveryWorkerGreets(pool, "spawned");
    EXPECT_EQ(pool.workers(), MpiWorkers::kSpawn);
    EXPECT_EQ(pool.max_workers(), 2);
    pids = pool.worker_pids();
    ASSERT_EQ(pids.size(), 2u);
    CheckBasics(pool);
    // Two calls that only return together: one on each worker (this used to be eight quick
    // calls between slow ones, which one worker could all win under load).
    const std::string rendezvous = RendezvousFolder();
    std::set<std::int64_t> seen;
    std::vector<Future<std::int64_t>> ran;
    for (int i = 0; i < 2; ++i) ran.push_back(pool.Submit(&PidAtRendezvous, rendezvous));
    for (auto& f : ran) seen.insert(f.Result(kBound));
    EXPECT_EQ(seen, std::set<std::int64_t>(pids.begin(), pids.end()));
  }
  ExpectGone(pids);
}

TEST(SpawnTest, MpiThreadsBlockSigpipeAndTheCallerKeepsItsMask) {
  MpiPoolExecutor pool({.max_workers = 2, .workers = MpiWorkers::kSpawn});
  EXPECT_EQ(pool.Submit(&Square, 3).Result(kBound), 9);
  EXPECT_FALSE(SigpipeBlockedInThisThread()) << "InitMpiPool's caller must get its mask back";
  const std::vector<std::string> open = OtherThreadsWithSigpipeUnblocked();
  EXPECT_TRUE(open.empty()) << "SIGPIPE not blocked in: " << absl::StrJoin(open, ", ");
}

TEST(SpawnTest, AWorkerBinary) {
  const char* worker = std::getenv("CF_MPI_WORKER");
  ASSERT_NE(worker, nullptr) << "run by //tests/mpi:mpi_spawn_test";
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(worker, resolved), nullptr) << worker;
  MpiPoolExecutor pool(
      {.max_workers = 2, .workers = MpiWorkers::kSpawn, .worker_binary = resolved});
  EXPECT_EQ(pool.worker_pids().size(), 2u);
  CheckBasics(pool);
}

TEST(SpawnTest, AFailingInitializerReleasesTheSpawnedWorkers) {
  std::vector<pid_t> pids;
  {
    MpiPoolExecutor pool({.max_workers = 2,
                          .workers = MpiWorkers::kSpawn,
                          .initializer = TaskCall(&FailInit, std::string("nope"))});
    pids = pool.worker_pids();
    EXPECT_THROW(pool.Submit(&Square, 1), BrokenProcessPool);
  }
  ExpectGone(pids);
}

// Its own process (//tests/mpi:mpi_spawn_kill_test): ending spawned workers leaves Open MPI
// unusable for more spawning in that process.
TEST(SpawnKillTest, ShutdownWithKillEndsTheSpawnedWorkers) {
  MpiPoolExecutor pool({.max_workers = 2, .workers = MpiWorkers::kSpawn});
  const std::vector<pid_t> pids = pool.worker_pids();
  auto slow = pool.Submit(&SleepMs, 30000);
  auto slower = pool.Submit(&SleepMs, 30000);
  AwaitStats(pool, [](const ExecutorStats& s) { return s.busy_workers == 2; });
  const absl::Time start = absl::Now();
  EXPECT_FALSE(pool.Shutdown({.wait = true,
                              .timeout = absl::Milliseconds(100),
                              .on_timeout = ShutdownOptions::kKill}));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  EXPECT_THROW(slow.Result(kBound), BrokenProcessPool);
  EXPECT_THROW(slower.Result(kBound), BrokenProcessPool);
  EXPECT_TRUE(pool.AwaitTermination(kBound));
  ExpectGone(pids);
}

TEST(SpawnTest, AKilledWorkerFailsThePendingFutures) {
  MpiPoolExecutor pool({.max_workers = 2, .workers = MpiWorkers::kSpawn});
  auto slow = pool.Submit(&SleepMs, 30000);
  auto killed = pool.Submit(&KillSelf, 1);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 100; ++i) queued.push_back(pool.Submit(&SleepMs, 100));
  const absl::Time start = absl::Now();
  EXPECT_THROW(killed.Result(kBound), BrokenProcessPool);
  EXPECT_THROW(slow.Result(kBound), BrokenProcessPool);
  for (auto& f : queued) {
    ASSERT_TRUE(f.Wait(kBound));
    EXPECT_FALSE(f.Cancelled());
    EXPECT_NE(f.Exception(absl::ZeroDuration()), nullptr);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  try {
    pool.Submit(&Square, 1);
    ADD_FAILURE() << "Submit on a broken pool";
  } catch (const BrokenProcessPool& e) {
    EXPECT_NE(std::string(e.what()).find("MPI worker rank"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cf

int main(int argc, char** argv) {
  cf::InitMpiPool(&argc, &argv);  // worker ranks serve here and never return
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
