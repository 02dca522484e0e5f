// The shared executor behaviour suite (tests/executor_behaviour) on cf::ThreadPoolExecutor,
// at 1, 2 and 5 workers (CPython's test classes use 5).
#include "tests/executor_behaviour/executor_behaviour.h"

#include "gtest/gtest.h"
#include "tests/thread_pool/thread_pool_traits.h"

namespace cf::testing {
namespace {

using ThreadPools = ::testing::Types<ThreadPoolTraits<1>, ThreadPoolTraits<2>, ThreadPoolTraits<5>>;
INSTANTIATE_TYPED_TEST_SUITE_P(ThreadPoolExecutor, ExecutorBehaviourTest, ThreadPools, TraitsNames);

}  // namespace
}  // namespace cf::testing
