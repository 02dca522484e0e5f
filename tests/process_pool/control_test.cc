// The shared executor control suite (tests/executor_behaviour/control_behaviour.h: Shutdown
// with a deadline, AwaitTermination, stats()) on cf::ProcessPoolExecutor, with each start
// method. What only a process pool does (timeouts that end workers, WorkerDeath, kTerminate and
// kKill at a Shutdown deadline) is in survival_test.cc.
#include "tests/executor_behaviour/control_behaviour.h"

#include "gtest/gtest.h"
#include "tests/process_pool/process_pool_traits.h"

namespace cf::testing {
namespace {

#if !CF_TEST_KFORK
using ProcessPools = ::testing::Types<ProcessPoolTraits<StartMethod::kSpawn, 2>,
                                      ProcessPoolTraits<StartMethod::kForkServer, 2>>;
#else
using ProcessPools = ::testing::Types<ProcessPoolTraits<StartMethod::kFork, 2>,
                                      ProcessPoolTraits<StartMethod::kSpawn, 2>,
                                      ProcessPoolTraits<StartMethod::kForkServer, 2>>;
#endif
INSTANTIATE_TYPED_TEST_SUITE_P(ProcessPoolExecutor, ControlBehaviourTest, ProcessPools,
                               TraitsNames);

}  // namespace
}  // namespace cf::testing
