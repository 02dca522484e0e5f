// Tasks that damage their own worker and then return normally: closing every descriptor (the
// worker's channel included), the standard streams, lowering the descriptor limit, a new session,
// blocking every signal, a thread left spinning. Whatever the task did, the pool answers every
// call (a result, or an error that says the worker died), goes on with the next calls, shuts
// down within a bound and leaves no process behind. Every wait is bounded.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/process_pool/process_pool_executor.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/process_pool/process_pool_traits.h"
#include "tests/process_pool/process_tasks.h"

namespace cf::testing {
namespace {

constexpr absl::Duration kBound = absl::Seconds(60);

struct Hostility {
  const char* name;
  int (*task)(int);
  // Whether the damage may end the worker (then the policy decides: a new worker, or a broken
  // pool). Otherwise the worker must go on serving as if nothing happened.
  bool may_end_worker;
};

const Hostility kHostilities[] = {
    {"CloseEveryDescriptor", &CloseEveryDescriptor, true},  // its pipes to the pool too
    {"CloseStandardStreams", &CloseStandardStreams, false},
    {"LowerDescriptorLimit", &LowerDescriptorLimit, false},
    {"StartNewSession", &StartNewSession, false},
    {"BlockEverySignal", &BlockEverySignal, false},
    {"LeaveAThreadRunning", &LeaveAThreadRunning, false},
    // The child that returns must not answer, nor take calls (it once broke the pool: "worker
    // answered call 2 which it was not running").
    {"ForkAndReturnInBoth", &ForkAndReturnInBoth, false},
};

using Param = std::tuple<StartMethod, WorkerDeath, int>;

class HostileTaskTest : public ::testing::TestWithParam<Param> {
 protected:
  ProcessPoolExecutor::Options Options() const {
    ProcessPoolExecutor::Options options;
    options.max_workers = 1;  // every call after the hostile one meets the damaged worker
    options.start_method = std::get<0>(GetParam());
    options.on_worker_death = std::get<1>(GetParam());
    options.kill_grace = absl::Milliseconds(300);
    return options;
  }
  const Hostility& hostility() const { return kHostilities[std::get<2>(GetParam())]; }
};

// A call has its value or, if its worker may have died, failed saying so (BrokenProcessPool and
// its WorkerDiedError); anything else, or no answer within the bound, fails the test.
template <typename T>
void ExpectValueOrWorkerDeath(const Future<T>& f, const T& expected, const std::string& what,
                              bool may_fail) {
  std::exception_ptr error = f.Exception(kBound);
  ASSERT_TRUE(f.Done()) << what << ": no answer within " << kBound;
  if (error == nullptr) {
    EXPECT_EQ(f.Result(), expected) << what;
    return;
  }
  try {
    std::rethrow_exception(error);
  } catch (const BrokenProcessPool& broken) {
    if (!may_fail) ADD_FAILURE() << what << " failed: " << broken.what();
  } catch (const std::exception& other) {
    ADD_FAILURE() << what << ": unexpected error: " << other.what();
  }
}

TEST_P(HostileTaskTest, ThePoolAnswersEveryCallAndEndsCleanly) {
  std::vector<pid_t> seen;
  {
    ProcessPoolExecutor pool(Options());
    ASSERT_EQ(pool.Submit(&Identity, 1).Result(kBound), 1);
    Future<int> hostile = pool.Submit(hostility().task, 2);
    ExpectValueOrWorkerDeath(hostile, 2, "the hostile call", hostility().may_end_worker);
    for (int pid : pool.worker_pids()) seen.push_back(pid);
    // Small calls, and big ones (their arguments and results go through shared memory). Under
    // kBreakPool a worker's death breaks the pool: from then on Submit says so.
    const bool may_fail = hostility().may_end_worker;
    const bool may_break = may_fail && std::get<1>(GetParam()) == WorkerDeath::kBreakPool;
    for (int i = 0; i < 5; ++i) {
      const std::vector<std::uint8_t> bytes(3 << 20, static_cast<std::uint8_t>(i));
      try {
        Future<int> small = pool.Submit(&Identity, 10 + i);
        Future<std::vector<std::uint8_t>> big = pool.Submit(&Echo, bytes);
        ExpectValueOrWorkerDeath(small, 10 + i, "a later small call", may_fail);
        ExpectValueOrWorkerDeath(big, bytes, "a later big call", may_fail);
        if (!may_break) {  // a new worker answers
          EXPECT_EQ(pool.Submit(&Identity, 20 + i).Result(kBound), 20 + i);
        }
      } catch (const BrokenProcessPool& broken) {
        EXPECT_TRUE(may_break) << "Submit: " << broken.what();
      }
    }
    for (int pid : pool.worker_pids()) seen.push_back(pid);
    pool.Shutdown(ShutdownOptions{
        .wait = true, .timeout = absl::Seconds(30), .on_timeout = ShutdownOptions::kKill});
  }
  // No worker outlives the pool: the pool (under kForkServer, the fork server) reaps its workers,
  // so once it is gone their pids name no process.
  for (pid_t pid : seen) {
    const absl::Time deadline = absl::Now() + kBound;
    while (kill(pid, 0) == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    EXPECT_NE(kill(pid, 0), 0) << "worker " << pid << " outlived its pool";
  }
}

std::string Name(const ::testing::TestParamInfo<Param>& info) {
  return std::string(MethodName(std::get<0>(info.param))) +
         (std::get<1>(info.param) == WorkerDeath::kBreakPool ? "_BreakPool_" : "_FailTask_") +
         kHostilities[std::get<2>(info.param)].name;
}

INSTANTIATE_TEST_SUITE_P(
    All, HostileTaskTest,
    ::testing::Combine(
#if CF_TEST_KFORK
        ::testing::Values(StartMethod::kFork, StartMethod::kSpawn, StartMethod::kForkServer),
#else
        ::testing::Values(StartMethod::kSpawn, StartMethod::kForkServer),
#endif
        ::testing::Values(WorkerDeath::kBreakPool, WorkerDeath::kFailTask),
        ::testing::Range(0, static_cast<int>(std::size(kHostilities)))),
    Name);

}  // namespace
}  // namespace cf::testing
