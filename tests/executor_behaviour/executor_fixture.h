// The fixture the type-parameterised executor suites share (executor_behaviour.h,
// control_behaviour.h): one executor of Traits::kWorkers workers per test, shut down (waiting)
// after it, and a way to occupy every worker with a task blocked on a gate.
//
// Traits: Executor, Gate, kWorkers, kPassGate, Make(max_workers) (see executor_behaviour.h).
#ifndef CF_TESTS_EXECUTOR_BEHAVIOUR_EXECUTOR_FIXTURE_H_
#define CF_TESTS_EXECUTOR_BEHAVIOUR_EXECUTOR_FIXTURE_H_

#include <memory>
#include <vector>

#include "cf/core/future.h"
#include "gtest/gtest.h"
#include "tests/executor_behaviour/test_util.h"

namespace cf::testing {

template <typename Traits>
class ExecutorFixture : public ::testing::Test {
 protected:
  using Executor = typename Traits::Executor;
  using Gate = typename Traits::Gate;
  static constexpr int kWorkers = Traits::kWorkers;

  void SetUp() override { executor_ = Traits::Make(kWorkers); }
  void TearDown() override {
    if (executor_ != nullptr) executor_->Shutdown(/*wait=*/true);
  }

  Executor& executor() { return *executor_; }

  // Occupies every worker of `executor` with a task blocked on `gate`, and waits until all of
  // them are running; returns their futures. Work submitted afterwards stays queued until the
  // gate opens.
  std::vector<Future<int>> BlockWorkers(Executor& executor, Gate& gate, int workers) {
    std::vector<Future<int>> blockers;
    for (int i = 0; i < workers; ++i) {
      blockers.push_back(executor.Submit(Traits::kPassGate, gate.id(), -1 - i));
    }
    EXPECT_TRUE(gate.AwaitArrivals(workers, kBound)) << "the workers never started";
    return blockers;
  }
  // The same for this test's executor.
  std::vector<Future<int>> BlockWorkers(Gate& gate) {
    return BlockWorkers(executor(), gate, kWorkers);
  }

  std::unique_ptr<Executor> executor_;
};

}  // namespace cf::testing

#endif  // CF_TESTS_EXECUTOR_BEHAVIOUR_EXECUTOR_FIXTURE_H_
