// A call's claim word in a worker's ring, as its future sees it (pool_task.h, RingClaim): the
// states a worker or the manager put the word in, and what Running() and Cancel() answer.
//
// The manager takes an unclaimed call back from a busy worker (or from a retiring one) by
// revoking its claim word and only then detaching the call from it; a Running() or Cancel()
// in between sees the revoked word. That call has not started anywhere: it must not look
// running, and Cancel() must win.
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "cf/core/errors.h"
#include "cf/core/future.h"
#include "cf/process_pool/internal/pool_task.h"
#include "cf/process_pool/internal/shared_region.h"
#include "cf/serialization/task.h"
#include "gtest/gtest.h"

namespace cf::internal {
namespace {

int Identity(int x) { return x; }
CF_TASK(Identity);

class RingClaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<SharedRegion>> region = SharedRegion::Create();
    ASSERT_TRUE(region.ok()) << region.status();
    region_ = *region;
  }
  // A call waiting in the ring as `seq`, its claim word queued.
  std::unique_ptr<CallTask<int>> Queue(std::uint64_t seq) {
    auto task = std::make_unique<CallTask<int>>(TaskCall(&Identity, 7));
    region_->claim(seq).store(ClaimWord(seq, kClaimQueued));
    EXPECT_TRUE(task->AttachClaim(*region_, seq));
    return task;
  }
  void SetWord(std::uint64_t seq, ClaimState state) {
    region_->claim(seq).store(ClaimWord(seq, state));
  }
  std::shared_ptr<SharedRegion> region_;
};

TEST_F(RingClaimTest, AQueuedCallIsPendingAndCancellable) {
  auto task = Queue(3);
  Future<int> f = task->GetFuture();
  EXPECT_FALSE(f.Running());
  EXPECT_TRUE(f.Cancel());
  EXPECT_TRUE(f.Cancelled());
  EXPECT_EQ(region_->claim(3).load(), ClaimWord(3, kClaimRevoked));  // the worker skips it
}

TEST_F(RingClaimTest, AClaimedCallIsRunningAndNotCancellable) {
  auto task = Queue(4);
  Future<int> f = task->GetFuture();
  SetWord(4, kClaimClaimed);
  EXPECT_TRUE(f.Running());
  EXPECT_FALSE(f.Cancel());
  EXPECT_FALSE(f.Cancelled());
}

TEST_F(RingClaimTest, ACallTheManagerIsTakingBackIsNotRunning) {
  auto task = Queue(5);
  Future<int> f = task->GetFuture();
  SetWord(5, kClaimRevoked);  // revoked by the manager, not yet detached
  EXPECT_FALSE(f.Running());
  EXPECT_EQ(f.state(), FutureState::kPending);
  task->DetachClaim();
  EXPECT_FALSE(f.Running());
}

TEST_F(RingClaimTest, CancelWinsOverTheManagerTakingACallBack) {
  auto task = Queue(6);
  Future<int> f = task->GetFuture();
  SetWord(6, kClaimRevoked);  // revoked by the manager, not yet detached
  EXPECT_TRUE(f.Cancel());
  EXPECT_TRUE(f.Cancelled());
  task->DetachClaim();
  // Handed to another worker later: dropped, since its future is done.
  auto other = SharedRegion::Create();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(task->AttachClaim(**other, 9));
}

// The manager detaches a claimed call when it takes it from a worker that died or timed out:
// the future keeps saying running (and Cancel() keeps losing), though nobody looked before.
TEST_F(RingClaimTest, AClaimedCallStaysRunningOnceDetached) {
  auto task = Queue(8);
  Future<int> f = task->GetFuture();
  SetWord(8, kClaimClaimed);
  task->DetachClaim();
  EXPECT_TRUE(f.Running());
  EXPECT_FALSE(f.Cancel());
}

TEST_F(RingClaimTest, AReusedSlotMeansTheCallWasClaimedLongAgo) {
  auto task = Queue(7);
  Future<int> f = task->GetFuture();
  SetWord(7 + SharedRegion::kClaimSlots, kClaimQueued);
  EXPECT_TRUE(f.Running());
  EXPECT_FALSE(f.Cancel());
}

}  // namespace
}  // namespace cf::internal
