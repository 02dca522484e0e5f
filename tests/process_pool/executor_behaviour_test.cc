// The shared executor behaviour suite (tests/executor_behaviour) on cf::ProcessPoolExecutor,
// with each start method. Tasks block on SocketGate (they run in other processes).
#include "tests/executor_behaviour/executor_behaviour.h"

#include "gtest/gtest.h"
#include "tests/process_pool/process_pool_traits.h"

namespace cf::testing {
namespace {

using ProcessPools = ::testing::Types<ProcessPoolTraits<StartMethod::kFork, 2>,
                                      ProcessPoolTraits<StartMethod::kSpawn, 2>,
                                      ProcessPoolTraits<StartMethod::kForkServer, 2>,
                                      ProcessPoolTraits<StartMethod::kFork, 5>>;
INSTANTIATE_TYPED_TEST_SUITE_P(ProcessPoolExecutor, ExecutorBehaviourTest, ProcessPools,
                               TraitsNames);

}  // namespace
}  // namespace cf::testing
