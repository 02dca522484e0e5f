// ProcessPoolExecutor beyond the shared behaviour suite: start methods, max_tasks_per_child,
// the initializer, dead workers (docs/semantics.md §5.5, §5.6, §5.8, §5.9, §5.12), terminate/kill, exceptions
// across processes, big payloads, and that nothing leaks (descriptors, children, threads).
#include "cf/process_pool/process_pool_executor.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "cf/process_pool/internal/spare_fork_server.h"
#include "cf/serialization/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/data_path.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/process_pool/process_pool_traits.h"
#include "tests/process_pool/process_tasks.h"
#include "tests/process_pool/socket_gate.h"

namespace cf::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kBound = absl::Seconds(60);

class ProcessPoolTest : public ::testing::TestWithParam<StartMethod> {
 protected:
  std::unique_ptr<ProcessPoolExecutor> Make(int max_workers, int max_tasks_per_child = 0) {
    return MakeProcessPool(GetParam(), max_workers, max_tasks_per_child);
  }
};

std::string ParamName(const ::testing::TestParamInfo<StartMethod>& info) {
  return MethodName(info.param);
}

#if !CF_TEST_KFORK
// kFork is left out under ASan and TSan: see CF_TEST_KFORK in process_pool_traits.h.
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolTest,
                         ::testing::Values(StartMethod::kSpawn, StartMethod::kForkServer),
                         ParamName);
#else
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolTest,
                         ::testing::Values(StartMethod::kFork, StartMethod::kSpawn,
                                           StartMethod::kForkServer),
                         ParamName);
#endif

template <typename T>
std::string BrokenMessage(const Future<T>& f) {
  try {
    f.Result(kBound);
  } catch (const BrokenProcessPool& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not BrokenProcessPool: ") + e.what();
  }
  return "no exception";
}

// ---- Start methods ----------------------------------------------------------------------------

TEST_P(ProcessPoolTest, RunsInAnotherProcess) {
  auto pool = Make(2);
  EXPECT_EQ(pool->start_method(), GetParam());
  const int pid = pool->Submit(&GetPid).Result(kBound);
  EXPECT_NE(pid, getpid());
  EXPECT_THAT(pool->worker_pids(), ::testing::Contains(pid));
}

TEST(ProcessPoolStartMethodTest, AutoIsForkServerAfterInitProcessPool) {
  // This binary's main() calls cf::InitProcessPool.
  ProcessPoolExecutor pool(1);
  EXPECT_EQ(pool.start_method(), StartMethod::kForkServer);
  EXPECT_NE(pool.Submit(&GetPid).Result(kBound), getpid());
}

TEST(ProcessPoolStartMethodTest, DefaultMaxWorkersIsTheAffinityMask) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  ProcessPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), CPU_COUNT(&set));
}

TEST(ProcessPoolStartMethodTest, InvalidOptions) {
  EXPECT_THROW(ProcessPoolExecutor(0), std::invalid_argument);
  EXPECT_THROW(ProcessPoolExecutor({.max_workers = -1}), std::invalid_argument);
  EXPECT_THROW(ProcessPoolExecutor({.max_workers = 1, .max_tasks_per_child = -1}),
               std::invalid_argument);
}

TEST(ProcessPoolStartMethodTest, UnregisteredFunctionIsRefusedAtSubmit) {
  ProcessPoolExecutor pool(1);
  try {
    pool.Submit(&NotRegistered, 1);
    FAIL() << "an unregistered function was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("CF_TASK"));
  }
  EXPECT_THROW(pool.Map(&NotRegistered, std::vector<int>{1}), std::invalid_argument);
  EXPECT_EQ(pool.Submit(&Mul, 6, 7).Result(kBound), 42);  // the pool is fine
}

TEST(ProcessPoolStartMethodTest, WorkerProgramWithoutInitProcessPoolBreaksThePool) {
  for (StartMethod method : {StartMethod::kSpawn, StartMethod::kForkServer}) {
    for (const char* program : {"CF_NO_INIT_PROGRAM", "CF_NO_INIT_POOL_PROGRAM"}) {
      SCOPED_TRACE(std::string(program) + " " + MethodName(method));
      ProcessPoolExecutor pool({.max_workers = 1,
                                .start_method = method,
                                .worker_binary = DataPath(program)});
      const absl::Time start = absl::Now();
      Future<int> f = pool.Submit(&GetPid);
      const std::string message = BrokenMessage(f);
      EXPECT_THAT(message, HasSubstr("cf::InitProcessPool(argc, argv)"));
      EXPECT_LT(absl::Now() - start, absl::Seconds(15)) << "no hang";
      EXPECT_THROW(pool.Submit(&GetPid), BrokenProcessPool);
    }
  }
}

TEST(ProcessPoolStartMethodTest, DedicatedWorkerBinary) {
  // cf_worker_binary: a separate program runs the tasks (here: the same CF_TASK registrations).
  for (StartMethod method : {StartMethod::kSpawn, StartMethod::kForkServer}) {
    SCOPED_TRACE(MethodName(method));
    ProcessPoolExecutor pool({.max_workers = 2,
                              .start_method = method,
                              .worker_binary = DataPath("CF_TEST_WORKER")});
    const int pid = pool.Submit(&GetPid).Result(kBound);
    EXPECT_NE(pid, getpid());
    std::ifstream exe_name("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    exe_name >> comm;
    EXPECT_EQ(comm, "test_worker");
    EXPECT_EQ(pool.Submit(&Mul, 6, 7).Result(kBound), 42);
  }
}

TEST(ProcessPoolStartMethodTest, MissingWorkerBinaryBreaksThePoolWithItsName) {
  ProcessPoolExecutor pool({.max_workers = 1,
                            .start_method = StartMethod::kSpawn,
                            .worker_binary = "/nonexistent/worker"});
  EXPECT_THAT(BrokenMessage(pool.Submit(&GetPid)), HasSubstr("/nonexistent/worker"));
}

// ---- max_tasks_per_child (test_max_tasks_per_child, test_max_tasks_early_shutdown) -----------

TEST_P(ProcessPoolTest, MaxTasksPerChildReplacesTheWorker) {
  auto pool = Make(1, /*max_tasks_per_child=*/3);
  std::vector<int> pids;
  for (int i = 0; i < 4; ++i) pids.push_back(pool->Submit(&GetPid).Result(kBound));
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[1], pids[2]);
  EXPECT_NE(pids[2], pids[3]);
  EXPECT_EQ(pool->worker_pids().size(), 1u);
}

TEST_P(ProcessPoolTest, MaxTasksPerChildKeepsTheBacklogMoving) {
  auto pool = Make(2, /*max_tasks_per_child=*/1);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(pool->Submit(&GetPid));
  std::set<int> pids;
  for (auto& f : futures) pids.insert(f.Result(kBound));
  EXPECT_EQ(pids.size(), 20u) << "each task ran in a fresh worker";
  EXPECT_LE(pool->worker_pids().size(), 2u);
}

TEST_P(ProcessPoolTest, MaxTasksEarlyShutdown) {
  auto pool = Make(3, /*max_tasks_per_child=*/1);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(pool->Submit(&Mul, i, i));
  pool->Shutdown();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(futures[i].Result(absl::ZeroDuration()), i * i);
}

// ---- Initializer (test_init.py) ---------------------------------------------------------------

TEST_P(ProcessPoolTest, Initializer) {
  ProcessPoolExecutor pool({.max_workers = 2,
                            .start_method = GetParam(),
                            .initializer = TaskCall(&SetInitStatus, "initialized")});
  EXPECT_EQ(pool.Submit(&GetInitStatus).Result(kBound), "initialized");
  EXPECT_EQ(pool.Submit(&GetInitStatus).Result(kBound), "initialized");
}

TEST_P(ProcessPoolTest, FailingInitializerBreaksThePool) {
  ProcessPoolExecutor pool({.max_workers = 2,
                            .start_method = GetParam(),
                            .initializer = TaskCall(&FailingInitializer, "error in initializer")});
  try {
    Future<int> f = pool.Submit(&GetPid);
    const std::string message = BrokenMessage(f);
    EXPECT_THAT(message, HasSubstr("initializer"));
    EXPECT_THAT(message, HasSubstr("error in initializer"));
  } catch (const BrokenExecutor&) {
    // Submit may already see the pool broken.
  }
  EXPECT_THROW(pool.Submit(&GetPid), BrokenExecutor);
}

// ---- Dead workers (test_killed_child, test_deadlock.py) --------------------------------------

TEST_P(ProcessPoolTest, KilledChildBreaksThePool) {
  auto pool = Make(2);
  SocketGate gate;
  Future<int> f = pool->Submit(&SocketGate::Pass, gate.id(), 1);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  const std::vector<pid_t> pids = pool->worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  const absl::Time killed = absl::Now();
  ASSERT_EQ(kill(pids[0], SIGTERM), 0);
  const std::string message = BrokenMessage(f);
  const absl::Duration took = absl::Now() - killed;
  EXPECT_THAT(message, HasSubstr("A process in the process pool was terminated abruptly while "
                                 "the future was running or pending."));
  EXPECT_THAT(message, HasSubstr(std::to_string(pids[0])));
  EXPECT_THAT(message, HasSubstr("signal 15 (SIGTERM)"));
  EXPECT_LT(took, absl::Seconds(5)) << "detected in " << took;
  try {
    pool->Submit(&Pow, 2, 8);
    FAIL() << "Submit on a broken pool";
  } catch (const BrokenProcessPool& e) {
    EXPECT_THAT(e.what(), HasSubstr("A child process terminated abruptly, the process pool is "
                                    "not usable anymore"));
  }
}

TEST_P(ProcessPoolTest, EveryPendingFutureGetsItsOwnBrokenProcessPool) {
  auto pool = Make(1);
  std::vector<Future<int>> futures;
  futures.push_back(pool->Submit(&CrashWithSegfault, 0));
  for (int i = 0; i < 5; ++i) futures.push_back(pool->Submit(&Identity, i));
  std::set<const void*> objects;
  for (auto& f : futures) {
    std::exception_ptr e = f.Exception(kBound);
    ASSERT_NE(e, nullptr);
    try {
      std::rethrow_exception(e);
    } catch (const BrokenProcessPool& b) {
      objects.insert(&b);
      EXPECT_THAT(b.what(), HasSubstr("signal 11 (SIGSEGV)"));
    }
  }
  EXPECT_EQ(objects.size(), futures.size()) << "one exception object per future";
}

TEST_P(ProcessPoolTest, CrashDuringTask) {
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&CrashWithSegfault, 0)), HasSubstr("SIGSEGV"));
}

TEST_P(ProcessPoolTest, ExitDuringTask) {
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&ExitWithCode, 3)), HasSubstr("exit code 3"));
}

TEST_P(ProcessPoolTest, AbortDuringTask) {
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&Abort, 0)), HasSubstr("SIGABRT"));
}

TEST_P(ProcessPoolTest, ErrorDuringTask) {
  auto pool = Make(2);
  EXPECT_THROW(pool->Submit(&ThrowRuntimeError, std::string("x")).Result(kBound),
               std::runtime_error);
}

TEST_P(ProcessPoolTest, ErrorAtTaskEncodingIsRaisedAtSubmit) {
  // test_error_at_task_pickle: the pool is not broken.
  auto pool = Make(2);
  EXPECT_THROW(pool->Submit(&PassHostile, Hostile{/*on_save=*/1, 0}, 0, 0), std::runtime_error);
  EXPECT_EQ(pool->Submit(&Mul, 2, 3).Result(kBound), 6);
}

TEST_P(ProcessPoolTest, ErrorAtTaskDecodingInTheWorkerFailsThatCall) {
  auto pool = Make(2);
  EXPECT_THROW(pool->Submit(&PassHostile, Hostile{0, /*on_load=*/1}, 0, 0).Result(kBound),
               std::runtime_error);
  EXPECT_EQ(pool->Submit(&Mul, 2, 3).Result(kBound), 6) << "the channel stays usable";
}

TEST_P(ProcessPoolTest, CrashAtTaskDecoding) {
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&PassHostile, Hostile{0, /*on_load=*/2}, 0, 0)),
              HasSubstr("SIGSEGV"));
}

TEST_P(ProcessPoolTest, ExitAtTaskDecoding) {
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&PassHostile, Hostile{0, /*on_load=*/3}, 0, 0)),
              HasSubstr("exit code 7"));
}

TEST_P(ProcessPoolTest, ErrorAtResultEncodingFailsThatCall) {
  auto pool = Make(2);
  EXPECT_THROW(pool->Submit(&PassHostile, Hostile{}, /*result_on_save=*/1, 0).Result(kBound),
               std::runtime_error);
  EXPECT_EQ(pool->Submit(&Mul, 2, 3).Result(kBound), 6);
}

TEST_P(ProcessPoolTest, CrashAtResultEncoding) {
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&PassHostile, Hostile{}, /*result_on_save=*/2, 0)),
              HasSubstr("SIGSEGV"));
}

TEST_P(ProcessPoolTest, ExitAtResultEncoding) {
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&PassHostile, Hostile{}, /*result_on_save=*/3, 0)),
              HasSubstr("exit code 7"));
}

TEST_P(ProcessPoolTest, ErrorAtResultDecodingInTheParent) {
  // test_error_during_result_unpickle_in_result_handler: BrokenProcessPool for that future;
  // unlike CPython the stream is intact, so the pool stays usable.
  auto pool = Make(2);
  EXPECT_THAT(BrokenMessage(pool->Submit(&PassHostile, Hostile{}, 0, /*result_on_load=*/1)),
              HasSubstr("could not be decoded in the parent"));
  EXPECT_EQ(pool->Submit(&Mul, 2, 3).Result(kBound), 6);
}

TEST_P(ProcessPoolTest, ShutdownWhileAWorkerCrashes) {
  // test_shutdown_deadlock.
  auto pool = Make(2);
  SocketGate gate;
  Future<int> f = pool->Submit(&CrashAfterGate, gate.id());
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  gate.Open();
  pool->Shutdown(/*wait=*/true);
  EXPECT_THAT(BrokenMessage(f), HasSubstr("SIGSEGV"));
}

TEST_P(ProcessPoolTest, CrashWithBigData) {
  // test_crash_big_data: ten 4 MiB arguments and a crash: BrokenProcessPool, not a deadlock.
  auto pool = Make(2);
  std::vector<std::string> inputs(10, std::string(4 * 1024 * 1024 + 1, 'a'));
  try {
    for (int r : pool->Map(&CrashWithData, inputs)) (void)r;
    FAIL() << "no exception";
  } catch (const BrokenProcessPool& e) {
    EXPECT_THAT(e.what(), HasSubstr("SIGSEGV"));
  }
}

TEST_P(ProcessPoolTest, IdleWorkerDeathWithoutWorkIsRepaired) {
  auto pool = Make(1);
  const int pid = pool->Submit(&GetPid).Result(kBound);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // Nothing was pending: the pool notices the death, reaps the worker without breaking, and
  // starts a new one on demand.
  ASSERT_TRUE(internal::ProcessPoolExecutorPeer::AwaitLiveWorkers(*pool, 0, kBound));
  EXPECT_NE(pool->Submit(&GetPid).Result(kBound), pid);
}

TEST_P(ProcessPoolTest, WorkersDieWithTheirParent) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  // The helper runs a pool in a fork() of this multi-threaded process: under GCC 12's ASan and
  // TSan even malloc is a lock another thread may hold at the fork (see CF_TEST_KFORK).
  GTEST_SKIP() << "forks this multi-threaded test process and allocates in the child";
#endif
  // A helper process (forked from this one) builds a pool whose worker then blocks inside a
  // task, on a gate this test process serves and never opens in time. The helper is SIGKILLed:
  // the busy worker does not read its pipe, so only PR_SET_PDEATHSIG (for the fork server:
  // through the server) can end it within the bound.
  SocketGate gate;
  int report[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  const StartMethod method = GetParam();
  const pid_t helper = fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    close(report[0]);
    try {
      auto pool = MakeProcessPool(method, 1);
      const int worker = pool->Submit(&GetPid).Result(kBound);
      Future<int> blocked = pool->Submit(&SocketGate::Pass, gate.id(), 0);
      (void)!write(report[1], &worker, sizeof(worker));
      pause();  // until killed
    } catch (...) {
    }
    _exit(1);
  }
  close(report[1]);
  int worker = -1;
  pollfd ready{report[0], POLLIN, 0};
  const bool got = poll(&ready, 1, static_cast<int>(absl::ToInt64Milliseconds(kBound))) == 1 &&
                   read(report[0], &worker, sizeof(worker)) == sizeof(worker);
  close(report[0]);
  if (!got || !gate.AwaitArrivals(1, kBound)) {
    kill(helper, SIGKILL);
    waitpid(helper, nullptr, 0);
    FAIL() << "the helper's worker never reached the gate";
  }
  const int worker_fd = static_cast<int>(syscall(SYS_pidfd_open, worker, 0));
  ASSERT_GE(worker_fd, 0) << "worker " << worker << " is already gone";
  ASSERT_EQ(kill(helper, SIGKILL), 0);
  ASSERT_EQ(waitpid(helper, nullptr, 0), helper);
  // The gate releases its tasks after 60 s; the worker must be gone long before.
  pollfd p{worker_fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 20'000), 1) << "worker " << worker << " outlived its parent";
  close(worker_fd);
  gate.Open();
}

// ---- Exceptions and payloads ------------------------------------------------------------------

TEST_P(ProcessPoolTest, ExceptionsComeBackAsThemselves) {
  auto pool = Make(2);
  try {
    pool->Submit(&ThrowOutOfRange, std::string("index 7")).Result(kBound);
    FAIL();
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "index 7");
  }
  try {
    pool->Submit(&ThrowUnregisteredType, std::string("custom")).Result(kBound);
    FAIL();
  } catch (const RemoteError& e) {
    EXPECT_THAT(e.type_name(), HasSubstr("UnregisteredError"));
    EXPECT_THAT(e.what(), HasSubstr("custom"));
  }
  EXPECT_THROW(pool->Submit(&ThrowInt, 5).Result(kBound), RemoteError);
}

TEST_P(ProcessPoolTest, EchoesSixteenMegabytes) {
  auto pool = Make(2);
  std::vector<std::uint8_t> data(16 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
  EXPECT_EQ(pool->Submit(&Echo, data).Result(kBound), data);
}

TEST_P(ProcessPoolTest, MapWithChunksizeSpreadsPairs) {
  auto pool = Make(2);
  std::vector<std::pair<int, int>> inputs;
  for (int i = 0; i < 40; ++i) inputs.emplace_back(i, 3);
  for (int chunksize : {1, 6, 40, 50}) {
    std::vector<int> out;
    for (int r : pool->Map(&Mul, inputs, {.chunksize = chunksize})) out.push_back(r);
    ASSERT_EQ(out.size(), 40u);
    for (int i = 0; i < 40; ++i) EXPECT_EQ(out[i], 3 * i);
  }
  EXPECT_THROW(pool->Map(&Mul, inputs, {.chunksize = 0}), std::invalid_argument);
}

// Python's map(fn, a, b): zipped, stopping at the shortest, in chunks; lazy and unbounded
// ranges with buffersize (docs/semantics.md §3.2).
TEST_P(ProcessPoolTest, MapZipsSeveralRanges) {
  auto pool = Make(2);
  std::vector<int> a;
  for (int i = 0; i < 40; ++i) a.push_back(i);
  const std::vector<int> threes(30, 3);
  for (int chunksize : {1, 7, 50}) {
    std::vector<int> out;
    for (int r : pool->Map(&Mul, a, threes, {.chunksize = chunksize})) out.push_back(r);
    ASSERT_EQ(out.size(), 30u);
    for (int i = 0; i < 30; ++i) EXPECT_EQ(out[i], 3 * i);
  }
  std::vector<int> sums;
  for (int r : pool->Map(&Add, std::views::iota(100), std::vector<int>{1, 2, 3})) {
    sums.push_back(r);
  }
  EXPECT_EQ(sums, (std::vector<int>{101, 103, 105}));
  std::vector<int> products;
  const MapOptions options{.timeout = kBound, .chunksize = 4, .buffersize = 2};
  for (int r : pool->Map(&Mul, std::views::iota(0), std::views::iota(0), options)) {
    products.push_back(r);
    if (products.size() == 20) break;
  }
  ASSERT_EQ(products.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(products[i], i * i);
  EXPECT_THROW(pool->Map(&Mul, a, threes, {.chunksize = 0}), std::invalid_argument);
}

// ---- terminate_workers / kill_workers (Python 3.14) -------------------------------------------

TEST_P(ProcessPoolTest, TerminateAndKillWorkers) {
  for (bool kill_them : {false, true}) {
    auto pool = Make(2);
    SocketGate gate;
    Future<int> running = pool->Submit(&SocketGate::Pass, gate.id(), 1);
    ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
    const std::vector<pid_t> pids = pool->worker_pids();
    kill_them ? pool->KillWorkers() : pool->TerminateWorkers();
    EXPECT_THAT(BrokenMessage(running),
                HasSubstr(kill_them ? "signal 9 (SIGKILL)" : "signal 15 (SIGTERM)"));
    EXPECT_THROW(pool->Submit(&GetPid), Error);  // BrokenProcessPool or ShutdownError
    pool->Shutdown();
    for (pid_t pid : pids) EXPECT_NE(kill(pid, 0), 0) << "worker " << pid << " still alive";
  }
}

TEST_P(ProcessPoolTest, TerminateWorkersWithoutWorkersOrAfterDeath) {
  auto fresh = Make(2);
  fresh->TerminateWorkers();  // nothing started: no-op besides shutdown
  fresh->KillWorkers();
  auto broken = Make(1);
  EXPECT_THROW(broken->Submit(&ExitWithCode, 1).Result(kBound), BrokenProcessPool);
  broken->TerminateWorkers();
  broken->KillWorkers();
}

// ---- Leaks: descriptors, children, threads ----------------------------------------------------

struct ProcessSnapshot {
  std::set<std::string> fds;
  std::set<std::string> threads;
  std::set<std::string> children;
  static ProcessSnapshot Take() {
    // The spare fork server InitProcessPool started would leave the snapshot if the pool under
    // test took it: none is kept around.
    internal::ResetSpareForkServerForTesting();
    ProcessSnapshot s;
    s.fds = List("/proc/self/fd");
    s.threads = List("/proc/self/task");
    for (const std::string& tid : s.threads) {
      std::ifstream in("/proc/self/task/" + tid + "/children");
      std::string pid;
      while (in >> pid) s.children.insert(pid);
    }
    return s;
  }
  static std::set<std::string> List(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }
};

// After the pool is destroyed its manager thread is joined, its workers (and fork server) are
// reaped and its descriptors are closed, so the snapshot must match at once.
void ExpectBackTo(const ProcessSnapshot& before) {
  const ProcessSnapshot after = ProcessSnapshot::Take();
  EXPECT_EQ(after.threads, before.threads);
  EXPECT_EQ(after.children, before.children);
  EXPECT_EQ(after.fds, before.fds);
}

TEST_P(ProcessPoolTest, NothingLeaksAfterShutdownWithoutWait) {
  const ProcessSnapshot before = ProcessSnapshot::Take();
  {
    auto pool = Make(2);
    std::vector<Future<int>> fs;
    for (int i = 0; i < 8; ++i) fs.push_back(pool->Submit(&Mul, i, 2));
    pool->Shutdown(/*wait=*/false);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(fs[i].Result(kBound), 2 * i);
    pool.reset();
  }
  ExpectBackTo(before);
}

TEST_P(ProcessPoolTest, NothingLeaksAfterTheDestructor) {
  const ProcessSnapshot before = ProcessSnapshot::Take();
  {
    auto pool = Make(2);
    EXPECT_EQ(pool->Submit(&Mul, 3, 3).Result(kBound), 9);
  }
  ExpectBackTo(before);
}

TEST_P(ProcessPoolTest, NothingLeaksAfterABrokenPool) {
  const ProcessSnapshot before = ProcessSnapshot::Take();
  {
    auto pool = Make(2);
    EXPECT_THROW(pool->Submit(&CrashWithSegfault, 0).Result(kBound), BrokenProcessPool);
  }
  ExpectBackTo(before);
}

TEST_P(ProcessPoolTest, WorkersInheritOnlyTheirPipes) {
  auto pool = Make(1);
  SocketGate gate;
  Future<int> f = pool->Submit(&SocketGate::Pass, gate.id(), 0);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  const pid_t worker = pool->worker_pids().at(0);
  std::set<int> fds;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(worker) + "/fd")) {
    fds.insert(std::stoi(e.path().filename().string()));
  }
  gate.Open();
  EXPECT_EQ(f.Result(kBound), 0);
  // stdin/out/err, the two pipes, the shared channel's three memfds (the rings' is closed once
  // mapped), the pool process's two call slots, and the gate's socket the task itself opened.
  EXPECT_THAT(fds, ::testing::IsSubsetOf(std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

}  // namespace
}  // namespace cf::testing
