// Process-pool futures compose like any other: Then/ThenValue (inline and on a thread pool),
// WhenAll/WhenAny/Collect, co_await and RequestStop (docs/semantics.md §1.9), with every start
// method the suite runs.
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "cf/core/compose.h"
#include "cf/core/coroutine.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/thread_pool/thread_pool_executor.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/tasks.h"
#include "tests/process_pool/process_pool_traits.h"
#include "tests/process_pool/process_tasks.h"
#include "tests/process_pool/socket_gate.h"

namespace cf::testing {
namespace {

constexpr absl::Duration kBound = absl::Seconds(60);

class ProcessComposeTest : public ::testing::TestWithParam<StartMethod> {
 protected:
  std::unique_ptr<ProcessPoolExecutor> Make(int workers) {
    return MakeProcessPool(GetParam(), workers);
  }
};

std::string Name(const ::testing::TestParamInfo<StartMethod>& info) {
  return MethodName(info.param);
}

#if CF_TEST_KFORK
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessComposeTest,
                         ::testing::Values(StartMethod::kFork, StartMethod::kForkServer), Name);
#else
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessComposeTest,
                         ::testing::Values(StartMethod::kSpawn, StartMethod::kForkServer), Name);
#endif

TEST_P(ProcessComposeTest, ThenValueInlineAndOnAThreadPool) {
  auto pool = Make(2);
  ThreadPoolExecutor threads(2);
  Future<int> inline_result = pool->Submit(&Mul, 6, 7).ThenValue([](int v) { return v + 1; });
  Future<std::string> on_threads =
      pool->Submit(&Mul, 2, 3).ThenValue(threads, [](int v) { return std::to_string(v); });
  EXPECT_EQ(inline_result.Result(kBound), 43);
  EXPECT_EQ(on_threads.Result(kBound), "6");
}

TEST_P(ProcessComposeTest, ATasksExceptionPassesThroughThenValue) {
  auto pool = Make(1);
  bool called = false;
  Future<int> f = pool->Submit(&ThrowOutOfRange, std::string("far"))
                      .ThenValue([&](int v) {
                        called = true;
                        return v;
                      });
  EXPECT_THROW(f.Result(kBound), std::out_of_range);
  EXPECT_FALSE(called);
}

TEST_P(ProcessComposeTest, CollectWhenAllWhenAny) {
  auto pool = Make(2);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(pool->Submit(&Mul, i, 10));
  EXPECT_EQ(Collect(futures).Result(kBound), (std::vector<int>{0, 10, 20, 30, 40, 50}));
  EXPECT_EQ(WhenAll(futures).Result(kBound).size(), 6u);
  const std::size_t first = WhenAny(futures).Result(kBound);
  EXPECT_LT(first, 6u);
}

Future<int> SumOnWorkers(ProcessPoolExecutor& pool) {
  const int a = co_await pool.Submit(&Mul, 3, 4);
  const int b = co_await pool.Submit(&Add, a, 8);
  co_return a + b;
}

TEST_P(ProcessComposeTest, CoAwaitProcessPoolFutures) {
  auto pool = Make(2);
  EXPECT_EQ(SumOnWorkers(*pool).Result(kBound), 12 + 20);
}

TEST_P(ProcessComposeTest, RequestStopCancelsAQueuedCallAndIsFalseForARunningOne) {
  auto pool = Make(1);
  SocketGate gate;
  Future<int> running = pool->Submit(&SocketGate::Pass, gate.id(), 1);
  ASSERT_TRUE(gate.AwaitArrivals(1, kBound));
  Future<int> queued = pool->Submit(&Mul, 1, 1);
  EXPECT_TRUE(queued.RequestStop());
  EXPECT_TRUE(queued.Cancelled());
  EXPECT_FALSE(running.RequestStop()) << "a worker process has no stop token";
  gate.Open();
  EXPECT_EQ(running.Result(kBound), 1);
}

}  // namespace
}  // namespace cf::testing
